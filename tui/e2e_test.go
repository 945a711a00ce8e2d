package tui_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"batos/llama/llamatest"
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

// sockets counts the tmux servers started (the tests are not parallel).
var sockets int

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
	// A socket, so a server, per test: a killed server takes a moment to
	// go, and the next test must not reach it on its way out.
	sockets++
	x := &tmux{t: t, socket: fmt.Sprintf("batos-e2e-%d-%d", os.Getpid(), sockets)}
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

// start runs batos on image in a fresh session, with no model server; the
// shell line after it reports its exit status on screen.
func (x *tmux) start(session, image string) {
	x.t.Helper()
	x.startWith(session, image, "http://127.0.0.1:1", 40)
}

// startWith is start with the pLLM pointed at llmURL, on a terminal of 140
// columns and height rows.
func (x *tmux) startWith(session, image, llmURL string, height int) {
	x.t.Helper()
	cmd := fmt.Sprintf("env BATOS_LLM_URL=%s TERM=xterm-256color %s --image %s; echo BATOS-EXIT-$?; sleep 600", llmURL, binary, image)
	x.run("new-session", "-d", "-s", session, "-x", "140", "-y", fmt.Sprint(height), cmd)
	x.run("set-option", "-s", "escape-time", "0")
}

// pane names the one pane of session exactly. A bare name is resolved by
// tmux as a pane, a window or a session in turn, with prefix and pattern
// matches: "-t a" reached the pane of session "hammer" once its command
// had ended.
func pane(session string) string { return "=" + session + ":" }

func (x *tmux) keys(session string, keys ...string) {
	x.t.Helper()
	x.run(append([]string{"send-keys", "-t", pane(session)}, keys...)...)
}

func (x *tmux) text(session, s string) {
	x.t.Helper()
	x.run("send-keys", "-t", pane(session), "-l", s)
}

// waitDeadline bounds every wait for the screen: generous, for a loaded
// two-core machine.
const waitDeadline = 30 * time.Second

// screen returns what session shows now, as plain text.
func (x *tmux) screen(session string) string {
	x.t.Helper()
	return x.run("capture-pane", "-p", "-t", pane(session))
}

// waitFor polls capture-pane until every text is on screen.
func (x *tmux) waitFor(session string, texts ...string) string {
	x.t.Helper()
	deadline := time.Now().Add(waitDeadline)
	for {
		screen := x.screen(session)
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

// waitMatch polls capture-pane until re matches the screen and returns
// the submatches.
func (x *tmux) waitMatch(session string, re *regexp.Regexp) []string {
	x.t.Helper()
	deadline := time.Now().Add(waitDeadline)
	for {
		screen := x.screen(session)
		if m := re.FindStringSubmatch(screen); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("screen never matched %s; it shows:\n%s", re, screen)
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

// fibonacciAnswer is the scripted model's answer: a fenced iterative
// method, streamed in small chunks slowly enough to be seen.
var fibonacciAnswer = llamatest.Reply{
	Text:  "Here it is:\n```go\nfunc fibonacci(self Object, n int) int {\n\ta, b := 0, 1\n\tfor i := 0; i < n; i++ {\n\t\ta, b = b, a+b\n\t}\n\treturn a\n}\n```",
	Chunk: 6,
	Delay: 60 * time.Millisecond,
}

// TestEndToEndPLLM is the "done when" for the pLLM, through the
// real binary: a send nobody defined is written by the model while the
// transcript shows the persona writing it, answered in the workspace,
// committed by pLLM/<persona>, reverted from History, and gone after.
func TestEndToEndPLLM(t *testing.T) {
	x := newTmux(t)
	srv := llamatest.New(t, fibonacciAnswer)
	image := filepath.Join(t.TempDir(), "image")

	x.startWith("pllm", image, srv.URL, 50)
	x.waitFor("pllm", "objects", "[Browser]", "Transcript", "pLLM online")
	x.keys("pllm", "Tab", "Tab", "Tab")
	x.waitFor("pllm", "[Workspace]")
	x.text("pllm", `Lobby.Send("fibonacci", 10)`)
	x.keys("pllm", "C-p")

	// The transcript shows a persona writing while the tokens stream in,
	// then the method's text; the workspace prints the answer.
	x.waitMatch("pllm", regexp.MustCompile(`pLLM/[A-Z]+ +is writing fibonacci`))
	x.waitFor("pllm", "a, b = b, a+b")
	x.waitFor("pllm", "⇒ 55")
	m := x.waitMatch("pllm", regexp.MustCompile(`(pLLM/[A-Z]+) +▸ tx (\d+) [^:\n]+: \+fibonacci`))
	principal, tx := m[1], m[2]
	t.Logf("%s installed fibonacci in tx %s", principal, tx)
	x.waitFor("pllm", "wrote fibonacci") // the commit ended the streams

	// Revert that transaction from History.
	x.keys("pllm", "Escape")
	x.waitFor("pllm", "type again")
	x.text("pllm", ":history")
	x.keys("pllm", "Enter")
	x.waitFor("pllm", "[History]")
	// Move the selection to that transaction: the list is newest first.
	selected := regexp.MustCompile(`›\s*(\d+) \d\d:\d\d:\d\d`) // the list's selected row
	want, _ := strconv.Atoi(tx)
	for {
		cur := x.waitMatch("pllm", selected)[1]
		n, _ := strconv.Atoi(cur)
		if n == want {
			break
		}
		if n > want {
			x.text("pllm", "j")
		} else {
			x.text("pllm", "k")
		}
		deadline := time.Now().Add(waitDeadline)
		for x.waitMatch("pllm", selected)[1] == cur {
			if time.Now().After(deadline) {
				t.Fatalf("the selection did not move from tx %s:\n%s", cur, x.screen("pllm"))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	x.waitMatch("pllm", regexp.MustCompile(`›\s*`+tx+` \d\d:\d\d:\d\d pLLM`))
	x.text("pllm", "u")
	x.waitFor("pllm", "revert tx "+tx+" (")
	x.text("pllm", "y")
	x.waitMatch("pllm", regexp.MustCompile(`reverted tx `+tx+` as tx \d+`))

	// The method is gone. (A plain send would have the model write it
	// again: the server is still up.)
	x.text("pllm", ":workspace")
	x.keys("pllm", "Enter")
	x.waitFor("pllm", "[Workspace]") // focused, typing
	x.keys("pllm", "End", "C-u")
	x.waitFor("pllm", "Go statements or expressions") // the empty input's placeholder
	x.text("pllm", `Lobby.Send("respondsTo", "fibonacci")`)
	x.keys("pllm", "C-p")
	x.waitFor("pllm", "⇒ false")
	x.keys("pllm", "Escape")
	x.waitFor("pllm", "type again")
	x.text("pllm", "q")
	x.waitFor("pllm", "BATOS-EXIT-0")
}

// TestOpenTUIServesItsImage: while the TUI has an image open, other
// processes on the machine reach it through the server the TUI runs:
// history, info and check read it, and an eval's commit shows live in the
// TUI's transcript.
func TestOpenTUIServesItsImage(t *testing.T) {
	x := newTmux(t)
	image := filepath.Join(t.TempDir(), "image")
	x.start("one", image)
	x.waitFor("one", "objects", "[Browser]", "Transcript")
	cli := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(binary, append(args, "--image", image)...).CombinedOutput()
		if err != nil {
			t.Fatalf("batos %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := cli("eval", `Lobby.Set("answer", 42)`); strings.Contains(out, "in use") {
		t.Fatalf("eval beside the TUI: %s", out)
	}
	x.waitFor("one", "Lobby: +answer")
	if out := cli("image", "history", "-n", "1"); !strings.Contains(out, "remote:") {
		t.Fatalf("history beside the TUI: %s", out)
	}
	if out := cli("image", "info"); !strings.Contains(out, "served at:") {
		t.Fatalf("info beside the TUI: %s", out)
	}
	if out := cli("image", "check"); !strings.Contains(out, ": 0 problems") {
		t.Fatalf("check beside the TUI: %s", out)
	}
	x.text("one", "q")
	x.waitFor("one", "BATOS-EXIT-0")
	// The TUI gone, the image opens here again.
	if _, err := os.Stat(filepath.Join(image, "server.json")); !os.IsNotExist(err) {
		t.Fatalf("the TUI left its server file: %v", err)
	}
	if out := cli("eval", `Lobby.Get("answer")`); strings.TrimSpace(out) != "42" {
		t.Fatalf("eval after the TUI: %s", out)
	}
}
