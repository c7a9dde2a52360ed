package main

import (
	"errors"
	"fmt"
	"net"
	"time"
)

type config struct {
	peer, serverName, tlsCA                            string
	tlsCert, tlsKey                                    string
	mspID, mspDir                                      string
	channel, chaincode, function, prefix               string
	concurrency                                        int
	duration                                           time.Duration
	maxTx                                              int64
	connections                                        string
	endorseTimeout, submitTimeout, commitStatusTimeout time.Duration
}

// Connection modes, as in the Python runner.
const (
	shared       = "shared"
	perSubmitter = "per-submitter"
)

// Bounds that keep a mistaken command line from running away.
const (
	maxConcurrency = 1024
	maxDuration    = 10 * time.Minute
)

func (c config) check() error {
	switch {
	case c.tlsCA == "" || c.mspDir == "":
		return errors.New("-tls-ca and -msp-dir are required")
	case (c.tlsCert == "") != (c.tlsKey == ""):
		return errors.New("-tls-cert and -tls-key go together (mutual TLS)")
	case c.concurrency < 1 || c.concurrency > maxConcurrency:
		return fmt.Errorf("-concurrency must be 1..%d, got %d", maxConcurrency, c.concurrency)
	case c.duration <= 0 || c.duration > maxDuration:
		return fmt.Errorf("-duration must be in (0, %s], got %s", maxDuration, c.duration)
	case c.maxTx < 1:
		return fmt.Errorf("-max-tx must be at least 1, got %d", c.maxTx)
	case c.connections != shared && c.connections != perSubmitter:
		return fmt.Errorf("-connections must be %q or %q, got %q", shared, perSubmitter, c.connections)
	}
	host, _, err := net.SplitHostPort(c.peer)
	if err != nil {
		return fmt.Errorf("-peer %q: %w", c.peer, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-peer %q: the benchmark only talks to a loopback address", c.peer)
	}
	return nil
}
