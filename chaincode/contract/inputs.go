package contract

import (
	"regexp"
	"strings"
)

// Closed inputs: every id is random and every code comes from a closed list
// or a closed format, so no value can carry a name, a CURP, an NSS or an
// e-mail onto the ledger, where it could never be removed.

// IDPrefixes are the prefixes each id field accepts; an id is the prefix,
// "-" and 24 to 64 lowercase hex digits (client/donor.new_id makes 24).
// Hex, not base32: base32's alphabet holds every letter, so a name written
// without spaces would pass. The request id prefixes are those the code base
// uses: r (client.donations), hb (network readiness), t (integration tests),
// bench-go and bench-py (bench/ledger).
var IDPrefixes = map[string][]string{
	"contactRef":      {"c"},
	"donationId":      {"d"},
	"donorPseudonym":  {"p"},
	"requestId":       {"r", "hb", "t", "bench-go", "bench-py"},
	"reviewSessionId": {"s"},
}

// Closed lists of codes.
var (
	// FormIDs are the consent forms; the text shown is pinned by formSha256.
	FormIDs = []string{"consent-general", "consent-minor", "consent-research"}
	// ProfileIDs are the anonymizer's profiles (anonymizer/profile.py PROFILES) and
	// "manual" for hand de-identification (scanned paper).
	ProfileIDs = []string{"basic", "library", "library-private", "manual"}
	// ReasonCodes explain a donor decision (RequestChanges, Accept, Revoke).
	ReasonCodes = []string{
		"face-visible", "blur-face", "text-visible", "identifier-visible", "wrong-study",
		"donor-request", "changed-mind", "guardian-request", "consent-withdrawn", "retention-expired", "other",
	}
	// SignatureCodes say how a clinician signed: SAT's e.firma, an org PKI
	// certificate, or by hand (scanned).
	SignatureCodes = []string{"efirma", "pki", "handwritten"}
)

// Closed formats of codes.
var (
	// icd10Pattern: an ICD-10 (or ICD-10-CM) code, category and optional subcategory, e.g. C50.9.
	icd10Pattern = regexp.MustCompile(`^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$`)
	// versionPattern: 1 to 3 dot-separated numbers without leading zeros (3, 2.1, 1.4.0).
	versionPattern = regexp.MustCompile(`^(0|[1-9][0-9]{0,3})(\.(0|[1-9][0-9]{0,3})){0,2}$`)
	idSuffix       = regexp.MustCompile(`^[0-9a-f]{24,64}$`)
)

const (
	icd10Form   = "an ICD-10 code such as C50.9 (letter, two digits, optional '.' and 1-4 digits or capitals)"
	versionForm = "a version of 1-3 numbers separated by '.', e.g. 3 or 1.4.0"
)

// checkID accepts "<prefix>-<24-64 lowercase hex>" with a prefix of the
// field's kind (the last part of field: donor_link.contactRef is a contactRef).
func checkID(field, v string) error {
	kind := field[strings.LastIndexByte(field, '.')+1:]
	prefixes := IDPrefixes[kind]
	for _, p := range prefixes {
		if rest, ok := strings.CutPrefix(v, p+"-"); ok && idSuffix.MatchString(rest) {
			return nil
		}
	}
	return fail(InvalidInput, "invalid %s: want a random id: %s- and 24 to 64 lowercase hex digits", field, strings.Join(prefixes, "- or "))
}

func checkICD10(field, v string) error {
	if !icd10Pattern.MatchString(v) {
		return fail(InvalidInput, "invalid %s: want %s", field, icd10Form)
	}
	return nil
}

func checkVersion(field, v string) error {
	if !versionPattern.MatchString(v) {
		return fail(InvalidInput, "invalid %s: want %s", field, versionForm)
	}
	return nil
}

// oneOf checks a code against a closed list.
func oneOf(list []string) func(field, v string) error {
	return func(field, v string) error { return checkEnum(field, v, list...) }
}

// InputForms is what GetLifecycle says about the accepted inputs.
type InputForms struct {
	Codes   map[string][]string `json:"codes"`   // field -> closed list
	Formats map[string]string   `json:"formats"` // field -> regular expression
	IDs     map[string][]string `json:"ids"`     // field -> prefixes (then "-" and 24-64 hex)
}

func inputForms() InputForms {
	return InputForms{
		Codes: map[string][]string{
			"formId": FormIDs, "profile.id": ProfileIDs, "reasonCode": ReasonCodes,
			"signatureCode": SignatureCodes,
		},
		Formats: map[string]string{
			"conditionCode": icd10Pattern.String(), "findingCode": icd10Pattern.String(),
			"formVersion": versionPattern.String(), "profile.version": versionPattern.String(),
			"idSuffix": idSuffix.String(),
		},
		IDs: IDPrefixes,
	}
}
