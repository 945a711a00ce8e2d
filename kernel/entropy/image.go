package entropy

import (
	"errors"
	"fmt"
	"time"

	"batos/image"
	"batos/kernel"
)

// Principal records the series when the system does it on its own.
const Principal = "entropy"

// maxObjects bounds the walk that counts the image's structure.
const maxObjects = 200_000

// Config is Lobby.entropy's configuration; every slot has a default.
type Config struct {
	Weights   Weights
	Window    int // generation records measured, newest
	K         int // neighbours for novelty
	Scale     Structure
	SeriesMax int // readings kept in Lobby.entropy.series
}

// ReadConfig reads Lobby.entropy's slots.
func ReadConfig(lobby kernel.Object) Config {
	c := Config{Weights: DefaultWeights, Window: 100, K: 5, Scale: DefaultScale, SeriesMax: 500}
	e := object(lobby, "entropy")
	if e == nil {
		return c
	}
	if m, ok := get(*e, "weights").(map[string]any); ok {
		c.Weights = Weights{Rel: num(m["rel"], c.Weights.Rel), Cog: num(m["cog"], c.Weights.Cog), Sol: num(m["sol"], c.Weights.Sol), Struc: num(m["struc"], c.Weights.Struc)}
	}
	c.Window = int(num(get(*e, "window"), float64(c.Window)))
	c.K = int(num(get(*e, "k"), float64(c.K)))
	c.SeriesMax = int(num(get(*e, "seriesMax"), float64(c.SeriesMax)))
	if m, ok := get(*e, "scale").(map[string]any); ok {
		c.Scale = Structure{Methods: int(num(m["methods"], 1000)), Behaving: int(num(m["objects"], 200)), Edges: int(num(m["edges"], 400))}
	}
	return c
}

// Measure computes the metric of the image s reads.
func Measure(s *kernel.Session) (Reading, error) {
	lobby := s.Object(image.RootOID)
	cfg := ReadConfig(lobby)
	gens, personas, err := generations(s, lobby, cfg.Window)
	if err != nil {
		return Reading{}, err
	}
	st, err := structure(s)
	if err != nil {
		return Reading{}, err
	}
	return Compute(gens, personas, st, cfg.Weights, cfg.Scale, cfg.K), nil
}

// Record measures and appends the reading, with the time, to
// Lobby.entropy.series (Append); it returns the reading.
func Record(s *kernel.Session, now time.Time) (Reading, error) {
	r, err := Measure(s)
	if err != nil {
		return r, err
	}
	return r, Append(s, r, now)
}

// Append appends a reading taken at now to Lobby.entropy.series, keeping
// the newest SeriesMax.
func Append(s *kernel.Session, r Reading, now time.Time) error {
	lobby := s.Object(image.RootOID)
	e := object(lobby, "entropy")
	if e == nil {
		return errors.New("entropy: the image has no Lobby.entropy")
	}
	series, _ := get(*e, "series").([]any)
	series = append(series, r.asMap(now))
	if max := ReadConfig(lobby).SeriesMax; max > 0 && len(series) > max {
		series = series[len(series)-max:]
	}
	e.Set("series", series)
	return nil
}

func (r Reading) asMap(now time.Time) map[string]any {
	return map[string]any{
		"time": now.UTC().Format(time.RFC3339), "cem": r.CEM, "rel": r.Rel, "cog": r.Cog,
		"sol": r.Sol, "struc": r.Struc, "generations": r.Generations,
		"routing": r.Routing, "routed": r.Routed,
	}
}

// AsMap is the reading as an image value.
func (r Reading) AsMap() map[string]any { return r.asMap(time.Now()) }

// generations reads the newest window generation records, oldest first,
// and the number of personas configured.
func generations(s *kernel.Session, lobby kernel.Object, window int) ([]Generation, int, error) {
	p := object(lobby, "pLLM")
	if p == nil {
		return nil, 0, nil
	}
	personas := 0
	if ps := object(*p, "personas"); ps != nil {
		for _, name := range ps.Slots() {
			if _, ok := get(*ps, name).(kernel.Object); ok && name != "parent*" {
				personas++
			}
		}
	}
	records, _ := get(*p, "generations").([]any)
	if window > 0 && len(records) > window {
		records = records[len(records)-window:]
	}
	var out []Generation
	for _, v := range records {
		o, ok := v.(kernel.Object)
		if !ok {
			continue
		}
		g := Generation{}
		if l, ok := get(o, "personas").([]any); ok {
			for _, n := range l {
				if n, ok := n.(string); ok {
					g.Personas = append(g.Personas, n)
				}
			}
		}
		if h, ok := get(o, "routingEntropy").(float64); ok {
			g.Routing, g.HasRouting = h, true
		}
		selector, _ := get(o, "selector").(string)
		receiver, hasReceiver := get(o, "receiver").(kernel.Object)
		cands, _ := get(o, "candidates").([]any)
		for _, c := range cands {
			m, _ := c.(map[string]any)
			cand := Candidate{}
			cand.Persona, _ = m["persona"].(string)
			cand.Outcome, _ = m["outcome"].(string)
			cand.Source, _ = m["source"].(string)
			if cand.Outcome == "accepted" && hasReceiver {
				kept, err := Responds(s, receiver.OID(), selector)
				if err != nil {
					return nil, 0, err
				}
				cand.Kept = kept
			}
			g.Candidates = append(g.Candidates, cand)
		}
		out = append(out, g)
	}
	return out, personas, nil
}

// Responds reports whether oid's lookup chain holds a method selector: an
// accepted method a user reverted (undo, remove) no longer does.
func Responds(s *kernel.Session, oid image.OID, selector string) (bool, error) {
	chain, err := s.Chain(oid)
	if errors.Is(err, image.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("entropy: %w", err)
	}
	for _, o := range chain {
		slots, err := s.SlotsOf(o)
		if err != nil {
			return false, fmt.Errorf("entropy: %w", err)
		}
		for _, sl := range slots {
			if sl.Name == selector {
				return sl.Kind == image.SlotMethod || sl.Kind == image.SlotPrimitive, nil
			}
		}
	}
	return false, nil
}

// structure counts the behaviour reachable from the Lobby.
func structure(s *kernel.Session) (Structure, error) {
	var st Structure
	err := s.Walk(maxObjects, func(_ image.OID, slots []image.Slot) bool {
		methods := 0
		for _, sl := range slots {
			switch sl.Kind {
			case image.SlotMethod:
				methods++
			case image.SlotParent:
				st.Edges++
			}
		}
		st.Methods += methods
		if methods > 0 {
			st.Behaving++
		}
		return true
	})
	if err != nil {
		return st, fmt.Errorf("entropy: %w", err)
	}
	return st, nil
}

// get reads a slot, nil when missing.
func get(o kernel.Object, name string) any {
	v, _ := o.Lookup(name)
	return v
}

func object(o kernel.Object, name string) *kernel.Object {
	if v, ok := get(o, name).(kernel.Object); ok {
		return &v
	}
	return nil
}

func num(v any, def float64) float64 {
	switch v := v.(type) {
	case int:
		return float64(v)
	case float64:
		return v
	}
	return def
}

// Latest returns the CEM of the newest reading in Lobby.entropy.series,
// and whether there is one: what a status bar shows without measuring.
func Latest(lobby kernel.Object) (float64, bool) {
	e := object(lobby, "entropy")
	if e == nil {
		return 0, false
	}
	series, _ := get(*e, "series").([]any)
	if len(series) == 0 {
		return 0, false
	}
	m, _ := series[len(series)-1].(map[string]any)
	cem, ok := m["cem"].(float64)
	return cem, ok
}
