package system_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"batos/api"
	"batos/kernel"
	"batos/system"
)

func connect(t *testing.T, sys *system.System, name string) *system.Client {
	t.Helper()
	c, err := sys.Connect(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestErrorKinds: every failure reaches the client as an *api.Error whose
// kind and position come from the kernel's typed errors, not its text.
func TestErrorKinds(t *testing.T) {
	c := open(t)
	ctx := context.Background()
	if _, err := c.Eval(ctx, `Lobby.Get("system").(Object).Set("maxDepth", 200)`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Eval(ctx, `func deeper(n int) int { return deeper(n + 1) }`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		src  string
		kind api.ErrorKind
		line int
	}{
		{"x := 1\ny := )", api.ErrSyntax, 2},
		{"a := 1\nb := a\nundefinedName + 1", api.ErrCompile, 3},
		{"import \"os\"", api.ErrForbidden, 1},
		{`Lobby.Send("noSuchSelector")`, api.ErrNotUnderstood, 0},
		{`panic("no")`, api.ErrPanic, 0},
		{`Lobby.Remove("noSuchSlot")`, api.ErrSlot, 0},
		{"deeper(0)", api.ErrLimit, 0},
		{`ObjectAt(999999).Get("x")`, api.ErrNotFound, 0},
	} {
		_, err := c.Eval(ctx, tc.src)
		var e *api.Error
		if !errors.As(err, &e) || e.Kind != tc.kind || e.Line != tc.line || e.Message == "" {
			t.Errorf("%q: %#v, want kind %s line %d", tc.src, err, tc.kind, tc.line)
		}
	}
	// A context the client cancels: kind canceled, not a message to read.
	events, stop := c.Subscribe(64)
	defer stop()
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := c.Eval(cctx, "for {}"); done <- err }()
	awaitBusy(t, events, "user")
	cancel()
	if err := <-done; api.KindOf(err) != api.ErrCanceled {
		t.Fatalf("interrupted eval: %v (kind %q), want canceled", err, api.KindOf(err))
	}
}

// awaitBusy waits until events, subscribed before the evaluation began,
// report an evaluation of client busy.
func awaitBusy(t *testing.T, events <-chan api.Event, client string) {
	t.Helper()
	for ev := range events {
		if ev.Type == api.EventStatus && ev.State == api.StateBusy && ev.Client == client {
			return
		}
	}
	t.Fatal("events ended before the evaluation began")
}

// TestValuesAsData: results and slots carry kind, Go type and contents;
// what a slot can hold round-trips through SetSlot.
func TestValuesAsData(t *testing.T) {
	c := open(t)
	ctx := context.Background()
	for _, tc := range []struct {
		src   string
		kind  api.ValueKind
		typ   string
		check func(v api.Value) bool
	}{
		{"any(nil)", api.ValueNil, "nil", func(v api.Value) bool { return v.Text != "" }},
		{"3 > 2", api.ValueBool, "bool", func(v api.Value) bool { return v.Bool }},
		{"40 + 2", api.ValueInt, "int", func(v api.Value) bool { return v.Int == 42 }},
		{"uint8(7)", api.ValueInt, "uint8", func(v api.Value) bool { return v.Int == 7 }},
		{"time.Second * 2", api.ValueInt, "time.Duration", func(v api.Value) bool { return v.Int == int64(2*time.Second) && v.Text == "2s" }},
		{"1.5", api.ValueFloat, "float64", func(v api.Value) bool { return v.Float64() == 1.5 }},
		{"math.Inf(-1)", api.ValueFloat, "float64", func(v api.Value) bool { return v.Float == "-Inf" }},
		{`"a\nb"`, api.ValueString, "string", func(v api.Value) bool { return v.String == "a\nb" && v.Text == `"a\nb"` }},
		{`[]any{1, []any{"x"}}`, api.ValueList, "[]any", func(v api.Value) bool {
			return len(v.Items) == 2 && v.Items[0].Int == 1 && v.Items[1].Items[0].String == "x"
		}},
		{`map[string]any{"b": 2, "a": Lobby}`, api.ValueMap, "map[string]any", func(v api.Value) bool {
			return len(v.Entries) == 2 && v.Entries[0].Key == "a" && v.Entries[0].Value.Object.OID == api.LobbyOID && v.Entries[0].Value.Object.Name == "Lobby"
		}},
		{"Lobby", api.ValueObject, "Object", func(v api.Value) bool { return v.Object.OID == api.LobbyOID && v.Text == "Lobby" }},
		{`errors.New("bad")`, api.ValueError, "*errors.errorString", func(v api.Value) bool { return strings.Contains(v.Text, "bad") }},
		{"struct{ A int }{3}", api.ValueGo, "struct { A int }", func(v api.Value) bool { return v.Text != "" }},
		{"l := []any{nil}; l[0] = l; l", api.ValueList, "[]any", func(v api.Value) bool { return v.Truncated }},
	} {
		res, err := c.Eval(ctx, tc.src)
		if err != nil || !res.HasValue || res.Value.Kind != tc.kind || res.Value.Type != tc.typ || !tc.check(res.Value) {
			t.Errorf("%s = %+v, %v; want kind %s type %s", tc.src, res.Value, err, tc.kind, tc.typ)
		}
	}

	// Every kind a slot holds round-trips: what SetSlot stores, Object
	// reports, and Literal writes back what ParseLiteral reads.
	for _, lit := range []string{`nil`, `true`, `-7`, `2.5`, `"q\"uote"`, `[]any{1, "two", []any{}}`, `map[string]any{"k": ObjectAt(1)}`, `ObjectAt(1)`} {
		v, err := api.ParseLiteral(lit)
		if err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		if _, err := c.SetSlot(ctx, api.LobbyOID, "probe", v); err != nil {
			t.Fatalf("set %s: %v", lit, err)
		}
		view, err := c.Object(ctx, api.LobbyOID)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, s := range view.Slots {
			if s.Name == "probe" {
				got, _ = s.Value.Literal()
			}
		}
		if want, _ := v.Literal(); got != want {
			t.Errorf("slot set to %s reads back as %s, want %s", lit, got, want)
		}
	}
	for _, tc := range []struct {
		v    api.Value
		kind api.ErrorKind
	}{
		{api.ObjectRef(api.Ref{OID: 999999}), api.ErrNotFound},
		{api.Value{Kind: api.ValueGo, Type: "chan int"}, api.ErrInvalid},
		{api.Value{Kind: api.ValueFloat, Float: "twelve"}, api.ErrInvalid},
		{api.Value{}, api.ErrInvalid},
	} {
		if _, err := c.SetSlot(ctx, api.LobbyOID, "probe", tc.v); api.KindOf(err) != tc.kind {
			t.Errorf("SetSlot(%+v): %v, want kind %s", tc.v, err, tc.kind)
		}
	}
	// A value is data: source text in a string stays a string.
	if _, err := c.SetSlot(ctx, api.LobbyOID, "probe", api.String(`Lobby.Remove("traits")`)); err != nil {
		t.Fatal(err)
	}
	if res, err := c.Eval(ctx, `Lobby.Get("traits") != nil`); err != nil || !res.Value.Bool {
		t.Fatalf("a string value ran as code: %+v, %v", res, err)
	}
}

// TestEventsAttributed: a request's output and its busy and idle carry the
// client and the request name, in order, and seq increases by one.
func TestEventsAttributed(t *testing.T) {
	sys := openSystem(t)
	a, b := connect(t, sys, "alice"), connect(t, sys, "bob")
	events, cancel := sys.Subscribe(0, 64)
	defer cancel()
	ctx := api.WithRequest(context.Background(), "req-7")
	if _, err := a.Eval(ctx, `fmt.Println("from alice"); Lobby.Set("by", "alice")`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Eval(context.Background(), `Lobby.Set("by", "bob")`); err != nil {
		t.Fatal(err)
	}
	var got []string
	var last uint64
	for len(got) < 7 {
		ev := <-events
		if last != 0 && ev.Seq != last+1 {
			t.Fatalf("seq %d after %d", ev.Seq, last)
		}
		last = ev.Seq
		got = append(got, fmt.Sprintf("%s %s/%s %s%s", ev.Type, ev.Client, ev.Request, ev.State, ev.Output))
	}
	// Output is flushed once the attempt counted, after its commit; idle
	// waits for the commit's event.
	want := []string{
		"status alice/req-7 busy",
		"output alice/req-7 from alice\n",
		"commit alice/ ",
		"status alice/req-7 idle",
		"status bob/ busy",
		"commit bob/ ",
		"status bob/ idle",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRetriedInputsPrintOnce: under write conflicts inputs are run again;
// what an abandoned attempt printed never reaches a client, and no
// increment is lost.
func TestRetriedInputsPrintOnce(t *testing.T) {
	var retries atomic.Int64
	log := slog.New(countHandler{msg: "conflict, retrying", n: &retries})
	sys, err := system.Open(t.TempDir(), system.Options{NoPLLM: true, Kernel: &kernel.Options{Logger: log}})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	setup := connect(t, sys, "setup")
	if _, err := setup.Eval(context.Background(), `Lobby.Set("n", 0)`); err != nil {
		t.Fatal(err)
	}
	events, cancel := sys.Subscribe(0, 1<<16)
	defer cancel()
	const clients, each = 6, 15
	var wg sync.WaitGroup
	for i := range clients {
		c := connect(t, sys, fmt.Sprintf("c%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, err := c.Eval(context.Background(), `n := Lobby.Get("n").(int); fmt.Println("tick"); Lobby.Set("n", n+1)`); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	res, err := setup.Eval(context.Background(), `Lobby.Get("n")`)
	if err != nil || res.Value.Int != clients*each {
		t.Fatalf("n = %+v, %v; want %d", res.Value, err, clients*each)
	}
	// Every input returned, so everything it published is buffered.
	ticks := 0
	for drained := false; !drained; {
		select {
		case ev := <-events:
			if ev.Type == api.EventOutput {
				ticks += strings.Count(ev.Output, "tick")
			}
		default:
			drained = true
		}
	}
	if retries.Load() == 0 {
		t.Skip("no write conflict happened: nothing was retried")
	}
	if ticks != clients*each {
		t.Fatalf("%d ticks printed for %d inputs (%d conflict retries)", ticks, clients*each, retries.Load())
	}
}

type countHandler struct {
	msg string
	n   *atomic.Int64
}

func (h countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countHandler) WithGroup(string) slog.Handler      { return h }

// TestReadsDoNotQueue: while a client's evaluation runs, its own reads,
// another client's reads and edits, and the status all complete.
func TestReadsDoNotQueue(t *testing.T) {
	sys := openSystem(t)
	a, b := connect(t, sys, "a"), connect(t, sys, "b")
	events, stop := a.Subscribe(64)
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := a.Eval(ctx, "for {}"); done <- err }()
	awaitBusy(t, events, "a")
	for _, img := range []api.Image{a, b} {
		if _, err := img.Object(context.Background(), api.LobbyOID); err != nil {
			t.Fatal(err)
		}
		if _, err := img.Search(context.Background(), "print", 5); err != nil {
			t.Fatal(err)
		}
		if _, err := img.Status(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := img.SetSlot(context.Background(), api.LobbyOID, "while", api.Int(1)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("the evaluation ended before the reads were done: %v", err)
	default:
	}
	cancel()
	<-done
}

// TestCloseStopsEverything: Close cancels running evaluations, waits for
// them, and leaves no goroutine behind; later calls fail as closed.
func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	sys, err := system.Open(t.TempDir(), system.Options{NoPLLM: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := sys.Connect("user")
	if err != nil {
		t.Fatal(err)
	}
	events, _ := c.Subscribe(8)
	done := make(chan error, 1)
	go func() { _, err := c.Eval(context.Background(), "for {}"); done <- err }()
	awaitBusy(t, events, "user")
	if err := sys.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if k := api.KindOf(err); k != api.ErrCanceled {
			t.Fatalf("running eval after Close: %v (kind %q)", err, k)
		}
	default:
		t.Fatal("Close returned before the running evaluation did")
	}
	for range events {
	}
	if _, err := c.Eval(context.Background(), "1"); api.KindOf(err) != api.ErrClosed {
		t.Fatalf("eval after Close: %v", err)
	}
	if _, err := sys.Connect("late"); api.KindOf(err) != api.ErrClosed {
		t.Fatalf("connect after Close: %v", err)
	}
	awaitGoroutines(t, before)
}

func awaitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}
