package image

import (
	"errors"
	"fmt"
)

// A view is a Store without a folder: its transactions read the objects of
// one committed state of an image from a Source, and it writes nothing. The
// sandbox child runs a trial on a view whose objects come from the image
// process over a pipe, so that a trial does not copy the image first.

// ErrView is returned by what a view cannot do, having no files: Pack,
// Check, Checkpoint, Info, History, and Revisions and TxInfo unless its
// Source is a History.
var ErrView = errors.New("image is a view: it has no files")

// A Source supplies a view's objects as one committed state of an image
// holds them. It must be safe for concurrent use.
type Source interface {
	// Object returns the current revision of oid, or found false.
	Object(oid OID) (rec *Record, found bool, err error)
}

// A History answers a view's Revisions and TxInfo, when its Source is one
// too: what the image has recorded, as Store.Revisions and Store.TxInfo
// answer.
type History interface {
	Revisions(oid OID) ([]Revision, error)
	TxInfo(id TxID) (TxInfo, error)
}

// ViewState is what a view knows of the state it shows besides its
// objects.
type ViewState struct {
	// LastTx is the last transaction the state includes.
	LastTx TxID
	// NextOID is the image's OID counter: an object a view's transaction
	// creates gets an id no object of the image has.
	NextOID OID
}

// OpenView returns a read-only Store whose objects come from src, in the
// state st describes. Its transactions read from src (and their own
// writes); a Commit with changes fails with ErrReadOnly, as on a read-only
// image.
func OpenView(src Source, st ViewState) *Store {
	s := &Store{dir: "(view)", readOnly: true, view: src}
	s.mu.open = make(map[*Txn]struct{})
	s.mu.running = true
	s.lastTx.Store(uint64(st.LastTx))
	s.nextOID.Store(uint64(st.NextOID))
	return s
}

// NextOID returns the next OID the store will hand out (ViewState.NextOID
// for a view of this store).
func (s *Store) NextOID() OID { return OID(s.nextOID.Load()) }

// enterFiles is enter for the operations that need the image's files: a
// view has none.
func (s *Store) enterFiles() error {
	if s.view != nil {
		return ErrView
	}
	return s.enter()
}

// EncodeRecord encodes rec as the store keeps it, for a Source that sends
// records elsewhere (DecodeRecord reads it back).
func EncodeRecord(rec *Record) ([]byte, error) {
	body, err := encodeSlots(nil, rec.Slots)
	if err != nil {
		return nil, fmt.Errorf("encode object %d: %w", rec.OID, err)
	}
	return encodeRecordValue(0, rec.Serial, body), nil
}

// DecodeRecord decodes what EncodeRecord wrote, for object oid. It never
// panics, whatever b holds.
func DecodeRecord(oid OID, b []byte) (*Record, error) {
	rec, flags, err := decodeRecordValue(oid, b)
	if err == nil && flags&flagTombstone != 0 {
		err = errors.New("a tombstone")
	}
	if err != nil {
		return nil, fmt.Errorf("decode object %d: %w", oid, err)
	}
	return rec, nil
}
