package pllm

import (
	"math"
	"time"

	"batos/image"
	"batos/kernel"
)

// record is one generation: everything needed to judge it later (the
// entropy metric) and to learn from it (the Forge's golden data).
type record struct {
	selector   string
	receiver   image.OID
	arguments  string
	args       []any  // the send's arguments, kept when they persist
	purpose    string // why it was asked for, when not by a send
	prompt     string
	promptHash string
	personas   []string
	routing    map[string]float64 // the router's scores, when it gives them
	candidates []*candidate
	accepted   string
	attempts   int
	started    time.Time
}

// maxGenerations bounds Lobby.pLLM.generations; older records stay
// reachable through history until a pack.
const maxGenerations = 1000

// commit appends the record to Lobby.pLLM.generations as a new object and
// counts each consulted persona's use, inside s's transaction, and returns
// the record object (the install's transaction is set on it by install).
func (r *record) commit(s *kernel.Session, lobby kernel.Object) kernel.Object {
	pllmObj := lobby.Get("pLLM").(kernel.Object)
	o := lobby.NewObject()
	o.Set("name", "generation of "+r.selector)
	o.Set("selector", r.selector)
	o.Set("receiver", s.Object(r.receiver))
	o.Set("arguments", r.arguments)
	if args, ok := persistable(r.args); ok {
		o.Set("args", args)
	}
	if r.purpose != "" {
		o.Set("purpose", r.purpose)
	}
	o.Set("prompt", r.prompt)
	o.Set("promptHash", r.promptHash)
	personas := make([]any, len(r.personas))
	for i, n := range r.personas {
		personas[i] = n
	}
	o.Set("personas", personas)
	if h, ok := RoutingEntropy(r.routing); ok {
		scores := map[string]any{}
		for n, s := range r.routing {
			scores[n] = s
		}
		o.Set("routing", scores)
		o.Set("routingEntropy", h)
	}
	cands := make([]any, 0, len(r.candidates))
	for _, c := range r.candidates {
		cands = append(cands, map[string]any{
			"persona":     c.persona,
			"model":       c.model,
			"answer":      c.answer,
			"source":      c.source,
			"outcome":     c.outcome,
			"error":       c.err,
			"ms":          int(c.took / time.Millisecond),
			"promptN":     c.timings.PromptN,
			"predictedN":  c.timings.PredictedN,
			"predictedMS": c.timings.PredictedMS,
			"review":      c.review,
			"lora":        c.lora,
			"writes":      stringList(c.writes),
			"constrained": c.constrained,
		})
	}
	o.Set("candidates", cands)
	o.Set("accepted", r.accepted)
	o.Set("attempts", r.attempts)
	o.Set("time", r.started.UTC().Format(time.RFC3339))
	gens, _ := slot(pllmObj, "generations").([]any)
	gens = append(gens, o)
	if len(gens) > maxGenerations {
		gens = gens[len(gens)-maxGenerations:]
	}
	pllmObj.Set("generations", gens)
	if ps, ok := slot(pllmObj, "personas").(kernel.Object); ok {
		for _, n := range r.personas {
			if p, ok := slot(ps, n).(kernel.Object); ok {
				uses, _ := slot(p, "uses").(int)
				p.Set("uses", uses+1)
			}
		}
	}
	return o
}

// persistable returns the arguments as a slot value when every one is a
// plain value or an object, which the image stores with its type: a retry
// can then make the same send.
func persistable(args []any) ([]any, bool) {
	out := make([]any, len(args))
	for i, a := range args {
		switch a.(type) {
		case nil, bool, int, int64, float64, string, kernel.Object,
			[]bool, []int, []int64, []float64, []string,
			map[string]bool, map[string]int, map[string]int64, map[string]float64, map[string]string:
		default:
			return nil, false
		}
		out[i] = a
	}
	return out, true
}

func stringList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// RoutingEntropy is the normalised Shannon entropy of the router's
// distribution, the softmax of its scores: 1 when it could not choose
// (all equal), near 0 when one persona dominates. It needs two scores.
func RoutingEntropy(scores map[string]float64) (float64, bool) {
	if len(scores) < 2 {
		return 0, false
	}
	hi := math.Inf(-1)
	for _, s := range scores {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return 0, false
		}
		hi = max(hi, s)
	}
	sum := 0.0
	for _, s := range scores {
		sum += math.Exp(s - hi)
	}
	h := 0.0
	for _, s := range scores {
		p := math.Exp(s-hi) / sum
		if p > 0 {
			h -= p * math.Log(p)
		}
	}
	return h / math.Log(float64(len(scores))), true
}
