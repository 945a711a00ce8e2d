// Package llamatest is an in-process stand-in for llama.cpp's llama-server,
// for tests of code that talks to it over HTTP.
//
// It serves, on a loopback httptest server:
//
//	GET  /health               {"status":"ok"}, or 503 while loading (SetLoading)
//	GET  /props                default_generation_settings (params, n_ctx), total_slots, model_path, chat_template, ...
//	POST /v1/chat/completions  OpenAI chat; SSE when "stream": true
//	POST /completion           llama.cpp native completion; SSE when "stream": true
//	POST /tokenize             {"content": s} -> {"tokens": [...]} (whitespace-ish tokenizer, see Pieces)
//	GET  /lora-adapters        [{"id","path","scale","task_name","prompt_prefix"}]
//	POST /lora-adapters        [{"id","scale"}] -> {"success":true}
//
// # Wire format and where it was copied from
//
// The byte layout is copied from ggml-org/llama.cpp tools/server, as read in
// server-task.cpp at commit 00efb3e184262872916bf136b3df63c1822a19bd
// (result_timings::to_json, task_params::to_json,
// server_task_result_cmpl_partial/final::to_json_*), server-context.cpp
// (handle_completions_impl, get_props, post_tokenize, the lora handlers),
// server-common.cpp (format_oai_sse, format_error_response, safe_json_to_str)
// and server-http.cpp at commit 00dd0816129a5210351c78bb90e0828f8eb69f99
// (headers, the "Loading model" middleware); keep-alive pings come from
// ggml-org/llama.cpp PR #24013 (release b9478). In short:
//
//   - Each event is "data: " + compact JSON + "\n\n" (format_oai_sse); JSON is
//     nlohmann::ordered_json, see json.go for number and string layout.
//   - Streams are Content-Type "text/event-stream", chunked, with
//     "Server: llama.cpp" and "X-Accel-Buffering: no".
//   - Chat: a first chunk with delta {"role":"assistant","content":null}, one
//     chunk per token with delta {"content":...}, a final chunk with
//     finish_reason "stop"/"length" and an empty delta, then (only with
//     stream_options.include_usage) a chunk with "choices":[] and "usage";
//     "timings" is appended to the last of those; then "data: [DONE]\n\n".
//   - /completion: one chunk per token {"index","content","tokens","stop":false,
//     "id_slot":-1,"tokens_predicted","tokens_evaluated"}, then a final chunk
//     with "stop":true, empty content, "model", "generation_settings",
//     "stop_type" ("eos", "word", "limit"), "timings"; no [DONE].
//   - An error before the first token is an ordinary HTTP error:
//     {"error":{"code":N,"message":...,"type":...}} with status N. An error
//     after streaming began is one event "data: {"error":{...}}" and the
//     stream ends without [DONE].
//   - Keep-alive pings are the SSE comment ":" alone (":\n\n").
//
// Byte-for-byte fidelity is checked against streams recorded from real
// llama-server builds in ../testdata (see the llama package's golden test).
// Things not reproduced: httplib's Keep-Alive header, the HTML loading page,
// tool calls, reasoning_content, logprobs, multimodal, slots, /metrics.
//
// # Scripting
//
// New takes a script of Replies; each chat or completion request consumes the
// next one and the last repeats. Requests records every POST for assertions.
package llamatest

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// Reply scripts the server's answer to one chat or completion request.
type Reply struct {
	// Text is the generated text. It is streamed one token (see Pieces) per
	// event unless Chunk is set.
	Text string
	// Chunk, when positive, streams Text in pieces of about Chunk bytes
	// (extended to a UTF-8 boundary) instead of by token.
	Chunk int
	// Status, when neither 0 nor 200, answers with llama-server's error JSON
	// and this HTTP status instead of a stream.
	Status int
	// Message is the error message for Status or ErrorMidStream; a
	// status-dependent llama-server message by default.
	Message string
	// ErrorMidStream streams half of the tokens, then an error event, then
	// ends the stream without [DONE], as llama-server does when a task fails
	// after it started.
	ErrorMidStream bool
	// CutAfter, when positive, drops the connection abruptly (no terminating
	// chunk) after that many data events.
	CutAfter int
	// Delay is slept before every event; the sleep ends early if the client
	// goes away, which is recorded (see Aborted).
	Delay time.Duration
	// Pings sends the keep-alive comment ":" before every data event.
	Pings bool
	// FinishReason is "stop" (default) or "length".
	FinishReason string
	// Timings overrides the timings reported at the end of the stream.
	Timings *Timings
}

// Timings is what llama-server measures; the per-token and per-second fields
// are derived from these exactly as server_slot::get_timings does.
type Timings struct {
	CacheN      int
	PromptN     int
	PromptMS    float64
	PredictedN  int
	PredictedMS float64
}

// Adapter is a LoRA adapter the server pretends to have loaded.
type Adapter struct {
	Path  string
	Scale float64
}

// Request is one POST the server received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Raw    []byte         // the body as sent
	Body   map[string]any // the body decoded with json.Number for numbers; nil if not an object
}

// Server is a scripted llama-server. Its methods are safe for concurrent use.
type Server struct {
	URL string

	srv     *httptest.Server
	aborted chan struct{}

	mu        sync.Mutex
	script    []Reply
	next      int
	loading   int
	alias     string
	path      string
	buildInfo string
	nCtx      int
	slots     int
	template  string
	now       func() time.Time
	newID     func() string
	adapters  []Adapter
	requests  []Request
	ids       int
	respond   func(map[string]any) Reply

	busy atomic.Int64 // nanoseconds spent handling requests (Busy)
}

// Busy is the time the server has spent handling requests, from reading
// each one to its handler's return: what a client waited for the server
// itself, the rest of a round trip being the client's and the network's.
func (s *Server) Busy() time.Duration { return time.Duration(s.busy.Load()) }

// New starts a server that is closed when the test ends. With no script every
// request is answered with "Hello from llamatest."
func New(t testing.TB, script ...Reply) *Server {
	t.Helper()
	s := Start(script...)
	t.Cleanup(s.Close)
	return s
}

// Start is New outside a test: the caller closes the server (a benchmark
// serves from a process of its own, as llama-server does).
func Start(script ...Reply) *Server {
	s := &Server{
		aborted:   make(chan struct{}, 1024),
		script:    script,
		path:      "/models/llamatest-1B-Q4_K_M.gguf",
		buildInfo: "b6925-llamatest",
		nCtx:      4096,
		slots:     1,
		template:  "{% for message in messages %}<|{{ message.role }}|>{{ message.content }}{% endfor %}<|assistant|>",
		now:       time.Now,
	}
	s.newID = s.defaultID
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /props", s.props)
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("POST /completion", s.completion)
	mux.HandleFunc("POST /tokenize", s.tokenize)
	mux.HandleFunc("POST /apply-template", s.applyTemplate)
	mux.HandleFunc("GET /lora-adapters", s.getLoRA)
	mux.HandleFunc("POST /lora-adapters", s.postLoRA)
	s.srv = httptest.NewServer(s.middleware(mux))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down, closing any open streams.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Script replaces the remaining script.
func (s *Server) Script(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script, s.next = replies, 0
}

// SetLoading makes the next n requests, to any route, answer 503 "Loading
// model" as llama-server does before its model is loaded.
func (s *Server) SetLoading(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loading = n
}

// SetModel sets the model alias (reported as "model"; default: the file name
// of path) and the model path reported by /props.
func (s *Server) SetModel(alias, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alias, s.path = alias, path
}

// SetBuildInfo sets the build string sent as system_fingerprint.
func (s *Server) SetBuildInfo(b string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buildInfo = b
}

// SetContext sets n_ctx per slot, the number of slots and the chat template
// reported by /props.
func (s *Server) SetContext(nCtx, slots int, chatTemplate string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nCtx, s.slots, s.template = nCtx, slots, chatTemplate
}

// SetClock sets the clock behind "created".
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetIDs sets the generator of completion ids ("chatcmpl-...").
func (s *Server) SetIDs(newID func() string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.newID = newID
}

// SetAdapters sets the LoRA adapters listed by GET /lora-adapters.
func (s *Server) SetAdapters(a ...Adapter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.adapters = append([]Adapter(nil), a...)
}

// Adapters returns the adapters with their current scales.
func (s *Server) Adapters() []Adapter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Adapter(nil), s.adapters...)
}

// Requests returns the POST requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Aborted receives one value each time a stream ends because the client went
// away (its connection closed or a write failed) before the stream was done.
func (s *Server) Aborted() <-chan struct{} { return s.aborted }

func (s *Server) defaultID() string {
	// gen_chatcmplid: "chatcmpl-" + 32 alphanumerics. Deterministic here.
	s.ids++
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	h := fnv.New64a()
	var b [32]byte
	for i := range b {
		h.Write([]byte{byte(s.ids), byte(i)})
		b[i] = alphabet[h.Sum64()%uint64(len(alphabet))]
	}
	return "chatcmpl-" + string(b[:])
}

// model is the name llama-server reports: the alias, else the file name.
func (s *Server) model() string {
	if s.alias != "" {
		return s.alias
	}
	p := s.path
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		p = p[i+1:]
	}
	return p
}

// Respond makes every later chat or completion request answered by fn,
// given the request's decoded body, instead of the script: a server that
// answers by what it is asked (nil: back to the script).
func (s *Server) Respond(fn func(body map[string]any) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = fn
}

func (s *Server) nextReply(body map[string]any) Reply {
	s.mu.Lock()
	respond := s.respond
	if respond != nil {
		s.mu.Unlock()
		return respond(body)
	}
	defer s.mu.Unlock()
	if len(s.script) == 0 {
		return Reply{Text: "Hello from llamatest."}
	}
	r := s.script[min(s.next, len(s.script)-1)]
	s.next++
	return r
}

// middleware reproduces server-http.cpp's pre-routing handler: CORS origin
// echo, the loading gate, and the default "Server" header; it also records
// POST bodies.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() { s.busy.Add(int64(time.Since(start))) }()
		w.Header().Set("Server", "llama.cpp")
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		if r.Method == http.MethodPost {
			var buf bytes.Buffer
			buf.ReadFrom(r.Body)
			raw := buf.Bytes()
			req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Raw: raw}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			var m map[string]any
			if dec.Decode(&m) == nil {
				req.Body = m
			}
			s.mu.Lock()
			s.requests = append(s.requests, req)
			s.mu.Unlock()
			r.Body = readCloser{bytes.NewReader(raw)}
		}
		s.mu.Lock()
		loading := s.loading > 0
		if loading {
			s.loading--
		}
		s.mu.Unlock()
		if loading {
			// server-http.cpp middleware_server_state: note the member order.
			writeJSON(w, http.StatusServiceUnavailable, object{{"error", object{
				{"message", "Loading model"},
				{"type", "unavailable_error"},
				{"code", 503},
			}}})
			return
		}
		next.ServeHTTP(w, r)
	})
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// writeJSON is server_http_res::ok / error: compact JSON, this content type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(dump(v))
}

// errorType is format_error_response's status to type mapping.
func errorType(status int) (typ, message string) {
	switch status {
	case 400:
		return "invalid_request_error", "Invalid request"
	case 401:
		return "authentication_error", "Invalid API Key"
	case 403:
		return "permission_error", "Permission denied"
	case 404:
		return "not_found_error", "File Not Found"
	case 501:
		return "not_supported_error", "This server does not support this feature"
	case 503:
		return "unavailable_error", "Loading model"
	default:
		return "server_error", "Internal server error"
	}
}

// errorObject is format_error_response(message, type).
func errorObject(status int, message string) object {
	typ, def := errorType(status)
	if message == "" {
		message = def
	}
	return object{{"code", status}, {"message", message}, {"type", typ}}
}

func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, object{{"error", errorObject(status, message)}})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, object{{"status", "ok"}})
}

func (s *Server) props(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	settings := defaultSettings()
	writeJSON(w, http.StatusOK, object{
		{"default_generation_settings", object{
			{"params", settings.toJSON(true)},
			{"n_ctx", s.nCtx},
		}},
		{"total_slots", s.slots},
		{"model_alias", s.alias},
		{"model_path", s.path},
		{"modalities", object{{"vision", false}, {"audio", false}}},
		{"endpoint_slots", true},
		{"endpoint_props", false},
		{"endpoint_metrics", false},
		{"webui", true},
		{"chat_template", s.template},
		{"bos_token", "<s>"},
		{"eos_token", "</s>"},
		{"build_info", s.buildInfo},
	})
}

func (s *Server) tokenize(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Content *string `json:"content"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, 500, "[json.exception.parse_error.101] parse error: "+err.Error())
		return
	}
	tokens := []int{}
	if body.Content != nil {
		tokens = Tokens(*body.Content)
	}
	writeJSON(w, http.StatusOK, object{{"tokens", tokens}})
}

// applyTemplate renders messages with the server's template, which
// llamatest reads as "<|role|>content" per message (its default template's
// output), opening the assistant's turn when add_generation_prompt (true
// by default, as in llama-server).
func (s *Server) applyTemplate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
		AddGenerationPrompt *bool `json:"add_generation_prompt"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, 500, "[json.exception.parse_error.101] parse error: "+err.Error())
		return
	}
	var b strings.Builder
	for _, m := range body.Messages {
		b.WriteString("<|" + m.Role + "|>" + m.Content)
	}
	if body.AddGenerationPrompt == nil || *body.AddGenerationPrompt {
		b.WriteString("<|assistant|>")
	}
	writeJSON(w, http.StatusOK, object{{"prompt", b.String()}})
}

func (s *Server) getLoRA(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := []object{}
	for i, a := range s.adapters {
		list = append(list, object{
			{"id", i},
			{"path", a.Path},
			{"scale", f32(a.Scale)},
			{"task_name", ""},
			{"prompt_prefix", ""},
		})
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) postLoRA(w http.ResponseWriter, r *http.Request) {
	var body []struct {
		ID    *int     `json:"id"`
		Scale *float64 `json:"scale"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, 400, "Request body must be an array")
		return
	}
	s.mu.Lock()
	// parse_lora_request: adapters not mentioned get scale 0.
	scales := make([]float64, len(s.adapters))
	bad := false
	for _, e := range body {
		if e.ID == nil || *e.ID < 0 || *e.ID >= len(s.adapters) {
			bad = true
			break
		}
		if e.Scale != nil {
			scales[*e.ID] = *e.Scale
		}
	}
	if !bad {
		for i := range s.adapters {
			s.adapters[i].Scale = scales[i]
		}
	}
	s.mu.Unlock()
	if bad {
		writeError(w, 400, "invalid adapter id")
		return
	}
	writeJSON(w, http.StatusOK, object{{"success", true}})
}

// Pieces splits text the way this server "tokenizes" it: each piece is a run
// of whitespace followed by a run of non-whitespace (" word"), so joining the
// pieces gives text back.
func Pieces(text string) []string {
	var out []string
	start := 0
	inWord := false
	for i, r := range text {
		space := unicode.IsSpace(r)
		if space && inWord {
			out = append(out, text[start:i])
			start = i
		}
		inWord = !space
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// TokenID is the id this server gives a piece.
func TokenID(piece string) int {
	h := fnv.New32a()
	h.Write([]byte(piece))
	return int(h.Sum32()%32000) + 3
}

// Tokens is what POST /tokenize returns for text.
func Tokens(text string) []int {
	out := []int{}
	for _, p := range Pieces(text) {
		out = append(out, TokenID(p))
	}
	return out
}

// split cuts text into stream pieces: by token, or by about chunk bytes on
// UTF-8 boundaries (llama-server never sends a partial character).
func split(text string, chunk int) []string {
	if chunk <= 0 {
		return Pieces(text)
	}
	var out []string
	for len(text) > 0 {
		n := min(chunk, len(text))
		for n < len(text) && !utf8.RuneStart(text[n]) {
			n++
		}
		out = append(out, text[:n])
		text = text[n:]
	}
	return out
}

// timingsJSON is result_timings::to_json with server_slot::get_timings's
// derived fields.
func (t Timings) toJSON() object {
	return object{
		{"cache_n", t.CacheN},
		{"prompt_n", t.PromptN},
		{"prompt_ms", t.PromptMS},
		{"prompt_per_token_ms", t.PromptMS / float64(t.PromptN)},
		{"prompt_per_second", 1e3 / t.PromptMS * float64(t.PromptN)},
		{"predicted_n", t.PredictedN},
		{"predicted_ms", t.PredictedMS},
		{"predicted_per_token_ms", t.PredictedMS / float64(t.PredictedN)},
		{"predicted_per_second", 1e3 / t.PredictedMS * float64(t.PredictedN)},
	}
}

func (rep Reply) timings(promptN, predictedN int) Timings {
	if rep.Timings != nil {
		return *rep.Timings
	}
	return Timings{
		PromptN:     promptN,
		PromptMS:    float64(promptN) * 0.25,
		PredictedN:  predictedN,
		PredictedMS: float64(predictedN) * 12.5,
	}
}

// stream writes SSE events for one request and records client aborts.
type stream struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	rep    Reply
	events int
	done   bool
}

func (s *Server) startStream(w http.ResponseWriter, r *http.Request, rep Reply) *stream {
	// server-http.cpp process_handler_response for a streamed response.
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &stream{s: s, w: w, r: r, rep: rep}
}

// raw writes frame after the scripted delay; false if the client went away.
func (st *stream) raw(frame string) bool {
	if st.rep.Delay > 0 {
		t := time.NewTimer(st.rep.Delay)
		select {
		case <-t.C:
		case <-st.r.Context().Done():
			t.Stop()
			st.abort()
			return false
		}
	}
	if _, err := st.w.Write([]byte(frame)); err != nil {
		st.abort()
		return false
	}
	http.NewResponseController(st.w).Flush()
	return true
}

// event sends one "data:" event (with a ping first if scripted) and applies
// CutAfter.
func (st *stream) event(data []byte) bool {
	if st.rep.Pings && !st.raw(":\n\n") {
		return false
	}
	if !st.raw("data: " + string(data) + "\n\n") {
		return false
	}
	st.events++
	if st.rep.CutAfter > 0 && st.events >= st.rep.CutAfter {
		// Drop the connection without the terminating chunk.
		panic(http.ErrAbortHandler)
	}
	return true
}

func (st *stream) abort() {
	if st.done {
		return
	}
	st.done = true
	select {
	case st.s.aborted <- struct{}{}:
	default:
	}
}

func (rep Reply) midStreamError() []byte {
	status := rep.Status
	if status == 0 || status == 200 {
		status = 500
	}
	return dump(object{{"error", errorObject(status, rep.Message)}})
}

func decodeBody(r *http.Request) (map[string]any, error) {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	var m map[string]any
	err := dec.Decode(&m)
	return m, err
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	body, err := decodeBody(r)
	if err != nil {
		writeError(w, 500, "[json.exception.parse_error.101] parse error: "+err.Error())
		return
	}
	msgs, ok := body["messages"].([]any)
	if !ok {
		writeError(w, 400, "'messages' is required")
		return
	}
	rep := s.nextReply(body)
	if rep.Status != 0 && rep.Status != 200 && !rep.ErrorMidStream {
		writeError(w, rep.Status, rep.Message)
		return
	}
	var prompt strings.Builder
	for _, m := range msgs {
		if m, ok := m.(map[string]any); ok {
			if c, ok := m["content"].(string); ok {
				prompt.WriteString(c)
			}
		}
	}
	promptN := len(Pieces(prompt.String())) + 1
	pieces := split(rep.Text, rep.Chunk)

	s.mu.Lock()
	id, created, model, fp := s.newID(), s.now().Unix(), s.model(), s.buildInfo
	s.mu.Unlock()
	finish := rep.FinishReason
	if finish == "" {
		finish = "stop"
	}
	timings := rep.timings(promptN, len(pieces))
	chunk := func(choices any, extra ...kv) []byte {
		o := object{
			{"choices", choices},
			{"created", created},
			{"id", id},
			{"model", model},
			{"system_fingerprint", fp},
			{"object", "chat.completion.chunk"},
		}
		return dump(append(o, extra...))
	}
	delta := func(d object) []any {
		return []any{object{{"finish_reason", nil}, {"index", 0}, {"delta", d}}}
	}

	if b, _ := body["stream"].(bool); !b {
		writeJSON(w, http.StatusOK, object{
			{"choices", []any{object{
				{"finish_reason", finish},
				{"index", 0},
				{"message", object{{"role", "assistant"}, {"content", rep.Text}}},
			}}},
			{"created", created},
			{"model", model},
			{"system_fingerprint", fp},
			{"object", "chat.completion"},
			{"usage", object{
				{"completion_tokens", len(pieces)},
				{"prompt_tokens", promptN},
				{"total_tokens", len(pieces) + promptN},
			}},
			{"id", id},
			{"timings", timings.toJSON()},
		})
		return
	}
	includeUsage := false
	if so, ok := body["stream_options"].(map[string]any); ok {
		includeUsage, _ = so["include_usage"].(bool)
	}

	st := s.startStream(w, r, rep)
	limit := len(pieces)
	if rep.ErrorMidStream {
		limit = len(pieces) / 2
	}
	for i, p := range pieces[:limit] {
		if i == 0 && !st.event(chunk(delta(object{{"role", "assistant"}, {"content", nil}}))) {
			return
		}
		if !st.event(chunk(delta(object{{"content", p}}))) {
			return
		}
	}
	if rep.ErrorMidStream {
		st.event(rep.midStreamError())
		st.done = true
		return
	}
	final := []any{object{{"finish_reason", finish}, {"index", 0}, {"delta", object{}}}}
	if !includeUsage {
		if !st.event(chunk(final, kv{"timings", timings.toJSON()})) {
			return
		}
	} else {
		if !st.event(chunk(final)) {
			return
		}
		usage := object{
			{"completion_tokens", len(pieces)},
			{"prompt_tokens", promptN},
			{"total_tokens", len(pieces) + promptN},
		}
		if !st.event(chunk([]any{}, kv{"usage", usage}, kv{"timings", timings.toJSON()})) {
			return
		}
	}
	if st.raw("data: [DONE]\n\n") {
		st.done = true
	}
}

func (s *Server) completion(w http.ResponseWriter, r *http.Request) {
	body, err := decodeBody(r)
	if err != nil {
		writeError(w, 500, "[json.exception.parse_error.101] parse error: "+err.Error())
		return
	}
	prompt, ok := body["prompt"].(string)
	if !ok {
		writeError(w, 400, `"prompt" must be a string`)
		return
	}
	rep := s.nextReply(body)
	if rep.Status != 0 && rep.Status != 200 && !rep.ErrorMidStream {
		writeError(w, rep.Status, rep.Message)
		return
	}
	promptN := len(Pieces(prompt)) + 1
	pieces := split(rep.Text, rep.Chunk)
	s.mu.Lock()
	model := s.model()
	s.mu.Unlock()
	stopType := "eos"
	if rep.FinishReason == "length" {
		stopType = "limit"
	}
	timings := rep.timings(promptN, len(pieces))
	stream, _ := body["stream"].(bool)
	final := func(content string, tokens []int) []byte {
		settings := defaultSettings()
		settings.apply(body)
		settings.stream = stream
		return dump(object{
			{"index", 0},
			{"content", content},
			{"tokens", tokens},
			{"id_slot", 0},
			{"stop", true},
			{"model", model},
			{"tokens_predicted", len(pieces)},
			{"tokens_evaluated", promptN},
			{"generation_settings", settings.toJSON(false)},
			{"prompt", "<s> " + prompt},
			{"has_new_line", strings.Contains(rep.Text, "\n")},
			{"truncated", false},
			{"stop_type", stopType},
			{"stopping_word", ""},
			{"tokens_cached", promptN + len(pieces)},
			{"timings", timings.toJSON()},
		})
	}
	if !stream {
		tokens := []int{}
		for _, p := range pieces {
			tokens = append(tokens, TokenID(p))
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write(final(rep.Text, tokens))
		return
	}
	st := s.startStream(w, r, rep)
	limit := len(pieces)
	if rep.ErrorMidStream {
		limit = len(pieces) / 2
	}
	for i, p := range pieces[:limit] {
		ev := dump(object{
			{"index", 0},
			{"content", p},
			{"tokens", []int{TokenID(p)}},
			{"stop", false},
			{"id_slot", -1},
			{"tokens_predicted", i + 1},
			{"tokens_evaluated", promptN},
		})
		if !st.event(ev) {
			return
		}
	}
	if rep.ErrorMidStream {
		st.event(rep.midStreamError())
		st.done = true
		return
	}
	if st.event(final("", []int{})) {
		st.done = true
	}
}
