package interp

import (
	"fmt"
	"reflect"
)

// Every walk of a script value — printing it, storing it, encoding it,
// describing it in an error — is bounded before it starts. A script can
// build a value that contains itself (a map holding itself, a struct
// pointing to itself through an interface) or one whose parts are shared
// so that its expansion is exponential (a slice holding the same slice
// twice, nested 30 deep: a billion leaves in a few hundred bytes). fmt,
// encoding/json and the image's codec walk values as trees; walking such a
// value overflows the Go stack (a fatal error no recover catches) or runs
// for hours in native code that no guard can interrupt. So a walker first
// measures the value as the consumer would expand it, within these
// budgets, and refuses it with a *ValueError when it does not fit.
const (
	// MaxNesting bounds how deep a walk may go: containers, pointers and
	// interfaces each count one level. A cyclic value always exceeds it.
	MaxNesting = 100
	// MaxWalkNodes bounds the nodes of a value expanded as a tree: every
	// element, field, key and value counts, a shared part once per place
	// it appears.
	MaxWalkNodes = 1_000_000
	// MaxWalkBytes bounds the bytes of strings (and []byte) in a value
	// expanded as a tree: what printing or encoding it would at least
	// write.
	MaxWalkBytes = 64 << 20
)

// ValueError reports a value refused by a bounded walk.
type ValueError struct {
	Op   string // what would have walked it: "print", "store", "encode"
	Type string // the value's Go type
	Why  string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("cannot %s a %s: %s", e.Op, e.Type, e.Why)
}

// walkMode says how a consumer expands a value.
type walkMode int

const (
	// walkPrint follows fmt: pointers are followed only at the top level
	// (fmt prints nested pointers as addresses), and a value with a
	// String, Error or Format method is a leaf (fmt calls the method).
	walkPrint walkMode = iota
	// walkDeep follows every pointer, as encoding/json and the codec do.
	walkDeep
)

type walker struct {
	mode  walkMode
	nodes int
	bytes int
	why   string
}

// CheckPrint reports whether fmt may print v: a *ValueError when v is
// cyclic, nested deeper than MaxNesting, or larger than MaxWalkNodes or
// MaxWalkBytes as fmt would expand it; nil otherwise. It costs at most
// MaxWalkNodes steps.
func CheckPrint(v any) error { return check("print", v, walkPrint) }

// CheckDeep is CheckPrint for walks that follow every pointer (encoding,
// storing, copying).
func CheckDeep(op string, v any) error { return check(op, v, walkDeep) }

func check(op string, v any, mode walkMode) error {
	_, err := measure(op, v, mode)
	return err
}

// measure is check that also returns the nodes of v as walked.
func measure(op string, v any, mode walkMode) (int, error) {
	w := walker{mode: mode}
	rv, ok := v.(reflect.Value) // fmt prints a reflect.Value as the value it holds
	if !ok {
		rv = reflect.ValueOf(v)
	}
	if !w.walk(rv, 0) {
		return w.nodes, &ValueError{Op: op, Type: typeString(v), Why: w.why}
	}
	return w.nodes, nil
}

func typeString(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}

var (
	stringerType  = reflect.TypeFor[fmt.Stringer]()
	errorType     = reflect.TypeFor[error]()
	formatterType = reflect.TypeFor[fmt.Formatter]()
)

func (w *walker) fail(why string) bool {
	w.why = why
	return false
}

func (w *walker) node(n int) bool {
	w.nodes += n
	if w.nodes > MaxWalkNodes {
		return w.fail(fmt.Sprintf("more than %d elements (counting shared parts once per place; is a part shared many times?)", MaxWalkNodes))
	}
	return true
}

func (w *walker) text(n int) bool {
	w.bytes += n
	if w.bytes > MaxWalkBytes {
		return w.fail(fmt.Sprintf("more than %d bytes of text", MaxWalkBytes))
	}
	return true
}

// walk measures v found depth levels deep and reports whether it fits.
func (w *walker) walk(v reflect.Value, depth int) bool {
	if depth > MaxNesting {
		return w.fail(fmt.Sprintf("nested deeper than %d levels (is it cyclic?)", MaxNesting))
	}
	if !w.node(1) {
		return false
	}
	if !v.IsValid() {
		return true
	}
	if w.mode == walkPrint && v.CanInterface() && v.Type().Implements(errorType) && (v.Kind() != reflect.Pointer || !v.IsNil()) {
		// fmt calls Error, and the library's wrapping errors recurse
		// natively through what they wrap.
		if e, ok := v.Interface().(error); ok {
			if err := checkErrorChain(e, depth); err != nil {
				return w.fail(err.(*ValueError).Why)
			}
		}
	}
	if w.mode == walkPrint && depth > 0 && v.CanInterface() {
		t := v.Type()
		if t.Implements(stringerType) || t.Implements(errorType) || t.Implements(formatterType) {
			return true
		}
	}
	switch v.Kind() {
	case reflect.String:
		return w.text(v.Len())
	case reflect.Interface:
		if v.IsNil() {
			return true
		}
		return w.walk(v.Elem(), depth+1)
	case reflect.Pointer:
		if v.IsNil() || (w.mode == walkPrint && depth > 0) {
			return true
		}
		return w.walk(v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return true
		}
		n := v.Len()
		if scalar(v.Type().Elem().Kind()) {
			// Elements fmt prints as numbers: a few bytes each.
			return w.node(n) && w.text(n)
		}
		for i := 0; i < n; i++ {
			if !w.walk(v.Index(i), depth+1) {
				return false
			}
		}
		return true
	case reflect.Map:
		if v.IsNil() {
			return true
		}
		it := v.MapRange()
		for it.Next() {
			if !w.walk(it.Key(), depth+1) || !w.walk(it.Value(), depth+1) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if !w.walk(v.Field(i), depth+1) {
				return false
			}
		}
		return true
	}
	return true
}

// scalar reports whether values of kind k are leaves of fixed, small
// printed size.
func scalar(k reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128,
		reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return true
	}
	return false
}

// CheckError reports whether e's Error method may be called: the errors
// it wraps must not nest deeper than MaxNesting nor number more than
// MaxWalkNodes, since the library's wrapping errors recurse natively
// through them.
func CheckError(e error) error { return checkErrorChain(e, 0) }

// Sprint formats v with fmt's %v when CheckPrint allows it, and otherwise
// describes the refusal in angle brackets; it never walks v unbounded. It
// is what error messages and result printers use for script values.
func Sprint(v any) string {
	if err := CheckPrint(v); err != nil {
		return fmt.Sprintf("<%s: %s>", typeString(v), err.(*ValueError).Why)
	}
	return fmt.Sprintf("%v", v)
}
