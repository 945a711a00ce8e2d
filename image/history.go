package image

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// History returns up to limit transaction records with ids below before,
// newest first; before == 0 means from the newest, limit <= 0 means all.
func (s *Store) History(before TxID, limit int) ([]TxInfo, error) {
	if err := s.enterFiles(); err != nil {
		return nil, fmt.Errorf("history: %w", s.engineErr(err))
	}
	defer s.exit()
	upper := prefixEnd([]byte(prefixTx))
	if before > 0 {
		upper = txKey(before)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixTx), UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("history: %w", s.engineErr(err))
	}
	defer it.Close()
	var out []TxInfo
	for ok := it.Last(); ok && (limit <= 0 || len(out) < limit); ok = it.Prev() {
		id, _ := parseIDKey(it.Key(), prefixTx)
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("history: %w", s.engineErr(err))
		}
		info, err := decodeTxRecord(TxID(id), v)
		if err != nil {
			return nil, fmt.Errorf("history: %w", keyErr(it.Key(), err))
		}
		out = append(out, info)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("history: %w", s.engineErr(err))
	}
	return out, nil
}

// TxInfo returns the record of transaction id, or an error wrapping
// ErrNotFound.
func (s *Store) TxInfo(id TxID) (TxInfo, error) {
	if h, ok := s.view.(History); ok {
		return h.TxInfo(id)
	}
	if err := s.enterFiles(); err != nil {
		return TxInfo{}, fmt.Errorf("transaction %d: %w", id, s.engineErr(err))
	}
	defer s.exit()
	return s.txInfo(s.db, id)
}

func (s *Store) txInfo(r pebble.Reader, id TxID) (TxInfo, error) {
	k := txKey(id)
	v, closer, err := r.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return TxInfo{}, fmt.Errorf("transaction %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return TxInfo{}, fmt.Errorf("transaction %d: %w", id, s.engineErr(err))
	}
	defer closer.Close()
	info, err := decodeTxRecord(id, v)
	if err != nil {
		return TxInfo{}, fmt.Errorf("transaction %d: %w", id, keyErr(k, err))
	}
	return info, nil
}

// Revision is one stored revision of an object. Record is nil when the
// object did not exist after Tx (an undone creation).
type Revision struct {
	Tx     TxID
	Record *Record
}

// Revisions returns the stored revisions of oid, newest first. Pack removes
// old revisions, and removes unreachable objects with all their revisions.
func (s *Store) Revisions(oid OID) ([]Revision, error) {
	if h, ok := s.view.(History); ok {
		return h.Revisions(oid)
	}
	if err := s.enterFiles(); err != nil {
		return nil, fmt.Errorf("revisions of object %d: %w", oid, s.engineErr(err))
	}
	defer s.exit()
	p := revPrefix(oid)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return nil, fmt.Errorf("revisions of object %d: %w", oid, s.engineErr(err))
	}
	defer it.Close()
	var out []Revision
	for ok := it.Last(); ok; ok = it.Prev() {
		_, tx, _ := parseRevKey(it.Key())
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("revisions of object %d: %w", oid, s.engineErr(err))
		}
		rec, flags, err := decodeRecordValue(oid, v)
		if err != nil {
			return nil, fmt.Errorf("revisions of object %d: %w", oid, keyErr(it.Key(), err))
		}
		if flags&flagTombstone != 0 {
			rec = nil
		}
		out = append(out, Revision{Tx: tx, Record: rec})
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("revisions of object %d: %w", oid, s.engineErr(err))
	}
	return out, nil
}

// Undo writes a new transaction (note "undo N") that restores, for every
// object tx changed, its revision from before tx; an object tx created is
// deleted. Following ZODB, it fails with *UndoConflictError if any of those
// objects was changed by a later transaction, and with an error wrapping
// ErrNotFound if tx does not exist.
func (s *Store) Undo(tx TxID, principal string) (TxInfo, error) {
	if err := s.writable(); err != nil {
		return TxInfo{}, fmt.Errorf("undo %d: %w", tx, err)
	}
	target, err := s.TxInfo(tx)
	if err != nil {
		return TxInfo{}, fmt.Errorf("undo: %w", err)
	}
	// The checks read the snapshot; Commit's conflict detection then makes
	// them atomic with the write. A conflict means something changed
	// meanwhile: look again, and the check reports it precisely.
	var conflict error
	for range s.attempts {
		t := s.Begin(principal)
		t.SetNote(fmt.Sprintf("undo %d", tx))
		if err := t.prepareUndo(target); err != nil {
			t.Abort()
			return TxInfo{}, err
		}
		info, err := t.Commit()
		var ce *ConflictError
		if !errors.As(err, &ce) {
			return info, err
		}
		conflict = err
	}
	return TxInfo{}, fmt.Errorf("undo %d: %w", tx, conflict)
}

// prepareUndo buffers the writes that undo target.
func (t *Txn) prepareUndo(target TxInfo) error {
	t.mu.Lock()
	if err := t.usable(); err != nil {
		t.mu.Unlock()
		return fmt.Errorf("undo %d: %w", target.ID, err)
	}
	it, err := t.snap.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixRev), UpperBound: prefixEnd([]byte(prefixRev))})
	t.mu.Unlock()
	if err != nil {
		return fmt.Errorf("undo %d: %w", target.ID, t.s.engineErr(err))
	}
	defer it.Close()
	for _, oid := range target.Changed {
		last, flags, found, err := lastRevision(it, oid)
		if err != nil {
			return fmt.Errorf("undo %d: %w", target.ID, t.s.engineErr(err))
		}
		if !found {
			return fmt.Errorf("cannot undo transaction %d: object %d no longer exists (removed by pack)", target.ID, oid)
		}
		if last != target.ID {
			return &UndoConflictError{Tx: target.ID, OID: oid, ChangedBy: last}
		}
		if flags&flagCreated != 0 {
			if err := t.del(oid); err != nil {
				return err
			}
			continue
		}
		valid := it.Prev()
		if err := it.Error(); err != nil {
			return fmt.Errorf("undo %d: %w", target.ID, t.s.engineErr(err))
		}
		if !valid || !isRevOf(it.Key(), oid) {
			return fmt.Errorf("cannot undo transaction %d: the revision of object %d before it was removed by pack", target.ID, oid)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("undo %d: %w", target.ID, t.s.engineErr(err))
		}
		prev, pflags, err := decodeRecordValue(oid, v)
		if err != nil {
			return fmt.Errorf("undo %d: %w", target.ID, keyErr(it.Key(), err))
		}
		if pflags&flagTombstone != 0 {
			err = t.del(oid)
		} else {
			err = t.Put(prev)
		}
		if err != nil {
			return fmt.Errorf("undo %d: %w", target.ID, err)
		}
	}
	return nil
}

func isRevOf(k []byte, oid OID) bool {
	o, _, ok := parseRevKey(k)
	return ok && o == oid
}
