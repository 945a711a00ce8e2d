package kernel_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"

	"batos/interp"
	"batos/kernel"
)

// The depth ceiling (interp.MaxDepthCeiling) is derived from the Go stack
// one interpreted call level costs (interp.StackPerLevel). These tests
// measure that cost for each way a script recurses, and prove the
// derivation by recursing to the ceiling in a child process whose stack
// is capped at half of interp.MaxStack: a fatal stack overflow there
// kills the child, not the test.

// recursions are runaway recursions of each kind, after the setup entries.
var recursions = []struct {
	name  string
	setup []string
	entry string
}{
	{"closure", []string{"var r func(int) int", "r = func(i int) int { return r(i+1) + 1 }"}, "r(0)"},
	{"method", []string{`Lobby.Define("down", "func down(self Object, i int) int { return down(self, i+1) + 1 }")`}, `Lobby.Send("down", 0)`},
	{"send", []string{`Lobby.Define("sdown", "func sdown(self Object, i int) int { return self.Send(\"sdown\", i+1).(int) + 1 }")`}, `Lobby.Send("sdown", 0)`},
	{"type method", []string{"type T struct{}", "func (t T) down(i int) int { return t.down(i+1) + 1 }"}, "T{}.down(0)"},
}

// stackBytes reads the Go runtime's stack memory.
func stackBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestStackPerLevel(t *testing.T) {
	k, err := kernel.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	const depth = 4000
	for _, rc := range recursions {
		t.Run(rc.name, func(t *testing.T) {
			s := k.NewSession("user")
			mustEval(t, s, `Lobby.Get("system").(Object).Set("maxDepth", `+fmt.Sprint(depth)+`)`)
			for _, e := range rc.setup {
				mustEval(t, s, e)
			}
			// Each run starts on a fresh goroutine; the stack it grew to
			// at the bottom is a power of two at least depth levels deep.
			var peak atomic.Uint64
			base := stackBytes()
			done := make(chan error)
			go func() {
				stop := make(chan struct{})
				go func() {
					for {
						select {
						case <-stop:
							return
						default:
							if b := stackBytes(); b > peak.Load() {
								peak.Store(b)
							}
						}
					}
				}()
				_, err := s.Eval(context.Background(), rc.entry)
				close(stop)
				done <- err
			}()
			if err := <-done; err == nil || !strings.Contains(err.Error(), "depth") {
				t.Fatalf("runaway %s recursion: %v, want the depth limit", rc.name, err)
			}
			per := (peak.Load() - min(base, peak.Load())) / depth
			t.Logf("%s: at most %d bytes of Go stack per level (an upper estimate: stacks grow by doubling)", rc.name, per)
			if per > interp.StackPerLevel {
				t.Errorf("%s recursion costs about %d bytes per level, more than interp.StackPerLevel (%d): raise it", rc.name, per, interp.StackPerLevel)
			}
		})
	}
}

func mustEval(t *testing.T, s *kernel.Session, src string) {
	t.Helper()
	if _, err := s.Eval(context.Background(), src); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
}

// TestDepthCeilingHolds recurses to the ceiling, with maxDepth set far
// above it in the image, in a child whose stack may use half of
// interp.MaxStack.
func TestDepthCeilingHolds(t *testing.T) {
	if kind := os.Getenv("BATOS_STACK_CHILD"); kind != "" {
		depthCeilingChild(t, kind)
		return
	}
	if testing.Short() {
		t.Skip("recurses to the ceiling in child processes")
	}
	for _, rc := range recursions {
		t.Run(rc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestDepthCeilingHolds$", "-test.v")
			cmd.Env = append(os.Environ(), "BATOS_STACK_CHILD="+rc.name)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child recursing to depth %d died (%v):\n%s", interp.MaxDepthCeiling, err, tail(out, 2000))
			}
			if !strings.Contains(string(out), "stopped at the ceiling") {
				t.Fatalf("child did not report:\n%s", tail(out, 2000))
			}
		})
	}
}

func depthCeilingChild(t *testing.T, kind string) {
	debug.SetMaxStack(interp.MaxStack / 2)
	k, err := kernel.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	s := k.NewSession("user")
	mustEval(t, s, `Lobby.Get("system").(Object).Set("maxDepth", 1<<40)`)
	mustEval(t, s, `Lobby.Get("system").(Object).Set("sendDeadline", "10m")`)
	for _, rc := range recursions {
		if rc.name != kind {
			continue
		}
		for _, e := range rc.setup {
			mustEval(t, s, e)
		}
		_, err := s.Eval(context.Background(), rc.entry)
		want := fmt.Sprintf("depth limit %d", interp.MaxDepthCeiling)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v, want %q", kind, err, want)
		}
		fmt.Println("stopped at the ceiling:", err)
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
