package kernel

import (
	"fmt"
	"sync"

	"batos/image"
)

// txn is the kernel's working set over one image transaction: the objects
// it has read, copy-on-write slot lists for those it changed, and what the
// commit will publish.
type txn struct {
	k  *Kernel
	it *image.Txn
	// lazy: the transaction commits without waiting for the disk
	// (image.Txn.SetLazy).
	lazy bool
	// epoch is the shape epoch this transaction may use cache entries of;
	// cacheable is false when the snapshot may straddle a shape commit.
	epoch     uint64
	cacheable bool
	// shaped records that this transaction changed the shape of some
	// object; it then bypasses the lookup cache and bumps the epoch on
	// commit.
	shaped bool
	objs   map[image.OID]*objState
	order  []image.OID // dirty objects in first-write order
	// pol is the write policy's state (policy.go), once a model-written
	// method has been sent in this transaction.
	pol *policyState
	// lastKey and last are the latest cache entry resolve used: a method
	// that sends to itself, or a loop sending one selector, asks for the
	// same one again and again.
	lastKey lookupKey
	last    *lookupEntry
}

type objState struct {
	orig  *image.Record // as read from the snapshot; nil for objects created here
	slots []image.Slot  // working slots; aliases orig.Slots until the first write
	dirty bool
}

func (k *Kernel) begin(principal string) *txn {
	// A seqlock read around the snapshot (see lookupCache): the snapshot
	// saw exactly the shapes of epoch e2 when no shape change was in
	// flight before it was taken and none began before it existed.
	e1 := k.shapeEpoch.Load()
	writers := k.shapeWriters.Load()
	it := k.store.Begin(principal)
	e2 := k.shapeEpoch.Load()
	return &txn{k: k, it: it, objs: make(map[image.OID]*objState), epoch: e2, cacheable: writers == 0 && e1 == e2}
}

func (t *txn) load(oid image.OID) (*objState, error) {
	if st, ok := t.objs[oid]; ok {
		return st, nil
	}
	rec, found, err := t.it.Get(oid)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("object %d does not exist: %w", oid, image.ErrNotFound)
	}
	st := &objState{orig: rec, slots: rec.Slots}
	t.objs[oid] = st
	return st, nil
}

// create allocates a new object with the given slots.
func (t *txn) create(slots []image.Slot) image.OID {
	oid := t.it.NewOID()
	t.objs[oid] = &objState{slots: slots}
	t.markDirty(oid, t.objs[oid])
	t.shaped = true
	return oid
}

// mutable returns st's slots ready for writing.
func (t *txn) mutable(oid image.OID, st *objState) []image.Slot {
	if !st.dirty {
		st.slots = append([]image.Slot(nil), st.slots...)
		t.markDirty(oid, st)
	}
	return st.slots
}

func (t *txn) markDirty(oid image.OID, st *objState) {
	if !st.dirty {
		st.dirty = true
		t.order = append(t.order, oid)
	}
}

func findSlot(slots []image.Slot, name string) int {
	for i := range slots {
		if slots[i].Name == name {
			return i
		}
	}
	return -1
}

// setSlot writes a slot, appending it when new. A change of anything but a
// data slot's value is a shape change.
func (t *txn) setSlot(oid image.OID, s image.Slot) error {
	st, err := t.load(oid)
	if err != nil {
		return err
	}
	slots := t.mutable(oid, st)
	if i := findSlot(slots, s.Name); i >= 0 {
		if slots[i].Kind != image.SlotData || s.Kind != image.SlotData {
			t.shaped = true
		}
		slots[i] = s
		st.slots = slots
		return nil
	}
	st.slots = append(slots, s)
	t.shaped = true
	return nil
}

func (t *txn) removeSlot(oid image.OID, name string) (bool, error) {
	st, err := t.load(oid)
	if err != nil {
		return false, err
	}
	i := findSlot(st.slots, name)
	if i < 0 {
		return false, nil
	}
	slots := t.mutable(oid, st)
	st.slots = append(slots[:i:i], slots[i+1:]...)
	t.shaped = true
	return true, nil
}

// commit writes the dirty objects in one image transaction and returns
// once it is durable and its event published.
func (t *txn) commit(note string) (image.TxInfo, error) {
	p, err := t.apply(note)
	if err != nil {
		return image.TxInfo{}, err
	}
	return p.Wait()
}

// apply writes the dirty objects in one image transaction and returns once
// it is applied (image.Txn.Apply): visible to new transactions, its TxID
// known, its place in the bus's order taken. The Pending says when it is
// durable.
func (t *txn) apply(note string) (*Pending, error) {
	k := t.k
	if t.pol != nil && t.pol.violation != nil {
		// Model-written code attempted a forbidden write: nothing of
		// this transaction commits, even if the panic was recovered.
		t.it.Abort()
		return nil, t.pol.violation
	}
	if len(t.order) == 0 {
		t.it.Abort()
		return &Pending{}, nil
	}
	changes := make([]ObjectChange, 0, len(t.order))
	for _, oid := range t.order {
		st := t.objs[oid]
		if err := t.it.Put(&image.Record{OID: oid, Slots: st.slots}); err != nil {
			t.it.Abort()
			return nil, err
		}
		changes = append(changes, diffObject(oid, st.orig, st.slots, describeSlots(oid, st.slots)))
	}
	t.it.SetNote(note)
	if t.shaped {
		// The shapes change when the batch becomes visible, at Apply.
		k.beginShapeChange()
		defer k.endShapeChange()
	}
	// applyMu makes the order in which the kernel's transactions take
	// their places on the bus their TxID order.
	k.applyMu.Lock()
	a, err := t.it.Apply()
	var place *commitPlace
	if err == nil {
		place = k.bus.reserve()
	}
	k.applyMu.Unlock()
	if err != nil {
		return nil, err
	}
	return &Pending{bus: k.bus, applied: a, place: place, changes: changes, lazy: t.lazy}, nil
}

// Pending is a kernel transaction that is applied (visible to every
// transaction begun after it) and may still be on its way to the disk.
//
// Its commit event is published once it is durable, and never before the
// events of the kernel's transactions applied before it: the bus reports
// the kernel's commits in TxID order however their syncs interleave.
type Pending struct {
	bus     *Bus
	applied *image.Applied // nil when the transaction wrote nothing
	place   *commitPlace
	changes []ObjectChange
	lazy    bool

	once sync.Once // settle
}

// ID is the transaction's ID, known from the moment it is applied; 0 when
// it wrote nothing.
func (p *Pending) ID() image.TxID {
	if p.applied == nil {
		return 0
	}
	return p.applied.Info().ID
}

// Wait returns once the transaction is durable and its event published.
// A lazy transaction's Wait does not wait for its event, which is
// published once those of the transactions applied before it are. Wait
// may be called any number of times, from any goroutine.
func (p *Pending) Wait() (image.TxInfo, error) {
	if p.applied == nil {
		return image.TxInfo{}, nil
	}
	p.once.Do(p.settle)
	if !p.lazy {
		<-p.place.published
	}
	return p.applied.Wait() // settled: its record, or why the sync failed
}

// settleInBackground lets the transaction become durable and take its
// turn on the bus whether or not anyone waits for it.
func (p *Pending) settleInBackground() {
	if p.applied != nil {
		go p.once.Do(p.settle)
	}
}

// settle reports the transaction on the bus once it is durable, then runs
// its hooks: a hook may commit in turn, and that commit's event, which
// comes after this one, must not wait for a hook that waits for it.
func (p *Pending) settle() {
	if err := p.applied.Sync(); err != nil {
		p.bus.settle(p.place, nil)
	} else {
		p.bus.settle(p.place, &Event{Kind: EventCommit, Tx: p.applied.Info(), Changes: p.changes})
	}
	_, _ = p.applied.Wait() // the hooks; Pending.Wait returns its result
}

func (t *txn) abort() { t.it.Abort() }

// beginShapeChange and endShapeChange bracket the commit of a shape change:
// while any is in flight new transactions do not use the lookup cache, and
// each end moves the epoch so entries computed before it are never reused.
func (k *Kernel) beginShapeChange() {
	k.shapeWriters.Add(1)
	k.shapeEpoch.Add(1)
}

func (k *Kernel) endShapeChange() {
	k.shapeEpoch.Add(1)
	k.shapeWriters.Add(-1)
}
