package browser

import (
	"strings"
	"testing"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

// TestValuesSanitizedAndOneLine: slot values and sources reach the view
// without escapes or control characters, and a multi-line value shows its
// first line in its row.
func TestValuesSanitizedAndOneLine(t *testing.T) {
	img := commontest.New()
	img.Objects[1] = api.ObjectView{Ref: api.Ref{OID: 1, Name: "Lobby"}, Slots: []api.SlotView{
		{Name: "doc", Kind: api.KindData, Value: &api.Value{Kind: api.ValueString, Type: "string", Text: "first\x1b[31m red\x07\r\nsecond line"}},
		{Name: "run", Kind: api.KindMethod, Source: "func run(self Object) {\x1b]0;pwned\x07\n}"},
	}}
	m := New(panetest.Common(img))
	m.SetSize(100, 16)
	m.Focus()
	d := &panetest.Driver{TB: t, Pane: m}
	d.Init()
	d.Send(common.BrowseMsg{OID: 1, Selector: "run"})
	v := m.View()
	for _, bad := range []string{"\x1b[31m", "\x1b]0", "\x07", "\r"} {
		if strings.Contains(v, bad) {
			t.Errorf("view holds %q:\n%q", bad, v)
		}
	}
	if !panetest.Contains(v, "doc = first red…", "func run") {
		t.Errorf("view:\n%s", panetest.Plain(v))
	}
	if n := len(strings.Split(v, "\n")); n != 16 {
		t.Errorf("view is %d lines, want 16", n)
	}
}
