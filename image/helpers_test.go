package image

import (
	"testing"
)

// openTest opens a store in a fresh temporary directory and closes it when
// the test ends.
func openTest(t testing.TB, opts *Options) *Store {
	t.Helper()
	return openAt(t, t.TempDir(), opts)
}

// openAt opens the image in dir, creating it if missing or empty (unless
// opts asks for ReadOnly), and closes it when the test ends.
func openAt(t testing.TB, dir string, opts *Options) *Store {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Create = !o.ReadOnly
	s, err := Open(dir, &o)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// obj builds a record with data slots from name/value pairs.
func obj(oid OID, kv ...any) *Record {
	r := &Record{OID: oid}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Slots = append(r.Slots, Slot{Name: kv[i].(string), Kind: SlotData, Value: kv[i+1]})
	}
	return r
}

// mustCommit puts the records in one transaction and commits it.
func mustCommit(t testing.TB, s *Store, recs ...*Record) TxInfo {
	t.Helper()
	tx := s.Begin("test")
	for _, r := range recs {
		if err := tx.Put(r); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	info, err := tx.Commit()
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return info
}

// get reads oid in a fresh transaction.
func get(t testing.TB, s *Store, oid OID) (*Record, bool) {
	t.Helper()
	tx := s.Begin("test")
	defer tx.Abort()
	rec, found, err := tx.Get(oid)
	if err != nil {
		t.Fatalf("Get(%d): %v", oid, err)
	}
	return rec, found
}

// slotValue returns the value of a slot of oid, failing if absent.
func slotValue(t testing.TB, s *Store, oid OID, name string) any {
	t.Helper()
	rec, found := get(t, s, oid)
	if !found {
		t.Fatalf("object %d not found", oid)
	}
	sl, _, ok := rec.Slot(name)
	if !ok {
		t.Fatalf("object %d has no slot %q", oid, name)
	}
	return sl.Value
}
