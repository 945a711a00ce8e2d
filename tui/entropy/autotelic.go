package entropy

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/pane"
)

// This file is the pane's part of the autotelic loop (package autotelic):
// reading Lobby.autotelic, the :autotelic verbs' commands, and the ledger
// section's lines. It reads the object through api.Image only, as `batos
// autotelic` does, and formats it itself (the TUI does not import the
// commands).

// The loop's defaults (autotelic/config.go), for a slot that is missing.
const (
	defaultThreshold = 0.6
	defaultPeriod    = 10 * time.Minute
)

var defaultBudget = budget{calls: 24, tokens: 60_000, commits: 24}

// stepTimeout bounds one step: model calls and reviews, each bounded by
// the pLLM, take a minute or more; pane.Timeout would cut them off.
const stepTimeout = 10 * time.Minute

// budget is what the loop may spend in an hour, or what it spent.
type budget struct{ calls, tokens, commits int }

// autotelicState is Lobby.autotelic as the pane shows it.
type autotelicState struct {
	enabled   bool
	threshold float64
	period    time.Duration
	budget    budget
	ledger    []ledgerEntry // oldest first
}

// ledgerEntry is one step of the loop's ledger; its texts are sanitized.
type ledgerEntry struct {
	time                                     time.Time // zero: the entry does not say
	kind, selector, persona, target, outcome string
	tx                                       int64
	spent                                    budget
	before, after                            float64
	measured                                 bool // after is known
}

// readAutotelic reads Lobby.autotelic's slots; a missing or malformed one
// has the loop's default.
func readAutotelic(v api.ObjectView) autotelicState {
	st := autotelicState{threshold: defaultThreshold, period: defaultPeriod, budget: defaultBudget}
	for _, s := range v.Slots {
		if s.Value == nil {
			continue
		}
		switch val := *s.Value; s.Name {
		case "enabled":
			st.enabled = val.Kind == api.ValueBool && val.Bool
		case "threshold":
			if n := number(val); !math.IsNaN(n) {
				st.threshold = n
			}
		case "period":
			if n := number(val); n >= 0 {
				st.period = time.Duration(n * float64(time.Second))
			}
		case "budget":
			e := entries(val)
			st.budget = budget{
				calls:   countOr(e["generations"], defaultBudget.calls),
				tokens:  countOr(e["tokens"], defaultBudget.tokens),
				commits: countOr(e["commits"], defaultBudget.commits),
			}
		case "ledger":
			for _, item := range val.Items {
				// The ledger is data anyone may edit: what is not a
				// step's entry is not shown as one.
				if e := entries(item); item.Kind == api.ValueMap && e["kind"].String != "" && e["outcome"].String != "" {
					st.ledger = append(st.ledger, readEntry(e))
				}
			}
		}
	}
	return st
}

func readEntry(e map[string]api.Value) ledgerEntry {
	text := func(k string) string { return common.SanitizeLine(e[k].String) }
	out := ledgerEntry{
		kind: text("kind"), selector: text("selector"), persona: text("persona"), target: text("targetName"), outcome: text("outcome"),
		tx:     int64(count(e["tx"])),
		spent:  budget{calls: count(e["calls"]), tokens: count(e["tokens"]), commits: count(e["commits"])},
		before: number(e["cemBefore"]),
	}
	if t, err := time.Parse(time.RFC3339, e["time"].String); err == nil {
		out.time = t
	}
	if v, ok := e["cemAfter"]; ok {
		out.after, out.measured = number(v), true
	}
	return out
}

// entries is a map value's entries by key.
func entries(v api.Value) map[string]api.Value {
	out := make(map[string]api.Value, len(v.Entries))
	for _, e := range v.Entries {
		out[e.Key] = e.Value
	}
	return out
}

// countOr is a non-negative whole number value, def for any other value.
func countOr(v api.Value, def int) int {
	if n := number(v); n >= 0 {
		return count(v)
	}
	return def
}

// used sums what the ledger's entries of the hour before now spent, as
// the loop counts its budgets.
func (st autotelicState) used(now time.Time) budget {
	var b budget
	since := now.Add(-time.Hour)
	for _, e := range st.ledger {
		if e.time.IsZero() || e.time.Before(since) {
			continue
		}
		b.calls += e.spent.calls
		b.tokens += e.spent.tokens
		b.commits += e.spent.commits
	}
	return b
}

// when says when the loop steps.
func (st autotelicState) when() string {
	return fmt.Sprintf("it steps when CEM stays below %.2f for %s", st.threshold, st.period)
}

// stateLine is the ledger section's first line: the switch and when.
func (st autotelicState) stateLine(wide bool) string {
	state := "off"
	if st.enabled {
		state = "on"
	}
	if !wide {
		return fmt.Sprintf("autotelic %s · <%.2f for %s", state, st.threshold, st.period)
	}
	return fmt.Sprintf("autotelic loop %s: %s", state, st.when())
}

// budgetLine is what the last hour used of each budget.
func (st autotelicState) budgetLine(now time.Time) string {
	u, b := st.used(now), st.budget
	return fmt.Sprintf("last hour: %s/%s calls · %s/%s tokens · %s/%s commits",
		thousands(u.calls), thousands(b.calls), thousands(u.tokens), thousands(b.tokens), thousands(u.commits), thousands(b.commits))
}

// line is the entry on one line, as a table row whose columns have
// fixed widths: when, what became of it, CEM before → after, the
// transaction, the mandate's kind; then what on what and by whom, which
// a narrow pane cuts first. now says which day is today: an entry of
// another day shows the day instead of the time.
func (e ledgerEntry) line(now time.Time) string {
	when := "?"
	if t := e.time.UTC(); !e.time.IsZero() {
		when = t.Format("15:04Z")
		if today := now.UTC(); t.Year() != today.Year() || t.YearDay() != today.YearDay() {
			when = t.Format("Jan 02")
		}
	}
	after := "?"
	if e.measured {
		after = fmt.Sprintf("%.3f", e.after)
	}
	tx := ""
	if e.tx != 0 {
		tx = fmt.Sprintf("tx %d", e.tx)
	}
	// Targets are paths from Lobby: the prefix says nothing.
	what := e.selector + " on " + strings.TrimPrefix(e.target, "Lobby.")
	if e.kind == "forge" {
		what = "fine-tune"
	}
	if e.persona != "" {
		what += " by " + e.persona
	}
	return fmt.Sprintf("%-6s %-9s %.3f→%-5s %-7s %-9s %s", when, e.outcome, e.before, after, tx, e.kind, what)
}

// thousands writes n with a comma between each group of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ledgerLines is the ledger section in at most room lines (none when
// room is under two): the state and budget lines, the step this pane ran
// (running, or its summary), then the newest entries that fit, newest
// last.
func (m *Model) ledgerLines(wide bool, room int) []string {
	if !m.autoOK || room < 2 {
		return nil
	}
	st := m.c.Styles
	out := []string{st.Title.Render(m.auto.stateLine(wide)), m.auto.budgetLine(m.c.Now())}
	switch {
	case m.stepping:
		out = append(out, st.Info.Render("stepping… (the model's calls may take a minute)"))
	case m.lastStep != "":
		out = append(out, st.Dim.Render("last step:"))
		for _, l := range strings.Split(m.lastStep, "\n") {
			out = append(out, "  "+l)
		}
	}
	if len(out) >= room {
		return out[:room]
	}
	ledger := m.auto.ledger
	if len(ledger) == 0 {
		return append(out, st.Dim.Render("ledger empty · :autotelic step runs one step"))
	}
	ledger = ledger[max(0, len(ledger)-(room-len(out))):]
	for _, e := range ledger {
		out = append(out, e.line(m.c.Now()))
	}
	return out
}

// --- the :autotelic verbs ----------------------------------------------------

// StepMsg asks the pane to run one step of the autotelic loop now
// (Lobby.autotelic's step, whatever the period, within the budgets): the
// app's :autotelic step. The pane is Busy until it ends; it answers with
// a common.InfoMsg (the summary's first line) or a common.ErrMsg.
type StepMsg struct{}

// steppedMsg ends a step.
type steppedMsg struct {
	summary string // sanitized
	err     error
}

// step runs one step in a command: it holds the client's evaluation slot
// until the step ends (the workspace's evaluations wait), as any Send.
func (m *Model) step() tea.Cmd {
	if m.stepping {
		return func() tea.Msg { return common.InfoMsg{Text: "an autotelic step is running already"} }
	}
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	m.stepping, m.stepCancel = true, cancel
	m.say("autotelic step running…", false)
	img := m.c.Image
	return func() tea.Msg {
		defer cancel()
		oid, err := api.LobbySlot(ctx, img, "autotelic")
		if err != nil {
			return steppedMsg{err: fmt.Errorf("step: %w", err)}
		}
		res, err := img.Send(ctx, oid, "step")
		if err != nil {
			return steppedMsg{err: fmt.Errorf("step: %w", err)}
		}
		summary := entries(res.Value)["summary"].String
		if summary == "" {
			return steppedMsg{err: fmt.Errorf("autotelic step answered %s, not a ledger entry", res.Value.Text)}
		}
		return steppedMsg{summary: common.Sanitize(strings.TrimSpace(summary))}
	}
}

// stepped shows a step's summary, or its error, and tells the app.
func (m *Model) stepped(msg steppedMsg) tea.Cmd {
	m.stepping = false
	if m.stepCancel != nil {
		m.stepCancel()
		m.stepCancel = nil
	}
	if msg.err != nil {
		m.say(errLine(msg.err), true)
		return common.Err(msg.err)
	}
	m.lastStep = msg.summary
	first := "autotelic: " + pane.FirstLine(msg.summary)
	m.say(first, false)
	return func() tea.Msg { return common.InfoMsg{Text: first} }
}

// Busy is true while a step runs.
func (m *Model) Busy() bool { return m.stepping }

// Cancel cancels the step in flight (the app quits); what it committed
// stays.
func (m *Model) Cancel() {
	if m.stepCancel != nil {
		m.stepCancel()
	}
}

// SwitchCmd sets Lobby.autotelic.enabled (a commit) and answers a
// common.InfoMsg that says when the loop steps, and that it will not
// while no process runs its worker, or a common.ErrMsg.
func SwitchCmd(img api.Image, on bool) tea.Cmd {
	verb := "off"
	if on {
		verb = "on"
	}
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		fail := func(err error) tea.Msg { return common.ErrMsg{Err: fmt.Errorf("autotelic %s: %w", verb, err)} }
		oid, err := api.LobbySlot(ctx, img, "autotelic")
		if err != nil {
			return fail(err)
		}
		if _, err := img.SetSlot(ctx, oid, "enabled", api.Bool(on)); err != nil {
			return fail(err)
		}
		if !on {
			return common.InfoMsg{Text: "autotelic loop off"}
		}
		v, err := img.Object(ctx, oid)
		if err != nil {
			return fail(err)
		}
		text := "autotelic loop on: " + readAutotelic(v).when()
		// The switch alone steps nothing: a worker, in a process that
		// keeps the image open, reads it.
		if st, err := img.Status(ctx); err == nil && !st.AutotelicWorker {
			text += "; but no process runs the loop's worker for this image (batos and batos serve run one)"
		}
		return common.InfoMsg{Text: text}
	}
}
