package contract_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/traza-mx/traza/chaincode/contract"
)

// personal are values a careless or hostile client could put in an id or a
// code: names (with accents, hyphenated surnames, glued into one word of the
// base32 alphabet), CURP, RFC, NSS, phone numbers and e-mails, bare and in the
// shapes of valid values.
var personal = []string{
	"maria", "María Hernández", "garcia-lopez", "García-López", "maria-hernandez-lopez-19850312",
	"GARCIA.LOPEZ", "Garcia_Lopez", "HELM850312MDFRPR09", "helm850312mdfrpr09", "HELM850312AB1",
	"12345678901", "5512345678", "+52 55 1234 5678", "55-1234-5678", "maria.lopez@example.mx",
	"d-maria-hernandez-lopez", "d-mariahernandezlopezgarcia", "d-helm850312mdfrpr09",
	"p-garcia-lopez-000000000000000000000000", "r-12345678901", "c-5512345678", "s-maria",
	"d-" + strings.Repeat("maria", 5), "C50.9 maria", "C50.9-garcia", "consent-garcia", "library-lopez",
	"1.0-maria", "1985.03.12.1", "face-visible maria", "other-garcia",
}

// inputField is one id or code field: setup brings a fresh ledger to where
// the transaction is allowed, call runs it with the field set to v.
type inputField struct {
	name  string
	setup func(e *env)
	call  func(e *env, v string) error
	good  []string // values of the accepted form (setup is run again for each)
}

var inputsID = did("inputs")

// jsonField sets path in step's default data.
func jsonField(step contract.Step, good []string, path ...string) inputField {
	return inputField{
		name:  strings.Join(path, "."),
		setup: func(e *env) { e.must(inputsID, pathTo(firstFrom(step))...) },
		call: func(e *env, v string) error {
			var data map[string]any
			require.NoError(e.t, json.Unmarshal([]byte(defaultData(step, inputsID)), &data))
			m := data
			for _, k := range path[:len(path)-1] {
				if m[k] == nil {
					m[k] = map[string]any{}
				}
				m = m[k].(map[string]any)
			}
			m[path[len(path)-1]] = v
			raw, err := json.Marshal(data)
			require.NoError(e.t, err)
			_, err = e.stepWith(defaultCaller(step), step, inputsID, string(raw))
			return err
		},
		good: good,
	}
}

// argField passes v as an argument, as caller w.
func argField(name string, w who, good []string, fn func(e *env, ctx ctxT, v string) (string, error)) inputField {
	return inputField{
		name:  name,
		setup: func(e *env) { e.must(inputsID, contract.Register, contract.LinkDonor) },
		call: func(e *env, v string) error {
			_, err := e.submit(w, nil, func(ctx ctxT) (string, error) { return fn(e, ctx, v) })
			return err
		},
		good: good,
	}
}

func linkField(key string, good []string) inputField {
	return inputField{
		name:  "donor_link." + key,
		setup: func(e *env) { e.must(inputsID, contract.Register) },
		call: func(e *env, v string) error {
			link := map[string]string{"contactRef": "c-" + inputsID[2:], "donorPseudonym": pseudonym, "salt": salt}
			link[key] = v
			raw, _ := json.Marshal(link)
			_, err := linkDonor(e, hospitalOp, inputsID, transient(string(raw)))
			return err
		},
		good: good,
	}
}

// stepArg sets the request id or the donation id of step (as its default
// caller, on a donation brought to where step is allowed).
func stepArg(step contract.Step, arg string) inputField {
	return inputField{
		name:  arg,
		setup: func(e *env) { e.must(inputsID, pathTo(firstFrom(step))...) },
		call: func(e *env, v string) error {
			req, id := v, inputsID
			if arg == "donationId" {
				req, id = nextReq(), v
			}
			var tr map[string][]byte
			if step == contract.LinkDonor {
				tr = transient(defaultData(step, inputsID))
			}
			m := e.method(step)
			_, err := e.submit(defaultCaller(step), tr, func(ctx ctxT) (string, error) { return m(ctx, req, id, defaultData(step, inputsID)) })
			return err
		},
	}
}

// everyStepsIDs is the request id and donation id field of every step.
func everyStepsIDs() []inputField {
	var out []inputField
	for _, step := range contract.Steps {
		out = append(out, stepArg(step, "requestId"), stepArg(step, "donationId"))
	}
	return out
}

var (
	hex24 = strings.Repeat("0a", 12)
	hex64 = strings.Repeat("0123456789abcdef", 4)
)

var inputFields = append(everyStepsIDs(), []inputField{
	argField("requestId", hospitalOp, []string{"r-" + hex24, "r-" + hex64, "hb-" + hex24, "bench-go-" + hex64},
		func(e *env, ctx ctxT, v string) (string, error) {
			return e.cc.Consent(ctx, v, inputsID, defaultData(contract.Consent, inputsID))
		}),
	argField("requestId", hospitalOp, []string{"hb-" + hex64, "t-" + hex24}, func(e *env, ctx ctxT, v string) (string, error) { return e.cc.Heartbeat(ctx, v) }),
	argField("donationId", hospitalOp, []string{"d-" + hex24, "d-" + hex64}, func(e *env, ctx ctxT, v string) (string, error) {
		return e.cc.RegisterDonation(ctx, "r-"+hex24, v, defaultData(contract.Register, v))
	}),
	argField("donationId", hospitalSvc, nil, func(e *env, ctx ctxT, v string) (string, error) { return e.cc.Revoke(ctx, "r-"+hex24, v, "{}") }),
	argField("donationId", regulator, nil, func(e *env, ctx ctxT, v string) (string, error) { return e.cc.GetDonation(ctx, v) }),
	argField("donationId", regulator, nil, func(e *env, ctx ctxT, v string) (string, error) { return e.cc.GetHistory(ctx, v) }),
	argField("donationId", regulator, nil, func(e *env, ctx ctxT, v string) (string, error) { return e.cc.GetConsent(ctx, v) }),
	argField("donationId", hospitalOp, nil, func(e *env, ctx ctxT, v string) (string, error) { return e.cc.GetDonorLink(ctx, v) }),
	argField("donationId", regulator, nil, func(e *env, ctx ctxT, v string) (string, error) {
		ok, err := e.cc.VerifyDonorCommitment(ctx, v, salt, pseudonym)
		return fmt.Sprint(ok), err
	}),
	argField("donorPseudonym", regulator, []string{"p-" + hex24}, func(e *env, ctx ctxT, v string) (string, error) {
		ok, err := e.cc.VerifyDonorCommitment(ctx, inputsID, salt, v)
		return fmt.Sprint(ok), err
	}),
	argField("mspId", regulator, []string{"HospitalMSP"}, func(e *env, ctx ctxT, v string) (string, error) { return e.cc.QueryByOrg(ctx, v, "10", "") }),
	argField("mspId", regulator, nil, func(e *env, ctx ctxT, v string) (string, error) { return e.cc.GetHeartbeat(ctx, v) }),
	argField("state", regulator, []string{"REGISTERED"}, func(e *env, ctx ctxT, v string) (string, error) { return e.cc.QueryByState(ctx, v, "10", "") }),
	linkField("contactRef", []string{"c-" + hex24, "c-" + hex64}),
	linkField("donorPseudonym", nil),
	jsonField(contract.Consent, []string{"consent-general", "consent-minor", "consent-research"}, "formId"),
	jsonField(contract.Consent, []string{"3", "1.4.0", "10.2", "0.1"}, "formVersion"),
	jsonField(contract.Acquire, []string{"C50", "C50.9", "S72.001A", "Z00.00"}, "source", "conditionCode"),
	jsonField(contract.Deidentify, []string{"basic", "library", "library-private", "manual"}, "profile", "id"),
	jsonField(contract.Deidentify, []string{"1", "2", "2.1", "1.0.0"}, "profile", "version"),
	jsonField(contract.Diagnose, []string{"R91.8", "C50.912"}, "findingCode"),
	jsonField(contract.Diagnose, []string{"efirma", "pki", "handwritten"}, "signatureCode"),
	jsonField(contract.SubmitForReview, []string{"s-" + hex24}, "reviewSessionId"),
	jsonField(contract.RequestChanges, []string{"face-visible", "blur-face", "other"}, "reasonCode"),
	jsonField(contract.Accept, nil, "reasonCode"),
	jsonField(contract.Revoke, []string{"donor-request", "changed-mind"}, "reasonCode"),
	jsonField(contract.Consent, []string{"LFPDPPP_2025", "LGPDPPSO"}, "legalRegime"),
	jsonField(contract.Consent, []string{"signature", "otp"}, "acceptance", "kind"),
	jsonField(contract.Acquire, []string{"human"}, "source", "kind"),
	jsonField(contract.Acquire, []string{"40-64"}, "source", "ageBand"),
	jsonField(contract.Deidentify, []string{"automatic", "manual"}, "method"),
	argField("mspId", regulator, nil, func(e *env, ctx ctxT, v string) (string, error) { return e.cc.QueryByOrg(ctx, v, "10", "") }),
}...)

// TestPersonalDataInIdsAndCodesIsRefused throws every personal value at every
// id and code field: each is refused with INVALID_INPUT naming the field and
// not the value, and nothing is written.
func TestPersonalDataInIdsAndCodesIsRefused(t *testing.T) {
	for _, f := range inputFields {
		for _, v := range personal {
			t.Run(f.name+"/"+v, func(t *testing.T) {
				e := newEnv(t)
				f.setup(e)
				keys := e.ledger.Keys()
				err := f.call(e, v)
				require.Error(t, err)
				require.True(t, strings.HasPrefix(err.Error(), "INVALID_INPUT: invalid "+f.name+": "), err.Error())
				require.NotContains(t, err.Error(), v)
				require.Equal(t, keys, e.ledger.Keys())
			})
		}
	}
}

// TestTheAcceptedFormsPass: what clients send (client/donor.new_id ids,
// ICD-10 codes, versions, the closed lists) is accepted in every field.
func TestTheAcceptedFormsPass(t *testing.T) {
	for _, f := range inputFields {
		for _, v := range f.good {
			t.Run(f.name+"/"+v, func(t *testing.T) {
				e := newEnv(t)
				f.setup(e)
				require.NoError(t, f.call(e, v))
			})
		}
	}
	table := contract.Table()
	require.Equal(t, contract.ReasonCodes, table.Inputs.Codes["reasonCode"])
	require.Equal(t, contract.IDPrefixes, table.Inputs.IDs)
}
