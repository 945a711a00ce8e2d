package forge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"batos/forge"
	"batos/llama/llamatest"
)

// record adds a generation record of sel on Lobby.obj accepted from
// persona with src, as the pLLM records one, and installs src there
// unless reverted.
func (e *env) record(obj, sel, persona, src string, reverted bool) {
	e.t.Helper()
	e.eval(fmt.Sprintf(`if _, ok := Lobby.Lookup(%q); !ok { o := NewObject(); o.Set("w", 2); Lobby.Set(%[1]q, o) }`, obj))
	if !reverted {
		// Installed as the pLLM installs: its author is the persona.
		if _, err := e.k.NewSession("pLLM/"+persona).Eval(context.Background(), fmt.Sprintf(`Lobby.At(%q).Define(%q, %q)`, obj, sel, src)); err != nil {
			e.t.Fatal(err)
		}
	}
	e.eval(fmt.Sprintf(`p := Lobby.At("pLLM")
r := NewObject(); r.Set("selector", %[2]q); r.Set("receiver", Lobby.At(%[1]q)); r.Set("prompt", "write "+%[2]q); r.Set("accepted", %[3]q)
r.Set("candidates", []any{map[string]any{"persona": %[3]q, "outcome": "accepted", "source": %[4]q}})
gens, _ := p.Get("generations").([]any)
p.Set("generations", append(gens, r))`, obj, sel, persona, src))
}

func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []map[string]any
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	return out
}

// TestCurate: the persona's kept generations and the methods users wrote,
// deduplicated, split, tokenized through the persona's server with the
// answer's tokens masked in; reverted generations kept apart; another
// persona's left out.
func TestCurate(t *testing.T) {
	srv := llamatest.New(t)
	e := newEnv(t, forge.Options{})
	e.mode("success")
	e.eval(fmt.Sprintf(`Lobby.At("pLLM").Set("endpoint", %q); f := Lobby.At("Forge"); f.Set("minExamples", 4); f.Set("validationShare", 0.3)`, srv.URL))
	for i := range 5 {
		e.record(fmt.Sprintf("o%d", i), "area", "BRICK", fmt.Sprintf("func area(self Object) int { return %d * self.Get(\"w\").(int) }", i), false)
	}
	// The same source again, with other layout and a comment: one example.
	e.record("o5", "area", "BRICK", "func area(self Object) int {\n\t// twice\n\treturn 2 *\n\t\tself.Get(\"w\").(int)\n}", false)
	e.record("o6", "gone", "BRICK", "func gone(self Object) int { return 6 }", true)
	e.record("o7", "other", "ROBIN", "func other(self Object) int { return 7 }", false)
	e.eval(`Lobby.At("o0").Define("half", "func half(self Object) int { return self.Get(\"w\").(int) / 2 }")`)

	id := e.queue()
	e.await(id, "succeeded")
	dir := filepath.Join(e.dir, "forge", "jobs", fmt.Sprint(id), "dataset")
	train, valid := readLines(t, filepath.Join(dir, "train.jsonl")), readLines(t, filepath.Join(dir, "valid.jsonl"))
	neg := readLines(t, filepath.Join(dir, "negatives.jsonl"))
	all := append(append([]map[string]any{}, train...), valid...)
	// Five distinct areas (o5's is o2's, laid out otherwise) and the
	// hand-written half; not ROBIN's, not the reverted one.
	var answers []string
	for _, l := range all {
		msgs := l["messages"].([]any)
		answers = append(answers, msgs[2].(map[string]any)["content"].(string))
	}
	if len(all) != 6 || len(train) == 0 || len(valid) == 0 {
		t.Fatalf("train %d, valid %d: %v", len(train), len(valid), answers)
	}
	if slices.ContainsFunc(answers, func(a string) bool { return strings.Contains(a, "return 7") || strings.Contains(a, "return 6") }) {
		t.Fatalf("another persona's or a reverted method was curated: %v", answers)
	}
	if len(neg) != 1 || !strings.Contains(neg[0]["messages"].([]any)[2].(map[string]any)["content"].(string), "return 6") {
		t.Fatalf("negatives = %v", neg)
	}
	// Tokens are the server's for the rendered conversation; the mask
	// covers the answer and what closes its turn, nothing of the prompt.
	for _, l := range all {
		msgs := l["messages"].([]any)
		content := func(i int) string { return msgs[i].(map[string]any)["content"].(string) }
		prompt := "<|system|>" + content(0) + "<|user|>" + content(1) + "<|assistant|>"
		want := append(llamatest.Tokens(prompt), llamatest.Tokens(content(2))...)
		var got []int
		for _, x := range l["tokens"].([]any) {
			got = append(got, int(x.(float64)))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("tokens of %q differ from the server's", content(2))
		}
		mask := l["mask"].([]any)
		n := len(llamatest.Tokens(prompt))
		for i, m := range mask {
			if want := i >= n; (m.(float64) == 1) != want {
				t.Fatalf("mask[%d] = %v; the prompt has %d tokens", i, m, n)
			}
		}
		if strings.Contains(content(2), "half") && !strings.Contains(content(1), "half") {
			t.Fatalf("a hand-written method's prompt does not name it: %q", content(1))
		}
		if strings.Contains(content(2), "half") && strings.Contains(content(1), "/ 2") {
			t.Fatalf("a hand-written method's prompt holds its own source: %q", content(1))
		}
	}
	var man forge.Manifest
	b, _ := os.ReadFile(filepath.Join(dir, "dataset.json"))
	if err := json.Unmarshal(b, &man); err != nil || man.Train != len(train) || man.Valid != len(valid) || man.Negatives != 1 || len(man.Hash) != 64 {
		t.Fatalf("manifest = %+v, %v", man, err)
	}
}

// TestCurateServerDown: curation needs the persona's tokenizer; without
// its server the step fails and says where it looked.
func TestCurateServerDown(t *testing.T) {
	e := newEnv(t, forge.Options{})
	e.mode("success")
	e.eval(`Lobby.At("pLLM").Set("endpoint", "http://127.0.0.1:1"); Lobby.At("Forge").Set("minExamples", 1)`)
	e.record("o0", "area", "BRICK", "func area(self Object) int { return 1 }", false)
	id := e.queue()
	e.await(id, "failed")
	if r := fmt.Sprint(e.jobSlot(id, "reason")); !strings.Contains(r, "tokenize generation 0 through BRICK's model server at http://127.0.0.1:1") {
		t.Fatalf("reason = %s", r)
	}
}
