package contract

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets of the argument parsing (go test -fuzz=FuzzX ./contract/):
// the validators of inputs.go and validate.go and the strict JSON decoding of
// every step's document. Seeds: the f.Add calls and testdata/fuzz/; plain
// `go test` runs them all. bench/fuzz/README.md has the long runs' figures.

// accepted is the exact form checkID lets through, written independently of it.
var acceptedID = regexp.MustCompile(`^(c|d|p|r|hb|t|bench-go|bench-py|s)-[0-9a-f]{24,64}$`)

// idFields are the fields checkID is called with.
var idFields = []string{"donationId", "requestId", "donorPseudonym", "reviewSessionId", "donor_link.contactRef", "donor_link.donorPseudonym"}

func FuzzCheckID(f *testing.F) {
	for _, s := range []string{"d-0a0a0a0a0a0a0a0a0a0a0a0a", "r-" + strings.Repeat("f", 64), "d-maria-hernandez-lopez",
		"HELM850312MDFRPR09", "d-" + strings.Repeat("0", 65), "bench-go-0123456789abcdef01234567", "", "d-", "d-\u00e1"} {
		f.Add(uint8(0), s)
		f.Add(uint8(1), s)
	}
	f.Add(uint8(4), "c-0a0a0a0a0a0a0a0a0a0a0a0a")
	f.Fuzz(func(t *testing.T, n uint8, v string) {
		field := idFields[int(n)%len(idFields)]
		err := checkID(field, v)
		if err == nil {
			if !acceptedID.MatchString(v) {
				t.Fatalf("checkID(%q) accepted %q", field, v)
			}
			return
		}
		sameRefusal(t, err, checkID(field, "!"), v)
	})
}

func FuzzCodes(f *testing.F) {
	for _, s := range []string{"C50.9", "S72.001A", "Z00", "1.4.0", "3", "01", "1..2", "C50.9 maria", "garcia-lopez",
		"face-visible", "library", "consent-general", "efirma", "10000.1"} {
		f.Add(s)
	}
	icd := regexp.MustCompile(`^[A-Z][0-9][0-9](\.[0-9A-Z]{1,4})?$`)
	version := regexp.MustCompile(`^[0-9]{1,4}(\.[0-9]{1,4}){0,2}$`)
	f.Fuzz(func(t *testing.T, v string) {
		if err := checkICD10("findingCode", v); err == nil && !icd.MatchString(v) {
			t.Fatalf("ICD-10 accepted %q", v)
		} else if err != nil {
			sameRefusal(t, err, checkICD10("findingCode", "!"), v)
		}
		if err := checkVersion("formVersion", v); err == nil && !(version.MatchString(v) && zerosOK(v)) {
			t.Fatalf("version accepted %q", v)
		} else if err != nil {
			sameRefusal(t, err, checkVersion("formVersion", "!"), v)
		}
		for _, list := range [][]string{FormIDs, ProfileIDs, ReasonCodes, SignatureCodes} {
			err := oneOf(list)("reasonCode", v)
			if (err == nil) != containsString(list, v) {
				t.Fatalf("closed list %v: %q accepted=%v", list, v, err == nil)
			}
			if err != nil {
				sameRefusal(t, err, oneOf(list)("reasonCode", "!"), v)
			}
		}
	})
}

// zerosOK: a version part may be 0 but not start with 0 otherwise (01).
func zerosOK(v string) bool {
	for _, p := range strings.Split(v, ".") {
		if len(p) > 1 && p[0] == '0' {
			return false
		}
	}
	return true
}

func containsString(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// documents are the JSON shapes the steps decode, by field name (as in refusals).
var documents = map[string]func() any{
	"registration": func() any { return &Registration{} }, "qrReissue": func() any { return &QRReissue{} },
	"consent": func() any { return &ConsentInput{} }, "acquisition": func() any { return &Acquisition{} },
	"deidentification": func() any { return &Deidentification{} }, "diagnosis": func() any { return &Diagnosis{} },
	"review": func() any { return &Review{} }, "decision": func() any { return &Decision{} },
	"storage": func() any { return &Storage{} }, "deletion": func() any { return &Deletion{} },
	"donor_link": func() any { return &donorLinkInput{} },
}

// FuzzDecodeStrict: every step document decodes or is refused with
// INVALID_INPUT, never panics, and a refusal never repeats the document.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{"", "{}", `{"commitment":"ab"}`, `{"reasonCode":"other","x":1}`, `{"source":{"kind":"human","ageBand":"40-64"}}`,
		`{"librarySha256":["00"]}`, `[1,2]`, `{"a":"María Hernández"}`, `{} {}`, `{"purposes":{"research":"yes"}}`, "\x00{", `{"maria.lopez@example.mx":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		for name, mk := range documents {
			err := decodeStrict(name, data, mk())
			if err == nil {
				continue
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "INVALID_INPUT: invalid "+name+": ") {
				t.Fatalf("%s: %q -> %q", name, data, msg)
			}
			if len(data) >= 12 && strings.Contains(msg, data) {
				t.Fatalf("%s: refusal repeats the document: %q", name, msg)
			}
		}
	})
}

// sameRefusal: the refusal of v is word for word the refusal of any other
// bad value (ref), so it cannot carry anything of v.
func sameRefusal(t *testing.T, err, ref error, v string) {
	t.Helper()
	if err.Error() != ref.Error() || !strings.HasPrefix(err.Error(), "INVALID_INPUT: invalid ") || !utf8.ValidString(err.Error()) {
		t.Fatalf("refusal of %q: %q (any bad value gets %q)", v, err, ref)
	}
}
