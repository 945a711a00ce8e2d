package kernel_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	yaegiinterp "github.com/traefik/yaegi/interp"

	"batos/image"
	"batos/internal/plainyaegi"
	"batos/interp"
	"batos/kernel"
)

// rawYaegiCall measures the raw cost a send is compared with: calling a
// function compiled by plain yaegi, directly through its Go func value.
func rawYaegiCall(b *testing.B) time.Duration {
	fn := plainyaegi.Func(b, `func answer(x int) int { return x }`, "answer").(func(int) int)
	return plainyaegi.Mean(200_000, func() { fn(1) })
}

// BenchmarkSend sends to a trivial installed method from Go, inside one
// transaction, and reports the cost as a ratio to rawYaegiCall (goal ≤ 2).
func BenchmarkSend(b *testing.B) {
	k, _ := openKernel(b)
	s := k.NewSession("bench")
	if _, err := s.Eval(context.Background(), `Lobby.Define("answer", "func answer(self Object, x int) int { return x }")`); err != nil {
		b.Fatal(err)
	}
	raw := rawYaegiCall(b)
	var per time.Duration
	run(b, s, func(lobby kernel.Object) {
		lobby.Send("answer", 1) // warm the cache and compile
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			lobby.Send("answer", i)
		}
		per = time.Since(start) / time.Duration(b.N)
		b.StopTimer()
	})
	b.ReportMetric(float64(raw.Nanoseconds()), "raw-ns/call")
	b.ReportMetric(float64(per)/float64(raw), "x-raw")
	b.ReportMetric(2, "goal-x")
}

// BenchmarkSendChain sends through a 10-deep delegation chain and reports
// the ratio to a direct hit on the receiver measured in the same run
// (goal ≤ 1.2).
func BenchmarkSendChain(b *testing.B) {
	k, _ := openKernel(b)
	s := k.NewSession("bench")
	_, err := s.Eval(context.Background(), `
top := NewObject()
top.Define("answer", "func answer(self Object, x int) int { return x }")
o := top
for i := 0; i < 10; i++ { c := NewObject(); c.Set("parent*", o); o = c }
Lobby.Set("top", top)
Lobby.Set("deep", o)`)
	if err != nil {
		b.Fatal(err)
	}
	measure := func(lobby kernel.Object, name string, n int) time.Duration {
		o := lobby.Get(name).(kernel.Object)
		o.Send("answer", 1)
		start := time.Now()
		for i := 0; i < n; i++ {
			o.Send("answer", i)
		}
		return time.Since(start) / time.Duration(n)
	}
	var direct, deep time.Duration
	run(b, s, func(lobby kernel.Object) {
		direct = measure(lobby, "top", 100_000)
		b.ResetTimer()
		deep = measure(lobby, "deep", b.N)
		b.StopTimer()
	})
	b.ReportMetric(float64(direct.Nanoseconds()), "direct-ns/send")
	b.ReportMetric(float64(deep)/float64(direct), "x-direct")
}

// BenchmarkOpenLargeImage opens an image of 100,000 objects and answers a
// first send (goal < 50 ms: the image loads lazily).
func BenchmarkOpenLargeImage(b *testing.B) {
	dir := b.TempDir()
	k, err := kernel.Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	s := k.NewSession("bench")
	const total, perTx = 100_000, 1_000
	for made := 0; made < total; made += perTx {
		run(b, s, func(lobby kernel.Object) {
			list := make([]any, 0, perTx)
			for i := 0; i < perTx; i++ {
				o := lobby.NewObject()
				o.Set("i", made+i)
				list = append(list, o)
			}
			lobby.Set(fmt.Sprintf("batch%d", made/perTx), list)
		})
	}
	run(b, s, func(lobby kernel.Object) {
		lobby.Define("answer", `func answer(self Object) int { return 42 }`)
	})
	k.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k, err := kernel.Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		v, err := k.NewSession("bench").Send(context.Background(), image.RootOID, "answer")
		if err != nil || v != 42 {
			b.Fatalf("first send = %v, %v", v, err)
		}
		b.StopTimer()
		k.Close()
		b.StartTimer()
	}
}

// BenchmarkDefine compiles and installs a 10-line method, one new source
// version per iteration, inside one transaction (compile cost, no fsync),
// and reports it as a ratio to upstream yaegi's own compile of the same
// sources (x-yaegi; see plainyaegi.CompileCost).
func BenchmarkDefine(b *testing.B) {
	k, _ := openKernel(b)
	s := k.NewSession("bench")
	src := func(i int) string {
		return fmt.Sprintf(`func stats(self Object, xs []any) (int, float64) {
	n, sum := 0, 0.0
	for _, x := range xs {
		if f, ok := x.(float64); ok {
			sum += f
			n++
		}
	}
	return n, sum / float64(n+%d)
}`, i)
	}
	var per time.Duration
	_, err := s.Run(context.Background(), "bench", func(lobby kernel.Object) error {
		i := 0
		for b.Loop() {
			i++
			lobby.Define("stats", src(i))
		}
		per = b.Elapsed() / time.Duration(b.N)
		return fmt.Errorf("abort: benchmark only")
	})
	if err == nil || err.Error() != "abort: benchmark only" {
		b.Fatal(err)
	}
	yaegi := plainyaegi.CompileCost(b, 2000, interp.DefaultMaxVersions, func() *yaegiinterp.Interpreter {
		return plainyaegi.New(b, nil, "type Object struct{ oid uint64 }")
	}, func(i int) string { return strings.Replace(src(i), "func stats(", fmt.Sprintf("func stats%d(", i), 1) })
	b.ReportMetric(float64(yaegi.Microseconds()), "yaegi-µs")
	b.ReportMetric(float64(per)/float64(yaegi), "x-yaegi")
	b.ReportMetric(3, "goal-x")
}
