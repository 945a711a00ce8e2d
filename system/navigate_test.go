package system_test

import (
	"context"
	"slices"
	"testing"

	"batos/api"
)

// TestSendersAndImplementors finds, in an image of a few objects, the
// objects that implement a selector and the methods that send it: a
// send counts only as X.Send with the selector a string literal, never
// a comment, another string or a selector held in a variable.
func TestSendersAndImplementors(t *testing.T) {
	l := open(t)
	ctx := context.Background()
	_, err := l.Eval(ctx, "nav := NewObject(); Lobby.Set(\"nav\", nav)\n"+
		"sq := NewObject(); nav.Set(\"square\", sq)\n"+
		"ci := NewObject(); nav.Set(\"circle\", ci)\n"+
		"sq.Define(\"navArea\", `func navArea(self Object) int { return 4 }`)\n"+
		"ci.Define(\"navArea\", `func navArea(self Object) int { return 3 }`)\n"+
		"nav.Define(\"total\", `func total(self Object) int {\n\treturn self.At(\"square\").Send(\"navArea\").(int) + self.At(\"circle\").Send(\"navArea\").(int)\n}`)\n"+
		"nav.Define(\"twice\", \"func twice(self Object) int { return 2 * Lobby.At(\\\"nav\\\").At(\\\"square\\\").Send(`navArea`).(int) }\")\n"+
		"nav.Define(\"mentions\", `func mentions(self Object) string {\n\t// self.Send(\"navArea\") in a comment is no send\n\tsel := \"navArea\"\n\t_ = sel\n\treturn \".Send(\\\"navArea\\\")\"\n}`)\n"+
		"nav.Define(\"indirect\", `func indirect(self Object, sel string) any { return self.Send(sel) }`)\n"+
		"unreachable := NewObject(); unreachable.Define(\"navArea\", `func navArea(self Object) int { return 0 }`)")
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Eval(ctx, `Lobby.At("nav")`)
	if err != nil {
		t.Fatal(err)
	}
	nav := res.Value.Object.OID
	kids, err := l.Children(ctx, nav)
	if err != nil {
		t.Fatal(err)
	}
	names := map[uint64]string{nav: "nav"}
	for _, k := range kids {
		if k.Slot == "square" || k.Slot == "circle" {
			names[k.OID] = k.Slot
		}
	}
	hits := func(hs []api.Hit) []string {
		var out []string
		for _, h := range hs {
			name, ok := names[h.Object.OID]
			if !ok {
				name = h.Object.Name
			}
			out = append(out, name+"."+h.Selector)
		}
		return out
	}
	for _, tt := range []struct {
		name  string
		call  func() ([]api.Hit, error)
		want  []string
		sorts bool // the order among hits is not the test's
	}{
		{"implementors", func() ([]api.Hit, error) { return l.Implementors(ctx, "navArea", 0) },
			[]string{"square.navArea", "circle.navArea"}, true},
		{"implementors, limited", func() ([]api.Hit, error) { return l.Implementors(ctx, "navArea", 1) },
			[]string{"square.navArea"}, false},
		{"implementors of a primitive", func() ([]api.Hit, error) { return l.Implementors(ctx, "doesNotUnderstand", 0) },
			[]string{"traits (object 2).doesNotUnderstand"}, false},
		{"implementors of nothing", func() ([]api.Hit, error) { return l.Implementors(ctx, "navNothing", 0) },
			nil, false},
		{"senders", func() ([]api.Hit, error) { return l.Senders(ctx, "navArea", 0) },
			[]string{"nav.total", "nav.twice"}, true},
		{"senders, limited", func() ([]api.Hit, error) { return l.Senders(ctx, "navArea", 1) },
			[]string{"nav.total"}, false},
		{"senders of a selector sent only through a variable", func() ([]api.Hit, error) { return l.Senders(ctx, "total", 0) },
			nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hs, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			got := hits(hs)
			if tt.sorts {
				slices.Sort(got)
				slices.Sort(tt.want)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for _, h := range hs {
				if h.Object.Name == "" {
					t.Errorf("hit %+v names no object", h)
				}
			}
		})
	}
}
