package system

import "testing"

// TestSends: a send is X.Send with the selector as a string literal,
// found by parsing; a source that does not parse is matched as text.
func TestSends(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		want      bool
	}{
		{"a send", `func f(self Object) any { return self.Send("area", 2) }`, true},
		{"a raw string", "func f(self Object) any { return self.At(\"p\").Send(`area`) }", true},
		{"an escaped selector", `func f(self Object) any { return self.Send("\x61rea") }`, true},
		{"another selector", `func f(self Object) any { return self.Send("areas") }`, false},
		{"a prefix", `func f(self Object) any { return self.Send("are") }`, false},
		{"not the first argument", `func f(self Object) any { return self.Send(sel, "area") }`, false},
		{"a comment", "func f(self Object) any {\n\t// self.Send(\"area\")\n\treturn nil\n}", false},
		{"a string", `func f(self Object) string { return ".Send(\"area\")" }`, false},
		{"a variable", `func f(self Object, sel string) any { return self.Send(sel) }`, false},
		{"a nested send", `func f(self Object) any { return g(self.Send("area")) }`, true},
		{"no parse, a send", `func f(self Object) any { return self.Send("area" }`, true},
		{"no parse, none", `func f(self Object) any { return self.Send("areas" }`, false},
	} {
		if got := sends(tt.src, "area"); got != tt.want {
			t.Errorf("%s: sends(%q, area) = %v, want %v", tt.name, tt.src, got, tt.want)
		}
	}
}
