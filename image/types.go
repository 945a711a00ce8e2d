package image

import "fmt"

// OID identifies an object for the life of the image. 0 is never a valid
// object; RootOID is reserved for the Lobby.
type OID uint64

// RootOID is the Lobby. The kernel creates it in the first transaction of an
// empty image; Pack keeps everything reachable from it.
const RootOID OID = 1

// firstFreeOID is the first OID NewOID hands out in a fresh image: OIDs below
// it are reserved for well-known objects.
const firstFreeOID OID = 2

// TxID identifies a committed transaction. IDs increase monotonically and
// start at 1; 0 means "no transaction" (an empty image, an uncommitted or
// read-only transaction).
type TxID uint64

// SlotKind says how the kernel interprets a slot's value.
type SlotKind uint8

// Slot kinds. The numeric values are persisted; never renumber them.
const (
	SlotData SlotKind = iota + 1
	SlotMethod
	SlotPrimitive
	SlotParent
)

// String returns "data", "method", "primitive" or "parent".
func (k SlotKind) String() string {
	switch k {
	case SlotData:
		return "data"
	case SlotMethod:
		return "method"
	case SlotPrimitive:
		return "primitive"
	case SlotParent:
		return "parent"
	}
	return fmt.Sprintf("SlotKind(%d)", uint8(k))
}

func (k SlotKind) valid() bool { return k >= SlotData && k <= SlotParent }

// Ref is a reference to an object. Refs may appear in any data value,
// nested inside []any and map[string]any; Pack and Check follow them all.
type Ref struct{ OID OID }

// Method is the Go source of a method slot (the value of a SlotMethod slot)
// and the principal that wrote it: "user", "pLLM/BRICK", "autotelic",
// "awakening" for the codex's methods, "" for methods written before
// authors were recorded. The kernel's write policy restricts methods whose
// author is a model's.
type Method struct {
	Source string
	Author string
}

// Primitive names a native behaviour (the value of a SlotPrimitive slot). Only
// the name is persisted; the kernel binds it to Go code when it loads.
type Primitive struct{ Name string }

// Slot is one named, ordered entry of an object.
//
// Value types allowed by kind:
//
//	SlotData       nil, bool, int, int64, float64, string, []byte, []any,
//	               map[string]any, Ref, Method, Primitive (nested freely), and
//	               the typed containers []T and map[string]T for T one of
//	               bool, int, int64, float64, string (nil ones stay nil)
//	SlotParent     Ref (or nil while unset)
//	SlotMethod     Method
//	SlotPrimitive  Primitive
type Slot struct {
	Name  string
	Kind  SlotKind
	Value any
}

// Record is one revision of an object.
//
// Records returned by the store are shared and must be treated as immutable
// by callers: Clone before editing. Put takes ownership of the record passed
// in, so the caller must not modify it afterwards either.
type Record struct {
	OID    OID
	Serial TxID // transaction that wrote this revision; set by the store on commit, ignored by Put
	Slots  []Slot
}

// Slot finds a slot by name and returns it with its index.
func (r *Record) Slot(name string) (Slot, int, bool) {
	for i, s := range r.Slots {
		if s.Name == name {
			return s, i, true
		}
	}
	return Slot{}, -1, false
}

// Clone copies the record and its slot slice, so slots can be added, removed
// or replaced without touching the original. Values are shared: they are
// immutable by convention.
func (r *Record) Clone() *Record {
	c := *r
	c.Slots = append([]Slot(nil), r.Slots...)
	return &c
}

// Refs returns every OID referenced by the record's slot values, including
// Refs nested inside []any and map[string]any, in slot order (duplicates
// kept).
func (r *Record) Refs() []OID {
	var out []OID
	for _, s := range r.Slots {
		walkRefs(s.Value, func(o OID) { out = append(out, o) })
	}
	return out
}

// walkRefs calls fn for every Ref inside v. Decoded and validated values are
// acyclic and depth-limited, so the recursion is bounded.
func walkRefs(v any, fn func(OID)) {
	switch x := v.(type) {
	case Ref:
		fn(x.OID)
	case []any:
		for _, e := range x {
			walkRefs(e, fn)
		}
	case map[string]any:
		for _, e := range x {
			walkRefs(e, fn)
		}
	}
}
