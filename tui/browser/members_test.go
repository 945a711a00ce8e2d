package browser

import (
	"context"
	"strings"
	"testing"

	"batos/tui/common"
	"batos/tui/internal/panetest"
)

// TestListMembersInTree: objects held in a list slot (generation records
// in Lobby.pLLM.generations, jobs in Lobby.Forge.jobs) and in a map slot
// are the tree's children, named by index or key, the newest maxMembers
// of a list shown with a "… N more" row; a BrowseMsg for one finds it,
// even an older one, and selects it.
func TestListMembersInTree(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	res, err := f.img.Eval(ctx, `h := NewObject(); gens := []any{}
for i := 0; i < 60; i++ { g := NewObject(); g.Set("n", i); gens = append(gens, g) }
h.Set("generations", gens)
h.Set("byName", map[string]any{"a": NewObject(), "b": 3})
Lobby.Set("rec", h)
gens[59]`)
	if err != nil {
		t.Fatal(err)
	}
	newest := res.Value.Object.OID
	f.d.Send(common.RefreshMsg{}) // as the commit's event would: Lobby changed
	f.d.Send(common.BrowseMsg{OID: newest})
	r := f.m.rows[f.m.cursor]
	if r.path != "Lobby/rec/generations[59]" || f.m.objOID != newest || f.m.detached {
		t.Fatalf("browse to a list member: cursor on %+v, object %d, detached %v; rows %v", r, f.m.objOID, f.m.detached, f.paths())
	}
	f.d.Send(panetest.Key("l")) // load the selected object's slots view
	paths := strings.Join(f.paths(), " ")
	for _, want := range []string{"Lobby/rec/generations[10]", `Lobby/rec/byName["a"]`} {
		if !strings.Contains(paths, want+" ") && !strings.HasSuffix(paths, want) {
			t.Fatalf("%s not in the tree: %v", want, f.paths())
		}
	}
	if strings.Contains(paths, "Lobby/rec/generations[9] ") {
		t.Fatalf("more than %d members shown: %v", maxMembers, f.paths())
	}
	if i := strings.Index(paths, "Lobby/rec/generations[…]"); i < 0 || f.m.rows[strings.Count(paths[:i], " ")].more != 10 {
		t.Fatalf("no … 10 more row: %v", f.paths())
	}
	// An older member is found too: its list is shown whole.
	old, err := f.img.Eval(ctx, `Lobby.Get("rec").(Object).Get("generations").([]any)[2]`)
	if err != nil {
		t.Fatal(err)
	}
	f.d.Send(common.BrowseMsg{OID: old.Value.Object.OID})
	if r := f.m.rows[f.m.cursor]; r.path != "Lobby/rec/generations[2]" || f.m.objOID != old.Value.Object.OID || f.m.detached {
		t.Fatalf("browse to an older member: cursor on %+v; rows %v", r, f.paths())
	}
	if v := panetest.Plain(f.m.View()); !strings.Contains(v, "generations[2]") || !strings.Contains(v, "n = 2") {
		t.Fatalf("the older member is not shown:\n%s", v)
	}
}

// TestMoreRowExpands: enter on the "… N more" row shows the whole list.
func TestMoreRowExpands(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	res, err := f.img.Eval(ctx, `h := NewObject(); gens := []any{}
for i := 0; i < 55; i++ { gens = append(gens, NewObject()) }
h.Set("jobs", gens); Lobby.Set("forgeish", h); h`)
	if err != nil {
		t.Fatal(err)
	}
	f.d.Send(common.RefreshMsg{})
	f.d.Send(common.BrowseMsg{OID: res.Value.Object.OID})
	f.d.Send(panetest.Key("l")) // expand it
	more := -1
	for i, r := range f.m.rows {
		if r.more > 0 {
			more = i
		}
	}
	if more < 0 || f.m.rows[more].more != 5 {
		t.Fatalf("no … 5 more row: %v", f.paths())
	}
	for f.m.cursor < more {
		f.d.Send(panetest.Key("j"))
	}
	if v := panetest.Plain(f.m.View()); !strings.Contains(v, "… 5 more jobs") {
		t.Fatalf("the more row does not say … 5 more jobs:\n%s", v)
	}
	f.d.Send(panetest.Key("enter"))
	if !strings.Contains(strings.Join(f.paths(), " "), "Lobby/forgeish/jobs[0]") {
		t.Fatalf("enter on the more row did not show jobs[0]: %v", f.paths())
	}
}

// TestGenerationRecordBrowsable: a record in Lobby.pLLM.generations (as
// the pLLM appends them) is browsed by its place in the list.
func TestGenerationRecordBrowsable(t *testing.T) {
	f := setup(t)
	res, err := f.img.Eval(context.Background(), `p := Lobby.Get("pLLM").(Object); g := NewObject(); g.Set("accepted", true)
gens, _ := p.Get("generations").([]any); p.Set("generations", append(gens, g)); g`)
	if err != nil {
		t.Fatal(err)
	}
	f.d.Send(common.RefreshMsg{})
	f.d.Send(common.BrowseMsg{OID: res.Value.Object.OID})
	if r := f.m.rows[f.m.cursor]; !strings.HasPrefix(r.path, "Lobby/pLLM/generations[") || f.m.detached {
		t.Fatalf("the generation record: cursor on %+v, detached %v", r, f.m.detached)
	}
	if v := panetest.Plain(f.m.View()); !strings.Contains(v, "accepted = true") || strings.Contains(v, "not reachable") {
		t.Fatalf("the record is not shown:\n%s", v)
	}
}
