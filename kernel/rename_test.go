package kernel_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// TestRenameMethod renames methods through the script API: a renamed
// method answers under its new name, its source declaring that name; a
// rename that cannot rewrite the declaration is refused in one line, and
// the method still answers under its old name.
func TestRenameMethod(t *testing.T) {
	k, _ := openKernel(t)
	user := k.NewSession("user")
	alice := k.NewSession("alice")
	for i, tt := range []struct {
		name     string
		definer  string // the principal that defines the method; "" for user
		src      string // the method a's source
		to       string
		want     string // b's answer after the rename
		wantSrc  string // b's source after the rename
		wantErr  string // the refusal, when the rename is refused
		oldWants string // a's answer after a refused rename
	}{
		{
			name:    "rewrites the declaration only",
			src:     "// a answers.\nfunc a(self Object) int {\n\treturn 42 // a\n}",
			to:      "b",
			want:    "42",
			wantSrc: "// a answers.\nfunc b(self Object) int {\n\treturn 42 // a\n}",
		},
		{
			name:    "with arguments and a send of the old selector",
			src:     `func a(self Object, n int) int { if n == 0 { return 1 }; return n * self.Send("b", n-1).(int) }`,
			to:      "b",
			want:    "6",
			wantSrc: `func b(self Object, n int) int { if n == 0 { return 1 }; return n * self.Send("b", n-1).(int) }`,
		},
		{
			name:     "to no identifier",
			src:      "func a(self Object) int { return 1 }",
			to:       "not-a-name",
			wantErr:  "cannot rename method to not-a-name: a method's selector must be a Go identifier",
			oldWants: "1",
		},
		{
			name:     "another's method",
			definer:  "alice",
			src:      "func a(self Object) int { return 2 }",
			to:       "b",
			wantErr:  "cannot rename method to b: it was written by alice; define b with its source and remove a instead",
			oldWants: "2",
		},
		{
			name:     "a body that calls its own declaration",
			src:      "func a(self Object, n int) int { if n == 0 { return 3 }; return a(self, n-1) }",
			to:       "b",
			wantErr:  "cannot rename method to b: its renamed source does not compile",
			oldWants: "3",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			obj := fmt.Sprintf("rn%d", i)
			definer := user
			if tt.definer == "alice" {
				definer = alice
			}
			mustEval(t, definer, fmt.Sprintf(`o := NewObject(); o.Define("a", %s); Lobby.Set(%q, o)`, strconv.Quote(tt.src), obj))
			args := ""
			if strings.Contains(tt.src, "n int") {
				args = ", 3"
			}
			_, err := user.Eval(context.Background(), fmt.Sprintf(`o := Lobby.At(%q); o.Rename("a", %q)`, obj, tt.to))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("rename: %v, want a one-line refusal %q", err, tt.wantErr)
				}
				res, err := user.Eval(context.Background(), fmt.Sprintf(`Lobby.At(%q).Send("a"%s)`, obj, args))
				if err != nil || res.Text != tt.oldWants {
					t.Fatalf("a after a refused rename = %q, %v; want %s", res.Text, err, tt.oldWants)
				}
				return
			}
			if err != nil {
				t.Fatalf("rename: %v", err)
			}
			res, err := user.Eval(context.Background(), fmt.Sprintf(`o := Lobby.At(%q); o.Send(%q%s)`, obj, tt.to, args))
			if err != nil || res.Text != tt.want {
				t.Fatalf("%s after the rename = %q, %v; want %s", tt.to, res.Text, err, tt.want)
			}
			res, err = user.Eval(context.Background(), fmt.Sprintf(`Lobby.At(%q).Get(%q)`, obj, tt.to))
			if err != nil || res.Value != tt.wantSrc {
				t.Fatalf("source after the rename = %q, %v; want %q", res.Value, err, tt.wantSrc)
			}
			if _, err := user.Eval(context.Background(), fmt.Sprintf(`Lobby.At(%q).Send("a"%s)`, obj, args)); err == nil {
				t.Fatalf("a still answers after the rename")
			}
		})
	}
}
