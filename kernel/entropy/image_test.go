package entropy_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"batos/kernel"
	"batos/kernel/entropy"
)

// TestMeasureImage: the metric read from an image's own records — the
// generation records, whether their methods are still installed, and the
// behaviour reachable from the Lobby — and recorded as a bounded series.
func TestMeasureImage(t *testing.T) {
	k, err := kernel.Open(filepath.Join(t.TempDir(), "img"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if err := entropy.Install(k); err != nil {
		t.Fatal(err)
	}
	s := k.NewSession("user")
	eval := func(src string) any {
		t.Helper()
		res, err := s.Eval(context.Background(), src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		return res.Value
	}
	empty := eval(`Lobby.Get("entropy").(Object).Send("measure")`).(map[string]any)
	if empty["rel"] != 0.0 || empty["cog"] != 0.0 || empty["sol"] != 0.0 || empty["generations"] != 0 {
		t.Fatalf("an image without generations: %v", empty)
	}
	if empty["struc"].(float64) <= 0 {
		t.Fatalf("the codex's own behaviour is structure: %v", empty)
	}
	// Two generations: BRICK's double is still installed; ROBIN's sum was
	// reverted (the slot is gone); BABS failed validation.
	eval(`shape := NewObject(); Lobby.Set("shape", shape)
shape.Define("double", "func double(self Object, n int) int { return n * 2 }")
gen := func(sel string, personas []any, cands []any) Object {
	g := NewObject(); g.Set("selector", sel); g.Set("receiver", shape); g.Set("personas", personas); g.Set("candidates", cands); return g
}
p := Lobby.Get("pLLM").(Object)
routed := gen("mark", []any{"BRICK"}, []any{})
routed.Set("routingEntropy", 0.5)
p.Set("generations", []any{
	routed,
	gen("double", []any{"BRICK", "ROBIN"}, []any{map[string]any{"persona": "BRICK", "outcome": "accepted", "source": "func double(self Object, n int) int { return n * 2 }"}, map[string]any{"persona": "ROBIN", "outcome": "not needed"}}),
	gen("sum", []any{"BABS", "ROBIN"}, []any{map[string]any{"persona": "BABS", "outcome": "failed"}, map[string]any{"persona": "ROBIN", "outcome": "accepted", "source": "func sum(self Object, xs []int) int { t := 0; for _, x := range xs { t += x }; return t }"}}),
})`)
	r := eval(`Lobby.Get("entropy").(Object).Send("record")`).(map[string]any)
	// BRICK 2, ROBIN 2, BABS 1 of 5 consultations.
	wantCog := -(0.4*math.Log(0.4)*2 + 0.2*math.Log(0.2)) / math.Log(4)
	if r["rel"] != 1.0/3 || math.Abs(r["cog"].(float64)-wantCog) > 1e-9 || r["sol"].(float64) <= 0.5 || r["generations"] != 3 || r["routing"] != 0.5 || r["routed"] != 1 {
		t.Fatalf("reading %v (want rel 1/3, cog %v)", r, wantCog)
	}
	cem := 0.5*r["rel"].(float64) + 0.25*r["cog"].(float64) + 0.2*r["sol"].(float64) + 0.05*r["struc"].(float64)
	if math.Abs(r["cem"].(float64)-cem) > 1e-9 {
		t.Fatalf("cem %v, want %v", r["cem"], cem)
	}
	// Reverting double lowers relevance to 0; the series keeps both
	// readings, then only the newest seriesMax.
	eval(`Lobby.Get("shape").(Object).Remove("double")`)
	eval(`e := Lobby.Get("entropy").(Object); e.Send("record"); e.Set("seriesMax", 2); e.Send("record")`)
	series := eval(`Lobby.Get("entropy").(Object).Get("series")`).([]any)
	if len(series) != 2 || series[1].(map[string]any)["rel"] != 0.0 {
		t.Fatalf("series %v", series)
	}
	// Weights come from the image.
	eval(`Lobby.Get("entropy").(Object).Set("weights", map[string]any{"rel": 0.0, "cog": 0.0, "sol": 0.0, "struc": 1.0})`)
	r = eval(`Lobby.Get("entropy").(Object).Send("measure")`).(map[string]any)
	if r["cem"] != r["struc"] {
		t.Fatalf("with all weight on structure: %v", r)
	}
}

// TestRecorder: each commit by the pLLM records a reading (interval 0
// here; the default rate limit is due's).
func TestRecorder(t *testing.T) {
	k, err := kernel.Open(filepath.Join(t.TempDir(), "img"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if err := entropy.Install(k); err != nil {
		t.Fatal(err)
	}
	if _, err := k.NewSession("user").Eval(context.Background(), `Lobby.Get("entropy").(Object).Set("interval", 0)`); err != nil {
		t.Fatal(err)
	}
	stop := entropy.StartRecorder(k)
	defer stop()
	sub := k.Bus().Subscribe(64)
	defer sub.Close()
	for i := range 2 {
		if _, err := k.NewSession("pLLM/BRICK").Eval(context.Background(), fmt.Sprintf(`Lobby.Get("pLLM").(Object).Set("note", %d)`, i)); err != nil {
			t.Fatal(err)
		}
		for ev := range sub.C {
			if ev.Kind == kernel.EventCommit && ev.Tx.Principal == entropy.Principal {
				break
			}
		}
	}
	res, err := k.NewSession("user").Eval(context.Background(), `len(Lobby.Get("entropy").(Object).Get("series").([]any))`)
	if err != nil || res.Value != 2 {
		t.Fatalf("series of %v readings (%v), want 2", res.Value, err)
	}
}

// TestLatest: the status reads the newest recorded reading.
func TestLatest(t *testing.T) {
	k, err := kernel.Open(filepath.Join(t.TempDir(), "img"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	s := k.NewSession("user")
	var cem float64
	var known bool
	read := func() {
		if _, err := s.Run(context.Background(), "", func(lobby kernel.Object) error {
			cem, known = entropy.Latest(lobby)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	read()
	if known {
		t.Fatalf("a reading in a fresh image: %v", cem)
	}
	if _, err := s.Eval(context.Background(), `Lobby.Get("entropy").(Object).Set("series", []any{map[string]any{"cem": 0.25}, map[string]any{"cem": 0.75}})`); err != nil {
		t.Fatal(err)
	}
	read()
	if !known || cem != 0.75 {
		t.Fatalf("latest %v %v, want 0.75", cem, known)
	}
}
