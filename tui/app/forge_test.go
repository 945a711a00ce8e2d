package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"batos/forge"
	"batos/system"
	"batos/tui/app"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

// forgeWait bounds the waits on a real Forge: generous, for a loaded
// machine.
const forgeWait = 60 * time.Second

// forgeApp runs the app, 80×24, with its real panes, over a real image
// whose Forge trains with forge/testdata/trainer.sh in mode, with a
// worker or without. The status bar is read once at start only: what it
// shows after comes from the refreshes events ask for.
func forgeApp(t *testing.T, mode string, worker bool) (panetest.Image, *teatest.TestModel, *commontest.Recorder) {
	t.Helper()
	img := panetest.OpenWith(t, system.Options{NoPLLM: true, Forge: worker, ForgeOptions: forge.Options{Poll: 20 * time.Millisecond}})
	script, err := filepath.Abs(filepath.Join("..", "..", "forge", "testdata", "trainer.sh"))
	if err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`f := Lobby.Get("Forge").(Object); f.Set("minExamples", 0); f.Set("timeout", 60); f.Set("trainer", []any{"/bin/sh", %q, %q, "{dataset}", "{out}"})`, script, mode)
	if _, err := img.Eval(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	c := &common.Common{Image: img, Styles: common.DefaultStyles(), Clock: func() time.Time { return clock }}
	screen := commontest.Record(app.New(c, app.Options{StatusEvery: -1}))
	tm := teatest.NewTestModel(t, screen, teatest.WithInitialTermSize(80, 24))
	screen.WaitFor(t, forgeWait, "objects", "[Browser]")
	return img, tm, screen
}

func queueBrick(t *testing.T, img panetest.Image) {
	t.Helper()
	if _, err := img.Eval(context.Background(), `Lobby.Get("Forge").(Object).Send("fineTune", "BRICK")`); err != nil {
		t.Fatal(err)
	}
}

// TestForgePaneAndStatus: :forge focuses the Forge pane (in the
// transcript's place); a job queued in the image shows there training at
// step 1 of 2 while the status bar counts it running; c then y cancels it
// from the pane, and the count goes.
func TestForgePaneAndStatus(t *testing.T) {
	img, tm, screen := forgeApp(t, "wait", true)
	if strings.Contains(screen.Screen(), "forge ") {
		t.Fatalf("a forge count with no job:\n%s", screen.Screen())
	}
	tm.Send(char(':'))
	for _, r := range "forge" {
		tm.Send(char(r))
	}
	tm.Send(enter)
	screen.WaitFor(t, forgeWait, "[Forge]", "no fine-tune jobs")
	queueBrick(t, img)
	screen.WaitFor(t, forgeWait, "batos │ forge 1 running │", "step 1/2", "50%")
	tm.Send(char('c'))
	screen.WaitFor(t, forgeWait, "cancel job 1 (BRICK, training)? y/n")
	tm.Send(char('y'))
	screen.WaitFor(t, forgeWait, "1 BRICK  cancelled")
	screen.WaitUntil(t, forgeWait, "the forge count gone", func(s string) bool { return !strings.Contains(s, "forge 1 running") })
	tm.Send(char('q'))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// TestForgeStatusNoWorker: a job queued where no worker runs is counted
// queued, with the missing worker said, as soon as its commit arrives.
func TestForgeStatusNoWorker(t *testing.T) {
	img, tm, screen := forgeApp(t, "success", false)
	queueBrick(t, img)
	screen.WaitFor(t, forgeWait, "forge 1 queued (no worker)")
	tm.Send(ctrlC)
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}
