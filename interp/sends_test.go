package interp

import (
	"fmt"
	"testing"
)

func TestSends(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"func f(self Object) int {\n\treturn self.Send(\"g\", 1).(int) + Lobby.At(\"x\").Send(\"h\").(int)\n}", "[{g 2 14} {h 2 49}]"},
		{"x := Lobby.Send(\"area\")\nLobby.Send(`raw`)", "[{area 1 12} {raw 2 7}]"},
		{"func f(self Object) { sel := \"g\"; self.Send(sel) }", "[]"},
		{"func f(self Object) {", "[] parse error"},
	} {
		sites, err := Sends(tc.src)
		got := fmt.Sprint(sites)
		if err != nil {
			got += " parse error"
		}
		if got != tc.want {
			t.Errorf("Sends(%q) = %s, want %s", tc.src, got, tc.want)
		}
	}
}
