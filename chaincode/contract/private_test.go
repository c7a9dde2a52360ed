package contract_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/traza-mx/traza/chaincode/contract"
)

const linkKeyD1 = "\x00link\x00d-6c696e6b0000000000000000\x00"

func linkDonor(e *env, w who, id string, transient map[string][]byte) (string, error) {
	return e.submit(w, transient, func(ctx ctxT) (string, error) { return e.cc.LinkDonor(ctx, nextReq(), id) })
}

func transient(data string) map[string][]byte {
	return map[string][]byte{contract.TransientDonorLink: []byte(data)}
}

func TestLinkDonorWritesOnlyTheIntakeCollection(t *testing.T) {
	e := newEnv(t)
	e.must("d-6c696e6b0000000000000000", contract.Register)
	keys := e.ledger.Keys()
	out, err := linkDonor(e, hospitalSvc, "d-6c696e6b0000000000000000", transient(linkJSON("d-6c696e6b0000000000000000")))
	require.NoError(t, err)
	ev := decode[contract.Evidence](t, out)
	require.Equal(t, contract.LinkDonor, ev.Step)
	require.Equal(t, "intakeHospital", ev.Data.Link.Collection)
	require.False(t, ev.Data.Link.Replayed)
	require.Empty(t, e.last.Writes(), "no public write: only the collection's endorsement policy applies")
	require.Equal(t, 1, e.last.PrivateWrites())
	require.Equal(t, keys, e.ledger.Keys())
	require.Equal(t, "LinkDonor", e.last.Event().EventName)
	require.NotContains(t, string(e.last.Event().Payload), pseudonym)

	link := decode[contract.DonorLink](t, string(e.ledger.Private("intakeHospital", linkKeyD1)))
	require.Equal(t, contract.DonorLink{
		Commitment: commitment("d-6c696e6b0000000000000000"), ContactRef: "c-6c696e6b0000000000000000", DonationID: "d-6c696e6b0000000000000000",
		DonorPseudonym: pseudonym, Salt: salt,
	}, link)

	got, err := e.query(hospitalOp, func(ctx ctxT) (string, error) { return e.cc.GetDonorLink(ctx, "d-6c696e6b0000000000000000") })
	require.NoError(t, err)
	require.JSONEq(t, string(e.ledger.Private("intakeHospital", linkKeyD1)), got)

	// Same link again: the same value rewritten (so the collection policy,
	// not the chaincode policy, validates it), marked as replayed.
	before := e.ledger.Private("intakeHospital", linkKeyD1)
	out, err = linkDonor(e, hospitalSvc, "d-6c696e6b0000000000000000", transient(linkJSON("d-6c696e6b0000000000000000")))
	require.NoError(t, err)
	require.True(t, decode[contract.Evidence](t, out).Data.Link.Replayed)
	require.Equal(t, 1, e.last.PrivateWrites())
	require.Empty(t, e.last.Writes())
	require.Equal(t, before, e.ledger.Private("intakeHospital", linkKeyD1))

	// A different link for the same donation is refused.
	other := strings.Replace(linkJSON("d-6c696e6b0000000000000000"), "c-6c696e6b0000000000000000", "c-6f7468657200000000000000", 1)
	_, err = linkDonor(e, hospitalSvc, "d-6c696e6b0000000000000000", transient(other))
	require.EqualError(t, err, "ALREADY_EXISTS: donation d-6c696e6b0000000000000000 already has a different donor link")
}

func TestLinkDonorRefusals(t *testing.T) {
	wrongSalt := fmt.Sprintf(`{"contactRef":"c-310000000000000000000000","donorPseudonym":%q,"salt":%q}`, pseudonym, h("other salt"))
	for _, tc := range []struct {
		name      string
		w         who
		transient map[string][]byte
		want      string
	}{
		{"no transient", hospitalOp, nil, "INVALID_INPUT: LinkDonor needs the transient key donor_link"},
		{"other org", univOp, transient(linkJSON("d-6c696e6b0000000000000000")), "UNAUTHORIZED: step LinkDonor needs the donation's intake org HospitalMSP, caller is UniversityMSP"},
		{"clinician", who{"HospitalMSP", contract.Clinician}, transient(linkJSON("d-6c696e6b0000000000000000")), "UNAUTHORIZED: step LinkDonor needs traza.role operator or service, caller has clinician"},
		{"wrong salt", hospitalOp, transient(wrongSalt), "INVALID_INPUT: the donor link does not open the commitment of donation d-6c696e6b0000000000000000"},
		{"short salt", hospitalOp, transient(`{"contactRef":"c-310000000000000000000000","donorPseudonym":"p-310000000000000000000000","salt":"abcd"}`), "INVALID_INPUT: invalid donor_link.salt: want 32 random bytes as 64 lowercase hex digits"},
		{"email as pseudonym", hospitalOp, transient(fmt.Sprintf(`{"contactRef":"c-310000000000000000000000","donorPseudonym":"ana@example.mx","salt":%q}`, salt)), "INVALID_INPUT: invalid donor_link.donorPseudonym: want a random id: p- and 24 to 64 lowercase hex digits"},
		{"phone as contact", hospitalOp, transient(fmt.Sprintf(`{"contactRef":"+52 55 1234 5678","donorPseudonym":"p-310000000000000000000000","salt":%q}`, salt)), "INVALID_INPUT: invalid donor_link.contactRef: want a random id: c- and 24 to 64 lowercase hex digits"},
		{"extra field", hospitalOp, transient(fmt.Sprintf(`{"contactRef":"c-310000000000000000000000","curp":"LOMA800101MDFPRR09","donorPseudonym":"p-310000000000000000000000","salt":%q}`, salt)), `INVALID_INPUT: invalid donor_link: unknown field "curp" (only ids, hashes, enums, numbers and short codes are accepted)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.must("d-6c696e6b0000000000000000", contract.Register)
			_, err := linkDonor(e, tc.w, "d-6c696e6b0000000000000000", tc.transient)
			require.EqualError(t, err, tc.want)
			require.Nil(t, e.ledger.Private("intakeHospital", linkKeyD1))
		})
	}
}

// TestPurgeAtStoredAndErased: Store and Erase purge the link; afterwards no
// query returns it, and the donor can still open the commitment.
func TestPurgeAtStoredAndErased(t *testing.T) {
	for _, final := range []contract.State{contract.Stored, contract.Erased} {
		t.Run(string(final), func(t *testing.T) {
			e := newEnv(t)
			id := "d-6c696e6b0000000000000000"
			path := pathTo(final)
			e.must(id, path[0])
			_, err := linkDonor(e, hospitalOp, id, transient(linkJSON(id)))
			require.NoError(t, err)
			e.must(id, path[1:len(path)-1]...)
			require.NotNil(t, e.ledger.Private("intakeHospital", linkKeyD1))

			out, err := e.step(defaultCaller(path[len(path)-1]), path[len(path)-1], id)
			require.NoError(t, err)
			require.Equal(t, []string{"intakeHospital/" + linkKeyD1}, purged(e))
			ev := decode[contract.Evidence](t, out)
			if final == contract.Stored {
				require.True(t, ev.Data.Storage.LinkPurged)
			} else {
				require.True(t, ev.Data.Deletion.LinkPurged)
			}
			require.Nil(t, e.ledger.Private("intakeHospital", linkKeyD1))
			_, err = e.query(hospitalOp, func(ctx ctxT) (string, error) { return e.cc.GetDonorLink(ctx, id) })
			require.EqualError(t, err, "NOT_FOUND: donation d-6c696e6b0000000000000000 has no donor link on this peer (never linked, or purged at STORED/ERASED)")

			verify := func(s, p string) (string, error) {
				return e.query(regulator, func(ctx ctxT) (string, error) {
					ok, err := e.cc.VerifyDonorCommitment(ctx, id, s, p)
					return fmt.Sprint(ok), err
				})
			}
			got, err := verify(salt, pseudonym)
			require.NoError(t, err)
			require.Equal(t, "true", got)
			got, err = verify(salt, "p-656c73650000000000000000")
			require.NoError(t, err)
			require.Equal(t, "false", got)
			got, err = verify(h("another salt"), pseudonym)
			require.NoError(t, err)
			require.Equal(t, "false", got)
			_, err = verify("not hex", pseudonym)
			require.EqualError(t, err, "INVALID_INPUT: invalid salt: want 32 random bytes as 64 lowercase hex digits")
		})
	}
}

func purged(e *env) []string {
	var out []string
	for _, p := range e.ledger.Purges {
		out = append(out, p.Collection+"/"+p.Key)
	}
	return out
}

func TestGetDonorLinkOnlyForTheIntakeOrg(t *testing.T) {
	e := newEnv(t)
	e.must("d-6c696e6b0000000000000000", contract.Register)
	_, err := linkDonor(e, hospitalOp, "d-6c696e6b0000000000000000", transient(linkJSON("d-6c696e6b0000000000000000")))
	require.NoError(t, err)
	for _, tc := range []struct {
		w    who
		want string
	}{
		{univOp, "UNAUTHORIZED: query GetDonorLink needs the donation's intake org HospitalMSP, caller is UniversityMSP"},
		{regulator, "UNAUTHORIZED: query GetDonorLink needs traza.role operator or service, caller has regulator"},
		{who{"HospitalMSP", contract.Regulator}, "UNAUTHORIZED: query GetDonorLink needs traza.role operator or service, caller has regulator"},
		{who{"HospitalMSP", contract.Clinician}, "UNAUTHORIZED: query GetDonorLink needs traza.role operator or service, caller has clinician"},
		{who{"StrangerMSP", contract.Operator}, "UNAUTHORIZED: query GetDonorLink needs MSP UniversityMSP or HospitalMSP or IMSSMSP, caller is StrangerMSP"},
	} {
		_, err := e.query(tc.w, func(ctx ctxT) (string, error) { return e.cc.GetDonorLink(ctx, "d-6c696e6b0000000000000000") })
		require.EqualError(t, err, tc.want, tc.w)
	}
}

func TestIntakeCollectionNames(t *testing.T) {
	require.Equal(t, "intakeUniversity", contract.IntakeCollection("UniversityMSP"))
	require.Equal(t, "intakeHospital", contract.IntakeCollection("HospitalMSP"))
	require.Equal(t, "intakeIMSS", contract.IntakeCollection("IMSSMSP"))
}

func TestCommitmentIsSHA256OfSaltPseudonymAndDonation(t *testing.T) {
	// sha256 over the byte concatenation 0x00*32, "p", "d".
	require.Equal(t, h(strings.Repeat("\x00", 32)+"p"+"d"), contract.Commitment(make([]byte, 32), "p", "d"))
}
