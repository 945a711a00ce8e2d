package pane

import (
	"errors"
	"fmt"
	"testing"

	"batos/api"
)

// TestErrPos: the position comes from the *api.Error's fields, wrapped or
// not; text that merely mentions a line is not read.
func TestErrPos(t *testing.T) {
	for _, c := range []struct {
		err       error
		line, col int
	}{
		{&api.Error{Kind: api.ErrCompile, Message: "method norm: line 3: undefined: oops", Line: 3}, 3, 0},
		{fmt.Errorf("define: %w", &api.Error{Kind: api.ErrSyntax, Message: "x", Line: 12, Col: 2}), 12, 2},
		{errors.New("method norm: line 7: looks like a position"), 0, 0},
		{nil, 0, 0},
	} {
		if line, col := ErrPos(c.err); line != c.line || col != c.col {
			t.Errorf("ErrPos(%v) = %d:%d, want %d:%d", c.err, line, col, c.line, c.col)
		}
	}
}

// TestLiteralRoundTrip: a slot's value prefills the prompt as the literal
// that reads back to it; a call is refused with its column, which puts the
// cursor on it.
func TestLiteralRoundTrip(t *testing.T) {
	obj := api.ObjectRef(api.Ref{OID: 12, Name: "point (object 12)"})
	for _, v := range []api.Value{api.Int(3), api.String("a\tb"), api.List(api.Int(1), api.String("two")), obj} {
		text, ok := LiteralOf(&v)
		if !ok {
			t.Fatalf("LiteralOf(%+v) not ok", v)
		}
		back, err := api.ParseLiteral(text)
		if err != nil {
			t.Fatalf("ParseLiteral(%q): %v", text, err)
		}
		if again, _ := LiteralOf(&back); again != text {
			t.Fatalf("%q read back as %q", text, again)
		}
	}
	if text, _ := LiteralOf(&obj); text != "ObjectAt(12)" {
		t.Fatalf("an object prefills %q", text)
	}
	if _, ok := LiteralOf(&api.Value{Kind: api.ValueGo, Type: "func()", Text: "func()"}); ok {
		t.Fatal("a func value has a literal")
	}
	_, err := api.ParseLiteral(`[]any{1, f()}`)
	if api.KindOf(err) != api.ErrSyntax {
		t.Fatalf("a call: %v", err)
	}
	if pos, ok := CursorAt(`[]any{1, f()}`, err); !ok || pos != 9 {
		t.Fatalf("cursor at %d, %v; want 9 (the f)", pos, ok)
	}
}

func TestFitAndScroll(t *testing.T) {
	if got := Fit("abcdef", 4); got != "abc…" {
		t.Errorf("Fit = %q", got)
	}
	if got := Fit("ab", 4); got != "ab  " {
		t.Errorf("Fit = %q", got)
	}
	if got := Scroll(10, 0, 5, 20); got != 6 {
		t.Errorf("Scroll = %d", got)
	}
	if got := Scroll(2, 6, 5, 20); got != 2 {
		t.Errorf("Scroll = %d", got)
	}
}
