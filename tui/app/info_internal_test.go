package app

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"batos/tui/common"
	"batos/tui/common/commontest"
)

// TestInfoTimesOut: a line of information leaves the info line when its
// timeout's tick comes; the tick of a message since replaced clears
// nothing; an error has no timeout. The ticks are run, not waited for:
// the timeout is a nanosecond.
func TestInfoTimesOut(t *testing.T) {
	c := &common.Common{Image: commontest.New(), Styles: common.DefaultStyles()}
	if d := New(c, Options{}).opts.InfoTimeout; d != 8*time.Second {
		t.Fatalf("default info timeout %s, want 8s", d)
	}
	m := New(c, Options{StatusEvery: time.Hour, InfoTimeout: time.Nanosecond})
	m.resize(120, 30)
	shown := func() string { return ansi.Strip(m.infoLine()) }
	tick := func(cmd tea.Cmd) tea.Msg {
		t.Helper()
		if cmd == nil {
			t.Fatal("no timeout for a line of information")
		}
		msg := cmd()
		if _, ok := msg.(infoExpiredMsg); !ok {
			t.Fatalf("the timeout sent %T", msg)
		}
		return msg
	}

	first := tick(m.handle(common.InfoMsg{Text: "reverted tx 5"}))
	second := tick(m.handle(common.InfoMsg{Text: "reverted tx 6"}))
	m.handle(first)
	if !strings.Contains(shown(), "reverted tx 6") {
		t.Fatalf("the older message's timeout cleared the newer: %q", shown())
	}
	m.handle(second)
	if strings.Contains(shown(), "reverted") {
		t.Fatalf("the message outlived its timeout: %q", shown())
	}

	if cmd := m.handle(common.ErrMsg{Err: errors.New("boom")}); cmd != nil {
		if msg := cmd(); msg != nil {
			m.handle(msg)
		}
	}
	m.handle(infoExpiredMsg{seq: m.infoSeq})
	if !strings.Contains(shown(), "✗ boom") {
		t.Fatalf("an error timed out: %q", shown())
	}
	m.handle(tea.KeyPressMsg{Code: 'l', Mod: tea.ModCtrl})
	if m.overlay != pagerOverlay || !strings.Contains(shown(), "boom") {
		t.Fatalf("ctrl+l: overlay %d, info line %q; want the pager and the error kept", m.overlay, shown())
	}
	m.handle(tea.KeyPressMsg{Code: tea.KeyEscape})
	if m.overlay != noOverlay || strings.Contains(shown(), "boom") {
		t.Fatalf("esc: overlay %d, info line %q; want both gone", m.overlay, shown())
	}
}
