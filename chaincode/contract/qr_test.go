package contract_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/traza-mx/traza/chaincode/contract"
)

// reissue submits ReissueQR with a given request id and new token hash.
func reissue(e *env, w who, req, id, sha string) (string, error) {
	return e.submit(w, nil, func(ctx ctxT) (string, error) {
		return e.cc.ReissueQR(ctx, req, id, fmt.Sprintf(`{"qrTokenSha256":%q}`, sha))
	})
}

// In every open state the intake org's operator or service replaces the
// token's hash; the state, the other fields and the indexes stay; the event
// carries the new hash and nothing else of the donation.
func TestReissueQRReplacesTheTokenHashInEveryOpenState(t *testing.T) {
	for _, state := range contract.OpenStates {
		for _, w := range []who{hospitalOp, hospitalSvc} {
			t.Run(fmt.Sprintf("%s/%s", state, w.role), func(t *testing.T) {
				e := newEnv(t)
				id := did("reissue")
				e.must(id, pathTo(state)...)
				before := decode[contract.Donation](t, mustQuery(t, e, hospitalOp, id))
				require.Equal(t, h("qr-"+id), before.QRTokenSHA256)

				out, err := reissue(e, w, nextReq(), id, h("new token"))
				require.NoError(t, err)
				ev := decode[contract.Evidence](t, out)
				require.Equal(t, contract.ReissueQR, ev.Step)
				require.Equal(t, state, ev.From)
				require.Equal(t, state, ev.To)
				require.Equal(t, &contract.QRReissue{QRTokenSHA256: h("new token")}, ev.Data.QRReissue)
				require.Equal(t, contract.StepData{QRReissue: ev.Data.QRReissue}, ev.Data, "only the new hash")
				require.Equal(t, "ReissueQR", e.last.Event().EventName)
				require.JSONEq(t, out, string(e.last.Event().Payload))

				after := decode[contract.Donation](t, mustQuery(t, e, hospitalOp, id))
				require.Equal(t, h("new token"), after.QRTokenSHA256)
				require.Equal(t, state, after.State)
				require.Equal(t, ev, after.LastEvent)
				// Nothing else of the record moved.
				after.QRTokenSHA256, after.LastEvent, after.UpdatedAt = before.QRTokenSHA256, before.LastEvent, before.UpdatedAt
				require.Equal(t, before, after)

				page, err := e.query(regulator, func(ctx ctxT) (string, error) { return e.cc.QueryByState(ctx, string(state), "10", "") })
				require.NoError(t, err)
				require.Contains(t, page, id, "the state index is kept")
			})
		}
	}
}

// A donation registered without a QR gets its first one by a re-issue; a
// second re-issue replaces that one.
func TestReissueQRWithoutAPreviousToken(t *testing.T) {
	e := newEnv(t)
	id := did("noqr")
	_, err := e.stepWith(hospitalOp, contract.Register, id, fmt.Sprintf(`{"commitment":%q}`, commitment(id)))
	require.NoError(t, err)
	require.Empty(t, decode[contract.Donation](t, mustQuery(t, e, hospitalOp, id)).QRTokenSHA256)
	for _, tok := range []string{"first", "second"} {
		_, err = reissue(e, hospitalOp, nextReq(), id, h(tok))
		require.NoError(t, err)
		require.Equal(t, h(tok), decode[contract.Donation](t, mustQuery(t, e, hospitalOp, id)).QRTokenSHA256)
	}
}

// Final states accept no step, a re-issue included; REVOKED only leads to ERASED.
func TestReissueQRRefusedAfterTheDonationIsClosed(t *testing.T) {
	for _, state := range []contract.State{contract.Revoked, contract.Stored, contract.Erased} {
		t.Run(string(state), func(t *testing.T) {
			e := newEnv(t)
			id := did("closed")
			e.must(id, pathTo(state)...)
			keys := e.ledger.Keys()
			_, err := reissue(e, hospitalOp, nextReq(), id, h("late"))
			require.EqualError(t, err, fmt.Sprintf("WRONG_STATE: donation %s is %s: step ReissueQR needs state %s", id, state,
				"REGISTERED or CONSENTED or ACQUIRED or DEIDENTIFIED or DIAGNOSED or UNDER_REVIEW or CHANGES_REQUESTED or ACCEPTED"))
			require.Equal(t, keys, e.ledger.Keys())
			require.Equal(t, h("qr-"+id), decode[contract.Donation](t, mustQuery(t, e, hospitalOp, id)).QRTokenSHA256)
		})
	}
	e := newEnv(t)
	_, err := reissue(e, hospitalOp, nextReq(), did("nobody"), h("x"))
	require.EqualError(t, err, "NOT_FOUND: donation "+did("nobody")+" does not exist: step ReissueQR needs state REGISTERED or CONSENTED or ACQUIRED or DEIDENTIFIED or DIAGNOSED or UNDER_REVIEW or CHANGES_REQUESTED or ACCEPTED")
}

// Only the intake org's operator or service: not another member, not a
// clinician or regulator, not a stranger.
func TestReissueQROnlyByTheIntakeOrgsStaff(t *testing.T) {
	crossOrg(t, contract.ReissueQR, univOp)
	crossOrg(t, contract.ReissueQR, imssSvc)
	e := newEnv(t)
	id := did("roles")
	e.must(id, pathTo(contract.Deidentified)...)
	keys := e.ledger.Keys()
	for w, want := range map[who]string{
		clinician:                           "UNAUTHORIZED: step ReissueQR needs traza.role operator or service, caller has clinician",
		{"HospitalMSP", contract.Clinician}: "UNAUTHORIZED: step ReissueQR needs traza.role operator or service, caller has clinician",
		{"HospitalMSP", contract.Regulator}: "UNAUTHORIZED: step ReissueQR needs traza.role operator or service, caller has regulator",
		{"HospitalMSP", ""}:                 "UNAUTHORIZED: step ReissueQR needs traza.role operator or service, caller has none",
		{"StrangerMSP", contract.Operator}:  "UNAUTHORIZED: step ReissueQR needs MSP UniversityMSP or HospitalMSP or IMSSMSP, caller is StrangerMSP",
	} {
		_, err := reissue(e, w, nextReq(), id, h("stolen"))
		require.EqualError(t, err, want, w)
	}
	require.Equal(t, keys, e.ledger.Keys())
}

var badReissues = []badInput{
	{contract.ReissueQR, `{"qrTokenSha256":"` + h("qr-"+did("bad")) + `"}`, "INVALID_INPUT: donation " + did("bad") + ": qrTokenSha256 must differ from the current one (a re-issue replaces the token)"},
	{contract.ReissueQR, `{}`, "INVALID_INPUT: invalid qrTokenSha256: want a SHA-256 as 64 lowercase hex digits"},
	{contract.ReissueQR, `{"qrTokenSha256":"maria.lopez@example.mx"}`, "INVALID_INPUT: invalid qrTokenSha256: want a SHA-256 as 64 lowercase hex digits"},
	{contract.ReissueQR, `{"qrTokenSha256":"` + strings.ToUpper(h("t")) + `"}`, "INVALID_INPUT: invalid qrTokenSha256: want a SHA-256 as 64 lowercase hex digits"},
	{contract.ReissueQR, `{"qrTokenSha256":"` + h("t") + `","email":"maria.lopez@example.mx"}`, `INVALID_INPUT: invalid qrReissue: unknown field "email" (only ids, hashes, enums, numbers and short codes are accepted)`},
	{contract.ReissueQR, `{"qrToken":"Zm9vYmFy"}`, `INVALID_INPUT: invalid qrReissue: unknown field "qrToken" (only ids, hashes, enums, numbers and short codes are accepted)`},
}

// The same hash again would keep the old token open: refused, like malformed
// input, without echoing the value and without a write.
func TestReissueQRBadInput(t *testing.T) {
	for i, tc := range badReissues {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			e := newEnv(t)
			id := did("bad")
			e.must(id, pathTo(contract.Acquired)...)
			keys := e.ledger.Keys()
			_, err := e.stepWith(hospitalOp, contract.ReissueQR, id, tc.data)
			require.EqualError(t, err, tc.want)
			require.NotContains(t, err.Error(), "maria")
			require.NotContains(t, err.Error(), "Zm9v")
			require.Equal(t, keys, e.ledger.Keys())
		})
	}
}

// A retried re-issue (same request id) returns the first result and writes
// nothing, even after a later re-issue or step; the donation keeps the
// latest hash, so a late retry cannot bring an old token back.
func TestReissueQRReplay(t *testing.T) {
	e := newEnv(t)
	id := did("replay")
	e.must(id, pathTo(contract.Consented)...)
	first, err := reissue(e, hospitalOp, "r-716172310000000000000000", id, h("token 1"))
	require.NoError(t, err)
	events, keys := len(e.ledger.Events), e.ledger.Keys()

	again, err := reissue(e, hospitalOp, "r-716172310000000000000000", id, h("token 1"))
	require.NoError(t, err)
	require.Equal(t, first, again)
	require.Empty(t, e.last.Writes(), "a replay writes nothing")
	require.Nil(t, e.last.Event(), "a replay sets no event")
	require.Len(t, e.ledger.Events, events)
	require.Equal(t, keys, e.ledger.Keys())

	_, err = reissue(e, hospitalSvc, "r-716172320000000000000000", id, h("token 2"))
	require.NoError(t, err)
	e.must(id, contract.Acquire)
	again, err = reissue(e, hospitalOp, "r-716172310000000000000000", id, h("token 1"))
	require.NoError(t, err)
	require.Equal(t, first, again)
	require.Empty(t, e.last.Writes())
	d := decode[contract.Donation](t, mustQuery(t, e, hospitalOp, id))
	require.Equal(t, h("token 2"), d.QRTokenSHA256)
	require.Equal(t, contract.Acquired, d.State)

	// Same id, other step: not a replay. Same id, other org: refused.
	_, err = e.submit(hospitalSvc, nil, func(ctx ctxT) (string, error) {
		return e.cc.Revoke(ctx, "r-716172310000000000000000", id, "{}")
	})
	require.EqualError(t, err, "ALREADY_EXISTS: request id r-716172310000000000000000 was already used for step ReissueQR on donation "+id)
	_, err = reissue(e, univOp, "r-716172310000000000000000", id, h("token 1"))
	require.EqualError(t, err, "UNAUTHORIZED: step ReissueQR needs the donation's intake org HospitalMSP, caller is UniversityMSP")

	// Once stored, a replay still answers (the step was taken); a new re-issue is refused.
	e.must(id, contract.Deidentify, contract.SubmitForReview, contract.Accept, contract.Store)
	again, err = reissue(e, hospitalOp, "r-716172310000000000000000", id, h("token 1"))
	require.NoError(t, err)
	require.Equal(t, first, again)
	_, err = reissue(e, hospitalOp, nextReq(), id, h("token 3"))
	require.ErrorContains(t, err, "WRONG_STATE: donation "+id+" is STORED")
}

// The history keeps every hash the donation had: the trace shows that a
// re-issue happened, and when.
func TestReissueQRInTheHistory(t *testing.T) {
	e := newEnv(t)
	id := did("hist")
	e.must(id, contract.Register)
	_, err := reissue(e, hospitalOp, nextReq(), id, h("again"))
	require.NoError(t, err)
	out, err := e.query(regulator, func(ctx ctxT) (string, error) { return e.cc.GetHistory(ctx, id) })
	require.NoError(t, err)
	require.Contains(t, out, h("again"))
	require.Contains(t, out, h("qr-"+id))
	require.Less(t, strings.Index(out, h("again")), strings.Index(out, h("qr-"+id)), "newest first")
}
