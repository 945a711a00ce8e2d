package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"batos/api"
	"batos/server"
	"batos/server/servertest"
)

func serve(t *testing.T, opts server.Options) (*servertest.Backend, *servertest.Served) {
	t.Helper()
	noLeaks(t)
	b := servertest.NewBackend(1000)
	return b, servertest.Start(t, b, opts)
}

// TestHandshake checks every refusal happens before the upgrade, with its
// status and a one-line body.
func TestHandshake(t *testing.T) {
	b, s := serve(t, server.Options{AllowedOrigins: []string{"https://ok.example"}})
	tests := []struct {
		name      string
		token     string
		protocols []string
		query     string
		origin    string
		status    int
		body      string
	}{
		{"no token", "", []string{api.Subprotocol}, "", "", 401, "missing token"},
		{"wrong token", "nope", []string{api.Subprotocol}, "", "", 403, "wrong token"},
		{"wrong token same length", strings.Repeat("x", len(s.Token)), []string{api.Subprotocol}, "", "", 403, "wrong token"},
		{"other major version", s.Token, []string{"batos.v2"}, "", "", 400, "unsupported protocol version batos.v2: this server speaks batos.v1"},
		{"no version", s.Token, nil, "", "", 400, "no protocol version offered: this server speaks batos.v1"},
		{"bad client name", s.Token, []string{api.Subprotocol}, "client=a%20b", "", 400, "bad client name"},
		{"long client name", s.Token, []string{api.Subprotocol}, "client=" + strings.Repeat("a", 33), "", 400, "bad client name"},
		{"bad since", s.Token, []string{api.Subprotocol}, "since=-1", "", 400, "bad since"},
		{"foreign origin", s.Token, []string{api.Subprotocol}, "", "https://evil.example", 403, "origin"},
		{"loopback origin", s.Token, []string{api.Subprotocol}, "", "http://localhost:3000", 101, ""},
		{"allowed origin", s.Token, []string{api.Subprotocol}, "", "https://ok.example", 101, ""},
		{"several versions", s.Token, []string{"batos.v2", api.Subprotocol}, "client=alice", "", 101, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := header(tt.token)
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			ws, resp, err := dialRaw(s, tt.query, h, tt.protocols...)
			if tt.status == 101 {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				defer ws.Close()
				if ws.Subprotocol() != api.Subprotocol {
					t.Errorf("subprotocol %q", ws.Subprotocol())
				}
				return
			}
			if err == nil {
				ws.Close()
				t.Fatal("upgraded")
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !contains(string(body), tt.body) || strings.Count(string(body), "\n") != 1 {
				t.Errorf("status %d body %q, want %d with %q on one line", resp.StatusCode, body, tt.status, tt.body)
			}
		})
	}
	// No refused request reached the backend.
	b.Await(t, "the accepted clients to close", func() bool { return b.Clients() == 0 })

	resp, err := http.Get("http" + strings.TrimPrefix(s.URL, "ws"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("a plain GET without a token: %d, want 401", resp.StatusCode)
	}
}

// TestBadFrames checks the protocol's errors: each answers the frame
// (with its id when readable) and leaves the connection usable.
func TestBadFrames(t *testing.T) {
	_, s := serve(t, server.Options{})
	c := connect(t, s, "")
	tests := []struct {
		name  string
		frame string
		id    string
		code  int
		kind  api.ErrorKind
	}{
		{"not json", `{"jsonrpc":`, "null", api.CodeParse, api.ErrInvalid},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"status"}]`, "null", api.CodeInvalidRequest, api.ErrInvalid},
		{"not an object", `"status"`, "null", api.CodeInvalidRequest, api.ErrInvalid},
		{"missing jsonrpc", `{"id":2,"method":"status"}`, "2", api.CodeInvalidRequest, api.ErrInvalid},
		{"wrong jsonrpc", `{"jsonrpc":"1.0","id":3,"method":"status"}`, "3", api.CodeInvalidRequest, api.ErrInvalid},
		{"missing method", `{"jsonrpc":"2.0","id":4}`, "4", api.CodeInvalidRequest, api.ErrInvalid},
		{"object id", `{"jsonrpc":"2.0","id":{},"method":"status"}`, "null", api.CodeInvalidRequest, api.ErrInvalid},
		{"null id", `{"jsonrpc":"2.0","id":null,"method":"status"}`, "null", api.CodeInvalidRequest, api.ErrInvalid},
		{"unknown method", `{"jsonrpc":"2.0","id":5,"method":"format"}`, "5", api.CodeMethodNotFound, api.ErrInvalid},
		{"params of the wrong type", `{"jsonrpc":"2.0","id":6,"method":"object","params":{"oid":"one"}}`, "6", api.CodeInvalidParams, api.ErrInvalid},
		{"positional params", `{"jsonrpc":"2.0","id":7,"method":"object","params":[1]}`, "7", api.CodeInvalidParams, api.ErrInvalid},
		{"missing oid", `{"jsonrpc":"2.0","id":8,"method":"object","params":{}}`, "8", api.CodeInvalidParams, api.ErrInvalid},
		{"missing selector", `{"jsonrpc":"2.0","id":"s","method":"send","params":{"oid":1}}`, `"s"`, api.CodeInvalidParams, api.ErrInvalid},
		{"senders without a selector", `{"jsonrpc":"2.0","id":12,"method":"senders","params":{"limit":3}}`, "12", api.CodeInvalidParams, api.ErrInvalid},
		{"implementors with a negative limit", `{"jsonrpc":"2.0","id":13,"method":"implementors","params":{"selector":"area","limit":-1}}`, "13", api.CodeInvalidParams, api.ErrInvalid},
		{"eval as a notification", `{"jsonrpc":"2.0","method":"eval","params":{"source":"x"}}`, "null", api.CodeInvalidRequest, api.ErrInvalid},
		{"image error", `{"jsonrpc":"2.0","id":9,"method":"eval","params":{"source":"fail compile"}}`, "9", api.CodeImage, api.ErrCompile},
		{"image error by a read", `{"jsonrpc":"2.0","id":10,"method":"object","params":{"oid":404}}`, "10", api.CodeImage, api.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.writeRaw(tt.frame)
			f := c.response(tt.id)
			if f.Error == nil || f.Error.Code != tt.code || f.Error.Data == nil || f.Error.Data.Kind != tt.kind || f.Result != nil {
				t.Fatalf("response %+v, want error code %d kind %s", f, tt.code, tt.kind)
			}
			if f.Error.Message == "" || f.Error.Message != f.Error.Data.Message {
				t.Errorf("message %q, data message %q", f.Error.Message, f.Error.Data.Message)
			}
			c.call(100, api.MethodStatus, struct{}{})
			if st := result[api.Status](t, c.response("100")); st.Client != "remote:anon-1" {
				t.Errorf("status after the bad frame: %+v", st)
			}
		})
	}
	// The image's *api.Error crosses whole.
	c.t = t
	c.writeRaw(`{"jsonrpc":"2.0","id":11,"method":"eval","params":{"source":"fail compile"}}`)
	f := c.response("11")
	if d := f.Error.Data; d.Line != 3 || d.Object == nil || d.Object.OID != 7 || d.Message != "failed: compile" {
		t.Errorf("error data %+v", d)
	}
}

func TestBinaryFrameCloses1003(t *testing.T) {
	b, s := serve(t, server.Options{})
	c := connect(t, s, "")
	if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte(`{"jsonrpc":"2.0","id":1,"method":"status"}`)); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.closeCode(); code != websocket.CloseUnsupportedData {
		t.Errorf("close code %d, want 1003", code)
	}
	b.Await(t, "the client to close", func() bool { return b.Clients() == 0 })
}

func TestOversizedMessageCloses1009(t *testing.T) {
	b, s := serve(t, server.Options{MaxMessage: 1 << 10})
	c := connect(t, s, "")
	c.call(1, api.MethodEval, api.EvalParams{Source: strings.Repeat("x", 900)})
	if f := c.response("1"); f.Error != nil {
		t.Fatalf("a message under the limit: %+v", f.Error)
	}
	c.call(2, api.MethodEval, api.EvalParams{Source: strings.Repeat("x", 1<<16)})
	if code, _ := c.closeCode(); code != websocket.CloseMessageTooBig {
		t.Errorf("close code %d, want 1009", code)
	}
	b.Await(t, "the client to close", func() bool { return b.Clients() == 0 })
}

func TestRateLimit(t *testing.T) {
	_, s := serve(t, server.Options{Rate: 1, Burst: 5})
	c := connect(t, s, "")
	for i := range 10 {
		c.call(i, api.MethodStatus, struct{}{})
	}
	// An interrupt is never refused.
	c.call(10, api.MethodInterrupt, api.InterruptParams{Request: "99"})
	ok, overloaded := 0, 0
	got := c.responses(11)
	for i := range 11 {
		f := got[itoa(i)]
		switch {
		case i == 10:
			if r := result[api.InterruptResult](t, f); r.Interrupted {
				t.Errorf("interrupted %+v", r)
			}
		case f.Error == nil:
			ok++
		case f.Error.Code == api.CodeOverloaded && f.Error.Data.Kind == api.ErrOverloaded:
			overloaded++
		default:
			t.Errorf("response %d: %+v", i, f.Error)
		}
	}
	// The bucket may refill by one while the requests arrive.
	if ok < 5 || ok > 6 || ok+overloaded != 10 {
		t.Errorf("%d answered, %d overloaded; want the burst of 5 answered", ok, overloaded)
	}
}

func TestMaxInFlight(t *testing.T) {
	b, s := serve(t, server.Options{MaxInFlight: 2})
	c := connect(t, s, "")
	c.call(1, api.MethodEval, api.EvalParams{Source: "block"})
	c.call(2, api.MethodEval, api.EvalParams{Source: "block"})
	b.Await(t, "two requests running", func() bool { return b.Running() == 2 })
	c.call(3, api.MethodStatus, struct{}{})
	if f := c.response("3"); f.Error == nil || f.Error.Code != api.CodeOverloaded {
		t.Errorf("a third request: %+v", f)
	}
	// The same id twice while it runs is refused.
	c.call(1, api.MethodStatus, struct{}{})
	if f := c.response("1"); f.Error == nil || f.Error.Code != api.CodeInvalidRequest || !contains(f.Error.Message, "already running") {
		t.Errorf("a running id again: %+v", f)
	}
}

// TestInterrupt cancels a running request by its id, a number or a
// string, as a request or a notification.
func TestInterrupt(t *testing.T) {
	tests := []struct {
		name, id, request string
		notify            bool
	}{
		{"numeric id", `17`, "17", false},
		{"string id", `"job-1"`, "job-1", false},
		{"notification", `18`, "18", true},
	}
	b, s := serve(t, server.Options{})
	c := connect(t, s, "client=alice")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.writeRaw(`{"jsonrpc":"2.0","id":` + tt.id + `,"method":"eval","params":{"source":"block"}}`)
			// The busy event carries the request id: the request runs.
			for ev := c.event(); ev.Type != api.EventStatus || ev.State != api.StateBusy; ev = c.event() {
			}
			var f frame
			if tt.notify {
				c.writeRaw(`{"jsonrpc":"2.0","method":"interrupt","params":{"request":"` + tt.request + `"}}`)
				f = c.response(tt.id)
			} else {
				// The interrupt's response and the interrupted request's
				// come in either order.
				c.call(1000, api.MethodInterrupt, api.InterruptParams{Request: tt.request})
				rs := c.responses(2)
				if r := result[api.InterruptResult](t, rs["1000"]); !r.Interrupted {
					t.Errorf("interrupt found no request %s", tt.request)
				}
				f = rs[tt.id]
			}
			if f.Error == nil || f.Error.Code != api.CodeImage || f.Error.Data.Kind != api.ErrCanceled {
				t.Errorf("interrupted request's response: %+v", f)
			}
			var busy, idle bool
			for _, ev := range c.events {
				busy = busy || ev.State == api.StateBusy && ev.Request == tt.request && ev.Client == "remote:alice"
				idle = idle || ev.State == api.StateIdle && ev.Request == tt.request
			}
			c.events = nil
			if !idle {
				t.Errorf("no idle event of request %s before its response", tt.request)
			}
			b.Await(t, "nothing running", func() bool { return b.Running() == 0 })
		})
	}
}

// TestDisconnectCancels: a client that vanishes mid-request leaves
// nothing running, and its Client is closed.
func TestDisconnectCancels(t *testing.T) {
	b, s := serve(t, server.Options{})
	c := connect(t, s, "")
	c.call(1, api.MethodEval, api.EvalParams{Source: "block"})
	c.call(2, api.MethodEval, api.EvalParams{Source: "wait never"})
	b.Await(t, "the requests to run", func() bool { return b.Running() == 2 })
	c.ws.NetConn().Close() // killed: no close frame
	b.Await(t, "the requests to be cancelled and the client closed", func() bool {
		return b.Running() == 0 && b.Clients() == 0 && s.Server.Clients() == 0
	})
	if n := b.Subscribers(); n != 0 {
		t.Errorf("%d subscriptions left", n)
	}
}

// TestEventsAndReplay: events reach every client; a client reconnecting
// with since=N gets exactly those after N, or an EventMissed when the
// backend no longer holds them.
func TestEventsAndReplay(t *testing.T) {
	noLeaks(t)
	b := servertest.NewBackend(10)
	s := servertest.Start(t, b, server.Options{})
	c := connect(t, s, "client=a")
	c.call(1, api.MethodEval, api.EvalParams{Source: "print hello"})
	c.response("1")
	var seqs []uint64
	for _, ev := range c.events {
		seqs = append(seqs, ev.Seq)
	}
	if len(c.events) != 3 || c.events[1].Output != "hello" || c.events[1].Request != "1" || c.events[1].Client != "remote:a" {
		t.Fatalf("events of the eval, before its response: %+v", c.events)
	}
	last := c.events[2].Seq
	c.ws.Close()

	for i := range 5 {
		b.Publish(api.Event{Type: api.EventOutput, Output: itoa(i)})
	}
	r := connect(t, s, "client=a&since="+itoa(int(last)))
	for i := range 5 {
		ev := r.event()
		if ev.Seq != last+1+uint64(i) || ev.Output != itoa(i) {
			t.Fatalf("replayed event %d: %+v", i, ev)
		}
	}
	b.Publish(api.Event{Type: api.EventOutput, Output: "live"})
	if ev := r.event(); ev.Output != "live" || ev.Seq != last+6 {
		t.Fatalf("live event after the replay: %+v", ev)
	}

	for range 20 {
		b.Publish(api.Event{Type: api.EventOutput, Output: "more"})
	}
	old := connect(t, s, "since="+itoa(int(last)))
	ev := old.event()
	if ev.Type != api.EventMissed || ev.Missed != 16 {
		t.Fatalf("a since older than the replay buffer: %+v, want EventMissed of 16", ev)
	}
	b.Publish(api.Event{Type: api.EventOutput, Output: "after"})
	if ev := old.event(); ev.Output != "after" {
		t.Fatalf("live event after EventMissed: %+v", ev)
	}
	_ = seqs
}

// gatedListener's connections block their writes while the gate is held:
// a client that does not read, without filling socket buffers.
type gatedListener struct {
	net.Listener
	gate *sync.RWMutex
}

func (l gatedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return gatedConn{c, l.gate}, nil
}

type gatedConn struct {
	net.Conn
	gate *sync.RWMutex
}

func (c gatedConn) Write(p []byte) (int, error) {
	c.gate.RLock()
	defer c.gate.RUnlock()
	return c.Conn.Write(p)
}

// TestSlowReaderResubscribed: a client whose event queue overflows is
// resubscribed from the last event written: it sees every event, in
// order, while the backend still holds them, and an EventMissed when it
// does not.
func TestSlowReaderResubscribed(t *testing.T) {
	tests := []struct {
		name   string
		replay int
		missed uint64 // 0: no gap
	}{
		{"replay holds them", 1000, 0},
		{"replay too short", 20, 100 - 9 - 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeaks(t)
			var gate sync.RWMutex
			b := servertest.NewBackend(tt.replay)
			s := servertest.StartListener(t, b, server.Options{SendQueue: 8}, func(l net.Listener) net.Listener {
				return gatedListener{l, &gate}
			})
			c := connect(t, s, "")
			// Connected is not yet subscribed: an event published before
			// would pass the client by.
			b.Await(t, "the client subscribed", func() bool { return b.Subscribers() == 1 })
			gate.Lock()
			for i := range 100 {
				b.Publish(api.Event{Type: api.EventOutput, Output: itoa(i + 1)})
			}
			gate.Unlock()
			want := uint64(1)
			for want <= 100 {
				ev := c.event()
				if ev.Type == api.EventMissed {
					if tt.missed == 0 || ev.Missed != tt.missed || want != 10 {
						t.Fatalf("EventMissed %+v after event %d", ev, want-1)
					}
					want = 101
					break
				}
				if ev.Seq != want || ev.Output != itoa(int(want)) {
					t.Fatalf("event %+v, want seq %d", ev, want)
				}
				want++
			}
			b.Publish(api.Event{Type: api.EventOutput, Output: "live"})
			if ev := c.event(); ev.Seq != 101 || ev.Output != "live" {
				t.Fatalf("live event after catching up: %+v", ev)
			}
			c.call(1, api.MethodStatus, struct{}{})
			result[api.Status](t, c.response("1"))
		})
	}
}

// TestStalledReaderDisconnected: a client that never reads is
// disconnected once a write to it times out; the other clients and the
// backend go on meanwhile.
func TestStalledReaderDisconnected(t *testing.T) {
	b, s := serve(t, server.Options{WriteTimeout: 5 * time.Second})
	// The stalled client's receive buffer is small, so that the server's
	// send buffer (at most 4 MiB on Linux) is what fills.
	d := websocket.Dialer{Subprotocols: []string{api.Subprotocol}, NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			err = c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	}}
	ws, _, err := d.Dial(s.URL+"?client=stalled", header(s.Token))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	reader := connect(t, s, "client=reader")
	const n, size = 160, 64 << 10 // more than socket buffers hold
	reader.call(1, api.MethodEval, api.EvalParams{Source: "events " + itoa(n) + " " + itoa(size)})
	if v := result[api.Result](t, reader.response("1")); v.Value.Int != n {
		t.Fatalf("events: %+v", v)
	}
	outputs := 0
	for _, ev := range reader.events {
		if ev.Type == api.EventOutput {
			outputs++
		}
	}
	for outputs < n {
		if ev := reader.event(); ev.Type == api.EventOutput && len(ev.Output) == size {
			outputs++
		}
	}
	// Its socket fills and a write misses its deadline (seconds); or, when
	// its writer fell behind and skipped what the replay no longer held,
	// it answers no ping for two intervals (a minute at the default).
	// Meanwhile the reader stays a live client: it asks for the status
	// every few seconds, reading the server's pings with the answer, lest
	// it too be taken for dead.
	timeout := time.After(3 * time.Minute)
	keepalive := time.NewTicker(5 * time.Second)
	defer keepalive.Stop()
	for id := 100; ; id++ {
		changed := b.Changed()
		if b.Clients() == 1 {
			break
		}
		select {
		case <-changed:
		case <-keepalive.C:
			reader.call(id, api.MethodStatus, struct{}{})
			result[api.Status](t, reader.response(itoa(id)))
		case <-timeout:
			t.Fatal("timed out waiting for the stalled client to be disconnected")
		}
	}
	reader.call(2, api.MethodEval, api.EvalParams{Source: "incr after"})
	if v := result[api.Result](t, reader.response("2")); v.Value.Int != 1 {
		t.Fatalf("eval after the disconnection: %+v", v)
	}
	if n := s.Server.Clients(); n != 1 {
		t.Errorf("%d connections, want the reader's alone", n)
	}
}

// TestShutdown: running requests finish and are answered, new ones are
// refused with kind closed, then every client gets close code 1001.
func TestShutdown(t *testing.T) {
	noLeaks(t)
	b := servertest.NewBackend(100)
	srv, err := server.New(b, server.Options{Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := server.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	s := &servertest.Served{Server: srv, URL: server.URL(l.Addr()), Token: "t"}
	c := connect(t, s, "")
	idle := connect(t, s, "")
	c.call(1, api.MethodEval, api.EvalParams{Source: "wait w"})
	b.Await(t, "the request to run", func() bool { return b.Running() == 1 })

	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	// Requests are refused once the connection drains.
	for i := 2; ; i++ {
		c.call(i, api.MethodStatus, struct{}{})
		f := c.response(itoa(i))
		if f.Error != nil {
			if f.Error.Data.Kind != api.ErrClosed {
				t.Fatalf("request during shutdown: %+v", f.Error)
			}
			break
		}
	}
	b.Release("w")
	if v := result[api.Result](t, c.response("1")); v.Value.String != "w" {
		t.Errorf("the running request's result: %+v", v)
	}
	for _, cl := range []*wsClient{c, idle} {
		if code, reason := cl.closeCode(); code != websocket.CloseGoingAway || reason != "server shutting down" {
			t.Errorf("close %d %q, want 1001 server shutting down", code, reason)
		}
	}
	if err := <-shut; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
	if b.Clients() != 0 || b.Subscribers() != 0 {
		t.Errorf("%d clients, %d subscriptions left", b.Clients(), b.Subscribers())
	}
	if _, resp, err := dialRaw(s, "", header("t"), api.Subprotocol); err == nil || resp != nil {
		t.Errorf("dial after shutdown: %v", err)
	}
}

// TestShutdownCancels: when Shutdown's context ends, running requests are
// cancelled and answered so, and the clients closed with 1001.
func TestShutdownCancels(t *testing.T) {
	noLeaks(t)
	b := servertest.NewBackend(100)
	srv, err := server.New(b, server.Options{Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := server.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	s := &servertest.Served{Server: srv, URL: server.URL(l.Addr()), Token: "t"}
	var clients []*wsClient
	for i := range 5 {
		c := connect(t, s, "")
		c.call(i, api.MethodEval, api.EvalParams{Source: "block"})
		clients = append(clients, c)
	}
	b.Await(t, "the requests to run", func() bool { return b.Running() == 5 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("shutdown: %v, want context canceled", err)
	}
	if b.Running() != 0 || b.Clients() != 0 {
		t.Errorf("after Shutdown: %d running, %d clients", b.Running(), b.Clients())
	}
	for i, c := range clients {
		f := c.response(itoa(i))
		if code, _ := c.closeCode(); code != websocket.CloseGoingAway {
			t.Errorf("close code %d, want 1001", code)
		}
		if f.Error == nil || f.Error.Data.Kind != api.ErrCanceled {
			t.Errorf("cancelled request's response: %+v", f)
		}
	}
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
}

func TestTokenFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := server.ReadToken(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadToken without a file: %v", err)
	}
	if err := server.RemoveToken(dir); err != nil {
		t.Errorf("RemoveToken without a file: %v", err)
	}
	token, err := server.WriteToken(dir, "127.0.0.1:7777")
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 64 {
		t.Errorf("token %q: want 32 bytes in hex", token)
	}
	info, err := os.Stat(filepath.Join(dir, server.TokenFileName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	tf, err := server.ReadToken(dir)
	if err != nil || tf.Token != token || tf.Addr != "ws://127.0.0.1:7777/" || tf.PID != os.Getpid() {
		t.Errorf("ReadToken = %+v, %v", tf, err)
	}
	again, err := server.WriteToken(dir, "ws://127.0.0.1:8888/")
	if err != nil || again == token {
		t.Errorf("a second token %q (%v) is not fresh", again, err)
	}
	if tf, _ := server.ReadToken(dir); tf.Addr != "ws://127.0.0.1:8888/" {
		t.Errorf("addr %q", tf.Addr)
	}
	// Another process's file is left alone.
	other, _ := json.Marshal(server.TokenFile{Addr: "ws://127.0.0.1:1/", Token: "x", PID: os.Getpid() + 1})
	os.WriteFile(filepath.Join(dir, server.TokenFileName), other, 0o600)
	if err := server.RemoveToken(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := server.ReadToken(dir); err != nil {
		t.Errorf("another process's token file was removed: %v", err)
	}
	if _, err := server.WriteToken(dir, "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	if err := server.RemoveToken(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := server.ReadToken(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after RemoveToken: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("left in the folder: %v", entries)
	}
}

func TestListen(t *testing.T) {
	tests := []struct {
		addr   string
		public bool
		ok     bool
	}{
		{"127.0.0.1:0", false, true},
		{"localhost:0", false, true},
		{":0", false, false},
		{"0.0.0.0:0", false, false},
		{"0.0.0.0:0", true, true},
		{"127.0.0.1", false, false},
	}
	for _, tt := range tests {
		l, err := server.Listen(tt.addr, tt.public)
		if (err == nil) != tt.ok {
			t.Errorf("Listen(%q, %v): %v", tt.addr, tt.public, err)
		}
		if err == nil {
			l.Close()
		} else if !tt.public && tt.addr != "127.0.0.1" && !contains(err.Error(), "not a loopback address") {
			t.Errorf("Listen(%q) error %q does not say why", tt.addr, err)
		}
	}
}

func TestNewNeedsToken(t *testing.T) {
	if _, err := server.New(servertest.NewBackend(1), server.Options{}); err == nil {
		t.Error("a server without a token")
	}
}

var _ = http.StatusOK
