package pllm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"batos/image"
	"batos/interp"
	"batos/kernel"
	"batos/kernel/sandbox"
	"batos/llama"
)

// Options configures Install.
type Options struct {
	// Sandbox runs trial runs of candidates in a separate process. Required
	// for doesNotUnderstand to install anything.
	Sandbox *sandbox.Runner
	// HTTP is the client for model servers; nil uses a default without a
	// global timeout (generationTimeout bounds each generation).
	HTTP *http.Client
	// TrialDeadline bounds one trial run (default 5s).
	TrialDeadline time.Duration
}

// PLLM is the native half of the pLLM: the model client and the
// doesNotUnderstand pipeline. The other half — configuration, routing,
// prompts, history — lives in the image.
type PLLM struct {
	k     *kernel.Kernel
	opts  Options
	log   *slog.Logger
	sizes contextSizes
}

// Install binds the pLLM's primitives on k: doesNotUnderstand (replacing
// the kernel's default, so images made before the pLLM get it too) and
// infer.
func Install(k *kernel.Kernel, opts Options) *PLLM {
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{}
	}
	if opts.TrialDeadline <= 0 {
		opts.TrialDeadline = 5 * time.Second
	}
	p := &PLLM{k: k, opts: opts, log: k.Logger()}
	k.RegisterPrimitive("doesNotUnderstand", p.doesNotUnderstand)
	k.RegisterPrimitive("infer", p.infer)
	return p
}

func (p *PLLM) client(endpoint string) *llama.Client {
	c := llama.New(endpoint)
	c.HTTP = p.opts.HTTP
	return c
}

// maxFailuresFedBack bounds the failures quoted in the next prompt.
const maxFailuresFedBack = 6

// GenerationError reports a doesNotUnderstand the pLLM could not answer.
// It wraps the *kernel.NotUnderstoodError of the original send.
type GenerationError struct {
	NotUnderstood *kernel.NotUnderstoodError
	Attempts      int
	Reason        string
}

func (e *GenerationError) Error() string {
	if e.Attempts == 0 {
		return fmt.Sprintf("%v, and the pLLM could not write it: %s", e.NotUnderstood, e.Reason)
	}
	return fmt.Sprintf("%v, and the pLLM could not write it in %d attempt%s: %s", e.NotUnderstood, e.Attempts, plural(e.Attempts), e.Reason)
}

func (e *GenerationError) Unwrap() error { return e.NotUnderstood }

// candidate is one persona's answer and what became of it.
type candidate struct {
	persona string
	model   string
	answer  string
	source  string
	outcome string // accepted, rejected, unreachable, failed
	err     string
	took    time.Duration
	timings llama.Timings
	review  string   // the reviewer's answer, when reviewed
	writes  []string // the trial's write set (sandbox.Write.String)
	// unreachable is set when the model server could not be reached at all.
	unreachable error
}

func (p *PLLM) doesNotUnderstand(c *kernel.PrimitiveCall) (any, error) {
	sel, _ := kernel.Arg[string](c.Args, 0)
	args, _ := kernel.Arg[[]any](c.Args, 1)
	nu := &kernel.NotUnderstoodError{Receiver: c.Session.Describe(c.Self.OID()), Selector: sel, Args: len(args)}
	fail := func(attempts int, format string, a ...any) error {
		return &GenerationError{NotUnderstood: nu, Attempts: attempts, Reason: fmt.Sprintf(format, a...)}
	}
	if sel == "" || strings.HasPrefix(sel, "batos_") || p.opts.Sandbox == nil {
		return nil, nu
	}
	pllmObj, ok := slot(c.Self.Lobby(), "pLLM").(kernel.Object)
	if !ok {
		return nil, nu
	}
	if !p.committed(c.Self.OID()) {
		return nil, fail(0, "%s was created in this transaction; commit it first so a trial run can see it", nu.Receiver)
	}
	// The write policy: validated before the model is asked, and the pLLM
	// writes no methods for the objects it protects.
	if _, err := c.Session.Policy(); err != nil {
		return nil, fail(0, "%v", err)
	}
	if path, ok := c.Session.Protected(c.Self.OID()); ok {
		return nil, fail(0, "the write policy protects %s (%s in Lobby.pLLM.policy.never): the pLLM writes no methods there; define it yourself", nu.Receiver, path)
	}
	// Model-written code may not have methods installed where it could
	// not define them itself.
	if err := c.Session.MayDefine(c.Self.OID(), sel); err != nil {
		return nil, fail(0, "%v", err)
	}
	cfg := readConfig(pllmObj)
	m, err := buildMandate(c.Session, c.Self, sel, args)
	if err != nil {
		return nil, fail(0, "%v", err)
	}
	parent := c.Context
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, cfg.timeout)
	defer cancel()

	rec := &record{selector: sel, receiver: c.Self.OID(), arguments: m.Arguments, started: time.Now()}
	var failures []string
	for attempt := 1; attempt <= cfg.maxAttempts; attempt++ {
		rec.attempts = attempt
		if len(failures) > maxFailuresFedBack {
			failures = failures[len(failures)-maxFailuresFedBack:]
		}
		m.Failures = strings.Join(failures, "\n")
		if m.Failures == "" {
			m.Failures = "(none)"
		}
		// The router is image code: it runs under the caller's deadline.
		names, scores := p.routeScored(pllmObj, cfg, sel+" "+m.Arguments)
		if len(names) == 0 {
			p.recordFailure(rec)
			return nil, fail(0, "no personas are configured in Lobby.pLLM.personas")
		}
		rec.personas, rec.routing = names, scores
		// Waiting on the model and the sandbox is not: generationTimeout
		// bounds it instead.
		resume := c.Suspend()
		prompt := p.fitPrompt(ctx, cfg.personas[names[0]].endpoint, m, cfg)
		rec.prompt, rec.promptHash = prompt, promptHash(prompt)
		cands := p.generate(ctx, c.Session.Principal(), cfg, names, sel, prompt)
		unreachable := 0
		var accepted *candidate
		for _, cand := range cands {
			if cand.unreachable != nil {
				unreachable++
				continue
			}
			if accepted != nil {
				cand.outcome = "not needed"
				continue
			}
			if p.validate(ctx, c.Session, cand, sel, args, c.Self.OID()) && p.review(ctx, c.Session.Principal(), cfg, cand, m, sel) {
				accepted = cand
			} else {
				failures = append(failures, fmt.Sprintf("- %s's candidate: %s", cand.persona, cand.err))
			}
		}
		resume()
		rec.candidates = append(rec.candidates, cands...)
		if accepted != nil {
			if err := p.install(ctx, c, rec, accepted); err != nil {
				return nil, fail(attempt, "installing the accepted method: %v", err)
			}
			return nil, &kernel.RetryError{Reason: fmt.Sprintf("pLLM/%s installed %s on %s", accepted.persona, sel, nu.Receiver)}
		}
		if unreachable == len(cands) && len(cands) > 0 {
			// No model answered: nothing was generated, so nothing is
			// recorded — an offline server must not fill history.
			return nil, fail(0, "%v", cands[0].unreachable)
		}
		if ctx.Err() != nil {
			p.recordFailure(rec)
			return nil, fail(attempt, "%v", ctx.Err())
		}
	}
	p.recordFailure(rec)
	return nil, fail(cfg.maxAttempts, "%s", lastFailure(failures))
}

// committed reports whether oid exists in the committed image, where the
// trial run and the install transaction can see it.
func (p *PLLM) committed(oid image.OID) bool {
	t := p.k.Store().Begin("pLLM")
	defer t.Abort()
	_, found, err := t.Get(oid)
	return err == nil && found
}

// route asks the image's router for the personas to consult, falling back
// to every configured persona in name order.
func (p *PLLM) route(pllmObj kernel.Object, cfg config, mandate string) (names []string) {
	names, _ = p.routeScored(pllmObj, cfg, mandate)
	return names
}

// routeScored is route with the router's scores, when it gives them: a
// router returns persona names, or maps {"persona": name, "score": s},
// best first; the first topK are consulted.
func (p *PLLM) routeScored(pllmObj kernel.Object, cfg config, mandate string) (names []string, scores map[string]float64) {
	defer func() {
		if r := recover(); r != nil {
			if mustPropagate(r) {
				panic(r)
			}
			p.log.Warn("pLLM.route failed; consulting the first personas", "err", r)
			names = nil
		}
		if len(names) == 0 {
			for n := range cfg.personas {
				names = append(names, n)
			}
			sort.Strings(names)
			if len(names) > cfg.topK {
				names = names[:cfg.topK]
			}
		}
	}()
	out, _ := pllmObj.Send("route", mandate, cfg.topK).([]any)
	for _, v := range out {
		n, ok := v.(string)
		if m, isMap := v.(map[string]any); isMap {
			n, ok = m["persona"].(string)
			var score float64
			switch x := m["score"].(type) {
			case float64:
				score = x
			case int:
				score = float64(x)
			default:
				ok = false
			}
			if ok {
				if scores == nil {
					scores = map[string]float64{}
				}
				scores[n] = score
			}
		}
		if _, known := cfg.personas[n]; ok && known && len(names) < cfg.topK && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names, scores
}

// generate asks each persona for a candidate concurrently, streaming
// tokens onto the bus.
func (p *PLLM) generate(ctx context.Context, principal string, cfg config, names []string, sel, prompt string) []*candidate {
	cands := make([]*candidate, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		per := cfg.personas[name]
		cand := &candidate{persona: name, model: per.model}
		cands[i] = cand
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				// A bug in the client must cost one candidate, not the image.
				if r := recover(); r != nil {
					cand.outcome, cand.err = "failed", fmt.Sprintf("model client panicked: %v", r)
				}
			}()
			start := time.Now()
			onToken := func(tok string) {
				p.k.Bus().PublishToken(kernel.Token{Principal: principal, Persona: name, Selector: sel, Text: tok})
			}
			req := cfg.request(per, prompt)
			cl := p.client(per.endpoint)
			call := func() (llama.Result, error) {
				if cfg.route == "/completion" {
					return cl.Complete(ctx, req, onToken)
				}
				return cl.Chat(ctx, req, onToken)
			}
			res, err := call()
			var loading *llama.LoadingError
			if errors.As(err, &loading) {
				// The server is still loading its model: wait for it
				// within the generation's deadline, then ask again.
				if err = cl.WaitReady(ctx); err == nil {
					res, err = call()
				}
			}
			cand.took, cand.answer, cand.timings = time.Since(start), res.Text, res.Timings
			if res.Model != "" {
				cand.model = res.Model
			}
			var unreachable *llama.UnreachableError
			switch {
			case errors.As(err, &unreachable):
				cand.unreachable, cand.outcome, cand.err = err, "unreachable", err.Error()
			case err != nil:
				cand.outcome, cand.err = "failed", err.Error()
			}
		}()
	}
	wg.Wait()
	return cands
}

// validate extracts, checks and trial-runs a candidate, recording why it
// was rejected. s is the caller's session, whose transaction is still
// open: the install target is resolved and checked against the write
// policy through it.
func (p *PLLM) validate(ctx context.Context, s *kernel.Session, cand *candidate, sel string, args []any, recv image.OID) bool {
	reject := func(format string, a ...any) bool {
		cand.outcome, cand.err = "rejected", fmt.Sprintf(format, a...)
		return false
	}
	if cand.outcome == "failed" {
		return false
	}
	src, err := Extract(cand.answer, sel)
	if err != nil {
		return reject("%v", err)
	}
	cand.source = src
	sig, err := interp.ParseMethod(sel, src)
	if err != nil {
		return reject("%v", err)
	}
	if n := len(sig.Params); n != len(args) && !(sig.Variadic && len(args) >= n-1) {
		return reject("func %s takes %d argument%s after self, but the send passes %d", sel, n, plural(n), len(args))
	}
	target, err := installTarget(s, recv, InstallTarget(cand.answer))
	if err != nil {
		return reject("%v", err)
	}
	if path, ok := s.Protected(target.OID()); ok {
		return reject("the write policy protects %s (%s in Lobby.pLLM.policy.never): model-written methods may not be installed there", s.Describe(target.OID()), path)
	}
	if err := s.MayDefine(target.OID(), sel); err != nil {
		return reject("%v", err)
	}
	// The trial defines the candidate where it will be installed, under
	// the author it will have, so it runs under the write policy exactly
	// as the installed method will.
	resp, err := p.opts.Sandbox.Trial(ctx, p.k.Store(), sandbox.Request{
		Receiver: recv, Holder: target.OID(), Selector: sel, Source: src, Args: args,
		Author:     "pLLM/" + cand.persona,
		DeadlineMS: int(p.opts.TrialDeadline / time.Millisecond),
	})
	if err != nil {
		return reject("trial run: %v", err)
	}
	for _, w := range resp.Writes {
		cand.writes = append(cand.writes, w.String())
	}
	if !resp.OK {
		return reject("trial run failed (%s): %s", resp.ErrorKind, resp.Error)
	}
	for _, w := range resp.Writes {
		if w.Denied { // cannot happen: a denied write fails the trial
			return reject("trial run failed (%s): the write policy refused %s", sandbox.KindPolicy, w)
		}
	}
	cand.outcome = "accepted"
	return true
}

// install commits the accepted method on the receiver together with the
// generation record, as pLLM/<persona>.
func (p *PLLM) install(ctx context.Context, c *kernel.PrimitiveCall, rec *record, cand *candidate) error {
	rec.accepted = cand.persona
	s := p.k.NewSession("pLLM/" + cand.persona)
	note := fmt.Sprintf("define %s on %s (model %s, prompt %s, attempt %d, %s)", rec.selector, c.Session.Describe(rec.receiver), orUnknown(cand.model), rec.promptHash, rec.attempts, cand.took.Round(time.Millisecond))
	_, err := s.Run(context.WithoutCancel(ctx), note, func(lobby kernel.Object) error {
		target, err := installTarget(s, rec.receiver, InstallTarget(cand.answer))
		if err != nil {
			return err
		}
		if path, ok := s.Protected(target.OID()); ok {
			return fmt.Errorf("the write policy protects %s (%s in Lobby.pLLM.policy.never)", s.Describe(target.OID()), path)
		}
		// Defined by the session of principal pLLM/<persona>: the
		// method's author, which puts it under the write policy.
		target.Define(rec.selector, cand.source)
		rec.commit(s, lobby)
		return nil
	})
	if err == nil {
		p.log.Info("pLLM installed a method", "selector", rec.selector, "persona", cand.persona, "attempts", rec.attempts)
	}
	return err
}

// recordFailure commits the record of a generation that installed nothing.
func (p *PLLM) recordFailure(rec *record) {
	s := p.k.NewSession("pLLM")
	_, err := s.Run(context.Background(), fmt.Sprintf("record failed generation of %s", rec.selector), func(lobby kernel.Object) error {
		rec.commit(s, lobby)
		return nil
	})
	if err != nil {
		p.log.Warn("recording a failed generation", "err", err)
	}
}

// infer answers a prompt with the first routed persona (or the one named
// as a second argument): self.Send("infer", prompt) works on any object.
func (p *PLLM) infer(c *kernel.PrimitiveCall) (any, error) {
	prompt, ok := kernel.Arg[string](c.Args, 0)
	if !ok || len(c.Args) > 2 {
		return nil, fmt.Errorf("infer: want (prompt string[, persona string])")
	}
	pllmObj, ok := slot(c.Self.Lobby(), "pLLM").(kernel.Object)
	if !ok {
		return nil, fmt.Errorf("infer: the image has no Lobby.pLLM")
	}
	cfg := readConfig(pllmObj)
	name, _ := kernel.Arg[string](c.Args, 1)
	if name == "" {
		if names := p.route(pllmObj, cfg, prompt); len(names) > 0 {
			name = names[0]
		}
	}
	per, ok := cfg.personas[name]
	if !ok {
		return nil, fmt.Errorf("infer: no persona %q", name)
	}
	resume := c.Suspend()
	defer resume()
	parent := c.Context
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, cfg.timeout)
	defer cancel()
	cands := p.generate(ctx, c.Session.Principal(), cfg, []string{name}, "infer", prompt)
	if cands[0].err != "" {
		return nil, fmt.Errorf("infer (%s): %s", per.name, cands[0].err)
	}
	return cands[0].answer, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func lastFailure(lines []string) string {
	if len(lines) == 0 {
		return "no candidate"
	}
	return strings.TrimPrefix(lines[len(lines)-1], "- ")
}

// installTarget resolves an answer's install directive against the
// receiver: one of its parent slots, or an object on its parent chain by
// name. No directive means the receiver itself.
func installTarget(s *kernel.Session, recv image.OID, name string) (kernel.Object, error) {
	self := s.Object(recv)
	if name == "" {
		return self, nil
	}
	slots, err := s.SlotsOf(recv)
	if err != nil {
		return self, err
	}
	for _, sl := range slots {
		if ref, ok := sl.Value.(image.Ref); ok && sl.Kind == image.SlotParent && (sl.Name == name || sl.Name == name+"*") {
			return s.Object(ref.OID), nil
		}
	}
	chain, err := s.Chain(recv)
	if err != nil {
		return self, err
	}
	for _, oid := range chain[1:] {
		slots, err := s.SlotsOf(oid)
		if err != nil {
			return self, err
		}
		for _, sl := range slots {
			if sl.Name == "name" && sl.Value == name {
				return s.Object(oid), nil
			}
		}
	}
	return self, fmt.Errorf("the answer asks to install on %q, which is not a parent of %s", name, s.Describe(recv))
}

// review asks the reviewer persona (ALFRED by default) to approve a
// candidate that passed its trial run, when Lobby.pLLM.review is true. The
// reviewer answers APPROVE or REJECT on its first line; a rejection's
// reason is fed back like any other failure, and only an answer starting
// with APPROVE approves. A reviewer that cannot be reached at all does not
// block the install; one that fails or is cancelled mid-answer does.
func (p *PLLM) review(ctx context.Context, principal string, cfg config, cand *candidate, m mandate, sel string) bool {
	if cfg.reviewer == "" {
		return true
	}
	if _, ok := cfg.personas[cfg.reviewer]; !ok {
		return true
	}
	prompt := fmt.Sprintf("Review this method written for %s.%s(%s).\nAnswer APPROVE or REJECT on the first line, then one line of reason.\n\n```go\n%s\n```\n", m.Receiver, sel, m.Arguments, cand.source)
	r := p.generate(ctx, principal, cfg, []string{cfg.reviewer}, sel, prompt)[0]
	cand.review = strings.TrimSpace(r.answer)
	switch {
	case r.unreachable != nil:
		return true // no reviewer to ask: the trial run stands
	case r.err != "":
		cand.outcome, cand.err = "rejected", fmt.Sprintf("%s's review failed: %s", cfg.reviewer, r.err)
		return false
	case !strings.HasPrefix(strings.ToUpper(cand.review), "APPROVE"):
		cand.outcome, cand.err = "rejected", fmt.Sprintf("%s's review: %s", cfg.reviewer, abbreviate(cand.review, 200))
		return false
	}
	return true
}

// mustPropagate reports whether a recovered panic must keep unwinding: a
// guard stop or a retry request belongs to the evaluation, not to the code
// that happened to be running.
func mustPropagate(r any) bool {
	err, ok := r.(error)
	if !ok {
		return false
	}
	var stop *interp.StopError
	var retry *kernel.RetryError
	return errors.As(err, &stop) || errors.As(err, &retry)
}
