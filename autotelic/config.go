package autotelic

import (
	"fmt"
	"strings"
	"time"

	"batos/image"
	"batos/kernel"
	"batos/kernel/pllm"
)

// Principal is the principal of the loop's own commits; its installs are
// autotelic/<persona>.
const Principal = "autotelic"

// Budget is what the loop may spend in any hour.
type Budget struct {
	Calls   int // model calls: candidates and reviews ("generations")
	Tokens  int // prompt and predicted tokens
	Commits int
}

func (b Budget) String() string {
	return fmt.Sprintf("%d model calls, %d tokens, %d commits an hour", b.Calls, b.Tokens, b.Commits)
}

// Want is one entry of the vocabulary: a method an object with data may
// be given, and what it is for (told to the model).
type Want struct {
	Selector, Purpose string
}

// Config is Lobby.autotelic's configuration; every slot has a default.
type Config struct {
	Enabled   bool
	Threshold float64       // CEM below which the loop acts
	Period    time.Duration // how long CEM stays below it first; also the least time between the loop's steps
	Budget    Budget
	MaxTokens int // caps each answer, so that a step's worst case is known
	LedgerMax int
	Vocab     []Want
	Ignore    []string // paths of objects the loop leaves alone
}

// Defaults for a missing or malformed slot.
var defaults = Config{
	Threshold: 0.6,
	Period:    10 * time.Minute,
	Budget:    Budget{Calls: 24, Tokens: 60_000, Commits: 24},
	MaxTokens: 512,
	LedgerMax: 200,
	Vocab: []Want{
		{"describe", "return a one-line, human-readable description of the receiver and its data, as a string"},
		{"validate", "check the receiver's data for consistency and return an error that names the first problem, or nil"},
		{"summary", "return a map[string]any that summarises the receiver's data slots"},
	},
	Ignore: []string{"Lobby.workspace"},
}

// readConfig reads Lobby.autotelic, a (the zero Object: none).
func readConfig(a kernel.Object, ok bool) Config {
	c := defaults
	if !ok {
		return c
	}
	c.Enabled, _ = get(a, "enabled").(bool)
	if x, ok := num(get(a, "threshold")); ok {
		c.Threshold = x
	}
	if x, ok := num(get(a, "period")); ok && x >= 0 {
		c.Period = time.Duration(x * float64(time.Second))
	}
	if m, ok := get(a, "budget").(map[string]any); ok {
		c.Budget = Budget{
			Calls:   count(m["generations"], c.Budget.Calls),
			Tokens:  count(m["tokens"], c.Budget.Tokens),
			Commits: count(m["commits"], c.Budget.Commits),
		}
	}
	c.MaxTokens = count(get(a, "maxTokens"), c.MaxTokens)
	c.LedgerMax = count(get(a, "ledgerMax"), c.LedgerMax)
	if l, ok := get(a, "vocabulary").([]any); ok {
		c.Vocab = nil
		for _, v := range l {
			m, _ := v.(map[string]any)
			sel, _ := m["selector"].(string)
			purpose, _ := m["purpose"].(string)
			if sel != "" && purpose != "" {
				c.Vocab = append(c.Vocab, Want{sel, purpose})
			}
		}
	}
	if l, ok := get(a, "ignore").([]any); ok {
		c.Ignore = nil
		for _, v := range l {
			if p, ok := v.(string); ok {
				c.Ignore = append(c.Ignore, p)
			}
		}
	}
	return c
}

// Enabled reports whether the loop's switch, Lobby.autotelic.enabled, is
// on in the image lobby reads.
func Enabled(lobby kernel.Object) bool {
	a, ok := object(lobby, "autotelic")
	return ok && readConfig(a, true).Enabled
}

// entry is a ledger entry as the budgets and the expected gains read it.
type entry struct {
	time      time.Time
	kind, key string
	spent     pllm.Spent
	commits   int
	before    float64
	after     float64
	measured  bool
	installed bool
	target    image.OID
	selector  string
	prior     float64
	hasTarget bool
	reverted  bool // filled in by the caller that can look
}

func readLedger(a kernel.Object) []entry {
	l, _ := get(a, "ledger").([]any)
	out := make([]entry, 0, len(l))
	for _, v := range l {
		m, ok := v.(map[string]any)
		if !ok {
			continue
		}
		e := entry{}
		if t, err := time.Parse(time.RFC3339, str(m["time"])); err == nil {
			e.time = t
		}
		e.kind, e.key, e.selector = str(m["kind"]), str(m["key"]), str(m["selector"])
		e.spent = pllm.Spent{Calls: count(m["calls"], 0), Tokens: count(m["tokens"], 0)}
		e.commits = count(m["commits"], 0)
		e.before, e.measured = num(m["cemBefore"])
		after, ok := num(m["cemAfter"])
		e.after, e.measured = after, e.measured && ok
		e.prior, _ = num(m["prior"])
		e.installed = str(m["outcome"]) == Installed
		if o, ok := m["target"].(kernel.Object); ok {
			e.target, e.hasTarget = o.OID(), true
		}
		out = append(out, e)
	}
	return out
}

// used sums what the ledger's entries since since spent.
func used(ledger []entry, since time.Time) (b Budget) {
	for _, e := range ledger {
		if e.time.Before(since) {
			continue
		}
		b.Calls += e.spent.Calls
		b.Tokens += e.spent.Tokens
		b.Commits += e.commits
	}
	return b
}

// get reads a slot through o's chain, nil when missing.
func get(o kernel.Object, name string) any {
	v, _ := o.Lookup(name)
	return v
}

func object(o kernel.Object, name string) (kernel.Object, bool) {
	v, ok := get(o, name).(kernel.Object)
	return v, ok
}

func num(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// count reads a non-negative int, def when v is not one.
func count(v any, def int) int {
	if x, ok := num(v); ok && x >= 0 {
		return int(x)
	}
	return def
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// resolve finds the object at a path "Lobby.a.b", false when there is none.
func resolve(lobby kernel.Object, path string) (kernel.Object, bool) {
	parts := strings.Split(path, ".")
	if len(parts) == 0 || parts[0] != "Lobby" {
		return kernel.Object{}, false
	}
	o := lobby
	for _, p := range parts[1:] {
		next, ok := object(o, p)
		if !ok {
			return kernel.Object{}, false
		}
		o = next
	}
	return o, true
}
