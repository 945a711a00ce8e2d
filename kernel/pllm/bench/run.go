package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"batos/kernel"
	"batos/kernel/pllm"
	"batos/kernel/sandbox"
)

// Options configures Run.
type Options struct {
	Suite *Suite
	// Split is Train, HeldOut, or "" / "all" for both.
	Split string
	// Names keeps the mandates whose names contain one of them (none:
	// all).
	Names []string
	// Personas are asked one at a time, each on every mandate (none:
	// every persona configured in the image).
	Personas []string
	// Attempts replaces Lobby.pLLM.maxAttempts in the copies (0: the
	// image's).
	Attempts int
	// LoRA replaces a persona's lora slot in the copies (a value as the
	// slot holds it: an id, {"path": FILE, "scale": S}, a list): the
	// Forge compares an old adapter with a new one this way.
	LoRA map[string]any
	// Context replaces parts of Lobby.pLLM.context in the copies
	// (pllm.ContextParts): what a part of the context is worth.
	Context map[string]bool
	// Sandbox runs the candidates' trials. Required.
	Sandbox *sandbox.Runner
	// HTTP is the model servers' client (nil: a default one).
	HTTP *http.Client
	// TrialDeadline bounds one trial run (0: the pLLM's default).
	TrialDeadline time.Duration
	// TempDir holds the image copies (""; the system's).
	TempDir string
	// Progress, when set, is called after each mandate.
	Progress func(Outcome)
	// Allow, when set, gates every model attempt of the run with what the
	// whole run spent so far and the attempt's worst case (see
	// pllm.Request.Allow): a budget. Its error ends the run with it.
	Allow func(spent, next pllm.Spent) error
	// Principal runs the generations ("pLLM" when empty): the methods
	// are installed by Principal/<persona> and run under the write
	// policy, as a doesNotUnderstand's are.
	Principal string
}

// Outcome is one mandate asked of one persona.
type Outcome struct {
	Mandate string `json:"mandate"`
	Split   string `json:"split"`
	Persona string `json:"persona"`
	Model   string `json:"model,omitempty"`
	Adapter string `json:"adapter,omitempty"`
	// Installed: the pipeline installed a method; Passed: and every
	// check then held.
	Installed   bool   `json:"installed"`
	Passed      bool   `json:"passed"`
	Attempts    int    `json:"attempts"`
	Calls       int    `json:"calls"`
	Tokens      int    `json:"tokens"`
	PromptBytes int    `json:"prompt_bytes"`
	InstallMS   int64  `json:"install_ms,omitempty"` // from the send to the install's commit
	Failure     string `json:"failure,omitempty"`    // why it did not pass
	// Error is set when the mandate could not be run at all (its setup
	// failed, the server could not be reached): the harness's failure,
	// not the model's; such outcomes are left out of the rates.
	Error  string `json:"error,omitempty"`
	Source string `json:"source,omitempty"` // the installed method
}

// ErrUnreachable wraps the error of a run whose model server could not
// be reached: measuring nothing is not a score of zero.
var ErrUnreachable = errors.New("no model server answers")

// Run asks every selected mandate of the suite of each persona, each in
// a fresh copy of src's image (a checkpoint: the image's own pLLM
// configuration, router, prompts and objects), and reports what passed.
// Nothing is written to src; Record keeps a report in it.
func Run(ctx context.Context, src *kernel.Kernel, opts Options) (*Report, error) {
	if opts.Suite == nil {
		return nil, errors.New("bench: no suite")
	}
	if opts.Sandbox == nil {
		return nil, errors.New("bench: no sandbox to trial-run candidates in")
	}
	mandates, err := opts.Suite.Select(opts.Split, opts.Names...)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if len(mandates) == 0 {
		return nil, fmt.Errorf("bench: no mandate of split %q matches %q", opts.Split, opts.Names)
	}
	tmp, err := os.MkdirTemp(opts.TempDir, "batos-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(tmp)

	var configured []pllm.PersonaConfig
	s := src.NewSession("bench")
	if _, err := s.Run(ctx, "", func(kernel.Object) error {
		configured = pllm.Personas(s)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("bench: read Lobby.pLLM: %w", err)
	}
	personas := opts.Personas
	if len(personas) == 0 {
		for _, p := range configured {
			personas = append(personas, p.Name)
		}
	}
	if len(personas) == 0 {
		return nil, errors.New("bench: no personas are configured in Lobby.pLLM.personas")
	}
	for _, n := range personas {
		if !slices.ContainsFunc(configured, func(p pllm.PersonaConfig) bool { return p.Name == n }) {
			return nil, fmt.Errorf("bench: no persona %q in Lobby.pLLM.personas", n)
		}
	}

	rep := &Report{Version: opts.Suite.Version, Split: splitName(opts.Split), Started: time.Now(), Context: opts.Context}
	r := &runner{src: src, opts: opts, tmp: tmp}
	for _, persona := range personas {
		for _, m := range mandates {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			o := r.one(ctx, persona, m)
			rep.Outcomes = append(rep.Outcomes, o)
			if opts.Progress != nil {
				opts.Progress(o)
			}
			if r.stop != nil {
				rep.finish()
				return rep, r.stop
			}
		}
	}
	rep.finish()
	return rep, nil
}

func splitName(s string) string {
	if s == "" {
		return "all"
	}
	return s
}

type runner struct {
	src  *kernel.Kernel
	opts Options
	tmp  string
	n    int
	// stop is set when the run cannot go on: no model server answers
	// (ErrUnreachable), or Allow refused.
	stop error
	// spent is what the run's generations cost so far.
	spent pllm.Spent
}

// one runs mandate m for persona in a fresh copy of the image.
func (r *runner) one(ctx context.Context, persona string, m *Mandate) (o Outcome) {
	o = Outcome{Mandate: m.Name, Split: m.Split, Persona: persona}
	r.n++
	dir := filepath.Join(r.tmp, fmt.Sprintf("%04d", r.n))
	defer os.RemoveAll(dir)
	if err := r.src.Store().Checkpoint(dir); err != nil {
		o.Error = err.Error()
		return o
	}
	k, err := kernel.Open(dir, &kernel.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		o.Error = err.Error()
		return o
	}
	defer k.Close()
	p := pllm.Install(k, pllm.Options{Sandbox: r.opts.Sandbox, HTTP: r.opts.HTTP, TrialDeadline: r.opts.TrialDeadline})
	s := k.NewSession("bench")
	if err := r.configure(ctx, s, persona, &o); err != nil {
		o.Error = fmt.Sprintf("configure the copy: %v", err)
		return o
	}
	if strings.TrimSpace(m.Setup) != "" {
		if _, err := s.Eval(ctx, m.Setup); err != nil {
			o.Error = fmt.Sprintf("setup: %v", err)
			return o
		}
	}
	recv, err := s.Eval(ctx, m.Receiver)
	obj, ok := recv.Value.(kernel.Object)
	if err != nil || !ok {
		o.Error = fmt.Sprintf("send: the receiver %s is not an object (%v)", m.Receiver, orValue(err, recv.Text))
		return o
	}
	args, err := evalArgs(ctx, s, m.Args)
	if err != nil {
		o.Error = fmt.Sprintf("send: %v", err)
		return o
	}
	var examples []sandbox.Check
	for _, c := range m.Checks {
		if !c.Example {
			continue
		}
		a, err := evalArgs(ctx, s, c.Args)
		if err != nil {
			o.Error = fmt.Sprintf("check at line %d: %v", c.Line, err)
			return o
		}
		examples = append(examples, sandbox.Check{Args: a, Want: c.Want})
	}

	principal := r.opts.Principal
	if principal == "" {
		principal = "pLLM"
	}
	var allow func(spent, next pllm.Spent) error
	if r.opts.Allow != nil {
		allow = func(spent, next pllm.Spent) error {
			return r.opts.Allow(pllm.Spent{Calls: r.spent.Calls + spent.Calls, Tokens: r.spent.Tokens + spent.Tokens}, next)
		}
	}
	start := time.Now()
	res, err := p.Generate(ctx, pllm.Request{
		Principal: principal,
		Allow:     allow,
		Receiver:  obj.OID(),
		Selector:  m.Selector,
		Args:      args,
		Personas:  []string{persona},
		Origin:    "this input:\n" + m.Send + "\n",
		Checks:    examples,
	})
	o.Attempts, o.Calls, o.Tokens, o.PromptBytes = res.Attempts, res.Spent.Calls, res.Spent.Tokens, res.PromptBytes
	r.spent.Calls += res.Spent.Calls
	r.spent.Tokens += res.Spent.Tokens
	if res.Model != "" {
		o.Model = res.Model
	}
	if err != nil {
		var ge *pllm.GenerationError
		if errors.As(err, &ge) && ge.Cause != nil {
			// Allow refused: the run ends here, this mandate unjudged.
			o.Error, r.stop = ge.Cause.Error(), ge.Cause
			return o
		}
		if errors.As(err, &ge) && ge.Attempts == 0 && ctx.Err() == nil {
			// Nothing was asked of a model: its server is down or
			// misconfigured, or the mandate cannot be generated at all.
			o.Error = ge.Reason
			if res.Spent.Calls == 0 {
				r.stop = fmt.Errorf("%w: %s", ErrUnreachable, ge.Reason)
			}
			return o
		}
		o.Failure = err.Error()
		return o
	}
	o.Installed, o.InstallMS, o.Source = true, time.Since(start).Milliseconds(), res.Source
	o.Failure = runChecks(ctx, s, m)
	o.Passed = o.Failure == ""
	return o
}

// configure applies the run's overrides to the copy and reads how the
// persona is configured there.
func (r *runner) configure(ctx context.Context, s *kernel.Session, persona string, o *Outcome) error {
	_, err := s.Run(ctx, "bench: configure", func(lobby kernel.Object) error {
		p := lobby.At("pLLM")
		if r.opts.Attempts > 0 {
			p.Set("maxAttempts", r.opts.Attempts)
		}
		if len(r.opts.Context) > 0 {
			parts := map[string]any{}
			if old, ok := p.Get("context").(map[string]any); ok {
				for k, v := range old {
					parts[k] = v
				}
			}
			for k, v := range r.opts.Context {
				if !slices.Contains(pllm.ContextParts, k) {
					return fmt.Errorf("unknown context part %q (want one of %s)", k, strings.Join(pllm.ContextParts, ", "))
				}
				parts[k] = v
			}
			p.Set("context", parts)
		}
		if l, ok := r.opts.LoRA[persona]; ok {
			per := p.At("personas").At(persona)
			if l == nil {
				per.Remove("lora")
			} else {
				per.Set("lora", l)
			}
		}
		for _, c := range pllm.Personas(s) {
			if c.Name == persona {
				o.Model, o.Adapter = c.Model, c.Adapter
			}
		}
		return nil
	})
	return err
}

func evalArgs(ctx context.Context, s *kernel.Session, srcs []string) ([]any, error) {
	args := make([]any, len(srcs))
	for i, a := range srcs {
		v, err := s.Eval(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("argument %s: %v", a, err)
		}
		if !v.HasValue {
			return nil, fmt.Errorf("argument %s has no value", a)
		}
		args[i] = v.Value
	}
	return args, nil
}

// runChecks judges the installed method: "" when every check held, else
// the first that did not, with what it got.
func runChecks(ctx context.Context, s *kernel.Session, m *Mandate) string {
	for _, c := range m.Checks {
		res, err := s.Eval(ctx, c.Expr)
		switch {
		case err != nil:
			return fmt.Sprintf("check line %d: %s: %v", c.Line, c.Expr, oneLine(err.Error()))
		case c.Stmt:
		case res.Text != c.Want:
			return fmt.Sprintf("check line %d: %s = %s, want %s", c.Line, c.Expr, abbreviate(res.Text, 200), c.Want)
		}
	}
	return ""
}

func orValue(err error, text string) string {
	if err != nil {
		return err.Error()
	}
	return "it is " + text
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func abbreviate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
