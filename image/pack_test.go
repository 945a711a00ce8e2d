package image

import (
	"errors"
	"strings"
	"testing"
)

func TestPack(t *testing.T) {
	s := openTest(t, nil)
	// Reachable: root -> 2 (parent slot) -> 3 (nested in a list in a map).
	// Unreachable: 4, and 5 which refers to 2.
	root := &Record{OID: RootOID, Slots: []Slot{{Name: "p*", Kind: SlotParent, Value: Ref{2}}}}
	mustCommit(t, s, root,
		obj(2, "m", map[string]any{"l": []any{1, Ref{3}}}),
		obj(3, "v", 0), obj(4, "v", 0), obj(5, "r", Ref{2})) // tx 1
	for i := 1; i <= 3; i++ {
		mustCommit(t, s, obj(3, "v", i)) // tx 2..4
	}
	mustCommit(t, s, obj(6, "orphan", 1))     // tx 5
	if _, err := s.Undo(5, "u"); err != nil { // tx 6: deletes 6
		t.Fatal(err)
	}

	st, err := s.Pack(3)
	if err != nil {
		t.Fatal(err)
	}
	// Object 3 keeps tx 3 (newest at or before 3) and tx 4; drops 1 and 2.
	// Objects 4 and 5 go with their one revision each; deleted 6 loses 2.
	if st.ObjectsRemoved != 2 || st.RevisionsRemoved != 2+1+1+2 {
		t.Fatalf("PackStats = %+v", st)
	}
	revs, _ := s.Revisions(3)
	if len(revs) != 2 || revs[0].Tx != 4 || revs[1].Tx != 3 {
		t.Fatalf("revisions of 3 after pack: %+v", revs)
	}
	for _, oid := range []OID{4, 5, 6} {
		if _, found := get(t, s, oid); found {
			t.Errorf("object %d survived pack", oid)
		}
		if revs, _ := s.Revisions(oid); len(revs) != 0 {
			t.Errorf("object %d kept %d revisions", oid, len(revs))
		}
	}
	for _, oid := range []OID{RootOID, 2, 3} {
		if _, found := get(t, s, oid); !found {
			t.Errorf("reachable object %d removed", oid)
		}
	}
	if h, _ := s.History(0, 0); len(h) != 6 {
		t.Errorf("pack removed transaction records: %d left", len(h))
	}
	if rep, err := s.Check(); err != nil {
		t.Fatalf("Check after pack: %v %v", err, rep.Problems)
	}

	// Undo of tx 4 still works (its prior revision 3 was kept) ...
	// ... but undo of tx 3 needs revision 2, which is gone.
	if _, err := s.Undo(3, "u"); err == nil {
		t.Fatal("undo of tx 3 succeeded") // conflicts anyway: 3 changed by 4
	}
	if _, err := s.Undo(4, "u"); err != nil {
		t.Fatalf("undo 4: %v", err)
	}
	if v := slotValue(t, s, 3, "v"); v != 2 {
		t.Fatalf("v = %v after undo 4", v)
	}
	// Pack everything: only current revisions remain; now undo of the
	// undo (tx 7) needs a packed revision and must say so.
	if _, err := s.Pack(0); err != nil {
		t.Fatal(err)
	}
	_, err = s.Undo(7, "u")
	if err == nil || !strings.Contains(err.Error(), "removed by pack") {
		t.Fatalf("undo after full pack = %v", err)
	}
	// Undo of a transaction whose objects were removed entirely.
	if _, err := s.Undo(1, "u"); err == nil {
		t.Fatal("undo of tx 1 after pack succeeded")
	}
}

func TestPackStaleTransaction(t *testing.T) {
	s := openTest(t, nil)
	mustCommit(t, s, obj(RootOID, "r", Ref{2}), obj(2, "v", 1))
	mustCommit(t, s, obj(RootOID, "r", nil)) // 2 is now garbage
	stale := s.Begin("stale")
	defer stale.Abort()
	if _, found, _ := stale.Get(2); !found {
		t.Fatal("stale snapshot lost object 2")
	}
	if st, err := s.Pack(0); err != nil || st.ObjectsRemoved != 1 {
		t.Fatalf("Pack = %+v, %v", st, err)
	}
	_ = stale.Put(obj(RootOID, "r", Ref{2})) // resurrect a dangling reference
	_, err := stale.Commit()
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.OID != 2 {
		t.Fatalf("commit referring to a packed object = %v, want conflict on 2", err)
	}
	if rep, err := s.Check(); err != nil {
		t.Fatalf("Check: %v %v", err, rep.Problems)
	}
}

func TestPackEmptyAndRootless(t *testing.T) {
	s := openTest(t, nil)
	if st, err := s.Pack(0); err != nil || st != (PackStats{}) {
		t.Fatalf("Pack of empty image = %+v, %v", st, err)
	}
	mustCommit(t, s, obj(7, "x", 1))
	if _, err := s.Pack(0); err == nil || !strings.Contains(err.Error(), "root") {
		t.Fatalf("Pack without root = %v", err)
	}
	if _, found := get(t, s, 7); !found {
		t.Fatal("refused pack removed data")
	}
}
