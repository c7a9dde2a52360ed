package contract_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/traza-mx/traza/chaincode/contract"
)

// skewed runs fn with the peer's clock set skew away from the next
// proposal's timestamp (the fake ledger's Now).
func skewed(e *env, skew time.Duration, w who, fn txFunc) error {
	ts := e.ledger.Now
	e.cc.Clock = func() time.Time { return ts.Add(-skew) }
	_, err := e.submit(w, nil, fn)
	return err
}

// TestProposalTimeIsBoundedByThePeersClock: a write whose timestamp is more
// than MaxClockSkew before or after the endorsing peer's clock is refused with
// CLOCK_SKEW and writes nothing; inside the window it commits. Every write is
// checked: each step, LinkDonor and Heartbeat.
func TestProposalTimeIsBoundedByThePeersClock(t *testing.T) {
	max := contract.MaxClockSkew
	for _, c := range []struct {
		skew time.Duration
		ok   bool
	}{
		{0, true}, {max - time.Second, true}, {-max + time.Second, true}, {max, true}, {-max, true},
		{max + time.Second, false}, {-max - time.Second, false}, {-24 * time.Hour, false}, {365 * 24 * time.Hour, false},
	} {
		for _, step := range contract.Steps {
			t.Run(fmt.Sprintf("%s/%s", step, c.skew), func(t *testing.T) {
				e := newEnv(t)
				id := did("clock")
				e.must(id, pathTo(firstFrom(step))...)
				keys := e.ledger.Keys()
				m := e.method(step)
				var tr map[string][]byte
				if step == contract.LinkDonor {
					tr = transient(defaultData(step, id))
				}
				ts := e.ledger.Now
				e.cc.Clock = func() time.Time { return ts.Add(-c.skew) }
				_, err := e.submit(defaultCaller(step), tr, func(ctx ctxT) (string, error) {
					return m(ctx, nextReq(), id, defaultData(step, id))
				})
				if c.ok {
					require.NoError(t, err)
					return
				}
				require.ErrorContains(t, err, "CLOCK_SKEW: proposal timestamp is ")
				require.ErrorContains(t, err, "from the endorsing peer's clock, more than 5m0s")
				require.Equal(t, keys, e.ledger.Keys())
				require.Nil(t, e.last.Event())
			})
		}
		t.Run(fmt.Sprintf("Heartbeat/%s", c.skew), func(t *testing.T) {
			e := newEnv(t)
			err := skewed(e, c.skew, hospitalOp, func(ctx ctxT) (string, error) { return e.cc.Heartbeat(ctx, "hb-"+hex24) })
			if c.ok {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, "CLOCK_SKEW: ")
				require.Empty(t, e.ledger.Keys())
			}
		})
	}
}

// A back-dated replay of a committed request is refused too: the window is
// checked before the stored result is returned.
func TestAReplayAfterTheWindowIsRefused(t *testing.T) {
	e := newEnv(t)
	id := did("clock-replay")
	e.must(id, pathTo(contract.Consented)...)
	req := "r-" + hex64
	run := func() (string, error) {
		return e.submit(hospitalOp, nil, func(ctx ctxT) (string, error) {
			return e.cc.Acquire(ctx, req, id, defaultData(contract.Acquire, id))
		})
	}
	first, err := run()
	require.NoError(t, err)
	again, err := run()
	require.NoError(t, err)
	require.Equal(t, first, again)
	err = skewed(e, -time.Hour, hospitalOp, func(ctx ctxT) (string, error) {
		return e.cc.Acquire(ctx, req, id, defaultData(contract.Acquire, id))
	})
	require.ErrorContains(t, err, "CLOCK_SKEW: proposal timestamp is -1h0m0s from the endorsing peer's clock")
}

// Queries are evaluated, never committed: they are not bounded.
func TestQueriesAreNotBounded(t *testing.T) {
	e := newEnv(t)
	e.must(did("clock-q"), contract.Register)
	e.cc.Clock = func() time.Time { return day0.Add(-48 * time.Hour) }
	_, err := e.query(regulator, func(ctx ctxT) (string, error) { return e.cc.GetDonation(ctx, did("clock-q")) })
	require.NoError(t, err)
}
