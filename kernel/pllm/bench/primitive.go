package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"batos"
	"batos/image"
	"batos/kernel"
	"batos/kernel/pllm"
	"batos/kernel/sandbox"
)

// Install binds the pllmBench primitive (Lobby.pLLM.bench) in k, its
// trials run by runner, and gives an image made before the bench its
// slots: bench, benchmarks and context on Lobby.pLLM.
func Install(k *kernel.Kernel, runner *sandbox.Runner) error {
	b := &primitive{k: k, runner: runner}
	k.RegisterPrimitive("pllmBench", b.call)
	s := k.NewSession("awakening")
	_, err := s.Run(context.Background(), "bench: give Lobby.pLLM its bench", func(lobby kernel.Object) error {
		p, ok := lobby.Lookup("pLLM")
		o, isObj := p.(kernel.Object)
		if !ok || !isObj {
			return nil
		}
		if _, ok := o.Lookup("bench"); !ok {
			if err := s.SetPrimitive(o.OID(), "bench", "pllmBench"); err != nil {
				return err
			}
		}
		if _, ok := o.Lookup("benchmarks"); !ok {
			o.Set("benchmarks", []any{})
		}
		// The codex's router before it read pass rates: replaced by the
		// one that does, unless a user or the system rewrote it.
		if src, ok := methodSource(s, o, "route"); ok && src == routeBeforeBench {
			if route, ok := codexMethod("pLLM", "route"); ok {
				o.Define("route", route)
			}
		}
		if _, ok := o.Lookup("context"); !ok {
			parts := map[string]any{}
			for _, n := range partNames() {
				parts[n] = true
			}
			o.Set("context", parts)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("install the pLLM bench: %w", err)
	}
	return nil
}

type primitive struct {
	k      *kernel.Kernel
	runner *sandbox.Runner
}

// call is Lobby.pLLM.bench(options): it runs the suite, prints each
// outcome and the table on the caller's output, records the run in
// Lobby.pLLM.benchmarks and answers the recorded entry. Options (a map,
// every key optional): suite (a folder; default the embedded suite),
// split, names, personas, attempts, context (part → bool), lora (persona
// → slot value), report (true: the answer's "report" is the full report
// as JSON, every outcome included, for the caller to keep: the primitive
// writes no file, as scripts reach no file system).
func (b *primitive) call(c *kernel.PrimitiveCall) (any, error) {
	if len(c.Args) > 1 {
		return nil, fmt.Errorf("bench: want (options map[string]any), got %d arguments", len(c.Args))
	}
	if author, ok := c.Session.ModelFrame(); ok {
		return nil, fmt.Errorf("bench: model-written code (%s) may not run the bench", author)
	}
	var raw map[string]any
	if len(c.Args) == 1 {
		var ok bool
		if raw, ok = c.Args[0].(map[string]any); !ok {
			return nil, fmt.Errorf("bench: options must be a map[string]any, got %T", c.Args[0])
		}
	}
	opts, withReport, err := b.options(raw)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	out := c.Session.Output()
	if out == nil {
		out = io.Discard
	}
	opts.Progress = func(o Outcome) { fmt.Fprintln(out, o) }
	resume := c.Suspend()
	defer resume()
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	rep, err := Run(ctx, b.k, opts)
	if err != nil {
		return nil, err
	}
	if err := rep.WriteTable(out); err != nil {
		return nil, err
	}
	entry, err := Record(context.WithoutCancel(ctx), b.k, c.Session.Principal(), rep)
	if err != nil || !withReport {
		return entry, err
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("bench: the report: %w", err)
	}
	answer := map[string]any{"report": string(data) + "\n"}
	for k, v := range entry {
		answer[k] = v
	}
	return answer, nil
}

// options reads the primitive's options map.
func (b *primitive) options(raw map[string]any) (Options, bool, error) {
	opts := Options{Sandbox: b.runner}
	var withReport bool
	strs := func(key string, v any) ([]string, error) {
		switch v := v.(type) {
		case string:
			return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }), nil
		case []string:
			return v, nil
		case []any:
			out := make([]string, len(v))
			for i, e := range v {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("%s: want strings, got %T", key, e)
				}
				out[i] = s
			}
			return out, nil
		}
		return nil, fmt.Errorf("%s: want a list of strings, got %T", key, v)
	}
	suiteDir := ""
	for key, v := range raw {
		var err error
		switch key {
		case "suite":
			suiteDir, _ = v.(string)
		case "split":
			opts.Split, _ = v.(string)
		case "names":
			opts.Names, err = strs(key, v)
		case "personas":
			opts.Personas, err = strs(key, v)
		case "attempts":
			n, ok := v.(int)
			if !ok || n < 0 {
				err = fmt.Errorf("attempts: want an int ≥ 0, got %v", v)
			}
			opts.Attempts = n
		case "report":
			withReport, _ = v.(bool)
		case "context":
			m, ok := v.(map[string]any)
			if !ok {
				return opts, false, fmt.Errorf("context: want a map of part to bool, got %T", v)
			}
			opts.Context = map[string]bool{}
			for part, on := range m {
				b, ok := on.(bool)
				if !ok {
					return opts, false, fmt.Errorf("context: %s: want a bool, got %T", part, on)
				}
				opts.Context[part] = b
			}
		case "lora":
			m, ok := v.(map[string]any)
			if !ok {
				return opts, false, fmt.Errorf("lora: want a map of persona to adapter, got %T", v)
			}
			opts.LoRA = m
		default:
			return opts, false, fmt.Errorf("unknown option %q (want suite, split, names, personas, attempts, context, lora or report)", key)
		}
		if err != nil {
			return opts, false, err
		}
	}
	var err error
	if suiteDir == "" {
		opts.Suite, err = Load(batos.Mandates, batos.MandatesDir)
	} else {
		opts.Suite, err = Load(os.DirFS(suiteDir), ".")
	}
	return opts, withReport, err
}

// methodSource is the source of o's own method slot name.
func methodSource(s *kernel.Session, o kernel.Object, name string) (string, bool) {
	slots, err := s.SlotsOf(o.OID())
	if err != nil {
		return "", false
	}
	for _, sl := range slots {
		if m, ok := sl.Value.(image.Method); ok && sl.Name == name {
			return m.Source, true
		}
	}
	return "", false
}

// codexMethod is the source of a method the codex gives the object
// with the codex id object.
func codexMethod(object, slot string) (string, bool) {
	var codex struct {
		Objects []struct {
			ID    string `json:"id"`
			Slots []struct {
				Name   string `json:"name"`
				Method string `json:"method"`
			} `json:"slots"`
		} `json:"objects"`
	}
	if err := json.Unmarshal(batos.CodexSeed, &codex); err != nil {
		return "", false
	}
	for _, o := range codex.Objects {
		for _, sl := range o.Slots {
			if o.ID == object && sl.Name == slot && sl.Method != "" {
				return sl.Method, true
			}
		}
	}
	return "", false
}

// routeBeforeBench is Lobby.pLLM.route as the codex wrote it before the
// bench existed.
const routeBeforeBench = `func route(self Object, mandate string, k int) []any {
	// Noisy top-k gating: keyword matches, plus an exploration bonus that
	// favours rarely used personas, plus a little noise.
	personas := self.Get("personas").(Object)
	bonus, _ := self.Get("explorationBonus").(float64)
	text := strings.ToLower(mandate)
	names := []string{}
	scores := []float64{}
	for _, name := range personas.Slots() {
		p, ok := personas.Get(name).(Object)
		if !ok || strings.HasSuffix(name, "*") {
			continue
		}
		score := 0.0
		if kws, ok := p.Get("keywords").([]any); ok {
			for _, kw := range kws {
				if s, ok := kw.(string); ok && strings.Contains(text, s) {
					score++
				}
			}
		}
		uses, _ := p.Get("uses").(int)
		score += bonus/float64(1+uses) + rand.Float64()*bonus
		names = append(names, name)
		scores = append(scores, score)
	}
	// Every persona, best first, with its score: the pLLM consults the
	// first k and records the distribution (routing confidence).
	out := []any{}
	for len(names) > 0 {
		best := 0
		for i := range scores {
			if scores[i] > scores[best] {
				best = i
			}
		}
		out = append(out, map[string]any{"persona": names[best], "score": scores[best]})
		names = append(names[:best], names[best+1:]...)
		scores = append(scores[:best], scores[best+1:]...)
	}
	return out
}`

func partNames() []string { return pllm.ContextParts }
