package kernel_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"batos/kernel"
)

// TestTypedValuesSurviveRestart stores typed slices and maps from a
// script, closes the image, reopens it, and reads them back with their Go
// types, nil ones as nil.
func TestTypedValuesSurviveRestart(t *testing.T) {
	k, dir := openKernel(t)
	ctx := context.Background()
	s := k.NewSession("user")
	if _, err := s.Eval(ctx, `
		Lobby.Set("m", map[string]int{"a": 1, "b": -2})
		Lobby.Set("s", []string{"x", ""})
		Lobby.Set("ints", []int{1, 2, 3})
		Lobby.Set("i64s", []int64{1 << 40})
		Lobby.Set("fs", []float64{0.5, 2})
		Lobby.Set("bs", []bool{true, false})
		Lobby.Set("ms", map[string]string{"k": "v"})
		Lobby.Set("mf", map[string]float64{"pi": 3.25})
		Lobby.Set("mb", map[string]bool{"on": true})
		Lobby.Set("mi64", map[string]int64{"big": 1 << 50})
		Lobby.Set("empty", []int{})
		var nilSlice []string
		var nilMap map[string]int
		Lobby.Set("nilSlice", nilSlice)
		Lobby.Set("nilMap", nilMap)
		Lobby.Set("mixed", map[string]any{"tags": []string{"a"}, "o": Lobby, "l": []any{map[string]bool{"x": false}}})
	`); err != nil {
		t.Fatal(err)
	}
	// Mutating what was stored, or what was read, does not change the slot.
	if _, err := s.Eval(ctx, `
		m := map[string]int{"a": 1}
		Lobby.Set("copied", m)
		m["a"] = 99
		Lobby.Get("copied").(map[string]int)["a"] = 98
		Lobby.Get("ints").([]int)[0] = 97
	`); err != nil {
		t.Fatal(err)
	}
	k.Close()

	k2, err := kernel.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k2.Close()
	s2 := k2.NewSession("user")
	res, err := s2.Eval(ctx, `fmt.Sprintf("%T %T %T %T %T %T %T %T %T %T %T %T %T", Lobby.Get("m"), Lobby.Get("s"), Lobby.Get("ints"), Lobby.Get("i64s"), Lobby.Get("fs"), Lobby.Get("bs"), Lobby.Get("ms"), Lobby.Get("mf"), Lobby.Get("mb"), Lobby.Get("mi64"), Lobby.Get("empty"), Lobby.Get("nilSlice"), Lobby.Get("nilMap"))`)
	if err != nil {
		t.Fatal(err)
	}
	want := "map[string]int []string []int []int64 []float64 []bool map[string]string map[string]float64 map[string]bool map[string]int64 []int []string map[string]int"
	if res.Value != want {
		t.Fatalf("types after restart:\n%v\nwant\n%s", res.Value, want)
	}
	checks := []struct{ src, want string }{
		{`Lobby.Get("m").(map[string]int)["b"]`, "-2"},
		{`len(Lobby.Get("s").([]string))`, "2"},
		{`Lobby.Get("nilSlice").([]string) == nil`, "true"},
		{`Lobby.Get("nilMap").(map[string]int) == nil`, "true"},
		{`Lobby.Get("empty").([]int) == nil`, "false"},
		{`Lobby.Get("copied").(map[string]int)["a"]`, "1"},
		{`Lobby.Get("ints").([]int)[0]`, "1"},
		{`Lobby.Get("mixed").(map[string]any)["tags"].([]string)[0]`, `"a"`},
		{`Lobby.Get("mixed").(map[string]any)["o"].(Object) == Lobby`, "true"},
		{`fmt.Sprintf("%T", Lobby.Get("mixed").(map[string]any)["l"].([]any)[0])`, `"map[string]bool"`},
	}
	for _, c := range checks {
		res, err := s2.Eval(ctx, c.src)
		if err != nil || res.Text != c.want {
			t.Errorf("%s = %q, %v; want %s", c.src, res.Text, err, c.want)
		}
	}
	var got any
	run(t, s2, func(lobby kernel.Object) { got = lobby.Get("mi64") })
	if !reflect.DeepEqual(got, map[string]int64{"big": 1 << 50}) {
		t.Fatalf("mi64 = %#v", got)
	}
}

// TestTypedValuesPrintInEvents checks how a typed slot prints in commit
// events (the kernel's printer for stored values).
func TestTypedValuesPrintInEvents(t *testing.T) {
	k, _ := openKernel(t)
	sub := k.Bus().Subscribe(16)
	defer sub.Close()
	s := k.NewSession("user")
	ctx := context.Background()
	src := `var n []int; Lobby.Set("a", map[string]int{"b": 2, "a": 1}); Lobby.Set("b", []float64{1, 2.5}); Lobby.Set("c", n); Lobby.Set("d", []string{"x"}); Lobby.Set("e", []int64{3}); Lobby.Set("f", []any{map[string]bool{"t": true}})`
	if _, err := s.Eval(ctx, src); err != nil {
		t.Fatal(err)
	}
	ev := <-sub.C
	after := map[string]string{}
	for _, c := range ev.Changes[0].Slots {
		after[c.Name] = c.After
	}
	want := map[string]string{
		"a": `map[string]int{"a": 1, "b": 2}`,
		"b": `[]float64{1.0, 2.5}`,
		"c": `[]int(nil)`,
		"d": `[]string{"x"}`,
		"e": `[]int64{3}`,
		"f": `[]any{map[string]bool{"t": true}}`,
	}
	for name, w := range want {
		if after[name] != w {
			t.Errorf("slot %s prints as %q, want %q", name, after[name], w)
		}
	}
}

// TestTypedValuesBounded checks that the walk budgets and the nesting
// bound hold for typed containers, and what is still refused.
func TestTypedValuesBounded(t *testing.T) {
	k, _ := openKernel(t)
	s := k.NewSession("user")
	ctx := context.Background()
	tests := []struct{ name, src, want string }{
		{"too many elements", `Lobby.Set("x", make([]int, 1_000_001))`, "value larger than"},
		{"too many entries in a list", `l := []any{}; for i := 0; i < 2; i++ { l = append(l, make([]bool, 600_000)) }; Lobby.Set("x", l)`, "value larger than"},
		{"too many map entries", `m := map[string]int{}; for i := 0; i < 1000; i++ { m[strconv.Itoa(i)] = i }; l := make([]any, 1001); for i := range l { l[i] = m }; Lobby.Set("x", l)`, "value larger than"},
		{"too much text", `s := strings.Repeat("x", 1<<20); l := make([]string, 65); for i := range l { l[i] = s }; Lobby.Set("x", l)`, "value larger than"},
		{"too much key text", `m := map[string]bool{}; for i := 0; i < 65; i++ { m[strings.Repeat("k", 1<<20 - 1) + strconv.Itoa(i % 10) + string(rune('a'+i/10))] = true }; Lobby.Set("x", m)`, "value larger than"},
		{"too deep", `var v any = []int{1}; for i := 0; i < 101; i++ { v = []any{v} }; Lobby.Set("x", v)`, "nested deeper than 100"},
		{"slice of Objects", `Lobby.Set("x", []Object{Lobby})`, "cannot store a []kernel.Object"},
		{"float32 slice", `Lobby.Set("x", []float32{1})`, "cannot store a []float32"},
		{"int-keyed map", `Lobby.Set("x", map[int]string{1: "a"})`, "cannot store a map[int]string"},
		{"nested typed", `Lobby.Set("x", map[string][]int{"a": {1}})`, "cannot store a map[string][]int"},
		{"slice of slices", `Lobby.Set("x", [][]string{{"a"}})`, "cannot store a [][]string"},
		{"inside a list", `Lobby.Set("x", []any{[]uint{1}})`, "[0]: cannot store a []uint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Eval(ctx, tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// The refusal says what a slot can hold, the typed containers included.
	_, err := s.Eval(ctx, `Lobby.Set("x", map[int]string{})`)
	for _, part := range []string{"storable:", "[]byte, []any, map[string]any, Object", "[]T and map[string]T for T one of bool, int, int64, float64, string", "a list of Objects is a []any"} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("error %v does not say %q", err, part)
		}
	}
	// At the nesting bound itself a typed container is still stored.
	if _, err := s.Eval(ctx, `var v any = []int{1}; for i := 0; i < 100; i++ { v = []any{v} }; Lobby.Set("deep", v)`); err != nil {
		t.Fatalf("a typed container at depth 100: %v", err)
	}
	var deep any
	run(t, s, func(lobby kernel.Object) { deep = lobby.Get("deep") })
	for range 100 {
		deep = deep.([]any)[0]
	}
	if !reflect.DeepEqual(deep, []int{1}) {
		t.Fatalf("at depth 100: %#v", deep)
	}
	// Nothing refused above reached the image.
	var has bool
	run(t, s, func(lobby kernel.Object) {
		for _, n := range lobby.Slots() {
			has = has || n == "x"
		}
	})
	if has {
		t.Fatal("a refused value was stored")
	}
}
