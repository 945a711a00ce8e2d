package kernel_test

import (
	"context"
	"strings"
	"testing"
)

// TestSendsFromMethods: a send from a method takes the interpreter's
// direct entry (values from frame to frame when the slot is a person's
// method), and must answer exactly what the boxed path answers, for every
// kind of slot and argument.
func TestSendsFromMethods(t *testing.T) {
	k, _ := openKernel(t)
	s := k.NewSession("user")
	ctx := context.Background()
	setup := `
o := NewObject()
o.Set("n", 7)
o.Define("twice", "func twice(self Object, x int) int { return 2 * x }")
o.Define("half", "func half(self Object, x float64) float64 { return x / 2 }")
o.Define("pair", "func pair(self Object) (int, string) { return 1, \"a\" }")
o.Define("fails", "func fails(self Object, x int) (int, error) { if x < 0 { return 0, fmt.Errorf(\"negative %d\", x) }; return x, nil }")
o.Define("nothing", "func nothing(self Object) {}")
o.Define("many", "func many(self Object, xs ...int) int { return len(xs) }")
o.Define("call", "func call(self Object, sel string, args ...any) any { return self.Send(sel, args...) }")
o.Define("one", "func one(self Object, sel string, a any) any { return self.Send(sel, a) }")
Lobby.Set("o", o)`
	if _, err := s.Eval(ctx, setup); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ src, want, err string }{
		{src: `Lobby.At("o").Define("t", "func t(self Object) int { return self.Send(\"twice\", 21).(int) }"); Lobby.At("o").Send("t")`, want: "42"},
		// An argument of another type than the parameter's is converted.
		{src: `Lobby.At("o").Define("t", "func t(self Object) float64 { return self.Send(\"half\", 3).(float64) }"); Lobby.At("o").Send("t")`, want: "1.5"},
		{src: `Lobby.At("o").Define("t", "func t(self Object) any { var a any = 4; return self.Send(\"twice\", a) }"); Lobby.At("o").Send("t")`, want: "8"},
		{src: `Lobby.At("o").Define("t", "func t(self Object) any { return self.Send(\"pair\") }"); Lobby.At("o").Send("t")`, want: `[]any{1, "a"}`},
		{src: `Lobby.At("o").Define("t", "func t(self Object) any { return self.Send(\"fails\", 3) }"); Lobby.At("o").Send("t")`, want: "3"},
		{src: `Lobby.At("o").Define("t", "func t(self Object) any { return self.Send(\"fails\", -1) }"); Lobby.At("o").Send("t")`, err: "negative -1"},
		{src: `Lobby.At("o").Define("t", "func t(self Object) any { return self.Send(\"nothing\") }"); Lobby.At("o").Send("t")`, want: "<nil>"},
		{src: `Lobby.At("o").Define("t", "func t(self Object) any { return self.Send(\"many\", 1, 2, 3) }"); Lobby.At("o").Send("t")`, want: "3"},
		{src: `Lobby.At("o").Define("t", "func t(self Object) any { return self.Send(\"n\") }"); Lobby.At("o").Send("t")`, want: "7"},
		{src: `Lobby.At("o").Define("t", "func t(self Object) any { return self.Send(\"twice\", \"x\") }"); Lobby.At("o").Send("t")`, err: "twice"},
		{src: `Lobby.At("o").Define("t", "func t(self Object) any { return self.Send(\"twice\") }"); Lobby.At("o").Send("t")`, err: "twice"},
		{src: `Lobby.At("o").Define("t", "func t(self Object) any { return self.Send(\"nope\", 1) }"); Lobby.At("o").Send("t")`, err: "nope"},
		// Spread arguments take reflect's path, with the same answers.
		{src: `Lobby.At("o").Send("call", "twice", 5)`, want: "10"},
		{src: `Lobby.At("o").Send("one", "twice", 6)`, want: "12"},
	} {
		res, err := s.Eval(ctx, c.src)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, %v; want an error with %q", c.src, res.Text, err, c.err)
			}
		case err != nil || res.Text != c.want:
			t.Errorf("%s = %s, %v; want %s", c.src, res.Text, err, c.want)
		}
	}
}
