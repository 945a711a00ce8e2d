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

	yaegi "batos/internal/yaegi/interp"
)

// Defaults for zero Limits fields.
const (
	DefaultDeadline     = 5 * time.Second
	DefaultMaxDepth     = 10000
	DefaultMaxSteps     = int64(1_000_000_000)
	DefaultMaxAlloc     = 64 << 20 // bytes
	DefaultMemoryBudget = 1 << 30  // bytes of heap
)

// tickChunk is how many loop back-edges rewritten workspace code takes
// between calls to Guard.TickN: a native call per iteration would cost
// about five times an interpreted loop step.
const tickChunk = 256

// stopContextDeadline is the expiry code for a context whose own deadline
// passed (reported as StopDeadline with Limit "context deadline").
const stopContextDeadline = 100

// Limits bound one top-level evaluation. A zero field takes its default; a
// negative Deadline means the longest allowed (see Ceilings).
type Limits struct {
	Deadline time.Duration // wall-clock budget, default 5s
	MaxDepth int           // nested calls (sends, method entries, func literals), default 10000
	MaxSteps int64         // a method's instructions, workspace input's function entries and loop back-edges; default 1e9
	MaxAlloc int           // bytes for one allocation (make, Grow, Repeat, Replace, ...), default 64 MiB
	// MemoryBudget is how far, in bytes, evaluations may grow the heap
	// past what the process held when they began, default 1 GiB: past it
	// the memory watchdog stops every running evaluation.
	MemoryBudget int64
	// Stdout receives the evaluation's fmt.Print, Printf and Println
	// output (rewritten to Guard.Print and friends); nil discards it.
	// Output follows the evaluation rather than the process, so a method
	// printing from the TUI or a server session reaches its own client.
	Stdout io.Writer
}

// withDefaults fills zero fields with defaults and clamps every field to
// its hard ceiling (see Ceilings): the image holds the limits and any
// method can edit them, so what the Go runtime can actually bear is
// enforced here, not there.
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
	if l.MemoryBudget <= 0 {
		l.MemoryBudget = DefaultMemoryBudget
	}
	return l.Clamp()
}

// Clamp returns l with every field at most its hard ceiling.
func (l Limits) Clamp() Limits {
	c := Ceilings()
	if l.Deadline > c.Deadline || l.Deadline < 0 {
		l.Deadline = c.Deadline
	}
	l.MaxDepth = min(l.MaxDepth, c.MaxDepth)
	l.MaxSteps = min(l.MaxSteps, c.MaxSteps)
	l.MaxAlloc = min(l.MaxAlloc, c.MaxAlloc)
	l.MemoryBudget = min(l.MemoryBudget, c.MemoryBudget)
	return l
}

// Guard is the cooperative preemption point of one top-level evaluation.
// The interpreter consults it as a method's meter (Meter) at every
// function entry and every MeterInterval instructions; rewritten workspace
// input calls EnterOK/Leave at its function entries and TickN on loop
// back-edges. When a limit is hit the guard stops the evaluation (a
// *StopError), and stays stopped (it is sticky), so a script that recovers
// the panic is stopped again at its next loop step or call.
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
	printed    int // bytes written to Stdout (see outputCap)
	refused    int // entries EnterOK refused once stopped
	refusedAt  int // the depth of the last refusal
	sameDepth  int // refusals in a row at refusedAt
	// args is a stack of the arguments of the method calls in progress
	// (Method.Call): a send from a method then allocates none.
	args []reflect.Value
}

// pushArgs returns room for n arguments of a call, until popArgs(n).
func (g *Guard) pushArgs(n int) []reflect.Value {
	base := len(g.args)
	if cap(g.args)-base < n {
		grown := make([]reflect.Value, base, max(2*cap(g.args), base+n, 16))
		copy(grown, g.args)
		g.args = grown
	}
	g.args = g.args[:base+n]
	return g.args[base : base+n : base+n]
}

// popArgs releases the room of the last pushArgs(n). The values stay in
// the room until a later call overwrites them or Release drops the stack:
// clearing them at each return cost a send more than the little they keep
// alive for the length of one evaluation.
func (g *Guard) popArgs(n int) {
	g.args = g.args[:len(g.args)-n]
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
	allocLimit.Store(int64(g.limits.MaxAlloc))
	register(g)
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

// expire stops the guard at its next check, for reason (an expired guard
// keeps its first reason).
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

// Release stops the guard's timers and takes it off the memory watchdog.
// The guard may still be inspected.
func (g *Guard) Release() {
	unregister(g)
	g.args = nil
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
//
// A function refused this way more than maxQuietRefusals times panics
// instead: it is being called in a loop, and the loop is native code
// (rand.Shuffle(1<<62, f), sort.Sort of a type whose Len is huge) that
// would go on calling it for ever. Unwinding a stopped recursion refuses
// far fewer entries: each frame returns after a call or two.
func (g *Guard) EnterOK() bool {
	g.depth++
	g.steps++
	if g.depth > g.limits.MaxDepth || g.steps > g.limits.MaxSteps || g.expired.Load() != 0 || g.stopped.Load() != nil {
		g.depth--
		if g.stopped.Load() == nil {
			// Recorded once: a native loop refusing entries in the
			// thousands must not pay a recovered panic for each.
			g.stopQuietly()
		}
		// The same depth, again and again: a native loop, not a
		// recursion unwinding (whose every frame returns after a call or
		// two, one level up).
		if g.depth == g.refusedAt {
			g.sameDepth++
		} else {
			g.refusedAt, g.sameDepth = g.depth, 0
		}
		if g.refused++; g.refused > maxQuietRefusals || g.sameDepth > maxRefusalsAtDepth {
			g.check()
		}
		return false
	}
	return true
}

// maxQuietRefusals bounds the entries EnterOK refuses without panicking
// (a stopped recursion MaxDepthCeiling deep refuses up to about twice
// that), and maxRefusalsAtDepth those it refuses at one depth: a native
// loop is stopped after a thousand calls, not a hundred thousand, each of
// which costs a trip through the interpreter.
const (
	maxQuietRefusals   = 100_000
	maxRefusalsAtDepth = 1000
)

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

// Meter returns g as the interpreter's meter: a method's compiled
// function takes the guard as its first argument, and the interpreter
// then accounts each function body it enters (EnterOK) and every
// instruction it runs as a step, with no interpreted statement added to
// the method (see package yaegi's Meter).
func (g *Guard) Meter() yaegi.Meter { return (*meter)(g) }

// meter is a Guard as the interpreter's yaegi.Meter.
type meter Guard

func (m *meter) Enter() bool { return (*Guard)(m).EnterOK() }

func (m *meter) Leave(steps int) {
	m.depth--
	m.steps += int64(steps)
}

func (m *meter) Tick(steps int) bool {
	g := (*Guard)(m)
	g.steps += int64(steps)
	if g.steps > g.limits.MaxSteps || g.expired.Load() != 0 || g.stopped.Load() != nil {
		g.stopQuietly()
		return false
	}
	return true
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
			e.Limit = formatBytes(int64(g.limits.MaxAlloc)) + " per allocation"
		case StopMemory:
			e.Limit = "memory budget " + formatBytes(g.limits.MemoryBudget)
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

// Alloc checks make's length or capacity n for the slice or map type of
// typ (a typed nil: rewritten code passes (T)(nil)) and returns n. The
// bytes it asks for must fit MaxAlloc, and, for a megabyte or more, the
// memory budget as last sampled by the watchdog.
func (g *Guard) Alloc(n int, typ any) int {
	if n <= 0 {
		return n // make panics on a negative size by itself
	}
	size := uint64(1)
	if t := reflect.TypeOf(typ); t != nil {
		switch t.Kind() {
		case reflect.Slice, reflect.Array:
			size = max(uint64(t.Elem().Size()), 1)
		case reflect.Map:
			size = uint64(t.Key().Size()+t.Elem().Size()) + 8
		}
	}
	g.checkBytes(uint64(n), size, "make")
	return n
}

// checkBytes stops the evaluation unless n items of size bytes each fit
// MaxAlloc and the memory budget; what names the operation.
func (g *Guard) checkBytes(n, size uint64, what string) {
	if n == 0 || size == 0 {
		return
	}
	if n > uint64(g.limits.MaxAlloc)/size {
		g.stopWith(allocStop(int64(g.limits.MaxAlloc), fmt.Sprintf("%s asked for %s", what, formatBytes2(n, size))))
	}
	g.checkMemory(n*size, what)
}

// allocStop is the stop of an allocation over limit bytes; detail says
// what asked for how much.
func allocStop(limit int64, detail string) *StopError {
	return &StopError{Reason: StopAlloc, Limit: formatBytes(limit) + " per allocation", Detail: detail}
}

// checkMemory stops the evaluation unless b more bytes fit the memory
// budget, as last sampled; what names the operation.
func (g *Guard) checkMemory(b uint64, what string) {
	if b >= 1<<20 && watch.heap.Load()+b > memoryLimit() {
		g.stopWith(&StopError{Reason: StopMemory, Limit: "memory budget " + formatBytes(g.limits.MemoryBudget),
			Detail: fmt.Sprintf("%s may need %s with %s in use", what, formatBytes(int64(b)), formatBytes(int64(watch.heap.Load())))})
	}
}

// formatBytes2 prints n*size bytes, saying "more than" when it overflows.
func formatBytes2(n, size uint64) string {
	if size != 0 && n > (1<<63-1)/size {
		return "more than 8 EiB"
	}
	return formatBytes(int64(n * size))
}

// formatBytes prints a byte count for people: 64 MiB, 1.5 GiB, 300 B.
func formatBytes(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit && exp < 5; n /= unit {
		div *= unit
		exp++
	}
	v := float64(b) / float64(div)
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + string("KMGTPE"[exp]) + "iB"
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
	if n > 0 && count > 0 {
		g.checkBytes(uint64(count), uint64(n), "Repeat")
	}
}

// Print is fmt.Print writing to the evaluation's Stdout; rewritten code
// calls it in place of fmt.Print.
func (g *Guard) Print(a ...any) (int, error) { return fmt.Fprint(g.out(), g.printable("", a)...) }

// Printf is fmt.Printf writing to the evaluation's Stdout.
func (g *Guard) Printf(format string, a ...any) (int, error) {
	return fmt.Fprintf(g.out(), format, g.printable(format, a)...)
}

// Println is fmt.Println writing to the evaluation's Stdout.
func (g *Guard) Println(a ...any) (int, error) { return fmt.Fprintln(g.out(), g.printable("", a)...) }

// Sprint is fmt.Sprint for scripts: see printable.
func (g *Guard) Sprint(a ...any) string { return fmt.Sprint(g.printable("", a)...) }

// Sprintf is fmt.Sprintf for scripts.
func (g *Guard) Sprintf(format string, a ...any) string {
	return fmt.Sprintf(format, g.printable(format, a)...)
}

// Sprintln is fmt.Sprintln for scripts.
func (g *Guard) Sprintln(a ...any) string { return fmt.Sprintln(g.printable("", a)...) }

// Errorf is fmt.Errorf for scripts; the errors it wraps (%w) may not
// nest deeper than MaxNesting (see checkErrorChain).
func (g *Guard) Errorf(format string, a ...any) error {
	e := fmt.Errorf(format, g.printable(format, a)...)
	if err := checkErrorChain(e, 0); err != nil {
		panic(err)
	}
	return e
}

// CheckErrField is what rewritten code calls after assigning to a field
// named Err (p points to it): an error stored there must not make a chain
// deeper than MaxNesting, or a cycle (strconv.NumError's Error method
// recurses natively through Err). A bad one is cleared again and refused.
func (g *Guard) CheckErrField(p any) {
	rv := reflect.ValueOf(p)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return
	}
	f := rv.Elem()
	if f.Kind() != reflect.Interface || f.IsNil() {
		return
	}
	e, ok := f.Interface().(error)
	if !ok {
		return
	}
	if err := checkErrorChain(e, 1); err != nil {
		f.Set(reflect.Zero(f.Type()))
		panic(err)
	}
}

// ErrValue is what rewritten code passes as the Err field of a composite
// literal of a library type (strconv.NumError{Err: e}): e is checked as
// CheckErrField checks an assignment.
func (g *Guard) ErrValue(e error) error {
	if err := checkErrorChain(e, 1); err != nil {
		panic(err)
	}
	return e
}

// printable checks fmt's arguments before fmt walks them (fmt has no
// cycle detection and no budget: see CheckPrint), and the widths and
// precisions of format, each of which fmt pads to (up to a million bytes
// a verb). It panics with the refusal.
//
// A width applies to every element fmt prints (%5d of a slice pads each
// number), so the padding counts once per node of the arguments.
func (g *Guard) printable(format string, a []any) []any {
	nodes := 0
	for _, v := range a {
		n, err := measure("print", v, walkPrint)
		if err != nil {
			panic(err)
		}
		nodes += n
	}
	if pad := formatPadding(format, a); pad > 0 {
		g.checkBytes(pad, uint64(max(nodes, 1)), "format padding")
	}
	return a
}

// Fprint is fmt.Fprint for scripts: see printable.
func (g *Guard) Fprint(w io.Writer, a ...any) (int, error) {
	return fmt.Fprint(w, g.printable("", a)...)
}

// Fprintf is fmt.Fprintf for scripts.
func (g *Guard) Fprintf(w io.Writer, format string, a ...any) (int, error) {
	return fmt.Fprintf(w, format, g.printable(format, a)...)
}

// Fprintln is fmt.Fprintln for scripts.
func (g *Guard) Fprintln(w io.Writer, a ...any) (int, error) {
	return fmt.Fprintln(w, g.printable("", a)...)
}

// Append is fmt.Append for scripts.
func (g *Guard) Append(b []byte, a ...any) []byte { return fmt.Append(b, g.printable("", a)...) }

// Appendf is fmt.Appendf for scripts.
func (g *Guard) Appendf(b []byte, format string, a ...any) []byte {
	return fmt.Appendf(b, format, g.printable(format, a)...)
}

// Appendln is fmt.Appendln for scripts.
func (g *Guard) Appendln(b []byte, a ...any) []byte { return fmt.Appendln(b, g.printable("", a)...) }

// formatPadding returns the sum of the widths and precisions a format
// string asks for, '*' ones taken from args as fmt does (fmt refuses any
// above 1e6).
func formatPadding(format string, args []any) uint64 {
	var total uint64
	argi := 0
	num := func(i int) (int, uint64) {
		var n uint64
		for i < len(format) && format[i] >= '0' && format[i] <= '9' {
			if n < 1e7 {
				n = n*10 + uint64(format[i]-'0')
			}
			i++
		}
		return i, min(n, 1e6)
	}
	star := func() uint64 {
		if argi < len(args) {
			if n, ok := args[argi].(int); ok && n > 0 {
				argi++
				return uint64(min(n, 1e6))
			}
		}
		argi++
		return 0
	}
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0", format[i]) >= 0 {
			i++
		}
		if i < len(format) && format[i] == '[' { // explicit argument index: be conservative
			total += 1e6
		}
		// A width, then a precision after '.': digits, or '*' for an
		// argument.
		field := func() uint64 {
			if i < len(format) && format[i] == '*' {
				i++
				return star()
			}
			var n uint64
			i, n = num(i)
			return n
		}
		total += field()
		if i < len(format) && format[i] == '.' {
			i++
			total += field()
		}
		if i < len(format) && format[i] != '%' {
			argi++
		}
	}
	return total
}

// MaxOutput bounds what one evaluation may print, in bytes: a client
// (the TUI's transcript, a remote one) holds what it is sent, and the TUI
// runs in the kernel's process.
const MaxOutput = 4 << 20

func (g *Guard) out() io.Writer {
	if g.limits.Stdout == nil {
		return io.Discard
	}
	return (*outputCap)(g)
}

// outputCap writes to the evaluation's Stdout until MaxOutput bytes, then
// says so once and drops the rest.
type outputCap Guard

func (w *outputCap) Write(p []byte) (int, error) {
	n := len(p)
	switch left := MaxOutput - w.printed; {
	case left < 0: // cut, and said so
		return n, nil
	case n > left:
		w.printed = MaxOutput + 1
		w.limits.Stdout.Write(p[:left])
		_, err := fmt.Fprintf(w.limits.Stdout, "\n[output cut: an evaluation prints at most %s]\n", formatBytes(MaxOutput))
		return n, err
	}
	w.printed += n
	_, err := w.limits.Stdout.Write(p)
	return n, err
}
