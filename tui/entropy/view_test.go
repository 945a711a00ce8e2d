package entropy

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

var clock = time.Date(2026, 11, 25, 18, 40, 0, 0, time.UTC)

const (
	measureCall = `ObjectAt(12).Send("measure")`
	recordCall  = `ObjectAt(12).Send("record")`
)

// reading makes a reading as the image sends it: a map, keys sorted.
func reading(cem, rel, cog, sol, struc float64, gens int, at string) api.Value {
	es := []api.Entry{
		{Key: "cem", Value: api.Float(cem)}, {Key: "cog", Value: api.Float(cog)},
		{Key: "generations", Value: api.Int(int64(gens))}, {Key: "rel", Value: api.Float(rel)},
		{Key: "sol", Value: api.Float(sol)}, {Key: "struc", Value: api.Float(struc)},
	}
	if at != "" {
		es = append(es, api.Entry{Key: "time", Value: api.String(at)})
	}
	return api.Map(es...)
}

// fake is a scripted image with a Lobby.entropy (object 12) holding the
// seed's configuration and series, whose measure answers a fixed reading.
func fake(series ...api.Value) *commontest.Image {
	img := commontest.New()
	lobby := img.Objects[commontest.Lobby]
	lobby.Slots = append(lobby.Slots, api.SlotView{Name: "entropy", Kind: api.KindData, Value: commontest.Ref(api.Ref{OID: 12, Name: "entropy (object 12)"})})
	img.Objects[commontest.Lobby] = lobby
	data := func(v api.Value) *api.Value { return &v }
	weights := api.Map(api.Entry{Key: "cog", Value: api.Float(0.25)}, api.Entry{Key: "rel", Value: api.Float(0.5)},
		api.Entry{Key: "sol", Value: api.Float(0.2)}, api.Entry{Key: "struc", Value: api.Float(0.05)})
	img.Objects[12] = api.ObjectView{Ref: api.Ref{OID: 12, Name: "entropy (object 12)"}, Slots: []api.SlotView{
		{Name: "weights", Kind: api.KindData, Value: data(weights)},
		{Name: "window", Kind: api.KindData, Value: data(api.Int(100))},
		{Name: "k", Kind: api.KindData, Value: data(api.Int(5))},
		{Name: "seriesMax", Kind: api.KindData, Value: data(api.Int(500))},
		{Name: "interval", Kind: api.KindData, Value: data(api.Int(60))},
		{Name: "series", Kind: api.KindData, Value: data(api.List(series...))},
		{Name: "measure", Kind: api.KindPrimitive, Source: "measureEntropy"},
		{Name: "record", Kind: api.KindPrimitive, Source: "recordEntropy"},
	}}
	img.Results[measureCall] = api.Result{HasValue: true, Value: reading(0.4125, 0.5, 0.75, 0.375, 0.2647, 12, "")}
	return img
}

// history is a series of n readings, a minute apart, ending at clock.
func history(n int) []api.Value {
	out := make([]api.Value, n)
	for i := range out {
		f := float64(i)
		at := clock.Add(time.Duration(i-n+1) * time.Minute).Format(time.RFC3339)
		out[i] = reading(0.2+0.6*f/float64(n-1), 0.5+0.45*math.Sin(f/3), 0.25+0.5*float64(i%2), float64(i%8)/8, 0.26+0.002*f, 12, at)
	}
	return out
}

func fakePane(t *testing.T, img api.Image, w, h int) (*Model, *panetest.Driver) {
	t.Helper()
	c := panetest.Common(img)
	c.Clock = func() time.Time { return clock }
	m := New(c)
	m.SetSize(w, h)
	d := &panetest.Driver{TB: t, Pane: m}
	d.Init()
	d.Focus()
	return m, d
}

// TestGolden: the pane in the box an 80×24 terminal gives it, and larger;
// and a series not yet begun.
func TestGolden(t *testing.T) {
	m, _ := fakePane(t, fake(history(30)...), 38, 8)
	panetest.Golden(t, "entropy_38x8", m.View())
	m.SetSize(78, 20)
	panetest.Golden(t, "entropy_78x20", m.View())
	m, _ = fakePane(t, fake(), 38, 8)
	panetest.Golden(t, "entropy_empty_38x8", m.View())
}

// TestNewestFit: the sparklines show the newest readings that fit, the
// oldest dropped first.
func TestNewestFit(t *testing.T) {
	series := history(30)
	m, _ := fakePane(t, fake(series...), 38, 8)
	lw, vw, ww := columns(false)
	width := 38 - lw - vw - ww - 3
	var want []float64
	for _, r := range m.Series()[30-width:] {
		want = append(want, r.CEM())
	}
	if got := sparkOf(row(panetest.Plain(m.View()), "CEM")); got != Sparkline(want, width) || len([]rune(got)) != width {
		t.Fatalf("CEM sparkline %q, want the newest %d: %q", got, width, Sparkline(want, width))
	}
}

func TestSparkline(t *testing.T) {
	for _, tt := range []struct {
		values []float64
		width  int
		want   string
	}{
		{nil, 5, ""},
		{[]float64{0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1}, 9, "▁▂▃▄▅▆▇██"},
		{[]float64{-3, 7, math.Inf(1), math.NaN(), 0.5}, 9, "▁██ ▅"},
		{[]float64{0.1, 0.2, 0.9}, 2, "▂█"},
		{[]float64{0.1}, 0, ""},
	} {
		if got := Sparkline(tt.values, tt.width); got != tt.want {
			t.Errorf("Sparkline(%v, %d) = %q, want %q", tt.values, tt.width, got, tt.want)
		}
	}
}

// TestViewFits: every size renders exactly the size given, the tiny ones
// too.
func TestViewFits(t *testing.T) {
	m, _ := fakePane(t, fake(history(30)...), 38, 8)
	for _, size := range [][2]int{{0, 0}, {1, 1}, {5, 1}, {3, 2}, {20, 5}, {38, 8}, {63, 11}, {64, 12}, {78, 20}, {200, 60}} {
		m.SetSize(size[0], size[1])
		v := m.View()
		if size[0] == 0 || size[1] == 0 {
			if v != "" {
				t.Errorf("%v: %q", size, v)
			}
			continue
		}
		lines := strings.Split(v, "\n")
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

// TestImageErrorsOneLine: an image without Lobby.entropy, a failing
// measure and a refused record each show as one sanitized line.
func TestImageErrorsOneLine(t *testing.T) {
	m, d := fakePane(t, commontest.New(), 60, 10)
	if !panetest.Contains(m.View(), "✗ this image has no Lobby.entropy", "nothing to measure") {
		t.Fatalf("view:\n%s", panetest.Plain(m.View()))
	}
	d.Send(panetest.Key("R"))
	if !panetest.Contains(m.View(), "✗ cannot record: this image has no Lobby.entropy") {
		t.Fatalf("R:\n%s", panetest.Plain(m.View()))
	}

	img := fake(history(3)...)
	img.Errors[measureCall] = errors.New("measure\x1b[2J: bad\x07\nthing")
	img.Errors[recordCall] = errors.New("record: refused\x1b]0;title\x07\r\nbecause")
	m, d = fakePane(t, img, 60, 10)
	v := m.View()
	if strings.Contains(v, "\x1b[2J") || strings.Contains(v, "\x07") {
		t.Fatalf("view holds control sequences: %q", v)
	}
	if !panetest.Contains(v, "✗ measure: measure: bad ⏎ thing", "3 readings") || strings.Fields(row(panetest.Plain(v), "CEM"))[1] != "–" {
		t.Fatalf("view:\n%s", panetest.Plain(v))
	}
	d.Send(panetest.Key("R"))
	v = m.View()
	if strings.Contains(v, "\x1b]0") || strings.Contains(v, "\x07") || strings.Contains(v, "\r") {
		t.Fatalf("view holds control sequences: %q", v)
	}
	if !panetest.Contains(v, "✗ record: record: refused ⏎ because") {
		t.Fatalf("R:\n%s", panetest.Plain(v))
	}
}

// TestTextsSanitized: a reading's time, which the image wrote, cannot
// drive the terminal.
func TestTextsSanitized(t *testing.T) {
	m, _ := fakePane(t, fake(reading(0.5, 0.5, 0.5, 0.5, 0.5, 1, "soon\x1b[2J\x1b]0;x\x07\nlater")), 78, 20)
	v := m.View()
	for _, bad := range []string{"\x1b[2J", "\x1b]0", "\x07"} {
		if strings.Contains(v, bad) {
			t.Errorf("view holds %q", bad)
		}
	}
	if !panetest.Contains(v, "last soon ⏎ later") {
		t.Errorf("view:\n%s", panetest.Plain(v))
	}
}

// measures counts the measures the fake was asked for.
func measures(img *commontest.Image) int {
	n := 0
	for _, src := range img.EvalLog() {
		if src == measureCall {
			n++
		}
	}
	return n
}

func commit(id uint64, oids ...uint64) tea.Msg {
	tx := &api.Tx{ID: id, Principal: "user"}
	for _, oid := range oids {
		tx.Changed = append(tx.Changed, api.Ref{OID: oid})
	}
	return common.EventMsg{Event: api.Event{Type: api.EventCommit, Tx: tx}}
}

// TestCommitsRead: a commit to Lobby.entropy reads it and measures again,
// except the commit of the pane's own R, whose reading is shown already;
// a commit elsewhere reads nothing; a commit that rebinds Lobby's entropy
// slot finds it again.
func TestCommitsRead(t *testing.T) {
	img := fake(history(3)...)
	img.Results[recordCall] = api.Result{HasValue: true, Value: reading(0.9, 1, 1, 1, 0.5, 7, clock.Format(time.RFC3339)), Tx: 9}
	m, d := fakePane(t, img, 38, 8)
	if n := measures(img); n != 1 {
		t.Fatalf("%d measures at start", n)
	}
	d.Send(panetest.Key("R"))
	if r, ok := m.Current(); !ok || r.CEM() != 0.9 || !panetest.Contains(m.View(), "• recorded a reading (transaction 9)", "CEM     0.900") {
		t.Fatalf("after R (%v, %v):\n%s", r, ok, panetest.Plain(m.View()))
	}
	d.Send(commit(9, 12))
	if n := measures(img); n != 1 {
		t.Fatalf("the pane's own record measured again (%d measures)", n)
	}
	if _, cmd := m.Update(commit(10, 13)); cmd != nil {
		t.Fatal("a commit elsewhere read something")
	}
	d.Send(commit(11, 12))
	if n := measures(img); n != 2 {
		t.Fatalf("%d measures after a commit to Lobby.entropy, want 2", n)
	}
	if !panetest.Contains(m.View(), "CEM     0.412") {
		t.Fatalf("the new measure is not shown:\n%s", panetest.Plain(m.View()))
	}
	rebind := common.EventMsg{Event: api.Event{Type: api.EventCommit, Tx: &api.Tx{ID: 12, Principal: "user", Changed: []api.Ref{{OID: 1}}},
		Changes: []api.Change{{Object: api.Ref{OID: 1, Name: "Lobby"}, Slots: []api.SlotChange{{Name: "entropy", Kind: api.KindData, Op: "changed"}}}}}}
	d.Send(rebind)
	if n := measures(img); n != 3 {
		t.Fatalf("%d measures after Lobby's entropy slot changed, want 3", n)
	}
}

// TestReadsSerialized: what is asked while a read runs waits for it, all
// merged into one read.
func TestReadsSerialized(t *testing.T) {
	img := fake()
	m := New(panetest.Common(img))
	first := m.Init()
	if first == nil {
		t.Fatal("no read at start")
	}
	shown := m.Focus()
	if shown != nil {
		t.Fatal("a second read ran while the first was in flight")
	}
	_, shown = m.Update(first())
	if shown == nil {
		t.Fatal("the measure asked when shown was dropped")
	}
	if _, cmd := m.Update(shown()); cmd != nil {
		t.Fatal("a read with nothing asked")
	}
	_, cmd := m.Update(commit(9, 12))
	if cmd == nil {
		t.Fatal("a commit to Lobby.entropy read nothing")
	}
	if _, again := m.Update(commit(10, 12)); again != nil {
		t.Fatal("a second read ran while one was in flight")
	}
	if _, again := m.Update(panetest.Key("r")); again != nil {
		t.Fatal("r read while a read was in flight")
	}
	_, next := m.Update(cmd())
	if next == nil {
		t.Fatal("what was asked meanwhile was dropped")
	}
	if _, more := m.Update(next()); more != nil {
		t.Fatal("a third read")
	}
	if n := measures(img); n != 3 {
		t.Fatalf("%d measures, want 3 (shown, the commit, the two asks merged)", n)
	}
	if m.measuring || panetest.Contains(m.View(), "measuring…") {
		t.Fatalf("r's measure answered but the pane still says measuring:\n%s", panetest.Plain(m.View()))
	}
}

// TestMeasuresOnlyWhenShown: a measure (a Send, in the client's one
// evaluation slot) is made when the pane is first shown, when r asks, and
// once shown when a commit changes Lobby.entropy or the views are
// refreshed; before it is shown, Init, commits and refreshes read the
// series (an Object call) and measure nothing; focusing it again, commits
// elsewhere and other events measure nothing either.
func TestMeasuresOnlyWhenShown(t *testing.T) {
	img := fake(history(3)...)
	c := panetest.Common(img)
	c.Clock = func() time.Time { return clock }
	m := New(c)
	m.SetSize(38, 8)
	d := &panetest.Driver{TB: t, Pane: m}
	step := func(what string, want int, do func()) {
		t.Helper()
		do()
		if n := measures(img); n != want {
			t.Fatalf("%s: %d measures, want %d", what, n, want)
		}
	}
	step("Init", 0, d.Init)
	if !panetest.Contains(m.View(), "3 readings") {
		t.Fatalf("Init did not read the series:\n%s", panetest.Plain(m.View()))
	}
	img.Objects[12] = withSeries(img.Objects[12], history(4)...)
	step("a commit to Lobby.entropy, not shown", 0, func() { d.Send(commit(9, 12)) })
	if !panetest.Contains(m.View(), "4 readings") {
		t.Fatalf("the commit did not read the series:\n%s", panetest.Plain(m.View()))
	}
	step("a refresh, not shown", 0, func() { d.Send(common.RefreshMsg{}) })
	step("shown", 1, d.Focus)
	if !panetest.Contains(m.View(), "CEM     0.412", "measured 18:40:00") {
		t.Fatalf("the measure is not shown:\n%s", panetest.Plain(m.View()))
	}
	step("shown again", 1, func() { m.Blur(); d.Focus() })
	step("other commits and events", 1, func() {
		d.Send(commit(10, 13), commit(11, commontest.Lobby),
			common.EventMsg{Event: api.Event{Type: api.EventStatus, State: api.StateBusy}},
			common.EventMsg{Event: api.Event{Type: api.EventCommit, Tx: &api.Tx{ID: 12, Principal: "entropy", Changed: []api.Ref{{OID: 13}}}}})
	})
	step("a commit to Lobby.entropy", 2, func() { d.Send(commit(13, 12)) })
	step("a refresh", 3, func() { d.Send(common.RefreshMsg{}) })
	step("r", 4, func() { d.Send(panetest.Key("r")) })
}

// withSeries is v with its series slot holding series.
func withSeries(v api.ObjectView, series ...api.Value) api.ObjectView {
	slots := append([]api.SlotView(nil), v.Slots...)
	for i, s := range slots {
		if s.Name == "series" {
			l := api.List(series...)
			slots[i].Value = &l
		}
	}
	v.Slots = slots
	return v
}
