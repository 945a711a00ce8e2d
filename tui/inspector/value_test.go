package inspector

import (
	"strings"
	"testing"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

func fake(t *testing.T) (*commontest.Image, *Model, *panetest.Driver) {
	t.Helper()
	img := commontest.New()
	m := New(panetest.Common(img))
	m.SetSize(80, 16)
	m.Focus()
	d := &panetest.Driver{TB: t, Pane: m}
	d.Init()
	return img, m, d
}

// TestValueRows: a list value shows its items as rows, with their types;
// enter on an object item inspects the object, on a nested map shows its
// entries.
func TestValueRows(t *testing.T) {
	_, m, d := fake(t)
	v := api.List(api.Int(1), api.ObjectRef(api.Ref{OID: 2, Name: "traits (object 2)"}),
		api.Map(api.Entry{Key: "k\x1b[2J", Value: api.String("v")}))
	v.Items[2].Text = "map[string]any (1 entries)"
	d.Send(common.InspectValueMsg{Value: v})
	if !panetest.Contains(m.View(), "index", "[0]", "int", "[1]", "→ traits (object 2)", "[2]", "map[string]any") {
		t.Fatalf("list rows:\n%s", panetest.Plain(m.View()))
	}
	d.Send(panetest.Keys("j", "j", "enter")...)
	if m.Depth() != 2 || m.top().name != "[2]" || !panetest.Contains(m.View(), "value › [2]", "key", `"v"`) {
		t.Fatalf("map frame (depth %d):\n%s", m.Depth(), panetest.Plain(m.View()))
	}
	if strings.Contains(m.View(), "\x1b[2J") {
		t.Fatal("a map key drove the terminal")
	}
	d.Send(panetest.Keys("h", "k", "enter")...)
	if m.Depth() != 2 || m.top().oid != 2 {
		t.Fatalf("object item: depth %d, top %+v", m.Depth(), m.top())
	}
	// Values are not stored: e refuses, and sets nothing.
	d.Send(panetest.Keys("h", "g", "e")...)
	if m.Editing() || !strings.Contains(m.status, "not stored") {
		t.Fatalf("editing %v, status %q", m.Editing(), m.status)
	}
}

// TestObjectValueIsInspected: a value that is an object opens as the
// object.
func TestObjectValueIsInspected(t *testing.T) {
	_, m, d := fake(t)
	d.Send(common.InspectValueMsg{Value: api.ObjectRef(api.Ref{OID: 2, Name: "traits (object 2)"})})
	if m.top().oid != 2 || !panetest.Contains(m.View(), "doesNotUnderstand") {
		t.Fatalf("view:\n%s", panetest.Plain(m.View()))
	}
}

// TestEditRefusesCalls: the literal typed is read by api.ParseLiteral: a
// call is refused with its column, under the slot, and nothing is set; the
// prompt starts with the value as a literal.
func TestEditRefusesCalls(t *testing.T) {
	img, m, d := fake(t)
	d.Send(common.InspectMsg{OID: commontest.Lobby})
	d.Send(panetest.Keys("g", "e")...) // traits, a reference
	if !m.Editing() || m.input.Value() != "ObjectAt(2)" {
		t.Fatalf("editing %v, literal %q", m.Editing(), m.input.Value())
	}
	d.Send(panetest.Key("ctrl+u"))
	d.Send(panetest.Type("f()")...)
	d.Send(panetest.Key("enter"))
	if len(img.SetLog()) != 0 {
		t.Fatalf("a refused literal was set: %+v", img.SetLog())
	}
	if !m.Editing() || m.input.Value() != "f()" || m.input.Position() != 0 {
		t.Fatalf("editing %v, literal %q, cursor %d", m.Editing(), m.input.Value(), m.input.Position())
	}
	if !panetest.Contains(m.View(), "✗ 1:1: a literal cannot call anything but ObjectAt(id)") {
		t.Fatalf("refusal not shown:\n%s", panetest.Plain(m.View()))
	}
	d.Send(panetest.Keys("end", "ctrl+u")...) // the cursor was on the error
	d.Send(panetest.Type(`"two"`)...)
	d.Send(panetest.Key("enter"))
	if sets := img.SetLog(); len(sets) != 1 || sets[0].Slot != "traits" || sets[0].Value.String != "two" {
		t.Fatalf("sets = %+v", sets)
	}
	if m.Editing() {
		t.Fatal("still editing after a set")
	}
}

// TestRefreshReloadsFrames: missed events reload every object frame.
func TestRefreshReloadsFrames(t *testing.T) {
	img, m, d := fake(t)
	d.Send(common.InspectMsg{OID: commontest.Lobby})
	lobby := img.Objects[commontest.Lobby]
	lobby.Slots = append(lobby.Slots, api.SlotView{Name: "late", Kind: api.KindData, Value: commontest.Data(api.Bool(true))})
	img.Objects[commontest.Lobby] = lobby
	d.Send(common.RefreshMsg{})
	if !panetest.Contains(m.View(), "late", "bool") {
		t.Fatalf("not reloaded:\n%s", panetest.Plain(m.View()))
	}
}

// TestValueInFull: v shows the selected row's whole value in the pager,
// which the pane's row cuts; on a plain value, the value.
func TestValueInFull(t *testing.T) {
	_, m, d := fake(t)
	long := strings.Repeat("word ", 60)
	d.Send(common.InspectValueMsg{Value: api.List(api.String(long), api.Int(2))})
	if strings.Contains(panetest.Plain(m.View()), strings.TrimSpace(long)) {
		t.Fatal("the row shows the whole value: nothing to test")
	}
	d.Send(panetest.Key("v"))
	p, ok := panetest.Last[common.PagerMsg](d)
	if !ok || !strings.Contains(p.Text, strings.TrimSpace(long)) || !strings.Contains(p.Title, "[0]") {
		t.Fatalf("pager %+v", p)
	}
	d.Send(common.InspectValueMsg{Value: api.String(long)})
	d.Send(panetest.Key("v"))
	if p, ok := panetest.Last[common.PagerMsg](d); !ok || !strings.Contains(p.Text, strings.TrimSpace(long)) {
		t.Fatalf("plain value's pager %+v", p)
	}
}
