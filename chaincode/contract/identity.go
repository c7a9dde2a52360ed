package contract

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// RoleAttribute is the certificate attribute (Fabric CA `--id.attrs`, added
// to enrollment certificates with `:ecert`) that carries the caller's role.
const RoleAttribute = "traza.role"

// callerOf reads MSP, role and certificate hash of the submitter through the
// client identity library (cid); the certificate's subject is never kept.
func callerOf(ctx contractapi.TransactionContextInterface) (Caller, error) {
	ci := ctx.GetClientIdentity()
	if ci == nil {
		return Caller{}, fail(Internal, "no client identity in the transaction context")
	}
	msp, err := ci.GetMSPID()
	if err != nil {
		return Caller{}, fail(Internal, "failed to read the caller's MSP: %w", err)
	}
	role, _, err := ci.GetAttributeValue(RoleAttribute)
	if err != nil {
		return Caller{}, fail(Internal, "failed to read the caller's %s attribute: %w", RoleAttribute, err)
	}
	cert, err := ci.GetX509Certificate()
	if err != nil || cert == nil {
		return Caller{}, fail(Unauthorized, "the caller has no X.509 certificate")
	}
	sum := sha256.Sum256(cert.Raw)
	return Caller{MSP: msp, Role: Role(role), Executor: hex.EncodeToString(sum[:])}, nil
}

// reader returns the caller if its Access row lets it call tx (any org and
// role for an Anyone row; the intake check of an IntakeOrg row needs the
// donation and is made by the caller with permit).
func reader(ctx contractapi.TransactionContextInterface, tx string) (Caller, error) {
	rule := accessRule(tx)
	if rule.Org == Anyone {
		return Caller{}, nil
	}
	c, err := callerOf(ctx)
	if err != nil {
		return c, err
	}
	what := "query " + tx
	if rule.Submit {
		what = "transaction " + tx
	}
	return c, permit(what, rule.Org, rule.Roles, c, "")
}

// begin checks a step's request and donation ids and reads the caller: the
// first thing every transition (and LinkDonor) does.
func begin(ctx contractapi.TransactionContextInterface, requestID, donationID string) (shim.ChaincodeStubInterface, Caller, error) {
	if err := checkID("requestId", requestID); err != nil {
		return nil, Caller{}, err
	}
	if err := checkID("donationId", donationID); err != nil {
		return nil, Caller{}, err
	}
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, Caller{}, err
	}
	return ctx.GetStub(), caller, nil
}
