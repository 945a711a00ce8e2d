// Package plainyaegi measures what upstream yaegi, unpatched and unguarded,
// takes for the work batos's benchmarks time: their baselines. It is
// imported by benchmarks only.
package plainyaegi

import (
	"reflect"
	"testing"
	"time"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
)

// New returns a bare interpreter with the standard library and exports,
// which has evaluated the imports in prelude.
func New(tb testing.TB, exports map[string]map[string]reflect.Value, prelude string) *interp.Interpreter {
	tb.Helper()
	in := interp.New(interp.Options{})
	if err := in.Use(stdlib.Symbols); err != nil {
		tb.Fatal(err)
	}
	if exports != nil {
		if err := in.Use(exports); err != nil {
			tb.Fatal(err)
		}
	}
	if prelude != "" {
		if _, err := in.Eval(prelude); err != nil {
			tb.Fatal(err)
		}
	}
	return in
}

// Func evaluates src in a bare interpreter and returns the value of the
// function name, to be asserted to its Go type.
func Func(tb testing.TB, src, name string) any {
	tb.Helper()
	in := New(tb, nil, "")
	if _, err := in.Eval(src); err != nil {
		tb.Fatal(err)
	}
	v, err := in.Eval(name)
	if err != nil {
		tb.Fatal(err)
	}
	return v.Interface()
}

// CompileCost returns the mean time yaegi takes to evaluate src(i) for i
// in 1..n, in interpreters made by fresh and replaced after every
// `replace` evaluations (as batos replaces its own), their making not
// counted: yaegi's own compile of the same sources.
func CompileCost(tb testing.TB, n, replace int, fresh func() *interp.Interpreter, src func(i int) string) time.Duration {
	tb.Helper()
	var total time.Duration
	var in *interp.Interpreter
	for i := 1; i <= n; i++ {
		if in == nil || (i-1)%replace == 0 {
			in = fresh()
		}
		s := src(i)
		start := time.Now()
		if _, err := in.Eval(s); err != nil {
			tb.Fatal(err)
		}
		total += time.Since(start)
	}
	return total / time.Duration(n)
}

// Mean runs f n times and returns its mean time.
func Mean(n int, f func()) time.Duration {
	start := time.Now()
	for range n {
		f()
	}
	return time.Since(start) / time.Duration(n)
}
