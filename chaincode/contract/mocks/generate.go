package mocks

// ChaincodeStub is a call-recording fake of the whole shim interface, for
// tests that make the ledger fail (Ledger cannot).
//go:generate go run github.com/maxbrunsfeld/counterfeiter/v6 -o chaincodestub.go -fake-name ChaincodeStub github.com/hyperledger/fabric-chaincode-go/v2/shim.ChaincodeStubInterface
