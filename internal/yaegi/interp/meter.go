package interp

import (
	"fmt"
	"reflect"
)

// This file is batos's addition to yaegi (see ../PATCH.md).

// A Meter bounds the work of interpreted code from inside the interpreter,
// where it costs a counter per instruction instead of interpreted
// statements and native calls per function: Enter admits each function
// body, Tick is told of every MeterInterval instructions a body runs, and
// Leave of the rest when the body ends.
//
// A frame runs under the meter of the frame it was created from: a call
// under its caller's, a closure under the frame that made it. A function
// called from Go takes the meter of its first argument when that argument
// is a non-nil pointer implementing Metered, and otherwise runs unmetered (as
// every frame does when no meter is ever given), exactly as upstream yaegi.
//
// A meter belongs to one goroutine at a time: the calls are not
// synchronized.
type Meter interface {
	// Enter is called before a function body runs; false makes the
	// function return at once, its results as they are (zero values).
	// Enter may panic instead.
	Enter() bool
	// Leave is called when a body Enter admitted ends, by returning or by
	// panicking; steps is the instructions it ran since its last Tick.
	Leave(steps int)
	// Tick is called each time a body has run steps more instructions;
	// false makes the body return at once, its results as they are. Tick
	// may panic instead.
	Tick(steps int) bool
}

// MeterInterval is how many instructions a metered body runs between
// calls to its meter's Tick.
const MeterInterval = 256

// Metered is implemented by a value that carries a Meter (see Meter).
type Metered interface {
	Meter() Meter
}

// Func returns a native entry to the function name declared in the main
// package, and the function's type: call(m, in) runs it under the meter m
// with the arguments in (a variadic function's last one as a slice, as
// reflect.Value.CallSlice takes them) and returns its results, as calling
// the function's value through reflect would, without reflect's call and
// the trampoline reflect.MakeFunc makes (their allocations and argument
// layout lookups). Each argument must be assignable to its parameter's
// type. A nil m runs it as a call through reflect would: under its first
// argument's meter, if that is Metered.
func (interp *Interpreter) Func(name string) (call func(m Meter, in []reflect.Value) []reflect.Value, typ reflect.Type, err error) {
	interp.mutex.RLock()
	sym, ok := interp.srcPkg["main"][name]
	interp.mutex.RUnlock()
	if !ok || sym.kind != funcSym || sym.node == nil {
		return nil, nil, fmt.Errorf("%s is not a function of the main package", name)
	}
	def := sym.node
	if def.kind != funcDecl || def.typ == nil || len(def.child) < 4 {
		return nil, nil, fmt.Errorf("%s is not a function declaration", name)
	}
	defer func() {
		if r := recover(); r != nil {
			call, typ, err = nil, nil, fmt.Errorf("function %s: %v", name, r)
		}
	}()
	typ = def.typ.TypeOf()
	body := genFunctionCall(def, def)()
	f := interp.frame
	return func(m Meter, in []reflect.Value) []reflect.Value { return body(f, in, m) }, typ, nil
}

// A DirectMethod is a native entry to the method Name of the native type
// Type (a method with a value receiver and at most one result): Call(recv,
// in) must do exactly what calling the method on recv with the arguments
// in would, variadic ones passed one by one, and return its result (the
// zero Value when it has none). Interpreted code calls it instead of
// calling the method through reflect, which costs a few hundred
// nanoseconds and several allocations a call; a call that spreads a slice
// (f(xs...)), is deferred or is a go statement still goes through reflect.
type DirectMethod struct {
	Type reflect.Type
	Name string
	Call func(recv reflect.Value, in []reflect.Value) reflect.Value
}

type directKey struct {
	typ  reflect.Type
	name string
}

// Direct registers m for the code compiled from now on. It fails unless
// Type has a method Name with a value receiver.
func (interp *Interpreter) Direct(m DirectMethod) error {
	if m.Type == nil || m.Call == nil || m.Type.Kind() == reflect.Interface {
		return fmt.Errorf("direct method %s: want a concrete type and a call", m.Name)
	}
	meth, ok := m.Type.MethodByName(m.Name)
	if !ok {
		return fmt.Errorf("direct method: %s has no method %s with a value receiver", m.Type, m.Name)
	}
	if meth.Type.NumOut() > 1 {
		return fmt.Errorf("direct method %s.%s: has %d results, want at most one", m.Type, m.Name, meth.Type.NumOut())
	}
	interp.mutex.Lock()
	defer interp.mutex.Unlock()
	if interp.direct == nil {
		interp.direct = map[directKey]DirectMethod{}
	}
	interp.direct[directKey{m.Type, m.Name}] = m
	return nil
}

// directMethod returns the direct entry of the method c0 selects, if any:
// only a method found on a native value type itself (getIndexBinMethod),
// whose receiver is that type.
func (interp *Interpreter) directMethod(c0 *node) func(reflect.Value, []reflect.Value) reflect.Value {
	if c0.kind != selectorExpr || c0.action != aGetMethod || c0.recv == nil || len(c0.child) < 2 {
		return nil
	}
	rt := c0.child[0].typ
	if rt == nil || rt.cat != valueT || rt.rtype == nil || rt.rtype.Kind() == reflect.Interface {
		return nil
	}
	ft := c0.typ.rtype
	if ft == nil || ft.Kind() != reflect.Func || ft.NumIn() == 0 || ft.In(0) != rt.rtype {
		return nil
	}
	interp.mutex.RLock()
	m, ok := interp.direct[directKey{rt.rtype, c0.child[1].ident}]
	interp.mutex.RUnlock()
	if !ok {
		return nil
	}
	return m.Call
}
