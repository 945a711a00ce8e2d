package browser

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"batos/tui/common"
	"batos/tui/internal/panetest"
)

// msgsOf runs cmd (and any batch) to its messages.
func msgsOf(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, msgsOf(c)...)
		}
		return out
	default:
		return []tea.Msg{msg}
	}
}

// TestKeysTypedWhileAcceptingAreKept: keys typed while a Define is in
// flight stay in the editor, which stays open; a second ctrl+s meanwhile
// sends no second Define.
func TestKeysTypedWhileAcceptingAreKept(t *testing.T) {
	f := setup(t)
	f.d.Send(panetest.Key("G"))
	f.selectSlot(t, "norm")
	f.d.Send(panetest.Key("e"), panetest.Key("down"), panetest.Key("end"))
	f.d.Send(panetest.Type(" + 1")...)
	_, accept := f.m.Update(panetest.Key("ctrl+s")) // the Define, held
	f.d.Send(panetest.Type(" + 2")...)
	if _, again := f.m.Update(panetest.Key("ctrl+s")); len(msgsOf(again)) != 0 {
		t.Fatal("a second ctrl+s while accepting sent a second Define")
	}
	f.d.Send(msgsOf(accept)...)
	if !f.m.Editing() || !f.m.Dirty() {
		t.Fatalf("after the Define: editing %v, dirty %v; status %q", f.m.Editing(), f.m.Dirty(), f.m.status)
	}
	if got := f.m.editor.Value(); got != "func norm(self Object) int {\n    return self.Get(\"x\").(int) * 2 + 1 + 2\n}" {
		t.Fatalf("editor = %q", got)
	}
	if got := f.object(t, f.point)["norm"].Source; got != "func norm(self Object) int {\n\treturn self.Get(\"x\").(int)*2 + 1\n}" {
		t.Fatalf("norm = %q", got)
	}
	// Accepting again saves the rest and closes the editor.
	f.d.Send(panetest.Key("ctrl+s"))
	if f.m.Editing() || f.m.Dirty() {
		t.Fatalf("after the second accept: editing %v; status %q", f.m.Editing(), f.m.status)
	}
}

// TestPromptWithTextIsDirty: a prompt holding typed text is an unsaved
// edit: quitting asks, and browsing elsewhere is refused.
func TestPromptWithTextIsDirty(t *testing.T) {
	f := setup(t)
	f.d.Send(panetest.Key("G"))
	f.selectSlot(t, "norm")
	f.d.Send(panetest.Key("a"))
	if f.m.Dirty() {
		t.Fatal("an empty prompt is dirty")
	}
	f.d.Send(panetest.Type("area")...)
	if !f.m.Dirty() {
		t.Fatal("a prompt with typed text is not dirty")
	}
	f.d.Send(common.BrowseMsg{OID: 1})
	if !f.m.Dirty() || !strings.Contains(f.m.status, "first") {
		t.Fatalf("browse dropped the prompt: dirty %v, status %q", f.m.Dirty(), f.m.status)
	}
}
