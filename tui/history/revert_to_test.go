package history

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/panetest"
)

// area is the source of box's area answering n.
func area(n int) string {
	return fmt.Sprintf("func area(self Object) int {\n\treturn %d\n}", n)
}

type revertFixture struct {
	img  panetest.Image
	d    *panetest.Driver
	m    *Model
	box  uint64
	defs []uint64 // the transactions that defined area, oldest first
}

// setupRevert: box with area defined twice (answering 1, then 2); a
// history pane over the image (wrapped by wrap, when given), showing
// area's versions, newest first.
func setupRevert(t *testing.T, wrap func(panetest.Image) api.Image) *revertFixture {
	t.Helper()
	img := panetest.Open(t)
	ctx := context.Background()
	res, err := img.Eval(ctx, `b := NewObject(); Lobby.Set("box", b); b`)
	if err != nil {
		t.Fatal(err)
	}
	f := &revertFixture{img: img, box: res.Value.Object.OID}
	for n := 1; n <= 2; n++ {
		tx, err := img.Define(ctx, f.box, "area", area(n))
		if err != nil {
			t.Fatal(err)
		}
		f.defs = append(f.defs, tx.ID)
	}
	var pimg api.Image = img
	if wrap != nil {
		pimg = wrap(img)
	}
	f.m = New(panetest.Common(pimg))
	f.m.formatTime = func(time.Time) string { return "12:00:00" }
	f.m.SetSize(100, 30)
	f.m.Focus()
	f.d = &panetest.Driver{TB: t, Pane: f.m}
	f.d.Init()
	// The newest transaction is the second define: its versions.
	f.d.Send(panetest.Key("g"), panetest.Key("v"))
	if f.m.mode != modeVersions || len(f.m.versions) != 2 {
		t.Fatalf("mode %v, %d versions (%s)", f.m.mode, len(f.m.versions), f.m.status)
	}
	return f
}

// source is area's source in the image, "" when box has no area.
func (f *revertFixture) source(t *testing.T) string {
	t.Helper()
	v, err := f.img.Object(context.Background(), f.box)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range v.Slots {
		if s.Name == "area" {
			return s.Source
		}
	}
	return ""
}

// answer is what sending area to box answers, printed. The send is a
// transaction of its own: take newest before it.
func (f *revertFixture) answer(t *testing.T) string {
	t.Helper()
	res, err := f.img.Eval(context.Background(), `Lobby.At("box").Send("area")`)
	if err != nil {
		t.Fatal(err)
	}
	return res.Value.Text
}

// newest is the image's newest transaction.
func (f *revertFixture) newest(t *testing.T) uint64 {
	t.Helper()
	txs, err := f.img.History(context.Background(), 0, 1)
	if err != nil || len(txs) != 1 {
		t.Fatalf("history: %v %v", txs, err)
	}
	return txs[0].ID
}

// TestRevertToVersion: r on an older version, confirmed, defines the
// method again with that version's source, as a new transaction that the
// history lists, the versions show (the cursor on it, its diff the
// revert) and u can undo.
func TestRevertToVersion(t *testing.T) {
	f := setupRevert(t, nil)
	if f.answer(t) != "2" {
		t.Fatalf("area answers %s before the revert", f.answer(t))
	}
	// The older version, then r: a question, naming the method and the version.
	f.d.Send(panetest.Key("j"), panetest.Key("r"))
	if f.m.versions[f.m.vCursor].Tx != f.defs[0] {
		t.Fatalf("cursor on tx %d", f.m.versions[f.m.vCursor].Tx)
	}
	if !f.m.Editing() || !panetest.Contains(f.m.View(), fmt.Sprintf("revert object %d › area to its source of tx %d", f.box, f.defs[0]), "y/n") {
		t.Fatalf("r did not ask:\n%s", panetest.Plain(f.m.View()))
	}
	f.d.Send(panetest.Key("y"))
	if f.m.Editing() {
		t.Fatal("still asking after y")
	}
	revert := f.newest(t)
	if revert <= f.defs[1] {
		t.Fatalf("no new transaction: newest %d", revert)
	}
	if got := f.source(t); got != area(1) {
		t.Fatalf("area's source after the revert: %q (%s)", got, f.m.status)
	}
	if got := f.answer(t); got != "1" {
		t.Fatalf("area answers %s after the revert", got)
	}
	// The new transaction: in the status line, on top of the list, and the
	// newest version, under the cursor, its diff from 2 back to 1.
	if want := fmt.Sprintf("reverted object %d › area to tx %d as tx %d", f.box, f.defs[0], revert); f.m.status != want {
		t.Fatalf("status %q, want %q", f.m.status, want)
	}
	if !panetest.Contains(f.m.View(), fmt.Sprintf("as tx %d", revert)) {
		t.Fatalf("status not shown:\n%s", panetest.Plain(f.m.View()))
	}
	if f.m.txs[0].ID < revert {
		t.Fatalf("list's top is tx %d, want %d", f.m.txs[0].ID, revert)
	}
	if f.m.mode != modeVersions || len(f.m.versions) != 3 || f.m.versions[0].Tx != revert || f.m.vCursor != 0 {
		t.Fatalf("versions not refreshed: %d versions, cursor %d, mode %v", len(f.m.versions), f.m.vCursor, f.m.mode)
	}
	if d := f.m.Diff(); !strings.Contains(d, "-\treturn 2") || !strings.Contains(d, "+\treturn 1") {
		t.Fatalf("diff of the revert:\n%s", d)
	}
	// The revert is a transaction like any other: u undoes it.
	f.d.Send(panetest.Key("esc"), panetest.Key("g"), panetest.Key("u"), panetest.Key("y"))
	if got := f.answer(t); got != "2" {
		t.Fatalf("area answers %s after undoing the revert (%s)", got, f.m.status)
	}
}

// TestRevertToVersionDeclined: n (or esc) to the question changes nothing.
func TestRevertToVersionDeclined(t *testing.T) {
	f := setupRevert(t, nil)
	for _, no := range []string{"n", "esc"} {
		before := f.newest(t)
		f.d.Send(panetest.Key("G"), panetest.Key("r"))
		if !f.m.Editing() {
			t.Fatal("r did not ask")
		}
		f.d.Send(panetest.Key(no))
		if f.m.Editing() || f.m.mode != modeVersions {
			t.Fatalf("%s: still asking, or left the versions (mode %v)", no, f.m.mode)
		}
		if n := f.newest(t); n != before {
			t.Fatalf("%s made tx %d", no, n)
		}
		if got := f.source(t); got != area(2) {
			t.Fatalf("%s changed area: %q", no, got)
		}
		if got := f.answer(t); got != "2" {
			t.Fatalf("%s: area answers %s", no, got)
		}
		if len(f.m.versions) != 2 || panetest.Contains(f.m.View(), "reverted") {
			t.Fatalf("%s: %d versions, view:\n%s", no, len(f.m.versions), panetest.Plain(f.m.View()))
		}
	}
}

// TestRevertToVersionRefused: a version with no source (its transaction
// removed the method) and the current version are refused in one line,
// with no question and no transaction.
func TestRevertToVersionRefused(t *testing.T) {
	f := setupRevert(t, nil)
	ctx := context.Background()
	removed, err := f.img.RemoveSlot(ctx, f.box, "area")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.img.Define(ctx, f.box, "area", area(3)); err != nil {
		t.Fatal(err)
	}
	f.d.Send(panetest.Key("esc"), panetest.Key("g"), panetest.Key("v"))
	if len(f.m.versions) != 4 || f.m.versions[1].Tx != removed.ID || f.m.versions[1].Source != "" {
		t.Fatalf("versions %+v", f.m.versions)
	}
	before := f.newest(t)
	f.d.Send(panetest.Key("j"), panetest.Key("r"))
	if f.m.Editing() || !f.m.statusErr || !strings.Contains(f.m.status, fmt.Sprintf("tx %d removed area: no source to revert to", removed.ID)) {
		t.Fatalf("removed version: editing %v, status %q", f.m.Editing(), f.m.status)
	}
	if v := f.m.View(); !panetest.Contains(v, "no source to revert to") {
		t.Fatalf("view:\n%s", panetest.Plain(v))
	}
	f.d.Send(panetest.Key("g"), panetest.Key("r"))
	if f.m.Editing() || !strings.Contains(f.m.status, "is the current source") {
		t.Fatalf("current version: editing %v, status %q", f.m.Editing(), f.m.status)
	}
	if n := f.newest(t); n != before || f.source(t) != area(3) {
		t.Fatalf("a refused revert changed the image: newest %d, area %q", n, f.source(t))
	}
}

// failingDefine is an image whose Define fails with err.
type failingDefine struct {
	panetest.Image
	err error
}

func (f failingDefine) Define(context.Context, uint64, string, string) (api.Tx, error) {
	return api.Tx{}, f.err
}

// TestRevertToVersionFails: a define that fails (a compile error, say) is
// one line in the footer, and nothing changes.
func TestRevertToVersionFails(t *testing.T) {
	f := setupRevert(t, func(img panetest.Image) api.Image {
		return failingDefine{Image: img, err: &api.Error{Kind: api.ErrCompile, Line: 2, Message: "compile error:\nline 2: undefined: x"}}
	})
	before := f.newest(t)
	f.d.Send(panetest.Key("j"), panetest.Key("r"), panetest.Key("y"))
	if !f.m.statusErr || !strings.Contains(f.m.status, fmt.Sprintf("cannot revert object %d › area to tx %d:", f.box, f.defs[0])) ||
		!strings.Contains(f.m.status, "undefined: x") || strings.Contains(f.m.status, "\n") {
		t.Fatalf("status %q", f.m.status)
	}
	if !panetest.Contains(f.m.View(), "cannot revert object") {
		t.Fatalf("view:\n%s", panetest.Plain(f.m.View()))
	}
	if n := f.newest(t); n != before || f.source(t) != area(2) || len(f.m.versions) != 2 || f.m.vCursor != 1 {
		t.Fatalf("a failed revert changed something: newest %d, area %q, %d versions, cursor %d", n, f.source(t), len(f.m.versions), f.m.vCursor)
	}
	// The next key clears the error.
	f.d.Send(panetest.Key("k"))
	if f.m.status != "" || f.m.statusErr {
		t.Fatalf("status %q after a key", f.m.status)
	}
}

// TestDiffInFull: f in the versions view shows the diff the pane shows,
// whole, in the pager.
func TestDiffInFull(t *testing.T) {
	f := setupRevert(t, nil)
	f.d.Send(panetest.Key("f"))
	p, ok := panetest.Last[common.PagerMsg](f.d)
	if !ok || p.Text != f.m.Diff() || !strings.Contains(p.Text, "-\treturn 1") || !strings.Contains(p.Text, "+\treturn 2") || !strings.Contains(p.Title, "area: diff") {
		t.Fatalf("pager %+v\ndiff %q", p, f.m.Diff())
	}
}
