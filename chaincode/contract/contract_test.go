package contract_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/traza-mx/traza/chaincode/contract"
	"github.com/traza-mx/traza/chaincode/contract/mocks"
)

func TestHappyPathRecordsEvidenceAndOneEventPerStep(t *testing.T) {
	e := newEnv(t)
	id := "d-686170707900000000000000"
	steps := []contract.Step{
		contract.Register, contract.LinkDonor, contract.Consent, contract.Acquire, contract.Deidentify,
		contract.Diagnose, contract.SubmitForReview, contract.RequestChanges, contract.Deidentify,
		contract.SubmitForReview, contract.RequestChanges, contract.Deidentify, contract.SubmitForReview,
		contract.Accept, contract.Store,
	}
	for i, step := range steps {
		w := defaultCaller(step)
		out, err := e.step(w, step, id)
		require.NoError(t, err, step)
		ev := decode[contract.Evidence](t, out)
		require.Equal(t, step, ev.Step)
		require.Equal(t, id, ev.DonationID)
		require.Equal(t, executorOf(t, w), ev.Executor)
		require.Equal(t, w.msp, ev.MSPID)
		require.Equal(t, w.role, ev.Role)
		require.Equal(t, e.last.GetTxID(), ev.TxID)
		ts, _ := e.last.GetTxTimestamp()
		require.Equal(t, ts.AsTime().UTC().Format("2006-01-02T15:04:05Z07:00"), ev.Timestamp)
		require.Equal(t, "1.4.0", ev.ContractVersion)
		require.Equal(t, "traza_1.4.0:abc123", ev.PackageID)

		// exactly one event, named after the step, payload = the result
		require.Len(t, e.ledger.Events, i+1)
		last := e.ledger.Events[i]
		require.Equal(t, string(step), last.Name)
		require.JSONEq(t, out, string(last.Payload))
	}
	d := decode[contract.Donation](t, mustQuery(t, e, regulator, id))
	require.Equal(t, contract.Stored, d.State)
	require.Equal(t, 2, d.ChangeRounds)
	require.Equal(t, "HospitalMSP", d.IntakeMSP)
	require.Equal(t, commitment(id), d.Commitment)
	require.Equal(t, contract.Store, d.LastEvent.Step)
	require.True(t, d.LastEvent.Data.Storage.LinkPurged)
	require.Equal(t, []string{h("d1")}, d.DeidentifiedSHA256)

	hist := decode[[]contract.HistoryEntry](t, mustEval(t, e, regulator, func(ctx ctxT) (string, error) { return e.cc.GetHistory(ctx, id) }))
	var got []contract.Step
	for i := len(hist) - 1; i >= 0; i-- { // newest first
		got = append(got, hist[i].Event.Step)
	}
	var public []contract.Step // LinkDonor writes private data only
	for _, s := range steps {
		if s != contract.LinkDonor {
			public = append(public, s)
		}
	}
	require.Equal(t, public, got)
	require.Equal(t, contract.Stored, hist[0].State)
}

func mustEval(t *testing.T, e *env, w who, fn txFunc) string {
	out, err := e.query(w, fn)
	require.NoError(t, err)
	return out
}

func mustStep(t *testing.T, e *env, w who, step contract.Step, id string) string {
	out, err := e.step(w, step, id)
	require.NoError(t, err)
	return out
}

func TestTimestampFormatIsRFC3339UTC(t *testing.T) {
	e := newEnv(t)
	ev := decode[contract.Evidence](t, mustStep(t, e, hospitalOp, contract.Register, "d-747300000000000000000000"))
	require.Equal(t, "2026-03-01T09:00:00Z", ev.Timestamp)
}

func TestReplayedRequestReturnsFirstResultAndWritesNothing(t *testing.T) {
	e := newEnv(t)
	e.must("d-726570000000000000000000", pathTo(contract.Consented)...)
	acquire := func(req string) (string, error) {
		return e.submit(hospitalOp, nil, func(ctx ctxT) (string, error) {
			return e.cc.Acquire(ctx, req, "d-726570000000000000000000", defaultData(contract.Acquire, "d-726570000000000000000000"))
		})
	}
	first, err := acquire("r-6163712d3100000000000000")
	require.NoError(t, err)
	events := len(e.ledger.Events)
	keys := e.ledger.Keys()

	again, err := acquire("r-6163712d3100000000000000")
	require.NoError(t, err)
	require.Equal(t, first, again)
	require.Empty(t, e.last.Writes(), "a replay writes nothing")
	require.Nil(t, e.last.Event(), "a replay sets no event")
	require.Len(t, e.ledger.Events, events)
	require.Equal(t, keys, e.ledger.Keys())

	// Still the first result after the donation moved on.
	e.must("d-726570000000000000000000", contract.Deidentify)
	again, err = acquire("r-6163712d3100000000000000")
	require.NoError(t, err)
	require.Equal(t, first, again)

	// The same id for another step or donation is an error, not a replay.
	_, err = e.submit(hospitalOp, nil, func(ctx ctxT) (string, error) {
		return e.cc.SubmitForReview(ctx, "r-6163712d3100000000000000", "d-726570000000000000000000", "{}")
	})
	require.EqualError(t, err, "ALREADY_EXISTS: request id r-6163712d3100000000000000 was already used for step Acquire on donation d-726570000000000000000000")

	// A replay still needs a caller allowed to make the step.
	_, err = e.submit(regulator, nil, func(ctx ctxT) (string, error) {
		return e.cc.Acquire(ctx, "r-6163712d3100000000000000", "d-726570000000000000000000", "{}")
	})
	require.EqualError(t, err, "UNAUTHORIZED: step Acquire needs traza.role operator or service, caller has regulator")
}

// TestConflictingTransitionsOneCommits simulates two transitions on one
// donation against the same state: both read the donation key, so the second
// to commit fails MVCC_READ_CONFLICT, as Fabric's validator would.
func TestConflictingTransitionsOneCommits(t *testing.T) {
	e := newEnv(t)
	e.must("d-726163650000000000000000", pathTo(contract.UnderReview)...)
	key := donationKeyOf("d-726163650000000000000000")
	txA, _, errA := e.begin(hospitalSvc, nil, func(ctx ctxT) (string, error) {
		return e.cc.Accept(ctx, "r-726163652d61000000000000", "d-726163650000000000000000", "{}")
	})
	txB, _, errB := e.begin(hospitalSvc, nil, func(ctx ctxT) (string, error) {
		return e.cc.Revoke(ctx, "r-726163652d62000000000000", "d-726163650000000000000000", "{}")
	})
	require.NoError(t, errA)
	require.NoError(t, errB)
	require.Contains(t, txA.Reads(), key)
	require.Contains(t, txB.Reads(), key)
	require.NoError(t, e.ledger.Commit(txA))
	err := e.ledger.Commit(txB)
	require.True(t, errors.Is(err, mocks.ErrMVCCReadConflict), err)
	require.Equal(t, contract.Accepted, decode[contract.Donation](t, mustQuery(t, e, hospitalOp, "d-726163650000000000000000")).State)
}

// TestEveryTransitionReadsAndWritesTheDonationKey is what makes the MVCC check
// above hold for every step.
func TestEveryTransitionReadsAndWritesTheDonationKey(t *testing.T) {
	for _, step := range contract.Steps {
		if step == contract.LinkDonor {
			continue // writes private data only; tested in private_test.go
		}
		var from contract.State
		for _, r := range contract.Lifecycle {
			if r.Step == step {
				from = r.From[0]
				break
			}
		}
		e := newEnv(t)
		e.must("d-727700000000000000000000", pathTo(from)...)
		_, err := e.step(defaultCaller(step), step, "d-727700000000000000000000")
		require.NoError(t, err, step)
		require.Contains(t, e.last.Reads(), donationKeyOf("d-727700000000000000000000"), step)
		require.Contains(t, e.last.Writes(), donationKeyOf("d-727700000000000000000000"), step)
	}
}

func donationKeyOf(id string) string { return "\x00donation\x00" + id + "\x00" }

// badInputs: (step, data, expected error). The offending values are personal
// data on purpose; the error must name the field, never echo the value.
// badInput is step data the contract refuses, and the error it must give.
type badInput struct {
	step contract.Step
	data string
	want string
}

var badInputs = []badInput{
	{contract.Register, `{"commitment":"María López"}`, "INVALID_INPUT: invalid commitment: want a SHA-256 as 64 lowercase hex digits"},
	{contract.Register, `{"commitment":"` + strings.ToUpper(h("x")) + `"}`, "INVALID_INPUT: invalid commitment: want a SHA-256 as 64 lowercase hex digits"},
	{contract.Register, `{"commitment":"` + h("x") + `","name":"María López"}`, `INVALID_INPUT: invalid registration: unknown field "name" (only ids, hashes, enums, numbers and short codes are accepted)`},
	{contract.Register, `{"commitment":"` + h("x") + `","María López <maria@example.mx>":1}`, `INVALID_INPUT: invalid registration: unknown field (name not shown) (only ids, hashes, enums, numbers and short codes are accepted)`},
	{contract.Register, `{"commitment":"` + h("x") + `"} {"x":1}`, "INVALID_INPUT: invalid registration: trailing data after the JSON object"},
	{contract.Register, `María`, "INVALID_INPUT: invalid registration: not valid JSON (offset 1)"},
	{contract.Register, `{"commitment":12}`, `INVALID_INPUT: invalid registration: field "commitment" must be string`},
	{contract.Consent, strings.Replace(fmt.Sprintf(consentJSON, h("otp"), h("f")), `"consent-general"`, `"maria.lopez@example.mx"`, 1), "INVALID_INPUT: invalid formId: want one of consent-general, consent-minor, consent-research"},
	{contract.Consent, strings.Replace(fmt.Sprintf(consentJSON, h("otp"), h("f")), `"3"`, `"version tres"`, 1), "INVALID_INPUT: invalid formVersion: want a version of 1-3 numbers separated by '.', e.g. 3 or 1.4.0"},
	{contract.Consent, strings.Replace(fmt.Sprintf(consentJSON, h("otp"), h("f")), `"LGPDPPSO"`, `"GDPR"`, 1), "INVALID_INPUT: invalid legalRegime: want one of LFPDPPP_2025, LGPDPPSO"},
	{contract.Consent, strings.Replace(fmt.Sprintf(consentJSON, h("otp"), h("f")), `"otp"`, `"voice"`, 1), "INVALID_INPUT: invalid acceptance.kind: want one of signature, otp"},
	{contract.Consent, strings.Replace(fmt.Sprintf(consentJSON, h("otp"), h("f")), `120`, `0`, 1), "INVALID_INPUT: invalid retentionMonths: want a whole number of months from 1 to 1200"},
	{contract.Consent, strings.Replace(fmt.Sprintf(consentJSON, h("otp"), h("f")), `120`, `12.5`, 1), `INVALID_INPUT: invalid consent: field "retentionMonths" must be int`},
	{contract.Consent, strings.NewReplacer(`"aiTraining":true`, `"aiTraining":false`, `"research":true`, `"research":false`, `"teaching":true`, `"teaching":false`).Replace(fmt.Sprintf(consentJSON, h("otp"), h("f"))), "INVALID_INPUT: invalid purposes: a consent allows at least one of aiTraining, teaching, research, commercial (to refuse, do not consent or Revoke)"},
	{contract.Consent, strings.Replace(fmt.Sprintf(consentJSON, h("otp"), h("f")), `"minor":false`, `"minor":true`, 1), "INVALID_INPUT: invalid consent: a minor's consent needs guardianConsent true and guardianEvidence"},
	{contract.Consent, strings.Replace(fmt.Sprintf(consentJSON, h("otp"), h("f")), `"guardianConsent":false`, `"guardianConsent":true`, 1), "INVALID_INPUT: invalid consent: guardianConsent and guardianEvidence are only for minors (set minor true)"},
	{contract.Consent, strings.Replace(fmt.Sprintf(consentJSON, h("otp"), h("f")), `"retentionMonths"`, `"donorName":"Ana","retentionMonths"`, 1), `INVALID_INPUT: invalid consent: unknown field "donorName" (only ids, hashes, enums, numbers and short codes are accepted)`},
	{contract.Acquire, `{"originalSha256":[],"source":{"kind":"synthetic"}}`, "INVALID_INPUT: invalid originalSha256: want at least one SHA-256"},
	{contract.Acquire, `{"originalSha256":["` + h("a") + `","` + h("a") + `"],"source":{"kind":"synthetic"}}`, "INVALID_INPUT: invalid originalSha256: hash " + h("a") + " appears twice"},
	{contract.Acquire, `{"originalSha256":["/home/maria/scan.pdf"],"source":{"kind":"synthetic"}}`, "INVALID_INPUT: invalid originalSha256[0]: want a SHA-256 as 64 lowercase hex digits"},
	{contract.Acquire, `{"originalSha256":["` + h("a") + `"],"source":{"kind":"human","ageBand":"47"}}`, "INVALID_INPUT: invalid source.ageBand: want one of 0-17, 18-39, 40-64, 65-89, 90+"},
	{contract.Acquire, `{"originalSha256":["` + h("a") + `"],"source":{"kind":"human","ageBand":"40-64","conditionCode":"cáncer de mama"}}`, "INVALID_INPUT: invalid source.conditionCode: want an ICD-10 code such as C50.9 (letter, two digits, optional '.' and 1-4 digits or capitals)"},
	{contract.Acquire, `{"originalSha256":["` + h("a") + `"],"source":{"kind":"synthetic","ageBand":"40-64"}}`, "INVALID_INPUT: invalid source: synthetic data has no ageBand or conditionCode"},
	{contract.Acquire, `{"originalSha256":["` + h("a") + `"],"source":{"kind":"patient"}}`, "INVALID_INPUT: invalid source.kind: want one of human, synthetic"},
	{contract.Acquire, `{"originalSha256":["` + h("a") + `"],"source":{"kind":"synthetic","birthDate":"1980-02-03"}}`, `INVALID_INPUT: invalid acquisition: unknown field "birthDate" (only ids, hashes, enums, numbers and short codes are accepted)`},
}

func TestBadInputIsRefusedWithoutEchoingIt(t *testing.T) {
	refusedWithoutEchoing(t, badInputs, "María", "maria", "Ana", "1980", "cáncer", "/home")
}

// refusedWithoutEchoing submits each case's data from the step's first allowed
// state: the error is the expected one, names none of the personal values and
// nothing on the ledger changes.
func refusedWithoutEchoing(t *testing.T, cases []badInput, pii ...string) {
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%d-%s", i, tc.step), func(t *testing.T) {
			e := newEnv(t)
			var from contract.State
			for _, r := range contract.Lifecycle {
				if r.Step == tc.step {
					from = r.From[0]
					break
				}
			}
			e.must("d-626164000000000000000000", pathTo(from)...)
			keys := e.ledger.Keys()
			_, err := e.stepWith(defaultCaller(tc.step), tc.step, "d-626164000000000000000000", tc.data)
			require.EqualError(t, err, tc.want)
			for _, v := range pii {
				require.NotContains(t, err.Error(), v)
			}
			require.Equal(t, keys, e.ledger.Keys(), "bad input changes nothing")
		})
	}
}

var badLaterInputs = []badInput{
	{contract.Deidentify, `{"deidentifiedSha256":["` + h("d") + `"],"method":"by hand","profile":{"id":"manual","version":"1"},"reportSha256":"` + h("r") + `"}`, "INVALID_INPUT: invalid method: want one of automatic, manual"},
	{contract.Deidentify, `{"deidentifiedSha256":["` + h("d") + `"],"method":"manual","profile":{"id":"Perfil Básico","version":"1"},"reportSha256":"` + h("r") + `"}`, "INVALID_INPUT: invalid profile.id: want one of basic, library, library-private, manual"},
	{contract.Deidentify, `{"deidentifiedSha256":["` + h("d") + `"],"method":"manual","profile":{"id":"manual","version":"1"}}`, "INVALID_INPUT: invalid reportSha256: want a SHA-256 as 64 lowercase hex digits"},
	{contract.Diagnose, `{"signatureSha256":"Dr. Juan Pérez"}`, "INVALID_INPUT: invalid signatureSha256: want a SHA-256 as 64 lowercase hex digits"},
	{contract.Diagnose, `{"signatureSha256":"` + h("s") + `","findingCode":"nódulo en mama izquierda"}`, "INVALID_INPUT: invalid findingCode: want an ICD-10 code such as C50.9 (letter, two digits, optional '.' and 1-4 digits or capitals)"},
	{contract.Diagnose, `{"signatureSha256":"` + h("s") + `","notes":"paciente refiere dolor"}`, `INVALID_INPUT: invalid diagnosis: unknown field "notes" (only ids, hashes, enums, numbers and short codes are accepted)`},
	{contract.SubmitForReview, `{"reviewSessionId":"juan@example.mx"}`, "INVALID_INPUT: invalid reviewSessionId: want a random id: s- and 24 to 64 lowercase hex digits"},
	{contract.SubmitForReview, `{"round":7}`, "INVALID_INPUT: invalid review: round is set by the contract"},
	{contract.RequestChanges, `{"comment":"se ve mi cara"}`, `INVALID_INPUT: invalid decision: unknown field "comment" (only ids, hashes, enums, numbers and short codes are accepted)`},
	{contract.RequestChanges, `{"reasonCode":"my face"}`, "INVALID_INPUT: invalid reasonCode: want one of face-visible, blur-face, text-visible, identifier-visible, wrong-study, donor-request, changed-mind, guardian-request, consent-withdrawn, retention-expired, other"},
	{contract.Accept, `{"decision":"revoke"}`, "INVALID_INPUT: invalid decision: the decision field is set by the step"},
	{contract.Store, `{"librarySha256":["` + h("other") + `"]}`, "INVALID_INPUT: donation d-626164000000000000000000: librarySha256 must list exactly the 1 current de-identified objects (deidentifiedSha256)"},
	{contract.Store, `{"librarySha256":["` + h("d1") + `"],"linkPurged":true}`, "INVALID_INPUT: invalid storage: linkPurged is set by the contract"},
	{contract.Erase, `{"deletedSha256":["` + h("o1") + `"],"keyDestroyed":true}`, "INVALID_INPUT: donation d-626164000000000000000000: deletedSha256 misses staged object " + h("o2") + " (every stagedSha256 must be deleted)"},
	{contract.Erase, `{"deletedSha256":["` + h("o1") + `","` + h("o2") + `"],"keyDestroyed":false}`, "INVALID_INPUT: donation d-626164000000000000000000: keyDestroyed must be true, its originals were staged under a per-donation key"},
}

func TestBadStepDataIsRefused(t *testing.T) {
	refusedWithoutEchoing(t, badLaterInputs, "Juan", "juan", "Pérez", "cara", "my face", "nódulo", "dolor", "Básico")
}

func TestBadIdsAreRefused(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ req, id, want string }{
		{"r-310000000000000000000000", "María López", "INVALID_INPUT: invalid donationId: want a random id: d- and 24 to 64 lowercase hex digits"},
		{"r-310000000000000000000000", "d 1", "INVALID_INPUT: invalid donationId: want a random id: d- and 24 to 64 lowercase hex digits"},
		{"r-310000000000000000000000", "D-1", "INVALID_INPUT: invalid donationId: want a random id: d- and 24 to 64 lowercase hex digits"},
		{"r-310000000000000000000000", strings.Repeat("a", 65), "INVALID_INPUT: invalid donationId: want a random id: d- and 24 to 64 lowercase hex digits"},
		{"r-310000000000000000000000", "", "INVALID_INPUT: invalid donationId: want a random id: d- and 24 to 64 lowercase hex digits"},
		{"ana@example.mx", "d-310000000000000000000000", "INVALID_INPUT: invalid requestId: want a random id: r- or hb- or t- or bench-go- or bench-py- and 24 to 64 lowercase hex digits"},
		{"", "d-310000000000000000000000", "INVALID_INPUT: invalid requestId: want a random id: r- or hb- or t- or bench-go- or bench-py- and 24 to 64 lowercase hex digits"},
	} {
		_, err := e.submit(hospitalOp, nil, func(ctx ctxT) (string, error) {
			return e.cc.RegisterDonation(ctx, tc.req, tc.id, defaultData(contract.Register, "d-310000000000000000000000"))
		})
		require.EqualError(t, err, tc.want)
	}
	require.Empty(t, e.ledger.Keys())
}

func TestConsentVersionsSupersedeAndRevocationIsKept(t *testing.T) {
	e := newEnv(t)
	id := "d-636f6e73656e740000000000"
	e.must(id, pathTo(contract.Acquired)...)
	v2 := strings.Replace(fmt.Sprintf(consentJSON, h("otp2"), h("form text v4")), `"commercial":false`, `"commercial":true`, 1)
	out, err := e.stepWith(hospitalSvc, contract.Consent, id, v2)
	require.NoError(t, err)
	ev := decode[contract.Evidence](t, out)
	require.Equal(t, contract.Acquired, ev.To, "a new version keeps the state")
	require.Equal(t, 2, ev.Data.Consent.Version)
	require.Equal(t, 1, ev.Data.Consent.Supersedes)

	e.must(id, contract.Revoke)
	hist := decode[contract.ConsentHistory](t, mustEval(t, e, regulator, func(ctx ctxT) (string, error) { return e.cc.GetConsent(ctx, id) }))
	require.Equal(t, 2, hist.Current)
	require.Len(t, hist.Versions, 2)
	require.Equal(t, 1, hist.Versions[0].Version)
	require.False(t, hist.Versions[0].Purposes.Commercial, "version 1 is never edited")
	require.True(t, hist.Versions[1].Purposes.Commercial)
	require.Equal(t, h("form text v4"), hist.Versions[1].FormSHA256)
	require.Equal(t, contract.LGPDPPSO, hist.Versions[1].LegalRegime)
	require.NotNil(t, hist.Revocation)
	require.Equal(t, contract.Revoke, hist.Revocation.Step)
	require.Equal(t, "revoke", hist.Revocation.Data.Decision.Decision)

	_, err = e.step(hospitalSvc, contract.Consent, id)
	require.EqualError(t, err, "WRONG_STATE: donation d-636f6e73656e740000000000 is REVOKED: step Consent needs state REGISTERED or CONSENTED or ACQUIRED or DEIDENTIFIED or DIAGNOSED or UNDER_REVIEW or CHANGES_REQUESTED or ACCEPTED")
}

func TestMinorsNeedGuardianConsent(t *testing.T) {
	e := newEnv(t)
	id := "d-6d696e6f7200000000000000"
	e.must(id, pathTo(contract.Consented)...)
	minorData := fmt.Sprintf(`{"originalSha256":[%q],"source":{"ageBand":"0-17","kind":"human"}}`, h("o1"))
	_, err := e.stepWith(hospitalOp, contract.Acquire, id, minorData)
	require.EqualError(t, err, "INVALID_INPUT: donation d-6d696e6f7200000000000000: source age band 0-17 needs a consent with minor true and guardian consent (consent version 1 has none)")

	guardian := strings.NewReplacer(`"minor":false`, `"minor":true`, `"guardianConsent":false`,
		fmt.Sprintf(`"guardianConsent":true,"guardianEvidence":{"kind":"signature","sha256":%q}`, h("guardian sig"))).
		Replace(fmt.Sprintf(consentJSON, h("otp"), h("form minors")))
	_, err = e.stepWith(hospitalOp, contract.Consent, id, guardian)
	require.NoError(t, err)
	_, err = e.stepWith(hospitalOp, contract.Acquire, id, minorData)
	require.NoError(t, err)

	// Once the source is a minor, a later adult-only consent is refused.
	_, err = e.step(hospitalOp, contract.Consent, id)
	require.EqualError(t, err, "INVALID_INPUT: donation d-6d696e6f7200000000000000 comes from a minor (age band 0-17): the consent needs minor true and guardian consent")
}

func TestSyntheticSourceAndManualDeidentification(t *testing.T) {
	e := newEnv(t)
	id := "d-73796e746800000000000000"
	e.must(id, pathTo(contract.Consented)...)
	_, err := e.stepWith(hospitalOp, contract.Acquire, id, fmt.Sprintf(`{"originalSha256":[%q],"source":{"kind":"synthetic"}}`, h("s1")))
	require.NoError(t, err)
	_, err = e.stepWith(hospitalOp, contract.Deidentify, id, fmt.Sprintf(
		`{"deidentifiedSha256":[%q],"method":"manual","profile":{"id":"manual","version":"1.0"},"reportSha256":%q}`, h("s1-red"), h("rep")))
	require.NoError(t, err)
	d := decode[contract.Donation](t, mustQuery(t, e, hospitalOp, id))
	require.Equal(t, contract.Synthetic, d.Source.Kind)
	require.ElementsMatch(t, []string{h("s1-red"), h("s1")}, d.StagedSHA256)
	require.Empty(t, d.Source.AgeBand)
}

// TestNoPersonalDataReachesTheLedger runs a full donation with certificates
// naming a person and scans every key, value and event for personal values.
func TestNoPersonalDataReachesTheLedger(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"d-7069692d3100000000000000", "d-7069692d3200000000000000"} {
		e.must(id, contract.Register, contract.LinkDonor, contract.Consent, contract.Acquire, contract.Deidentify,
			contract.Diagnose, contract.SubmitForReview, contract.Accept, contract.Store)
	}
	e.must("d-7069692d3300000000000000", pathTo(contract.Erased)...)
	forbidden := []string{personName, "López", "María", personEmail, "example.mx", pseudonym, salt}
	for _, id := range []string{"d-7069692d3100000000000000", "d-7069692d3200000000000000"} {
		forbidden = append(forbidden, "c-"+id[2:]) // the contact refs LinkDonor got
	}
	for _, k := range e.ledger.Keys() {
		blob := k + string(e.ledger.State(k))
		for _, f := range forbidden {
			require.NotContains(t, blob, f, "key %q", k)
		}
	}
	for _, ev := range e.ledger.Events {
		for _, f := range forbidden {
			require.NotContains(t, string(ev.Payload), f, "event %s", ev.Name)
		}
		var fields map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(ev.Payload, &fields))
	}
}

// TestRevocationAtEveryOpenStateThenErase revokes at each state before STORED
// and erases exactly the staged objects the donation lists.
func TestRevocationAtEveryOpenStateThenErase(t *testing.T) {
	open := []contract.State{contract.Registered, contract.Consented, contract.Acquired, contract.Deidentified,
		contract.Diagnosed, contract.UnderReview, contract.ChangesRequested, contract.Accepted}
	for _, s := range open {
		t.Run(string(s), func(t *testing.T) {
			e := newEnv(t)
			e.must("d-726576000000000000000000", pathTo(s)...)
			_, err := e.step(hospitalSvc, contract.Revoke, "d-726576000000000000000000")
			require.NoError(t, err)
			d := decode[contract.Donation](t, mustQuery(t, e, hospitalOp, "d-726576000000000000000000"))
			require.Equal(t, contract.Revoked, d.State)
			data, err := json.Marshal(map[string]any{"deletedSha256": d.StagedSHA256, "keyDestroyed": len(d.OriginalSHA256) > 0})
			require.NoError(t, err)
			out, err := e.stepWith(hospitalOp, contract.Erase, "d-726576000000000000000000", string(data))
			require.NoError(t, err)
			ev := decode[contract.Evidence](t, out)
			require.Equal(t, contract.Erased, ev.To)
			require.ElementsMatch(t, d.StagedSHA256, ev.Data.Deletion.DeletedSHA256)
			require.True(t, ev.Data.Deletion.LinkPurged)
			require.Equal(t, []string{"intakeHospital/\x00link\x00d-726576000000000000000000\x00"}, purged(e))
			_, err = e.step(hospitalSvc, contract.Revoke, "d-726576000000000000000000")
			require.EqualError(t, err, "WRONG_STATE: donation d-726576000000000000000000 is ERASED: step Revoke needs state REGISTERED or CONSENTED or ACQUIRED or DEIDENTIFIED or DIAGNOSED or UNDER_REVIEW or CHANGES_REQUESTED or ACCEPTED")
		})
	}
}
