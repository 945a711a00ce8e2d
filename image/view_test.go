package image

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

// snapshotSource is a Source (and History) over a transaction of a real
// store, passing every record through EncodeRecord and DecodeRecord as a
// source across a pipe does.
type snapshotSource struct {
	t     testing.TB
	s     *Store
	tx    *Txn
	reads int
}

func (src *snapshotSource) Object(oid OID) (*Record, bool, error) {
	src.reads++
	rec, found, err := src.tx.Get(oid)
	if err != nil || !found {
		return nil, found, err
	}
	b, err := EncodeRecord(rec)
	if err != nil {
		return nil, false, err
	}
	back, err := DecodeRecord(oid, b)
	return back, true, err
}

func (src *snapshotSource) Revisions(oid OID) ([]Revision, error) { return src.s.Revisions(oid) }
func (src *snapshotSource) TxInfo(id TxID) (TxInfo, error)        { return src.s.TxInfo(id) }

func TestView(t *testing.T) {
	s := openTest(t, nil)
	first := mustCommit(t, s, obj(RootOID, "a", 1, "list", []any{"x", Ref{7}}))
	mustCommit(t, s, obj(7, "b", "seven"))
	tx := s.Begin("sandbox")
	defer tx.Abort()
	mustCommit(t, s, obj(RootOID, "a", 2)) // after the view's state: not in it
	src := &snapshotSource{t: t, s: s, tx: tx}
	v := OpenView(src, ViewState{LastTx: tx.StartTx(), NextOID: s.NextOID()})
	defer v.Close()

	if v.LastTx() != tx.StartTx() || v.Empty() {
		t.Fatalf("view at %d (empty %v), want %d", v.LastTx(), v.Empty(), tx.StartTx())
	}
	vt := v.Begin("trial")
	root, found, err := vt.Get(RootOID)
	if err != nil || !found {
		t.Fatalf("Get(root) = %v, %v", found, err)
	}
	if want := []any{"x", Ref{7}}; root.Slots[0].Value != 1 || !reflect.DeepEqual(root.Slots[1].Value, want) {
		t.Fatalf("root in the view = %+v", root.Slots)
	}
	if _, found, _ := vt.Get(99); found {
		t.Fatal("object 99 found")
	}
	// Writes are the transaction's own, and a new object gets an id the
	// image never gave out.
	oid := vt.NewOID()
	if oid < s.NextOID() {
		t.Fatalf("NewOID in the view = %d, below the image's counter %d", oid, s.NextOID())
	}
	if err := vt.Put(obj(oid, "c", 3)); err != nil {
		t.Fatal(err)
	}
	if rec, found, _ := vt.Get(oid); !found || rec.Slots[0].Value != 3 {
		t.Fatalf("own write: %v %v", rec, found)
	}
	if _, err := vt.Commit(); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Commit with changes = %v, want ErrReadOnly", err)
	}
	if _, err := v.Begin("reader").Commit(); err != nil {
		t.Fatalf("Commit without changes = %v", err)
	}
	// History comes from the source; what needs files does not exist.
	if info, err := v.TxInfo(first.ID); err != nil || info.ID != first.ID {
		t.Fatalf("TxInfo = %+v, %v", info, err)
	}
	if revs, err := v.Revisions(RootOID); err != nil || len(revs) == 0 {
		t.Fatalf("Revisions = %d, %v", len(revs), err)
	}
	if err := v.Checkpoint(filepath.Join(t.TempDir(), "c")); !errors.Is(err, ErrView) {
		t.Errorf("Checkpoint of a view = %v", err)
	}
	if _, err := v.History(0, 10); !errors.Is(err, ErrView) {
		t.Errorf("History of a view = %v", err)
	}
	if _, err := v.Pack(0); !errors.Is(err, ErrView) {
		t.Errorf("Pack of a view = %v", err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Begin("late").Get(RootOID); !errors.Is(err, ErrClosed) {
		t.Errorf("a view's transaction after Close: %v", err)
	}
}

// TestViewWithoutHistory: a Source that is no History leaves the view
// without one.
func TestViewWithoutHistory(t *testing.T) {
	v := OpenView(mapSource{}, ViewState{LastTx: 3, NextOID: 10})
	if _, err := v.Revisions(RootOID); !errors.Is(err, ErrView) {
		t.Fatalf("Revisions = %v, want ErrView", err)
	}
}

type mapSource map[OID]*Record

func (m mapSource) Object(oid OID) (*Record, bool, error) { r, ok := m[oid]; return r, ok, nil }

func TestEncodeRecordRoundTrip(t *testing.T) {
	rec := &Record{OID: 5, Serial: 9, Slots: []Slot{
		{Name: "m", Kind: SlotMethod, Value: Method{Source: "func m(self Object) {}", Author: "pLLM/BRICK"}},
		{Name: "p*", Kind: SlotParent, Value: Ref{1}},
		{Name: "d", Kind: SlotData, Value: map[string]any{"k": []any{1.5, "s", nil}}},
	}}
	b, err := EncodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeRecord(5, b)
	if err != nil || !reflect.DeepEqual(back, rec) {
		t.Fatalf("round trip = %+v, %v; want %+v", back, err, rec)
	}
	if _, err := DecodeRecord(5, b[:len(b)-3]); err == nil {
		t.Fatal("a truncated record decoded")
	}
}
