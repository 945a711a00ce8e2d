package entropy

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

// autoOID is the fake's Lobby.autotelic.
const (
	autoOID  = 14
	stepCall = `ObjectAt(14).Send("step")`
)

// step is a ledger entry as the loop writes it: a map, keys sorted; a NaN
// after leaves cemAfter out (not measured).
type step struct {
	ago                                      time.Duration // before clock
	kind, selector, target, persona, outcome string
	calls, tokens, commits, tx               int64
	before, after                            float64
}

func (s step) value() api.Value {
	es := []api.Entry{
		{Key: "calls", Value: api.Int(s.calls)},
		{Key: "cemAfter", Value: api.Float(s.after)},
		{Key: "cemBefore", Value: api.Float(s.before)},
		{Key: "commits", Value: api.Int(s.commits)},
		{Key: "kind", Value: api.String(s.kind)},
		{Key: "outcome", Value: api.String(s.outcome)},
		{Key: "persona", Value: api.String(s.persona)},
		{Key: "selector", Value: api.String(s.selector)},
		{Key: "targetName", Value: api.String(s.target)},
		{Key: "time", Value: api.String(clock.Add(-s.ago).Format(time.RFC3339))},
		{Key: "tokens", Value: api.Int(s.tokens)},
		{Key: "tx", Value: api.Int(s.tx)},
	}
	if math.IsNaN(s.after) {
		es = slices.Delete(es, 1, 2)
	}
	return api.Map(es...)
}

// ledger is four steps, the oldest the day before clock: the last hour
// used 3 calls, 1,200 tokens and 4 commits.
var ledger = []step{
	{25 * time.Hour, "exercise", "summary", "Lobby.point", "BRICK", "failed", 2, 900, 2, 0, 0.38, 0.38},
	{45 * time.Minute, "behaviour", "describe", "Lobby.shape", "ROBIN", "installed", 1, 700, 2, 31, 0.391, 0.412},
	{20 * time.Minute, "forge", "", "", "BRICK", "queued", 0, 0, 1, 35, 0.412, math.NaN()},
	{2 * time.Minute, "test", "testDescribe", "Lobby.shape", "ALAN", "installed", 2, 500, 1, 40, 0.412, 0.42},
}

// summary is what a step answers, as autotelic.Entry.String writes it.
const summary = `chose behaviour: describe on Lobby.other (gain 0.050, tried 0, of 3 mandates)
why: Lobby.other has data and no behaviour
did: installed describe on Lobby.other in transaction 41
cost: 1 model call, 600 tokens, 2 commits
CEM: 0.420 → 0.431 (+0.011)`

// withAutotelic gives the fake image a Lobby.autotelic (object 14),
// switched on or off, holding steps as its ledger.
func withAutotelic(img *commontest.Image, on bool, steps ...step) *commontest.Image {
	lobby := img.Objects[commontest.Lobby]
	lobby.Slots = append(lobby.Slots, api.SlotView{Name: "autotelic", Kind: api.KindData, Value: commontest.Ref(api.Ref{OID: autoOID, Name: "autotelic (object 14)"})})
	img.Objects[commontest.Lobby] = lobby
	items := make([]api.Value, len(steps))
	for i, s := range steps {
		items[i] = s.value()
	}
	budget := api.Map(api.Entry{Key: "commits", Value: api.Int(24)}, api.Entry{Key: "generations", Value: api.Int(24)}, api.Entry{Key: "tokens", Value: api.Int(60_000)})
	img.Objects[autoOID] = api.ObjectView{Ref: api.Ref{OID: autoOID, Name: "autotelic (object 14)"}, Slots: []api.SlotView{
		{Name: "enabled", Kind: api.KindData, Value: commontest.Data(api.Bool(on))},
		{Name: "threshold", Kind: api.KindData, Value: commontest.Data(api.Float(0.6))},
		{Name: "period", Kind: api.KindData, Value: commontest.Data(api.Int(600))},
		{Name: "budget", Kind: api.KindData, Value: commontest.Data(budget)},
		{Name: "ledger", Kind: api.KindData, Value: commontest.Data(api.List(items...))},
		{Name: "step", Kind: api.KindPrimitive, Source: "autotelicStep"},
	}}
	img.Results[stepCall] = api.Result{HasValue: true, Value: api.Map(api.Entry{Key: "outcome", Value: api.String("installed")}, api.Entry{Key: "summary", Value: api.String(summary)})}
	return img
}

// TestLedgerGolden: under the sparklines, the loop's state, what the last
// hour used of its budgets and the newest entries that fit, newest last;
// a pane with no room for them (80×24's) shows none, as before.
func TestLedgerGolden(t *testing.T) {
	m, _ := fakePane(t, withAutotelic(fake(history(30)...), true, ledger...), 78, 20)
	panetest.Golden(t, "entropy_ledger_78x20", m.View())
	m.SetSize(78, 17) // room for two entries
	panetest.Golden(t, "entropy_ledger_78x17", m.View())
	m.SetSize(38, 14)
	panetest.Golden(t, "entropy_ledger_38x14", m.View())
	m.SetSize(38, 8)
	if v := panetest.Plain(m.View()); strings.Contains(v, "autotelic") {
		t.Fatalf("38×8 has no room for the ledger, yet shows it:\n%s", v)
	}
}

// TestLedgerLines: the state line says on or off, the threshold and the
// period; the budget line counts the last hour only; an empty ledger says
// how to run a step.
func TestLedgerLines(t *testing.T) {
	m, _ := fakePane(t, withAutotelic(fake(), true, ledger...), 78, 30)
	v := panetest.Plain(m.View())
	for _, want := range []string{
		"autotelic loop on: it steps when CEM stays below 0.60 for 10m0s",
		"last hour: 3/24 calls · 1,200/60,000 tokens · 4/24 commits",
		"\nNov 24 failed    0.380→0.380         exercise  summary on point by BRICK\n",
		"\n18:20Z queued    0.412→?     tx 35   forge     fine-tune by BRICK\n",
		"\n18:38Z installed 0.412→0.420 tx 40   test      testDescribe on shape by ALAN\n",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("no %q in:\n%s", want, v)
		}
	}
	m, _ = fakePane(t, withAutotelic(fake(), false), 78, 30)
	if v := panetest.Plain(m.View()); !panetest.Contains(v, "autotelic loop off:", "last hour: 0/24 calls · 0/60,000 tokens · 0/24 commits", "ledger empty · :autotelic step runs one step") {
		t.Fatalf("an empty ledger, switched off:\n%s", v)
	}
}

// TestStepShowsSummary: StepMsg runs Lobby.autotelic's step off the UI
// loop: the pane is Busy and says so meanwhile, refuses a second, and
// then shows the whole summary in the ledger section and tells the app
// its first line.
func TestStepShowsSummary(t *testing.T) {
	img := withAutotelic(fake(history(3)...), true, ledger...)
	m, d := fakePane(t, img, 78, 30)
	_, cmd := m.Update(StepMsg{})
	if cmd == nil || !m.Busy() || !panetest.Contains(m.View(), "stepping… (the model's calls may take a minute)") {
		t.Fatalf("a step in flight: busy %v, view:\n%s", m.Busy(), panetest.Plain(m.View()))
	}
	if _, again := m.Update(StepMsg{}); again == nil || again().(common.InfoMsg).Text != "an autotelic step is running already" {
		t.Fatal("a second step was not refused")
	}
	d.Send(cmd())
	if m.Busy() {
		t.Fatal("busy after the step ended")
	}
	info, ok := panetest.Last[common.InfoMsg](d)
	if want := "autotelic: chose behaviour: describe on Lobby.other (gain 0.050, tried 0, of 3 mandates)"; !ok || info.Text != want {
		t.Fatalf("told the app %q, want %q", info.Text, want)
	}
	panetest.Golden(t, "entropy_step_78x30", m.View())
	if n := slices.Index(img.EvalLog(), stepCall); n < 0 {
		t.Fatalf("no step was sent: %v", img.EvalLog())
	}
}

// TestStepErrorOneLine: a step's error shows as one sanitized line, in
// the footer and to the app; the pane is no longer busy.
func TestStepErrorOneLine(t *testing.T) {
	img := withAutotelic(fake(), true)
	img.Errors[stepCall] = errors.New("autotelic: the pLLM is not installed in this process\x1b[2J\nsecond line")
	m, d := fakePane(t, img, 78, 20)
	d.Send(StepMsg{})
	if m.Busy() {
		t.Fatal("busy after the step failed")
	}
	v := m.View()
	if strings.Contains(v, "\x1b[2J") {
		t.Fatalf("view holds control sequences: %q", v)
	}
	if !panetest.Contains(v, "✗ step: autotelic: the pLLM is not installed in this process ⏎ second line") {
		t.Fatalf("view:\n%s", panetest.Plain(v))
	}
	if e, ok := panetest.Last[common.ErrMsg](d); !ok || !strings.Contains(e.Err.Error(), "the pLLM is not installed") {
		t.Fatalf("told the app %v", e.Err)
	}
	// Without Lobby.autotelic there is nothing to step.
	m, d = fakePane(t, fake(), 78, 20)
	d.Send(StepMsg{})
	if !panetest.Contains(m.View(), "✗ step: this image has no Lobby.autotelic") {
		t.Fatalf("view:\n%s", panetest.Plain(m.View()))
	}
}

// TestAutotelicCommitsRead: a commit to Lobby.autotelic reads it again (a
// switch, a ledger entry); a commit that binds Lobby's autotelic slot
// finds it; a commit elsewhere reads nothing.
func TestAutotelicCommitsRead(t *testing.T) {
	img := fake(history(3)...)
	m, d := fakePane(t, img, 78, 30)
	if panetest.Contains(m.View(), "autotelic") {
		t.Fatalf("a ledger section without Lobby.autotelic:\n%s", panetest.Plain(m.View()))
	}
	withAutotelic(img, false, ledger[:1]...)
	d.Send(common.EventMsg{Event: api.Event{Type: api.EventCommit, Tx: &api.Tx{ID: 20, Principal: "user", Changed: []api.Ref{{OID: 1}}},
		Changes: []api.Change{{Object: api.Ref{OID: 1, Name: "Lobby"}, Slots: []api.SlotChange{{Name: "autotelic", Kind: api.KindData, Op: "added"}}}}}})
	if !panetest.Contains(m.View(), "autotelic loop off", "summary on point") {
		t.Fatalf("Lobby.autotelic added:\n%s", panetest.Plain(m.View()))
	}
	// Switched on, with its whole ledger:
	img.Objects[autoOID] = withAutotelic(commontest.New(), true, ledger...).Objects[autoOID]
	if _, cmd := m.Update(commit(21, 13)); cmd != nil {
		t.Fatal("a commit elsewhere read something")
	}
	d.Send(commit(22, autoOID))
	if !panetest.Contains(m.View(), "autotelic loop on", "testDescribe on shape") {
		t.Fatalf("after a commit to Lobby.autotelic:\n%s", panetest.Plain(m.View()))
	}
}

// TestLedgerFits: every size renders exactly the size given with the
// ledger shown, a step's summary too.
func TestLedgerFits(t *testing.T) {
	m, d := fakePane(t, withAutotelic(fake(history(30)...), true, ledger...), 38, 8)
	d.Send(StepMsg{})
	for _, size := range [][2]int{{1, 1}, {5, 2}, {20, 9}, {38, 10}, {63, 13}, {64, 12}, {64, 14}, {78, 20}, {200, 60}} {
		m.SetSize(size[0], size[1])
		lines := strings.Split(m.View(), "\n")
		if len(lines) != size[1] {
			t.Errorf("%v: %d lines", size, len(lines))
		}
		for _, l := range lines {
			if w := len([]rune(panetest.Plain(l))); w > size[0] {
				t.Errorf("%v: a line of %d cells: %q", size, w, panetest.Plain(l))
			}
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 60000: "60,000", 1234567: "1,234,567", -1200: "-1,200"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
