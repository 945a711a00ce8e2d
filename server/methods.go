package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"batos/api"
)

// prepared is a request whose params were read and checked: it only has
// to run.
type prepared func(ctx context.Context, c Client) (any, error)

// method reads a method's params into a prepared call, or says why they
// are not acceptable (CodeInvalidParams).
type method func(params json.RawMessage) (prepared, *api.RPCError)

// methods are the image methods a client may call, by wire name; each
// result is the api type the Image method returns. interrupt is handled
// by the connection itself (it runs inline, not as a request).
var methods = map[string]method{
	api.MethodEval: with(func(p api.EvalParams) (prepared, error) {
		return func(ctx context.Context, c Client) (any, error) { return c.Eval(ctx, p.Source) }, nil
	}),
	api.MethodSend: with(func(p api.SendParams) (prepared, error) {
		if err := need(p.OID != 0, "oid"); err != nil {
			return nil, err
		}
		if err := need(p.Selector != "", "selector"); err != nil {
			return nil, err
		}
		return func(ctx context.Context, c Client) (any, error) { return c.Send(ctx, p.OID, p.Selector, p.Args...) }, nil
	}),
	api.MethodObject: withOID(func(ctx context.Context, c Client, oid uint64) (any, error) { return c.Object(ctx, oid) }),
	api.MethodChildren: withOID(func(ctx context.Context, c Client, oid uint64) (any, error) {
		l, err := c.Children(ctx, oid)
		return list(l), err
	}),
	api.MethodSelectors: withOID(func(ctx context.Context, c Client, oid uint64) (any, error) {
		l, err := c.Selectors(ctx, oid)
		return list(l), err
	}),
	api.MethodDefine: with(func(p api.DefineParams) (prepared, error) {
		if err := need(p.OID != 0 && p.Selector != "", "oid and selector"); err != nil {
			return nil, err
		}
		return func(ctx context.Context, c Client) (any, error) { return c.Define(ctx, p.OID, p.Selector, p.Source) }, nil
	}),
	api.MethodSetSlot: with(func(p api.SetSlotParams) (prepared, error) {
		if err := need(p.OID != 0 && p.Slot != "", "oid and slot"); err != nil {
			return nil, err
		}
		if err := need(p.Value.Kind != "", "value (a tagged value with its kind)"); err != nil {
			return nil, err
		}
		return func(ctx context.Context, c Client) (any, error) { return c.SetSlot(ctx, p.OID, p.Slot, p.Value) }, nil
	}),
	api.MethodRemoveSlot: with(func(p api.SlotParams) (prepared, error) {
		if err := need(p.OID != 0 && p.Slot != "", "oid and slot"); err != nil {
			return nil, err
		}
		return func(ctx context.Context, c Client) (any, error) { return c.RemoveSlot(ctx, p.OID, p.Slot) }, nil
	}),
	api.MethodRenameSlot: with(func(p api.RenameSlotParams) (prepared, error) {
		if err := need(p.OID != 0 && p.From != "" && p.To != "", "oid, from and to"); err != nil {
			return nil, err
		}
		return func(ctx context.Context, c Client) (any, error) { return c.RenameSlot(ctx, p.OID, p.From, p.To) }, nil
	}),
	api.MethodClone: with(func(p api.CloneParams) (prepared, error) {
		if err := need(p.OID != 0 && p.Holder != 0 && p.Slot != "", "oid, holder and slot"); err != nil {
			return nil, err
		}
		return func(ctx context.Context, c Client) (any, error) { return c.Clone(ctx, p.OID, p.Holder, p.Slot) }, nil
	}),
	api.MethodHistory: with(func(p api.HistoryParams) (prepared, error) {
		if err := need(p.Limit >= 0, "limit ≥ 0"); err != nil {
			return nil, err
		}
		return func(ctx context.Context, c Client) (any, error) {
			l, err := c.History(ctx, p.Before, p.Limit)
			return list(l), err
		}, nil
	}),
	api.MethodVersions: with(func(p api.VersionsParams) (prepared, error) {
		if err := need(p.OID != 0 && p.Selector != "", "oid and selector"); err != nil {
			return nil, err
		}
		return func(ctx context.Context, c Client) (any, error) {
			l, err := c.Versions(ctx, p.OID, p.Selector)
			return list(l), err
		}, nil
	}),
	api.MethodUndo: with(func(p api.UndoParams) (prepared, error) {
		if err := need(p.Tx != 0, "tx"); err != nil {
			return nil, err
		}
		return func(ctx context.Context, c Client) (any, error) { return c.Undo(ctx, p.Tx) }, nil
	}),
	api.MethodSearch: with(func(p api.SearchParams) (prepared, error) {
		if err := need(p.Limit >= 0, "limit ≥ 0"); err != nil {
			return nil, err
		}
		return func(ctx context.Context, c Client) (any, error) {
			l, err := c.Search(ctx, p.Query, p.Limit)
			return list(l), err
		}, nil
	}),
	api.MethodImplementors: withSelector(func(ctx context.Context, c Client, selector string, limit int) ([]api.Hit, error) {
		return c.Implementors(ctx, selector, limit)
	}),
	api.MethodSenders: withSelector(func(ctx context.Context, c Client, selector string, limit int) ([]api.Hit, error) {
		return c.Senders(ctx, selector, limit)
	}),
	api.MethodStatus: with(func(struct{}) (prepared, error) {
		return func(ctx context.Context, c Client) (any, error) { return c.Status(ctx) }, nil
	}),
	api.MethodCheck: with(func(struct{}) (prepared, error) {
		return func(ctx context.Context, c Client) (any, error) { return c.Check(ctx) }, nil
	}),
}

// with makes a method of a params type and a function checking them.
func with[P any](bind func(P) (prepared, error)) method {
	return func(raw json.RawMessage) (prepared, *api.RPCError) {
		var p P
		if perr := decodeParams(raw, &p); perr != nil {
			return nil, perr
		}
		call, err := bind(p)
		if err != nil {
			return nil, protocolError(api.CodeInvalidParams, "%v", err)
		}
		return call, nil
	}
}

func withOID(fn func(ctx context.Context, c Client, oid uint64) (any, error)) method {
	return with(func(p api.OIDParams) (prepared, error) {
		if err := need(p.OID != 0, "oid"); err != nil {
			return nil, err
		}
		return func(ctx context.Context, c Client) (any, error) { return fn(ctx, c, p.OID) }, nil
	})
}

// withSelector makes implementors and senders: a required selector and a
// limit ≥ 0.
func withSelector(fn func(ctx context.Context, c Client, selector string, limit int) ([]api.Hit, error)) method {
	return with(func(p api.SelectorParams) (prepared, error) {
		if err := need(p.Selector != "", "selector"); err != nil {
			return nil, err
		}
		if err := need(p.Limit >= 0, "limit ≥ 0"); err != nil {
			return nil, err
		}
		return func(ctx context.Context, c Client) (any, error) {
			l, err := fn(ctx, c, p.Selector, p.Limit)
			return list(l), err
		}, nil
	})
}

func need(ok bool, what string) error {
	if !ok {
		return fmt.Errorf("params need %s", what)
	}
	return nil
}

// list makes a nil list an empty one, so that results are [] not null.
func list[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

// decodeParams reads params (absent or null: all fields zero) into p.
// Unknown fields are ignored, so that a newer client's optional fields do
// not break an older server.
func decodeParams(raw json.RawMessage, p any) *api.RPCError {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, p); err != nil {
		return protocolError(api.CodeInvalidParams, "bad params: %v", err)
	}
	return nil
}

// request is a frame read as a JSON-RPC request. id is nil for a
// notification; idString is the id as interrupt names it.
type request struct {
	id       json.RawMessage
	idString string
	method   string
	params   json.RawMessage
}

// parseRequest reads a frame. On error, the request's id is set when it
// could be read, so that the error answers it.
func parseRequest(data []byte) (request, *api.RPCError) {
	var req request
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if !json.Valid(trimmed) {
		return req, protocolError(api.CodeParse, "parse error: the frame is not one JSON value")
	}
	if trimmed[0] == '[' {
		return req, protocolError(api.CodeInvalidRequest, "batch requests are not supported: send one request per frame")
	}
	var fields map[string]json.RawMessage
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &fields) != nil {
		return req, protocolError(api.CodeInvalidRequest, "a request is a JSON object")
	}
	if id, ok := fields["id"]; ok {
		switch {
		case len(id) > 0 && id[0] == '"':
			if err := json.Unmarshal(id, &req.idString); err != nil {
				return req, protocolError(api.CodeInvalidRequest, "bad id: %v", err)
			}
			req.id = id
		case len(id) > 0 && (id[0] == '-' || id[0] >= '0' && id[0] <= '9'):
			req.id, req.idString = id, string(id)
		default:
			return req, protocolError(api.CodeInvalidRequest, "id must be a string or a number")
		}
	}
	if v := fields["jsonrpc"]; string(v) != `"2.0"` {
		return req, protocolError(api.CodeInvalidRequest, `missing "jsonrpc":"2.0"`)
	}
	if json.Unmarshal(fields["method"], &req.method) != nil || req.method == "" {
		return req, protocolError(api.CodeInvalidRequest, "missing method")
	}
	if p := bytes.TrimLeft(fields["params"], " \t\r\n"); len(p) > 0 && p[0] != '{' && string(p) != "null" {
		return req, protocolError(api.CodeInvalidParams, "params must be an object with named fields")
	}
	req.params = fields["params"]
	return req, nil
}

// protocolError is an error of the protocol itself: data kind invalid.
func protocolError(code int, format string, args ...any) *api.RPCError {
	msg := fmt.Sprintf(format, args...)
	return &api.RPCError{Code: code, Message: msg, Data: &api.Error{Kind: api.ErrInvalid, Message: msg}}
}

func overloaded(format string, args ...any) *api.RPCError {
	msg := fmt.Sprintf(format, args...)
	return &api.RPCError{Code: api.CodeOverloaded, Message: msg, Data: &api.Error{Kind: api.ErrOverloaded, Message: msg}}
}

// rpcError is the error object clients receive for err: an *api.Error of
// the image as itself (CodeImage), a context's error as kind canceled or
// deadline, anything else as kind internal.
func rpcError(err error) *api.RPCError {
	var (
		re *api.RPCError
		ae *api.Error
	)
	switch {
	case errors.As(err, &re):
		return re
	case errors.As(err, &ae):
	case errors.Is(err, context.Canceled):
		ae = &api.Error{Kind: api.ErrCanceled, Message: "request canceled"}
	case errors.Is(err, context.DeadlineExceeded):
		ae = &api.Error{Kind: api.ErrDeadline, Message: "request deadline exceeded"}
	default:
		ae = &api.Error{Kind: api.ErrInternal, Message: err.Error()}
	}
	code := api.CodeImage
	if ae.Kind == api.ErrOverloaded {
		code = api.CodeOverloaded
	}
	return &api.RPCError{Code: code, Message: ae.Message, Data: ae}
}

// bucket is a token bucket: rate tokens a second, at most burst; a
// negative rate never refuses.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newBucket(rate float64, burst int) bucket {
	return bucket{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

func (b *bucket) allow(now time.Time) bool {
	if b.rate < 0 {
		return true
	}
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
