package browser

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/panetest"
)

// hitNames lists the list's hits as "#oid.selector".
func hitNames(m *Model) []string {
	var out []string
	for _, h := range m.hits.hits {
		out = append(out, fmt.Sprintf("#%d.%s", h.Object.OID, h.Selector))
	}
	return out
}

// TestSendersAndImplementors: s on a method lists its senders, I its
// implementors; the list moves with j and k, enter browses the hit with
// its method selected, esc closes it.
func TestSendersAndImplementors(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.img.Define(ctx, f.point, "twiceNorm", `func twiceNorm(self Object) int { return 2 * self.Send("norm").(int) }`); err != nil {
		t.Fatal(err)
	}
	res, err := f.img.Eval(ctx, "o := NewObject(); Lobby.Set(\"other\", o); o.Define(\"norm\", `func norm(self Object) int { return 0 }`); o")
	if err != nil {
		t.Fatal(err)
	}
	other := res.Value.Object.OID
	f.d.Send(common.RefreshMsg{}) // as the commits' events would

	f.d.Send(common.BrowseMsg{OID: f.point, Selector: "norm"})
	f.d.Send(panetest.Key("s"))
	if f.m.hits == nil || f.m.hits.implementors || f.m.hits.loading {
		t.Fatalf("s did not list senders: %+v", f.m.hits)
	}
	if got, want := strings.Join(hitNames(f.m), " "), fmt.Sprintf("#%d.twiceNorm", f.point); got != want {
		t.Fatalf("senders of norm = %s", got)
	}
	if view := panetest.Plain(f.m.View()); !panetest.Contains(view, "Senders of norm (1)", fmt.Sprintf("twiceNorm()  on object %d", f.point)) {
		t.Fatalf("the list is not shown:\n%s", view)
	}
	f.d.Send(panetest.Key("enter"))
	if e, ok := f.m.selectedSlot(); f.m.hits != nil || !ok || e.slot.Name != "twiceNorm" || f.m.objOID != f.point || f.m.col != colSource {
		t.Fatalf("enter: list %v, object %d, slot %+v, column %v", f.m.hits, f.m.objOID, e.slot, f.m.col)
	}
	if view := panetest.Plain(f.m.View()); !strings.Contains(view, `self.Send("norm")`) {
		t.Fatalf("the sender's source is not shown:\n%s", view)
	}

	// What the app's command line sends: the implementors of norm,
	// nearest Lobby first.
	f.d.Send(SendersMsg{Selector: "norm", Implementors: true})
	if got, want := strings.Join(hitNames(f.m), " "), fmt.Sprintf("#%d.norm #%d.norm", f.point, other); got != want {
		t.Fatalf("implementors of norm = %s", got)
	}
	f.d.Send(panetest.Keys("j", "j", "k", "G")...)
	if f.m.hits.cursor != 1 {
		t.Fatalf("cursor after j j k G = %d, want 1", f.m.hits.cursor)
	}
	f.d.Send(panetest.Key("enter"))
	if e, ok := f.m.selectedSlot(); !ok || e.slot.Name != "norm" || f.m.objOID != other || f.m.rows[f.m.cursor].path != "Lobby/other" {
		t.Fatalf("enter on other: object %d, slot %+v", f.m.objOID, e.slot)
	}

	// s and I on a hit chain; esc closes the list and the browser's
	// keys work again.
	f.d.Send(SendersMsg{Selector: "norm"})
	f.d.Send(panetest.Key("I"))
	if f.m.hits == nil || !f.m.hits.implementors || f.m.hits.selector != "twiceNorm" {
		t.Fatalf("I on the hit twiceNorm: %+v", f.m.hits)
	}
	f.d.Send(panetest.Key("esc"))
	if f.m.hits != nil || !strings.Contains(panetest.Plain(f.m.View()), "func norm(self Object) int { return 0 }") {
		t.Fatalf("esc did not close the list:\n%s", panetest.Plain(f.m.View()))
	}

	f.d.Send(SendersMsg{Selector: "nobodySendsThis"})
	if view := panetest.Plain(f.m.View()); !panetest.Contains(view, "Senders of nobodySendsThis (0)", "no senders of nobodySendsThis") {
		t.Fatalf("an empty list:\n%s", view)
	}
	f.d.Send(panetest.Key("enter")) // nothing to open
	if f.m.hits == nil {
		t.Fatal("enter on an empty list closed it")
	}
}

// TestSendersKeys: s and I act on a selected method or primitive; on a
// data slot they say why not; they are in the help.
func TestSendersKeys(t *testing.T) {
	for _, tt := range []struct {
		slot, key  string
		wantList   string // the list's what(), "" for none
		wantStatus string
	}{
		{slot: "norm", key: "s", wantList: "senders of norm"},
		{slot: "norm", key: "I", wantList: "implementors of norm"},
		{slot: "isNil", key: "s", wantList: "senders of isNil"}, // inherited
		{slot: "x", key: "s", wantStatus: "x is a data slot"},
		{slot: "parent*", key: "I", wantStatus: "parent* is a parent slot"},
	} {
		t.Run(tt.slot+" "+tt.key, func(t *testing.T) {
			f := setup(t)
			f.d.Send(panetest.Key("G"))
			f.selectSlot(t, tt.slot)
			f.d.Send(panetest.Key(tt.key))
			switch {
			case tt.wantList != "" && (f.m.hits == nil || f.m.hits.what() != tt.wantList || f.m.hits.err != nil):
				t.Fatalf("%s on %s: list %+v, want %s", tt.key, tt.slot, f.m.hits, tt.wantList)
			case tt.wantList == "" && (f.m.hits != nil || !strings.Contains(f.m.status, tt.wantStatus)):
				t.Fatalf("%s on %s: list %+v, status %q, want %q", tt.key, tt.slot, f.m.hits, f.m.status, tt.wantStatus)
			}
		})
	}
	m := New(panetest.Common(panetest.Open(t)))
	helped := map[string]bool{}
	for _, group := range m.FullHelp() {
		for _, b := range group {
			helped[b.Help().Key] = true
		}
	}
	if !helped["s"] || !helped["I"] {
		t.Fatalf("the help lists no s or I: %v", helped)
	}
	if !key.Matches(panetest.Key("s"), m.keys.Senders) || !key.Matches(panetest.Key("I"), m.keys.Implementors) {
		t.Fatal("s and I are not the keys")
	}
}

// TestSendersWhileEditing: a SendersMsg does not drop an unsaved edit;
// an edit without changes gives way to the list.
func TestSendersWhileEditing(t *testing.T) {
	f := setup(t)
	f.d.Send(common.BrowseMsg{OID: f.point, Selector: "norm"}, panetest.Key("e"))
	f.d.Send(panetest.Type("x")...)
	f.d.Send(SendersMsg{Selector: "norm"})
	if f.m.hits != nil || !f.m.editing || !strings.Contains(f.m.status, "accept (ctrl+s) or cancel (esc) the edit first") {
		t.Fatalf("a dirty edit: list %+v, editing %v, status %q", f.m.hits, f.m.editing, f.m.status)
	}
	f.d.Send(panetest.Key("backspace"))
	f.d.Send(SendersMsg{Selector: "norm", Implementors: true})
	if f.m.hits == nil || f.m.editing || f.m.Editing() {
		t.Fatalf("a clean edit: list %+v, editing %v", f.m.hits, f.m.editing)
	}
	// An answer to a list closed since is dropped.
	seq := f.m.hits.seq
	f.d.Send(panetest.Key("esc"))
	f.d.Send(hitsMsg{seq: seq, hits: []api.Hit{{Object: api.Ref{OID: 1, Name: "Lobby"}, Selector: "norm"}}})
	if f.m.hits != nil {
		t.Fatalf("a late answer reopened the list: %+v", f.m.hits)
	}
}

// TestValueInFull: v shows the selected slot's whole value (or a
// method's source) in the pager; the slot list cuts it to its column.
func TestValueInFull(t *testing.T) {
	f := setup(t)
	long := strings.Repeat("long words ", 30)
	if _, err := f.img.SetSlot(context.Background(), f.point, "label", api.String(long)); err != nil {
		t.Fatal(err)
	}
	f.d.Send(common.RefreshMsg{}, common.BrowseMsg{OID: f.point, Selector: "label"})
	if strings.Contains(panetest.Plain(f.m.View()), strings.TrimSpace(long)) {
		t.Fatal("the slot list shows the whole value: nothing to test")
	}
	f.d.Send(panetest.Key("v"))
	p, ok := panetest.Last[common.PagerMsg](f.d)
	if !ok || !strings.Contains(p.Text, strings.TrimSpace(long)) || !strings.HasSuffix(p.Title, "› label") {
		t.Fatalf("pager %+v", p)
	}
	f.d.Send(common.BrowseMsg{OID: f.point, Selector: "norm"}, panetest.Key("v"))
	if p, ok := panetest.Last[common.PagerMsg](f.d); !ok || p.Text != normSrc {
		t.Fatalf("method's pager %+v", p)
	}
}

// TestBrowseToLine: a BrowseMsg with a line (a failed send's frame)
// shows the method scrolled to that line and points at it.
func TestBrowseToLine(t *testing.T) {
	f := setup(t)
	var src strings.Builder
	src.WriteString("func long(self Object) int {\n")
	for i := 2; i < 40; i++ {
		fmt.Fprintf(&src, "\t_ = %d // line %d\n", i, i)
	}
	src.WriteString("\treturn 0\n}")
	if _, err := f.img.Define(context.Background(), f.point, "long", src.String()); err != nil {
		t.Fatal(err)
	}
	f.d.Send(common.RefreshMsg{}, common.BrowseMsg{OID: f.point, Selector: "long", Line: 30})
	v := panetest.Plain(f.m.View())
	if !strings.Contains(v, "▸ 30") || !strings.Contains(v, "// line 30") || strings.Contains(v, "// line 5\n") || strings.Contains(v, "func long(") {
		t.Fatalf("not at line 30:\n%s", v)
	}
	// Without a line, the same method shows from its top.
	f.d.Send(common.BrowseMsg{OID: f.point, Selector: "norm"}, common.BrowseMsg{OID: f.point, Selector: "long"})
	if v := panetest.Plain(f.m.View()); strings.Contains(v, "▸ 30") || !strings.Contains(v, "func long(") {
		t.Fatalf("a browse without a line:\n%s", v)
	}
}
