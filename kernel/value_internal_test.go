package kernel

import (
	"testing"

	"batos/image"
)

// TestFormatStored: the text of each kind of stored value is the Go
// literal that holds it, as the REPL prints it and a change list shows it.
func TestFormatStored(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{nil, "nil"},
		{"a \"q\"\n\u00e9\x00", `"a \"q\"\né\x00"`},
		{image.Ref{OID: 42}, "@42"},
		{-7, "-7"},
		{true, "true"},
		{int64(-9), "int64(-9)"},
		{2.0, "2.0"},
		{[]byte("hi"), `[]byte("hi")`},
		{[]any{1, false, "x", image.Ref{OID: 18446744073709551615}, []any{}}, `[]any{1, false, "x", @18446744073709551615, []any{}}`},
		{map[string]any{"b\"": 1, "a": map[string]any{}}, `map[string]any{"a": map[string]any{}, "b\"": 1}`},
		{[]int(nil), "[]int(nil)"},
		{[]string{"x"}, `[]string{"x"}`},
		{map[string]int64{"k": 3}, `map[string]int64{"k": 3}`},
	} {
		if got := formatStored(c.v); got != c.want {
			t.Errorf("formatStored(%#v) = %s, want %s", c.v, got, c.want)
		}
	}
}
