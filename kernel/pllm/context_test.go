package pllm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"batos/kernel"
	"batos/kernel/pllm"
	"batos/llama/llamatest"
)

// lastPrompt is the system and user messages of the newest request.
func lastPrompt(t *testing.T, srv *llamatest.Server) (system, user string) {
	t.Helper()
	reqs := srv.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		msgs, ok := reqs[i].Body["messages"].([]any)
		if !ok || len(msgs) != 2 {
			continue
		}
		return fmt.Sprint(msgs[0].(map[string]any)["content"]), fmt.Sprint(msgs[1].(map[string]any)["content"])
	}
	t.Fatal("no chat request")
	return "", ""
}

// TestContextParts: the model is told how the receiver is reached, the
// source that made the send (the calling method, or the input), the
// methods it answers with their doc comments, the arguments' values and
// the Object API; Lobby.pLLM.context switches each off.
func TestContextParts(t *testing.T) {
	triple := "```go\nfunc triple(self Object, n int) int { return 3 * n }\n```"
	quad := "```go\nfunc quad(self Object, n int) int { return 4 * n }\n```"
	f := setup(t, 1, llamatest.Reply{Text: triple}, llamatest.Reply{Text: quad})
	eval(t, f.s, "calc := NewObject()\n"+
		"calc.Define(\"helper\", \"// helper doubles n.\\nfunc helper(self Object, n int) int { return 2 * n }\")\n"+
		"calc.Define(\"run\", `func run(self Object) int { return self.Send(\"triple\", 3).(int) }`)\n"+
		"Lobby.Set(\"calc\", calc)")
	if got := eval(t, f.s, `Lobby.At("calc").Send("run")`); got != "9" {
		t.Fatalf("run = %s", got)
	}
	system, user := lastPrompt(t, f.srv)
	for _, want := range []string{
		"Receiver: Lobby.calc (object ",
		"The send was made by method run on",
		`return self.Send("triple", 3).(int)`,
		"func helper(self Object, n int) int (on",
		"— helper doubles n.",
		"Arguments: int = 3",
	} {
		if !strings.Contains(user, want) {
			t.Errorf("the prompt lacks %q:\n%s", want, user)
		}
	}
	if !strings.Contains(system, `self.Send("area", 2)`) {
		t.Errorf("the system prompt lacks the API reference:\n%s", system)
	}

	eval(t, f.s, `Lobby.At("pLLM").Set("context", map[string]any{"path": false, "origin": false, "values": false, "docs": false, "api": false})`)
	if got := eval(t, f.s, `Lobby.At("calc").Send("quad", 2)`); got != "8" {
		t.Fatalf("quad = %s", got)
	}
	system, user = lastPrompt(t, f.srv)
	for _, unwanted := range []string{"Receiver: Lobby.calc", "The send was made", "doc comment", "int = 2"} {
		if strings.Contains(user, unwanted) {
			t.Errorf("switched off, the prompt still has %q:\n%s", unwanted, user)
		}
	}
	if strings.Contains(system, "Object API") || !strings.Contains(user, "Arguments: int\n") {
		t.Errorf("switched off: system %q, user:\n%s", system, user)
	}
}

// TestOriginIsTheInput: a send made at an entry's top level quotes the
// entry.
func TestOriginIsTheInput(t *testing.T) {
	f := setup(t, 1, llamatest.Reply{Text: "```go\nfunc half(self Object, n int) int { return n / 2 }\n```"})
	if got := eval(t, f.s, "x := 10\nLobby.Send(\"half\", x)"); got != "5" {
		t.Fatalf("half = %s", got)
	}
	_, user := lastPrompt(t, f.srv)
	if !strings.Contains(user, "The send was made by this input:\nx := 10\nLobby.Send(\"half\", x)\n") || !strings.Contains(user, "Receiver: Lobby\n") {
		t.Errorf("prompt:\n%s", user)
	}
}

// TestGrammar: a llama-server is asked with the grammar of the selector;
// one that refuses it (400) is asked again without, and never again
// with one; constrain off sends none.
func TestGrammar(t *testing.T) {
	f := setup(t, 1,
		llamatest.Reply{Status: 400, Message: "failed to parse grammar"},
		llamatest.Reply{Text: fib})
	grammarOf := func(i int) string {
		g, _ := f.srv.Requests()[i].Body["grammar"].(string)
		return g
	}
	chats := func() []int {
		var idx []int
		for i, r := range f.srv.Requests() {
			if r.Path == "/v1/chat/completions" {
				idx = append(idx, i)
			}
		}
		return idx
	}
	if got := eval(t, f.s, `Lobby.Send("fibonacci", 10)`); got != "55" {
		t.Fatalf("fibonacci = %s", got)
	}
	c := chats()
	if len(c) != 2 || grammarOf(c[0]) != pllm.Grammar("fibonacci") || !strings.Contains(grammarOf(c[0]), `"func fibonacci(self Object"`) || grammarOf(c[1]) != "" {
		t.Fatalf("requests %v: first grammar %q, second %q", c, grammarOf(c[0]), grammarOf(c[1]))
	}
	f.srv.Script(llamatest.Reply{Text: "```go\nfunc twice(self Object, n int) int { return 2 * n }\n```"})
	eval(t, f.s, `Lobby.Send("twice", 1)`)
	if c = chats(); grammarOf(c[len(c)-1]) != "" {
		t.Errorf("asked with a grammar after the server refused one")
	}

	// A fresh pipeline: on by default with llama.cpp, off when told.
	g := setup(t, 1, llamatest.Reply{Text: "```go\nfunc one(self Object) int { return 1 }\n```"})
	eval(t, g.s, `Lobby.Send("one")`)
	if r := g.srv.Requests(); r[len(r)-1].Body["grammar"] != pllm.Grammar("one") {
		t.Errorf("auto with llama.cpp sent grammar %v", r[len(r)-1].Body["grammar"])
	}
	eval(t, g.s, `Lobby.At("pLLM").Set("constrain", "off")`)
	g.srv.Script(llamatest.Reply{Text: "```go\nfunc two(self Object) int { return 2 }\n```"})
	eval(t, g.s, `Lobby.Send("two")`)
	if r := g.srv.Requests(); r[len(r)-1].Body["grammar"] != nil {
		t.Errorf("constrain off sent grammar %v", r[len(r)-1].Body["grammar"])
	}
	if pllm.Grammar("not an identifier") != "" || pllm.Grammar("x") == "" {
		t.Error("Grammar of a non-identifier")
	}
}

// TestOutcomesOnTheBus: each candidate's stream is marked with its
// attempt and ends with its outcome and reason, so clients separate the
// attempts and say why each was rejected.
func TestOutcomesOnTheBus(t *testing.T) {
	f := setup(t, 2, llamatest.Reply{Text: "```go\nfunc half(self Object, n int) int { return n / }\n```"}, llamatest.Reply{Text: "```go\nfunc half(self Object, n int) int { return n / 2 }\n```"})
	sub := f.k.Bus().Subscribe(4096)
	defer sub.Close()
	if got := eval(t, f.s, `Lobby.Send("half", 8)`); got != "4" {
		t.Fatalf("half = %s", got)
	}
	var outcomes []string
	texts := map[int]bool{}
	for len(sub.C) > 0 {
		ev := <-sub.C
		if ev.Token == nil {
			continue
		}
		if ev.Token.Outcome != "" {
			outcomes = append(outcomes, fmt.Sprintf("%d %s %s", ev.Token.Attempt, ev.Token.Outcome, ev.Token.Reason))
		} else if ev.Token.Text != "" {
			texts[ev.Token.Attempt] = true
		}
	}
	if len(outcomes) != 2 || !strings.HasPrefix(outcomes[0], "1 rejected method half: line 1:") || outcomes[1] != "2 accepted " || !texts[1] || !texts[2] {
		t.Errorf("outcomes %q, text in attempts %v", outcomes, texts)
	}
}

// TestConfirmBeforeWriting: with Lobby.pLLM.confirm on, a send nobody
// understands asks nothing of the model and commits nothing until the
// caller's principal allows that selector on that receiver, once.
func TestConfirmBeforeWriting(t *testing.T) {
	f := setup(t, 1, llamatest.Reply{Text: "```go\nfunc twice(self Object, n int) int { return 2 * n }\n```"})
	eval(t, f.s, `Lobby.At("pLLM").Set("confirm", true)`)
	before, requests := f.k.Store().LastTx(), len(f.srv.Requests())
	_, err := f.s.Eval(context.Background(), `Lobby.Send("twice", 4)`)
	var ce *pllm.ConfirmError
	if !errors.As(err, &ce) || !kernel.IsNotUnderstood(err) || !strings.Contains(err.Error(), `Send("allowWrite", ObjectAt(1), "twice")`) {
		t.Fatalf("unconfirmed: %v", err)
	}
	if f.k.Store().LastTx() != before || len(f.srv.Requests()) != requests {
		t.Fatal("an unconfirmed send asked the model or committed")
	}
	// Another principal's confirmation is not this one's.
	other := f.k.NewSession("remote:bob")
	eval(t, other, `Lobby.At("pLLM").Send("allowWrite", Lobby, "twice")`)
	if _, err := f.s.Eval(context.Background(), `Lobby.Send("twice", 4)`); !errors.As(err, &ce) {
		t.Fatalf("bob's confirmation allowed user's send: %v", err)
	}
	eval(t, f.s, `Lobby.At("pLLM").Send("allowWrite", Lobby, "twice")`)
	if got := eval(t, f.s, `Lobby.Send("twice", 4)`); got != "8" {
		t.Fatalf("confirmed: %s", got)
	}
	// Used up: the next missing selector asks again.
	if _, err := f.s.Eval(context.Background(), `Lobby.Send("thrice", 4)`); !errors.As(err, &ce) {
		t.Fatalf("a second selector was not asked about: %v", err)
	}
}

// TestMigrateConfirm: an image made before the confirm switch gets it,
// off, and the allowWrite primitive.
func TestMigrateConfirm(t *testing.T) {
	k, err := kernel.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	p := pllm.Install(k, pllm.Options{})
	s := k.NewSession("user")
	eval(t, s, `Lobby.At("pLLM").Remove("confirm"); Lobby.At("pLLM").Remove("allowWrite")`)
	if err := p.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := eval(t, s, `c, _ := Lobby.At("pLLM").Lookup("confirm"); _, a := Lobby.At("pLLM").Lookup("allowWrite"); fmt.Sprint(c, a)`); got != `"false true"` {
		t.Fatalf("after Migrate: %s", got)
	}
}
