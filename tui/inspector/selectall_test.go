package inspector

import (
	"testing"

	"batos/tui/internal/panetest"
)

// TestEditReplacesTheOldValue: e opens the slot's literal on the old value
// selected whole: the first key typed replaces it; a movement key keeps it
// and edits it in place.
func TestEditReplacesTheOldValue(t *testing.T) {
	f := setup(t)
	f.to(t, "name")
	f.d.Send(panetest.Key("e"))
	f.d.Send(panetest.Type(`"p"`)...)
	if got := f.m.input.Value(); got != `"p"` {
		t.Fatalf(`typing "p" over "point" gave %q, want "p" (the old value replaced)`, got)
	}
	f.d.Send(panetest.Key("esc"))
	f.to(t, "x")
	f.d.Send(panetest.Key("e"), panetest.Key("home"))
	f.d.Send(panetest.Type("1")...)
	if got := f.m.input.Value(); got != "13" {
		t.Fatalf("home then 1 on 3 gave %q, want 13 (edited in place)", got)
	}
}
