package browser

import (
	"testing"

	"batos/api"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

func newTestSourceEditor() *sourceEditor {
	k := DefaultKeyMap()
	s := newSourceEditor(panetest.Common(commontest.New()), k.Source, k.Hits, &statusLine{})
	s.SetSize(60, 12)
	return s
}

// TestSourceEditorKeys: showing a slot, the column scrolls it and leaves
// editing and going back to the browser; editing, esc on a change asks
// first, and an accept that commits while keys were typed keeps them.
func TestSourceEditorKeys(t *testing.T) {
	s := newTestSourceEditor()
	for _, tt := range []struct {
		key  string
		want request
	}{
		{"j", nil},
		{"enter", editReq{}},
		{"esc", focusReq{col: colSlots}},
	} {
		if _, req := s.Update(panetest.Key(tt.key)); req != tt.want {
			t.Fatalf("%s asked %#v, want %#v", tt.key, req, tt.want)
		}
	}
	if s.srcOff != 1 {
		t.Fatalf("j scrolled the source to %d, want 1", s.srcOff)
	}

	s.open(methodReq{oid: 1, holder: "Lobby", selector: "m", src: "func m(self Object) {}"})
	s.Focus() // as the browser's startEdit does
	s.Update(panetest.Key("x"))
	if !s.dirty() {
		t.Fatal("typing did not make the edit dirty")
	}
	s.Update(panetest.Key("esc"))
	if !s.discarding || !s.asking() {
		t.Fatal("esc on a changed edit did not ask")
	}
	s.Update(panetest.Key("n"))
	if s.discarding || !s.editing {
		t.Fatalf("n: discarding %v, editing %v", s.discarding, s.editing)
	}

	if cmd, _ := s.Update(panetest.Key("ctrl+s")); cmd == nil || !s.accepting {
		t.Fatal("ctrl+s sent no Define")
	}
	s.Update(panetest.Key("y")) // typed while the Define is in flight
	if note := s.defined(); note == "" || !s.editing || !s.dirty() {
		t.Fatalf("the commit closed an editor holding later keys (note %q)", note)
	}
	s.editor.SetValue(s.accepted)
	if s.defined(); s.editing {
		t.Fatal("a commit of the whole edit left the editor open")
	}
}

// TestSourceEditorHitList: a hit list takes the column's keys; an
// answer to a list replaced since is dropped; enter closes the list and
// leaves browsing the hit to the browser.
func TestSourceEditorHitList(t *testing.T) {
	s := newTestSourceEditor()
	s.openHits("area", false)
	stale := s.hitSeq
	s.openHits("area", true)
	hits := []api.Hit{{Object: api.Ref{OID: 5, Name: "object 5"}, Selector: "area"}, {Object: api.Ref{OID: 6, Name: "object 6"}, Selector: "area"}}
	s.Update(hitsMsg{seq: stale, hits: hits[:1]})
	if !s.hits.loading {
		t.Fatal("the answer to the replaced list was taken")
	}
	s.Update(hitsMsg{seq: s.hitSeq, hits: hits})
	if s.hits.loading || len(s.hits.hits) != 2 {
		t.Fatalf("the answer was not taken: %+v", s.hits)
	}
	if _, req := s.Update(panetest.Key("G")); req != nil || s.hits.cursor != 1 {
		t.Fatalf("G: request %#v, cursor %d", req, s.hits.cursor)
	}
	if _, req := s.Update(panetest.Key("s")); req != (hitsReq{selector: "area"}) {
		t.Fatalf("s asked %#v", req)
	}
	if _, req := s.Update(panetest.Key("enter")); req != (browseReq{oid: 6, selector: "area"}) || s.hits != nil {
		t.Fatalf("enter asked %#v; list %+v", req, s.hits)
	}
}
