package llama

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"batos/llama/llamatest"
)

// The files in testdata are real llama-server output (see testdata/README.md).
// These tests check that llamatest reproduces them byte for byte when given
// the same inputs, and that the client reads them.

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rawStream posts body to the server and returns the response bytes.
func rawStream(t *testing.T, url, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestGoldenChatTail(t *testing.T) {
	recorded := readTestdata(t, "llama-server-b6925-chat-tail.sse")
	s := llamatest.New(t, llamatest.Reply{
		Text:    "!",
		Timings: &llamatest.Timings{CacheN: 89, PromptN: 58, PromptMS: 23.467, PredictedN: 2188, PredictedMS: 13095.01},
	})
	s.SetModel("gpt-oss", "/models/gpt-oss-20b.gguf")
	s.SetBuildInfo("b6925-cd5e3b575")
	s.SetClock(func() time.Time { return time.Unix(1762670015, 0) })
	s.SetIDs(func() string { return "chatcmpl-mHDb1kfAQIhcvp8kkPeWJsO8gpTIUA3a" })

	resp, got := rawStream(t, s.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"stream":true}`)
	for k, want := range map[string]string{
		"Content-Type":      "text/event-stream",
		"Server":            "llama.cpp",
		"X-Accel-Buffering": "no",
		"Transfer-Encoding": "",
	} {
		if k == "Transfer-Encoding" {
			if !reflect.DeepEqual(resp.TransferEncoding, []string{"chunked"}) {
				t.Errorf("Transfer-Encoding = %v, want chunked", resp.TransferEncoding)
			}
			continue
		}
		if v := resp.Header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	// llamatest sends the role chunk first (the recording starts later) and
	// "[DONE]\n\n" (the recording stops after its first "\n").
	role := `data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1762670015,"id":"chatcmpl-mHDb1kfAQIhcvp8kkPeWJsO8gpTIUA3a","model":"gpt-oss","system_fingerprint":"b6925-cd5e3b575","object":"chat.completion.chunk"}` + "\n\n"
	if want := role + recorded + "\n"; got != want {
		t.Errorf("llamatest stream differs from llama-server b6925:\n got %q\nwant %q", got, want)
	}

	// The client reads the recording.
	srv := sseServer(t, recorded)
	var toks []string
	res, err := New(srv.URL).Chat(testCtx(t), Request{}, func(p string) { toks = append(toks, p) })
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Text: "!", FinishReason: "stop", Model: "gpt-oss",
		Timings: Timings{CacheN: 89, PromptN: 58, PromptMS: 23.467, PredictedN: 2188, PredictedMS: 13095.01}}
	if res != want || len(toks) != 1 {
		t.Errorf("Result = %+v, want %+v", res, want)
	}
}

var pingRun = regexp.MustCompile(`(:\n\n)+`)

func TestGoldenPingsHead(t *testing.T) {
	recorded := readTestdata(t, "llama-server-b9465-chat-pings-head.sse")
	s := llamatest.New(t, llamatest.Reply{Text: "Hi", Pings: true})
	s.SetModel("Qwen3.6-27B-Q4_0.gguf", "/m/Qwen3.6-27B-Q4_0.gguf")
	s.SetBuildInfo("b9465-23e6dab86")
	s.SetClock(func() time.Time { return time.Unix(1780390177, 0) })
	s.SetIDs(func() string { return "chatcmpl-uI7JNfldkYifvjYLehw5OnRid3v0JxBC" })
	_, got := rawStream(t, s.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"stream":true}`)
	// Real pings come when the stream is idle; llamatest sends one before
	// every event. Compare with runs of pings collapsed.
	want := pingRun.ReplaceAllString(recorded, ":\n\n")
	if !strings.HasPrefix(got, want) {
		t.Errorf("llamatest stream does not start like llama-server b9465:\n got %q\nwant %q...", got[:min(len(got), len(want))], want)
	}

	// The client skips the pings and reports the cut recording as truncated.
	srv := sseServer(t, recorded)
	res, err := New(srv.URL).Chat(testCtx(t), Request{}, nil)
	var te *TruncatedError
	if !errors.As(err, &te) || te.Events != 1 || res.Text != "" || res.Model != "Qwen3.6-27B-Q4_0.gguf" {
		t.Errorf("Chat(recording) = %+v, %v", res, err)
	}
}

func TestGoldenCompletionPartialShape(t *testing.T) {
	recorded := strings.TrimSpace(readTestdata(t, "llama-server-completion-partial.json"))
	s := llamatest.New(t, llamatest.Reply{Text: " are"})
	_, got := rawStream(t, s.URL+"/completion", `{"prompt":"How","stream":true}`)
	first, _, _ := strings.Cut(strings.TrimPrefix(got, "data: "), "\n\n")
	if k1, k2 := keys(t, first), keys(t, recorded); !reflect.DeepEqual(k1, k2) {
		t.Errorf("llamatest /completion chunk members %v, llama-server %v", k1, k2)
	}
	if !strings.HasSuffix(got, "\n\n") || strings.Contains(got, "[DONE]") {
		t.Errorf("/completion stream must end after the stop chunk, without [DONE]: %q", got)
	}
}

// keys lists the members of a JSON object in order.
func keys(t *testing.T, obj string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", obj)
	}
	var out []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestGoldenTimingsDoubles(t *testing.T) {
	recorded := strings.TrimSpace(readTestdata(t, "llama-server-b9020-timings.json"))
	s := llamatest.New(t, llamatest.Reply{Text: "x", Timings: &llamatest.Timings{PromptN: 20, PromptMS: 148.2, PredictedN: 81, PredictedMS: 2025.561}})
	_, got := rawStream(t, s.URL+"/completion", `{"prompt":"p","stream":true}`)
	if !bytes.Contains([]byte(got), []byte(`"timings":`+recorded+"}")) {
		t.Errorf("timings not reproduced byte for byte:\n got %s\nwant %s", got, recorded)
	}
}
