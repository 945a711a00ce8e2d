package image

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"batos/internal/foldertest"
)

// oneLineErr fails the test unless err is a one-line message containing
// every want.
func oneLineErr(t testing.TB, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", want)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") || strings.Contains(msg, "goroutine ") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
}

// imageWithTables returns the folder of a closed image whose objects live
// in sstables (flushed and compacted), with incompressible values so that
// a byte in the middle of a table is in a data block.
func imageWithTables(t testing.TB) (dir string, table string) {
	t.Helper()
	dir = t.TempDir()
	s, err := Open(dir, &Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	root := obj(RootOID)
	for i := range 200 {
		oid := OID(100 + i)
		blob := make([]byte, 1024)
		for j := range blob {
			blob[j] = byte(rng.Uint32())
		}
		mustCommit(t, s, obj(oid, "blob", blob))
		root.Slots = append(root.Slots, Slot{Name: fmt.Sprintf("o%d", oid), Kind: SlotData, Value: Ref{oid}})
	}
	mustCommit(t, s, root)
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Compact(t.Context(), []byte("a"), []byte("z"), true); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(tables) == 0 {
		t.Fatal("no sstables after flush and compaction")
	}
	// The biggest table holds the blobs.
	var size int64
	for _, p := range tables {
		if st, _ := os.Stat(p); st.Size() > size {
			table, size = p, st.Size()
		}
	}
	return dir, table
}

func glob1(t testing.TB, dir, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	if len(m) != 1 {
		t.Fatalf("%s in %s: %v", pattern, dir, m)
	}
	return m[0]
}

func removeFile(pattern string) func(t testing.TB, dir, table string) string {
	return func(t testing.TB, dir, table string) string {
		p := glob1(t, dir, pattern)
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		return filepath.Base(p)
	}
}

func truncateTable(t testing.TB, dir, table string) string {
	st, err := os.Stat(table)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(table, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	return filepath.Base(table)
}

// rewrite changes n bytes of table at off (negative: from the end).
func rewrite(t testing.TB, table string, off int64, n int) {
	f, err := os.OpenFile(table, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	if off < 0 {
		off += st.Size()
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] ^= 0xff
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func flipMiddle(t testing.TB, dir, table string) string {
	st, _ := os.Stat(table)
	rewrite(t, table, st.Size()/3, 1)
	return filepath.Base(table)
}

func badFooter(t testing.TB, dir, table string) string {
	rewrite(t, table, -8, 8) // the footer's magic number
	return filepath.Base(table)
}

// TestDamagedImageIsRefused damages an image on disk in the ways a folder
// gets damaged and opens it read-only, for writing and with Create: Open
// either refuses with one line naming what is wrong, or (for damage inside
// a table, which Open does not read) the first read of the damaged data
// returns a *CorruptError naming the file. Read-only, nothing in the folder
// changes; for writing, the damaged file is left as it was.
func TestDamagedImageIsRefused(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t testing.TB, dir, table string) string // returns the damaged file's name
		atOpen bool                                         // refused by Open with a *DamagedError (else a *CorruptError from Open or the first read)
		want   string                                       // besides the file name
	}{
		{"missing manifest marker", removeFile("marker.manifest.*"), true, "is damaged"},
		{"missing MANIFEST", removeFile("MANIFEST-*"), true, "missing"},
		{"missing OPTIONS", removeFile("OPTIONS-*"), true, "missing"},
		{"missing format marker", removeFile("marker.format-version.*"), true, "missing"},
		{"truncated table", truncateTable, true, "size mismatch"},
		{"flipped byte in a table block", flipMiddle, false, "corrupt image file"},
		// The footer is read when the table is first opened: by Open when
		// the table holds the meta records, as here.
		{"bad table footer", badFooter, false, "corrupt image file"},
	}
	modes := []struct {
		name string
		opts Options
	}{
		{"read-only", Options{ReadOnly: true}},
		{"read-write", Options{}},
		{"create", Options{Create: true}},
	}
	base, baseTable := imageWithTables(t)
	for _, tt := range tests {
		for _, mode := range modes {
			t.Run(tt.name+"/"+mode.name, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "img")
				if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
					t.Fatal(err)
				}
				table := filepath.Join(dir, filepath.Base(baseTable))
				file := tt.damage(t, dir, table)
				// A missing marker or OPTIONS file is reported by its kind
				// ("marker.manifest.*"): its full name is gone.
				for _, kind := range []string{"marker.manifest", "marker.format-version", "OPTIONS"} {
					if strings.HasPrefix(file, kind) {
						file = kind
					}
				}
				before := foldertest.Hash(t, dir)
				tableBefore := before[filepath.Base(table)]
				opts := mode.opts
				s, err := Open(dir, &opts)
				if tt.atOpen {
					oneLineErr(t, err, file, tt.want, "nothing was changed")
					var de *DamagedError
					if !errors.As(err, &de) {
						t.Errorf("Open = %T %v, want *DamagedError", err, err)
					}
					foldertest.Same(t, dir, before)
					return
				}
				var ce *CorruptError
				if err != nil {
					// Open read the damaged table (the meta records are in it).
					oneLineErr(t, err, file, tt.want, "restore it from a checkpoint or backup")
					if !errors.As(err, &ce) || filepath.Base(ce.File) != file {
						t.Errorf("Open = %v, want a *CorruptError naming %s", err, file)
					}
					foldertest.Same(t, dir, before)
					return
				}
				_, err = s.Check()
				oneLineErr(t, err, file, tt.want, "restore it from a checkpoint or backup")
				if !errors.As(err, &ce) || filepath.Base(ce.File) != file {
					t.Errorf("Check = %v, want a *CorruptError naming %s", err, file)
				}
				if !opts.ReadOnly {
					// The store now refuses writes, with the same error.
					tx := s.Begin("t")
					_ = tx.Put(obj(RootOID, "x", 1))
					_, err := tx.Commit()
					if !errors.As(err, &ce) {
						t.Errorf("commit after corruption = %v, want the *CorruptError", err)
					}
					if _, err := s.Pack(0); !errors.As(err, &ce) {
						t.Errorf("pack after corruption = %v, want the *CorruptError", err)
					}
				}
				cerr := s.Close()
				if opts.ReadOnly {
					foldertest.Same(t, dir, before)
				} else if h := foldertest.Hash(t, dir)[filepath.Base(table)]; h != tableBefore {
					t.Errorf("the damaged table was changed or removed (close: %v)", cerr)
				}
			})
		}
	}
}

// TestOpenNeverCreatesOverAFolder checks the folders Open must not create
// an image in, or must create one in only with Create.
func TestOpenNeverCreatesOverAFolder(t *testing.T) {
	foreignStore := func(t testing.TB, dir string) {
		db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Set([]byte("someone else's"), []byte("data"), pebble.Sync); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	tests := []struct {
		name    string
		prepare func(t testing.TB, dir string) // nil: the folder does not exist
		create  bool                           // Create may create an image there
		want    string
		as      any
	}{
		{"missing folder", nil, true, "no image at", new(*NoImageError)},
		{"empty folder", func(testing.TB, string) {}, true, "the folder is empty", new(*NoImageError)},
		{"unrelated file", func(t testing.TB, dir string) {
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
		}, false, `"notes.txt"`, new(*NotImageError)},
		{"only logs", func(t testing.TB, dir string) {
			os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
			os.WriteFile(filepath.Join(dir, "logs", "batos.log"), []byte("{}\n"), 0o644)
		}, false, "not a batos image", new(*NotImageError)},
		{"a file named LOCK with content", func(t testing.TB, dir string) {
			os.WriteFile(filepath.Join(dir, "LOCK"), []byte("precious"), 0o644)
		}, false, "is damaged", new(*DamagedError)},
		{"pebble store without format record", foreignStore, false, "without batos's format record", new(*NotImageError)},
		{"a file, not a folder", nil, false, "not a folder", new(*NotImageError)},
		// A creation that stopped after Pebble made its store, before the
		// format record: Create finishes it, the others say so.
		{"unfinished creation", func(t testing.TB, dir string) {
			db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
		}, true, "its creation did not finish", new(*NoImageError)},
	}
	for _, tt := range tests {
		for _, mode := range []Options{{ReadOnly: true}, {}, {Create: true}} {
			name := tt.name + map[bool]string{true: "/read-only", false: "/read-write"}[mode.ReadOnly]
			if mode.Create {
				name = tt.name + "/create"
			}
			t.Run(name, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "img")
				switch {
				case tt.name == "a file, not a folder":
					if err := os.WriteFile(dir, []byte("data"), 0o644); err != nil {
						t.Fatal(err)
					}
				case tt.prepare != nil:
					if err := os.Mkdir(dir, 0o755); err != nil {
						t.Fatal(err)
					}
					tt.prepare(t, dir)
				}
				before := foldertest.Hash(t, dir)
				opts := mode
				s, err := Open(dir, &opts)
				if mode.Create && tt.create {
					if err != nil {
						t.Fatalf("Open with Create: %v", err)
					}
					if !s.Empty() {
						t.Error("new image is not empty")
					}
					mustCommit(t, s, obj(RootOID, "n", 1))
					s.Close()
					s = openAt(t, dir, &Options{ReadOnly: true})
					if v := slotValue(t, s, RootOID, "n"); v != 1 {
						t.Errorf("reopened n = %v", v)
					}
					return
				}
				oneLineErr(t, err, tt.want)
				if !errors.As(err, tt.as) {
					t.Errorf("Open = %T %v, want %T", err, err, tt.as)
				}
				foldertest.Same(t, dir, before)
			})
		}
	}
}

// TestReadOnlyChangesNothing opens a healthy image read-only, reads
// everything, and checks that no byte changed and that writes are refused.
func TestReadOnlyChangesNothing(t *testing.T) {
	dir, _ := imageWithTables(t)
	// Leave unflushed data in the WAL too: a read-only open replays it
	// without flushing.
	s := openAt(t, dir, nil)
	mustCommit(t, s, obj(5, "in the wal", true))
	s.Close()
	// A checkpoint has no LOCK file: a read-only open must not create one.
	ckpt := filepath.Join(t.TempDir(), "ckpt")
	s = openAt(t, dir, nil)
	if err := s.Checkpoint(ckpt); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, d := range []string{dir, ckpt} {
		before := foldertest.Hash(t, d)
		s, err := Open(d, &Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := s.Check(); err != nil || rep.Objects != 202 {
			t.Errorf("Check = %+v, %v", rep, err)
		}
		if _, err := s.Info(); err != nil {
			t.Error(err)
		}
		if txs, err := s.History(0, 0); err != nil || len(txs) != 202 {
			t.Errorf("History = %d, %v", len(txs), err)
		}
		if v := slotValue(t, s, 5, "in the wal"); v != true {
			t.Errorf("WAL-only object = %v", v)
		}
		tx := s.Begin("t")
		_ = tx.Put(obj(RootOID))
		if _, err := tx.Commit(); !errors.Is(err, ErrReadOnly) {
			t.Errorf("Commit = %v, want ErrReadOnly", err)
		}
		if _, err := s.Pack(0); !errors.Is(err, ErrReadOnly) {
			t.Errorf("Pack = %v, want ErrReadOnly", err)
		}
		if _, err := s.Undo(1, "t"); !errors.Is(err, ErrReadOnly) {
			t.Errorf("Undo = %v, want ErrReadOnly", err)
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		foldertest.Same(t, d, before)
	}
}

// TestReadOnlyTakesTheLock: a read-only open of an image in use fails at
// once with *LockedError (Pebble's read-only open takes the same exclusive
// lock), and a writer cannot open an image held read-only.
func TestReadOnlyTakesTheLock(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, nil)
	var le *LockedError
	if _, err := Open(dir, &Options{ReadOnly: true}); !errors.As(err, &le) {
		t.Fatalf("read-only Open of a held image = %v, want *LockedError", err)
	}
	s.Close()
	r, err := Open(dir, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, nil); !errors.As(err, &le) {
		t.Fatalf("Open of an image held read-only = %v, want *LockedError", err)
	}
	r.Close()
}

// TestFatalWriteErrorDoesNotExit injects write errors into the WAL of an
// open image. Pebble treats a failed WAL write as fatal (Logger.Fatalf,
// which by default exits the process): the commit must fail with one line,
// the process live on, later writes be refused, Close return, and the
// image reopen with every acknowledged commit.
func TestFatalWriteErrorDoesNotExit(t *testing.T) {
	dir := t.TempDir()
	toggle := &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		if strings.HasSuffix(op.Path, ".log") && (op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileWriteAt || op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData || op.Kind == errorfs.OpFileSyncTo) {
			return errorfs.ErrInjected
		}
		return nil
	})}
	s, err := Open(dir, &Options{Create: true, FS: errorfs.Wrap(vfs.Default, toggle), Logger: silentLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, obj(RootOID, "n", 1))
	toggle.On()
	var failures []error
	for i := range 3 {
		tx := s.Begin("t")
		_ = tx.Put(obj(RootOID, "n", 2+i))
		if _, err := tx.Commit(); err != nil {
			failures = append(failures, err)
		}
	}
	if len(failures) != 3 {
		t.Fatalf("%d of 3 commits failed with a failing WAL", len(failures))
	}
	var se *StorageError
	for _, err := range failures {
		oneLineErr(t, err, "storage engine failed", "stopped using")
		if !errors.As(err, &se) {
			t.Errorf("commit = %v, want a *StorageError", err)
		}
	}
	if _, err := s.Pack(0); !errors.As(err, &se) {
		t.Errorf("Pack after the failure = %v, want the *StorageError", err)
	}
	// A writable store that failed stops Pebble: reads return the failure.
	tx := s.Begin("t")
	if _, _, err := tx.Get(RootOID); !errors.As(err, &se) {
		t.Errorf("Get after the failure = %v, want the *StorageError", err)
	}
	tx.Abort()
	if _, err := s.History(0, 0); !errors.As(err, &se) {
		t.Errorf("History after the failure = %v, want the *StorageError", err)
	}
	toggle.Off()
	if err := s.Close(); !errors.As(err, &se) {
		t.Errorf("Close = %v, want the recorded failure", err)
	}
	s = openAt(t, dir, nil)
	if v := slotValue(t, s, RootOID, "n"); v != 1 {
		t.Errorf("after reopening n = %v, want the last acknowledged 1", v)
	}
	if _, err := s.Check(); err != nil {
		t.Error(err)
	}
	mustCommit(t, s, obj(RootOID, "n", 9))
}

// TestFatalManifestErrorDoesNotExit makes a MANIFEST write fail during a
// background flush: Pebble calls Logger.Fatalf from the flush goroutine,
// with its mutex held, and would retry the flush at once forever. The
// store must record the failure, stop Pebble, refuse what follows with one
// line naming the MANIFEST, close promptly, and reopen with every commit.
func TestFatalManifestErrorDoesNotExit(t *testing.T) {
	dir := t.TempDir()
	toggle := &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		if strings.Contains(op.Path, "MANIFEST-") && (op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileWriteAt) {
			return errorfs.ErrInjected
		}
		return nil
	})}
	s, err := Open(dir, &Options{Create: true, FS: errorfs.Wrap(vfs.Default, toggle), Logger: silentLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		mustCommit(t, s, obj(RootOID, "n", i))
	}
	toggle.On()
	if _, err := s.db.AsyncFlush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.failed() == nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	var se *StorageError
	tx := s.Begin("t")
	_ = tx.Put(obj(RootOID, "n", 100))
	_, err = tx.Commit()
	oneLineErr(t, err, "MANIFEST", "storage engine failed")
	if !errors.As(err, &se) {
		t.Fatalf("commit after a failed MANIFEST write = %v, want a *StorageError", err)
	}
	start := time.Now()
	if err := s.Close(); !errors.As(err, &se) {
		t.Errorf("Close = %v, want the recorded failure", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	toggle.Off()
	s = openAt(t, dir, nil)
	if v := slotValue(t, s, RootOID, "n"); v != 9 {
		t.Errorf("after reopening n = %v, want 9", v)
	}
	if _, err := s.Check(); err != nil {
		t.Error(err)
	}
}

// TestErrorMessages pins the one-line messages the user reads.
func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&LockedError{Dir: "img"}, "image img is in use by another process (quit the `batos repl`, `batos tui` or `batos eval` that has it open, then try again)"},
		{&NoImageError{Dir: "img", Reason: "the folder is empty"}, "no image at img: the folder is empty (run `batos --image img` to create one)"},
		{&DamagedError{Dir: "img", File: "MANIFEST-000001", Problem: "missing\nreally"}, "image img is damaged (MANIFEST-000001: missing; really); nothing was changed: restore the folder from a checkpoint or backup, or point --image at another folder"},
		{&CorruptError{File: "img/000005.sst", Err: errors.New("checksum\nmismatch")}, "corrupt image file img/000005.sst (checksum; mismatch): batos stopped using this image; restore it from a checkpoint or backup"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}

type silentLogger struct{}

func (silentLogger) Infof(string, ...any)  {}
func (silentLogger) Errorf(string, ...any) {}
func (silentLogger) Fatalf(format string, a ...any) {
	panic("Fatalf reached the caller's logger: " + format)
}
