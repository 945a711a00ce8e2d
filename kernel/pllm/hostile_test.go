package pllm_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"batos/llama/llamatest"
)

// TestModelMethodsCannotCrashTheKernel installs, through the real pipeline
// (scripted llama-server, trial in a sandbox child), methods that behave in
// their trial — they are trial-aware: the trial runs with the arguments of
// the send that was not understood — and, sent other arguments in their
// real run inside the kernel process, do what used to kill it. Each real
// run must fail its send with an error that says what was refused, commit
// nothing, and leave the kernel answering the next entry.
func TestModelMethodsCannotCrashTheKernel(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"cyclic print", `a := []any{1}; a[0] = a; return len(fmt.Sprint(a))`, "cannot print"},
		{"cyclic panic", `m := map[int]any{}; m[1] = m; panic(m)`, "panicked"},
		{"exponential store", `e := []any{1}; for i := 0; i < 30; i++ { e = []any{e, e} }; self.Set("e", e); return 0`, "larger than"},
		{"array make", `x := make([][1 << 20]int, 1 << 20); return len(x)`, "allocation limit exceeded"},
		{"builder grow", `var b strings.Builder; b.Grow(1 << 40); return b.Len()`, "allocation limit exceeded"},
		{"replace", `s := strings.Repeat("x", 1 << 20); return len(strings.ReplaceAll(s, "", s))`, "allocation limit exceeded"},
		{"runaway recursion", `var r func(int) int; r = func(i int) int { return r(i+1) + 1 }; return r(0)`, "call depth limit"},
		{"runaway sends", `return self.Send("hostile", n).(int) + 1`, "call depth limit"},
		{"spin in a literal", `func() { for {} }(); return 0`, "deadline exceeded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Behaves for n == 1 (the trial's argument); misbehaves otherwise.
			src := fmt.Sprintf("```go\nfunc hostile(self Object, n int) int {\n\tif n == 1 {\n\t\treturn 1\n\t}\n\t%s\n}\n```", tc.body)
			f := setup(t, 1, llamatest.Reply{Text: src})
			eval(t, f.s, `Lobby.Get("system").(Object).Set("sendDeadline", "2s")`)
			eval(t, f.s, `Lobby.Set("target", NewObject())`)
			if got := eval(t, f.s, `Lobby.Get("target").(Object).Send("hostile", 1)`); got != "1" {
				t.Fatalf("the trial-shaped send answered %q, want 1", got)
			}
			author := eval(t, f.s, `Lobby.Get("target").(Object).Get("hostile")`)
			if !strings.Contains(author, "func hostile") {
				t.Fatalf("not installed: %s", author)
			}
			before := f.k.Store().LastTx()
			_, err := f.s.Eval(context.Background(), `Lobby.Get("target").(Object).Send("hostile", 2)`)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("the real run answered %v, want an error containing %q", err, tc.want)
			}
			if after := f.k.Store().LastTx(); after != before {
				t.Errorf("the failed real run committed transaction %d", after)
			}
			if got := eval(t, f.s, `1 + 1`); got != "2" {
				t.Fatalf("the next entry answered %q", got)
			}
		})
	}
}

// TestHostileArgumentsToTheModel: a send the pLLM must answer, with an
// argument that is cyclic or exponentially shared, is refused with an
// error (describing it for the prompt, or encoding it for the trial, would
// walk it), and the kernel answers the next entry.
func TestHostileArgumentsToTheModel(t *testing.T) {
	for _, build := range []string{
		`a := []any{1}; a[0] = a`,
		`a := []any{1}; for i := 0; i < 30; i++ { a = []any{a, a} }`,
		`a := map[string]any{}; a["a"] = a`,
	} {
		f := setup(t, 1, llamatest.Reply{Text: "```go\nfunc zork(self Object, a any) int { return 1 }\n```"})
		eval(t, f.s, `Lobby.Set("target", NewObject())`)
		eval(t, f.s, build)
		res, err := f.s.Eval(context.Background(), `Lobby.Get("target").(Object).Send("zork", a)`)
		if err == nil || !strings.Contains(err.Error(), "zork") || !strings.Contains(err.Error(), "value") {
			t.Errorf("%s: the send answered %q, %v; want an error about the value", build, res.Text, err)
		}
		t.Logf("%s: %v", build, err)
		if got := eval(t, f.s, `1 + 1`); got != "2" {
			t.Fatalf("%s: the next entry answered %q", build, got)
		}
	}
}
