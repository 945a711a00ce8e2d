package kernel_test

import (
	"context"
	"errors"
	"testing"

	"batos/kernel"
)

// TestSendChainFrames: a failure deep in nested sends carries each send
// of the chain with its receiver, the object its method was found on and
// the line: where the innermost method failed, and in each outer method
// the line that made the next send.
func TestSendChainFrames(t *testing.T) {
	k, _ := openKernel(t)
	s := k.NewSession("user")
	mustEval(t, s, "p := NewObject()\n"+
		"p.Define(\"outer\", \"func outer(self Object) int {\\n\\tx := 1\\n\\treturn x + self.Send(\\\"middle\\\").(int)\\n}\")\n"+
		"p.Define(\"middle\", \"func middle(self Object) int {\\n\\treturn Lobby.At(\\\"leaf\\\").Send(\\\"inner\\\", 0).(int)\\n}\")\n"+
		"c := NewObject(); c.Set(\"parent*\", p); Lobby.Set(\"child\", c)\n"+
		"leaf := NewObject(); leaf.Define(\"inner\", \"func inner(self Object, n int) int {\\n\\tif n > 1 {\\n\\t\\treturn n\\n\\t}\\n\\treturn 10 / n\\n}\"); Lobby.Set(\"leaf\", leaf)")
	_, err := s.Eval(context.Background(), `Lobby.At("child").Send("outer")`)
	var se *kernel.SendError
	if !errors.As(err, &se) || len(se.Chain) != 3 {
		t.Fatalf("err %v", err)
	}
	id := func(expr string) uint64 {
		res, err := s.Eval(context.Background(), expr+".ID()")
		if err != nil {
			t.Fatal(err)
		}
		return res.Value.(uint64)
	}
	ids := map[string]uint64{"child": id(`Lobby.At("child")`), "leaf": id(`Lobby.At("leaf")`), "child.parent*": id(`Lobby.At("child").At("parent*")`)}
	want := []struct {
		sel            string
		object, holder uint64
		line           int
	}{
		{"outer", ids["child"], ids["child.parent*"], 3},  // its send of middle
		{"middle", ids["child"], ids["child.parent*"], 2}, // its send of inner
		{"inner", ids["leaf"], ids["leaf"], 5},            // the division
	}
	for i, w := range want {
		f := se.Chain[i]
		if f.Selector != w.sel || uint64(f.Object) != w.object || uint64(f.Holder) != w.holder || f.Line != w.line {
			t.Errorf("frame %d = %+v, want %+v", i, f, w)
		}
	}
}
