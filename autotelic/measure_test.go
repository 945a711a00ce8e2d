package autotelic_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"batos"
	"batos/autotelic"
	"batos/kernel/pllm/bench"
	"batos/kernel/pllm/bench/benchtest"
)

// TestMeasure: a persona whose adapter has no held-out pass rate is a
// measure mandate; the step runs the held-out bench through the real
// pipeline, records it in Lobby.pLLM.benchmarks, and the router then
// prefers the persona that passed. A budget too small for the run stops
// it and records nothing.
func TestMeasure(t *testing.T) {
	suite, err := bench.Load(batos.Mandates, batos.MandatesDir)
	if err != nil {
		t.Fatal(err)
	}
	held, _ := suite.Select(bench.HeldOut)
	f := setupWith(t, autotelic.Options{Poll: time.Hour, Sandbox: trials})
	f.srv.Respond(benchtest.Respond(suite, func(m *bench.Mandate, _ map[string]any) string { return m.Reference }))
	kinds := func() map[string]bool {
		ms, err := f.loop.Candidates(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, m := range ms {
			if m.Kind == autotelic.Measure {
				out[m.Persona] = true
			}
		}
		return out
	}
	if got := kinds(); len(got) != 4 {
		t.Fatalf("measure mandates for %v, want the four personas", got)
	}
	// The choice rule is image code: this one measures BABS.
	f.eval(t, "Lobby.At(\"autotelic\").Define(\"choose\", `func choose(self Object, ms []any) int {\n\tfor i, m := range ms {\n\t\tif m.(map[string]any)[\"kind\"] == \"measure\" && m.(map[string]any)[\"persona\"] == \"BABS\" {\n\t\t\treturn i\n\t\t}\n\t}\n\treturn 0\n}`)")

	// A budget smaller than the run: stopped, nothing recorded.
	f.eval(t, `Lobby.At("autotelic").Set("budget", map[string]any{"generations": 5, "tokens": 1000000, "commits": 24})`)
	e, err := f.loop.Step(context.Background(), "user")
	if err != nil || e.Outcome != autotelic.Stopped || e.Spent.Calls != 5 {
		t.Fatalf("over budget: %+v, %v", e, err)
	}
	if got := f.eval(t, `len(Lobby.At("pLLM").Get("benchmarks").([]any))`); got != "0" {
		t.Fatalf("a partial run was recorded: %s", got)
	}

	f.eval(t, `Lobby.At("autotelic").Set("budget", map[string]any{"generations": 100, "tokens": 1000000, "commits": 24})`)
	e, err = f.loop.Step(context.Background(), "user")
	if err != nil || e.Outcome != autotelic.Measured || e.Mandate.Persona != "BABS" || !strings.Contains(e.Detail, fmt.Sprintf("%d/%d held-out mandates passed", len(held), len(held))) {
		t.Fatalf("measure: %+v, %v", e, err)
	}
	if got := kinds(); got["BABS"] || len(got) != 3 {
		t.Errorf("after measuring BABS, measure mandates for %v", got)
	}
	// The router reads the pass rate: BABS comes first for any mandate.
	if got := f.eval(t, `Lobby.At("pLLM").Send("route", "anything at all", 4).([]any)[0].(map[string]any)["persona"]`); got != `"BABS"` {
		t.Errorf("route's first persona = %s, want BABS", got)
	}
	if led := f.ledger(t); len(led) != 2 || led[1]["outcome"] != autotelic.Measured || !strings.Contains(fmt.Sprint(led[1]["summary"]), "did: measured BABS's held-out pass rate") {
		t.Errorf("ledger %v", led)
	}
}
