package llama

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"batos/llama/llamatest"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// route is one of the two generation routes, so tests run against both.
type route struct {
	name string
	call func(c *Client, ctx context.Context, req Request, onToken func(string)) (Result, error)
	// lead is the number of data events before the first token (chat sends a
	// role chunk first).
	lead int
}

var routes = []route{
	{"chat", func(c *Client, ctx context.Context, req Request, f func(string)) (Result, error) {
		req.Messages = []Message{{Role: "user", Content: "Say hello."}}
		return c.Chat(ctx, req, f)
	}, 1},
	{"completion", func(c *Client, ctx context.Context, req Request, f func(string)) (Result, error) {
		req.Prompt = "Say hello."
		return c.Complete(ctx, req, f)
	}, 0},
}

func TestGenerate(t *testing.T) {
	const text = "Hello there, wide world. How are you today?"
	pieces := llamatest.Pieces(text)
	const utf = "héllo wörld ✓ — naïve café"
	tests := []struct {
		name   string
		reply  llamatest.Reply
		max    int                  // Client.MaxOutputBytes
		text   func(r route) string // expected Result.Text
		finish string
		check  func(t *testing.T, err error)
	}{
		{
			name:   "good stream",
			reply:  llamatest.Reply{Text: text},
			text:   func(route) string { return text },
			finish: "stop",
		},
		{
			name:   "utf-8 in byte chunks",
			reply:  llamatest.Reply{Text: utf, Chunk: 3},
			text:   func(route) string { return utf },
			finish: "stop",
		},
		{
			name:   "pings ignored",
			reply:  llamatest.Reply{Text: text, Pings: true},
			text:   func(route) string { return text },
			finish: "stop",
		},
		{
			name:   "length",
			reply:  llamatest.Reply{Text: text, FinishReason: "length"},
			text:   func(route) string { return text },
			finish: "length",
		},
		{
			name:  "500 with message",
			reply: llamatest.Reply{Status: 500, Message: "boom: out of memory"},
			text:  func(route) string { return "" },
			check: func(t *testing.T, err error) {
				var se *ServerError
				if !errors.As(err, &se) || se.Status != 500 || se.Message != "boom: out of memory" || se.Type != "server_error" || se.MidStream {
					t.Fatalf("err = %#v, want ServerError 500 boom", err)
				}
			},
		},
		{
			name:  "400 context exceeded",
			reply: llamatest.Reply{Status: 400, Message: "request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it"},
			text:  func(route) string { return "" },
			check: func(t *testing.T, err error) {
				var se *ServerError
				if !errors.As(err, &se) || se.Status != 400 || !strings.Contains(err.Error(), "exceeds the available context size") {
					t.Fatalf("err = %v", err)
				}
			},
		},
		{
			name:  "503 loading",
			reply: llamatest.Reply{Status: 503},
			text:  func(route) string { return "" },
			check: func(t *testing.T, err error) {
				var le *LoadingError
				if !errors.As(err, &le) {
					t.Fatalf("err = %v, want LoadingError", err)
				}
			},
		},
		{
			name:  "error mid-stream",
			reply: llamatest.Reply{Text: text, ErrorMidStream: true, Message: "decode failed"},
			text:  func(route) string { return strings.Join(pieces[:len(pieces)/2], "") },
			check: func(t *testing.T, err error) {
				var se *ServerError
				if !errors.As(err, &se) || !se.MidStream || se.Message != "decode failed" || se.Status != 500 {
					t.Fatalf("err = %#v, want mid-stream ServerError", err)
				}
			},
		},
		{
			name:  "cut stream",
			reply: llamatest.Reply{Text: text, CutAfter: 4},
			text: func(r route) string {
				return strings.Join(pieces[:4-r.lead], "")
			},
			check: func(t *testing.T, err error) {
				var te *TruncatedError
				if !errors.As(err, &te) || te.Events != 4 {
					t.Fatalf("err = %#v, want TruncatedError after 4 events", err)
				}
			},
		},
		{
			name:  "output limit",
			reply: llamatest.Reply{Text: strings.Repeat("ab ", 100)},
			max:   20,
			text:  func(route) string { return strings.Repeat("ab ", 100)[:20] },
			check: func(t *testing.T, err error) {
				var le *OutputLimitError
				if !errors.As(err, &le) || le.Limit != 20 {
					t.Fatalf("err = %#v, want OutputLimitError", err)
				}
			},
		},
	}
	for _, r := range routes {
		for _, tc := range tests {
			t.Run(r.name+"/"+tc.name, func(t *testing.T) {
				s := llamatest.New(t, tc.reply)
				c := New(s.URL)
				c.MaxOutputBytes = tc.max
				var got []string
				res, err := r.call(c, testCtx(t), Request{}, func(p string) { got = append(got, p) })
				if tc.check != nil {
					if err == nil {
						t.Fatal("no error")
					}
					if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, s.URL) {
						t.Errorf("error %q is not one line naming the URL", msg)
					}
					tc.check(t, err)
				} else if err != nil {
					t.Fatal(err)
				}
				want := tc.text(r)
				if res.Text != want {
					t.Errorf("Text = %q, want %q", res.Text, want)
				}
				if strings.Join(got, "") != res.Text {
					t.Errorf("onToken pieces %q do not add up to Text %q", got, res.Text)
				}
				for _, p := range got {
					if !utf8.ValidString(p) {
						t.Errorf("piece %q is not valid UTF-8", p)
					}
				}
				if tc.finish != "" {
					if res.FinishReason != tc.finish {
						t.Errorf("FinishReason = %q, want %q", res.FinishReason, tc.finish)
					}
					if tc.reply.Chunk == 0 && !reflect.DeepEqual(got, llamatest.Pieces(want)) {
						t.Errorf("tokens = %q, want %q in order", got, llamatest.Pieces(want))
					}
					if res.Timings.PredictedN != len(got) || res.Timings.PromptN != 3 || res.Timings.PredictedMS <= 0 || res.Timings.PromptMS <= 0 {
						t.Errorf("Timings = %+v", res.Timings)
					}
					if res.Model != "llamatest-1B-Q4_K_M.gguf" {
						t.Errorf("Model = %q", res.Model)
					}
				}
			})
		}
	}
}

func TestTimingsParsed(t *testing.T) {
	tm := &llamatest.Timings{CacheN: 7, PromptN: 58, PromptMS: 23.467, PredictedN: 3, PredictedMS: 40.5}
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			s := llamatest.New(t, llamatest.Reply{Text: "a b c", Timings: tm})
			res, err := r.call(New(s.URL), testCtx(t), Request{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := Timings{CacheN: 7, PromptN: 58, PromptMS: 23.467, PredictedN: 3, PredictedMS: 40.5}
			if res.Timings != want {
				t.Errorf("Timings = %+v, want %+v", res.Timings, want)
			}
		})
	}
}

func TestHealthAndWaitReady(t *testing.T) {
	s := llamatest.New(t)
	s.SetLoading(3)
	c := New(s.URL)
	ctx := testCtx(t)
	err := c.Health(ctx)
	var le *LoadingError
	if !errors.As(err, &le) || le.Message != "Loading model" {
		t.Fatalf("Health while loading = %v, want LoadingError", err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if err := c.Health(ctx); err != nil {
		t.Fatalf("Health after loading: %v", err)
	}
}

func TestWaitReadyGivesUp(t *testing.T) {
	s := llamatest.New(t)
	s.SetLoading(1 << 20)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	err := New(s.URL).WaitReady(ctx)
	var le *LoadingError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &le) {
		t.Fatalf("WaitReady = %v, want deadline exceeded wrapping the LoadingError", err)
	}
}

func TestWaitReadyNoHealthRoute(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if err := New(srv.URL).WaitReady(testCtx(t)); err != nil {
		t.Fatalf("WaitReady on a server without /health = %v, want nil", err)
	}
}

func TestProps(t *testing.T) {
	s := llamatest.New(t)
	s.SetModel("", "/models/qwen.gguf")
	s.SetContext(8192, 4, "{{ messages }}")
	p, err := New(s.URL).Props(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := Props{ModelPath: "/models/qwen.gguf", ContextSize: 8192, ChatTemplate: "{{ messages }}", TotalSlots: 4, BuildInfo: "b6925-llamatest"}
	if p != want {
		t.Errorf("Props = %+v, want %+v", p, want)
	}
}

func TestTokenize(t *testing.T) {
	s := llamatest.New(t)
	got, err := New(s.URL).Tokenize(testCtx(t), "Hello brave new world")
	if err != nil {
		t.Fatal(err)
	}
	if want := llamatest.Tokens("Hello brave new world"); !reflect.DeepEqual(got, want) || len(got) != 4 {
		t.Errorf("Tokenize = %v, want %v", got, want)
	}
	if got, err := New(s.URL).Tokenize(testCtx(t), ""); err != nil || got == nil || len(got) != 0 {
		t.Errorf("Tokenize(\"\") = %v, %v; want empty, nil", got, err)
	}
}

func TestLoRAAdapters(t *testing.T) {
	s := llamatest.New(t)
	s.SetAdapters(llamatest.Adapter{Path: "a.gguf", Scale: 1}, llamatest.Adapter{Path: "b.gguf", Scale: 0.5})
	c := New(s.URL)
	ctx := testCtx(t)
	got, err := c.LoRAAdapters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Adapter{{ID: 0, Path: "a.gguf", Scale: 1}, {ID: 1, Path: "b.gguf", Scale: 0.5}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("LoRAAdapters = %+v, want %+v", got, want)
	}
	if err := c.SetLoRAAdapters(ctx, []LoRA{{ID: 1, Scale: 0.25}}); err != nil {
		t.Fatal(err)
	}
	if a := s.Adapters(); a[0].Scale != 0 || a[1].Scale != 0.25 {
		t.Errorf("server adapters after set = %+v", a)
	}
	var se *ServerError
	if err := c.SetLoRAAdapters(ctx, []LoRA{{ID: 9, Scale: 1}}); !errors.As(err, &se) || se.Status != 400 {
		t.Errorf("SetLoRAAdapters(bad id) = %v, want ServerError 400", err)
	}
}

// TestRequestFields checks what goes on the wire: sampling, lora, grammar,
// json_schema (as json_schema on /completion and response_format on chat),
// messages, the API key.
func TestRequestFields(t *testing.T) {
	s := llamatest.New(t)
	c := New(s.URL)
	c.APIKey = "sekrit"
	ctx := testCtx(t)
	schema := map[string]any{"type": "object", "properties": map[string]any{"n": map[string]any{"type": "integer"}}}
	req := Request{
		Model:       "m",
		Temperature: 0.25,
		TopP:        0.9,
		TopK:        20,
		MaxTokens:   64,
		Seed:        42,
		Stop:        []string{"\n\n"},
		LoRA:        []LoRA{{ID: 0, Scale: 0.5}},
	}
	chat := req
	chat.Messages = []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}}
	chat.JSONSchema = schema
	if _, err := c.Chat(ctx, chat, nil); err != nil {
		t.Fatal(err)
	}
	comp := req
	comp.Prompt = "Once upon"
	comp.Grammar = `root ::= "yes" | "no"`
	comp.Temperature = -1 // greedy
	if _, err := c.Complete(ctx, comp, nil); err != nil {
		t.Fatal(err)
	}
	comp.Grammar = ""
	comp.JSONSchema = schema
	if _, err := c.Complete(ctx, comp, nil); err != nil {
		t.Fatal(err)
	}
	comp.Grammar = "root ::= x"
	if _, err := c.Complete(ctx, comp, nil); err == nil || !strings.Contains(err.Error(), "cannot both be set") {
		t.Errorf("Grammar+JSONSchema: err = %v", err)
	}

	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("server got %d requests, want 3 (the invalid one must not be sent)", len(reqs))
	}
	norm := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	checks := []struct {
		req   int
		field string
		want  string
	}{
		{0, "messages", `[{"content":"Be brief.","role":"system"},{"content":"Hi","role":"user"}]`},
		{0, "stream", `true`},
		{0, "stream_options", `{"include_usage":true}`},
		{0, "model", `"m"`},
		{0, "temperature", `0.25`},
		{0, "top_p", `0.9`},
		{0, "top_k", `20`},
		{0, "max_tokens", `64`},
		{0, "seed", `42`},
		{0, "stop", `["\n\n"]`},
		{0, "lora", `[{"id":0,"scale":0.5}]`},
		{0, "response_format", `{"json_schema":{"name":"output","schema":{"properties":{"n":{"type":"integer"}},"type":"object"}},"type":"json_schema"}`},
		{0, "json_schema", `null`},
		{1, "prompt", `"Once upon"`},
		{1, "n_predict", `64`},
		{1, "max_tokens", `null`},
		{1, "temperature", `0`},
		{1, "grammar", `"root ::= \"yes\" | \"no\""`},
		{1, "lora", `[{"id":0,"scale":0.5}]`},
		{2, "json_schema", `{"properties":{"n":{"type":"integer"}},"type":"object"}`},
		{2, "response_format", `null`},
	}
	for _, ck := range checks {
		if got := norm(reqs[ck.req].Body[ck.field]); got != ck.want {
			t.Errorf("request %d (%s) %q = %s, want %s", ck.req, reqs[ck.req].Path, ck.field, got, ck.want)
		}
	}
	if reqs[0].Path != "/v1/chat/completions" || reqs[1].Path != "/completion" {
		t.Errorf("paths = %s, %s", reqs[0].Path, reqs[1].Path)
	}
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer sekrit" {
		t.Errorf("Authorization = %q", got)
	}
	// No messages still sends "messages": [] (llama-server requires it).
	if _, err := c.Chat(ctx, Request{}, nil); err != nil {
		t.Errorf("Chat with no messages: %v", err)
	}
}

// sseServer serves body verbatim as an event stream.
func sseServer(t *testing.T, body string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGarbledLine(t *testing.T) {
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			srv := sseServer(t, "data: {\"content\":\"ok\",\"stop\":false}\n\ndata: {\"choices\":[{\"delta\": nope"+strings.Repeat("x", 500)+"\n\n")
			_, err := r.call(New(srv.URL), testCtx(t), Request{}, nil)
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want ProtocolError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "POST "+srv.URL) || !strings.Contains(msg, `data: {\"choices\":[{\"delta\": nope`) || len(pe.Line) > 130 || strings.Contains(msg, "\n") {
				t.Errorf("message %q should name the route and the truncated line", msg)
			}
		})
	}
}

func TestCancellationClosesConnection(t *testing.T) {
	words := strings.Repeat("word ", 200)
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			s := llamatest.New(t, llamatest.Reply{Text: words, Delay: 20 * time.Millisecond})
			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()
			n := 0
			start := time.Now()
			res, err := r.call(New(s.URL), ctx, Request{}, func(string) {
				if n++; n == 3 {
					cancel()
				}
			})
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), s.URL) {
				t.Fatalf("err = %v, want context.Canceled naming the URL", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v to return after cancel", d)
			}
			if res.Text != "word word word" {
				t.Errorf("partial Text = %q", res.Text)
			}
			select {
			case <-s.Aborted():
			case <-time.After(3 * time.Second):
				t.Fatal("server never saw the connection close")
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	s := llamatest.New(t, llamatest.Reply{Text: strings.Repeat("x ", 100), Delay: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel()
	_, err := New(s.URL).Chat(ctx, Request{Messages: []Message{{Role: "user", Content: "x"}}}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	select {
	case <-s.Aborted():
	case <-time.After(3 * time.Second):
		t.Fatal("server never saw the connection close")
	}
}

func TestOutputLimitStopsServer(t *testing.T) {
	s := llamatest.New(t, llamatest.Reply{Text: strings.Repeat("ab ", 1000), Delay: time.Millisecond})
	c := New(s.URL)
	c.MaxOutputBytes = 30
	_, err := c.Chat(testCtx(t), Request{Messages: []Message{{Role: "user", Content: "x"}}}, nil)
	var le *OutputLimitError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v", err)
	}
	select {
	case <-s.Aborted():
	case <-time.After(3 * time.Second):
		t.Fatal("server kept streaming after the limit")
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	base := fmt.Sprintf("http://127.0.0.1:%d", addr.Port)
	c := New(base)
	ctx := testCtx(t)
	calls := map[string]func() error{
		"Health": func() error { return c.Health(ctx) },
		"Chat":   func() error { _, err := c.Chat(ctx, Request{}, nil); return err },
		"Props":  func() error { _, err := c.Props(ctx); return err },
	}
	want := fmt.Sprintf(`llama-server at %s is not reachable (connection refused): start one with "llama-server -m MODEL.gguf --port %d" or set BATOS_LLM_URL`, base, addr.Port)
	for name, call := range calls {
		err := call()
		var ue *UnreachableError
		if !errors.As(err, &ue) || ue.URL != base {
			t.Fatalf("%s: err = %v, want UnreachableError", name, err)
		}
		if err.Error() != want {
			t.Errorf("%s: message\n got %s\nwant %s", name, err, want)
		}
	}
}

// TestOpenAICompatible runs Chat against streams shaped like vLLM's and
// Ollama's: no timings, usage in a final chunk with empty choices, no
// [DONE], error objects with string or null codes.
func TestOpenAICompatible(t *testing.T) {
	tests := []struct {
		name, body string
		text       string
		timings    Timings
		err        func(error) bool
	}{
		{
			name: "vllm with usage and done",
			body: `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"qwen","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n" +
				`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"qwen","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}` + "\n\n" +
				`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"qwen","choices":[{"index":0,"delta":{"content":"!"},"logprobs":null,"finish_reason":"stop","stop_reason":null}]}` + "\n\n" +
				`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"qwen","choices":[],"usage":{"prompt_tokens":9,"total_tokens":11,"completion_tokens":2}}` + "\n\n" +
				"data: [DONE]\n\n",
			text:    "Hi!",
			timings: Timings{PromptN: 9, PredictedN: 2},
		},
		{
			name: "ollama crlf, no done after finish",
			body: "data: {\"id\":\"chatcmpl-7\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"llama3\",\"system_fingerprint\":\"fp_ollama\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Yo\"},\"finish_reason\":null}]}\r\n\r\n" +
				"data: {\"id\":\"chatcmpl-7\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"llama3\",\"system_fingerprint\":\"fp_ollama\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":\"stop\"}]}\r\n\r\n",
			text: "Yo",
		},
		{
			name: "ollama error with null code",
			body: "data: {\"error\":{\"message\":\"model crashed\",\"type\":\"api_error\",\"param\":null,\"code\":null}}\n\n",
			err: func(err error) bool {
				var se *ServerError
				return errors.As(err, &se) && se.MidStream && se.Message == "model crashed" && se.Status == 0
			},
		},
		{
			name: "legacy llama-server error field",
			body: "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\nerror: {\"code\":500,\"message\":\"slot unavailable\",\"type\":\"server_error\"}\n\n",
			text: "a",
			err: func(err error) bool {
				var se *ServerError
				return errors.As(err, &se) && se.MidStream && se.Message == "slot unavailable" && se.Status == 500
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := sseServer(t, tc.body)
			res, err := New(srv.URL).Chat(testCtx(t), Request{Messages: []Message{{Role: "user", Content: "hi"}}}, nil)
			if tc.err != nil {
				if !tc.err(err) {
					t.Fatalf("err = %#v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if res.Text != tc.text || res.Timings != tc.timings {
				t.Errorf("Result = %+v", res)
			}
		})
	}
}

func TestHTTPErrorShapes(t *testing.T) {
	tests := []struct {
		name, body, msg string
		status          int
	}{
		{"llama", `{"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}}`, "Invalid API Key", 401},
		{"vllm", `{"object":"error","message":"model not found","type":"NotFoundError","param":null,"code":404}`, "model not found", 404},
		{"ollama", `{"error":"model 'x' not found"}`, "model 'x' not found", 404},
		{"plain", "upstream gone\n", "upstream gone", 502},
		{"empty", "", "Internal Server Error", 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			_, err := New(srv.URL).Chat(testCtx(t), Request{}, nil)
			var se *ServerError
			if !errors.As(err, &se) || se.Status != tc.status || se.Message != tc.msg || se.URL != srv.URL+"/v1/chat/completions" {
				t.Fatalf("err = %#v", err)
			}
		})
	}
}

func TestNonStreamedAnswer(t *testing.T) {
	s := llamatest.New(t, llamatest.Reply{Text: "all at once"})
	// A proxy that drops "stream": the server answers application/json.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		body["stream"] = false
		b, _ := json.Marshal(body)
		resp, err := http.Post(s.URL+r.URL.Path, "application/json", strings.NewReader(string(b)))
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		var out json.RawMessage
		json.NewDecoder(resp.Body).Decode(&out)
		w.Write(out)
	}))
	defer srv.Close()
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			var got []string
			res, err := r.call(New(srv.URL), testCtx(t), Request{}, func(p string) { got = append(got, p) })
			if err != nil {
				t.Fatal(err)
			}
			if res.Text != "all at once" || res.FinishReason != "stop" || res.Timings.PredictedN != 3 || len(got) != 1 {
				t.Errorf("Result = %+v, tokens %q", res, got)
			}
		})
	}
}

// TestConfigErrors: configurations no server can answer fail at once with
// one error that says what to change, not as a model's bad answer.
func TestConfigErrors(t *testing.T) {
	notLlama := httptest.NewServer(http.NotFoundHandler())
	defer notLlama.Close()
	s := llamatest.New(t)
	tests := []struct {
		name, endpoint, want string
		complete             bool
	}{
		{"no scheme", "127.0.0.1:8080", "no http:// or https:// scheme", false},
		{"no host", "http:///models", "no host", false},
		{"doubled /v1", s.URL + "/v1", "leave /v1 out of the endpoint", false},
		{"not llama-server", notLlama.URL, "answered 404 Not Found", false},
		{"not llama-server, /completion", notLlama.URL, "POST /completion answered 404", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New(tc.endpoint)
			var err error
			if tc.complete {
				_, err = c.Complete(testCtx(t), Request{Prompt: "hi"}, nil)
			} else {
				_, err = c.Chat(testCtx(t), Request{Messages: []Message{{Role: "user", Content: "hi"}}}, nil)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want a one-line *ConfigError saying %q", err, tc.want)
			}
		})
	}
	// The same endpoint without /v1 works.
	if _, err := New(s.URL).Chat(testCtx(t), Request{Messages: []Message{{Role: "user", Content: "hi"}}}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestStreamsKeepTheirConnection: a generation whose stream ended as it
// should leaves its connection to the next request, even when the end of
// the body comes a moment after [DONE]; one that holds its stream open
// after [DONE] costs at most drainWait.
func TestStreamsKeepTheirConnection(t *testing.T) {
	for _, hold := range []bool{false, true} {
		var conns atomic.Int32
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}\n\n")
			fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
			fmt.Fprint(w, "data: [DONE]\n\n")
			w.(http.Flusher).Flush()
			if hold {
				<-r.Context().Done()
				return
			}
			// The stream's end comes a moment after [DONE], as
			// llama-server's does once it has released the slot.
			time.Sleep(20 * time.Millisecond)
		}))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		srv.Start()
		c := New(srv.URL)
		c.HTTP = &http.Client{Transport: &http.Transport{}}
		for range 3 {
			start := time.Now()
			res, err := c.Chat(context.Background(), Request{Messages: []Message{{Role: "user", Content: "x"}}}, nil)
			if err != nil || res.Text != "hi" {
				t.Fatalf("hold %v: %q, %v", hold, res.Text, err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Fatalf("hold %v: a generation took %v", hold, took)
			}
		}
		if n := conns.Load(); hold && n != 3 || !hold && n != 1 {
			t.Errorf("hold %v: %d connections for 3 generations", hold, n)
		}
		srv.CloseClientConnections()
		srv.Close()
	}
}

func TestCountTokens(t *testing.T) {
	s := llamatest.New(t)
	c := New(s.URL)
	for _, text := range []string{"Hello brave new world", "", strings.Repeat("a b, [c] \"d\" ", 500)} {
		got, err := c.CountTokens(testCtx(t), text)
		if want := len(llamatest.Tokens(text)); err != nil || got != want {
			t.Errorf("CountTokens(%.20q) = %d, %v; want %d", text, got, err, want)
		}
	}
}

// TestElementCount: an array's elements are counted whatever they hold;
// anything but an array or null is refused.
func TestElementCount(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		ok   bool
	}{
		{`[]`, 0, true},
		{` [ ] `, 0, true},
		{`null`, 0, true},
		{`[1]`, 1, true},
		{`[1, 2 ,3]`, 3, true},
		{`[[], {}, [1,2], {"a":[3,4],"b":"],["}]`, 4, true},
		{`["a,b", "c\"],[", "\\"]`, 3, true},
		{`[{"id": 1, "piece": "x"}, {"id": 2, "piece": ","}]`, 2, true},
		{`{"a": 1}`, 0, false},
		{`"[1,2]"`, 0, false},
		{`7`, 0, false},
	} {
		var n elementCount
		err := json.Unmarshal([]byte(c.in), &n)
		if (err == nil) != c.ok || int(n) != c.want {
			t.Errorf("count %s = %d, %v; want %d (ok %v)", c.in, n, err, c.want, c.ok)
		}
	}
}

// FuzzElementCount: for any JSON array, the count is the length of the
// array decoded in full.
func FuzzElementCount(f *testing.F) {
	for _, seed := range []string{`[]`, `[1,2,3]`, `[[1,[2]],{"a":"]"}]`, `["\\",","]`, `null`, `{"x":[1]}`, `[1,`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var full []any
		fullErr := json.Unmarshal(in, &full)
		var n elementCount
		err := json.Unmarshal(in, &n)
		switch {
		case fullErr == nil && (err != nil || int(n) != len(full)):
			t.Fatalf("%q: counted %d, %v; decoded %d elements", in, n, err, len(full))
		case fullErr != nil && err == nil && !(int(n) == 0 && string(bytes.TrimSpace(in)) == "null"):
			t.Fatalf("%q: counted %d, but it is no array: %v", in, n, fullErr)
		}
	})
}
