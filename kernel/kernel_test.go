package kernel_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"batos/image"
	"batos/interp"
	"batos/kernel"
)

func openKernel(t testing.TB) (*kernel.Kernel, string) {
	t.Helper()
	dir := t.TempDir()
	k, err := kernel.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k, dir
}

// run runs fn as one transaction and fails the test on error.
func run(t testing.TB, s *kernel.Session, fn func(lobby kernel.Object)) image.TxInfo {
	t.Helper()
	info, err := s.Run(context.Background(), "test", func(lobby kernel.Object) error {
		fn(lobby)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestAwakeningCreatesCodexObjects(t *testing.T) {
	k, dir := openKernel(t)
	s := k.NewSession("user")
	run(t, s, func(lobby kernel.Object) {
		for _, name := range []string{"parent*", "traits", "system", "pLLM", "Forge", "entropy"} {
			if v := lobby.Get(name); v == nil {
				t.Errorf("Lobby.%s is nil", name)
			}
		}
		personas := lobby.Get("pLLM").(kernel.Object).Get("personas").(kernel.Object)
		for _, p := range []string{"BRICK", "ROBIN", "BABS", "ALFRED"} {
			prompt, _ := personas.Get(p).(kernel.Object).Get("systemPrompt").(string)
			if !strings.Contains(prompt, p) {
				t.Errorf("persona %s: system prompt %q does not name it", p, prompt)
			}
		}
		lobby.Set("mark", 1)
	})
	hist, err := k.Store().History(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[1].Principal != "awakening" {
		t.Fatalf("history = %+v, want the awakening and one user commit", hist)
	}
	k.Close()

	// A second launch loads the image as it is and does not re-apply the codex.
	k2, err := kernel.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k2.Close()
	if got := k2.Store().LastTx(); got != hist[0].ID {
		t.Fatalf("reopen wrote transactions: last tx %d, want %d", got, hist[0].ID)
	}
	v, err := k2.NewSession("user").Send(context.Background(), image.RootOID, "mark")
	if err != nil || v != 1 {
		t.Fatalf("Lobby mark = %v, %v; want 1", v, err)
	}
}

func TestInvalidCodex(t *testing.T) {
	tests := []struct {
		name, codex, want string
	}{
		{"syntax", `{"format": 1, "objects": [`, "unexpected end"},
		{"syntax line", "{\n\"format\": 1,\n\"objects\": [}\n", "line 3"},
		{"unknown field", `{"format": 1, "objecs": []}`, `unknown field "objecs"`},
		{"format", `{"format": 9, "objects": []}`, "format 9 is not supported"},
		{"no lobby", `{"format": 1, "objects": [{"id": "a", "slots": []}]}`, `no object with id "Lobby"`},
		{"bad ref", `{"format": 1, "objects": [{"id": "Lobby", "slots": [{"name": "p", "ref": "nope"}]}]}`, `objects[0] ("Lobby").slots[0] ("p"): unknown ref "nope"`},
		{"two kinds", `{"format": 1, "objects": [{"id": "Lobby", "slots": [{"name": "p", "value": 1, "method": "x"}]}]}`, "exactly one of"},
		{"parent needs ref", `{"format": 1, "objects": [{"id": "Lobby", "slots": [{"name": "p*", "value": 1}]}]}`, "needs a \"ref\""},
		{"bad method", `{"format": 1, "objects": [{"id": "Lobby", "slots": [{"name": "m", "method": "func m(self Object) { x }"}]}]}`, `slots[0] ("m")`},
		{"bad primitive", `{"format": 1, "objects": [{"id": "Lobby", "slots": [{"name": "m", "primitive": "launchMissiles"}]}]}`, `unknown primitive "launchMissiles"`},
		{"duplicate id", `{"format": 1, "objects": [{"id": "Lobby", "slots": []}, {"id": "Lobby", "slots": []}]}`, `duplicate id "Lobby"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := kernel.Open(dir, &kernel.Options{Codex: []byte(tc.codex), CodexName: "my_codex.json"})
			if err == nil {
				t.Fatal("Open succeeded with an invalid codex")
			}
			var ce *kernel.CodexError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), "my_codex.json") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q: want a CodexError naming the file and containing %q", err, tc.want)
			}
			// Nothing was written: a valid codex can still awaken the image.
			k, err := kernel.Open(dir, nil)
			if err != nil {
				t.Fatalf("reopen with the embedded codex: %v", err)
			}
			k.Close()
		})
	}
}

func TestDelegationAndSelf(t *testing.T) {
	k, _ := openKernel(t)
	s := k.NewSession("user")
	run(t, s, func(lobby kernel.Object) {
		a := lobby.NewObject()
		a.Set("name", "a")
		a.Define("who", `func who(self Object) string { return self.Get("name").(string) }`)
		b := lobby.NewObject()
		b.Set("name", "b")
		b.Set("parent*", a)
		if got := b.Send("who"); got != "b" {
			t.Errorf("b who = %v: self must be bound to the receiver, not the holder", got)
		}
		// Parent order: the first parent slot wins, depth first.
		p1, p2 := lobby.NewObject(), lobby.NewObject()
		p1.Define("tag", `func tag(self Object) string { return "p1" }`)
		p2.Define("tag", `func tag(self Object) string { return "p2" }`)
		c := lobby.NewObject()
		c.Set("a*", p1)
		c.Set("b*", p2)
		if got := c.Send("tag"); got != "p1" {
			t.Errorf("c tag = %v, want p1", got)
		}
		c.Remove("a*")
		if got := c.Send("tag"); got != "p2" {
			t.Errorf("after removing a*: c tag = %v, want p2", got)
		}
		// Cycles are allowed and lookup still terminates.
		p2.Set("back*", c)
		if got := c.Send("tag"); got != "p2" {
			t.Errorf("with a cycle: c tag = %v", got)
		}
		func() {
			defer func() {
				err, _ := recover().(error)
				if !kernel.IsNotUnderstood(err) {
					t.Errorf("send through a cycle to a missing selector: %v, want not understood", err)
				}
			}()
			c.Send("missing")
		}()
	})
}

func TestRedefinitionAndCacheInvalidation(t *testing.T) {
	k, _ := openKernel(t)
	s := k.NewSession("user")
	ctx := context.Background()
	eval := func(src string) string {
		t.Helper()
		res, err := s.Eval(ctx, src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		return res.Text
	}
	eval(`base := NewObject(); Lobby.Set("base", base); base.Define("v", "func v(self Object) int { return 1 }")`)
	eval(`o := NewObject(); o.Set("parent*", Lobby.Get("base").(Object)); Lobby.Set("o", o)`)
	if got := eval(`Lobby.Get("o").(Object).Send("v")`); got != "1" {
		t.Fatalf("v = %s, want 1", got)
	}
	// Redefinition on the parent takes effect on the next send, warm cache or not.
	eval(`Lobby.Get("base").(Object).Define("v", "func v(self Object) int { return 2 }")`)
	if got := eval(`Lobby.Get("o").(Object).Send("v")`); got != "2" {
		t.Fatalf("after redefinition v = %s, want 2", got)
	}
	// A slot added on the receiver shadows the parent's.
	eval(`Lobby.Get("o").(Object).Define("v", "func v(self Object) int { return 3 }")`)
	if got := eval(`Lobby.Get("o").(Object).Send("v")`); got != "3" {
		t.Fatalf("after shadowing v = %s, want 3", got)
	}
	eval(`Lobby.Get("o").(Object).Remove("v")`)
	if got := eval(`Lobby.Get("o").(Object).Send("v")`); got != "2" {
		t.Fatalf("after removing the shadow v = %s, want 2", got)
	}
	// Re-pointing the parent changes lookup.
	eval(`other := NewObject(); other.Define("v", "func v(self Object) int { return 4 }"); Lobby.Get("o").(Object).Set("parent*", other)`)
	if got := eval(`Lobby.Get("o").(Object).Send("v")`); got != "4" {
		t.Fatalf("after re-pointing the parent v = %s, want 4", got)
	}
	// Within one transaction, the transaction's own shape changes are seen.
	if got := eval(`o := Lobby.Get("o").(Object); a := o.Send("v").(int); o.Define("v", "func v(self Object) int { return 5 }"); a*10 + o.Send("v").(int)`); got != "45" {
		t.Fatalf("in-transaction redefinition = %s, want 45", got)
	}
	// Turning a method slot into a data slot is a shape change too.
	if got := eval(`o := Lobby.Get("o").(Object); o.Set("v", 6); o.Send("v")`); got != "6" {
		t.Fatalf("method replaced by data = %s, want 6", got)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	k, _ := openKernel(t)
	s := k.NewSession("user")
	last := k.Store().LastTx()
	_, err := s.Run(context.Background(), "fail", func(lobby kernel.Object) error {
		lobby.Set("x", 1)
		lobby.NewObject().Set("y", 2)
		return errors.New("changed my mind")
	})
	if err == nil || err.Error() != "changed my mind" {
		t.Fatalf("Run error = %v", err)
	}
	_, err = s.Eval(context.Background(), `Lobby.Set("x", 1); Lobby.Send("nonexistent")`)
	if !kernel.IsNotUnderstood(err) {
		t.Fatalf("Eval error = %v, want not understood", err)
	}
	if got := k.Store().LastTx(); got != last {
		t.Fatalf("failed evaluations committed: last tx %d, want %d", got, last)
	}
	if _, err := s.Send(context.Background(), image.RootOID, "x"); !kernel.IsNotUnderstood(err) {
		t.Fatalf("x after abort: %v", err)
	}
}

func TestRunawayStoppedAndNextSendWorks(t *testing.T) {
	k, _ := openKernel(t)
	s := k.NewSession("user")
	ctx := context.Background()
	if _, err := s.Eval(ctx, `Lobby.Get("system").(Object).Set("sendDeadline", "200ms")`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Eval(ctx, `Lobby.Define("spin", "func spin(self Object) { for {} }")`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := s.Send(ctx, image.RootOID, "spin")
	if !errors.Is(err, interp.ErrDeadline) {
		t.Fatalf("spin: %v, want deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("spin stopped after %v; the 200ms deadline from Lobby.system was not applied", d)
	}
	// Cancellation (esc in the TUI, ctrl+c in the REPL) stops it too; a
	// long deadline makes sure it is the cancel that does.
	if _, err := s.Eval(ctx, `Lobby.Get("system").(Object).Set("sendDeadline", "1m")`); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		<-time.After(50 * time.Millisecond)
		cancel()
	}()
	if _, err := s.Send(cctx, image.RootOID, "spin"); !errors.Is(err, interp.ErrCanceled) {
		t.Fatalf("cancelled spin: %v, want canceled", err)
	}
	res, err := s.Eval(ctx, `Lobby.Define("ok", "func ok(self Object) int { return 1 }"); Lobby.Send("ok")`)
	if err != nil || res.Text != "1" {
		t.Fatalf("next send after runaway: %v %v", res.Text, err)
	}
}

func TestConcurrentSessionsConflictAndRetry(t *testing.T) {
	k, _ := openKernel(t)
	setup := k.NewSession("user")
	if _, err := setup.Eval(context.Background(), `Lobby.Set("n", 0)`); err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 25
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := k.NewSession("worker")
			for i := 0; i < each; i++ {
				if _, err := s.Eval(context.Background(), `Lobby.Set("n", Lobby.Get("n").(int)+1)`); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	v, err := setup.Send(context.Background(), image.RootOID, "n")
	if err != nil || v != workers*each {
		t.Fatalf("n = %v, %v; want %d (lost updates mean conflicts were not detected or retried)", v, err, workers*each)
	}
}

func TestEventsCarryMethodDiffs(t *testing.T) {
	k, _ := openKernel(t)
	sub := k.Bus().Subscribe(16)
	defer sub.Close()
	s := k.NewSession("alice")
	ctx := context.Background()
	if _, err := s.Eval(ctx, `Lobby.Define("greet", "func greet(self Object) string { return \"hi\" }")`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Eval(ctx, `Lobby.Define("greet", "func greet(self Object) string { return \"hello\" }")`); err != nil {
		t.Fatal(err)
	}
	first, second := <-sub.C, <-sub.C
	if first.Tx.Principal != "alice" || len(first.Changes) != 1 || first.Changes[0].Name != "Lobby" {
		t.Fatalf("first event = %+v", first)
	}
	ch := second.Changes[0].Slots
	if len(ch) != 1 || ch[0].Op != kernel.SlotChanged || !strings.Contains(ch[0].Before, `"hi"`) || !strings.Contains(ch[0].After, `"hello"`) {
		t.Fatalf("second event slots = %+v", ch)
	}
	// Undo publishes too, restoring the old source.
	info, err := k.Undo(second.Tx.ID, "user")
	if err != nil {
		t.Fatal(err)
	}
	ev := <-sub.C
	if ev.Tx.ID != info.ID || !strings.Contains(ev.Changes[0].Slots[0].After, `"hi"`) {
		t.Fatalf("undo event = %+v", ev)
	}
	v, err := s.Send(ctx, image.RootOID, "greet")
	if err != nil || v != "hi" {
		t.Fatalf("greet after undo = %v, %v", v, err)
	}
}

func TestLockedImage(t *testing.T) {
	_, dir := openKernel(t)
	_, err := kernel.Open(dir, nil)
	var locked *image.LockedError
	if !errors.As(err, &locked) || !strings.Contains(err.Error(), "batos repl") {
		t.Fatalf("second open: %v, want a LockedError naming batos repl", err)
	}
}

func TestDoesNotUnderstandIsASlot(t *testing.T) {
	k, _ := openKernel(t)
	s := k.NewSession("user")
	res, err := s.Eval(context.Background(), `
o := NewObject()
o.Define("doesNotUnderstand", "func doesNotUnderstand(self Object, sel string, args []any) any { return fmt.Sprintf(\"%s/%d\", sel, len(args)) }")
o.Send("anything", 1, 2)`)
	if err != nil || res.Text != `"anything/2"` {
		t.Fatalf("override doesNotUnderstand: %q, %v", res.Text, err)
	}
}

// TestOpenView runs a kernel on a view of an image, as a sandbox child
// does, with a compiler made ahead: sends work, a change fails to commit,
// and an empty store is refused, not awakened.
func TestOpenView(t *testing.T) {
	k, _ := openKernel(t)
	run(t, k.NewSession("user"), func(lobby kernel.Object) {
		lobby.Define("answer", `func answer(self Object) int { return 42 }`)
	})
	tx := k.Store().Begin("view")
	defer tx.Abort()
	c, err := kernel.NewCompiler(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Prepare(); err != nil {
		t.Fatal(err)
	}
	view := image.OpenView(txnSource{tx}, image.ViewState{LastTx: tx.StartTx(), NextOID: k.Store().NextOID()})
	vk, err := kernel.Open("", &kernel.Options{Store: view, Compiler: c, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer vk.Close()
	s := vk.NewSession("user")
	if v, err := s.Send(context.Background(), image.RootOID, "answer"); err != nil || v != 42 {
		t.Fatalf("answer = %v, %v", v, err)
	}
	_, err = s.Run(context.Background(), "write", func(lobby kernel.Object) error {
		lobby.Set("x", 1)
		return nil
	})
	if !errors.Is(err, image.ErrReadOnly) {
		t.Fatalf("a write on a view: %v, want ErrReadOnly", err)
	}
	empty := image.OpenView(txnSource{tx}, image.ViewState{})
	if _, err := kernel.Open("", &kernel.Options{Store: empty, Logger: slog.New(slog.DiscardHandler)}); err == nil {
		t.Fatal("a kernel opened on an empty store")
	}
}

// txnSource is an image.Source over a transaction of an open store.
type txnSource struct{ tx *image.Txn }

func (s txnSource) Object(oid image.OID) (*image.Record, bool, error) { return s.tx.Get(oid) }

// TestSetNote: an evaluation may name its transaction once it knows what
// to call it; between evaluations SetNote does nothing.
func TestSetNote(t *testing.T) {
	k, _ := openKernel(t)
	s := k.NewSession("user")
	s.SetNote("ignored: no evaluation")
	info, err := s.Run(context.Background(), "first name", func(lobby kernel.Object) error {
		lobby.Set("n", 1)
		s.SetNote("named later")
		return nil
	})
	if err != nil || info.Note != "named later" {
		t.Fatalf("note %q, %v; want %q", info.Note, err, "named later")
	}
	info = run(t, s, func(lobby kernel.Object) { lobby.Set("n", 2) })
	if info.Note != "test" {
		t.Fatalf("the next transaction's note is %q, want its own", info.Note)
	}
}

// TestDefineTrialed: DefineTrialed records a method without compiling it
// first, so a source its trial vouched for is installed at once; a send
// compiles it, and a broken one fails there, with the compiler's error.
func TestDefineTrialed(t *testing.T) {
	k, _ := openKernel(t)
	s := k.NewSession("user")
	run(t, s, func(lobby kernel.Object) {
		lobby.DefineTrialed("seven", `func seven(self Object) int { return 7 }`)
		lobby.DefineTrialed("broken", `func broken(self Object) int { return "no" }`)
	})
	if got, err := s.Eval(context.Background(), `Lobby.Send("seven")`); err != nil || got.Text != "7" {
		t.Fatalf("seven = %q, %v", got.Text, err)
	}
	if _, err := s.Eval(context.Background(), `Lobby.Send("broken")`); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("sending the broken method: %v; want its compile error", err)
	}
	// Define still refuses it.
	_, err := s.Run(context.Background(), "define", func(lobby kernel.Object) error {
		lobby.Define("broken2", `func broken2(self Object) int { return "no" }`)
		return nil
	})
	if err == nil {
		t.Fatal("Define installed a method that does not compile")
	}
}
