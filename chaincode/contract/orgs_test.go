package contract_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/traza-mx/traza/chaincode/contract"
)

var imssSvc = who{"IMSSMSP", contract.Service}

// crossOrg runs step on a HospitalMSP donation as w: refused with the intake
// org named, nothing written, nothing purged.
func crossOrg(t *testing.T, step contract.Step, w who) {
	e := newEnv(t)
	id := did("cross")
	e.must(id, pathTo(firstFrom(step))...)
	keys := e.ledger.Keys()
	_, err := e.step(w, step, id)
	require.EqualError(t, err, fmt.Sprintf("UNAUTHORIZED: step %s needs the donation's intake org HospitalMSP, caller is %s", step, w.msp))
	require.Equal(t, keys, e.ledger.Keys())
	require.Empty(t, e.ledger.Purges)
	_, err = e.step(defaultCaller(step), step, id)
	require.NoError(t, err, "the intake org itself may")
}

func TestStoreOnlyByTheIntakeOrg(t *testing.T) {
	crossOrg(t, contract.Store, univSvc)
	crossOrg(t, contract.Store, imssSvc)
}

func TestEraseOnlyByTheIntakeOrg(t *testing.T) {
	crossOrg(t, contract.Erase, univOp)
	crossOrg(t, contract.Erase, imssSvc)
}

func TestAcquireOnlyByTheIntakeOrg(t *testing.T) {
	crossOrg(t, contract.Acquire, univOp)
	crossOrg(t, contract.Acquire, who{"IMSSMSP", contract.Operator})
}

// The university runs the de-identification service for every org.
func TestDeidentifyByAnyMembersService(t *testing.T) {
	for _, w := range []who{univSvc, hospitalSvc, imssSvc} {
		e := newEnv(t)
		e.must(did("deid"), pathTo(contract.Acquired)...)
		_, err := e.step(w, contract.Deidentify, did("deid"))
		require.NoError(t, err, w)
	}
}

func TestRegulatorsWriteNothing(t *testing.T) {
	for _, r := range contract.Lifecycle {
		require.NotContains(t, r.Roles, contract.Regulator, r.Step)
	}
	for _, a := range contract.Access {
		if a.Submit {
			require.NotContains(t, a.Roles, contract.Regulator, a.Transaction)
		}
	}
	e := newEnv(t)
	for _, w := range []who{regulator, {"HospitalMSP", contract.Regulator}} {
		_, err := e.submit(w, nil, func(ctx ctxT) (string, error) { return e.cc.Heartbeat(ctx, "hb-"+hex24) })
		require.EqualError(t, err, "UNAUTHORIZED: transaction Heartbeat needs traza.role operator or clinician or service, caller has regulator")
	}
	require.Empty(t, e.ledger.Keys())
	for _, w := range []who{hospitalOp, clinician, univSvc} {
		_, err := e.submit(w, nil, func(ctx ctxT) (string, error) { return e.cc.Heartbeat(ctx, "hb-"+hex24) })
		require.NoError(t, err, w)
	}
}

// A replayed request id is checked like a first attempt, the intake org
// included, even after the donation moved on.
func TestReplaysCheckTheOrg(t *testing.T) {
	for _, step := range []contract.Step{contract.Accept, contract.Store, contract.Consent} {
		t.Run(string(step), func(t *testing.T) {
			e := newEnv(t)
			id := did("replay")
			e.must(id, pathTo(firstFrom(step))...)
			req := "r-" + hex64
			run := func(w who) (string, error) {
				m := e.method(step)
				return e.submit(w, nil, func(ctx ctxT) (string, error) { return m(ctx, req, id, defaultData(step, id)) })
			}
			first, err := run(defaultCaller(step))
			require.NoError(t, err)
			keys := e.ledger.Keys()
			for _, w := range []who{univSvc, {"UniversityMSP", contract.Operator}, imssSvc} {
				if !slices.Contains(firstRule(step).Roles, w.role) {
					continue
				}
				_, err = run(w)
				require.EqualError(t, err, fmt.Sprintf("UNAUTHORIZED: step %s needs the donation's intake org HospitalMSP, caller is %s", step, w.msp))
			}
			again, err := run(defaultCaller(step))
			require.NoError(t, err)
			require.Equal(t, first, again)
			require.Equal(t, keys, e.ledger.Keys())
		})
	}
}

func firstRule(step contract.Step) contract.Rule {
	i := slices.IndexFunc(contract.Lifecycle, func(r contract.Rule) bool { return r.Step == step })
	return contract.Lifecycle[i]
}

// TestEveryIntakeOnlyStepRefusesTheOtherOrgs walks the table: every
// IntakeOrg row is refused to each other member holding one of its roles,
// and Store and Erase are among them.
func TestEveryIntakeOnlyStepRefusesTheOtherOrgs(t *testing.T) {
	var intakeOnly []contract.Step
	for _, r := range contract.Lifecycle {
		if r.Org != contract.IntakeOrg || slices.Contains(intakeOnly, r.Step) {
			continue
		}
		intakeOnly = append(intakeOnly, r.Step)
		for _, msp := range []string{"UniversityMSP", "IMSSMSP"} {
			t.Run(string(r.Step)+"/"+msp, func(t *testing.T) { crossOrg(t, r.Step, who{msp, r.Roles[0]}) })
		}
	}
	require.Subset(t, intakeOnly, []contract.Step{contract.Store, contract.Erase, contract.Acquire, contract.LinkDonor})
}

// Another org cannot read the donor link of a donation it did not take in.
func TestTheDonorLinkIsReadOnlyByTheIntakeOrg(t *testing.T) {
	e := newEnv(t)
	id := did("cross-link")
	e.must(id, contract.Register, contract.LinkDonor)
	for _, w := range []who{univSvc, imssSvc} {
		_, err := e.query(w, func(ctx ctxT) (string, error) { return e.cc.GetDonorLink(ctx, id) })
		require.EqualError(t, err, "UNAUTHORIZED: query GetDonorLink needs the donation's intake org HospitalMSP, caller is "+w.msp)
	}
	_, err := e.query(hospitalOp, func(ctx ctxT) (string, error) { return e.cc.GetDonorLink(ctx, id) })
	require.NoError(t, err)
}
