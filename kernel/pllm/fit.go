package pllm

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"batos/llama"
)

// serverFacts is what the pLLM learnt about each endpoint, once per
// process: its /props (nothing when it answered something else: servers
// other than llama-server), and whether it refused a grammar.
type serverFacts struct {
	mu        sync.Mutex
	props     map[string]serverProps
	noGrammar map[string]bool
}

type serverProps struct {
	llama.Props
	ok bool // the server answered /props
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
	if len(prompt)+templateTokens <= room {
		// Every token of a llama.cpp vocabulary stands for at least one
		// byte of the text, so this prompt fits without asking: one
		// round trip less per generation.
		return prompt
	}
	cl := p.client(endpoint)
	for _, shrink := range []func(){
		func() { m.Methods = "(omitted to fit the model's context)\n" },
		func() { m.Slots = "(omitted to fit the model's context)\n" },
	} {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := cl.CountTokens(tctx, prompt)
		cancel()
		if err != nil || n <= room {
			return prompt
		}
		shrink()
		prompt = m.render(cfg.template)
	}
	return prompt
}

// sharedEndpoint returns the endpoint every persona uses, when they share
// one.
func (cfg config) sharedEndpoint() (string, bool) {
	ep := ""
	for _, per := range cfg.personas {
		if ep != "" && per.endpoint != ep {
			return "", false
		}
		ep = per.endpoint
	}
	return ep, ep != ""
}

// templateTokens bounds the tokens a chat template adds around the
// messages (roles, turn markers, the system prompt's frame).
const templateTokens = 256

func answerBudget(cfg config) int {
	if n, ok := cfg.sampling["max_tokens"].(int); ok && n > 0 {
		return n
	}
	return 1024
}

// contextSize is endpoint's context size per slot, 0 when it does not
// say.
func (p *PLLM) contextSize(ctx context.Context, endpoint string) int {
	props, _ := p.props(ctx, endpoint)
	return props.ContextSize
}

// isLlamaCpp reports whether endpoint is a llama-server: its /props says
// which build it is.
func (p *PLLM) isLlamaCpp(ctx context.Context, endpoint string) bool {
	props, ok := p.props(ctx, endpoint)
	return ok && props.BuildInfo != ""
}

// props asks endpoint's GET /props once per process; a server that has
// no /props (404, 405, 501) is remembered as having none, while no
// answer (down, still loading, slow) is asked again next time.
func (p *PLLM) props(ctx context.Context, endpoint string) (llama.Props, bool) {
	p.sizes.mu.Lock()
	known, ok := p.sizes.props[endpoint]
	p.sizes.mu.Unlock()
	if ok {
		return known.Props, known.ok
	}
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	props, err := p.client(endpoint).Props(tctx)
	var answered *llama.ServerError
	if err != nil && !(errors.As(err, &answered) && (answered.Status == http.StatusNotFound || answered.Status == http.StatusMethodNotAllowed || answered.Status == http.StatusNotImplemented)) {
		return llama.Props{}, false // no answer yet (down, loading, slow)
	}
	p.sizes.mu.Lock()
	if p.sizes.props == nil {
		p.sizes.props = map[string]serverProps{}
	}
	p.sizes.props[endpoint] = serverProps{Props: props, ok: err == nil}
	p.sizes.mu.Unlock()
	return props, err == nil
}
