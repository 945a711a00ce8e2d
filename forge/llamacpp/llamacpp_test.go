package llamacpp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"batos/forge/gguf"
)

// python is the interpreter with torch that runs forge/trainers.
const python = "/usr/bin/python3"

const (
	// logprobTolerance bounds |llama.cpp's log p - PyTorch's log_softmax|
	// over every vocabulary id and step. Measured here: about 5e-6. A q/k
	// adapter without the rotary permutation is off by about 1, one whose
	// alpha is read as r by about 4.
	logprobTolerance = 1e-3
	// minGap is the least margin PyTorch's best token must have over the
	// second best for a greedy comparison to mean anything. The fixture
	// has at least 0.07.
	minGap = 1e-2
)

// The fixture: the tiny Llama is trained to answer prompt with answer.
var (
	prompt = []int{1, 5, 9} // BOS and two byte tokens
	answer = "LoRA ok"
)

// byteToken is the tiny model's id for byte b (tiny_llama.py's vocabulary).
func byteToken(b byte) int { return 3 + int(b) }

const eos = 2

// TestLlamaCppMatchesPyTorch runs the Forge's files in real llama.cpp and
// in PyTorch and requires the same greedy continuation and the same
// next-token log-probabilities from both: for the converted base alone,
// and with the converted adapter at scale 1 and 0.5 (llama.cpp applies
// scale·alpha/r; greedy.py merges the PEFT adapter at the same factor).
func TestLlamaCppMatchesPyTorch(t *testing.T) {
	requireTools(t)
	here, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	trainers := filepath.Join(here, "..", "trainers")
	dir := t.TempDir()
	baseDir := filepath.Join(dir, "base")
	baseGGUF := filepath.Join(dir, "base.gguf")
	peftDir := filepath.Join(dir, "lora")
	loraGGUF := filepath.Join(dir, "lora.gguf")

	began := time.Now()
	run(t, python, filepath.Join(trainers, "tiny_llama.py"), "--out", baseDir, "--seed", "0")
	t.Logf("tiny_llama.py: %v", time.Since(began).Round(time.Millisecond))

	began = time.Now()
	if err := gguf.ConvertBase(baseDir, baseGGUF, gguf.BaseOptions{Vocab: gguf.ByteVocab()}); err != nil {
		t.Fatal(err)
	}
	info, err := gguf.ReadHFConfig(baseDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ConvertBase: %v", time.Since(began).Round(time.Millisecond))

	// One example: after the prompt, the answer and EOS (the counted tokens).
	want := slices.Clone(prompt)
	for _, b := range []byte(answer) {
		want = append(want, byteToken(b))
	}
	want = append(want, eos)
	mask := make([]int, len(want))
	for i := len(prompt); i < len(want); i++ {
		mask[i] = 1
	}
	line, _ := json.Marshal(map[string]any{"tokens": want, "mask": mask})
	dataset := filepath.Join(dir, "train.jsonl")
	writeFile(t, dataset, append(line, '\n'))
	// alpha != r, so that a converter or loader that ignores alpha/r shows;
	// all seven projections, so that q/k's permutation and the MLP count;
	// a learning rate that makes 30 steps enough.
	config := filepath.Join(dir, "config.json")
	cfg, _ := json.Marshal(map[string]any{
		"lora_rank": 4, "lora_alpha": 8, "lora_dropout": 0.0, "target_modules": "all-linear",
		"learning_rate": 0.02, "max_steps": 30, "batch_size": 1, "seed": 0, "device": "cpu",
	})
	writeFile(t, config, cfg)
	began = time.Now()
	run(t, python, filepath.Join(trainers, "lora_sft.py"), "--dataset", dataset, "--out", peftDir, "--base", baseDir, "--config", config)
	t.Logf("lora_sft.py (30 steps): %v", time.Since(began).Round(time.Millisecond))
	if err := gguf.ConvertLoRA(peftDir, loraGGUF, info); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		lora  bool
		scale float64
	}{
		{"base", false, 0},
		{"adapter", true, 1},
		{"adapter_half", true, 0.5},
	}
	results := make(map[string][]int)
	var mu sync.Mutex
	ids := joinInts(prompt)
	const n = 8
	t.Run("compare", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				llamaArgs := []string{"check.mjs", "--model", baseGGUF, "--ids", ids, "--n", strconv.Itoa(n), "--all-logprobs"}
				torchArgs := []string{filepath.Join(trainers, "greedy.py"), "--base", baseDir, "--ids", ids, "--n", strconv.Itoa(n), "--all-logits"}
				if c.lora {
					scale := strconv.FormatFloat(c.scale, 'g', -1, 64)
					llamaArgs = append(llamaArgs, "--lora", loraGGUF, "--scale", scale)
					torchArgs = append(torchArgs, "--adapter", peftDir, "--scale", scale)
				}
				began := time.Now()
				var llama struct {
					Tokens   []int        `json:"tokens"`
					Logprobs [][]*float64 `json:"logprobs"`
					Vocab    int          `json:"vocab"`
					Warnings []string     `json:"warnings"`
				}
				decodeLine(t, "check.mjs", run(t, "node", llamaArgs...), &llama)
				llamaTime := time.Since(began)
				began = time.Now()
				var torch struct {
					Tokens []int       `json:"tokens"`
					Logits [][]float64 `json:"logits"`
				}
				decodeLine(t, "greedy.py", run(t, python, torchArgs...), &torch)
				t.Logf("llama.cpp %v, PyTorch %v", llamaTime.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
				for _, w := range llama.Warnings {
					t.Logf("llama.cpp said: %s", w)
				}

				if len(torch.Tokens) != n || len(torch.Logits) != n {
					t.Fatalf("greedy.py gave %d tokens and %d rows of logits, want %d", len(torch.Tokens), len(torch.Logits), n)
				}
				least := math.Inf(1)
				for step, row := range torch.Logits {
					gap := topGap(row)
					least = min(least, gap)
					if gap < minGap {
						t.Fatalf("PyTorch's best two tokens at step %d are %.2g apart: the fixture cannot tell llama.cpp's greedy choice from rounding (change the prompt or seed)", step, gap)
					}
				}
				if !slices.Equal(llama.Tokens, torch.Tokens) {
					t.Errorf("greedy tokens: llama.cpp %v, PyTorch %v", llama.Tokens, torch.Tokens)
				}
				if llama.Vocab != info.VocabSize || len(llama.Logprobs) != n {
					t.Fatalf("check.mjs: vocabulary %d and %d rows, want %d and %d", llama.Vocab, len(llama.Logprobs), info.VocabSize, n)
				}
				var worst float64
				where := ""
				for step := range n {
					ref := logSoftmax(torch.Logits[step])
					got := llama.Logprobs[step]
					if len(got) != len(ref) {
						t.Fatalf("step %d: llama.cpp has %d log-probabilities, PyTorch %d logits", step, len(got), len(ref))
					}
					for id, lp := range got {
						var d float64
						switch {
						case lp != nil:
							d = math.Abs(*lp - ref[id])
						case ref[id] > -80: // llama.cpp's float32 exp underflowed; PyTorch's must be as small
							d = math.Inf(1)
						}
						if d > worst {
							worst, where = d, fmt.Sprintf("step %d, token %d", step, id)
						}
					}
				}
				t.Logf("tokens %v (PyTorch's least top-2 logit gap %.3g); max |log p difference| %.3g (%s)", llama.Tokens, least, worst, where)
				if worst > logprobTolerance {
					t.Errorf("llama.cpp's log-probabilities differ from PyTorch's by up to %.3g at %s (tolerance %g)", worst, where, logprobTolerance)
				}
				mu.Lock()
				results[c.name] = llama.Tokens
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return
	}
	if slices.Equal(results["adapter"], results["base"]) {
		t.Errorf("the adapter does not change llama.cpp's greedy continuation %v", results["base"])
	}
	if trained := want[len(prompt):]; !slices.Equal(results["adapter"], trained) {
		t.Errorf("with the adapter llama.cpp continues the prompt with %v, the adapter was trained on %v", results["adapter"], trained)
	}
}

// requireTools skips the test, saying what is missing, without node 20+,
// forge/llamacpp/node_modules or torch; BATOS_LLAMACPP_REQUIRED=1 makes
// that a failure.
func requireTools(t *testing.T) {
	t.Helper()
	requireLlamaCpp(t)
	missing := func(format string, args ...any) { t.Helper(); missingTool(t, format, args...) }
	if _, err := os.Stat(python); err != nil {
		missing("%s is missing: the trainers need it with torch", python)
	}
	if out, err := exec.Command(python, "-c", "import torch").CombinedOutput(); err != nil {
		missing("%s cannot import torch: %v %s", python, err, bytes.TrimSpace(out))
	}
}

// run runs the command in the package folder and returns its stdout; it
// fails the test with the command's stderr when it does not exit 0.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// decodeLine decodes the one JSON line the program printed into v.
func decodeLine(t *testing.T, prog string, out []byte, v any) {
	t.Helper()
	line := bytes.TrimSuffix(out, []byte("\n"))
	if bytes.Contains(line, []byte("\n")) {
		t.Fatalf("%s printed more than one line:\n%s", prog, out)
	}
	if err := json.Unmarshal(line, v); err != nil {
		t.Fatalf("%s printed %.200q: %v", prog, out, err)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func joinInts(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, ",")
}

// logSoftmax is log(softmax(x)), in float64.
func logSoftmax(x []float64) []float64 {
	m := slices.Max(x)
	var sum float64
	for _, v := range x {
		sum += math.Exp(v - m)
	}
	lse := m + math.Log(sum)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v - lse
	}
	return out
}

// topGap is how far the largest of x is above the second largest.
func topGap(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return s[len(s)-1] - s[len(s)-2]
}
