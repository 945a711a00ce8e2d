package kernel

import (
	"errors"
	"fmt"
	"strings"

	"batos/image"
)

// SlotsOf returns a copy of the slots of oid as the session's evaluation
// in progress sees them: a mirror for tools (the pLLM's context builder,
// browsers) that need slot kinds and raw values rather than sends.
func (s *Session) SlotsOf(oid image.OID) ([]image.Slot, error) {
	if s.tx == nil {
		return nil, ErrNoTransaction
	}
	st, err := s.tx.load(oid)
	if err != nil {
		return nil, err
	}
	return append([]image.Slot(nil), st.slots...), nil
}

// Walk visits the objects reachable from the Lobby, breadth first, each
// once, and at most max of them: visit gets each object's slots and says
// whether to go on into the objects they refer to. A reference to an
// object that is gone is passed over; any other error ends the walk.
func (s *Session) Walk(max int, visit func(oid image.OID, slots []image.Slot) (descend bool)) error {
	queue := []image.OID{image.RootOID}
	seen := map[image.OID]bool{image.RootOID: true}
	for len(queue) > 0 && len(seen) <= max {
		oid := queue[0]
		queue = queue[1:]
		slots, err := s.SlotsOf(oid)
		if errors.Is(err, image.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !visit(oid, slots) {
			continue
		}
		for _, child := range (&image.Record{Slots: slots}).Refs() {
			if !seen[child] {
				seen[child] = true
				queue = append(queue, child)
			}
		}
	}
	return nil
}

// Describe names oid for people, as error messages do.
func (s *Session) Describe(oid image.OID) string { return s.describe(oid) }

// Format prints a script value for people, as the REPL does.
func (s *Session) Format(v any) string { return s.format(v) }

// Bind returns a value in the image's model (as decoded from the image or
// a wire) as scripts see it: references become Objects bound to s,
// recursively inside []any and map[string]any.
func (s *Session) Bind(v any) any { return toScript(v, s) }

// Chain returns oid and the objects it delegates to, in lookup order: the
// object itself, then each parent in slot order, depth first, each once.
func (s *Session) Chain(oid image.OID) ([]image.OID, error) {
	if s.tx == nil {
		return nil, ErrNoTransaction
	}
	var chain []image.OID
	seen := map[image.OID]bool{}
	var visit func(oid image.OID) error
	visit = func(oid image.OID) error {
		if seen[oid] {
			return nil
		}
		seen[oid] = true
		chain = append(chain, oid)
		st, err := s.tx.load(oid)
		if err != nil {
			return err
		}
		for _, sl := range st.slots {
			if ref, ok := sl.Value.(image.Ref); ok && sl.Kind == image.SlotParent {
				if err := visit(ref.OID); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return chain, visit(oid)
}

// SetPrimitive makes slot name of object oid a method slot bound to the
// registered primitive prim: how Go code that installs a native behaviour
// (the Forge, the entropy metric) puts it into an image awakened before it
// existed. It is a Session's, not an Object's, so that scripts, which see
// Objects only, cannot bind primitives.
func (s *Session) SetPrimitive(oid image.OID, name, prim string) error {
	if s.tx == nil {
		return ErrNoTransaction
	}
	if _, ok := s.k.primitive(prim); !ok {
		return &SlotError{Object: s.describe(oid), Slot: name, Msg: fmt.Sprintf("unknown primitive %q", prim)}
	}
	if err := validSlotName(name); err != nil || strings.HasSuffix(name, "*") {
		return &SlotError{Object: s.describe(oid), Slot: name, Msg: "not a method name"}
	}
	return s.tx.setSlot(oid, image.Slot{Name: name, Kind: image.SlotPrimitive, Value: image.Primitive{Name: prim}})
}
