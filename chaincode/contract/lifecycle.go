package contract

import (
	"fmt"
	"slices"
	"strings"
)

// State is where a donation stands in its lifecycle.
type State string

// Donation states, in the order of the happy path (DESIGN.md "The donation lifecycle").
const (
	None             State = "" // before RegisterDonation: the donation does not exist
	Registered       State = "REGISTERED"
	Consented        State = "CONSENTED"
	Acquired         State = "ACQUIRED"
	Deidentified     State = "DEIDENTIFIED"
	Diagnosed        State = "DIAGNOSED"
	UnderReview      State = "UNDER_REVIEW"
	ChangesRequested State = "CHANGES_REQUESTED"
	Accepted         State = "ACCEPTED"
	Stored           State = "STORED"
	Revoked          State = "REVOKED"
	Erased           State = "ERASED"
)

// States lists every state a donation can be in, happy path first.
var States = []State{
	Registered, Consented, Acquired, Deidentified, Diagnosed, UnderReview,
	ChangesRequested, Accepted, Stored, Revoked, Erased,
}

// FinalStates accept no step at all.
var FinalStates = []State{Stored, Erased}

// Step is a transaction that moves (or annotates) a donation; its name is the
// transaction name and the chaincode event name.
type Step string

// Steps, one per transition transaction.
const (
	Register        Step = "RegisterDonation"
	LinkDonor       Step = "LinkDonor"
	Consent         Step = "Consent"
	Acquire         Step = "Acquire"
	Deidentify      Step = "Deidentify"
	Diagnose        Step = "Diagnose"
	SubmitForReview Step = "SubmitForReview"
	RequestChanges  Step = "RequestChanges"
	Accept          Step = "Accept"
	Store           Step = "Store"
	Revoke          Step = "Revoke"
	Erase           Step = "Erase"
)

// Steps lists every step in lifecycle order.
var Steps = []Step{
	Register, LinkDonor, Consent, Acquire, Deidentify, Diagnose, SubmitForReview,
	RequestChanges, Accept, Store, Revoke, Erase,
}

// Role is the value of the `traza.role` attribute in the caller's certificate,
// set by the org's Fabric CA at registration.
type Role string

// Roles known to the contract.
const (
	Operator  Role = "operator"
	Clinician Role = "clinician"
	Service   Role = "service"
	Regulator Role = "regulator"
)

// Roles lists every role; regulators only read.
var Roles = []Role{Operator, Clinician, Service, Regulator}

// Members are the MSP ids of the consortium on channel `donations`.
var Members = []string{"UniversityMSP", "HospitalMSP", "IMSSMSP"}

// Rule is one row of the lifecycle table: from any state in From, Step leads to
// To (Unchanged keeps the state) when the caller's MSP is in MSPs, its role is
// in Roles and, if IntakeOrgOnly, its MSP is the donation's intake org.
type Rule struct {
	From          []State
	Step          Step
	To            State
	MSPs          []string
	Roles         []Role
	IntakeOrgOnly bool
}

// Unchanged as a Rule's To means the step annotates the donation and keeps its state.
const Unchanged State = "="

// open are the states from which the donor may still revoke: all before STORED.
var open = []State{
	Registered, Consented, Acquired, Deidentified, Diagnosed, UnderReview,
	ChangesRequested, Accepted,
}

// consented are the states where a consent exists and a new version may supersede it.
var consented = []State{
	Consented, Acquired, Deidentified, Diagnosed, UnderReview, ChangesRequested, Accepted,
}

var (
	staff = []Role{Operator, Service}
	svc   = []Role{Service}
)

// Lifecycle is THE table: every allowed (state, step) pair with who may make it.
// Anything not in it is refused. Donor decisions (Consent, RequestChanges,
// Accept, Revoke) are submitted by the intake org's service identity on behalf
// of the donor, whom the web authenticates (donors hold no Fabric identity).
var Lifecycle = []Rule{
	{From: []State{None}, Step: Register, To: Registered, MSPs: Members, Roles: staff},
	{From: open, Step: LinkDonor, To: Unchanged, MSPs: Members, Roles: staff, IntakeOrgOnly: true},
	{From: []State{Registered}, Step: Consent, To: Consented, MSPs: Members, Roles: staff, IntakeOrgOnly: true},
	{From: consented, Step: Consent, To: Unchanged, MSPs: Members, Roles: staff, IntakeOrgOnly: true},
	{From: []State{Consented}, Step: Acquire, To: Acquired, MSPs: Members, Roles: staff},
	{From: []State{Acquired, ChangesRequested}, Step: Deidentify, To: Deidentified, MSPs: Members, Roles: staff},
	{From: []State{Deidentified}, Step: Diagnose, To: Diagnosed, MSPs: Members, Roles: []Role{Clinician}},
	{From: []State{Deidentified, Diagnosed}, Step: SubmitForReview, To: UnderReview, MSPs: Members, Roles: staff},
	{From: []State{UnderReview}, Step: RequestChanges, To: ChangesRequested, MSPs: Members, Roles: svc, IntakeOrgOnly: true},
	{From: []State{UnderReview}, Step: Accept, To: Accepted, MSPs: Members, Roles: svc, IntakeOrgOnly: true},
	{From: []State{Accepted}, Step: Store, To: Stored, MSPs: Members, Roles: svc},
	{From: open, Step: Revoke, To: Revoked, MSPs: Members, Roles: svc, IntakeOrgOnly: true},
	{From: []State{Revoked}, Step: Erase, To: Erased, MSPs: Members, Roles: staff},
}

// Caller is who submits a transaction, as read from its certificate.
type Caller struct {
	MSP      string // GetMSPID
	Role     Role   // `traza.role` attribute, "" when absent
	Executor string // SHA-256 hex of the certificate (DER), never the name
}

// ruleFor returns the row for step from state, or an error naming the states the step needs.
func ruleFor(donationID string, state State, step Step) (Rule, error) {
	var needed []string
	for _, r := range Lifecycle {
		if r.Step != step {
			continue
		}
		if slices.Contains(r.From, state) {
			return r, nil
		}
		for _, s := range r.From {
			if s != None {
				needed = append(needed, string(s))
			}
		}
	}
	if len(needed) == 0 {
		return Rule{}, fmt.Errorf("donation %s already exists (state %s): step %s only creates new donations", donationID, state, step)
	}
	if state == None {
		return Rule{}, fmt.Errorf("donation %s does not exist: step %s needs state %s", donationID, step, strings.Join(needed, " or "))
	}
	return Rule{}, fmt.Errorf("donation %s is %s: step %s needs state %s", donationID, state, step, strings.Join(needed, " or "))
}

// permits checks the caller's MSP, role and, for intake-only rows, its org.
func (r Rule) permits(c Caller, intakeMSP string) error {
	if !slices.Contains(r.MSPs, c.MSP) {
		return fmt.Errorf("step %s needs MSP %s, caller is %s", r.Step, strings.Join(r.MSPs, " or "), c.MSP)
	}
	if !slices.Contains(r.Roles, c.Role) {
		has := string(c.Role)
		if has == "" {
			has = "none"
		}
		return fmt.Errorf("step %s needs traza.role %s, caller has %s", r.Step, joinRoles(r.Roles), has)
	}
	if r.IntakeOrgOnly && intakeMSP != "" && c.MSP != intakeMSP {
		return fmt.Errorf("step %s needs the donation's intake org %s, caller is %s", r.Step, intakeMSP, c.MSP)
	}
	return nil
}

// mayAttempt checks the caller against any row of step, regardless of state;
// used before replaying a stored result, when the state may have moved on.
func mayAttempt(step Step, c Caller, intakeMSP string) error {
	var first error
	for _, r := range Lifecycle {
		if r.Step != step {
			continue
		}
		err := r.permits(c, intakeMSP)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

func joinRoles(roles []Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}

// Transition is one flattened row of the table as returned by GetLifecycle.
type Transition struct {
	From          string   `json:"from"`
	IntakeOrgOnly bool     `json:"intakeOrgOnly"`
	MSPs          []string `json:"msps"`
	Roles         []Role   `json:"roles"`
	Step          Step     `json:"step"`
	To            string   `json:"to"`
}

// LifecycleTable is the JSON document GetLifecycle returns.
type LifecycleTable struct {
	FinalStates []State      `json:"finalStates"`
	Initial     State        `json:"initial"`
	States      []State      `json:"states"`
	Steps       []Step       `json:"steps"`
	Transitions []Transition `json:"transitions"`
}

// Table flattens Lifecycle into one (from, step, to) row per pair, "" meaning
// "no donation yet" and To equal to From when the step keeps the state.
func Table() LifecycleTable {
	t := LifecycleTable{FinalStates: FinalStates, Initial: Registered, States: States, Steps: Steps}
	for _, r := range Lifecycle {
		for _, from := range r.From {
			to := r.To
			if to == Unchanged {
				to = from
			}
			t.Transitions = append(t.Transitions, Transition{
				From: string(from), IntakeOrgOnly: r.IntakeOrgOnly, MSPs: r.MSPs,
				Roles: r.Roles, Step: r.Step, To: string(to),
			})
		}
	}
	return t
}
