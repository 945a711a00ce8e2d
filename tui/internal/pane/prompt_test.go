package pane

import (
	"testing"

	tea "charm.land/bubbletea/v2"
)

func TestPrompt(t *testing.T) {
	p := NewPrompt("name: ")
	if _, handled := p.Update(press("x")); handled {
		t.Fatal("a prompt that is down took a key")
	}
	var got []string
	accept := func(s string) tea.Cmd { got = append(got, s); return nil }
	p.Ask("ab", accept)
	for _, k := range []string{"c", "d"} {
		if _, handled := p.Update(press(k)); !handled {
			t.Fatalf("key %s not taken", k)
		}
	}
	p.Update(tea.PasteMsg{Content: "e"})
	p.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if len(got) != 1 || got[0] != "abcde" || p.Asking() {
		t.Fatalf("accepted %q, asking %v", got, p.Asking())
	}
	p.Ask("zz", accept)
	p.Update(press("esc"))
	if len(got) != 1 || p.Asking() {
		t.Fatalf("esc accepted: %q", got)
	}
	if len(p.ShortHelp()) != 2 {
		t.Error("help")
	}
}
