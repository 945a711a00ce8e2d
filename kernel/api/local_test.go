package api_test

import (
	"context"
	"strings"
	"testing"

	"batos/kernel"
	"batos/kernel/api"
)

func open(t *testing.T) *api.Local {
	t.Helper()
	k, err := kernel.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	l := api.NewLocal(k, "user")
	t.Cleanup(func() { l.Close(); k.Close() })
	return l
}

func TestLocal(t *testing.T) {
	t.Setenv("BATOS_LLM_URL", "http://127.0.0.1:1") // no model server
	l := open(t)
	ctx := context.Background()
	events, cancel := l.Subscribe(64)
	defer cancel()

	res, err := l.Eval(ctx, `p := NewObject(); p.Set("name", "point"); p.Set("x", 3); Lobby.Set("point", p); fmt.Println("made"); p`)
	if err != nil || res.Object == nil || res.Text != "point (object "+strings.TrimPrefix(res.Text, "point (object ") {
		t.Fatalf("eval = %+v, %v", res, err)
	}
	oid := res.Object.OID
	var sawOutput, sawCommit bool
	for !(sawOutput && sawCommit) {
		ev := <-events
		sawOutput = sawOutput || (ev.Kind == api.EventOutput && ev.Output == "made\n")
		sawCommit = sawCommit || (ev.Kind == api.EventCommit && ev.Tx.ID == res.Tx)
	}

	if _, err := l.Define(ctx, oid, "norm", "func norm(self Object) int { return self.Get(\"x\").(int) * 2 }"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Define(ctx, oid, "norm", "func norm(self Object) int { return oops }"); err == nil {
		t.Fatal("a method that does not compile was accepted")
	}
	if _, err := l.Define(ctx, oid, "norm", "func norm(self Object) int { return 3 }"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetLiteral(ctx, oid, "y", `[]any{1, "a"}`); err != nil {
		t.Fatal(err)
	}
	v, err := l.Object(ctx, oid)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, s := range v.Slots {
		kinds[s.Name] = s.Kind + " " + s.Type + " " + s.Value
		if s.Kind == api.KindMethod && s.Author != "user" {
			t.Errorf("method %s: author %q, want the session's principal", s.Name, s.Author)
		}
	}
	for _, s := range v.Inherited {
		if s.Name == "isNil" && s.Author != "awakening" {
			t.Errorf("the codex's isNil: author %q, want awakening", s.Author)
		}
	}
	if kinds["x"] != "data int 3" || kinds["y"] != `data []any []any{1, "a"}` || kinds["norm"] != "method  " || kinds["parent*"] != "parent Object traits (object 2)" {
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
	if _, err := l.Undo(ctx, vers[0].Tx); err == nil {
		t.Fatal("undo of a tx whose object changed since succeeded") // SetLiteral changed it after
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
	if err != nil || st.Objects < 10 || st.LastTx.ID != hist[0].ID || st.PLLMOnline {
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
// not; tool edits through SetLiteral are not the user's input.
func TestInputsRecordedInTheirTransaction(t *testing.T) {
	l := open(t)
	ctx := context.Background()
	res, err := l.Eval(ctx, `Lobby.Set("a", 1)`)
	if err != nil {
		t.Fatal(err)
	}
	last := l.Kernel().Store().LastTx()
	if uint64(last) != res.Tx {
		t.Fatalf("recording the input took another transaction: last %d, input %d", last, res.Tx)
	}
	if _, err := l.Eval(ctx, `Lobby.Send("nope")`); err == nil {
		t.Fatal("nope succeeded")
	}
	if _, err := l.SetLiteral(ctx, api.LobbyOID, "b", "2"); err != nil {
		t.Fatal(err)
	}
	got, err := l.Eval(ctx, `Lobby.Get("workspace").(Object).Get("history")`)
	if err != nil || got.Text != `[]any{"Lobby.Set(\"a\", 1)"}` {
		t.Fatalf("history = %s, %v", got.Text, err)
	}
}
