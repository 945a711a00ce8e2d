package inspector

import (
	"strings"
	"testing"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

// hostile is an object whose printed values try to drive the terminal and
// span lines.
func hostile(img *commontest.Image) uint64 {
	img.Objects[3] = api.ObjectView{Ref: api.Ref{OID: 3, Name: "evil"}, Slots: []api.SlotView{
		{Name: "doc", Kind: api.KindData, Value: &api.Value{Kind: api.ValueString, Type: "string", Text: "first\x1b[31m red\x07\r\nsecond line"}},
		{Name: "run", Kind: api.KindMethod, Source: "func run(self Object) {\x1b]0;pwned\x07\n}"},
	}}
	return 3
}

// TestValuesSanitizedAndOneLine: slot values reach the view without escapes
// or control characters, and a multi-line value shows its first line.
func TestValuesSanitizedAndOneLine(t *testing.T) {
	img := commontest.New()
	oid := hostile(img)
	m := New(panetest.Common(img))
	m.SetSize(80, 12)
	m.Focus()
	d := &panetest.Driver{TB: t, Pane: m}
	d.Init()
	d.Send(common.InspectMsg{OID: oid})
	v := m.View()
	for _, bad := range []string{"\x1b[31m", "\x1b]0", "\x07", "\r"} {
		if strings.Contains(v, bad) {
			t.Errorf("view holds %q:\n%q", bad, v)
		}
	}
	if !panetest.Contains(v, "first red…") || panetest.Contains(v, "second line") {
		t.Errorf("multi-line value not cut to its first line:\n%s", panetest.Plain(v))
	}
	if n := len(strings.Split(v, "\n")); n != 12 {
		t.Errorf("view is %d lines, want 12", n)
	}
}

// TestInspectWhileTypingRefuses: an InspectMsg while a literal is being
// typed keeps the edit and says why.
func TestInspectWhileTypingRefuses(t *testing.T) {
	f := setup(t)
	f.to(t, "x")
	f.d.Send(panetest.Key("e"), panetest.Key("end"), panetest.Key("9"))
	if !f.m.Dirty() {
		t.Fatal("typing a literal is not dirty")
	}
	f.d.Send(common.InspectMsg{OID: f.inner})
	if f.m.Depth() != 1 || !f.m.Dirty() || !strings.Contains(f.m.status, "first") {
		t.Fatalf("depth %d, dirty %v, status %q", f.m.Depth(), f.m.Dirty(), f.m.status)
	}
	f.d.Send(common.InspectValueMsg{Value: api.Int(42)})
	if f.m.Depth() != 1 || !f.m.Dirty() {
		t.Fatalf("value: depth %d, dirty %v", f.m.Depth(), f.m.Dirty())
	}
}
