package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"batos/api"
)

// Options configures Dial.
type Options struct {
	// Token is the server's bearer token (see server.ReadToken); empty
	// sends none.
	Token string
	// Client names this client: its principal on the server is
	// "remote:NAME" (empty: the server picks "anon-N").
	Client string
	// Since asks the server for the events after this sequence number
	// (0: from now on). Events that arrive before the first Subscribe
	// are kept, up to Backlog, for it.
	Since uint64
	// Backlog bounds the events kept for the first subscriber when Since
	// is set (default 4096); beyond it, that subscriber gets an
	// EventMissed instead.
	Backlog int
	// WriteTimeout bounds each request's write (default 10 s).
	WriteTimeout time.Duration
	// Dialer replaces the default WebSocket dialer (tests).
	Dialer *websocket.Dialer
}

// DialError is a connection the server refused before the upgrade.
type DialError struct {
	URL    string
	Status int    // the HTTP status: 401, 403, 400, …
	Reason string // the server's one-line explanation
}

func (e *DialError) Error() string {
	return fmt.Sprintf("connect %s: %d %s", e.URL, e.Status, e.Reason)
}

// Image is a served image, reached over one connection. It is safe for
// concurrent use.
type Image struct {
	url  string
	ws   *websocket.Conn
	opts Options

	nextID  atomic.Uint64
	lastSeq atomic.Uint64

	writeMu sync.Mutex // serializes frame writes

	mu struct {
		sync.Mutex
		pending map[uint64]chan *api.RPCResponse
		subs    map[*subscriber]struct{}
		err     *api.Error // set when the connection ended
		// backlog holds the events received before the first Subscribe
		// when Since was set; nil once it was handed over or not wanted.
		backlog   []api.Event
		backlogOn bool
		// backlogLost counts the events dropped once the backlog
		// overflowed: the first subscriber gets an EventMissed instead.
		backlogLost uint64
	}
	done chan struct{} // closed when the reader has ended
}

var _ api.Image = (*Image)(nil)

type subscriber struct {
	c      chan api.Event
	buffer int
}

// Dial connects to a served image at url (ws://host:port/). ctx bounds
// the connection's opening only.
func Dial(ctx context.Context, rawURL string, opts Options) (*Image, error) {
	if opts.Backlog <= 0 {
		opts.Backlog = 4096
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, &DialError{URL: rawURL, Reason: err.Error()}
	}
	q := u.Query()
	if opts.Client != "" {
		q.Set("client", opts.Client)
	}
	if opts.Since > 0 {
		q.Set("since", strconv.FormatUint(opts.Since, 10))
	}
	u.RawQuery = q.Encode()
	header := http.Header{}
	if opts.Token != "" {
		header.Set("Authorization", "Bearer "+opts.Token)
	}
	d := opts.Dialer
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	}
	d2 := *d
	d2.Subprotocols = []string{api.Subprotocol}
	ws, resp, err := d2.DialContext(ctx, u.String(), header)
	if err != nil {
		if resp != nil && errors.Is(err, websocket.ErrBadHandshake) {
			body, _ := io.ReadAll(resp.Body)
			reason := strings.TrimSpace(strings.SplitN(string(body), "\n", 2)[0])
			if reason == "" {
				reason = http.StatusText(resp.StatusCode)
			}
			return nil, &DialError{URL: rawURL, Status: resp.StatusCode, Reason: reason}
		}
		return nil, fmt.Errorf("connect %s: %w", rawURL, err)
	}
	if ws.Subprotocol() != api.Subprotocol {
		ws.Close()
		return nil, fmt.Errorf("connect %s: the server did not agree to protocol %s", rawURL, api.Subprotocol)
	}
	im := &Image{url: rawURL, ws: ws, opts: opts, done: make(chan struct{})}
	im.mu.pending = map[uint64]chan *api.RPCResponse{}
	im.mu.subs = map[*subscriber]struct{}{}
	im.mu.backlogOn = opts.Since > 0
	im.lastSeq.Store(opts.Since)
	go im.read()
	return im, nil
}

// URL returns the address the image was dialled at.
func (im *Image) URL() string { return im.url }

// LastSeq returns the sequence number of the newest event received (or
// Options.Since before any): Dial with Since set to it to resume.
func (im *Image) LastSeq() uint64 { return im.lastSeq.Load() }

// Done is closed when the connection has ended.
func (im *Image) Done() <-chan struct{} { return im.done }

// Err returns why the connection ended (an *api.Error of kind closed), or
// nil while it is open.
func (im *Image) Err() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.mu.err == nil {
		return nil
	}
	return im.mu.err
}

// Close closes the connection: calls in flight fail with kind closed,
// subscribers' channels are closed.
func (im *Image) Close() {
	im.writeMu.Lock()
	im.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	im.writeMu.Unlock()
	select {
	case <-im.done: // the server answered the close frame
	case <-time.After(2 * time.Second):
	}
	im.ws.Close()
	<-im.done
}

// read reads frames until the connection ends, then fails what waits.
func (im *Image) read() {
	var cause error
	for {
		_, data, err := im.ws.ReadMessage()
		if err != nil {
			cause = err
			break
		}
		im.dispatch(data)
	}
	msg := "connection to " + im.url + " closed"
	var ce *websocket.CloseError
	switch {
	case errors.As(cause, &ce) && ce.Code == websocket.CloseNormalClosure:
	case errors.As(cause, &ce) && ce.Text != "":
		msg += ": " + ce.Text
	case errors.As(cause, &ce):
		msg += fmt.Sprintf(" (code %d)", ce.Code)
	default:
		msg += ": " + cause.Error()
	}
	im.ws.Close()
	im.mu.Lock()
	im.mu.err = &api.Error{Kind: api.ErrClosed, Message: msg}
	for id, ch := range im.mu.pending {
		delete(im.mu.pending, id)
		close(ch)
	}
	for s := range im.mu.subs {
		delete(im.mu.subs, s)
		close(s.c)
	}
	im.mu.backlog, im.mu.backlogOn = nil, false
	im.mu.Unlock()
	close(im.done)
}

// frame is any frame the server sends: a response (ID set) or a
// notification (Method set).
type frame struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *api.RPCError   `json:"error"`
}

func (im *Image) dispatch(data []byte) {
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return // not for us to fix; the call it answered times out with its context
	}
	if f.Method == api.MethodEvent {
		var ev api.Event
		if json.Unmarshal(f.Params, &ev) == nil {
			im.publish(ev)
		}
		return
	}
	id, err := strconv.ParseUint(string(f.ID), 10, 64)
	if err != nil {
		return // an error answering no request of ours (id null)
	}
	im.mu.Lock()
	ch := im.mu.pending[id]
	delete(im.mu.pending, id)
	im.mu.Unlock()
	if ch != nil {
		ch <- &api.RPCResponse{ID: f.ID, Result: f.Result, Error: f.Error}
	}
}

// publish fans an event out. A subscriber without room gets an
// EventMissed and is dropped; a server EventMissed drops every subscriber
// after giving it to them.
func (im *Image) publish(ev api.Event) {
	if ev.Seq > im.lastSeq.Load() {
		im.lastSeq.Store(ev.Seq) // only the reader stores
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.mu.backlogOn {
		switch {
		case im.mu.backlogLost > 0:
			im.mu.backlogLost++
		case len(im.mu.backlog) >= im.opts.Backlog:
			im.mu.backlogLost = uint64(len(im.mu.backlog)) + 1
			im.mu.backlog = nil
		default:
			im.mu.backlog = append(im.mu.backlog, ev)
		}
		return
	}
	fromServer := ev.Type == api.EventMissed
	for s := range im.mu.subs {
		out := ev
		if !fromServer && len(s.c) >= s.buffer {
			out = api.Event{Seq: ev.Seq, Type: api.EventMissed, Missed: 1}
		}
		s.c <- out // there is room: the channel holds buffer + 1
		if out.Type == api.EventMissed {
			delete(im.mu.subs, s)
			close(s.c)
		}
	}
}

// Subscribe delivers every client's events from now on (the first
// subscriber after a Dial with Since also gets those the server replayed)
// until cancel is called. A subscriber that falls buffer events behind,
// or that the server says missed events, gets an EventMissed and its
// channel is closed.
func (im *Image) Subscribe(buffer int) (<-chan api.Event, func()) {
	if buffer < 1 {
		buffer = 1
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	var backlog []api.Event
	if im.mu.backlogOn {
		backlog = im.mu.backlog
		if im.mu.backlogLost > 0 {
			backlog = []api.Event{{Seq: im.lastSeq.Load(), Type: api.EventMissed, Missed: im.mu.backlogLost}}
		}
		im.mu.backlog, im.mu.backlogOn = nil, false
	}
	s := &subscriber{c: make(chan api.Event, buffer+len(backlog)+1), buffer: buffer + len(backlog)}
	for _, ev := range backlog {
		s.c <- ev
		if ev.Type == api.EventMissed {
			close(s.c)
			return s.c, func() {}
		}
	}
	if im.mu.err != nil {
		close(s.c)
		return s.c, func() {}
	}
	im.mu.subs[s] = struct{}{}
	return s.c, func() {
		im.mu.Lock()
		defer im.mu.Unlock()
		if _, ok := im.mu.subs[s]; ok {
			delete(im.mu.subs, s)
			close(s.c)
		}
	}
}

// call sends one request and waits for its response, decoding its result
// into result. An error answer is the *api.Error the server sent.
func (im *Image) call(ctx context.Context, method string, params, result any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("%s: encode params: %w", method, err)
	}
	id := im.nextID.Add(1)
	ch := make(chan *api.RPCResponse, 1)
	im.mu.Lock()
	if im.mu.err != nil {
		err := im.mu.err
		im.mu.Unlock()
		return err
	}
	im.mu.pending[id] = ch
	im.mu.Unlock()

	req := api.RPCRequest{JSONRPC: "2.0", ID: json.RawMessage(strconv.FormatUint(id, 10)), Method: method, Params: p}
	if err := im.write(ctx, req); err != nil {
		im.forget(id)
		return err
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return im.Err()
		}
		return decode(method, resp, result)
	case <-ctx.Done():
		if im.forget(id) {
			// Still running over there: stop it. Its response, when it
			// comes, finds no one waiting and is dropped.
			im.write(context.Background(), api.RPCRequest{JSONRPC: "2.0", Method: api.MethodInterrupt,
				Params: json.RawMessage(`{"request":"` + strconv.FormatUint(id, 10) + `"}`)})
			return ctx.Err()
		}
		// The response was being delivered as ctx ended: take it.
		resp, ok := <-ch
		if !ok {
			return im.Err()
		}
		return decode(method, resp, result)
	}
}

// forget removes a pending call; it reports whether it was still there.
func (im *Image) forget(id uint64) bool {
	im.mu.Lock()
	defer im.mu.Unlock()
	_, ok := im.mu.pending[id]
	delete(im.mu.pending, id)
	return ok
}

func (im *Image) write(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	deadline := time.Now().Add(im.opts.WriteTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	im.writeMu.Lock()
	defer im.writeMu.Unlock()
	im.ws.SetWriteDeadline(deadline)
	if err := im.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		if e := im.Err(); e != nil {
			return e
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		// A failed write leaves the connection unusable: end it, so that
		// every call learns so at once.
		im.ws.NetConn().Close()
		return &api.Error{Kind: api.ErrClosed, Message: "connection to " + im.url + " failed: " + err.Error()}
	}
	return nil
}

func decode(method string, resp *api.RPCResponse, result any) error {
	if resp.Error != nil {
		if resp.Error.Data != nil {
			return resp.Error.Data
		}
		return &api.Error{Kind: api.ErrInternal, Message: resp.Error.Message}
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Result, result); err != nil {
		return &api.Error{Kind: api.ErrInternal, Message: fmt.Sprintf("%s: bad result from the server: %v", method, err)}
	}
	return nil
}

func (im *Image) Eval(ctx context.Context, src string) (api.Result, error) {
	var r api.Result
	err := im.call(ctx, api.MethodEval, api.EvalParams{Source: src}, &r)
	return r, err
}

func (im *Image) Send(ctx context.Context, oid uint64, selector string, args ...api.Value) (api.Result, error) {
	var r api.Result
	err := im.call(ctx, api.MethodSend, api.SendParams{OID: oid, Selector: selector, Args: args}, &r)
	return r, err
}

func (im *Image) Object(ctx context.Context, oid uint64) (api.ObjectView, error) {
	var r api.ObjectView
	err := im.call(ctx, api.MethodObject, api.OIDParams{OID: oid}, &r)
	return r, err
}

func (im *Image) Children(ctx context.Context, oid uint64) ([]api.Child, error) {
	var r []api.Child
	err := im.call(ctx, api.MethodChildren, api.OIDParams{OID: oid}, &r)
	return r, err
}

func (im *Image) Selectors(ctx context.Context, oid uint64) ([]string, error) {
	var r []string
	err := im.call(ctx, api.MethodSelectors, api.OIDParams{OID: oid}, &r)
	return r, err
}

func (im *Image) Define(ctx context.Context, oid uint64, selector, source string) (api.Tx, error) {
	var r api.Tx
	err := im.call(ctx, api.MethodDefine, api.DefineParams{OID: oid, Selector: selector, Source: source}, &r)
	return r, err
}

func (im *Image) SetSlot(ctx context.Context, oid uint64, slot string, v api.Value) (api.Tx, error) {
	var r api.Tx
	err := im.call(ctx, api.MethodSetSlot, api.SetSlotParams{OID: oid, Slot: slot, Value: v}, &r)
	return r, err
}

func (im *Image) RemoveSlot(ctx context.Context, oid uint64, slot string) (api.Tx, error) {
	var r api.Tx
	err := im.call(ctx, api.MethodRemoveSlot, api.SlotParams{OID: oid, Slot: slot}, &r)
	return r, err
}

func (im *Image) RenameSlot(ctx context.Context, oid uint64, from, to string) (api.Tx, error) {
	var r api.Tx
	err := im.call(ctx, api.MethodRenameSlot, api.RenameSlotParams{OID: oid, From: from, To: to}, &r)
	return r, err
}

func (im *Image) Clone(ctx context.Context, oid, holder uint64, slot string) (api.Ref, error) {
	var r api.Ref
	err := im.call(ctx, api.MethodClone, api.CloneParams{OID: oid, Holder: holder, Slot: slot}, &r)
	return r, err
}

func (im *Image) History(ctx context.Context, before uint64, limit int) ([]api.Tx, error) {
	var r []api.Tx
	err := im.call(ctx, api.MethodHistory, api.HistoryParams{Before: before, Limit: limit}, &r)
	return r, err
}

func (im *Image) Versions(ctx context.Context, oid uint64, selector string) ([]api.Version, error) {
	var r []api.Version
	err := im.call(ctx, api.MethodVersions, api.VersionsParams{OID: oid, Selector: selector}, &r)
	return r, err
}

func (im *Image) Undo(ctx context.Context, tx uint64) (api.Tx, error) {
	var r api.Tx
	err := im.call(ctx, api.MethodUndo, api.UndoParams{Tx: tx}, &r)
	return r, err
}

func (im *Image) Search(ctx context.Context, query string, limit int) ([]api.Hit, error) {
	var r []api.Hit
	err := im.call(ctx, api.MethodSearch, api.SearchParams{Query: query, Limit: limit}, &r)
	return r, err
}

func (im *Image) Implementors(ctx context.Context, selector string, limit int) ([]api.Hit, error) {
	var r []api.Hit
	err := im.call(ctx, api.MethodImplementors, api.SelectorParams{Selector: selector, Limit: limit}, &r)
	return r, err
}

func (im *Image) Senders(ctx context.Context, selector string, limit int) ([]api.Hit, error) {
	var r []api.Hit
	err := im.call(ctx, api.MethodSenders, api.SelectorParams{Selector: selector, Limit: limit}, &r)
	return r, err
}

// Status describes the served image; Remote is the URL dialled.
func (im *Image) Check(ctx context.Context) (api.CheckReport, error) {
	var r api.CheckReport
	err := im.call(ctx, api.MethodCheck, struct{}{}, &r)
	return r, err
}

func (im *Image) Status(ctx context.Context) (api.Status, error) {
	var r api.Status
	err := im.call(ctx, api.MethodStatus, struct{}{}, &r)
	if err == nil {
		r.Remote = im.url
	}
	return r, err
}
