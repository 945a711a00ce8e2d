package pllm

import (
	"context"
	"errors"
	"go/token"
	"net/http"
	"strings"

	"batos/llama"
)

// Grammar is the GBNF grammar that constrains a candidate to one fenced
// Go function declaration named selector whose first parameter is self
// Object, optionally preceded by comment lines (doc comments, an install
// directive): what Extract and ParseMethod accept, and nothing a small
// model could wrap around it. No line may hold three backquotes in a row,
// so the closing fence is the only way out and Extract, which ends a
// block at the first fence, gets the whole function. "" when selector is
// not a Go identifier (nothing to constrain to).
func Grammar(selector string) string {
	if !token.IsIdentifier(selector) {
		return ""
	}
	const b = "`"
	fence := b + b + b
	return `root ::= "` + fence + `go\n" doc* "func ` + selector + `(self Object" rest "\n" line* "}\n` + fence + `"
doc ::= "//" rest "\n"
line ::= [^` + b + `\n] rest "\n" | "\n"
rest ::= ([^` + b + `\n] | "` + b + `" [^` + b + `\n] | "` + b + b + `" [^` + b + `\n])* ("` + b + `" | "` + b + b + `")?
`
}

// Constrain modes of Lobby.pLLM.constrain.
const (
	constrainAuto = "auto" // when the server is llama.cpp (its /props has a build_info)
	constrainOn   = "on"
	constrainOff  = "off"
)

func readConstrain(v any) string {
	switch v := v.(type) {
	case bool:
		if v {
			return constrainOn
		}
		return constrainOff
	case string:
		switch strings.ToLower(v) {
		case "on", "true", "always":
			return constrainOn
		case "off", "false", "never":
			return constrainOff
		}
	}
	return constrainAuto
}

// constrained reports whether candidates asked of endpoint are
// constrained by Grammar: Lobby.pLLM.constrain says on, or auto and the
// server is llama.cpp, and the server has not refused a grammar before.
func (p *PLLM) constrained(ctx context.Context, endpoint string, mode string) bool {
	if mode == constrainOff {
		return false
	}
	p.sizes.mu.Lock()
	refused := p.sizes.noGrammar[endpoint]
	p.sizes.mu.Unlock()
	if refused {
		return false
	}
	if mode == constrainOn {
		return true
	}
	return p.isLlamaCpp(ctx, endpoint)
}

// refuseGrammar remembers that endpoint answered a constrained request
// with a client error: it is asked without a grammar from then on.
func (p *PLLM) refuseGrammar(endpoint string) {
	p.sizes.mu.Lock()
	defer p.sizes.mu.Unlock()
	if p.sizes.noGrammar == nil {
		p.sizes.noGrammar = map[string]bool{}
	}
	p.sizes.noGrammar[endpoint] = true
}

// grammarRefused reports whether err is a server's refusal of a request
// for its grammar: a 400 (llama-server: a grammar that does not parse;
// other OpenAI-style servers: an unknown field they validate).
func grammarRefused(err error) bool {
	var se *llama.ServerError
	return errors.As(err, &se) && !se.MidStream && (se.Status == http.StatusBadRequest || se.Status == http.StatusUnprocessableEntity)
}
