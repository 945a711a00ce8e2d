package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"batos/tui/app"
	"batos/tui/browser"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/transcript"
	"batos/tui/workspace"
)

// typeAhead drives the app as keys typed at full speed reach it: every key
// of a script is handled, back to back, before any command it returns has
// run, let alone delivered its message; it returns the commands, in order.
type typeAhead struct {
	app   *app.Model
	ws    *workspace.Model
	panes map[string]*fakePane
	c     *common.Common
}

func newTypeAhead(t *testing.T) *typeAhead {
	t.Helper()
	img := commontest.New()
	c := &common.Common{Image: img, Styles: common.DefaultStyles(), Clock: func() time.Time { return clock }}
	ta := &typeAhead{c: c, panes: map[string]*fakePane{}, ws: workspace.New(c)}
	for _, n := range []string{"Browser", "Inspector", "History"} {
		ta.panes[n] = &fakePane{title: n}
	}
	ta.app = app.New(c, app.Options{StatusEvery: -1, Panes: &app.Panes{
		Browser: ta.panes["Browser"], Inspector: ta.panes["Inspector"], History: ta.panes["History"],
		Workspace: ta.ws, Transcript: transcript.New(c),
	}})
	t.Cleanup(ta.app.Close)
	ta.app.Init() // its commands are not run: nothing but the keys arrives
	ta.app.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	return ta
}

// send handles keys, a string's runes typed, "⏎" for enter and "\t" for tab, back to
// back, and returns the commands they returned.
func (ta *typeAhead) send(keys string) []tea.Cmd {
	var cmds []tea.Cmd
	for _, r := range keys {
		k := char(r)
		switch r {
		case '⏎':
			k = enter
		case '\t':
			k = tab
		}
		_, cmd := ta.app.Update(k)
		cmds = append(cmds, cmd)
	}
	return cmds
}

// result runs cmd and returns its message, or nil when it has none within
// a second.
func result(cmd tea.Cmd) tea.Msg {
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	select {
	case msg := <-ch:
		return msg
	case <-time.After(time.Second):
		return nil
	}
}

// deliver runs cmd (a batch's commands each) and hands the app what each
// answers within a second; commands still running then (ticks, waits) are
// dropped.
func (ta *typeAhead) deliver(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := result(cmd)
	if b, ok := msg.(tea.BatchMsg); ok {
		for _, c := range b {
			ta.deliver(c)
		}
		return
	}
	if msg != nil {
		ta.app.Update(msg)
	}
}

// TestTypeAheadCommandFocuses: :workspace⏎ focuses the workspace before the
// next key is read, so that what follows is typed there: q does not quit,
// and a, b, c are not the browser's keys.
func TestTypeAheadCommandFocuses(t *testing.T) {
	for _, text := range []string{"quux := 1", "abc"} {
		ta := newTypeAhead(t)
		cmds := ta.send(":workspace⏎" + text)
		if f := ta.app.Focused(); f != "Workspace" {
			t.Fatalf(":workspace⏎%s typed at once: %s focused, want the workspace", text, f)
		}
		if v := ta.ws.Value(); v != text {
			t.Fatalf(":workspace⏎%s typed at once: the workspace holds %q", text, v)
		}
		for i, c := range cmds[len(":workspace⏎"):] {
			if c == nil {
				continue
			}
			if _, ok := result(c).(tea.QuitMsg); ok {
				t.Fatalf("key %d of %q quits", i, text)
			}
		}
	}
}

// TestTypeAheadCommandQuits: :quit⏎ starts the quit flow when Enter is
// read: a dirty pane's question is up before the next key, which answers it.
func TestTypeAheadCommandQuits(t *testing.T) {
	ta := newTypeAhead(t)
	ta.panes["Inspector"].dirty = true
	ta.send(":quit⏎n")
	if r := ta.app.Render(); strings.Contains(r, "quit anyway") {
		t.Fatalf("n typed right after :quit⏎ did not answer the question:\n%s", r)
	}
	ta.send(":quit⏎")
	if r := ta.app.Render(); !strings.Contains(r, "unsaved edit in Inspector: quit anyway? y/n") {
		t.Fatalf(":quit⏎ asked nothing:\n%s", r)
	}
}

// TestTypeAheadSearchOpens: /doesNot⏎ typed faster than the search's
// debounce opens the query's best hit in the browser, which has the focus
// before the next key is read.
func TestTypeAheadSearchOpens(t *testing.T) {
	ta := newTypeAhead(t)
	ta.send("\t") // the inspector: the search must move the focus
	cmds := ta.send("/doesNot⏎")
	if f := ta.app.Focused(); f != "Browser" {
		t.Fatalf("after /doesNot⏎ typed at once %s is focused, want the browser", f)
	}
	if r := ta.app.Render(); strings.Contains(r, "/ doesNot") {
		t.Fatalf("the search is still open:\n%s", r)
	}
	ta.deliver(cmds[len(cmds)-1]) // only Enter's: the query's debounced search is not due yet
	b := ta.panes["Browser"]
	if len(b.got) != 1 || fmtMsg(b.got[0]) != "browse 2 doesNotUnderstand" {
		t.Fatalf("the browser got %v, want browse 2 doesNotUnderstand", b.got)
	}
	if f := ta.app.Focused(); f != "Browser" {
		t.Fatalf("%s focused after the search answered, want the browser", f)
	}
}

// TestTypeAheadBrowseKeepsLaterFocus: :browse NAME⏎ focuses the browser at
// once; a tab typed before the object is found moves on, and the answer
// arriving later does not take the focus back.
func TestTypeAheadBrowseKeepsLaterFocus(t *testing.T) {
	ta := newTypeAhead(t)
	ta.send("\t") // the inspector
	cmds := ta.send(":browse Lobby⏎")
	if f := ta.app.Focused(); f != "Browser" {
		t.Fatalf("after :browse Lobby⏎ %s is focused, want the browser", f)
	}
	ta.send("\t")
	ta.deliver(cmds[len(cmds)-1])
	if b := ta.panes["Browser"]; len(b.got) != 1 || fmtMsg(b.got[0]) != "browse 1 " {
		t.Fatalf("the browser got %v, want browse 1", b.got)
	}
	if f := ta.app.Focused(); f != "Inspector" {
		t.Fatalf("the answer to :browse moved the focus to %s; the tab typed after it had moved it to the inspector", f)
	}
}

// TestQuitRightAfterDoIt: ctrl+c typed right after a do-it, before the
// evaluation answered, asks (the input is neither done nor recorded yet);
// once it is done and recorded there is nothing left to ask about, and
// the quit asked for goes ahead rather than a question about an unsaved
// edit that is not.
func TestQuitRightAfterDoIt(t *testing.T) {
	ta := newTypeAhead(t)
	ta.send(":workspace⏎x := 1")
	_, doIt := ta.app.Update(tea.KeyPressMsg{Code: 'd', Mod: tea.ModCtrl})
	ta.app.Update(ctrlC)
	if r := ta.app.Render(); !strings.Contains(r, "quit anyway") {
		t.Fatalf("ctrl+c during the do-it asked nothing:\n%s", r)
	}
	quits := false
	for _, msg := range results(doIt) {
		_, cmd := ta.app.Update(msg)
		quits = quits || yields[tea.QuitMsg](cmd)
	}
	if ta.ws.Dirty() || ta.ws.Busy() {
		t.Fatalf("after the do-it: dirty %v, busy %v", ta.ws.Dirty(), ta.ws.Busy())
	}
	if r := ta.app.Render(); strings.Contains(r, "unsaved edit") {
		t.Fatalf("the input is done and recorded, yet the question says:\n%s", r)
	}
	if !quits {
		t.Fatal("the quit asked for did not go ahead once nothing was left to ask about")
	}
}

// results runs cmd, a batch's commands each, and returns the messages
// they answer within a second.
func results(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := result(cmd)
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, results(c)...)
		}
		return out
	}
	if msg == nil {
		return nil
	}
	return []tea.Msg{msg}
}

// yields reports whether cmd answers a message of type T within a second.
func yields[T any](cmd tea.Cmd) bool {
	for _, msg := range results(cmd) {
		if _, ok := msg.(T); ok {
			return true
		}
	}
	return false
}

// TestTypeAheadSenders: :senders X⏎ and :implementors X⏎ hand the browser
// its list request and focus it before the next key is read.
func TestTypeAheadSenders(t *testing.T) {
	for _, tc := range []struct {
		line string
		want browser.SendersMsg
	}{
		{":senders area⏎", browser.SendersMsg{Selector: "area"}},
		{":implementors area⏎", browser.SendersMsg{Selector: "area", Implementors: true}},
	} {
		ta := newTypeAhead(t)
		ta.send(tc.line + "j")
		if f := ta.app.Focused(); f != "Browser" {
			t.Fatalf("%s: %s focused, want the browser", tc.line, f)
		}
		got := ta.panes["Browser"].got
		if len(got) != 1 || got[0] != tc.want {
			t.Fatalf("%s: the browser got %v, want %v", tc.line, got, tc.want)
		}
	}
	ta := newTypeAhead(t)
	cmds := ta.send(":senders⏎")
	msgs := results(cmds[len(cmds)-1])
	if len(msgs) != 1 || fmt.Sprint(msgs[0]) != "{:senders needs one selector}" {
		t.Fatalf(":senders without a selector: %v", msgs)
	}
}

// TestTypeAheadPaneNavigates: a pane's request to show something in
// another pane (Common.Navigate) focuses that pane in the Update of the
// key that asked, so the next key typed goes there; the request's
// command then delivers nothing twice.
func TestTypeAheadPaneNavigates(t *testing.T) {
	ta := newTypeAhead(t)
	b := ta.panes["Browser"]
	b.c, b.nav = ta.c, common.InspectMsg{OID: 5}
	cmds := ta.send(":browse Lobby⏎ij")
	if f := ta.app.Focused(); f != "Inspector" {
		t.Fatalf("i in the browser then j: %s focused, want the inspector", f)
	}
	got := ta.panes["Inspector"].got
	if len(got) != 1 || got[0] != (common.InspectMsg{OID: 5}) {
		t.Fatalf("the inspector got %v", got)
	}
	for _, msg := range results(cmds[len(cmds)-2]) {
		if _, ok := msg.(common.InspectMsg); ok {
			t.Fatalf("the navigation's command delivered it again")
		}
	}
}
