package contract

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Code is the stable first word of every refusal: "WRONG_STATE: donation d-1
// is CONSENTED: ...". Clients map codes, never the English that follows.
type Code string

// The codes, kept once in error_codes.json (embedded below); init refuses to
// start if these constants and the file disagree.
const (
	InvalidInput  Code = "INVALID_INPUT"
	NotFound      Code = "NOT_FOUND"
	WrongState    Code = "WRONG_STATE"
	AlreadyExists Code = "ALREADY_EXISTS"
	Unauthorized  Code = "UNAUTHORIZED"
	Internal      Code = "INTERNAL"
	ClockSkew     Code = "CLOCK_SKEW"
)

// ErrorCode is one entry of error_codes.json.
type ErrorCode struct {
	Code    Code   `json:"code"`
	Meaning string `json:"meaning"`
}

//go:embed error_codes.json
var errorCodesJSON []byte

// ErrorCodes is the list of error_codes.json, in the file's order.
var ErrorCodes = loadErrorCodes(errorCodesJSON,
	InvalidInput, NotFound, WrongState, AlreadyExists, Unauthorized, Internal, ClockSkew)

func loadErrorCodes(raw []byte, want ...Code) []ErrorCode {
	var f struct {
		Codes []ErrorCode `json:"codes"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		panic("error_codes.json: " + err.Error())
	}
	got := make([]Code, len(f.Codes))
	for i, c := range f.Codes {
		got[i] = c.Code
	}
	slices.Sort(got)
	sorted := slices.Clone(want)
	slices.Sort(sorted)
	if !slices.Equal(got, sorted) {
		panic(fmt.Sprintf("error_codes.json lists %v, the contract uses %v", got, sorted))
	}
	return f.Codes
}

// Error is a refusal: its text is Code + ": " + message.
type Error struct {
	Code  Code
	cause error // the formatted message, wrapping any %w error
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.cause.Error() }

// Unwrap returns the wrapped ledger or library error, if any.
func (e *Error) Unwrap() error { return errors.Unwrap(e.cause) }

// fail is the only way the contract builds an error (a test walks the source
// for any other): format as fmt.Errorf, with the code in front. Arguments are
// ids, states, steps, field names and counts, never a refused value.
func fail(code Code, format string, args ...any) error {
	return &Error{Code: code, cause: fmt.Errorf(format, args...)}
}
