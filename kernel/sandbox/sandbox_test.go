package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"batos/image"
	"batos/interp"
	"batos/kernel"
)

// The test binary is also the sandbox child: Runner re-executes it with
// BATOS_SANDBOX_CHILD=1. BATOS_SANDBOX_CRASH makes the child misbehave
// after reading its request, the way a fatal candidate would.
func TestMain(m *testing.M) {
	if os.Getenv("BATOS_SANDBOX_CHILD") == "1" {
		switch os.Getenv("BATOS_SANDBOX_CRASH") {
		case "":
			os.Exit(Main())
		case "exit":
			readRequest()
			os.Exit(3)
		case "stackoverflow":
			readRequest()
			debug.SetMaxStack(16 << 20) // the real 1 GB limit would take long to reach
			fmt.Println(recurse(0))
		case "garble":
			readRequest()
			fmt.Println(`{"ok": tru`)
			os.Exit(0)
		case "hang":
			readRequest()
			time.Sleep(time.Hour)
		case "respond": // for measuring process start alone
			readRequest()
			fmt.Println(`{"ok":true,"value":"1","value_type":"int"}`)
			os.Exit(0)
		}
		os.Exit(99)
	}
	os.Exit(m.Run())
}

// readRequest reads the request line; the parent keeps the child's stdin
// open after it, for the answers to its queries.
func readRequest() { _, _ = bufio.NewReader(os.Stdin).ReadString('\n') }

// recurse is unbounded native recursion: Go's fatal "stack overflow".
func recurse(n int) int {
	var pad [128]byte
	pad[n%128] = byte(n)
	//lint:ignore SA5007 the crash test needs a recursion that never ends
	return recurse(n+1) + int(pad[(n+1)%128])
}

func runner(env ...string) *Runner {
	return &Runner{Command: []string{os.Args[0]}, Env: append([]string{"BATOS_SANDBOX_CHILD=1"}, env...)}
}

// fixture is an image with Lobby.point (x: 3) and Lobby.other (y: 4).
type fixture struct {
	k            *kernel.Kernel
	s            *kernel.Session
	point, other kernel.Object
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	k, err := kernel.Open(t.TempDir(), &kernel.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	f := &fixture{k: k, s: k.NewSession("test")}
	f.eval(t, `p := NewObject(); p.Set("name", "point"); p.Set("x", 3); Lobby.Set("point", p)`)
	f.eval(t, `q := NewObject(); q.Set("name", "other"); q.Set("y", 4); Lobby.Set("other", q)`)
	f.point = f.eval(t, `Lobby.Get("point")`).Value.(kernel.Object)
	f.other = f.eval(t, `Lobby.Get("other")`).Value.(kernel.Object)
	return f
}

func (f *fixture) eval(t testing.TB, src string) kernel.EvalResult {
	t.Helper()
	res, err := f.s.Eval(context.Background(), src)
	if err != nil {
		t.Fatalf("Eval(%s): %v", src, err)
	}
	return res
}

func (f *fixture) trial(t testing.TB, r *Runner, req Request) Response {
	t.Helper()
	if req.Receiver == 0 {
		req.Receiver = f.point.OID()
	}
	resp, err := r.Trial(context.Background(), f.k.Store(), req)
	if err != nil {
		t.Fatalf("Trial: %v", err)
	}
	return resp
}

func TestTrial(t *testing.T) {
	f := newFixture(t)
	r := runner()
	tests := []struct {
		name      string
		req       Request
		wantOK    bool
		value     string // exact Response.Value when ok
		valueType string
		kind      string // ErrorKind when not ok
		errHas    string
		output    string
	}{
		{name: "good", req: Request{Selector: "times", Source: `func times(self Object, n int) int { return self.Get("x").(int) * n }`, Args: []any{2}},
			wantOK: true, value: "6", valueType: "int"},
		{name: "types kept", req: Request{Selector: "kinds", Source: `func kinds(self Object, args ...any) string {
	s := ""
	for _, a := range args { s += fmt.Sprintf("%T ", a) }
	m := args[8].(map[string]any)
	return s + fmt.Sprintf("%T %T %v", m["k"], args[7].([]any)[0], args[6])
}`, Args: []any{nil, true, 1, int64(1) << 40, 2.5, "s", []byte("b"), []any{int64(7)}, map[string]any{"k": 1.0}}},
			wantOK: true, value: `"<nil> bool int int64 float64 string []uint8 []interface {} map[string]interface {} float64 int64 [98]"`, valueType: "string"},
		{name: "structured result", req: Request{Selector: "pair", Source: `func pair(self Object) []any { return []any{1, "a", self.Lobby().Get("other")} }`},
			wantOK: true, value: fmt.Sprintf(`[]any{1, "a", @%d}`, f.other.OID()), valueType: "[]any"},
		{name: "compile error", req: Request{Selector: "bad", Source: `func bad(self Object) int { return "x" }`}, kind: KindCompile},
		{name: "forbidden import", req: Request{Selector: "bad", Source: "import \"os\"\nfunc bad(self Object) int { os.Exit(1); return 0 }"}, kind: KindCompile, errHas: `"os"`},
		{name: "runtime panic", req: Request{Selector: "boom", Source: `func boom(self Object) int { var a []int; return a[3] }`}, kind: KindPanic, errHas: "method boom: line 1:50: panic: runtime error: index out of range"},
		{name: "panic value", req: Request{Selector: "boom", Source: `func boom(self Object) int { panic("kaboom") }`}, kind: KindPanic, errHas: "kaboom"},
		{name: "endless loop", req: Request{Selector: "spin", Source: `func spin(self Object) int { for {} }`, DeadlineMS: 300}, kind: KindDeadline},
		{name: "runaway recursion", req: Request{Selector: "down", Source: `func down(self Object, n int) int { return self.Send("down", n+1).(int) }`, Args: []any{0}, MaxDepth: 200},
			kind: KindDepth, errHas: "limit 200"},
		{name: "allocation", req: Request{Selector: "hog", Source: `func hog(self Object) int { return len(make([]int, 1<<40)) }`}, kind: KindAlloc},
		{name: "wrong argument type", req: Request{Selector: "times", Source: `func times(self Object, n int) int { return n }`, Args: []any{"two"}}, kind: KindArgument, errHas: `string "two"`},
		{name: "wrong argument count", req: Request{Selector: "times", Source: `func times(self Object, n int) int { return n }`}, kind: KindArgument},
		{name: "not understood", req: Request{Selector: "ask", Source: `func ask(self Object) any { return self.Send("nope") }`}, kind: KindNotUnderstood, errHas: "nope"},
		{name: "returned error", req: Request{Selector: "fail", Source: `func fail(self Object) (int, error) { return 0, errors.New("no luck") }`}, kind: KindOther, errHas: "no luck"},
		{name: "object arguments", req: Request{Selector: "sum", Source: `func sum(self Object, o Object, l []any, m map[string]any) int {
	return self.Get("x").(int) + o.Get("y").(int) + l[0].(Object).Get("y").(int) + m["o"].(Object).Get("y").(int)
}`, Args: []any{f.other, []any{f.other}, map[string]any{"o": f.other}}}, wantOK: true, value: "15", valueType: "int"},
		{name: "object result", req: Request{Selector: "it", Source: `func it(self Object, o Object) Object { o.Set("y", 5); return o }`, Args: []any{f.other}},
			wantOK: true, valueType: "kernel.Object"},
		{name: "output", req: Request{Selector: "hello", Source: `func hello(self Object) int { fmt.Println("hello", 42); fmt.Printf("%d!", 7); return 1 }`},
			wantOK: true, value: "1", valueType: "int", output: "hello 42\n7!"},
		{name: "output kept on failure", req: Request{Selector: "hello", Source: `func hello(self Object) int { fmt.Print("before"); panic("after") }`},
			kind: KindPanic, output: "before"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := f.trial(t, r, tc.req)
			if resp.OK != tc.wantOK {
				t.Fatalf("ok = %v, want %v: %+v", resp.OK, tc.wantOK, resp)
			}
			if tc.wantOK {
				if tc.value != "" && resp.Value != tc.value || resp.ValueType != tc.valueType {
					t.Errorf("value = %s (%s), want %s (%s)", resp.Value, resp.ValueType, tc.value, tc.valueType)
				}
			} else if resp.ErrorKind != tc.kind || !strings.Contains(resp.Error, tc.errHas) || strings.Contains(resp.Error, "\n") {
				t.Errorf("error = %s %q, want kind %s containing %q", resp.ErrorKind, resp.Error, tc.kind, tc.errHas)
			}
			if resp.Output != tc.output {
				t.Errorf("output = %q, want %q", resp.Output, tc.output)
			}
		})
	}
}

func TestTrialLeavesImageUnchanged(t *testing.T) {
	f := newFixture(t)
	before := f.k.Store().LastTx()
	resp := f.trial(t, runner(), Request{Selector: "mutate", Source: `func mutate(self Object) int {
	self.Set("x", 99)
	p := self.Lobby().Get("point").(Object)
	p.Set("x", 100)
	self.Lobby().Set("hacked", true)
	self.Lobby().Remove("other")
	self.Lobby().Define("evil", "func evil(self Object) int { return 666 }")
	return self.Get("x").(int) + p.Get("x").(int)
}`})
	// The candidate runs on point itself: self and p are one object.
	if !resp.OK || resp.Value != "200" {
		t.Fatalf("the candidate did not run as written: %+v", resp)
	}
	if got := f.k.Store().LastTx(); got != before {
		t.Fatalf("LastTx = %d after the trial, want %d", got, before)
	}
	res := f.eval(t, `fmt.Sprint(Lobby.Get("point").(Object).Get("x"), Lobby.Slots())`)
	if want := `"3 [`; !strings.HasPrefix(res.Text, want) || strings.Contains(res.Text, "hacked") ||
		strings.Contains(res.Text, "evil") || !strings.Contains(res.Text, "other") {
		t.Fatalf("image after the trial: %s", res.Text)
	}
}

// TestTrialWriteSet runs candidates as model-written code: the response
// lists what each wrote, and one that writes outside the image's write
// policy fails with kind "policy", naming the object and slot, even when
// it recovers the panic.
func TestTrialWriteSet(t *testing.T) {
	f := newFixture(t)
	r := runner()
	p, o := f.point.OID(), f.other.OID()
	tests := []struct {
		name   string
		src    string
		ok     bool
		errHas string
		writes []string // {point}, {other}: their ids; {new}: the created object's
	}{
		{name: "inside the policy", ok: true, src: `func m(self Object) int {
	n := NewObject()
	n.Set("v", 1)
	self.Set("x", 4)
	self.Set("kid", n)
	self.Define("helper", "func helper(self Object) int { return 1 }")
	return 1
}`, writes: []string{"create object {new}", "set object {new}.v", "set point (object {point}).x", "set point (object {point}).kid", "define point (object {point}).helper"}},
		{name: "Lobby.system", src: `func m(self Object) int { self.Set("x", 4); self.Lobby().Get("system").(Object).Set("maxDepth", 1); return 1 }`,
			errHas: "system (object 3).maxDepth", writes: []string{"set point (object {point}).x", "set system (object 3).maxDepth (denied)"}},
		{name: "a method on Lobby", src: `func m(self Object) int { self.Lobby().Define("evil", "func evil(self Object) int { return 666 }"); return 1 }`,
			errHas: "Lobby.evil", writes: []string{"define Lobby.evil (denied)"}},
		{name: "another object, recovered", src: `func m(self Object) int {
	defer func() { recover() }()
	self.Lobby().Get("other").(Object).Set("y", 0)
	return 1
}`, errHas: "other (object {other}).y", writes: []string{"set other (object {other}).y (denied)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := f.trial(t, r, Request{Selector: "m", Source: tc.src, Author: "pLLM/TEST"})
			var got []string
			for _, w := range resp.Writes {
				got = append(got, w.String())
			}
			var created image.OID
			if len(resp.Writes) > 0 && resp.Writes[0].Op == "create" {
				created = resp.Writes[0].Object
			}
			ids := strings.NewReplacer("{point}", fmt.Sprint(p), "{other}", fmt.Sprint(o), "{new}", fmt.Sprint(created))
			var want []string
			for _, w := range tc.writes {
				want = append(want, ids.Replace(w))
			}
			if tc.ok {
				if !resp.OK {
					t.Fatalf("response = %+v", resp)
				}
			} else if resp.OK || resp.ErrorKind != KindPolicy || !strings.Contains(resp.Error, ids.Replace(tc.errHas)) || !strings.HasPrefix(resp.Error, "write policy: pLLM/TEST's method m may not") {
				t.Fatalf("response = %+v; want kind policy naming %q", resp, ids.Replace(tc.errHas))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("writes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestTrialIsFaithful checks what a candidate sees of its trial: it runs
// on the receiver itself (same ID), installed on the holder the request
// names, and Lobby.system holds the image's own limits although the
// sandbox's are in force.
func TestTrialIsFaithful(t *testing.T) {
	f := newFixture(t)
	f.eval(t, `s := NewObject(); s.Set("name", "shape"); Lobby.Set("shape", s); Lobby.Get("point").(Object).Set("parent*", s)`)
	shape := f.eval(t, `Lobby.Get("shape")`).Value.(kernel.Object)
	resp := f.trial(t, runner(), Request{Selector: "where", Holder: shape.OID(), Author: "pLLM/TEST", DeadlineMS: 1500, MaxDepth: 300,
		Source: `func where(self Object) string {
	sys := self.Lobby().Get("system").(Object)
	return fmt.Sprint(self.ID(), " ", self.Lobby().Get("shape").(Object).Slots(), " ", self.Slots(), " ", sys.Get("sendDeadline"), " ", sys.Get("maxDepth"))
}`})
	want := fmt.Sprintf(`"%d [parent* name where] [parent* name x] 5s 10000"`, f.point.OID())
	if !resp.OK || resp.Value != want {
		t.Fatalf("response = %+v, want value %s", resp, want)
	}
	// The limits were in force all the same.
	resp = f.trial(t, runner(), Request{Selector: "down", Author: "pLLM/TEST", MaxDepth: 200, Args: []any{0},
		Source: `func down(self Object, n int) int { return self.Send("down", n+1).(int) }`})
	if resp.OK || resp.ErrorKind != KindDepth || !strings.Contains(resp.Error, "limit 200") {
		t.Fatalf("response = %+v", resp)
	}
}

func TestChildCrash(t *testing.T) {
	f := newFixture(t)
	tests := []struct{ crash, errHas string }{
		{"exit", "exit status 3"},
		{"stackoverflow", "fatal error: stack overflow"},
		{"garble", "garbled response"},
	}
	t.Run("crashes", func(t *testing.T) { // returns once its parallel subtests have finished
		for _, tc := range tests {
			t.Run(tc.crash, func(t *testing.T) {
				t.Parallel()
				resp := f.trial(t, runner("BATOS_SANDBOX_CRASH="+tc.crash), Request{Selector: "one", Source: `func one(self Object) int { return 1 }`})
				if resp.OK || resp.ErrorKind != KindCrash || !strings.HasPrefix(resp.Error, "sandbox process died: ") ||
					!strings.Contains(resp.Error, tc.errHas) || strings.Contains(resp.Error, "\n") {
					t.Fatalf("response = %+v, want a one-line crash containing %q", resp, tc.errHas)
				}
			})
		}
	})
	t.Run("parent fine", func(t *testing.T) {
		// After the crashes: this process and its image carry on.
		resp := f.trial(t, runner(), Request{Selector: "one", Source: `func one(self Object) int { return 1 }`})
		if !resp.OK || resp.Value != "1" {
			t.Fatalf("trial after crashes: %+v", resp)
		}
		if res := f.eval(t, `Lobby.Get("point").(Object).Get("x")`); res.Text != "3" {
			t.Fatalf("image after crashes: %s", res.Text)
		}
	})
}

func TestCancelKillsChild(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var pid int
	r := runner()
	r.started = func(p int) { pid = p; cancel() }
	start := time.Now()
	_, err := r.Trial(ctx, f.k.Store(), Request{Receiver: f.point.OID(), Selector: "spin",
		Source: `func spin(self Object) int { for {} }`, DeadlineMS: 60_000})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Trial after cancel: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Trial took %s to return after cancel", d)
	}
	if pid == 0 {
		t.Fatal("child never started")
	}
	// Wait reaped the child, and its group is gone.
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("process group %d after cancel: %v", pid, err)
	}
}

func TestHardTimeout(t *testing.T) {
	f := newFixture(t)
	r := runner("BATOS_SANDBOX_CRASH=hang")
	r.Timeout = 500 * time.Millisecond
	resp := f.trial(t, r, Request{Selector: "one", Source: `func one(self Object) int { return 1 }`})
	if resp.OK || resp.ErrorKind != KindDeadline || !strings.Contains(resp.Error, "hard timeout") {
		t.Fatalf("response = %+v", resp)
	}
}

func TestOutputCapped(t *testing.T) {
	f := newFixture(t)
	resp := f.trial(t, runner(), Request{Selector: "chatty", Source: `func chatty(self Object) int {
	line := strings.Repeat("x", 1023)
	for i := 0; i < 100; i++ { fmt.Println(line) }
	return 100
}`})
	if !resp.OK || resp.Value != "100" || len(resp.Output) != MaxOutput || !resp.OutputTruncated {
		t.Fatalf("ok=%v value=%s output %d bytes truncated=%v", resp.OK, resp.Value, len(resp.Output), resp.OutputTruncated)
	}
}

func TestInfrastructureErrors(t *testing.T) {
	f := newFixture(t)
	r := &Runner{Command: []string{"/nonexistent/batos", "sandbox"}}
	if _, err := r.Trial(context.Background(), f.k.Store(), Request{Receiver: 1, Selector: "x"}); err == nil {
		t.Fatal("Trial with a missing binary: no error")
	}
	st, err := image.Open(t.TempDir(), &image.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := runner().Trial(context.Background(), st, Request{Receiver: 1, Selector: "x"}); !errors.Is(err, image.ErrClosed) {
		t.Fatalf("Trial on a closed store: %v", err)
	}
	resp := f.trial(t, runner(), Request{Receiver: 999_999, Selector: "one", Source: `func one(self Object) int { return 1 }`})
	if resp.OK || resp.ErrorKind != KindOther || !strings.Contains(resp.Error, "999999") {
		t.Fatalf("missing receiver: %+v", resp)
	}
}

func TestRequestRoundTrip(t *testing.T) {
	args := []any{nil, true, false, 0, -1, math.MaxInt, int64(math.MinInt64), 0.1, math.Inf(-1), "", "ü\n\"", []byte{}, []byte{0, 255},
		[]any{}, []any{1, int64(1), 1.0, []any{"x"}}, map[string]any{}, map[string]any{"a": map[string]any{"b": []byte("c")}},
		image.Ref{OID: 7}, []any{image.Ref{OID: 8}}}
	in := Request{LastTx: 40, NextOID: 41, Receiver: 12, Holder: 13, Selector: "s", Source: "func s(self Object) {}", Author: "pLLM/BRICK", Args: args, DeadlineMS: 5, MaxDepth: 6}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Request
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n in  %#v\n out %#v", in, out)
	}
	nan := Request{Args: []any{math.NaN()}}
	b, _ = json.Marshal(nan)
	if err := json.Unmarshal(b, &out); err != nil || !math.IsNaN(out.Args[0].(float64)) {
		t.Fatalf("NaN: %v %v", out.Args, err)
	}
	for _, bad := range []any{int32(1), struct{}{}, []float32{1}, kernel.Object{}, map[string]any{"k": uint(1)}} {
		if _, err := json.Marshal(Request{Args: []any{bad}}); err == nil {
			t.Errorf("Marshal with a %T argument: no error", bad)
		}
	}
	for _, bad := range []string{`{"args":[{}]}`, `{"args":[{"int":"x"}]}`, `{"args":[{"ref":0}]}`, `{"args":[{"chan":1}]}`, `{"args":[{"int":"1","bool":true}]}`} {
		if err := json.Unmarshal([]byte(bad), &out); err == nil {
			t.Errorf("Unmarshal(%s): no error", bad)
		}
	}
}

// BenchmarkTrial measures one trial and its parts: the checkpoint alone,
// the checkpoint plus starting a child that answers at once, and the whole
// trial (checkpoint, process start, opening the copy, setting limits,
// compile, run).
func BenchmarkTrial(b *testing.B) {
	f := newFixture(b)
	req := Request{Receiver: f.point.OID(), Selector: "times", Source: `func times(self Object, n int) int { return self.Get("x").(int) * n }`, Args: []any{2}}
	for _, bc := range []struct {
		name string
		r    *Runner
		req  Request
	}{
		{"process", runner("BATOS_SANDBOX_CRASH=respond"), req},
		{"trial", runner(), req},
		{"trial-limits", runner(), Request{Receiver: req.Receiver, Selector: req.Selector, Source: req.Source, Args: req.Args, DeadlineMS: 1000, MaxDepth: 100}},
		{"trial-warm", warmRunner(), req},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if resp := f.trial(b, bc.r, bc.req); !resp.OK {
					b.Fatalf("%+v", resp)
				}
			}
		})
	}
	// As the pLLM uses it: trials are spaced by model generations, so
	// the warm child is ready when the next trial comes. Waiting for it
	// stands in for the model's time and is not measured.
	b.Run("trial-warm-spaced", func(b *testing.B) {
		r := warmRunner()
		defer r.Close()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if err := r.Ready(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if resp := f.trial(b, r, req); !resp.OK {
				b.Fatalf("%+v", resp)
			}
		}
	})
}

// TestMemoryHogDiesAlone: a candidate that allocates without bound (each
// make within the per-allocation limit) is stopped by the memory budget's
// watchdog, or, where the budget is larger than the child's address-space
// limit, exhausts that and is reported as a crash; the parent is untouched.
func TestMemoryHogDiesAlone(t *testing.T) {
	if raceEnabled {
		t.Skip("a race-built child runs without the address-space limit")
	}
	f := newFixture(t)
	resp := f.trial(t, runner(), Request{Selector: "hog", Source: `func hog(self Object) int {
	var keep [][]int
	for i := 0; i < 100000; i++ {
		keep = append(keep, make([]int, 1<<22))
	}
	return len(keep)
}`, DeadlineMS: 20000})
	stopped := resp.ErrorKind == KindMemory
	crashed := resp.ErrorKind == KindCrash && strings.Contains(resp.Error, "out of memory")
	if resp.OK || !(stopped || crashed) {
		t.Fatalf("response = %+v, want the memory budget's stop or a crash: out of memory", resp)
	}
	if res := f.eval(t, `Lobby.Get("point").(Object).Get("x")`); res.Text != "3" {
		t.Fatalf("image after the hog: %s", res.Text)
	}
}

func warmRunner() *Runner {
	r := runner()
	r.Warm = true
	return r
}

// TestWarmRunner runs trials on children started ahead of time: each
// trial gets a fresh process (a crash in one cannot leak into the next),
// the one Ready prepared, and Close kills the one left waiting.
func TestWarmRunner(t *testing.T) {
	f := newFixture(t)
	r := warmRunner()
	var pids []int
	r.started = func(pid int) { pids = append(pids, pid) }
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	spare := func() *child {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.spare
	}
	for i := 0; i < 3; i++ {
		if err := r.Ready(ctx); err != nil {
			t.Fatalf("Ready: %v", err)
		}
		warm := spare()
		select {
		case <-warm.done:
			t.Fatalf("the warm child exited (%v) instead of waiting for its request", warm.waitErr)
		default:
		}
		resp := f.trial(t, r, Request{Receiver: f.point.OID(), Selector: "times", Source: `func times(self Object, n int) int { return self.Get("x").(int) * n }`, Args: []any{i}})
		if !resp.OK || resp.Value != fmt.Sprint(3*i) {
			t.Fatalf("trial %d: %+v", i, resp)
		}
		if pids[i] != warm.cmd.Process.Pid {
			t.Fatalf("trial %d ran in child %d, not the warm one, %d", i, pids[i], warm.cmd.Process.Pid)
		}
		if spare() != nil {
			t.Fatalf("trial %d started the next child itself; Prewarm's caller chooses when", i)
		}
	}
	if pids[0] == pids[1] || pids[1] == pids[2] {
		t.Fatalf("children %v: each trial needs its own process", pids)
	}
	r.Prewarm()
	if err := r.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	left := spare()
	r.Close()
	select {
	case <-left.done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not kill the warm child")
	}
}

// TestAnswerThenLinger: a child's answer is returned as soon as its line
// is whole, and a child that does not exit after answering is killed.
func TestAnswerThenLinger(t *testing.T) {
	f := newFixture(t)
	r := &Runner{Command: []string{"sh", "-c", `read line; echo '{"ok":true,"value":"7","value_type":"int"}'; exec sleep 60`}, linger: 100 * time.Millisecond}
	var pid int
	r.started = func(p int) { pid = p }
	start := time.Now()
	resp := f.trial(t, r, Request{Selector: "seven", Source: `func seven(self Object) int { return 7 }`})
	if !resp.OK || resp.Value != "7" {
		t.Fatalf("response = %+v", resp)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("Trial waited %s for the child's exit", took)
	}
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the lingering child was not killed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTrialReadsHistory: the child's view answers history from the parent
// too: a method from before methods recorded their author, installed by
// the pLLM, runs under the write policy in a trial as in the image.
func TestTrialReadsHistory(t *testing.T) {
	f := newFixture(t)
	tx := f.k.Store().Begin("pLLM/OLD")
	rec, _, err := tx.Get(f.point.OID())
	if err != nil {
		t.Fatal(err)
	}
	rec = rec.Clone()
	rec.Slots = append(rec.Slots, image.Slot{Name: "old", Kind: image.SlotMethod,
		Value: image.Method{Source: `func old(self Object) { self.Lobby().Get("system").(Object).Set("maxDepth", 7) }`}})
	if err := tx.Put(rec); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	resp := f.trial(t, runner(), Request{Selector: "viaOld", Source: `func viaOld(self Object) { self.Send("old") }`})
	if resp.OK || resp.ErrorKind != KindPolicy || !strings.Contains(resp.Error, "pLLM/OLD") {
		t.Fatalf("response = %+v, want the policy's refusal of pLLM/OLD", resp)
	}
}

// TestTrialSendsObjectsAhead: a trial's request carries the receiver, the
// holder and the objects the trials before it read, as of its own state;
// the child asks only for the others.
func TestTrialSendsObjectsAhead(t *testing.T) {
	f := newFixture(t)
	r := runner()
	var asked []image.OID
	r.asked = func(q query) {
		if q.Query == "object" {
			asked = append(asked, q.OID)
		}
	}
	req := Request{Selector: "sum", Source: `func sum(self Object) int { return self.Get("x").(int) + self.Lobby().Get("other").(Object).Get("y").(int) }`}
	if resp := f.trial(t, r, req); !resp.OK || resp.Value != "7" {
		t.Fatalf("first trial = %+v, want 7", resp)
	}
	if slices.Contains(asked, f.point.OID()) {
		t.Errorf("the receiver was asked for: %v", asked)
	}
	if !slices.Contains(asked, f.other.OID()) {
		t.Fatalf("the first trial did not ask for Lobby.other (asked %v)", asked)
	}
	// Objects sent ahead are the trial's state, not the one they were
	// first read in.
	f.eval(t, `Lobby.Get("other").(Object).Set("y", 40); Lobby.Get("point").(Object).Set("x", 30)`)
	asked = nil
	if resp := f.trial(t, r, req); !resp.OK || resp.Value != "70" {
		t.Fatalf("second trial = %+v, want 70", resp)
	}
	if len(asked) != 0 {
		t.Errorf("the second trial asked for %v; everything it reads was read before", asked)
	}
}

// TestPrefetchBounded: the objects a request carries ahead are the latest
// read, at most maxPrefetch.
func TestPrefetchBounded(t *testing.T) {
	var r Runner
	for oid := image.OID(1); oid <= 2*maxPrefetch; oid++ {
		r.read(oid)
	}
	r.read(5) // read again: now the most recent
	if len(r.recent) != maxPrefetch || r.recent[len(r.recent)-1] != 5 || r.recent[0] != maxPrefetch+2 {
		t.Fatalf("recent = %v, want the %d latest, 5 last", r.recent, maxPrefetch)
	}
}

// TestWarmUpCompiles: the method a child warms its compiler with compiles
// (a failed compile would retire the interpreter it prepared).
func TestWarmUpCompiles(t *testing.T) {
	c, err := kernel.NewCompiler(0)
	if err != nil {
		t.Fatal(err)
	}
	gen := c.Generation()
	m, err := c.Compile(warmUpSelector, warmUpSource)
	if err != nil {
		t.Fatal(err)
	}
	g := interp.NewGuard(context.Background(), interp.Limits{})
	defer g.Release()
	if v, err := m.Call(g, nil, []any{4}); err != nil || v != 6 {
		t.Fatalf("%s(4) = %v, %v; want 6", warmUpSelector, v, err)
	}
	if c.Generation() != gen {
		t.Fatal("compiling the warm-up method retired the interpreter")
	}
}
