package kernel_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"batos/interp"
	"batos/kernel"
)

// TestSendChain: an error from nested sends names the sends that led to
// it, outermost first; a failing send made directly reads as before; the
// error still unwraps to what happened.
func TestSendChain(t *testing.T) {
	k, err := kernel.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	s := k.NewSession("user")
	mustEval(t, s, `a := NewObject(); a.Set("name", "a"); b := NewObject(); b.Set("name", "b"); a.Set("b", b); Lobby.Set("a", a)
b.Define("g", "func g(self Object, n int) int {\n\tx := []int{1}\n\treturn x[n]\n}")
b.Define("h", "func h(self Object) any { return self.Send(\"nothing\") }")
a.Define("f", "func f(self Object) int {\n\treturn self.At(\"b\").Send(\"g\", 5).(int)\n}")
a.Define("k", "func k(self Object) any { return self.At(\"b\").Send(\"h\") }")`)
	_, err = s.Eval(context.Background(), `Lobby.At("a").Send("f")`)
	var pe *interp.PanicError
	if err == nil || !strings.HasSuffix(err.Error(), "(sends: a (object 15).f:2 → b (object 16).g:3)") || !errors.As(err, &pe) {
		t.Fatalf("nested failure: %v", err)
	}
	_, err = s.Eval(context.Background(), `Lobby.At("a").At("b").Send("g", 7)`)
	if err == nil || strings.Contains(err.Error(), "sends:") || !errors.As(err, &pe) {
		t.Fatalf("a direct failing send: %v", err)
	}
	_, err = s.Eval(context.Background(), `Lobby.At("a").Send("k")`)
	var nu *kernel.NotUnderstoodError
	if err == nil || !errors.As(err, &nu) || !strings.Contains(err.Error(), "(sends: a (object 15).k:1 → b (object 16).h:1)") {
		t.Fatalf("a nested send nobody understands: %v", err)
	}
}
