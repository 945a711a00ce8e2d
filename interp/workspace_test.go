package interp

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWorkspace(t *testing.T) {
	c := sharedCompiler(t)
	g0 := newGuard(t, Limits{})
	w0 := &world{c: c, g: g0}
	lobby := newObject(w0)
	lobby.Set("name", "lobby")
	ws, err := c.NewWorkspace(map[string]any{"Lobby": lobby, "NewObject": func() Object { return newObject(w0) }})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		src      string
		limits   Limits
		want     string // fmt of Value when HasValue
		wantType string
		wantErr  string
	}{
		{src: "x := 3", want: ""},
		{src: "x * 2", want: "6", wantType: "int"},
		{src: "func double(n int) int { return n * 2 }", want: ""},
		{src: "double(x) + 1", want: "7", wantType: "int"},
		{src: `Lobby.Get("name")`, want: "lobby"},
		{src: `o := NewObject()
o.Set("k", strings.ToUpper("v"))
o.Get("k")`, want: "V"},
		{src: "for {}", limits: shortLimits(), wantErr: "deadline exceeded"},
		{src: "x + 1", want: "4"},
		{src: "func spin() { for {} }", want: ""},
		{src: "spin()", limits: shortLimits(), wantErr: "deadline exceeded"},
		{src: "func deep(n int) int { return deep(n+1) }", want: ""},
		{src: "deep(0)", wantErr: "call depth limit"},
		{src: `import "os"`, wantErr: `import "os" is not allowed in methods (line 1)`},
		{src: "import s \"strings\"", want: ""},
		{src: `s.Repeat("ab", 2)`, want: "abab"},
		{src: `strings.Repeat("ab", 1<<40)`, wantErr: "allocation limit"},
		{src: "go double(1)", wantErr: "go statements are not allowed"},
		{src: `panic("boom")`, wantErr: "panic: boom"},
		{src: "y := ", wantErr: "expected operand"},
		{src: "undefinedName + 1", wantErr: "undefined"},
		{src: "x", want: "3"},
		{src: "var v any; v = x + 2; v", want: "5"},
		{src: "type P struct{ A int }; p := P{x}; p.A", want: "3"},
		{src: "var w = ", wantErr: "line 1:8: expected operand, found end of entry"},
		{src: "var y any = x; n, ok := y.(int); fmt.Sprint(n, ok)", want: "3 true"},
		{src: `s, _ := y.(string); s == ""`, want: "true"},
		{src: "n + 1", want: "4"},
		// Assertions inside top-level statements: yaegi mis-scopes them
		// at the top level (encloseAssertions).
		{src: "if p, ok := y.(int); ok { n = p * 10 }; n", want: "30"},
		{src: `t := 0; for _, v := range []any{1, "a", 2} { if p, ok := v.(int); ok && p > 0 { t += p } }; t`, want: "3"},
		{src: `k := ""; for _, v := range []any{1, "a"} { switch x := v.(type) { case string: k = x } }; k`, want: "a"},
		{src: "t + n", want: "33"},
		// Declarations then statements in one entry.
		{src: "func sum(xs ...int) (s int) { for _, x := range xs { s += x }; return }; sum(1, 2, 3)", want: "6"},
		{src: "type Q struct{ v int }; func (q Q) Get() int { return q.v * 2 }; Q{v: 4}.Get()", want: "8"},
		{src: "sum(4)", want: "4"},
		{src: `func bad() int { return 1 }; x := "a" + 1`, wantErr: "line 1:35: invalid operation"},
		{src: "bad()", want: "1"},
	}
	for i, st := range steps {
		g := newGuard(t, st.limits)
		w0.g = g
		res, err := ws.Eval(g, st.src)
		if st.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), st.wantErr) {
				t.Fatalf("step %d %q: err %v, want %q", i, st.src, err, st.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("step %d %q: %v", i, st.src, err)
		}
		got := ""
		if res.HasValue {
			got = strings.TrimSpace(strings.Trim(fmtAny(res.Value), "\n"))
		}
		if got != st.want || st.wantType != "" && res.Type != st.wantType {
			t.Fatalf("step %d %q: got %q (%s, has %v), want %q %s", i, st.src, got, res.Type, res.HasValue, st.want, st.wantType)
		}
	}
}

func fmtAny(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return strings.TrimSpace(strings.ReplaceAll(sprint(v), "\n", " "))
}

func TestWorkspaceStopError(t *testing.T) {
	c := sharedCompiler(t)
	ws, err := c.NewWorkspace(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := newGuard(t, Limits{MaxSteps: 1000})
	_, err = ws.Eval(g, "n := 0\nfor { n++ }")
	var se *StopError
	if !errors.As(err, &se) || se.Reason != StopSteps {
		t.Fatalf("got %v", err)
	}
	res, err := ws.Eval(newGuard(t, Limits{}), "n > 0")
	if err != nil || res.Value != true {
		t.Fatalf("next eval: %v %v", res, err)
	}
}

// TestWorkspaceFuncLitCallRunsOnce: an entry that calls a function literal
// with other than one result runs it once, and later entries do not run it
// again — a stopped one (func() { for {} }()) used to stop every later
// entry at its deadline.
func TestWorkspaceFuncLitCallRunsOnce(t *testing.T) {
	c, err := NewCompiler(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	w, err := c.NewWorkspace(map[string]any{"Ran": func() { runs++ }})
	if err != nil {
		t.Fatal(err)
	}
	eval := func(src string, l Limits) error {
		g := NewGuard(context.Background(), l)
		defer g.Release()
		_, err := w.Eval(g, src)
		return err
	}
	for _, tc := range []struct{ entry, want string }{
		{"func() { Ran() }()", ""},
		{"func() (int, int) { Ran(); return 1, 2 }()", ""},
		{"(func() { Ran() })()", ""},
		{"x := 1; func() { Ran() }(); x++", ""},
	} {
		runs = 0
		if err := eval(tc.entry, Limits{}); err != nil {
			t.Fatalf("%s: %v", tc.entry, err)
		}
		for range 3 {
			if err := eval("1+1", Limits{}); err != nil {
				t.Fatalf("after %s: %v", tc.entry, err)
			}
		}
		if runs != 1 {
			t.Errorf("%s ran %d times over four entries, want once", tc.entry, runs)
		}
	}
	if err := eval("func() { for {} }()", Limits{Deadline: 50 * time.Millisecond}); !errors.Is(err, ErrDeadline) {
		t.Fatalf("spin: %v, want the deadline", err)
	}
	if err := eval("1+1", Limits{Deadline: 2 * time.Second}); err != nil {
		t.Fatalf("the entry after a stopped function literal: %v", err)
	}
}

// TestAbandonedEvaluationStops: an evaluation stuck in a native call past
// its deadline and the grace period is abandoned, and once the native call
// returns it runs no further script code: the guard it checks next has
// stopped, and its goroutine ends.
func TestAbandonedEvaluationStops(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the grace period")
	}
	c, err := NewCompiler(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	entered := make(chan struct{})
	returned := make(chan struct{})
	var after atomic.Int64
	w, err := c.NewWorkspace(map[string]any{
		"Block": func() { close(entered); <-release; close(returned) },
		"After": func() { after.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	g := NewGuard(context.Background(), Limits{Deadline: 10 * time.Millisecond})
	defer g.Release()
	_, err = w.Eval(g, "Block(); for { After() }")
	if !errors.Is(err, ErrAbandoned) {
		t.Fatalf("got %v, want ErrAbandoned", err)
	}
	<-entered
	close(release)
	<-returned
	// The abandoned goroutine now returns into script code, whose next
	// guard check stops it; After must never run.
	deadline := time.Now().Add(10 * time.Second)
	for goroutineRunning("yaegi/interp.(*Interpreter).ExecuteWithContext") {
		if time.Now().After(deadline) {
			t.Fatal("the abandoned evaluation's goroutine still runs 10s after its native call returned")
		}
		runtime.Gosched()
	}
	if n := after.Load(); n != 0 {
		t.Fatalf("the abandoned evaluation ran %d more script calls after its native call returned", n)
	}
	// And the workspace answers the next entry.
	g2 := NewGuard(context.Background(), Limits{})
	defer g2.Release()
	if r, err := w.Eval(g2, "1 + 1"); err != nil || r.Value != 2 {
		t.Fatalf("next entry: %v, %v", r.Value, err)
	}
}

// goroutineRunning reports whether some goroutine's stack holds fn.
func goroutineRunning(fn string) bool {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return strings.Contains(string(buf[:n]), fn)
}

// TestOutputIsCapped: an evaluation prints at most MaxOutput bytes, then
// one line that says the rest was cut.
func TestOutputIsCapped(t *testing.T) {
	c, err := NewCompiler(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.NewWorkspace(map[string]any{"X": 1})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	g := NewGuard(context.Background(), Limits{Stdout: &out})
	defer g.Release()
	if _, err := w.Eval(g, `s := strings.Repeat("x", 1<<20); for i := 0; i < 10; i++ { fmt.Print(s) }; fmt.Println("never")`); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	body, note, ok := strings.Cut(got, "\n[output cut")
	if !ok || len(body) != MaxOutput || strings.Contains(note, "never") {
		t.Fatalf("printed %d bytes (note %q), want %d and the note alone after them", len(body), note, MaxOutput)
	}
}

// TestEntryRunAgainIsNotCompiledAgain: the same statements entered again
// right away (a retried input) run the program compiled the first time,
// with their effects each time; anything entered between, a declaration,
// or other limits compile afresh.
func TestEntryRunAgainIsNotCompiledAgain(t *testing.T) {
	calls := 0
	w, err := sharedCompiler(t).NewWorkspace(map[string]any{
		"F": func(n int) int {
			calls++
			if calls == 1 {
				panic(errors.New("first call fails"))
			}
			return n + calls
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	eval := func(src string, l Limits) (EvalResult, error) {
		g := NewGuard(context.Background(), l)
		defer g.Release()
		return w.Eval(g, src)
	}
	if _, err := eval(`var total int`, Limits{}); err != nil {
		t.Fatal(err)
	}
	const src = `total += F(10); total`
	if _, err := eval(src, Limits{}); err == nil || !strings.Contains(err.Error(), "first call fails") {
		t.Fatalf("first run: %v, want F's failure", err)
	}
	first := w.again
	if first == nil {
		t.Fatal("the statements were not kept")
	}
	res, err := eval(src, Limits{})
	if err != nil || res.Value != 12 || w.again != first {
		t.Fatalf("second run = %v, %v (kept %p, now %p); want 12 from the same program", res.Value, err, first, w.again)
	}
	if res, err := eval(src, Limits{}); err != nil || res.Value != 25 || w.again != first {
		t.Fatalf("third run = %v, %v; want 25 from the same program", res.Value, err)
	}
	// Other limits, an entry between, or a declaration: compiled afresh.
	if _, err := eval(src, Limits{MaxAlloc: 1 << 20}); err != nil || w.again == first {
		t.Fatalf("other limits: %v, kept the old program: %v", err, w.again == first)
	}
	again := w.again
	if _, err := eval(`total`, Limits{MaxAlloc: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := eval(src, Limits{MaxAlloc: 1 << 20}); err != nil || w.again == again {
		t.Fatalf("after another entry: %v, kept the old program: %v", err, w.again == again)
	}
	if _, err := eval(`x := 1`, Limits{}); err != nil || w.again != nil {
		t.Fatalf("a declaration was kept to run again (%v)", err)
	}
}
