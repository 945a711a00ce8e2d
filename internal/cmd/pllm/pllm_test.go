package pllm

import (
	"path/filepath"
	"strings"
	"testing"

	"batos/internal/cmdutil"
	"batos/internal/iostreams"
)

// TestBenchFlags: the flags reach the options, and the options become
// the send of Lobby.pLLM.bench the image runs (paths made absolute: a
// served image runs it in another process).
func TestBenchFlags(t *testing.T) {
	var got *BenchOptions
	cmd := NewBenchCmd(&iostreams.IOStreams{}, func() cmdutil.Target { return cmdutil.Target{Image: "img"} }, func(o *BenchOptions) error {
		got = o
		return nil
	})
	cmd.SetArgs([]string{"--split", "heldout", "--run", "gcd,roman", "--personas", "BRICK", "--attempts", "2", "--context", "api=false,docs=true", "--json", "out.json", "--suite", "mine"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Target.Image != "img" || got.Split != "heldout" || strings.Join(got.Names, "|") != "gcd|roman" || got.Attempts != 2 || len(got.Context) != 2 {
		t.Fatalf("options %+v", got)
	}
	src, err := benchSource(got)
	if err != nil {
		t.Fatal(err)
	}
	suite, _ := filepath.Abs("mine")
	want := `Lobby.At("pLLM").Send("bench", map[string]any{"attempts": 2, "context": map[string]any{"api": false, "docs": true}, "names": []any{"gcd", "roman"}, "personas": []any{"BRICK"}, "report": true, "split": "heldout", "suite": "` + suite + `"}).(map[string]any)["report"]`
	if src != want {
		t.Errorf("source\n  %s\nwant\n  %s", src, want)
	}
	for _, bad := range []string{"api", "api=maybe", "colour=false"} {
		if _, err := benchSource(&BenchOptions{Context: []string{bad}}); err == nil || !strings.Contains(err.Error(), "--context "+bad) {
			t.Errorf("--context %s: %v", bad, err)
		}
	}
}
