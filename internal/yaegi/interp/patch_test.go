package interp_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"testing"

	"github.com/traefik/yaegi/stdlib"

	"batos/internal/yaegi/interp"
)

// TestGlobalFrameGrows: globals declared entry after entry keep their
// values while the global frame grows past its capacity, and a closure
// made before the growth still reads and writes them.
func TestGlobalFrameGrows(t *testing.T) {
	i := interp.New(interp.Options{})
	if _, err := i.Eval(`var x0 = 0; func bump() int { x0++; return x0 }`); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for k := 1; k <= n; k++ {
		if _, err := i.Eval(fmt.Sprintf("var x%d = %d", k, k)); err != nil {
			t.Fatal(err)
		}
	}
	for k := 1; k <= n; k += 37 {
		v, err := i.Eval(fmt.Sprintf("x%d", k))
		if err != nil || v.Interface() != k {
			t.Fatalf("x%d = %v, %v; want %d", k, v, err, k)
		}
	}
	if v, err := i.Eval(`bump() + bump()`); err != nil || v.Interface() != 3 {
		t.Fatalf("bump() + bump() = %v, %v; want 3", v, err)
	}
}

// TestCompilerPanicLogsNothing: input the compiler cannot type makes it
// panic (the embedder recovers), and writes nothing to the host's log
// first (upstream used log.Panic, which prints before panicking: into a
// terminal UI's screen).
func TestCompilerPanicLogsNothing(t *testing.T) {
	var buf bytes.Buffer
	orig := log.Writer()
	log.SetOutput(&buf)
	defer log.SetOutput(orig)
	i := interp.New(interp.Options{})
	if err := i.Use(stdlib.Symbols); err != nil {
		t.Fatal(err)
	}
	var r any
	func() {
		defer func() { r = recover() }()
		_, _ = i.Eval(`for i := range 3 { _ = i }`)
	}()
	if !strings.Contains(fmt.Sprint(r), "nil type") {
		t.Fatalf("recovered %v, want the compiler's nil type", r)
	}
	if buf.Len() > 0 {
		t.Errorf("the log got %q", buf.String())
	}
}

// TestPanicDiagnosticsFollowStderr: a panic that unwinds interpreted code
// is logged frame by frame, and its Panic carries the formatted stack, for
// an interpreter with a standard error; one whose standard error is
// io.Discard (batos's, which runs every retried input through such a
// panic) is spared both. Either way the value and the callers are kept.
func TestPanicDiagnosticsFollowStderr(t *testing.T) {
	for _, c := range []struct {
		name   string
		stderr io.Writer
		logged bool
	}{{"buffer", &bytes.Buffer{}, true}, {"discard", io.Discard, false}} {
		t.Run(c.name, func(t *testing.T) {
			i := interp.New(interp.Options{Stderr: c.stderr})
			if _, err := i.Eval(`func f() { panic("boom") }`); err != nil {
				t.Fatal(err)
			}
			prog, err := i.Compile(`f()`)
			if err != nil {
				t.Fatal(err)
			}
			_, err = i.Execute(prog)
			var p interp.Panic
			if !errors.As(err, &p) || fmt.Sprint(p.Value) != "boom" || len(p.Callers) == 0 {
				t.Fatalf("Execute = %v (%T); want a Panic with value boom and its callers", err, err)
			}
			if got := len(p.Stack) > 0; got != c.logged {
				t.Fatalf("the Panic has a stack: %v, want %v", got, c.logged)
			}
			if buf, ok := c.stderr.(*bytes.Buffer); ok && !strings.Contains(buf.String(), "panic") {
				t.Fatalf("standard error = %q, want the unwound frames logged", buf.String())
			}
		})
	}
}
