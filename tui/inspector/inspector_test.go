package inspector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

type fixture struct {
	img          panetest.Image
	d            *panetest.Driver
	m            *Model
	point, inner uint64
}

// setup opens an image with point = {name, x: 3, inner: {z: true}} and an
// inspector on point, 80×24.
func setup(t *testing.T) *fixture {
	t.Helper()
	img := panetest.Open(t)
	res, err := img.Eval(context.Background(), `q := NewObject(); q.Set("z", true); p := NewObject(); p.Set("name", "point"); p.Set("x", 3); p.Set("inner", q); Lobby.Set("point", p); p`)
	if err != nil {
		t.Fatal(err)
	}
	m := New(panetest.Common(img))
	m.SetSize(80, 24)
	m.Focus()
	d := &panetest.Driver{TB: t, Pane: m}
	d.Init()
	d.Send(common.InspectMsg{OID: res.Value.Object.OID})
	inner, err := img.Eval(context.Background(), `Lobby.Get("point").(Object).Get("inner")`)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{img: img, d: d, m: m, point: res.Value.Object.OID, inner: inner.Value.Object.OID}
}

func (f *fixture) to(t *testing.T, slot string) {
	t.Helper()
	f.d.Send(panetest.Key("g"))
	for range f.m.top().items {
		if it, _ := f.m.selected(); it.slot.Name == slot {
			return
		}
		f.d.Send(panetest.Key("j"))
	}
	t.Fatalf("no slot %s", slot)
}

func TestDrillInAndBack(t *testing.T) {
	f := setup(t)
	if f.m.Depth() != 1 || f.m.top().view.Name != fmt.Sprintf("point (object %d)", f.point) {
		t.Fatalf("top = %+v", f.m.top().view.Ref)
	}
	view := panetest.Plain(f.m.View())
	for _, want := range []string{"x", "int", "3", fmt.Sprintf("→ object %d", f.inner), "isNil", "(traits (object 2))"} {
		if !strings.Contains(view, want) {
			t.Fatalf("view lacks %q:\n%s", want, view)
		}
	}
	f.to(t, "x")
	f.d.Send(panetest.Key("enter"))
	if f.m.Depth() != 1 || f.m.status == "" {
		t.Fatal("enter on a value pushed a frame")
	}
	f.to(t, "inner")
	f.d.Send(panetest.Key("enter"))
	if f.m.Depth() != 2 || f.m.top().oid != f.inner {
		t.Fatalf("drill in: depth %d, top %d", f.m.Depth(), f.m.top().oid)
	}
	if !panetest.Contains(f.m.View(), fmt.Sprintf("point (object %d) › object %d", f.point, f.inner), "z", "bool", "true") {
		t.Fatalf("inner view:\n%s", panetest.Plain(f.m.View()))
	}
	f.d.Send(panetest.Key("backspace"))
	if f.m.Depth() != 1 || f.m.top().oid != f.point {
		t.Fatal("backspace did not pop")
	}
	f.d.Send(panetest.Key("enter"), panetest.Key("h"))
	if f.m.Depth() != 1 {
		t.Fatal("h did not pop")
	}
	// The cursor stayed on inner while we were away.
	if it, _ := f.m.selected(); it.slot.Name != "inner" {
		t.Fatalf("cursor on %s", it.slot.Name)
	}
	// b on the frame asks the browser to show the object.
	f.to(t, "isNil")
	f.d.Send(panetest.Key("b"))
	if b, ok := panetest.Last[common.BrowseMsg](f.d); !ok || b.OID != 2 || b.Selector != "isNil" {
		t.Fatalf("b sent %+v", b)
	}
}

func TestEditSlotByLiteral(t *testing.T) {
	f := setup(t)
	f.to(t, "x")
	f.d.Send(panetest.Key("e"))
	if !f.m.Editing() {
		t.Fatal("e did not edit")
	}
	f.d.Send(panetest.Key("backspace"))
	f.d.Send(panetest.Type(`[]any{1, "two"}`)...)
	if !f.m.Dirty() {
		t.Fatal("a typed literal is not dirty")
	}
	f.d.Send(panetest.Key("enter"))
	if f.m.Editing() {
		t.Fatalf("still editing: %v", f.m.editErr)
	}
	v, _ := f.img.Object(context.Background(), f.point)
	for _, s := range v.Slots {
		if s.Name == "x" && (s.Value.Type != "[]any" || s.Value.Text != `[]any{1, "two"}`) {
			t.Fatalf("x = %+v", s)
		}
	}
	if !panetest.Contains(f.m.View(), `[]any{1, "two"}`) {
		t.Fatalf("view not reloaded:\n%s", panetest.Plain(f.m.View()))
	}
	// A bad literal: the error under the slot, the literal kept, nothing set.
	before, _ := f.img.History(context.Background(), 0, 1)
	f.d.Send(panetest.Key("e"), panetest.Key("ctrl+u"))
	f.d.Send(panetest.Type("3 +")...)
	f.d.Send(panetest.Key("enter"))
	if !f.m.Editing() || api.KindOf(f.m.editErr) != api.ErrSyntax || f.m.input.Value() != "3 +" {
		t.Fatalf("bad literal: editing %v err %v value %q", f.m.Editing(), f.m.editErr, f.m.input.Value())
	}
	if !panetest.Contains(f.m.View(), "✗ 1:4:") {
		t.Fatalf("no inline error:\n%s", panetest.Plain(f.m.View()))
	}
	if after, _ := f.img.History(context.Background(), 0, 1); after[0].ID != before[0].ID {
		t.Fatalf("a refused literal committed tx %d", after[0].ID)
	}
	f.d.Send(panetest.Key("esc"))
	if f.m.Editing() {
		t.Fatal("esc did not cancel")
	}
	// Inherited slots are not edited here.
	f.to(t, "isNil")
	f.d.Send(panetest.Key("e"))
	if f.m.Editing() {
		t.Fatal("edited an inherited slot")
	}
}

func TestValueAndEvents(t *testing.T) {
	f := setup(t)
	f.d.Send(common.InspectValueMsg{Value: api.Int(42)})
	// A value inspected anew starts a trail of its own.
	if f.m.Depth() != 1 || !panetest.Contains(f.m.View(), "a value of type int", " 42") {
		t.Fatalf("value frame:\n%s", panetest.Plain(f.m.View()))
	}
	f.d.Send(common.InspectMsg{OID: f.point})
	tx, err := f.img.SetSlot(context.Background(), f.point, "x", api.Int(99))
	if err != nil {
		t.Fatal(err)
	}
	f.d.Send(common.EventMsg{Event: api.Event{Type: api.EventCommit, Tx: &api.Tx{ID: tx.ID, Changed: []api.Ref{{OID: f.point}}}}})
	if !panetest.Contains(f.m.View(), "99") {
		t.Fatalf("event did not reload:\n%s", panetest.Plain(f.m.View()))
	}
}

func TestGolden(t *testing.T) {
	f := setup(t)
	panetest.Golden(t, "inspector_80x24", f.m.View())
	f.m.SetSize(160, 48)
	panetest.Golden(t, "inspector_160x48", f.m.View())
}

func TestTeatest(t *testing.T) {
	f := setup(t)
	// Wait on the rendered view, not the renderer's output bytes: those
	// redraw only changed cells, so text can arrive split.
	screen := commontest.Record(&panetest.Harness{Pane: f.m})
	tm := teatest.NewTestModel(t, screen, teatest.WithInitialTermSize(100, 30))
	screen.WaitFor(t, 5*time.Second, "inner")
	tm.Send(panetest.Key("g"))
	for range 3 {
		tm.Send(panetest.Key("j"))
	}
	tm.Send(panetest.Key("enter"))
	screen.WaitFor(t, 5*time.Second, "bool")
	tm.Send(panetest.Key("ctrl+c"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}
