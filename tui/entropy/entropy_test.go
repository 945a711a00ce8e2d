package entropy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"batos/api"
	"batos/system"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

// wait bounds every wait for the view: generous, for a loaded machine.
const wait = 30 * time.Second

type fixture struct {
	t      *testing.T
	img    panetest.Image
	events <-chan api.Event
	oid    uint64
	m      *Model
	d      *panetest.Driver
}

// setup opens a real image (no pLLM: the metric's primitives are
// installed all the same) and an Entropy pane over it, w×h, shown
// (focused, so that it measures), fed the image's events by the test (as
// the app feeds them).
func setup(t *testing.T, w, h int) *fixture {
	t.Helper()
	img := panetest.Open(t)
	f := &fixture{t: t, img: img, events: panetest.Events(t, img)}
	oid, err := api.LobbySlot(context.Background(), img, "entropy")
	if err != nil {
		t.Fatal(err)
	}
	f.oid = oid
	f.m = New(panetest.Common(img))
	f.m.SetSize(w, h)
	f.d = &panetest.Driver{TB: t, Pane: f.m}
	f.d.Init()
	f.d.Focus()
	return f
}

func (f *fixture) eval(src string) {
	f.t.Helper()
	if _, err := f.img.Eval(context.Background(), src); err != nil {
		f.t.Fatalf("%s: %v", src, err)
	}
}

// measure measures the image as the pane does, from outside it.
func (f *fixture) measure() Reading {
	f.t.Helper()
	res, err := f.img.Send(context.Background(), f.oid, "measure")
	if err != nil {
		f.t.Fatal(err)
	}
	r, ok := readingOf(res.Value)
	if !ok {
		f.t.Fatalf("measure answered %s", res.Value.Text)
	}
	return r
}

// seriesLen reads the length of Lobby.entropy.series from the image.
func (f *fixture) seriesLen() int {
	f.t.Helper()
	v, err := f.img.Object(context.Background(), f.oid)
	if err != nil {
		f.t.Fatal(err)
	}
	_, series := readEntropy(v)
	return len(series)
}

func (f *fixture) view() string { return panetest.Plain(f.m.View()) }

// row returns the view's row of component label ("CEM", "H_rel"…).
func row(view, label string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.HasPrefix(l, label+" ") {
			return l
		}
	}
	return ""
}

// sparkOf is a narrow component row's sparkline.
func sparkOf(row string) string {
	lw, vw, ww := columns(false)
	r := []rune(row)
	if len(r) < lw+vw+ww+3 {
		return ""
	}
	return strings.TrimRight(string(r[lw+vw+ww+3:]), " ")
}

// rowOf is the component row the pane should show for r's value i, up to
// the sparkline: label, value, weight.
func rowOf(r Reading, i int, weight string) string {
	return strings.TrimRight(fmt.Sprintf("%-7s %5.3f %-4s", components[i].short, r.Values[i], weight), " ")
}

// TestShowsReading: the pane shows the image's reading — each component's
// value with its weight, the window's generation count, and an empty
// series.
func TestShowsReading(t *testing.T) {
	f := setup(t, 38, 8)
	want := f.measure()
	v := f.view()
	for i, w := range []string{"", "×.5", "×.25", "×.2", "×.05"} {
		if got, want := row(v, components[i].short), rowOf(want, i, w); !strings.HasPrefix(got, want) {
			t.Errorf("row %q, want it to start %q", got, want)
		}
	}
	if !panetest.Contains(v, "no readings yet", "window: 0 generations (max 100)", "measured ") {
		t.Fatalf("view:\n%s", v)
	}
	if want.Values[4] <= 0 {
		t.Fatalf("H_struc of a seed image is %v: the image has structure", want.Values[4])
	}
}

// TestRecordAddsPoint: R records a reading (a commit): the reading count
// goes up and the sparkline grows by a point, each time.
func TestRecordAddsPoint(t *testing.T) {
	f := setup(t, 38, 8)
	f.d.Send(panetest.Key("R"))
	if !panetest.Contains(f.view(), "1 reading,", "• recorded a reading") {
		t.Fatalf("after R:\n%s", f.view())
	}
	spark := func() string { return sparkOf(row(f.view(), "CEM")) }
	if n := len([]rune(spark())); n != 1 {
		t.Fatalf("a sparkline of %d points after one record: %q", n, row(f.view(), "CEM"))
	}
	f.d.Send(panetest.Key("R"))
	if !panetest.Contains(f.view(), "2 readings,") || len([]rune(spark())) != 2 {
		t.Fatalf("after a second R:\n%s", f.view())
	}
	if n := f.seriesLen(); n != 2 {
		t.Fatalf("the image's series holds %d readings, want 2", n)
	}
	// Its commits arrive: they change nothing shown.
	f.d.AwaitView(f.events, wait, "2 readings,")
}

// TestSeriesSetElsewhere: a series set by an evaluation outside the pane
// arrives with its commit and is drawn: 0.1 and 0.9 as the lowest and
// highest sparks, 1.0 as the highest, 0.5 as the fifth height.
func TestSeriesSetElsewhere(t *testing.T) {
	f := setup(t, 38, 8)
	f.eval(`Lobby.Get("entropy").(Object).Set("series", []any{map[string]any{"cem": 0.1, "rel": 0.0, "cog": 0.0, "sol": 0.0, "struc": 0.5}, map[string]any{"cem": 0.9, "rel": 1.0, "cog": 1.0, "sol": 1.0, "struc": 0.5}})`)
	f.d.AwaitView(f.events, wait, "2 readings")
	v := f.view()
	for label, want := range map[string]string{"CEM": "▁█", "H_rel": "▁█", "H_cog": "▁█", "H_sol": "▁█", "H_struc": "▅▅"} {
		if got := sparkOf(row(v, label)); got != want {
			t.Errorf("%s row %q: sparkline %q, want %q", label, row(v, label), got, want)
		}
	}
}

// TestWeightsEditRemeasures: a commit that changes Lobby.entropy's weights
// (made outside the pane) measures again: with all the weight on H_struc,
// CEM is H_struc.
func TestWeightsEditRemeasures(t *testing.T) {
	f := setup(t, 38, 8)
	f.eval(`Lobby.Get("entropy").(Object).Set("weights", map[string]any{"rel": 0.0, "cog": 0.0, "sol": 0.0, "struc": 1.0})`)
	want := f.measure()
	if want.CEM() != want.Values[4] || want.CEM() == 0 {
		t.Fatalf("measure: CEM %v, H_struc %v", want.CEM(), want.Values[4])
	}
	f.d.Await(f.events, wait, "CEM measured again", func(v string) bool {
		return strings.HasPrefix(row(v, "CEM"), rowOf(want, 0, "")) && strings.HasPrefix(row(v, "H_struc"), rowOf(want, 4, "×1"))
	})
}

// TestMeasureNow: the pane measures when first shown, not before, and r
// measures again: the footer says when.
func TestMeasureNow(t *testing.T) {
	img := panetest.Open(t)
	c := panetest.Common(img)
	now := time.Date(2026, 11, 25, 18, 40, 0, 0, time.UTC)
	c.Clock = func() time.Time { return now }
	m := New(c)
	m.SetSize(38, 8)
	d := &panetest.Driver{TB: t, Pane: m}
	d.Init()
	if _, ok := m.Current(); ok || panetest.Contains(m.View(), "measured") || !panetest.Contains(m.View(), "no readings yet") {
		t.Fatalf("measured before shown, or did not read the series:\n%s", panetest.Plain(m.View()))
	}
	d.Focus()
	if !panetest.Contains(m.View(), "measured 18:40:00") {
		t.Fatalf("view:\n%s", panetest.Plain(m.View()))
	}
	now = now.Add(time.Minute)
	d.Send(panetest.Key("r"))
	if !panetest.Contains(m.View(), "measured 18:41:00") {
		t.Fatalf("after r:\n%s", panetest.Plain(m.View()))
	}
}

// TestOpens: enter inspects Lobby.entropy, b browses it.
func TestOpens(t *testing.T) {
	f := setup(t, 38, 8)
	f.d.Send(panetest.Key("enter"))
	in, ok := panetest.Last[common.InspectMsg](f.d)
	if !ok || in.OID != f.oid {
		t.Fatalf("enter: %+v, want object %d", in, f.oid)
	}
	f.d.Send(panetest.Key("b"))
	br, ok := panetest.Last[common.BrowseMsg](f.d)
	if !ok || br.OID != f.oid {
		t.Fatalf("b: %+v, want object %d", br, f.oid)
	}
}

// TestTeatest: the pane as a program: R records, and the reading count
// shows it.
func TestTeatest(t *testing.T) {
	img := panetest.Open(t)
	screen := commontest.Record(&panetest.Harness{Pane: New(panetest.Common(img))})
	tm := teatest.NewTestModel(t, screen, teatest.WithInitialTermSize(78, 20))
	screen.WaitFor(t, wait, "CEM     composite", "no readings yet")
	tm.Send(panetest.Key("R"))
	screen.WaitFor(t, wait, "series: 1 reading (the newest 500 kept)")
	tm.Send(panetest.Key("ctrl+c"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// TestLedgerFromImage: a ledger written into the image's Lobby.autotelic
// (as the loop's commit writes one) arrives with its commit and is shown
// under the sparklines, with the loop's state.
func TestLedgerFromImage(t *testing.T) {
	f := setup(t, 78, 24)
	f.d.AwaitView(f.events, wait, "autotelic loop off: it steps when CEM stays below 0.60 for 10m0s", "ledger empty")
	at := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	f.eval(fmt.Sprintf(`Lobby.At("autotelic").Set("ledger", []any{map[string]any{"time": %q, "kind": "behaviour", "selector": "describe", "targetName": "Lobby.shape", "persona": "ROBIN", "outcome": "installed", "tx": 31, "calls": 1, "tokens": 1234, "commits": 2, "cemBefore": 0.391, "cemAfter": 0.412, "summary": "chose behaviour"}})`, at))
	f.d.AwaitView(f.events, wait, "installed 0.391→0.412 tx 31   behaviour describe on shape by ROBIN", "last hour: 1/24 calls · 1,234/60,000 tokens · 2/24 commits")
}

// TestSwitchAndStepOnImage: SwitchCmd flips Lobby.autotelic.enabled and
// says when the loop steps, and that no worker runs it in a process
// opened without one; off says so; a step in a process without the pLLM
// fails with the loop's error, as one line, and changes nothing.
func TestSwitchAndStepOnImage(t *testing.T) {
	f := setup(t, 78, 24)
	info := SwitchCmd(f.img, true)().(common.InfoMsg)
	if want := "autotelic loop on: it steps when CEM stays below 0.60 for 10m0s; but no process runs the loop's worker for this image (batos and batos serve run one)"; info.Text != want {
		t.Fatalf("on: %q, want %q", info.Text, want)
	}
	if st, err := f.img.Status(context.Background()); err != nil || !st.Autotelic || st.AutotelicWorker {
		t.Fatalf("status after on: %+v, %v", st, err)
	}
	f.d.AwaitView(f.events, wait, "autotelic loop on:")
	if info := SwitchCmd(f.img, false)().(common.InfoMsg); info.Text != "autotelic loop off" {
		t.Fatalf("off: %q", info.Text)
	}
	f.d.AwaitView(f.events, wait, "autotelic loop off:")

	last, err := f.img.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.d.Send(StepMsg{})
	e, ok := panetest.Last[common.ErrMsg](f.d)
	if !ok || !strings.Contains(e.Err.Error(), "the pLLM is not installed in this process") {
		t.Fatalf("step without the pLLM: %v", e.Err)
	}
	if !panetest.Contains(f.m.View(), "✗ step: autotelic: the pLLM is not installed") || f.m.Busy() {
		t.Fatalf("busy %v, view:\n%s", f.m.Busy(), f.view())
	}
	if st, _ := f.img.Status(context.Background()); st.LastTx.ID != last.LastTx.ID {
		t.Fatalf("a failed step committed: tx %d, was %d", st.LastTx.ID, last.LastTx.ID)
	}
}

// TestSwitchWithWorker: in a process that runs the loop's worker, on says
// only when the loop steps.
func TestSwitchWithWorker(t *testing.T) {
	img := panetest.OpenWith(t, system.Options{NoPLLM: true, Autotelic: true})
	info := SwitchCmd(img, true)().(common.InfoMsg)
	if want := "autotelic loop on: it steps when CEM stays below 0.60 for 10m0s"; info.Text != want {
		t.Fatalf("on: %q, want %q", info.Text, want)
	}
	if st, err := img.Status(context.Background()); err != nil || !st.Autotelic || !st.AutotelicWorker {
		t.Fatalf("status after on: %+v, %v", st, err)
	}
}
