package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"batos/llama/llamatest"
)

// TestFibonacciWrittenByThePLLM is the pLLM's "done when", end to end with
// the real binary: a send nobody defined is written by the model, trial-run
// in a `batos sandbox` child, installed by pLLM/<persona>, answered, and
// still there after a restart with the server gone.
func TestFibonacciWrittenByThePLLM(t *testing.T) {
	srv := llamatest.New(t, llamatest.Reply{Chunk: 9, Text: "Here it is:\n```go\nfunc fibonacci(self Object, n int) int {\n\ta, b := 0, 1\n\tfor i := 0; i < n; i++ {\n\t\ta, b = b, a+b\n\t}\n\treturn a\n}\n```"})
	img := filepath.Join(t.TempDir(), "img")
	env := []string{"BATOS_LLM_URL=" + srv.URL}
	r := batos(t, "", env, "eval", "--image", img, `Lobby.Send("fibonacci", 10)`)
	if r.code != 0 || r.out != "55\n" {
		t.Fatalf("fibonacci: %+v", r)
	}
	srv.Close()

	r = batos(t, "", nil, "image", "history", "--image", img)
	if !regexp.MustCompile(`(?m)^\d+ .* pLLM/(BRICK|ROBIN|BABS|ALFRED) .*define fibonacci on Lobby`).MatchString(r.out) {
		t.Fatalf("history has no pLLM install:\n%s", r.out)
	}
	r = batos(t, "", env, "eval", "--image", img, `Lobby.Send("fibonacci", 20)`)
	if r.code != 0 || r.out != "6765\n" {
		t.Fatalf("fibonacci after restart without a server: %+v", r)
	}
	// The REPL shows the method being written, on standard error.
	srv2 := llamatest.New(t, llamatest.Reply{Chunk: 5, Text: "```go\nfunc double(self Object, n int) int { return 2 * n }\n```"})
	r = batos(t, "Lobby.Send(\"double\", 21)\n", []string{"BATOS_LLM_URL=" + srv2.URL}, "repl", "--image", img)
	if r.out != "42\n" || !strings.Contains(r.err, "is writing double]") || !strings.Contains(r.err, "return 2 * n") {
		t.Fatalf("repl: %+v", r)
	}
}

func TestNoModelServer(t *testing.T) {
	img := filepath.Join(t.TempDir(), "img")
	r := batos(t, "", []string{"BATOS_LLM_URL=http://127.0.0.1:1"}, "eval", "--image", img, `Lobby.Send("fibonacci", 10)`)
	if r.code != 1 || !strings.Contains(r.err, "does not understand fibonacci") || !strings.Contains(r.err, "llama-server -m") || strings.Count(r.err, "\n") != 1 {
		t.Fatalf("no server: %+v", r)
	}
}

// TestInferAnswerEndsItsLine: infer's streamed answer and the entry's value
// do not run together on a terminal: the streamed text ends its line.
func TestInferAnswerEndsItsLine(t *testing.T) {
	srv := llamatest.New(t, llamatest.Reply{Text: "Hello there", Chunk: 3})
	img := filepath.Join(t.TempDir(), "img")
	r := batos(t, "Lobby.Send(\"infer\", \"say hello\")\n", []string{"BATOS_LLM_URL=" + srv.URL}, "repl", "--image", img)
	if r.out != "\"Hello there\"\n" || !strings.Contains(r.err, "answers]\nHello there\n") {
		t.Fatalf("repl: %+v", r)
	}
}

// TestPLLMBench: `batos pllm bench` runs mandates through the real
// pipeline and sandbox against a server, prints a line per mandate and
// the table, writes the JSON report and records the run in the image.
func TestPLLMBench(t *testing.T) {
	srv := llamatest.New(t)
	area := "```go\nfunc area(self Object) int { return self.Get(\"w\").(int) * self.Get(\"h\").(int) }\n```"
	srv.Respond(func(body map[string]any) llamatest.Reply {
		if strings.Contains(fmt.Sprint(body["messages"]), "Selector: area") {
			return llamatest.Reply{Text: area}
		}
		return llamatest.Reply{Text: "I cannot write that."}
	})
	dir := t.TempDir()
	img, report := filepath.Join(dir, "img"), filepath.Join(dir, "report.json")
	env := []string{"BATOS_LLM_URL=" + srv.URL}
	r := batos(t, "", env, "pllm", "bench", "--image", img, "--run", "rect-area,word-count", "--personas", "BRICK,BABS", "--attempts", "1", "--json", report)
	if r.code != 0 {
		t.Fatalf("bench: %+v", r)
	}
	for _, want := range []string{"PASS  BRICK rect-area (train, 1 attempt", "FAIL  BABS word-count (heldout, 1 attempt", "PERSONA", "1/2  50%"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Rows []struct {
			Persona string
			Pass    int `json:"pass"`
		}
		Outcomes []struct{ Mandate string }
	}
	if err := json.Unmarshal(data, &rep); err != nil || len(rep.Rows) != 2 || len(rep.Outcomes) != 4 || rep.Rows[0].Pass != 1 {
		t.Fatalf("report %v: %s", err, data)
	}
	r = batos(t, "", nil, "eval", "--image", img, `len(Lobby.At("pLLM").Get("benchmarks").([]any))`)
	if r.out != "1\n" {
		t.Fatalf("benchmarks: %+v", r)
	}
	if r = batos(t, "", env, "pllm", "bench", "--image", img, "--split", "nope"); r.code == 0 || !strings.Contains(r.err, `unknown split "nope"`) {
		t.Fatalf("bad split: %+v", r)
	}
}

// TestREPLShowsAttempts: the REPL separates the attempts and says why a
// candidate was turned down.
func TestREPLShowsAttempts(t *testing.T) {
	srv := llamatest.New(t,
		llamatest.Reply{Text: "```go\nfunc triple(self Object, n int) int { return n * }\n```"},
		llamatest.Reply{Text: "```go\nfunc triple(self Object, n int) int { return 3 * n }\n```"})
	img := filepath.Join(t.TempDir(), "img")
	r := batos(t, "Lobby.At(\"pLLM\").Set(\"topK\", 1)\nLobby.Send(\"triple\", 5)\n", []string{"BATOS_LLM_URL=" + srv.URL}, "repl", "--image", img)
	if r.out != "15\n" || !regexp.MustCompile(`\[(BRICK|ROBIN|BABS|ALFRED) rejected: method triple: line 1:`).MatchString(r.err) || !strings.Contains(r.err, "is writing triple, attempt 2]") {
		t.Fatalf("repl: %+v", r)
	}
}
