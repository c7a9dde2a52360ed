package contract_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/traza-mx/traza/chaincode/contract"
)

// allowed reports whether the table has a row for (state, step).
func allowed(state contract.State, step contract.Step) (contract.Rule, bool) {
	for _, r := range contract.Lifecycle {
		if r.Step == step && slices.Contains(r.From, state) {
			return r, true
		}
	}
	return contract.Rule{}, false
}

// TestEveryStateStepPair walks every (state, step) pair with an authorized
// caller: pairs in the table succeed and land in the row's To state; every
// other pair is refused with a state error and commits nothing.
func TestEveryStateStepPair(t *testing.T) {
	states := append([]contract.State{contract.None}, contract.States...)
	n := 0
	for _, state := range states {
		for _, step := range contract.Steps {
			n++
			t.Run(fmt.Sprintf("%s/%s", state, step), func(t *testing.T) {
				e := newEnv(t)
				id := "d-77616c6b0000000000000000"
				e.must(id, pathTo(state)...)
				keysBefore := len(e.ledger.Keys())
				out, err := e.step(defaultCaller(step), step, id)
				rule, ok := allowed(state, step)
				if !ok {
					require.Error(t, err)
					require.Regexp(t, `^(WRONG_STATE: donation d-77616c6b0000000000000000 is [A-Z_]+: step \w+ needs state |NOT_FOUND: donation d-77616c6b0000000000000000 does not exist: step \w+ needs state |ALREADY_EXISTS: donation d-77616c6b0000000000000000 already exists \(state [A-Z_]+\))`, err.Error())
					require.Equal(t, keysBefore, len(e.ledger.Keys()))
					return
				}
				require.NoError(t, err)
				ev := decode[contract.Evidence](t, out)
				want := rule.To
				if want == contract.Unchanged {
					want = state
				}
				require.Equal(t, want, ev.To)
				require.Equal(t, state, ev.From)
				if step != contract.LinkDonor {
					d := decode[contract.Donation](t, mustQuery(t, e, hospitalOp, id))
					require.Equal(t, want, d.State)
				}
			})
		}
	}
	require.Equal(t, 12*13, n)
}

func mustQuery(t *testing.T, e *env, w who, id string) string {
	out, err := e.query(w, func(ctx ctxT) (string, error) { return e.cc.GetDonation(ctx, id) })
	require.NoError(t, err)
	return out
}

// TestRolesAndOrgs tries every step, in a state that allows it, as every role
// (and none) of every member org and of a foreign org: only the rows' MSPs and
// roles pass, and intake-only steps need the donation's intake org.
func TestRolesAndOrgs(t *testing.T) {
	msps := append(slices.Clone(contract.Members), "StrangerMSP")
	roles := append(slices.Clone(contract.Roles), "")
	for _, step := range contract.Steps {
		var from contract.State
		for _, r := range contract.Lifecycle {
			if r.Step == step {
				from = r.From[0]
				break
			}
		}
		rule, _ := allowed(from, step)
		for _, msp := range msps {
			for _, role := range roles {
				w := who{msp, role}
				t.Run(fmt.Sprintf("%s/%s/%s", step, msp, role), func(t *testing.T) {
					e := newEnv(t)
					e.must("d-726f6c650000000000000000", pathTo(from)...)
					_, err := e.step(w, step, "d-726f6c650000000000000000")
					intakeOK := rule.Org != contract.IntakeOrg || msp == "HospitalMSP"
					if slices.Contains(contract.Members, msp) && slices.Contains(rule.Roles, role) && intakeOK {
						require.NoError(t, err)
						return
					}
					require.Error(t, err)
					require.Regexp(t, fmt.Sprintf(`^UNAUTHORIZED: step %s needs (MSP|traza.role|the donation's intake org)`, step), err.Error())
				})
			}
		}
	}
}

func TestRefusalsSayWhatWasExpected(t *testing.T) {
	e := newEnv(t)
	e.must("d-313233000000000000000000", pathTo(contract.Consented)...)
	_, err := e.step(hospitalOp, contract.Deidentify, "d-313233000000000000000000")
	require.EqualError(t, err, "WRONG_STATE: donation d-313233000000000000000000 is CONSENTED: step Deidentify needs state ACQUIRED or CHANGES_REQUESTED")

	e.must("d-313233000000000000000000", contract.Acquire, contract.Deidentify)
	_, err = e.step(hospitalOp, contract.Diagnose, "d-313233000000000000000000")
	require.EqualError(t, err, "UNAUTHORIZED: step Diagnose needs traza.role clinician, caller has operator")

	_, err = e.step(who{"HospitalMSP", ""}, contract.SubmitForReview, "d-313233000000000000000000")
	require.EqualError(t, err, "UNAUTHORIZED: step SubmitForReview needs traza.role operator or service, caller has none")

	_, err = e.step(regulator, contract.SubmitForReview, "d-313233000000000000000000")
	require.EqualError(t, err, "UNAUTHORIZED: step SubmitForReview needs traza.role operator or service, caller has regulator")

	_, err = e.step(who{"StrangerMSP", contract.Operator}, contract.SubmitForReview, "d-313233000000000000000000")
	require.EqualError(t, err, "UNAUTHORIZED: step SubmitForReview needs MSP UniversityMSP or HospitalMSP or IMSSMSP, caller is StrangerMSP")

	e.must("d-313233000000000000000000", contract.SubmitForReview)
	_, err = e.step(univSvc, contract.Accept, "d-313233000000000000000000")
	require.EqualError(t, err, "UNAUTHORIZED: step Accept needs the donation's intake org HospitalMSP, caller is UniversityMSP")

	_, err = e.step(hospitalOp, contract.Consent, "d-6e6577000000000000000000")
	require.EqualError(t, err, "NOT_FOUND: donation d-6e6577000000000000000000 does not exist: step Consent needs state REGISTERED or CONSENTED or ACQUIRED or DEIDENTIFIED or DIAGNOSED or UNDER_REVIEW or CHANGES_REQUESTED or ACCEPTED")

	_, err = e.step(hospitalOp, contract.Register, "d-313233000000000000000000")
	require.EqualError(t, err, "ALREADY_EXISTS: donation d-313233000000000000000000 already exists (state UNDER_REVIEW): step RegisterDonation only creates new donations")
}

func TestGetLifecycleReturnsTheTable(t *testing.T) {
	e := newEnv(t)
	out, err := e.query(regulator, func(ctx ctxT) (string, error) { return e.cc.GetLifecycle(ctx) })
	require.NoError(t, err)
	table := decode[contract.LifecycleTable](t, out)
	require.Equal(t, contract.States, table.States)
	require.Equal(t, []contract.State{contract.Stored, contract.Erased}, table.FinalStates)
	require.Equal(t, contract.Registered, table.Initial)
	require.Equal(t, contract.Members, table.Members)
	require.Equal(t, contract.ErrorCodes, table.ErrorCodes)
	require.Equal(t, contract.Access, table.Access)

	pairs := map[string]string{}
	for _, tr := range table.Transitions {
		pairs[tr.From+" "+string(tr.Step)] = tr.To
	}
	// Spot-check the shape of DESIGN.md's diagram.
	require.Equal(t, "REGISTERED", pairs[" RegisterDonation"])
	require.Equal(t, "DEIDENTIFIED", pairs["CHANGES_REQUESTED Deidentify"])
	require.Equal(t, "UNDER_REVIEW", pairs["DIAGNOSED SubmitForReview"])
	require.Equal(t, "CONSENTED", pairs["CONSENTED Consent"])
	require.Equal(t, "ERASED", pairs["REVOKED Erase"])
	require.NotContains(t, pairs, "STORED Revoke")
	require.NotContains(t, pairs, "ERASED Revoke")
	for _, s := range []contract.State{contract.Registered, contract.Consented, contract.Acquired, contract.Deidentified,
		contract.Diagnosed, contract.UnderReview, contract.ChangesRequested, contract.Accepted} {
		require.Equal(t, "REVOKED", pairs[string(s)+" Revoke"], s)
	}
	for _, final := range table.FinalStates {
		for _, tr := range table.Transitions {
			require.NotEqual(t, string(final), tr.From, "final state %s has step %s", final, tr.Step)
		}
	}
}

// The derived lists are the ones DESIGN.md draws: open is every state before
// STORED except REVOKED; a new consent version is possible once consented.
func TestOpenAndFinalStatesAreDerivedFromTheTable(t *testing.T) {
	open := []contract.State{contract.Registered, contract.Consented, contract.Acquired, contract.Deidentified,
		contract.Diagnosed, contract.UnderReview, contract.ChangesRequested, contract.Accepted}
	require.Equal(t, open, contract.OpenStates)
	require.Equal(t, []contract.State{contract.Stored, contract.Erased}, contract.FinalStates)
	for _, r := range contract.Lifecycle {
		switch {
		case r.Step == contract.Revoke, r.Step == contract.LinkDonor, r.Step == contract.ReissueQR:
			require.Equal(t, open, r.From, r.Step)
		case r.Step == contract.Consent && r.To == contract.Unchanged:
			require.Equal(t, open[1:], r.From)
		}
		require.NotEmpty(t, r.From, "%s has no From states", r.Step)
		require.Contains(t, []contract.Org{contract.AnyMember, contract.IntakeOrg}, r.Org, r.Step)
		require.NotEmpty(t, r.Roles, r.Step)
	}
	for _, s := range contract.States {
		used := slices.ContainsFunc(contract.Lifecycle, func(r contract.Rule) bool { return r.To == s || slices.Contains(r.From, s) })
		require.True(t, used, "state %s is in no row", s)
	}
}

// Every query and the Heartbeat probe have exactly one Access row, and every
// lifecycle step has a row in Lifecycle: no transaction is decided outside the tables.
func TestEveryTransactionHasItsRow(t *testing.T) {
	cc := contract.New("1", "p")
	txs := append(cc.GetEvaluateTransactions(), "Heartbeat")
	var rows []string
	for _, a := range contract.Access {
		rows = append(rows, a.Transaction)
	}
	require.ElementsMatch(t, txs, rows)
	for _, s := range contract.Steps {
		require.True(t, slices.ContainsFunc(contract.Lifecycle, func(r contract.Rule) bool { return r.Step == s }), s)
	}
}

// LinkDonor runs through the same transition as every step: the same
// refusals in the same order, and its evidence shaped the same way.
func TestLinkDonorIsATransitionLikeTheOthers(t *testing.T) {
	e := newEnv(t)
	_, err := linkDonor(e, hospitalOp, "d-6e6f6e650000000000000000", transient(linkJSON("d-6e6f6e650000000000000000")))
	require.EqualError(t, err, "NOT_FOUND: donation d-6e6f6e650000000000000000 does not exist: step LinkDonor needs state REGISTERED or CONSENTED or ACQUIRED or DEIDENTIFIED or DIAGNOSED or UNDER_REVIEW or CHANGES_REQUESTED or ACCEPTED")
	e.must("d-6c0000000000000000000000", pathTo(contract.Stored)...)
	_, err = linkDonor(e, hospitalOp, "d-6c0000000000000000000000", transient(linkJSON("d-6c0000000000000000000000")))
	require.EqualError(t, err, "WRONG_STATE: donation d-6c0000000000000000000000 is STORED: step LinkDonor needs state REGISTERED or CONSENTED or ACQUIRED or DEIDENTIFIED or DIAGNOSED or UNDER_REVIEW or CHANGES_REQUESTED or ACCEPTED")
	_, err = e.submit(hospitalOp, transient(linkJSON("d-6c0000000000000000000000")), func(ctx ctxT) (string, error) { return e.cc.LinkDonor(ctx, "Ana María", "d-6c0000000000000000000000") })
	require.EqualError(t, err, "INVALID_INPUT: invalid requestId: want a random id: r- or hb- or t- or bench-go- or bench-py- and 24 to 64 lowercase hex digits")
}
