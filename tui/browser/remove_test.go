package browser

import (
	"testing"

	"batos/tui/internal/panetest"
)

// TestRemoveKeepsCursorPlace: after a slot is removed the slots cursor
// stays where it was (on the slot after it), or on the one before when the
// removed slot was the last of its group; it does not jump to parent*.
func TestRemoveKeepsCursorPlace(t *testing.T) {
	f := setup(t)
	f.d.Send(panetest.Key("G")) // the last row: point
	names := func() []string {
		var out []string
		for _, e := range f.m.entries {
			if e.isSlot() && !e.inherited {
				out = append(out, e.slot.Name)
			}
		}
		return out
	}
	for _, c := range []struct{ remove, want string }{
		{"label", "x"}, // the first of the data slots: the next one takes its place
		{"x", "norm"},  // the data header goes too: norm is now at its index
	} {
		f.selectSlot(t, c.remove)
		at := f.m.slotCursor
		f.d.Send(panetest.Keys("d", "y")...)
		e, ok := f.m.selectedSlot()
		if !ok || e.slot.Name != c.want {
			t.Fatalf("after removing %s (at %d) the cursor is at %d on %q, want %q; own slots %v", c.remove, at, f.m.slotCursor, e.slot.Name, c.want, names())
		}
	}
}
