package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// failurePause is how long a submitter waits after a failed transaction, so a refused
// connection does not turn the loop into a busy one (the Python runner waits as long).
const failurePause = 100 * time.Millisecond

// record is one transaction: start (s since the run began), latency (s), kind, and the
// seconds of its endorse, submit and commit status steps.
type record struct {
	start, latency float64
	kind           string
	steps          [3]float64
}

// MarshalJSON writes a record as a compact [start, latency, kind, [endorse, submit, commit]]
// array.
func (r record) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{r.start, r.latency, r.kind, r.steps})
}

// run starts cfg.concurrency submitters and returns their records once all have stopped.
func run(cfg config) (*result, error) {
	id, sign, err := loadMSP(cfg.mspID, cfg.mspDir)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(cfg.tlsCA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no PEM certificate in %s", cfg.tlsCA)
	}
	tlsConfig := &tls.Config{RootCAs: pool, ServerName: cfg.serverName, MinVersion: tls.VersionTLS12}
	if cfg.tlsCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("client TLS pair: %w", err)
		}
		tlsConfig.Certificates = []tls.Certificate{pair}
	}
	dial := func() (*grpc.ClientConn, error) {
		creds := credentials.NewTLS(tlsConfig)
		return grpc.NewClient(cfg.peer, grpc.WithTransportCredentials(creds))
	}
	connect := func(conn *grpc.ClientConn) (*client.Gateway, error) {
		return client.Connect(id,
			client.WithSign(sign),
			client.WithClientConnection(conn),
			client.WithEndorseTimeout(cfg.endorseTimeout),
			client.WithSubmitTimeout(cfg.submitTimeout),
			client.WithCommitStatusTimeout(cfg.commitStatusTimeout),
		)
	}

	// One gateway per submitter either way (a Gateway is cheap); "shared" gives them all the
	// same gRPC connection, which is how fabric-gateway's samples use it.
	conns := make([]*grpc.ClientConn, 0, cfg.concurrency)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	gateways := make([]*client.Gateway, cfg.concurrency)
	for i := range gateways {
		if i == 0 || cfg.connections == perSubmitter {
			conn, err := dial()
			if err != nil {
				return nil, err
			}
			conns = append(conns, conn)
		}
		gw, err := connect(conns[len(conns)-1])
		if err != nil {
			return nil, err
		}
		gateways[i] = gw
	}

	var issued atomic.Int64
	var mu sync.Mutex
	records := make([]record, 0)
	var wg sync.WaitGroup
	began := time.Now()
	cpuBefore := cpuSeconds()
	for _, gw := range gateways {
		contract := gw.GetNetwork(cfg.channel).GetContract(cfg.chaincode)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []record
			// Bounded: stops at the duration or once max-tx transactions have started.
			for time.Since(began) < cfg.duration && issued.Add(1) <= cfg.maxTx {
				t0 := time.Now()
				kind, steps := submit(contract, cfg.function, cfg.prefix+newID())
				mine = append(mine, record{
					start:   t0.Sub(began).Seconds(),
					latency: time.Since(t0).Seconds(),
					kind:    kind,
					steps:   steps,
				})
				if kind != "ok" {
					time.Sleep(failurePause)
				}
			}
			mu.Lock()
			records = append(records, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	out := &result{
		Client:      "go",
		Concurrency: cfg.concurrency,
		Connections: cfg.connections,
		WallSeconds: time.Since(began).Seconds(),
		CPUSeconds:  cpuSeconds() - cpuBefore,
		Records:     records,
	}
	for _, gw := range gateways {
		gw.Close()
	}
	return out, nil
}

// submit runs one transaction step by step, as SubmitAsync then Status do: endorse (with
// building and signing the proposal), submit (signing the transaction, handing it to the
// orderers), commit status. Returns its kind and the seconds each step took (zero for steps
// not reached).
func submit(contract *client.Contract, function, requestID string) (string, [3]float64) {
	var steps [3]float64
	t := time.Now()
	lap := func(i int) {
		now := time.Now()
		steps[i] = now.Sub(t).Seconds()
		t = now
	}
	proposal, err := contract.NewProposal(function, client.WithArguments(requestID))
	if err != nil {
		return reportFailure(err), steps
	}
	transaction, err := proposal.Endorse()
	lap(0)
	if err != nil {
		return reportFailure(err), steps
	}
	commit, err := transaction.Submit()
	lap(1)
	if err != nil {
		return reportFailure(err), steps
	}
	st, err := commit.Status()
	lap(2)
	if err != nil {
		return reportFailure(err), steps
	}
	if !st.Successful {
		return "commit:" + st.Code.String(), steps
	}
	return "ok", steps
}

// reported holds the failure kinds already written to stderr.
var reported sync.Map

// reportFailure returns the kind of err and writes the first error of each kind to stderr.
func reportFailure(err error) string {
	kind := failureKind(err)
	if _, seen := reported.LoadOrStore(kind, true); !seen {
		fmt.Fprintf(os.Stderr, "loadgen: first %s: %v\n", kind, err)
	}
	return kind
}

// failureKind names a failed step and its gRPC code as the Python runner does.
func failureKind(err error) string {
	var endorse *client.EndorseError
	var submit *client.SubmitError
	var commitStatus *client.CommitStatusError
	var commit *client.CommitError
	switch {
	case errors.As(err, &endorse):
		return "endorse:" + grpcCodeName(err)
	case errors.As(err, &submit):
		return "submit:" + grpcCodeName(err)
	case errors.As(err, &commitStatus):
		return "commit_status:" + grpcCodeName(err)
	case errors.As(err, &commit):
		return "commit:" + commit.Code.String()
	}
	return "other:" + fmt.Sprintf("%T", err)
}

// grpcCodeName returns the gRPC code in upper snake case ("DEADLINE_EXCEEDED"), as Python's
// grpc.StatusCode names it.
func grpcCodeName(err error) string {
	var b strings.Builder
	previous := rune(0)
	for _, r := range status.Code(err).String() {
		// A word starts at an upper-case letter after a lower-case one ("DeadlineExceeded").
		if unicode.IsUpper(r) && unicode.IsLower(previous) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
		previous = r
	}
	return b.String()
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
