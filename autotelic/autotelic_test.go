package autotelic_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"batos/autotelic"
	"batos/image"
	"batos/kernel"
	"batos/kernel/pllm"
	"batos/kernel/sandbox"
	"batos/llama/llamatest"
)

// TestMain doubles as the sandbox child: trial runs re-execute this test
// binary, as the batos binary re-executes itself with `batos sandbox`.
func TestMain(m *testing.M) {
	if os.Getenv("BATOS_SANDBOX_CHILD") == "1" {
		os.Exit(sandbox.Main())
	}
	os.Exit(m.Run())
}

func describe(text string) string {
	return "```go\nfunc describe(self Object) string {\n\treturn fmt.Sprintf(\"" + text + " %v\", self.Get(\"w\"))\n}\n```"
}

type fixture struct {
	k    *kernel.Kernel
	loop *autotelic.Loop
	user *kernel.Session
	srv  *llamatest.Server
}

// setup opens an image with the pLLM and the loop installed, pointed at a
// scripted llama-server, consulting one persona per attempt and asking
// for describe only; Lobby.shape has data and no behaviour.
func setup(t *testing.T, poll time.Duration, script ...llamatest.Reply) *fixture {
	t.Helper()
	return setupWith(t, autotelic.Options{Poll: poll}, script...)
}

var trials = &sandbox.Runner{Command: []string{os.Args[0]}, Env: []string{"BATOS_SANDBOX_CHILD=1"}, Timeout: 20 * time.Second, Warm: true}

func setupWith(t *testing.T, opts autotelic.Options, script ...llamatest.Reply) *fixture {
	t.Helper()
	k, err := kernel.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	p := pllm.Install(k, pllm.Options{
		Sandbox:       &sandbox.Runner{Command: []string{os.Args[0]}, Env: []string{"BATOS_SANDBOX_CHILD=1"}, Timeout: 20 * time.Second},
		TrialDeadline: 2 * time.Second,
	})
	loop, err := autotelic.Install(k, p, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(loop.Close)
	srv := llamatest.New(t, script...)
	f := &fixture{k: k, loop: loop, user: k.NewSession("user"), srv: srv}
	f.eval(t, fmt.Sprintf(`p := Lobby.At("pLLM"); p.Set("endpoint", %q); p.Set("topK", 1); p.Set("maxAttempts", 1)
a := Lobby.At("autotelic"); a.Set("vocabulary", []any{map[string]any{"selector": "describe", "purpose": "describe the shape"}}); a.Set("period", 0); a.Set("threshold", 2.0)
s := NewObject(); s.Set("name", "shape"); s.Set("w", 3); Lobby.Set("shape", s)`, srv.URL))
	return f
}

func (f *fixture) eval(t *testing.T, src string) string {
	t.Helper()
	res, err := f.user.Eval(context.Background(), src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return res.Text
}

// ledger is Lobby.autotelic.ledger's entries as the user reads them.
func (f *fixture) ledger(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	_, err := f.user.Run(context.Background(), "", func(lobby kernel.Object) error {
		for _, v := range lobby.At("autotelic").Get("ledger").([]any) {
			out = append(out, v.(map[string]any))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func chats(srv *llamatest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, "/completions") {
			n++
		}
	}
	return n
}

func TestStepInstallsRecordsAndCanBeUndone(t *testing.T) {
	f := setup(t, time.Hour, llamatest.Reply{Text: describe("a shape of width"), Chunk: 16})
	sub := f.k.Bus().Subscribe(4096)
	defer sub.Close()

	e, err := f.loop.Step(context.Background(), "user")
	if err != nil {
		t.Fatal(err)
	}
	if e.Outcome != autotelic.Installed || e.Mandate.Selector != "describe" || e.Mandate.TargetName != "Lobby.shape" || e.Tx == 0 {
		t.Fatalf("step = %+v", e)
	}
	if got := f.eval(t, `Lobby.At("shape").Send("describe")`); got != `"a shape of width 3"` {
		t.Fatalf("describe = %s", got)
	}
	// The install arrived on the bus as an attributed commit whose note
	// says why; the ledger's commit followed it.
	var install, ledger kernel.Event
	for len(sub.C) > 0 {
		ev := <-sub.C
		switch {
		case ev.Kind != kernel.EventCommit:
		case strings.HasPrefix(ev.Tx.Principal, "autotelic/"):
			install = ev
		case ev.Tx.Principal == "autotelic":
			ledger = ev
		}
	}
	if install.Tx.ID != e.Tx || !strings.HasPrefix(install.Tx.Note, "autotelic "+e.Mandate.Kind+": ") || !strings.Contains(install.Tx.Note, "define describe on Lobby.shape (object ") {
		t.Fatalf("install commit = %+v, step tx %d", install.Tx, e.Tx)
	}
	if ledger.Tx.ID <= install.Tx.ID || !strings.Contains(ledger.Tx.Note, fmt.Sprintf("installed, CEM %.3f → %.3f", e.CEMBefore, e.CEMAfter)) {
		t.Fatalf("ledger commit = %+v", ledger.Tx)
	}
	// The ledger holds why, the cost and CEM before and after; the series
	// holds the after reading.
	l := f.ledger(t)
	if len(l) != 1 {
		t.Fatalf("ledger = %v", l)
	}
	got := l[0]
	if got["outcome"] != "installed" || got["reason"] == "" || got["tx"] != int(e.Tx) || got["calls"] != 1 || got["commits"] != 2 {
		t.Fatalf("ledger entry = %v", got)
	}
	if _, ok := got["cemAfter"].(float64); !ok {
		t.Fatalf("ledger entry has no CEM after: %v", got)
	}
	if n := f.eval(t, `len(Lobby.At("entropy").Get("series").([]any))`); n != "1" {
		t.Fatalf("series readings = %s, want the step's", n)
	}
	// The install is an ordinary transaction: undo removes the method.
	if _, err := f.k.Undo(e.Tx, "user"); err != nil {
		t.Fatalf("undo the loop's install: %v", err)
	}
	if _, err := f.user.Eval(context.Background(), `Lobby.At("shape").Get("describe")`); err == nil {
		t.Fatal("describe is still there after the undo")
	}
	// A reverted install counts against its kind, and the same mandate
	// counts as tried.
	ms, err := f.loop.Candidates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kind := 0
	for _, m := range ms {
		if m.Kind != e.Mandate.Kind {
			continue
		}
		kind++
		if m.Gain >= m.Prior {
			t.Errorf("after a revert, %s %s by %s: gain %.4f, prior %.4f; want the gain below the prior", m.Kind, m.Selector, m.Persona, m.Gain, m.Prior)
		}
		if m.Target == e.Mandate.Target && m.Selector == e.Mandate.Selector && m.Persona == e.Mandate.Persona && m.Tried != 1 {
			t.Errorf("the same mandate: tried %d, want 1", m.Tried)
		}
	}
	if kind == 0 {
		t.Fatalf("no %s mandate after the undo: %+v", e.Mandate.Kind, ms)
	}
}

func TestBudgetsStopTheStep(t *testing.T) {
	f := setup(t, time.Hour, llamatest.Reply{Text: describe("first")})
	f.eval(t, `Lobby.At("autotelic").Set("budget", map[string]any{"generations": 1, "tokens": 100000, "commits": 10})
s := NewObject(); s.Set("name", "other"); s.Set("w", 4); Lobby.Set("other", s)`)
	if _, err := f.loop.Step(context.Background(), "user"); err != nil {
		t.Fatal(err)
	}
	last, asked := f.k.Store().LastTx(), chats(f.srv)
	_, err := f.loop.Step(context.Background(), "user")
	var budget *autotelic.BudgetError
	if !errors.As(err, &budget) || budget.Resource != "model calls" || budget.Used != 1 || budget.Limit != 1 {
		t.Fatalf("second step: %v, want the model-call budget's error", err)
	}
	if f.k.Store().LastTx() != last || chats(f.srv) != asked {
		t.Fatal("a step over budget committed or asked the model")
	}
	// A token budget smaller than one attempt's worst case stops the
	// step before the model is asked.
	f.eval(t, `Lobby.At("autotelic").Set("budget", map[string]any{"generations": 10, "tokens": 600, "commits": 10})`)
	last = f.k.Store().LastTx()
	_, err = f.loop.Step(context.Background(), "user")
	if !errors.As(err, &budget) || budget.Resource != "tokens" {
		t.Fatalf("step: %v, want the token budget's error", err)
	}
	if f.k.Store().LastTx() != last || chats(f.srv) != asked {
		t.Fatal("a step over the token budget committed or asked the model")
	}
	// The ledger never records more than the budget allowed.
	calls := 0
	for _, e := range f.ledger(t) {
		calls += e["calls"].(int)
	}
	if calls != 1 {
		t.Fatalf("ledger calls = %d, want 1", calls)
	}
}

func TestOfflineServerStepsNothing(t *testing.T) {
	f := setup(t, 5*time.Millisecond)
	f.srv.Close()
	before := f.k.Store().LastTx()
	if _, err := f.loop.Step(context.Background(), "user"); !errors.Is(err, autotelic.ErrOffline) {
		t.Fatalf("step with the server down: %v, want ErrOffline", err)
	}
	f.loop.Start()
	f.eval(t, `Lobby.At("autotelic").Set("enabled", true)`)
	on := f.k.Store().LastTx()
	waitTicks(t, f.loop, 5)
	if f.k.Store().LastTx() != on || on != before+1 {
		t.Fatalf("the loop committed while the server was down (last tx %d, switched on at %d)", f.k.Store().LastTx(), on)
	}
	if l := f.ledger(t); len(l) != 0 {
		t.Fatalf("ledger = %v", l)
	}
}

// waitTicks waits until the worker has looked n more times.
func waitTicks(t *testing.T, l *autotelic.Loop, n int64) {
	t.Helper()
	target := l.Ticks() + n
	deadline := time.Now().Add(30 * time.Second)
	for l.Ticks() < target {
		if time.Now().After(deadline) {
			t.Fatalf("the worker looked %d times, want %d", l.Ticks(), target)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLoopStepsAndTheSwitchStopsIt(t *testing.T) {
	f := setup(t, 5*time.Millisecond, llamatest.Reply{Text: describe("shape"), Delay: 20 * time.Millisecond})
	for i := range 6 {
		f.eval(t, fmt.Sprintf(`s := NewObject(); s.Set("name", "s%d"); s.Set("w", %d); Lobby.Set("s%d", s)`, i, i, i))
	}
	sub := f.k.Bus().Subscribe(4096)
	defer sub.Close()
	f.loop.Start()
	waitTicks(t, f.loop, 3)
	if l := f.ledger(t); len(l) != 0 {
		t.Fatalf("the loop stepped while switched off: %v", l)
	}
	f.eval(t, `Lobby.At("autotelic").Set("enabled", true)`)
	// The loop's first change shows up on the bus, then its ledger entry.
	for ledgers := 0; ledgers < 1; {
		select {
		case ev := <-sub.C:
			if ev.Kind == kernel.EventCommit && ev.Tx.Principal == "autotelic" {
				ledgers++
			}
		case <-time.After(60 * time.Second):
			t.Fatal("the loop made no step in 60 s")
		}
	}
	f.eval(t, `Lobby.At("autotelic").Set("enabled", false)`)
	off := len(f.ledger(t))
	// At most the step in flight finishes; then nothing more.
	waitTicks(t, f.loop, 5)
	after := len(f.ledger(t))
	if after > off+1 {
		t.Fatalf("ledger grew from %d to %d after the switch went off", off, after)
	}
	waitTicks(t, f.loop, 5)
	if n := len(f.ledger(t)); n != after {
		t.Fatalf("the loop kept stepping after the switch went off: %d → %d entries", after, n)
	}
	for _, e := range f.ledger(t) {
		if e["trigger"] != "loop" || e["outcome"] != "installed" {
			t.Fatalf("ledger entry = %v", e)
		}
	}
}

func TestUsersTransactionsAreNeverLost(t *testing.T) {
	f := setup(t, time.Millisecond, llamatest.Reply{Text: describe("shape"), Delay: time.Millisecond})
	for i := range 4 {
		f.eval(t, fmt.Sprintf(`s := NewObject(); s.Set("name", "s%d"); s.Set("w", %d); Lobby.Set("s%d", s)`, i, i, i))
	}
	f.eval(t, `Lobby.At("shape").Set("count", 0); Lobby.At("autotelic").Set("enabled", true)`)
	sub := f.k.Bus().Subscribe(4096)
	defer sub.Close()
	f.loop.Start()
	// Users increment while the loop steps, on the object the loop gives
	// behaviour to: their transactions and its installs conflict, and each
	// side is retried; none is lost.
	const users = 3
	var (
		wg    sync.WaitGroup
		stop  = make(chan struct{})
		total = make(chan int, users)
		errs  = make(chan error, users)
	)
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := f.k.NewSession(fmt.Sprintf("user%d", u))
			n := 0
			defer func() { total <- n }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Eval(context.Background(), `sh := Lobby.At("shape"); sh.Set("count", sh.Get("count").(int)+1)`); err != nil {
					errs <- err
					return
				}
				n++
			}
		}()
	}
	steps := 0
	for steps < 2 {
		select {
		case ev := <-sub.C:
			if ev.Kind == kernel.EventCommit && ev.Tx.Principal == "autotelic" {
				steps++
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("the loop made %d steps in 60 s", steps)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	close(total)
	for err := range errs {
		t.Fatal(err)
	}
	want := 0
	for n := range total {
		want += n
	}
	if got := f.eval(t, `Lobby.At("shape").Get("count")`); got != fmt.Sprint(want) || want == 0 {
		t.Fatalf("count = %s, want %d", got, want)
	}
}

func TestChoiceRule(t *testing.T) {
	f := setup(t, time.Hour, llamatest.Reply{Text: describe("shape")})
	// The image's rule prefers the unexplored mandate over a better one
	// tried three times: 0.2/(1+3) < 0.1/(1+0).
	got := f.eval(t, `Lobby.At("autotelic").Send("choose", []any{
	map[string]any{"kind": "behaviour", "gain": 0.2, "tried": 3},
	map[string]any{"kind": "behaviour", "gain": 0.1, "tried": 0},
	map[string]any{"kind": "behaviour", "gain": 0.02, "tried": 0},
})`)
	if got != "1" {
		t.Fatalf("choose = %s, want 1", got)
	}
	// The rule is a method: the step follows a user's rule.
	ms, err := f.loop.Candidates(context.Background())
	if err != nil || len(ms) < 2 {
		t.Fatalf("candidates = %+v, %v", ms, err)
	}
	f.eval(t, `Lobby.At("autotelic").Define("choose", "func choose(self Object, c []any) int { return len(c) - 1 }")`)
	e, err := f.loop.Step(context.Background(), "user")
	if err != nil {
		t.Fatal(err)
	}
	if last := ms[len(ms)-1]; e.Mandate.Kind != last.Kind || e.Mandate.Selector != last.Selector || e.Mandate.Persona != last.Persona {
		t.Fatalf("step chose %+v, the rule's choice is %+v", e.Mandate, last)
	}
	// A rule that answers nonsense fails the step, which changes nothing.
	f.eval(t, `Lobby.At("autotelic").Define("choose", "func choose(self Object, c []any) int { return 99 }")`)
	last := f.k.Store().LastTx()
	if _, err := f.loop.Step(context.Background(), "user"); err == nil || !strings.Contains(err.Error(), "not an index") {
		t.Fatalf("step with a bad rule: %v", err)
	}
	if f.k.Store().LastTx() != last {
		t.Fatal("a failed choice committed")
	}
}

func TestModelWrittenCodeCannotStepOrSwitch(t *testing.T) {
	f := setup(t, time.Hour)
	model := f.k.NewSession("pLLM/BRICK")
	if _, err := model.Eval(context.Background(), `Lobby.At("shape").Define("launch", "func launch(self Object) any { return Lobby.At(\"autotelic\").Send(\"step\") }")`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.user.Eval(context.Background(), `Lobby.At("shape").Send("launch")`); err == nil || !strings.Contains(err.Error(), "may not run the autotelic loop") {
		t.Fatalf("model-written step: %v", err)
	}
	if _, err := model.Eval(context.Background(), `Lobby.At("shape").Define("on", "func on(self Object) { Lobby.At(\"autotelic\").Set(\"enabled\", true) }")`); err != nil {
		t.Fatal(err)
	}
	var pe *kernel.PolicyError
	if _, err := f.user.Eval(context.Background(), `Lobby.At("shape").Send("on")`); !errors.As(err, &pe) {
		t.Fatalf("model-written switch: %v, want a policy error", err)
	}
}

// TestOlderImagesGetTheCodexLoop: an image awakened before the loop
// existed gets the Lobby.autotelic a new image's codex makes, switched
// off, and the policy keeps it and the metric from model-written code.
func TestOlderImagesGetTheCodexLoop(t *testing.T) {
	slots := func(k *kernel.Kernel) map[string]string {
		out := map[string]string{}
		s := k.NewSession("user")
		_, err := s.Run(context.Background(), "", func(lobby kernel.Object) error {
			a := lobby.At("autotelic")
			sl, err := s.SlotsOf(a.OID())
			if err != nil {
				return err
			}
			for _, x := range sl {
				v := fmt.Sprintf("%d %#v", x.Kind, x.Value)
				if m, ok := x.Value.(image.Method); ok {
					v = fmt.Sprintf("%d %s", x.Kind, m.Source)
				}
				out[x.Name] = v
			}
			out["never"] = fmt.Sprint(lobby.At("pLLM").At("policy").Get("never"))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	fresh, err := kernel.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	want := slots(fresh)

	dir := t.TempDir()
	old, err := kernel.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := old.NewSession("user")
	if _, err := s.Eval(context.Background(), `Lobby.Remove("autotelic"); p := Lobby.At("pLLM").At("policy"); p.Set("never", []any{"Lobby.system", "Lobby.pLLM", "Lobby.traits", "Lobby.Forge"})`); err != nil {
		t.Fatal(err)
	}
	if _, err := autotelic.Install(old, nil, autotelic.Options{}); err != nil {
		t.Fatal(err)
	}
	got := slots(old)
	// An image whose loop predates the mandates primitive gets it.
	if _, err := s.Eval(context.Background(), `Lobby.At("autotelic").Remove("mandates")`); err != nil {
		t.Fatal(err)
	}
	if _, err := autotelic.Install(old, nil, autotelic.Options{}); err != nil {
		t.Fatal(err)
	}
	if again := slots(old); !reflect.DeepEqual(again, want) {
		t.Fatalf("after a reinstall, Lobby.autotelic differs from the codex's:\n got %v\nwant %v", again, want)
	}
	old.Close()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("migrated Lobby.autotelic differs from the codex's:\n got %v\nwant %v", got, want)
	}
	if !strings.Contains(want["enabled"], "false") {
		t.Fatalf("a new image's loop is on: %s", want["enabled"])
	}
}

// TestUndoAnEarlierStep: a step's install can be undone after later
// steps: the generation records and counters that every step changes
// commit apart from the install.
func TestUndoAnEarlierStep(t *testing.T) {
	f := setup(t, time.Hour, llamatest.Reply{Text: describe("shape")})
	f.eval(t, `s := NewObject(); s.Set("name", "other"); s.Set("w", 4); Lobby.Set("other", s)`)
	first, err := f.loop.Step(context.Background(), "user")
	if err != nil || first.Outcome != autotelic.Installed {
		t.Fatalf("first step: %+v, %v", first, err)
	}
	second, err := f.loop.Step(context.Background(), "user")
	if err != nil || second.Outcome != autotelic.Installed || second.Mandate.Target == first.Mandate.Target {
		t.Fatalf("second step: %+v, %v", second, err)
	}
	if _, err := f.k.Undo(first.Tx, "user"); err != nil {
		t.Fatalf("undo the first step's install after the second: %v", err)
	}
	got := f.eval(t, `fmt.Sprint(Lobby.At("shape").Send("respondsTo", "describe"), Lobby.At("other").Send("respondsTo", "describe"))`)
	if got != `"false true"` {
		t.Fatalf("after the undo, shape and other respond to describe: %s", got)
	}
}

// TestFailedStepCountsAsTried: a step whose candidate fails is in the
// ledger, and the same mandate counts as tried once.
func TestFailedStepCountsAsTried(t *testing.T) {
	f := setup(t, time.Hour, llamatest.Reply{Text: "I cannot write that."})
	// A rule that takes the first behaviour mandate, so that the same one
	// comes back.
	f.eval(t, `Lobby.At("autotelic").Define("choose", "func choose(self Object, c []any) int { for i, m := range c { if m.(map[string]any)[\"kind\"] == \"behaviour\" { return i } }; return 0 }")`)
	e, err := f.loop.Step(context.Background(), "user")
	if err != nil || e.Outcome != autotelic.Failed || e.Mandate.Kind != autotelic.Behaviour || e.Error == "" {
		t.Fatalf("step: %+v, %v", e, err)
	}
	if l := f.ledger(t); len(l) != 1 || l[0]["outcome"] != "failed" || l[0]["commits"] != 2 {
		t.Fatalf("ledger = %v", l)
	}
	ms, err := f.loop.Candidates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Kind == autotelic.Behaviour && m.Target == e.Mandate.Target && m.Selector == e.Mandate.Selector {
			if m.Tried != 1 {
				t.Fatalf("the failed mandate: tried %d, want 1", m.Tried)
			}
			return
		}
	}
	t.Fatalf("the failed mandate is gone: %+v", ms)
}
