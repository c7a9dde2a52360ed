package contract

import (
	"fmt"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// Key and index names. Indexes are composite keys with an empty-ish value
// (LevelDB state database: no CouchDB rich queries); the regulator queries
// scan them by partial key.
const (
	donationObject  = "donation"           // donation~<donationId> -> Donation
	consentObject   = "consent"            // consent~<donationId>~<version %06d> -> ConsentRecord
	requestObject   = "request"            // request~<requestId> -> requestRecord
	stateIndex      = "state~org~donation" // [state, intakeMsp, donationId]
	orgIndex        = "org~state~donation" // [intakeMsp, state, donationId]
	dayIndex        = "day~event"          // [YYYY-MM-DD, hh:mm:ss.nnnnnnnnn, donationId, txId] -> DayEntry
	linkObject      = "link"               // private: link~<donationId> -> DonorLink
	heartbeatObject = "heartbeat"          // heartbeat~<msp> -> Heartbeat
)

// indexValue marks an index entry; the key carries the data. Fabric deletes a
// key whose value is empty, hence one byte.
var indexValue = []byte{0}

func donationKey(stub shim.ChaincodeStubInterface, id string) (string, error) {
	return compositeKey(stub, donationObject, id)
}

func consentKey(stub shim.ChaincodeStubInterface, id string, version int) (string, error) {
	return compositeKey(stub, consentObject, id, fmt.Sprintf("%06d", version))
}

func requestKey(stub shim.ChaincodeStubInterface, requestID string) (string, error) {
	return compositeKey(stub, requestObject, requestID)
}

func linkKey(stub shim.ChaincodeStubInterface, id string) (string, error) {
	return compositeKey(stub, linkObject, id)
}

// compositeKey is stub.CreateCompositeKey with a coded error. It fails only
// for an attribute that is not UTF-8 or holds U+0000 (ids are checked
// before); the shim's message would echo the value, so it is not kept.
func compositeKey(stub shim.ChaincodeStubInterface, object string, attrs ...string) (string, error) {
	k, err := stub.CreateCompositeKey(object, attrs)
	if err != nil {
		return "", fail(Internal, "failed to build a %s key", object)
	}
	return k, nil
}

// DayEntry is the value of a day~event index entry: one step on one day.
type DayEntry struct {
	DonationID string `json:"donationId"`
	MSPID      string `json:"mspId"`
	State      State  `json:"state"`
	Step       Step   `json:"step"`
	Timestamp  string `json:"timestamp"`
	TxID       string `json:"txId"`
}

// reindex moves the donation's state and org index entries from old to new
// state (old None for a new donation) and adds the day entry for this step.
func reindex(stub shim.ChaincodeStubInterface, d *Donation, old State, ev Evidence) error {
	if old != d.State {
		if old != None {
			if err := delIndex(stub, stateIndex, []string{string(old), d.IntakeMSP, d.DonationID}); err != nil {
				return err
			}
			if err := delIndex(stub, orgIndex, []string{d.IntakeMSP, string(old), d.DonationID}); err != nil {
				return err
			}
		}
		if err := putIndex(stub, stateIndex, []string{string(d.State), d.IntakeMSP, d.DonationID}, indexValue); err != nil {
			return err
		}
		if err := putIndex(stub, orgIndex, []string{d.IntakeMSP, string(d.State), d.DonationID}, indexValue); err != nil {
			return err
		}
	}
	entry, err := canonicalJSON(DayEntry{
		DonationID: d.DonationID, MSPID: ev.MSPID, State: d.State, Step: ev.Step,
		Timestamp: ev.Timestamp, TxID: ev.TxID,
	})
	if err != nil {
		return err
	}
	// Fixed-width time of day, so entries of one day are in time order.
	ts, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
	if err != nil {
		return fail(Internal, "bad evidence timestamp: %w", err)
	}
	ts = ts.UTC()
	return putIndex(stub, dayIndex, []string{ts.Format(time.DateOnly), ts.Format("15:04:05.000000000"), d.DonationID, ev.TxID}, entry)
}

func putIndex(stub shim.ChaincodeStubInterface, index string, attrs []string, value []byte) error {
	k, err := compositeKey(stub, index, attrs...)
	if err != nil {
		return err
	}
	if err := stub.PutState(k, value); err != nil {
		return fail(Internal, "failed to write index %s: %w", index, err)
	}
	return nil
}

func delIndex(stub shim.ChaincodeStubInterface, index string, attrs []string) error {
	k, err := compositeKey(stub, index, attrs...)
	if err != nil {
		return err
	}
	if err := stub.DelState(k); err != nil {
		return fail(Internal, "failed to delete index %s: %w", index, err)
	}
	return nil
}
