package kernel

import (
	"errors"
	"fmt"
	"reflect"
	"sync"

	"batos/image"
	"batos/interp"
)

// lookupCache memoises (receiver, selector) → holder and slot index.
//
// Protocol: a shape commit increments shapeWriters, then shapeEpoch,
// commits, increments shapeEpoch again and decrements shapeWriters. A
// transaction reads the epoch (e1) and the writer count before taking its
// snapshot and the epoch (e2) after; it may use the cache only if no
// writer was in flight and e1 == e2 (txn.cacheable), and then its snapshot
// holds exactly the shapes committed by epoch e2. An entry records the
// epoch of the transaction that computed it and is used only when that
// epoch, the using transaction's epoch and the current epoch are all
// equal. Data-slot writes are not shape changes, so they never invalidate
// the cache.
type lookupCache struct {
	mu sync.RWMutex
	m  map[lookupKey]*lookupEntry
}

type lookupKey struct {
	oid image.OID
	sel string
}

type lookupEntry struct {
	epoch  uint64
	holder image.OID
	index  int
	// method is the compiled method for a method slot, filled on first
	// send; src is the source it was compiled from.
	mu     sync.Mutex
	method *interp.Method
	src    string
	// author is the author of a method slot that records none, read from
	// the history for the source in authorSrc (see legacyAuthor).
	author, authorSrc string
}

// maxCacheEntries bounds the cache; it is cleared when full, which only
// costs lookups.
const maxCacheEntries = 1 << 16

func (c *lookupCache) get(key lookupKey, epoch uint64) *lookupEntry {
	c.mu.RLock()
	e := c.m[key]
	c.mu.RUnlock()
	if e == nil || e.epoch != epoch {
		return nil
	}
	return e
}

func (c *lookupCache) put(key lookupKey, e *lookupEntry) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCacheEntries {
		c.m = make(map[lookupKey]*lookupEntry)
	}
	c.m[key] = e
	c.mu.Unlock()
}

// binding is the result of a lookup: the slot found and who holds it.
type binding struct {
	holder image.OID
	slot   image.Slot
	entry  *lookupEntry // nil when the cache was bypassed
}

func (t *txn) useCache() bool {
	return t.cacheable && !t.shaped && t.epoch == t.k.shapeEpoch.Load()
}

// resolve looks sel up from recv, through the cache when it may.
func (t *txn) resolve(recv image.OID, sel string) (binding, bool, error) {
	cached := t.useCache()
	key := lookupKey{recv, sel}
	if cached {
		e := t.last
		if e == nil || t.lastKey != key || e.epoch != t.epoch {
			e = t.k.cache.get(key, t.epoch)
		}
		if e != nil {
			t.lastKey, t.last = key, e
			st, err := t.load(e.holder)
			if err != nil {
				return binding{}, false, err
			}
			if e.index < len(st.slots) && st.slots[e.index].Name == sel {
				return binding{holder: e.holder, slot: st.slots[e.index], entry: e}, true, nil
			}
		}
	}
	holder, index, found, err := t.lookup(recv, sel)
	if err != nil || !found {
		return binding{}, false, err
	}
	b := binding{holder: holder, slot: t.objs[holder].slots[index]}
	if cached {
		b.entry = &lookupEntry{epoch: t.epoch, holder: holder, index: index}
		t.k.cache.put(key, b.entry)
	}
	return b, true, nil
}

// lookup is the uncached lookup: own slots, then each parent in slot
// order, depth first, visiting each object once.
func (t *txn) lookup(recv image.OID, sel string) (holder image.OID, index int, found bool, err error) {
	var visited map[image.OID]bool
	var visit func(oid image.OID) (image.OID, int, bool, error)
	visit = func(oid image.OID) (image.OID, int, bool, error) {
		if visited[oid] {
			return 0, 0, false, nil
		}
		if visited == nil {
			visited = make(map[image.OID]bool)
		}
		visited[oid] = true
		st, err := t.load(oid)
		if err != nil {
			return 0, 0, false, err
		}
		if i := findSlot(st.slots, sel); i >= 0 {
			return oid, i, true, nil
		}
		for _, s := range st.slots {
			if s.Kind != image.SlotParent {
				continue
			}
			ref, ok := s.Value.(image.Ref)
			if !ok {
				continue
			}
			if h, i, ok, err := visit(ref.OID); err != nil || ok {
				return h, i, ok, err
			}
		}
		return 0, 0, false, nil
	}
	return visit(recv)
}

// method returns the compiled method for b, compiling at most once per
// source and interpreter generation.
func (k *Kernel) method(b binding) (*interp.Method, error) {
	src := b.slot.Value.(image.Method).Source
	e := b.entry
	if e != nil {
		e.mu.Lock()
		m := e.method
		fresh := m != nil && e.src == src && m.Generation == k.compiler.Generation()
		e.mu.Unlock()
		if fresh {
			return m, nil
		}
	}
	m, err := k.compiler.Compile(b.slot.Name, src)
	if err != nil {
		return nil, err
	}
	if e != nil {
		e.mu.Lock()
		e.method, e.src = m, src
		e.mu.Unlock()
	}
	return m, nil
}

// author returns the author of the method slot in b: the one it records,
// or for a slot from before authors were recorded, the one its history
// names, cached in the lookup entry.
func (k *Kernel) author(b binding) string {
	m := b.slot.Value.(image.Method)
	if m.Author != "" {
		return m.Author
	}
	e := b.entry
	if e != nil {
		e.mu.Lock()
		author, ok := e.author, e.authorSrc == m.Source && e.authorSrc != ""
		e.mu.Unlock()
		if ok {
			return author
		}
	}
	author := k.legacyAuthor(b.holder, b.slot.Name, m.Source)
	if e != nil {
		e.mu.Lock()
		e.author, e.authorSrc = author, m.Source
		e.mu.Unlock()
	}
	return author
}

// send is the one path every message takes. It panics with *interp.StopError
// when the guard stops the evaluation; every other failure is returned.
func (s *Session) send(recv image.OID, sel string, args []any) (any, error) {
	t := s.tx
	if t == nil {
		return nil, ErrNoTransaction
	}
	g := s.guard
	g.Enter()
	defer g.Leave()
	b, found, err := t.resolve(recv, sel)
	if err != nil {
		return nil, fmt.Errorf("send %s: %w", sel, err)
	}
	if !found {
		return s.notUnderstood(t, recv, sel, args)
	}
	return s.invoke(b, recv, sel, args)
}

// sendValues is send for interpreted code's Object.Send (directMethods):
// when sel finds a method a person wrote, the arguments go from the
// caller's frame to the callee's as the reflect.Values they are, and the
// result comes back as one (interp.Method.CallValues); every other send
// takes send's own way. self is recv as a Value.
func (s *Session) sendValues(self reflect.Value, recv image.OID, sel string, in []reflect.Value) (reflect.Value, error) {
	t := s.tx
	if t == nil {
		return reflect.Value{}, ErrNoTransaction
	}
	g := s.guard
	g.Enter()
	defer g.Leave()
	b, found, err := t.resolve(recv, sel)
	if err == nil && found && b.slot.Kind == image.SlotMethod {
		m, err := s.k.method(b)
		if err != nil {
			return reflect.Value{}, err
		}
		if author := s.k.author(b); author == "" || !ModelWritten(author) {
			prev := s.running
			s.running = runningMethod{holder: b.holder, sel: sel}
			defer func() { s.running = prev }()
			v, err := m.CallValues(g, self, in)
			return v, s.framed(err, recv, sel, b)
		}
	}
	args := make([]any, len(in))
	for i, a := range in {
		args[i] = a.Interface()
	}
	var v any
	switch {
	case err != nil:
		return reflect.Value{}, fmt.Errorf("send %s: %w", sel, err)
	case !found:
		v, err = s.notUnderstood(t, recv, sel, args)
	default:
		v, err = s.invoke(b, recv, sel, args)
	}
	if err != nil || v == nil {
		return reflect.Value{}, err
	}
	return reflect.ValueOf(v), nil
}

func (s *Session) invoke(b binding, recv image.OID, sel string, args []any) (any, error) {
	switch b.slot.Kind {
	case image.SlotMethod:
		m, err := s.k.method(b)
		if err != nil {
			return nil, err
		}
		author := s.k.author(b)
		prev := s.running
		s.running = runningMethod{holder: b.holder, sel: sel}
		defer func() { s.running = prev }()
		var v any
		if author != "" && ModelWritten(author) {
			v, err = s.invokeModel(m, author, b.holder, recv, sel, args)
		} else {
			v, err = m.Call(s.guard, Object{oid: recv, s: s}, args)
		}
		return v, s.framed(err, recv, sel, b)
	case image.SlotPrimitive:
		name := b.slot.Value.(image.Primitive).Name
		p, ok := s.k.primitive(name)
		if !ok {
			return nil, fmt.Errorf("send %s: primitive %q is not available in this build of batos", sel, name)
		}
		return p(&PrimitiveCall{Session: s, Self: Object{oid: recv, s: s}, Selector: sel, Args: args, Context: s.ctx})
	default:
		if len(args) > 0 {
			return nil, &SlotError{Object: s.describe(recv), Slot: sel, Msg: fmt.Sprintf("is a %s slot and takes no arguments (got %d)", b.slot.Kind, len(args))}
		}
		return toScript(b.slot.Value, s), nil
	}
}

// notUnderstood sends doesNotUnderstand(sel, args) to recv, or fails with
// *NotUnderstoodError when nothing on the chain answers that either.
func (s *Session) notUnderstood(t *txn, recv image.OID, sel string, args []any) (any, error) {
	if sel == "doesNotUnderstand" {
		return nil, &NotUnderstoodError{Receiver: s.describe(recv), Selector: sel, Args: len(args)}
	}
	b, found, err := t.resolve(recv, "doesNotUnderstand")
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &NotUnderstoodError{Receiver: s.describe(recv), Selector: sel, Args: len(args)}
	}
	if args == nil {
		args = []any{}
	}
	return s.invoke(b, recv, "doesNotUnderstand", []any{sel, args})
}

// IsNotUnderstood reports whether err is, or wraps, a *NotUnderstoodError.
func IsNotUnderstood(err error) bool {
	var nu *NotUnderstoodError
	return errors.As(err, &nu)
}
