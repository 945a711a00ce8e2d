package tui_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
)

// shell runs a shell command line in a fresh session, followed by its
// exit status on screen.
func (x *tmux) shell(session, line string) {
	x.t.Helper()
	cmd := fmt.Sprintf("env BATOS_LLM_URL=http://127.0.0.1:1 TERM=xterm-256color %s; echo BATOS-EXIT-$?; sleep 600", line)
	x.run("new-session", "-d", "-s", session, "-x", "140", "-y", "40", cmd)
	x.run("set-option", "-s", "escape-time", "0")
}

// TestServeAndAttach is the kernel server's "done when": `batos serve` in
// one terminal, `batos attach` in two others; a method defined in one
// appears live in the other while a script hammers the same image through
// the same server; nothing is lost, and SIGINT stops the server cleanly.
func TestServeAndAttach(t *testing.T) {
	x := newTmux(t)
	image := filepath.Join(t.TempDir(), "image")

	x.shell("server", fmt.Sprintf("%s serve --image %s --listen 127.0.0.1:0", binary, image))
	addr := x.waitMatch("server", regexp.MustCompile(`at (ws://127\.0\.0\.1:\d+/)`))[1]

	x.shell("a", fmt.Sprintf("%s attach --image %s --name ann", binary, image))
	x.shell("b", fmt.Sprintf("%s attach %s --image %s --name bob", binary, addr, image))
	x.waitFor("a", "[Browser]", "Transcript")
	x.waitFor("b", "[Browser]", "Transcript")

	// The hammer: 40 separate processes, each attaching through the image
	// folder's server file and incrementing one counter.
	const hits = 40
	x.shell("hammer", fmt.Sprintf(`%[2]s eval --image %[3]s 'Lobby.Set("hits", 0)' && for i in $(seq %[1]d); do %[2]s eval --image %[3]s 'Lobby.Set("hits", Lobby.Get("hits").(int)+1)' || break; done`, hits, binary, image))

	// Both TUIs watch the hammer's commits arrive live.
	x.waitFor("a", "Lobby: ~hits")
	x.waitFor("b", "Lobby: ~hits")
	x.waitFor("hammer", "BATOS-EXIT-0")

	x.keys("a", "Tab", "Tab", "Tab")
	x.waitFor("a", "[Workspace]")
	x.text("a", `Lobby.Define("shout", "func shout(self Object) string { return \"HI\" }")`)
	x.keys("a", "C-d")
	x.waitFor("a", "✓ done")
	// bob's transcript shows ann's method arrive, with its principal.
	x.waitFor("b", "remote:ann", "Lobby: +shout")
	x.keys("b", "Tab", "Tab", "Tab")
	x.waitFor("b", "[Workspace]")
	x.text("b", `fmt.Sprint(Lobby.Get("hits"), " ", Lobby.Send("shout"))`)
	x.keys("b", "C-p")
	x.waitFor("b", fmt.Sprintf(`⇒ "%d HI"`, hits))

	// SIGINT: the server stops with everything durable and tells clients.
	x.keys("server", "C-c")
	x.waitFor("server", "BATOS-EXIT-0")
	x.keys("a", "C-c")
	x.waitFor("a", "BATOS-EXIT-")
	x.keys("b", "C-c")
	x.waitFor("b", "BATOS-EXIT-")

	// The image, opened directly now that no server serves it, kept it all.
	x.shell("check", fmt.Sprintf(`%s eval --image %s 'Lobby.Get("hits")'`, binary, image))
	x.waitFor("check", fmt.Sprint(hits), "BATOS-EXIT-0")
}
