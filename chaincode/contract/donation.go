package contract

// Donation is the public record of one donation (key `donation~<id>`): ids,
// hashes and states only. Fields are in alphabetical order so the JSON is the
// same on every endorser.
type Donation struct {
	ChangeRounds       int       `json:"changeRounds"`       // RequestChanges so far
	Commitment         string    `json:"commitment"`         // sha256(salt || donorPseudonym || donationId), hex
	ConsentVersion     int       `json:"consentVersion"`     // current consent version, 0 = none yet
	CreatedAt          string    `json:"createdAt"`          // tx timestamp of RegisterDonation, RFC 3339 UTC
	DeidentifiedSHA256 []string  `json:"deidentifiedSha256"` // current de-identified objects
	DocType            string    `json:"docType"`            // "donation"
	DonationID         string    `json:"donationId"`
	IntakeMSP          string    `json:"intakeMsp"` // org that registered the donor and holds the private link
	LastEvent          Evidence  `json:"lastEvent"` // evidence of the step that wrote this version
	OriginalSHA256     []string  `json:"originalSha256"`
	QRTokenSHA256      string    `json:"qrTokenSha256,omitempty"` // hash of the QR capability token
	Revocation         *Evidence `json:"revocation,omitempty"`    // the Revoke step's evidence
	Source             *Source   `json:"source,omitempty"`
	StagedSHA256       []string  `json:"stagedSha256"` // every original and draft ever staged: what Erase must delete
	State              State     `json:"state"`
	UpdatedAt          string    `json:"updatedAt"`
}

// Evidence is what one step proves: who (certificate hash, org, role), when
// (tx timestamp), with which contract, and the step's own data. It is the
// chaincode event payload, the transaction result and Donation.LastEvent.
type Evidence struct {
	ContractVersion string   `json:"contractVersion"`
	Data            StepData `json:"data"`
	DonationID      string   `json:"donationId"`
	Executor        string   `json:"executor"` // SHA-256 hex of the submitting certificate (DER)
	From            State    `json:"from"`
	MSPID           string   `json:"mspId"`
	PackageID       string   `json:"packageId"`
	RequestID       string   `json:"requestId"`
	Role            Role     `json:"role"`
	Step            Step     `json:"step"`
	Timestamp       string   `json:"timestamp"` // tx timestamp, RFC 3339 UTC
	To              State    `json:"to"`
	TxID            string   `json:"txId"`
}

// StepData holds the one part that matches the step (the others are omitted).
type StepData struct {
	Acquisition      *Acquisition      `json:"acquisition,omitempty"`
	Consent          *ConsentRecord    `json:"consent,omitempty"`
	Decision         *Decision         `json:"decision,omitempty"`
	Deidentification *Deidentification `json:"deidentification,omitempty"`
	Deletion         *Deletion         `json:"deletion,omitempty"`
	Diagnosis        *Diagnosis        `json:"diagnosis,omitempty"`
	Link             *LinkEvidence     `json:"link,omitempty"`
	QRReissue        *QRReissue        `json:"qrReissue,omitempty"`
	Registration     *Registration     `json:"registration,omitempty"`
	Review           *Review           `json:"review,omitempty"`
	Storage          *Storage          `json:"storage,omitempty"`
}

// SourceKind says whether data comes from a person or is synthetic.
type SourceKind string

// Source kinds.
const (
	Human     SourceKind = "human"
	Synthetic SourceKind = "synthetic"
)

// AgeBand is a coarse age range: never a birth date or an exact age.
type AgeBand string

// Age bands; "0-17" means a minor and needs guardian consent.
const (
	AgeMinor AgeBand = "0-17"
	Age18    AgeBand = "18-39"
	Age40    AgeBand = "40-64"
	Age65    AgeBand = "65-89"
	Age90    AgeBand = "90+"
)

// AgeBands lists the accepted age bands.
var AgeBands = []AgeBand{AgeMinor, Age18, Age40, Age65, Age90}

// Source describes where the data came from.
type Source struct {
	AgeBand       AgeBand    `json:"ageBand,omitempty"`       // human only
	ConditionCode string     `json:"conditionCode,omitempty"` // human only, short code (e.g. ICD-10 "C50.9")
	Kind          SourceKind `json:"kind"`
}

// Registration is the input of RegisterDonation.
type Registration struct {
	Commitment    string `json:"commitment"`              // sha256(salt || donorPseudonym || donationId), hex
	QRTokenSHA256 string `json:"qrTokenSha256,omitempty"` // SHA-256 of the QR capability token
}

// QRReissue is the input of ReissueQR: the new QR token's hash, which
// replaces the donation's qrTokenSha256 (the old token opens nothing after).
type QRReissue struct {
	QRTokenSHA256 string `json:"qrTokenSha256"` // SHA-256 of the new QR capability token
}

// Acquisition is the input of Acquire: the staged originals.
type Acquisition struct {
	OriginalSHA256 []string `json:"originalSha256"`
	Source         Source   `json:"source"`
}

// DeidMethod says how the objects were de-identified.
type DeidMethod string

// De-identification methods: by the anonymizer, or by hand (scanned paper).
const (
	Automatic DeidMethod = "automatic"
	Manual    DeidMethod = "manual"
)

// Profile names a de-identification profile and its version.
type Profile struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// Deidentification is the input of Deidentify.
type Deidentification struct {
	DeidentifiedSHA256 []string   `json:"deidentifiedSha256"`
	Method             DeidMethod `json:"method"`
	Profile            Profile    `json:"profile"`
	ReportSHA256       string     `json:"reportSha256"` // hash of the per-attribute action report
}

// Diagnosis is the input of Diagnose: the clinician's signature, never the text.
type Diagnosis struct {
	FindingCode     string `json:"findingCode,omitempty"`  // short code, e.g. ICD-10
	ReportSHA256    string `json:"reportSha256,omitempty"` // hash of the signed findings document
	SignatureCode   string `json:"signatureCode,omitempty"`
	SignatureSHA256 string `json:"signatureSha256"`
}

// Review is the input of SubmitForReview.
type Review struct {
	ReviewSessionID string `json:"reviewSessionId,omitempty"`
	Round           int    `json:"round"` // set by the contract: 1 + change requests so far
}

// Decision is the input of RequestChanges, Accept and Revoke; the contract
// fills Decision from the step.
type Decision struct {
	CommentSHA256 string `json:"commentSha256,omitempty"` // hash of the donor's comment, never the text
	Decision      string `json:"decision"`
	ReasonCode    string `json:"reasonCode,omitempty"`
}

// Storage is the input of Store: the library objects, which must be the
// current de-identified objects (the library is content-addressed by SHA-256).
type Storage struct {
	LibrarySHA256 []string `json:"librarySha256"`
	LinkPurged    bool     `json:"linkPurged"` // set by the contract
}

// Deletion is the input of Erase: what was deleted, and the data key destroyed.
type Deletion struct {
	DeletedSHA256 []string `json:"deletedSha256"`
	KeyDestroyed  bool     `json:"keyDestroyed"`
	LinkPurged    bool     `json:"linkPurged"` // set by the contract
}

// LinkEvidence is LinkDonor's event data: which collection, never the link.
type LinkEvidence struct {
	Collection string `json:"collection"`
	Replayed   bool   `json:"replayed"`
}
