package interp_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/traefik/yaegi/stdlib"

	"batos/internal/yaegi/interp"
)

// testMeter records what the interpreter reports; stopAt > 0 refuses
// entries and ticks once that many steps have been counted.
type testMeter struct {
	entries, depth, maxDepth int
	steps                    int
	stopAt                   int
	refusedEnter, refusedTik int
}

func (m *testMeter) Meter() interp.Meter { return m }

func (m *testMeter) Enter() bool {
	if m.stopAt > 0 && m.steps >= m.stopAt {
		m.refusedEnter++
		return false
	}
	m.entries++
	m.depth++
	m.maxDepth = max(m.maxDepth, m.depth)
	return true
}

func (m *testMeter) Leave(steps int) {
	m.depth--
	m.steps += steps
}

func (m *testMeter) Tick(steps int) bool {
	m.steps += steps
	if m.stopAt > 0 && m.steps >= m.stopAt {
		m.refusedTik++
		return false
	}
	return true
}

// eval compiles src (which may use M, the meter type) and returns the
// function named fn.
func eval(t *testing.T, src, fn string) (*interp.Interpreter, reflect.Value) {
	t.Helper()
	i := interp.New(interp.Options{})
	if err := i.Use(stdlib.Symbols); err != nil {
		t.Fatal(err)
	}
	if err := i.Use(interp.Exports{"m/m": {"M": reflect.ValueOf((*testMeter)(nil))}}); err != nil {
		t.Fatal(err)
	}
	if _, err := i.Eval(`import . "m"` + "\n" + `import "sort"` + "\n" + src); err != nil {
		t.Fatal(err)
	}
	v, err := i.Eval(fn)
	if err != nil {
		t.Fatal(err)
	}
	return i, v
}

const fibSrc = `
var _ = sort.Ints
func fib(m *M, n int) int {
	var f func(int) int
	f = func(n int) int {
		if n < 2 {
			return n
		}
		return f(n-1) + f(n-2)
	}
	return f(n)
}
func rec(m *M, n int) int {
	if n == 0 {
		return 0
	}
	return 1 + rec(m, n-1)
}
func spin(m *M) int {
	x := 0
	for {
		x++
	}
	return x
}
func sorted(m *M, xs []int) []int {
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	return xs
}
func sum(m *M, xs ...int) (s int) {
	for _, x := range xs {
		s += x
	}
	return s
}
func boom(m *M, n int) int {
	if n == 0 {
		panic("boom")
	}
	return boom(m, n-1)
}
`

func TestMeterCountsEntriesAndSteps(t *testing.T) {
	_, v := eval(t, fibSrc, "fib")
	fib := v.Interface().(func(*testMeter, int) int)
	m := &testMeter{}
	if got := fib(m, 15); got != 610 {
		t.Fatalf("fib(15) = %d, want 610", got)
	}
	// fib itself and the closure's 1973 calls.
	if m.entries != 1+1973 {
		t.Errorf("entries = %d, want %d", m.entries, 1+1973)
	}
	if m.depth != 0 {
		t.Errorf("depth after return = %d, want 0", m.depth)
	}
	if m.maxDepth != 16 {
		t.Errorf("max depth = %d, want 16", m.maxDepth)
	}
	if m.steps < m.entries {
		t.Errorf("steps = %d, fewer than the entries", m.steps)
	}
}

func TestUnmeteredRunsUnchanged(t *testing.T) {
	_, v := eval(t, fibSrc, "fib")
	fib := v.Interface().(func(*testMeter, int) int)
	if got := fib(nil, 15); got != 610 {
		t.Fatalf("fib(15) with a nil meter = %d, want 610", got)
	}
}

func TestMeterDirectRecursion(t *testing.T) {
	_, v := eval(t, fibSrc, "rec")
	rec := v.Interface().(func(*testMeter, int) int)
	m := &testMeter{}
	if got := rec(m, 100); got != 100 {
		t.Fatalf("rec(100) = %d", got)
	}
	if m.maxDepth != 101 || m.depth != 0 {
		t.Errorf("max depth %d, depth after %d; want 101, 0", m.maxDepth, m.depth)
	}
}

func TestMeterTickStopsLoop(t *testing.T) {
	_, v := eval(t, fibSrc, "spin")
	spin := v.Interface().(func(*testMeter) int)
	m := &testMeter{stopAt: 100_000}
	spin(m) // returns only because Tick refuses
	if m.refusedTik != 1 || m.steps < 100_000 || m.steps > 100_000+interp.MeterInterval {
		t.Errorf("refused ticks %d, steps %d", m.refusedTik, m.steps)
	}
	if m.depth != 0 {
		t.Errorf("depth after a refused tick = %d", m.depth)
	}
}

func TestMeterEnterRefusesAndNativeCallbacks(t *testing.T) {
	_, v := eval(t, fibSrc, "sorted")
	sorted := v.Interface().(func(*testMeter, []int) []int)
	m := &testMeter{}
	xs := sorted(m, []int{5, 3, 9, 1, 7})
	if !reflect.DeepEqual(xs, []int{1, 3, 5, 7, 9}) {
		t.Fatalf("sorted = %v", xs)
	}
	// The less function, called by sort's native code, runs under the
	// meter of the frame that made it.
	if m.entries < 5 {
		t.Errorf("entries = %d: the closure sort calls is not metered", m.entries)
	}
	m = &testMeter{stopAt: 1}
	m.steps = 1
	sorted(m, []int{2, 1})
	if m.refusedEnter != 1 || m.entries != 0 {
		t.Errorf("a refusing meter: %d refused, %d admitted", m.refusedEnter, m.entries)
	}
}

func TestMeterLeavesOnPanic(t *testing.T) {
	_, v := eval(t, fibSrc, "boom")
	boom := v.Interface().(func(*testMeter, int) int)
	m := &testMeter{}
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Error("no panic")
			}
		}()
		boom(m, 10)
	}()
	if m.depth != 0 || m.entries != 11 {
		t.Errorf("after a panic: depth %d, entries %d; want 0, 11", m.depth, m.entries)
	}
}

func TestFunc(t *testing.T) {
	i, _ := eval(t, fibSrc, "fib")
	call, typ, err := i.Func("fib")
	if err != nil {
		t.Fatal(err)
	}
	if typ != reflect.TypeFor[func(*testMeter, int) int]() {
		t.Errorf("Func's type = %v", typ)
	}
	// Without a meter given, the first argument's.
	m := &testMeter{}
	out := call(nil, []reflect.Value{reflect.ValueOf(m), reflect.ValueOf(10)})
	if len(out) != 1 || out[0].Int() != 55 {
		t.Fatalf("fib(10) through Func = %v", out)
	}
	if m.entries != 1+177 {
		t.Errorf("entries = %d, want %d", m.entries, 1+177)
	}
	// A meter given is used instead.
	given := &testMeter{}
	if out := call(given, []reflect.Value{reflect.ValueOf(m), reflect.ValueOf(10)}); out[0].Int() != 55 || given.entries != 1+177 || m.entries != 1+177 {
		t.Errorf("fib(10) under a given meter = %v: %d entries given, %d on the argument's", out[0], given.entries, m.entries)
	}
	sum, _, err := i.Func("sum")
	if err != nil {
		t.Fatal(err)
	}
	out = sum(nil, []reflect.Value{reflect.ValueOf(m), reflect.ValueOf([]int{1, 2, 3})})
	if out[0].Int() != 6 {
		t.Errorf("sum(1, 2, 3) = %v", out[0])
	}
	for _, name := range []string{"nope", "fibSrc"} {
		if _, _, err := i.Func(name); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Func(%q) = %v, want an error naming it", name, err)
		}
	}
}

// Box is a native type with a method given a direct entry.
type Box struct{ n *int }

func (b Box) Add(k int, more ...int) int {
	*b.n += k
	for _, m := range more {
		*b.n += m
	}
	return *b.n
}

func (b Box) Reset() { *b.n = 0 }

func (b Box) Pair() (int, int) { return *b.n, *b.n }

func TestDirect(t *testing.T) {
	i := interp.New(interp.Options{})
	if err := i.Use(interp.Exports{"b/b": {"Box": reflect.ValueOf((*Box)(nil))}}); err != nil {
		t.Fatal(err)
	}
	direct := 0
	err := i.Direct(interp.DirectMethod{Type: reflect.TypeFor[Box](), Name: "Add", Call: func(recv reflect.Value, in []reflect.Value) reflect.Value {
		direct++
		b, _ := reflect.TypeAssert[Box](recv)
		more := make([]int, len(in)-1)
		for j := range more {
			more[j] = int(in[j+1].Int())
		}
		return reflect.ValueOf(b.Add(int(in[0].Int()), more...))
	}})
	if err != nil {
		t.Fatal(err)
	}
	resets := 0
	err = i.Direct(interp.DirectMethod{Type: reflect.TypeFor[Box](), Name: "Reset", Call: func(recv reflect.Value, in []reflect.Value) reflect.Value {
		resets++
		b, _ := reflect.TypeAssert[Box](recv)
		b.Reset()
		return reflect.Value{}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := i.Eval(`import . "b"
func plain(b Box) int { return b.Add(1) + b.Add(2, 3) }
func spread(b Box) int { xs := []int{4, 5}; return b.Add(0, xs...) }
func deferred(b Box) { defer b.Add(10) }
func value(b Box) int { f := b.Add; return f(100) }
func reset(b Box) int { b.Reset(); x := b.Add(7); return x }`); err != nil {
		t.Fatal(err)
	}
	n := 0
	b := Box{&n}
	call := func(name string) any {
		v, err := i.Eval(name)
		if err != nil {
			t.Fatal(err)
		}
		out := v.Call([]reflect.Value{reflect.ValueOf(b)})
		if len(out) == 0 {
			return nil
		}
		return out[0].Interface()
	}
	// 1, then 1+2+3: the second call's result is 6, the sum 7.
	if got := call("plain"); got != 7 || direct != 2 {
		t.Errorf("plain = %v with %d direct calls, want 7 with 2", got, direct)
	}
	// A spread slice, a deferred call and a method value go through
	// reflect, with the same effect.
	if got := call("spread"); got != 15 || direct != 2 {
		t.Errorf("spread = %v with %d direct calls, want 15 with 2", got, direct)
	}
	call("deferred")
	if n != 25 || direct != 2 {
		t.Errorf("after deferred: n = %d with %d direct calls, want 25 with 2", n, direct)
	}
	if got := call("value"); got != 125 {
		t.Errorf("value = %v, want 125", got)
	}
	// A method without a result, then a result assigned by a definition.
	if got := call("reset"); got != 7 || resets != 1 || direct != 3 {
		t.Errorf("reset = %v with %d resets and %d direct calls, want 7 with 1 and 3", got, resets, direct)
	}
	none := func(reflect.Value, []reflect.Value) reflect.Value { return reflect.Value{} }
	for _, bad := range []interp.DirectMethod{
		{Type: reflect.TypeFor[Box](), Name: "Sub", Call: none},
		{Type: reflect.TypeFor[*Box](), Name: "Add"},
		{Type: reflect.TypeFor[error](), Name: "Error", Call: none},
		{Type: reflect.TypeFor[Box](), Name: "Pair", Call: none},
	} {
		if err := i.Direct(bad); err == nil {
			t.Errorf("Direct(%v.%s) accepted", bad.Type, bad.Name)
		}
	}
}
