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

// Options configures Open. The zero value (or a nil *Options) gives sane
// defaults.
type Options struct {
	// FS is the file system holding the image; nil means the operating
	// system's. Crash tests use vfs.NewCrashableMem.
	FS vfs.FS
	// Attempts is how many times Update runs its function before giving up on
	// conflicts; 0 means 8.
	Attempts int
	// Logger receives Pebble's log messages; nil drops informational messages
	// and sends errors to the standard log.
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
	}
}

// Open opens the image in dir, creating dir and an empty image if missing.
// Open is lazy: it reads a few metadata keys and never scans the objects. A
// dir already open (in this or another process) fails at once with a
// *LockedError; a dir written by a newer format fails with a *FormatError.
func Open(dir string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
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
	if err := o.FS.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open image %s: %w", dir, err)
	}
	// Take the directory lock ourselves so a held lock is told apart from any
	// other failure of pebble.Open.
	lock, err := pebble.LockDirectory(dir, o.FS)
	if err != nil {
		if lockHeld(err) {
			return nil, &LockedError{Dir: dir, Err: err}
		}
		return nil, fmt.Errorf("open image %s: %w", dir, err)
	}
	popts := &pebble.Options{FS: o.FS, Lock: lock, Logger: o.Logger}
	if o.CacheSize > 0 {
		cache := pebble.NewCache(o.CacheSize)
		defer cache.Unref() // pebble holds its own reference
		popts.Cache = cache
	}
	db, err := pebble.Open(dir, popts)
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("open image %s: %w", dir, err)
	}
	s := &Store{dir: dir, db: db, lock: lock, attempts: o.Attempts}
	s.mu.open = make(map[*Txn]struct{})
	if err := s.loadMeta(); err != nil {
		_ = db.Close()
		_ = lock.Close()
		return nil, fmt.Errorf("open image %s: %w", dir, err)
	}
	return s, nil
}

// loadMeta reads the format, last TxID and next OID, and stamps the format
// into a brand-new image.
func (s *Store) loadMeta() error {
	format, found, err := s.getMeta(keyFormat)
	if err != nil {
		return err
	}
	last, lastFound, err := s.getMeta(keyLastTx)
	if err != nil {
		return err
	}
	next, _, err := s.getMeta(keyNextOID)
	if err != nil {
		return err
	}
	switch {
	case !found && lastFound:
		return &CorruptError{Key: keyString(keyFormat), Err: errors.New("missing in a non-empty image")}
	case !found:
		if err := s.db.Set(keyFormat, encodeU64(formatVersion), pebble.Sync); err != nil {
			return fmt.Errorf("write format: %w", err)
		}
	case format > formatVersion:
		return &FormatError{Key: keyString(keyFormat), Version: int(format), Supported: formatVersion}
	case format == 0:
		return &CorruptError{Key: keyString(keyFormat), Err: errors.New("format version 0")}
	}
	s.lastTx.Store(last)
	s.nextOID.Store(max(next, uint64(firstFreeOID)))
	return nil
}

func (s *Store) getMeta(k []byte) (uint64, bool, error) {
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read %s: %w", keyString(k), err)
	}
	defer closer.Close()
	n, err := decodeU64(v)
	if err != nil {
		return 0, false, &CorruptError{Key: keyString(k), Err: err}
	}
	return n, true, nil
}

// lockHeld reports whether err from a vfs Lock means someone else holds it.
func lockHeld(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) ||
		errors.Is(err, syscall.EWOULDBLOCK) || strings.Contains(err.Error(), "lock held")
}

// Close aborts any transaction still open (so its snapshot is released) and
// closes the image. Operations on a closed store return ErrClosed.
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
	s.mu.Lock()
	open := make([]*Txn, 0, len(s.mu.open))
	for t := range s.mu.open {
		open = append(open, t)
	}
	s.mu.Unlock()
	for _, t := range open {
		t.Abort()
	}
	err := s.db.Close()
	if lerr := s.lock.Close(); err == nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("close image %s: %w", s.dir, err)
	}
	return nil
}

// enter registers an operation that uses the database, or returns
// ErrClosed. Every successful enter must be paired with exit.
func (s *Store) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return ErrClosed
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
	Format    int
	DiskBytes int64
}

// Info counts the current objects (a scan of the o/ keys, unlike Open) and
// reports the disk space Pebble uses.
func (s *Store) Info() (Info, error) {
	if err := s.enter(); err != nil {
		return Info{}, fmt.Errorf("image info %s: %w", s.dir, err)
	}
	defer s.exit()
	info := Info{Dir: s.dir, LastTx: s.LastTx(), Format: formatVersion}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixObject), UpperBound: prefixEnd([]byte(prefixObject))})
	if err != nil {
		return Info{}, fmt.Errorf("image info %s: %w", s.dir, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		info.Objects++
	}
	if err := it.Close(); err != nil {
		return Info{}, fmt.Errorf("image info %s: %w", s.dir, err)
	}
	info.DiskBytes = int64(s.db.Metrics().DiskSpaceUsage())
	return info, nil
}

// quietLogger drops Pebble's informational messages, which would otherwise
// scribble over the REPL and TUI, and keeps errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)           {}
func (quietLogger) Errorf(format string, a ...any) { pebble.DefaultLogger.Errorf(format, a...) }
func (quietLogger) Fatalf(format string, a ...any) { pebble.DefaultLogger.Fatalf(format, a...) }

var _ pebble.Logger = quietLogger{}
var _ io.Closer = (*Store)(nil)
