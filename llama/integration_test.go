package llama

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestIntegration runs against a real server when BATOS_TEST_LLAMA_URL is set,
// e.g. BATOS_TEST_LLAMA_URL=http://127.0.0.1:8080 after
// "llama-server -m MODEL.gguf --port 8080". Any model works; the checks are
// on shape, not content.
func TestIntegration(t *testing.T) {
	base := os.Getenv("BATOS_TEST_LLAMA_URL")
	if base == "" {
		t.Skip("BATOS_TEST_LLAMA_URL not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := New(base)
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := c.Props(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.ContextSize <= 0 || p.TotalSlots <= 0 {
		t.Errorf("Props = %+v", p)
	}
	t.Logf("props: %+v", p)

	toks, err := c.Tokenize(ctx, "Hello world")
	if err != nil || len(toks) == 0 {
		t.Errorf("Tokenize = %v, %v", toks, err)
	}
	if n, err := c.CountTokens(ctx, "Hello world"); err != nil || n != len(toks) {
		t.Errorf("CountTokens = %d, %v; want %d", n, err, len(toks))
	}

	req := Request{
		Messages:    []Message{{Role: "user", Content: "Count from 1 to 5, separated by spaces."}},
		Temperature: -1,
		MaxTokens:   32,
		Seed:        1,
	}
	var pieces []string
	res, err := c.Chat(ctx, req, func(s string) { pieces = append(pieces, s) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Text == "" || strings.Join(pieces, "") != res.Text || res.FinishReason == "" {
		t.Errorf("Chat = %+v (%d pieces)", res, len(pieces))
	}
	if res.Timings.PredictedN == 0 {
		t.Errorf("no timings or usage: %+v", res.Timings)
	}
	t.Logf("chat: %q %+v", res.Text, res.Timings)

	res, err = c.Complete(ctx, Request{Prompt: "The capital of France is", MaxTokens: 8, Temperature: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Timings.PredictedN == 0 || res.FinishReason == "" {
		t.Errorf("Complete = %+v", res)
	}
	t.Logf("completion: %q %+v", res.Text, res.Timings)

	// Cancelling mid-stream returns promptly.
	cctx, ccancel := context.WithCancel(ctx)
	n := 0
	_, err = c.Chat(cctx, Request{Messages: []Message{{Role: "user", Content: "Write a long story."}}, MaxTokens: 512}, func(string) {
		if n++; n == 3 {
			ccancel()
		}
	})
	ccancel()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Chat = %v", err)
	}

	if _, err := c.LoRAAdapters(ctx); err != nil {
		t.Errorf("LoRAAdapters: %v", err)
	}
}
