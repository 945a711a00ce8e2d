package history

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
	img   panetest.Image
	d     *panetest.Driver
	m     *Model
	point uint64
	defs  []uint64 // the transactions that defined norm, oldest first
	set   uint64   // the transaction that set x after them
}

func method(n int) string {
	return fmt.Sprintf("func norm(self Object) int {\n\tx := self.Get(\"x\").(int)\n\treturn x * %d\n}", n)
}

// setup: point with norm defined three times, then x set; a history pane
// over it, 80×24, its clock fixed.
func setup(t *testing.T) *fixture {
	t.Helper()
	img := panetest.Open(t)
	ctx := context.Background()
	res, err := img.Eval(ctx, `p := NewObject(); p.Set("x", 3); Lobby.Set("point", p); p`)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{img: img, point: res.Value.Object.OID}
	for n := 1; n <= 3; n++ {
		tx, err := img.Define(ctx, f.point, "norm", method(n))
		if err != nil {
			t.Fatal(err)
		}
		f.defs = append(f.defs, tx.ID)
	}
	tx, err := img.SetSlot(ctx, f.point, "x", api.Int(4))
	if err != nil {
		t.Fatal(err)
	}
	f.set = tx.ID
	f.m = New(panetest.Common(img))
	f.m.formatTime = func(time.Time) string { return "12:00:00" }
	f.m.SetSize(80, 24)
	f.m.Focus()
	f.d = &panetest.Driver{TB: t, Pane: f.m}
	f.d.Init()
	return f
}

func (f *fixture) selectTx(t *testing.T, id uint64) {
	t.Helper()
	f.d.Send(panetest.Key("g"))
	for range f.m.txs {
		if tx, _ := f.m.selectedTx(); tx.ID == id {
			return
		}
		f.d.Send(panetest.Key("j"))
	}
	t.Fatalf("tx %d not listed", id)
}

func TestListNewestFirstAndLive(t *testing.T) {
	f := setup(t)
	var ids []uint64
	for _, tx := range f.m.txs {
		ids = append(ids, tx.ID)
	}
	if fmt.Sprint(ids) != fmt.Sprint([]uint64{f.set, f.defs[2], f.defs[1], f.defs[0], f.defs[0] - 1, 1}) {
		t.Fatalf("ids = %v", ids)
	}
	f.selectTx(t, f.defs[1])
	if !panetest.Contains(f.m.View(), fmt.Sprintf("tx %d", f.defs[1]), "principal  user", "note      define norm", fmt.Sprintf("object %d", f.point)) {
		t.Fatalf("detail:\n%s", panetest.Plain(f.m.View()))
	}
	// A commit arrives as an event: it goes on top, with its slot changes;
	// the cursor stays on its transaction.
	tx, err := f.img.SetSlot(context.Background(), f.point, "y", api.Bool(true))
	if err != nil {
		t.Fatal(err)
	}
	f.d.Send(common.EventMsg{Event: api.Event{Type: api.EventCommit, Tx: &api.Tx{ID: tx.ID, Principal: "pLLM/BRICK", Note: "set y", Changed: []api.Ref{{OID: f.point, Name: "object 12"}}},
		Changes: []api.Change{{Object: api.Ref{OID: f.point}, Slots: []api.SlotChange{{Name: "y", Kind: "data", Op: "added"}}}}}})
	if f.m.txs[0].ID != tx.ID {
		t.Fatalf("new commit not on top: %v", f.m.txs[0])
	}
	if cur, _ := f.m.selectedTx(); cur.ID != f.defs[1] {
		t.Fatalf("cursor moved to %d", cur.ID)
	}
	f.d.Send(panetest.Key("g"))
	if !panetest.Contains(f.m.View(), "pLLM/BRICK", "added data y") {
		t.Fatalf("event detail:\n%s", panetest.Plain(f.m.View()))
	}
}

func TestPaging(t *testing.T) {
	defer func(n int) { pageSize = n }(pageSize)
	pageSize = 2
	f := setup(t)
	if len(f.m.txs) != 2 {
		t.Fatalf("first page: %d", len(f.m.txs))
	}
	for range 10 {
		f.d.Send(panetest.Key("j"))
	}
	if len(f.m.txs) != 6 || f.m.txs[5].ID != 1 {
		t.Fatalf("after paging: %d transactions", len(f.m.txs))
	}
}

func TestVersionsDiff(t *testing.T) {
	f := setup(t)
	f.selectTx(t, f.defs[2])
	f.d.Send(panetest.Key("v"))
	if f.m.mode != modeVersions || len(f.m.versions) != 3 {
		t.Fatalf("mode %v, versions %d (%s)", f.m.mode, len(f.m.versions), f.m.status)
	}
	// The newest against the one before it.
	d := f.m.Diff()
	if !strings.Contains(d, "-\treturn x * 2") || !strings.Contains(d, "+\treturn x * 3") || !strings.Contains(d, fmt.Sprintf("--- tx %d", f.defs[1])) {
		t.Fatalf("diff:\n%s", d)
	}
	// Any two: mark the newest, move to the oldest.
	f.d.Send(panetest.Key("space"), panetest.Key("G"))
	d = f.m.Diff()
	if !strings.Contains(d, "-\treturn x * 1") || !strings.Contains(d, "+\treturn x * 3") ||
		!strings.Contains(d, fmt.Sprintf("--- tx %d", f.defs[0])) || !strings.Contains(d, fmt.Sprintf("+++ tx %d", f.defs[2])) {
		t.Fatalf("diff of marked pair:\n%s", d)
	}
	if !panetest.Contains(f.m.View(), "+    return x * 3", "-    return x * 1") {
		t.Fatalf("view:\n%s", panetest.Plain(f.m.View()))
	}
	f.d.Send(panetest.Key("esc"))
	if f.m.mode != modeList {
		t.Fatal("esc did not go back")
	}
}

func TestVersionsChooseFromContext(t *testing.T) {
	f := setup(t)
	if _, err := f.img.Define(context.Background(), f.point, "other", "func other(self Object) int { return 0 }"); err != nil {
		t.Fatal(err)
	}
	f.d.Send(common.BrowseMsg{OID: f.point, Selector: "other"})
	f.selectTx(t, f.defs[0])
	f.d.Send(panetest.Key("v"))
	if f.m.mode != modeChoose || f.m.choices[0].selector != "other" || len(f.m.choices) != 2 {
		t.Fatalf("choices %+v", f.m.choices)
	}
	f.d.Send(panetest.Key("j"), panetest.Key("enter"))
	if f.m.mode != modeVersions || f.m.method.selector != "norm" {
		t.Fatalf("chose %+v", f.m.method)
	}
}

func TestRevertAndConflict(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	// A revert of the newest transaction applies: x is 3 again.
	f.selectTx(t, f.set)
	f.d.Send(panetest.Key("u"))
	if !f.m.Editing() || !panetest.Contains(f.m.View(), fmt.Sprintf("revert tx %d", f.set)) {
		t.Fatal("u did not ask")
	}
	f.d.Send(panetest.Key("n"))
	if res, _ := f.img.Eval(ctx, `Lobby.Get("point").(Object).Get("x")`); res.Value.Text != "4" {
		t.Fatalf("n reverted: x = %s", res.Value.Text)
	}
	f.d.Send(panetest.Key("u"), panetest.Key("y"))
	if res, _ := f.img.Eval(ctx, `Lobby.Get("point").(Object).Get("x")`); res.Value.Text != "3" {
		t.Fatalf("x = %s after revert (%s)", res.Value.Text, f.m.status)
	}
	if !strings.Contains(f.m.status, fmt.Sprintf("reverted tx %d", f.set)) || f.m.txs[0].ID <= f.set {
		t.Fatalf("status %q, top %d", f.m.status, f.m.txs[0].ID)
	}
	// A revert of an older define conflicts: point changed since.
	f.selectTx(t, f.defs[1])
	f.d.Send(panetest.Key("u"), panetest.Key("y"))
	// The error names the last transaction that changed point: the revert.
	text := strings.Join(f.m.conflict, "\n")
	last := f.m.txs[0].ID
	if !strings.Contains(text, fmt.Sprintf("object %d was changed since by tx %d by user: undo %d", f.point, last, f.set)) {
		t.Fatalf("conflict = %q", text)
	}
	if !panetest.Contains(f.m.View(), "cannot revert tx") {
		t.Fatalf("conflict not shown:\n%s", panetest.Plain(f.m.View()))
	}
	v, _ := f.img.Object(ctx, f.point)
	for _, s := range v.Slots {
		if s.Name == "norm" && s.Source != method(3) {
			t.Fatalf("the conflicting revert changed norm: %q", s.Source)
		}
	}
}

func TestGolden(t *testing.T) {
	f := setup(t)
	f.selectTx(t, f.defs[2])
	panetest.Golden(t, "history_80x24", f.m.View())
	f.m.SetSize(160, 48)
	f.d.Send(panetest.Key("v"))
	panetest.Golden(t, "history_versions_160x48", f.m.View())
}

func TestTeatest(t *testing.T) {
	f := setup(t)
	// Wait on the rendered view, not the renderer's output bytes: those
	// redraw only changed cells, so text can arrive split.
	screen := commontest.Record(&panetest.Harness{Pane: New(panetest.Common(f.img))})
	tm := teatest.NewTestModel(t, screen, teatest.WithInitialTermSize(100, 30))
	screen.WaitFor(t, 5*time.Second, "define norm")
	tm.Send(panetest.Key("j"))
	tm.Send(panetest.Key("v"))
	screen.WaitFor(t, 5*time.Second, "3 versions")
	tm.Send(panetest.Key("ctrl+c"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// TestConflictNamesTheLaterTransaction: a failed revert is explained from
// the *api.Error's fields, not its message: the object, and the later
// transaction as the list shows it. The message here names neither.
func TestConflictNamesTheLaterTransaction(t *testing.T) {
	img := commontest.New()
	at := time.Date(2026, 11, 25, 18, 40, 0, 0, time.UTC)
	img.Txs = []api.Tx{
		{ID: 31, Time: at, Principal: "pLLM/ROBIN", Note: "define area", Changed: []api.Ref{{OID: 12, Name: "point (object 12)"}}},
		{ID: 30, Time: at, Principal: "user", Note: "set x", Changed: []api.Ref{{OID: 12, Name: "point (object 12)"}}},
	}
	img.UndoErr = &api.Error{Kind: api.ErrUndoConflict, Message: "cannot undo: changed since",
		Tx: 30, ChangedBy: 31, Object: &api.Ref{OID: 12, Name: "point (object 12)"}}
	m := New(panetest.Common(img))
	m.formatTime = func(time.Time) string { return "12:00:00" }
	m.SetSize(100, 24)
	m.Focus()
	d := &panetest.Driver{TB: t, Pane: m}
	d.Init()
	d.Send(panetest.Keys("j", "u", "y")...)
	text := strings.Join(m.conflict, "\n")
	if !strings.Contains(text, "point (object 12) was changed since by tx 31 by pLLM/ROBIN: define area") ||
		!strings.Contains(text, "revert the transactions after tx 30 first") {
		t.Fatalf("conflict = %q", text)
	}
	if !panetest.Contains(m.View(), "cannot revert tx 30", "was changed since by tx 31") {
		t.Fatalf("view:\n%s", panetest.Plain(m.View()))
	}

	// Another kind of error is shown as it is, with no advice.
	img.UndoErr = &api.Error{Kind: api.ErrNotFound, Message: "no transaction 30 (it named transaction 31)"}
	d.Send(panetest.Keys("u", "y")...)
	if text := strings.Join(m.conflict, "\n"); strings.Contains(text, "changed since by") || !strings.Contains(text, "no transaction 30") {
		t.Fatalf("not-found explained as a conflict: %q", text)
	}
}

// TestRefreshReloads: after the live feed lost events, the pane reloads
// its list, so that commits it never heard of appear.
func TestRefreshReloads(t *testing.T) {
	img := commontest.New()
	img.Txs = []api.Tx{{ID: 2, Principal: "user", Note: "first"}}
	m := New(panetest.Common(img))
	m.SetSize(100, 24)
	d := &panetest.Driver{TB: t, Pane: m}
	d.Init()
	img.Txs = append([]api.Tx{{ID: 5, Principal: "remote:alice", Note: "missed"}}, img.Txs...)
	d.Send(common.RefreshMsg{})
	if len(m.txs) != 2 || m.txs[0].ID != 5 {
		t.Fatalf("after refresh: %+v", m.txs)
	}
}
