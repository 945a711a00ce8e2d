package llama

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Message is one chat message.
type Message struct {
	Role    string `json:"role"` // "system", "user", "assistant"
	Content string `json:"content"`
}

// LoRA selects a loaded adapter (by its id in GET /lora-adapters) and its
// scale, for one request or for SetLoRAAdapters.
type LoRA struct {
	ID    int     `json:"id"`
	Scale float64 `json:"scale"`
}

// Request is one generation request. Zero values mean "the server's
// default" and are not sent; see the field notes for how to ask for zero.
type Request struct {
	Messages []Message // Chat only
	Prompt   string    // Complete only: the raw prompt, no chat template applied
	Model    string    // "model"; llama-server serves one model and ignores it unless run as a router

	// Temperature: 0 = server default (0.8 on llama-server); negative sends 0
	// (greedy).
	Temperature float64
	TopP        float64  // 0 = server default
	TopK        int      // 0 = server default; negative sends 0 (top-k off)
	MaxTokens   int      // 0 = server default (unlimited on llama-server); "max_tokens" on chat, "n_predict" on /completion
	Seed        int      // 0 = server default (random); negative sends that value
	Stop        []string // stop strings

	LoRA []LoRA // per-request adapter scales ("lora"); llama-server only
	// NoLoRA, with LoRA empty, sends "lora": [], which makes llama-server
	// answer with the base model even when it was started applying
	// adapters to every request (--lora without
	// --lora-init-without-apply). llama-server only.
	NoLoRA     bool
	Grammar    string // GBNF ("grammar"); llama-server only
	JSONSchema any    // constrain output to this JSON schema, see Chat and Complete
}

// Timings are llama-server's measurements from the final chunk's "timings";
// on servers without them PromptN and PredictedN come from "usage".
type Timings struct {
	CacheN      int     // prompt tokens reused from the KV cache
	PromptN     int     // prompt tokens evaluated
	PromptMS    float64 // time to evaluate them
	PredictedN  int     // tokens generated
	PredictedMS float64 // time to generate them
}

// Result is a finished (or, with some errors, partial) generation.
type Result struct {
	Text string
	// FinishReason is "stop" (end of text or a stop string) or "length"
	// (MaxTokens or the context ran out), in OpenAI's terms on both routes;
	// "" if the stream ended early.
	FinishReason string
	Timings      Timings
	Model        string // the model the server reports
	Reasoning    string // reasoning_content deltas (thinking models), kept apart from Text
}

// generation is the wire body for both routes; omitted fields take the
// server's defaults.
type generation struct {
	Model          string          `json:"model,omitempty"`
	Messages       *[]Message      `json:"messages,omitempty"` // pointer: chat sends [] too
	Prompt         *string         `json:"prompt,omitempty"`
	Stream         bool            `json:"stream"`
	StreamOptions  *streamOptions  `json:"stream_options,omitempty"`
	Temperature    *float64        `json:"temperature,omitempty"`
	TopP           *float64        `json:"top_p,omitempty"`
	TopK           *int            `json:"top_k,omitempty"`
	MaxTokens      int             `json:"max_tokens,omitempty"`
	NPredict       int             `json:"n_predict,omitempty"`
	Seed           *int            `json:"seed,omitempty"`
	Stop           []string        `json:"stop,omitempty"`
	LoRA           any             `json:"lora,omitempty"` // []LoRA; an empty one is sent (NoLoRA)
	Grammar        string          `json:"grammar,omitempty"`
	JSONSchema     any             `json:"json_schema,omitempty"`
	ResponseFormat *responseFormat `json:"response_format,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type responseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *schemaSpec `json:"json_schema,omitempty"`
}

type schemaSpec struct {
	Name   string `json:"name"`
	Schema any    `json:"schema"`
}

func (r Request) wire() (generation, error) {
	if r.Grammar != "" && r.JSONSchema != nil {
		return generation{}, errors.New("grammar and JSON schema cannot both be set (Request.Grammar, Request.JSONSchema): llama-server rejects it")
	}
	g := generation{Model: r.Model, Stop: r.Stop, Grammar: r.Grammar, Stream: true}
	switch {
	case len(r.LoRA) > 0:
		g.LoRA = r.LoRA
	case r.NoLoRA:
		g.LoRA = []LoRA{}
	}
	if r.Temperature != 0 {
		t := max(r.Temperature, 0)
		g.Temperature = &t
	}
	if r.TopP != 0 {
		p := r.TopP
		g.TopP = &p
	}
	if r.TopK != 0 {
		k := max(r.TopK, 0)
		g.TopK = &k
	}
	if r.Seed != 0 {
		s := r.Seed
		g.Seed = &s
	}
	return g, nil
}

// Chat streams POST /v1/chat/completions. It works with llama-server and any
// OpenAI-compatible server (vLLM, Ollama, LM Studio): only choices[0].delta
// and finish_reason are required; "timings" (llama-server) and "usage" are
// read when present. It asks for stream_options.include_usage.
//
// JSONSchema is sent as response_format {"type": "json_schema",
// "json_schema": {"name": "output", "schema": ...}}, the OpenAI form that
// current llama-server, vLLM and Ollama accept (llama-server builds from
// before 2025 knew only {"type": "json_object", "schema": ...}).
//
// onToken, if not nil, is called with each piece of content as it arrives,
// in order, on the calling goroutine. Errors: see the package comment; with
// *TruncatedError, *OutputLimitError and mid-stream *ServerError the Result
// holds the text received so far.
func (c *Client) Chat(ctx context.Context, req Request, onToken func(string)) (Result, error) {
	g, err := req.wire()
	if err != nil {
		return Result{}, fmt.Errorf("llama-server POST %s: %w", c.url(routeChat), err)
	}
	msgs := req.Messages
	if msgs == nil {
		msgs = []Message{}
	}
	g.Messages = &msgs
	g.MaxTokens = req.MaxTokens
	g.StreamOptions = &streamOptions{IncludeUsage: true}
	if req.JSONSchema != nil {
		g.ResponseFormat = &responseFormat{Type: "json_schema", JSONSchema: &schemaSpec{Name: "output", Schema: req.JSONSchema}}
	}
	return c.generate(ctx, routeChat, g, onToken)
}

// Complete streams llama-server's native POST /completion: the prompt is used
// as is (no chat template). JSONSchema is sent as "json_schema" and MaxTokens
// as "n_predict". onToken and errors are as for Chat.
func (c *Client) Complete(ctx context.Context, req Request, onToken func(string)) (Result, error) {
	g, err := req.wire()
	if err != nil {
		return Result{}, fmt.Errorf("llama-server POST %s: %w", c.url(routeCompletion), err)
	}
	p := req.Prompt
	g.Prompt = &p
	g.NPredict = req.MaxTokens
	g.JSONSchema = req.JSONSchema
	return c.generate(ctx, routeCompletion, g, onToken)
}

const (
	routeChat       = "/v1/chat/completions"
	routeCompletion = "/completion"
)

// collector accumulates text under the output cap.
type collector struct {
	res     Result
	onToken func(string)
	limit   int
	over    bool
	text    strings.Builder
}

// add appends piece, reporting false when the cap was hit (the part that fits
// is kept and passed to onToken).
func (col *collector) add(piece string) bool {
	if piece == "" {
		return true
	}
	if col.limit >= 0 && col.text.Len()+len(piece) > col.limit {
		n := col.limit - col.text.Len()
		for n > 0 && !utf8.RuneStart(piece[n]) {
			n--
		}
		piece = piece[:n]
		col.over = true
	}
	if piece != "" {
		col.text.WriteString(piece)
		if col.onToken != nil {
			col.onToken(piece)
		}
	}
	return !col.over
}

func (col *collector) result() Result {
	r := col.res
	r.Text = col.text.String()
	return r
}

// wireTimings is llama-server's "timings"; numbers are decoded as float64 to
// tolerate forks that print counts as floats.
type wireTimings struct {
	CacheN      float64 `json:"cache_n"`
	PromptN     float64 `json:"prompt_n"`
	PromptMS    float64 `json:"prompt_ms"`
	PredictedN  float64 `json:"predicted_n"`
	PredictedMS float64 `json:"predicted_ms"`
}

func (t *wireTimings) timings() Timings {
	return Timings{
		CacheN:      int(t.CacheN),
		PromptN:     int(t.PromptN),
		PromptMS:    t.PromptMS,
		PredictedN:  int(t.PredictedN),
		PredictedMS: t.PredictedMS,
	}
}

type wireUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// chatChunk is one chat.completion.chunk, or a non-streamed chat.completion.
type chatChunk struct {
	Error   json.RawMessage `json:"error"`
	Model   string          `json:"model"`
	Choices []struct {
		Delta   chatDelta  `json:"delta"`
		Message *chatDelta `json:"message"` // non-streamed answers
		Finish  *string    `json:"finish_reason"`
	} `json:"choices"`
	Usage   *wireUsage   `json:"usage"`
	Timings *wireTimings `json:"timings"`
}

type chatDelta struct {
	Content          *string `json:"content"`
	ReasoningContent string  `json:"reasoning_content"` // llama-server, vLLM (older)
	Reasoning        string  `json:"reasoning"`         // Ollama, vLLM
}

// completionChunk is one /completion event, or a non-streamed answer.
type completionChunk struct {
	Error        json.RawMessage `json:"error"`
	Content      string          `json:"content"`
	Stop         bool            `json:"stop"`
	Model        string          `json:"model"`
	StopType     string          `json:"stop_type"`     // "eos", "word", "limit" (since early 2025)
	StoppedEOS   bool            `json:"stopped_eos"`   // older builds
	StoppedWord  bool            `json:"stopped_word"`  // older builds
	StoppedLimit bool            `json:"stopped_limit"` // older builds
	Timings      *wireTimings    `json:"timings"`
}

func chatStep(col *collector, data []byte) (bool, *apiError, error) {
	var ch chatChunk
	if err := json.Unmarshal(data, &ch); err != nil {
		return false, nil, err
	}
	if e, ok := parseErrorField(ch.Error); ok {
		return false, &e, nil
	}
	if ch.Model != "" {
		col.res.Model = ch.Model
	}
	if ch.Timings != nil {
		col.res.Timings = ch.Timings.timings()
	} else if ch.Usage != nil && col.res.Timings == (Timings{}) {
		col.res.Timings.PromptN = ch.Usage.PromptTokens
		col.res.Timings.PredictedN = ch.Usage.CompletionTokens
	}
	if len(ch.Choices) == 0 {
		return false, nil, nil
	}
	choice := ch.Choices[0]
	d := choice.Delta
	if choice.Message != nil {
		d = *choice.Message
	}
	col.res.Reasoning += d.ReasoningContent + d.Reasoning
	if d.Content != nil && !col.add(*d.Content) {
		return false, nil, nil
	}
	if choice.Finish != nil && *choice.Finish != "" {
		col.res.FinishReason = *choice.Finish
	}
	return false, nil, nil
}

func completionStep(col *collector, data []byte) (bool, *apiError, error) {
	var ch completionChunk
	if err := json.Unmarshal(data, &ch); err != nil {
		return false, nil, err
	}
	if e, ok := parseErrorField(ch.Error); ok {
		return false, &e, nil
	}
	if ch.Model != "" {
		col.res.Model = ch.Model
	}
	if ch.Timings != nil {
		col.res.Timings = ch.Timings.timings()
	}
	content := ch.Content
	if ch.Stop && content != "" {
		// Streamed final chunks carry "" (the text went out in the partial
		// chunks); some builds repeat the whole text there instead.
		acc := col.text.String()
		switch {
		case content == acc:
			content = ""
		case strings.HasPrefix(content, acc):
			content = content[len(acc):]
		}
	}
	if !col.add(content) {
		return false, nil, nil
	}
	if !ch.Stop {
		return false, nil, nil
	}
	switch {
	case ch.StopType == "limit" || ch.StoppedLimit:
		col.res.FinishReason = "length"
	default:
		col.res.FinishReason = "stop"
	}
	return true, nil, nil
}

// generate posts g to route and reads the answer, streamed or not.
func (c *Client) generate(ctx context.Context, route string, g generation, onToken func(string)) (Result, error) {
	const method = http.MethodPost
	u := c.url(route)
	col := &collector{onToken: onToken, limit: c.limit()}
	step := chatStep
	if route == routeCompletion {
		step = completionStep
	}
	resp, err := c.send(ctx, method, route, g, true)
	var se *ServerError
	if errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusNotImplemented) {
		// Not a generation server at this address (or not this model):
		// asking again cannot help.
		return Result{}, &ConfigError{Endpoint: c.BaseURL, Reason: fmt.Sprintf("POST %s answered %d %s (%s): no llama-server or OpenAI-compatible server serves that route there; check the endpoint, the route (Lobby.pLLM.apiRoute) and the model", route, se.Status, http.StatusText(se.Status), oneLine(se.Message, 120)), Err: err}
	}
	if err != nil {
		return Result{}, err
	}
	// Closing the body on cancellation drops the connection, which is how
	// llama-server learns to stop generating.
	stop := context.AfterFunc(ctx, func() { resp.Body.Close() })
	defer stop()
	finished := false // the stream ended as it should: its connection is kept
	defer func() {
		if finished {
			drain(resp.Body)
		}
		resp.Body.Close()
	}()

	ctxErr := func() error { return fmt.Errorf("llama-server %s %s: %w", method, u, ctx.Err()) }
	garbled := func(line string, err error) error {
		return &ProtocolError{Method: method, URL: u, Line: truncate(line, 120), Err: err}
	}
	limitErr := func() (Result, error) {
		return col.result(), &OutputLimitError{Method: method, URL: u, Limit: col.limit}
	}
	serverErr := func(e *apiError) (Result, error) {
		return col.result(), &ServerError{Status: e.status(), Type: e.Type, Message: e.Message, Method: method, URL: u, MidStream: true}
	}

	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/json" {
		// The server ignored "stream": true and answered in one piece.
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxLine))
		if err != nil {
			if ctx.Err() != nil {
				return col.result(), ctxErr()
			}
			return col.result(), &TruncatedError{Method: method, URL: u, Err: err}
		}
		_, e, err := step(col, b)
		switch {
		case err != nil:
			return Result{}, garbled(string(b), err)
		case e != nil:
			return serverErr(e)
		case col.over:
			return limitErr()
		}
		if col.res.FinishReason == "" {
			col.res.FinishReason = "stop"
		}
		return col.result(), nil
	}

	sse := newSSEReader(resp.Body, maxLine)
	events := 0
	for {
		if ctx.Err() != nil {
			return col.result(), ctxErr()
		}
		ev, err := sse.Next()
		if err != nil {
			if ctx.Err() != nil {
				return col.result(), ctxErr()
			}
			if errors.Is(err, errLineTooLong) {
				return col.result(), garbled(string(sse.line), err)
			}
			if err == io.EOF && route == routeChat && col.res.FinishReason != "" {
				// Finished but no [DONE]: some OpenAI-compatible servers
				// just close the stream.
				return col.result(), nil
			}
			return col.result(), &TruncatedError{Method: method, URL: u, Events: events, Bytes: col.text.Len(), Err: err}
		}
		events++
		data := strings.TrimSpace(ev.Data)
		if data == "[DONE]" {
			finished = true
			return col.result(), nil
		}
		if data == "" {
			continue
		}
		if ev.Event == "error" {
			// "event: error" or old llama-server's "error: {...}" field.
			return serverErr(eventError(data))
		}
		done, e, err := step(col, []byte(data))
		if err != nil {
			return col.result(), garbled("data: "+ev.Data, err)
		}
		if e != nil {
			return serverErr(e)
		}
		if col.over {
			return limitErr()
		}
		if done {
			finished = true
			return col.result(), nil
		}
	}
}

// drain reads what is left of a finished stream (the end of its chunked
// body), so that the connection goes back to the pool instead of being
// closed: every generation would otherwise dial anew. A server that sends
// more, or holds the stream open, gets at most drainLimit bytes and
// drainWait.
func drain(body io.ReadCloser) {
	t := time.AfterFunc(drainWait, func() { body.Close() })
	defer t.Stop()
	_, _ = io.Copy(io.Discard, io.LimitReader(body, drainLimit))
}

const (
	drainLimit = 4 << 10
	drainWait  = 100 * time.Millisecond
)

// eventError reads the data of an error event: an error object, an
// {"error": ...} envelope, or plain text.
func eventError(data string) *apiError {
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal([]byte(data), &env) == nil {
		if e, ok := parseErrorField(env.Error); ok {
			return &e
		}
	}
	var e apiError
	if json.Unmarshal([]byte(data), &e) == nil && e.Message != "" {
		return &e
	}
	return &apiError{Message: data}
}
