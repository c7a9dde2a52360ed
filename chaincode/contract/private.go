package contract

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// TransientDonorLink is the transient-map key LinkDonor reads the link from.
// Transient data reaches the endorsers but never the ledger.
const TransientDonorLink = "donor_link"

// saltBytes is the commitment salt length; the donor keeps the salt (QR/account).
const saltBytes = 32

// DonorLink ties a donation to its donor. It lives only in the intake org's
// private data collection and is purged at STORED and ERASED.
type DonorLink struct {
	Commitment     string `json:"commitment"`
	ContactRef     string `json:"contactRef"` // id of the contact record in the intake org's own database
	DonationID     string `json:"donationId"`
	DonorPseudonym string `json:"donorPseudonym"`
	Salt           string `json:"salt"` // 32 bytes, hex
}

// donorLinkInput is the JSON under the transient key donor_link.
type donorLinkInput struct {
	ContactRef     string `json:"contactRef"`
	DonorPseudonym string `json:"donorPseudonym"`
	Salt           string `json:"salt"`
}

// IntakeCollection names the private data collection of an intake org:
// "intake" + the MSP id without its "MSP" suffix (intakeUniversity, intakeHospital, intakeIMSS).
func IntakeCollection(msp string) string {
	return "intake" + strings.TrimSuffix(msp, "MSP")
}

// Commitment returns hex(SHA-256(salt || donorPseudonym || donationId)), salt
// as raw bytes and the two ids as UTF-8: the value RegisterDonation puts on
// the channel and VerifyDonorCommitment opens.
func Commitment(salt []byte, donorPseudonym, donationID string) string {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(donorPseudonym))
	h.Write([]byte(donationID))
	return hex.EncodeToString(h.Sum(nil))
}

func decodeSalt(field, v string) ([]byte, error) {
	salt, err := hex.DecodeString(v)
	if err != nil || len(salt) != saltBytes || strings.ToLower(v) != v {
		return nil, fmt.Errorf("invalid %s: want %d random bytes as %d lowercase hex digits", field, saltBytes, 2*saltBytes)
	}
	return salt, nil
}

// LinkDonor stores the donor link, read from the transient key donor_link
// ({"contactRef","donorPseudonym","salt"}), in the intake org's collection
// after checking that it opens the donation's commitment. It writes only
// private data, so the collection's endorsement policy (the intake org alone)
// applies and the link never leaves the intake org's peers. Replaying the same
// link rewrites the same value (Data.Link.Replayed true). Returns the step's
// Evidence as JSON.
func (c *DonationContract) LinkDonor(ctx contractapi.TransactionContextInterface, requestID, donationID string) (string, error) {
	stub, caller, err := begin(ctx, requestID, donationID)
	if err != nil {
		return "", err
	}
	d, err := mustLoadDonation(stub, donationID)
	if err != nil {
		return "", err
	}
	rule, err := ruleFor(donationID, d.State, LinkDonor)
	if err != nil {
		return "", err
	}
	if err := rule.permits(caller, d.IntakeMSP); err != nil {
		return "", err
	}
	link, err := transientLink(stub, d)
	if err != nil {
		return "", err
	}
	value, err := canonicalJSON(link)
	if err != nil {
		return "", err
	}
	collection := IntakeCollection(d.IntakeMSP)
	key, err := linkKey(stub, donationID)
	if err != nil {
		return "", err
	}
	// The hash is readable on every peer, member or not, and costs no private read.
	have, err := stub.GetPrivateDataHash(collection, key)
	if err != nil {
		return "", fmt.Errorf("failed to read the donor link hash of donation %s: %w", donationID, err)
	}
	want := sha256.Sum256(value)
	replayed := bytes.Equal(have, want[:])
	if len(have) > 0 && !replayed {
		return "", fmt.Errorf("donation %s already has a different donor link", donationID)
	}
	// A replay rewrites the same bytes: a transaction without writes is
	// validated against the chaincode policy (FAB-9473), which the intake
	// org alone cannot satisfy; a collection write is validated against the
	// collection's endorsement policy.
	if err := stub.PutPrivateData(collection, key, value); err != nil {
		return "", fmt.Errorf("failed to write the donor link of donation %s: %w", donationID, err)
	}
	ts, err := txTime(stub)
	if err != nil {
		return "", err
	}
	ev := Evidence{
		ContractVersion: c.Version, DonationID: donationID, Executor: caller.Executor,
		From: d.State, MSPID: caller.MSP, PackageID: c.PackageID, RequestID: requestID,
		Role: caller.Role, Step: LinkDonor, Timestamp: ts, To: d.State, TxID: stub.GetTxID(),
		Data: StepData{Link: &LinkEvidence{Collection: collection, Replayed: replayed}},
	}
	return emit(stub, &ev)
}

// transientLink reads, validates and checks the donor link against the commitment.
func transientLink(stub shim.ChaincodeStubInterface, d *Donation) (DonorLink, error) {
	tm, err := stub.GetTransient()
	if err != nil {
		return DonorLink{}, fmt.Errorf("failed to read the transient map: %w", err)
	}
	raw, ok := tm[TransientDonorLink]
	if !ok || len(raw) == 0 {
		return DonorLink{}, fmt.Errorf("LinkDonor needs the transient key %s", TransientDonorLink)
	}
	var in donorLinkInput
	if err := decodeStrict(TransientDonorLink, string(raw), &in); err != nil {
		return DonorLink{}, err
	}
	if err := checkID(TransientDonorLink+".donorPseudonym", in.DonorPseudonym); err != nil {
		return DonorLink{}, err
	}
	if err := checkID(TransientDonorLink+".contactRef", in.ContactRef); err != nil {
		return DonorLink{}, err
	}
	salt, err := decodeSalt(TransientDonorLink+".salt", in.Salt)
	if err != nil {
		return DonorLink{}, err
	}
	if Commitment(salt, in.DonorPseudonym, d.DonationID) != d.Commitment {
		return DonorLink{}, fmt.Errorf("the donor link does not open the commitment of donation %s", d.DonationID)
	}
	return DonorLink{
		Commitment: d.Commitment, ContactRef: in.ContactRef, DonationID: d.DonationID,
		DonorPseudonym: in.DonorPseudonym, Salt: in.Salt,
	}, nil
}

// purgeLink removes the donor link from the intake collection and its
// history (PurgePrivateData, Fabric >= 2.5); purging an absent key is harmless.
func purgeLink(stub shim.ChaincodeStubInterface, d *Donation) error {
	key, err := linkKey(stub, d.DonationID)
	if err != nil {
		return err
	}
	if err := stub.PurgePrivateData(IntakeCollection(d.IntakeMSP), key); err != nil {
		return fmt.Errorf("failed to purge the donor link of donation %s: %w", d.DonationID, err)
	}
	return nil
}

// VerifyDonorCommitment returns whether salt (hex) and donorPseudonym open
// the donation's commitment, so a donor can prove the donation is theirs
// after the link itself was purged. Evaluate it; never submit (the arguments
// would be written into the block).
func (c *DonationContract) VerifyDonorCommitment(ctx contractapi.TransactionContextInterface, donationID, salt, donorPseudonym string) (bool, error) {
	if _, err := readerOf(ctx); err != nil {
		return false, err
	}
	if err := checkID("donationId", donationID); err != nil {
		return false, err
	}
	s, err := decodeSalt("salt", salt)
	if err != nil {
		return false, err
	}
	if err := checkID("donorPseudonym", donorPseudonym); err != nil {
		return false, err
	}
	d, err := mustLoadDonation(ctx.GetStub(), donationID)
	if err != nil {
		return false, err
	}
	return Commitment(s, donorPseudonym, donationID) == d.Commitment, nil
}

// GetDonorLink returns the DonorLink JSON to the intake org's operator or
// service, evaluated on one of its own peers (members only read the collection).
func (c *DonationContract) GetDonorLink(ctx contractapi.TransactionContextInterface, donationID string) (string, error) {
	if err := checkID("donationId", donationID); err != nil {
		return "", err
	}
	caller, err := callerOf(ctx)
	if err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	d, err := mustLoadDonation(stub, donationID)
	if err != nil {
		return "", err
	}
	if caller.MSP != d.IntakeMSP || (caller.Role != Operator && caller.Role != Service) {
		return "", fmt.Errorf("the donor link of donation %s is readable only by operator or service of %s", donationID, d.IntakeMSP)
	}
	key, err := linkKey(stub, donationID)
	if err != nil {
		return "", err
	}
	raw, err := stub.GetPrivateData(IntakeCollection(d.IntakeMSP), key)
	if err != nil {
		return "", fmt.Errorf("failed to read the donor link of donation %s: %w", donationID, err)
	}
	if raw == nil {
		return "", errors.New("donation " + donationID + " has no donor link on this peer (never linked, or purged at STORED/ERASED)")
	}
	return string(raw), nil
}
