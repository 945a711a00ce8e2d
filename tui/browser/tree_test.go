package browser

import (
	"fmt"
	"strings"
	"testing"

	"batos/api"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

// newTestTree returns a tree whose Lobby holds rec (#10), whose list slot
// gens holds n objects (#100...): the children are given, as a kidsMsg
// would give them. Of the fake image only #100, with no slots, is asked.
func newTestTree(t *testing.T, n int) *tree {
	t.Helper()
	img := commontest.New()
	img.Objects[100] = api.ObjectView{Ref: api.Ref{OID: 100, Name: "object 100"}}
	tr := newTree(panetest.Common(img), DefaultKeyMap().Tree, &statusLine{})
	tr.SetSize(40, 200)
	tr.Update(kidsMsg{oid: lobbyOID, kids: []api.Child{{Slot: "rec", Ref: api.Ref{OID: 10, Name: "rec"}}}})
	var gens []api.Child
	for i := range n {
		gens = append(gens, api.Child{Slot: fmt.Sprintf("gens[%d]", i), Ref: api.Ref{OID: uint64(100 + i)}})
	}
	tr.Update(kidsMsg{oid: 10, kids: gens})
	return tr
}

// TestTreeExpandsAListMember: a list slot's members are rows under their
// holder, the newest maxMembers of them with a "… N more" row standing
// for the rest, which Expand opens in place.
func TestTreeExpandsAListMember(t *testing.T) {
	tr := newTestTree(t, maxMembers+2)
	tr.Update(panetest.Key("j")) // onto rec
	if _, req := tr.Update(panetest.Key("l")); req != nil {
		t.Fatalf("expanding rec (children loaded) asked %#v", req)
	}
	if len(tr.rows) != 2+1+maxMembers {
		t.Fatalf("%d rows, want Lobby, rec, a more row and %d members", len(tr.rows), maxMembers)
	}
	more := tr.rows[2]
	if more.more != 2 || more.list != "Lobby/rec/gens" || tr.rows[3].path != "Lobby/rec/gens[2]" {
		t.Fatalf("rows[2:4] = %+v %+v", more, tr.rows[3])
	}
	if view := panetest.Plain(strings.Join(tr.View(true), "\n")); !strings.Contains(view, "… 2 more gens") {
		t.Fatalf("no more row in the view:\n%s", view)
	}
	// j onto the more row asks for its holder to be shown; l opens it.
	if _, req := tr.Update(panetest.Key("j")); req != (selectReq{oid: 10}) {
		t.Fatalf("j onto the more row asked %#v", req)
	}
	tr.Update(panetest.Key("l"))
	if len(tr.rows) != 2+maxMembers+2 || tr.rows[2].path != "Lobby/rec/gens[0]" {
		t.Fatalf("after opening the more row: %d rows, rows[2] %+v", len(tr.rows), tr.rows[2])
	}
}

// TestTreeExpandLoadsLazily: Expand on a row whose children are not
// loaded returns the command that loads them, and the row opens when
// they arrive; on a row with nothing under it, it asks for the slots.
func TestTreeExpandLoadsLazily(t *testing.T) {
	tr := newTestTree(t, 1)
	tr.Update(panetest.Key("j"))
	tr.Update(panetest.Key("l"))
	tr.Update(panetest.Key("j")) // gens[0], #100: not loaded
	cmd, req := tr.Update(panetest.Key("l"))
	if cmd == nil || req != nil || tr.expanded["Lobby/rec/gens[0]"] {
		t.Fatalf("Expand on an unloaded row: cmd %v, request %#v, expanded %v", cmd != nil, req, tr.expanded)
	}
	msg, ok := cmd().(kidsMsg)
	if !ok || msg.oid != 100 || msg.expand != "Lobby/rec/gens[0]" {
		t.Fatalf("the command returned %#v", msg)
	}
	tr.Update(msg) // #100 has no children
	if !tr.expanded["Lobby/rec/gens[0]"] {
		t.Fatal("the row did not open when its children arrived")
	}
	if _, req := tr.Update(panetest.Key("l")); req != (focusReq{col: colSlots}) {
		t.Fatalf("Expand on a row with nothing under it asked %#v, want the slots", req)
	}
}

// TestTreeMoveShowsTheObjectAtOnce: the browser acts on the tree's
// request in the same Update, so the key after a move already finds the
// new object selected (and its slots not yet loaded), not the old one.
func TestTreeMoveShowsTheObjectAtOnce(t *testing.T) {
	_, m, d := fake(t) // the tree: Lobby, traits
	d.Send(panetest.Keys("[", "[")...)
	if _, cmd := m.Update(panetest.Key("j")); cmd == nil {
		t.Fatal("j onto traits loaded nothing")
	}
	if m.slotList.objOID != 2 || m.slotList.objLoaded || len(m.slotList.entries) != 0 {
		t.Fatalf("after j: object %d, loaded %v, %d entries", m.slotList.objOID, m.slotList.objLoaded, len(m.slotList.entries))
	}
	if _, cmd := m.Update(panetest.Key("e")); cmd != nil || m.Editing() {
		t.Fatal("e right after j edited a slot of the object left")
	}
}
