package contract_test

import (
	"strings"
	"testing"

	"github.com/traza-mx/traza/chaincode/contract"
)

// FuzzTransaction calls a transition with fuzzed request id, donation id and
// document on a donation brought to where the step is allowed: it commits or
// is refused with a code of error_codes.json, never panics, writes nothing
// when refused, and a refusal never repeats the document.
func FuzzTransaction(f *testing.F) {
	for i, step := range contract.Steps {
		id := did("fuzz")
		f.Add(uint8(i), "r-"+hex24, id, defaultData(step, id))
		f.Add(uint8(i), "r-"+hex24, id, `{"reasonCode":"maria"}`)
		f.Add(uint8(i), "maria-lopez", "d-HELM850312MDFRPR09", "")
	}
	codes := map[string]bool{}
	for _, c := range contract.ErrorCodes {
		codes[string(c.Code)] = true
	}
	f.Fuzz(func(t *testing.T, n uint8, req, id, data string) {
		step := contract.Steps[int(n)%len(contract.Steps)]
		e := newEnv(t)
		setupID := did("fuzz")
		e.must(setupID, pathTo(firstFrom(step))...)
		keys := e.ledger.Keys()
		var tr map[string][]byte
		if step == contract.LinkDonor {
			tr = transient(data)
		}
		m := e.method(step)
		_, err := e.submit(defaultCaller(step), tr, func(ctx ctxT) (string, error) { return m(ctx, req, id, data) })
		if err == nil {
			return
		}
		msg := err.Error()
		code, _, _ := strings.Cut(msg, ": ")
		if !codes[code] {
			t.Fatalf("%s refusal without a known code: %q", step, msg)
		}
		if strings.Join(keys, ",") != strings.Join(e.ledger.Keys(), ",") {
			t.Fatalf("%s refused (%s) but wrote", step, msg)
		}
		if len(data) >= 12 && strings.Contains(msg, data) {
			t.Fatalf("%s refusal repeats the document: %q", step, msg)
		}
	})
}
