package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"batos"
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
// → slot value), json (a file to write the full report to).
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
	opts, jsonFile, err := b.options(raw)
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
	if jsonFile != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = os.WriteFile(jsonFile, append(data, '\n'), 0o644)
		}
		if err != nil {
			return nil, fmt.Errorf("bench: write the report: %w", err)
		}
	}
	return Record(context.WithoutCancel(ctx), b.k, c.Session.Principal(), rep)
}

// options reads the primitive's options map.
func (b *primitive) options(raw map[string]any) (Options, string, error) {
	opts := Options{Sandbox: b.runner}
	var jsonFile string
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
		case "json":
			jsonFile, _ = v.(string)
		case "context":
			m, ok := v.(map[string]any)
			if !ok {
				return opts, "", fmt.Errorf("context: want a map of part to bool, got %T", v)
			}
			opts.Context = map[string]bool{}
			for part, on := range m {
				b, ok := on.(bool)
				if !ok {
					return opts, "", fmt.Errorf("context: %s: want a bool, got %T", part, on)
				}
				opts.Context[part] = b
			}
		case "lora":
			m, ok := v.(map[string]any)
			if !ok {
				return opts, "", fmt.Errorf("lora: want a map of persona to adapter, got %T", v)
			}
			opts.LoRA = m
		default:
			return opts, "", fmt.Errorf("unknown option %q (want suite, split, names, personas, attempts, context, lora or json)", key)
		}
		if err != nil {
			return opts, "", err
		}
	}
	var err error
	if suiteDir == "" {
		opts.Suite, err = Load(batos.Mandates, batos.MandatesDir)
	} else {
		opts.Suite, err = Load(os.DirFS(suiteDir), ".")
	}
	return opts, jsonFile, err
}

func partNames() []string { return pllm.ContextParts }
