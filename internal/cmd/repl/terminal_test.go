package repl

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"batos/internal/iostreams"
	"batos/system"
)

// childImage names the environment variable that makes the test binary
// run the REPL on that image instead of the tests: the end-to-end test
// runs it in a terminal without building batos.
const childImage = "BATOS_REPL_TEST_IMAGE"

func TestMain(m *testing.M) {
	if img := os.Getenv(childImage); img != "" {
		os.Exit(child(img))
	}
	os.Exit(m.Run())
}

// child runs the REPL on the process's terminal, as `batos repl` does,
// on an image without a pLLM.
func child(img string) int {
	sys, err := system.Open(img, system.Options{NoPLLM: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer sys.Close()
	client, err := sys.Connect("user")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ios := iostreams.System()
	opts := &Options{IO: ios, HandleInterrupt: true, Terminal: ios.Interactive && Terminal(), HistoryFile: filepath.Join(img, HistoryFileName)}
	if err := Loop(opts, client); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// terminal is a tmux server of the test's own, running the REPL.
type terminal struct {
	t      *testing.T
	socket string
}

func newTerminal(t *testing.T) *terminal {
	t.Helper()
	if testing.Short() {
		t.Skip("drives a terminal: not in -short")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it): skipping the terminal test")
	}
	x := &terminal{t: t, socket: fmt.Sprintf("batos-repl-%d", os.Getpid())}
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", x.socket, "kill-server").Run() })
	return x
}

func (x *terminal) tmux(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", x.socket}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// start runs the REPL on image in a fresh session; the shell line after it
// shows its exit status.
func (x *terminal) start(session, image string) {
	x.t.Helper()
	self, err := os.Executable()
	if err != nil {
		x.t.Fatal(err)
	}
	cmd := fmt.Sprintf("env %s=%s TERM=xterm-256color %s; echo REPL-EXIT-$?; sleep 600", childImage, image, self)
	x.tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", cmd)
	x.tmux("set-option", "-s", "escape-time", "0")
}

// keys sends tmux key names; text sends its argument literally.
func (x *terminal) keys(session string, keys ...string) {
	x.t.Helper()
	x.tmux(append([]string{"send-keys", "-t", "=" + session + ":"}, keys...)...)
}

func (x *terminal) text(session, s string) {
	x.t.Helper()
	x.tmux("send-keys", "-t", "="+session+":", "-l", s)
}

// waitEnd polls the screen until it ends with want (lines compared
// without their trailing blanks), and returns the screen.
func (x *terminal) waitEnd(session, want string) string {
	x.t.Helper()
	return x.waitMatch(session, regexp.MustCompile(regexp.QuoteMeta(want)+`\z`))
}

// waitMatch polls the screen until re matches it (lines without their
// trailing blanks, the blank lines below the last left out).
func (x *terminal) waitMatch(session string, re *regexp.Regexp) string {
	x.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lines := strings.Split(x.tmux("capture-pane", "-p", "-t", "="+session+":"), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimRight(l, " ")
		}
		screen := strings.TrimRight(strings.Join(lines, "\n"), "\n")
		if re.MatchString(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("the screen never matched %s; it shows:\n%s", re, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// enter types a line and presses enter.
func (x *terminal) enter(session, line string) {
	x.t.Helper()
	x.text(session, line)
	x.keys(session, "Enter")
}

// TestTerminal drives the REPL on a terminal: entries and their values,
// ctrl+c at both prompts and during an entry, tab completion from the
// image, the history across sessions (a multi-line entry as one item),
// ctrl+d and :quit.
func TestTerminal(t *testing.T) {
	x := newTerminal(t)
	image := filepath.Join(t.TempDir(), "image")

	x.start("one", image)
	x.waitEnd("one", "batos>")
	x.enter("one", "x := 41")
	x.waitEnd("one", "batos> x := 41\nbatos>")
	x.enter("one", "x + 1")
	x.waitEnd("one", "batos> x + 1\n42\nbatos>")

	// ctrl+c at a continuation prompt drops the entry: the next line is an
	// entry of its own, not the function's body.
	x.enter("one", "func f() {")
	x.waitEnd("one", "batos> func f() {\n  ...>")
	x.keys("one", "C-c")
	x.waitEnd("one", "  ...> ^C\nbatos>")
	x.enter("one", "2 * 3")
	x.waitEnd("one", "^C\nbatos> 2 * 3\n6\nbatos>")

	// ctrl+c at the primary prompt says how to leave.
	x.keys("one", "C-c")
	x.waitEnd("one", "6\nbatos> ^C\n"+interruptHint+"\nbatos>")

	// ctrl+c while an entry runs cancels it (before its 5 s deadline).
	x.enter("one", "for {}")
	x.waitEnd("one", "batos> for {}")
	time.Sleep(500 * time.Millisecond)
	x.keys("one", "C-c")
	x.waitMatch("one", regexp.MustCompile(`batos> for \{\}\nerror: [^\n]*canceled[^\n]*\nbatos>\z`))

	// Tab completes slot names and methods from the image.
	x.enter("one", `Lobby.Set("shape", NewObject())`)
	x.waitEnd("one", `batos> Lobby.Set("shape", NewObject())`+"\nbatos>")
	x.text("one", `Lobby.At("sh`)
	x.keys("one", "Tab")
	x.waitEnd("one", `batos> Lobby.At("shape`)
	x.text("one", `").Sl`)
	x.keys("one", "Tab")
	x.waitEnd("one", `batos> Lobby.At("shape").Slots`)
	x.enter("one", "()")
	x.waitMatch("one", regexp.MustCompile(`Slots\(\)\n\[\]string\{"parent\*"\}\nbatos>\z`))

	// A multi-line entry, then ctrl+d leaves.
	x.enter("one", "(1 +")
	x.waitEnd("one", "batos> (1 +\n  ...>")
	x.enter("one", "2)")
	x.waitEnd("one", "  ...> 2)\n3\nbatos>")
	x.keys("one", "C-d")
	x.waitEnd("one", "REPL-EXIT-0")

	// The next session recalls the multi-line entry as one item, and it
	// runs as typed.
	x.start("two", image)
	x.waitEnd("two", "batos>")
	x.keys("two", "Up")
	x.waitEnd("two", "batos> (1 +"+historyNewline+"2)")
	x.keys("two", "Enter")
	x.waitEnd("two", "batos> (1 +"+historyNewline+"2)\n3\nbatos>")
	// ctrl+r finds an older entry.
	x.keys("two", "C-r")
	x.text("two", "2 * ")
	x.waitMatch("two", regexp.MustCompile(`2 \* 3\z`))
	x.keys("two", "Enter")
	x.waitEnd("two", "6\nbatos>")
	x.enter("two", ":quit")
	x.waitEnd("two", "REPL-EXIT-0")
}
