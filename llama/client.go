package llama

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// DefaultMaxOutputBytes is the cap on generated text when
// Client.MaxOutputBytes is 0.
const DefaultMaxOutputBytes = 1 << 20

// maxLine caps one SSE line or one non-streamed JSON body.
const maxLine = 16 << 20

// Client talks to one llama-server (or another OpenAI-compatible server,
// through Chat). The zero value is not usable; build one with New or fill
// BaseURL. A Client is safe for concurrent use if its fields are not changed.
type Client struct {
	// BaseURL is the server root, e.g. "http://127.0.0.1:8080", without a
	// trailing "/v1".
	BaseURL string
	// HTTP is the client used for requests; http.DefaultClient if nil. Do not
	// set a Timeout on it for streaming: use the context.
	HTTP *http.Client
	// APIKey, if set, is sent as "Authorization: Bearer APIKey" (llama-server
	// --api-key).
	APIKey string
	// MaxOutputBytes caps the text accumulated by Chat and Complete: 0 means
	// DefaultMaxOutputBytes, negative means no cap.
	MaxOutputBytes int
}

// New returns a client for the server at baseURL.
func New(baseURL string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/")}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) url(route string) string {
	return strings.TrimRight(c.BaseURL, "/") + route
}

// checkEndpoint refuses a base URL that cannot reach route: without a
// scheme ("127.0.0.1:8080" parses as scheme "127.0.0.1"), without a host,
// or ending in "/v1" before a route that starts with it ("/v1/v1/...").
func (c *Client) checkEndpoint(route string) error {
	base := strings.TrimRight(c.BaseURL, "/")
	u, err := url.Parse(base)
	switch {
	case !strings.Contains(base, "://"):
		return &ConfigError{Endpoint: c.BaseURL, Reason: "no http:// or https:// scheme: write it as http://HOST:PORT"}
	case err != nil:
		return &ConfigError{Endpoint: c.BaseURL, Reason: fmt.Sprintf("not a URL (%v): write it as http://HOST:PORT", err)}
	case u.Scheme != "http" && u.Scheme != "https":
		return &ConfigError{Endpoint: c.BaseURL, Reason: "no http:// or https:// scheme: write it as http://HOST:PORT"}
	case u.Host == "":
		return &ConfigError{Endpoint: c.BaseURL, Reason: "no host: write it as http://HOST:PORT"}
	case strings.HasSuffix(u.Path, "/v1") && strings.HasPrefix(route, "/v1/"):
		return &ConfigError{Endpoint: c.BaseURL, Reason: fmt.Sprintf("ends in /v1, and the route %s starts with it (%s): leave /v1 out of the endpoint", route, base+route)}
	}
	return nil
}

func (c *Client) limit() int {
	switch {
	case c.MaxOutputBytes == 0:
		return DefaultMaxOutputBytes
	case c.MaxOutputBytes < 0:
		return -1
	}
	return c.MaxOutputBytes
}

// send issues one request. On a transport failure it returns a typed error;
// on a status >= 400 it reads the body and returns *ServerError or
// *LoadingError. On success the caller owns resp.Body.
func (c *Client) send(ctx context.Context, method, route string, body any, stream bool) (*http.Response, error) {
	if err := c.checkEndpoint(route); err != nil {
		return nil, err
	}
	u := c.url(route)
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("llama-server %s %s: encoding request: %w", method, u, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("llama-server %s %s: %w", method, u, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("llama-server %s %s: %w", method, u, ctx.Err())
		}
		if reason, ok := dialFailure(err); ok {
			return nil, &UnreachableError{URL: strings.TrimRight(c.BaseURL, "/"), Reason: reason, Err: err}
		}
		return nil, fmt.Errorf("llama-server %s %s: %w", method, u, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if rerr != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("llama-server %s %s: %w", method, u, ctx.Err())
		}
		return nil, statusError(method, u, resp.StatusCode, b)
	}
	return resp, nil
}

// dialFailure reports whether err means nothing answered at the address.
func dialFailure(err error) (string, bool) {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		var dns *net.DNSError
		if errors.As(err, &dns) {
			return "no such host", true
		}
		return "", false
	}
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", true
	case errors.As(err, &dns):
		return "no such host", true
	case op.Timeout():
		return "dial timeout", true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to host", true
	}
	return op.Err.Error(), true
}

// apiError is an error object as llama-server, OpenAI, vLLM and Ollama send
// it: {"code": 500, "message": "...", "type": "server_error"}; code may be a
// number, a string or null.
type apiError struct {
	Code    json.RawMessage `json:"code"`
	Message string          `json:"message"`
	Type    string          `json:"type"`
}

func (e apiError) status() int {
	var n int
	if json.Unmarshal(e.Code, &n) == nil {
		return n
	}
	return 0
}

// parseErrorField reads an "error" member: an object or, for Ollama's native
// routes, a bare string.
func parseErrorField(raw json.RawMessage) (apiError, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return apiError{}, false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return apiError{Message: s}, true
	}
	var e apiError
	if json.Unmarshal(raw, &e) == nil {
		return e, true
	}
	return apiError{Message: string(raw)}, true
}

// statusError turns an HTTP error response into *LoadingError or
// *ServerError, taking the message from whatever error shape the body has.
func statusError(method, u string, status int, body []byte) error {
	var env struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"` // vLLM: top-level
		Type    string          `json:"type"`
		Detail  any             `json:"detail"` // FastAPI
	}
	e := apiError{}
	if json.Unmarshal(body, &env) == nil {
		if ae, ok := parseErrorField(env.Error); ok {
			e = ae
		} else if env.Message != "" {
			e = apiError{Message: env.Message, Type: env.Type}
		} else if env.Detail != nil {
			e.Message = fmt.Sprint(env.Detail)
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	if status == http.StatusServiceUnavailable && strings.Contains(e.Message, "Loading model") {
		return &LoadingError{URL: u, Message: e.Message}
	}
	return &ServerError{Status: status, Type: e.Type, Message: e.Message, Method: method, URL: u}
}

// doJSON sends body (if not nil) to route and decodes the JSON answer into v
// (if not nil).
func (c *Client) doJSON(ctx context.Context, method, route string, body, v any) error {
	resp, err := c.send(ctx, method, route, body, false)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxLine))
	u := c.url(route)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("llama-server %s %s: %w", method, u, ctx.Err())
		}
		return fmt.Errorf("llama-server %s %s: reading response: %w", method, u, err)
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &ProtocolError{Method: method, URL: u, Line: truncate(string(b), 120), Err: err}
	}
	return nil
}

// Health asks GET /health. It returns nil when the server is ready,
// *LoadingError while it loads its model (503), *UnreachableError when
// nothing listens, *ServerError for other statuses.
func (c *Client) Health(ctx context.Context) error {
	resp, err := c.send(ctx, http.MethodGet, "/health", nil, false)
	if err != nil {
		var se *ServerError
		if errors.As(err, &se) && se.Status == http.StatusServiceUnavailable {
			return &LoadingError{URL: c.url("/health"), Message: se.Message}
		}
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	return nil
}

// WaitReady polls Health, backing off from 25 ms to 1 s, until the server is
// ready or ctx ends. It keeps waiting through *LoadingError,
// *UnreachableError (the server may still be starting) and 5xx statuses; a
// 404 means the server has no /health (Ollama) and counts as ready; other
// errors are returned at once. When ctx ends the error wraps both ctx.Err()
// and the last health error.
func (c *Client) WaitReady(ctx context.Context) error {
	delay := 25 * time.Millisecond
	for {
		err := c.Health(ctx)
		if err == nil {
			return nil
		}
		var se *ServerError
		if errors.As(err, &se) {
			if se.Status == http.StatusNotFound {
				return nil
			}
			if se.Status < 500 {
				return err
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("llama-server at %s not ready: %w", c.BaseURL, ctx.Err())
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("llama-server at %s not ready: %w (last: %w)", c.BaseURL, ctx.Err(), err)
		case <-t.C:
		}
		delay = min(delay*2, time.Second)
	}
}

// Props is the part of GET /props the pLLM uses.
type Props struct {
	ModelPath    string // model_path
	ContextSize  int    // default_generation_settings.n_ctx: the context per slot
	ChatTemplate string // chat_template (Jinja source)
	TotalSlots   int    // total_slots (-np)
	BuildInfo    string // build_info, e.g. "b6925-cd5e3b575"
}

// Props asks GET /props.
func (c *Client) Props(ctx context.Context) (Props, error) {
	var w struct {
		Default struct {
			NCtx int `json:"n_ctx"`
		} `json:"default_generation_settings"`
		TotalSlots   int    `json:"total_slots"`
		ModelPath    string `json:"model_path"`
		ChatTemplate string `json:"chat_template"`
		BuildInfo    string `json:"build_info"`
	}
	if err := c.doJSON(ctx, http.MethodGet, "/props", nil, &w); err != nil {
		return Props{}, err
	}
	return Props{
		ModelPath:    w.ModelPath,
		ContextSize:  w.Default.NCtx,
		ChatTemplate: w.ChatTemplate,
		TotalSlots:   w.TotalSlots,
		BuildInfo:    w.BuildInfo,
	}, nil
}

// Tokenize asks POST /tokenize for text's token ids (no BOS added, special
// tokens parsed, as llama-server's defaults).
func (c *Client) Tokenize(ctx context.Context, text string) ([]int, error) {
	var w struct {
		Tokens []int `json:"tokens"`
	}
	if err := c.doJSON(ctx, http.MethodPost, "/tokenize", map[string]any{"content": text}, &w); err != nil {
		return nil, err
	}
	if w.Tokens == nil {
		w.Tokens = []int{}
	}
	return w.Tokens, nil
}

// CountTokens asks POST /tokenize how many tokens text is, without
// decoding the tokens: a long prompt's are thousands of numbers (decoding
// 2,000 took 0.2 ms), and fitting a prompt to the context needs only how
// many there are.
func (c *Client) CountTokens(ctx context.Context, text string) (int, error) {
	var w struct {
		Tokens elementCount `json:"tokens"`
	}
	if err := c.doJSON(ctx, http.MethodPost, "/tokenize", map[string]any{"content": text}, &w); err != nil {
		return 0, err
	}
	return int(w.Tokens), nil
}

// elementCount is how many elements a JSON array has, counted without
// decoding them; null counts none.
type elementCount int

// UnmarshalJSON counts the elements of b. encoding/json has checked that b
// is one valid JSON value before it calls this, so tracking brackets and
// strings finds the array's own commas.
func (n *elementCount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*n = 0
		return nil
	}
	if len(b) == 0 || b[0] != '[' {
		return fmt.Errorf("want an array, got %s", truncate(string(b), 20))
	}
	// A valid array ends with its ']'; its elements are what lies between,
	// separated by the commas outside nested values and strings.
	inner := bytes.TrimSpace(b[1 : len(b)-1])
	if len(inner) == 0 {
		*n = 0
		return nil
	}
	count, depth, inString, escaped := 1, 0, false, false
	for _, ch := range inner {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
		case ch == '"':
			inString = true
		case ch == '[' || ch == '{':
			depth++
		case ch == ']' || ch == '}':
			depth--
		case ch == ',' && depth == 0:
			count++
		}
	}
	*n = elementCount(count)
	return nil
}

// TokenizeSpecial is Tokenize with the model's special tokens (BOS) added
// as a prompt's are at inference, when addSpecial.
func (c *Client) TokenizeSpecial(ctx context.Context, text string, addSpecial bool) ([]int, error) {
	var w struct {
		Tokens []int `json:"tokens"`
	}
	if err := c.doJSON(ctx, http.MethodPost, "/tokenize", map[string]any{"content": text, "add_special": addSpecial}, &w); err != nil {
		return nil, err
	}
	if w.Tokens == nil {
		w.Tokens = []int{}
	}
	return w.Tokens, nil
}

// ApplyTemplate asks POST /apply-template for messages rendered with the
// model's chat template, ending with the assistant's turn opened when
// addGenerationPrompt. A server without the route answers a *ServerError
// with status 404.
func (c *Client) ApplyTemplate(ctx context.Context, messages []Message, addGenerationPrompt bool) (string, error) {
	var w struct {
		Prompt *string `json:"prompt"`
	}
	body := map[string]any{"messages": messages, "add_generation_prompt": addGenerationPrompt}
	if err := c.doJSON(ctx, http.MethodPost, "/apply-template", body, &w); err != nil {
		return "", err
	}
	if w.Prompt == nil {
		return "", &ProtocolError{Method: http.MethodPost, URL: c.url("/apply-template"), Line: "", Err: errors.New(`the answer has no "prompt"`)}
	}
	return *w.Prompt, nil
}

// Adapter is a LoRA adapter loaded into the server (llama-server --lora).
type Adapter struct {
	ID    int
	Path  string
	Scale float64 // the global scale, used by requests that send no "lora"
}

// LoRAAdapters asks GET /lora-adapters.
func (c *Client) LoRAAdapters(ctx context.Context) ([]Adapter, error) {
	var w []struct {
		ID    int     `json:"id"`
		Path  string  `json:"path"`
		Scale float64 `json:"scale"`
	}
	if err := c.doJSON(ctx, http.MethodGet, "/lora-adapters", nil, &w); err != nil {
		return nil, err
	}
	out := make([]Adapter, len(w))
	for i, a := range w {
		out[i] = Adapter{ID: a.ID, Path: a.Path, Scale: a.Scale}
	}
	return out, nil
}

// SetLoRAAdapters sets the global adapter scales with POST /lora-adapters.
// Adapters not listed are set to scale 0 by llama-server.
func (c *Client) SetLoRAAdapters(ctx context.Context, scales []LoRA) error {
	if scales == nil {
		scales = []LoRA{}
	}
	return c.doJSON(ctx, http.MethodPost, "/lora-adapters", scales, nil)
}
