package contract

import (
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
	ReissueQR       Step = "ReissueQR"
)

// Steps lists every step in lifecycle order.
var Steps = []Step{
	Register, LinkDonor, Consent, Acquire, Deidentify, Diagnose, SubmitForReview,
	RequestChanges, Accept, Store, Revoke, Erase, ReissueQR,
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

// Org says which orgs may take a step or make a query.
type Org string

// Org rules. A caller outside Members is refused by every rule but Anyone.
const (
	Anyone    Org = "anyone" // no identity needed (GetLifecycle)
	AnyMember Org = "member" // any org of Members
	IntakeOrg Org = "intake" // only the donation's intake org (the one that registered it)
)

// Rule is one row of the lifecycle table: from any state in From, Step leads
// to To (Unchanged keeps the state) when the caller's org passes Org and its
// role is in Roles. A row names its From states, or OpenFrom instead: every
// open state reachable from OpenFrom (see OpenStates), filled into From when
// the table is built. PrivateOnly steps write only the intake org's private
// collection: no donation record, index or request record, so the
// collection's endorsement policy (the intake org alone) applies.
type Rule struct {
	From        []State
	OpenFrom    State
	Step        Step
	To          State
	Org         Org
	Roles       []Role
	PrivateOnly bool
}

// Unchanged as a Rule's To means the step annotates the donation and keeps its state.
const Unchanged State = "="

var (
	staff = []Role{Operator, Service}
	svc   = []Role{Service}
	// writers are the roles that may submit anything: regulators only read.
	writers = []Role{Operator, Clinician, Service}
)

// Lifecycle is THE table: every allowed (state, step) pair with who may make
// it. Anything not in it is refused. Donor decisions (Consent, RequestChanges,
// Accept, Revoke) are submitted by the intake org's identity on behalf of the
// donor, whom the web authenticates (donors hold no Fabric identity).
//
// Org rules: the intake org holds the donor link, the consent and the
// per-donation data key its originals are staged under, so the steps on
// those are its alone: Acquire (stages originals under its key), Store and
// Erase (purge its private collection; Erase claims its key destroyed), and
// ReissueQR (it alone can reach the donor to hand over the new QR).
// ReissueQR keeps the state and replaces the QR token's hash in every open
// state; not in STORED or ERASED, which accept no step (and by then nothing
// off-chain links the donor to the donation any more, so nobody could send
// the new QR), nor in REVOKED, which only leads to ERASED.
// Deidentify, Diagnose and SubmitForReview are any member's: the university
// runs the de-identification service for the other orgs, and clinicians of
// any org read the de-identified study.
var Lifecycle = resolve([]Rule{
	{From: []State{None}, Step: Register, To: Registered, Org: AnyMember, Roles: staff},
	{OpenFrom: Registered, Step: LinkDonor, To: Unchanged, Org: IntakeOrg, Roles: staff, PrivateOnly: true},
	{From: []State{Registered}, Step: Consent, To: Consented, Org: IntakeOrg, Roles: staff},
	{OpenFrom: Consented, Step: Consent, To: Unchanged, Org: IntakeOrg, Roles: staff},
	{From: []State{Consented}, Step: Acquire, To: Acquired, Org: IntakeOrg, Roles: staff},
	{From: []State{Acquired, ChangesRequested}, Step: Deidentify, To: Deidentified, Org: AnyMember, Roles: staff},
	{From: []State{Deidentified}, Step: Diagnose, To: Diagnosed, Org: AnyMember, Roles: []Role{Clinician}},
	{From: []State{Deidentified, Diagnosed}, Step: SubmitForReview, To: UnderReview, Org: AnyMember, Roles: staff},
	{From: []State{UnderReview}, Step: RequestChanges, To: ChangesRequested, Org: IntakeOrg, Roles: svc},
	{From: []State{UnderReview}, Step: Accept, To: Accepted, Org: IntakeOrg, Roles: svc},
	{From: []State{Accepted}, Step: Store, To: Stored, Org: IntakeOrg, Roles: svc},
	{OpenFrom: Registered, Step: Revoke, To: Revoked, Org: IntakeOrg, Roles: svc},
	{From: []State{Revoked}, Step: Erase, To: Erased, Org: IntakeOrg, Roles: staff},
	{OpenFrom: Registered, Step: ReissueQR, To: Unchanged, Org: IntakeOrg, Roles: staff},
})

// Access is who may call each transaction outside the lifecycle: the queries
// (evaluated, never committed) and the Heartbeat probe (Submit). An IntakeOrg
// row reads data of one donation that only its intake org may see.
var Access = []AccessRule{
	{Transaction: "GetLifecycle", Org: Anyone, Roles: []Role{}},
	{Transaction: "GetDonation", Org: AnyMember, Roles: Roles},
	{Transaction: "GetHistory", Org: AnyMember, Roles: Roles},
	{Transaction: "GetConsent", Org: AnyMember, Roles: Roles},
	{Transaction: "QueryByState", Org: AnyMember, Roles: Roles},
	{Transaction: "QueryByOrg", Org: AnyMember, Roles: Roles},
	{Transaction: "QueryByDateRange", Org: AnyMember, Roles: Roles},
	{Transaction: "CountByStateAndOrg", Org: AnyMember, Roles: Roles},
	{Transaction: "VerifyDonorCommitment", Org: AnyMember, Roles: Roles},
	{Transaction: "GetDonorLink", Org: IntakeOrg, Roles: staff},
	{Transaction: "GetHeartbeat", Org: AnyMember, Roles: Roles},
	{Transaction: "Heartbeat", Org: AnyMember, Roles: writers, Submit: true},
}

// AccessRule is one row of Access.
type AccessRule struct {
	Org         Org    `json:"org"`
	Roles       []Role `json:"roles"`
	Submit      bool   `json:"submit"` // a write (committed), not a query
	Transaction string `json:"transaction"`
}

// OpenStates are the states a donation passes through before it is stored:
// reachable from "no donation yet" through the rows that name their From
// states, and left by one of them. A donor may revoke from any of them.
var OpenStates = openStates(Lifecycle)

// FinalStates accept no step at all: no row leaves them.
var FinalStates = finalStates(Lifecycle)

// forward returns the states reachable from start (start included) through
// rows that name their From states.
func forward(rules []Rule, start State) map[State]bool {
	seen := map[State]bool{start: true}
	for todo := []State{start}; len(todo) > 0; {
		s := todo[0]
		todo = todo[1:]
		for _, r := range rules {
			if r.OpenFrom != "" || !slices.Contains(r.From, s) || r.To == Unchanged || seen[r.To] {
				continue
			}
			seen[r.To] = true
			todo = append(todo, r.To)
		}
	}
	return seen
}

func openStates(rules []Rule) []State {
	reach := forward(rules, None)
	var out []State
	for _, s := range States {
		if !reach[s] {
			continue
		}
		for _, r := range rules {
			if r.OpenFrom == "" && r.To != Unchanged && slices.Contains(r.From, s) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

func finalStates(rules []Rule) []State {
	var out []State
	for _, s := range States {
		if !slices.ContainsFunc(rules, func(r Rule) bool { return slices.Contains(r.From, s) }) {
			out = append(out, s)
		}
	}
	return out
}

// resolve fills the From states of the OpenFrom rows.
func resolve(rules []Rule) []Rule {
	open := openStates(rules)
	for i, r := range rules {
		if r.OpenFrom == "" {
			continue
		}
		reach := forward(rules, r.OpenFrom)
		rules[i].From = slices.DeleteFunc(slices.Clone(open), func(s State) bool { return !reach[s] })
	}
	return rules
}

// Caller is who submits a transaction, as read from its certificate.
type Caller struct {
	MSP      string // GetMSPID
	Role     Role   // `traza.role` attribute, "" when absent
	Executor string // SHA-256 hex of the certificate (DER), never the name
}

// stepPrivateOnly reports whether step writes only the intake org's private data.
func stepPrivateOnly(step Step) bool {
	return slices.ContainsFunc(Lifecycle, func(r Rule) bool { return r.Step == step && r.PrivateOnly })
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
		return Rule{}, fail(AlreadyExists, "donation %s already exists (state %s): step %s only creates new donations", donationID, state, step)
	}
	if state == None {
		return Rule{}, fail(NotFound, "donation %s does not exist: step %s needs state %s", donationID, step, strings.Join(needed, " or "))
	}
	return Rule{}, fail(WrongState, "donation %s is %s: step %s needs state %s", donationID, state, step, strings.Join(needed, " or "))
}

// permits checks the caller's org and role against the row.
func (r Rule) permits(c Caller, intakeMSP string) error {
	return permit("step "+string(r.Step), r.Org, r.Roles, c, intakeMSP)
}

// permit checks c against an org rule and roles: what (e.g. "step Accept")
// names the transaction in the refusal. intakeMSP "" skips the intake check
// (a replay or a check made before the donation is read).
func permit(what string, org Org, roles []Role, c Caller, intakeMSP string) error {
	if org == Anyone {
		return nil
	}
	if !slices.Contains(Members, c.MSP) {
		return fail(Unauthorized, "%s needs MSP %s, caller is %s", what, strings.Join(Members, " or "), c.MSP)
	}
	if !slices.Contains(roles, c.Role) {
		has := string(c.Role)
		if has == "" {
			has = "none"
		}
		return fail(Unauthorized, "%s needs traza.role %s, caller has %s", what, joinRoles(roles), has)
	}
	if org == IntakeOrg && intakeMSP != "" && c.MSP != intakeMSP {
		return fail(Unauthorized, "%s needs the donation's intake org %s, caller is %s", what, intakeMSP, c.MSP)
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

// accessRule returns the Access row of a transaction (a programming error if missing).
func accessRule(tx string) AccessRule {
	i := slices.IndexFunc(Access, func(a AccessRule) bool { return a.Transaction == tx })
	if i < 0 {
		panic("no Access row for " + tx)
	}
	return Access[i]
}

// initial is the state the step from "no donation yet" leads to.
func initial() State {
	i := slices.IndexFunc(Lifecycle, func(r Rule) bool { return slices.Contains(r.From, None) })
	return Lifecycle[i].To
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
	From        string `json:"from"`
	Org         Org    `json:"org"`
	PrivateOnly bool   `json:"privateOnly"`
	Roles       []Role `json:"roles"`
	Step        Step   `json:"step"`
	To          string `json:"to"`
}

// LifecycleTable is the JSON document GetLifecycle returns: everything the
// contract decides by, so clients draw and check against the same table.
type LifecycleTable struct {
	Access      []AccessRule `json:"access"`
	ErrorCodes  []ErrorCode  `json:"errorCodes"`
	FinalStates []State      `json:"finalStates"`
	Initial     State        `json:"initial"`
	Inputs      InputForms   `json:"inputs"`
	Members     []string     `json:"members"`
	OpenStates  []State      `json:"openStates"`
	Roles       []Role       `json:"roles"`
	States      []State      `json:"states"`
	Steps       []Step       `json:"steps"`
	Transitions []Transition `json:"transitions"`
}

// Table flattens Lifecycle into one (from, step, to) row per pair, "" meaning
// "no donation yet" and To equal to From when the step keeps the state.
func Table() LifecycleTable {
	t := LifecycleTable{
		Access: Access, ErrorCodes: ErrorCodes, FinalStates: FinalStates, Initial: initial(), Inputs: inputForms(),
		Members: Members, OpenStates: OpenStates, Roles: Roles, States: States, Steps: Steps,
	}
	for _, r := range Lifecycle {
		for _, from := range r.From {
			to := r.To
			if to == Unchanged {
				to = from
			}
			t.Transitions = append(t.Transitions, Transition{
				From: string(from), Org: r.Org, PrivateOnly: r.PrivateOnly, Roles: r.Roles,
				Step: r.Step, To: string(to),
			})
		}
	}
	return t
}
