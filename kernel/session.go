package kernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"batos/image"
	"batos/interp"
)

// Session is one client of the kernel — a REPL, a TUI, a remote
// connection, the autotelic loop — with a principal that its commits are
// recorded under. A session runs one top-level evaluation at a time;
// different sessions run concurrently.
type Session struct {
	k         *Kernel
	principal string

	mu sync.Mutex // held for the whole of each top-level evaluation
	// tx and guard belong to the evaluation in progress; nil between
	// evaluations. Object handles bound to this session read them.
	tx    *txn
	guard *interp.Guard
	ctx   context.Context
	ws    *interp.Workspace
	// inputs, when set, is the Lobby data slot Eval appends each input
	// that succeeded to, in the input's own transaction (see RecordInputs).
	inputs    string
	inputsCap int
	// closed is set when an evaluation was abandoned while still running
	// (interp.ErrAbandoned): its goroutine holds handles bound to this
	// session, so the session never evaluates again.
	closed bool
	out    io.Writer // where scripts' fmt.Print output goes; nil discards it
	// entry is the source of the Eval in progress; running is the method
	// whose body is executing (zero at the entry's top level). Both are
	// what a doesNotUnderstand can tell the model about the send.
	entry   string
	running runningMethod
	// limits, when set, adjusts the limits read from Lobby.system for each
	// evaluation of this session (see SetLimits).
	limits func(interp.Limits) interp.Limits
	// lazy makes the session's commits lazy (see SetLazyCommits).
	lazy bool
	// note is the note the evaluation in progress commits with (Run's,
	// unless SetNote changed it).
	note string
}

// SetNote replaces the note the transaction of the evaluation in progress
// commits with, for a note that names what is only known by then. It
// does nothing between evaluations.
func (s *Session) SetNote(note string) {
	if s.tx != nil {
		s.note = note
	}
}

// SetLazyCommits makes the session's later commits return once they are
// visible, without waiting for the disk (image.Txn.SetLazy): each becomes
// durable with the next commit of any session that is not lazy. For
// records the image can lose in a crash, such as the pLLM's generation
// records. It must not be called during an evaluation.
func (s *Session) SetLazyCommits(on bool) {
	s.mu.Lock()
	s.lazy = on
	s.mu.Unlock()
}

// SetLimits makes every later evaluation of the session run under
// adjust(the image's limits) instead of the image's limits, clamped to
// their ceilings like any: a trial runs under its own deadline without
// writing it into the image the candidate reads. It must not be called
// during an evaluation.
func (s *Session) SetLimits(adjust func(interp.Limits) interp.Limits) {
	s.mu.Lock()
	s.limits = adjust
	s.mu.Unlock()
}

// SetOutput directs the fmt.Print, Printf and Println output of the
// session's evaluations (and of every method they send to) to w. It must
// not be called during an evaluation.
func (s *Session) SetOutput(w io.Writer) {
	s.mu.Lock()
	s.out = w
	s.mu.Unlock()
}

// Output returns where the session's evaluations print (nil: nowhere):
// a primitive that reports progress prints there, as a script would.
func (s *Session) Output() io.Writer { return s.out }

// runningMethod names a method by where it was found.
type runningMethod struct {
	holder image.OID
	sel    string
}

// Origin says where the send in progress was made from: the method whose
// body is executing (its holder and selector), or, at an entry's top
// level, the entry's source (holder 0). Both are empty outside Eval and
// method bodies.
func (s *Session) Origin() (holder image.OID, sel, entry string) {
	return s.running.holder, s.running.sel, s.entry
}

// NewSession returns a session whose commits carry principal.
func (k *Kernel) NewSession(principal string) *Session {
	return &Session{k: k, principal: principal}
}

// Principal returns the name the session's commits are recorded under.
func (s *Session) Principal() string { return s.principal }

// Kernel returns the kernel the session runs on.
func (s *Session) Kernel() *Kernel { return s.k }

// maxConflictRetries bounds how often a top-level evaluation is re-run
// after a write conflict (ZODB's transaction.attempts).
const maxConflictRetries = 16

// Run runs fn as one top-level transaction: fn receives the Lobby bound to
// this session; everything it does commits together with note, or — on an
// error, a panic or a guard stop — nothing does. On a write conflict fn is
// run again on a fresh snapshot. Run returns once the transaction is
// durable and its event published, and so is every transaction a
// RetryError made it wait for.
func (s *Session) Run(ctx context.Context, note string, fn func(lobby Object) error) (image.TxInfo, error) {
	_, info, err := s.run(ctx, note, fn, true)
	return info, err
}

// Apply is Run returning as soon as the transaction is applied: visible
// to every transaction begun after it, and on its way to the disk. The
// caller can go on meanwhile, and waits for it with Pending.Wait (see
// RetryError.After). A transaction that wrote nothing gives a Pending
// with ID 0.
func (s *Session) Apply(ctx context.Context, note string, fn func(lobby Object) error) (*Pending, error) {
	p, _, err := s.run(ctx, note, fn, false)
	return p, err
}

// run is Run, and Apply when wait is false.
func (s *Session) run(ctx context.Context, note string, fn func(lobby Object) error, wait bool) (*Pending, image.TxInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, image.TxInfo{}, ErrSessionClosed
	}
	// after are the transactions that retries waited for: what the
	// attempt that counts saw, which must be durable when it returns.
	var after []*Pending
	settle := func(err error) error {
		for _, p := range after {
			if _, perr := p.Wait(); perr != nil && err == nil {
				err = perr
			}
		}
		return err
	}
	for attempt := 1; ; attempt++ {
		t := s.k.begin(s.principal)
		if s.lazy {
			t.it.SetLazy()
			t.lazy = true
		}
		limits := s.k.limits(t)
		if s.limits != nil {
			limits = s.limits(limits).Clamp()
		}
		// An attempt's output is held until the attempt counts: an
		// attempt that is run again prints nothing, so a retried input's
		// output reaches the client once (interp caps it at MaxOutput).
		var printed bytes.Buffer
		if s.out != nil {
			limits.Stdout = &printed
		}
		g := interp.NewGuard(ctx, limits)
		s.tx, s.guard, s.ctx, s.note = t, g, ctx, note
		err := protect(func() error { return fn(Object{oid: image.RootOID, s: s}) })
		s.tx, s.guard, s.ctx = nil, nil, nil
		g.Release()
		var retry *RetryError
		if errors.As(err, &retry) && retry.After != nil {
			after = append(after, retry.After)
		}
		if retry != nil && attempt < maxConflictRetries && ctx.Err() == nil {
			t.abort()
			s.k.log.Info("retrying", "principal", s.principal, "attempt", attempt, "reason", retry.Reason)
			continue
		}
		if retry != nil {
			err = fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		if err != nil {
			t.abort()
			err = settle(err)
			s.flush(&printed)
			return nil, image.TxInfo{}, err
		}
		p, err := t.apply(s.note)
		var conflict *image.ConflictError
		if errors.As(err, &conflict) && attempt < maxConflictRetries && ctx.Err() == nil {
			s.k.log.Info("conflict, retrying", "principal", s.principal, "attempt", attempt, "err", err)
			backoff(attempt)
			continue
		}
		// The attempt counts. What it saw must be durable before its
		// output goes out, and its output must go out before its own
		// commit is reported: clients see a request's output, then its
		// commit.
		err = settle(err)
		s.flush(&printed)
		var info image.TxInfo
		if p != nil {
			if wait && err == nil {
				info, err = p.Wait()
			} else {
				p.settleInBackground()
			}
		}
		if err != nil {
			return nil, image.TxInfo{}, err
		}
		if id := p.ID(); id != 0 {
			s.k.log.Info("commit", "tx", uint64(id), "principal", s.principal, "note", s.note, "objects", len(t.order))
		}
		return p, info, nil
	}
}

// flush hands the output of the attempt that counted to the session's
// writer.
func (s *Session) flush(printed *bytes.Buffer) {
	if s.out != nil && printed.Len() > 0 {
		s.out.Write(printed.Bytes())
	}
}

// RecordInputs makes Eval append every input that succeeds to the []any of
// strings in the data slot "history" of the object in Lobby's slot obj
// (created on first use), keeping the newest max, inside the input's own
// transaction: a workspace's history lives in the image, undoing an input
// takes its line of history with it, and since the history is not on Lobby
// itself, recording it never makes an undo of a change to Lobby conflict.
func (s *Session) RecordInputs(obj string, max int) {
	s.mu.Lock()
	s.inputs, s.inputsCap = obj, max
	s.mu.Unlock()
}

// Object returns a handle on oid bound to this session.
func (s *Session) Object(oid image.OID) Object { return Object{oid: oid, s: s} }

// backoff sleeps before a conflict retry: jittered and growing, so that
// sessions that collided do not collide again in lockstep.
func backoff(attempt int) {
	max := time.Duration(1<<min(attempt, 8)) * time.Millisecond
	time.Sleep(time.Duration(rand.Int64N(int64(max))))
}

// EvalResult is the outcome of Session.Eval.
type EvalResult struct {
	Value    any    // the value of the last expression; Objects are bound to the session and usable in its next evaluation
	HasValue bool   // false for statements and declarations
	Text     string // Value printed for people, computed inside the transaction
	Tx       image.TxInfo
}

// Eval evaluates Go statements, expressions or declarations as one
// top-level transaction. Variables declared persist in the session's
// workspace across evaluations. An evaluation that fails, even only at
// its commit, has no result.
func (s *Session) Eval(ctx context.Context, src string) (EvalResult, error) {
	var res EvalResult
	info, err := s.Run(ctx, noteFor(src), func(lobby Object) error {
		if s.ws == nil {
			ws, err := s.k.compiler.NewWorkspace(map[string]any{
				"Lobby":     lobby,
				"NewObject": func() Object { return lobby.NewObject() },
				// ObjectAt(12) is object 12: how tools (and people who
				// read an id in the history) reach any object.
				"ObjectAt": func(id int) Object { return Object{oid: image.OID(id), s: s} },
			})
			if err != nil {
				return err
			}
			s.ws = ws
		}
		s.entry = src
		defer func() { s.entry = "" }()
		r, err := s.ws.Eval(s.guard, src)
		if errors.Is(err, interp.ErrAbandoned) {
			s.closed = true
		}
		if err != nil {
			return err
		}
		res = EvalResult{Value: r.Value, HasValue: r.HasValue}
		if r.HasValue {
			res.Text = s.format(r.Value)
		}
		if s.inputs != "" {
			s.recordInput(lobby, src)
		}
		return nil
	})
	if err != nil {
		// What an attempt answered counts only if its transaction, and
		// those it was retried after, committed.
		return EvalResult{}, err
	}
	res.Tx = info
	return res, nil
}

// Send sends sel to the object oid as one top-level transaction.
func (s *Session) Send(ctx context.Context, oid image.OID, sel string, args ...any) (any, error) {
	var v any
	_, err := s.Run(ctx, "send "+sel, func(lobby Object) error {
		var err error
		v, err = s.send(oid, sel, args)
		return err
	})
	return v, err
}

// protect runs fn, turning a panic — an Object method's error, a guard
// stop, a runtime error in Go code — into an error.
func protect(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			switch v := r.(type) {
			case error:
				err = v
			default:
				err = fmt.Errorf("panic: %s", interp.Sprint(v))
			}
		}
	}()
	return fn()
}

func noteFor(src string) string {
	src = strings.TrimSpace(src)
	if i := strings.IndexByte(src, '\n'); i >= 0 {
		src = src[:i] + " …"
	}
	if r := []rune(src); len(r) > 120 {
		src = string(r[:117]) + "..."
	}
	return src
}

// describe names oid for messages; it never fails.
func (s *Session) describe(oid image.OID) string {
	if s.tx == nil {
		return fmt.Sprintf("object %d", oid)
	}
	st, err := s.tx.load(oid)
	if err != nil {
		return fmt.Sprintf("object %d", oid)
	}
	return describeSlots(oid, st.slots)
}

// maxFormatted caps a printed value: a REPL line or a TUI pane has no use
// for more, and a client should not have to hold it.
const maxFormatted = 256 << 10

// format prints a script value for people. It never walks a value without
// bound: containers go through toStored's budgets, everything else
// through interp.Sprint's.
func (s *Session) format(v any) string {
	var text string
	switch v := v.(type) {
	case Object:
		return s.describe(v.oid)
	case string:
		text = strconv.Quote(v[:min(len(v), maxFormatted)])
	case []any, map[string]any, []bool, []int, []int64, []float64, []string,
		map[string]bool, map[string]int, map[string]int64, map[string]float64, map[string]string:
		stored, err := toStored(v)
		switch {
		case err == errNested || err == errTooLarge:
			return fmt.Sprintf("<%T: %v>", v, err)
		case err != nil: // holds what a slot cannot: print it as Go does
			text = interp.Sprint(v)
		default:
			text = formatStored(stored)
		}
	case error:
		if err := interp.CheckError(v); err != nil {
			return fmt.Sprintf("<%T: %v>", v, err)
		}
		text = "error: " + v.Error()
	default:
		text = interp.Sprint(v)
	}
	if len(text) > maxFormatted {
		text = fmt.Sprintf("%s… (%d more bytes)", text[:maxFormatted], len(text)-maxFormatted)
	}
	return text
}

// newObject creates an object that delegates to Lobby.traits.
func (s *Session) newObject() image.OID {
	var slots []image.Slot
	if traits, ok := s.traits(); ok {
		slots = []image.Slot{{Name: "parent*", Kind: image.SlotParent, Value: image.Ref{OID: traits}}}
	}
	return s.tx.create(slots)
}

func (s *Session) traits() (image.OID, bool) {
	st, err := s.tx.load(image.RootOID)
	if err != nil {
		return 0, false
	}
	if i := findSlot(st.slots, "traits"); i >= 0 {
		if r, ok := st.slots[i].Value.(image.Ref); ok {
			return r.OID, true
		}
	}
	return 0, false
}

// Default limits, used when Lobby.system lacks a slot or holds a bad value.
var defaultLimits = interp.Limits{Deadline: interp.DefaultDeadline, MaxDepth: interp.DefaultMaxDepth, MaxSteps: interp.DefaultMaxSteps,
	MaxAlloc: interp.DefaultMaxAlloc, MemoryBudget: interp.DefaultMemoryBudget}

// limits reads the evaluation limits from Lobby.system.
func (k *Kernel) limits(t *txn) interp.Limits {
	l := defaultLimits
	root, err := t.load(image.RootOID)
	if err != nil {
		return l
	}
	i := findSlot(root.slots, "system")
	if i < 0 {
		return l
	}
	ref, ok := root.slots[i].Value.(image.Ref)
	if !ok {
		return l
	}
	sys, err := t.load(ref.OID)
	if err != nil {
		return l
	}
	for _, sl := range sys.slots {
		switch sl.Name {
		case "sendDeadline":
			switch v := sl.Value.(type) {
			case string:
				if d, err := time.ParseDuration(v); err == nil && d > 0 {
					l.Deadline = d
				}
			case int:
				if v > 0 {
					l.Deadline = time.Duration(v) * time.Millisecond
				}
			}
		case "maxDepth":
			if v, ok := sl.Value.(int); ok && v > 0 {
				l.MaxDepth = v
			}
		case "maxSteps":
			if v, ok := sl.Value.(int); ok && v > 0 {
				l.MaxSteps = int64(v)
			}
		case "maxAlloc":
			if v, ok := sl.Value.(int); ok && v > 0 {
				l.MaxAlloc = v
			}
		case "memoryBudget":
			if v, ok := sl.Value.(int); ok && v > 0 {
				l.MemoryBudget = int64(v)
			}
		}
	}
	// The image's values are requests: interp clamps each to the hard
	// ceiling the process can bear, whatever a method wrote there.
	return l.Clamp()
}

func (s *Session) recordInput(lobby Object, src string) {
	st, err := s.tx.load(lobby.oid)
	if err != nil {
		panic(err)
	}
	var holder Object
	if i := findSlot(st.slots, s.inputs); i >= 0 {
		if r, ok := st.slots[i].Value.(image.Ref); ok {
			holder = Object{oid: r.OID, s: s}
		}
	}
	if holder.oid == 0 {
		holder = lobby.NewObject()
		holder.Set("name", s.inputs)
		lobby.Set(s.inputs, holder)
	}
	var entries []any
	if st, err := s.tx.load(holder.oid); err == nil {
		if i := findSlot(st.slots, "history"); i >= 0 {
			entries, _ = st.slots[i].Value.([]any)
		}
	}
	entries = append(append([]any(nil), entries...), strings.TrimRight(src, "\n"))
	if s.inputsCap > 0 && len(entries) > s.inputsCap {
		entries = entries[len(entries)-s.inputsCap:]
	}
	holder.Set("history", entries)
}
