package llamatest

import (
	"math"
	"testing"
)

// The expected strings are nlohmann::json dumps seen in real llama-server
// output (generation_settings, timings) or follow its to_chars rules.
func TestFormatFloat(t *testing.T) {
	ms, n := 148.2, 20.0 // variables: constant division would be exact
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{-1, "-1.0"},
		{1.75, "1.75"},
		{float64(float32(0.8)), "0.800000011920929"},
		{float64(float32(0.3)), "0.30000001192092896"},
		{float64(float32(0.95)), "0.949999988079071"},
		{float64(float32(0.05)), "0.05000000074505806"},
		{float64(float32(0.1)), "0.10000000149011612"},
		{23.467, "23.467"},
		{ms / n, "7.409999999999999"},
		{2471.5558017641797, "2471.5558017641797"},
		{123456789012345, "123456789012345.0"},
		{1e15, "1e+15"},
		{1e16, "1e+16"},
		{1.5e300, "1.5e+300"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{1.25e-7, "1.25e-07"},
		{math.NaN(), "null"},
		{math.Inf(1), "null"},
		{-math.MaxFloat32, "-3.4028234663852886e+38"},
	}
	for _, tc := range tests {
		if got := formatFloat(tc.in); got != tc.want {
			t.Errorf("formatFloat(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestDump(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{object{{"b", 1}, {"a", nil}, {"c", []any{true, "x"}}}, `{"b":1,"a":null,"c":[true,"x"]}`},
		{"<a href=\"/x\">&</a>", `"<a href=\"/x\">&</a>"`},
		{"tab\tnl\ncr\rbs\bff\f\x01\x1f\x7f", `"tab\tnl\ncr\rbs\bff\f\u0001\u001f` + "\x7f\""},
		{"héllo ✓ \u2028", "\"héllo ✓ \u2028\""},
		{"bad \xff utf8", "\"bad \ufffd utf8\""},
		{[]int{}, `[]`},
		{object{}, `{}`},
		{uint32(4294967295), `4294967295`},
	}
	for _, tc := range tests {
		if got := string(dump(tc.in)); got != tc.want {
			t.Errorf("dump(%#v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestPieces(t *testing.T) {
	for _, s := range []string{"", "a", " a", "Hello  world\n", "x y z ", "\n\n"} {
		got := ""
		for _, p := range Pieces(s) {
			got += p
		}
		if got != s {
			t.Errorf("Pieces(%q) joins to %q", s, got)
		}
	}
	if got := Pieces("Hello brave  world"); len(got) != 3 || got[2] != "  world" {
		t.Errorf("Pieces = %q", got)
	}
}
