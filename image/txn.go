package image

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// TxInfo describes a committed transaction; it is what the t/ record holds.
type TxInfo struct {
	ID        TxID
	Time      time.Time
	Principal string // who asked: "user", "pLLM/BRICK", "autotelic", "forge", a remote client
	Note      string
	Changed   []OID // objects written, in first-Put order
}

// Txn is one transaction: reads come from a snapshot taken at Begin (plus
// the transaction's own buffered writes), writes are buffered until Commit.
// A Txn is used by one goroutine at a time and cannot be used after Commit or
// Abort.
type Txn struct {
	s         *Store
	principal string
	start     TxID   // last commit visible in snap
	packGen   uint64 // s.packGen at Begin

	// mu guards the fields below against Store.Close, which aborts open
	// transactions from another goroutine.
	mu     sync.Mutex
	snap   *pebble.Snapshot // nil once done
	done   bool
	err    error // why the txn is unusable from the start (closed store)
	note   string
	id     TxID
	writes map[OID]*write
	order  []OID            // written OIDs in first-Put order
	fresh  map[OID]struct{} // OIDs this txn got from NewOID: no one else can have written them
	hooks  []func(TxInfo, bool)
	lazy   bool // Commit does not wait for the log's sync (SetLazy)
}

// SetLazy makes Commit return once the transaction's batch is applied
// (visible to new transactions), without waiting for the write-ahead log
// to reach the disk: it becomes durable with the next commit that is not
// lazy (which syncs the log, this batch included) or when the store
// closes. A crash before that loses it, and the lazy commits after it, but
// nothing committed before it. Its AfterCommit hooks run once it is
// visible. For records the image can do without, never for what a user
// asked to keep.
func (t *Txn) SetLazy() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lazy = true
}

// write is one buffered change: rec nil means delete (used by Undo).
type write struct {
	rec  *Record
	body slotsBody // encodeSlots(rec.Slots), computed at Put
}

// Begin starts a transaction whose reads see every commit up to LastTx.
// principal is recorded in the transaction record.
func (s *Store) Begin(principal string) *Txn {
	t := &Txn{s: s, principal: principal, writes: make(map[OID]*write)}
	if err := s.enter(); err != nil {
		t.done, t.err = true, err
		return t
	}
	defer s.exit()
	s.mu.Lock()
	s.mu.open[t] = struct{}{}
	s.mu.Unlock()
	// Under commitMu, lastTx and the snapshot agree exactly: no batch is
	// applied between the two reads, so conflict detection is precise.
	s.commitMu.Lock()
	t.start = TxID(s.lastTx.Load())
	t.packGen = s.packGen
	if s.view == nil {
		t.snap = s.db.NewSnapshot()
	}
	s.commitMu.Unlock()
	return t
}

// ID returns the transaction's id once committed, else 0.
func (t *Txn) ID() TxID {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.id
}

// StartTx returns the last committed transaction visible to this one.
func (t *Txn) StartTx() TxID { return t.start }

// Principal returns who runs the transaction.
func (t *Txn) Principal() string { return t.principal }

// SetNote sets the note recorded with the transaction.
func (t *Txn) SetNote(note string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.note = note
}

// Err returns why the transaction cannot be used (its store was closed or
// failed, or it has ended), or nil.
func (t *Txn) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.usable()
}

func (t *Txn) usable() error {
	if t.err != nil {
		return t.err
	}
	if t.done {
		return t.doneErr()
	}
	return nil
}

// doneErr says why a finished transaction cannot be used: the store's
// failure when a writable store failed (and aborted it), else ErrTxnDone.
func (t *Txn) doneErr() error {
	if !t.s.readOnly {
		if err := t.s.failed(); err != nil {
			return err
		}
	}
	return ErrTxnDone
}

// Get returns the object as this transaction sees it: its own buffered write
// if any, else the snapshot's current revision. The record is shared: do not
// modify it (Clone, edit, Put).
func (t *Txn) Get(oid OID) (*Record, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(); err != nil {
		return nil, false, fmt.Errorf("get object %d: %w", oid, err)
	}
	if w, ok := t.writes[oid]; ok {
		return w.rec, w.rec != nil, nil
	}
	var rec *Record
	var found bool
	var err error
	if t.s.view != nil {
		rec, found, err = t.s.view.Object(oid)
	} else {
		rec, found, err = t.s.current(t.snap, oid)
	}
	if err != nil {
		return nil, false, fmt.Errorf("get object %d: %w", oid, err)
	}
	return rec, found, nil
}

// Put buffers rec as the object's new revision and takes ownership of it.
// It encodes the slots now, so an unencodable value fails here with an error
// naming the slot and the Go type, not at Commit.
func (t *Txn) Put(rec *Record) error {
	if rec == nil {
		return errors.New("put: nil record")
	}
	if rec.OID == 0 {
		return errors.New("put: object 0 is never a valid object")
	}
	body, err := encodeSlots(nil, rec.Slots)
	if err != nil {
		return fmt.Errorf("put object %d: %w", rec.OID, err)
	}
	t.s.reserve(rec.OID)
	return t.buffer(rec.OID, &write{rec: rec, body: body})
}

// del buffers the deletion of oid (Undo of a creation).
func (t *Txn) del(oid OID) error { return t.buffer(oid, &write{}) }

func (t *Txn) buffer(oid OID, w *write) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(); err != nil {
		return fmt.Errorf("put object %d: %w", oid, err)
	}
	if _, ok := t.writes[oid]; !ok {
		t.order = append(t.order, oid)
	}
	t.writes[oid] = w
	return nil
}

// NewOID allocates a fresh OID. OIDs are never reused, even when the
// transaction aborts: the counter only grows and every commit persists it.
//
// Objects should only be created under OIDs from NewOID (or RootOID): a
// fresh OID is known to have no history, so Commit skips its conflict
// check. Put of a never-allocated OID reserves it, so NewOID will not hand
// it out later.
func (t *Txn) NewOID() OID {
	oid := OID(t.s.nextOID.Add(1) - 1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fresh == nil {
		t.fresh = make(map[OID]struct{})
	}
	t.fresh[oid] = struct{}{}
	return oid
}

// reserve moves the OID counter past oid.
func (s *Store) reserve(oid OID) {
	for {
		next := s.nextOID.Load()
		if uint64(oid) < next || s.nextOID.CompareAndSwap(next, uint64(oid)+1) {
			return
		}
	}
}

// Writes returns the OIDs buffered so far, in first-Put order.
func (t *Txn) Writes() []OID {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.order)
}

// AfterCommit registers fn to run once the transaction is settled: after its
// batch is durable (committed=true; also for a read-only commit, with ID 0),
// or after Abort or a failed Commit (committed=false). Hooks run in
// registration order, on the goroutine that calls Commit or Abort (or the
// first Applied.Wait), outside every store lock, so they may start new
// transactions.
func (t *Txn) AfterCommit(fn func(info TxInfo, committed bool)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.done {
		t.hooks = append(t.hooks, fn)
	}
}

// finish marks the txn done and releases its snapshot; it reports false if
// the txn was already done.
func (t *Txn) finish() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	if t.snap != nil {
		_ = t.snap.Close()
		t.snap = nil
	}
	t.s.mu.Lock()
	delete(t.s.mu.open, t)
	t.s.mu.Unlock()
	return true
}

func (t *Txn) info() TxInfo {
	return TxInfo{Principal: t.principal, Note: t.note, Changed: slices.Clone(t.order)}
}

func (t *Txn) runHooks(info TxInfo, committed bool) {
	hooks := t.hooks
	t.hooks = nil
	for _, fn := range hooks {
		fn(info, committed)
	}
}

// Abort discards the transaction's writes and runs its hooks with
// committed=false. It is idempotent and a no-op after Commit.
func (t *Txn) Abort() {
	if !t.finish() {
		return
	}
	t.runHooks(t.info(), false)
}

// Commit makes the transaction's writes durable as one synced Pebble batch
// and returns its record. A transaction that wrote nothing commits without
// writing and returns ID 0. If another transaction committed a write to one
// of our objects after our snapshot, Commit fails with *ConflictError and
// nothing is written. Commit returns only after the WAL fsync.
func (t *Txn) Commit() (TxInfo, error) {
	a, err := t.Apply()
	if err != nil {
		return TxInfo{}, err
	}
	return a.Wait()
}

// Applied is a transaction whose batch is applied — it has its TxID and is
// visible to every transaction begun after it — and may still be on its
// way to the disk. Wait says when it is durable.
type Applied struct {
	t     *Txn
	info  TxInfo
	batch *pebble.Batch // nil when nothing was written

	synced  sync.Once
	syncErr error
	settled sync.Once
}

// Apply is the first half of Commit: it validates the transaction and
// applies its batch, without waiting for the write-ahead log's sync, so
// that the caller can do other work while the disk catches up (a new
// transaction already sees this one, as in Pebble itself, where a batch is
// visible before its sync). It fails as Commit does; nothing is written
// then. Wait must be called on the result, once or more, from any
// goroutine: it waits for the sync and runs the AfterCommit hooks, and
// until it has, Store.Close waits for it.
func (t *Txn) Apply() (*Applied, error) {
	if t.err != nil { // set only by Begin
		return nil, fmt.Errorf("commit: %w", t.err)
	}
	if !t.finish() {
		return nil, fmt.Errorf("commit: %w", t.doneErr())
	}
	s := t.s
	info := t.info()
	if len(t.order) == 0 {
		return &Applied{t: t, info: info}, nil
	}
	if err := s.enter(); err != nil {
		t.runHooks(info, false)
		return nil, fmt.Errorf("commit: %w", err)
	}
	if err := s.writable(); err != nil {
		s.exit()
		t.runHooks(info, false)
		return nil, fmt.Errorf("commit: %w", err)
	}
	s.commitMu.Lock()
	batch, err := s.apply(t, &info)
	s.commitMu.Unlock()
	if err != nil {
		s.exit()
		t.runHooks(info, false)
		return nil, err
	}
	return &Applied{t: t, info: info, batch: batch}, nil
}

// Info is the applied transaction's record; its ID is 0 when it wrote
// nothing.
func (a *Applied) Info() TxInfo { return a.info }

// Wait waits until the transaction is durable (Sync), runs its
// AfterCommit hooks, and returns its record. A failed sync stops the
// store's writes and is returned to every caller.
func (a *Applied) Wait() (TxInfo, error) {
	err := a.Sync()
	a.settled.Do(func() {
		if a.batch != nil {
			defer a.t.s.exit()
		}
		a.t.runHooks(a.info, err == nil)
	})
	if err != nil {
		return TxInfo{}, err
	}
	return a.info, nil
}

// Sync waits until the transaction is durable (at once for a lazy one,
// see SetLazy), without running its hooks: a caller that reports the
// commit before its hooks run (the kernel's events, in TxID order) can,
// while a hook may itself commit and wait for that report. Wait must
// still be called.
func (a *Applied) Sync() error {
	a.synced.Do(a.sync)
	return a.syncErr
}

func (a *Applied) sync() {
	t, s, info := a.t, a.t.s, a.info
	if a.batch == nil {
		return
	}
	var err error
	// The fsync is awaited outside commitMu: committers queued behind this
	// one share it (group commit).
	if !t.lazy {
		err = a.batch.SyncWait()
	}
	_ = a.batch.Close()
	if err != nil {
		// The batch is applied (readers may see it) but not durable, and an
		// fsync failure cannot be retried safely: stop writing.
		a.syncErr = fmt.Errorf("commit transaction %d: %w", info.ID, s.writeFailed("sync the write-ahead log", err))
		return
	}
	t.mu.Lock()
	t.id = info.ID
	t.mu.Unlock()
	for _, w := range t.writes {
		if w.rec != nil {
			w.rec.Serial = info.ID
		}
	}
}

// apply validates t against the database's current state, allocates its
// TxID and applies its batch without waiting for the sync. It fills in
// info's ID and Time. REQUIRES: s.commitMu held.
func (s *Store) apply(t *Txn, info *TxInfo) (*pebble.Batch, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixRev), UpperBound: prefixEnd([]byte(prefixRev))})
	if err != nil {
		return nil, fmt.Errorf("commit: %w", s.engineErr(err))
	}
	created := make([]bool, len(t.order))
	for i, oid := range t.order {
		if _, ok := t.fresh[oid]; ok {
			created[i] = true
			continue
		}
		// Validate against the newest revision in the database, not the
		// snapshot: any revision newer than our snapshot is a conflict.
		last, flags, found, err := lastRevision(it, oid)
		if err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("commit: %w", s.engineErr(err))
		}
		if found && last > t.start {
			_ = it.Close()
			return nil, &ConflictError{OID: oid, Tx: last}
		}
		created[i] = !found || flags&flagTombstone != 0
		if err := s.checkPacked(t, oid); err != nil {
			_ = it.Close()
			return nil, err
		}
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("commit: %w", s.engineErr(err))
	}

	id := TxID(s.lastTx.Load() + 1)
	info.ID, info.Time = id, time.Now()
	b := s.db.NewBatch()
	for i, oid := range t.order {
		w := t.writes[oid]
		if w.rec == nil {
			b.Delete(objKey(oid), nil)
			b.Set(revKey(oid, id), encodeRecordValue(flagTombstone, id, tombstoneBody), nil)
			continue
		}
		var flags byte
		if created[i] {
			flags = flagCreated
		}
		v := encodeRecordValue(flags, id, w.body)
		b.Set(objKey(oid), v, nil)
		b.Set(revKey(oid, id), v, nil)
	}
	b.Set(txKey(id), encodeTxRecord(*info), nil)
	b.Set(keyLastTx, encodeU64(uint64(id)), nil)
	b.Set(keyNextOID, encodeU64(s.nextOID.Load()), nil)
	if t.lazy {
		err = s.db.Apply(b, pebble.NoSync)
	} else {
		err = s.db.ApplyNoSyncWait(b, pebble.Sync)
	}
	if err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("commit transaction %d: %w", id, s.writeFailed("write", err))
	}
	if err := s.failed(); err != nil {
		// Pebble's Fatalf returned (see engineLogger) during this apply, or a
		// failure raced with it: the batch may be stuck in Pebble's commit
		// pipeline, so neither wait for its sync nor reuse it.
		return nil, fmt.Errorf("commit transaction %d: the storage engine failed while committing, so it may or may not be in the image: %w", id, err)
	}
	s.lastTx.Store(uint64(id))
	return b, nil
}

// checkPacked refuses a commit from a transaction that began before a Pack
// if it writes, or refers to, an object that Pack removed: the transaction
// saw it in its snapshot, but it no longer exists. REQUIRES: s.commitMu.
func (s *Store) checkPacked(t *Txn, oid OID) error {
	if t.packGen == s.packGen {
		return nil
	}
	if _, gone := s.packed[oid]; gone {
		return &ConflictError{OID: oid, Tx: s.LastTx()}
	}
	if w := t.writes[oid]; w.rec != nil {
		for _, ref := range w.rec.Refs() {
			if _, gone := s.packed[ref]; gone {
				return &ConflictError{OID: ref, Tx: s.LastTx()}
			}
		}
	}
	return nil
}

// lastRevision finds the newest revision of oid through it (an iterator
// over the r/ keys) and returns its TxID and record flags.
func lastRevision(it *pebble.Iterator, oid OID) (TxID, byte, bool, error) {
	if !it.SeekLT(prefixEnd(revPrefix(oid))) {
		return 0, 0, false, it.Error()
	}
	o, tx, ok := parseRevKey(it.Key())
	if !ok || o != oid {
		return 0, 0, false, nil
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return 0, 0, false, err
	}
	if len(v) < 2 {
		return 0, 0, false, &CorruptError{Key: keyString(it.Key()), Err: errTruncated}
	}
	if v[0] < baseVersion || v[0] > formatVersion {
		return 0, 0, false, keyErr(it.Key(), &versionError{int(v[0])})
	}
	return tx, v[1], true, nil
}

// Update runs fn in a fresh transaction and commits it. On a *ConflictError
// it retries with a new transaction (up to Options.Attempts times, with a
// small jittered backoff). Any other error from fn or Commit is returned
// unchanged. fn's transaction is aborted when fn returns an error or panics
// (the panic continues after the abort).
func (s *Store) Update(principal string, fn func(t *Txn) error) (TxInfo, error) {
	var conflict error
	for attempt := range s.attempts {
		if attempt > 0 {
			time.Sleep(rand.N(time.Duration(attempt) * 200 * time.Microsecond))
		}
		info, err := s.updateOnce(principal, fn)
		var ce *ConflictError
		if !errors.As(err, &ce) {
			return info, err
		}
		conflict = err
	}
	return TxInfo{}, fmt.Errorf("update: gave up after %d attempts: %w", s.attempts, conflict)
}

func (s *Store) updateOnce(principal string, fn func(t *Txn) error) (TxInfo, error) {
	t := s.Begin(principal)
	defer t.Abort() // no-op after Commit; aborts on error and panic
	if err := fn(t); err != nil {
		return TxInfo{}, err
	}
	return t.Commit()
}
