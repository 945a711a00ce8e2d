package app_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"batos/llama/llamatest"
	"batos/system"
	"batos/tui/internal/panetest"
)

// TestAutotelicCommands: over a real image opened without the loop's
// worker, :autotelic on switches the loop on and says that no process
// runs its worker, which the status bar says too; bare :autotelic shows
// the loop in the Entropy pane; :autotelic step, in a process without the
// pLLM, fails as one line; :autotelic off switches it off and the status
// bar's segment goes; an unknown verb is refused.
func TestAutotelicCommands(t *testing.T) {
	img := panetest.Open(t)
	tm, screen := runApp(t, img, -1)
	if bar := statusBar(screen.Screen()); strings.Contains(bar, "auto") {
		t.Fatalf("an auto segment while the loop is off: %q", bar)
	}
	command(tm, "autotelic on")
	screen.WaitFor(t, entropyWait, "• autotelic loop on: it steps when CEM stays below 0.60 for 10m0s; but no")
	screen.WaitUntil(t, entropyWait, "auto on (no worker) in the status bar", func(s string) bool {
		return strings.HasPrefix(statusBar(s), " batos │ auto on (no worker) │ ")
	})
	command(tm, "autotelic")
	screen.WaitFor(t, entropyWait, "[Entropy]", "last hour: 0/24 calls · 0/60,000 tokens · 0/24 commits", "ledger empty")
	command(tm, "autotelic step")
	screen.WaitFor(t, entropyWait, "✗ step: autotelic: the pLLM is not installed in this process")
	command(tm, "autotelic off")
	screen.WaitFor(t, entropyWait, "• autotelic loop off", "autotelic loop off: it steps when CEM stays below 0.60 for 10m0s")
	screen.WaitUntil(t, entropyWait, "the auto segment gone", func(s string) bool {
		return !strings.Contains(statusBar(s), "auto")
	})
	command(tm, "autotelic sideways")
	screen.WaitFor(t, entropyWait, "✗ :autotelic sideways: want on, off or step")
	tm.Send(char('q'))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// describeReply is the scripted model's method for the one mandate the
// image offers: describe on Lobby.shape.
var describeReply = llamatest.Reply{
	Text:  "```go\nfunc describe(self Object) string {\n\treturn fmt.Sprintf(\"a shape of width %v\", self.Get(\"w\"))\n}\n```",
	Chunk: 16,
	Delay: 100 * time.Millisecond, // slow enough to see the step run
}

// TestAutotelicStep: with the pLLM and a scripted model server,
// :autotelic step (completed from :autotelic s) runs one step off the UI
// loop: the info line and the Entropy pane say it runs; then the info
// line shows the summary's first line, and the Entropy pane the whole
// summary and what the step's ledger entry spent; the method is
// installed in the image.
func TestAutotelicStep(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("BATOS_SANDBOX_CHILD", "1") // for the children only: TestMain has run
	img := panetest.OpenWith(t, system.Options{Sandbox: []string{exe}})
	srv := llamatest.New(t, describeReply)
	t.Setenv("BATOS_LLM_URL", srv.URL) // over panetest's, which reaches no server
	evalOK(t, img, fmt.Sprintf(`p := Lobby.At("pLLM"); p.Set("endpoint", %q); p.Set("topK", 1); p.Set("maxAttempts", 1)
a := Lobby.At("autotelic"); a.Set("vocabulary", []any{map[string]any{"selector": "describe", "purpose": "describe the shape"}})
s := NewObject(); s.Set("name", "shape"); s.Set("w", 3); Lobby.Set("shape", s)`, srv.URL))
	tm, screen := runApp(t, img, -1)
	command(tm, "autotelic")
	screen.WaitFor(t, entropyWait, "[Entropy]", "ledger empty")
	tm.Send(char(':'))
	for _, r := range "autotelic s" {
		tm.Send(char(r))
	}
	tm.Send(tab) // completes "autotelic step"
	tm.Send(enter)
	screen.WaitFor(t, forgeWait, "• autotelic step running", "stepping…")
	screen.WaitFor(t, forgeWait, "• autotelic: chose ", "describe on Lobby.shape")
	// The ledger entry's commit is read: the last hour counts its call.
	screen.WaitFor(t, forgeWait, "last step:", "did: installed describe on Lobby.shape", "last hour: 1/24 calls")
	res, err := img.Eval(context.Background(), `Lobby.At("shape").Send("describe")`)
	if err != nil || res.Value.String != "a shape of width 3" {
		t.Fatalf("describe after the step: %v, %v", res.Value.Text, err)
	}
	tm.Send(char('q'))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}
