package entropy

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func consult(personas ...string) Generation { return Generation{Personas: personas} }

func TestCognitive(t *testing.T) {
	tests := []struct {
		name     string
		gens     []Generation
		personas int
		want     float64
	}{
		{"no records", nil, 4, 0},
		{"one persona configured", []Generation{consult("BRICK"), consult("BRICK")}, 1, 0},
		{"only one of four used", []Generation{consult("BRICK"), consult("BRICK")}, 4, 0},
		{"all four evenly", []Generation{consult("BRICK", "ROBIN"), consult("BABS", "ALFRED")}, 4, 1},
		{"two of four evenly", []Generation{consult("BRICK"), consult("ROBIN")}, 4, math.Log(2) / math.Log(4)},
		{"skewed 3:1 of two", []Generation{consult("A"), consult("A"), consult("A"), consult("B")}, 2, -(0.75*math.Log(0.75) + 0.25*math.Log(0.25)) / math.Log(2)},
	}
	for _, tt := range tests {
		if got := Cognitive(tt.gens, tt.personas); !near(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

const (
	double = "func double(self Object, n int) int { return n * 2 }"
	triple = "func triple(self Object, n int) int { return n * 3 }"
	sum    = `func sum(self Object, xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}`
	greet = `func greet(self Object, name string) string { return strings.ToUpper("hello, " + name) }`
)

func TestNovelty(t *testing.T) {
	if got := Novelty(nil, 3); got != 0 {
		t.Errorf("no methods: %v", got)
	}
	if got := Novelty([]string{sum}, 3); got != 0 {
		t.Errorf("one method: %v", got)
	}
	// Identical solutions, and the same body under another name or with
	// another constant, are no novelty.
	for _, srcs := range [][]string{{sum, sum, sum}, {double, triple}, {double, "// a comment\nfunc twice(self Object, n int) int {\n\treturn n * 2\n}"}} {
		if got := Novelty(srcs, 3); got != 0 {
			t.Errorf("identical solutions %q: %v", srcs, got)
		}
	}
	// Unrelated solutions are far apart; a repeat after them lowers the
	// mean.
	diverse := Novelty([]string{double, sum, greet}, 3)
	if diverse < 0.8 {
		t.Errorf("three unrelated methods: %v, want ≥ 0.8", diverse)
	}
	if repeated := Novelty([]string{double, sum, greet, sum}, 3); repeated >= diverse {
		t.Errorf("a repeat did not lower novelty: %v ≥ %v", repeated, diverse)
	}
	// k bounds the neighbours: with k=1 a repeat of any earlier method is
	// not novel at all.
	if got := Novelty([]string{double, sum, double}, 1); !near(got, (1-jaccard(Shingles(sum), Shingles(double))+0)/2) {
		t.Errorf("k=1: %v", got)
	}
}

func TestStructural(t *testing.T) {
	if got := Structural(Structure{}, DefaultScale); got != 0 {
		t.Errorf("empty image: %v", got)
	}
	if got := Structural(DefaultScale, DefaultScale); !near(got, 1) {
		t.Errorf("at scale: %v", got)
	}
	if got := Structural(Structure{Methods: 1e6, Behaving: 1e6, Edges: 1e6}, DefaultScale); !near(got, 1) {
		t.Errorf("past scale: %v, want capped at 1", got)
	}
	small := Structural(Structure{Methods: 10, Behaving: 3, Edges: 5}, DefaultScale)
	larger := Structural(Structure{Methods: 100, Behaving: 30, Edges: 50}, DefaultScale)
	if !(0 < small && small < larger && larger < 1) {
		t.Errorf("growth not monotone: %v, %v", small, larger)
	}
}

func TestRelevance(t *testing.T) {
	acc := func(kept bool) Candidate { return Candidate{Outcome: "accepted", Kept: kept, Source: double} }
	fail := Candidate{Outcome: "failed"}
	skip := Candidate{Outcome: "not needed"}
	tests := []struct {
		name string
		gens []Generation
		want float64
	}{
		{"no records", nil, 0},
		{"none judged", []Generation{{Candidates: []Candidate{skip}}}, 0},
		{"all kept", []Generation{{Candidates: []Candidate{acc(true)}}, {Candidates: []Candidate{acc(true), skip}}}, 1},
		{"all reverted", []Generation{{Candidates: []Candidate{acc(false)}}, {Candidates: []Candidate{fail, acc(false)}}}, 0},
		{"half", []Generation{{Candidates: []Candidate{fail, acc(true)}}}, 0.5},
	}
	for _, tt := range tests {
		if got := Relevance(tt.gens); !near(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCompute(t *testing.T) {
	r := Compute(nil, 4, Structure{}, DefaultWeights, DefaultScale, 5)
	if len(r.Uses) != 0 {
		t.Errorf("empty: uses %v", r.Uses)
	}
	if r.Uses = nil; !reflect.DeepEqual(r, Reading{}) {
		t.Errorf("empty: %+v", r)
	}
	gens := []Generation{
		{Personas: []string{"BRICK", "ROBIN"}, Candidates: []Candidate{{Persona: "BRICK", Outcome: "accepted", Source: double, Kept: true}, {Persona: "ROBIN", Outcome: "not needed"}}},
		{Personas: []string{"BABS", "ALFRED"}, Candidates: []Candidate{{Persona: "BABS", Outcome: "failed"}, {Persona: "ALFRED", Outcome: "accepted", Source: sum, Kept: true}}},
	}
	s := Structure{Methods: 20, Behaving: 5, Edges: 12}
	r = Compute(gens, 4, s, DefaultWeights, DefaultScale, 5)
	want := 0.5*r.Rel + 0.25*r.Cog + 0.2*r.Sol + 0.05*r.Struc
	if !near(r.CEM, want) || !near(r.Rel, 2.0/3) || !near(r.Cog, 1) || r.Sol <= 0 || r.Struc <= 0 || r.Generations != 2 || r.Routed != 0 {
		t.Errorf("%+v", r)
	}
	if want := map[string]int{"BRICK": 1, "ROBIN": 1, "BABS": 1, "ALFRED": 1}; !reflect.DeepEqual(r.Uses, want) {
		t.Errorf("uses = %v, want %v", r.Uses, want)
	}
	// Routing confidence is the mean over the generations that recorded
	// it, and does not move CEM.
	gens[0].Routing, gens[0].HasRouting = 0.2, true
	gens = append(gens, Generation{Routing: 0.6, HasRouting: true})
	r2 := Compute(gens, 4, s, DefaultWeights, DefaultScale, 5)
	if r2.Routed != 2 || !near(r2.Routing, 0.4) {
		t.Errorf("routing %v over %d, want 0.4 over 2", r2.Routing, r2.Routed)
	}
}

func TestDue(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		last, now time.Time
		interval  time.Duration
		want      bool
	}{
		{time.Time{}, t0, time.Minute, true},
		{t0, t0.Add(59 * time.Second), time.Minute, false},
		{t0, t0.Add(time.Minute), time.Minute, true},
		{t0, t0, 0, true},
	}
	for _, tt := range tests {
		if got := due(tt.last, tt.now, tt.interval); got != tt.want {
			t.Errorf("due(%v, %v, %v) = %v", tt.last, tt.now, tt.interval, got)
		}
	}
}
