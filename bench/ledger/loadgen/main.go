// Command loadgen submits one trivial transaction in a closed loop from N goroutines with the
// official Fabric Gateway Go client and prints every transaction's timing as JSON.
//
// It is the peer tool of the Python client in bench/ledger: bench/ledger/run.py builds it, runs
// it with the same identity, peer, transaction and limits as the Python submitters, and computes
// the statistics of both from the raw records with the same code.
//
// Output (one JSON object on stdout):
//
//	{"client": "go", "concurrency": 8, "connections": "shared", "wall_seconds": 22.1,
//	 "cpu_seconds": 3.2, "records": [[start, latency, kind, [endorse, submit, commit]], ...]}
//
// wall_seconds and cpu_seconds run from the first submit (after connecting) to the last
// submitter stopping. start is seconds since the first submit, latency the seconds from the start of endorsement to the
// commit status, kind "ok" or "<step>:<code>" (endorse, submit, commit_status with the gRPC code;
// commit with the transaction validation code), named as the Python runner names them; then
// the seconds of each step (0 for a step not reached).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"
)

func main() {
	cfg := config{}
	flag.StringVar(&cfg.peer, "peer", "127.0.0.1:8051", "gateway peer address host:port (loopback)")
	flag.StringVar(&cfg.serverName, "server-name", "", "host name in the peer's TLS certificate")
	flag.StringVar(&cfg.tlsCA, "tls-ca", "", "PEM file of the peer's TLS CA")
	flag.StringVar(&cfg.tlsCert, "tls-cert", "", "PEM file of the client's TLS certificate (mutual TLS)")
	flag.StringVar(&cfg.tlsKey, "tls-key", "", "PEM file of the client's TLS key (mutual TLS)")
	flag.StringVar(&cfg.mspID, "msp-id", "UniversityMSP", "MSP id of the submitting identity")
	flag.StringVar(&cfg.mspDir, "msp-dir", "", "MSP folder of the submitting identity (signcerts/, keystore/)")
	flag.StringVar(&cfg.channel, "channel", "donations", "channel name")
	flag.StringVar(&cfg.chaincode, "chaincode", "traza", "chaincode name")
	flag.StringVar(&cfg.function, "function", "Heartbeat", "transaction function; its one argument is a unique request id")
	flag.StringVar(&cfg.prefix, "prefix", "bench-go-", "prefix of the request ids")
	flag.IntVar(&cfg.concurrency, "concurrency", 1, "number of submitting goroutines")
	flag.DurationVar(&cfg.duration, "duration", 20*time.Second, "no transaction starts after this time")
	flag.Int64Var(&cfg.maxTx, "max-tx", 10000, "no more than this many transactions start")
	flag.StringVar(&cfg.connections, "connections", "shared", "shared: one gRPC connection for all; per-submitter: one each")
	flag.DurationVar(&cfg.endorseTimeout, "endorse-timeout", 15*time.Second, "endorse deadline")
	flag.DurationVar(&cfg.submitTimeout, "submit-timeout", 5*time.Second, "submit deadline")
	flag.DurationVar(&cfg.commitStatusTimeout, "commit-status-timeout", 60*time.Second, "commit status deadline")
	flag.Parse()

	if err := cfg.check(); err != nil {
		fail(err)
	}
	out, err := run(cfg)
	if err != nil {
		fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

type result struct {
	Client      string   `json:"client"`
	Concurrency int      `json:"concurrency"`
	Connections string   `json:"connections"`
	WallSeconds float64  `json:"wall_seconds"`
	CPUSeconds  float64  `json:"cpu_seconds"`
	Records     []record `json:"records"`
}

// cpuSeconds returns the user and system CPU time this process has used.
func cpuSeconds() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return -1
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano()).Seconds()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}
