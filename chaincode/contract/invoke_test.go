package contract_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/stretchr/testify/require"

	"github.com/traza-mx/traza/chaincode/contract"
)

// invoke runs args through contractapi's dispatcher, as the peer does: string
// arguments in, the response payload out.
func invoke(t *testing.T, e *env, cc *contractapi.ContractChaincode, w who, transient map[string][]byte, args ...string) (int32, string, string) {
	tx := e.ledger.NewTx(creator(t, w), transient, args...)
	resp := cc.Invoke(tx)
	if resp.Status == 200 {
		require.NoError(t, e.ledger.Commit(tx))
	} else {
		refusals.add(errors.New(resp.Message)) // as the client reads it
	}
	return resp.Status, string(resp.Payload), resp.Message
}

func TestThroughTheContractAPIDispatcher(t *testing.T) {
	e := newEnv(t)
	cc, err := contractapi.NewChaincode(e.cc)
	require.NoError(t, err)

	status, out, msg := invoke(t, e, cc, hospitalOp, nil, "RegisterDonation", "r-693100000000000000000000", "d-696e76000000000000000000", defaultData(contract.Register, "d-696e76000000000000000000"))
	require.Equal(t, int32(200), status, msg)
	require.Equal(t, contract.Register, decode[contract.Evidence](t, out).Step)

	status, out, msg = invoke(t, e, cc, hospitalOp, transient(linkJSON("d-696e76000000000000000000")), "LinkDonor", "r-693200000000000000000000", "d-696e76000000000000000000")
	require.Equal(t, int32(200), status, msg)
	require.Equal(t, "intakeHospital", decode[contract.Evidence](t, out).Data.Link.Collection)

	status, out, _ = invoke(t, e, cc, regulator, nil, "VerifyDonorCommitment", "d-696e76000000000000000000", salt, pseudonym)
	require.Equal(t, int32(200), status)
	require.Equal(t, "true", out)
	status, out, _ = invoke(t, e, cc, regulator, nil, "VerifyDonorCommitment", "d-696e76000000000000000000", salt, "p-780000000000000000000000")
	require.Equal(t, int32(200), status)
	require.Equal(t, "false", out)

	status, out, _ = invoke(t, e, cc, regulator, nil, "GetLifecycle")
	require.Equal(t, int32(200), status)
	require.NotEmpty(t, decode[contract.LifecycleTable](t, out).Transitions)

	status, _, msg = invoke(t, e, cc, univOp, nil, "Consent", "r-693300000000000000000000", "d-696e76000000000000000000", defaultData(contract.Consent, "d-696e76000000000000000000"))
	require.Equal(t, int32(500), status)
	require.Equal(t, "UNAUTHORIZED: step Consent needs the donation's intake org HospitalMSP, caller is UniversityMSP", msg)

	status, _, msg = invoke(t, e, cc, hospitalOp, nil, "Ping")
	require.Equal(t, int32(500), status)
	require.Equal(t, "INVALID_INPUT: unknown transaction Ping: the transactions are listed by GetLifecycle and the contract metadata", msg)
	status, _, msg = invoke(t, e, cc, hospitalOp, nil, "María López")
	require.Equal(t, int32(500), status)
	require.Equal(t, "INVALID_INPUT: unknown transaction (name not shown): the transactions are listed by GetLifecycle and the contract metadata", msg)

	// The metadata lists exactly the documented transactions.
	status, out, _ = invoke(t, e, cc, regulator, nil, "org.hyperledger.fabric:GetMetadata")
	require.Equal(t, int32(200), status)
	var md struct {
		Contracts map[string]struct {
			Transactions []struct {
				Name string   `json:"name"`
				Tags []string `json:"tag"`
			} `json:"transactions"`
		} `json:"contracts"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &md))
	names := map[string][]string{}
	for _, tx := range md.Contracts["donation"].Transactions {
		names[tx.Name] = tx.Tags
	}
	for _, n := range []string{"RegisterDonation", "LinkDonor", "Consent", "Acquire", "Deidentify", "Diagnose",
		"SubmitForReview", "RequestChanges", "Accept", "Store", "Revoke", "Erase", "ReissueQR", "Heartbeat"} {
		require.ElementsMatch(t, []string{"SUBMIT", "submit"}, names[n], n)
		delete(names, n)
	}
	for _, n := range []string{"GetDonation", "GetHistory", "GetLifecycle", "GetConsent", "QueryByState", "QueryByOrg",
		"QueryByDateRange", "CountByStateAndOrg", "VerifyDonorCommitment", "GetDonorLink", "GetHeartbeat"} {
		require.ElementsMatch(t, []string{"EVALUATE", "evaluate"}, names[n], n)
		delete(names, n)
	}
	require.Empty(t, names, "undocumented transactions")
}
