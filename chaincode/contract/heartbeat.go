package contract

import (
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Heartbeat is the last commit proven through one org's gateway: the org, the
// transaction and its time, the executor's certificate hash. Ids only.
type Heartbeat struct {
	Executor  string `json:"executor"`
	MSP       string `json:"msp"`
	RequestID string `json:"requestId"`
	Timestamp string `json:"timestamp"`
	TxID      string `json:"txId"`
}

// Heartbeat proves the caller's org can commit on the channel: `traza network up`
// waits for one through every org's gateway, and bench/ledger uses it as its
// trivial workload. It writes one key per org and sets one event, "Heartbeat".
// Any member identity with a traza.role may call it; it touches no donation.
func (c *DonationContract) Heartbeat(ctx contractapi.TransactionContextInterface, requestID string) (string, error) {
	caller, err := reader(ctx, "Heartbeat")
	if err != nil {
		return "", err
	}
	if err := checkID("requestId", requestID); err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	if err := c.checkClock(stub); err != nil {
		return "", err
	}
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return "", fail(Internal, "failed to read the transaction timestamp: %w", err)
	}
	hb := Heartbeat{
		Executor: caller.Executor, MSP: caller.MSP, RequestID: requestID,
		Timestamp: ts.AsTime().UTC().Format("2006-01-02T15:04:05.000Z"), TxID: stub.GetTxID(),
	}
	payload, err := canonicalJSON(hb)
	if err != nil {
		return "", err
	}
	key, err := compositeKey(stub, heartbeatObject, caller.MSP)
	if err != nil {
		return "", err
	}
	if err := stub.PutState(key, payload); err != nil {
		return "", fail(Internal, "failed to write the heartbeat of %s: %w", caller.MSP, err)
	}
	if err := stub.SetEvent("Heartbeat", payload); err != nil {
		return "", fail(Internal, "failed to set event Heartbeat: %w", err)
	}
	return string(payload), nil
}

// GetHeartbeat returns the last Heartbeat committed by org msp.
func (c *DonationContract) GetHeartbeat(ctx contractapi.TransactionContextInterface, msp string) (string, error) {
	if _, err := reader(ctx, "GetHeartbeat"); err != nil {
		return "", err
	}
	if err := checkEnum("mspId", msp, Members...); err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	key, err := compositeKey(stub, heartbeatObject, msp)
	if err != nil {
		return "", err
	}
	raw, err := stub.GetState(key)
	if err != nil {
		return "", fail(Internal, "failed to read the heartbeat of %s: %w", msp, err)
	}
	if raw == nil {
		return "", fail(NotFound, "no heartbeat from %s", msp)
	}
	return string(raw), nil
}
