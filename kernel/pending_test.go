package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

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
	bindOnLobby(t, s, map[string]string{"mark": "test.mark", "hold": "test.hold", "doesNotUnderstand": "test.install"})
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

// TestRetryAfterFailedSync: when the disk fails the install's commit, the
// retried input does not answer from the method it installed: it fails
// with the storage error, in one line, and nothing is published.
func TestRetryAfterFailedSync(t *testing.T) {
	toggle := &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		if strings.HasSuffix(op.Path, ".log") && (op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileWriteAt || op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData || op.Kind == errorfs.OpFileSyncTo) {
			return errorfs.ErrInjected
		}
		return nil
	})}
	dir := t.TempDir()
	awakened, err := kernel.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	awakened.Close()
	st, err := image.Open(dir, &image.Options{FS: errorfs.Wrap(vfs.Default, toggle)})
	if err != nil {
		t.Fatal(err)
	}
	k, err := kernel.Open(dir, &kernel.Options{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	k.RegisterPrimitive("test.install", func(c *kernel.PrimitiveCall) (any, error) {
		sel, _ := kernel.Arg[string](c.Args, 0)
		p, err := c.Session.Kernel().NewSession("installer").Apply(context.Background(), "define "+sel, func(lobby kernel.Object) error {
			lobby.Define(sel, fmt.Sprintf(`func %s(self Object) int { return 42 }`, sel))
			return nil
		})
		if err != nil {
			return nil, err
		}
		return nil, &kernel.RetryError{Reason: "installed " + sel, After: p}
	})
	s := k.NewSession("user")
	bindOnLobby(t, s, map[string]string{"doesNotUnderstand": "test.install"})
	sub := k.Bus().Subscribe(64)
	defer sub.Close()
	toggle.On()
	res, err := s.Eval(context.Background(), `Lobby.Send("answer")`)
	var se *image.StorageError
	if err == nil || res.Text == "42" || !errors.As(err, &se) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("answer with a failing disk = %q, %v; want one line with the *image.StorageError", res.Text, err)
	}
	for len(sub.C) > 0 {
		if ev := <-sub.C; ev.Kind == kernel.EventCommit {
			t.Fatalf("a commit the disk failed was published: %+v", ev.Tx)
		}
	}
}

// TestHookMayCommit: an after-commit hook may commit a transaction of its
// own and wait for it: its event comes after the commit that ran the hook,
// which is published before its hooks run rather than after them.
func TestHookMayCommit(t *testing.T) {
	k, _ := openKernel(t)
	hookErr := make(chan error, 1)
	k.RegisterPrimitive("test.follow", func(c *kernel.PrimitiveCall) (any, error) {
		c.AfterCommit(func(committed bool) {
			if !committed {
				hookErr <- errors.New("the hook's transaction did not commit")
				return
			}
			s := c.Session.Kernel().NewSession("hook")
			_, err := s.Run(context.Background(), "follow", func(lobby kernel.Object) error {
				lobby.Set("followed", true)
				return nil
			})
			hookErr <- err
		})
		return nil, nil
	})
	s := k.NewSession("user")
	bindOnLobby(t, s, map[string]string{"follow": "test.follow"})
	sub := k.Bus().Subscribe(64)
	defer sub.Close()
	done := make(chan error, 1)
	go func() {
		_, err := s.Eval(context.Background(), `Lobby.Set("led", true); Lobby.Send("follow")`)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the input never returned: its hook's commit waits for it, and it for its hook")
	}
	if err := <-hookErr; err != nil {
		t.Fatal(err)
	}
	var notes []string
	for len(notes) < 2 {
		if ev := <-sub.C; ev.Kind == kernel.EventCommit {
			notes = append(notes, ev.Tx.Note)
		}
	}
	if !strings.HasPrefix(notes[0], `Lobby.Set("led"`) || notes[1] != "follow" {
		t.Fatalf("commit events %q; want the input's, then its hook's", notes)
	}
}

// outputProbe records, at each write, how many events its subscription
// had received.
type outputProbe struct {
	sub  *kernel.Subscription
	seen []int
}

func (o *outputProbe) Write(p []byte) (int, error) {
	o.seen = append(o.seen, len(o.sub.C))
	return len(p), nil
}

// TestOutputBeforeCommit: an input's output is written before its commit
// is published, so that clients see a request's output, then its commit.
func TestOutputBeforeCommit(t *testing.T) {
	k, _ := openKernel(t)
	s := k.NewSession("user")
	sub := k.Bus().Subscribe(16)
	defer sub.Close()
	probe := &outputProbe{sub: sub}
	s.SetOutput(probe)
	if _, err := s.Eval(context.Background(), `fmt.Println("before"); Lobby.Set("printed", true)`); err != nil {
		t.Fatal(err)
	}
	if len(probe.seen) != 1 || probe.seen[0] != 0 {
		t.Fatalf("events published when the output was written: %v; want none", probe.seen)
	}
	if ev := <-sub.C; ev.Kind != kernel.EventCommit {
		t.Fatalf("after the output: %+v; want the commit", ev)
	}
}

// bindOnLobby binds each slot of Lobby named in slots to the primitive
// named, in one transaction.
func bindOnLobby(t *testing.T, s *kernel.Session, slots map[string]string) {
	t.Helper()
	if _, err := s.Run(context.Background(), "bind", func(kernel.Object) error {
		for slot, prim := range slots {
			if err := s.SetPrimitive(image.RootOID, slot, prim); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
