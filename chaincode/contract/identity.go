package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

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
		return Caller{}, errors.New("no client identity in the transaction context")
	}
	msp, err := ci.GetMSPID()
	if err != nil {
		return Caller{}, fmt.Errorf("failed to read the caller's MSP: %w", err)
	}
	role, _, err := ci.GetAttributeValue(RoleAttribute)
	if err != nil {
		return Caller{}, fmt.Errorf("failed to read the caller's %s attribute: %w", RoleAttribute, err)
	}
	cert, err := ci.GetX509Certificate()
	if err != nil || cert == nil {
		return Caller{}, errors.New("the caller has no X.509 certificate")
	}
	sum := sha256.Sum256(cert.Raw)
	return Caller{MSP: msp, Role: Role(role), Executor: hex.EncodeToString(sum[:])}, nil
}

// readerOf returns the caller if it may read: a member org identity with a
// known traza.role (regulators included); queries are evaluated, never committed.
func readerOf(ctx contractapi.TransactionContextInterface) (Caller, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return c, err
	}
	if !slices.Contains(Members, c.MSP) {
		return c, fmt.Errorf("queries need a member MSP, caller is %s", c.MSP)
	}
	if !slices.Contains(Roles, c.Role) {
		has := string(c.Role)
		if has == "" {
			has = "none"
		}
		return c, fmt.Errorf("queries need traza.role %s, caller has %s", joinRoles(Roles), has)
	}
	return c, nil
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
