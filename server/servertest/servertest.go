// Package servertest helps test the wire protocol: Backend is a small
// in-memory server.Backend whose behaviour tests control, and Start
// serves a backend on a loopback port for the length of a test.
//
// Backend's Eval understands a few commands instead of Go (anything else
// evaluates to itself as a string):
//
//	block          wait until the request is cancelled; return ctx.Err()
//	wait NAME      wait until Release(NAME) (or cancellation); return "NAME"
//	print TEXT     publish TEXT as an output event of the request
//	incr NAME      add one to counter NAME and publish a commit
//	events N SIZE  publish N output events of SIZE bytes each
//	fail KIND      return an *api.Error of that kind
//
// Its other methods echo their arguments in their results, so that a
// test can check what crossed the wire. Its event hub follows the
// Backend contract exactly: sequence numbers, a bounded replay ring, an
// EventMissed first for a too old since, an EventMissed last for a
// subscriber that fell behind.
package servertest

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"batos/api"
	"batos/eventhub"
	"batos/server"
)

// Backend is an in-memory server.Backend. It is safe for concurrent use.
type Backend struct {
	hub *eventhub.Hub

	mu       sync.Mutex
	clients  map[*Client]struct{}
	counters map[string]int64
	gates    map[string]chan struct{}
	running  int
	closed   bool
	changed  chan struct{} // closed and replaced whenever running or clients change
}

var _ server.Backend = (*Backend)(nil)

// NewBackend returns a Backend whose hub keeps the newest replay events.
func NewBackend(replay int) *Backend {
	return &Backend{
		hub:      eventhub.New(replay),
		clients:  map[*Client]struct{}{},
		counters: map[string]int64{},
		gates:    map[string]chan struct{}{},
		changed:  make(chan struct{}),
	}
}

// Connect opens a client for principal.
func (b *Backend) Connect(principal string) (server.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, &api.Error{Kind: api.ErrClosed, Message: "backend closed"}
	}
	c := &Client{b: b, principal: principal}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	b.clients[c] = struct{}{}
	b.signal()
	return c, nil
}

// signal wakes Await; mu is held.
func (b *Backend) signal() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// Await waits until cond (called with no lock held) holds, rechecking
// whenever clients connect, subscribe or close or requests start or end; it fails
// the test after a minute.
func (b *Backend) Await(t testing.TB, what string, cond func() bool) {
	t.Helper()
	b.AwaitWithin(t, time.Minute, what, cond)
}

// Changed returns a channel closed at the next change of the running
// requests or the clients.
func (b *Backend) Changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changed
}

// AwaitWithin is Await with its own limit.
func (b *Backend) AwaitWithin(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	timeout := time.After(limit)
	for {
		b.mu.Lock()
		ch := b.changed
		b.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Clients counts the open clients.
func (b *Backend) Clients() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.clients)
}

// Running counts the Eval and Send calls in progress.
func (b *Backend) Running() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.running
}

// Counter returns counter name's value.
func (b *Backend) Counter(name string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.counters[name]
}

// Seq returns the newest event's sequence number.
func (b *Backend) Seq() uint64 { return b.hub.Seq() }

// Release lets the requests waiting on name ("wait NAME") return.
func (b *Backend) Release(name string) {
	close(b.gate(name))
}

func (b *Backend) gate(name string) chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	g, ok := b.gates[name]
	if !ok {
		g = make(chan struct{})
		b.gates[name] = g
	}
	return g
}

// Publish numbers ev and delivers it to every subscriber; a subscriber
// without room gets an EventMissed and is dropped. It returns ev's seq.
func (b *Backend) Publish(ev api.Event) uint64 { return b.hub.Publish(ev) }

// Subscribe follows server.Backend's contract.
// A new subscription wakes Await.
func (b *Backend) Subscribe(since uint64, buffer int) (<-chan api.Event, func()) {
	events, cancel := b.hub.Subscribe(since, buffer)
	b.mu.Lock()
	b.signal()
	b.mu.Unlock()
	return events, cancel
}

// Subscribers counts the live subscriptions.
func (b *Backend) Subscribers() int { return b.hub.Subscribers() }

// Close closes every client and subscription.
func (b *Backend) Close() {
	b.mu.Lock()
	clients := make([]*Client, 0, len(b.clients))
	for c := range b.clients {
		clients = append(clients, c)
	}
	b.mu.Unlock()
	for _, c := range clients {
		c.Close()
	}
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.hub.Close()
}

// Client is a Backend's client.
type Client struct {
	b         *Backend
	principal string
	ctx       context.Context
	cancel    context.CancelFunc
}

var _ server.Client = (*Client)(nil)

// Close cancels the client's requests and forgets it.
func (c *Client) Close() {
	c.cancel()
	c.b.mu.Lock()
	delete(c.b.clients, c)
	c.b.signal()
	c.b.mu.Unlock()
}

func (c *Client) publish(ctx context.Context, ev api.Event) uint64 {
	ev.Client, ev.Request = c.principal, api.RequestOf(ctx)
	return c.b.Publish(ev)
}

// run counts a request as running while fn runs, with a context that
// also ends when the client closes.
func (c *Client) run(ctx context.Context, fn func(ctx context.Context) (api.Result, error)) (api.Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel)
	defer stop()
	c.b.mu.Lock()
	c.b.running++
	c.b.signal()
	c.b.mu.Unlock()
	defer func() {
		c.b.mu.Lock()
		c.b.running--
		c.b.signal()
		c.b.mu.Unlock()
	}()
	c.publish(ctx, api.Event{Type: api.EventStatus, State: api.StateBusy})
	defer c.publish(ctx, api.Event{Type: api.EventStatus, State: api.StateIdle})
	return fn(ctx)
}

// Eval runs one of the package comment's commands.
func (c *Client) Eval(ctx context.Context, src string) (api.Result, error) {
	return c.run(ctx, func(ctx context.Context) (api.Result, error) {
		cmd, arg, _ := strings.Cut(src, " ")
		switch cmd {
		case "block":
			<-ctx.Done()
			return api.Result{}, ctx.Err()
		case "wait":
			select {
			case <-c.b.gate(arg):
				return api.Result{HasValue: true, Value: api.String(arg)}, nil
			case <-ctx.Done():
				return api.Result{}, ctx.Err()
			}
		case "print":
			c.publish(ctx, api.Event{Type: api.EventOutput, Output: arg})
			return api.Result{}, nil
		case "incr":
			c.b.mu.Lock()
			c.b.counters[arg]++
			n := c.b.counters[arg]
			c.b.mu.Unlock()
			tx := &api.Tx{ID: uint64(n), Principal: c.principal, Note: "incr " + arg}
			c.publish(ctx, api.Event{Type: api.EventCommit, Tx: tx})
			return api.Result{HasValue: true, Value: api.Int(n), Tx: tx.ID}, nil
		case "events":
			var n, size int
			fmt.Sscan(arg, &n, &size)
			text := strings.Repeat("x", size)
			for range n {
				c.publish(ctx, api.Event{Type: api.EventOutput, Output: text})
			}
			return api.Result{HasValue: true, Value: api.Int(int64(n))}, nil
		case "fail":
			return api.Result{}, &api.Error{Kind: api.ErrorKind(arg), Message: "failed: " + arg, Line: 3, Object: &api.Ref{OID: 7, Name: "object 7"}}
		}
		return api.Result{HasValue: true, Value: api.String(src)}, nil
	})
}

// Send returns its arguments as a list.
func (c *Client) Send(ctx context.Context, oid uint64, selector string, args ...api.Value) (api.Result, error) {
	return c.run(ctx, func(ctx context.Context) (api.Result, error) {
		return api.Result{HasValue: true, Value: api.List(args...), Tx: oid}, nil
	})
}

func ref(oid uint64) api.Ref { return api.Ref{OID: oid, Name: "object " + strconv.FormatUint(oid, 10)} }

// notFound is what every method answers for object 404.
func notFound(oid uint64) error {
	if oid == 404 {
		return &api.Error{Kind: api.ErrNotFound, Message: "no object 404", Object: &api.Ref{OID: 404}}
	}
	return nil
}

// Object returns an object with one data slot, "self", naming it.
func (c *Client) Object(ctx context.Context, oid uint64) (api.ObjectView, error) {
	if err := notFound(oid); err != nil {
		return api.ObjectView{}, err
	}
	v := api.ObjectRef(ref(oid))
	return api.ObjectView{Ref: ref(oid), Slots: []api.SlotView{{Name: "self", Kind: api.KindData, Value: &v, Holder: ref(oid)}}}, nil
}

// Children returns one child, object oid+1 in slot "next".
func (c *Client) Children(ctx context.Context, oid uint64) ([]api.Child, error) {
	return []api.Child{{Slot: "next", Ref: ref(oid + 1)}}, notFound(oid)
}

// Selectors returns none for object 1, else "a" and "b".
func (c *Client) Selectors(ctx context.Context, oid uint64) ([]string, error) {
	if oid == 1 {
		return nil, nil
	}
	return []string{"a", "b"}, notFound(oid)
}

func (c *Client) tx(note string, oid uint64) api.Tx {
	return api.Tx{ID: 1, Principal: c.principal, Note: note, Changed: []api.Ref{ref(oid)}, Time: time.Unix(1700000000, 0).UTC()}
}

// Define returns a Tx whose note is "define SELECTOR SOURCE".
func (c *Client) Define(ctx context.Context, oid uint64, selector, source string) (api.Tx, error) {
	return c.tx("define "+selector+" "+source, oid), notFound(oid)
}

// SetSlot returns a Tx whose note is "set SLOT LITERAL".
func (c *Client) SetSlot(ctx context.Context, oid uint64, slot string, v api.Value) (api.Tx, error) {
	lit, _ := v.Literal()
	return c.tx("set "+slot+" "+lit, oid), notFound(oid)
}

// RemoveSlot returns a Tx whose note is "remove SLOT".
func (c *Client) RemoveSlot(ctx context.Context, oid uint64, slot string) (api.Tx, error) {
	return c.tx("remove "+slot, oid), notFound(oid)
}

// RenameSlot returns a Tx whose note is "rename FROM TO".
func (c *Client) RenameSlot(ctx context.Context, oid uint64, from, to string) (api.Tx, error) {
	return c.tx("rename "+from+" "+to, oid), notFound(oid)
}

// Clone returns object oid+holder named "SLOT".
func (c *Client) Clone(ctx context.Context, oid, holder uint64, slot string) (api.Ref, error) {
	return api.Ref{OID: oid + holder, Name: slot}, notFound(oid)
}

// History returns limit transactions counting down from before-1.
func (c *Client) History(ctx context.Context, before uint64, limit int) ([]api.Tx, error) {
	var out []api.Tx
	for i := 1; i <= limit && uint64(i) < before; i++ {
		out = append(out, api.Tx{ID: before - uint64(i), Principal: c.principal})
	}
	return out, nil
}

// Versions returns one version whose source is the selector.
func (c *Client) Versions(ctx context.Context, oid uint64, selector string) ([]api.Version, error) {
	return []api.Version{{Tx: oid, Source: selector, Principal: c.principal}}, notFound(oid)
}

// Undo fails with an undo conflict for tx 13, else returns tx+1.
func (c *Client) Undo(ctx context.Context, tx uint64) (api.Tx, error) {
	if tx == 13 {
		return api.Tx{}, &api.Error{Kind: api.ErrUndoConflict, Message: "cannot undo 13", Tx: 13, ChangedBy: 14, Object: &api.Ref{OID: 5, Name: "object 5"}}
	}
	return api.Tx{ID: tx + 1, Principal: c.principal, Note: fmt.Sprintf("undo %d", tx)}, nil
}

// Search returns limit hits named after the query.
func (c *Client) Search(ctx context.Context, query string, limit int) ([]api.Hit, error) {
	var out []api.Hit
	for i := range limit {
		out = append(out, api.Hit{Object: ref(uint64(i + 1)), Selector: query, Score: limit - i})
	}
	return out, nil
}

// Implementors returns limit hits of selector, on objects 1 to limit.
func (c *Client) Implementors(ctx context.Context, selector string, limit int) ([]api.Hit, error) {
	var out []api.Hit
	for i := range limit {
		out = append(out, api.Hit{Object: ref(uint64(i + 1)), Selector: selector})
	}
	return out, nil
}

// Senders returns limit hits of methods named "sends" + selector, on
// objects 1 to limit.
func (c *Client) Senders(ctx context.Context, selector string, limit int) ([]api.Hit, error) {
	var out []api.Hit
	for i := range limit {
		out = append(out, api.Hit{Object: ref(uint64(i + 1)), Selector: "sends" + selector})
	}
	return out, nil
}

// Status names the client and counts the clients.
func (c *Client) Check(ctx context.Context) (api.CheckReport, error) {
	return api.CheckReport{}, nil
}

func (c *Client) Status(ctx context.Context) (api.Status, error) {
	return api.Status{Image: "servertest", Client: c.principal, Clients: c.b.Clients()}, nil
}

// Subscribe subscribes from now on.
func (c *Client) Subscribe(buffer int) (<-chan api.Event, func()) {
	return c.b.Subscribe(0, buffer)
}

// NoLeaks fails the test when, after every cleanup registered after it
// (a server's Shutdown among them), more goroutines run than before it:
// nothing a server or a client started may outlive it. It awaits the
// count for a while, since a goroutine that has done its last work may
// not have exited yet.
func NoLeaks(t testing.TB) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Errorf("%d goroutines outlive the test (%d before):\n%s", runtime.NumGoroutine(), base, buf[:n])
				return
			}
			runtime.Gosched()
			time.Sleep(time.Millisecond)
		}
	})
}

// Served is a backend served on a loopback port.
type Served struct {
	Server *server.Server
	URL    string // ws://127.0.0.1:PORT/
	Token  string
	Addr   net.Addr
}

// Token is the token Start serves with unless opts has one.
const Token = "servertest-token"

// Start serves backend on a fresh loopback port until the test ends (then
// shuts the server down, failing the test if that fails).
func Start(t testing.TB, backend server.Backend, opts server.Options) *Served {
	t.Helper()
	return StartListener(t, backend, opts, nil)
}

// StartListener is Start with the listener wrapped by wrap (nil: as is).
func StartListener(t testing.TB, backend server.Backend, opts server.Options, wrap func(net.Listener) net.Listener) *Served {
	t.Helper()
	if opts.Token == "" {
		opts.Token = Token
	}
	srv, err := server.New(backend, opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := server.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr()
	if wrap != nil {
		l = wrap(l)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &Served{Server: srv, URL: server.URL(addr), Token: opts.Token, Addr: addr}
}
