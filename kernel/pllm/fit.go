package pllm

import (
	"context"
	"sync"
	"time"
)

// contextSizes caches each endpoint's context size (GET /props), 0 when
// the server does not say (servers other than llama-server).
// serverFacts is what the pLLM learnt about each endpoint, once per
// process: its context size, whether it is llama.cpp, and whether it
// refused a grammar.
type serverFacts struct {
	mu        sync.Mutex
	m         map[string]int // context size per slot
	llamaCpp  map[string]bool
	noGrammar map[string]bool
}

// fitPrompt keeps the rendered prompt inside the endpoint's context window,
// leaving room for the answer: it measures with /tokenize and drops the
// existing methods, then the slots, from the mandate until it fits. A
// server that cannot tell leaves the prompt as it is.
func (p *PLLM) fitPrompt(ctx context.Context, endpoint string, m mandate, cfg config) string {
	prompt := m.render(cfg.template)
	nctx := p.contextSize(ctx, endpoint)
	if nctx <= 0 {
		return prompt
	}
	room := nctx - answerBudget(cfg)
	cl := p.client(endpoint)
	for _, shrink := range []func(){
		func() { m.Methods = "(omitted to fit the model's context)\n" },
		func() { m.Slots = "(omitted to fit the model's context)\n" },
	} {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		toks, err := cl.Tokenize(tctx, prompt)
		cancel()
		if err != nil || len(toks) <= room {
			return prompt
		}
		shrink()
		prompt = m.render(cfg.template)
	}
	return prompt
}

func answerBudget(cfg config) int {
	if n, ok := cfg.sampling["max_tokens"].(int); ok && n > 0 {
		return n
	}
	return 1024
}

func (p *PLLM) contextSize(ctx context.Context, endpoint string) int {
	p.sizes.mu.Lock()
	n, ok := p.sizes.m[endpoint]
	p.sizes.mu.Unlock()
	if ok {
		return n
	}
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	props, err := p.client(endpoint).Props(tctx)
	if err != nil {
		return 0 // unknown; asked again next time
	}
	p.sizes.mu.Lock()
	if p.sizes.m == nil {
		p.sizes.m = map[string]int{}
	}
	p.sizes.m[endpoint] = props.ContextSize
	p.sizes.mu.Unlock()
	return props.ContextSize
}
