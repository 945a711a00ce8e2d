package system_test

import (
	"context"
	"strings"
	"testing"

	"batos/api"
)

// Renaming a method rewrites its declaration, so that the renamed method
// answers under its new name; a selector that is no Go identifier is
// refused and nothing changes.
func TestRenameMethodRewritesDeclaration(t *testing.T) {
	l := open(t)
	ctx := context.Background()
	res, err := l.Eval(ctx, `p := NewObject(); Lobby.Set("rn", p); p`)
	if err != nil {
		t.Fatal(err)
	}
	oid := res.Value.Object.OID
	src := "// foo doubles.\nfunc foo(self Object, n int) int {\n\treturn n * 2 // foo\n}"
	if _, err := l.Define(ctx, oid, "foo", src); err != nil {
		t.Fatal(err)
	}
	if _, err := l.RenameSlot(ctx, oid, "foo", "bar"); err != nil {
		t.Fatal(err)
	}
	got, err := l.Send(ctx, oid, "bar", api.Int(21))
	if err != nil {
		t.Fatalf("send bar after renaming foo to bar: %v", err)
	}
	if got.Value.Text != "42" {
		t.Fatalf("bar(21) = %+v, want 42", got.Value)
	}
	v, err := l.Object(ctx, oid)
	if err != nil {
		t.Fatal(err)
	}
	var source string
	for _, s := range v.Slots {
		if s.Name == "bar" {
			source = s.Source
		}
		if s.Name == "foo" {
			t.Fatalf("foo still there after the rename: %+v", v.Slots)
		}
	}
	if want := "// foo doubles.\nfunc bar(self Object, n int) int {\n\treturn n * 2 // foo\n}"; source != want {
		t.Fatalf("source after rename = %q, want %q (only the declared name changes)", source, want)
	}
	_, err = l.RenameSlot(ctx, oid, "bar", "not-a-name")
	if err == nil || !strings.Contains(err.Error(), "identifier") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("rename to a selector that is no identifier: %v, want a one-line refusal", err)
	}
	if _, err := l.Send(ctx, oid, "bar", api.Int(1)); err != nil {
		t.Fatalf("bar after a refused rename: %v", err)
	}
}
