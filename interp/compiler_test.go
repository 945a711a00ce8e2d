package interp

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCallResults(t *testing.T) {
	c := sharedCompiler(t)
	errBoom := errors.New("boom")
	_ = errBoom
	tests := []struct {
		name, sel, src string
		args           []any
		want           any
		wantErr        string
	}{
		{"none", "a", "func a(self Object) { self.Set(\"x\", 1) }", nil, nil, ""},
		{"one", "b", "func b(self Object, x int) int { return x * 2 }", []any{21}, 42, ""},
		{"value and nil error", "c", "func c(self Object) (string, error) { return \"ok\", nil }", nil, "ok", ""},
		{"value and error", "d", "func d(self Object) (string, error) { return \"\", errors.New(\"bad\") }", nil, nil, "bad"},
		{"sole error", "e", "func e(self Object) error { return fmt.Errorf(\"e%d\", 1) }", nil, nil, "e1"},
		{"sole nil error", "e2", "func e2(self Object) error { return nil }", nil, nil, ""},
		{"many", "m", "func m(self Object) (int, string) { return 1, \"a\" }", nil, []any{1, "a"}, ""},
		{"variadic", "v", "func v(self Object, sep string, xs ...string) string { return strings.Join(xs, sep) }", []any{"-", "a", "b"}, "a-b", ""},
		{"variadic empty", "v2", "func v2(self Object, xs ...int) int { return len(xs) }", nil, 0, ""},
		{"auto import", "ai", "func ai(self Object) string { return strconv.Itoa(len(strings.Fields(\"a b c\"))) + fmt.Sprint(math.MaxInt8) }", nil, "3127", ""},
		{"explicit import alias", "ia", "import s \"strings\"\nfunc ia(self Object) string { return s.ToUpper(\"x\") }", nil, "X", ""},
		{"local shadows package", "ls", "func ls(self Object) string { strings := []string{\"q\"}; return strings[0] }", nil, "q", ""},
		{"self shadow-proof contextual", "ctx", "func ctx(self Object) bool { x := Lobby; self = NewObject(); return x.Get(\"k\") == nil }", nil, true, ""},
		{"slices source pkg", "sl", "func sl(self Object) bool { return slices.Contains([]int{1, 2}, 2) }", nil, true, ""},
		{"recursion", "fib", "func fib(self Object, n int) int { if n < 2 { return n }; return fib(self, n-1) + fib(self, n-2) }", []any{15}, 610, ""},
		{"goto loop", "gt", "func gt(self Object) int { i := 0\nL: i++; if i < 5 { goto L }; return i }", nil, 5, ""},
		{"recover ordinary panic", "rc", "func rc(self Object) (r any) { defer func() { r = recover() }(); panic(\"x\") }", nil, "x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := callSrc(t, c, newGuard(t, Limits{}), tt.sel, tt.src, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", tt.want) {
				t.Errorf("got %T %v, want %T %v", got, got, tt.want, tt.want)
			}
		})
	}
}

func TestArgumentConversion(t *testing.T) {
	c := sharedCompiler(t)
	m, err := c.Compile("conv", `func conv(self Object, f float64, i int, u uint8, s string, xs []int, a any, o Object) string {
	return fmt.Sprintf("%v %v %v %q %v %v", f, i, u, s, xs == nil, a)
}`)
	if err != nil {
		t.Fatal(err)
	}
	o := newObject(&world{c: c})
	base := func(over map[int]any) []any {
		args := []any{1.5, 2, uint8(3), "s", []int{1}, "a", o}
		for i, v := range over {
			args[i] = v
		}
		return args
	}
	tests := []struct {
		name    string
		args    []any
		want    string
		wantErr string
	}{
		{"exact", base(nil), `1.5 2 3 "s" false a`, ""},
		{"int to float", base(map[int]any{0: 2}), `2 2 3 "s" false a`, ""},
		{"whole float to int", base(map[int]any{1: 3.0}), `1.5 3 3 "s" false a`, ""},
		{"int64 to int", base(map[int]any{1: int64(7)}), `1.5 7 3 "s" false a`, ""},
		{"int to uint8", base(map[int]any{2: 200}), `1.5 2 200 "s" false a`, ""},
		{"nil slice", base(map[int]any{4: nil}), `1.5 2 3 "s" true a`, ""},
		{"nil any", base(map[int]any{5: nil}), `1.5 2 3 "s" false <nil>`, ""},
		{"fraction to int", base(map[int]any{1: 3.5}), "", "conv: argument 2 (i int): got float64 3.5"},
		{"string to float", base(map[int]any{0: "x"}), "", `conv: argument 1 (f float64): got string "x"`},
		{"overflow uint8", base(map[int]any{2: 300}), "", "conv: argument 3 (u uint8): got int 300"},
		{"negative to uint8", base(map[int]any{2: -1}), "", "argument 3 (u uint8): got int -1"},
		{"nil int", base(map[int]any{1: nil}), "", "argument 2 (i int): got nil"},
		{"too many", append(base(nil), 1), "", "conv: want 7 arguments, got 8"},
		{"too few", []any{1.0}, "", "conv: want 7 arguments, got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Call(newGuard(t, Limits{}), o, tt.args)
			if tt.wantErr != "" {
				var ae *ArgumentError
				if !errors.As(err, &ae) || err.Error() != tt.wantErr && !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %q", got, err, tt.want)
			}
		})
	}
	m1, _ := c.Compile("one", "func one(self Object, x int) int { return x }")
	if _, err := m1.Call(newGuard(t, Limits{}), o, []any{1, 2}); err == nil || err.Error() != "one: want 1 argument, got 2" {
		t.Errorf("got %v", err)
	}
}

func TestPanics(t *testing.T) {
	c := sharedCompiler(t)
	t.Run("value", func(t *testing.T) {
		_, err := callSrc(t, c, newGuard(t, Limits{}), "p1", `func p1(self Object) { panic("oops") }`)
		var pe *PanicError
		if !errors.As(err, &pe) || err.Error() != "method p1: line 1:24: panic: oops" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("runtime error", func(t *testing.T) {
		_, err := callSrc(t, c, newGuard(t, Limits{}), "p2", `func p2(self Object) int { var xs []int; return xs[3] }`)
		var pe *PanicError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "index out of range") {
			t.Fatalf("got %T %v", err, err)
		}
	})
	t.Run("typed error through nested send", func(t *testing.T) {
		g := newGuard(t, Limits{})
		w := &world{c: c, g: g}
		o := newObject(w)
		o.Define("inner", `func inner(self Object) { self.Send("missing") }`)
		m, err := c.Compile("outer", `func outer(self Object) any { return self.Send("inner") }`)
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Call(g, o, nil)
		if !errors.Is(err, errNotUnderstood) {
			t.Fatalf("got %T %v", err, err)
		}
		if g.Depth() != 0 {
			t.Errorf("depth after unwinding = %d", g.Depth())
		}
	})
}

func TestGuardStops(t *testing.T) {
	c := sharedCompiler(t)
	tests := []struct {
		name, sel, src string
		limits         Limits
		want           error
	}{
		{"for ever", "spin", "func spin(self Object) { for {} }", shortLimits(), ErrDeadline},
		{"recover cannot swallow", "sneaky", "func sneaky(self Object) { for { func() { defer func() { recover() }(); for {} }() } }", shortLimits(), ErrDeadline},
		{"recover result kept", "sneaky2", "func sneaky2(self Object) (r any) { defer func() { r = recover() }(); for {} }", shortLimits(), ErrDeadline},
		{"direct recursion", "down", "func down(self Object, n int) int { return down(self, n+1) + 1 }", Limits{}, ErrDepth},
		{"closure recursion", "clo", "func clo(self Object) { var f func(int) int; f = func(n int) int { return f(n+1) }; f(0) }", Limits{}, ErrDepth},
		{"steps", "steps", "func steps(self Object) { for i := 0; ; i++ {} }", Limits{MaxSteps: 100000}, ErrSteps},
		{"huge make", "big", "func big(self Object) int { return len(make([]byte, 1<<40)) }", Limits{}, ErrAlloc},
		{"huge make cap", "big2", "func big2(self Object, n int64) int { return cap(make([]int, 0, n)) }", Limits{MaxAlloc: 1000}, ErrAlloc},
		{"huge repeat", "rep", "func rep(self Object) int { return len(strings.Repeat(\"abcd\", 1<<30)) }", Limits{}, ErrAlloc},
		{"huge bytes repeat", "brep", "func brep(self Object) int { return len(bytes.Repeat([]byte(\"ab\"), 1<<40)) }", Limits{}, ErrAlloc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGuard(t, tt.limits)
			start := time.Now()
			var args []any
			if tt.sel == "down" {
				args = []any{0}
			}
			if tt.sel == "big2" {
				args = []any{int64(5000)}
			}
			_, err := callSrc(t, c, g, tt.sel, tt.src, args...)
			var se *StopError
			if !errors.Is(err, tt.want) || !errors.As(err, &se) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if g.Err() == nil || g.Depth() != 0 {
				t.Errorf("guard err %v depth %d", g.Err(), g.Depth())
			}
			t.Logf("%v after %v", err, time.Since(start).Round(time.Millisecond))
			// The next call works.
			got, err := callSrc(t, c, newGuard(t, Limits{}), "ok", "func ok(self Object) int { s := 0; for i := 0; i < 10; i++ { s += i }; return s }")
			if err != nil || got != 45 {
				t.Fatalf("next call: %v %v", got, err)
			}
		})
	}
}

func TestStopMessages(t *testing.T) {
	g := NewGuard(t.Context(), Limits{Deadline: time.Hour, MaxDepth: 3})
	defer g.Release()
	func() {
		defer func() {
			err := recover().(*StopError)
			if err.Error() != "call depth limit 3 exceeded (runaway recursion?)" {
				t.Errorf("got %q", err)
			}
		}()
		for {
			g.Enter()
		}
	}()
	g2 := NewGuard(t.Context(), Limits{Deadline: time.Millisecond})
	defer g2.Release()
	<-g2.Expired()
	func() {
		defer func() {
			if err := recover().(*StopError); err.Error() != "deadline exceeded (1ms)" || !errors.Is(err, ErrDeadline) {
				t.Errorf("got %q", err)
			}
		}()
		g2.Tick()
	}()
}

func TestRecursionThroughSend(t *testing.T) {
	c := sharedCompiler(t)
	g := newGuard(t, Limits{Deadline: 20 * time.Second})
	w := &world{c: c, g: g}
	o := newObject(w)
	o.Define("loop", `func loop(self Object, n int) int { return self.Send("loop", n+1).(int) }`)
	_, err := o.w.c.Compile("loop", o.o.methods["loop"])
	if err != nil {
		t.Fatal(err)
	}
	err = func() (err error) {
		defer func() { err = panicToError("", recover()) }()
		o.Send("loop", 0)
		return nil
	}()
	if !errors.Is(err, ErrDepth) {
		t.Fatalf("got %v", err)
	}
	if g.Depth() != 0 {
		t.Errorf("depth %d", g.Depth())
	}
}

func TestConcurrentCalls(t *testing.T) {
	c := sharedCompiler(t)
	m, err := c.Compile("sum", "func sum(self Object, n int) int { s := 0; for i := 0; i < n; i++ { s += i }; return s }")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				g := NewGuard(t.Context(), Limits{})
				o := newObject(&world{c: c, g: g})
				got, err := m.Call(g, o, []any{100 + i})
				g.Release()
				n := 100 + i
				if err != nil || got != n*(n-1)/2 {
					t.Errorf("got %v %v", got, err)
				}
				// Compile concurrently with calls.
				if j%5 == 0 {
					if _, err := c.Compile("k", fmt.Sprintf("func k(self Object) int { return %d }", i*100+j)); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestCacheAndRedefinition(t *testing.T) {
	c, err := NewCompiler(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	src1 := "func v(self Object) int { return 1 }"
	m1, _ := c.Compile("v", src1)
	m1b, _ := c.Compile("v", src1)
	if m1 != m1b {
		t.Error("same source compiled twice")
	}
	m2, err := c.Compile("v", "func v(self Object) int { return 2 }")
	if err != nil {
		t.Fatal(err)
	}
	g := newGuard(t, Limits{})
	o := newObject(&world{c: c, g: g})
	r1, _ := m1.Call(g, o, nil)
	r2, _ := m2.Call(g, o, nil)
	if r1 != 1 || r2 != 2 {
		t.Errorf("got %v %v", r1, r2)
	}
	if _, err := c.Compile("bad", "func bad(self Object) int { return undefinedThing }"); err == nil || !strings.Contains(err.Error(), "method bad: line 1") {
		t.Errorf("compile error: %v", err)
	}
}

func TestGenerations(t *testing.T) {
	cfg := testConfig()
	cfg.MaxVersions = 3
	c, err := NewCompiler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ms []*Method
	for i := range 7 {
		m, err := c.Compile("k", fmt.Sprintf("func k(self Object) int { return %d }", i))
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	if c.Generation() != 2 || ms[0].Generation != 0 || ms[6].Generation != 2 {
		t.Errorf("generation %d, methods %d..%d", c.Generation(), ms[0].Generation, ms[6].Generation)
	}
	g := newGuard(t, Limits{})
	for i, m := range ms {
		if r, err := m.Call(g, newObject(&world{c: c, g: g}), nil); err != nil || r != i {
			t.Errorf("old method %d: %v %v", i, r, err)
		}
	}
}
