// Package contract is Traza's donation contract: the lifecycle of
// DESIGN.md as one table (lifecycle.go), one transaction per step, evidence
// per event, idempotent replays, regulator queries and the private donor link.
package contract

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-contract-api-go/v2/metadata"
)

// DonationContract is the chaincode's only contract. Every exported method is
// a transaction; transitions take (requestId, donationId, dataJSON) and return
// the step's Evidence as JSON.
type DonationContract struct {
	contractapi.Contract
	// Version is the contract version put in every event (CHAINCODE_VERSION).
	Version string
	// PackageID is the chaincode package id the server runs as (CHAINCODE_ID).
	PackageID string
	// Clock is the endorsing peer's clock that write timestamps are checked
	// against (checkClock); nil means time.Now. Tests set a fake one.
	Clock func() time.Time
}

// New returns the contract stamped with its version and package id.
func New(version, packageID string) *DonationContract {
	c := &DonationContract{Version: version, PackageID: packageID}
	c.Name = "donation"
	c.Info = metadata.InfoMetadata{
		Title:       "Traza donation contract",
		Description: "Traceable donation of clinical data: lifecycle, consent, evidence, donor link",
		Version:     version,
	}
	c.UnknownTransaction = unknownTransaction
	return c
}

// transactionName is how a transaction name must look to be repeated in a refusal.
var transactionName = regexp.MustCompile(`^[A-Z][A-Za-z]{0,63}$`)

// unknownTransaction refuses a call to a transaction the contract does not have.
func unknownTransaction(ctx contractapi.TransactionContextInterface) error {
	fn, _ := ctx.GetStub().GetFunctionAndParameters()
	if !transactionName.MatchString(fn) {
		fn = "(name not shown)"
	}
	return fail(InvalidInput, "unknown transaction %s: the transactions are listed by GetLifecycle and the contract metadata", fn)
}

// GetEvaluateTransactions marks the queries as evaluate-only in the metadata.
func (c *DonationContract) GetEvaluateTransactions() []string {
	return []string{
		"GetDonation", "GetHistory", "GetLifecycle", "GetConsent", "QueryByState",
		"QueryByOrg", "QueryByDateRange", "CountByStateAndOrg", "VerifyDonorCommitment",
		"GetDonorLink", "GetHeartbeat",
	}
}

// requestRecord remembers a transition's result under its client request id.
type requestRecord struct {
	DonationID string `json:"donationId"`
	Result     string `json:"result"`
	Step       Step   `json:"step"`
	TxID       string `json:"txId"`
}

// stepCall is what a step handler works on: it validates its input, updates
// the donation and fills the evidence data.
type stepCall struct {
	stub     shim.ChaincodeStubInterface
	caller   Caller
	donation *Donation
	evidence *Evidence
	data     string
}

type handler func(s *stepCall) error

// RegisterDonation creates a donation in REGISTERED, owned by the caller's org
// (its intake org). data: Registration.
func (c *DonationContract) RegisterDonation(ctx contractapi.TransactionContextInterface, requestID, donationID, data string) (string, error) {
	return c.transition(ctx, Register, requestID, donationID, data, register)
}

// Consent records a consent version: the first moves REGISTERED to CONSENTED,
// later ones supersede it without changing the state. data: ConsentInput.
func (c *DonationContract) Consent(ctx contractapi.TransactionContextInterface, requestID, donationID, data string) (string, error) {
	return c.transition(ctx, Consent, requestID, donationID, data, consent)
}

// Acquire records the staged originals and the data source. data: Acquisition.
func (c *DonationContract) Acquire(ctx contractapi.TransactionContextInterface, requestID, donationID, data string) (string, error) {
	return c.transition(ctx, Acquire, requestID, donationID, data, acquire)
}

// Deidentify records the de-identified objects, profile and action report. data: Deidentification.
func (c *DonationContract) Deidentify(ctx contractapi.TransactionContextInterface, requestID, donationID, data string) (string, error) {
	return c.transition(ctx, Deidentify, requestID, donationID, data, deidentify)
}

// Diagnose records a clinician's signed findings on the de-identified study. data: Diagnosis.
func (c *DonationContract) Diagnose(ctx contractapi.TransactionContextInterface, requestID, donationID, data string) (string, error) {
	return c.transition(ctx, Diagnose, requestID, donationID, data, diagnose)
}

// SubmitForReview puts the de-identified objects before the donor. data: Review.
func (c *DonationContract) SubmitForReview(ctx contractapi.TransactionContextInterface, requestID, donationID, data string) (string, error) {
	return c.transition(ctx, SubmitForReview, requestID, donationID, data, submitForReview)
}

// RequestChanges records the donor's request to de-identify again. data: Decision.
func (c *DonationContract) RequestChanges(ctx contractapi.TransactionContextInterface, requestID, donationID, data string) (string, error) {
	return c.transition(ctx, RequestChanges, requestID, donationID, data, decide("changes"))
}

// Accept records the donor's acceptance of the de-identified objects. data: Decision.
func (c *DonationContract) Accept(ctx contractapi.TransactionContextInterface, requestID, donationID, data string) (string, error) {
	return c.transition(ctx, Accept, requestID, donationID, data, decide("accept"))
}

// Store records the library copy and purges the private donor link. data: Storage.
func (c *DonationContract) Store(ctx contractapi.TransactionContextInterface, requestID, donationID, data string) (string, error) {
	return c.transition(ctx, Store, requestID, donationID, data, store)
}

// Revoke records the donor's revocation (of consent and donation). data: Decision.
func (c *DonationContract) Revoke(ctx contractapi.TransactionContextInterface, requestID, donationID, data string) (string, error) {
	return c.transition(ctx, Revoke, requestID, donationID, data, decide("revoke"))
}

// Erase records the deletion of every staged object and of the data key, and
// purges the private donor link. data: Deletion.
func (c *DonationContract) Erase(ctx contractapi.TransactionContextInterface, requestID, donationID, data string) (string, error) {
	return c.transition(ctx, Erase, requestID, donationID, data, erase)
}

// ReissueQR replaces the hash of the donation's QR capability token, so the
// previous token opens nothing; the state is kept. data: QRReissue.
func (c *DonationContract) ReissueQR(ctx contractapi.TransactionContextInterface, requestID, donationID, data string) (string, error) {
	return c.transition(ctx, ReissueQR, requestID, donationID, data, reissueQR)
}

// transition runs one step: replay check, lifecycle row, caller check,
// handler, then every write (donation, indexes, request record) and the event.
// Every transition reads the donation key, so two conflicting transitions on
// one donation cannot both commit: the later fails MVCC_READ_CONFLICT. A
// PrivateOnly step (LinkDonor) skips the public part: no replay record, no
// donation, index or request write; its handler writes the private collection.
func (c *DonationContract) transition(ctx contractapi.TransactionContextInterface, step Step, requestID, donationID, data string, h handler) (string, error) {
	stub, caller, err := begin(ctx, requestID, donationID)
	if err != nil {
		return "", err
	}
	if err := c.checkClock(stub); err != nil {
		return "", err
	}
	public := !stepPrivateOnly(step)
	if public {
		if result, done, err := replay(stub, step, requestID, donationID, caller); done || err != nil {
			return result, err
		}
	}

	d, err := loadDonation(stub, donationID)
	if err != nil {
		return "", err
	}
	from, intake := None, caller.MSP
	if d != nil {
		from, intake = d.State, d.IntakeMSP
	} else {
		d = &Donation{
			DocType: donationObject, DonationID: donationID, IntakeMSP: caller.MSP,
			DeidentifiedSHA256: []string{}, OriginalSHA256: []string{}, StagedSHA256: []string{},
		}
	}
	rule, err := ruleFor(donationID, from, step)
	if err != nil {
		return "", err
	}
	if err := rule.permits(caller, intake); err != nil {
		return "", err
	}
	ts, err := txTime(stub)
	if err != nil {
		return "", err
	}
	to := rule.To
	if to == Unchanged {
		to = from
	}
	ev := &Evidence{
		ContractVersion: c.Version, DonationID: donationID, Executor: caller.Executor,
		From: from, MSPID: caller.MSP, PackageID: c.PackageID, RequestID: requestID,
		Role: caller.Role, Step: step, Timestamp: ts, To: to, TxID: stub.GetTxID(),
	}
	if err := h(&stepCall{stub: stub, caller: caller, donation: d, evidence: ev, data: data}); err != nil {
		return "", err
	}
	if !public {
		return emit(stub, ev)
	}
	if from == None {
		d.CreatedAt = ts
	}
	d.State, d.UpdatedAt, d.LastEvent = to, ts, *ev

	if err := putJSON(stub, donationObject, []string{donationID}, d); err != nil {
		return "", err
	}
	if err := reindex(stub, d, from, *ev); err != nil {
		return "", err
	}
	result, err := emit(stub, ev)
	if err != nil {
		return "", err
	}
	rec := requestRecord{DonationID: donationID, Result: result, Step: step, TxID: ev.TxID}
	if err := putJSON(stub, requestObject, []string{requestID}, rec); err != nil {
		return "", err
	}
	return result, nil
}

// replay returns the stored result when requestID was already used for this
// step on this donation; it writes nothing and sets no event.
func replay(stub shim.ChaincodeStubInterface, step Step, requestID, donationID string, caller Caller) (string, bool, error) {
	key, err := requestKey(stub, requestID)
	if err != nil {
		return "", false, err
	}
	raw, err := stub.GetState(key)
	if err != nil {
		return "", false, fail(Internal, "failed to read request %s: %w", requestID, err)
	}
	if raw == nil {
		return "", false, nil
	}
	var rec requestRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return "", false, fail(Internal, "request %s record is corrupt: %w", requestID, err)
	}
	if rec.DonationID != donationID || rec.Step != step {
		return "", false, fail(AlreadyExists, "request id %s was already used for step %s on donation %s", requestID, rec.Step, rec.DonationID)
	}
	// The same rules as a first attempt, the org included: the donation's
	// state may have moved on, its intake org has not.
	d, err := mustLoadDonation(stub, donationID)
	if err != nil {
		return "", false, err
	}
	if err := mayAttempt(step, caller, d.IntakeMSP); err != nil {
		return "", false, err
	}
	return rec.Result, true, nil
}

// loadDonation returns the donation, or nil if it does not exist.
func loadDonation(stub shim.ChaincodeStubInterface, donationID string) (*Donation, error) {
	key, err := donationKey(stub, donationID)
	if err != nil {
		return nil, err
	}
	raw, err := stub.GetState(key)
	if err != nil {
		return nil, fail(Internal, "failed to read donation %s: %w", donationID, err)
	}
	if raw == nil {
		return nil, nil
	}
	var d Donation
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fail(Internal, "donation %s record is corrupt: %w", donationID, err)
	}
	return &d, nil
}

// mustLoadDonation is loadDonation with "does not exist" as an error.
func mustLoadDonation(stub shim.ChaincodeStubInterface, donationID string) (*Donation, error) {
	d, err := loadDonation(stub, donationID)
	if err == nil && d == nil {
		err = fail(NotFound, "donation %s does not exist", donationID)
	}
	return d, err
}

func putJSON(stub shim.ChaincodeStubInterface, object string, attrs []string, v any) error {
	key, err := compositeKey(stub, object, attrs...)
	if err != nil {
		return err
	}
	raw, err := canonicalJSON(v)
	if err != nil {
		return err
	}
	if err := stub.PutState(key, raw); err != nil {
		return fail(Internal, "failed to write %s %s: %w", object, strings.Join(attrs, "~"), err)
	}
	return nil
}

// txTime is the transaction timestamp (set by the client, the same on every
// endorser) as RFC 3339 UTC; never the local clock, which differs per peer.
func txTime(stub shim.ChaincodeStubInterface) (string, error) {
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return "", fail(Internal, "failed to read the transaction timestamp: %w", err)
	}
	return ts.AsTime().UTC().Format(time.RFC3339Nano), nil
}
