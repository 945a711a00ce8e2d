package pane

import (
	"errors"
	"testing"
)

func TestErrLine(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{errors.New("method norm: line 3: undefined: oops"), 3},
		{errors.New("method norm: line 12:2: expected ';', found 'return'"), 12},
		{errors.New("no position"), 0},
		{nil, 0},
	} {
		if got := ErrLine(c.err); got != c.want {
			t.Errorf("ErrLine(%v) = %d, want %d", c.err, got, c.want)
		}
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
