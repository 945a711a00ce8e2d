package kernel

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"batos/image"
	"batos/interp"
)

// storableTypes lists, for error messages, what a data slot can hold.
const storableTypes = "nil, bool, int, int64, float64, string, []byte, []any, map[string]any, Object"

// toStored converts a script value into the image's value model: Objects
// become Refs, recursively inside []any and map[string]any. Everything
// else must already be one of storableTypes.
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
	}
	return nil, fmt.Errorf("cannot store a %T (storable: %s)", v, storableTypes)
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

func writeStored(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("nil")
	case string:
		b.WriteString(strconv.Quote(v))
	case image.Ref:
		fmt.Fprintf(b, "@%d", v.OID)
	case int64:
		fmt.Fprintf(b, "int64(%d)", v)
	case float64:
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		b.WriteString(s)
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
			fmt.Fprintf(b, "%q: ", k)
			writeStored(b, v[k])
		}
		b.WriteString("}")
	default:
		fmt.Fprintf(b, "%v", v)
	}
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
