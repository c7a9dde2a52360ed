// Package mocks holds test doubles for the contract's unit tests.
//
// Ledger is a hand-written in-memory fake of one peer's ledger, with the
// semantics the contract relies on, which a call-recording fake cannot give:
// GetState does not see the transaction's own writes, writes apply only at
// Commit, Commit fails with MVCC_READ_CONFLICT when a key read by the
// transaction changed since it was read, partial composite key queries are
// ordered and paginated with LevelDB's bookmark (the next key, "" at the end),
// GetHistoryForKey returns newest first, and private data honours
// PurgePrivateData. Methods the contract does not use panic (nil embedded
// interface), so a new dependency shows up in the tests.
package mocks

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ErrMVCCReadConflict is returned by Commit like the peer's validation code.
var ErrMVCCReadConflict = errors.New("MVCC_READ_CONFLICT")

type versioned struct {
	value   []byte
	version uint64
}

// Purge records one PurgePrivateData that committed.
type Purge struct {
	Collection, Key, TxID string
}

// Event is a committed chaincode event.
type Event struct {
	Name, TxID string
	Payload    []byte
}

// Ledger is the committed world state, history, private data and events.
type Ledger struct {
	mu      sync.Mutex
	state   map[string]versioned
	history map[string][]*queryresult.KeyModification
	private map[string]map[string][]byte // collection -> key -> value
	Purges  []Purge
	Events  []Event
	block   uint64
	txSeq   int
	// Now is the timestamp of the next transaction; each NewTx advances it a minute.
	Now time.Time
}

// NewLedger returns an empty ledger whose clock starts at start.
func NewLedger(start time.Time) *Ledger {
	return &Ledger{
		state:   map[string]versioned{},
		history: map[string][]*queryresult.KeyModification{},
		private: map[string]map[string][]byte{},
		Now:     start,
	}
}

// NewTx starts simulating a transaction submitted by creator (a serialized
// identity) with transient data and invocation args (function name first).
func (l *Ledger) NewTx(creator []byte, transient map[string][]byte, args ...string) *Tx {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.txSeq++
	ts := l.Now
	l.Now = l.Now.Add(time.Minute)
	return &Tx{
		ledger: l, txID: fmt.Sprintf("tx%06d", l.txSeq), ts: timestamppb.New(ts),
		creator: creator, transient: transient, args: args,
		reads: map[string]uint64{}, writes: map[string][]byte{},
		privWrites: map[string]map[string][]byte{},
	}
}

// Commit validates tx's reads (MVCC) and applies its writes, purges and event.
func (l *Ledger) Commit(tx *Tx) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for key, seen := range tx.reads {
		if l.state[key].version != seen {
			return fmt.Errorf("transaction %s: %w on key %q", tx.txID, ErrMVCCReadConflict, key)
		}
	}
	l.block++
	for key, value := range tx.writes {
		mod := &queryresult.KeyModification{TxId: tx.txID, Timestamp: tx.ts, Value: value, IsDelete: value == nil}
		l.history[key] = append([]*queryresult.KeyModification{mod}, l.history[key]...)
		if value == nil {
			delete(l.state, key)
		} else {
			l.state[key] = versioned{value: value, version: l.block}
		}
	}
	for coll, kv := range tx.privWrites {
		if l.private[coll] == nil {
			l.private[coll] = map[string][]byte{}
		}
		for k, v := range kv {
			l.private[coll][k] = v
		}
	}
	for _, p := range tx.purges {
		delete(l.private[p.Collection], p.Key)
		l.Purges = append(l.Purges, Purge{Collection: p.Collection, Key: p.Key, TxID: tx.txID})
	}
	if tx.event != nil {
		l.Events = append(l.Events, Event{Name: tx.event.EventName, TxID: tx.txID, Payload: tx.event.Payload})
	}
	return nil
}

// Private returns a committed private value, nil if absent or purged.
func (l *Ledger) Private(collection, key string) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.private[collection][key]
}

// Keys returns every committed public key, sorted.
func (l *Ledger) Keys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := make([]string, 0, len(l.state))
	for k := range l.state {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// State returns a committed public value.
func (l *Ledger) State(key string) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state[key].value
}

// Tx is one transaction's simulation: a shim.ChaincodeStubInterface.
type Tx struct {
	shim.ChaincodeStubInterface // nil: methods not implemented below panic
	ledger                      *Ledger
	txID                        string
	ts                          *timestamppb.Timestamp
	creator                     []byte
	transient                   map[string][]byte
	args                        []string
	reads                       map[string]uint64
	writes                      map[string][]byte
	privWrites                  map[string]map[string][]byte
	purges                      []Purge
	event                       *peer.ChaincodeEvent
	privReads                   int
}

// Reads lists the public keys the transaction read (its MVCC read set).
func (t *Tx) Reads() []string {
	keys := make([]string, 0, len(t.reads))
	for k := range t.reads {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Writes lists the public keys the transaction wrote.
func (t *Tx) Writes() []string {
	keys := make([]string, 0, len(t.writes))
	for k := range t.writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// PrivateWrites counts private keys written; Purged lists purges requested.
func (t *Tx) PrivateWrites() int {
	n := 0
	for _, kv := range t.privWrites {
		n += len(kv)
	}
	return n
}

// Purged lists the PurgePrivateData calls of this transaction.
func (t *Tx) Purged() []Purge { return t.purges }

// Event returns the event set by the transaction, nil if none.
func (t *Tx) Event() *peer.ChaincodeEvent { return t.event }

// GetTxID implements shim.ChaincodeStubInterface.
func (t *Tx) GetTxID() string { return t.txID }

// GetChannelID implements shim.ChaincodeStubInterface.
func (t *Tx) GetChannelID() string { return "donations" }

// GetTxTimestamp implements shim.ChaincodeStubInterface.
func (t *Tx) GetTxTimestamp() (*timestamppb.Timestamp, error) { return t.ts, nil }

// GetCreator implements shim.ChaincodeStubInterface (and cid's stub).
func (t *Tx) GetCreator() ([]byte, error) { return t.creator, nil }

// GetTransient implements shim.ChaincodeStubInterface.
func (t *Tx) GetTransient() (map[string][]byte, error) { return t.transient, nil }

// GetArgs implements shim.ChaincodeStubInterface.
func (t *Tx) GetArgs() [][]byte {
	out := make([][]byte, len(t.args))
	for i, a := range t.args {
		out[i] = []byte(a)
	}
	return out
}

// GetStringArgs implements shim.ChaincodeStubInterface.
func (t *Tx) GetStringArgs() []string { return t.args }

// GetFunctionAndParameters implements shim.ChaincodeStubInterface.
func (t *Tx) GetFunctionAndParameters() (string, []string) {
	if len(t.args) == 0 {
		return "", nil
	}
	return t.args[0], t.args[1:]
}

// GetState reads the committed value (never this transaction's writes) and records the read.
func (t *Tx) GetState(key string) ([]byte, error) {
	if key == "" {
		return nil, errors.New("key must not be an empty string")
	}
	t.ledger.mu.Lock()
	defer t.ledger.mu.Unlock()
	v := t.ledger.state[key]
	if _, seen := t.reads[key]; !seen {
		t.reads[key] = v.version
	}
	return clone(v.value), nil
}

// PutState buffers a write until Commit.
func (t *Tx) PutState(key string, value []byte) error {
	if key == "" {
		return errors.New("key must not be an empty string")
	}
	if len(value) == 0 {
		return fmt.Errorf("value of key %q must not be empty", key)
	}
	t.writes[key] = clone(value)
	return nil
}

// DelState buffers a delete until Commit.
func (t *Tx) DelState(key string) error {
	if key == "" {
		return errors.New("key must not be an empty string")
	}
	t.writes[key] = nil
	return nil
}

// CreateCompositeKey implements shim.ChaincodeStubInterface with the shim's encoding.
func (t *Tx) CreateCompositeKey(objectType string, attributes []string) (string, error) {
	return shim.CreateCompositeKey(objectType, attributes)
}

// SplitCompositeKey implements shim.ChaincodeStubInterface with the shim's decoding.
func (t *Tx) SplitCompositeKey(key string) (string, []string, error) {
	return (&shim.ChaincodeStub{}).SplitCompositeKey(key)
}

// GetStateByPartialCompositeKey iterates committed keys with the prefix, sorted.
func (t *Tx) GetStateByPartialCompositeKey(objectType string, keys []string) (shim.StateQueryIteratorInterface, error) {
	it, _, err := t.scan(objectType, keys, 0, "")
	return it, err
}

// GetStateByPartialCompositeKeyWithPagination pages like LevelDB: the bookmark
// is the first key of the next page, "" when there is none.
func (t *Tx) GetStateByPartialCompositeKeyWithPagination(objectType string, keys []string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if pageSize <= 0 {
		return nil, nil, errors.New("pageSize must be positive")
	}
	return t.scan(objectType, keys, pageSize, bookmark)
}

func (t *Tx) scan(objectType string, attrs []string, pageSize int32, bookmark string) (*kvIterator, *peer.QueryResponseMetadata, error) {
	prefix, err := shim.CreateCompositeKey(objectType, attrs)
	if err != nil {
		return nil, nil, err
	}
	if bookmark != "" && !strings.HasPrefix(bookmark, prefix) {
		return nil, nil, errors.New("bookmark is not within the queried range")
	}
	t.ledger.mu.Lock()
	defer t.ledger.mu.Unlock()
	var matched []string
	for k := range t.ledger.state {
		if strings.HasPrefix(k, prefix) && k >= bookmark {
			matched = append(matched, k)
		}
	}
	sort.Strings(matched)
	md := &peer.QueryResponseMetadata{}
	if pageSize > 0 && len(matched) > int(pageSize) {
		md.Bookmark = matched[pageSize]
		matched = matched[:pageSize]
	}
	it := &kvIterator{}
	for _, k := range matched {
		it.kvs = append(it.kvs, &queryresult.KV{Namespace: "traza", Key: k, Value: clone(t.ledger.state[k].value)})
	}
	md.FetchedRecordsCount = int32(len(it.kvs))
	return it, md, nil
}

// GetHistoryForKey returns every committed version of key, newest first.
func (t *Tx) GetHistoryForKey(key string) (shim.HistoryQueryIteratorInterface, error) {
	t.ledger.mu.Lock()
	defer t.ledger.mu.Unlock()
	return &historyIterator{mods: append([]*queryresult.KeyModification(nil), t.ledger.history[key]...)}, nil
}

// SetEvent keeps the last event set, as the peer does.
func (t *Tx) SetEvent(name string, payload []byte) error {
	if name == "" {
		return errors.New("event name can not be empty string")
	}
	t.event = &peer.ChaincodeEvent{EventName: name, Payload: clone(payload), TxId: t.txID}
	return nil
}

// PutPrivateData buffers a private write until Commit.
func (t *Tx) PutPrivateData(collection, key string, value []byte) error {
	if collection == "" || key == "" || len(value) == 0 {
		return errors.New("collection, key and value must not be empty")
	}
	if t.privWrites[collection] == nil {
		t.privWrites[collection] = map[string][]byte{}
	}
	t.privWrites[collection][key] = clone(value)
	return nil
}

// GetPrivateData reads a committed private value.
func (t *Tx) GetPrivateData(collection, key string) ([]byte, error) {
	t.privReads++
	return clone(t.ledger.Private(collection, key)), nil
}

// GetPrivateDataHash returns the SHA-256 of a committed private value, nil if absent.
func (t *Tx) GetPrivateDataHash(collection, key string) ([]byte, error) {
	v := t.ledger.Private(collection, key)
	if v == nil {
		return nil, nil
	}
	return sha256Sum(v), nil
}

// PurgePrivateData buffers a purge until Commit.
func (t *Tx) PurgePrivateData(collection, key string) error {
	if collection == "" || key == "" {
		return errors.New("collection and key must not be empty")
	}
	t.purges = append(t.purges, Purge{Collection: collection, Key: key, TxID: t.txID})
	return nil
}

type kvIterator struct {
	kvs []*queryresult.KV
	i   int
}

func (it *kvIterator) HasNext() bool { return it.i < len(it.kvs) }
func (it *kvIterator) Close() error  { return nil }
func (it *kvIterator) Next() (*queryresult.KV, error) {
	if !it.HasNext() {
		return nil, errors.New("no more results")
	}
	it.i++
	return it.kvs[it.i-1], nil
}

type historyIterator struct {
	mods []*queryresult.KeyModification
	i    int
}

func (it *historyIterator) HasNext() bool { return it.i < len(it.mods) }
func (it *historyIterator) Close() error  { return nil }
func (it *historyIterator) Next() (*queryresult.KeyModification, error) {
	if !it.HasNext() {
		return nil, errors.New("no more results")
	}
	it.i++
	return it.mods[it.i-1], nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
