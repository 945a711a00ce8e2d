package browser

import (
	"strings"
	"testing"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

// fake returns a browser over the fake image, whose Lobby gets a data slot
// x = 3 besides its reference to traits, with the slots column on x.
func fake(t *testing.T) (*commontest.Image, *Model, *panetest.Driver) {
	t.Helper()
	img := commontest.New()
	lobby := img.Objects[commontest.Lobby]
	lobby.Slots = append([]api.SlotView{{Name: "x", Kind: api.KindData, Value: commontest.Data(api.Int(3)), Holder: lobby.Ref}}, lobby.Slots...)
	img.Objects[commontest.Lobby] = lobby
	m := New(panetest.Common(img))
	m.SetSize(100, 24)
	m.Focus()
	d := &panetest.Driver{TB: t, Pane: m}
	d.Init()
	return img, m, d
}

func selectSlot(t *testing.T, m *Model, d *panetest.Driver, name string) {
	t.Helper()
	d.Send(panetest.Keys("]", "g")...)
	for range m.entries {
		if e, ok := m.selectedSlot(); ok && e.slot.Name == name {
			return
		}
		d.Send(panetest.Key("j"))
	}
	t.Fatalf("no slot %s", name)
}

// TestLiteralPromptRefusesCalls: what is typed is read by
// api.ParseLiteral, never evaluated: a call is refused, the refusal shown
// with the prompt kept and its cursor on the call, and nothing is set.
func TestLiteralPromptRefusesCalls(t *testing.T) {
	img, m, d := fake(t)
	selectSlot(t, m, d, "x")
	d.Send(panetest.Key("e"))
	if m.prompt != promptLiteral || m.input.Value() != "3" {
		t.Fatalf("prompt %v starts with %q, want the literal 3", m.prompt, m.input.Value())
	}
	d.Send(panetest.Key("backspace"))
	d.Send(panetest.Type("[]any{1, f()}")...)
	d.Send(panetest.Key("enter"))
	if n := len(img.SetLog()); n != 0 {
		t.Fatalf("a refused literal set the slot: %+v", img.SetLog())
	}
	if m.prompt != promptLiteral || m.input.Value() != "[]any{1, f()}" || api.KindOf(m.promptErr) != api.ErrSyntax {
		t.Fatalf("prompt %v holds %q, error %v", m.prompt, m.input.Value(), m.promptErr)
	}
	if m.input.Position() != 9 {
		t.Fatalf("cursor at %d, want 9 (on f)", m.input.Position())
	}
	if !panetest.Contains(m.View(), "✗ 1:10: a literal cannot call anything but ObjectAt(id)", "x = > []any{1, f()}") {
		t.Fatalf("refusal not shown over the prompt:\n%s", panetest.Plain(m.View()))
	}
	// Fixed, it is set as data.
	d.Send(panetest.Key("ctrl+e"))
	for range "f()}" {
		d.Send(panetest.Key("backspace"))
	}
	d.Send(panetest.Type(`"two"}`)...)
	d.Send(panetest.Key("enter"))
	sets := img.SetLog()
	if len(sets) != 1 || sets[0].Slot != "x" || sets[0].Value.Kind != api.ValueList || len(sets[0].Value.Items) != 2 || sets[0].Value.Items[1].String != "two" {
		t.Fatalf("sets = %+v (error %v)", sets, m.promptErr)
	}
	if m.prompt != promptNone || m.promptErr != nil {
		t.Fatalf("prompt still open: %v %v", m.prompt, m.promptErr)
	}
}

// TestReferencePromptStartsWithObjectAt: a reference slot is edited as
// ObjectAt(id), and a new slot's value is a literal too.
func TestReferencePromptStartsWithObjectAt(t *testing.T) {
	img, m, d := fake(t)
	selectSlot(t, m, d, "traits")
	d.Send(panetest.Key("e"))
	if m.input.Value() != "ObjectAt(2)" {
		t.Fatalf("prompt starts with %q", m.input.Value())
	}
	d.Send(panetest.Key("esc"))
	d.Send(panetest.Key("a"))
	d.Send(panetest.Type("y\nmap[string]any{\"k\": ObjectAt(2)}\n")...)
	sets := img.SetLog()
	if len(sets) != 1 || sets[0].Slot != "y" || sets[0].Value.Kind != api.ValueMap || sets[0].Value.Entries[0].Value.Object.OID != 2 {
		t.Fatalf("sets = %+v", sets)
	}
}

// TestEditorErrorAtTheLineTheErrorNames: the editor's error marker goes
// under the line the *api.Error's Line names, whatever its message says.
func TestEditorErrorAtTheLineTheErrorNames(t *testing.T) {
	img, m, d := fake(t)
	img.DefineErr = &api.Error{Kind: api.ErrSyntax, Message: "method printString: line 1: expected something", Line: 3, Col: 2, Selector: "printString"}
	selectSlot(t, m, d, "printString")
	d.Send(panetest.Key("e"))
	m.editor.SetValue("func printString(self Object) string {\n\tx := 1\n\treturn oops\n}")
	d.Send(panetest.Key("ctrl+s"))
	if !m.Editing() || m.editErrLine != 3 {
		t.Fatalf("editing %v, error line %d", m.Editing(), m.editErrLine)
	}
	lines := strings.Split(panetest.Plain(m.View()), "\n")
	at := -1
	for i, l := range lines {
		if strings.Contains(l, "✗ method printString") {
			at = i
		}
	}
	if at < 1 || !strings.Contains(lines[at-1], "return oops") {
		t.Fatalf("the error is not under line 3:\n%s", strings.Join(lines, "\n"))
	}
}

// TestRefreshReloads: after missed events the browser reloads the object
// it shows.
func TestRefreshReloads(t *testing.T) {
	img, m, d := fake(t)
	lobby := img.Objects[commontest.Lobby]
	lobby.Slots = append(lobby.Slots, api.SlotView{Name: "late", Kind: api.KindData, Value: commontest.Data(api.Bool(true))})
	img.Objects[commontest.Lobby] = lobby
	d.Send(common.RefreshMsg{})
	if !panetest.Contains(m.View(), "late = true") {
		t.Fatalf("not reloaded:\n%s", panetest.Plain(m.View()))
	}
}
