package image

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestCheckpoint(t *testing.T) {
	s := openTest(t, nil)
	mustCommit(t, s, obj(RootOID, "n", 1))
	mustCommit(t, s, obj(RootOID, "n", 2, "s", "two"))

	// Commit concurrently with the checkpoint: the copy must hold every
	// transaction committed before Checkpoint was called, whole.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20 {
			mustCommit(t, s, obj(RootOID, "n", 100+i, "s", "busy"))
		}
	}()
	before := s.LastTx()
	dir := filepath.Join(t.TempDir(), "nested", "copy")
	if err := s.Checkpoint(dir); err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	wg.Wait()

	c := openAt(t, dir, nil) // its own lock, while s stays open
	if c.LastTx() < before || c.LastTx() > s.LastTx() {
		t.Fatalf("copy LastTx = %d, want in [%d, %d]", c.LastTx(), before, s.LastTx())
	}
	rec, found := get(t, c, RootOID)
	if !found || rec.Serial != c.LastTx() {
		t.Fatalf("copy root found=%v serial=%d, LastTx %d", found, rec.Serial, c.LastTx())
	}
	if n := slotValue(t, c, RootOID, "n").(int); c.LastTx() > 2 && n != 100+int(c.LastTx())-3 {
		t.Fatalf("copy n = %d at tx %d", n, c.LastTx())
	}

	// The copy is independent: writes to either do not reach the other.
	last := s.LastTx()
	mustCommit(t, c, obj(RootOID, "n", -1))
	if s.LastTx() != last || slotValue(t, s, RootOID, "n").(int) != 119 {
		t.Fatalf("original changed by a write to the copy")
	}
	mustCommit(t, s, obj(RootOID, "n", 7))
	if got := slotValue(t, c, RootOID, "n").(int); got != -1 {
		t.Fatalf("copy n = %d after a write to the original", got)
	}

	// An existing target is refused; a closed store fails with ErrClosed.
	if err := s.Checkpoint(dir); err == nil || !errors.Is(err, os.ErrExist) {
		t.Fatalf("Checkpoint into an existing dir: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(filepath.Join(t.TempDir(), "x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Checkpoint after Close: %v", err)
	}
}
