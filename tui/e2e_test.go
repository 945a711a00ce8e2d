package tui_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binary is the batos binary TestMain builds for the end-to-end test.
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "batos-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "batos")
	build := exec.Command("go", "build", "-o", binary, "batos/cmd/batos")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build batos:", err)
		return 1
	}
	return m.Run()
}

// tmux drives one tmux server of the test's own.
type tmux struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T) *tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it): skipping the end-to-end test")
	}
	x := &tmux{t: t, socket: fmt.Sprintf("batos-e2e-%d", os.Getpid())}
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", x.socket, "kill-server").Run() })
	return x
}

func (x *tmux) run(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", x.socket}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// start runs batos on image in a fresh session; the shell line after it
// reports its exit status on screen.
func (x *tmux) start(session, image string) {
	x.t.Helper()
	cmd := fmt.Sprintf("env BATOS_LLM_URL=http://127.0.0.1:1 TERM=xterm-256color %s --image %s; echo BATOS-EXIT-$?; sleep 600", binary, image)
	x.run("new-session", "-d", "-s", session, "-x", "140", "-y", "40", cmd)
	x.run("set-option", "-s", "escape-time", "0")
}

func (x *tmux) keys(session string, keys ...string) {
	x.t.Helper()
	x.run(append([]string{"send-keys", "-t", session}, keys...)...)
}

func (x *tmux) text(session, s string) {
	x.t.Helper()
	x.run("send-keys", "-t", session, "-l", s)
}

// waitFor polls capture-pane until every text is on screen.
func (x *tmux) waitFor(session string, texts ...string) string {
	x.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		screen := x.run("capture-pane", "-p", "-t", session)
		ok := true
		for _, s := range texts {
			ok = ok && strings.Contains(screen, s)
		}
		if ok {
			return screen
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("screen never showed %q; it shows:\n%s", texts, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEndToEnd drives the real binary: define a method in the workspace,
// see its commit in the transcript, browse to Lobby, find the method by
// search, edit and accept it in the browser, quit, reopen and call it.
func TestEndToEnd(t *testing.T) {
	x := newTmux(t)
	image := filepath.Join(t.TempDir(), "image")

	x.start("one", image)
	x.waitFor("one", "objects", "[Browser]", "Transcript")
	x.keys("one", "Tab", "Tab", "Tab")
	x.waitFor("one", "[Workspace]")
	x.text("one", `Lobby.Define("area", "func area(self Object) int { return 6 * 7 }")`)
	x.keys("one", "C-d")
	x.waitFor("one", "✓ done", "Lobby: +area")
	x.keys("one", "Escape") // stop typing: : and q reach the app
	x.waitFor("one", "type again")
	x.text("one", ":browse Lobby")
	x.keys("one", "Enter")
	x.waitFor("one", "[Browser]", "Slots of Lobby", "area")
	// Find the method through search, then edit and accept it in the browser.
	x.text("one", "/area")
	x.waitFor("one", "on Lobby")
	x.keys("one", "Enter")
	x.waitFor("one", "return 6 * 7")
	x.text("one", "e")
	x.waitFor("one", "ctrl+s")
	x.keys("one", "End", "Left", "Left", "BSpace")
	x.text("one", "8")
	x.keys("one", "C-s")
	x.waitFor("one", "Lobby: ~area")
	x.text("one", "q")
	x.waitFor("one", "BATOS-EXIT-0")

	x.start("two", image)
	x.waitFor("two", "objects", "[Browser]")
	x.keys("two", "Tab", "Tab", "Tab")
	x.waitFor("two", "[Workspace]")
	x.text("two", `Lobby.Send("area")`)
	x.keys("two", "C-p")
	x.waitFor("two", "⇒ 48")
	x.keys("two", "C-c")
	x.waitFor("two", "BATOS-EXIT-0")
}
