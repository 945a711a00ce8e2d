package interp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for zero Limits fields.
const (
	DefaultDeadline = 5 * time.Second
	DefaultMaxDepth = 10000
	DefaultMaxSteps = int64(1_000_000_000)
	DefaultMaxAlloc = 1 << 26
)

// tickChunk is how many loop back-edges rewritten code takes between calls
// to Guard.TickN: a native call per iteration would cost about five times
// an interpreted loop step.
const tickChunk = 256

// stopContextDeadline is the expiry code for a context whose own deadline
// passed (reported as StopDeadline with Limit "context deadline").
const stopContextDeadline = 100

// Limits bound one top-level evaluation. A zero field takes its default; a
// negative Deadline means none (the context alone can still stop it).
type Limits struct {
	Deadline time.Duration // wall-clock budget, default 5s
	MaxDepth int           // nested calls (sends, method entries, func literals), default 10000
	MaxSteps int64         // function entries plus loop back-edges, default 1e9
	MaxAlloc int           // elements for one make, strings.Repeat or bytes.Repeat, default 1<<26
	// Stdout receives the evaluation's fmt.Print, Printf and Println
	// output (rewritten to Guard.Print and friends); nil discards it.
	// Output follows the evaluation rather than the process, so a method
	// printing from the TUI or a server session reaches its own client.
	Stdout io.Writer
}

func (l Limits) withDefaults() Limits {
	if l.Deadline == 0 {
		l.Deadline = DefaultDeadline
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxSteps <= 0 {
		l.MaxSteps = DefaultMaxSteps
	}
	if l.MaxAlloc <= 0 {
		l.MaxAlloc = DefaultMaxAlloc
	}
	return l
}

// Guard is the cooperative preemption point of one top-level evaluation.
// Rewritten script code calls Enter/Leave at every function entry and
// TickN on loop back-edges; when a limit is hit the guard panics with a
// *StopError, and keeps doing so at every later check (it is sticky), so a
// script that recovers the panic is stopped again at its next loop step or
// call.
//
// A Guard belongs to one goroutine at a time (the one running the
// evaluation); only the expiry flag is written by timers, atomically.
type Guard struct {
	limits  Limits
	expired atomic.Int32 // a StopReason set by the deadline timer or the context; 0 while running
	depth   int
	steps   int64
	stopped atomic.Pointer[StopError]
	timer   *time.Timer
	unhook  func() bool
	// expiredCh is closed when expired is first set; deadlineAt belongs to
	// the evaluating goroutine (Suspend).
	expiredCh  chan struct{}
	closeOnce  sync.Once
	deadlineAt time.Time
}

// NewGuard returns a guard for one evaluation under ctx and l. Call Release
// when the evaluation ends.
func NewGuard(ctx context.Context, l Limits) *Guard {
	if ctx == nil {
		ctx = context.Background()
	}
	g := &Guard{limits: l.withDefaults(), expiredCh: make(chan struct{})}
	if g.limits.Deadline > 0 {
		g.deadlineAt = time.Now().Add(g.limits.Deadline)
		g.timer = time.AfterFunc(g.limits.Deadline, func() { g.expire(int32(StopDeadline)) })
	}
	if ctx.Done() != nil {
		g.unhook = context.AfterFunc(ctx, func() {
			r := int32(StopCanceled)
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				r = stopContextDeadline
			}
			g.expire(r)
		})
	}
	return g
}

func (g *Guard) expire(reason int32) {
	if g.expired.CompareAndSwap(0, reason) {
		g.closeOnce.Do(func() { close(g.expiredCh) })
	}
}

// Expired is closed once the deadline passes or the context ends.
func (g *Guard) Expired() <-chan struct{} { return g.expiredCh }

// Suspend stops the deadline clock until resume is called, for native
// work that waits on the outside world under its own timeout (a model
// call): the time spent suspended does not count against the deadline.
// Cancellation of the evaluation's context still stops the guard.
func (g *Guard) Suspend() (resume func()) {
	if g.timer == nil || !g.timer.Stop() {
		return func() {}
	}
	remaining := time.Until(g.deadlineAt)
	return func() {
		g.deadlineAt = time.Now().Add(remaining)
		g.timer.Reset(remaining)
	}
}

// Limits returns the guard's limits, defaults filled in.
func (g *Guard) Limits() Limits { return g.limits }

// Release stops the guard's timers. The guard may still be inspected.
func (g *Guard) Release() {
	if g.timer != nil {
		g.timer.Stop()
	}
	if g.unhook != nil {
		g.unhook()
	}
}

// Enter accounts one function entry: it checks the depth limit, the step
// budget and the deadline, and panics with *StopError when one is hit.
// Every Enter must be paired with a Leave (deferred).
func (g *Guard) Enter() {
	g.depth++
	g.steps++
	if g.depth > g.limits.MaxDepth || g.steps > g.limits.MaxSteps || g.expired.Load() != 0 || g.stopped.Load() != nil {
		g.enterFailed()
	}
}

// EnterOK is Enter for rewritten code: instead of panicking it returns
// false (and the guard stays stopped), and the function returns zero
// values at once. Unwinding deep interpreted recursion by panicking costs
// time quadratic in its depth.
func (g *Guard) EnterOK() bool {
	g.depth++
	g.steps++
	if g.depth > g.limits.MaxDepth || g.steps > g.limits.MaxSteps || g.expired.Load() != 0 || g.stopped.Load() != nil {
		g.depth--
		g.stopQuietly()
		return false
	}
	return true
}

// stopQuietly records the stop a check would panic with.
func (g *Guard) stopQuietly() {
	defer func() { recover() }()
	if g.depth >= g.limits.MaxDepth {
		g.stop(StopDepth)
	}
	g.check()
}

// enterFailed undoes Enter's increment (no Leave will run: the deferred
// Leave is registered only after Enter returns) and stops.
func (g *Guard) enterFailed() {
	g.depth--
	if g.depth >= g.limits.MaxDepth {
		g.stop(StopDepth)
	}
	g.check()
}

// Leave undoes one Enter.
func (g *Guard) Leave() { g.depth-- }

// Depth returns the current call depth.
func (g *Guard) Depth() int { return g.depth }

// Steps returns the steps accounted so far.
func (g *Guard) Steps() int64 { return g.steps }

// Tick accounts one loop back-edge and checks the step budget and the
// deadline.
func (g *Guard) Tick() {
	g.steps++
	g.check()
}

// TickN accounts a chunk of loop back-edges in advance, checks, and returns
// how many back-edges the caller may take before calling TickN again, or
// -1 once the guard has stopped (the caller then returns zero values, see
// EnterOK). Rewritten loops call it through a local countdown, which is
// several times cheaper than a native call per iteration.
func (g *Guard) TickN() int {
	g.steps += tickChunk
	if g.steps > g.limits.MaxSteps || g.expired.Load() != 0 || g.stopped.Load() != nil {
		g.stopQuietly()
		return -1
	}
	return tickChunk
}

// Err returns the *StopError once the guard has stopped, else nil.
func (g *Guard) Err() error {
	if e := g.stopped.Load(); e != nil {
		return e
	}
	return nil
}

func (g *Guard) check() {
	if e := g.stopped.Load(); e != nil {
		panic(e)
	}
	if g.steps > g.limits.MaxSteps {
		g.stop(StopSteps)
	}
	if r := g.expired.Load(); r != 0 {
		if r == stopContextDeadline {
			g.stopWith(&StopError{Reason: StopDeadline, Limit: "context deadline"})
		}
		g.stop(StopReason(r))
	}
}

func (g *Guard) stop(r StopReason) {
	e := g.stopped.Load()
	if e == nil {
		e = &StopError{Reason: r}
		switch r {
		case StopDeadline:
			e.Limit = g.limits.Deadline.String()
		case StopCanceled:
			e.Limit = "canceled"
		case StopDepth:
			e.Limit = fmt.Sprintf("depth limit %d", g.limits.MaxDepth)
		case StopSteps:
			e.Limit = fmt.Sprintf("%d steps", g.limits.MaxSteps)
		case StopAlloc:
			e.Limit = fmt.Sprintf("%d elements", g.limits.MaxAlloc)
		}
	}
	g.stopWith(e)
}

// stopWith makes e the guard's sticky stop (unless one is set) and panics
// with the sticky one.
func (g *Guard) stopWith(e *StopError) {
	if !g.stopped.CompareAndSwap(nil, e) {
		e = g.stopped.Load()
	}
	panic(e)
}

// Alloc checks an allocation size (make's length or capacity) against
// MaxAlloc and returns it.
func (g *Guard) Alloc(n int) int {
	if n > g.limits.MaxAlloc {
		g.stop(StopAlloc)
	}
	return n
}

// Recover is what rewritten code calls in place of a bare recover():
// Recover(recover()). A stop is never swallowed: if the guard has stopped,
// or v is a *StopError, it panics again.
func (g *Guard) Recover(v any) any {
	if rv, ok := v.(reflect.Value); ok {
		// yaegi hands recover()'s result to native calls wrapped.
		v = nil
		if rv.IsValid() && rv.CanInterface() {
			v = rv.Interface()
		}
	}
	if e, ok := v.(*StopError); ok {
		panic(e)
	}
	if e := g.stopped.Load(); e != nil {
		panic(e)
	}
	return v
}

// RepeatString is strings.Repeat with the result's length checked against
// MaxAlloc; rewritten code calls it in place of strings.Repeat.
func (g *Guard) RepeatString(s string, count int) string {
	g.checkRepeat(len(s), count)
	return strings.Repeat(s, count)
}

// RepeatBytes is bytes.Repeat with the result's length checked against
// MaxAlloc.
func (g *Guard) RepeatBytes(b []byte, count int) []byte {
	g.checkRepeat(len(b), count)
	return bytes.Repeat(b, count)
}

func (g *Guard) checkRepeat(n, count int) {
	if n > 0 && count > 0 && (count > g.limits.MaxAlloc || n*count/count != n || n*count > g.limits.MaxAlloc) {
		g.stop(StopAlloc)
	}
}

// Print is fmt.Print writing to the evaluation's Stdout; rewritten code
// calls it in place of fmt.Print.
func (g *Guard) Print(a ...any) (int, error) { return fmt.Fprint(g.out(), printable(a)...) }

// Printf is fmt.Printf writing to the evaluation's Stdout.
func (g *Guard) Printf(format string, a ...any) (int, error) {
	return fmt.Fprintf(g.out(), format, printable(a)...)
}

// Println is fmt.Println writing to the evaluation's Stdout.
func (g *Guard) Println(a ...any) (int, error) { return fmt.Fprintln(g.out(), printable(a)...) }

// Sprint is fmt.Sprint for scripts: see printable.
func (g *Guard) Sprint(a ...any) string { return fmt.Sprint(printable(a)...) }

// Sprintf is fmt.Sprintf for scripts.
func (g *Guard) Sprintf(format string, a ...any) string { return fmt.Sprintf(format, printable(a)...) }

// Sprintln is fmt.Sprintln for scripts.
func (g *Guard) Sprintln(a ...any) string { return fmt.Sprintln(printable(a)...) }

// Errorf is fmt.Errorf for scripts.
func (g *Guard) Errorf(format string, a ...any) error { return fmt.Errorf(format, printable(a)...) }

// MaxNesting bounds how deep fmt may walk a script's []any and
// map[string]any values; the image stores no deeper values either.
const MaxNesting = 100

// printable checks fmt's arguments before fmt walks them: fmt has no cycle
// detection, and printing a []any or map that contains itself would
// overflow the Go stack, a fatal error no recover catches.
func printable(a []any) []any {
	for _, v := range a {
		if !shallow(v, 0) {
			panic(fmt.Errorf("fmt: value nested deeper than %d levels (or cyclic)", MaxNesting))
		}
	}
	return a
}

func shallow(v any, depth int) bool {
	if depth > MaxNesting {
		return false
	}
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if !shallow(e, depth+1) {
				return false
			}
		}
	case map[string]any:
		for _, e := range v {
			if !shallow(e, depth+1) {
				return false
			}
		}
	}
	return true
}

func (g *Guard) out() io.Writer {
	if g.limits.Stdout == nil {
		return io.Discard
	}
	return g.limits.Stdout
}
