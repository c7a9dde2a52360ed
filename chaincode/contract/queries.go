package contract

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Queries are evaluated, never submitted (Fabric refuses paginated queries in
// submitted transactions). Every one needs a member MSP and a traza.role;
// regulators only have these.

const (
	maxPageSize  = 200
	maxRangeDays = 366
)

// countPageSize is the page of CountByStateAndOrg's index scan (a variable for tests).
var countPageSize int32 = 10000

// DonationSummary is one row of QueryByState and QueryByOrg.
type DonationSummary struct {
	DonationID string `json:"donationId"`
	IntakeMSP  string `json:"intakeMsp"`
	LastStep   Step   `json:"lastStep"`
	State      State  `json:"state"`
	UpdatedAt  string `json:"updatedAt"`
}

// Page is a paginated answer; pass Bookmark back for the next page, "" when done.
type Page[T any] struct {
	Bookmark     string `json:"bookmark"`
	FetchedCount int    `json:"fetchedCount"`
	Records      []T    `json:"records"`
}

// HistoryEntry is one version of a donation record (GetHistoryForKey).
type HistoryEntry struct {
	Event     *Evidence `json:"event"` // the step that wrote this version
	IsDelete  bool      `json:"isDelete"`
	State     State     `json:"state"`
	Timestamp string    `json:"timestamp"`
	TxID      string    `json:"txId"`
}

// Count is the number of donations of one intake org in one state.
type Count struct {
	Count int    `json:"count"`
	MSPID string `json:"mspId"`
	State State  `json:"state"`
}

// Counts is what CountByStateAndOrg returns.
type Counts struct {
	Counts []Count `json:"counts"`
	Total  int     `json:"total"`
}

// GetDonation returns the Donation JSON.
func (c *DonationContract) GetDonation(ctx contractapi.TransactionContextInterface, donationID string) (string, error) {
	if _, err := reader(ctx, "GetDonation"); err != nil {
		return "", err
	}
	if err := checkID("donationId", donationID); err != nil {
		return "", err
	}
	d, err := mustLoadDonation(ctx.GetStub(), donationID)
	if err != nil {
		return "", err
	}
	return marshal(d)
}

// GetHistory returns every version of the donation record as a JSON array of
// HistoryEntry, in Fabric's GetHistoryForKey order (newest first). Needs the
// peer's history database (core.yaml ledger.history.enableHistoryDatabase).
func (c *DonationContract) GetHistory(ctx contractapi.TransactionContextInterface, donationID string) (string, error) {
	if _, err := reader(ctx, "GetHistory"); err != nil {
		return "", err
	}
	if err := checkID("donationId", donationID); err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	key, err := donationKey(stub, donationID)
	if err != nil {
		return "", err
	}
	it, err := stub.GetHistoryForKey(key)
	if err != nil {
		return "", fail(Internal, "failed to read the history of donation %s: %w", donationID, err)
	}
	defer it.Close()
	entries := []HistoryEntry{}
	for it.HasNext() {
		m, err := it.Next()
		if err != nil {
			return "", fail(Internal, "failed to read the history of donation %s: %w", donationID, err)
		}
		e := HistoryEntry{IsDelete: m.GetIsDelete(), TxID: m.GetTxId()}
		if ts := m.GetTimestamp(); ts != nil {
			e.Timestamp = ts.AsTime().UTC().Format(time.RFC3339Nano)
		}
		if !e.IsDelete {
			var d Donation
			if err := json.Unmarshal(m.GetValue(), &d); err != nil {
				return "", fail(Internal, "donation %s version %s is corrupt: %w", donationID, e.TxID, err)
			}
			e.State, e.Event = d.State, &d.LastEvent
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return "", fail(NotFound, "donation %s does not exist", donationID)
	}
	return marshal(entries)
}

// GetLifecycle returns the lifecycle table (LifecycleTable) so clients can draw it.
func (c *DonationContract) GetLifecycle(ctx contractapi.TransactionContextInterface) (string, error) {
	if _, err := reader(ctx, "GetLifecycle"); err != nil {
		return "", err
	}
	return marshal(Table())
}

// GetConsent returns every consent version of a donation, oldest first, and
// the revocation if any (ConsentHistory).
func (c *DonationContract) GetConsent(ctx contractapi.TransactionContextInterface, donationID string) (string, error) {
	if _, err := reader(ctx, "GetConsent"); err != nil {
		return "", err
	}
	if err := checkID("donationId", donationID); err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	d, err := mustLoadDonation(stub, donationID)
	if err != nil {
		return "", err
	}
	it, err := stub.GetStateByPartialCompositeKey(consentObject, []string{donationID})
	if err != nil {
		return "", fail(Internal, "failed to read the consents of donation %s: %w", donationID, err)
	}
	defer it.Close()
	h := ConsentHistory{Current: d.ConsentVersion, DonationID: donationID, Revocation: d.Revocation, Versions: []ConsentRecord{}}
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return "", fail(Internal, "failed to read the consents of donation %s: %w", donationID, err)
		}
		var rec ConsentRecord
		if err := json.Unmarshal(kv.GetValue(), &rec); err != nil {
			return "", fail(Internal, "a consent of donation %s is corrupt: %w", donationID, err)
		}
		h.Versions = append(h.Versions, rec)
	}
	return marshal(h)
}

// QueryByState returns a page of donations in state, all intake orgs (index state~org~donation).
func (c *DonationContract) QueryByState(ctx contractapi.TransactionContextInterface, state, pageSize, bookmark string) (string, error) {
	if _, err := reader(ctx, "QueryByState"); err != nil {
		return "", err
	}
	if err := checkEnum("state", State(state), States...); err != nil {
		return "", err
	}
	return donationPage(ctx.GetStub(), stateIndex, []string{state}, pageSize, bookmark)
}

// QueryByOrg returns a page of the donations taken in by intake org mspId,
// ordered by state (index org~state~donation).
func (c *DonationContract) QueryByOrg(ctx contractapi.TransactionContextInterface, mspID, pageSize, bookmark string) (string, error) {
	if _, err := reader(ctx, "QueryByOrg"); err != nil {
		return "", err
	}
	if err := checkEnum("mspId", mspID, Members...); err != nil {
		return "", err
	}
	return donationPage(ctx.GetStub(), orgIndex, []string{mspID}, pageSize, bookmark)
}

func donationPage(stub shim.ChaincodeStubInterface, index string, attrs []string, pageSize, bookmark string) (string, error) {
	size, err := parsePageSize(pageSize)
	if err != nil {
		return "", err
	}
	inner, err := decodeBookmark(bookmark)
	if err != nil {
		return "", err
	}
	if err := checkBookmark(stub, index, attrs, inner); err != nil {
		return "", err
	}
	it, md, err := stub.GetStateByPartialCompositeKeyWithPagination(index, attrs, size, inner)
	if err != nil {
		return "", fail(Internal, "failed to query index %s: %w", index, err)
	}
	defer it.Close()
	page := Page[DonationSummary]{Records: []DonationSummary{}}
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return "", fail(Internal, "failed to query index %s: %w", index, err)
		}
		_, parts, err := stub.SplitCompositeKey(kv.GetKey())
		if err != nil || len(parts) != 3 {
			return "", fail(Internal, "index %s has a malformed key", index)
		}
		d, err := mustLoadDonation(stub, parts[2])
		if err != nil {
			return "", err
		}
		page.Records = append(page.Records, DonationSummary{
			DonationID: d.DonationID, IntakeMSP: d.IntakeMSP, LastStep: d.LastEvent.Step,
			State: d.State, UpdatedAt: d.UpdatedAt,
		})
	}
	page.FetchedCount = len(page.Records)
	if page.FetchedCount == int(size) && md.GetBookmark() != "" {
		page.Bookmark = encodeBookmark(md.GetBookmark())
	}
	return marshal(page)
}

// QueryByDateRange returns a page of the steps taken from fromDay to toDay
// (YYYY-MM-DD, UTC, both included, at most 366 days) as DayEntry records,
// day by day through the index day~event.
func (c *DonationContract) QueryByDateRange(ctx contractapi.TransactionContextInterface, fromDay, toDay, pageSize, bookmark string) (string, error) {
	if _, err := reader(ctx, "QueryByDateRange"); err != nil {
		return "", err
	}
	start, err := checkDay("fromDay", fromDay)
	if err != nil {
		return "", err
	}
	end, err := checkDay("toDay", toDay)
	if err != nil {
		return "", err
	}
	if end.Before(start) {
		return "", fail(InvalidInput, "invalid range: toDay %s is before fromDay %s", toDay, fromDay)
	}
	if end.Sub(start) >= maxRangeDays*24*time.Hour {
		return "", fail(InvalidInput, "invalid range: at most %d days per query", maxRangeDays)
	}
	size, err := parsePageSize(pageSize)
	if err != nil {
		return "", err
	}
	raw, err := decodeBookmark(bookmark)
	if err != nil {
		return "", err
	}
	// Our bookmark is the day being read followed by Fabric's bookmark within it.
	day, inner := start, ""
	if raw != "" {
		if day, err = checkDay("bookmark", raw[:min(10, len(raw))]); err != nil || day.Before(start) || day.After(end) {
			return "", fail(InvalidInput, "invalid bookmark: not from this date range")
		}
		inner = raw[10:]
	}
	stub := ctx.GetStub()
	page := Page[DayEntry]{Records: []DayEntry{}}
	for ; !day.After(end); day, inner = day.AddDate(0, 0, 1), "" {
		want := size - int32(len(page.Records))
		d := day.Format(time.DateOnly)
		next, err := dayEntries(stub, d, want, inner, &page.Records)
		if err != nil {
			return "", err
		}
		if int32(len(page.Records)) < size {
			continue
		}
		if next != "" {
			page.Bookmark = encodeBookmark(d + next)
		} else if more, err := nextDayWithEntries(stub, day.AddDate(0, 0, 1), end); err != nil {
			return "", err
		} else if more != "" {
			page.Bookmark = encodeBookmark(more)
		}
		break
	}
	page.FetchedCount = len(page.Records)
	return marshal(page)
}

// dayEntries appends up to want entries of one day and returns Fabric's
// bookmark when the page filled up.
func dayEntries(stub shim.ChaincodeStubInterface, day string, want int32, bookmark string, out *[]DayEntry) (string, error) {
	if err := checkBookmark(stub, dayIndex, []string{day}, bookmark); err != nil {
		return "", err
	}
	it, md, err := stub.GetStateByPartialCompositeKeyWithPagination(dayIndex, []string{day}, want, bookmark)
	if err != nil {
		return "", fail(Internal, "failed to query index %s for %s: %w", dayIndex, day, err)
	}
	defer it.Close()
	n := int32(0)
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return "", fail(Internal, "failed to query index %s for %s: %w", dayIndex, day, err)
		}
		var e DayEntry
		if err := json.Unmarshal(kv.GetValue(), &e); err != nil {
			return "", fail(Internal, "index %s has a corrupt entry on %s", dayIndex, day)
		}
		*out = append(*out, e)
		n++
	}
	if n == want {
		return md.GetBookmark(), nil
	}
	return "", nil
}

// nextDayWithEntries returns the first day from day to end with an index
// entry, "" if none, so the last page carries no bookmark.
func nextDayWithEntries(stub shim.ChaincodeStubInterface, day, end time.Time) (string, error) {
	for ; !day.After(end); day = day.AddDate(0, 0, 1) {
		d := day.Format(time.DateOnly)
		it, _, err := stub.GetStateByPartialCompositeKeyWithPagination(dayIndex, []string{d}, 1, "")
		if err != nil {
			return "", fail(Internal, "failed to query index %s for %s: %w", dayIndex, d, err)
		}
		found := it.HasNext()
		it.Close()
		if found {
			return d, nil
		}
	}
	return "", nil
}

// CountByStateAndOrg counts donations per (state, intake org) by scanning the
// state~org~donation index: no counter keys, because a shared counter would be
// written by every transition and make unrelated donations conflict (MVCC).
// The scan is O(donations), paginated, and runs only on evaluate.
func (c *DonationContract) CountByStateAndOrg(ctx contractapi.TransactionContextInterface) (string, error) {
	if _, err := reader(ctx, "CountByStateAndOrg"); err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	n := map[[2]string]int{}
	out := Counts{Counts: []Count{}}
	// Paginated, because a plain scan stops at the peer's totalQueryLimit
	// (core.yaml ledger.state.totalQueryLimit, 100000 by default).
	for bookmark := ""; ; {
		it, md, err := stub.GetStateByPartialCompositeKeyWithPagination(stateIndex, []string{}, countPageSize, bookmark)
		if err != nil {
			return "", fail(Internal, "failed to scan index %s: %w", stateIndex, err)
		}
		fetched := int32(0)
		for it.HasNext() {
			kv, err := it.Next()
			if err != nil {
				it.Close()
				return "", fail(Internal, "failed to scan index %s: %w", stateIndex, err)
			}
			_, parts, err := stub.SplitCompositeKey(kv.GetKey())
			if err != nil || len(parts) != 3 {
				it.Close()
				return "", fail(Internal, "index %s has a malformed key", stateIndex)
			}
			n[[2]string{parts[0], parts[1]}]++
			out.Total++
			fetched++
		}
		it.Close()
		if bookmark = md.GetBookmark(); fetched < countPageSize || bookmark == "" {
			break
		}
	}
	for _, s := range States {
		for _, m := range Members {
			out.Counts = append(out.Counts, Count{Count: n[[2]string{string(s), m}], MSPID: m, State: s})
			delete(n, [2]string{string(s), m})
		}
	}
	for k, v := range n { // an org outside Members (should not happen): still counted
		out.Counts = append(out.Counts, Count{Count: v, MSPID: k[1], State: State(k[0])})
	}
	slices.SortStableFunc(out.Counts[len(States)*len(Members):], func(a, b Count) int {
		if a.State != b.State {
			return cmp.Compare(a.State, b.State)
		}
		return cmp.Compare(a.MSPID, b.MSPID)
	})
	return marshal(out)
}

func parsePageSize(v string) (int32, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPageSize {
		return 0, fail(InvalidInput, "invalid pageSize: want a whole number from 1 to %d", maxPageSize)
	}
	return int32(n), nil
}

// Bookmarks are base64url so the composite keys' NUL bytes survive clients and URLs.
func encodeBookmark(raw string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeBookmark(v string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return "", fail(InvalidInput, "invalid bookmark: pass back the bookmark of the previous page, or \"\"")
	}
	return string(raw), nil
}

// checkBookmark refuses a bookmark that is not a key of the queried range
// (LevelDB's bookmark is the next page's first key).
func checkBookmark(stub shim.ChaincodeStubInterface, index string, attrs []string, inner string) error {
	if inner == "" {
		return nil
	}
	prefix, err := compositeKey(stub, index, attrs...)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(inner, prefix) {
		return fail(InvalidInput, "invalid bookmark: not from this query; pass back the bookmark of the previous page, or \"\"")
	}
	return nil
}

func marshal(v any) (string, error) {
	raw, err := canonicalJSON(v)
	return string(raw), err
}
