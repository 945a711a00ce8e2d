package system_test

import (
	"context"
	"errors"
	"testing"

	"batos/api"
)

// TestErrorFrames: a failure in nested sends reaches clients with its
// chain of sends as data: receiver, holder and line, outermost first.
func TestErrorFrames(t *testing.T) {
	c := open(t)
	ctx := context.Background()
	if _, err := c.Eval(ctx, "o := NewObject()\n"+
		"o.Define(\"a\", \"func a(self Object) int {\\n\\treturn self.Send(\\\"b\\\").(int)\\n}\")\n"+
		"o.Define(\"b\", \"func b(self Object) int {\\n\\tpanic(\\\"deep\\\")\\n}\")\n"+
		"Lobby.Set(\"o\", o)"); err != nil {
		t.Fatal(err)
	}
	_, err := c.Eval(ctx, `Lobby.At("o").Send("a")`)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Kind != api.ErrPanic || len(ae.Frames) != 2 {
		t.Fatalf("err %#v", err)
	}
	a, b := ae.Frames[0], ae.Frames[1]
	if a.Selector != "a" || a.Line != 2 || b.Selector != "b" || b.Line != 2 || a.Holder == nil || a.Holder.OID != a.Object.OID || b.Object.OID != a.Object.OID {
		t.Errorf("frames %+v %+v", a, b)
	}
	// One send is its own chain: no frames.
	_, err = c.Eval(ctx, `Lobby.At("o").Send("b")`)
	if !errors.As(err, &ae) || len(ae.Frames) != 0 {
		t.Errorf("a single send's error has frames: %#v", err)
	}
}
