package browser

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"batos/api"
	"batos/image"
	"batos/kernel"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

const normSrc = "func norm(self Object) int {\n\treturn self.Get(\"x\").(int) * 2\n}"

type fixture struct {
	img   panetest.Image
	d     *panetest.Driver
	m     *Model
	point uint64
}

// setup opens an image with Lobby.point = {x: 3, label: "origin", norm()}
// and a browser over it, 80×24, focused, initialised.
func setup(t *testing.T) *fixture {
	t.Helper()
	img := panetest.Open(t)
	ctx := context.Background()
	res, err := img.Eval(ctx, `p := NewObject(); p.Set("x", 3); p.Set("label", "origin"); Lobby.Set("point", p); p`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := img.Define(ctx, res.Value.Object.OID, "norm", normSrc); err != nil {
		t.Fatal(err)
	}
	m := New(panetest.Common(img))
	m.SetSize(80, 24)
	m.Focus()
	d := &panetest.Driver{TB: t, Pane: m}
	d.Init()
	return &fixture{img: img, d: d, m: m, point: res.Value.Object.OID}
}

func (f *fixture) object(t *testing.T, oid uint64) map[string]api.SlotView {
	t.Helper()
	v, err := f.img.Object(context.Background(), oid)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]api.SlotView{}
	for _, s := range v.Slots {
		out[s.Name] = s
	}
	return out
}

func (f *fixture) paths() []string {
	var out []string
	for _, r := range f.m.rows {
		out = append(out, r.path)
	}
	return out
}

// selectSlot moves the slots cursor onto name with j presses.
func (f *fixture) selectSlot(t *testing.T, name string) {
	t.Helper()
	f.d.Send(panetest.Keys("[", "[", "]", "g")...) // the slots column, from anywhere
	for i := 0; i < len(f.m.entries); i++ {
		if e, ok := f.m.selectedSlot(); ok && e.slot.Name == name {
			return
		}
		f.d.Send(panetest.Key("j"))
	}
	t.Fatalf("slot %s not found in %v", name, f.m.entries)
}

func TestTreeNavigation(t *testing.T) {
	f := setup(t)
	want := []string{"Lobby", "Lobby/parent*", "Lobby/traits", "Lobby/system", "Lobby/pLLM", "Lobby/Forge", "Lobby/entropy", "Lobby/autotelic", "Lobby/workspace", "Lobby/point"}
	if got := f.paths(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("rows = %v, want %v", got, want)
	}
	f.d.Send(panetest.Key("j"))
	if f.m.cursor != 1 || f.m.objOID != 2 {
		t.Fatalf("after j: cursor %d, object %d", f.m.cursor, f.m.objOID)
	}
	f.d.Send(panetest.Key("G"))
	if f.m.rows[f.m.cursor].path != "Lobby/point" || f.m.objOID != f.point {
		t.Fatalf("after G: %v, object %d", f.m.rows[f.m.cursor], f.m.objOID)
	}
	// Expand point (lazily loaded): its parent slot appears under it.
	f.d.Send(panetest.Key("l"))
	if got := f.paths(); got[len(got)-1] != "Lobby/point/parent*" {
		t.Fatalf("after expanding point: %v", got)
	}
	f.d.Send(panetest.Key("j"))
	if f.m.rows[f.m.cursor].path != "Lobby/point/parent*" || f.m.objOID != 2 {
		t.Fatalf("after j into point: %v", f.m.rows[f.m.cursor])
	}
	// h on a collapsed row goes to its parent; h again collapses it.
	f.d.Send(panetest.Key("h"))
	if f.m.rows[f.m.cursor].path != "Lobby/point" {
		t.Fatalf("h did not go up: %v", f.m.rows[f.m.cursor])
	}
	f.d.Send(panetest.Key("h"))
	if len(f.m.rows) != len(want) {
		t.Fatalf("h did not collapse point: %v", f.paths())
	}
	f.d.Send(panetest.Key("g"))
	if f.m.cursor != 0 || f.m.objOID != 1 {
		t.Fatalf("g: cursor %d", f.m.cursor)
	}
	// Mouse: a click on the third tree row (below the header) selects it.
	f.d.Send(tea.MouseClickMsg{X: 3, Y: 3, Button: tea.MouseLeft})
	if f.m.cursor != 2 {
		t.Fatalf("click: cursor %d", f.m.cursor)
	}
	f.d.Send(tea.MouseWheelMsg{X: 3, Y: 3, Button: tea.MouseWheelDown})
}

func TestSlotsGroupedWithInheritedApart(t *testing.T) {
	f := setup(t)
	f.d.Send(panetest.Key("G"))
	var got []string
	for _, e := range f.m.entries {
		switch {
		case !e.isSlot():
			got = append(got, "["+e.header+"]")
		case e.inherited:
			got = append(got, e.slot.Name+"@"+shortName(e.slot.Holder))
		default:
			got = append(got, e.slot.Name)
		}
	}
	s := strings.Join(got, " ")
	if !strings.HasPrefix(s, "[parents] parent* [data] x label [methods] norm [inherited from traits (object 2)] ") {
		t.Fatalf("entries = %s", s)
	}
	if !strings.Contains(s, "isNil@traits") || !strings.Contains(s, "printString@traits") {
		t.Fatalf("inherited selectors missing: %s", s)
	}
	view := panetest.Plain(f.m.View())
	if !strings.Contains(view, "inherited from traits") || !strings.Contains(view, "isNil() (traits)") {
		t.Fatalf("view does not show inherited slots apart:\n%s", view)
	}
}

func TestEditAndAccept(t *testing.T) {
	f := setup(t)
	f.d.Send(panetest.Key("G"))
	f.selectSlot(t, "norm")
	f.d.Send(panetest.Key("e"))
	if !f.m.Editing() || f.m.Dirty() {
		t.Fatalf("after e: editing %v dirty %v", f.m.Editing(), f.m.Dirty())
	}
	f.d.Send(panetest.Key("down"), panetest.Key("end"))
	f.d.Send(panetest.Type(" + 1")...)
	if !f.m.Dirty() {
		t.Fatal("typing did not make the edit dirty")
	}
	f.d.Send(panetest.Key("ctrl+s"))
	if f.m.Editing() || f.m.Dirty() {
		t.Fatalf("after ctrl+s: editing %v, status %q", f.m.Editing(), f.m.status)
	}
	want := "func norm(self Object) int {\n\treturn self.Get(\"x\").(int)*2 + 1\n}" // gofmt'd on accept
	if got := f.object(t, f.point)["norm"].Source; got != want {
		t.Fatalf("norm = %q, want %q", got, want)
	}
	res, err := f.img.Eval(context.Background(), "Lobby.Get(\"point\").(Object).Send(\"norm\")")
	if err != nil || res.Value.Text != "7" {
		t.Fatalf("point norm = %+v, %v", res, err)
	}
	if !strings.Contains(panetest.Plain(f.m.View()), "*2 + 1") {
		t.Fatalf("source column does not show the accepted method:\n%s", panetest.Plain(f.m.View()))
	}
}

func TestBadMethodShowsErrorAtItsLine(t *testing.T) {
	f := setup(t)
	f.d.Send(panetest.Key("G"))
	f.selectSlot(t, "norm")
	before, _ := f.img.History(context.Background(), 0, 1)
	f.d.Send(panetest.Key("enter"))
	bad := "func norm(self Object) int {\n\tx := 1\n\treturn oops\n}"
	f.m.editor.SetValue(bad)
	f.d.Send(panetest.Key("ctrl+s"))
	if !f.m.Editing() || !f.m.Dirty() || f.m.editor.Value() != strings.ReplaceAll(bad, "\t", "    ") {
		t.Fatal("a rejected edit was not kept")
	}
	if f.m.editErrLine != 3 {
		t.Fatalf("error line = %d (%v)", f.m.editErrLine, f.m.editErr)
	}
	lines := strings.Split(panetest.Plain(f.m.View()), "\n")
	at := -1
	for i, l := range lines {
		if strings.Contains(l, "✗ method norm: line 3") {
			at = i
		}
	}
	if at < 1 || !strings.Contains(lines[at-1], "return oops") {
		t.Fatalf("the error is not under line 3:\n%s", strings.Join(lines, "\n"))
	}
	after, _ := f.img.History(context.Background(), 0, 1)
	if after[0].ID != before[0].ID {
		t.Fatalf("a transaction was committed: %+v", after[0])
	}
	if got := f.object(t, f.point)["norm"].Source; got != normSrc {
		t.Fatalf("norm changed to %q", got)
	}
	// esc on a dirty edit asks; n keeps it, y drops it.
	f.d.Send(panetest.Key("esc"), panetest.Key("n"))
	if !f.m.Editing() {
		t.Fatal("n dropped the edit")
	}
	f.d.Send(panetest.Key("esc"), panetest.Key("y"))
	if f.m.Editing() || f.m.Dirty() {
		t.Fatal("y kept the edit")
	}
}

func TestAddRenameRemoveClone(t *testing.T) {
	f := setup(t)
	f.d.Send(panetest.Key("G"))
	// a: a data slot from a Go literal.
	f.d.Send(panetest.Key("a"))
	if !f.m.Editing() {
		t.Fatal("a did not prompt")
	}
	f.d.Send(panetest.Type("y\n[]any{1, 2}\n")...)
	if s := f.object(t, f.point)["y"]; s.Kind != api.KindData || s.Value.Type != "[]any" {
		t.Fatalf("y = %+v (status %q)", s, f.m.status)
	}
	// a: a method from func source.
	f.d.Send(panetest.Key("a"))
	f.d.Send(panetest.Type("twice\nfunc twice(self Object) int { return 2 }\n")...)
	if s := f.object(t, f.point)["twice"]; s.Kind != api.KindMethod {
		t.Fatalf("twice = %+v (status %q)", s, f.m.status)
	}
	// r: rename y to z (the prompt starts with the old name).
	f.selectSlot(t, "y")
	f.d.Send(panetest.Key("r"), panetest.Key("backspace"))
	f.d.Send(panetest.Type("z\n")...)
	slots := f.object(t, f.point)
	if _, ok := slots["y"]; ok || slots["z"].Value.Type != "[]any" {
		t.Fatalf("rename: %v (status %q)", slots, f.m.status)
	}
	// d: remove z after a confirm; n first keeps it.
	f.selectSlot(t, "z")
	f.d.Send(panetest.Key("d"), panetest.Key("n"))
	if _, ok := f.object(t, f.point)["z"]; !ok {
		t.Fatal("n removed the slot")
	}
	f.d.Send(panetest.Key("d"))
	if !strings.Contains(panetest.Plain(f.m.View()), fmt.Sprintf("remove slot z from object %d? y/n", f.point)) {
		t.Fatalf("no confirm shown:\n%s", panetest.Plain(f.m.View()))
	}
	f.d.Send(panetest.Key("y"))
	if _, ok := f.object(t, f.point)["z"]; ok {
		t.Fatal("z was not removed")
	}
	// An inherited slot cannot be removed here.
	f.selectSlot(t, "isNil")
	f.d.Send(panetest.Key("d"))
	if f.m.confirm.Asking() || !strings.Contains(f.m.status, "inherited from traits") {
		t.Fatalf("inherited remove: confirm %v status %q", f.m.confirm, f.m.status)
	}
	// c: clone point into Lobby.point2.
	f.d.Send(panetest.Key("c"))
	f.d.Send(panetest.Type("point2\n")...)
	lobby := f.object(t, 1)
	p2 := lobby["point2"]
	if p2.Target() == nil || p2.Target().OID == f.point {
		t.Fatalf("point2 = %+v (status %q)", p2, f.m.status)
	}
	if clone := f.object(t, p2.Target().OID); clone["x"].Value.Text != "3" || clone["twice"].Kind != api.KindMethod {
		t.Fatalf("clone = %v", clone)
	}
	if got := f.paths(); got[len(got)-1] != "Lobby/point2" {
		t.Fatalf("the tree does not show the clone: %v", got)
	}
}

func TestInspectBrowseAndEvents(t *testing.T) {
	f := setup(t)
	f.d.Send(panetest.Key("G"), panetest.Key("i"))
	if m, ok := panetest.Last[common.InspectMsg](f.d); !ok || m.OID != f.point {
		t.Fatalf("i sent %+v", f.d.Out)
	}
	// A reference slot's target: Lobby.traits.
	f.d.Send(panetest.Key("g"))
	f.selectSlot(t, "traits")
	f.d.Send(panetest.Key("i"))
	if m, _ := panetest.Last[common.InspectMsg](f.d); m.OID != 2 {
		t.Fatalf("i on a reference sent %+v", m)
	}
	// BrowseMsg selects the object and shows the selector's source.
	f.d.Send(common.BrowseMsg{OID: f.point, Selector: "norm"})
	if f.m.rows[f.m.cursor].oid != f.point || f.m.col != colSource {
		t.Fatalf("browse: row %v col %v", f.m.rows[f.m.cursor], f.m.col)
	}
	if e, ok := f.m.selectedSlot(); !ok || e.slot.Name != "norm" {
		t.Fatalf("browse selected %+v", e)
	}
	// BrowseMsg for an object not yet shown expands the path to it.
	res, err := f.img.Eval(context.Background(), `q := NewObject(); Lobby.Get("point").(Object).Set("inner", q); q`)
	if err != nil {
		t.Fatal(err)
	}
	f.d.Send(common.BrowseMsg{OID: res.Value.Object.OID})
	if f.m.rows[f.m.cursor].path != "Lobby/point/inner" {
		t.Fatalf("browse by path: %v", f.paths())
	}
	// A commit elsewhere reloads what it touched.
	tx, err := f.img.SetSlot(context.Background(), res.Value.Object.OID, "w", api.Int(99))
	if err != nil {
		t.Fatal(err)
	}
	f.d.Send(common.EventMsg{Event: api.Event{Type: api.EventCommit, Tx: &api.Tx{ID: tx.ID, Changed: []api.Ref{{OID: res.Value.Object.OID}}}}})
	if !strings.Contains(panetest.Plain(f.m.View()), "w = 99") {
		t.Fatalf("the commit did not reload the object:\n%s", panetest.Plain(f.m.View()))
	}
}

func TestGolden(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			f := setup(t)
			f.m.SetSize(size[0], size[1])
			f.d.Send(common.BrowseMsg{OID: f.point, Selector: "norm"})
			panetest.Golden(t, fmt.Sprintf("browser_%dx%d", size[0], size[1]), f.m.View())
		})
	}
}

// TestSourceShowsTheAuthor: the source column's header names who wrote the
// method, the user or the model.
func TestSourceShowsTheAuthor(t *testing.T) {
	f := setup(t)
	s := f.img.System.Kernel().NewSession("pLLM/BRICK")
	if _, err := s.Run(context.Background(), "define grow", func(kernel.Object) error {
		s.Object(image.OID(f.point)).Define("grow", "func grow(self Object) int { return 1 }")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for sel, want := range map[string]string{"norm": "norm · by user", "grow": "grow · by pLLM/BRICK"} {
		f.d.Send(common.BrowseMsg{OID: f.point, Selector: sel})
		if view := panetest.Plain(f.m.View()); !strings.Contains(view, want) {
			t.Fatalf("%s: the source header does not name its author (%q):\n%s", sel, want, view)
		}
	}
}

func TestHighlightColours(t *testing.T) {
	lines := newHighlighter().Lines(normSrc)
	if len(lines) != 3 || !strings.Contains(lines[0], "\x1b[") {
		t.Fatalf("not highlighted: %q", lines)
	}
}

// TestTeatest drives the browser as a program: the first frame shows the
// tree, and keys move through it.
func TestTeatest(t *testing.T) {
	f := setup(t)
	// Wait on the rendered view, not the renderer's output bytes: those
	// redraw only changed cells, so text can arrive split.
	screen := commontest.Record(&panetest.Harness{Pane: New(panetest.Common(f.img))})
	tm := teatest.NewTestModel(t, screen, teatest.WithInitialTermSize(120, 30))
	// The tree's row, not the slot list's "point → object 15", which the
	// Lobby's view shows before the tree has loaded its children: G on a
	// tree of one row stays there.
	screen.WaitFor(t, 20*time.Second, fmt.Sprintf("▸ point #%d", f.point))
	tm.Send(panetest.Key("G"))
	screen.WaitFor(t, 20*time.Second, "norm()")
	tm.Send(panetest.Key("ctrl+c"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}
