package image

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configures Open. The zero value (or a nil *Options) opens an
// existing image for reading and writing.
type Options struct {
	// FS is the file system holding the image; nil means the operating
	// system's. Crash tests use vfs.NewCrashableMem.
	FS vfs.FS
	// Create lets Open create an image when dir is missing or empty. Open
	// never creates over a folder that holds anything else.
	Create bool
	// ReadOnly opens the image for reading only: nothing in the folder
	// changes (Pebble opens it read-only, and its file system refuses every
	// change), and Commit with changes, Pack and Undo fail with ErrReadOnly.
	ReadOnly bool
	// Attempts is how many times Update runs its function before giving up on
	// conflicts; 0 means 8.
	Attempts int
	// Logger receives Pebble's log messages, one line each; nil drops
	// informational messages and sends errors to the standard log. Its
	// Fatalf is never called: Pebble's fatal conditions become errors (see
	// StorageError).
	Logger pebble.Logger
	// CacheSize is Pebble's block cache size in bytes; 0 keeps Pebble's default.
	CacheSize int64
}

// Store is an open image. All methods are safe for concurrent use; a Txn is
// not (use one per goroutine).
type Store struct {
	dir      string
	db       *pebble.DB
	lock     *pebble.Lock
	attempts int
	readOnly bool
	logger   engineLogger
	// view, when set, makes the store a view (view.go): no db, no lock,
	// objects read from view.
	view Source

	// failure is the first fatal condition met (Pebble's Fatalf, corruption
	// found while reading), nil while healthy. Once set, writes return its
	// error and guardFS refuses every change to the files.
	failure atomic.Pointer[failure]

	// nextOID is the next OID NewOID hands out. Invariant: greater than every
	// OID ever allocated or committed; persisted (as m/nextoid) with every
	// commit, so OIDs are never reused across restarts.
	nextOID atomic.Uint64
	// lastTx is the newest TxID whose batch has been applied (visible to new
	// snapshots). Written only under commitMu.
	lastTx atomic.Uint64

	// commitMu serializes the commit critical section: conflict validation,
	// TxID allocation, batch application, and Begin's (lastTx, snapshot) pair.
	// The WAL fsync is awaited outside it, so concurrent committers share
	// fsyncs (group commit). Pack holds it for its whole run.
	commitMu sync.Mutex
	// packGen and packed are guarded by commitMu: the number of Packs that
	// removed objects, and the objects they removed. A commit from a
	// transaction that began before the latest such Pack must not write or
	// refer to them (its snapshot may still show them).
	packGen uint64
	packed  map[OID]struct{}

	// inflight counts operations using db (see enter); Close waits for them.
	inflight sync.WaitGroup

	mu struct {
		sync.Mutex
		closed bool
		open   map[*Txn]struct{} // transactions holding a snapshot
		// running: Open is returning the store. down: a writable store
		// failed, so operations return the failure; stopping: stopEngine
		// was started to close Pebble (see fail).
		running, down, stopping bool
	}
	dbOnce  sync.Once // closes db, from Close or stopEngine
	dbClose error
}

// Open opens the image in dir. It never destroys or replaces what is there:
//
//   - a missing or empty dir is created as a new image only with
//     Options.Create; otherwise Open fails with *NoImageError and creates
//     nothing;
//   - a dir with entries must hold a complete Pebble store (manifest marker,
//     MANIFEST, OPTIONS, format marker) with batos's format record; anything
//     else fails with *NotImageError or *DamagedError, one line, and nothing
//     in the folder changes. The format record is read through a read-only
//     open before Pebble is allowed to write anything;
//   - with Options.ReadOnly no byte in the folder changes.
//
// Open is lazy: it reads a few metadata keys and never scans the objects. A
// dir already open (in this or another process, read-only or not) fails at
// once with a *LockedError; a dir written by a newer format fails with a
// *FormatError.
func Open(dir string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Create && o.ReadOnly {
		return nil, fmt.Errorf("open image %s: Create and ReadOnly exclude each other", dir)
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.Attempts <= 0 {
		o.Attempts = 8
	}
	if o.Logger == nil {
		o.Logger = quietLogger{}
	}
	s := &Store{dir: dir, attempts: o.Attempts, readOnly: o.ReadOnly}
	s.logger = engineLogger{s: s, out: o.Logger}
	s.mu.open = make(map[*Txn]struct{})
	gfs := &guardFS{FS: o.FS, frozen: s.frozen, readOnly: o.ReadOnly}

	state, err := survey(o.FS, dir)
	if err != nil {
		return nil, err
	}
	fresh := state != folderInUse
	switch {
	case fresh && !o.Create:
		reason := "no such folder"
		if state == folderEmpty {
			reason = "the folder is empty"
		}
		return nil, &NoImageError{Dir: dir, Reason: reason}
	case state == folderMissing:
		if err := o.FS.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("open image %s: %s", dir, oneLine(err.Error()))
		}
	case !fresh && !lockable(o.FS, dir):
		// Taking the lock would create (or truncate) LOCK: look first, so a
		// folder that is not an image is refused untouched.
		if err := inspect(o.FS, dir); err != nil {
			return nil, err
		}
	}

	// Take the directory lock ourselves so a held lock is told apart from any
	// other failure of pebble.Open. Read-only, a folder without LOCK gets no
	// lock rather than a new file (see guardFS.Lock).
	lock, err := pebble.LockDirectory(dir, gfs)
	if err != nil {
		if lockHeld(err) {
			return nil, &LockedError{Dir: dir, Err: err}
		}
		return nil, fmt.Errorf("open image %s: %s", dir, oneLine(err.Error()))
	}
	s.lock = lock
	if err := s.openLocked(o, gfs, fresh); err != nil {
		_ = lock.Close()
		return nil, err
	}
	s.mu.Lock()
	s.mu.running = true
	stop := s.stopLocked() // a background failure raced with the end of Open
	s.mu.Unlock()
	if stop {
		go s.stopEngine()
	}
	return s, nil
}

// openLocked opens Pebble under the directory lock and reads the meta
// records. On error it leaves s.db closed; the caller releases the lock.
func (s *Store) openLocked(o Options, gfs *guardFS, fresh bool) error {
	dir := s.dir
	if fresh {
		// Under the lock the folder must hold nothing but the lock file.
		ls, err := o.FS.List(dir)
		if err != nil {
			return fmt.Errorf("open image %s: %s", dir, oneLine(err.Error()))
		}
		for _, name := range ls {
			if name != lockName {
				return fmt.Errorf("open image %s: the folder changed while the image was being created (%q appeared); nothing was created over it", dir, name)
			}
		}
	} else if err := inspect(o.FS, dir); err != nil {
		return err
	}
	popts := &pebble.Options{FS: gfs, Lock: s.lock, Logger: s.logger, EventListener: s.eventListener()}
	if o.CacheSize > 0 {
		cache := pebble.NewCache(o.CacheSize)
		defer cache.Unref() // pebble holds its own reference
		popts.Cache = cache
	}

	stamp := fresh
	if !fresh {
		// Read the meta records through a read-only open on a file system
		// that refuses every change, before Pebble may write anything.
		ro := popts.Clone()
		ro.ReadOnly, ro.ErrorIfNotExists, ro.DisableTableStats = true, true, true
		ro.FS = &guardFS{FS: o.FS, frozen: func() error { return ErrReadOnly }, readOnly: true}
		db, err := pebble.Open(dir, ro)
		if err != nil {
			return openError(dir, err)
		}
		s.db = db
		m, err := s.readMeta()
		if err == nil {
			err = s.failed()
		}
		if err == nil && m.unborn {
			if o.Create {
				stamp = true
			} else {
				err = &NoImageError{Dir: dir, Reason: "its creation did not finish"}
			}
		}
		if err == nil && o.ReadOnly {
			s.useMeta(m)
			return nil
		}
		if cerr := db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("open image %s: %s", dir, oneLine(cerr.Error()))
		}
		s.db = nil
		if err != nil {
			return err
		}
	}

	popts.ErrorIfExists = fresh
	popts.ErrorIfNotExists = !fresh
	db, err := pebble.Open(dir, popts)
	if db != nil && s.failed() != nil {
		// Pebble met corruption or a fatal condition while opening (its
		// background jobs start at once): report that, and close.
		_ = db.Close()
		db, err = nil, s.failed()
	}
	if err != nil {
		verb := "open"
		if fresh {
			verb = "create"
		}
		if s.failed() != nil {
			return fmt.Errorf("%s image %s: %w", verb, dir, s.failed())
		}
		// Not a *DamagedError: the read-only open above accepted the store,
		// and this open may have written before failing.
		return fmt.Errorf("%s image %s: %s", verb, dir, oneLine(err.Error()))
	}
	s.db = db
	m, err := s.readMeta()
	if err == nil && stamp {
		if !m.unborn {
			err = fmt.Errorf("create image %s: the store is not empty", dir)
		} else if err = db.Set(keyFormat, encodeU64(baseVersion), pebble.Sync); err == nil {
			err = s.failed()
		}
	}
	if err != nil {
		_ = db.Close()
		s.db = nil
		return err
	}
	s.useMeta(m)
	return nil
}

// meta is what readMeta found.
type meta struct {
	lastTx, nextOID uint64
	// unborn: a Pebble store without a single key, left by a creation that
	// stopped before stamping the format record.
	unborn bool
}

// readMeta reads and checks the format, last TxID and next OID. A store
// with keys but no format record is not a batos image.
func (s *Store) readMeta() (meta, error) {
	var m meta
	format, found, err := s.getMeta(keyFormat)
	if err != nil {
		return m, err
	}
	last, lastFound, err := s.getMeta(keyLastTx)
	if err != nil {
		return m, err
	}
	next, _, err := s.getMeta(keyNextOID)
	if err != nil {
		return m, err
	}
	switch {
	case !found && lastFound:
		return m, fmt.Errorf("open image %s: %w", s.dir, &CorruptError{Key: keyString(keyFormat), Err: errors.New("missing in a non-empty image")})
	case !found:
		empty, err := s.storeEmpty()
		if err != nil {
			return m, err
		}
		if !empty {
			return m, &NotImageError{Dir: s.dir, Problem: "it holds a Pebble store without batos's format record (m/format)"}
		}
		m.unborn = true
	case format > formatVersion:
		return m, fmt.Errorf("open image %s: %w", s.dir, &FormatError{Key: keyString(keyFormat), Version: int(format), Supported: formatVersion})
	case format == 0:
		return m, fmt.Errorf("open image %s: %w", s.dir, &CorruptError{Key: keyString(keyFormat), Err: errors.New("format version 0")})
	}
	m.lastTx, m.nextOID = last, next
	return m, nil
}

func (s *Store) useMeta(m meta) {
	s.lastTx.Store(m.lastTx)
	s.nextOID.Store(max(m.nextOID, uint64(firstFreeOID)))
}

// storeEmpty reports whether the store holds no key at all.
func (s *Store) storeEmpty() (bool, error) {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return false, s.openErr(err)
	}
	empty := !it.First()
	if err := it.Close(); err != nil {
		return false, s.openErr(err)
	}
	return empty, nil
}

func (s *Store) openErr(err error) error {
	return fmt.Errorf("open image %s: %w", s.dir, s.engineErr(err))
}

func (s *Store) getMeta(k []byte) (uint64, bool, error) {
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("open image %s: read %s: %w", s.dir, keyString(k), s.engineErr(err))
	}
	defer closer.Close()
	n, err := decodeU64(v)
	if err != nil {
		return 0, false, fmt.Errorf("open image %s: %w", s.dir, &CorruptError{Key: keyString(k), Err: err})
	}
	return n, true, nil
}

// lockHeld reports whether err from a vfs Lock means someone else holds it.
func lockHeld(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) ||
		errors.Is(err, syscall.EWOULDBLOCK) || strings.Contains(err.Error(), "lock held")
}

// Close aborts any transaction still open (so its snapshot is released) and
// closes the image. Operations on a closed store return ErrClosed. After a
// failure (see StorageError) Close still releases everything and returns
// the failure.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.closed = true
	s.mu.Unlock()
	// No operation can start now; wait for those running, then release the
	// snapshots of transactions left open.
	s.inflight.Wait()
	s.abortOpen()
	if s.view != nil {
		return nil
	}
	err := s.closeDB()
	if lerr := s.lock.Close(); err == nil {
		err = lerr
	}
	if f := s.failed(); f != nil {
		// Pebble's close errors are then consequences of the frozen files.
		return fmt.Errorf("close image %s: %w", s.dir, f)
	}
	if err != nil {
		return fmt.Errorf("close image %s: %s", s.dir, oneLine(err.Error()))
	}
	return nil
}

// abortOpen aborts the transactions still holding a snapshot.
func (s *Store) abortOpen() {
	s.mu.Lock()
	open := make([]*Txn, 0, len(s.mu.open))
	for t := range s.mu.open {
		open = append(open, t)
	}
	s.mu.Unlock()
	for _, t := range open {
		t.Abort()
	}
}

// closeDB closes Pebble once.
func (s *Store) closeDB() error {
	s.dbOnce.Do(func() { s.dbClose = s.db.Close() })
	return s.dbClose
}

// enter registers an operation that uses the database, or returns
// ErrClosed, or the failure of a writable store that failed. Every
// successful enter must be paired with exit.
func (s *Store) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return ErrClosed
	}
	if s.mu.down {
		return s.failed()
	}
	s.inflight.Add(1)
	return nil
}

func (s *Store) exit() { s.inflight.Done() }

// Dir returns the image directory.
func (s *Store) Dir() string { return s.dir }

// Empty reports whether no transaction has ever committed; the kernel then
// runs the awakening (creates RootOID and the seed objects).
func (s *Store) Empty() bool { return s.lastTx.Load() == 0 }

// LastTx returns the newest committed transaction (0 in an empty image).
func (s *Store) LastTx() TxID { return TxID(s.lastTx.Load()) }

// Info describes an image for `batos image info`.
type Info struct {
	Dir       string
	Objects   int
	LastTx    TxID
	Format    int // the newest record format this build reads and writes
	DiskBytes int64
}

// Info counts the current objects (a scan of the o/ keys, unlike Open) and
// reports the disk space Pebble uses.
func (s *Store) Info() (Info, error) {
	if err := s.enterFiles(); err != nil {
		return Info{}, fmt.Errorf("image info %s: %w", s.dir, err)
	}
	defer s.exit()
	info := Info{Dir: s.dir, LastTx: s.LastTx(), Format: formatVersion}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixObject), UpperBound: prefixEnd([]byte(prefixObject))})
	if err != nil {
		return Info{}, fmt.Errorf("image info %s: %w", s.dir, s.engineErr(err))
	}
	for ok := it.First(); ok; ok = it.Next() {
		info.Objects++
	}
	if err := it.Close(); err != nil {
		return Info{}, fmt.Errorf("image info %s: %w", s.dir, s.engineErr(err))
	}
	info.DiskBytes = int64(s.db.Metrics().DiskSpaceUsage())
	return info, nil
}

// quietLogger drops Pebble's informational messages, which would otherwise
// scribble over the REPL and TUI, and keeps errors. Its Fatalf logs too and
// returns: it never exits the process (the Store's engineLogger does not
// call it anyway).
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)           {}
func (quietLogger) Errorf(format string, a ...any) { pebble.DefaultLogger.Errorf(format, a...) }
func (quietLogger) Fatalf(format string, a ...any) { pebble.DefaultLogger.Errorf(format, a...) }

var _ pebble.Logger = quietLogger{}
var _ io.Closer = (*Store)(nil)
