package workspace_test

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"batos/api"
	"batos/system"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/workspace"
)

// openImage opens a real image in dir (without the pLLM) and connects a
// client as "user".
func openImage(t *testing.T, dir string) (*system.Client, func()) {
	t.Helper()
	t.Setenv("BATOS_LLM_URL", "http://127.0.0.1:1")
	sys, err := system.Open(dir, system.Options{NoPLLM: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := sys.Connect("user")
	if err != nil {
		sys.Close()
		t.Fatal(err)
	}
	c.RecordInputs() // as `batos tui` does
	return c, func() {
		c.Close()
		if err := sys.Close(); err != nil {
			t.Error(err)
		}
	}
}

var screen *commontest.Recorder

func start(t *testing.T, img api.Image) (*teatest.TestModel, *commontest.Model, *workspace.Model) {
	t.Helper()
	ws := workspace.New(&common.Common{Image: img, Styles: common.DefaultStyles()})
	m := commontest.NewModel(ws)
	screen = commontest.Record(m)
	tm := teatest.NewTestModel(t, screen, teatest.WithInitialTermSize(60, 12))
	return tm, m, ws
}

func waitFor(t *testing.T, _ *teatest.TestModel, texts ...string) {
	t.Helper()
	screen.WaitFor(t, 10*time.Second, texts...)
}

func key(s string) tea.KeyPressMsg {
	switch s {
	case "ctrl+p":
		return tea.KeyPressMsg{Code: 'p', Mod: tea.ModCtrl}
	case "ctrl+d":
		return tea.KeyPressMsg{Code: 'd', Mod: tea.ModCtrl}
	case "ctrl+o":
		return tea.KeyPressMsg{Code: 'o', Mod: tea.ModCtrl}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	panic(s)
}

func quit(t *testing.T, tm *teatest.TestModel) {
	t.Helper()
	tm.Send(key("ctrl+c"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

func TestPrintItShowsValue(t *testing.T) {
	img, closeImg := openImage(t, t.TempDir())
	defer closeImg()
	tm, _, ws := start(t, img)
	tm.Type("6 * 7")
	tm.Send(key("ctrl+p"))
	waitFor(t, tm, "⇒ 42")
	quit(t, tm)
	if ws.Busy() {
		t.Fatal("still busy after the value was shown")
	}
}

func TestDoItOfBadInputShowsError(t *testing.T) {
	img, closeImg := openImage(t, t.TempDir())
	defer closeImg()
	tm, _, _ := start(t, img)
	tm.Type("undefinedThing + 1")
	tm.Send(key("ctrl+d"))
	waitFor(t, tm, "error:")
	quit(t, tm)

	tm, _, _ = start(t, img)
	tm.Type(`Lobby.Set("answer", 42)`)
	tm.Send(key("ctrl+d"))
	waitFor(t, tm, "✓ done")
	quit(t, tm)
}

func TestInspectIt(t *testing.T) {
	img := commontest.New()
	img.Results["p"] = api.Result{HasValue: true, Value: api.ObjectRef(api.Ref{OID: 12, Name: "point (object 12)"})}
	tm, m, _ := start(t, img)
	tm.Type("p")
	tm.Send(key("ctrl+o"))
	waitFor(t, tm, "inspecting")
	deadline := time.Now().Add(5 * time.Second)
	for !sentInspect(m.Sent()) {
		if time.Now().After(deadline) {
			t.Fatalf("inspect it of an object sent %v, want InspectMsg{12}", m.Sent())
		}
		time.Sleep(10 * time.Millisecond)
	}
	quit(t, tm)
}

func sentInspect(msgs []tea.Msg) bool {
	for _, msg := range msgs {
		if im, ok := msg.(common.InspectMsg); ok && im.OID == 12 {
			return true
		}
	}
	return false
}

func TestEscCancelsEvaluation(t *testing.T) {
	img := commontest.New()
	img.Block = make(chan struct{}) // never released: only cancel ends it
	tm, _, ws := start(t, img)
	tm.Type("slow()")
	tm.Send(key("ctrl+p"))
	waitFor(t, tm, "esc cancels")
	tm.Send(key("esc"))
	waitFor(t, tm, "cancelled")
	quit(t, tm)
	if ws.Busy() {
		t.Fatal("busy after cancel")
	}
}

func TestHistoryPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	img, closeImg := openImage(t, dir)
	tm, _, _ := start(t, img)
	tm.Type("1 + 1")
	tm.Send(key("ctrl+p"))
	waitFor(t, tm, "⇒ 2")
	// The history is saved after the value: wait for its commit.
	deadline := time.Now().Add(10 * time.Second)
	for !historySaved(t, img, "1 + 1") {
		if time.Now().After(deadline) {
			t.Fatal("history never reached the image")
		}
		time.Sleep(20 * time.Millisecond)
	}
	quit(t, tm)
	closeImg()

	img, closeImg = openImage(t, dir)
	defer closeImg()
	tm, _, ws := start(t, img)
	// History loads in Init; up on an empty input recalls the last entry.
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(screen.Screen(), "1 + 1") {
		if time.Now().After(deadline) {
			t.Fatalf("up never recalled 1 + 1; screen:\n%s", screen.Screen())
		}
		tm.Send(key("up"))
		time.Sleep(50 * time.Millisecond)
	}
	quit(t, tm)
	if ws.Value() != "1 + 1" {
		t.Fatalf("input is %q after up, want the last entry", ws.Value())
	}
}

func historySaved(t *testing.T, img api.Image, entry string) bool {
	res, err := img.Eval(t.Context(), `Lobby.Get("`+api.InputsObject+`").(Object).Get("`+api.InputsSlot+`")`)
	if err != nil {
		return false
	}
	for _, it := range res.Value.Items {
		if it.Kind == api.ValueString && it.String == entry {
			return true
		}
	}
	return false
}

func TestCompletion(t *testing.T) {
	img := commontest.New()
	tm, _, ws := start(t, img)
	tm.Type(`Lobby.Send("printS`)
	tm.Send(key("tab"))
	waitFor(t, tm, `Lobby.Send("printString"`)
	tm.Type(`; Lobby.print`)
	tm.Send(key("tab"))
	waitFor(t, tm, "completions: printOn printString")
	quit(t, tm)
	if want := `Lobby.Send("printString"; Lobby.print`; ws.Value() != want {
		t.Fatalf("input is %q, want %q", ws.Value(), want)
	}
}

// TestFailedInputStaysDirty: an input that failed to evaluate is not
// saved, so quitting must still ask; one that succeeds is.
func TestFailedInputStaysDirty(t *testing.T) {
	img := commontest.New()
	img.Errors["bad"] = &api.Error{Kind: api.ErrCompile, Message: "line 1:1: undefined: bad", Line: 1, Col: 1}
	tm, _, ws := start(t, img)
	tm.Type("bad")
	tm.Send(key("ctrl+d"))
	waitFor(t, tm, "undefined: bad")
	quit(t, tm)
	if !ws.Dirty() {
		t.Fatal("an input that failed counts as saved")
	}

	tm, _, ws = start(t, img)
	tm.Type("good")
	tm.Send(key("ctrl+d"))
	waitFor(t, tm, "✓ done")
	quit(t, tm)
	if ws.Dirty() {
		t.Fatal("an input that succeeded counts as unsaved")
	}
}

// TestCancelOfARealEvaluation: esc cancels an evaluation the image runs;
// the image reports it as an *api.Error of kind canceled.
func TestCancelOfARealEvaluation(t *testing.T) {
	img, closeImg := openImage(t, t.TempDir())
	defer closeImg()
	tm, _, ws := start(t, img)
	tm.Type("for {}")
	tm.Send(key("ctrl+p"))
	waitFor(t, tm, "esc cancels")
	tm.Send(key("esc"))
	waitFor(t, tm, "cancelled")
	quit(t, tm)
	if ws.Busy() {
		t.Fatal("busy after cancel")
	}
}

// TestOwnOutputShown: what an evaluation prints reaches the workspace as
// this client's output events, above the value.
func TestOwnOutputShown(t *testing.T) {
	img, closeImg := openImage(t, t.TempDir())
	defer closeImg()
	events, cancel := img.Subscribe(64)
	defer cancel()
	tm, _, _ := start(t, img)
	go func() {
		for ev := range events {
			tm.Send(common.EventMsg{Event: ev})
		}
	}()
	tm.Type(`fmt.Println("hello from", 6*7); 1`)
	tm.Send(key("ctrl+p"))
	waitFor(t, tm, "hello from 42", "⇒ 1")
	quit(t, tm)
}
