package pane

import (
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

func press(s string) tea.KeyPressMsg {
	switch s {
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	return tea.KeyPressMsg{Code: rune(s[0]), Text: s}
}

func TestConfirm(t *testing.T) {
	var c Confirm
	if _, handled := c.Update(press("y")); handled || c.Asking() || c.Question() != "" {
		t.Fatal("the zero Confirm asks something")
	}
	ran := 0
	yes := func() tea.Cmd { ran++; return nil }
	for _, tc := range []struct {
		keys []string
		ran  int
	}{
		{[]string{"y"}, 1},
		{[]string{"Y"}, 1},
		{[]string{"n"}, 0},
		{[]string{"esc"}, 0},
		{[]string{"x", "q", "y"}, 1}, // other keys are swallowed, the question stays
	} {
		ran = 0
		c.Ask("remove w?", yes)
		if c.Question() != "remove w? y/n" {
			t.Fatalf("question %q", c.Question())
		}
		for _, k := range tc.keys {
			if _, handled := c.Update(press(k)); !handled {
				t.Fatalf("%v: key %s not taken while asking", tc.keys, k)
			}
		}
		if ran != tc.ran || c.Asking() {
			t.Errorf("%v: ran %d, asking %v", tc.keys, ran, c.Asking())
		}
	}
	// Remapped keys: the quit question's.
	c.Keys = ConfirmKeys{Yes: key.NewBinding(key.WithKeys("y", "ctrl+c"), key.WithHelp("y", "quit")), No: key.NewBinding(key.WithKeys("n", "q"), key.WithHelp("n", "stay"))}
	ran = 0
	c.Ask("quit anyway?", yes)
	c.Update(press("ctrl+c"))
	if ran != 1 {
		t.Error("a remapped yes key did not answer")
	}
	c.Ask("quit anyway?", yes)
	c.SetQuestion("quit now?")
	if c.Question() != "quit now? y/n" || len(c.ShortHelp()) != 2 {
		t.Errorf("question %q", c.Question())
	}
	c.Update(press("q"))
	if c.Asking() || ran != 1 {
		t.Error("a remapped no key did not answer")
	}
}
