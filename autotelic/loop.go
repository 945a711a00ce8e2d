package autotelic

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"batos"
	"batos/image"
	"batos/interp"
	"batos/kernel"
	"batos/kernel/entropy"
	"batos/kernel/pllm"
	"batos/kernel/pllm/bench"
	"batos/kernel/sandbox"
)

// Outcomes of a step.
const (
	Installed = "installed" // the pLLM installed the method
	Failed    = "failed"    // no candidate passed; the generation is recorded
	Queued    = "queued"    // a Forge job was queued
	Stopped   = "stopped"   // the switch or a budget ended it between attempts
	Measured  = "measured"  // a held-out bench run was recorded
)

// Errors a step can end with before it changes anything.
var (
	// ErrBusy: another step is running in this process.
	ErrBusy = errors.New("autotelic: a step is already running")
	// ErrNoMandate: nothing in the image gives a mandate to choose.
	ErrNoMandate = errors.New("autotelic: no mandate to choose from (no object with data and little behaviour, no failed selector, no untested method)")
	// ErrOffline: no model server answers.
	ErrOffline = errors.New("autotelic: the pLLM is offline")
	// ErrNoPLLM: this process has no pLLM.
	ErrNoPLLM = errors.New("autotelic: the pLLM is not installed in this process")
	// ErrSwitchedOff: the switch went off during the step.
	ErrSwitchedOff = errors.New("autotelic: switched off")
)

// BudgetError says which budget a step would go past.
type BudgetError struct {
	Resource   string // "model calls", "tokens", "commits"
	Used, Need int    // spent in the last hour; what the step needs at most
	Limit      int
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("autotelic: budget: %d of %d %s an hour used, and the next attempt may need %d", e.Used, e.Limit, e.Resource, e.Need)
}

// Options configures a Loop.
type Options struct {
	// Poll is how often the worker measures CEM (default 30 s); a commit
	// to Lobby.autotelic wakes it at once.
	Poll time.Duration
	// Sandbox runs the trials of measure steps (the held-out bench);
	// nil: the loop proposes no measure mandates.
	Sandbox *sandbox.Runner
}

// Loop is the autotelic loop of one kernel.
type Loop struct {
	k    *kernel.Kernel
	p    *pllm.PLLM // nil: no pLLM here, steps fail with ErrNoPLLM
	opts Options
	log  *slog.Logger

	step sync.Mutex // one step at a time

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	startOnce sync.Once
	ticks     atomic.Int64 // the worker's looks, for tests that wait on it
}

// Install binds Lobby.autotelic's step primitive in k and gives an image
// awakened before the loop existed its Lobby.autotelic, switched off.
// Start runs the worker.
func Install(k *kernel.Kernel, p *pllm.PLLM, opts Options) (*Loop, error) {
	if opts.Poll <= 0 {
		opts.Poll = 30 * time.Second
	}
	l := &Loop{k: k, p: p, opts: opts, log: k.Logger().With("component", "autotelic")}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	k.RegisterPrimitive("autotelicStep", l.primStep)
	k.RegisterPrimitive("autotelicMandates", l.primMandates)
	if err := l.migrate(); err != nil {
		return nil, err
	}
	return l, nil
}

// Start starts the worker (once).
func (l *Loop) Start() {
	l.startOnce.Do(func() {
		l.wg.Add(1)
		go l.run()
	})
}

// Close stops the worker and waits for it; a step in flight is cancelled
// (what it committed stays).
func (l *Loop) Close() {
	l.cancel()
	l.wg.Wait()
}

// Entry is one step: what was chosen, why, what it did and cost, and CEM
// before and after. The ledger keeps it as a map (asMap).
type Entry struct {
	Time       time.Time
	Trigger    string // "loop", or the principal that asked for the step
	Mandate    Mandate
	Candidates int // mandates it chose among
	Outcome    string
	Error      string
	Tx         image.TxID // the install's or the Forge job's commit
	Job        int        // the Forge job's id
	Spent      pllm.Spent
	Commits    int // including the ledger's own
	CEMBefore  float64
	CEMAfter   float64
	Measured   bool   // CEMAfter was measured
	Detail     string // what a measure step found
}

// String is the step as `batos autotelic step` prints it.
func (e Entry) String() string {
	var b strings.Builder
	m := e.Mandate
	fmt.Fprintf(&b, "chose %s", m.Kind)
	switch {
	case m.Kind == Forge:
		fmt.Fprintf(&b, ": fine-tune %s", m.Persona)
	case m.Persona != "":
		fmt.Fprintf(&b, ": %s writes %s on %s", m.Persona, m.Selector, m.TargetName)
	default:
		fmt.Fprintf(&b, ": %s on %s", m.Selector, m.TargetName)
	}
	fmt.Fprintf(&b, " (gain %.3f, tried %d, of %d mandates)\n", m.Gain, m.Tried, e.Candidates)
	fmt.Fprintf(&b, "why: %s\n", m.Reason)
	switch e.Outcome {
	case Installed:
		fmt.Fprintf(&b, "did: installed %s on %s in transaction %d\n", m.Selector, m.TargetName, e.Tx)
	case Queued:
		fmt.Fprintf(&b, "did: queued Forge job %d in transaction %d\n", e.Job, e.Tx)
	case Measured:
		fmt.Fprintf(&b, "did: measured %s's held-out pass rate: %s\n", m.Persona, e.Detail)
	default:
		fmt.Fprintf(&b, "did: nothing installed (%s): %s\n", e.Outcome, e.Error)
	}
	fmt.Fprintf(&b, "cost: %d model call%s, %d tokens, %d commit%s\n", e.Spent.Calls, plural(e.Spent.Calls), e.Spent.Tokens, e.Commits, plural(e.Commits))
	if e.Measured {
		fmt.Fprintf(&b, "CEM: %.3f → %.3f (%+.3f)", e.CEMBefore, e.CEMAfter, e.CEMAfter-e.CEMBefore)
	} else {
		fmt.Fprintf(&b, "CEM: %.3f before", e.CEMBefore)
	}
	return b.String()
}

func (e Entry) asMap(s *kernel.Session) map[string]any {
	m := e.Mandate
	out := map[string]any{
		"time": e.Time.UTC().Format(time.RFC3339), "trigger": e.Trigger,
		"kind": m.Kind, "key": m.key(), "selector": m.Selector, "persona": m.Persona, "targetName": m.TargetName,
		"reason": m.Reason, "prior": m.Prior, "gain": m.Gain, "tried": m.Tried, "candidates": e.Candidates,
		"outcome": e.Outcome, "error": e.Error, "tx": int(e.Tx), "job": e.Job,
		"calls": e.Spent.Calls, "tokens": e.Spent.Tokens, "commits": e.Commits,
		"cemBefore": e.CEMBefore, "summary": e.String(),
	}
	if e.Detail != "" {
		out["detail"] = e.Detail
	}
	if e.Measured {
		out["cemAfter"] = e.CEMAfter
	}
	if m.Target != 0 {
		out["target"] = s.Object(m.Target)
	}
	return out
}

// errRead ends a transaction that only read: whatever image code ran in
// it (the choice rule) commits nothing.
var errRead = errors.New("read only")

// view runs fn in a transaction that never commits.
func (l *Loop) view(ctx context.Context, fn func(s *kernel.Session, lobby kernel.Object) error) error {
	s := l.k.NewSession(Principal)
	_, err := s.Run(ctx, "", func(lobby kernel.Object) error {
		if err := fn(s, lobby); err != nil {
			return err
		}
		return errRead
	})
	if errors.Is(err, errRead) {
		return nil
	}
	return err
}

// plan is what a step decided before it acts.
type plan struct {
	cfg     Config
	before  entropy.Reading
	used    Budget
	chosen  Mandate
	choices int
}

// Step runs one mandate now, within the budgets, whatever the period and
// the switch: trigger "loop" (the worker's steps) also stops when the
// switch goes off. It returns what it did; an error with a zero Entry
// means it changed nothing.
func (l *Loop) Step(ctx context.Context, trigger string) (Entry, error) {
	if !l.step.TryLock() {
		return Entry{}, ErrBusy
	}
	defer l.step.Unlock()
	if l.p == nil {
		return Entry{}, ErrNoPLLM
	}
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := l.p.Reachable(hctx)
	cancel()
	if err != nil {
		return Entry{}, fmt.Errorf("%w: %v", ErrOffline, err)
	}
	pl, err := l.plan(ctx)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Time: time.Now(), Trigger: trigger, Mandate: pl.chosen, Candidates: pl.choices, CEMBefore: pl.before.CEM}
	m := pl.chosen
	switch m.Kind {
	case Forge:
		err = l.queueJob(ctx, &e)
	case Measure:
		err = l.measure(ctx, pl, &e)
	default:
		err = l.generate(ctx, pl, &e)
	}
	if err != nil {
		return Entry{}, err
	}
	if err := l.record(ctx, &e); err != nil {
		return e, fmt.Errorf("autotelic: the step %s, but its ledger entry was not committed: %w", e.Outcome, err)
	}
	l.log.Info("step", "trigger", trigger, "kind", m.Kind, "selector", m.Selector, "target", m.TargetName, "persona", m.Persona,
		"outcome", e.Outcome, "cemBefore", e.CEMBefore, "cemAfter", e.CEMAfter, "calls", e.Spent.Calls, "tokens", e.Spent.Tokens)
	return e, nil
}

// Candidates lists the mandates a step would choose among now, with
// their expected gains, in the order the choice rule sees them.
func (l *Loop) Candidates(ctx context.Context) ([]Mandate, error) {
	var out []Mandate
	err := l.view(ctx, func(s *kernel.Session, lobby kernel.Object) error {
		a, ok := object(lobby, "autotelic")
		if !ok {
			return errors.New("autotelic: the image has no Lobby.autotelic")
		}
		before, err := entropy.Measure(s)
		if err != nil {
			return err
		}
		out, err = mandates(s, lobby, readConfig(a, true), readLedger(a), before, l.opts.Sandbox != nil)
		return err
	})
	return out, err
}

// plan measures, checks the budgets, gathers the mandates and asks the
// image's choice rule for one, in a transaction that commits nothing.
func (l *Loop) plan(ctx context.Context) (plan, error) {
	var pl plan
	err := l.view(ctx, func(s *kernel.Session, lobby kernel.Object) error {
		a, ok := object(lobby, "autotelic")
		if !ok {
			return errors.New("autotelic: the image has no Lobby.autotelic")
		}
		pl.cfg = readConfig(a, true)
		ledger := readLedger(a)
		pl.used = used(ledger, time.Now().Add(-time.Hour))
		if err := pl.cfg.Budget.allows(pl.used, Budget{Calls: 1, Commits: 2}); err != nil {
			return err
		}
		var err error
		if pl.before, err = entropy.Measure(s); err != nil {
			return err
		}
		mandates, err := mandates(s, lobby, pl.cfg, ledger, pl.before, l.opts.Sandbox != nil)
		if err != nil {
			return err
		}
		if len(mandates) == 0 {
			return ErrNoMandate
		}
		list := make([]any, len(mandates))
		for i, m := range mandates {
			list[i] = m.asMap(s)
		}
		i, err := choose(a, list)
		if err != nil {
			return err
		}
		pl.chosen, pl.choices = mandates[i], len(mandates)
		return nil
	})
	return pl, err
}

// mandates marks the ledger's reverted installs and gathers the mandates.
func mandates(s *kernel.Session, lobby kernel.Object, cfg Config, ledger []entry, before entropy.Reading, measure bool) ([]Mandate, error) {
	for i := range ledger {
		if ledger[i].installed && ledger[i].hasTarget {
			kept, err := entropy.Responds(s, ledger[i].target, ledger[i].selector)
			if err != nil {
				return nil, err
			}
			ledger[i].reverted = !kept
		}
	}
	st := situation{s: s, lobby: lobby, cfg: cfg, reading: before, weights: entropy.ReadConfig(lobby).Weights, ledger: ledger, measure: measure}
	if p, ok := object(lobby, "pLLM"); ok {
		if ps, ok := object(p, "personas"); ok {
			for _, name := range ps.Slots() {
				if _, ok := object(ps, name); ok && !strings.HasSuffix(name, "*") {
					st.personas = append(st.personas, name)
				}
			}
		}
	}
	slices.Sort(st.personas)
	return gather(st)
}

// choose sends Lobby.autotelic's choose with the candidates; it must
// answer an index into them.
func choose(a kernel.Object, list []any) (i int, err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok && mustPropagate(e) {
				panic(r)
			}
			err = fmt.Errorf("autotelic: the choice rule Lobby.autotelic.choose failed: %v", r)
		}
	}()
	v := a.Send("choose", list)
	i, ok := v.(int)
	if !ok || i < 0 || i >= len(list) {
		return 0, fmt.Errorf("autotelic: the choice rule Lobby.autotelic.choose answered %v, not an index below %d", v, len(list))
	}
	return i, nil
}

// mustPropagate: a guard stop or a retry belongs to the transaction.
func mustPropagate(err error) bool {
	var retry *kernel.RetryError
	var stop *interp.StopError
	return errors.As(err, &retry) || errors.As(err, &stop)
}

// allows reports whether spending need on top of used stays within b.
func (b Budget) allows(used, need Budget) error {
	switch {
	case used.Calls+need.Calls > b.Calls:
		return &BudgetError{Resource: "model calls", Used: used.Calls, Need: need.Calls, Limit: b.Calls}
	case used.Tokens+need.Tokens > b.Tokens:
		return &BudgetError{Resource: "tokens", Used: used.Tokens, Need: need.Tokens, Limit: b.Tokens}
	case used.Commits+need.Commits > b.Commits:
		return &BudgetError{Resource: "commits", Used: used.Commits, Need: need.Commits, Limit: b.Commits}
	}
	return nil
}

// measure runs the held-out bench for the mandate's persona, one attempt
// a mandate, within the budgets, and records it in Lobby.pLLM.benchmarks.
func (l *Loop) measure(ctx context.Context, pl plan, e *Entry) error {
	m := pl.chosen
	suite, err := bench.Load(batos.Mandates, batos.MandatesDir)
	if err != nil {
		return err
	}
	rep, err := bench.Run(ctx, l.k, bench.Options{
		Suite: suite, Split: bench.HeldOut, Personas: []string{m.Persona}, Attempts: 1,
		Sandbox: l.opts.Sandbox, Principal: Principal,
		Allow: func(spent, next pllm.Spent) error {
			if e.Trigger == "loop" && !l.enabled(ctx) {
				return ErrSwitchedOff
			}
			// Two commits stay in reserve: the run's record and the ledger's.
			return pl.cfg.Budget.allows(pl.used, Budget{Calls: spent.Calls + next.Calls, Tokens: spent.Tokens + next.Tokens, Commits: 2})
		},
	})
	if rep != nil {
		for _, o := range rep.Outcomes {
			e.Spent.Calls += o.Calls
			e.Spent.Tokens += o.Tokens
		}
	}
	e.Commits = 1 // the ledger's
	var budget *BudgetError
	switch {
	case err != nil && e.Spent.Calls == 0:
		return err // nothing asked, nothing to record
	case errors.Is(err, ErrSwitchedOff), errors.As(err, &budget):
		// A partial run is no pass rate: it is not recorded.
		e.Outcome, e.Error = Stopped, err.Error()
		return nil
	case err != nil:
		e.Outcome, e.Error = Failed, err.Error()
		return nil
	}
	if _, err := bench.Record(ctx, l.k, Principal, rep); err != nil {
		return err
	}
	e.Commits++
	row, _ := rep.Row(m.Persona)
	e.Outcome = Measured
	e.Detail = fmt.Sprintf("%d/%d held-out mandates passed (suite %s)", row.Pass, row.Mandates, rep.Version)
	return nil
}

// generate has the pLLM write the mandate's method.
func (l *Loop) generate(ctx context.Context, pl plan, e *Entry) error {
	m := pl.chosen
	var personas []string
	if m.Persona != "" {
		personas = []string{m.Persona}
	}
	req := pllm.Request{
		Principal: Principal, Receiver: m.Target, Selector: m.Selector, Args: m.Args,
		Personas: personas, Purpose: m.Purpose, MaxTokens: pl.cfg.MaxTokens,
		Note: fmt.Sprintf("autotelic %s: %s", m.Kind, m.Reason),
		Allow: func(spent, next pllm.Spent) error {
			if e.Trigger == "loop" && !l.enabled(ctx) {
				return ErrSwitchedOff
			}
			// Two commits stay in reserve: the generation's and the ledger's.
			return pl.cfg.Budget.allows(pl.used, Budget{Calls: spent.Calls + next.Calls, Tokens: spent.Tokens + next.Tokens, Commits: 2})
		},
	}
	res, err := l.p.Generate(ctx, req)
	e.Spent = res.Spent
	e.Commits = 1 // the ledger's
	if res.Install.ID != 0 {
		e.Commits++
		e.Outcome, e.Tx = Installed, res.Install.ID
		return nil
	}
	if res.Recorded {
		e.Commits++
	}
	var budget *BudgetError
	switch {
	case err == nil:
		return errors.New("autotelic: the pLLM neither installed nor failed") // cannot happen
	case res.Spent.Calls == 0 && !res.Recorded:
		// Nothing was asked or committed (offline, refused, over budget
		// at the first attempt): the step changed nothing.
		if errors.As(err, &budget) {
			return budget
		}
		if errors.Is(err, ErrSwitchedOff) {
			return ErrSwitchedOff
		}
		return err
	case errors.Is(err, ErrSwitchedOff), errors.As(err, &budget):
		e.Outcome = Stopped
	default:
		e.Outcome = Failed
	}
	e.Error = err.Error()
	return nil
}

// queueJob queues a Forge job for the mandate's persona.
func (l *Loop) queueJob(ctx context.Context, e *Entry) error {
	m := e.Mandate
	s := l.k.NewSession(Principal)
	info, err := s.Run(ctx, fmt.Sprintf("autotelic forge: fine-tune %s: %s", m.Persona, m.Reason), func(lobby kernel.Object) error {
		job, ok := lobby.At("Forge").Send("fineTune", m.Persona).(kernel.Object)
		if !ok {
			return errors.New("Forge.fineTune answered no job")
		}
		e.Job = count(get(job, "id"), 0)
		return nil
	})
	if err != nil {
		return fmt.Errorf("autotelic: queue a fine-tune of %s: %w", m.Persona, err)
	}
	e.Outcome, e.Tx, e.Commits = Queued, info.ID, 2
	return nil
}

// record measures CEM after the step and commits the ledger entry and the
// reading together, the note saying what the step did to CEM: the
// transcript tells the story without opening the ledger.
func (l *Loop) record(ctx context.Context, e *Entry) error {
	ctx = context.WithoutCancel(ctx)
	var after entropy.Reading
	if err := l.view(ctx, func(s *kernel.Session, _ kernel.Object) error {
		var err error
		after, err = entropy.Measure(s)
		return err
	}); err != nil {
		return err
	}
	e.CEMAfter, e.Measured = after.CEM, true
	m := e.Mandate
	what := fmt.Sprintf("%s %s on %s", m.Kind, m.Selector, m.TargetName)
	if m.Kind == Forge {
		what = "forge " + m.Persona
	}
	note := fmt.Sprintf("autotelic: ledger: %s, %s, CEM %.3f → %.3f", what, e.Outcome, e.CEMBefore, e.CEMAfter)
	s := l.k.NewSession(Principal)
	_, err := s.Run(ctx, note, func(lobby kernel.Object) error {
		a, ok := object(lobby, "autotelic")
		if !ok {
			return errors.New("the image has no Lobby.autotelic")
		}
		if _, ok := object(lobby, "entropy"); ok {
			if err := entropy.Append(s, after, time.Now()); err != nil {
				return err
			}
		}
		ledger, _ := get(a, "ledger").([]any)
		ledger = append(ledger, e.asMap(s))
		if max := readConfig(a, true).LedgerMax; max > 0 && len(ledger) > max {
			ledger = ledger[len(ledger)-max:]
		}
		a.Set("ledger", ledger)
		return nil
	})
	return err
}

// enabled reads the switch.
func (l *Loop) enabled(ctx context.Context) bool {
	on := false
	l.view(ctx, func(_ *kernel.Session, lobby kernel.Object) error {
		on = Enabled(lobby)
		return nil
	})
	return on
}

// primStep is Lobby.autotelic.step: one step now, answered as its ledger
// entry. Model-written code may not send it: a step commits outside the
// caller's transaction, where the write policy does not reach.
func (l *Loop) primStep(c *kernel.PrimitiveCall) (any, error) {
	if len(c.Args) != 0 {
		return nil, fmt.Errorf("step: want no arguments, got %d", len(c.Args))
	}
	if author, ok := c.Session.ModelFrame(); ok {
		return nil, fmt.Errorf("step: model-written code (%s) may not run the autotelic loop", author)
	}
	resume := c.Suspend()
	defer resume()
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	e, err := l.Step(ctx, c.Session.Principal())
	if err != nil {
		return nil, err
	}
	return e.asMap(c.Session), nil
}

// primMandates is Lobby.autotelic.mandates: the mandates a step would
// choose among now, each as the choice rule sees it, best score first by
// the default rule — what the loop would do, before it is switched on.
func (l *Loop) primMandates(c *kernel.PrimitiveCall) (any, error) {
	if len(c.Args) != 0 {
		return nil, fmt.Errorf("mandates: want no arguments, got %d", len(c.Args))
	}
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	ms, err := l.Candidates(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(ms, func(a, b Mandate) int {
		return cmp.Compare(b.Gain/float64(1+b.Tried), a.Gain/float64(1+a.Tried))
	})
	out := make([]any, len(ms))
	for i, m := range ms {
		out[i] = m.asMap(c.Session)
	}
	return out, nil
}
