package repl

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"batos/api"
)

// fakeImage answers the reads completion makes from a fixed graph:
//
//	Lobby (1): shape → 12, counter = 3, double (method), slow → 99
//	shape (12): w = 2.0, area (method), parent* → 13; inherits from 13
//	proto (13): describe (method), color = "red"
//	slow (99): its reads wait until their context ends
//
// Every other method of api.Image is left nil: completion must not call it.
type fakeImage struct {
	api.Image
	objects map[uint64]api.ObjectView
}

func ref(oid uint64) *api.Value {
	return &api.Value{Object: &api.Ref{OID: oid, Name: fmt.Sprintf("object %d", oid)}}
}

func newFakeImage() *fakeImage {
	data := &api.Value{}
	return &fakeImage{objects: map[uint64]api.ObjectView{
		1: {Ref: api.Ref{OID: 1, Name: "Lobby"}, Slots: []api.SlotView{
			{Name: "shape", Kind: api.KindData, Value: ref(12)},
			{Name: "counter", Kind: api.KindData, Value: data},
			{Name: "double", Kind: api.KindMethod},
			{Name: "slow", Kind: api.KindData, Value: ref(99)},
		}},
		12: {Ref: api.Ref{OID: 12}, Slots: []api.SlotView{
			{Name: "w", Kind: api.KindData, Value: data},
			{Name: "area", Kind: api.KindMethod},
			{Name: "parent*", Kind: api.KindParent, Value: ref(13)},
		}, Inherited: []api.SlotView{
			{Name: "describe", Kind: api.KindMethod},
			{Name: "color", Kind: api.KindData, Value: data},
		}},
		13: {Ref: api.Ref{OID: 13}, Slots: []api.SlotView{
			{Name: "describe", Kind: api.KindMethod},
			{Name: "color", Kind: api.KindData, Value: data},
		}},
	}}
}

func (f *fakeImage) Object(ctx context.Context, oid uint64) (api.ObjectView, error) {
	if oid == 99 {
		<-ctx.Done()
		return api.ObjectView{}, ctx.Err()
	}
	v, ok := f.objects[oid]
	if !ok {
		return v, &api.Error{Kind: api.ErrNotFound, Message: "no such object"}
	}
	return v, nil
}

func (f *fakeImage) Selectors(ctx context.Context, oid uint64) ([]string, error) {
	v, err := f.Object(ctx, oid)
	if err != nil {
		return nil, err
	}
	var sels []string
	for _, s := range slices.Concat(v.Slots, v.Inherited) {
		if s.Kind != api.KindParent {
			sels = append(sels, s.Name)
		}
	}
	return sels, nil
}

func TestComplete(t *testing.T) {
	methods := objectMethods
	tests := []struct {
		name string
		line string
		pos  int // in runes; -1: the line's end
		head string
		want []string
	}{
		{"selectors of Lobby", `Lobby.Send("`, -1, `Lobby.Send("`, []string{"counter", "double", "shape", "slow"}},
		{"selector prefix", `Lobby.Send("do`, -1, `Lobby.Send("`, []string{"double"}},
		{"define offers selectors", `Lobby.Define("d`, -1, `Lobby.Define("`, []string{"double"}},
		{"selectors along an At chain, inherited too", `x := Lobby.At("shape").Send("`, -1, `x := Lobby.At("shape").Send("`, []string{"area", "color", "describe", "w"}},
		{"At offers object slots", `Lobby.At("`, -1, `Lobby.At("`, []string{"shape", "slow"}},
		{"At offers parents", `Lobby.At("shape").At("`, -1, `Lobby.At("shape").At("`, []string{"parent*"}},
		{"Get offers every slot", `Lobby.At("shape").Get("`, -1, `Lobby.At("shape").Get("`, []string{"area", "color", "describe", "parent*", "w"}},
		{"Lookup like Get", `v, ok := Lobby.Lookup("c`, -1, `v, ok := Lobby.Lookup("`, []string{"counter"}},
		{"Set offers data and parent slots", `Lobby.At("shape").Set("`, -1, `Lobby.At("shape").Set("`, []string{"color", "parent*", "w"}},
		{"Remove offers own slots", `Lobby.At("shape").Remove("`, -1, `Lobby.At("shape").Remove("`, []string{"area", "parent*", "w"}},
		{"cursor inside the line", `Lobby.Send("d", 21)`, 13, `Lobby.Send("`, []string{"double"}},
		{"a slot that holds no object", `Lobby.At("counter").Send("`, -1, "", nil},
		{"a missing slot", `Lobby.At("nope").Send("`, -1, "", nil},
		{"a variable's object is not known", `p.Send("`, -1, "", nil},
		{"Lobby as a field is not Lobby", `p.Lobby.Send("`, -1, "", nil},
		{"second argument", `Lobby.Send("double", "`, -1, "", nil},
		{"not a slot method", `fmt.Println("`, -1, "", nil},
		{"a closed string", `Lobby.Send("double"`, -1, "", nil},
		{"a raw string", "Lobby.Send(`d", -1, "", nil},
		{"methods after Lobby.", `Lobby.`, -1, `Lobby.`, methods},
		{"method prefix", `Lobby.Se`, -1, `Lobby.`, []string{"Send", "Set"}},
		{"methods after At(...)", `Lobby.At("shape").Cl`, -1, `Lobby.At("shape").`, []string{"Clone"}},
		{"methods after NewObject()", `NewObject().D`, -1, `NewObject().`, []string{"Define"}},
		{"methods after a session variable", `p.G`, -1, `p.`, []string{"Get"}},
		{"no methods after a package", `fmt.Pr`, -1, "", nil},
		{"no methods after an unknown call", `f().`, -1, "", nil},
		{"top-level names", `Lo`, -1, "", []string{"Lobby"}},
		{"keywords", `x := fu`, -1, "x := ", []string{"func"}},
		{"declared names", `tw`, -1, "", []string{"twice"}},
		{"after an operator", `f(1, n`, -1, "f(1, ", []string{"new", "nil"}},
		{"nothing after an identifier and a space", `x `, -1, "", nil},
		{"in a comment", `x // Lo`, -1, "", nil},
		{"indent on a blank line", ``, -1, "", []string{indent}},
		{"indent before text", `  return x`, 2, "  ", []string{indent}},
		{"a slow image offers nothing", `Lobby.At("slow").Send("`, -1, "", nil},
	}
	c := newCompleter(newFakeImage())
	c.learn("p := NewObject()\nfunc twice(n int) int { return 2 * n }")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pos := tt.pos
			if pos < 0 {
				pos = len([]rune(tt.line))
			}
			start := time.Now()
			head, got, tail := c.complete(tt.line, pos)
			// Generous: a loaded machine is slow; a missing bound hangs.
			if d := time.Since(start); d > completionTimeout+5*time.Second {
				t.Errorf("took %v", d)
			}
			if tt.want == nil {
				if len(got) != 0 {
					t.Errorf("candidates %q, want none", got)
				}
				return
			}
			if head != tt.head || !slices.Equal(got, tt.want) {
				t.Errorf("got (%q, %q), want (%q, %q)", head, got, tt.head, tt.want)
			}
			if r := []rune(tt.line); head+strings.TrimPrefix(string(r[:pos]), head)+tail != tt.line || tail != string(r[pos:]) {
				t.Errorf("head %q and tail %q do not frame the line", head, tail)
			}
		})
	}
}

// TestCompleteTopLevel: an empty word after an operator offers every name,
// the session's among them.
func TestCompleteTopLevel(t *testing.T) {
	c := newCompleter(newFakeImage())
	c.learn("type point struct{}")
	_, got, _ := c.complete("x := ", 5)
	for _, want := range []string{"Lobby", "NewObject", "func", "len", "point"} {
		if !slices.Contains(got, want) {
			t.Errorf("%q missing from %q", want, got)
		}
	}
}

func TestDeclarations(t *testing.T) {
	tests := []struct {
		src          string
		vars, others []string
	}{
		{"x := 1", []string{"x"}, nil},
		{"a, b := 1, 2; c := a", []string{"a", "b", "c"}, nil},
		{"x = 1", nil, nil},
		{"var v, w int", []string{"v", "w"}, nil},
		{"var (\n\ta = 1\n\tb string\n)\nc := 3", []string{"a", "b", "c"}, nil},
		{"const k = 2", nil, []string{"k"}},
		{"type point struct{ x, y int }", nil, []string{"point"}},
		{"func twice(n int) int {\n\tm := 2\n\treturn m * n\n}", nil, []string{"twice"}},
		{"func (p point) norm() int { return 0 }", nil, nil},
		{"for i := 0; i < 3; i++ {}", nil, nil},
		{"if y := f(); y > 0 {}", nil, nil},
		{"f(func() { z := 1; _ = z })", nil, nil},
		{"p := NewObject()\np.Set(\"w\", 2.0)\nq := p.Clone()", []string{"p", "q"}, nil},
	}
	for _, tt := range tests {
		vars, others := declarations(tt.src)
		if !slices.Equal(vars, tt.vars) || !slices.Equal(others, tt.others) {
			t.Errorf("declarations(%q) = %q, %q; want %q, %q", tt.src, vars, others, tt.vars, tt.others)
		}
	}
}
