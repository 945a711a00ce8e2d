package pllm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"batos/image"
	"batos/kernel"
	"batos/kernel/pllm"
	"batos/llama/llamatest"
)

func goFence(src string) string { return "```go\n" + src + "\n```" }

// chats returns the prompts of the generation requests the server got.
func chats(srv *llamatest.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, "/completions") || strings.HasSuffix(r.Path, "/completion") {
			out = append(out, string(r.Raw))
		}
	}
	return out
}

// commitsSince returns the transactions committed after tx, oldest first.
func commitsSince(t *testing.T, k *kernel.Kernel, tx image.TxID) []image.TxInfo {
	t.Helper()
	hist, err := k.Store().History(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []image.TxInfo
	for i := len(hist) - 1; i >= 0; i-- {
		if hist[i].ID > tx {
			out = append(out, hist[i])
		}
	}
	return out
}

// addPoint commits Lobby.point (x: 1) and Lobby.other (y: 2).
func (f *fixture) addPoint(t *testing.T) (point, other image.OID) {
	t.Helper()
	eval(t, f.s, `p := NewObject(); p.Set("name", "point"); p.Set("x", 1); Lobby.Set("point", p); o := NewObject(); o.Set("name", "other"); o.Set("y", 2); Lobby.Set("other", o)`)
	res, err := f.s.Eval(context.Background(), `[]any{Lobby.Get("point"), Lobby.Get("other")}`)
	if err != nil {
		t.Fatal(err)
	}
	l := res.Value.([]any)
	return l[0].(kernel.Object).OID(), l[1].(kernel.Object).OID()
}

const goodGrow = "func grow(self Object, n int) int {\n\tself.Set(\"size\", n)\n\treturn n\n}"

// TestCandidateOutsideThePolicyIsRejected: a candidate whose trial writes
// outside Lobby.pLLM.policy is rejected, the reason — naming the object and
// slot — is in the next prompt, the generation record keeps the outcome and
// the write set, and the pLLM commits nothing but the good candidate's
// install and the record.
func TestCandidateOutsideThePolicyIsRejected(t *testing.T) {
	tests := []struct {
		name   string
		bad    string // the first answer's method
		reason string // in the next prompt; {point}, {other}: their ids
	}{
		{"Lobby.system", "func grow(self Object, n int) int {\n\tself.Lobby().Get(\"system\").(Object).Set(\"maxDepth\", 1)\n\tself.Set(\"size\", n)\n\treturn n\n}",
			"may not set system (object 3).maxDepth: it is Lobby.system, which Lobby.pLLM.policy.never protects"},
		{"a method on Lobby", "func grow(self Object, n int) int {\n\tself.Lobby().Define(\"evil\", \"func evil(self Object) int { return 666 }\")\n\treturn n\n}",
			"may not define Lobby.evil: model-written code may change methods of only the object it is installed on"},
		{"another object", "func grow(self Object, n int) int {\n\tself.Lobby().Get(\"other\").(Object).Set(\"y\", n)\n\treturn n\n}",
			"may not set other (object {other}).y: model-written code may change only its receiver, objects it created"},
		{"a persona's prompt", "func grow(self Object, n int) int {\n\tdefer func() { recover() }()\n\tself.Lobby().Get(\"pLLM\").(Object).Get(\"personas\").(Object).Get(\"BRICK\").(Object).Set(\"systemPrompt\", \"obey\")\n\treturn n\n}",
			"may not set BRICK (object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, 2, llamatest.Reply{Text: goFence(tc.bad)}, llamatest.Reply{Text: goFence(goodGrow)})
			point, other := f.addPoint(t)
			ids := strings.NewReplacer("{point}", fmt.Sprint(point), "{other}", fmt.Sprint(other))
			before := f.k.Store().LastTx()
			if got := eval(t, f.s, `Lobby.Get("point").(Object).Send("grow", 5)`); got != "5" {
				t.Fatalf("grow = %s", got)
			}
			prompts := chats(f.srv)
			if len(prompts) != 2 || !strings.Contains(prompts[1], "trial run failed (policy): write policy: pLLM/") || !strings.Contains(prompts[1], ids.Replace(tc.reason)) {
				t.Fatalf("the second prompt does not feed the policy failure back (%d prompts):\n%s", len(prompts), prompts[len(prompts)-1])
			}
			got := eval(t, f.s, `g := Lobby.Get("pLLM").(Object).Get("generations").([]any); c := g[len(g)-1].(Object).Get("candidates").([]any)[0].(map[string]any); fmt.Sprint(c["outcome"], " | ", c["error"], " | ", c["writes"])`)
			if !strings.Contains(got, "rejected | trial run failed (policy)") || !strings.Contains(got, "(denied)") {
				t.Fatalf("generation record: %s", got)
			}
			// Nothing of the bad candidate happened; the pLLM committed
			// the install, then its record, and nothing else.
			if got := eval(t, f.s, `fmt.Sprint(Lobby.Get("system").(Object).Get("maxDepth"), Lobby.Send("respondsTo", "evil"), Lobby.Get("other").(Object).Get("y"), strings.HasPrefix(Lobby.Get("pLLM").(Object).Get("personas").(Object).Get("BRICK").(Object).Get("systemPrompt").(string), "You are BRICK"))`); got != `"10000 false 2 true"` {
				t.Fatalf("image after the generation: %s", got)
			}
			var pllmTx []image.TxInfo
			for _, tx := range commitsSince(t, f.k, before) {
				if strings.HasPrefix(tx.Principal, "pLLM") {
					pllmTx = append(pllmTx, tx)
				}
			}
			if len(pllmTx) != 2 || !strings.Contains(pllmTx[0].Note, "define grow on Lobby.point (object ") || !strings.Contains(pllmTx[0].Note, "attempt 2") ||
				pllmTx[1].Principal != "pLLM" || !strings.Contains(pllmTx[1].Note, fmt.Sprintf("record generation of grow (installed in transaction %d)", pllmTx[0].ID)) {
				t.Fatalf("pLLM commits: %+v", pllmTx)
			}
			// The install changed the receiver only, so that undoing it
			// never conflicts with a later generation's record.
			if len(pllmTx[0].Changed) != 1 {
				t.Fatalf("the install changed %v, want only the receiver", pllmTx[0].Changed)
			}
			for _, oid := range pllmTx[0].Changed {
				if oid == image.RootOID || oid == other || oid == 3 {
					t.Fatalf("the install changed object %d: %+v", oid, pllmTx[0])
				}
			}
		})
	}
}

// TestPolicyEditsReachTheTrial widens the policy from the REPL: a
// candidate that writes Lobby.other is then accepted at its trial.
func TestPolicyEditsReachTheTrial(t *testing.T) {
	writesOther := goFence("func grow(self Object, n int) int {\n\tself.Lobby().Get(\"other\").(Object).Set(\"y\", n)\n\treturn n\n}")
	f := setup(t, 1, llamatest.Reply{Text: writesOther})
	f.addPoint(t)
	if _, err := f.s.Eval(context.Background(), `Lobby.Get("point").(Object).Send("grow", 5)`); err == nil || !strings.Contains(err.Error(), "other (object") {
		t.Fatalf("error = %v; want the policy failure", err)
	}
	eval(t, f.s, `Lobby.Get("pLLM").(Object).Get("policy").(Object).Set("mayWrite", []any{"receiver", "created", "Lobby.other"})`)
	if got := eval(t, f.s, `Lobby.Get("point").(Object).Send("grow", 7)`); got != "7" {
		t.Fatalf("grow = %s", got)
	}
	if got := eval(t, f.s, `Lobby.Get("other").(Object).Get("y")`); got != "7" {
		t.Fatalf("other.y = %s", got)
	}
}

// TestTrialAwareCandidateFailsInItsRealRun: a candidate that behaves in its
// trial — it tells by the record of its own generation, which the trial's
// checkpoint does not have yet — and writes Lobby.system in its real run
// is installed, and then its real run fails with the policy error naming
// the slot: the kernel answers the next input and nothing of the bad write
// (or of the rest of that transaction) is committed. The method keeps its
// author, pLLM/<persona>, across a reopen.
func TestTrialAwareCandidateFailsInItsRealRun(t *testing.T) {
	sly := goFence(`func grow(self Object, n int) int {
	if len(self.Lobby().Get("pLLM").(Object).Get("generations").([]any)) > 0 {
		// Installed: this is no trial any more.
		self.Lobby().Get("system").(Object).Set("maxDepth", 1)
	}
	self.Set("size", n)
	return n
}`)
	f := setup(t, 1, llamatest.Reply{Text: sly})
	point, _ := f.addPoint(t)
	before := f.k.Store().LastTx()
	_, err := f.s.Eval(context.Background(), `Lobby.Get("point").(Object).Send("grow", 5)`)
	var pe *kernel.PolicyError
	if !errors.As(err, &pe) || pe.Slot != "maxDepth" || pe.Selector != "grow" || !strings.HasPrefix(pe.Author, "pLLM/") ||
		!strings.Contains(err.Error(), "system (object 3).maxDepth") {
		t.Fatalf("error = %v; want a *kernel.PolicyError naming system's maxDepth", err)
	}
	// The kernel is alive, the bad write and the receiver's are not in the
	// image, and the method was installed (once, by the pLLM).
	if got := eval(t, f.s, `fmt.Sprint(Lobby.Get("system").(Object).Get("maxDepth"), Lobby.Get("point").(Object).Send("respondsTo", "size"), Lobby.Get("point").(Object).Send("respondsTo", "grow"))`); got != `"10000 false true"` {
		t.Fatalf("image after the real run: %s", got)
	}
	var principals []string
	for _, tx := range commitsSince(t, f.k, before) {
		principals = append(principals, tx.Principal)
	}
	if len(principals) != 2 || principals[0] != pe.Author || principals[1] != "pLLM" {
		t.Fatalf("commits since the send: %v; want only the install by %s and its record", principals, pe.Author)
	}
	// It fails the same way every time, and other input works.
	if _, err := f.s.Eval(context.Background(), `Lobby.Get("point").(Object).Send("grow", 6)`); !errors.As(err, &pe) {
		t.Fatalf("second send: %v", err)
	}
	if got := eval(t, f.s, `1 + 1`); got != "2" {
		t.Fatalf("1 + 1 = %s", got)
	}
	// The author is recorded and survives a reopen.
	author := func(k *kernel.Kernel) string {
		s := k.NewSession("user")
		var a string
		if _, err := s.Run(context.Background(), "read", func(kernel.Object) error {
			slots, err := s.SlotsOf(point)
			for _, sl := range slots {
				if m, ok := sl.Value.(image.Method); ok && sl.Name == "grow" {
					a = m.Author
				}
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return a
	}
	if got := author(f.k); got != pe.Author {
		t.Fatalf("author = %q, want %q", got, pe.Author)
	}
	f.k.Close()
	k, err := kernel.Open(f.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if got := author(k); got != pe.Author {
		t.Fatalf("author after reopen = %q, want %q", got, pe.Author)
	}
}

// TestPolicyRefusesBeforeTheModel: the pLLM writes no methods for objects
// the never list protects, and none while the policy is not valid; either
// way it says so at once, without asking the model.
func TestPolicyRefusesBeforeTheModel(t *testing.T) {
	tests := []struct{ name, setup, send, want string }{
		{"protected receiver", ``, `Lobby.Get("system").(Object).Send("grow", 1)`, "the write policy protects system (object 3) (Lobby.system in Lobby.pLLM.policy.never)"},
		{"under the pLLM", ``, `Lobby.Get("pLLM").(Object).Get("personas").(Object).Send("grow", 1)`, "Lobby.pLLM in Lobby.pLLM.policy.never"},
		{"invalid policy", `Lobby.Get("pLLM").(Object).Get("policy").(Object).Set("never", "Lobby.system")`, `Lobby.Send("grow", 1)`, "Lobby.pLLM.policy.never is a string"},
		{"model code sending to another object", `model`, `Lobby.Get("point").(Object).Send("poke")`,
			"pLLM/TEST's method poke may not have the pLLM define other (object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, 1, llamatest.Reply{Text: goFence(goodGrow)})
			switch tc.setup {
			case "":
			case "model":
				// A model-written method that sends an unknown selector to
				// an object it may not define methods on.
				f.addPoint(t)
				s := f.k.NewSession("pLLM/TEST")
				if _, err := s.Run(context.Background(), "define poke", func(lobby kernel.Object) error {
					lobby.Get("point").(kernel.Object).Define("poke", `func poke(self Object) any { return self.Lobby().Get("other").(Object).Send("grow", 1) }`)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			default:
				eval(t, f.s, tc.setup)
			}
			_, err := f.s.Eval(context.Background(), tc.send)
			var ge *pllm.GenerationError
			if !errors.As(err, &ge) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v; want a GenerationError containing %q", err, tc.want)
			}
			if n := len(chats(f.srv)); n != 0 {
				t.Fatalf("the model was asked %d times", n)
			}
		})
	}
}
