package system_test

import (
	"context"
	"strings"
	"testing"

	"batos/api"
	"batos/system"
)

// openSystem opens a fresh image with no pLLM (no sandbox child).
func openSystem(t *testing.T) *system.System {
	t.Helper()
	sys, err := system.Open(t.TempDir(), system.Options{NoPLLM: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sys.Close(); err != nil {
			t.Error(err)
		}
	})
	return sys
}

func open(t *testing.T) *system.Client {
	t.Helper()
	c, err := openSystem(t).Connect("user")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLocal(t *testing.T) {
	t.Setenv("BATOS_LLM_URL", "http://127.0.0.1:1") // no model server
	l := open(t)
	ctx := context.Background()
	events, cancel := l.Subscribe(64)
	defer cancel()

	res, err := l.Eval(ctx, `p := NewObject(); p.Set("name", "point"); p.Set("x", 3); Lobby.Set("point", p); fmt.Println("made"); p`)
	if err != nil || res.Value.Object == nil || res.Value.Kind != api.ValueObject || res.Value.Text != "point (object "+strings.TrimPrefix(res.Value.Text, "point (object ") {
		t.Fatalf("eval = %+v, %v", res, err)
	}
	oid := res.Value.Object.OID
	var sawOutput, sawCommit bool
	for !(sawOutput && sawCommit) {
		ev := <-events
		sawOutput = sawOutput || (ev.Type == api.EventOutput && ev.Output == "made\n" && ev.Client == "user")
		sawCommit = sawCommit || (ev.Type == api.EventCommit && ev.Tx.ID == res.Tx)
	}

	if _, err := l.Define(ctx, oid, "norm", "func norm(self Object) int { return self.Get(\"x\").(int) * 2 }"); err != nil {
		t.Fatal(err)
	}
	_, err = l.Define(ctx, oid, "norm", "func norm(self Object) int {\n\treturn oops\n}")
	if e, ok := err.(*api.Error); !ok || e.Kind != api.ErrCompile || e.Line != 2 {
		t.Fatalf("a method that does not compile: %#v, want an *api.Error of kind compile on line 2", err)
	}
	if _, err := l.Define(ctx, oid, "norm", "func norm(self Object) int { return 3 }"); err != nil {
		t.Fatal(err)
	}
	lit, err := api.ParseLiteral(`[]any{1, "a"}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetSlot(ctx, oid, "y", lit); err != nil {
		t.Fatal(err)
	}
	v, err := l.Object(ctx, oid)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, s := range v.Slots {
		kinds[s.Name] = s.Kind
		if s.Value != nil {
			kinds[s.Name] += " " + s.Value.Type + " " + s.Value.Text
		}
		if s.Kind == api.KindMethod && s.Author != "user" {
			t.Errorf("method %s: author %q, want the session's principal", s.Name, s.Author)
		}
	}
	for _, s := range v.Inherited {
		if s.Name == "isNil" && s.Author != "awakening" {
			t.Errorf("the codex's isNil: author %q, want awakening", s.Author)
		}
	}
	if kinds["x"] != "data int 3" || kinds["y"] != `data []any []any{1, "a"}` || kinds["norm"] != "method" || kinds["parent*"] != "parent Object traits (object 2)" {
		t.Fatalf("slots = %v", kinds)
	}
	inherited := map[string]bool{}
	for _, s := range v.Inherited {
		inherited[s.Name] = true
	}
	if !inherited["printString"] || inherited["name"] {
		t.Fatalf("inherited = %v (shadowed slots must be left out)", inherited)
	}
	sels, err := l.Selectors(ctx, oid)
	if err != nil || sels[0] != "name" || !contains(sels, "printString") {
		t.Fatalf("selectors = %v, %v", sels, err)
	}
	kids, err := l.Children(ctx, 1)
	if err != nil || !containsChild(kids, "point", oid) {
		t.Fatalf("children of Lobby = %+v, %v", kids, err)
	}
	vers, err := l.Versions(ctx, oid, "norm")
	if err != nil || len(vers) != 2 || !strings.Contains(vers[0].Source, "return 3") || !strings.Contains(vers[1].Source, "* 2") {
		t.Fatalf("versions = %+v, %v", vers, err)
	}
	_, err = l.Undo(ctx, vers[0].Tx)
	if e, ok := err.(*api.Error); !ok || e.Kind != api.ErrUndoConflict || e.Object.OID != oid || e.ChangedBy <= vers[0].Tx || e.Tx != vers[0].Tx {
		t.Fatalf("undo of a tx whose object changed since: %#v, want an undo conflict naming the object and the later tx", err) // SetSlot changed it after
	}
	if _, err := l.RenameSlot(ctx, oid, "y", "why"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.RemoveSlot(ctx, oid, "why"); err != nil {
		t.Fatal(err)
	}
	c, err := l.Clone(ctx, oid, 1, "point2")
	if err != nil || c.OID == oid {
		t.Fatalf("clone = %+v, %v", c, err)
	}
	hits, err := l.Search(ctx, "nrm", 10)
	if err != nil || len(hits) == 0 || hits[0].Selector != "norm" {
		t.Fatalf("search = %+v, %v", hits, err)
	}
	hist, err := l.History(ctx, 0, 3)
	if err != nil || len(hist) != 3 || hist[0].Note != "clone into point2" || hist[0].Changed[len(hist[0].Changed)-1].Name != "Lobby" {
		t.Fatalf("history = %+v, %v", hist, err)
	}
	st, err := l.Status(ctx)
	if err != nil || st.Objects < 10 || st.LastTx.ID != hist[0].ID || st.PLLMOnline || st.Client != "user" || st.Clients != 1 {
		t.Fatalf("status = %+v, %v", st, err)
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func containsChild(kids []api.Child, slot string, oid uint64) bool {
	for _, k := range kids {
		if k.Slot == slot && k.OID == oid {
			return true
		}
	}
	return false
}

// TestInputsRecordedInTheirTransaction: an input that succeeds joins the
// history in its own transaction (no second commit); a failing one does
// not; tool edits through SetSlot are not the user's input.
func TestInputsRecordedInTheirTransaction(t *testing.T) {
	sys := openSystem(t)
	l := connect(t, sys, "user")
	l.RecordInputs()
	ctx := context.Background()
	// A client that does not record leaves the history alone.
	other := connect(t, sys, "script")
	if _, err := other.Eval(ctx, `Lobby.Set("z", 0)`); err != nil {
		t.Fatal(err)
	}
	res, err := l.Eval(ctx, `Lobby.Set("a", 1)`)
	if err != nil {
		t.Fatal(err)
	}
	st, err := l.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := st.LastTx.ID
	if last != res.Tx {
		t.Fatalf("recording the input took another transaction: last %d, input %d", last, res.Tx)
	}
	if _, err := l.Eval(ctx, `Lobby.Send("nope")`); err == nil {
		t.Fatal("nope succeeded")
	}
	if _, err := l.SetSlot(ctx, api.LobbyOID, "b", api.Int(2)); err != nil {
		t.Fatal(err)
	}
	got, err := l.Eval(ctx, `Lobby.Get("workspace").(Object).Get("history")`)
	if err != nil || len(got.Value.Items) != 1 || got.Value.Items[0].String != `Lobby.Set("a", 1)` {
		t.Fatalf("history = %+v, %v", got.Value, err)
	}
}
