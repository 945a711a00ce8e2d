package forge

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"batos/api"
	bforge "batos/forge"
	"batos/system"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

// wait bounds every wait for the view: generous, for a loaded machine.
const wait = 60 * time.Second

type fixture struct {
	t      *testing.T
	img    panetest.Image
	events <-chan api.Event
	m      *Model
	d      *panetest.Driver
}

// setup opens an image with a Forge worker whose trainer is
// forge/testdata/trainer.sh in mode, and a Forge pane over it, w×h, fed
// the image's events by the test (as the app feeds them).
func setup(t *testing.T, mode string, w, h int) *fixture {
	t.Helper()
	img := panetest.OpenWith(t, system.Options{NoPLLM: true, Forge: true, ForgeOptions: bforge.Options{Poll: 20 * time.Millisecond}})
	script, err := filepath.Abs(filepath.Join("..", "..", "forge", "testdata", "trainer.sh"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, img: img}
	testdata := filepath.Dir(script)
	f.eval(fmt.Sprintf(`f := Lobby.Get("Forge").(Object); f.Set("minExamples", 0); f.Set("timeout", 60); f.Set("trainer", []any{"/bin/sh", %q, %q, "{dataset}", "{out}", %q}); f.Set("baseModel", %q)`,
		script, mode, filepath.Join(testdata, "peft"), filepath.Join(testdata, "tiny-base")))
	f.events = panetest.Events(t, img)
	f.m = New(panetest.Common(img))
	f.m.SetSize(w, h)
	f.m.Focus()
	f.d = &panetest.Driver{TB: t, Pane: f.m}
	f.d.Init()
	return f
}

func (f *fixture) eval(src string) api.Value {
	f.t.Helper()
	res, err := f.img.Eval(context.Background(), src)
	if err != nil {
		f.t.Fatalf("%s: %v", src, err)
	}
	return res.Value
}

// queue queues a fine-tune of BRICK from outside the pane, as the
// workspace would, and returns its id.
func (f *fixture) queue() int {
	f.t.Helper()
	return int(f.eval(`Lobby.Get("Forge").(Object).Send("fineTune", "BRICK").(Object).Get("id")`).Int)
}

// state returns the listed state of job id ("" when it is not listed).
func (f *fixture) state(id int) string {
	for _, j := range f.m.Jobs() {
		if j.ID == id {
			return j.State
		}
	}
	return ""
}

// awaitState feeds events until job id is listed in state.
func (f *fixture) awaitState(id int, state string) {
	f.t.Helper()
	f.d.Await(f.events, wait, fmt.Sprintf("job %d %s", id, state), func(string) bool { return f.state(id) == state })
}

// release lets the wait trainer of job id finish (a file in its folder).
func (f *fixture) release(id int) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.img.System.Dir(), "forge", "jobs", fmt.Sprint(id), "release"), nil, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// cancelAsked reads the job object oid's cancel slot.
func (f *fixture) cancelAsked(oid uint64) bool {
	f.t.Helper()
	v, err := f.img.Object(context.Background(), oid)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, s := range v.Slots {
		if s.Name == "cancel" && s.Value != nil {
			return s.Value.Bool
		}
	}
	return false
}

func (f *fixture) view() string { return panetest.Plain(f.m.View()) }

// TestQueuedJobGoesLive: a job queued elsewhere appears from its commit
// and follows its transitions from the events alone: training at step 1
// of 2 until the trainer is released, then succeeded with its last
// progress, its adapter and the trainer's log lines.
func TestQueuedJobGoesLive(t *testing.T) {
	f := setup(t, "wait", 78, 20)
	if !panetest.Contains(f.view(), "no fine-tune jobs") {
		t.Fatalf("empty forge:\n%s", f.view())
	}
	id := f.queue()
	f.awaitState(id, bforge.Training)
	f.d.AwaitView(f.events, wait, fmt.Sprintf("%d BRICK", id), "step 1/2")
	f.release(id)
	f.awaitState(id, bforge.Succeeded)
	v := f.view()
	if !panetest.Contains(v, fmt.Sprintf("%d BRICK", id), "succeeded", "local", "step 2/2", "100%", "adapter v1 of BRICK registered", `"step":2`) {
		t.Fatalf("succeeded job:\n%s", v)
	}
}

// TestTrainingProgressAndCancel: a training job shows its bar at step 1 of
// 2 and its log; c asks, n keeps it, c then y cancels it, and it ends
// cancelled; c on the ended job is refused without a question.
func TestTrainingProgressAndCancel(t *testing.T) {
	f := setup(t, "wait", 78, 20)
	id := f.queue()
	f.d.AwaitView(f.events, wait, "training", "step 1/2", " 50%", "loss 1.5", `"loss":1.5`)
	if v := f.view(); !strings.Contains(v, strings.Repeat("█", 5)) || !strings.Contains(v, strings.Repeat("░", 5)) {
		t.Fatalf("no half-filled bar:\n%s", v)
	}

	f.d.Send(panetest.Key("c"))
	if !f.m.Editing() || !panetest.Contains(f.view(), fmt.Sprintf("cancel job %d (BRICK, training)?", id), "y/n") {
		t.Fatalf("c did not ask (editing %v):\n%s", f.m.Editing(), f.view())
	}
	f.d.Send(panetest.Key("n"))
	if f.m.Editing() {
		t.Fatal("n left the question open")
	}
	if j, _ := f.m.Selected(); f.cancelAsked(j.OID) {
		t.Fatal("n cancelled the job")
	}

	f.d.Send(panetest.Keys("c", "y")...)
	if !panetest.Contains(f.view(), "cancel asked") {
		t.Fatalf("after y:\n%s", f.view())
	}
	f.awaitState(id, bforge.Cancelled)
	f.d.Send(panetest.Key("c"))
	if f.m.Editing() || !panetest.Contains(f.view(), fmt.Sprintf("job %d (BRICK) has already ended (cancelled)", id)) {
		t.Fatalf("c on an ended job:\n%s", f.view())
	}
}

// TestQueueFromThePane: n prompts for a persona (the pane is editing
// meanwhile); an unknown one is refused with the image's error on one
// line; a known one is queued, selected, and fails with its reason shown.
func TestQueueFromThePane(t *testing.T) {
	f := setup(t, "fail", 78, 20)
	f.d.Send(panetest.Key("n"))
	if !f.m.Editing() || !panetest.Contains(f.view(), "fine-tune persona:") {
		t.Fatalf("n did not prompt:\n%s", f.view())
	}
	f.d.Send(panetest.Type("NOBODY")...)
	if !f.m.Dirty() {
		t.Error("a typed name is not dirty")
	}
	f.d.Send(panetest.Key("enter"))
	if f.m.Editing() || !panetest.Contains(f.view(), "✗ fine-tune NOBODY:", `no persona "NOBODY"`) {
		t.Fatalf("unknown persona:\n%s", f.view())
	}
	if len(f.m.Jobs()) != 0 {
		t.Fatalf("jobs %+v", f.m.Jobs())
	}

	f.d.Send(panetest.Key("n"))
	f.d.Send(panetest.Type("BRICK\n")...)
	if !panetest.Contains(f.view(), "queued a fine-tune of BRICK") {
		t.Fatalf("after queueing:\n%s", f.view())
	}
	j, ok := f.m.Selected()
	if !ok || j.Persona != "BRICK" || j.ID != 1 {
		t.Fatalf("selected %+v", j)
	}
	f.awaitState(1, bforge.Failed)
	f.d.AwaitView(f.events, wait, "reason: train: failed: exit status 3")
	// esc gives the prompt up.
	f.d.Send(panetest.Key("n"), panetest.Key("x"), panetest.Key("esc"))
	if f.m.Editing() || len(f.m.Jobs()) != 1 {
		t.Fatalf("esc: editing %v, jobs %d", f.m.Editing(), len(f.m.Jobs()))
	}
}

// TestOpenAndOrder: jobs are listed newest first; enter inspects the
// selected job object and b browses it.
func TestOpenAndOrder(t *testing.T) {
	f := setup(t, "wait", 78, 20)
	first, second := f.queue(), f.queue()
	f.d.Await(f.events, wait, "both jobs", func(string) bool { return len(f.m.Jobs()) == 2 })
	jobs := f.m.Jobs()
	if jobs[0].ID != second || jobs[1].ID != first {
		t.Fatalf("order %d, %d", jobs[0].ID, jobs[1].ID)
	}
	f.d.Send(panetest.Keys("j", "enter")...)
	in, ok := panetest.Last[common.InspectMsg](f.d)
	if !ok || in.OID != jobs[1].OID {
		t.Fatalf("enter: %+v, want object %d", in, jobs[1].OID)
	}
	f.d.Send(panetest.Keys("k", "b")...)
	br, ok := panetest.Last[common.BrowseMsg](f.d)
	if !ok || br.OID != jobs[0].OID {
		t.Fatalf("b: %+v, want object %d", br, jobs[0].OID)
	}
	// Release the first once it trains: the worker runs one local job
	// at a time, the second waits for it.
	f.awaitState(first, bforge.Training)
	if f.state(second) != bforge.Queued {
		t.Errorf("job %d is %s while job %d trains", second, f.state(second), first)
	}
	f.release(first)
	f.awaitState(first, bforge.Succeeded)
}

// TestTeatest: the pane as a program: n, a name and enter queue a job,
// which is listed.
func TestTeatest(t *testing.T) {
	f := setup(t, "wait", 78, 20)
	screen := commontest.Record(&panetest.Harness{Pane: New(panetest.Common(f.img))})
	tm := teatest.NewTestModel(t, screen, teatest.WithInitialTermSize(80, 20))
	screen.WaitFor(t, wait, "no fine-tune jobs")
	tm.Send(panetest.Key("n"))
	screen.WaitFor(t, wait, "fine-tune persona:")
	for _, k := range panetest.Type("BRICK\n") {
		tm.Send(k)
	}
	screen.WaitFor(t, wait, "queued a fine-tune of BRICK", "1 BRICK")
	tm.Send(panetest.Key("ctrl+c"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}
