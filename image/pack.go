package image

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// PackStats reports what Pack removed.
type PackStats struct {
	RevisionsRemoved int // revision records deleted, including those of removed objects
	ObjectsRemoved   int // current objects deleted because unreachable from RootOID
}

// Pack shrinks the history, like ZODB's pack:
//
//   - for every object it keeps the current revision and the newest revision
//     at or before `before`, and removes older ones (before == 0 means
//     LastTx, i.e. keep only current revisions);
//   - it removes entirely (current record and every revision) each object not
//     reachable from RootOID through Ref values (nested ones and parent slots
//     included), and the histories of deleted objects.
//
// Transaction records are kept. Undo of a transaction whose prior revisions
// were packed away then fails with a clear error. Pack holds the commit lock
// for its whole run (commits wait), and writes one synced batch. An empty
// image packs to nothing; an image with transactions but no root is refused.
func (s *Store) Pack(before TxID) (PackStats, error) {
	if err := s.enterFiles(); err != nil {
		return PackStats{}, fmt.Errorf("pack: %w", s.engineErr(err))
	}
	defer s.exit()
	if err := s.writable(); err != nil {
		return PackStats{}, fmt.Errorf("pack: %w", err)
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()

	last := s.LastTx()
	if last == 0 {
		return PackStats{}, nil
	}
	if before == 0 || before > last {
		before = last
	}
	reach, err := s.reachable()
	if err != nil {
		return PackStats{}, fmt.Errorf("pack: %w", s.engineErr(err))
	}

	var st PackStats
	b := s.db.NewBatch()
	defer b.Close()
	removed := map[OID]struct{}{}

	// Unreachable current objects.
	oit, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixObject), UpperBound: prefixEnd([]byte(prefixObject))})
	if err != nil {
		return PackStats{}, fmt.Errorf("pack: %w", s.engineErr(err))
	}
	for ok := oit.First(); ok; ok = oit.Next() {
		id, _ := parseIDKey(oit.Key(), prefixObject)
		if !reach[OID(id)] {
			_ = b.Delete(oit.Key(), nil)
			removed[OID(id)] = struct{}{}
			st.ObjectsRemoved++
		}
	}
	if err := oit.Close(); err != nil {
		return PackStats{}, fmt.Errorf("pack: %w", s.engineErr(err))
	}

	// Revisions, grouped by object (keys sort by OID, then TxID).
	rit, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixRev), UpperBound: prefixEnd([]byte(prefixRev))})
	if err != nil {
		return PackStats{}, fmt.Errorf("pack: %w", s.engineErr(err))
	}
	var cur OID
	var txs []TxID // revisions of cur, ascending
	flush := func() {
		if len(txs) == 0 {
			return
		}
		if !reach[cur] {
			// Unreachable, or deleted (no current record): drop it all.
			p := revPrefix(cur)
			_ = b.DeleteRange(p, prefixEnd(p), nil)
			removed[cur] = struct{}{}
			st.RevisionsRemoved += len(txs)
		} else {
			// Keep the newest revision at or before `before` (the state as of
			// `before`) and everything after it.
			keep := 0
			for i, tx := range txs {
				if tx <= before {
					keep = i
				}
			}
			for _, tx := range txs[:keep] {
				_ = b.Delete(revKey(cur, tx), nil)
				st.RevisionsRemoved++
			}
		}
		txs = txs[:0]
	}
	for ok := rit.First(); ok; ok = rit.Next() {
		oid, tx, valid := parseRevKey(rit.Key())
		if !valid {
			_ = rit.Close()
			return PackStats{}, fmt.Errorf("pack: %w", &CorruptError{Key: keyString(rit.Key()), Err: errors.New("malformed revision key")})
		}
		if oid != cur {
			flush()
			cur = oid
		}
		txs = append(txs, tx)
	}
	flush()
	if err := rit.Close(); err != nil {
		return PackStats{}, fmt.Errorf("pack: %w", s.engineErr(err))
	}

	if b.Empty() {
		return st, nil
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return PackStats{}, fmt.Errorf("pack: %w", s.writeFailed("write", err))
	}
	if err := s.failed(); err != nil {
		// Pebble's Fatalf returned to a commit that failed (see engineLogger).
		return PackStats{}, fmt.Errorf("pack: %w", err)
	}
	if len(removed) > 0 {
		// Transactions begun before now may still hold these in their
		// snapshots; checkPacked stops them from writing or referring to them.
		if s.packed == nil {
			s.packed = make(map[OID]struct{})
		}
		for oid := range removed {
			s.packed[oid] = struct{}{}
		}
		s.packGen++
	}
	return st, nil
}

// reachable returns the objects reachable from RootOID through Refs in
// current records. REQUIRES: commitMu held (reads the live database).
func (s *Store) reachable() (map[OID]bool, error) {
	reach := map[OID]bool{}
	queue := []OID{RootOID}
	for len(queue) > 0 {
		oid := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if reach[oid] {
			continue
		}
		rec, found, err := s.current(s.db, oid)
		if err != nil {
			return nil, err
		}
		if !found {
			if oid == RootOID {
				return nil, fmt.Errorf("root object %d is missing (run check)", RootOID)
			}
			continue // a dangling Ref; Check reports those
		}
		reach[oid] = true
		for _, r := range rec.Refs() {
			if !reach[r] {
				queue = append(queue, r)
			}
		}
	}
	return reach, nil
}

// current reads and decodes the current record of oid from r.
func (s *Store) current(r pebble.Reader, oid OID) (*Record, bool, error) {
	k := objKey(oid)
	v, closer, err := r.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read object %d: %w", oid, s.engineErr(err))
	}
	defer closer.Close()
	rec, flags, err := decodeRecordValue(oid, v)
	if err == nil && flags&flagTombstone != 0 {
		err = errors.New("tombstone stored as current revision")
	}
	if err != nil {
		return nil, false, keyErr(k, err)
	}
	return rec, true, nil
}
