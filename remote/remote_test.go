package remote_test

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"batos/api"
	"batos/remote"
	"batos/server"
	"batos/server/servertest"
)

func setup(t *testing.T, replay int) (*servertest.Backend, *servertest.Served) {
	t.Helper()
	return setupWith(t, replay, server.Options{})
}

func setupWith(t *testing.T, replay int, opts server.Options) (*servertest.Backend, *servertest.Served) {
	t.Helper()
	servertest.NoLeaks(t)
	b := servertest.NewBackend(replay)
	return b, servertest.Start(t, b, opts)
}

func dial(t *testing.T, s *servertest.Served, opts remote.Options) *remote.Image {
	t.Helper()
	if opts.Token == "" {
		opts.Token = s.Token
	}
	im, err := remote.Dial(context.Background(), s.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(im.Close)
	return im
}

// TestMethods checks that every method's params and result cross the
// wire whole (servertest's backend echoes its arguments).
func TestMethods(t *testing.T) {
	_, s := setup(t, 100)
	im := dial(t, s, remote.Options{Client: "alice"})
	ctx := context.Background()
	lit, err := api.ParseLiteral(`map[string]any{"x": []any{1, 2.5, "s", nil, true, ObjectAt(3)}}`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() (any, error)
		want any
	}{
		{"eval", func() (any, error) { return im.Eval(ctx, "hello") },
			api.Result{HasValue: true, Value: api.String("hello")}},
		{"send", func() (any, error) { return im.Send(ctx, 9, "at:put:", api.Int(1), lit) },
			api.Result{HasValue: true, Value: api.List(api.Int(1), lit), Tx: 9}},
		{"object", func() (any, error) { return im.Object(ctx, 5) }, func() any {
			v := api.ObjectRef(api.Ref{OID: 5, Name: "object 5"})
			return api.ObjectView{Ref: api.Ref{OID: 5, Name: "object 5"}, Slots: []api.SlotView{{Name: "self", Kind: "data", Value: &v, Holder: api.Ref{OID: 5, Name: "object 5"}}}}
		}()},
		{"children", func() (any, error) { return im.Children(ctx, 5) }, []api.Child{{Slot: "next", Ref: api.Ref{OID: 6, Name: "object 6"}}}},
		{"selectors", func() (any, error) { return im.Selectors(ctx, 5) }, []string{"a", "b"}},
		{"no selectors", func() (any, error) { return im.Selectors(ctx, 1) }, []string{}},
		{"define", func() (any, error) { return im.Define(ctx, 5, "area", "func area(self Object) int { return 1 }") },
			api.Tx{ID: 1, Principal: "remote:alice", Note: "define area func area(self Object) int { return 1 }", Changed: []api.Ref{{OID: 5, Name: "object 5"}}, Time: time.Unix(1700000000, 0).UTC()}},
		{"setSlot", func() (any, error) { return im.SetSlot(ctx, 5, "m", lit) },
			api.Tx{ID: 1, Principal: "remote:alice", Note: `set m map[string]any{"x": []any{1, 2.5, "s", nil, true, ObjectAt(3)}}`, Changed: []api.Ref{{OID: 5, Name: "object 5"}}, Time: time.Unix(1700000000, 0).UTC()}},
		{"removeSlot", func() (any, error) { return im.RemoveSlot(ctx, 5, "m") },
			api.Tx{ID: 1, Principal: "remote:alice", Note: "remove m", Changed: []api.Ref{{OID: 5, Name: "object 5"}}, Time: time.Unix(1700000000, 0).UTC()}},
		{"renameSlot", func() (any, error) { return im.RenameSlot(ctx, 5, "a", "b") },
			api.Tx{ID: 1, Principal: "remote:alice", Note: "rename a b", Changed: []api.Ref{{OID: 5, Name: "object 5"}}, Time: time.Unix(1700000000, 0).UTC()}},
		{"clone", func() (any, error) { return im.Clone(ctx, 5, 1, "copy") }, api.Ref{OID: 6, Name: "copy"}},
		{"history", func() (any, error) { return im.History(ctx, 10, 2) },
			[]api.Tx{{ID: 9, Principal: "remote:alice"}, {ID: 8, Principal: "remote:alice"}}},
		{"versions", func() (any, error) { return im.Versions(ctx, 5, "area") }, []api.Version{{Tx: 5, Source: "area", Principal: "remote:alice"}}},
		{"undo", func() (any, error) { return im.Undo(ctx, 4) }, api.Tx{ID: 5, Principal: "remote:alice", Note: "undo 4"}},
		{"search", func() (any, error) { return im.Search(ctx, "ar", 1) }, []api.Hit{{Object: api.Ref{OID: 1, Name: "object 1"}, Selector: "ar", Score: 1}}},
		{"implementors", func() (any, error) { return im.Implementors(ctx, "area", 2) },
			[]api.Hit{{Object: api.Ref{OID: 1, Name: "object 1"}, Selector: "area"}, {Object: api.Ref{OID: 2, Name: "object 2"}, Selector: "area"}}},
		{"senders", func() (any, error) { return im.Senders(ctx, "area", 1) }, []api.Hit{{Object: api.Ref{OID: 1, Name: "object 1"}, Selector: "sendsarea"}}},
		{"no senders", func() (any, error) { return im.Senders(ctx, "area", 0) }, []api.Hit{}},
		{"status", func() (any, error) { return im.Status(ctx) },
			api.Status{Image: "servertest", Client: "remote:alice", Clients: 1, Remote: s.URL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// TestErrors: the image's errors come back as *api.Error, whole.
func TestErrors(t *testing.T) {
	_, s := setup(t, 100)
	im := dial(t, s, remote.Options{})
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want api.Error
	}{
		{"eval", func() error { _, err := im.Eval(ctx, "fail syntax"); return err },
			api.Error{Kind: api.ErrSyntax, Message: "failed: syntax", Line: 3, Object: &api.Ref{OID: 7, Name: "object 7"}}},
		{"undo conflict", func() error { _, err := im.Undo(ctx, 13); return err },
			api.Error{Kind: api.ErrUndoConflict, Message: "cannot undo 13", Tx: 13, ChangedBy: 14, Object: &api.Ref{OID: 5, Name: "object 5"}}},
		{"not found", func() error { _, err := im.Object(ctx, 404); return err },
			api.Error{Kind: api.ErrNotFound, Message: "no object 404", Object: &api.Ref{OID: 404}}},
		{"invalid params", func() error { _, err := im.Object(ctx, 0); return err },
			api.Error{Kind: api.ErrInvalid, Message: "params need oid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var e *api.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %#v is not an *api.Error", err)
			}
			if !reflect.DeepEqual(*e, tt.want) {
				t.Errorf("got  %#v\nwant %#v", *e, tt.want)
			}
		})
	}
}

func TestDialRefused(t *testing.T) {
	_, s := setup(t, 100)
	tests := []struct {
		name   string
		opts   remote.Options
		status int
		msg    string
	}{
		{"no token", remote.Options{}, 401, ": 401 missing token"},
		{"wrong token", remote.Options{Token: "wrong"}, 403, ": 403 wrong token"},
		{"bad name", remote.Options{Token: s.Token, Client: "a b"}, 400, `: 400 bad client name "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := remote.Dial(context.Background(), s.URL, tt.opts)
			var de *remote.DialError
			if !errors.As(err, &de) || de.Status != tt.status {
				t.Fatalf("dial: %v, want status %d", err, tt.status)
			}
			if want := "connect " + s.URL + tt.msg; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q, want it to begin %q", err, want)
			}
		})
	}
}

// TestCancelInterrupts: a call whose context ends sends interrupt, so
// the work stops over there, and returns the context's error.
func TestCancelInterrupts(t *testing.T) {
	b, s := setup(t, 100)
	im := dial(t, s, remote.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := im.Eval(ctx, "block")
		done <- err
	}()
	b.Await(t, "the eval to run", func() bool { return b.Running() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled eval: %v", err)
	}
	b.Await(t, "the eval to be interrupted", func() bool { return b.Running() == 0 })
	if b.Clients() != 1 {
		t.Errorf("%d clients: the connection should stay", b.Clients())
	}
	if _, err := im.Eval(context.Background(), "after"); err != nil {
		t.Errorf("eval after an interrupt: %v", err)
	}
	// A context already done sends nothing.
	if _, err := im.Eval(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("eval with a done context: %v", err)
	}
}

// killListener remembers the server side of each connection, to cut it.
type killListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *killListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *killListener) kill() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
}

// TestConnectionDrop: when the connection drops, pending and later calls
// fail with kind closed and subscribers' channels close.
func TestConnectionDrop(t *testing.T) {
	servertest.NoLeaks(t)
	b := servertest.NewBackend(100)
	var kl *killListener
	s := servertest.StartListener(t, b, server.Options{}, func(l net.Listener) net.Listener {
		kl = &killListener{Listener: l}
		return kl
	})
	im := dial(t, s, remote.Options{})
	events, cancel := im.Subscribe(16)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := im.Eval(context.Background(), "block")
		done <- err
	}()
	b.Await(t, "the eval to run", func() bool { return b.Running() == 1 })
	kl.kill()
	err := <-done
	if api.KindOf(err) != api.ErrClosed || !strings.Contains(err.Error(), s.URL) {
		t.Errorf("pending call: %v, want kind closed naming the server", err)
	}
	for range events { // busy, then closed
	}
	<-im.Done()
	if _, err := im.Status(context.Background()); api.KindOf(err) != api.ErrClosed {
		t.Errorf("call after the drop: %v", err)
	}
	if api.KindOf(im.Err()) != api.ErrClosed {
		t.Errorf("Err: %v", im.Err())
	}
	if ch, _ := im.Subscribe(1); !isClosed(ch) {
		t.Error("a subscription after the drop is open")
	}
	b.Await(t, "the server to let the client go", func() bool { return b.Clients() == 0 && b.Running() == 0 })
}

func isClosed(ch <-chan api.Event) bool {
	_, ok := <-ch
	return !ok
}

// TestSubscribe: every subscriber gets every event; one that falls
// behind gets an EventMissed last and is closed, the others go on.
func TestSubscribe(t *testing.T) {
	_, s := setup(t, 100)
	im := dial(t, s, remote.Options{Client: "bob"})
	slow, cancelSlow := im.Subscribe(2)
	defer cancelSlow()
	fast, cancelFast := im.Subscribe(100)
	if _, err := im.Eval(context.Background(), "events 10 1"); err != nil {
		t.Fatal(err)
	}
	var got []api.Event
	for len(got) < 12 { // busy, 10 outputs, idle
		got = append(got, <-fast)
	}
	for i, ev := range got {
		if ev.Seq != got[0].Seq+uint64(i) || ev.Client != "remote:bob" || ev.Request == "" {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	var slowGot []api.Event
	for ev := range slow {
		slowGot = append(slowGot, ev)
	}
	if len(slowGot) != 3 || slowGot[2].Type != api.EventMissed || slowGot[2].Seq != got[2].Seq {
		t.Errorf("slow subscriber got %+v, want 2 events then EventMissed", slowGot)
	}
	if im.LastSeq() != got[11].Seq {
		t.Errorf("LastSeq %d, want %d", im.LastSeq(), got[11].Seq)
	}
	cancelFast()
	cancelFast() // a second cancel is a no-op
	if !isClosed(fast) {
		t.Error("cancelled subscription still open")
	}
}

// TestReconnectSince: dialling with Since replays the missed events to
// the first subscriber, or tells it it missed too many.
func TestReconnectSince(t *testing.T) {
	b, s := setup(t, 8)
	im := dial(t, s, remote.Options{Client: "c"})
	events, cancel := im.Subscribe(4)
	if _, err := im.Eval(context.Background(), "print a"); err != nil {
		t.Fatal(err)
	}
	for ev := range events {
		if ev.State == api.StateIdle {
			break
		}
	}
	cancel()
	last := im.LastSeq()
	if last != b.Seq() {
		t.Fatalf("LastSeq %d after the idle event, want %d", last, b.Seq())
	}
	im.Close()

	for i := range 3 {
		b.Publish(api.Event{Type: api.EventOutput, Output: string(rune('x' + i))})
	}
	// The replayed events may arrive before Subscribe: they are kept.
	again := dial(t, s, remote.Options{Client: "c", Since: last})
	events, cancel = again.Subscribe(4)
	defer cancel()
	for i := range 3 {
		if ev := <-events; ev.Seq != last+1+uint64(i) || ev.Output != string(rune('x'+i)) {
			t.Fatalf("replayed %+v", ev)
		}
	}
	b.Publish(api.Event{Type: api.EventOutput, Output: "live"})
	if ev := <-events; ev.Output != "live" {
		t.Fatalf("live after replay: %+v", ev)
	}

	for range 10 {
		b.Publish(api.Event{Type: api.EventOutput})
	}
	old := dial(t, s, remote.Options{Since: last})
	events, cancel = old.Subscribe(4)
	defer cancel()
	if ev := <-events; ev.Type != api.EventMissed || ev.Missed != b.Seq()-8-last {
		t.Errorf("a since too old: %+v, want EventMissed of %d", ev, b.Seq()-8-last)
	}
	if !isClosed(events) {
		t.Error("subscriber open after EventMissed")
	}
	// A new subscription gets live events.
	events, cancel = old.Subscribe(4)
	defer cancel()
	b.Publish(api.Event{Type: api.EventOutput, Output: "new"})
	if ev := <-events; ev.Output != "new" {
		t.Errorf("after resubscribing: %+v", ev)
	}
}

// TestConcurrentCalls: calls from many goroutines are matched to their
// responses.
func TestConcurrentCalls(t *testing.T) {
	b, s := setupWith(t, 100, server.Options{Rate: -1})
	im := dial(t, s, remote.Options{})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				src := strings.Repeat("v", g+1) + string(rune('a'+i%26))
				res, err := im.Eval(context.Background(), src)
				if err != nil || res.Value.String != src {
					t.Errorf("eval %q = %+v, %v", src, res, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := b.Running(); n != 0 {
		t.Errorf("%d running", n)
	}
}

func TestClose(t *testing.T) {
	b, s := setup(t, 100)
	im := dial(t, s, remote.Options{})
	events, _ := im.Subscribe(1)
	im.Close()
	if !isClosed(events) {
		t.Error("subscription open after Close")
	}
	if _, err := im.Eval(context.Background(), "x"); api.KindOf(err) != api.ErrClosed {
		t.Errorf("eval after Close: %v", err)
	}
	b.Await(t, "the server to let the client go", func() bool { return b.Clients() == 0 })
	im.Close() // twice is fine
}
