package interp

import (
	"go/ast"
	"go/token"
	"reflect"
)

// convert fits args to m's parameter types. It returns args itself when
// every value already has its parameter's type (the common case, no
// allocation), else a converted copy.
func (m *Method) convert(args []any) ([]any, error) {
	fixed := len(m.params)
	variadic := m.Sig.Variadic
	if variadic {
		fixed--
	}
	if len(args) != fixed && !(variadic && len(args) >= fixed) {
		return nil, &ArgumentError{Selector: m.Selector, Want: fixed, Variadic: variadic, Count: len(args)}
	}
	var out []any
	for i := 0; i < fixed; i++ {
		v, same, ok := convertValue(args[i], m.params[i])
		if !ok {
			return nil, &ArgumentError{Selector: m.Selector, Index: i + 1, Param: m.Sig.Params[i], Got: args[i]}
		}
		if !same && out == nil {
			out = make([]any, len(m.params))
			copy(out, args[:i])
		}
		if out != nil {
			out[i] = v
		}
	}
	if !variadic {
		if out == nil {
			return args, nil
		}
		return out, nil
	}
	if out == nil {
		out = make([]any, len(m.params))
		copy(out, args[:fixed])
	}
	st := m.params[fixed]
	rest := reflect.MakeSlice(st, len(args)-fixed, len(args)-fixed)
	for i, a := range args[fixed:] {
		v, _, ok := convertValue(a, st.Elem())
		if !ok {
			return nil, &ArgumentError{Selector: m.Selector, Index: fixed + i + 1, Param: Param{Name: m.Sig.Params[fixed].Name, Type: m.Sig.Params[fixed].Type}, Got: a}
		}
		if v != nil {
			rest.Index(i).Set(reflect.ValueOf(v))
		}
	}
	out[fixed] = rest.Interface()
	return out, nil
}

// convertValue converts v to type t: values assignable to t pass as they
// are (same reports that); nil becomes t's zero value when t is nilable;
// numbers convert between numeric kinds when no information is lost
// (2 → 2.0, 3.0 → 3, but not 3.5 → int, -1 → uint or 1e300 → int).
func convertValue(v any, t reflect.Type) (out any, same, ok bool) {
	if v == nil {
		switch t.Kind() {
		case reflect.Interface:
			return nil, true, true
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Func, reflect.Chan:
			return reflect.Zero(t).Interface(), false, true
		}
		return nil, false, false
	}
	vt := reflect.TypeOf(v)
	if vt == t {
		return v, true, true
	}
	if vt.AssignableTo(t) {
		if t.Kind() == reflect.Interface {
			return v, true, true
		}
		return reflect.ValueOf(v).Convert(t).Interface(), false, true
	}
	if !isNumeric(vt.Kind()) || !isNumeric(t.Kind()) {
		return nil, false, false
	}
	rv := reflect.ValueOf(v)
	cv := rv.Convert(t)
	if sign(rv) != sign(cv) || cv.Convert(vt).Interface() != v {
		return nil, false, false
	}
	if isFloat(t.Kind()) && !isFloat(vt.Kind()) {
		// int → float: the round trip above can pass for 2^63 after
		// saturation; check the float is below the int range bound.
		f := cv.Float()
		if f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 {
			return nil, false, false
		}
	}
	return cv.Interface(), false, true
}

func isNumeric(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Float64
}

func isFloat(k reflect.Kind) bool { return k == reflect.Float32 || k == reflect.Float64 }

func sign(v reflect.Value) int {
	switch {
	case v.CanInt():
		switch x := v.Int(); {
		case x < 0:
			return -1
		case x > 0:
			return 1
		}
	case v.CanUint():
		if v.Uint() > 0 {
			return 1
		}
	case v.CanFloat():
		switch x := v.Float(); {
		case x < 0:
			return -1
		case x > 0:
			return 1
		}
	}
	return 0
}

// walkIdents calls fn for each identifier in n.
func walkIdents(n ast.Node, fn func(name string, pos, end token.Pos)) {
	ast.Inspect(n, func(c ast.Node) bool {
		if id, ok := c.(*ast.Ident); ok {
			fn(id.Name, id.Pos(), id.End())
		}
		return true
	})
}
