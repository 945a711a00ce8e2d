// Package entropy computes the Composite Entropy Metric (CEM) from the
// image's own records, the measure the seed's entropic imperative steers
// by:
//
//	CEM = w_rel·H_rel + w_cog·H_cog + w_sol·H_sol + w_struc·H_struc
//
// each component in 0..1 over a window of the newest generation records
// (Lobby.pLLM.generations):
//
//   - H_cog, cognitive diversity: the evenness of persona use, Shannon
//     entropy of the personas' shares of consultations divided by the log
//     of the persona count (Pielou's J = H / ln N).
//   - H_sol, solution novelty: for each accepted method after the first,
//     the mean distance to its k nearest earlier accepted methods (novelty
//     search), distance 1 − Jaccard similarity of normalised token
//     3-shingles. Only methods that passed validation count.
//   - H_struc, structural complexity: the spread of behaviour — methods,
//     objects with behaviour, delegation edges reachable from the Lobby —
//     each log-scaled against a scale in the image, averaged.
//   - H_rel, relevance: the share of validated candidates that were
//     accepted and kept (the method is still in the image).
//
// Kept apart from CEM, routing confidence: the mean, per generation, of
// the normalised entropy of the router's own distribution (the softmax of
// the scores it gave every persona, recorded by the pLLM).
//
// The functions over plain records (Cognitive, Novelty, Structural,
// Relevance, Compute) are the definition; Measure reads the records from
// an image and Record keeps a bounded time series in Lobby.entropy.series.
package entropy

import (
	"go/scanner"
	"go/token"
	"math"
	"sort"
	"strings"
)

// Generation is one generation record, as the metric sees it.
type Generation struct {
	// Personas are the personas the router consulted.
	Personas   []string
	Candidates []Candidate
	// Routing is the normalised entropy of the router's own distribution
	// for this generation, when the router gave scores (HasRouting).
	Routing    float64
	HasRouting bool
}

// Candidate is one persona's answer to a generation.
type Candidate struct {
	Persona string
	// Outcome is the pipeline's: "accepted", "failed" (did not pass
	// validation), "not needed" (not tried: an earlier one passed).
	Outcome string
	Source  string
	// Kept: an accepted method is still installed (not reverted).
	Kept bool
}

// Structure counts the image's behaviour.
type Structure struct {
	Methods  int // method slots
	Behaving int // objects with at least one method
	Edges    int // parent (delegation) slots
}

// Weights weigh the components; the defaults are DefaultWeights.
type Weights struct{ Rel, Cog, Sol, Struc float64 }

// DefaultWeights are the design's: relevance first.
var DefaultWeights = Weights{Rel: 0.5, Cog: 0.25, Sol: 0.2, Struc: 0.05}

// DefaultScale is where each structure count reaches 1 (log-scaled).
var DefaultScale = Structure{Methods: 1000, Behaving: 200, Edges: 400}

// Reading is the metric at one moment.
type Reading struct {
	Rel, Cog, Sol, Struc, CEM float64
	// Generations is how many records the window held.
	Generations int
	// Routing is the mean entropy of the router's distribution per call
	// (routing confidence: high when it could hardly choose), over the
	// Routed generations that recorded one. Kept apart from CEM.
	Routing float64
	Routed  int
	// Uses counts the consultations of each persona in the window: what
	// H_cog measures the evenness of.
	Uses map[string]int
}

// Cognitive is Pielou's evenness of persona use: −Σ pᵢ ln pᵢ / ln N over
// the share pᵢ of consultations that went to persona i, N the number of
// personas configured. With no consultation, or fewer than two personas
// (evenness is undefined: there is no choice to spread), it is 0.
func Cognitive(gens []Generation, personas int) float64 {
	if personas < 2 {
		return 0
	}
	counts := map[string]int{}
	total := 0
	for _, g := range gens {
		for _, p := range g.Personas {
			counts[p]++
			total++
		}
	}
	if total == 0 {
		return 0
	}
	h := 0.0
	for _, c := range counts {
		p := float64(c) / float64(total)
		h -= p * math.Log(p)
	}
	return clamp(h / math.Log(float64(personas)))
}

// Novelty is the mean novelty of the accepted methods after the first:
// each one's mean distance to its k nearest earlier ones. Fewer than two
// methods give 0: novelty needs something to differ from.
func Novelty(sources []string, k int) float64 {
	if k < 1 {
		k = 1
	}
	if len(sources) < 2 {
		return 0
	}
	shingles := make([]map[string]bool, len(sources))
	for i, s := range sources {
		shingles[i] = Shingles(s)
	}
	sum := 0.0
	for i := 1; i < len(sources); i++ {
		d := make([]float64, i)
		for j := range i {
			d[j] = 1 - jaccard(shingles[i], shingles[j])
		}
		sort.Float64s(d)
		n := min(k, len(d))
		mean := 0.0
		for _, x := range d[:n] {
			mean += x
		}
		sum += mean / float64(n)
	}
	return clamp(sum / float64(len(sources)-1))
}

// Shingles returns src's token 3-shingles. Tokens, not characters or the
// AST: whitespace, comments and formatting do not count; literals count
// by kind (one constant changed is the same solution); the declared name
// does not count (the same body under another selector is no novelty);
// other identifiers count, since calling other methods is a different
// solution. A source of fewer than three tokens is one shingle.
func Shingles(src string) map[string]bool {
	var s scanner.Scanner
	fset := token.NewFileSet()
	s.Init(fset.AddFile("", -1, len(src)), []byte(src), func(token.Position, string) {}, 0)
	var toks []string
	afterFunc := false
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		var t string
		switch {
		case tok == token.SEMICOLON && lit == "\n":
			continue
		case tok.IsLiteral() && tok != token.IDENT:
			t = tok.String()
		case tok == token.IDENT && afterFunc:
			t = "NAME"
		case tok == token.IDENT:
			t = lit
		default:
			t = tok.String()
		}
		afterFunc = tok == token.FUNC
		toks = append(toks, t)
	}
	out := map[string]bool{}
	if len(toks) < 3 {
		out[strings.Join(toks, " ")] = true
		return out
	}
	for i := 0; i+3 <= len(toks); i++ {
		out[toks[i]+" "+toks[i+1]+" "+toks[i+2]] = true
	}
	return out
}

func jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	inter := 0
	for s := range a {
		if b[s] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// Structural is the mean of each count's ln(1+x)/ln(1+scale), each capped
// at 1.
func Structural(s, scale Structure) float64 {
	norm := func(x, cap int) float64 {
		if x <= 0 || cap <= 0 {
			return 0
		}
		return clamp(math.Log1p(float64(x)) / math.Log1p(float64(cap)))
	}
	return (norm(s.Methods, scale.Methods) + norm(s.Behaving, scale.Behaving) + norm(s.Edges, scale.Edges)) / 3
}

// Relevance is the share of validated candidates (accepted or failed; a
// candidate not needed was never judged) that were accepted and kept.
// With none, it is 0.
func Relevance(gens []Generation) float64 {
	judged, kept := 0, 0
	for _, g := range gens {
		for _, c := range g.Candidates {
			switch c.Outcome {
			case "accepted":
				judged++
				if c.Kept {
					kept++
				}
			case "failed":
				judged++
			}
		}
	}
	if judged == 0 {
		return 0
	}
	return float64(kept) / float64(judged)
}

// Compute is the metric of a window of generations (oldest first) over an
// image of the given structure.
func Compute(gens []Generation, personas int, s Structure, w Weights, scale Structure, k int) Reading {
	var accepted []string
	for _, g := range gens {
		for _, c := range g.Candidates {
			if c.Outcome == "accepted" && c.Source != "" {
				accepted = append(accepted, c.Source)
			}
		}
	}
	r := Reading{
		Rel:         Relevance(gens),
		Cog:         Cognitive(gens, personas),
		Sol:         Novelty(accepted, k),
		Struc:       Structural(s, scale),
		Generations: len(gens),
		Uses:        map[string]int{},
	}
	for _, g := range gens {
		for _, p := range g.Personas {
			r.Uses[p]++
		}
	}
	r.CEM = w.Rel*r.Rel + w.Cog*r.Cog + w.Sol*r.Sol + w.Struc*r.Struc
	for _, g := range gens {
		if g.HasRouting {
			r.Routing += g.Routing
			r.Routed++
		}
	}
	if r.Routed > 0 {
		r.Routing = clamp(r.Routing / float64(r.Routed))
	}
	return r
}

func clamp(x float64) float64 {
	switch {
	case math.IsNaN(x) || x < 0:
		return 0
	case x > 1:
		return 1
	}
	return x
}
