package forge

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

// only passes on the events of type typ: a pane fed only those must still
// follow the jobs.
func only(in <-chan api.Event, typ string) <-chan api.Event {
	out := make(chan api.Event, 4096)
	go func() {
		defer close(out)
		for ev := range in {
			if ev.Type == typ {
				out <- ev
			}
		}
	}()
	return out
}

// TestCommitsAlone: the commits alone (no Forge event) bring a job from
// queued to succeeded, with the progress and adapter it committed.
func TestCommitsAlone(t *testing.T) {
	f := setup(t, "success", 78, 20)
	events := only(f.events, api.EventCommit)
	f.queue()
	f.d.Await(events, wait, "job 1 succeeded", func(string) bool { return f.state(1) == succeeded })
	if v := f.view(); !panetest.Contains(v, "step 3/3", "100%", "adapter v1 of BRICK registered") {
		t.Fatalf("view:\n%s", v)
	}
}

// TestForgeEventsAlone: the Forge's events alone (no commit) list a job
// the pane had not read and show its live progress and log.
func TestForgeEventsAlone(t *testing.T) {
	f := setup(t, "wait", 78, 20)
	events := only(f.events, api.EventForge)
	f.queue()
	f.d.AwaitView(events, wait, "1 BRICK", "training", "step 1/2", `│ {"step":1,"steps":2,"loss":1.5}`)
}

// fake is a scripted image with a Lobby.Forge (object 11) holding jobs.
func fake(jobs ...api.ObjectView) *commontest.Image {
	img := commontest.New()
	lobby := img.Objects[commontest.Lobby]
	lobby.Slots = append(lobby.Slots, api.SlotView{Name: "Forge", Kind: api.KindData, Value: commontest.Ref(api.Ref{OID: 11, Name: "Forge (object 11)"})})
	img.Objects[commontest.Lobby] = lobby
	list := api.Value{Kind: api.ValueList, Type: "[]any", Items: []api.Value{}}
	for _, j := range jobs {
		img.Objects[j.OID] = j
		list.Items = append(list.Items, api.ObjectRef(j.Ref))
	}
	img.Objects[11] = api.ObjectView{Ref: api.Ref{OID: 11, Name: "Forge (object 11)"}, Slots: []api.SlotView{
		{Name: "jobs", Kind: api.KindData, Value: &list},
	}}
	return img
}

// job makes a job object view; progress is step, steps, loss (none when
// empty).
func job(oid uint64, id int, persona, state, reason string, progress ...float64) api.ObjectView {
	str := func(s string) *api.Value { v := api.String(s); return &v }
	num := func(n int) *api.Value { v := api.Int(int64(n)); return &v }
	v := api.ObjectView{Ref: api.Ref{OID: oid, Name: fmt.Sprintf("forge job %d (object %d)", id, oid)}, Slots: []api.SlotView{
		{Name: "id", Kind: api.KindData, Value: num(id)},
		{Name: "persona", Kind: api.KindData, Value: str(persona)},
		{Name: "state", Kind: api.KindData, Value: str(state)},
		{Name: "backend", Kind: api.KindData, Value: str("local")},
	}}
	if reason != "" {
		v.Slots = append(v.Slots, api.SlotView{Name: "reason", Kind: api.KindData, Value: str(reason)})
	}
	if len(progress) == 3 {
		p := api.Value{Kind: api.ValueMap, Type: "map[string]any", Entries: []api.Entry{
			{Key: "loss", Value: api.Float(progress[2])},
			{Key: "step", Value: api.Int(int64(progress[0]))},
			{Key: "steps", Value: api.Int(int64(progress[1]))},
		}}
		v.Slots = append(v.Slots, api.SlotView{Name: "progress", Kind: api.KindData, Value: &p})
	}
	return v
}

func fakePane(t *testing.T, img api.Image, w, h int) (*Model, *panetest.Driver) {
	t.Helper()
	m := New(panetest.Common(img))
	m.SetSize(w, h)
	m.Focus()
	d := &panetest.Driver{TB: t, Pane: m}
	d.Init()
	return m, d
}

// threeJobs: one training (with live progress and log), one failed, one
// succeeded.
func threeJobs(t *testing.T, w, h int) (*Model, *panetest.Driver) {
	t.Helper()
	img := fake(
		job(14, 1, "BRICK", "succeeded", "", 3, 3, 0.25),
		job(15, 2, "ROBIN", "failed", "train: failed: exit status 3", 1, 3, 2),
		job(16, 3, "BRICK", "training", "", 1, 4, 1.5),
	)
	m, d := fakePane(t, img, w, h)
	for i, line := range []string{"loading model…", `{"step":1,"steps":4,"loss":1.5}`, `{"step":2,"steps":4,"loss":1.1}`} {
		p := &api.ForgeProgress{Job: 3, Persona: "BRICK", State: "training", Line: line}
		if i == 2 {
			p.Step, p.Steps, p.Loss, p.LR, p.ETA = 2, 4, 1.1, 0.0002, 125
		}
		d.Send(common.EventMsg{Event: api.Event{Type: api.EventForge, Forge: p}})
	}
	return m, d
}

// TestGolden: the pane in the box an 80×24 terminal gives it, and larger.
func TestGolden(t *testing.T) {
	m, _ := threeJobs(t, 38, 8)
	panetest.Golden(t, "forge_38x8", m.View())
	m.SetSize(78, 20)
	panetest.Golden(t, "forge_78x20", m.View())
	m.Update(panetest.Key("j"))
	panetest.Golden(t, "forge_failed_78x20", m.View())
}

// TestViewFits: every size renders exactly the size given, the tiny ones
// too.
func TestViewFits(t *testing.T) {
	m, _ := threeJobs(t, 38, 8)
	for _, size := range [][2]int{{0, 0}, {1, 1}, {5, 1}, {3, 2}, {20, 5}, {38, 8}, {78, 20}, {200, 60}} {
		m.SetSize(size[0], size[1])
		v := m.View()
		if size[0] == 0 || size[1] == 0 {
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

// TestLiveProgressAhead: the live progress is shown while it is ahead of
// the committed one, the committed one when it is further along.
func TestLiveProgressAhead(t *testing.T) {
	m, d := threeJobs(t, 78, 20)
	if !panetest.Contains(m.View(), "step 2/4", "loss 1.1", "lr 0.0002", "eta 2m5s") {
		t.Fatalf("live progress not shown:\n%s", panetest.Plain(m.View()))
	}
	d.Send(panetest.Keys("G")...)
	if !panetest.Contains(m.View(), "step 3/3", "loss 0.25", "100%") {
		t.Fatalf("committed progress not shown:\n%s", panetest.Plain(m.View()))
	}
}

// TestImageErrorsOneLine: an image without a Forge, and a refused cancel,
// show as one sanitized line.
func TestImageErrorsOneLine(t *testing.T) {
	m, _ := fakePane(t, commontest.New(), 60, 10)
	if !panetest.Contains(m.View(), "✗ this image has no Lobby.Forge", "no jobs to show") {
		t.Fatalf("view:\n%s", panetest.Plain(m.View()))
	}

	img := fake(job(16, 3, "BRICK", "training", ""))
	img.Errors[`ObjectAt(11).Send("cancel")`] = fmt.Errorf("cancel: refused\x1b[2J\nbecause\x07 reasons")
	m, d := fakePane(t, img, 60, 10)
	d.Send(panetest.Keys("c", "y")...)
	v := m.View()
	if strings.Contains(v, "\x1b[2J") || strings.Contains(v, "\x07") {
		t.Fatalf("view holds control sequences: %q", v)
	}
	if !panetest.Contains(v, "✗ cancel job 3: cancel: refused ⏎ because reasons") {
		t.Fatalf("view:\n%s", panetest.Plain(v))
	}
}

// TestTextsSanitized: what jobs and events carry cannot drive the
// terminal.
func TestTextsSanitized(t *testing.T) {
	img := fake(job(16, 3, "BR\x1b[31mICK", "failed", "evil\x1b]0;title\x07\nreason\r"))
	m, d := fakePane(t, img, 78, 20)
	d.Send(common.EventMsg{Event: api.Event{Type: api.EventForge, Forge: &api.ForgeProgress{Job: 3, State: "failed", Line: "log\x1b[2J line\x9b1m\r"}}})
	v := m.View()
	for _, bad := range []string{"\x1b[31m", "\x1b[2J", "\x1b]0", "\x07", "\r", "\x9b"} {
		if strings.Contains(v, bad) {
			t.Errorf("view holds %q", bad)
		}
	}
	if !panetest.Contains(v, "3 BRICK", "reason: evil ⏎ reason", "│ log line") {
		t.Errorf("view:\n%s", panetest.Plain(v))
	}
}

// TestLiveBounded: the log lines kept per job and the jobs whose live
// progress is kept stay bounded; the newest are kept.
func TestLiveBounded(t *testing.T) {
	m, d := fakePane(t, fake(job(16, 3, "BRICK", "training", "")), 78, 20)
	for i := range 3 * MaxLogLines {
		d.Send(common.EventMsg{Event: api.Event{Type: api.EventForge, Forge: &api.ForgeProgress{Job: 3, State: "training", Line: fmt.Sprintf("line %d", i)}}})
	}
	if n := len(m.live[3].lines); n > MaxLogLines+MaxLogLines/4 {
		t.Fatalf("%d lines kept, bound %d", n, MaxLogLines)
	}
	if log := m.logOf(3); len(log) != MaxLogLines || log[len(log)-1] != fmt.Sprintf("line %d", 3*MaxLogLines-1) {
		t.Fatalf("log of %d lines ending %q", len(log), log[len(log)-1])
	}
	for id := 100; id < 100+3*MaxLiveJobs; id++ {
		m.Update(common.EventMsg{Event: api.Event{Type: api.EventForge, Forge: &api.ForgeProgress{Job: id, State: "training", Step: 1, Steps: 2}}})
	}
	if len(m.live) > MaxLiveJobs || len(m.liveOrder) != len(m.live) {
		t.Fatalf("%d jobs' live progress kept (%d ordered), bound %d", len(m.live), len(m.liveOrder), MaxLiveJobs)
	}
	if _, ok := m.live[100+3*MaxLiveJobs-1]; !ok {
		t.Fatal("the newest job's progress was dropped")
	}
}

// TestReadsSerialized: what is asked while a read runs waits for it, all
// merged into one read.
func TestReadsSerialized(t *testing.T) {
	m := New(panetest.Common(fake(job(16, 3, "BRICK", "training", ""))))
	first := m.Init()
	if first == nil {
		t.Fatal("no read at start")
	}
	commit := func(oids ...uint64) tea.Msg {
		tx := &api.Tx{ID: 9, Principal: "forge"}
		for _, oid := range oids {
			tx.Changed = append(tx.Changed, api.Ref{OID: oid})
		}
		return common.EventMsg{Event: api.Event{Type: api.EventCommit, Tx: tx}}
	}
	if _, cmd := m.Update(first()); cmd != nil {
		t.Fatal("a read with nothing asked")
	}
	_, cmd := m.Update(commit(16))
	if cmd == nil {
		t.Fatal("a commit to a job read nothing")
	}
	if _, again := m.Update(commit(11)); again != nil {
		t.Fatal("a second read ran while one was in flight")
	}
	_, next := m.Update(cmd())
	if next == nil {
		t.Fatal("what was asked meanwhile was dropped")
	}
	if _, more := m.Update(next()); more != nil {
		t.Fatal("a third read")
	}
	if _, cmd := m.Update(commit(12)); cmd != nil {
		t.Fatal("a commit to an object that is no job read something")
	}
}
