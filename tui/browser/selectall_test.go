package browser

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"batos/tui/common"
	"batos/tui/internal/panetest"
)

// TestEditReplacesTheOldValue: a slot's literal prompt opens on the old
// value selected whole: typing replaces it, a paste too; a movement key
// keeps it and edits it in place. The rename prompt works the same way.
func TestEditReplacesTheOldValue(t *testing.T) {
	t.Run("type and paste", func(t *testing.T) {
		_, m, d := fake(t)
		selectSlot(t, m, d, "traits")
		d.Send(panetest.Key("e"))
		d.Send(panetest.Type("42")...)
		if got := m.input.Value(); got != "42" {
			t.Fatalf("typing over ObjectAt(2) gave %q, want 42 (the old value replaced)", got)
		}
		d.Send(panetest.Key("esc"))
		d.Send(panetest.Key("e"))
		d.Send(tea.PasteMsg{Content: "7"})
		if got := m.input.Value(); got != "7" {
			t.Fatalf("pasting over ObjectAt(2) gave %q, want 7", got)
		}
	})
	t.Run("edit in place", func(t *testing.T) {
		img, m, d := fake(t)
		selectSlot(t, m, d, "x")
		d.Send(panetest.Key("e"), panetest.Key("home"))
		d.Send(panetest.Type("1")...)
		if got := m.input.Value(); got != "13" {
			t.Fatalf("home then 1 on 3 gave %q, want 13 (edited in place)", got)
		}
		d.Send(panetest.Key("enter"))
		if sets := img.SetLog(); len(sets) != 1 || sets[0].Value.Int != 13 {
			t.Fatalf("sets = %+v", sets)
		}
	})
	t.Run("rename", func(t *testing.T) {
		_, m, d := fake(t)
		selectSlot(t, m, d, "x")
		d.Send(panetest.Key("r"))
		d.Send(panetest.Type("why")...)
		if got := m.input.Value(); got != "why" {
			t.Fatalf("typing in the rename prompt of x gave %q, want why", got)
		}
	})
}

// TestRenameMethodAnswersUnderItsNewName: r on a method renames it in the
// image, whose source then declares the new name: a send of the new
// selector runs it.
func TestRenameMethodAnswersUnderItsNewName(t *testing.T) {
	f := setup(t)
	f.d.Send(common.BrowseMsg{OID: f.point})
	f.selectSlot(t, "norm")
	f.d.Send(panetest.Key("r"))
	f.d.Send(panetest.Type("size\n")...)
	slots := f.object(t, f.point)
	if _, ok := slots["size"]; !ok || !strings.HasPrefix(slots["size"].Source, "func size(self Object) int {") {
		t.Fatalf("after renaming norm to size: %+v (status %q)", slots["size"], panetest.Plain(f.m.View()))
	}
	res, err := f.img.Send(context.Background(), f.point, "size")
	if err != nil || res.Value.Int != 6 {
		t.Fatalf("send size = %+v, %v", res.Value, err)
	}
}
