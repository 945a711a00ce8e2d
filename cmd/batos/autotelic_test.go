package main_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"batos/llama/llamatest"
)

// TestAutotelicCommand: a step on request writes a method through the
// real binary and its sandbox, says what it chose and why, and shows in
// the ledger and the history; on and off flip the switch.
func TestAutotelicCommand(t *testing.T) {
	srv := llamatest.New(t, llamatest.Reply{Text: "```go\nfunc describe(self Object) string { return fmt.Sprintf(\"a shape %v wide\", self.Get(\"w\")) }\n```"})
	img := filepath.Join(t.TempDir(), "img")
	env := []string{"BATOS_LLM_URL=" + srv.URL}
	if r := batos(t, "", nil, "autotelic", "--image", img); r.code != 0 || !strings.Contains(r.out, "the autotelic loop is off") || !strings.Contains(r.out, "the ledger is empty") {
		t.Fatalf("autotelic on a new image: %+v", r)
	}
	setup := `a := Lobby.At("autotelic"); a.Set("vocabulary", []any{map[string]any{"selector": "describe", "purpose": "describe it"}}); s := NewObject(); s.Set("w", 3); Lobby.Set("shape", s)`
	if r := batos(t, "", nil, "eval", "--image", img, setup); r.code != 0 {
		t.Fatalf("setup: %+v", r)
	}
	r := batos(t, "", env, "autotelic", "step", "--image", img)
	if r.code != 0 || !strings.Contains(r.out, "chose ") || !strings.Contains(r.out, "why: ") || !strings.Contains(r.out, "did: installed describe on Lobby.shape") || !strings.Contains(r.out, "CEM: ") {
		t.Fatalf("autotelic step: %+v", r)
	}
	if r := batos(t, "", nil, "eval", "--image", img, `Lobby.At("shape").Send("describe")`); r.out != "\"a shape 3 wide\"\n" {
		t.Fatalf("describe: %+v", r)
	}
	r = batos(t, "", nil, "autotelic", "--image", img)
	if !regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d  \w+ +describe on Lobby.shape.* installed +CEM \d\.\d{3} → \d\.\d{3}  tx \d+$`).MatchString(r.out) ||
		!strings.Contains(r.out, "the last hour: 1 of 24 model calls") {
		t.Fatalf("autotelic after a step:\n%s", r.out)
	}
	r = batos(t, "", nil, "image", "history", "--image", img)
	if !regexp.MustCompile(`(?m)^\d+ .* autotelic/(BRICK|ROBIN|BABS|ALFRED) .*autotelic \w+: .*define describe on`).MatchString(r.out) {
		t.Fatalf("history has no autotelic install:\n%s", r.out)
	}
	if r := batos(t, "", nil, "autotelic", "on", "--image", img); r.code != 0 || !strings.Contains(r.out, "the autotelic loop is on") {
		t.Fatalf("autotelic on: %+v", r)
	}
	if r := batos(t, "", nil, "eval", "--image", img, `Lobby.At("autotelic").Get("enabled")`); r.out != "true\n" {
		t.Fatalf("enabled after on: %+v", r)
	}
	if r := batos(t, "", nil, "autotelic", "off", "--image", img); r.code != 0 || !strings.Contains(r.out, "the autotelic loop is off") {
		t.Fatalf("autotelic off: %+v", r)
	}
	// With no model server, a step changes nothing and says why.
	r = batos(t, "", []string{"BATOS_LLM_URL=http://127.0.0.1:1"}, "autotelic", "step", "--image", img)
	if r.code == 0 || !strings.Contains(r.err, "the pLLM is offline") {
		t.Fatalf("step offline: %+v", r)
	}
}
