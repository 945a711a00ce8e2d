package interp

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// recycleAfter is how many entries a workspace's interpreter compiles
// before the workspace replaces it. yaegi keeps what every Eval compiled
// (issue #1678), so each entry holds a little more memory than the one
// before. It used to cost more time too: yaegi copied its whole global
// frame at each Execute, which batos's copy no longer does
// (internal/yaegi/PATCH.md); `o := M; F(o["a"].(int)+1)` now takes
// 170–190 µs in a fresh workspace and after 4,000 entries, recycled or
// not (go test -bench WorkspaceEntry ./interp/; 205 and 795 µs before
// without recycling). A fresh interpreter costs a few milliseconds.
var recycleAfter = 500

const (
	carryPath = "batos/interp/carry"
	carryPkg  = hiddenPrefix + "carry"
)

// recycle replaces the workspace's interpreter with a fresh one holding
// the same variables, when every variable can be carried (see carriable):
// the user sees no difference but the time and memory it frees. When one
// cannot, the interpreter is kept, and tried again after as many entries.
//
// Only variables are carried: an entry that declared a func, type or
// const pins the interpreter (pinned) for good, since its code and types
// live in it, and so would every value of those types.
func (w *Workspace) recycle() {
	w.evals = 0
	names := make([]string, 0, len(w.declared))
	for name := range w.declared {
		names = append(names, name)
	}
	slices.Sort(names)
	globals := w.globals() // not w.in.Globals: see globals
	carried := map[string]reflect.Value{}
	for _, name := range names {
		v, ok := globals[name]
		if !ok || !v.IsValid() || !carriable(v, new(int)) {
			return
		}
		p := reflect.New(v.Type())
		p.Elem().Set(v)
		carried[name] = p.Elem()
	}
	in, cell, err := w.newInterpreter(carried)
	if err != nil {
		return
	}
	if len(names) > 0 {
		var b strings.Builder
		for _, name := range names {
			fmt.Fprintf(&b, "%s := %s.%s\n", name, carryPkg, name)
		}
		if _, err := in.Eval(b.String()); err != nil {
			return
		}
	}
	w.in, w.cur = in, cell
}

// maxCarried bounds the values recycle inspects: a workspace holding more
// keeps its interpreter.
const maxCarried = 10000

// carriable reports whether v can move to another interpreter unchanged:
// its type and every value it holds through an interface are the host's,
// not the interpreter's (whose struct types and functions belong to the
// interpreter that made them), and it shares no variable with another
// global (a pointer to an int may point at one). *seen counts the values
// inspected.
func carriable(v reflect.Value, seen *int) bool {
	if *seen++; *seen > maxCarried {
		return false
	}
	t := v.Type()
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Interface:
		return v.IsNil() || carriable(v.Elem(), seen)
	case reflect.Pointer:
		// A host type's pointer (an Object, a *strings.Builder) refers to
		// no interpreter variable.
		return t.Elem().PkgPath() != "" && t.Elem().Name() != ""
	case reflect.Slice, reflect.Array:
		if hostValue(t.Elem()) {
			return true
		}
		for i := range v.Len() {
			if !carriable(v.Index(i), seen) {
				return false
			}
		}
		return true
	case reflect.Map:
		if hostValue(t.Key()) && hostValue(t.Elem()) {
			return true
		}
		for it := v.MapRange(); it.Next(); {
			if !carriable(it.Key(), seen) || !carriable(it.Value(), seen) {
				return false
			}
		}
		return true
	case reflect.Struct:
		// A host's struct (a time.Time) holds no interpreter value but
		// through an exported interface field, which is not searched.
		return t.PkgPath() != "" && t.Name() != ""
	}
	return false // funcs, channels, unsafe pointers
}

// hostValue reports whether every value of type t is carriable whatever
// it holds: t is made of basic kinds and the host's named structs.
func hostValue(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array, reflect.Slice:
		return hostValue(t.Elem())
	case reflect.Map:
		return hostValue(t.Key()) && hostValue(t.Elem())
	case reflect.Struct:
		return t.PkgPath() != "" && t.Name() != ""
	}
	return false
}
