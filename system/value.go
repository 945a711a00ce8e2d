package system

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"

	"batos/api"
	"batos/image"
	"batos/kernel"
)

// maxString bounds a string value carried whole; a longer one is cut and
// marked Truncated (its Text is bounded by the kernel's printer).
const maxString = 1 << 20

// maxDepth bounds how deep a Value nests; deeper elements are left out
// and the containers above them marked Truncated.
const maxDepth = 32

// valueBuilder turns script and stored values into api.Values within one
// budget of api.MaxValueNodes elements and 100 levels, so that a hostile
// value (a []any holding itself, a map of a million keys) costs a bounded
// walk. Objects are named afterwards, in one read (see nameRefs).
type valueBuilder struct {
	s     *kernel.Session
	nodes int
	refs  []*api.Ref
}

// top converts a whole value. A script value (a result) is printed as it
// is; a stored one (a slot's) is bound first, so that its references
// print as the objects they name. Stored values are never cyclic; script
// values may be, and Format bounds them.
func (b *valueBuilder) top(v any, stored bool) api.Value {
	out := b.value(v, 0)
	if out.Kind == api.ValueObject {
		return out
	}
	if stored {
		v = b.s.Bind(v)
	}
	out.Text = b.s.Format(v)
	return out
}

func (b *valueBuilder) ref(oid uint64) api.Value {
	r := &api.Ref{OID: oid, Name: fmt.Sprintf("object %d", oid)}
	b.refs = append(b.refs, r)
	return api.Value{Kind: api.ValueObject, Type: "Object", Object: r, Text: r.Name}
}

func (b *valueBuilder) value(v any, depth int) api.Value {
	b.nodes++
	switch v := v.(type) {
	case nil:
		return api.Nil()
	case kernel.Object:
		return b.ref(v.ID())
	case image.Ref:
		return b.ref(uint64(v.OID))
	case bool:
		return api.Bool(v)
	case string:
		if len(v) > maxString {
			out := api.String(v[:maxString])
			out.Truncated = true
			out.Text = ""
			return out
		}
		return api.String(v)
	case float64:
		return api.Float(v)
	case float32:
		out := api.Float(float64(v))
		out.Type = "float32"
		return out
	case []any:
		out := api.List()
		if depth > 0 {
			out.Text = fmt.Sprintf("[]any (%d items)", len(v))
		}
		for _, e := range v {
			if b.nodes >= api.MaxValueNodes || depth >= maxDepth {
				out.Truncated = true
				break
			}
			item := b.value(e, depth+1)
			out.Truncated = out.Truncated || item.Truncated
			out.Items = append(out.Items, item)
		}
		return out
	case map[string]any:
		out := api.Map()
		if depth > 0 {
			out.Text = fmt.Sprintf("map[string]any (%d keys)", len(v))
		}
		if len(v) > api.MaxValueNodes-b.nodes {
			out.Truncated = true
			return out
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if b.nodes >= api.MaxValueNodes || depth >= maxDepth {
				out.Truncated = true
				break
			}
			item := b.value(v[k], depth+1)
			out.Truncated = out.Truncated || item.Truncated
			out.Entries = append(out.Entries, api.Entry{Key: k, Value: item})
		}
		return out
	case []bool, []int, []int64, []float64, []string:
		return b.typedList(reflect.ValueOf(v), depth)
	case map[string]bool, map[string]int, map[string]int64, map[string]float64, map[string]string:
		return b.typedMap(reflect.ValueOf(v), depth)
	case error:
		return api.Value{Kind: api.ValueError, Type: fmt.Sprintf("%T", v), Text: b.s.Format(v)}
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		out := api.Int(rv.Int())
		out.Type = fmt.Sprintf("%T", v)
		out.Text = b.s.Format(v) // a time.Duration prints as 1.5s
		return out
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u <= math.MaxInt64 {
			out := api.Int(int64(u))
			out.Type = fmt.Sprintf("%T", v)
			out.Text = b.s.Format(v)
			return out
		}
	}
	return api.Value{Kind: api.ValueGo, Type: fmt.Sprintf("%T", v), Text: b.s.Format(v)}
}

// typedList converts a typed slice ([]int, []string...; see
// api.TypedContainer) within the same budget as a []any.
func (b *valueBuilder) typedList(rv reflect.Value, depth int) api.Value {
	out := api.ListOf(rv.Type().String())
	if depth > 0 {
		out.Text = containerText(rv, "items")
	}
	for i := 0; i < rv.Len(); i++ {
		if b.nodes >= api.MaxValueNodes || depth >= maxDepth {
			out.Truncated = true
			break
		}
		item := b.value(rv.Index(i).Interface(), depth+1)
		out.Truncated = out.Truncated || item.Truncated
		out.Items = append(out.Items, item)
	}
	return out
}

// typedMap converts a typed map (map[string]int...) within the same
// budget as a map[string]any.
func (b *valueBuilder) typedMap(rv reflect.Value, depth int) api.Value {
	out := api.MapOf(rv.Type().String())
	if depth > 0 {
		out.Text = containerText(rv, "keys")
	}
	if rv.Len() > api.MaxValueNodes-b.nodes {
		out.Truncated = true
		return out
	}
	keys := rv.MapKeys()
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, k := range keys {
		if b.nodes >= api.MaxValueNodes || depth >= maxDepth {
			out.Truncated = true
			break
		}
		item := b.value(rv.MapIndex(k).Interface(), depth+1)
		out.Truncated = out.Truncated || item.Truncated
		out.Entries = append(out.Entries, api.Entry{Key: k.String(), Value: item})
	}
	return out
}

// containerText is a nested container's Text: "[]int (3 items)",
// "map[string]int (2 keys)", "[]int(nil)".
func containerText(rv reflect.Value, unit string) string {
	if rv.IsNil() {
		return rv.Type().String() + "(nil)"
	}
	return fmt.Sprintf("%s (%d %s)", rv.Type(), rv.Len(), unit)
}

// nameRefs names the objects the built values refer to, as they are now.
func (b *valueBuilder) nameRefs(s *kernel.Session) {
	for _, r := range b.refs {
		r.Name = s.Describe(image.OID(r.OID))
	}
}

// fromValue turns a client's Value into the image's model, as a script
// would hold it: objects become handles bound to s, after checking that
// they exist. Kinds a slot cannot hold are refused.
func fromValue(s *kernel.Session, v api.Value, depth int) (any, error) {
	if depth > 100 {
		return nil, api.Errorf(api.ErrInvalid, "value nested more than 100 levels")
	}
	switch v.Kind {
	case api.ValueNil:
		return nil, nil
	case api.ValueBool:
		return v.Bool, nil
	case api.ValueInt:
		if v.Type == "int64" {
			return v.Int, nil
		}
		return int(v.Int), nil
	case api.ValueFloat:
		f, err := strconv.ParseFloat(v.Float, 64)
		if err != nil {
			return nil, api.Errorf(api.ErrInvalid, "float %q: %v", v.Float, err)
		}
		return f, nil
	case api.ValueString:
		return v.String, nil
	case api.ValueObject:
		if v.Object == nil || v.Object.OID == 0 {
			return nil, api.Errorf(api.ErrInvalid, "object value without an object id")
		}
		if _, err := s.SlotsOf(image.OID(v.Object.OID)); err != nil {
			return nil, &api.Error{Kind: api.ErrNotFound, Message: fmt.Sprintf("object %d: %v", v.Object.OID, err), Object: v.Object}
		}
		return s.Object(image.OID(v.Object.OID)), nil
	case api.ValueList:
		if v.Truncated {
			return nil, api.Errorf(api.ErrInvalid, "a truncated list cannot be stored")
		}
		if isMap, elem, ok := api.TypedContainer(v.Type); ok && !isMap {
			return typedFromValue(v, elem)
		}
		out := make([]any, len(v.Items))
		for i, it := range v.Items {
			e, err := fromValue(s, it, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case api.ValueMap:
		if v.Truncated {
			return nil, api.Errorf(api.ErrInvalid, "a truncated map cannot be stored")
		}
		if isMap, elem, ok := api.TypedContainer(v.Type); ok && isMap {
			return typedFromValue(v, elem)
		}
		out := make(map[string]any, len(v.Entries))
		for _, en := range v.Entries {
			e, err := fromValue(s, en.Value, depth+1)
			if err != nil {
				return nil, err
			}
			out[en.Key] = e
		}
		return out, nil
	}
	return nil, api.Errorf(api.ErrInvalid, "a %s value cannot be sent or stored (only nil, bool, int, float, string, list, map and object)", orUnknown(string(v.Kind)))
}

func orUnknown(s string) string {
	if s == "" {
		return "kindless"
	}
	return s
}

// typedGoTypes are the element types of the typed containers, by name.
var typedGoTypes = map[string]reflect.Type{
	"bool":    reflect.TypeFor[bool](),
	"int":     reflect.TypeFor[int](),
	"int64":   reflect.TypeFor[int64](),
	"float64": reflect.TypeFor[float64](),
	"string":  reflect.TypeFor[string](),
}

// typedFromValue builds the typed slice or map v.Type names, whose
// element type is elem; every item must be of elem's kind. An empty one
// is empty, not nil: a Value does not say which it was.
func typedFromValue(v api.Value, elem string) (any, error) {
	et := typedGoTypes[elem]
	item := func(it api.Value, where string) (reflect.Value, error) {
		e, err := typedElemFromValue(it, elem)
		if err != nil {
			return reflect.Value{}, api.Errorf(api.ErrInvalid, "%s of a %s: %v", where, v.Type, err)
		}
		return reflect.ValueOf(e).Convert(et), nil
	}
	if v.Kind == api.ValueList {
		out := reflect.MakeSlice(reflect.SliceOf(et), len(v.Items), len(v.Items))
		for i, it := range v.Items {
			e, err := item(it, fmt.Sprintf("item %d", i))
			if err != nil {
				return nil, err
			}
			out.Index(i).Set(e)
		}
		return out.Interface(), nil
	}
	out := reflect.MakeMapWithSize(reflect.MapOf(reflect.TypeFor[string](), et), len(v.Entries))
	for _, en := range v.Entries {
		e, err := item(en.Value, fmt.Sprintf("key %q", en.Key))
		if err != nil {
			return nil, err
		}
		out.SetMapIndex(reflect.ValueOf(en.Key), e)
	}
	return out.Interface(), nil
}

// typedElemFromValue converts one item of a typed container.
func typedElemFromValue(it api.Value, elem string) (any, error) {
	want := map[string]api.ValueKind{"bool": api.ValueBool, "int": api.ValueInt, "int64": api.ValueInt, "float64": api.ValueFloat, "string": api.ValueString}[elem]
	if it.Kind != want {
		return nil, fmt.Errorf("a %s value is not a %s", orUnknown(string(it.Kind)), elem)
	}
	if it.Truncated {
		return nil, fmt.Errorf("a truncated %s cannot be stored", elem)
	}
	switch elem {
	case "bool":
		return it.Bool, nil
	case "int":
		if int64(int(it.Int)) != it.Int {
			return nil, fmt.Errorf("%d overflows int", it.Int)
		}
		return int(it.Int), nil
	case "int64":
		return it.Int, nil
	case "float64":
		f, err := strconv.ParseFloat(it.Float, 64)
		if err != nil {
			return nil, fmt.Errorf("float %q: %v", it.Float, err)
		}
		return f, nil
	}
	return it.String, nil
}
