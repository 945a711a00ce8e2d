package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"batos/api"
)

// lingerTimeout bounds how long a connection waits for the client's close
// frame after sending its own, so that closing the socket does not reset
// it before the client has read why it was closed.
const lingerTimeout = 2 * time.Second

// conn is one upgraded connection. See the package comment for its
// goroutines.
//
// Invariants: reqs counts request goroutines; it is only incremented by
// the reader, under mu, while !mu.draining, so that shutdown can wait for
// it. A request goroutine never blocks on out once the writer is gone
// (writerDone). The writer alone writes data frames; close frames are
// written by the writer (1001) or by the reader (1003), each before it
// stops, and control frames may be written concurrently with data ones.
type conn struct {
	srv    *Server
	ws     *websocket.Conn
	client Client
	name   string
	log    *slog.Logger

	// ctx is every request's parent; cancel ends them all.
	ctx    context.Context
	cancel context.CancelFunc

	out        chan []byte   // responses for the writer, capacity SendQueue
	stop       chan struct{} // closed when the connection ends: the writer returns
	goodbye    chan struct{} // closed by shutdown: the writer flushes out, sends close 1001 and returns
	byeOnce    sync.Once
	writerDone chan struct{} // closed when the writer has returned
	ended      chan struct{} // closed when run has cleaned up

	limiter bucket // the reader's alone

	// readMu orders the read deadline's updates: the reader extends it on
	// every frame; lingering caps it for good.
	readMu      sync.Mutex
	lingerUntil time.Time

	mu struct {
		sync.Mutex
		draining bool
		running  map[string]context.CancelFunc // by request id
	}
	reqs sync.WaitGroup
}

func newConn(s *Server, ws *websocket.Conn, client Client, name string) *conn {
	c := &conn{
		srv:        s,
		ws:         ws,
		client:     client,
		name:       name,
		log:        s.log.With("client", name),
		out:        make(chan []byte, s.opts.SendQueue),
		stop:       make(chan struct{}),
		goodbye:    make(chan struct{}),
		writerDone: make(chan struct{}),
		ended:      make(chan struct{}),
		limiter:    newBucket(s.opts.Rate, s.opts.Burst),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.mu.running = map[string]context.CancelFunc{}
	return c
}

// run serves the connection until it ends, then releases everything of
// it: requests (cancelled and awaited), writer, socket, subscription (by
// the writer) and Client.
func (c *conn) run(since uint64) {
	defer close(c.ended)
	c.log.Info("connected", "since", since, "remote", c.ws.RemoteAddr().String())
	events, unsub := c.srv.backend.Subscribe(since, c.srv.opts.SendQueue)
	c.ws.SetReadLimit(c.srv.opts.MaxMessage)
	c.ws.SetPongHandler(func(string) error { c.extendRead(); return nil })
	go c.writeLoop(&feed{events: events, cancel: unsub, replaying: since > 0})
	reason := c.readLoop()

	c.cancel()
	c.reqs.Wait()
	close(c.stop)
	<-c.writerDone
	c.ws.Close()
	c.client.Close()
	c.log.Info("disconnected", "reason", reason)
}

// shutdown ends the connection gracefully (see Server.Shutdown) and
// returns when it has ended.
func (c *conn) shutdown(ctx context.Context) {
	c.mu.Lock()
	c.mu.draining = true
	c.mu.Unlock()
	idle := make(chan struct{})
	go func() { c.reqs.Wait(); close(idle) }()
	select {
	case <-idle:
	case <-ctx.Done():
		c.cancel()
		<-idle
	}
	c.byeOnce.Do(func() { close(c.goodbye) })
	<-c.writerDone // responses flushed and close frame sent, each write bounded by WriteTimeout
	select {
	case <-c.ended:
	case <-ctx.Done():
		c.ws.NetConn().Close() // no more waiting for the client's close frame
		<-c.ended
	}
}

// extendRead moves the read deadline two ping intervals ahead, unless the
// connection is lingering.
func (c *conn) extendRead() {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	d := time.Now().Add(2 * c.srv.opts.PingInterval)
	if !c.lingerUntil.IsZero() && c.lingerUntil.Before(d) {
		d = c.lingerUntil
	}
	c.ws.SetReadDeadline(d)
}

// linger caps the read deadline: the connection sent its close frame.
func (c *conn) linger() {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if c.lingerUntil.IsZero() {
		c.lingerUntil = time.Now().Add(lingerTimeout)
	}
	c.ws.SetReadDeadline(c.lingerUntil)
}

// readLoop reads frames until the connection ends and says why.
func (c *conn) readLoop() string {
	closing := false // a close frame was sent: frames are read only to reach the client's
	for {
		c.extendRead()
		typ, data, err := c.ws.ReadMessage()
		switch {
		case errors.Is(err, websocket.ErrReadLimit):
			// gorilla has sent close 1009; the rest of the frame is unread
			// and gorilla can read no further: drain the socket raw.
			c.linger()
			io.Copy(io.Discard, c.ws.NetConn())
			return fmt.Sprintf("message larger than %d bytes", c.srv.opts.MaxMessage)
		case err != nil:
			return err.Error()
		case closing:
		case typ == websocket.BinaryMessage:
			closing = true
			msg := websocket.FormatCloseMessage(websocket.CloseUnsupportedData, "binary frames are not part of "+api.Subprotocol)
			if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
				return "binary frame; " + err.Error()
			}
			c.linger()
		default:
			c.handle(data)
		}
	}
}

// send hands a frame to the writer; it is dropped when the writer is gone.
func (c *conn) send(b []byte) {
	select {
	case c.out <- b:
	case <-c.writerDone:
	}
}

// respond sends the response to request id: result, or err as an error.
func (c *conn) respond(id json.RawMessage, result any, err error) {
	resp := api.RPCResponse{JSONRPC: "2.0", ID: id}
	if err != nil {
		resp.Error = rpcError(err)
	} else if b, merr := json.Marshal(result); merr != nil {
		resp.Error = rpcError(fmt.Errorf("encode result: %w", merr))
	} else {
		resp.Result = b
	}
	if len(resp.ID) == 0 {
		resp.ID = json.RawMessage("null")
	}
	b, merr := json.Marshal(resp)
	if merr != nil { // cannot happen: every field is plain data
		panic(fmt.Sprintf("server: encode response: %v", merr))
	}
	c.send(b)
}

// handle checks one text frame and answers it or starts its request.
func (c *conn) handle(data []byte) {
	req, perr := parseRequest(data)
	if (perr != nil || req.method != api.MethodInterrupt) && !c.limiter.allow(time.Now()) {
		// An interrupt is never refused: it is how a client stops work.
		c.respond(req.id, nil, overloaded("rate limit: more than %g requests a second", c.srv.opts.Rate))
		return
	}
	if perr != nil {
		c.respond(req.id, nil, perr)
		return
	}
	if req.id == nil && req.method != api.MethodInterrupt {
		c.respond(nil, nil, protocolError(api.CodeInvalidRequest, "%s sent as a notification: only %s may be; give the request an id", req.method, api.MethodInterrupt))
		return
	}
	if req.method == api.MethodInterrupt {
		var p api.InterruptParams
		if perr := decodeParams(req.params, &p); perr != nil {
			if req.id != nil {
				c.respond(req.id, nil, perr)
			}
			return
		}
		res := c.interrupt(p.Request)
		if req.id != nil {
			c.respond(req.id, res, nil)
		}
		return
	}
	m, ok := methods[req.method]
	if !ok {
		c.respond(req.id, nil, protocolError(api.CodeMethodNotFound, "unknown method %q", req.method))
		return
	}
	call, perr := m(req.params)
	if perr != nil {
		c.respond(req.id, nil, perr)
		return
	}

	c.mu.Lock()
	switch {
	case c.mu.draining:
		c.mu.Unlock()
		c.respond(req.id, nil, &api.Error{Kind: api.ErrClosed, Message: "server shutting down"})
		return
	case c.mu.running[req.idString] != nil:
		c.mu.Unlock()
		c.respond(req.id, nil, protocolError(api.CodeInvalidRequest, "request id %s is already running", req.id))
		return
	case len(c.mu.running) >= c.srv.opts.MaxInFlight:
		c.mu.Unlock()
		c.respond(req.id, nil, overloaded("more than %d requests running", c.srv.opts.MaxInFlight))
		return
	}
	ctx, cancel := context.WithCancel(api.WithRequest(c.ctx, req.idString))
	c.mu.running[req.idString] = cancel
	c.reqs.Add(1)
	c.mu.Unlock()

	go func() {
		defer c.reqs.Done()
		start := time.Now()
		res, err := call(ctx, c.client)
		cancel()
		c.mu.Lock()
		delete(c.mu.running, req.idString)
		c.mu.Unlock()
		if c.log.Enabled(ctx, slog.LevelDebug) {
			c.log.Debug("request", "id", req.idString, "method", req.method, "kind", string(api.KindOf(rpcErrorOrNil(err))), "duration", time.Since(start))
		}
		c.respond(req.id, res, err)
	}()
}

// interrupt cancels the running request of this connection whose id is
// id (as a string); its own response still follows, with kind canceled.
func (c *conn) interrupt(id string) api.InterruptResult {
	c.mu.Lock()
	cancel := c.mu.running[id]
	c.mu.Unlock()
	if cancel == nil {
		return api.InterruptResult{}
	}
	cancel()
	c.log.Debug("interrupted", "id", id)
	return api.InterruptResult{Interrupted: true}
}

// rpcErrorOrNil turns err into the *api.Error clients see, for logs.
func rpcErrorOrNil(err error) error {
	if err == nil {
		return nil
	}
	return rpcError(err).Data
}

// feed is the writer's subscription to the backend's events.
type feed struct {
	events <-chan api.Event
	cancel func()
	// replaying: the subscription asked for events after a seq, so its
	// first event may be the backend's EventMissed saying it no longer
	// holds them all; first: no event of it was received yet.
	replaying bool
	received  bool
	// resume is set (to the seq to resubscribe after) when the backend
	// dropped the subscription for falling behind.
	resume    uint64
	overflown bool
}

// writeLoop owns the socket's data frames until the connection ends.
func (c *conn) writeLoop(f *feed) {
	defer close(c.writerDone)
	defer func() { f.cancel() }()
	ping := time.NewTicker(c.srv.opts.PingInterval)
	defer ping.Stop()
	for {
		var err error
		select {
		case b := <-c.out:
			// Events published before the response go first, so that
			// what a request printed precedes its result.
			if err = c.drainEvents(f, c.srv.opts.SendQueue); err == nil {
				err = c.write(websocket.TextMessage, b)
			}
		case ev, ok := <-f.events:
			err = c.onEvent(f, ev, ok)
		case <-ping.C:
			err = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.srv.opts.WriteTimeout))
		case <-c.goodbye:
			c.bye(websocket.CloseGoingAway, "server shutting down")
			return
		case <-c.stop:
			return
		}
		if err != nil {
			if !errors.Is(err, errImageClosed) {
				c.writeFailed(err)
			}
			return
		}
	}
}

// bye flushes the responses waiting, then sends a close frame; the reader
// then waits (lingers) for the client's.
func (c *conn) bye(code int, reason string) {
	for len(c.out) > 0 { // the writer alone receives from out: this never blocks
		if err := c.write(websocket.TextMessage, <-c.out); err != nil {
			c.writeFailed(err)
			return
		}
	}
	msg := websocket.FormatCloseMessage(code, reason)
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.srv.opts.WriteTimeout)); err != nil {
		c.writeFailed(err)
		return
	}
	c.linger()
}

// writeFailed ends a connection whose socket cannot be written: closing
// it unblocks the reader. A write refused because a close frame was sent
// leaves the reader to wait for the client's.
func (c *conn) writeFailed(err error) {
	if errors.Is(err, websocket.ErrCloseSent) {
		return
	}
	c.log.Info("write failed; disconnecting", "err", err)
	c.ws.NetConn().Close()
}

func (c *conn) write(typ int, b []byte) error {
	c.ws.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
	return c.ws.WriteMessage(typ, b)
}

// drainEvents writes up to max events already waiting.
func (c *conn) drainEvents(f *feed, max int) error {
	for range max {
		select {
		case ev, ok := <-f.events:
			if err := c.onEvent(f, ev, ok); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

// errImageClosed ends a connection whose backend ended its subscription
// without its falling behind: the image is closing.
var errImageClosed = errors.New("the image closed its event stream")

// onEvent writes one event of the feed, or handles its end: a feed
// dropped for falling behind is resubscribed from the first event not
// written, so the client sees no gap while the backend still holds the
// events; when it does not, the backend's EventMissed is passed on.
func (c *conn) onEvent(f *feed, ev api.Event, ok bool) error {
	if !ok {
		if !f.overflown {
			c.bye(websocket.CloseGoingAway, "image closed")
			return errImageClosed
		}
		c.log.Debug("event queue overflowed; resubscribing", "after", f.resume)
		f.events, f.cancel = c.srv.backend.Subscribe(f.resume, c.srv.opts.SendQueue)
		f.replaying, f.received, f.overflown = true, false, false
		return nil
	}
	first := !f.received
	f.received = true
	if ev.Type == api.EventMissed && !(first && f.replaying) {
		// The backend's overflow marker: the event of ev.Seq was not
		// queued, nor will any after it be; the channel closes next.
		f.overflown, f.resume = true, ev.Seq-1
		return nil
	}
	pm, err := c.srv.frames.of(ev)
	if err != nil {
		c.log.Warn("event not sent", "seq", ev.Seq, "err", err)
		return nil
	}
	c.ws.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
	return c.ws.WritePreparedMessage(pm)
}
