package image

import (
	"errors"
	"reflect"
	"testing"
)

func TestHistoryAndTxInfo(t *testing.T) {
	s := openTest(t, nil)
	for i := range 5 {
		tx := s.Begin("user")
		tx.SetNote(string(rune('a' + i)))
		_ = tx.Put(obj(RootOID, "i", i))
		if _, err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.History(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []TxID
	for _, h := range all {
		ids = append(ids, h.ID)
	}
	if !reflect.DeepEqual(ids, []TxID{5, 4, 3, 2, 1}) {
		t.Fatalf("History ids %v", ids)
	}
	page, _ := s.History(4, 2)
	if len(page) != 2 || page[0].ID != 3 || page[1].ID != 2 || page[0].Note != "c" {
		t.Fatalf("History(4,2) = %+v", page)
	}
	info, err := s.TxInfo(2)
	if err != nil || info.Principal != "user" || info.Note != "b" || !reflect.DeepEqual(info.Changed, []OID{RootOID}) || info.Time.IsZero() {
		t.Fatalf("TxInfo(2) = %+v, %v", info, err)
	}
	if _, err := s.TxInfo(99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("TxInfo(99) = %v, want ErrNotFound", err)
	}
	revs, err := s.Revisions(RootOID)
	if err != nil || len(revs) != 5 || revs[0].Tx != 5 || revs[4].Tx != 1 || revs[4].Record.Slots[0].Value != 0 {
		t.Fatalf("Revisions = %+v, %v", revs, err)
	}
}

func TestUndo(t *testing.T) {
	s := openTest(t, nil)
	mustCommit(t, s, obj(RootOID, "v", 1), obj(2, "v", "a"))    // tx 1
	mustCommit(t, s, obj(RootOID, "v", 2), obj(3, "new", true)) // tx 2: changes root, creates 3

	info, err := s.Undo(2, "user")
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != 3 || info.Note != "undo 2" || info.Principal != "user" {
		t.Fatalf("undo TxInfo = %+v", info)
	}
	if v := slotValue(t, s, RootOID, "v"); v != 1 {
		t.Fatalf("root v = %v after undo, want 1", v)
	}
	if _, found := get(t, s, 3); found {
		t.Fatal("object created by the undone transaction still exists")
	}
	revs, _ := s.Revisions(3)
	if len(revs) != 2 || revs[0].Tx != 3 || revs[0].Record != nil {
		t.Fatalf("revisions of 3 = %+v, want a tombstone first", revs)
	}
	if rep, err := s.Check(); err != nil {
		t.Fatalf("Check: %v %v", err, rep.Problems)
	}

	// Undoing the undo brings object 3 back.
	if _, err := s.Undo(3, "user"); err != nil {
		t.Fatal(err)
	}
	if v := slotValue(t, s, 3, "new"); v != true {
		t.Fatalf("object 3 after redo: %v", v)
	}
	if v := slotValue(t, s, RootOID, "v"); v != 2 {
		t.Fatalf("root after redo: %v", v)
	}
	// Writing to an object whose creation was undone is a fresh creation.
	if _, err := s.Undo(4, "user"); err != nil { // deletes 3 again
		t.Fatal(err)
	}
	mustCommit(t, s, obj(3, "again", 1))
	if rep, err := s.Check(); err != nil {
		t.Fatalf("Check: %v %v", err, rep.Problems)
	}
}

func TestUndoConflict(t *testing.T) {
	s := openTest(t, nil)
	mustCommit(t, s, obj(RootOID, "v", 1), obj(2, "v", 1)) // 1
	mustCommit(t, s, obj(2, "v", 2))                       // 2
	mustCommit(t, s, obj(2, "v", 3))                       // 3
	_, err := s.Undo(2, "user")
	var uce *UndoConflictError
	if !errors.As(err, &uce) || uce.Tx != 2 || uce.OID != 2 || uce.ChangedBy != 3 {
		t.Fatalf("Undo(2) = %v, want UndoConflictError{2,2,3}", err)
	}
	if want := "cannot undo transaction 2: object 2 was changed since by transaction 3"; err.Error() != want {
		t.Errorf("message %q", err)
	}
	if s.LastTx() != 3 || slotValue(t, s, 2, "v") != 3 {
		t.Fatal("failed undo changed the image")
	}
	if _, err := s.Undo(42, "user"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Undo(42) = %v, want ErrNotFound", err)
	}
}

// TestUndoConflictsWithConcurrentWriter checks that Undo's precondition is atomic with its
// commit: a transaction that began before the object changed cannot undo.
func TestUndoConflictsWithConcurrentWriter(t *testing.T) {
	s := openTest(t, nil)
	mustCommit(t, s, obj(RootOID, "v", 1)) // 1
	mustCommit(t, s, obj(RootOID, "v", 2)) // 2
	tx := s.Begin("undoer")
	if err := tx.prepareUndo(TxInfo{ID: 2, Changed: []OID{RootOID}}); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, obj(RootOID, "v", 3)) // 3 lands between check and commit
	_, err := tx.Commit()
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("Commit = %v, want ConflictError", err)
	}
	if v := slotValue(t, s, RootOID, "v"); v != 3 {
		t.Fatalf("v = %v", v)
	}
}
