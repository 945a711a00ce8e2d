package browser

import (
	"strings"
	"testing"

	"batos/api"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

// lobbyWith is Lobby's view with data slots named data and methods named
// methods.
func lobbyWith(data, methods string) api.ObjectView {
	v := api.ObjectView{Ref: api.Ref{OID: lobbyOID, Name: "Lobby"}}
	for _, n := range strings.Fields(data) {
		v.Slots = append(v.Slots, api.SlotView{Name: n, Kind: api.KindData, Value: commontest.Data(api.Int(1)), Holder: v.Ref})
	}
	for _, n := range strings.Fields(methods) {
		v.Slots = append(v.Slots, api.SlotView{Name: n, Kind: api.KindMethod, Source: "func " + n + "(self Object) {}", Holder: v.Ref})
	}
	return v
}

func newTestSlotList(v api.ObjectView) *slotList {
	s := newSlotList(panetest.Common(commontest.New()), DefaultKeyMap().Slots, &statusLine{})
	s.SetSize(40, 20)
	s.Update(objectMsg{oid: lobbyOID, view: v})
	return s
}

func (s *slotList) selectedName() string {
	e, _ := s.selectedSlot()
	return e.slot.Name
}

// TestSlotListCursorAfterRemoval: when the object reloads without the
// slot the cursor was on, the cursor takes the slot now at its place, or
// the one before when the gone slot ended its group or the list; a slot
// still there keeps the cursor wherever it moved.
func TestSlotListCursorAfterRemoval(t *testing.T) {
	for _, tt := range []struct {
		on, data, methods string // the cursor's slot; the slots after the reload
		want              string
	}{
		{on: "b", data: "a c", methods: "m", want: "c"},   // the next takes its place
		{on: "c", data: "a b", methods: "m", want: "b"},   // the last of its group: the one before
		{on: "m", data: "a b c", methods: "", want: "c"},  // the last of all
		{on: "b", data: "c b a", methods: "m", want: "b"}, // still there, moved
	} {
		s := newTestSlotList(lobbyWith("a b c", "m"))
		s.selectSlot(tt.on)
		if got := s.selectedName(); got != tt.on {
			t.Fatalf("the cursor is on %q, want %q", got, tt.on)
		}
		if _, req := s.Update(objectMsg{oid: lobbyOID, view: lobbyWith(tt.data, tt.methods)}); req != nil {
			t.Errorf("a reload asked %#v", req)
		}
		if got := s.selectedName(); got != tt.want {
			t.Errorf("on %s, reloaded with %q + %q: the cursor is on %q, want %q", tt.on, tt.data, tt.methods, got, tt.want)
		}
	}
}

// TestSlotListSelectsTheSlotAskedFor: the slot show names is selected
// when the object arrives, and the browser is asked to show its source
// from the top; an answer for an object no longer selected is dropped.
func TestSlotListSelectsTheSlotAskedFor(t *testing.T) {
	s := newTestSlotList(lobbyWith("a b", "m"))
	if cmd := s.show(lobbyOID, "m"); cmd == nil {
		t.Fatal("show did not load the object")
	}
	if _, req := s.Update(objectMsg{oid: 99, view: lobbyWith("z", "")}); req != nil || s.selectedName() != "a" {
		t.Fatalf("an answer for #99 was taken: request %#v, cursor on %q", req, s.selectedName())
	}
	if _, req := s.Update(objectMsg{oid: lobbyOID, view: lobbyWith("a b", "m")}); req != (focusReq{col: colSource, fromTop: true}) || s.selectedName() != "m" {
		t.Fatalf("request %#v, cursor on %q; want the source of m", req, s.selectedName())
	}
}

// TestSlotListKeys: keys in the column move the cursor and ask for the
// source from its top; enter browses a reference and edits a method
// (both left to the browser); h and l move the focus.
func TestSlotListKeys(t *testing.T) {
	v := lobbyWith("a", "m")
	v.Slots = append(v.Slots, api.SlotView{Name: "r", Kind: api.KindData, Value: commontest.Ref(api.Ref{OID: 7, Name: "object 7"})})
	s := newTestSlotList(v) // [data] a r [methods] m
	for _, tt := range []struct {
		key  string
		want request
		on   string
	}{
		{"j", focusReq{col: colSlots, fromTop: true}, "r"},
		{"enter", browseReq{oid: 7}, "r"},
		{"j", focusReq{col: colSlots, fromTop: true}, "m"},
		{"enter", methodReq{oid: lobbyOID, holder: "Lobby", selector: "m", src: "func m(self Object) {}"}, "m"},
		{"l", focusReq{col: colSource, fromTop: true}, "m"},
		{"h", focusReq{col: colTree, fromTop: true}, "m"},
	} {
		if _, req := s.Update(panetest.Key(tt.key)); req != tt.want || s.selectedName() != tt.on {
			t.Fatalf("%s: asked %#v, cursor on %q; want %#v on %q", tt.key, req, s.selectedName(), tt.want, tt.on)
		}
	}
}
