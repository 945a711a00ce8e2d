package kernel_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"batos/image"
	"batos/kernel"
)

// TestRetryAfterPendingCommit: a doesNotUnderstand that installs the
// method with Session.Apply and asks for a retry after it has the input
// run again at once, while the install settles, and the input returns
// only once the install is durable and its event published.
func TestRetryAfterPendingCommit(t *testing.T) {
	k, _ := openKernel(t)
	retried := make(chan struct{})
	var overlapped, settled bool
	var installed *kernel.Pending
	k.RegisterPrimitive("test.mark", func(c *kernel.PrimitiveCall) (any, error) {
		close(retried)
		return nil, nil
	})
	k.RegisterPrimitive("test.hold", func(c *kernel.PrimitiveCall) (any, error) {
		// The install's hooks run as it settles: this one waits for the
		// retried input to have run the method, which it can only do if
		// the retry does not wait for the install to settle.
		c.AfterCommit(func(committed bool) {
			select {
			case <-retried:
				overlapped = true
			case <-time.After(10 * time.Second):
			}
			settled = committed
		})
		return nil, nil
	})
	k.RegisterPrimitive("test.install", func(c *kernel.PrimitiveCall) (any, error) {
		sel, _ := kernel.Arg[string](c.Args, 0)
		installer := c.Session.Kernel().NewSession("installer")
		p, err := installer.Apply(context.Background(), "define "+sel, func(lobby kernel.Object) error {
			lobby.Send("hold")
			lobby.Define(sel, fmt.Sprintf(`func %s(self Object) int { self.Send("mark"); return 42 }`, sel))
			return nil
		})
		if err != nil {
			return nil, err
		}
		installed = p
		return nil, &kernel.RetryError{Reason: "installed " + sel, After: p}
	})
	s := k.NewSession("user")
	if _, err := s.Run(context.Background(), "bind", func(kernel.Object) error {
		for slot, prim := range map[string]string{"mark": "test.mark", "hold": "test.hold", "doesNotUnderstand": "test.install"} {
			if err := s.SetPrimitive(image.RootOID, slot, prim); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sub := k.Bus().Subscribe(64)
	defer sub.Close()

	res, err := s.Eval(context.Background(), `Lobby.Send("answer")`)
	if err != nil || res.Text != "42" {
		t.Fatalf("answer = %q, %v; want 42", res.Text, err)
	}
	if !settled {
		t.Fatal("the input returned before the install it was retried after had settled")
	}
	if !overlapped {
		t.Fatal("the retried input waited for the install to settle before running")
	}
	var commits []image.TxID
	for len(sub.C) > 0 {
		if ev := <-sub.C; ev.Kind == kernel.EventCommit {
			commits = append(commits, ev.Tx.ID)
		}
	}
	if len(commits) != 1 || commits[0] != installed.ID() {
		t.Fatalf("commit events when the input returned: %v; want the install's, %d", commits, installed.ID())
	}
}
