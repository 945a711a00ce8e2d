package kernel_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"batos/kernel"
)

// FuzzWorkspace evaluates arbitrary workspace input in a real kernel and
// then checks that the next entry answers normally. The property is the
// kernel's first invariant: no input takes the process down. A fatal Go
// error (stack overflow, out of memory, concurrent map writes) kills the
// fuzzing process itself, which the fuzzer reports as the failure with the
// input that caused it. Seeded with every input line of the hostile
// transcripts.
func FuzzWorkspace(f *testing.F) {
	files, _ := filepath.Glob("testdata/hostile/*.txt")
	for _, file := range files {
		fh, err := os.Open(file)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if in, ok := strings.CutPrefix(sc.Text(), "> "); ok {
				f.Add(in)
			}
		}
		fh.Close()
	}
	f.Add("a := []any{1}; a[0] = a; a")
	f.Add("m := map[int]any{}; m[1] = m; panic(m)")
	k, err := kernel.Open(f.TempDir(), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { k.Close() })
	// Limits are reset before every input: an input may have raised them.
	limits := `sys := Lobby.Get("system").(Object); sys.Set("sendDeadline", "200ms"); sys.Set("memoryBudget", 256 << 20); sys.Set("maxDepth", 10000)`
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 {
			return
		}
		if _, err := k.NewSession("user").Eval(context.Background(), limits); err != nil {
			t.Fatalf("resetting the limits: %v", err)
		}
		s := k.NewSession("user")
		s.Eval(context.Background(), src)
		res, err := k.NewSession("user").Eval(context.Background(), "1 + 1")
		if err != nil || res.Text != "2" {
			t.Fatalf("after %q the next entry answered %q, %v", src, res.Text, err)
		}
	})
}
