package image

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

func TestEmptyImageAndPersistence(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, &Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Empty() || s.LastTx() != 0 || s.Dir() != dir {
		t.Fatalf("fresh image: Empty=%v LastTx=%d Dir=%s", s.Empty(), s.LastTx(), s.Dir())
	}
	root := &Record{OID: RootOID, Slots: []Slot{
		{Name: "n", Kind: SlotData, Value: 1},
		{Name: "big", Kind: SlotData, Value: int64(1 << 50)},
		{Name: "m", Kind: SlotMethod, Value: Method{Source: "func m(self Object) {}"}},
		{Name: "p", Kind: SlotPrimitive, Value: Primitive{"print"}},
	}}
	tx := s.Begin("user")
	oid := tx.NewOID()
	child := obj(oid, "parent*", nil)
	child.Slots[0].Kind = SlotParent
	child.Slots[0].Value = Ref{RootOID}
	root.Slots = append(root.Slots, Slot{Name: "child", Kind: SlotData, Value: Ref{oid}})
	for _, r := range []*Record{root, child} {
		if err := tx.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	tx.SetNote("awakening")
	info, err := tx.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != 1 || tx.ID() != 1 || info.Principal != "user" || info.Note != "awakening" ||
		!reflect.DeepEqual(info.Changed, []OID{RootOID, oid}) {
		t.Fatalf("TxInfo = %+v", info)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, dir, nil)
	if s.Empty() || s.LastTx() != 1 {
		t.Fatalf("reopened: Empty=%v LastTx=%d", s.Empty(), s.LastTx())
	}
	got, found := get(t, s, RootOID)
	if !found || got.Serial != 1 {
		t.Fatalf("root found=%v serial=%d", found, got.Serial)
	}
	if !reflect.DeepEqual(got.Slots, root.Slots) {
		t.Fatalf("root slots = %#v, want %#v", got.Slots, root.Slots)
	}
	if _, ok := slotValue(t, s, RootOID, "n").(int); !ok {
		t.Error("int did not stay int")
	}
	tx = s.Begin("user")
	if next := tx.NewOID(); next <= oid {
		t.Errorf("NewOID after reopen = %d, want > %d", next, oid)
	}
	tx.Abort()
	got2, _ := get(t, s, oid)
	if p, _, _ := got2.Slot("parent*"); p.Kind != SlotParent || p.Value != (Ref{RootOID}) {
		t.Errorf("parent slot = %+v", p)
	}
}

func TestNewOIDNeverReused(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, nil)
	tx := s.Begin("t")
	aborted := tx.NewOID()
	tx.Abort()
	tx = s.Begin("t")
	used := tx.NewOID()
	if used == aborted {
		t.Fatalf("OID %d reused after abort", used)
	}
	_ = tx.Put(obj(used, "x", 1))
	if _, err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// A Put of an explicit high OID also moves the counter past it.
	mustCommit(t, s, obj(1000, "x", 1))
	s.Close()
	s = openAt(t, dir, nil)
	tx = s.Begin("t")
	defer tx.Abort()
	if n := tx.NewOID(); n <= 1000 {
		t.Fatalf("NewOID after reopen = %d, want > 1000", n)
	}
}

func TestSnapshotIsolation(t *testing.T) {
	s := openTest(t, nil)
	mustCommit(t, s, obj(RootOID, "v", 1))
	reader := s.Begin("reader")
	defer reader.Abort()
	if reader.StartTx() != 1 {
		t.Fatalf("StartTx = %d", reader.StartTx())
	}
	mustCommit(t, s, obj(RootOID, "v", 2), obj(5, "new", true))
	rec, _, err := reader.Get(RootOID)
	if err != nil || rec.Slots[0].Value != 1 {
		t.Fatalf("snapshot read = %+v, %v; want v=1", rec, err)
	}
	if _, found, _ := reader.Get(5); found {
		t.Fatal("snapshot sees an object created after it began")
	}
	// Own writes are visible to the writer.
	if err := reader.Put(obj(6, "mine", 1)); err != nil {
		t.Fatal(err)
	}
	if rec, found, _ := reader.Get(6); !found || rec.Slots[0].Value != 1 {
		t.Fatal("own buffered write not visible")
	}
	if got := reader.Writes(); !reflect.DeepEqual(got, []OID{6}) {
		t.Fatalf("Writes = %v", got)
	}
}

func TestReadOnlyCommit(t *testing.T) {
	s := openTest(t, nil)
	mustCommit(t, s, obj(RootOID, "v", 1))
	tx := s.Begin("r")
	_, _, _ = tx.Get(RootOID)
	var hooked []bool
	tx.AfterCommit(func(_ TxInfo, ok bool) { hooked = append(hooked, ok) })
	info, err := tx.Commit()
	if err != nil || info.ID != 0 {
		t.Fatalf("read-only commit = %+v, %v", info, err)
	}
	if s.LastTx() != 1 {
		t.Fatalf("read-only commit wrote a transaction: LastTx = %d", s.LastTx())
	}
	if !reflect.DeepEqual(hooked, []bool{true}) {
		t.Fatalf("hooks = %v", hooked)
	}
	if _, err := tx.Commit(); !errors.Is(err, ErrTxnDone) {
		t.Fatalf("second Commit = %v, want ErrTxnDone", err)
	}
	tx.Abort() // safe after Commit
	if _, _, err := tx.Get(RootOID); !errors.Is(err, ErrTxnDone) {
		t.Fatalf("Get after Commit = %v", err)
	}
}

func TestConflicts(t *testing.T) {
	tests := []struct {
		name      string
		firstPut  []OID // committed by the interleaved transaction
		secondPut []OID // written by the older transaction
		conflict  OID   // 0: no conflict
	}{
		{"same object", []OID{2}, []OID{2}, 2},
		{"disjoint objects", []OID{2}, []OID{3}, 0},
		{"one of several", []OID{4}, []OID{3, 4}, 4},
		{"create same new oid", []OID{9}, []OID{9}, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t, nil)
			mustCommit(t, s, obj(RootOID), obj(2, "v", 0), obj(3, "v", 0), obj(4, "v", 0))
			old := s.Begin("old")
			for _, oid := range tt.secondPut {
				if err := old.Put(obj(oid, "v", "old")); err != nil {
					t.Fatal(err)
				}
			}
			var recs []*Record
			for _, oid := range tt.firstPut {
				recs = append(recs, obj(oid, "v", "new"))
			}
			winner := mustCommit(t, s, recs...)
			var hook []bool
			old.AfterCommit(func(_ TxInfo, ok bool) { hook = append(hook, ok) })
			info, err := old.Commit()
			if tt.conflict == 0 {
				if err != nil {
					t.Fatalf("Commit: %v", err)
				}
				if !reflect.DeepEqual(hook, []bool{true}) {
					t.Fatalf("hooks = %v", hook)
				}
				return
			}
			var ce *ConflictError
			if !errors.As(err, &ce) || ce.OID != tt.conflict || ce.Tx != winner.ID {
				t.Fatalf("Commit = %+v, %v; want conflict on %d by %d", info, err, tt.conflict, winner.ID)
			}
			want := fmt.Sprintf("conflict: object %d was changed by transaction %d after this transaction began", tt.conflict, winner.ID)
			if err.Error() != want {
				t.Errorf("message %q, want %q", err, want)
			}
			if !reflect.DeepEqual(hook, []bool{false}) {
				t.Fatalf("hooks = %v, want [false]", hook)
			}
			// Nothing of the failed transaction is left.
			if s.LastTx() != winner.ID {
				t.Fatalf("LastTx = %d after a failed commit", s.LastTx())
			}
			for _, oid := range tt.secondPut {
				if rec, found := get(t, s, oid); found && rec.Slots[0].Value == "old" {
					t.Fatalf("object %d has the failed transaction's write", oid)
				}
			}
			if rep, err := s.Check(); err != nil {
				t.Fatalf("Check: %v %v", err, rep.Problems)
			}
		})
	}
}

func TestUpdateRetriesConflicts(t *testing.T) {
	s := openTest(t, &Options{Attempts: 1000})
	mustCommit(t, s, obj(RootOID, "n", 0))
	const workers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				_, err := s.Update("w", func(tx *Txn) error {
					rec, _, err := tx.Get(RootOID)
					if err != nil {
						return err
					}
					c := rec.Clone()
					c.Slots[0].Value = c.Slots[0].Value.(int) + 1
					return tx.Put(c)
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := slotValue(t, s, RootOID, "n"); n != workers*each {
		t.Fatalf("counter = %v, want %d (lost updates)", n, workers*each)
	}
}

func TestUpdateErrorsAndPanics(t *testing.T) {
	s := openTest(t, nil)
	sentinel := errors.New("nope")
	var hook []bool
	_, err := s.Update("u", func(tx *Txn) error {
		tx.AfterCommit(func(_ TxInfo, ok bool) { hook = append(hook, ok) })
		_ = tx.Put(obj(RootOID, "x", 1))
		return sentinel
	})
	if err != sentinel {
		t.Fatalf("Update error = %v, want the function's error unchanged", err)
	}
	if !reflect.DeepEqual(hook, []bool{false}) || !s.Empty() {
		t.Fatalf("hooks %v, Empty %v", hook, s.Empty())
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want boom", r)
			}
		}()
		_, _ = s.Update("u", func(tx *Txn) error {
			tx.AfterCommit(func(_ TxInfo, ok bool) { hook = append(hook, ok) })
			_ = tx.Put(obj(RootOID, "x", 1))
			panic("boom")
		})
	}()
	if !reflect.DeepEqual(hook, []bool{false, false}) || !s.Empty() {
		t.Fatalf("after panic: hooks %v, Empty %v", hook, s.Empty())
	}
	// Attempts exhausted: the conflict is still visible to errors.As.
	s2 := openTest(t, &Options{Attempts: 2})
	mustCommit(t, s2, obj(RootOID, "n", 0))
	_, err = s2.Update("u", func(tx *Txn) error {
		mustCommit(t, s2, obj(RootOID, "n", 1)) // always interferes
		return tx.Put(obj(RootOID, "n", 2))
	})
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("Update = %v, want a ConflictError", err)
	}
}

// TestAfterCommitRunsWhenDurable checks, on a crashable in-memory file
// system, that a hook sees its transaction in a crash image that keeps only
// synced data, and that hooks run in registration order.
func TestAfterCommitRunsWhenDurable(t *testing.T) {
	fs := vfs.NewCrashableMem()
	s := openAt(t, "img", &Options{FS: fs})
	mustCommit(t, s, obj(RootOID, "v", 0))
	var order []int
	tx := s.Begin("t")
	_ = tx.Put(obj(RootOID, "v", 1))
	tx.AfterCommit(func(info TxInfo, ok bool) {
		order = append(order, 1)
		if !ok || info.ID != 2 {
			t.Errorf("hook got %+v, %v", info, ok)
		}
		crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
		c, err := Open("img", &Options{FS: crashed})
		if err != nil {
			t.Errorf("open crash clone: %v", err)
			return
		}
		defer c.Close()
		if c.LastTx() != 2 {
			t.Errorf("crash clone LastTx = %d: hook ran before the commit was durable", c.LastTx())
		}
		if v := slotValue(t, c, RootOID, "v"); v != 1 {
			t.Errorf("crash clone v = %v", v)
		}
	})
	tx.AfterCommit(func(TxInfo, bool) { order = append(order, 2) })
	if _, err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(order, []int{1, 2}) {
		t.Fatalf("hook order %v", order)
	}
	// Abort runs hooks once, with committed=false; a second Abort does not.
	tx = s.Begin("t")
	n := 0
	tx.AfterCommit(func(_ TxInfo, ok bool) {
		if ok {
			t.Error("abort told committed=true")
		}
		n++
	})
	tx.Abort()
	tx.Abort()
	if n != 1 {
		t.Fatalf("abort ran hooks %d times", n)
	}
}

func TestLockedSameProcess(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, nil)
	_, err := Open(dir, nil)
	var le *LockedError
	if !errors.As(err, &le) || le.Dir != dir {
		t.Fatalf("second Open = %v, want *LockedError", err)
	}
	want := "image " + dir + " is in use by another process (quit the `batos repl`, `batos tui` or `batos eval` that has it open, then try again)"
	if err.Error() != want {
		t.Errorf("message %q", err)
	}
	s.Close()
	s2, err := Open(dir, nil) // released on Close
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

func TestClosedStore(t *testing.T) {
	s := openTest(t, nil)
	open := s.Begin("t")
	_ = open.Put(obj(RootOID))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := open.Commit(); err == nil {
		t.Fatal("commit of a txn aborted by Close succeeded")
	}
	tx := s.Begin("t")
	if _, _, err := tx.Get(RootOID); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get on closed store = %v", err)
	}
	if _, err := s.History(0, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("History on closed store = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestLazyCommit: a lazy commit is visible at once, is lost by a crash
// before anything syncs the log, and becomes durable with the next commit
// that is not lazy.
func TestLazyCommit(t *testing.T) {
	fs := vfs.NewCrashableMem()
	s := openAt(t, "img", &Options{FS: fs})
	mustCommit(t, s, obj(RootOID, "v", 0))
	lastAfterCrash := func() (TxID, any) {
		t.Helper()
		c, err := Open("img", &Options{FS: fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})})
		if err != nil {
			t.Fatalf("open crash clone: %v", err)
		}
		defer c.Close()
		return c.LastTx(), slotValue(t, c, RootOID, "v")
	}
	tx := s.Begin("t")
	tx.SetLazy()
	if err := tx.Put(obj(RootOID, "v", 1)); err != nil {
		t.Fatal(err)
	}
	lazy, err := tx.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if v := slotValue(t, s, RootOID, "v"); v != 1 {
		t.Fatalf("after the lazy commit v = %v, want 1", v)
	}
	if last, v := lastAfterCrash(); last != lazy.ID-1 || v != 0 {
		t.Fatalf("a crash right after the lazy commit kept tx %d (v %v), want only %d", last, v, lazy.ID-1)
	}
	synced := mustCommit(t, s, obj(7, "w", 2))
	if last, v := lastAfterCrash(); last != synced.ID || v != 1 {
		t.Fatalf("a crash after the next synced commit kept tx %d (v %v), want %d with the lazy one's v 1", last, v, synced.ID)
	}
}

// TestApplyThenWait: an applied transaction is visible at once and has its
// ID; its hooks run, once, when it is waited for, and after the wait it
// survives a crash. Every waiter gets its record.
func TestApplyThenWait(t *testing.T) {
	fs := vfs.NewCrashableMem()
	s := openAt(t, "img", &Options{FS: fs})
	first := mustCommit(t, s, obj(RootOID, "v", 0))
	tx := s.Begin("t")
	if err := tx.Put(obj(RootOID, "v", 1)); err != nil {
		t.Fatal(err)
	}
	var hooks []bool
	tx.AfterCommit(func(_ TxInfo, committed bool) { hooks = append(hooks, committed) })
	a, err := tx.Apply()
	if err != nil {
		t.Fatal(err)
	}
	if a.Info().ID != first.ID+1 {
		t.Fatalf("applied ID %d, want %d", a.Info().ID, first.ID+1)
	}
	if v := slotValue(t, s, RootOID, "v"); v != 1 {
		t.Fatalf("a transaction begun after the apply reads v = %v, want 1", v)
	}
	if len(hooks) != 0 {
		t.Fatalf("hooks ran before the wait: %v", hooks)
	}
	infos := make(chan TxInfo, 2)
	for range 2 {
		go func() {
			info, err := a.Wait()
			if err != nil {
				t.Error(err)
			}
			infos <- info
		}()
	}
	for range 2 {
		if info := <-infos; info.ID != a.Info().ID || info.Principal != "t" {
			t.Fatalf("Wait = %+v, want transaction %d by t", info, a.Info().ID)
		}
	}
	if len(hooks) != 1 || !hooks[0] {
		t.Fatalf("hooks after two waits: %v, want one committed run", hooks)
	}
	c, err := Open("img", &Options{FS: fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.LastTx() != a.Info().ID {
		t.Fatalf("after a crash following the wait, the last transaction is %d, want %d", c.LastTx(), a.Info().ID)
	}
	// A transaction that wrote nothing applies as ID 0 and runs its hooks
	// at the wait.
	empty := s.Begin("t")
	ran := false
	empty.AfterCommit(func(_ TxInfo, committed bool) { ran = committed })
	ea, err := empty.Apply()
	if err != nil || ea.Info().ID != 0 {
		t.Fatalf("empty Apply = %+v, %v", ea.Info(), err)
	}
	if _, err := ea.Wait(); err != nil || !ran {
		t.Fatalf("empty Wait: %v, hooks ran %v", err, ran)
	}
}
