package llama

import (
	"fmt"
	"net/url"
	"strings"
)

// UnreachableError means no server answered at the base URL: the connection
// was refused, the host did not resolve, or the dial timed out.
type UnreachableError struct {
	URL    string // the client's base URL
	Reason string // "connection refused", "no such host", ...
	Err    error
}

func (e *UnreachableError) Error() string {
	port := "8080"
	if u, err := url.Parse(e.URL); err == nil && u.Port() != "" {
		port = u.Port()
	}
	return fmt.Sprintf("llama-server at %s is not reachable (%s): start one with %q or set BATOS_LLM_URL",
		e.URL, e.Reason, "llama-server -m MODEL.gguf --port "+port)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// ConfigError means the client is configured so that no model server can
// answer it: an endpoint without a scheme or host, an endpoint path that
// doubles the route's "/v1", or a server that answers the generation route
// with 404 or 501 (not llama-server, nor another OpenAI-compatible server,
// or a model name it does not have). Asking again cannot help; the
// configuration must change.
type ConfigError struct {
	Endpoint string // the client's base URL
	Reason   string
	Err      error // the server's answer (*ServerError), when it gave one
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("model server endpoint %q: %s", e.Endpoint, e.Reason)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// LoadingError means the server is up but still loading its model (HTTP 503
// "Loading model"). WaitReady waits these out.
type LoadingError struct {
	URL     string // the request URL
	Message string // the server's error.message
}

func (e *LoadingError) Error() string {
	return fmt.Sprintf("llama-server %s: still loading the model (503 %s)", e.URL, oneLine(e.Message, 200))
}

// ServerError is an error the server reported: an HTTP status >= 400, or an
// {"error":{...}} event in the middle of a stream (MidStream).
type ServerError struct {
	Status    int    // HTTP status, or error.code of a mid-stream error (0 if none)
	Type      string // error.type, e.g. "server_error", "exceed_context_size_error"
	Message   string // error.message
	Method    string // the request method
	URL       string // the request URL
	MidStream bool   // reported inside a 200 stream after output began
}

func (e *ServerError) Error() string {
	where := ""
	if e.MidStream {
		where = " (mid-stream)"
	}
	typ := ""
	if e.Type != "" {
		typ = " " + e.Type
	}
	status := ""
	if e.Status != 0 {
		status = fmt.Sprintf(" %d", e.Status)
	}
	return fmt.Sprintf("llama-server %s %s: error%s%s%s: %s", e.Method, e.URL, where, status, typ, oneLine(e.Message, 300))
}

// TruncatedError means a stream ended before its end marker ([DONE] on the
// chat route, a "stop": true chunk on /completion). The Result returned with
// it holds the text received so far.
type TruncatedError struct {
	Method string
	URL    string
	Events int   // data events received
	Bytes  int   // bytes of text received
	Err    error // what ended the stream: io.EOF, io.ErrUnexpectedEOF, a network error
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("llama-server %s %s: stream cut after %d events (%d bytes of text) before its end: %v",
		e.Method, e.URL, e.Events, e.Bytes, e.Err)
}

func (e *TruncatedError) Unwrap() error { return e.Err }

// ProtocolError means the server sent something that is not the expected
// wire format: a garbled JSON event, an over-long line.
type ProtocolError struct {
	Method string
	URL    string
	Line   string // the offending line, truncated
	Err    error
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("llama-server %s %s: garbled response line %q: %v", e.Method, e.URL, e.Line, e.Err)
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// OutputLimitError means the generated text passed Client.MaxOutputBytes; the
// stream was closed (which makes llama-server stop generating) and the Result
// returned with it holds the first Limit bytes.
type OutputLimitError struct {
	Method string
	URL    string
	Limit  int
}

func (e *OutputLimitError) Error() string {
	return fmt.Sprintf("llama-server %s %s: output passed the %d-byte limit (Client.MaxOutputBytes); generation stopped", e.Method, e.URL, e.Limit)
}

// oneLine flattens s to one line of at most n bytes (plus an ellipsis).
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	return truncate(s, n)
}

// truncate cuts s to at most n bytes on a UTF-8 boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
