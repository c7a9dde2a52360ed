package contract_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/traza-mx/traza/chaincode/contract"
)

// TestCollectionsConfigMatchesTheContract keeps collections_config.json (read
// by `peer lifecycle chaincode approveformyorg --collections-config`) in step
// with IntakeCollection: one member-only collection per intake org, which that
// org's peers alone can endorse.
func TestCollectionsConfigMatchesTheContract(t *testing.T) {
	raw, err := os.ReadFile("../collections_config.json")
	require.NoError(t, err)
	var colls []struct {
		Name              string `json:"name"`
		Policy            string `json:"policy"`
		RequiredPeerCount int    `json:"requiredPeerCount"`
		MaxPeerCount      int    `json:"maxPeerCount"`
		BlockToLive       uint64 `json:"blockToLive"`
		MemberOnlyRead    bool   `json:"memberOnlyRead"`
		MemberOnlyWrite   bool   `json:"memberOnlyWrite"`
		EndorsementPolicy struct {
			SignaturePolicy string `json:"signaturePolicy"`
		} `json:"endorsementPolicy"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&colls))
	require.Len(t, colls, len(contract.Members))
	for i, msp := range contract.Members {
		c := colls[i]
		require.Equal(t, contract.IntakeCollection(msp), c.Name)
		require.Equal(t, fmt.Sprintf("OR('%s.member')", msp), c.Policy)
		require.Equal(t, fmt.Sprintf("OR('%s.peer')", msp), c.EndorsementPolicy.SignaturePolicy)
		require.True(t, c.MemberOnlyRead)
		require.True(t, c.MemberOnlyWrite, "only the intake org writes (and purges) its link")
		require.Zero(t, c.RequiredPeerCount, "one peer per org: nobody to disseminate to before endorsing")
		require.GreaterOrEqual(t, c.MaxPeerCount, c.RequiredPeerCount)
		require.Zero(t, c.BlockToLive, "the link lives until the contract purges it")
	}
}
