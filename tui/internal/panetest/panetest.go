// Package panetest drives panes in tests: it opens a real image, turns key
// names into key presses, runs a pane's commands to completion feeding
// their messages back (as the app would), wraps a pane as a root model for
// teatest, and compares views with golden files (go test -update rewrites
// them).
package panetest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"batos/api"
	"batos/system"
	"batos/tui/common"
)

// updating reports whether -update was given. The flag is the one that
// teatest's golden package defines (every pane test imports teatest);
// defining it here too would panic.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// Image is a client of a real image, in process, and the system it runs
// in (for the tests that reach below the contract, as a model's commit).
type Image struct {
	*system.Client
	System *system.System
}

var _ api.Image = Image{}

// Open opens a fresh image in a temporary directory, without the pLLM,
// and connects a client as "user"; both close when the test ends.
func Open(tb testing.TB) Image {
	tb.Helper()
	return OpenWith(tb, system.Options{NoPLLM: true})
}

// OpenWith is Open with the system's options given (a Forge worker, say):
// the image is opened in a temporary directory, a client connected as
// "user", and both close when the test ends.
func OpenWith(tb testing.TB, opts system.Options) Image {
	tb.Helper()
	tb.Setenv("BATOS_LLM_URL", "http://127.0.0.1:1") // never a model server
	sys, err := system.Open(tb.TempDir(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := sys.Connect("user")
	if err != nil {
		sys.Close()
		tb.Fatal(err)
	}
	c.RecordInputs() // as `batos tui` does
	tb.Cleanup(func() {
		c.Close()
		if err := sys.Close(); err != nil {
			tb.Error(err)
		}
	})
	return Image{Client: c, System: sys}
}

// Common returns the shared context for panes over img.
func Common(img api.Image) *common.Common {
	return &common.Common{Image: img, Styles: common.DefaultStyles()}
}

// Key turns a key name ("j", "enter", "ctrl+s", "backspace") into a press.
func Key(name string) tea.KeyPressMsg {
	special := map[string]rune{
		"enter": tea.KeyEnter, "esc": tea.KeyEscape, "backspace": tea.KeyBackspace,
		"up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight,
		"tab": tea.KeyTab, "space": tea.KeySpace, "home": tea.KeyHome, "end": tea.KeyEnd,
		"pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown,
	}
	if rest, ok := strings.CutPrefix(name, "ctrl+"); ok {
		return tea.KeyPressMsg{Code: []rune(rest)[0], Mod: tea.ModCtrl}
	}
	if r, ok := special[name]; ok {
		if r == tea.KeySpace {
			return tea.KeyPressMsg{Code: r, Text: " "}
		}
		return tea.KeyPressMsg{Code: r}
	}
	r := []rune(name)[0]
	return tea.KeyPressMsg{Code: r, Text: name}
}

// Keys turns each key name into a press.
func Keys(names ...string) []tea.Msg {
	out := make([]tea.Msg, len(names))
	for i, n := range names {
		out[i] = Key(n)
	}
	return out
}

// Type turns text into one key press per rune.
func Type(s string) []tea.Msg {
	var out []tea.Msg
	for _, r := range s {
		if r == '\n' {
			out = append(out, tea.KeyPressMsg{Code: tea.KeyEnter})
			continue
		}
		out = append(out, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return out
}

// Driver runs a pane as the app would, synchronously: each message goes to
// Update, each command runs to its message, and that message goes back to
// the pane. Messages of package common (BrowseMsg, InspectMsg, ErrMsg, ...)
// are the pane's requests to the app; they are recorded in Out.
type Driver struct {
	TB   testing.TB
	Pane common.Pane
	Out  []tea.Msg
}

// Init runs the pane's Init command to completion.
func (d *Driver) Init() {
	d.TB.Helper()
	d.run(d.Pane.Init(), 0)
}

// Focus focuses the pane, as the app does when it is shown, and runs what
// that starts to completion.
func (d *Driver) Focus() {
	d.TB.Helper()
	d.run(d.Pane.Focus(), 0)
}

// Send delivers msgs in order and runs what they start to completion.
func (d *Driver) Send(msgs ...tea.Msg) {
	d.TB.Helper()
	for _, m := range msgs {
		d.deliver(m, 0)
	}
}

func (d *Driver) deliver(msg tea.Msg, depth int) {
	if depth > 64 {
		d.TB.Fatalf("commands did not settle (last message %T)", msg)
	}
	if reflect.TypeOf(msg) != nil && reflect.TypeOf(msg).PkgPath() == "batos/tui/common" {
		d.Out = append(d.Out, msg)
	}
	p, cmd := d.Pane.Update(msg)
	d.Pane = p
	d.run(cmd, depth)
}

func (d *Driver) run(cmd tea.Cmd, depth int) {
	if cmd == nil {
		return
	}
	msg := cmd()
	switch m := msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range m {
			d.run(c, depth+1)
		}
	default:
		if strings.Contains(reflect.TypeOf(msg).PkgPath(), "bubbles") {
			return // cursor blinks and the like: not the pane's business
		}
		d.deliver(msg, depth+1)
	}
}

// Events subscribes to img's live events for the rest of the test: what
// the app would deliver to the pane (see Driver.Await).
func Events(tb testing.TB, img api.Image) <-chan api.Event {
	tb.Helper()
	ch, unsubscribe := img.Subscribe(4096)
	tb.Cleanup(unsubscribe)
	return ch
}

// Await delivers the events from ch to the pane, as common.EventMsg, one
// at a time, until cond holds of its view (styling stripped), and fails
// the test with the view when it has not after timeout. It does not
// sleep: it checks after each event.
func (d *Driver) Await(events <-chan api.Event, timeout time.Duration, what string, cond func(view string) bool) {
	d.TB.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		view := Plain(d.Pane.View())
		if cond(view) {
			return
		}
		select {
		case ev, ok := <-events:
			if !ok {
				d.TB.Fatalf("the event feed closed before the view showed %s; it shows:\n%s", what, view)
			}
			d.Send(common.EventMsg{Event: ev})
		case <-deadline.C:
			d.TB.Fatalf("the view never showed %s after %s; it shows:\n%s", what, timeout, view)
		}
	}
}

// AwaitView is Await until the view contains every text.
func (d *Driver) AwaitView(events <-chan api.Event, timeout time.Duration, texts ...string) {
	d.TB.Helper()
	d.Await(events, timeout, fmt.Sprintf("%q", texts), func(view string) bool { return Contains(view, texts...) })
}

// Last returns the last message of type T the pane sent the app.
func Last[T any](d *Driver) (T, bool) {
	var zero T
	for i := len(d.Out) - 1; i >= 0; i-- {
		if m, ok := d.Out[i].(T); ok {
			return m, true
		}
	}
	return zero, false
}

// Plain is a view without styling, trailing spaces trimmed per line.
func Plain(view string) string {
	lines := strings.Split(ansi.Strip(view), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// Golden compares got (styling stripped) with testdata/NAME.golden;
// go test -update rewrites the file.
func Golden(tb testing.TB, name, got string) {
	tb.Helper()
	got = Plain(got)
	path := filepath.Join("testdata", name+".golden")
	if updating() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		tb.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// Harness runs a pane as a root model, for teatest.
type Harness struct{ Pane common.Pane }

func (h *Harness) Init() tea.Cmd { return h.Pane.Init() }

func (h *Harness) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch m := msg.(type) {
	case tea.WindowSizeMsg:
		h.Pane.SetSize(m.Width, m.Height)
	case tea.KeyPressMsg:
		if m.String() == "ctrl+c" {
			return h, tea.Quit
		}
	}
	p, cmd := h.Pane.Update(msg)
	h.Pane = p
	return h, cmd
}

func (h *Harness) View() tea.View { return tea.NewView(h.Pane.View()) }

// Contains reports whether each of want appears in view (styling
// stripped).
func Contains(view string, want ...string) bool {
	plain := Plain(view)
	for _, w := range want {
		if !strings.Contains(plain, w) {
			return false
		}
	}
	return true
}
