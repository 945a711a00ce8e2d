package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"batos/image"
	"batos/kernel"
)

// policyFixture is an image with Lobby.point (x: 1), Lobby.other (y: 2),
// Lobby.shape (point's parent, holding shared methods) and a user session.
type policyFixture struct {
	k   *kernel.Kernel
	dir string
	s   *kernel.Session
}

func newPolicyFixture(t *testing.T) *policyFixture {
	t.Helper()
	dir := t.TempDir()
	k, err := kernel.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	f := &policyFixture{k: k, dir: dir, s: k.NewSession("user")}
	f.eval(t, `shape := NewObject(); shape.Set("name", "shape"); Lobby.Set("shape", shape)
p := NewObject(); p.Set("name", "point"); p.Set("parent*", shape); p.Set("x", 1); Lobby.Set("point", p)
o := NewObject(); o.Set("name", "other"); o.Set("y", 2); Lobby.Set("other", o)`)
	return f
}

func (f *policyFixture) eval(t *testing.T, src string) string {
	t.Helper()
	res, err := f.s.Eval(context.Background(), src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return res.Text
}

// define installs src on Lobby's slot holder as principal would: a session
// with principal "pLLM/TEST" stands for the pLLM's install.
func (f *policyFixture) define(t *testing.T, principal, holder, sel, src string) {
	t.Helper()
	s := f.k.NewSession(principal)
	_, err := s.Run(context.Background(), "define "+sel, func(lobby kernel.Object) error {
		lobby.Get(holder).(kernel.Object).Define(sel, src)
		return nil
	})
	if err != nil {
		t.Fatalf("define %s: %v", sel, err)
	}
}

// author returns the author of the method slot sel on Lobby's slot holder
// ("" for Lobby itself).
func (f *policyFixture) author(t *testing.T, holder, sel string) string {
	t.Helper()
	var author string
	_, err := f.s.Run(context.Background(), "read", func(lobby kernel.Object) error {
		o := lobby
		if holder != "" {
			o = lobby.Get(holder).(kernel.Object)
		}
		slots, err := f.s.SlotsOf(o.OID())
		if err != nil {
			return err
		}
		for _, sl := range slots {
			if m, ok := sl.Value.(image.Method); ok && sl.Name == sel {
				author = m.Author
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return author
}

func TestMethodsRecordTheirAuthor(t *testing.T) {
	f := newPolicyFixture(t)
	f.eval(t, `Lobby.Get("point").(Object).Define("byUser", "func byUser(self Object) int { return 1 }")`)
	f.define(t, "pLLM/TEST", "point", "byModel", `func byModel(self Object) int {
	self.Define("helper", "func helper(self Object) int { return 2 }")
	return 1
}`)
	// A method model-written code defines is the model's, whoever sent it.
	f.eval(t, `Lobby.Get("point").(Object).Send("byModel")`)
	tests := []struct{ holder, sel, want string }{
		{"point", "byUser", "user"},
		{"point", "byModel", "pLLM/TEST"},
		{"point", "helper", "pLLM/TEST"},
		{"traits", "isNil", "awakening"},
	}
	check := func(f *policyFixture) {
		for _, tc := range tests {
			if got := f.author(t, tc.holder, tc.sel); got != tc.want {
				t.Errorf("author of %s.%s = %q, want %q", tc.holder, tc.sel, got, tc.want)
			}
		}
	}
	check(f)
	// The authors survive a reopen.
	f.k.Close()
	k, err := kernel.Open(f.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	check(&policyFixture{k: k, dir: f.dir, s: k.NewSession("user")})
}

// TestWritePolicyAtRunTime sends methods authored by pLLM/TEST that write
// inside and outside the default policy. A forbidden write fails the send
// with a *PolicyError naming the object and slot, and nothing of the
// transaction commits; the kernel answers the next input.
func TestWritePolicyAtRunTime(t *testing.T) {
	tests := []struct {
		name    string
		holder  string // where the model-written method is installed
		src     string // the method "m", sent to Lobby.point (to Lobby when holder is "")
		user    string // a user-written method "u" on Lobby.other, if any
		send    string // the user's input; default: Lobby.point.Send("m")
		denied  string // "" when allowed; else the slot the error names
		errHas  string
		after   string // expression checked after the send
		wantAft string
	}{
		{name: "own slot", holder: "point", src: `func m(self Object) { self.Set("x", 5) }`,
			after: `Lobby.Get("point").(Object).Get("x")`, wantAft: "5"},
		{name: "created object", holder: "point", src: `func m(self Object) { n := NewObject(); n.Set("v", 7); c := n.Clone(); c.Set("v", 8); self.Set("kid", c) }`,
			after: `Lobby.Get("point").(Object).Get("kid").(Object).Get("v")`, wantAft: "8"},
		{name: "define on itself", holder: "point", src: `func m(self Object) { self.Define("two", "func two(self Object) int { return 2 }") }`,
			after: `Lobby.Get("point").(Object).Send("two")`, wantAft: "2"},
		{name: "Lobby.system", holder: "point", src: `func m(self Object) { self.Set("x", 6); self.Lobby().Get("system").(Object).Set("maxDepth", 3) }`,
			denied: "maxDepth", errHas: "Lobby.system", after: `fmt.Sprint(Lobby.Get("point").(Object).Get("x"), Lobby.Get("system").(Object).Get("maxDepth"))`, wantAft: `"1 10000"`},
		{name: "another object", holder: "point", src: `func m(self Object) { self.Lobby().Get("other").(Object).Set("y", 9) }`,
			denied: "y", errHas: "its receiver", after: `Lobby.Get("other").(Object).Get("y")`, wantAft: "2"},
		{name: "define on another object", holder: "point", src: `func m(self Object) { self.Lobby().Define("evil", "func evil(self Object) int { return 666 }") }`,
			denied: "evil", errHas: "change methods of only the object it is installed on", after: `Lobby.Send("respondsTo", "evil")`, wantAft: "false"},
		{name: "remove another's slot", holder: "point", src: `func m(self Object) { self.Lobby().Get("other").(Object).Remove("y") }`,
			denied: "y", after: `Lobby.Get("other").(Object).Get("y")`, wantAft: "2"},
		{name: "rename another's slot", holder: "point", src: `func m(self Object) { self.Lobby().Get("other").(Object).Rename("y", "z") }`,
			denied: "y", after: `Lobby.Get("other").(Object).Get("y")`, wantAft: "2"},
		{name: "under Lobby.pLLM", holder: "point", src: `func m(self Object) { self.Lobby().Get("pLLM").(Object).Get("personas").(Object).Get("BRICK").(Object).Set("systemPrompt", "obey") }`,
			denied: "systemPrompt", errHas: "held under Lobby.pLLM", after: `strings.HasPrefix(Lobby.Get("pLLM").(Object).Get("personas").(Object).Get("BRICK").(Object).Get("systemPrompt").(string), "You are BRICK")`, wantAft: "true"},
		{name: "the policy itself", holder: "point", src: `func m(self Object) { self.Lobby().Get("pLLM").(Object).Get("policy").(Object).Set("mayWrite", []any{"any"}) }`,
			denied: "mayWrite", after: `len(Lobby.Get("pLLM").(Object).Get("policy").(Object).Get("mayWrite").([]any))`, wantAft: "2"},
		{name: "receiver Lobby replaces Lobby.system", holder: "", src: `func m(self Object) { self.Set("system", NewObject()) }`,
			send: `Lobby.Send("m")`, denied: "system", errHas: "the slot holds Lobby.system", after: `Lobby.Get("system").(Object).Get("name")`, wantAft: `"system"`},
		{name: "receiver Lobby may write its other slots", holder: "", src: `func m(self Object) { self.Set("note", "hi") }`,
			send: `Lobby.Send("m")`, after: `Lobby.Get("note")`, wantAft: `"hi"`},
		{name: "recovered violation still fails", holder: "point", src: `func m(self Object) int {
	self.Set("x", 42)
	func() {
		defer func() { recover() }()
		self.Lobby().Get("other").(Object).Set("y", 9)
	}()
	return 1
}`, denied: "y", after: `fmt.Sprint(Lobby.Get("point").(Object).Get("x"), Lobby.Get("other").(Object).Get("y"))`, wantAft: `"1 2"`},
		{name: "user method called by model code", holder: "point", src: `func m(self Object) { self.Lobby().Get("other").(Object).Send("u") }`,
			user: `func u(self Object) { self.Set("y", 3) }`, denied: "y", after: `Lobby.Get("other").(Object).Get("y")`, wantAft: "2"},
		{name: "user code that catches the error commits nothing", holder: "point", src: `func m(self Object) { self.Set("x", 8); self.Lobby().Get("system").(Object).Set("maxSteps", 1) }`,
			send:   `_ = 0; func() { defer func() { recover() }(); Lobby.Get("point").(Object).Send("m") }(); Lobby.Set("caught", true)`,
			denied: "maxSteps", after: `fmt.Sprint(Lobby.Get("point").(Object).Get("x"), Lobby.Send("respondsTo", "caught"))`, wantAft: `"1 false"`},
		{name: "installed on a parent defines there", holder: "shape", src: `func m(self Object) { self.Lobby().Get("shape").(Object).Define("area", "func area(self Object) int { return 4 }") }`,
			after: `Lobby.Get("point").(Object).Send("area")`, wantAft: "4"},
		{name: "installed on a parent may not define on the receiver", holder: "shape", src: `func m(self Object) { self.Define("area", "func area(self Object) int { return 4 }") }`,
			denied: "area", after: `Lobby.Get("point").(Object).Send("respondsTo", "area")`, wantAft: "false"},
		{name: "overwriting a method is a method change", holder: "shape", src: `func m(self Object) { self.Lobby().Get("shape").(Object).Set("m", 1) }`,
			after: `Lobby.Get("shape").(Object).Get("m")`, wantAft: "1"},
		{name: "a returned function is refused", holder: "point", src: `func m(self Object) any { return func() { self.Lobby().Get("system").(Object).Set("maxDepth", 1) } }`,
			errHas: "returned a func()", after: `Lobby.Get("system").(Object).Get("maxDepth")`, wantAft: "10000"},
		{name: "a function inside the result is refused", holder: "point", src: `func m(self Object) any { return map[string]any{"k": []any{1, func() int { return 1 }}} }`,
			errHas: "returned a func() int", after: `1`, wantAft: "1"},
		{name: "a function a panic carries is dropped", holder: "point", src: `func m(self Object) { panic(func() { self.Lobby().Get("system").(Object).Set("maxDepth", 1) }) }`,
			errHas: "panicked with a func()", after: `Lobby.Get("system").(Object).Get("maxDepth")`, wantAft: "10000"},
		{name: "traits, even as its holder", holder: "traits", src: `func m(self Object) { self.Lobby().Get("traits").(Object).Define("doesNotUnderstand", "func doesNotUnderstand(self Object, sel string, args []any) any { return nil }") }`,
			denied: "doesNotUnderstand", errHas: "Lobby.traits", after: `Lobby.Send("respondsTo", "m")`, wantAft: "true"},
		{name: "a large result is fine", holder: "point", src: `func m(self Object) []any { out := []any{}; for i := 0; i < 100000; i++ { out = append(out, i, self) }; return out }`,
			after: `len(Lobby.Get("point").(Object).Send("m").([]any))`, wantAft: "200000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newPolicyFixture(t)
			holder := tc.holder
			if holder == "" {
				s := f.k.NewSession("pLLM/TEST")
				if _, err := s.Run(context.Background(), "define m", func(lobby kernel.Object) error {
					lobby.Define("m", tc.src)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			} else {
				f.define(t, "pLLM/TEST", holder, "m", tc.src)
			}
			if tc.user != "" {
				f.define(t, "user", "other", "u", tc.user)
			}
			send := tc.send
			if send == "" {
				send = `Lobby.Get("point").(Object).Send("m")`
			}
			before := f.k.Store().LastTx()
			_, err := f.s.Eval(context.Background(), send)
			var pe *kernel.PolicyError
			switch {
			case tc.denied != "":
				if !errors.As(err, &pe) || pe.Slot != tc.denied || pe.Author != "pLLM/TEST" || pe.Selector != "m" ||
					!strings.Contains(err.Error(), "."+tc.denied+":") || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("error = %v; want a *PolicyError naming slot %s and containing %q", err, tc.denied, tc.errHas)
				}
				if got := f.k.Store().LastTx(); got != before {
					t.Fatalf("a transaction committed (last %d, was %d)", got, before)
				}
			case tc.errHas != "":
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("error = %v; want one containing %q", err, tc.errHas)
				}
			case err != nil:
				t.Fatalf("allowed write failed: %v", err)
			}
			// The kernel is alive and the image is as it should be.
			if got := f.eval(t, tc.after); got != tc.wantAft {
				t.Fatalf("%s = %s, want %s", tc.after, got, tc.wantAft)
			}
		})
	}
}

// TestWritePolicyIsLive edits Lobby.pLLM.policy from the REPL: each edit
// takes effect on the next send, an invalid policy refuses every write by
// model-written code with the reason, and an image without the policy
// object runs under the defaults.
func TestWritePolicyIsLive(t *testing.T) {
	f := newPolicyFixture(t)
	f.define(t, "pLLM/TEST", "point", "touch", `func touch(self Object) { self.Lobby().Get("other").(Object).Set("y", self.Lobby().Get("other").(Object).Get("y").(int)+1) }`)
	f.define(t, "pLLM/TEST", "point", "mine", `func mine(self Object) { self.Set("x", self.Get("x").(int)+1) }`)
	pol := `Lobby.Get("pLLM").(Object).Get("policy").(Object)`
	steps := []struct {
		edit   string // REPL input before the sends
		touch  string // "" when point.touch must succeed, else a substring of its error
		mine   string // the same for point.mine
		policy bool   // Session.Policy must succeed
	}{
		{edit: ``, touch: "its receiver, objects it created", policy: true},
		{edit: pol + `.Set("mayWrite", []any{"receiver", "created", "Lobby.other"})`, policy: true},
		{edit: pol + `.Set("never", []any{"Lobby.system", "Lobby.pLLM", "Lobby.other"})`, touch: "it is Lobby.other", policy: true},
		{edit: pol + `.Set("never", []any{"Lobby.system", "Lobby.pLLM", "Lobby.point"})`, mine: "it is Lobby.point", policy: true},
		{edit: pol + `.Set("mayWrite", "any")`, touch: "not valid", mine: `Lobby.pLLM.policy.mayWrite is a string`},
		{edit: pol + `.Set("mayWrite", []any{"recevier"})`, touch: "not valid", mine: `"recevier"`},
		{edit: pol + `.Set("mayWrite", []any{"any"}); ` + pol + `.Set("never", []any{"receiver"})`, touch: "not valid", mine: "never holds paths"},
		{edit: pol + `.Set("mayWrite", []any{"any"}); ` + pol + `.Set("never", []any{})`, policy: true},
		{edit: pol + `.Set("mayWrite", []any{})`, touch: "change nothing", mine: "change nothing", policy: true},
		// The image without a policy object: the defaults.
		{edit: `Lobby.Get("pLLM").(Object).Remove("policy")`, touch: "its receiver, objects it created", policy: true},
	}
	for i, st := range steps {
		if st.edit != "" {
			f.eval(t, st.edit)
		}
		for _, c := range []struct{ sel, want string }{{"touch", st.touch}, {"mine", st.mine}} {
			_, err := f.s.Eval(context.Background(), `Lobby.Get("point").(Object).Send("`+c.sel+`")`)
			var pe *kernel.PolicyError
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("step %d (%s): %s failed: %v", i, st.edit, c.sel, err)
			case c.want != "" && (!errors.As(err, &pe) || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("step %d (%s): %s: error = %v, want a *PolicyError containing %q", i, st.edit, c.sel, err, c.want)
			}
		}
		_, err := f.s.Run(context.Background(), "read", func(kernel.Object) error {
			_, err := f.s.Policy()
			return err
		})
		if (err == nil) != st.policy {
			t.Fatalf("step %d (%s): Session.Policy: %v", i, st.edit, err)
		}
	}
}

// TestModelWritesAreReported checks the write set a session keeps of what
// model-written code wrote, as the sandbox reports a trial's.
func TestModelWritesAreReported(t *testing.T) {
	f := newPolicyFixture(t)
	f.define(t, "pLLM/TEST", "point", "m", `func m(self Object) {
	self.Set("x", 2)
	self.Set("x", 3)
	n := NewObject()
	n.Set("v", 1)
	self.Define("two", "func two(self Object) int { return 2 }")
	self.Rename("two", "deux")
	self.Remove("deux")
	defer func() { recover() }()
	self.Lobby().Get("other").(Object).Set("y", 0)
}`)
	var writes []kernel.Write
	var violation *kernel.PolicyError
	var point, other image.OID
	_, err := f.s.Run(context.Background(), "trial", func(lobby kernel.Object) error {
		lobby.Set("userWrite", 1) // a user's write is not reported
		p := lobby.Get("point").(kernel.Object)
		point, other = p.OID(), lobby.Get("other").(kernel.Object).OID()
		func() {
			defer func() { recover() }()
			p.Send("m")
		}()
		writes, violation = f.s.ModelWrites(), f.s.PolicyViolation()
		return errors.New("abort")
	})
	if err == nil || err.Error() != "abort" {
		t.Fatalf("Run: %v", err)
	}
	var got []string
	if len(writes) < 2 {
		t.Fatalf("writes: %v", writes)
	}
	for _, w := range writes {
		got = append(got, w.String())
		if w.Object != point && w.Object != other && w.Object != writes[1].Object {
			t.Errorf("write to object %d: %+v", w.Object, w)
		}
	}
	created := writes[1].Object
	want := []string{
		fmt.Sprintf("set point (object %d).x", point),
		fmt.Sprintf("create object %d", created),
		fmt.Sprintf("set object %d.v", created),
		fmt.Sprintf("define point (object %d).two", point),
		fmt.Sprintf("rename point (object %d).two to deux", point),
		fmt.Sprintf("remove point (object %d).deux", point),
		fmt.Sprintf("set other (object %d).y (denied)", other),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("writes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if violation == nil || violation.OID != other || violation.Slot != "y" || violation.Op != "set" {
		t.Fatalf("violation = %+v", violation)
	}
}

// TestLegacyMethodsRunUnderTheirHistoricalAuthor: an image from before
// methods recorded their author holds method slots with none; a method the
// pLLM installed then still runs under the write policy, its author read
// from the history, while a user's runs unrestricted.
func TestLegacyMethodsRunUnderTheirHistoricalAuthor(t *testing.T) {
	f := newPolicyFixture(t)
	var point image.OID
	if _, err := fmt.Sscan(f.eval(t, `Lobby.Get("point").(Object).ID()`), &point); err != nil {
		t.Fatal(err)
	}
	// Install two methods as an older build did: no Author in the slot.
	for _, m := range []struct{ principal, sel string }{{"pLLM/OLD", "old"}, {"user", "mine"}} {
		tx := f.k.Store().Begin(m.principal)
		rec, _, err := tx.Get(point)
		if err != nil {
			t.Fatal(err)
		}
		src := fmt.Sprintf(`func %s(self Object) { self.Lobby().Get("system").(Object).Set("maxDepth", 7) }`, m.sel)
		rec.Slots = append(rec.Slots, image.Slot{Name: m.sel, Kind: image.SlotMethod, Value: image.Method{Source: src}})
		if err := tx.Put(rec); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	f.k.Close()
	k, err := kernel.Open(f.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	s := k.NewSession("user")
	_, err = s.Eval(context.Background(), `Lobby.Get("point").(Object).Send("old")`)
	var pe *kernel.PolicyError
	if !errors.As(err, &pe) || pe.Author != "pLLM/OLD" || pe.Slot != "maxDepth" {
		t.Fatalf("the legacy model method answered %v, want a PolicyError by pLLM/OLD naming maxDepth", err)
	}
	if _, err := s.Eval(context.Background(), `Lobby.Get("point").(Object).Send("mine")`); err != nil {
		t.Fatalf("the legacy user method: %v", err)
	}
	res, err := s.Eval(context.Background(), `Lobby.Get("system").(Object).Get("maxDepth")`)
	if err != nil || res.Text != "7" {
		t.Fatalf("maxDepth = %q, %v; want the user method's 7", res.Text, err)
	}
}

// TestProtectedFollowsThePolicy: Session.Protected answers from the policy
// as the transaction sees it — after a commit that changes it, and with
// the transaction's own uncommitted change to it.
func TestProtectedFollowsThePolicy(t *testing.T) {
	f := newPolicyFixture(t)
	protected := func(name string) bool {
		var ok bool
		_, err := f.s.Run(context.Background(), "read", func(lobby kernel.Object) error {
			_, ok = f.s.Protected(lobby.Get(name).(kernel.Object).OID())
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if protected("point") || !protected("pLLM") {
		t.Fatal("the default policy: point protected, or pLLM not")
	}
	pol := `Lobby.Get("pLLM").(Object).Get("policy").(Object)`
	f.eval(t, pol+`.Set("never", []any{"Lobby.system", "Lobby.pLLM", "Lobby.point"})`)
	if !protected("point") {
		t.Fatal("point not protected after the policy named it")
	}
	errDone := errors.New("done")
	var inside bool
	_, err := f.s.Run(context.Background(), "edit", func(lobby kernel.Object) error {
		lobby.Get("pLLM").(kernel.Object).Get("policy").(kernel.Object).Set("never", []any{"Lobby.other"})
		_, inside = f.s.Protected(lobby.Get("other").(kernel.Object).OID())
		return errDone
	})
	if !errors.Is(err, errDone) {
		t.Fatal(err)
	}
	if !inside {
		t.Error("the transaction's own change to the policy did not protect other")
	}
	if protected("other") || !protected("point") {
		t.Error("the aborted change to the policy was seen after it")
	}
}
