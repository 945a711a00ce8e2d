package kernel_test

import (
	"context"
	"strings"
	"testing"

	"batos/image"
	"batos/kernel"
)

// TestSetPrimitive: Go code binds a registered primitive to a slot in a
// transaction; scripts, which see Objects only, cannot bind one.
func TestSetPrimitive(t *testing.T) {
	k, _ := openKernel(t)
	s := k.NewSession("user")
	if _, err := s.Eval(context.Background(), `Lobby.SetPrimitive("p", "printString")`); err == nil || !strings.Contains(err.Error(), "SetPrimitive") {
		t.Fatalf("a script bound a primitive: %v", err)
	}
	_, err := s.Run(context.Background(), "bind", func(lobby kernel.Object) error {
		if err := s.SetPrimitive(image.RootOID, "p", "nonesuch"); err == nil {
			t.Error("an unknown primitive was bound")
		}
		return s.SetPrimitive(image.RootOID, "p", "printString")
	})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.Eval(context.Background(), `Lobby.Send("p")`); err != nil || res.Text != `"Lobby"` {
		t.Fatalf("the bound primitive: %v, %v", res.Text, err)
	}
}
