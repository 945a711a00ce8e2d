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
// package: call(in) runs it with the arguments in (a variadic function's
// last one as a slice, as reflect.Value.CallSlice takes them) and returns
// its results, as calling the function's value through reflect would,
// without reflect's call and reflect.MakeFunc's stub (their allocations
// and argument layout lookups). Each argument must be assignable to its
// parameter's type.
func (interp *Interpreter) Func(name string) (call func(in []reflect.Value) []reflect.Value, err error) {
	interp.mutex.RLock()
	sym, ok := interp.srcPkg["main"][name]
	interp.mutex.RUnlock()
	if !ok || sym.kind != funcSym || sym.node == nil {
		return nil, fmt.Errorf("%s is not a function of the main package", name)
	}
	def := sym.node
	if def.kind != funcDecl || def.typ == nil || len(def.child) < 4 {
		return nil, fmt.Errorf("%s is not a function declaration", name)
	}
	body := genFunctionCall(def, def)()
	f := interp.frame
	return func(in []reflect.Value) []reflect.Value { return body(f, in) }, nil
}
