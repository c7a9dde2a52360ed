package contract

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// Step handlers: decode the step's JSON strictly, validate every field, then
// update the donation and the evidence. They never read their own writes
// (Fabric's GetState does not see the current transaction's PutState).

func register(s *stepCall) error {
	var in Registration
	if err := decodeStrict("registration", s.data, &in); err != nil {
		return err
	}
	if err := checkSHA256("commitment", in.Commitment); err != nil {
		return err
	}
	if err := checkOptional("qrTokenSha256", in.QRTokenSHA256, checkSHA256); err != nil {
		return err
	}
	s.donation.Commitment, s.donation.QRTokenSHA256 = in.Commitment, in.QRTokenSHA256
	s.evidence.Data.Registration = &in
	return nil
}

// reissueQR replaces the QR token's hash; the same hash again is refused,
// since a re-issue that keeps the old token open would revoke nothing.
func reissueQR(s *stepCall) error {
	var in QRReissue
	if err := decodeStrict("qrReissue", s.data, &in); err != nil {
		return err
	}
	if err := checkSHA256("qrTokenSha256", in.QRTokenSHA256); err != nil {
		return err
	}
	d := s.donation
	if in.QRTokenSHA256 == d.QRTokenSHA256 {
		return fail(InvalidInput, "donation %s: qrTokenSha256 must differ from the current one (a re-issue replaces the token)", d.DonationID)
	}
	d.QRTokenSHA256 = in.QRTokenSHA256
	s.evidence.Data.QRReissue = &in
	return nil
}

func consent(s *stepCall) error {
	var in ConsentInput
	if err := decodeStrict("consent", s.data, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	d := s.donation
	if d.Source != nil && d.Source.AgeBand == AgeMinor && !in.Minor {
		return fail(InvalidInput, "donation %s comes from a minor (age band %s): the consent needs minor true and guardian consent", d.DonationID, AgeMinor)
	}
	rec := ConsentRecord{
		ConsentInput: in, DonationID: d.DonationID, Executor: s.caller.Executor,
		MSPID: s.caller.MSP, Supersedes: d.ConsentVersion, Timestamp: s.evidence.Timestamp,
		TxID: s.evidence.TxID, Version: d.ConsentVersion + 1,
	}
	if err := putJSON(s.stub, consentObject, []string{d.DonationID, fmt.Sprintf("%06d", rec.Version)}, rec); err != nil {
		return err
	}
	d.ConsentVersion = rec.Version
	s.evidence.Data.Consent = &rec
	return nil
}

func acquire(s *stepCall) error {
	var in Acquisition
	if err := decodeStrict("acquisition", s.data, &in); err != nil {
		return err
	}
	if err := in.Source.validate(); err != nil {
		return err
	}
	if err := checkHashes("originalSha256", in.OriginalSHA256, false); err != nil {
		return err
	}
	d := s.donation
	if in.Source.AgeBand == AgeMinor {
		c, err := loadConsent(s.stub, d.DonationID, d.ConsentVersion)
		if err != nil {
			return err
		}
		if !c.Minor || !c.GuardianConsent {
			return fail(InvalidInput, "donation %s: source age band %s needs a consent with minor true and guardian consent (consent version %d has none)", d.DonationID, AgeMinor, c.Version)
		}
	}
	d.Source, d.OriginalSHA256 = &in.Source, in.OriginalSHA256
	d.StagedSHA256 = union(d.StagedSHA256, in.OriginalSHA256)
	s.evidence.Data.Acquisition = &in
	return nil
}

func (src Source) validate() error {
	if err := checkEnum("source.kind", src.Kind, Human, Synthetic); err != nil {
		return err
	}
	if src.Kind == Synthetic {
		if src.AgeBand != "" || src.ConditionCode != "" {
			return fail(InvalidInput, "invalid source: synthetic data has no ageBand or conditionCode")
		}
		return nil
	}
	if err := checkEnum("source.ageBand", src.AgeBand, AgeBands...); err != nil {
		return err
	}
	return checkOptional("source.conditionCode", src.ConditionCode, checkICD10)
}

func deidentify(s *stepCall) error {
	var in Deidentification
	if err := decodeStrict("deidentification", s.data, &in); err != nil {
		return err
	}
	if err := checkHashes("deidentifiedSha256", in.DeidentifiedSHA256, false); err != nil {
		return err
	}
	if err := checkEnum("method", in.Method, Automatic, Manual); err != nil {
		return err
	}
	if err := checkEnum("profile.id", in.Profile.ID, ProfileIDs...); err != nil {
		return err
	}
	if err := checkVersion("profile.version", in.Profile.Version); err != nil {
		return err
	}
	if err := checkSHA256("reportSha256", in.ReportSHA256); err != nil {
		return err
	}
	d := s.donation
	d.DeidentifiedSHA256 = in.DeidentifiedSHA256
	d.StagedSHA256 = union(d.StagedSHA256, in.DeidentifiedSHA256)
	s.evidence.Data.Deidentification = &in
	return nil
}

func diagnose(s *stepCall) error {
	var in Diagnosis
	if err := decodeStrict("diagnosis", s.data, &in); err != nil {
		return err
	}
	if err := checkSHA256("signatureSha256", in.SignatureSHA256); err != nil {
		return err
	}
	if err := checkOptional("signatureCode", in.SignatureCode, oneOf(SignatureCodes)); err != nil {
		return err
	}
	if err := checkOptional("findingCode", in.FindingCode, checkICD10); err != nil {
		return err
	}
	if err := checkOptional("reportSha256", in.ReportSHA256, checkSHA256); err != nil {
		return err
	}
	s.evidence.Data.Diagnosis = &in
	return nil
}

func submitForReview(s *stepCall) error {
	var in Review
	if err := decodeStrict("review", s.data, &in); err != nil {
		return err
	}
	if in.Round != 0 {
		return fail(InvalidInput, "invalid review: round is set by the contract")
	}
	if err := checkOptional("reviewSessionId", in.ReviewSessionID, checkID); err != nil {
		return err
	}
	in.Round = s.donation.ChangeRounds + 1
	s.evidence.Data.Review = &in
	return nil
}

// decide records a donor decision ("changes", "accept" or "revoke").
func decide(decision string) handler {
	return func(s *stepCall) error {
		var in Decision
		if err := decodeStrict("decision", s.data, &in); err != nil {
			return err
		}
		if in.Decision != "" {
			return fail(InvalidInput, "invalid decision: the decision field is set by the step")
		}
		if err := checkOptional("commentSha256", in.CommentSHA256, checkSHA256); err != nil {
			return err
		}
		if err := checkOptional("reasonCode", in.ReasonCode, oneOf(ReasonCodes)); err != nil {
			return err
		}
		in.Decision = decision
		s.evidence.Data.Decision = &in
		switch decision {
		case "changes":
			s.donation.ChangeRounds++
		case "revoke":
			s.donation.Revocation = s.evidence // the consent history shows it
		}
		return nil
	}
}

func store(s *stepCall) error {
	var in Storage
	if err := decodeStrict("storage", s.data, &in); err != nil {
		return err
	}
	if in.LinkPurged {
		return fail(InvalidInput, "invalid storage: linkPurged is set by the contract")
	}
	if err := checkHashes("librarySha256", in.LibrarySHA256, false); err != nil {
		return err
	}
	d := s.donation
	if !sameSet(in.LibrarySHA256, d.DeidentifiedSHA256) {
		return fail(InvalidInput, "donation %s: librarySha256 must list exactly the %d current de-identified objects (deidentifiedSha256)", d.DonationID, len(d.DeidentifiedSHA256))
	}
	if err := purgeLink(s.stub, d); err != nil {
		return err
	}
	in.LinkPurged = true
	s.evidence.Data.Storage = &in
	return nil
}

func erase(s *stepCall) error {
	var in Deletion
	if err := decodeStrict("deletion", s.data, &in); err != nil {
		return err
	}
	if in.LinkPurged {
		return fail(InvalidInput, "invalid deletion: linkPurged is set by the contract")
	}
	if err := checkHashes("deletedSha256", in.DeletedSHA256, true); err != nil {
		return err
	}
	d := s.donation
	for _, h := range d.StagedSHA256 {
		if !slices.Contains(in.DeletedSHA256, h) {
			return fail(InvalidInput, "donation %s: deletedSha256 misses staged object %s (every stagedSha256 must be deleted)", d.DonationID, h)
		}
	}
	if len(d.OriginalSHA256) > 0 && !in.KeyDestroyed {
		return fail(InvalidInput, "donation %s: keyDestroyed must be true, its originals were staged under a per-donation key", d.DonationID)
	}
	if err := purgeLink(s.stub, d); err != nil {
		return err
	}
	in.LinkPurged = true
	s.evidence.Data.Deletion = &in
	return nil
}

// loadConsent reads one consent version.
func loadConsent(stub shim.ChaincodeStubInterface, donationID string, version int) (*ConsentRecord, error) {
	if version == 0 {
		return nil, fail(NotFound, "donation %s has no consent", donationID)
	}
	key, err := consentKey(stub, donationID, version)
	if err != nil {
		return nil, err
	}
	raw, err := stub.GetState(key)
	if err != nil {
		return nil, fail(Internal, "failed to read consent %d of donation %s: %w", version, donationID, err)
	}
	if raw == nil {
		return nil, fail(NotFound, "consent %d of donation %s does not exist", version, donationID)
	}
	var c ConsentRecord
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fail(Internal, "consent %d of donation %s is corrupt: %w", version, donationID, err)
	}
	return &c, nil
}

// union returns a sorted list of the distinct hashes of a and b.
func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
