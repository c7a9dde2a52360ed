package contract_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/traza-mx/traza/chaincode/contract"
	"github.com/traza-mx/traza/chaincode/contract/mocks"
)

// Personal values put in the test certificates: they must never reach the ledger.
const (
	personName  = "María Guadalupe López"
	personEmail = "maria.lopez@example.mx"
)

// who is a caller: org and traza.role ("" for a certificate without the attribute).
type who struct {
	msp  string
	role contract.Role
}

var (
	hospitalOp   = who{"HospitalMSP", contract.Operator}
	hospitalSvc  = who{"HospitalMSP", contract.Service}
	univSvc      = who{"UniversityMSP", contract.Service}
	univOp       = who{"UniversityMSP", contract.Operator}
	clinician    = who{"UniversityMSP", contract.Clinician}
	regulator    = who{"IMSSMSP", contract.Regulator}
	creatorCache sync.Map // who -> []byte
	certCache    sync.Map // who -> *x509.Certificate
)

// attrOID is the Fabric CA attribute extension (attrmgr.AttrOID).
var attrOID = asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}

// creator returns a serialized identity for w: an ECDSA P-256 certificate whose
// subject is a person's name and e-mail, with traza.role in Fabric CA's attribute extension.
func creator(t testing.TB, w who) []byte {
	if b, ok := creatorCache.Load(w); ok {
		return b.([]byte)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:   big.NewInt(time.Now().UnixNano()),
		Subject:        pkix.Name{CommonName: personName, Organization: []string{w.msp}},
		EmailAddresses: []string{personEmail},
		NotBefore:      time.Now().Add(-time.Hour),
		NotAfter:       time.Now().Add(time.Hour),
	}
	if w.role != "" {
		attrs, err := json.Marshal(map[string]map[string]string{"attrs": {contract.RoleAttribute: string(w.role)}})
		require.NoError(t, err)
		tmpl.ExtraExtensions = []pkix.Extension{{Id: attrOID, Value: attrs}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	id, err := proto.Marshal(&msp.SerializedIdentity{
		Mspid: w.msp, IdBytes: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	})
	require.NoError(t, err)
	creatorCache.Store(w, id)
	certCache.Store(w, cert)
	return id
}

// executorOf is the certificate hash the contract must record for w.
func executorOf(t testing.TB, w who) string {
	creator(t, w)
	c, _ := certCache.Load(w)
	sum := sha256.Sum256(c.(*x509.Certificate).Raw)
	return hex.EncodeToString(sum[:])
}

func h(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// env is one ledger and the contract under test.
type env struct {
	t      testing.TB
	ledger *mocks.Ledger
	cc     *contract.DonationContract
	last   *mocks.Tx
}

var day0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newEnv(t testing.TB) *env {
	l := mocks.NewLedger(day0)
	cc := contract.New("1.4.0", "traza_1.4.0:abc123")
	// The peer's clock follows the fake ledger's (a minute past the last timestamp).
	cc.Clock = func() time.Time { return l.Now }
	return &env{t: t, ledger: l, cc: cc}
}

type ctxT = contractapi.TransactionContextInterface

type txFunc func(ctxT) (string, error)

// begin simulates fn as w without committing.
func (e *env) begin(w who, transient map[string][]byte, fn txFunc) (*mocks.Tx, string, error) {
	tx := e.ledger.NewTx(creator(e.t, w), transient)
	ctx := &contractapi.TransactionContext{}
	ctx.SetStub(tx)
	ci, err := cid.New(tx)
	require.NoError(e.t, err)
	ctx.SetClientIdentity(ci)
	out, err := fn(ctx)
	refusals.add(err)
	return tx, out, err
}

// submit simulates fn as w and commits it if it succeeded.
func (e *env) submit(w who, transient map[string][]byte, fn txFunc) (string, error) {
	tx, out, err := e.begin(w, transient, fn)
	e.last = tx
	if err != nil {
		return "", err
	}
	require.NoError(e.t, e.ledger.Commit(tx))
	return out, nil
}

// method returns the transition transaction for step.
func (e *env) method(step contract.Step) func(contractapi.TransactionContextInterface, string, string, string) (string, error) {
	c := e.cc
	switch step {
	case contract.Register:
		return c.RegisterDonation
	case contract.Consent:
		return c.Consent
	case contract.Acquire:
		return c.Acquire
	case contract.Deidentify:
		return c.Deidentify
	case contract.Diagnose:
		return c.Diagnose
	case contract.SubmitForReview:
		return c.SubmitForReview
	case contract.RequestChanges:
		return c.RequestChanges
	case contract.Accept:
		return c.Accept
	case contract.Store:
		return c.Store
	case contract.Revoke:
		return c.Revoke
	case contract.Erase:
		return c.Erase
	case contract.ReissueQR:
		return c.ReissueQR
	case contract.LinkDonor:
		return func(ctx contractapi.TransactionContextInterface, req, id, _ string) (string, error) {
			return c.LinkDonor(ctx, req, id)
		}
	}
	panic("unknown step " + step)
}

var reqSeq int

func nextReq() string {
	reqSeq++
	return fmt.Sprintf("r-%024x", reqSeq)
}

// step submits one transition with fresh request id and the default data for step.
func (e *env) step(w who, step contract.Step, id string) (string, error) {
	return e.stepWith(w, step, id, defaultData(step, id))
}

func (e *env) stepWith(w who, step contract.Step, id, data string) (string, error) {
	var transient map[string][]byte
	if step == contract.LinkDonor {
		transient = map[string][]byte{contract.TransientDonorLink: []byte(data)}
	}
	m := e.method(step)
	return e.submit(w, transient, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return m(ctx, nextReq(), id, data)
	})
}

// must runs steps in order as the default caller of each, failing the test on error.
func (e *env) must(id string, steps ...contract.Step) {
	for _, s := range steps {
		_, err := e.step(defaultCaller(s), s, id)
		require.NoError(e.t, err, "step %s on %s", s, id)
	}
}

// pathTo lists the steps that bring a new donation to state.
func pathTo(state contract.State) []contract.Step {
	s := []contract.Step{contract.Register}
	add := func(more ...contract.Step) []contract.Step { return append(s, more...) }
	switch state {
	case contract.None:
		return nil
	case contract.Registered:
		return s
	case contract.Consented:
		return add(contract.Consent)
	case contract.Acquired:
		return add(contract.Consent, contract.Acquire)
	case contract.Deidentified:
		return add(contract.Consent, contract.Acquire, contract.Deidentify)
	case contract.Diagnosed:
		return add(contract.Consent, contract.Acquire, contract.Deidentify, contract.Diagnose)
	case contract.UnderReview:
		return add(contract.Consent, contract.Acquire, contract.Deidentify, contract.SubmitForReview)
	case contract.ChangesRequested:
		return add(contract.Consent, contract.Acquire, contract.Deidentify, contract.SubmitForReview, contract.RequestChanges)
	case contract.Accepted:
		return add(contract.Consent, contract.Acquire, contract.Deidentify, contract.SubmitForReview, contract.Accept)
	case contract.Stored:
		return add(contract.Consent, contract.Acquire, contract.Deidentify, contract.SubmitForReview, contract.Accept, contract.Store)
	case contract.Revoked:
		return add(contract.Consent, contract.Acquire, contract.Revoke)
	case contract.Erased:
		return add(contract.Consent, contract.Acquire, contract.Revoke, contract.Erase)
	}
	panic("no path to " + state)
}

// defaultCaller is an identity allowed to make step on a HospitalMSP donation.
func defaultCaller(step contract.Step) who {
	switch step {
	case contract.Diagnose:
		return clinician
	case contract.RequestChanges, contract.Accept, contract.Revoke, contract.Store:
		return hospitalSvc
	case contract.Deidentify:
		return univSvc // the university runs the de-identification service
	}
	return hospitalOp
}

// Donor secrets for every test donation: the donor keeps salt and pseudonym.
var (
	salt      = "5a17" + h("salt")[4:]
	pseudonym = "p-376633610000000000000000"
)

func commitment(id string) string {
	raw, _ := hex.DecodeString(salt)
	return contract.Commitment(raw, pseudonym, id)
}

func linkJSON(id string) string {
	return fmt.Sprintf(`{"contactRef":"c-%s","donorPseudonym":%q,"salt":%q}`, id[2:], pseudonym, salt)
}

const consentJSON = `{"acceptance":{"kind":"otp","sha256":"%s"},"formId":"consent-general",
"formSha256":"%s","formVersion":"3","legalRegime":"LGPDPPSO","minor":false,"guardianConsent":false,
"purposes":{"aiTraining":true,"commercial":false,"research":true,"teaching":true},"retentionMonths":120}`

// defaultData is valid input for step on a donation made by pathTo.
func defaultData(step contract.Step, id string) string {
	switch step {
	case contract.Register:
		return fmt.Sprintf(`{"commitment":%q,"qrTokenSha256":%q}`, commitment(id), h("qr-"+id))
	case contract.LinkDonor:
		return linkJSON(id)
	case contract.Consent:
		return fmt.Sprintf(consentJSON, h("otp"), h("form text v3"))
	case contract.Acquire:
		return fmt.Sprintf(`{"originalSha256":[%q,%q],"source":{"ageBand":"40-64","conditionCode":"C50.9","kind":"human"}}`, h("o1"), h("o2"))
	case contract.Deidentify:
		return fmt.Sprintf(`{"deidentifiedSha256":[%q],"method":"automatic","profile":{"id":"library","version":"2"},"reportSha256":%q}`, h("d1"), h("report"))
	case contract.Diagnose:
		return fmt.Sprintf(`{"findingCode":"C50.9","signatureSha256":%q}`, h("sig"))
	case contract.SubmitForReview:
		return `{"reviewSessionId":"s-310000000000000000000000"}`
	case contract.RequestChanges:
		return fmt.Sprintf(`{"commentSha256":%q,"reasonCode":"face-visible"}`, h("comment"))
	case contract.Accept:
		return `{}`
	case contract.Store:
		return fmt.Sprintf(`{"librarySha256":[%q]}`, h("d1"))
	case contract.Revoke:
		return `{"reasonCode":"donor-request"}`
	case contract.ReissueQR:
		return fmt.Sprintf(`{"qrTokenSha256":%q}`, h("qr2-"+id))
	case contract.Erase:
		return fmt.Sprintf(`{"deletedSha256":[%q,%q,%q],"keyDestroyed":true}`, h("o1"), h("o2"), h("d1"))
	}
	panic("no data for " + step)
}

// query evaluates fn as w (never committed).
func (e *env) query(w who, fn txFunc) (string, error) {
	_, out, err := e.begin(w, nil, fn)
	return out, err
}

func decode[T any](t testing.TB, s string) T {
	var v T
	require.NoError(t, json.Unmarshal([]byte(s), &v), s)
	return v
}

// did is a test donation id: "d-" and the name's bytes in hex, zero-padded to
// 24 digits, so it has the random-id form and sorts like the names.
func did(name string) string {
	h := hex.EncodeToString([]byte(name))
	return "d-" + h + strings.Repeat("0", 24-len(h))
}
