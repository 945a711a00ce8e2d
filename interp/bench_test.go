package interp

import (
	"fmt"
	"testing"
	"time"

	yaegiinterp "github.com/traefik/yaegi/interp"

	"batos/internal/plainyaegi"
)

// BenchmarkCall measures Method.Call of a trivial method and reports it as
// a ratio to calling the same function compiled by plain yaegi (no
// rewriting) through its typed func value, measured in the same run.
func BenchmarkCall(b *testing.B) {
	const src = "func add(self Object, x int) int { return x + 1 }"
	in := yaegiinterp.New(yaegiinterp.Options{})
	if err := in.Use(testExports()); err != nil {
		b.Fatal(err)
	}
	if _, err := in.Eval(`import . "batos/script"` + "\n" + src); err != nil {
		b.Fatal(err)
	}
	v, err := in.Eval("add")
	if err != nil {
		b.Fatal(err)
	}
	raw := v.Interface().(func(Object, int) int)
	c := sharedCompiler(b)
	m, err := c.Compile("add", src)
	if err != nil {
		b.Fatal(err)
	}
	g := NewGuard(b.Context(), Limits{Deadline: time.Hour, MaxSteps: 1 << 62})
	defer g.Release()
	o := newObject(&world{c: c, g: g})
	args := []any{41}
	const n = 20000
	start := time.Now()
	for range n {
		raw(o, 41)
	}
	rawNs := float64(time.Since(start).Nanoseconds()) / n
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Call(g, o, args); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(rawNs, "raw-ns/call")
	b.ReportMetric(per/rawNs, "x-raw")
}

// BenchmarkLoop reports an interpreted loop step with the guard's
// countdown as a ratio to the same loop without it.
func BenchmarkLoop(b *testing.B) {
	const src = "func sum(self Object, n int) int { s := 0; for i := 0; i < n; i++ { s += i }; return s }"
	in := yaegiinterp.New(yaegiinterp.Options{})
	in.Use(testExports())
	in.Eval(`import . "batos/script"` + "\n" + src)
	v, _ := in.Eval("sum")
	raw := v.Interface().(func(Object, int) int)
	c := sharedCompiler(b)
	m, err := c.Compile("sum", src)
	if err != nil {
		b.Fatal(err)
	}
	g := NewGuard(b.Context(), Limits{Deadline: time.Hour, MaxSteps: 1 << 62})
	defer g.Release()
	o := newObject(&world{c: c, g: g})
	const n = 100000
	start := time.Now()
	raw(o, n)
	rawNs := float64(time.Since(start).Nanoseconds()) / n
	b.ResetTimer()
	for b.Loop() {
		m.Call(g, o, []any{n})
	}
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / n
	b.ReportMetric(per, "ns/step")
	b.ReportMetric(per/rawNs, "x-raw")
}

// BenchmarkCompile compiles a 10-line method (a distinct source each time,
// so the cache does not answer), interpreter replacement included, and
// reports it as a ratio to upstream yaegi's own compile of the same
// sources (x-yaegi; see plainyaegi.CompileCost).
func BenchmarkCompile(b *testing.B) {
	c, err := NewCompiler(testConfig())
	if err != nil {
		b.Fatal(err)
	}
	src := func(name string, i int) string {
		return fmt.Sprintf(`func %s(self Object, scale float64) float64 {
	w, _ := self.Get("w").(float64)
	h, _ := self.Get("h").(float64)
	total := 0.0
	for i := 0; i < 3; i++ {
		total += w * h * scale
	}
	label := strings.ToUpper("area")
	_ = label
	return total + %d
}`, name, i)
	}
	i := 0
	for b.Loop() {
		i++
		if _, err := c.Compile("area", src("area", i)); err != nil {
			b.Fatal(err)
		}
	}
	per := b.Elapsed() / time.Duration(b.N)
	yaegi := plainyaegi.CompileCost(b, 2000, DefaultMaxVersions, func() *yaegiinterp.Interpreter {
		return plainyaegi.New(b, testExports(), `import "strings"`+"\n"+`import . "batos/script"`)
	}, func(i int) string { return src(fmt.Sprintf("area%d", i), i) })
	b.ReportMetric(float64(per.Microseconds()), "µs/compile")
	b.ReportMetric(float64(yaegi.Microseconds()), "yaegi-µs")
	b.ReportMetric(float64(per)/float64(yaegi), "x-yaegi")
	b.ReportMetric(3, "goal-x")
}

// BenchmarkWorkspaceEntry measures an entry in a workspace that has
// already run `before` of them, with and without recycling (recycleAfter):
// an entry should cost the same either way (see recycleAfter).
func BenchmarkWorkspaceEntry(b *testing.B) {
	const src = `o := M; F(o["a"].(int)+1)`
	for _, recycle := range []bool{true, false} {
		for _, before := range []int{0, 4000} {
			b.Run(fmt.Sprintf("recycle=%v/before=%d", recycle, before), func(b *testing.B) {
				if !recycle {
					defer func(n int) { recycleAfter = n }(recycleAfter)
					recycleAfter = 1 << 62
				}
				w, err := sharedCompiler(b).NewWorkspace(map[string]any{"F": func(int) {}, "M": map[string]any{"a": 1}})
				if err != nil {
					b.Fatal(err)
				}
				eval := func() {
					g := NewGuard(b.Context(), Limits{Deadline: time.Minute})
					defer g.Release()
					if _, err := w.Eval(g, src); err != nil {
						b.Fatal(err)
					}
				}
				for range before {
					eval()
				}
				b.ResetTimer()
				for b.Loop() {
					eval()
				}
			})
		}
	}
}
