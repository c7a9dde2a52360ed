package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestNewServerFromEnvironment(t *testing.T) {
	s, err := newServer(envOf(map[string]string{
		"CHAINCODE_SERVER_ADDRESS": "127.0.0.1:9999", "CHAINCODE_ID": "traza_1:abc",
		"CHAINCODE_VERSION": "1.2.0", "CHAINCODE_TLS_DISABLED": "true",
	}))
	require.NoError(t, err)
	require.Equal(t, "traza_1:abc", s.CCID)
	require.Equal(t, "127.0.0.1:9999", s.Address)
	require.True(t, s.TLSProps.Disabled)
}

func TestNewServerRefusesIncompleteEnvironment(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(cert, []byte("cert"), 0o600))
	require.NoError(t, os.WriteFile(key, []byte("key"), 0o600))
	base := map[string]string{"CHAINCODE_SERVER_ADDRESS": "127.0.0.1:9999", "CHAINCODE_ID": "traza_1:abc"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{with("CHAINCODE_SERVER_ADDRESS", ""), "CHAINCODE_SERVER_ADDRESS is not set"},
		{with("CHAINCODE_ID", ""), "CHAINCODE_ID (the package id) is not set"},
		{with(), "CHAINCODE_TLS_CERT is not set (or set CHAINCODE_TLS_DISABLED=true)"},
		{with("CHAINCODE_TLS_DISABLED", "yes please"), "CHAINCODE_TLS_DISABLED: want true or false"},
		{with("CHAINCODE_TLS_CERT", cert), "CHAINCODE_TLS_KEY is not set (or set CHAINCODE_TLS_DISABLED=true)"},
		{with("CHAINCODE_TLS_CERT", cert, "CHAINCODE_TLS_KEY", filepath.Join(dir, "absent.pem")), "CHAINCODE_TLS_KEY: open " + filepath.Join(dir, "absent.pem") + ": no such file or directory"},
	} {
		_, err := newServer(envOf(tc.env))
		require.EqualError(t, err, tc.want)
	}
	s, err := newServer(envOf(with("CHAINCODE_TLS_CERT", cert, "CHAINCODE_TLS_KEY", key, "CHAINCODE_TLS_CLIENT_CA_CERT", cert)))
	require.NoError(t, err)
	require.Equal(t, []byte("cert"), s.TLSProps.Cert)
	require.Equal(t, []byte("key"), s.TLSProps.Key)
	require.Equal(t, []byte("cert"), s.TLSProps.ClientCACerts)
	require.False(t, s.TLSProps.Disabled)
}
