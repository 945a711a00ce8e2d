package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"batos/api"
	"batos/server/servertest"
)

func noLeaks(t testing.TB) { servertest.NoLeaks(t) }

// wsClient is a raw protocol client: a gorilla connection and the frames
// it read that the test has not consumed yet.
type wsClient struct {
	t      testing.TB
	ws     *websocket.Conn
	events []api.Event
}

// frame is any server frame.
type frame struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   *api.RPCError   `json:"error"`
}

func header(token string) http.Header {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return h
}

// dialRaw dials s with query (without "?") and the given protocols.
func dialRaw(s *servertest.Served, query string, h http.Header, protocols ...string) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{Subprotocols: protocols, HandshakeTimeout: 10 * time.Second}
	u := s.URL
	if query != "" {
		u += "?" + query
	}
	return d.Dial(u, h)
}

// connect dials s as a well-behaved client.
func connect(t testing.TB, s *servertest.Served, query string) *wsClient {
	t.Helper()
	ws, resp, err := dialRaw(s, query, header(s.Token), api.Subprotocol)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (status %d)", err, status)
	}
	t.Cleanup(func() { ws.Close() })
	return &wsClient{t: t, ws: ws}
}

// writeRaw sends one text frame.
func (c *wsClient) writeRaw(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// call sends a request with a numeric id.
func (c *wsClient) call(id int, method string, params any) {
	c.t.Helper()
	p, err := json.Marshal(params)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := json.Marshal(api.RPCRequest{JSONRPC: "2.0", ID: json.RawMessage(itoa(id)), Method: method, Params: p})
	c.writeRaw(string(b))
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// read reads the next frame, failing the test on error.
func (c *wsClient) read() frame {
	c.t.Helper()
	f, err := c.tryRead()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

func (c *wsClient) tryRead() (frame, error) {
	c.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	typ, data, err := c.ws.ReadMessage()
	if err != nil {
		return frame{}, err
	}
	if typ != websocket.TextMessage {
		c.t.Fatalf("frame of type %d", typ)
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		c.t.Fatalf("frame %s: %v", data, err)
	}
	if f.JSONRPC != "2.0" {
		c.t.Fatalf("frame without jsonrpc 2.0: %s", data)
	}
	return f, nil
}

// response reads frames, keeping events aside, until the response with
// id (a JSON id: `7`, `"a"`, `null`).
func (c *wsClient) response(id string) frame {
	c.t.Helper()
	for {
		f := c.read()
		if f.Method == api.MethodEvent {
			var ev api.Event
			if err := json.Unmarshal(f.Params, &ev); err != nil {
				c.t.Fatalf("event %s: %v", f.Params, err)
			}
			c.events = append(c.events, ev)
			continue
		}
		if string(f.ID) != id {
			c.t.Fatalf("response to %s while waiting for %s: %+v", f.ID, id, f)
		}
		return f
	}
}

// responses reads frames until it has the responses to n requests, in
// whatever order they come, by JSON id.
func (c *wsClient) responses(n int) map[string]frame {
	c.t.Helper()
	out := map[string]frame{}
	for len(out) < n {
		f := c.read()
		if f.Method == api.MethodEvent {
			var ev api.Event
			if err := json.Unmarshal(f.Params, &ev); err != nil {
				c.t.Fatalf("event %s: %v", f.Params, err)
			}
			c.events = append(c.events, ev)
			continue
		}
		if _, dup := out[string(f.ID)]; dup {
			c.t.Fatalf("two responses to %s", f.ID)
		}
		out[string(f.ID)] = f
	}
	return out
}

// event reads the next event (taking those kept aside first).
func (c *wsClient) event() api.Event {
	c.t.Helper()
	if len(c.events) > 0 {
		ev := c.events[0]
		c.events = c.events[1:]
		return ev
	}
	f := c.read()
	if f.Method != api.MethodEvent {
		c.t.Fatalf("want an event, got %+v", f)
	}
	var ev api.Event
	if err := json.Unmarshal(f.Params, &ev); err != nil {
		c.t.Fatalf("event %s: %v", f.Params, err)
	}
	return ev
}

// closeCode reads until the connection ends and returns the close code
// and reason the server sent (0 when it sent none), then closes the
// client's socket.
func (c *wsClient) closeCode() (int, string) {
	c.t.Helper()
	defer c.ws.Close()
	for {
		_, err := c.tryRead()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code, ce.Text
		}
		return 0, err.Error()
	}
}

// result decodes a successful response's result.
func result[T any](t testing.TB, f frame) T {
	t.Helper()
	var v T
	if f.Error != nil {
		t.Fatalf("error response: %+v (%+v)", f.Error, f.Error.Data)
	}
	if err := json.Unmarshal(f.Result, &v); err != nil {
		t.Fatalf("result %s: %v", f.Result, err)
	}
	return v
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
