package main

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/hyperledger/fabric-gateway/pkg/identity"
)

// publicKeyer is what every crypto.PrivateKey of the standard library implements.
type publicKeyer interface {
	Public() crypto.PublicKey
}

// loadMSP returns the identity in mspDir/signcerts and a signer for its key in mspDir/keystore.
//
// Like the Python client, when keystore/ holds several keys (re-enrolment leaves the old one)
// the one matching the certificate is used.
func loadMSP(mspID, mspDir string) (*identity.X509Identity, identity.Sign, error) {
	certs, err := sortedFiles(filepath.Join(mspDir, "signcerts"))
	if err != nil || len(certs) == 0 {
		return nil, nil, fmt.Errorf("no certificate in %s/signcerts", mspDir)
	}
	certPEM, err := os.ReadFile(certs[0])
	if err != nil {
		return nil, nil, err
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", certs[0], err)
	}
	id, err := identity.NewX509Identity(mspID, cert)
	if err != nil {
		return nil, nil, err
	}
	key, err := matchingKey(filepath.Join(mspDir, "keystore"), cert)
	if err != nil {
		return nil, nil, err
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, nil, err
	}
	return id, sign, nil
}

func matchingKey(keystore string, cert *x509.Certificate) (crypto.PrivateKey, error) {
	files, err := sortedFiles(keystore)
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no private key in %s", keystore)
	}
	for _, file := range files {
		keyPEM, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		key, err := identity.PrivateKeyFromPEM(keyPEM)
		if err != nil {
			continue
		}
		if k, ok := key.(publicKeyer); ok {
			if pub, ok := k.Public().(interface{ Equal(crypto.PublicKey) bool }); ok &&
				pub.Equal(cert.PublicKey) {
				return key, nil
			}
		}
	}
	return nil, errors.New("no key in " + keystore + " matches the signing certificate")
}

func sortedFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}
