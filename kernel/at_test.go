package kernel_test

import (
	"context"
	"strings"
	"testing"
)

// TestAt: object slots reached as Objects, in entries and in methods;
// a value slot or a missing one is a one-line slot error.
func TestAt(t *testing.T) {
	k, _ := openKernel(t)
	s := k.NewSession("user")
	for _, tt := range []struct{ src, want, wantErr string }{
		{src: `p := NewObject(); p.Set("w", 2); Lobby.Set("shape", p); Lobby.At("shape").Get("w")`, want: "2"},
		{src: `Lobby.Define("w2", "func w2(self Object) int { return self.At(\"shape\").Get(\"w\").(int) * 2 }"); Lobby.Send("w2")`, want: "4"},
		{src: `Lobby.At("name")`, wantErr: `Lobby.name: holds "Lobby", not an Object (use Get for values)`},
		{src: `Lobby.At("nothing")`, wantErr: "Lobby.nothing: no such slot"},
	} {
		res, err := s.Eval(context.Background(), tt.src)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: %v, want %q", tt.src, err, tt.wantErr)
			}
		case err != nil || res.Text != tt.want:
			t.Errorf("%s = %q, %v; want %s", tt.src, res.Text, err, tt.want)
		}
	}
}
