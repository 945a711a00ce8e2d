package pllm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"batos/image"
	"batos/kernel"
	"batos/kernel/pllm"
	"batos/kernel/sandbox"
	"batos/llama/llamatest"
)

// TestMain doubles as the sandbox child: trial runs re-execute this test
// binary, as the batos binary re-executes itself with `batos sandbox`. It
// is also BenchmarkPipeline's model server (serveScripted).
func TestMain(m *testing.M) {
	if os.Getenv("BATOS_SANDBOX_CHILD") == "1" {
		os.Exit(sandbox.Main())
	}
	if os.Getenv(scriptedServerEnv) == "1" {
		os.Exit(serveScripted())
	}
	os.Exit(m.Run())
}

const fib = "```go\nfunc fibonacci(self Object, n int) int {\n\tif n < 2 {\n\t\treturn n\n\t}\n\treturn self.Send(\"fibonacci\", n-1).(int) + self.Send(\"fibonacci\", n-2).(int)\n}\n```"

type fixture struct {
	k   *kernel.Kernel
	dir string
	s   *kernel.Session
	srv *llamatest.Server
}

// setup opens an image with the pLLM installed, pointed at a scripted
// llama-server, consulting one persona per attempt.
func setup(t *testing.T, attempts int, script ...llamatest.Reply) *fixture {
	t.Helper()
	dir := t.TempDir()
	k, err := kernel.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	pllm.Install(k, pllm.Options{
		Sandbox:       &sandbox.Runner{Command: []string{os.Args[0]}, Env: []string{"BATOS_SANDBOX_CHILD=1"}, Timeout: 20 * time.Second},
		TrialDeadline: 2 * time.Second,
	})
	srv := llamatest.New(t, script...)
	s := k.NewSession("user")
	eval(t, s, fmt.Sprintf(`p := Lobby.Get("pLLM").(Object); p.Set("endpoint", %q); p.Set("topK", 1); p.Set("maxAttempts", %d)`, srv.URL, attempts))
	return &fixture{k: k, dir: dir, s: s, srv: srv}
}

func eval(t *testing.T, s *kernel.Session, src string) string {
	t.Helper()
	res, err := s.Eval(context.Background(), src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return res.Text
}

func TestDoesNotUnderstandWritesTheMethod(t *testing.T) {
	f := setup(t, 2, llamatest.Reply{Text: "Here is the method:\n" + fib + "\nIt recurses.", Chunk: 7})
	sub := f.k.Bus().Subscribe(4096)
	defer sub.Close()
	before := f.k.Store().LastTx()

	res, err := f.s.Eval(context.Background(), `Lobby.Send("fibonacci", 10)`)
	if err != nil || res.Text != "55" {
		t.Fatalf("fibonacci 10 = %q, %v; want 55", res.Text, err)
	}

	// The tokens were streamed onto the bus as they arrived.
	// The install and its record were published, in that order, by the
	// time the send returned.
	var streamed strings.Builder
	var installTx image.TxID
	var commits []image.TxInfo
	for len(sub.C) > 0 {
		ev := <-sub.C
		switch {
		case ev.Kind == kernel.EventToken:
			streamed.WriteString(ev.Token.Text)
		case ev.Kind == kernel.EventCommit:
			commits = append(commits, ev.Tx)
			if strings.HasPrefix(ev.Tx.Principal, "pLLM/") {
				installTx = ev.Tx.ID
			}
		}
	}
	if len(commits) != 2 || commits[0].ID != installTx || commits[1].ID != installTx+1 || !strings.HasPrefix(commits[1].Note, "record generation of fibonacci") {
		t.Fatalf("commit events = %+v; want the install, then its record", commits)
	}
	if !strings.Contains(streamed.String(), "func fibonacci(self Object, n int) int {") {
		t.Fatalf("streamed tokens = %q", streamed.String())
	}
	// One commit by pLLM/<persona>, with a note naming the prompt and attempt.
	hist, err := f.k.Store().History(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var install image.TxInfo
	for _, tx := range hist {
		if tx.ID > before && strings.HasPrefix(tx.Principal, "pLLM/") {
			install = tx
		}
	}
	if install.ID == 0 || install.ID != installTx || !strings.Contains(install.Note, "define fibonacci on Lobby") || !strings.Contains(install.Note, "attempt 1") {
		t.Fatalf("install transaction = %+v (event tx %d)", install, installTx)
	}
	// The request carried the persona's system prompt and the mandate.
	reqs := f.srv.Requests()
	if len(reqs) == 0 || !strings.Contains(string(reqs[len(reqs)-1].Raw), "fibonacci") || !strings.Contains(string(reqs[len(reqs)-1].Raw), "You are ") {
		t.Fatalf("request = %+v", reqs)
	}
	// The generation was recorded, accepted.
	got := eval(t, f.s, `g := Lobby.Get("pLLM").(Object).Get("generations").([]any); r := g[len(g)-1].(Object); fmt.Sprintf("%d %s %v %d", len(g), r.Get("selector"), r.Get("accepted") != "", r.Get("attempts"))`)
	if got != `"1 fibonacci true 1"` {
		t.Fatalf("generation record = %s", got)
	}
	// It is an ordinary method now: the next send needs no model.
	if got := eval(t, f.s, `Lobby.Send("fibonacci", 12)`); got != "144" {
		t.Fatalf("fibonacci 12 = %s", got)
	}
	if n := len(f.srv.Requests()); n != len(reqs) {
		t.Fatalf("the second send asked the model again (%d requests)", n)
	}
}

func TestRejectedCandidatesAreFedBack(t *testing.T) {
	f := setup(t, 3,
		llamatest.Reply{Text: "I would rather not write code today."},
		llamatest.Reply{Text: "```go\nfunc fibonacci(self Object, n int) int { return \"x\" }\n```"},
		llamatest.Reply{Text: fib},
	)
	if got := eval(t, f.s, `Lobby.Send("fibonacci", 10)`); got != "55" {
		t.Fatalf("fibonacci = %s", got)
	}
	reqs := f.srv.Requests()
	var chats []llamatest.Request
	for _, r := range reqs {
		if strings.HasSuffix(r.Path, "/completions") {
			chats = append(chats, r)
		}
	}
	if len(chats) != 3 {
		t.Fatalf("%d generations, want 3", len(chats))
	}
	if !strings.Contains(string(chats[1].Raw), "declares no func fibonacci") || !strings.Contains(string(chats[2].Raw), "cannot use") {
		t.Fatalf("failures were not fed back:\n%s\n%s", chats[1].Raw, chats[2].Raw)
	}
	got := eval(t, f.s, `g := Lobby.Get("pLLM").(Object).Get("generations").([]any); g[len(g)-1].(Object).Get("attempts")`)
	if got != "3" {
		t.Fatalf("attempts recorded = %s", got)
	}
}

// TestBadAnswersInstallNothing runs every kind of bad answer through the
// pipeline: each ends in a clear error, nothing is installed, and the
// image keeps only the record of the failed generation.
func TestBadAnswersInstallNothing(t *testing.T) {
	method := func(body string) string { return "```go\n" + body + "\n```" }
	tests := []struct {
		name  string
		reply llamatest.Reply
		want  string
	}{
		{"prose only", llamatest.Reply{Text: "Fibonacci numbers are lovely."}, "declares no func fibonacci"},
		{"wrong name", llamatest.Reply{Text: method("func fib(self Object, n int) int { return n }")}, "declares no func fibonacci"},
		{"wrong receiver", llamatest.Reply{Text: method("func fibonacci(n int) int { return n }")}, "self Object"},
		{"wrong arity", llamatest.Reply{Text: method("func fibonacci(self Object) int { return 1 }")}, "takes 0 arguments"},
		{"syntax error", llamatest.Reply{Text: method("func fibonacci(self Object, n int) int { return n +* 2 }")}, "line 1"},
		{"compile error", llamatest.Reply{Text: method("func fibonacci(self Object, n int) int { return undefinedThing }")}, "compile"},
		{"panic", llamatest.Reply{Text: method("func fibonacci(self Object, n int) int { var m map[int]int; m[n] = 1; return 0 }")}, "panic"},
		{"infinite loop", llamatest.Reply{Text: method("func fibonacci(self Object, n int) int { for { n++ } }")}, "deadline"},
		{"runaway recursion", llamatest.Reply{Text: method("func fibonacci(self Object, n int) int { return fibonacci(self, n+1) }")}, "depth"},
		{"forbidden import", llamatest.Reply{Text: method("import \"os\"\nfunc fibonacci(self Object, n int) int { os.Exit(3); return 0 }")}, `"os"`},
		{"server error", llamatest.Reply{Status: 500, Message: "model exploded"}, "model exploded"},
		{"cut stream", llamatest.Reply{Text: fib, Chunk: 4, CutAfter: 3}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, 1, tc.reply)
			_, err := f.s.Eval(context.Background(), `Lobby.Send("fibonacci", 10)`)
			var ge *pllm.GenerationError
			if !errors.As(err, &ge) || !kernel.IsNotUnderstood(err) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error = %v; want a one-line GenerationError containing %q", err, tc.want)
			}
			if got := eval(t, f.s, `Lobby.Send("respondsTo", "fibonacci")`); got != "false" {
				t.Fatal("a rejected method was installed")
			}
			got := eval(t, f.s, `g := Lobby.Get("pLLM").(Object).Get("generations").([]any); fmt.Sprintf("%d %q", len(g), g[0].(Object).Get("accepted"))`)
			if got != `"1 \"\""` {
				t.Fatalf("generation record = %s", got)
			}
		})
	}
}

func TestNoServerFailsAtOnce(t *testing.T) {
	f := setup(t, 3)
	f.srv.Close()
	start := time.Now()
	_, err := f.s.Eval(context.Background(), `Lobby.Send("fibonacci", 10)`)
	if err == nil || !strings.Contains(err.Error(), "llama-server -m") || !strings.Contains(err.Error(), f.srv.URL) {
		t.Fatalf("error = %v; want one that names the URL and how to start a server", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v to notice no server", d)
	}
}

func TestCancelStopsTheGeneration(t *testing.T) {
	f := setup(t, 1, llamatest.Reply{Text: strings.Repeat("slow ", 200), Chunk: 5, Delay: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	sub := f.k.Bus().Subscribe(64)
	defer sub.Close()
	done := make(chan error, 1)
	go func() {
		_, err := f.s.Eval(ctx, `Lobby.Send("fibonacci", 10)`)
		done <- err
	}()
	for ev := range sub.C { // await the first token: the stream is open
		if ev.Kind == kernel.EventToken {
			break
		}
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("cancelled generation succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancel did not stop the generation")
	}
}

func TestInfer(t *testing.T) {
	f := setup(t, 1, llamatest.Reply{Text: "Hello from the image."})
	if got := eval(t, f.s, `NewObject().Send("infer", "say hello")`); got != `"Hello from the image."` {
		t.Fatalf("infer = %s", got)
	}
}

func TestInstallOnTheParentTheAnswerNames(t *testing.T) {
	f := setup(t, 1, llamatest.Reply{Text: "Shared behaviour:\n```go\n// batos:install-on shape\nfunc area(self Object) float64 { return self.Get(\"w\").(float64) * self.Get(\"h\").(float64) }\n```"})
	eval(t, f.s, `shape := NewObject(); shape.Set("name", "shape"); a := NewObject(); a.Set("parent*", shape); a.Set("w", 2.0); a.Set("h", 3.0); b := NewObject(); b.Set("parent*", shape); b.Set("w", 4.0); b.Set("h", 5.0); Lobby.Set("a", a); Lobby.Set("b", b); Lobby.Set("shape", shape)`)
	if got := eval(t, f.s, `Lobby.Get("a").(Object).Send("area")`); got != "6" {
		t.Fatalf("a area = %s", got)
	}
	if got := eval(t, f.s, `fmt.Sprint(Lobby.Get("shape").(Object).Slots(), Lobby.Get("b").(Object).Send("area"))`); got != `"[parent* name area] 20"` {
		t.Fatalf("installed on the parent: %s", got)
	}
}

func TestWaitsForALoadingServer(t *testing.T) {
	f := setup(t, 1, llamatest.Reply{Text: fib})
	f.srv.SetLoading(3)
	if got := eval(t, f.s, `Lobby.Send("fibonacci", 10)`); got != "55" {
		t.Fatalf("fibonacci = %s", got)
	}
}

func TestReviewerCanReject(t *testing.T) {
	f := setup(t, 2,
		llamatest.Reply{Text: "```go\nfunc fibonacci(self Object, n int) int { return 0 }\n```"},
		llamatest.Reply{Text: "REJECT\nfibonacci(10) is not 0."},
		llamatest.Reply{Text: fib},
		llamatest.Reply{Text: "APPROVE\nCorrect and small."},
	)
	eval(t, f.s, `Lobby.Get("pLLM").(Object).Set("review", true)`)
	if got := eval(t, f.s, `Lobby.Send("fibonacci", 10)`); got != "55" {
		t.Fatalf("fibonacci = %s", got)
	}
	got := eval(t, f.s, `g := Lobby.Get("pLLM").(Object).Get("generations").([]any); c := g[0].(Object).Get("candidates").([]any); fmt.Sprint(c[0].(map[string]any)["error"], " | ", c[1].(map[string]any)["review"])`)
	if !strings.Contains(got, "ALFRED's review: REJECT") || !strings.Contains(got, "APPROVE") {
		t.Fatalf("candidates = %s", got)
	}
}

// TestPromptFitsTheContext gives the server a context window too small for
// the existing methods: the prompt leaves them out, and the method is still
// written.
func TestPromptFitsTheContext(t *testing.T) {
	f := setup(t, 1, llamatest.Reply{Text: fib})
	eval(t, f.s, `Lobby.Define("padding", "func padding(self Object) string {\n\treturn `+"`"+strings.Repeat("lorem ipsum dolor sit amet ", 200)+"`"+`\n}")`)
	eval(t, f.s, `p := Lobby.Get("pLLM").(Object); s := p.Get("sampling").(map[string]any); s["max_tokens"] = 256; p.Set("sampling", s)`)
	f.srv.SetContext(600, 1, "")
	if got := eval(t, f.s, `Lobby.Send("fibonacci", 10)`); got != "55" {
		t.Fatalf("fibonacci = %s", got)
	}
	var chat string
	for _, r := range f.srv.Requests() {
		if strings.HasSuffix(r.Path, "/completions") {
			chat = string(r.Raw)
		}
	}
	if strings.Contains(chat, "lorem ipsum") || !strings.Contains(chat, "omitted to fit") {
		t.Fatalf("the prompt was not fitted to the context:\n%.400s", chat)
	}
}

// TestGenerationRecordsRouting: the router's scores for every persona
// and their entropy (routing confidence) are kept in the record, while
// only topK personas are consulted.
func TestGenerationRecordsRouting(t *testing.T) {
	f := setup(t, 1, llamatest.Reply{Text: fib})
	if got := eval(t, f.s, `Lobby.Send("fibonacci", 7)`); got != "13" {
		t.Fatalf("fibonacci 7 = %s", got)
	}
	got := eval(t, f.s, `gens := Lobby.At("pLLM").Get("generations").([]any)
g := gens[len(gens)-1].(Object)
h := g.Get("routingEntropy").(float64)
fmt.Sprint(len(g.Get("routing").(map[string]any)), len(g.Get("personas").([]any)), h > 0 && h <= 1)`)
	if got != `"4 1 true"` {
		t.Fatalf("routing record: %s, want 4 scored, 1 consulted, entropy in (0, 1]", got)
	}
}

// TestUnreachableServerCommitsNothing: a doesNotUnderstand that no model
// server answered leaves no generation record and no transaction.
func TestUnreachableServerCommitsNothing(t *testing.T) {
	f := setup(t, 2)
	eval(t, f.s, `Lobby.Get("pLLM").(Object).Set("endpoint", "http://127.0.0.1:1")`)
	before := f.k.Store().LastTx()
	if _, err := f.s.Eval(context.Background(), `Lobby.Send("nothingHere")`); err == nil || !strings.Contains(err.Error(), "could not write it") {
		t.Fatalf("send to an offline pLLM: %v", err)
	}
	if after := f.k.Store().LastTx(); after != before {
		t.Fatalf("transactions %d..%d committed for an unanswered generation", before+1, after)
	}
}

// TestLoRAByPath: a persona's adapter named by file is sent by the id the
// server gives it; one the server has not loaded is left out, and the
// generation record says which.
func TestLoRAByPath(t *testing.T) {
	f := setup(t, 1, llamatest.Reply{Text: fib})
	f.srv.SetAdapters(llamatest.Adapter{Path: "/adapters/ROBIN/v1/adapter.gguf"}, llamatest.Adapter{Path: "/adapters/BRICK/v2/adapter.gguf"})
	eval(t, f.s, `ps := Lobby.At("pLLM").At("personas"); for _, n := range ps.Slots() { if p, ok := ps.Get(n).(Object); ok && n != "parent*" { p.Set("lora", map[string]any{"path": "/adapters/BRICK/v2/adapter.gguf", "scale": 0.5}) } }
Lobby.At("pLLM").Set("maxAttempts", 1)`)
	if got := eval(t, f.s, `Lobby.Send("fibonacci", 10)`); got != "55" {
		t.Fatalf("fibonacci = %s", got)
	}
	var chat llamatest.Request
	for _, r := range f.srv.Requests() {
		if strings.HasSuffix(r.Path, "/completions") {
			chat = r
		}
	}
	if !strings.Contains(string(chat.Raw), `"lora":[{"id":1,"scale":0.5}]`) {
		t.Fatalf("request = %s", chat.Raw)
	}
	if got := eval(t, f.s, `g := Lobby.At("pLLM").Get("generations").([]any); g[len(g)-1].(Object).Get("candidates").([]any)[0].(map[string]any)["lora"]`); !strings.Contains(got, "as adapter 1 at scale 0.5") {
		t.Fatalf("record's lora = %s", got)
	}
	// Not loaded: the base model answers and the record says why.
	f.srv.SetAdapters()
	f.srv.Script(llamatest.Reply{Text: strings.ReplaceAll(fib, "fibonacci", "fib2")})
	if got := eval(t, f.s, `Lobby.Send("fib2", 10)`); got != "55" {
		t.Fatalf("fib2 = %s", got)
	}
	reqs := f.srv.Requests()
	// "lora": [] makes a llama-server started with --lora answer with the
	// base model too.
	if last := reqs[len(reqs)-1]; !strings.Contains(string(last.Raw), `"lora":[]`) {
		t.Fatalf("request with no adapter loaded = %s", last.Raw)
	}
	if got := eval(t, f.s, `g := Lobby.At("pLLM").Get("generations").([]any); g[len(g)-1].(Object).Get("candidates").([]any)[0].(map[string]any)["lora"]`); !strings.Contains(got, "not applied: the server has not loaded it") {
		t.Fatalf("record's lora = %s", got)
	}
}

// TestConfigurationMistakes: an endpoint no server can answer fails the
// send at once with what to change, asks no model twice and records no
// generation.
func TestConfigurationMistakes(t *testing.T) {
	f := setup(t, 3, llamatest.Reply{Text: fib})
	for _, tc := range []struct{ endpoint, want string }{
		{strings.TrimPrefix(f.srv.URL, "http://"), "no http:// or https:// scheme"},
		{f.srv.URL + "/v1", "leave /v1 out of the endpoint"},
	} {
		eval(t, f.s, fmt.Sprintf(`Lobby.At("pLLM").Set("endpoint", %q)`, tc.endpoint))
		before := f.k.Store().LastTx()
		_, err := f.s.Eval(context.Background(), `Lobby.Send("fibonacci", 10)`)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "attempt") {
			t.Fatalf("endpoint %q: %v; want one error saying %q", tc.endpoint, err, tc.want)
		}
		if f.k.Store().LastTx() != before {
			t.Fatalf("endpoint %q: a configuration mistake was recorded as a generation", tc.endpoint)
		}
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Fatalf("the server was asked %d times", n)
	}
}

// TestSilentServerIsWaitedFor: while a server says nothing, the bus says
// that it is waited for and how long.
func TestSilentServerIsWaitedFor(t *testing.T) {
	defer pllm.SetWaitNotice(50 * time.Millisecond)()
	f := setup(t, 1, llamatest.Reply{Text: fib, Delay: 300 * time.Millisecond, Chunk: 1000})
	sub := f.k.Bus().Subscribe(4096)
	defer sub.Close()
	if got := eval(t, f.s, `Lobby.Send("fibonacci", 10)`); got != "55" {
		t.Fatalf("fibonacci = %s", got)
	}
	var waits []time.Duration
	for len(sub.C) > 0 {
		if ev := <-sub.C; ev.Kind == kernel.EventToken && ev.Token.Waiting > 0 {
			if ev.Token.Text != "" || ev.Token.Endpoint != f.srv.URL {
				t.Fatalf("waiting token = %+v", ev.Token)
			}
			waits = append(waits, ev.Token.Waiting)
		}
	}
	if len(waits) < 2 || waits[len(waits)-1] <= waits[0] {
		t.Fatalf("waiting notices = %v, want several, growing", waits)
	}
}

// TestEveryPersonaAskedIsRecorded: across attempts, the record lists each
// persona consulted once.
func TestEveryPersonaAskedIsRecorded(t *testing.T) {
	f := setup(t, 3, llamatest.Reply{Text: "no code"}, llamatest.Reply{Text: "still none"}, llamatest.Reply{Text: fib})
	// A router that names a different persona at each attempt.
	eval(t, f.s, `p := Lobby.At("pLLM"); p.Set("n", 0); p.Define("route", "func route(self Object, m string, k int) []any { n := self.Get(\"n\").(int); self.Set(\"n\", n+1); return []any{[]string{\"BRICK\", \"ROBIN\", \"BABS\"}[n%3]} }")`)
	if got := eval(t, f.s, `Lobby.Send("fibonacci", 10)`); got != "55" {
		t.Fatalf("fibonacci = %s", got)
	}
	got := eval(t, f.s, `g := Lobby.At("pLLM").Get("generations").([]any); fmt.Sprint(g[len(g)-1].(Object).Get("personas"))`)
	if got != `"[BRICK ROBIN BABS]"` {
		t.Fatalf("personas recorded = %s", got)
	}
}

// TestUndoGeneratedAfterLaterGenerations: a generated method's install
// changes its holder only, so its undo is not blocked by the records and
// counters that later generations, failed ones too, change.
func TestUndoGeneratedAfterLaterGenerations(t *testing.T) {
	f := setup(t, 1, llamatest.Reply{Text: fib}, llamatest.Reply{Text: "no code at all"})
	if got := eval(t, f.s, `Lobby.Send("fibonacci", 10)`); got != "55" {
		t.Fatalf("fibonacci = %s", got)
	}
	var install image.TxID
	hist, err := f.k.Store().History(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, tx := range hist {
		if strings.HasPrefix(tx.Principal, "pLLM/") {
			install = tx.ID
			break
		}
	}
	// A later generation that fails: it records and counts.
	if _, err := f.s.Eval(context.Background(), `Lobby.Send("nothing", 1)`); err == nil {
		t.Fatal("a send the model could not write succeeded")
	}
	if f.k.Store().LastTx() <= install+1 {
		t.Fatal("the failed generation recorded nothing")
	}
	if _, err := f.k.Undo(install, "user"); err != nil {
		t.Fatalf("undo the install after a later generation: %v", err)
	}
	if got := eval(t, f.s, `Lobby.Send("respondsTo", "fibonacci")`); got != "false" {
		t.Fatalf("fibonacci after the undo: respondsTo = %s", got)
	}
}

// TestTypedArguments: a send with typed slice and map arguments is
// trial-run with them as they are, and the record keeps them typed.
func TestTypedArguments(t *testing.T) {
	f := setup(t, 1, llamatest.Reply{Text: "```go\nfunc total(self Object, xs []int, w map[string]int) int {\n\ts := 0\n\tfor _, x := range xs {\n\t\ts += x * w[\"k\"]\n\t}\n\treturn s\n}\n```"})
	if got := eval(t, f.s, `Lobby.Send("total", []int{1, 2, 3}, map[string]int{"k": 2})`); got != "12" {
		t.Fatalf("total = %s", got)
	}
	got := eval(t, f.s, `g := Lobby.At("pLLM").Get("generations").([]any); a := g[len(g)-1].(Object).Get("args").([]any); fmt.Sprintf("%T %T", a[0], a[1])`)
	if got != `"[]int map[string]int"` {
		t.Fatalf("recorded args = %s", got)
	}
}

// TestPromptShorterThanTheContextIsNotMeasured: a prompt with fewer bytes
// than the context has room for tokens fits without a /tokenize round
// trip; one that may not fit is measured.
func TestPromptShorterThanTheContextIsNotMeasured(t *testing.T) {
	f := setup(t, 1, llamatest.Reply{Text: fib})
	f.srv.SetContext(1<<20, 1, "")
	if got := eval(t, f.s, `Lobby.Send("fibonacci", 10)`); got != "55" {
		t.Fatalf("fibonacci = %s", got)
	}
	for _, r := range f.srv.Requests() {
		if strings.HasSuffix(r.Path, "/tokenize") {
			t.Fatalf("a prompt far inside the context was tokenized")
		}
	}
}
