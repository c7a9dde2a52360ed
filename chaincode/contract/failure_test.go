package contract_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/traza-mx/traza/chaincode/contract"
	"github.com/traza-mx/traza/chaincode/contract/mocks"
)

// fakeCtx wires the counterfeiter stub with a real identity and a working
// composite-key encoding; each test then breaks one ledger call.
func fakeCtx(t *testing.T, w who) (*mocks.ChaincodeStub, ctxT) {
	stub := &mocks.ChaincodeStub{}
	stub.GetCreatorReturns(creator(t, w), nil)
	stub.CreateCompositeKeyStub = shim.CreateCompositeKey
	stub.GetTxIDReturns("tx-fake")
	stub.GetTxTimestampReturns(timestamppb.New(day0), nil)
	ctx := &contractapi.TransactionContext{}
	ctx.SetStub(stub)
	ci, err := cid.New(stub)
	require.NoError(t, err)
	ctx.SetClientIdentity(ci)
	return stub, ctx
}

func register(t *testing.T, ctx ctxT) error {
	cc := contract.New("1", "p")
	cc.Clock = func() time.Time { return day0 }
	_, err := cc.RegisterDonation(ctx, "r-660000000000000000000000", "d-660000000000000000000000", defaultData(contract.Register, "d-660000000000000000000000"))
	refusals.add(err)
	return err
}

func TestLedgerFailuresAreReportedWithTheKeyNeverSwallowed(t *testing.T) {
	boom := errors.New("peer unavailable")

	stub, ctx := fakeCtx(t, hospitalOp)
	stub.GetStateReturnsOnCall(0, nil, boom) // the request record
	require.EqualError(t, register(t, ctx), "INTERNAL: failed to read request r-660000000000000000000000: peer unavailable")

	stub, ctx = fakeCtx(t, hospitalOp)
	stub.GetStateReturnsOnCall(1, nil, boom) // the donation
	require.EqualError(t, register(t, ctx), "INTERNAL: failed to read donation d-660000000000000000000000: peer unavailable")

	stub, ctx = fakeCtx(t, hospitalOp)
	stub.PutStateReturnsOnCall(0, boom)
	require.EqualError(t, register(t, ctx), "INTERNAL: failed to write donation d-660000000000000000000000: peer unavailable")

	stub, ctx = fakeCtx(t, hospitalOp)
	stub.SetEventReturns(boom)
	require.EqualError(t, register(t, ctx), "INTERNAL: failed to set event RegisterDonation: peer unavailable")

	stub, ctx = fakeCtx(t, hospitalOp)
	stub.GetTxTimestampReturns(nil, boom)
	require.EqualError(t, register(t, ctx), "INTERNAL: failed to read the transaction timestamp: peer unavailable")

	stub, ctx = fakeCtx(t, hospitalOp)
	stub.GetStateReturnsOnCall(1, []byte("{not json"), nil)
	require.ErrorContains(t, register(t, ctx), "INTERNAL: donation d-660000000000000000000000 record is corrupt: ")
}

func TestSuccessfulRegistrationCallsTheLedgerAsExpected(t *testing.T) {
	stub, ctx := fakeCtx(t, hospitalOp)
	require.NoError(t, register(t, ctx))
	require.Equal(t, 2, stub.GetStateCallCount(), "reads: request record, donation")
	// donation, state index, org index, day index, request record
	require.Equal(t, 5, stub.PutStateCallCount())
	require.Zero(t, stub.DelStateCallCount())
	require.Equal(t, 1, stub.SetEventCallCount())
	name, _ := stub.SetEventArgsForCall(0)
	require.Equal(t, "RegisterDonation", name)
	require.Zero(t, stub.PurgePrivateDataCallCount())
	require.Zero(t, stub.PutPrivateDataCallCount())
}
