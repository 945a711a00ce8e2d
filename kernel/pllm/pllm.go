package pllm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
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
	sizes serverFacts
	// allowed are the confirmations Lobby.pLLM.confirm waits for.
	allowed allowances
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
	k.RegisterPrimitive("allowWrite", p.allowWrite)
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
	// Cause is the error that ended the generation when it was not the
	// candidates' (a Request's Allow refusing), nil otherwise.
	Cause error
}

func (e *GenerationError) Error() string {
	if e.Attempts == 0 {
		return fmt.Sprintf("%v, and the pLLM could not write it: %s", e.NotUnderstood, e.Reason)
	}
	return fmt.Sprintf("%v, and the pLLM could not write it in %d attempt%s: %s", e.NotUnderstood, e.Attempts, plural(e.Attempts), e.Reason)
}

func (e *GenerationError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.NotUnderstood, e.Cause}
	}
	return []error{e.NotUnderstood}
}

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
	lora    string   // the adapters named by file: which were used, or why not
	writes  []string // the trial's write set (sandbox.Write.String)
	// constrained: the answer was constrained by Grammar.
	constrained bool
	// unreachable is set when the model server could not be reached at all.
	unreachable error
}

func (p *PLLM) doesNotUnderstand(c *kernel.PrimitiveCall) (any, error) {
	sel, _ := kernel.Arg[string](c.Args, 0)
	args, _ := kernel.Arg[[]any](c.Args, 1)
	nu := &kernel.NotUnderstoodError{Receiver: c.Session.Describe(c.Self.OID()), Selector: sel, Args: len(args)}
	if sel == "" || strings.HasPrefix(sel, "batos_") || p.opts.Sandbox == nil {
		return nil, nu
	}
	pllmObj, ok := slot(c.Self.Lobby(), "pLLM").(kernel.Object)
	if !ok {
		return nil, nu
	}
	if on, _ := slot(pllmObj, "confirm").(bool); on && !p.allowed.take(allowance{principal: c.Session.Principal(), receiver: c.Self.OID(), selector: sel}) {
		return nil, &ConfirmError{NotUnderstood: nu, Receiver: c.Self.OID()}
	}
	parent := c.Context
	if parent == nil {
		parent = context.Background()
	}
	j := &job{
		principal: c.Session.Principal(), author: "pLLM", recordAs: "pLLM",
		recv: c.Self.OID(), sel: sel, args: args, nu: nu,
		// The caller's transaction stays open (a snapshot, no locks)
		// across the model call, with its deadline suspended.
		view:    func(fn func(s *kernel.Session) error) error { return fn(c.Session) },
		suspend: c.Suspend,
	}
	res, err := p.pipeline(parent, j)
	if err != nil {
		return nil, err
	}
	// The send runs again while the install reaches the disk, and the
	// evaluation answers once it has.
	return nil, &kernel.RetryError{Reason: fmt.Sprintf("pLLM/%s installed %s on %s", res.Persona, sel, nu.Receiver), After: res.installed}
}

// Request asks the pLLM for a method outside any caller's transaction:
// the autotelic loop's way into the doesNotUnderstand pipeline. Nothing
// holds a transaction open across the model call: the pipeline reads the
// image in short read-only transactions before and after it.
type Request struct {
	// Principal names the requester: the failure record's principal, the
	// tokens' on the bus, and the prefix of the installing principal
	// (Principal/<persona>), which is the method's author and puts it
	// under the write policy. Empty: "pLLM".
	Principal string
	Receiver  image.OID
	Selector  string
	Args      []any
	// Personas, when set, are consulted instead of the router's choice.
	Personas []string
	// Purpose tells the model why the method is wanted; Note heads the
	// install's transaction note.
	Purpose, Note string
	// Origin is the source that made the send, told to the model (a
	// doesNotUnderstand tells it the input or the calling method).
	Origin string
	// Checks are examples the candidate must also answer in its trial
	// run (sandbox.Check): a failed one rejects it, and its
	// counterexample is fed back to the model.
	Checks []sandbox.Check
	// MaxAttempts lowers Lobby.pLLM.maxAttempts (0: the image's).
	MaxAttempts int
	// MaxTokens caps each answer below the image's sampling max_tokens
	// (0: the image's), so that Allow's worst case is known.
	MaxTokens int
	// Allow is asked before each attempt with the model calls and tokens
	// spent so far and the attempt's worst case (calls, and tokens when
	// the sampling caps the answer; 0: unknown); an error ends the
	// request with it, before the model is called again.
	Allow func(spent Spent, next Spent) error
}

// Spent is what a generation cost: model calls (candidates and reviews)
// and tokens (prompt and predicted, as the servers reported them).
type Spent struct {
	Calls, Tokens int
}

// Result is what a Request did.
type Result struct {
	Persona  string // whose candidate was installed; "" when none
	Attempts int
	Spent    Spent
	Install  image.TxInfo // the install's commit, when one was made
	Recorded bool         // a generation record of a failure was committed
	// Model is the model that answered last (the installed candidate's
	// when one was installed), as its server named it; LoRA says which
	// adapters it was asked with (see resolveLoRA), "" when none.
	Model, LoRA string
	// PromptBytes is the length of the last prompt, system prompt
	// included: what the context costs.
	PromptBytes int
	// Source is the installed method's source.
	Source string

	// installed is the install's commit, which the pipeline does not
	// wait for: Generate waits for it, a retried send does (RetryError).
	installed *kernel.Pending
}

// Generate runs the doesNotUnderstand pipeline for req: it writes,
// validates and installs req.Selector on req.Receiver, or returns a
// *GenerationError that says why not. A model server that cannot be
// reached fails at once with nothing committed.
func (p *PLLM) Generate(ctx context.Context, req Request) (Result, error) {
	principal := req.Principal
	if principal == "" {
		principal = "pLLM"
	}
	rs := p.k.NewSession(principal)
	// The receiver is described through the pipeline's first view.
	nu := &kernel.NotUnderstoodError{Receiver: fmt.Sprintf("object %d", req.Receiver), Selector: req.Selector, Args: len(req.Args)}
	if req.Selector == "" || strings.HasPrefix(req.Selector, "batos_") || p.opts.Sandbox == nil {
		return Result{}, &GenerationError{NotUnderstood: nu, Reason: "the pLLM has no sandbox to trial-run candidates in"}
	}
	j := &job{
		principal: principal, author: principal, recordAs: principal,
		recv: req.Receiver, sel: req.Selector, args: req.Args, nu: nu,
		personas: req.Personas, purpose: req.Purpose, note: req.Note, origin: req.Origin, checks: req.Checks,
		maxAttempts: req.MaxAttempts, maxTokens: req.MaxTokens, allow: req.Allow,
		view: func(fn func(s *kernel.Session) error) error {
			// A read-only transaction: fn writes nothing, so nothing
			// commits, and it ends before the model is called.
			_, err := rs.Run(ctx, "", func(kernel.Object) error { return fn(rs) })
			return err
		},
		suspend: func() func() { return func() {} },
	}
	res, err := p.pipeline(ctx, j)
	if err == nil && res.installed != nil {
		res.Install, err = res.installed.Wait()
		if err != nil {
			err = &GenerationError{NotUnderstood: nu, Attempts: res.Attempts, Reason: fmt.Sprintf("installing the accepted method: %v", err), Cause: err}
		}
	}
	return res, err
}

// Reachable reports whether any persona's model server answers its
// health check, within ctx.
func (p *PLLM) Reachable(ctx context.Context) error {
	var cfg config
	s := p.k.NewSession("pLLM")
	_, err := s.Run(ctx, "", func(lobby kernel.Object) error {
		o, ok := slot(lobby, "pLLM").(kernel.Object)
		if !ok {
			return errors.New("the image has no Lobby.pLLM")
		}
		cfg = readConfig(o)
		return nil
	})
	if err != nil {
		return err
	}
	endpoints := map[string]bool{}
	for _, per := range cfg.personas {
		endpoints[per.endpoint] = true
	}
	if len(endpoints) == 0 {
		return errors.New("no personas are configured in Lobby.pLLM.personas")
	}
	var last error
	for ep := range endpoints {
		if last = p.client(ep).Health(ctx); last == nil {
			return nil
		}
	}
	return last
}

// job is one run of the pipeline, from doesNotUnderstand or Generate.
type job struct {
	principal string // the tokens' principal on the bus
	author    string // the installer is author/<persona>
	recordAs  string // a failure record's principal
	recv      image.OID
	sel       string
	args      []any
	nu        *kernel.NotUnderstoodError
	personas  []string // consulted instead of routing, when set
	purpose   string
	note      string
	origin    string          // the source that made the send, when the asker says
	checks    []sandbox.Check // further examples the trial runs
	// maxAttempts lowers the image's maxAttempts when positive.
	maxAttempts int
	maxTokens   int // caps each answer when positive
	allow       func(spent, next Spent) error
	// view runs fn with a session that reads the image: the caller's, or
	// a fresh read-only transaction per call.
	view func(fn func(s *kernel.Session) error) error
	// suspend suspends the caller's deadline while the model and the
	// sandbox are waited on.
	suspend func() (resume func())
}

// pipeline writes, validates and installs j.sel on j.recv.
func (p *PLLM) pipeline(ctx context.Context, j *job) (Result, error) {
	var res Result
	fail := func(attempts int, format string, a ...any) error {
		return &GenerationError{NotUnderstood: j.nu, Attempts: attempts, Reason: fmt.Sprintf(format, a...)}
	}
	var (
		cfg     config
		m       mandate
		pllmObj kernel.Object
	)
	err := j.view(func(s *kernel.Session) error {
		j.nu.Receiver = s.Describe(j.recv)
		self := s.Object(j.recv)
		o, ok := slot(self.Lobby(), "pLLM").(kernel.Object)
		if !ok {
			return errors.New("the image has no Lobby.pLLM")
		}
		pllmObj = o
		if !p.committed(j.recv) {
			return fmt.Errorf("%s was created in this transaction; commit it first so a trial run can see it", j.nu.Receiver)
		}
		// The write policy: validated before the model is asked, and the
		// pLLM writes no methods for the objects it protects.
		if _, err := s.Policy(); err != nil {
			return err
		}
		if path, ok := s.Protected(j.recv); ok {
			return fmt.Errorf("the write policy protects %s (%s in Lobby.pLLM.policy.never): the pLLM writes no methods there; define it yourself", j.nu.Receiver, path)
		}
		// Model-written code may not have methods installed where it
		// could not define them itself.
		if err := s.MayDefine(j.recv, j.sel); err != nil {
			return err
		}
		cfg = readConfig(o)
		var err error
		m, err = buildMandate(s, self, j.sel, j.args, cfg.context)
		j.nu.Receiver = m.Receiver // named by its path, when it has one
		if cfg.context.origin {
			m.Origin = j.origin
			if m.Origin == "" {
				m.Origin = origin(s)
			}
		}
		return err
	})
	if err != nil {
		return res, fail(0, "%v", err)
	}
	m.Purpose = j.purpose
	if j.maxAttempts > 0 && j.maxAttempts < cfg.maxAttempts {
		cfg.maxAttempts = j.maxAttempts
	}
	if capped, ok := cfg.sampling["max_tokens"].(int); j.maxTokens > 0 && (!ok || capped <= 0 || capped > j.maxTokens) {
		sampling := maps.Clone(cfg.sampling)
		if sampling == nil {
			sampling = map[string]any{}
		}
		sampling["max_tokens"] = j.maxTokens
		cfg.sampling = sampling
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	rec := &record{selector: j.sel, receiver: j.recv, arguments: m.Arguments, args: j.args, purpose: j.purpose, started: time.Now()}
	var failures []string
	for attempt := 1; attempt <= cfg.maxAttempts; attempt++ {
		if len(failures) > maxFailuresFedBack {
			failures = failures[len(failures)-maxFailuresFedBack:]
		}
		m.Failures = strings.Join(failures, "\n")
		if m.Failures == "" {
			m.Failures = "(none)"
		}
		// Personas that share one server share its context: the prompt
		// is fitted to it (which may ask the server to count tokens)
		// while the router runs.
		var fitted chan string
		if ep, ok := cfg.sharedEndpoint(); ok {
			fitted = make(chan string, 1)
			go func(m mandate) { fitted <- p.fitPrompt(ctx, ep, m, cfg) }(m)
		}
		var names []string
		var scores map[string]float64
		if len(j.personas) > 0 {
			for _, n := range j.personas {
				if _, ok := cfg.personas[n]; ok && !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
		} else {
			// The router is image code: it runs under the caller's
			// deadline, in a transaction.
			if err := j.view(func(s *kernel.Session) error {
				names, scores = p.routeScored(s.Object(pllmObj.OID()), cfg, j.sel+" "+m.Arguments)
				return nil
			}); err != nil {
				return res, fail(attempt-1, "routing: %v", err)
			}
		}
		if len(names) == 0 {
			if attempt > 1 {
				p.recordFailure(j.recordAs, rec)
				res.Recorded = true
			}
			return res, fail(0, "no personas are configured in Lobby.pLLM.personas")
		}
		prompt := m.render(cfg.template)
		if j.allow != nil {
			if err := j.allow(res.Spent, worstCase(cfg, names, prompt)); err != nil {
				if attempt > 1 {
					p.recordFailure(j.recordAs, rec)
					res.Recorded = true
				}
				return res, &GenerationError{NotUnderstood: j.nu, Attempts: attempt - 1, Reason: err.Error(), Cause: err}
			}
		}
		rec.attempts, res.Attempts = attempt, attempt
		for _, n := range names {
			if !slices.Contains(rec.personas, n) {
				rec.personas = append(rec.personas, n)
			}
		}
		rec.routing = scores
		// Waiting on the model and the sandbox is not under the caller's
		// deadline: generationTimeout bounds it instead. The model's time
		// hides the start of the sandbox child that will trial-run its
		// candidate.
		resume := j.suspend()
		p.opts.Sandbox.Prewarm()
		if fitted != nil {
			prompt = <-fitted
		} else {
			prompt = p.fitPrompt(ctx, cfg.personas[names[0]].endpoint, m, cfg)
		}
		rec.prompt, rec.promptHash = prompt, promptHash(prompt)
		res.PromptBytes = len(prompt) + len(cfg.request(cfg.personas[names[0]], "").Messages[0].Content)
		cands := p.generate(ctx, j.principal, cfg, names, j.sel, prompt, true, attempt)
		unreachable := 0
		var accepted *candidate
		for _, cand := range cands {
			res.Spent.add(cand, prompt)
			if cand.unreachable != nil {
				unreachable++
				continue
			}
			res.Model, res.LoRA = cand.model, cand.lora
			if accepted != nil {
				cand.outcome = "not needed"
				continue
			}
			var reviewed []string
			p.opts.Sandbox.Prewarm() // for a candidate after the first
			ok := p.validate(ctx, j, cand) && p.review(ctx, j.principal, cfg, cand, m, j.sel, attempt, &res.Spent, &reviewed)
			if ok {
				// Its trial passed, so it compiles: here too from now on
				// (once per source: see interp.Compiler), while the rest
				// of the pipeline runs. The install does not wait for it
				// (DefineTrialed); the retried send does.
				go func() { _, _ = p.k.Compiler().Compile(j.sel, cand.source) }()
			}
			for _, n := range reviewed {
				if !slices.Contains(rec.personas, n) {
					rec.personas = append(rec.personas, n)
				}
			}
			if ok {
				accepted = cand
			} else {
				failures = append(failures, fmt.Sprintf("- %s's candidate: %s", cand.persona, cand.err))
			}
			p.publishOutcome(j.principal, j.sel, attempt, cand)
		}
		resume()
		for _, cand := range cands {
			if cand.unreachable != nil || cand.outcome == "not needed" {
				p.publishOutcome(j.principal, j.sel, attempt, cand)
			}
		}
		rec.candidates = append(rec.candidates, cands...)
		if accepted != nil {
			installed, err := p.install(ctx, j, rec, accepted)
			if err != nil {
				return res, fail(attempt, "installing the accepted method: %v", err)
			}
			res.Persona, res.installed = accepted.persona, installed
			res.Model, res.LoRA, res.Source = accepted.model, accepted.lora, accepted.source
			return res, nil
		}
		if unreachable == len(cands) && len(cands) > 0 {
			// No model answered: nothing was generated, so nothing is
			// recorded — an offline server must not fill history.
			return res, fail(0, "%v", cands[0].unreachable)
		}
		if ctx.Err() != nil {
			p.recordFailure(j.recordAs, rec)
			res.Recorded = true
			return res, fail(attempt, "%v", ctx.Err())
		}
	}
	p.recordFailure(j.recordAs, rec)
	res.Recorded = true
	return res, fail(cfg.maxAttempts, "%s", lastFailure(failures))
}

// add counts a model call's cost; a server that reports no timings is
// charged an estimate of four bytes a token.
func (sp *Spent) add(c *candidate, prompt string) {
	if c.unreachable != nil {
		return
	}
	sp.Calls++
	if n := c.timings.PromptN + c.timings.PredictedN + c.timings.CacheN; n > 0 {
		sp.Tokens += n
		return
	}
	sp.Tokens += (len(prompt) + len(c.answer) + 3) / 4
}

// worstCase is what one attempt with n personas may cost at most: a call
// each (and a review each), and, when the sampling caps the answer, the
// prompt's estimated tokens plus the cap per call; Tokens is 0 when the
// answer is not capped.
func worstCase(cfg config, names []string, prompt string) Spent {
	calls := len(names)
	if cfg.reviewer != "" {
		calls *= 2
	}
	w := Spent{Calls: calls}
	system := 0
	for _, n := range names {
		system = max(system, len(cfg.personas[n].systemPrompt))
	}
	if capped, ok := cfg.sampling["max_tokens"].(int); ok && capped > 0 {
		// A token is rarely under two bytes of English or Go; the review
		// prompt quotes the candidate, so it is charged the cap again.
		w.Tokens = calls * ((len(prompt)+system+1)/2 + 2*capped)
	}
	return w
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
//
// Candidates for a method (constrain true) are constrained by Grammar(sel)
// where Lobby.pLLM.constrain and the server allow; a server that refuses
// the grammar is asked again without it, and never again with one.
func (p *PLLM) generate(ctx context.Context, principal string, cfg config, names []string, sel, prompt string, constrain bool, attempt int) []*candidate {
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
			var answered atomic.Bool
			onToken := func(tok string) {
				answered.Store(true)
				p.k.Bus().PublishToken(kernel.Token{Principal: principal, Persona: name, Selector: sel, Text: tok, Attempt: attempt})
			}
			// A server that accepts the request and says nothing: say
			// that it is waited for, and how long, until it answers.
			stopWaiting := p.whileSilent(ctx, &answered, func(waited time.Duration) {
				p.k.Bus().PublishToken(kernel.Token{Principal: principal, Persona: name, Selector: sel, Waiting: waited, Endpoint: per.endpoint, Attempt: attempt})
			})
			defer stopWaiting()
			req := cfg.request(per, prompt)
			cl := p.client(per.endpoint)
			if len(per.loraPaths) > 0 {
				ids, note := resolveLoRA(ctx, cl, per.loraPaths)
				req.LoRA = append(req.LoRA, ids...)
				cand.lora = note
			}
			// A persona without an adapter is answered by the base model,
			// even by a llama-server started applying adapters to every
			// request: the image says which adapter each persona uses.
			req.NoLoRA = len(req.LoRA) == 0 && p.isLlamaCpp(ctx, per.endpoint)
			if constrain && p.constrained(ctx, per.endpoint, cfg.constrain) {
				req.Grammar = Grammar(sel)
			}
			call := func() (llama.Result, error) {
				if cfg.route == "/completion" {
					return cl.Complete(ctx, req, onToken)
				}
				return cl.Chat(ctx, req, onToken)
			}
			res, err := call()
			if err != nil && req.Grammar != "" && grammarRefused(err) {
				p.log.Warn("the model server refused the pLLM's grammar; asking without it from now on", "endpoint", per.endpoint, "err", err)
				p.refuseGrammar(per.endpoint)
				req.Grammar = ""
				res, err = call()
			}
			cand.constrained = req.Grammar != ""
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
			var misconfigured *llama.ConfigError
			switch {
			case errors.As(err, &unreachable), errors.As(err, &misconfigured):
				// Neither is the model's answer: nothing was generated,
				// and asking again cannot help.
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
// was rejected. The install target is resolved and checked against the
// write policy through j's view of the image.
func (p *PLLM) validate(ctx context.Context, j *job, cand *candidate) bool {
	reject := func(format string, a ...any) bool {
		cand.outcome, cand.err = "rejected", fmt.Sprintf(format, a...)
		return false
	}
	if cand.outcome == "failed" {
		return false
	}
	src, err := Extract(cand.answer, j.sel)
	if err != nil {
		return reject("%v", err)
	}
	cand.source = src
	sig, err := interp.ParseMethod(j.sel, src)
	if err != nil {
		return reject("%v", err)
	}
	if n := len(sig.Params); n != len(j.args) && !(sig.Variadic && len(j.args) >= n-1) {
		return reject("func %s takes %d argument%s after self, but the send passes %d", j.sel, n, plural(n), len(j.args))
	}
	var holder image.OID
	err = j.view(func(s *kernel.Session) error {
		target, err := installTarget(s, j.recv, InstallTarget(cand.answer))
		if err != nil {
			return err
		}
		if path, ok := s.Protected(target.OID()); ok {
			return fmt.Errorf("the write policy protects %s (%s in Lobby.pLLM.policy.never): model-written methods may not be installed there", s.Describe(target.OID()), path)
		}
		holder = target.OID()
		return s.MayDefine(holder, j.sel)
	})
	if err != nil {
		return reject("%v", err)
	}
	// The trial defines the candidate where it will be installed, under
	// the author it will have, so it runs under the write policy exactly
	// as the installed method will.
	resp, err := p.opts.Sandbox.Trial(ctx, p.k.Store(), sandbox.Request{
		Receiver: j.recv, Holder: holder, Selector: j.sel, Source: src, Args: j.args,
		Author:     j.author + "/" + cand.persona,
		DeadlineMS: int(p.opts.TrialDeadline / time.Millisecond),
		Checks:     j.checks,
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

// install commits the accepted method on the receiver, then the
// generation record naming its transaction, as author/<persona>.
func (p *PLLM) install(ctx context.Context, j *job, rec *record, cand *candidate) (*kernel.Pending, error) {
	rec.accepted = cand.persona
	// The record is built while the install runs, and commits once the
	// install is applied (a transaction of its own: see below), while
	// the install's sync is under way: it takes its place on the disk
	// and on the bus after the install.
	var installTx image.TxID
	installed, recorded := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(recorded)
		p.recordGeneration(j.recordAs, "record generation of "+rec.selector, rec, func(s *kernel.Session, o kernel.Object) error {
			<-installed
			if installTx == 0 {
				return errNotInstalled
			}
			o.Set("installTx", int(installTx))
			s.SetNote(fmt.Sprintf("record generation of %s (installed in transaction %d)", rec.selector, installTx))
			return nil
		})
	}()
	s := p.k.NewSession(j.author + "/" + cand.persona)
	note := fmt.Sprintf("define %s on %s (model %s, prompt %s, attempt %d, %s)", rec.selector, j.nu.Receiver, orUnknown(cand.model), rec.promptHash, rec.attempts, cand.took.Round(time.Millisecond))
	if j.note != "" {
		note = j.note + ": " + note
	}
	pending, err := s.Apply(context.WithoutCancel(ctx), note, func(lobby kernel.Object) error {
		target, err := installTarget(s, rec.receiver, InstallTarget(cand.answer))
		if err != nil {
			return err
		}
		if path, ok := s.Protected(target.OID()); ok {
			return fmt.Errorf("the write policy protects %s (%s in Lobby.pLLM.policy.never)", s.Describe(target.OID()), path)
		}
		// Defined by the session of principal author/<persona>: the
		// method's author, which puts it under the write policy. It
		// compiled in its trial, and is compiling here since (see
		// pipeline): the retried send waits for that, while the disk
		// syncs the install.
		target.DefineTrialed(rec.selector, cand.source)
		return nil
	})
	// The record and the personas' counters commit apart from the
	// method: every generation changes them, so in the install's
	// transaction they would make its undo conflict with any later
	// generation's. A crash between the two loses the record, never the
	// method.
	if err == nil {
		installTx = pending.ID()
	}
	close(installed)
	<-recorded
	if err != nil {
		return nil, err
	}
	p.log.Info("pLLM installed a method", "selector", rec.selector, "persona", cand.persona, "attempts", rec.attempts, "principal", s.Principal())
	return pending, nil
}

// errNotInstalled ends the record of an install that failed: it commits
// nothing (the pipeline reports the failure).
var errNotInstalled = errors.New("the method was not installed")

// recordFailure commits the record of a generation that installed nothing.
func (p *PLLM) recordFailure(principal string, rec *record) {
	p.recordGeneration(principal, fmt.Sprintf("record failed generation of %s", rec.selector), rec, nil)
}

// recordGeneration commits a generation's record in its own transaction,
// once ready, when given, has returned nil for the record object it made
// (an error commits nothing).
//
// The commit is lazy: a record is what the image can lose in a crash (the
// method it records was committed, synced, before it), and waiting for the
// disk a second time is most of what an install costs beyond the model.
func (p *PLLM) recordGeneration(principal, note string, rec *record, ready func(*kernel.Session, kernel.Object) error) {
	s := p.k.NewSession(principal)
	s.SetLazyCommits(true)
	_, err := s.Run(context.Background(), note, func(lobby kernel.Object) error {
		o := rec.commit(s, lobby)
		if ready != nil {
			return ready(s, o)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNotInstalled) {
		p.log.Warn("recording a generation", "selector", rec.selector, "err", err)
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
	cfg.context.api = false // a question, not a method to write
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
	cands := p.generate(ctx, c.Session.Principal(), cfg, []string{name}, "infer", prompt, false, 0)
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
func (p *PLLM) review(ctx context.Context, principal string, cfg config, cand *candidate, m mandate, sel string, attempt int, spent *Spent, reviewed *[]string) bool {
	if cfg.reviewer == "" {
		return true
	}
	if _, ok := cfg.personas[cfg.reviewer]; !ok {
		return true
	}
	prompt := fmt.Sprintf("Review this method written for %s.%s(%s).\nAnswer APPROVE or REJECT on the first line, then one line of reason.\n\n```go\n%s\n```\n", m.Receiver, sel, m.Arguments, cand.source)
	r := p.generate(ctx, principal, cfg, []string{cfg.reviewer}, sel, prompt, false, attempt)[0]
	spent.add(r, prompt)
	if reviewed != nil && r.unreachable == nil {
		*reviewed = append(*reviewed, cfg.reviewer)
	}
	cand.review = strings.TrimSpace(r.answer)
	switch {
	case r.unreachable != nil:
		return true // no reviewer to ask: the trial run stands
	case r.err != "":
		cand.outcome, cand.err = "rejected", fmt.Sprintf("%s's review failed: %s", cfg.reviewer, r.err)
		return false
	case !strings.HasPrefix(strings.ToUpper(cand.review), "APPROVE"):
		cand.outcome, cand.err = "rejected", fmt.Sprintf("%s's review: %s", cfg.reviewer, abbreviate(cand.review, 200))
		p.k.Bus().PublishToken(kernel.Token{Principal: principal, Persona: cfg.reviewer, Selector: sel, Attempt: attempt, Outcome: "rejected", Reason: abbreviate(cand.review, 200)})
		return false
	}
	p.k.Bus().PublishToken(kernel.Token{Principal: principal, Persona: cfg.reviewer, Selector: sel, Attempt: attempt, Outcome: "approved", Reason: abbreviate(cand.review, 200)})
	return true
}

// publishOutcome ends a candidate's stream on the bus with what became
// of it: clients separate the attempts and say why each was rejected.
func (p *PLLM) publishOutcome(principal, sel string, attempt int, cand *candidate) {
	p.k.Bus().PublishToken(kernel.Token{Principal: principal, Persona: cand.persona, Selector: sel, Attempt: attempt, Outcome: cand.outcome, Reason: cand.err})
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

// resolveLoRA maps adapters named by file to the ids the server gives
// them (the order of its --lora flags), and says what it used: an adapter
// the server has not loaded is left out (the base model answers), never
// mistaken for another.
func resolveLoRA(ctx context.Context, cl *llama.Client, want []pathLoRA) ([]llama.LoRA, string) {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	loaded, err := cl.LoRAAdapters(lctx)
	if err != nil {
		return nil, fmt.Sprintf("adapters not applied: GET /lora-adapters: %v", err)
	}
	var ids []llama.LoRA
	var notes []string
	for _, w := range want {
		found := false
		for _, a := range loaded {
			if filepath.Clean(a.Path) == filepath.Clean(w.path) {
				ids = append(ids, llama.LoRA{ID: a.ID, Scale: w.scale})
				notes = append(notes, fmt.Sprintf("%s as adapter %d at scale %g", w.path, a.ID, w.scale))
				found = true
				break
			}
		}
		if !found {
			notes = append(notes, fmt.Sprintf("%s not applied: the server has not loaded it (restart it with --lora %s)", w.path, w.path))
		}
	}
	return ids, strings.Join(notes, "; ")
}

// waitNotice is how often a silent model server is said to be waited for
// (a variable for the tests).
var waitNotice = 5 * time.Second

// whileSilent calls notify every waitNotice, with the time waited so far,
// until answered is set or ctx ends; stop ends it.
func (p *PLLM) whileSilent(ctx context.Context, answered *atomic.Bool, notify func(time.Duration)) (stop func()) {
	done := make(chan struct{})
	start := time.Now()
	every := waitNotice // read here: the goroutine may outlive the call
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if answered.Load() {
					return
				}
				notify(time.Since(start))
			}
		}
	}()
	return func() { close(done) }
}
