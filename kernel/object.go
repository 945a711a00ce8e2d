package kernel

import (
	"fmt"
	"strings"

	"batos/image"
)

// Object is a handle on an object of the image, bound to the Session whose
// current transaction it reads and writes. It is the receiver type of every
// method and the value scripts see.
//
// The methods implement the script API of DESIGN.md. Following Go-script
// convention they report failure by panicking with an error value; the
// evaluation boundary (Session.Run, Session.Eval, a calling method's send)
// turns the panic back into an error. Go callers that want errors should
// use Session.Send.
type Object struct {
	oid image.OID
	s   *Session
}

// ID returns the object's identity in the image.
func (o Object) ID() uint64 { return uint64(o.oid) }

// OID returns the object's identity as the image's type.
func (o Object) OID() image.OID { return o.oid }

// Send sends sel with args to o and returns the answer.
func (o Object) Send(sel string, args ...any) any {
	v, err := o.session().send(o.oid, sel, args)
	if err != nil {
		panic(err)
	}
	return v
}

// Get returns the value of the slot name found through o's lookup chain: a
// data slot's value, a parent's Object, a method's source or a primitive's
// name. A missing slot panics with *SlotError.
func (o Object) Get(name string) any {
	v, found := o.Lookup(name)
	if !found {
		panic(&SlotError{Object: o.session().describe(o.oid), Slot: name, Msg: "no such slot"})
	}
	return v
}

// At returns the Object held in the slot name found through o's lookup
// chain: Get for the slots that hold objects, without a type assertion,
// so that sends chain (Lobby.At("shape").Send("area", 2)). A missing
// slot, or one that holds no Object, panics with *SlotError.
func (o Object) At(name string) Object {
	v := o.Get(name)
	obj, ok := v.(Object)
	if !ok {
		s := o.session()
		panic(&SlotError{Object: s.describe(o.oid), Slot: name, Msg: fmt.Sprintf("holds %s, not an Object (use Get for values)", s.format(v))})
	}
	return obj
}

// Lookup is Get for a slot that may be missing (configuration an older
// image may lack): found is false then, and only an image error panics.
func (o Object) Lookup(name string) (v any, found bool) {
	s := o.session()
	b, found, err := s.tx.resolve(o.oid, name)
	if err != nil {
		panic(err)
	}
	if !found {
		return nil, false
	}
	switch v := b.slot.Value.(type) {
	case image.Method:
		return v.Source, true
	case image.Primitive:
		return v.Name, true
	}
	return toScript(b.slot.Value, s), true
}

// Set writes a slot on o itself (never on a parent), creating it when new.
// A name ending in "*" makes a parent slot, whose value must be an Object.
func (o Object) Set(name string, v any) {
	s := o.session()
	if err := validSlotName(name); err != nil {
		panic(&SlotError{Object: s.describe(o.oid), Slot: name, Msg: err.Error()})
	}
	stored, err := toStored(v)
	if err != nil {
		panic(&SlotError{Object: s.describe(o.oid), Slot: name, Msg: err.Error()})
	}
	kind := image.SlotData
	if strings.HasSuffix(name, "*") {
		if _, ok := stored.(image.Ref); !ok {
			panic(&SlotError{Object: s.describe(o.oid), Slot: name, Msg: fmt.Sprintf("a parent slot needs an Object, got %T", v)})
		}
		kind = image.SlotParent
	}
	if s.tx.pol != nil {
		s.checkWrite("set", o.oid, name, "", o.ownMethod(name))
	}
	if err := s.tx.setSlot(o.oid, image.Slot{Name: name, Kind: kind, Value: stored}); err != nil {
		panic(err)
	}
}

// Define compiles src as the method for selector sel and installs it on o.
// A source that does not parse or compile panics with the compiler's error
// and installs nothing. The method records its author: the session's
// principal, or, when model-written code defines it, that code's author.
func (o Object) Define(sel, src string) { o.define(sel, src, true) }

// DefineTrialed is Define for a source that compiled in a sandbox trial
// run by this build (the pLLM's candidates): it records the method
// without waiting for it to compile in this process as well. The caller
// starts that compile (Compiler.Compile compiles a source once, so the
// first send waits for the one under way rather than compiling again);
// were it to fail after all, the sends would report it.
func (o Object) DefineTrialed(sel, src string) { o.define(sel, src, false) }

func (o Object) define(sel, src string, compile bool) {
	s := o.session()
	if err := validSlotName(sel); err != nil || strings.HasSuffix(sel, "*") {
		panic(&SlotError{Object: s.describe(o.oid), Slot: sel, Msg: "not a valid selector"})
	}
	s.checkWrite("define", o.oid, sel, "", true)
	if compile {
		if _, err := s.k.compiler.Compile(sel, src); err != nil {
			panic(err)
		}
	}
	if err := s.tx.setSlot(o.oid, image.Slot{Name: sel, Kind: image.SlotMethod, Value: image.Method{Source: src, Author: s.author()}}); err != nil {
		panic(err)
	}
}

// Remove deletes o's own slot name.
func (o Object) Remove(name string) {
	s := o.session()
	if s.tx.pol != nil {
		s.checkWrite("remove", o.oid, name, "", o.ownMethod(name))
	}
	ok, err := s.tx.removeSlot(o.oid, name)
	if err != nil {
		panic(err)
	}
	if !ok {
		panic(&SlotError{Object: s.describe(o.oid), Slot: name, Msg: "no such slot"})
	}
}

// Rename renames o's own slot from to to, keeping its place, kind and
// value. A name ending in "*" must stay a parent slot's.
//
// A method's source declares its selector (func foo(self Object, ...)),
// so renaming a method also rewrites that declaration to the new name,
// in the same transaction, and the method answers under its new name.
// Only the declared name changes (a send of the old selector inside the
// body is left as written) and the method keeps its author. A method
// that cannot be renamed so is refused with a one-line *SlotError saying
// why, and nothing changes: to is no Go identifier, the method was
// written by another author than the one a define here would record, or
// its rewritten source does not compile.
func (o Object) Rename(from, to string) {
	s := o.session()
	if err := validSlotName(to); err != nil {
		panic(&SlotError{Object: s.describe(o.oid), Slot: to, Msg: err.Error()})
	}
	st := o.state()
	i := findSlot(st.slots, from)
	if i < 0 {
		panic(&SlotError{Object: s.describe(o.oid), Slot: from, Msg: "no such slot"})
	}
	if findSlot(st.slots, to) >= 0 {
		panic(&SlotError{Object: s.describe(o.oid), Slot: to, Msg: "already exists"})
	}
	if strings.HasSuffix(from, "*") != strings.HasSuffix(to, "*") {
		panic(&SlotError{Object: s.describe(o.oid), Slot: to, Msg: "a parent slot's name ends in \"*\" and only a parent slot's does"})
	}
	s.checkWrite("rename", o.oid, from, to, isMethodKind(st.slots[i].Kind))
	value := st.slots[i].Value
	if m, ok := value.(image.Method); ok && st.slots[i].Kind == image.SlotMethod {
		renamed, err := o.renamedMethod(m, from, to)
		if err != nil {
			panic(err)
		}
		value = renamed
	}
	slots := s.tx.mutable(o.oid, st)
	slots[i].Name = to
	slots[i].Value = value
	s.tx.shaped = true
}

// Slots returns the names of o's own slots in order.
func (o Object) Slots() []string {
	st := o.state()
	names := make([]string, len(st.slots))
	for i, s := range st.slots {
		names[i] = s.Name
	}
	return names
}

// Clone returns a new object with a shallow copy of all of o's slots,
// parents included (Self's clone).
func (o Object) Clone() Object {
	st := o.state()
	slots := append([]image.Slot(nil), st.slots...)
	c := Object{oid: o.s.tx.create(slots), s: o.s}
	o.s.noteCreated(c.oid)
	return c
}

// Lobby returns the root object, bound to o's session.
func (o Object) Lobby() Object { return Object{oid: image.RootOID, s: o.session()} }

// NewObject returns a new object whose only slot is parent*, pointing at
// the root traits object (Lobby.traits) when the image has one.
func (o Object) NewObject() Object {
	s := o.session()
	n := Object{oid: s.newObject(), s: s}
	s.noteCreated(n.oid)
	return n
}

// String describes the object ("Lobby", "point (object 12)").
func (o Object) String() string {
	if o.s == nil || o.s.tx == nil {
		return fmt.Sprintf("object %d", o.oid)
	}
	return o.s.describe(o.oid)
}

func (o Object) session() *Session {
	if o.s == nil {
		panic(fmt.Errorf("send to the zero Object"))
	}
	if o.s.tx == nil {
		panic(ErrNoTransaction)
	}
	return o.s
}

func (o Object) state() *objState {
	st, err := o.session().tx.load(o.oid)
	if err != nil {
		panic(err)
	}
	return st
}

// ownMethod reports whether o's own slot name holds a method or a
// primitive: writing over or removing it changes o's methods.
func (o Object) ownMethod(name string) bool {
	st, err := o.s.tx.load(o.oid)
	if err != nil {
		return false
	}
	i := findSlot(st.slots, name)
	return i >= 0 && isMethodKind(st.slots[i].Kind)
}

func isMethodKind(k image.SlotKind) bool { return k == image.SlotMethod || k == image.SlotPrimitive }

func validSlotName(name string) error {
	switch {
	case name == "" || name == "*":
		return fmt.Errorf("empty slot name")
	case strings.ContainsAny(name, " \t\n\r\x00"):
		return fmt.Errorf("slot names cannot contain spaces or control characters")
	case strings.Count(name, "*") > 1 || strings.Contains(strings.TrimSuffix(name, "*"), "*"):
		return fmt.Errorf("'*' may only end a parent slot's name")
	}
	return nil
}
