package contract

import (
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// MaxClockSkew bounds how far a write's timestamp may be from the endorsing
// peer's clock. The timestamp is chosen by the client and becomes the
// step's evidence time (and what QueryByDateRange sorts by), so without a
// bound a Consent or an Erase could be back-dated or dated in the future.
//
// The trade-off (DESIGN.md "Bounded time"): endorsement reads the local
// clock, so it is not deterministic. Endorsers whose clocks differ by more
// than the window from each other may disagree near its edge and the
// gateway then gets mismatched responses (a retry with a fresh proposal
// settles it); a signed proposal replayed after the window is refused; the
// check happens at endorsement only, so validation (MVCC, policies) at
// commit is unaffected and a block never depends on a clock. Five minutes
// is well above NTP-synchronised skew and below any useful back-dating.
const MaxClockSkew = 5 * time.Minute

// checkClock refuses a proposal whose timestamp is more than MaxClockSkew
// from the peer's clock (c.Clock, time.Now unless a test sets it).
func (c *DonationContract) checkClock(stub shim.ChaincodeStubInterface) error {
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return fail(Internal, "failed to read the transaction timestamp: %w", err)
	}
	if ts == nil {
		return fail(Internal, "the proposal has no timestamp")
	}
	now := time.Now
	if c.Clock != nil {
		now = c.Clock
	}
	skew := ts.AsTime().Sub(now())
	if skew > MaxClockSkew || skew < -MaxClockSkew {
		return fail(ClockSkew, "proposal timestamp is %s from the endorsing peer's clock, more than %s: resubmit with a fresh proposal and check the client's clock",
			skew.Round(time.Second), MaxClockSkew)
	}
	return nil
}
