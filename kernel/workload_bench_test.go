package kernel_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"batos/internal/plainyaegi"
	"batos/kernel"
)

// The call-heavy workloads: each is a method, timed with its guard in
// place, and compared with the same Go evaluated by upstream yaegi in a
// bare interpreter (no rewriting, no guard), measured in the same run.
// Each reports its ratio (x-plain) beside its goal (goal-x); ns/op is
// the two together.

// workload defines the method sel from src on Lobby, then times
// Lobby.Send(sel, arg) against plain(), which runs the baseline.
func workload(b *testing.B, sel, src string, arg any, plain func(), goal float64) {
	k, _ := openKernel(b)
	s := k.NewSession("bench")
	if _, err := s.Eval(context.Background(), fmt.Sprintf("Lobby.Define(%q, %s)", sel, strconv.Quote(src))); err != nil {
		b.Fatal(err)
	}
	plain() // warm
	var ours, raw time.Duration
	run(b, s, func(lobby kernel.Object) {
		want := lobby.Send(sel, arg) // compile, and warm
		// Interleaved, so that both see the same machine.
		for b.Loop() {
			start := time.Now()
			plain()
			mid := time.Now()
			if got := lobby.Send(sel, arg); got != want {
				b.Fatalf("%s = %v, then %v", sel, want, got)
			}
			raw += mid.Sub(start)
			ours += time.Since(mid)
		}
	})
	n := time.Duration(b.N)
	b.ReportMetric(float64((ours/n).Microseconds())/1000, "method-ms")
	b.ReportMetric(float64((raw/n).Microseconds())/1000, "plain-ms")
	b.ReportMetric(float64(ours)/float64(raw), "x-plain")
	b.ReportMetric(goal, "goal-x")
}

// BenchmarkFibInMethod: fib(22) as a recursive closure inside one method
// (28,657 interpreted calls), against the same function in plain yaegi.
func BenchmarkFibInMethod(b *testing.B) {
	const body = `
	var f func(int) int
	f = func(n int) int {
		if n < 2 {
			return n
		}
		return f(n-1) + f(n-2)
	}
	return f(n)
}`
	fib := plainyaegi.Func(b, "func fib(n int) int {"+body, "fib").(func(int) int)
	workload(b, "fib", "func fib(self Object, n int) int {"+body, 22, func() { fib(22) }, 1.5)
}

// BenchmarkFibSends: fib(22) as a method that recurses through
// self.Send, against plain yaegi's recursive calls of a function.
func BenchmarkFibSends(b *testing.B) {
	fib := plainyaegi.Func(b, `func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}`, "fib").(func(int) int)
	workload(b, "fib", `func fib(self Object, n int) int {
	if n < 2 {
		return n
	}
	return self.Send("fib", n-1).(int) + self.Send("fib", n-2).(int)
}`, 22, func() { fib(22) }, 2)
}

// BenchmarkSumLoop: a tight loop summing a slice of a million ints.
func BenchmarkSumLoop(b *testing.B) {
	const body = `
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}`
	xs := make([]int, 1_000_000)
	for i := range xs {
		xs[i] = i
	}
	sum := plainyaegi.Func(b, "func sum(xs []int) int {"+body, "sum").(func([]int) int)
	workload(b, "sum", "func sum(self Object, xs []int) int {"+body, xs, func() { sum(xs) }, 1.3)
}
