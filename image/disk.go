package image

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// This file is what Open knows about the folder on disk before and around
// Pebble: which folders hold an image (inspect), the file system Pebble is
// given (guardFS, which refuses every change when the store is read-only or
// has failed), and how Pebble's fatal conditions and corruption reports
// become errors instead of exits (engineLogger, Store.fail, engineErr).

// lockName is Pebble's directory lock file. Pebble writes it empty.
const lockName = "LOCK"

// folderState is what Open found in the image folder.
type folderState int

const (
	folderMissing folderState = iota
	folderEmpty
	folderInUse // holds entries: a store, a damaged store, or anything else
)

// survey looks at dir without changing anything.
func survey(fsys vfs.FS, dir string) (folderState, error) {
	st, err := fsys.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return folderMissing, nil
	}
	if err != nil {
		return 0, fmt.Errorf("open image %s: %s", dir, oneLine(err.Error()))
	}
	if !st.IsDir() {
		return 0, &NotImageError{Dir: dir, Problem: "it is a file, not a folder"}
	}
	ls, err := fsys.List(dir)
	if err != nil {
		return 0, fmt.Errorf("open image %s: %s", dir, oneLine(err.Error()))
	}
	if len(ls) == 0 {
		return folderEmpty, nil
	}
	return folderInUse, nil
}

// pebbleName matches the names of the files Pebble keeps in a store's
// folder.
var pebbleName = regexp.MustCompile(`^(LOCK|CURRENT|(MANIFEST|OPTIONS)-\d+|marker\..+|\d+\.(sst|log|blob|dbtmp)|temporary\.\d+\.dbtmp)$`)

// pebbleFile finds a Pebble file name (or path) in a message, for errors
// that should name the file.
var pebbleFile = regexp.MustCompile(`[^\s:()"'\[\]]*(\d{6,}\.(sst|log|blob)|MANIFEST-\d{6,}|OPTIONS-\d{6,}|marker\.[\w.-]+)`)

func fileIn(msg string) string { return pebbleFile.FindString(msg) }

// lockable reports whether dir holds an empty LOCK file, which taking
// Pebble's lock leaves byte for byte as it is.
func lockable(fsys vfs.FS, dir string) bool {
	st, err := fsys.Stat(fsys.PathJoin(dir, lockName))
	return err == nil && st.Mode().IsRegular() && st.Size() == 0
}

// inspect checks, without changing anything, that dir holds a complete
// Pebble store: the manifest marker, the MANIFEST it names, an OPTIONS file
// and the format-version marker. A folder with no Pebble file at all is a
// *NotImageError; one with some of them a *DamagedError.
func inspect(fsys vfs.FS, dir string) error {
	ls, err := fsys.List(dir)
	if err != nil {
		return fmt.Errorf("open image %s: %s", dir, oneLine(err.Error()))
	}
	var pebbleFiles, others []string
	for _, name := range ls {
		if pebbleName.MatchString(name) {
			pebbleFiles = append(pebbleFiles, name)
		} else {
			others = append(others, name)
		}
	}
	if len(pebbleFiles) == 0 {
		return &NotImageError{Dir: dir, Problem: fmt.Sprintf("it holds %s but no image store", describe(others))}
	}
	desc, err := pebble.Peek(dir, fsys)
	if err != nil {
		return &DamagedError{Dir: dir, File: fileIn(err.Error()), Problem: err.Error()}
	}
	if !desc.Exists {
		if len(pebbleFiles) == 1 && pebbleFiles[0] == lockName && len(others) > 0 {
			return &NotImageError{Dir: dir, Problem: fmt.Sprintf("it holds %s but no image store", describe(others))}
		}
		return &DamagedError{Dir: dir, File: "marker.manifest.*", Problem: "missing, so the current MANIFEST is unknown"}
	}
	if _, err := fsys.Stat(desc.ManifestFilename); err != nil {
		return &DamagedError{Dir: dir, File: fsys.PathBase(desc.ManifestFilename), Problem: "missing (the manifest marker names it)"}
	}
	if desc.OptionsFilename == "" {
		return &DamagedError{Dir: dir, File: "OPTIONS-*", Problem: "missing"}
	}
	if desc.FormatMajorVersion == pebble.FormatDefault {
		return &DamagedError{Dir: dir, File: "marker.format-version.*", Problem: "missing"}
	}
	return nil
}

// describe names a few folder entries for an error message.
func describe(names []string) string {
	const show = 3
	quoted := make([]string, 0, show)
	for _, n := range names[:min(len(names), show)] {
		quoted = append(quoted, fmt.Sprintf("%q", n))
	}
	s := strings.Join(quoted, ", ")
	if len(names) > show {
		s += fmt.Sprintf(" and %d more", len(names)-show)
	}
	return s
}

// openError turns an error from pebble.Open of a store that inspect
// accepted into one line: a *DamagedError, except for permission problems.
func openError(dir string, err error) error {
	msg := oneLine(err.Error())
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("open image %s: %s", dir, msg)
	}
	file := fileIn(msg)
	if info := pebble.ExtractDataCorruptionInfo(err); info != nil {
		file = info.Path
		msg = oneLine(errText(info.Details))
	}
	return &DamagedError{Dir: dir, File: file, Problem: msg}
}

// guardFS is the file system Pebble sees. Reads pass through; every change
// (create, write, rename, link, remove, mkdir) is refused once frozen
// returns an error: always for a read-only store, and from its first
// failure on for a writable one, so that a failure leaves the files exactly
// as they were at that instant, which Pebble recovers from as after a
// crash.
type guardFS struct {
	vfs.FS
	frozen func() error
	// readOnly: Lock of a folder without a LOCK file takes no lock instead
	// of creating the file (every process that opens the image creates it
	// first, so no one has the image open).
	readOnly bool
}

var _ vfs.FS = (*guardFS)(nil)

func (g *guardFS) check(op, name string) error {
	if err := g.frozen(); err != nil {
		return &fs.PathError{Op: op, Path: name, Err: err}
	}
	return nil
}

func (g *guardFS) file(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &guardFile{File: f, frozen: g.frozen}, nil
}

func (g *guardFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	if err := g.check("create", name); err != nil {
		return nil, err
	}
	return g.file(g.FS.Create(name, c))
}

func (g *guardFS) Link(oldname, newname string) error {
	if err := g.check("link", newname); err != nil {
		return err
	}
	return g.FS.Link(oldname, newname)
}

func (g *guardFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	if err := g.check("open for writing", name); err != nil {
		return nil, err
	}
	return g.file(g.FS.OpenReadWrite(name, c, opts...))
}

func (g *guardFS) Remove(name string) error {
	if err := g.check("remove", name); err != nil {
		return err
	}
	return g.FS.Remove(name)
}

func (g *guardFS) RemoveAll(name string) error {
	if err := g.check("remove", name); err != nil {
		return err
	}
	return g.FS.RemoveAll(name)
}

func (g *guardFS) Rename(oldname, newname string) error {
	if err := g.check("rename", oldname); err != nil {
		return err
	}
	return g.FS.Rename(oldname, newname)
}

func (g *guardFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	if err := g.check("reuse", oldname); err != nil {
		return nil, err
	}
	return g.file(g.FS.ReuseForWrite(oldname, newname, c))
}

func (g *guardFS) MkdirAll(dir string, perm fs.FileMode) error {
	if err := g.check("mkdir", dir); err != nil {
		return err
	}
	return g.FS.MkdirAll(dir, perm)
}

func (g *guardFS) Lock(name string) (io.Closer, error) {
	if g.readOnly {
		if _, err := g.FS.Stat(name); errors.Is(err, fs.ErrNotExist) {
			return noLock{}, nil
		}
	}
	return g.FS.Lock(name)
}

func (g *guardFS) Unwrap() vfs.FS { return g.FS }

type noLock struct{}

func (noLock) Close() error { return nil }

// guardFile refuses writes to a file opened for writing once frozen.
// Syncing what is already written stays allowed.
type guardFile struct {
	vfs.File
	frozen func() error
}

func (f *guardFile) Write(p []byte) (int, error) {
	if err := f.frozen(); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *guardFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.frozen(); err != nil {
		return 0, err
	}
	return f.File.WriteAt(p, off)
}

func (f *guardFile) Preallocate(off, n int64) error {
	if err := f.frozen(); err != nil {
		return err
	}
	return f.File.Preallocate(off, n)
}

// engineLogger is the pebble.Logger of a Store. Pebble calls Fatalf where it
// cannot go on (a failed WAL or MANIFEST write, a broken invariant) and
// expects the process to exit; engineLogger records the condition instead
// (the store then refuses writes and its files are frozen) and returns.
// The call sites in Pebble v2 either return an error right after Fatalf or
// only check invariants; the one that would report success after a failed
// commit (DB.Apply) is caught by Store.apply, which checks for a recorded
// failure after every apply. Fatalf never reaches the wrapped logger's
// Fatalf, so Pebble's fatal logger never exits the process. Once the store
// has failed, Errorf messages (consequences of the freeze) are dropped.
type engineLogger struct {
	s   *Store
	out pebble.Logger
}

func (l engineLogger) Infof(format string, a ...any) { l.out.Infof(format, a...) }

func (l engineLogger) Errorf(format string, a ...any) {
	if l.s.failure.Load() != nil {
		return
	}
	l.out.Errorf("%s", oneLine(fmt.Sprintf(format, a...)))
}

func (l engineLogger) Fatalf(format string, a ...any) {
	msg := oneLine(fmt.Sprintf(format, a...))
	if l.s.fail(&StorageError{Dir: l.s.dir, File: fileIn(msg), Problem: msg}) {
		l.out.Errorf("image %s: storage engine failure: %s", l.s.dir, msg)
	}
}

var _ pebble.Logger = engineLogger{}

// eventListener routes Pebble's corruption reports (by default a Fatalf)
// and background errors to the store.
func (s *Store) eventListener() *pebble.EventListener {
	return &pebble.EventListener{
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			s.fail(&CorruptError{File: info.Path, Err: info.Details})
		},
		BackgroundError: func(err error) {
			if s.failure.Load() == nil {
				s.logger.Errorf("background error: %s", err)
			}
		},
	}
}

// failure is the first fatal condition a store met.
type failure struct{ err error }

// fail records err as the store's failure unless one is recorded already,
// and reports whether it did. From then on writes are refused with it and
// guardFS refuses every change to the files. A writable store also stops
// Pebble: Pebble retries a failed flush or compaction at once, without
// backoff, so a failed engine left running would spin on the frozen files.
// Every operation then returns the failure. A read-only store (Pebble runs
// no background writes there) keeps serving reads.
//
// fail may be called by Pebble with its own mutexes held (Logger.Fatalf,
// EventListener.DataCorruption): it only takes s.mu briefly and leaves the
// closing to a goroutine.
func (s *Store) fail(err error) bool {
	if !s.failure.CompareAndSwap(nil, &failure{err: err}) {
		return false
	}
	if s.readOnly {
		return true
	}
	s.mu.Lock()
	s.mu.down = true
	stop := s.stopLocked()
	s.mu.Unlock()
	if stop {
		go s.stopEngine()
	}
	return true
}

// stopLocked reports whether the caller must start stopEngine: the store
// is writable, failed, returned by Open, not closed, and not stopping yet.
// REQUIRES: s.mu held.
func (s *Store) stopLocked() bool {
	if s.readOnly || s.failure.Load() == nil || !s.mu.running || s.mu.closed || s.mu.stopping {
		return false
	}
	s.mu.down, s.mu.stopping = true, true
	return true
}

// stopEngine closes Pebble once the operations running when the store
// failed have finished, aborting the transactions left open. Close then
// only releases the lock.
func (s *Store) stopEngine() {
	s.inflight.Wait()
	s.abortOpen()
	_ = s.closeDB()
}

// failed returns the recorded failure, or nil.
func (s *Store) failed() error {
	if f := s.failure.Load(); f != nil {
		return f.err
	}
	return nil
}

// frozen is guardFS's test for a writable store.
func (s *Store) frozen() error {
	if s.readOnly {
		return ErrReadOnly
	}
	return s.failed()
}

// writable returns why the store accepts no writes, or nil.
func (s *Store) writable() error { return s.frozen() }

// writeFailed records a failed Pebble write (op names it) as the store's
// failure, and returns the failure: after a failed WAL write or sync the
// store's durable state is unknown, so it stops writing.
func (s *Store) writeFailed(op string, err error) error {
	var ce *CorruptError
	if e := s.engineErr(err); errors.As(e, &ce) {
		return e
	}
	msg := oneLine(op + ": " + err.Error())
	s.fail(&StorageError{Dir: s.dir, File: fileIn(msg), Problem: msg})
	return s.failed()
}

// engineErr turns an error from a Pebble read into a *CorruptError naming
// the file when Pebble reports corruption (and records the failure, so no
// more writes reach the damaged image); other errors pass unchanged.
func (s *Store) engineErr(err error) error {
	if err == nil {
		return nil
	}
	var ce *CorruptError
	if errors.As(err, &ce) {
		return err
	}
	if info := pebble.ExtractDataCorruptionInfo(err); info != nil {
		ce = &CorruptError{File: info.Path, Err: info.Details}
	} else if pebble.IsCorruptionError(err) {
		ce = &CorruptError{File: fileIn(err.Error()), Err: err}
		if ce.File == "" {
			ce.File = s.dir
		}
	} else {
		return err
	}
	s.fail(ce)
	return ce
}
