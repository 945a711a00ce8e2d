package kernel

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"batos/image"
	"batos/interp"
)

// storableTypes lists, for error messages, what a data slot can hold.
const storableTypes = "nil, bool, int, int64, float64, string, []byte, []any, map[string]any, Object, " +
	"and the typed []T and map[string]T for T one of bool, int, int64, float64, string " +
	"([]string, map[string]int...); a list of Objects is a []any"

// toStored converts a script value into the image's value model: Objects
// become Refs, recursively inside []any and map[string]any. Everything
// else must already be one of storableTypes. The typed containers ([]int,
// map[string]string...) are copied with their type, a nil one as nil: the
// image keeps both (see image.Slot).
//
// The walk is bounded (see interp's walk.go): a script can build a []any
// or map that contains itself, whose walk would overflow the Go stack, a
// fatal error no recover catches; or one whose parts are shared so that
// copying it as a tree would never end.
func toStored(v any) (any, error) {
	b := storeBudget{nodes: interp.MaxWalkNodes, bytes: interp.MaxWalkBytes}
	return b.store(v, 0)
}

// storeBudget is what is left of a toStored walk's budgets.
type storeBudget struct{ nodes, bytes int }

func (b *storeBudget) store(v any, depth int) (any, error) {
	if depth > image.MaxNesting {
		return nil, errNested
	}
	if b.nodes--; b.nodes < 0 {
		return nil, errTooLarge
	}
	switch v := v.(type) {
	case nil, bool, int, int64, float64:
		return v, nil
	case string:
		if b.bytes -= len(v); b.bytes < 0 {
			return nil, errTooLarge
		}
		return v, nil
	case []byte:
		if b.bytes -= len(v); b.bytes < 0 {
			return nil, errTooLarge
		}
		return append([]byte(nil), v...), nil
	case Object:
		if v.oid == 0 {
			return nil, fmt.Errorf("cannot store the zero Object")
		}
		return image.Ref{OID: v.oid}, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			s, err := b.store(e, depth+1)
			if err == errNested || err == errTooLarge {
				return nil, err
			}
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = s
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for key, e := range v {
			s, err := b.store(e, depth+1)
			if err == errNested || err == errTooLarge {
				return nil, err
			}
			if err != nil {
				return nil, fmt.Errorf("[%q]: %w", key, err)
			}
			out[key] = s
		}
		return out, nil
	case []bool:
		return storeSlice(b, v)
	case []int:
		return storeSlice(b, v)
	case []int64:
		return storeSlice(b, v)
	case []float64:
		return storeSlice(b, v)
	case []string:
		return storeSlice(b, v)
	case map[string]bool:
		return storeMap(b, v)
	case map[string]int:
		return storeMap(b, v)
	case map[string]int64:
		return storeMap(b, v)
	case map[string]float64:
		return storeMap(b, v)
	case map[string]string:
		return storeMap(b, v)
	}
	return nil, fmt.Errorf("cannot store a %T (storable: %s)", v, storableTypes)
}

// scalar is an element type of the typed containers.
type scalar interface {
	bool | int | int64 | float64 | string
}

// storeSlice copies a typed slice (nil stays nil), charging one node per
// element and the bytes of string elements, as a []any of them would.
func storeSlice[T scalar](b *storeBudget, v []T) (any, error) {
	if b.nodes -= len(v); b.nodes < 0 {
		return nil, errTooLarge
	}
	if ss, ok := any(v).([]string); ok {
		for _, e := range ss {
			if b.bytes -= len(e); b.bytes < 0 {
				return nil, errTooLarge
			}
		}
	}
	return slices.Clone(v), nil
}

// storeMap copies a typed map (nil stays nil), charging one node per entry
// and the bytes of its keys and string elements.
func storeMap[T scalar](b *storeBudget, v map[string]T) (any, error) {
	if b.nodes -= len(v); b.nodes < 0 {
		return nil, errTooLarge
	}
	for key, e := range v {
		b.bytes -= len(key)
		if s, ok := any(e).(string); ok {
			b.bytes -= len(s)
		}
		if b.bytes < 0 {
			return nil, errTooLarge
		}
	}
	return maps.Clone(v), nil
}

// toScript converts a stored value for a script running in s: Refs become
// Object handles bound to s. Containers are copied so that scripts can
// mutate what they read without touching the snapshot.
func toScript(v any, s *Session) any {
	switch v := v.(type) {
	case image.Ref:
		return Object{oid: v.OID, s: s}
	case []byte:
		return append([]byte(nil), v...)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = toScript(e, s)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for key, e := range v {
			out[key] = toScript(e, s)
		}
		return out
	case []bool:
		return slices.Clone(v)
	case []int:
		return slices.Clone(v)
	case []int64:
		return slices.Clone(v)
	case []float64:
		return slices.Clone(v)
	case []string:
		return slices.Clone(v)
	case map[string]bool:
		return maps.Clone(v)
	case map[string]int:
		return maps.Clone(v)
	case map[string]int64:
		return maps.Clone(v)
	case map[string]float64:
		return maps.Clone(v)
	case map[string]string:
		return maps.Clone(v)
	}
	return v
}

// formatStored prints a stored value the way a Go programmer would write
// it, with references as @OID.
func formatStored(v any) string {
	var b strings.Builder
	writeStored(&b, v)
	return b.String()
}

// writeStored appends v's text to b. The common cases go through strconv,
// not fmt: a commit's change list formats every changed slot twice, and
// Lobby.pLLM.generations alone holds up to a thousand references.
func writeStored(b *strings.Builder, v any) {
	var buf [32]byte
	switch v := v.(type) {
	case nil:
		b.WriteString("nil")
	case string:
		b.Write(strconv.AppendQuote(buf[:0], v))
	case image.Ref:
		b.WriteByte('@')
		b.Write(strconv.AppendUint(buf[:0], uint64(v.OID), 10))
	case int:
		b.Write(strconv.AppendInt(buf[:0], int64(v), 10))
	case bool:
		b.Write(strconv.AppendBool(buf[:0], v))
	case int64:
		b.WriteString("int64(")
		b.Write(strconv.AppendInt(buf[:0], v, 10))
		b.WriteByte(')')
	case float64:
		b.WriteString(formatFloat(v))
	case []byte:
		fmt.Fprintf(b, "[]byte(%q)", v)
	case []any:
		b.WriteString("[]any{")
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeStored(b, e)
		}
		b.WriteString("}")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("map[string]any{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.Write(strconv.AppendQuote(buf[:0], k))
			b.WriteString(": ")
			writeStored(b, v[k])
		}
		b.WriteString("}")
	case []bool:
		writeSlice(b, "[]bool", v)
	case []int:
		writeSlice(b, "[]int", v)
	case []int64:
		writeSlice(b, "[]int64", v)
	case []float64:
		writeSlice(b, "[]float64", v)
	case []string:
		writeSlice(b, "[]string", v)
	case map[string]bool:
		writeMap(b, "map[string]bool", v)
	case map[string]int:
		writeMap(b, "map[string]int", v)
	case map[string]int64:
		writeMap(b, "map[string]int64", v)
	case map[string]float64:
		writeMap(b, "map[string]float64", v)
	case map[string]string:
		writeMap(b, "map[string]string", v)
	default:
		fmt.Fprintf(b, "%v", v)
	}
}

// formatFloat prints a float64 as Go source would hold it: 1.0, not 1.
func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

// writeElem prints an element of a typed container; its type is the
// container's, so an int64 prints bare.
func writeElem[T scalar](b *strings.Builder, e T) {
	switch e := any(e).(type) {
	case string:
		b.WriteString(strconv.Quote(e))
	case float64:
		b.WriteString(formatFloat(e))
	default:
		fmt.Fprint(b, e)
	}
}

// writeSlice prints a typed slice as its literal: []int{1, 2}, or
// []int(nil).
func writeSlice[T scalar](b *strings.Builder, typ string, v []T) {
	b.WriteString(typ)
	if v == nil {
		b.WriteString("(nil)")
		return
	}
	b.WriteString("{")
	for i, e := range v {
		if i > 0 {
			b.WriteString(", ")
		}
		writeElem(b, e)
	}
	b.WriteString("}")
}

// writeMap prints a typed map as its literal, keys sorted:
// map[string]int{"a": 1}, or map[string]int(nil).
func writeMap[T scalar](b *strings.Builder, typ string, v map[string]T) {
	b.WriteString(typ)
	if v == nil {
		b.WriteString("(nil)")
		return
	}
	b.WriteString("{")
	for i, k := range slices.Sorted(maps.Keys(v)) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(b, "%q: ", k)
		writeElem(b, v[k])
	}
	b.WriteString("}")
}

// describeSlots names an object for people: Lobby, the value of its name
// slot, or "object N".
func describeSlots(oid image.OID, slots []image.Slot) string {
	if oid == image.RootOID {
		return "Lobby"
	}
	if i := findSlot(slots, "name"); i >= 0 {
		if n, ok := slots[i].Value.(string); ok && n != "" {
			return fmt.Sprintf("%s (object %d)", n, oid)
		}
	}
	return fmt.Sprintf("object %d", oid)
}

// errNested reports a value nested deeper than image.MaxNesting, which a
// cyclic value always is; it is not wrapped with the path at every level.
var errNested = fmt.Errorf("value nested deeper than %d levels (or cyclic)", image.MaxNesting)

// errTooLarge reports a value over the walk budgets: more than
// interp.MaxWalkNodes elements or interp.MaxWalkBytes of text, counting a
// shared part once per place it appears.
var errTooLarge = fmt.Errorf("value larger than %d elements or %d MiB of text (counting shared parts once per place)", interp.MaxWalkNodes, interp.MaxWalkBytes>>20)
