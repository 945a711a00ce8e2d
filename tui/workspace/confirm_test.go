package workspace

import (
	"strings"
	"testing"

	"batos/system"
	"batos/tui/internal/panetest"
)

// TestConfirmBeforeWriting: with Lobby.pLLM.confirm on, a send nobody
// understands asks in the workspace whether the pLLM may write it; no
// leaves the error, yes confirms and runs the input again (here it then
// finds no model server).
func TestConfirmBeforeWriting(t *testing.T) {
	img := panetest.OpenWith(t, system.Options{Sandbox: []string{"/bin/false"}})
	if _, err := img.Eval(t.Context(), `Lobby.At("pLLM").Set("confirm", true)`); err != nil {
		t.Fatal(err)
	}
	m, d := driveOver(t, img)
	d.Send(panetest.Type(`Lobby.Send("twice", 4)`)...)
	d.Send(panetest.Key("ctrl+d"))
	const question = "let the pLLM write twice on Lobby? y/n"
	if v := panetest.Plain(m.View()); !strings.Contains(v, question) || !m.Editing() {
		t.Fatalf("no question:\n%s", v)
	}
	d.Send(panetest.Key("n"))
	if v := panetest.Plain(m.View()); strings.Contains(v, question) || !strings.Contains(v, "does not understand twice") || m.Value() != `Lobby.Send("twice", 4)` {
		t.Fatalf("after n:\n%s", v)
	}
	d.Send(panetest.Key("ctrl+d"))
	d.Send(panetest.Key("y"))
	v := panetest.Plain(m.View())
	if out := strings.Join(m.output, " "); strings.Contains(v, question) || !strings.Contains(out, "the pLLM could not write it") || !strings.Contains(out, "not reachable") {
		t.Fatalf("after y, the input did not run again to the model server:\n%s\n%s", v, out)
	}
}
