package contract_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/traza-mx/traza/chaincode/contract"
)

// seed registers donations d-303000000000000000000000..d-(n-1); even ones by HospitalMSP, odd by
// UniversityMSP; every third is consented.
func seed(t *testing.T, e *env, n int) {
	for i := range n {
		id := did(fmt.Sprintf("%02d", i))
		w := hospitalOp
		if i%2 == 1 {
			w = univOp
		}
		_, err := e.step(w, contract.Register, id)
		require.NoError(t, err)
		if i%3 == 0 {
			_, err = e.step(w, contract.Consent, id)
			require.NoError(t, err)
		}
	}
}

type pageFn func(ctx ctxT, pageSize, bookmark string) (string, error)

// pages follows bookmarks to the end and returns each page's ids.
func pages[T any](t *testing.T, e *env, size int, fn pageFn, id func(T) string) [][]string {
	var out [][]string
	bookmark := ""
	for range 100 {
		raw := mustEval(t, e, regulator, func(ctx ctxT) (string, error) { return fn(ctx, fmt.Sprint(size), bookmark) })
		p := decode[contract.Page[T]](t, raw)
		require.Equal(t, len(p.Records), p.FetchedCount)
		require.LessOrEqual(t, p.FetchedCount, size)
		var ids []string
		for _, r := range p.Records {
			ids = append(ids, id(r))
		}
		out = append(out, ids)
		if p.Bookmark == "" {
			return out
		}
		bookmark = p.Bookmark
	}
	t.Fatal("bookmarks never end")
	return nil
}

func summaryID(s contract.DonationSummary) string { return s.DonationID }

func TestQueryByStatePaginates(t *testing.T) {
	e := newEnv(t)
	seed(t, e, 10) // consented: 0,3,6,9; registered: the other 6
	got := pages(t, e, 2, func(ctx ctxT, size, bm string) (string, error) {
		return e.cc.QueryByState(ctx, "REGISTERED", size, bm)
	}, summaryID)
	// ordered by [state, intakeMsp, id]: HospitalMSP before UniversityMSP
	require.Equal(t, [][]string{{"d-303200000000000000000000", "d-303400000000000000000000"}, {"d-303800000000000000000000", "d-303100000000000000000000"}, {"d-303500000000000000000000", "d-303700000000000000000000"}}, got)

	got = pages(t, e, 3, func(ctx ctxT, size, bm string) (string, error) {
		return e.cc.QueryByState(ctx, "CONSENTED", size, bm)
	}, summaryID)
	require.Equal(t, [][]string{{"d-303000000000000000000000", "d-303600000000000000000000", "d-303300000000000000000000"}, {"d-303900000000000000000000"}}, got)

	got = pages(t, e, 5, func(ctx ctxT, size, bm string) (string, error) {
		return e.cc.QueryByState(ctx, "STORED", size, bm)
	}, summaryID)
	require.Equal(t, [][]string{nil}, got)
}

func TestQueryByOrgPaginates(t *testing.T) {
	e := newEnv(t)
	seed(t, e, 10)
	got := pages(t, e, 4, func(ctx ctxT, size, bm string) (string, error) {
		return e.cc.QueryByOrg(ctx, "UniversityMSP", size, bm)
	}, summaryID)
	// ordered by [intakeMsp, state, id]: CONSENTED before REGISTERED
	require.Equal(t, [][]string{{"d-303300000000000000000000", "d-303900000000000000000000", "d-303100000000000000000000", "d-303500000000000000000000"}, {"d-303700000000000000000000"}}, got)
	raw := mustEval(t, e, regulator, func(ctx ctxT) (string, error) { return e.cc.QueryByOrg(ctx, "HospitalMSP", "200", "") })
	p := decode[contract.Page[contract.DonationSummary]](t, raw)
	require.Len(t, p.Records, 5)
	require.Equal(t, contract.DonationSummary{DonationID: "d-303000000000000000000000", IntakeMSP: "HospitalMSP", LastStep: contract.Consent,
		State: contract.Consented, UpdatedAt: p.Records[0].UpdatedAt}, p.Records[0])
}

func TestIndexesFollowTheState(t *testing.T) {
	e := newEnv(t)
	e.must("d-6d6f76650000000000000000", pathTo(contract.Erased)...)
	for _, s := range contract.States {
		raw := mustEval(t, e, regulator, func(ctx ctxT) (string, error) { return e.cc.QueryByState(ctx, string(s), "10", "") })
		n := decode[contract.Page[contract.DonationSummary]](t, raw).FetchedCount
		if s == contract.Erased {
			require.Equal(t, 1, n)
		} else {
			require.Zero(t, n, "stale index entry in %s", s)
		}
	}
}

func TestQueryByDateRangePaginatesAcrossDays(t *testing.T) {
	e := newEnv(t)
	// 3 steps on Mar 1, none on Mar 2, 3 on Mar 3, 1 on Mar 5.
	e.ledger.Now = day0
	e.must("d-610000000000000000000000", contract.Register, contract.Consent, contract.Acquire)
	e.ledger.Now = day0.AddDate(0, 0, 2)
	e.must("d-620000000000000000000000", contract.Register)
	e.must("d-300000000000000000000000", contract.Register)
	e.must("d-620000000000000000000000", contract.Consent)
	e.ledger.Now = day0.AddDate(0, 0, 4)
	e.must("d-610000000000000000000000", contract.Deidentify)

	entry := func(d contract.DayEntry) string { return d.Timestamp[:10] + " " + d.DonationID + " " + string(d.Step) }
	query := func(from, to string) pageFn {
		return func(ctx ctxT, size, bm string) (string, error) { return e.cc.QueryByDateRange(ctx, from, to, size, bm) }
	}
	got := pages(t, e, 2, query("2026-03-01", "2026-03-31"), entry)
	require.Len(t, got, 4)
	var flat []string
	for _, p := range got {
		flat = append(flat, p...)
	}
	// in time order, across donations
	require.Equal(t, []string{
		"2026-03-01 d-610000000000000000000000 RegisterDonation", "2026-03-01 d-610000000000000000000000 Consent", "2026-03-01 d-610000000000000000000000 Acquire",
		"2026-03-03 d-620000000000000000000000 RegisterDonation", "2026-03-03 d-300000000000000000000000 RegisterDonation", "2026-03-03 d-620000000000000000000000 Consent",
		"2026-03-05 d-610000000000000000000000 Deidentify",
	}, flat)

	got = pages(t, e, 10, query("2026-03-02", "2026-03-04"), entry)
	require.Equal(t, [][]string{{"2026-03-03 d-620000000000000000000000 RegisterDonation", "2026-03-03 d-300000000000000000000000 RegisterDonation", "2026-03-03 d-620000000000000000000000 Consent"}}, got)

	got = pages(t, e, 3, query("2026-03-01", "2026-03-01"), entry)
	require.Len(t, got, 1, "a full last page on the last day ends without a bookmark")
	require.Len(t, got[0], 3)
}

func TestQueryArgumentsAreValidated(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		fn   txFunc
		want string
	}{
		{func(ctx ctxT) (string, error) { return e.cc.QueryByState(ctx, "DONE", "10", "") }, "INVALID_INPUT: invalid state: want one of REGISTERED, CONSENTED, ACQUIRED, DEIDENTIFIED, DIAGNOSED, UNDER_REVIEW, CHANGES_REQUESTED, ACCEPTED, STORED, REVOKED, ERASED"},
		{func(ctx ctxT) (string, error) { return e.cc.QueryByState(ctx, "STORED", "0", "") }, "INVALID_INPUT: invalid pageSize: want a whole number from 1 to 200"},
		{func(ctx ctxT) (string, error) { return e.cc.QueryByState(ctx, "STORED", "201", "") }, "INVALID_INPUT: invalid pageSize: want a whole number from 1 to 200"},
		{func(ctx ctxT) (string, error) { return e.cc.QueryByState(ctx, "STORED", "ten", "") }, "INVALID_INPUT: invalid pageSize: want a whole number from 1 to 200"},
		{func(ctx ctxT) (string, error) { return e.cc.QueryByState(ctx, "STORED", "10", "%%%") }, `INVALID_INPUT: invalid bookmark: pass back the bookmark of the previous page, or ""`},
		{func(ctx ctxT) (string, error) { return e.cc.QueryByOrg(ctx, "AcmeMSP", "10", "") }, "INVALID_INPUT: invalid mspId: want one of UniversityMSP, HospitalMSP, IMSSMSP"},
		{func(ctx ctxT) (string, error) {
			return e.cc.QueryByDateRange(ctx, "01/03/2026", "2026-03-31", "10", "")
		}, "INVALID_INPUT: invalid fromDay: want a day as YYYY-MM-DD"},
		{func(ctx ctxT) (string, error) {
			return e.cc.QueryByDateRange(ctx, "2026-02-30", "2026-03-31", "10", "")
		}, "INVALID_INPUT: invalid fromDay: want a day as YYYY-MM-DD"},
		{func(ctx ctxT) (string, error) {
			return e.cc.QueryByDateRange(ctx, "2026-03-31", "2026-03-01", "10", "")
		}, "INVALID_INPUT: invalid range: toDay 2026-03-01 is before fromDay 2026-03-31"},
		{func(ctx ctxT) (string, error) {
			return e.cc.QueryByDateRange(ctx, "2025-01-01", "2026-03-01", "10", "")
		}, "INVALID_INPUT: invalid range: at most 366 days per query"},
		{func(ctx ctxT) (string, error) { return e.cc.GetDonation(ctx, "d-6e6f6e650000000000000000") }, "NOT_FOUND: donation d-6e6f6e650000000000000000 does not exist"},
		{func(ctx ctxT) (string, error) { return e.cc.GetHistory(ctx, "d-6e6f6e650000000000000000") }, "NOT_FOUND: donation d-6e6f6e650000000000000000 does not exist"},
		{func(ctx ctxT) (string, error) { return e.cc.GetConsent(ctx, "Ana María") }, "INVALID_INPUT: invalid donationId: want a random id: d- and 24 to 64 lowercase hex digits"},
	} {
		_, err := e.query(regulator, tc.fn)
		require.EqualError(t, err, tc.want)
	}
}

func TestQueriesNeedAMemberWithARole(t *testing.T) {
	e := newEnv(t)
	e.must("d-710000000000000000000000", contract.Register)
	q := func(ctx ctxT) (string, error) { return e.cc.GetDonation(ctx, "d-710000000000000000000000") }
	_, err := e.query(who{"HospitalMSP", ""}, q)
	require.EqualError(t, err, "UNAUTHORIZED: query GetDonation needs traza.role operator or clinician or service or regulator, caller has none")
	_, err = e.query(who{"StrangerMSP", contract.Regulator}, q)
	require.EqualError(t, err, "UNAUTHORIZED: query GetDonation needs MSP UniversityMSP or HospitalMSP or IMSSMSP, caller is StrangerMSP")
	for _, w := range []who{regulator, clinician, hospitalOp, univSvc} {
		_, err = e.query(w, q)
		require.NoError(t, err)
	}
}

func TestCountByStateAndOrgScansTheIndex(t *testing.T) {
	defer contract.SetCountPageSize(3)() // 10 donations: pages of 3, 3, 3, 1
	e := newEnv(t)
	seed(t, e, 10)
	e.must("d-303000000000000000000000", contract.Acquire, contract.Revoke)
	raw := mustEval(t, e, regulator, func(ctx ctxT) (string, error) { return e.cc.CountByStateAndOrg(ctx) })
	c := decode[contract.Counts](t, raw)
	require.Equal(t, 10, c.Total)
	require.Len(t, c.Counts, len(contract.States)*len(contract.Members))
	got := map[string]int{}
	sum := 0
	for _, x := range c.Counts {
		got[string(x.State)+"/"+x.MSPID] = x.Count
		sum += x.Count
	}
	require.Equal(t, 10, sum)
	require.Equal(t, 3, got["REGISTERED/HospitalMSP"])
	require.Equal(t, 3, got["REGISTERED/UniversityMSP"])
	require.Equal(t, 1, got["CONSENTED/HospitalMSP"]) // d-303600000000000000000000
	require.Equal(t, 2, got["CONSENTED/UniversityMSP"])
	require.Equal(t, 1, got["REVOKED/HospitalMSP"])
	require.Zero(t, got["REGISTERED/IMSSMSP"])
}

func TestGetHistoryIsNewestFirst(t *testing.T) {
	e := newEnv(t)
	e.must("d-680000000000000000000000", pathTo(contract.Deidentified)...)
	raw := mustEval(t, e, regulator, func(ctx ctxT) (string, error) { return e.cc.GetHistory(ctx, "d-680000000000000000000000") })
	hist := decode[[]contract.HistoryEntry](t, raw)
	require.Len(t, hist, 4)
	var states []contract.State
	for _, x := range hist {
		states = append(states, x.State)
		require.Equal(t, x.TxID, x.Event.TxID)
		ts, err := time.Parse(time.RFC3339Nano, x.Timestamp)
		require.NoError(t, err)
		require.Equal(t, x.Event.Timestamp, ts.UTC().Format(time.RFC3339Nano))
	}
	require.Equal(t, []contract.State{contract.Deidentified, contract.Acquired, contract.Consented, contract.Registered}, states)
}
