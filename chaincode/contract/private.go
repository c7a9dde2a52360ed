package contract

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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
		return nil, fail(InvalidInput, "invalid %s: want %d random bytes as %d lowercase hex digits", field, saltBytes, 2*saltBytes)
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
	return c.transition(ctx, LinkDonor, requestID, donationID, "", linkDonor)
}

// linkDonor is LinkDonor's handler: it writes the link to the intake
// collection (the row is PrivateOnly, so transition writes nothing public).
func linkDonor(s *stepCall) error {
	stub, d := s.stub, s.donation
	link, err := transientLink(stub, d)
	if err != nil {
		return err
	}
	value, err := canonicalJSON(link)
	if err != nil {
		return err
	}
	collection := IntakeCollection(d.IntakeMSP)
	key, err := linkKey(stub, d.DonationID)
	if err != nil {
		return err
	}
	// The hash is readable on every peer, member or not, and costs no private read.
	have, err := stub.GetPrivateDataHash(collection, key)
	if err != nil {
		return fail(Internal, "failed to read the donor link hash of donation %s: %w", d.DonationID, err)
	}
	want := sha256.Sum256(value)
	replayed := bytes.Equal(have, want[:])
	if len(have) > 0 && !replayed {
		return fail(AlreadyExists, "donation %s already has a different donor link", d.DonationID)
	}
	// A replay rewrites the same bytes: a transaction without writes is
	// validated against the chaincode policy (FAB-9473), which the intake
	// org alone cannot satisfy; a collection write is validated against the
	// collection's endorsement policy.
	if err := stub.PutPrivateData(collection, key, value); err != nil {
		return fail(Internal, "failed to write the donor link of donation %s: %w", d.DonationID, err)
	}
	s.evidence.Data.Link = &LinkEvidence{Collection: collection, Replayed: replayed}
	return nil
}

// transientLink reads, validates and checks the donor link against the commitment.
func transientLink(stub shim.ChaincodeStubInterface, d *Donation) (DonorLink, error) {
	tm, err := stub.GetTransient()
	if err != nil {
		return DonorLink{}, fail(Internal, "failed to read the transient map: %w", err)
	}
	raw, ok := tm[TransientDonorLink]
	if !ok || len(raw) == 0 {
		return DonorLink{}, fail(InvalidInput, "LinkDonor needs the transient key %s", TransientDonorLink)
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
		return DonorLink{}, fail(InvalidInput, "the donor link does not open the commitment of donation %s", d.DonationID)
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
		return fail(Internal, "failed to purge the donor link of donation %s: %w", d.DonationID, err)
	}
	return nil
}

// VerifyDonorCommitment returns whether salt (hex) and donorPseudonym open
// the donation's commitment, so a donor can prove the donation is theirs
// after the link itself was purged. Evaluate it; never submit (the arguments
// would be written into the block).
func (c *DonationContract) VerifyDonorCommitment(ctx contractapi.TransactionContextInterface, donationID, salt, donorPseudonym string) (bool, error) {
	if _, err := reader(ctx, "VerifyDonorCommitment"); err != nil {
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
	caller, err := reader(ctx, "GetDonorLink")
	if err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	d, err := mustLoadDonation(stub, donationID)
	if err != nil {
		return "", err
	}
	rule := accessRule("GetDonorLink")
	if err := permit("query GetDonorLink", rule.Org, rule.Roles, caller, d.IntakeMSP); err != nil {
		return "", err
	}
	key, err := linkKey(stub, donationID)
	if err != nil {
		return "", err
	}
	raw, err := stub.GetPrivateData(IntakeCollection(d.IntakeMSP), key)
	if err != nil {
		return "", fail(Internal, "failed to read the donor link of donation %s: %w", donationID, err)
	}
	if raw == nil {
		return "", fail(NotFound, "donation %s has no donor link on this peer (never linked, or purged at STORED/ERASED)", donationID)
	}
	return string(raw), nil
}
