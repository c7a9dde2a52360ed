package contract_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/stretchr/testify/require"

	"github.com/traza-mx/traza/chaincode/contract"
)

// refusals collects every error a transaction returned anywhere in this
// package's tests (env.begin and the fake-stub tests add to it); TestMain
// then checks each one: the whole suite is the walk over the refusal paths.
var refusals = &errorLog{}

type errorLog struct {
	sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) {
	if err == nil {
		return
	}
	l.Lock()
	defer l.Unlock()
	l.errs = append(l.errs, err)
}

// planted are the personal values the tests put into certificates, ids, codes,
// JSON values and keys; no refusal may repeat one.
var planted = []string{
	personName, personEmail, "María", "maria", "López", "Ana María", "ana@", "juan", "Juan", "Pérez",
	"GARCIA", "García", "1985", "1980-02-03", "cáncer", "nódulo", "dolor", "/home", "se ve mi cara",
	"my face", "Básico", "55 1234", "+52", "LOMP850312", "@example",
}

// shapes is what each code's message must say: the ids and states it is about.
var (
	stateRe = `(` + strings.Join(statesAsStrings(), "|") + `)`
	idRe    = `[a-z0-9][a-z0-9-]*`
	shapes  = map[contract.Code]*regexp.Regexp{
		contract.WrongState:    regexp.MustCompile(`^WRONG_STATE: donation ` + idRe + ` is ` + stateRe + `: step \w+ needs state ` + stateRe + `( or ` + stateRe + `)*$`),
		contract.NotFound:      regexp.MustCompile(`^NOT_FOUND: (donation ` + idRe + ` (does not exist|has no)|consent \d+ of donation ` + idRe + ` does not exist|no heartbeat from \w+MSP$)`),
		contract.AlreadyExists: regexp.MustCompile(`^ALREADY_EXISTS: (donation ` + idRe + ` already (exists \(state ` + stateRe + `\)|has a different donor link)|request id ` + idRe + ` was already used for step \w+ on donation ` + idRe + `$)`),
		contract.Unauthorized:  regexp.MustCompile(`^UNAUTHORIZED: ((step|query|transaction) \w+ needs (MSP|traza\.role|the donation's intake org) [A-Za-z ]+, caller (is \w+|has \w+)$|the caller has no X\.509 certificate$)`),
		contract.InvalidInput:  regexp.MustCompile(`^INVALID_INPUT: (invalid [\w.\[\]]+: |donation ` + idRe + `|LinkDonor needs the transient key |unknown transaction |the donor link does not open the commitment of donation ` + idRe + `$)`),
		contract.Internal:      regexp.MustCompile(`^INTERNAL: `),
		contract.ClockSkew:     regexp.MustCompile(`^CLOCK_SKEW: proposal timestamp is -?[0-9hms.]+ from the endorsing peer's clock, more than 5m0s: `),
	}
)

func statesAsStrings() []string {
	var s []string
	for _, st := range contract.States {
		s = append(s, string(st))
	}
	return s
}

func TestMain(m *testing.M) {
	code := m.Run()
	// Only a full run walks every refusal path (-run picks a subset).
	if f := flag.Lookup("test.run"); code == 0 && !testing.Short() && f != nil && f.Value.String() == "" {
		if msg := checkRefusals(); msg != "" {
			fmt.Fprintln(os.Stderr, msg)
			code = 1
		}
	}
	os.Exit(code)
}

// checkRefusals returns what is wrong with the collected refusals, "" if nothing.
func checkRefusals() string {
	refusals.Lock()
	defer refusals.Unlock()
	var bad []string
	seen := map[contract.Code]int{}
	for _, err := range refusals.errs {
		msg := err.Error()
		// The code as a client reads it: the message's first word.
		code, _, _ := strings.Cut(msg, ": ")
		if !slices.ContainsFunc(contract.ErrorCodes, func(c contract.ErrorCode) bool { return string(c.Code) == code }) {
			bad = append(bad, "no listed code: "+msg)
			continue
		}
		seen[contract.Code(code)]++
		if !shapes[contract.Code(code)].MatchString(msg) {
			bad = append(bad, "does not name its ids/states as "+string(code)+" messages do: "+msg)
		}
		for _, v := range planted {
			if strings.Contains(msg, v) {
				bad = append(bad, fmt.Sprintf("echoes planted value %q: %s", v, msg))
			}
		}
	}
	for _, c := range contract.ErrorCodes {
		if seen[c.Code] == 0 {
			bad = append(bad, "no test produced code "+string(c.Code))
		}
	}
	if len(refusals.errs) < 500 {
		bad = append(bad, fmt.Sprintf("only %d refusals collected: the walk did not run", len(refusals.errs)))
	}
	if len(bad) == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d refusals break the error rules:\n  %s", len(bad), len(refusals.errs), strings.Join(bad, "\n  "))
}

// TestEveryErrorIsBuiltWithACode reads the contract's source: errors are
// made only by fail(<Code constant>, ...) (errors.go alone calls fmt.Errorf),
// so no message can leave without a code.
func TestEveryErrorIsBuiltWithACode(t *testing.T) {
	codes := map[string]bool{}
	for _, c := range []string{"InvalidInput", "NotFound", "WrongState", "AlreadyExists", "Unauthorized", "Internal", "ClockSkew"} {
		codes[c] = true
	}
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fails := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			switch fn := call.Fun.(type) {
			case *ast.SelectorExpr:
				if pkg, ok := fn.X.(*ast.Ident); ok && name != "errors.go" &&
					((pkg.Name == "fmt" && fn.Sel.Name == "Errorf") || (pkg.Name == "errors" && fn.Sel.Name == "New")) {
					t.Errorf("%s: %s.%s builds an error without a code; use fail", name, pkg.Name, fn.Sel.Name)
				}
			case *ast.Ident:
				if fn.Name == "fail" {
					fails++
					id, ok := call.Args[0].(*ast.Ident)
					if !ok || !codes[id.Name] {
						t.Errorf("%s: fail's code must be a Code constant", name)
					}
				}
			}
			return true
		})
	}
	require.Greater(t, fails, 50)
}

func TestErrorCodesAreTheEmbeddedFile(t *testing.T) {
	raw, err := os.ReadFile("error_codes.json")
	require.NoError(t, err)
	var f struct {
		Codes []contract.ErrorCode `json:"codes"`
	}
	require.NoError(t, json.Unmarshal(raw, &f))
	require.Equal(t, f.Codes, contract.ErrorCodes)
	names := map[contract.Code]bool{}
	for _, c := range f.Codes {
		require.Regexp(t, `^[A-Z][A-Z_]+$`, c.Code)
		require.NotEmpty(t, c.Meaning)
		require.False(t, names[c.Code], "listed twice: %s", c.Code)
		names[c.Code] = true
	}
	e := newEnv(t)
	out, err := e.query(who{"StrangerMSP", ""}, func(ctx ctxT) (string, error) { return e.cc.GetLifecycle(ctx) })
	require.NoError(t, err, "GetLifecycle is public")
	require.Equal(t, f.Codes, decode[contract.LifecycleTable](t, out).ErrorCodes)
}

// firstFrom is the first state the table allows step from.
func firstFrom(step contract.Step) contract.State {
	i := slices.IndexFunc(contract.Lifecycle, func(r contract.Rule) bool { return r.Step == step })
	return contract.Lifecycle[i].From[0]
}

// argsOf lists every transaction with valid arguments; "%s" marks each
// string argument a planted value replaces in turn.
func argsOf(id string) [][]string {
	data := func(s contract.Step) string { return defaultData(s, id) }
	rows := [][]string{}
	for _, s := range contract.Steps {
		if s == contract.LinkDonor {
			rows = append(rows, []string{string(s), "r-700000000000000000000000", id})
			continue
		}
		rows = append(rows, []string{string(s), "r-700000000000000000000000", id, data(s)})
	}
	return append(rows,
		[]string{"GetDonation", id}, []string{"GetHistory", id}, []string{"GetConsent", id},
		[]string{"GetDonorLink", id}, []string{"VerifyDonorCommitment", id, salt, pseudonym},
		[]string{"QueryByState", "REGISTERED", "10", ""}, []string{"QueryByOrg", "HospitalMSP", "10", ""},
		[]string{"QueryByDateRange", "2026-03-01", "2026-03-02", "10", ""},
		[]string{"GetHeartbeat", "HospitalMSP"}, []string{"Heartbeat", "r-686200000000000000000000"},
	)
}

// TestPlantedValuesInEveryArgumentAreRefused puts personal data in each
// string argument of every transaction, through the dispatcher as the peer
// calls it: each is refused with INVALID_INPUT, the value is not echoed and
// nothing is written.
func TestPlantedValuesInEveryArgumentAreRefused(t *testing.T) {
	values := []string{"María López", "maria.lopez@example.mx", "LOMP850312HDFRPR09", "+52 55 1234 5678", "García-Pérez, Ana María"}
	n := 0
	for _, args := range argsOf("d-706c616e7400000000000000") {
		// A fresh ledger per transaction, the donation where the step is allowed,
		// so the only thing wrong is the planted value.
		e := newEnv(t)
		if step := contract.Step(args[0]); slices.Contains(contract.Steps, step) {
			e.must("d-706c616e7400000000000000", pathTo(firstFrom(step))...)
		} else {
			e.must("d-706c616e7400000000000000", contract.Register, contract.LinkDonor)
		}
		cc, err := contractapi.NewChaincode(e.cc)
		require.NoError(t, err)
		for pos := 1; pos < len(args); pos++ {
			if args[0] == "QueryByState" || args[0] == "QueryByOrg" || args[0] == "QueryByDateRange" {
				if pos == len(args)-1 {
					continue // the bookmark: an opaque base64url, checked below
				}
			}
			for _, v := range values {
				call := slices.Clone(args)
				call[pos] = v
				w := defaultCaller(contract.Step(args[0]))
				keys := e.ledger.Keys()
				status, _, msg := invoke(t, e, cc, w, transient(linkJSON("d-706c616e7400000000000000")), call...)
				require.Equal(t, int32(500), status, "%v", call)
				require.True(t, strings.HasPrefix(msg, "INVALID_INPUT: "), "%v: %s", call, msg)
				for _, p := range planted {
					require.NotContains(t, msg, p, call)
				}
				require.Equal(t, keys, e.ledger.Keys(), call)
				n++
			}
		}
	}
	e := newEnv(t)
	cc, err := contractapi.NewChaincode(e.cc)
	require.NoError(t, err)
	for _, bookmark := range values {
		status, _, msg := invoke(t, e, cc, regulator, nil, "QueryByOrg", "HospitalMSP", "10", bookmark)
		require.Equal(t, int32(500), status)
		require.Regexp(t, `^INVALID_INPUT: invalid bookmark: (not from this query; )?pass back the bookmark of the previous page, or ""$`, msg)
	}
	require.Greater(t, n, 100)
}
