// Command traza-cc serves Traza's donation contract as Chaincode-as-a-Service:
// the peer's external builder connects to it over gRPC (Fabric docs,
// "Chaincode as an external service").
//
// Environment:
//
//	CHAINCODE_SERVER_ADDRESS  listen address, e.g. 0.0.0.0:9999 (required)
//	CHAINCODE_ID              package id from `peer lifecycle chaincode install`, label:hash (required)
//	CHAINCODE_VERSION         contract version put into every event (default "dev")
//	CHAINCODE_TLS_DISABLED    "true" to serve without TLS (default: TLS on)
//	CHAINCODE_TLS_CERT        server certificate PEM file (TLS)
//	CHAINCODE_TLS_KEY         server key PEM file (TLS)
//	CHAINCODE_TLS_CLIENT_CA_CERT  CA PEM file; when set, peers must present a client certificate from it
package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/traza-mx/traza/chaincode/contract"
)

func main() {
	server, err := newServer(os.Getenv)
	if err != nil {
		log.Fatalf("traza-cc: %v", err)
	}
	log.Printf("traza-cc: serving package %s on %s (contract version %s, TLS %t)",
		server.CCID, server.Address, os.Getenv("CHAINCODE_VERSION"), !server.TLSProps.Disabled)
	if err := server.Start(); err != nil {
		log.Fatalf("traza-cc: %v", err)
	}
}

// newServer builds the chaincode server from the environment (getenv).
func newServer(getenv func(string) string) (*shim.ChaincodeServer, error) {
	address, packageID := getenv("CHAINCODE_SERVER_ADDRESS"), getenv("CHAINCODE_ID")
	if address == "" {
		return nil, errors.New("CHAINCODE_SERVER_ADDRESS is not set")
	}
	if packageID == "" {
		return nil, errors.New("CHAINCODE_ID (the package id) is not set")
	}
	version := getenv("CHAINCODE_VERSION")
	if version == "" {
		version = "dev"
	}
	tlsProps, err := tlsFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	cc, err := contractapi.NewChaincode(contract.New(version, packageID))
	if err != nil {
		return nil, fmt.Errorf("failed to build the chaincode: %w", err)
	}
	cc.Info.Title, cc.Info.Version = "traza", version
	return &shim.ChaincodeServer{CCID: packageID, Address: address, CC: cc, TLSProps: tlsProps}, nil
}

func tlsFromEnv(getenv func(string) string) (shim.TLSProperties, error) {
	if v := getenv("CHAINCODE_TLS_DISABLED"); v != "" {
		disabled, err := strconv.ParseBool(v)
		if err != nil {
			return shim.TLSProperties{}, fmt.Errorf("CHAINCODE_TLS_DISABLED: want true or false")
		}
		if disabled {
			return shim.TLSProperties{Disabled: true}, nil
		}
	}
	props := shim.TLSProperties{}
	for _, f := range []struct {
		env      string
		dst      *[]byte
		required bool
	}{
		{"CHAINCODE_TLS_CERT", &props.Cert, true},
		{"CHAINCODE_TLS_KEY", &props.Key, true},
		{"CHAINCODE_TLS_CLIENT_CA_CERT", &props.ClientCACerts, false},
	} {
		path := getenv(f.env)
		if path == "" {
			if f.required {
				return props, fmt.Errorf("%s is not set (or set CHAINCODE_TLS_DISABLED=true)", f.env)
			}
			continue
		}
		pem, err := os.ReadFile(path)
		if err != nil {
			return props, fmt.Errorf("%s: %w", f.env, err)
		}
		*f.dst = pem
	}
	return props, nil
}
