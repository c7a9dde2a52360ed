package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Every value that reaches the ledger is a random id, a SHA-256, an enum, a
// number or a code from a closed list or format (inputs.go). Errors name the field and the expected form, never the
// offending value: it might be the personal data we are keeping out.
var (
	sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	dayPattern    = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	// fieldNamePattern: unknown JSON keys are echoed in errors only if they look like field names.
	fieldNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,31}$`)
)

const (
	sha256Form = "a SHA-256 as 64 lowercase hex digits"
	// maxHashes bounds the hash lists of one step (objects of one study or record).
	maxHashes = 10000
	// maxDataBytes bounds a step's JSON document.
	maxDataBytes = 1 << 20
)

func checkSHA256(field, v string) error {
	if !sha256Pattern.MatchString(v) {
		return fail(InvalidInput, "invalid %s: want %s", field, sha256Form)
	}
	return nil
}

func checkEnum[T ~string](field string, v T, allowed ...T) error {
	if !slices.Contains(allowed, v) {
		s := make([]string, len(allowed))
		for i, a := range allowed {
			s[i] = string(a)
		}
		return fail(InvalidInput, "invalid %s: want one of %s", field, strings.Join(s, ", "))
	}
	return nil
}

func checkOptional(field, v string, check func(string, string) error) error {
	if v == "" {
		return nil
	}
	return check(field, v)
}

// checkHashes validates a non-empty (unless allowEmpty) list of distinct SHA-256s.
func checkHashes(field string, hs []string, allowEmpty bool) error {
	if len(hs) == 0 && !allowEmpty {
		return fail(InvalidInput, "invalid %s: want at least one SHA-256", field)
	}
	if len(hs) > maxHashes {
		return fail(InvalidInput, "invalid %s: at most %d hashes", field, maxHashes)
	}
	seen := make(map[string]bool, len(hs))
	for i, h := range hs {
		if err := checkSHA256(fmt.Sprintf("%s[%d]", field, i), h); err != nil {
			return err
		}
		if seen[h] {
			return fail(InvalidInput, "invalid %s: hash %s appears twice", field, h)
		}
		seen[h] = true
	}
	return nil
}

func checkDay(field, v string) (time.Time, error) {
	if !dayPattern.MatchString(v) {
		return time.Time{}, fail(InvalidInput, "invalid %s: want a day as YYYY-MM-DD", field)
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fail(InvalidInput, "invalid %s: want a day as YYYY-MM-DD", field)
	}
	return t, nil
}

// decodeStrict parses a step's JSON document into v, refusing unknown fields
// (so no free-form field can carry personal data), trailing data and
// oversized input. An empty document means {}.
func decodeStrict(field, data string, v any) error {
	if len(data) > maxDataBytes {
		return fail(InvalidInput, "invalid %s: document larger than %d bytes", field, maxDataBytes)
	}
	if strings.TrimSpace(data) == "" {
		data = "{}"
	}
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fail(InvalidInput, "invalid %s: %s", field, describeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail(InvalidInput, "invalid %s: trailing data after the JSON object", field)
	}
	return nil
}

// describeJSONError keeps the decoder's explanation but never the input text.
func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Sprintf("field %q must be %s", typeErr.Field, typeErr.Type.String())
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("not valid JSON (offset %d)", syntaxErr.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if !fieldNamePattern.MatchString(name) {
			name = "(name not shown)" // a key can carry personal data too
		} else {
			name = strconv.Quote(name)
		}
		return "unknown field " + name + " (only ids, hashes, enums, numbers and short codes are accepted)"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "not valid JSON (truncated)"
	default:
		return "not a valid JSON object"
	}
}

// canonicalJSON marshals v with sorted map keys and struct fields in declared
// (alphabetical) order, so every endorser writes the same bytes.
func canonicalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fail(Internal, "failed to encode %T as JSON: %w", v, err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
