package contract

import ()

// LegalRegime is the Mexican personal-data law that governs the collecting institution.
type LegalRegime string

// Legal regimes: the 2025 federal law for private parties, the general law for
// public bodies (IMSS, public universities).
const (
	LFPDPPP2025 LegalRegime = "LFPDPPP_2025" // Ley Federal de Protección de Datos Personales en Posesión de los Particulares (2025)
	LGPDPPSO    LegalRegime = "LGPDPPSO"     // Ley General de Protección de Datos Personales en Posesión de Sujetos Obligados
)

// EvidenceKind says how the donor (or guardian) acknowledged the form.
type EvidenceKind string

// Acknowledgement kinds.
const (
	Signature EvidenceKind = "signature"
	OTP       EvidenceKind = "otp"
)

// maxRetentionMonths caps retention at 100 years.
const maxRetentionMonths = 1200

// Purposes the donor allows.
type Purposes struct {
	AITraining bool `json:"aiTraining"`
	Commercial bool `json:"commercial"`
	Research   bool `json:"research"`
	Teaching   bool `json:"teaching"`
}

// Acknowledgement is the hash of a signature image or of a one-time-code
// acknowledgement, never the signature or the code.
type Acknowledgement struct {
	Kind   EvidenceKind `json:"kind"`
	SHA256 string       `json:"sha256"`
}

// ConsentInput is the input of Consent.
type ConsentInput struct {
	Acceptance       Acknowledgement  `json:"acceptance"`
	FormID           string           `json:"formId"`
	FormSHA256       string           `json:"formSha256"` // SHA-256 of the form text shown to the donor
	FormVersion      string           `json:"formVersion"`
	GuardianConsent  bool             `json:"guardianConsent"`
	GuardianEvidence *Acknowledgement `json:"guardianEvidence,omitempty"`
	LegalRegime      LegalRegime      `json:"legalRegime"`
	Minor            bool             `json:"minor"`
	Purposes         Purposes         `json:"purposes"`
	RetentionMonths  int              `json:"retentionMonths"`
}

// ConsentRecord is one stored consent version (key `consent~<donationId>~<version>`).
// It is never edited: a new version supersedes it.
type ConsentRecord struct {
	ConsentInput
	DonationID string `json:"donationId"`
	Executor   string `json:"executor"`
	MSPID      string `json:"mspId"`
	Supersedes int    `json:"supersedes"` // previous version, 0 for the first
	Timestamp  string `json:"timestamp"`
	TxID       string `json:"txId"`
	Version    int    `json:"version"`
}

// ConsentHistory is what GetConsent returns.
type ConsentHistory struct {
	Current    int             `json:"current"` // 0 when no consent yet
	DonationID string          `json:"donationId"`
	Revocation *Evidence       `json:"revocation"` // the Revoke step's evidence, null if not revoked
	Versions   []ConsentRecord `json:"versions"`   // oldest first
}

func (a Acknowledgement) validate(field string) error {
	if err := checkEnum(field+".kind", a.Kind, Signature, OTP); err != nil {
		return err
	}
	return checkSHA256(field+".sha256", a.SHA256)
}

// validate checks every field and the rules between them.
func (c ConsentInput) validate() error {
	if err := checkEnum("formId", c.FormID, FormIDs...); err != nil {
		return err
	}
	if err := checkVersion("formVersion", c.FormVersion); err != nil {
		return err
	}
	if err := checkSHA256("formSha256", c.FormSHA256); err != nil {
		return err
	}
	p := c.Purposes
	if !p.AITraining && !p.Teaching && !p.Research && !p.Commercial {
		return fail(InvalidInput, "invalid purposes: a consent allows at least one of aiTraining, teaching, research, commercial (to refuse, do not consent or Revoke)")
	}
	if c.RetentionMonths < 1 || c.RetentionMonths > maxRetentionMonths {
		return fail(InvalidInput, "invalid retentionMonths: want a whole number of months from 1 to %d", maxRetentionMonths)
	}
	if err := checkEnum("legalRegime", c.LegalRegime, LFPDPPP2025, LGPDPPSO); err != nil {
		return err
	}
	if err := c.Acceptance.validate("acceptance"); err != nil {
		return err
	}
	if c.Minor {
		if !c.GuardianConsent || c.GuardianEvidence == nil {
			return fail(InvalidInput, "invalid consent: a minor's consent needs guardianConsent true and guardianEvidence")
		}
		return c.GuardianEvidence.validate("guardianEvidence")
	}
	if c.GuardianConsent || c.GuardianEvidence != nil {
		return fail(InvalidInput, "invalid consent: guardianConsent and guardianEvidence are only for minors (set minor true)")
	}
	return nil
}
