package interp

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Hard ceilings. Limits live in the image, where any method can raise
// them; these bounds are what the process can actually bear, and
// Limits.Clamp enforces them in Go.
const (
	// MaxDepthCeiling bounds MaxDepth by what the Go stack holds. One level
	// of interpreted call or send costs at most StackPerLevel bytes of Go
	// stack; the ceiling keeps the deepest allowed recursion within half
	// of MaxStack, so a fatal "stack overflow" cannot happen before the
	// guard stops the recursion.
	MaxDepthCeiling = MaxStack / 2 / StackPerLevel
	// StackPerLevel is the Go stack one interpreted call level may use, in
	// bytes. TestStackPerLevel (kernel) measures it for a recursive
	// closure, a method calling itself, a send and a method on a declared
	// type: 3–6 KiB each, up to 12 KiB with the race detector (an upper
	// estimate, stacks grow by doubling); TestDepthCeilingHolds recurses
	// to the ceiling with the stack capped at MaxStack/2.
	StackPerLevel = 16 << 10
	// MaxStack is the Go stack a goroutine may grow to, Go's default on
	// 64-bit systems; NewCompiler sets it, so that no other part of the
	// process can have lowered it.
	MaxStack = 1 << 30
	// MaxStepsCeiling bounds MaxSteps.
	MaxStepsCeiling = int64(1_000_000_000_000)
	// DeadlineCeiling bounds the deadline of one top-level evaluation.
	DeadlineCeiling = 10 * time.Minute
	// MaxAllocCeiling bounds MaxAlloc: no single allocation a script asks
	// for may exceed it.
	MaxAllocCeiling = 1 << 30
	// memoryCeilingMax caps the memory budget's ceiling, whatever the
	// machine's size.
	memoryCeilingMax = int64(16 << 30)
)

// Ceilings returns the hard ceiling of every limit. MemoryBudget's is a
// quarter of the machine's physical memory (at most 16 GiB): a script may
// grow the heap in steps of up to a doubling (append, s += s) between two
// checks of the watchdog, and library calls may allocate a few times their
// input, so the budget leaves room for both before the machine runs out.
func Ceilings() Limits {
	return Limits{
		Deadline:     DeadlineCeiling,
		MaxDepth:     MaxDepthCeiling,
		MaxSteps:     MaxStepsCeiling,
		MaxAlloc:     MaxAllocCeiling,
		MemoryBudget: memoryCeiling(),
	}
}

var memoryCeiling = sync.OnceValue(func() int64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil || si.Totalram == 0 {
		return DefaultMemoryBudget
	}
	total := int64(si.Totalram) * int64(si.Unit)
	return max(min(total/4, memoryCeilingMax), 256<<20)
})

// The memory watchdog. While any guard is active, a goroutine samples the
// heap (runtime/metrics, which does not stop the world) every
// watchInterval. The budget is what scripts may add to the heap the
// process held before its first evaluation (the live heap at the last
// collection then: the kernel, the image's objects in use, the TUI), so
// that a large image does not leave its scripts no memory at all; it is
// taken once, so that what scripts keep between evaluations (workspace
// variables) counts against the budget. When the heap exceeds that base
// plus the budget, the watchdog collects garbage once
// and, if the heap is still over, expires every active guard with
// StopMemory: the evaluations stop at their next call, loop step or
// allocation, and their garbage goes with them. Between two samples a
// script can at most double what it holds (append, string concatenation)
// or allocate MaxAlloc at once, which the ceilings above leave room for.
// Allocations of a megabyte or more are also checked against the last
// sample on the spot (Guard.Alloc).
const watchInterval = 5 * time.Millisecond

var watch struct {
	mu      sync.Mutex
	guards  map[*Guard]struct{}
	running bool
	budget  atomic.Int64
	base    atomic.Uint64 // the live heap before the process's first evaluation
	heap    atomic.Uint64 // the last sample, in bytes
}

// heapMetric counts live objects and garbage not yet swept; liveMetric
// the heap the last collection found live.
const (
	heapMetric = "/memory/classes/heap/objects:bytes"
	liveMetric = "/gc/heap/live:bytes"
)

// register makes g visible to the watchdog, starting it if needed, and
// records the budget (the image's, the same for every evaluation).
func register(g *Guard) {
	watch.mu.Lock()
	defer watch.mu.Unlock()
	b := g.limits.MemoryBudget
	if !watch.running {
		watch.running = true
		if watch.base.Load() == 0 {
			watch.base.Store(max(sample(liveMetric), 1))
		}
		watch.heap.Store(sample(heapMetric))
		go watchdog()
	} else if b == watch.budget.Load() {
		watch.guards[g] = struct{}{}
		return
	}
	watch.budget.Store(b)
	// The Go runtime collects harder as the heap nears its limit, so
	// garbage is not mistaken for growth; past it, the watchdog acts.
	debug.SetMemoryLimit(int64(watch.base.Load()) + b + b/4)
	if watch.guards == nil {
		watch.guards = map[*Guard]struct{}{}
	}
	watch.guards[g] = struct{}{}
}

// memoryLimit is the heap past which the watchdog stops evaluations.
func memoryLimit() uint64 { return watch.base.Load() + uint64(watch.budget.Load()) }

func unregister(g *Guard) {
	watch.mu.Lock()
	delete(watch.guards, g)
	watch.mu.Unlock()
}

// watchdog runs while guards are registered; it exits when none is.
func watchdog() {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	lastGC := time.Time{}
	for range t.C {
		watch.mu.Lock()
		if len(watch.guards) == 0 {
			watch.running = false
			watch.mu.Unlock()
			return
		}
		watch.mu.Unlock()
		heap := sample(heapMetric)
		watch.heap.Store(heap)
		budget := memoryLimit()
		if heap <= budget {
			continue
		}
		// Past twice the limit it is growth, whatever the garbage: a
		// forced collection of a heap that large takes long while the
		// script goes on doubling what it holds.
		if heap <= 2*budget && time.Since(lastGC) > 100*time.Millisecond {
			runtime.GC()
			lastGC = time.Now()
			heap = sample(heapMetric)
			watch.heap.Store(heap)
			if heap <= budget {
				continue
			}
		}
		watch.mu.Lock()
		for g := range watch.guards {
			g.expire(int32(StopMemory))
		}
		watch.mu.Unlock()
	}
}

func sample(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
