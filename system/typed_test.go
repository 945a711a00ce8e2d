package system_test

import (
	"context"
	"testing"

	"batos/api"
)

// TestTypedValuesAsData: typed slices and maps reach clients as lists and
// maps that name their Go type, from results and from slots, and a client
// that sends one back with its Type stores that type.
func TestTypedValuesAsData(t *testing.T) {
	c := open(t)
	ctx := context.Background()
	if _, err := c.Eval(ctx, `Lobby.Set("m", map[string]int{"b": 2, "a": 1}); Lobby.Set("s", []string{"x", "y"}); Lobby.Set("i64", []int64{5}); Lobby.Set("nested", []any{[]float64{0.5}})`); err != nil {
		t.Fatal(err)
	}
	res, err := c.Eval(ctx, `Lobby.Get("m")`)
	if err != nil {
		t.Fatal(err)
	}
	v := res.Value
	if v.Kind != api.ValueMap || v.Type != "map[string]int" || len(v.Entries) != 2 || v.Entries[0].Key != "a" || v.Entries[0].Value.Int != 1 || v.Entries[1].Value.Type != "int" {
		t.Fatalf("map[string]int result = %+v", v)
	}
	view, err := c.Object(ctx, api.LobbyOID)
	if err != nil {
		t.Fatal(err)
	}
	slots := map[string]api.Value{}
	for _, s := range view.Slots {
		if s.Value != nil {
			slots[s.Name] = *s.Value
		}
	}
	if s := slots["s"]; s.Kind != api.ValueList || s.Type != "[]string" || len(s.Items) != 2 || s.Items[1].String != "y" {
		t.Fatalf("[]string slot = %+v", s)
	}
	if s := slots["i64"]; s.Type != "[]int64" || len(s.Items) != 1 || s.Items[0].Type != "int64" || s.Items[0].Int != 5 {
		t.Fatalf("[]int64 slot = %+v", s)
	}
	if n := slots["nested"]; n.Type != "[]any" || len(n.Items) != 1 || n.Items[0].Type != "[]float64" || n.Items[0].Text != "[]float64 (1 items)" {
		t.Fatalf("nested slot = %+v", n)
	}

	// Sent back with their Types, they are stored with them.
	for name, v := range map[string]api.Value{"m2": slots["m"], "s2": slots["s"], "i642": slots["i64"], "n2": slots["nested"]} {
		if _, err := c.SetSlot(ctx, api.LobbyOID, name, v); err != nil {
			t.Fatalf("SetSlot %s: %v", name, err)
		}
	}
	res, err = c.Eval(ctx, `fmt.Sprintf("%T %T %T %T %v", Lobby.Get("m2"), Lobby.Get("s2"), Lobby.Get("i642"), Lobby.Get("n2").([]any)[0], Lobby.Get("m2"))`)
	if err != nil || res.Value.String != "map[string]int []string []int64 []float64 map[a:1 b:2]" {
		t.Fatalf("types after SetSlot: %+v, %v", res.Value, err)
	}
	// Items of the wrong kind are refused; an unknown Type is a []any.
	bad := api.ListOf("[]int", api.Int(1), api.String("two"))
	if _, err := c.SetSlot(ctx, api.LobbyOID, "bad", bad); api.KindOf(err) != api.ErrInvalid {
		t.Fatalf("SetSlot of a []int holding a string: %v", err)
	}
	if _, err := c.SetSlot(ctx, api.LobbyOID, "u", api.ListOf("[]uint", api.Int(1))); err != nil {
		t.Fatal(err)
	}
	if res, err := c.Eval(ctx, `fmt.Sprintf("%T", Lobby.Get("u"))`); err != nil || res.Value.String != "[]interface {}" {
		t.Fatalf("a list of an unknown Type: %+v, %v", res.Value, err)
	}
}

func TestTypedContainer(t *testing.T) {
	for _, tc := range []struct {
		typ   string
		isMap bool
		elem  string
		ok    bool
	}{
		{"[]int", false, "int", true},
		{"[]string", false, "string", true},
		{"map[string]float64", true, "float64", true},
		{"map[string]bool", true, "bool", true},
		{"[]any", false, "", false},
		{"map[string]any", false, "", false},
		{"[]uint8", false, "", false},
		{"map[int]int", false, "", false},
		{"[][]int", false, "", false},
		{"", false, "", false},
	} {
		isMap, elem, ok := api.TypedContainer(tc.typ)
		if isMap != tc.isMap || elem != tc.elem || ok != tc.ok {
			t.Errorf("TypedContainer(%q) = %v, %q, %v", tc.typ, isMap, elem, ok)
		}
	}
}
