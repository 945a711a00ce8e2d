package main_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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
	// What a step would choose among, before it runs.
	if r := batos(t, "", nil, "autotelic", "mandates", "--image", img); r.code != 0 || !regexp.MustCompile(`(?m)^behaviour +describe on Lobby\.shape +gain \d\.\d{3} tried 0  Lobby\.shape has 1 data slot`).MatchString(r.out) {
		t.Fatalf("autotelic mandates: %+v", r)
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

// TestAutotelicLoopServed is the loop's "done when" with the real binary:
// switched on beside a model server, a served image's loop writes methods
// on its own, each arriving as an attributed commit with its reason and
// CEM before and after; it stops at its budget; and one of its changes is
// reverted through the server.
func TestAutotelicLoopServed(t *testing.T) {
	srv := llamatest.New(t, llamatest.Reply{Text: "```go\nfunc describe(self Object) string { return fmt.Sprint(\"w=\", self.Get(\"w\")) }\n```"})
	img := filepath.Join(t.TempDir(), "img")
	setup := `a := Lobby.At("autotelic")
a.Set("vocabulary", []any{map[string]any{"selector": "describe", "purpose": "describe it"}})
a.Set("period", 0); a.Set("threshold", 2.0)
a.Set("budget", map[string]any{"generations": 3, "tokens": 100000, "commits": 100})
for i := 0; i < 5; i++ { s := NewObject(); s.Set("w", i); Lobby.Set(fmt.Sprint("s", i), s) }`
	if r := batos(t, "", nil, "eval", "--image", img, setup); r.code != 0 {
		t.Fatalf("setup: %+v", r)
	}
	startServer(t, img, "BATOS_LLM_URL="+srv.URL)
	if r := batos(t, "", nil, "autotelic", "on", "--image", img); r.code != 0 {
		t.Fatalf("autotelic on: %+v", r)
	}
	// Every step wakes the worker again (its ledger commit touches
	// Lobby.autotelic), so it steps until the budget stops it.
	deadline := time.Now().Add(90 * time.Second)
	for {
		r := batos(t, "", nil, "autotelic", "--image", img)
		if strings.Contains(r.out, "the last hour: 3 of 3 model calls") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the loop did not spend its budget in 90 s:\n%s", r.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Wake the worker a few more times: over budget, it does nothing.
	for _, v := range []string{"1.9", "2.0"} {
		if r := batos(t, "", nil, "eval", "--image", img, `Lobby.At("autotelic").Set("threshold", `+v+`)`); r.code != 0 {
			t.Fatalf("threshold: %+v", r)
		}
	}
	r := batos(t, "", nil, "image", "history", "--image", img, "-n", "40")
	installs := regexp.MustCompile(`(?m)^(\d+) .* autotelic/(BRICK|ROBIN|BABS|ALFRED) +\[\d+\]  autotelic (exercise|behaviour): .*define describe on`).FindAllStringSubmatch(r.out, -1)
	ledgers := regexp.MustCompile(`(?m)^\d+ .* autotelic .*autotelic: ledger: \w+ describe on Lobby\.s\d, installed, CEM \d\.\d{3} → \d\.\d{3}$`).FindAllString(r.out, -1)
	if len(installs) != 3 || len(ledgers) != 3 {
		t.Fatalf("history: %d installs and %d ledger entries by the loop, want 3 and 3:\n%s", len(installs), len(ledgers), r.out)
	}
	// The oldest install is reverted through the server, after the later
	// steps.
	first := installs[len(installs)-1][1]
	if r := batos(t, "", nil, "image", "undo", first, "--image", img); r.code != 0 || !strings.Contains(r.out, "undid transaction "+first) {
		t.Fatalf("undo the loop's first install: %+v", r)
	}
	r = batos(t, "", nil, "entropy", "--image", img)
	if r.code != 0 || !strings.Contains(r.out, "3 readings in the series") {
		t.Fatalf("entropy: %+v", r)
	}
	if r := batos(t, "", nil, "autotelic", "--image", img); strings.Count(r.out, " installed ") != 3 || !strings.Contains(r.out, "3 of 3 model calls") {
		t.Fatalf("the ledger after the budget:\n%s", r.out)
	}
}
