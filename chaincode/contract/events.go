package contract

import (
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// emit sets the transaction's one chaincode event, named after the step
// (RegisterDonation, Consent, ..., Erase, LinkDonor), with the step's Evidence
// as JSON payload: ids, hashes, enums and codes only. It returns the payload,
// which is also the transaction's result. A replayed request sets no event,
// so an event index never sees a step twice. Fabric delivers the event only
// if the transaction commits as valid.
func emit(stub shim.ChaincodeStubInterface, ev *Evidence) (string, error) {
	payload, err := canonicalJSON(ev)
	if err != nil {
		return "", err
	}
	if err := stub.SetEvent(string(ev.Step), payload); err != nil {
		return "", fail(Internal, "failed to set event %s: %w", ev.Step, err)
	}
	return string(payload), nil
}
