package interp_test

import (
	"bytes"
	"fmt"
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
