package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestGRPCCodeNameMatchesPythonNames(t *testing.T) {
	cases := map[codes.Code]string{
		codes.Unavailable:       "UNAVAILABLE",
		codes.DeadlineExceeded:  "DEADLINE_EXCEEDED",
		codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
		codes.Aborted:           "ABORTED",
		codes.OK:                "OK",
	}
	for code, want := range cases {
		if got := grpcCodeName(status.Error(code, "x")); got != want {
			t.Errorf("grpcCodeName(%v) = %q, want %q", code, got, want)
		}
	}
}

func TestFailureKindOfOtherError(t *testing.T) {
	if got := failureKind(errors.New("x")); got != "other:*errors.errorString" {
		t.Errorf("failureKind = %q", got)
	}
}

func TestConfigCheck(t *testing.T) {
	good := config{
		peer: "127.0.0.1:8051", tlsCA: "ca.pem", mspDir: "msp", concurrency: 8,
		duration: 20 * time.Second, maxTx: 100, connections: shared,
	}
	if err := good.check(); err != nil {
		t.Fatalf("check(good) = %v", err)
	}
	cases := []struct {
		name   string
		change func(*config)
		want   string
	}{
		{"no tls ca", func(c *config) { c.tlsCA = "" }, "-tls-ca and -msp-dir are required"},
		{"cert without key", func(c *config) { c.tlsCert = "c.pem" }, "-tls-cert and -tls-key go together"},
		{"key without cert", func(c *config) { c.tlsKey = "k.pem" }, "-tls-cert and -tls-key go together"},
		{"no submitters", func(c *config) { c.concurrency = 0 }, "-concurrency must be"},
		{"too long", func(c *config) { c.duration = time.Hour }, "-duration must be"},
		{"no tx", func(c *config) { c.maxTx = 0 }, "-max-tx must be at least 1"},
		{"bad mode", func(c *config) { c.connections = "pool" }, "-connections must be"},
		{"remote peer", func(c *config) { c.peer = "10.0.0.1:8051" }, "only talks to a loopback"},
		{"host name", func(c *config) { c.peer = "peer0.example.com:8051" }, "only talks to a loopback"},
		{"no port", func(c *config) { c.peer = "127.0.0.1" }, "-peer"},
	}
	for _, tc := range cases {
		c := good
		tc.change(&c)
		err := c.check()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: check() = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestRecordJSON(t *testing.T) {
	r := record{start: 1.5, latency: 0.25, kind: "ok", steps: [3]float64{0.01, 0.002, 0.238}}
	got, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := `[1.5,0.25,"ok",[0.01,0.002,0.238]]`; string(got) != want {
		t.Errorf("MarshalJSON = %s, want %s", got, want)
	}
}
