package autotelic

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"batos/forge"
	"batos/image"
	"batos/kernel"
	"batos/kernel/entropy"
	"batos/kernel/pllm"
)

// The kinds of mandate.
const (
	Exercise  = "exercise"
	Behaviour = "behaviour"
	Retry     = "retry"
	Test      = "test"
	Forge     = "forge"
	// Measure runs the mandate suite's held-out part for a persona whose
	// current adapter has no pass rate yet (package bench): the router
	// reads pass rates, so measuring steers generations to the personas
	// that pass.
	Measure = "measure"
)

// Bounds on what one step looks at.
const (
	maxWalk    = 10_000 // objects visited for targets
	maxPerKind = 8      // candidates of one kind
)

// Mandate is one thing the loop could do.
type Mandate struct {
	Kind       string
	Target     image.OID // the receiver; 0 for forge
	TargetName string
	Selector   string
	Args       []any
	Persona    string // consulted instead of the router's choice (exercise), or fine-tuned (forge)
	Purpose    string // told to the model
	Reason     string // why it is expected to raise CEM
	Prior      float64
	Gain       float64 // expected gain: the prior corrected by the ledger
	Tried      int     // times the same mandate was tried before
}

// key identifies "the same mandate" for Tried.
func (m Mandate) key() string {
	return fmt.Sprintf("%s %d %s %s", m.Kind, m.Target, m.Selector, m.Persona)
}

// asMap is the mandate as the choice rule sees it.
func (m Mandate) asMap(s *kernel.Session) map[string]any {
	out := map[string]any{
		"kind": m.Kind, "selector": m.Selector, "persona": m.Persona, "reason": m.Reason,
		"prior": m.Prior, "gain": m.Gain, "tried": m.Tried, "targetName": m.TargetName,
	}
	if m.Target != 0 {
		out["target"] = s.Object(m.Target)
	}
	return out
}

// situation is what a step knows when it gathers mandates.
type situation struct {
	s        *kernel.Session
	lobby    kernel.Object
	cfg      Config
	reading  entropy.Reading
	weights  entropy.Weights
	personas []string
	ledger   []entry
	// measure: this process can run the bench (it has a sandbox).
	measure bool
}

// gather lists the mandates that could raise CEM now, each with its
// expected gain and how often it was tried.
func gather(st situation) ([]Mandate, error) {
	targets, err := walk(st)
	if err != nil {
		return nil, err
	}
	r, w := st.reading, st.weights
	var out []Mandate

	// behaviour: an object with data and little behaviour.
	var behaviour []Mandate
	for _, t := range targets {
		if t.data == 0 || len(t.methods) >= 3 {
			continue
		}
		for _, want := range st.cfg.Vocab {
			ok, err := entropy.Responds(st.s, t.oid, want.Selector)
			if err != nil {
				return nil, err
			}
			if ok {
				continue
			}
			behaviour = append(behaviour, Mandate{
				Kind: Behaviour, Target: t.oid, TargetName: t.name, Selector: want.Selector, Purpose: want.Purpose,
				Reason: fmt.Sprintf("%s has %d data slot%s and %d method%s: a %s method adds behaviour (H_struc %.2f) and a new solution (H_sol %.2f)",
					t.name, t.data, plural(t.data), len(t.methods), plural(len(t.methods)), want.Selector, r.Struc, r.Sol),
				Prior: w.Struc*(1-r.Struc) + 0.5*w.Sol*(1-r.Sol),
			})
			break
		}
		if len(behaviour) == maxPerKind {
			break
		}
	}
	out = append(out, behaviour...)

	// exercise: the least consulted persona writes the first behaviour.
	if p, share, ok := leastUsed(st.personas, r.Uses); ok && len(behaviour) > 0 {
		deficit := 1 - share*float64(len(st.personas))
		if deficit > 0 {
			b := behaviour[0]
			out = append(out, Mandate{
				Kind: Exercise, Target: b.Target, TargetName: b.TargetName, Selector: b.Selector, Purpose: b.Purpose, Persona: p,
				Reason: fmt.Sprintf("%s had %.0f%% of the last %d generations' consultations (even: %.0f%%): letting it write %s raises H_cog (%.2f)",
					p, 100*share, r.Generations, 100/float64(len(st.personas)), b.Selector, r.Cog),
				Prior: w.Cog * (1 - r.Cog) * deficit,
			})
		}
	}

	// test: a method with no test<Selector> on its chain.
	n := 0
	for _, t := range targets {
		for _, sel := range t.methods {
			if strings.HasPrefix(sel, "test") || n == maxPerKind {
				continue
			}
			test := "test" + capitalize(sel)
			ok, err := entropy.Responds(st.s, t.oid, test)
			if err != nil {
				return nil, err
			}
			if ok {
				continue
			}
			n++
			out = append(out, Mandate{
				Kind: Test, Target: t.oid, TargetName: t.name, Selector: test,
				Purpose: fmt.Sprintf("test the receiver's method %s: send it (self.Send) with typical and edge-case arguments and return nil when every answer is right, or an error that names the first wrong one; change nothing", sel),
				Reason:  fmt.Sprintf("%s.%s has no test: %s checks it and adds behaviour (H_struc %.2f)", t.name, sel, test, r.Struc),
				Prior:   0.5*w.Struc*(1-r.Struc) + 0.25*w.Rel*(1-r.Rel),
			})
		}
	}

	retries, err := failedSelectors(st)
	if err != nil {
		return nil, err
	}
	out = append(out, retries...)
	out = append(out, forgeMandates(st)...)
	if st.measure {
		out = append(out, measureMandates(st)...)
	}

	// The ledger corrects each kind's prior by what that kind did to CEM.
	observed := map[string][]float64{}
	tried := map[string]int{}
	for _, e := range st.ledger {
		tried[e.key]++
		switch {
		case e.reverted:
			observed[e.kind] = append(observed[e.kind], -w.Rel*math.Max(e.prior, 0.1))
		case e.measured:
			observed[e.kind] = append(observed[e.kind], e.after-e.before)
		}
	}
	for i := range out {
		m := &out[i]
		m.Gain = m.Prior
		if d := observed[m.Kind]; len(d) > 0 {
			sum := 0.0
			for _, x := range d {
				sum += x
			}
			m.Gain += sum / float64(len(d))
		}
		m.Gain = math.Max(m.Gain, 0.001)
		m.Tried = tried[m.key()]
	}
	return out, nil
}

// target is an object the loop may give behaviour to.
type target struct {
	oid     image.OID
	name    string
	data    int      // data slots other than name
	methods []string // own method selectors
}

// walk lists the objects reachable from the Lobby, breadth first, that
// the write policy does not protect and the ignore list does not name;
// it does not look inside either.
func walk(st situation) ([]target, error) {
	skip := map[image.OID]bool{image.RootOID: true}
	for _, p := range st.cfg.Ignore {
		if o, ok := resolve(st.lobby, p); ok {
			skip[o.OID()] = true
		}
	}
	var out []target
	// An object's name is its path from the Lobby (Lobby.shapes.rect),
	// which tells a model how the object is reached: the first path the
	// walk finds, breadth first, is the shortest.
	paths := map[image.OID]string{image.RootOID: "Lobby"}
	err := st.s.Walk(maxWalk, func(oid image.OID, slots []image.Slot) bool {
		if _, protected := st.s.Protected(oid); protected {
			return false
		}
		if skip[oid] && oid != image.RootOID {
			return false
		}
		if !skip[oid] {
			t := target{oid: oid, name: paths[oid]}
			for _, sl := range slots {
				switch {
				case sl.Kind == image.SlotMethod:
					t.methods = append(t.methods, sl.Name)
				case sl.Kind == image.SlotData && sl.Name != "name":
					t.data++
				}
			}
			out = append(out, t)
		}
		for _, sl := range slots {
			for _, child := range (&image.Record{Slots: []image.Slot{sl}}).Refs() {
				if _, named := paths[child]; named {
					continue
				}
				if ref, ok := sl.Value.(image.Ref); ok && ref.OID == child {
					paths[child] = paths[oid] + "." + sl.Name
				} else {
					paths[child] = st.s.Describe(child)
				}
			}
		}
		return true
	})
	return out, err
}

// failedSelectors lists the sends whose generation failed validation and
// that the receiver still does not understand.
func failedSelectors(st situation) ([]Mandate, error) {
	p, ok := object(st.lobby, "pLLM")
	if !ok {
		return nil, nil
	}
	records, _ := get(p, "generations").([]any)
	type failure struct {
		m     Mandate
		count int
	}
	var order []string
	failed := map[string]*failure{}
	for i := len(records) - 1; i >= 0 && len(order) < maxPerKind; i-- {
		o, ok := records[i].(kernel.Object)
		if !ok || str(get(o, "accepted")) != "" {
			continue
		}
		recv, ok := get(o, "receiver").(kernel.Object)
		sel := str(get(o, "selector"))
		if !ok || sel == "" || !rejected(get(o, "candidates")) {
			continue
		}
		args, hasArgs := get(o, "args").([]any)
		if !hasArgs && str(get(o, "arguments")) != "(none)" {
			continue // an older record that cannot make the same send
		}
		key := fmt.Sprintf("%d %s", recv.OID(), sel)
		if f, ok := failed[key]; ok {
			f.count++
			continue
		}
		if _, protected := st.s.Protected(recv.OID()); protected {
			continue
		}
		understood, err := entropy.Responds(st.s, recv.OID(), sel)
		if err != nil {
			return nil, err
		}
		if understood {
			continue
		}
		name := st.s.Describe(recv.OID())
		failed[key] = &failure{m: Mandate{
			Kind: Retry, Target: recv.OID(), TargetName: name, Selector: sel, Args: args,
			Purpose: str(get(o, "purpose")),
		}, count: 1}
		order = append(order, key)
	}
	r, w := st.reading, st.weights
	out := make([]Mandate, 0, len(order))
	for _, key := range order {
		f := failed[key]
		f.m.Reason = fmt.Sprintf("%s on %s failed validation %d time%s: a method that passes raises H_rel (%.2f)", f.m.Selector, f.m.TargetName, f.count, plural(f.count), r.Rel)
		f.m.Prior = w.Rel * (1 - r.Rel)
		out = append(out, f.m)
	}
	return out, nil
}

// rejected reports whether a record's candidates include one that
// answered and failed validation (not only unreachable servers).
func rejected(v any) bool {
	l, _ := v.([]any)
	for _, c := range l {
		m, _ := c.(map[string]any)
		if str(m["outcome"]) == "rejected" {
			return true
		}
	}
	return false
}

// forgeMandates proposes a fine-tune for each persona with at least the
// Forge's minExamples accepted generations since its last job, and none
// in flight.
func forgeMandates(st situation) []Mandate {
	fo, ok := object(st.lobby, "Forge")
	if !ok || get(fo, "fineTune") == nil {
		return nil
	}
	min := count(get(fo, "minExamples"), 32)
	last := map[string]string{} // persona → its newest job's created time
	busy := map[string]bool{}
	jobs, _ := get(fo, "jobs").([]any)
	for _, v := range jobs {
		j, ok := v.(kernel.Object)
		if !ok {
			continue
		}
		p := str(get(j, "persona"))
		if !forge.Ended(str(get(j, "state"))) {
			busy[p] = true
		}
		if c := str(get(j, "created")); c > last[p] {
			last[p] = c
		}
	}
	p, ok := object(st.lobby, "pLLM")
	if !ok {
		return nil
	}
	records, _ := get(p, "generations").([]any)
	fresh := map[string]int{}
	for _, v := range records {
		o, ok := v.(kernel.Object)
		if !ok {
			continue
		}
		// RFC 3339 times in UTC order as strings; a job's created has
		// nanoseconds, a record's seconds, so ties go to the job.
		if a := str(get(o, "accepted")); a != "" && str(get(o, "time")) > last[a] {
			fresh[a]++
		}
	}
	var out []Mandate
	r, w := st.reading, st.weights
	for _, name := range st.personas {
		if busy[name] || fresh[name] < min {
			continue
		}
		out = append(out, Mandate{
			Kind: Forge, Persona: name, TargetName: "Lobby.Forge",
			Reason: fmt.Sprintf("%s has %d accepted generations since its last fine-tune (the Forge needs %d): an adapter trained on them should raise H_rel (%.2f)", name, fresh[name], min, r.Rel),
			Prior:  w.Rel * (1 - r.Rel) * 0.5,
		})
	}
	return out
}

// leastUsed returns the persona with the smallest share of
// consultations (ties: the first by name) and its share.
func leastUsed(personas []string, uses map[string]int) (string, float64, bool) {
	if len(personas) < 2 {
		return "", 0, false
	}
	total := 0
	for _, p := range personas {
		total += uses[p]
	}
	names := slices.Clone(personas)
	sort.SliceStable(names, func(i, j int) bool { return uses[names[i]] < uses[names[j]] })
	if total == 0 {
		return names[0], 0, true
	}
	return names[0], float64(uses[names[0]]) / float64(total), true
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// measureMandates proposes a held-out bench run for each persona whose
// current adapter (as pllm.Personas describes it) no held-out run in
// Lobby.pLLM.benchmarks has measured.
func measureMandates(st situation) []Mandate {
	p, ok := object(st.lobby, "pLLM")
	if !ok || get(p, "bench") == nil {
		return nil
	}
	measured := map[string]bool{} // persona + "\x00" + adapter
	runs, _ := get(p, "benchmarks").([]any)
	for _, v := range runs {
		run, ok := v.(map[string]any)
		if !ok || run["split"] != "heldout" {
			continue
		}
		rows, _ := run["rows"].([]any)
		for _, r := range rows {
			if row, ok := r.(map[string]any); ok {
				measured[str(row["persona"])+"\x00"+str(row["adapter"])] = true
			}
		}
	}
	var out []Mandate
	r, w := st.reading, st.weights
	for _, c := range pllm.Personas(st.s) {
		if measured[c.Name+"\x00"+c.Adapter] || !slices.Contains(st.personas, c.Name) {
			continue
		}
		adapter := "no adapter"
		if c.Adapter != "" {
			adapter = "adapter " + c.Adapter
		}
		out = append(out, Mandate{
			Kind: Measure, Persona: c.Name, TargetName: "Lobby.pLLM",
			Reason: fmt.Sprintf("%s's held-out pass rate with %s was never measured: the router prefers the personas that pass, which should raise H_rel (%.2f)", c.Name, adapter, r.Rel),
			Prior:  w.Rel * (1 - r.Rel) * 0.3,
		})
	}
	return out
}
