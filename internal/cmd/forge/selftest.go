package forge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"batos/forge"
	"batos/forge/gguf"
	"batos/forge/llamacpp"
	"batos/forge/trainers"
	"batos/internal/iostreams"
	"batos/kernel"
)

// SelftestOptions configures `batos forge selftest`.
type SelftestOptions struct {
	IO *iostreams.IOStreams
	// Python runs the trainer; empty: python3, or /usr/bin/python3 when
	// python3 has no torch.
	Python string
	// Keep leaves the temporary folder (printed) for inspection.
	Keep bool
}

// selftestExamples is how many scripted generations the temporary image
// holds: enough for minExamples and a validation split.
const selftestExamples = 24

// runSelftest runs the whole chain on a tiny model on the CPU, in a
// temporary image: curate from scripted generations (tokenized with the
// tiny model's byte vocabulary), train with the Forge's own trainer,
// convert to GGUF, evaluate and register; then convert the base to GGUF,
// load base and adapter in llama.cpp (node-llama-cpp) and compare its
// greedy continuation and log-probabilities with PyTorch's. It prints
// each step with its figures and fails if any step did.
func runSelftest(opts *SelftestOptions) (err error) {
	out := opts.IO.Out
	start := time.Now()
	step := func(name, format string, a ...any) {
		fmt.Fprintf(out, "%-10s %s\n", name, fmt.Sprintf(format, a...))
	}
	python, err := selftestPython(opts.Python)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "batos-forge-selftest-")
	if err != nil {
		return err
	}
	if opts.Keep {
		step("folder", "%s (kept)", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	// The tiny model.
	tdir := filepath.Join(tmp, "trainers")
	if err := trainers.Unpack(tdir); err != nil {
		return err
	}
	base := filepath.Join(tmp, "base")
	t0 := time.Now()
	if out, err := exec.CommandContext(ctx, python, filepath.Join(tdir, "tiny_llama.py"), "--out", base).CombinedOutput(); err != nil {
		return fmt.Errorf("selftest: tiny model: %v: %s", err, lastLine(out))
	}
	info, err := gguf.ReadHFConfig(base)
	if err != nil {
		return fmt.Errorf("selftest: tiny model: %w", err)
	}
	step("model", "tiny Llama: %d layers, hidden %d, %d heads (%d kv), vocabulary %d, in %s", info.Layers, info.HiddenSize, info.Heads, info.KVHeads, info.VocabSize, since(t0))

	// A temporary image with scripted generations and the Forge.
	dir := filepath.Join(tmp, "image")
	k, err := kernel.Open(dir, nil)
	if err != nil {
		return err
	}
	defer k.Close()
	f, err := forge.Install(k, dir, forge.Options{Poll: 50 * time.Millisecond, Tokenizer: func(string) forge.Tokenizer { return forge.ByteTokenizer{} }})
	if err != nil {
		return err
	}
	defer f.Close()
	s := k.NewSession("user")
	model := k.NewSession("pLLM/BRICK")
	setup := fmt.Sprintf(`Lobby.At("pLLM").At("personas").At("BRICK").Set("systemPrompt", "You are BRICK. Answer with one Go method.")
fo := Lobby.At("Forge"); fo.Set("baseModel", %q); fo.Set("python", %q); fo.Set("minExamples", 16); fo.Set("validationShare", 0.2)
fo.Set("loraRank", 8); fo.Set("learningRate", 0.005); fo.Set("epochs", 4)`, base, python)
	if _, err := s.Eval(ctx, setup); err != nil {
		return fmt.Errorf("selftest: set up the image: %w", err)
	}
	for i := range selftestExamples {
		src := fmt.Sprintf("func scaled(self Object) int { return self.Get(\"n\").(int) * %d }", i+2)
		if _, err := s.Eval(ctx, fmt.Sprintf(`o := NewObject(); o.Set("n", %d); Lobby.Set("o%d", o)`, i, i)); err != nil {
			return err
		}
		if _, err := model.Eval(ctx, fmt.Sprintf(`Lobby.At("o%d").Define("scaled", %q)`, i, src)); err != nil {
			return err
		}
		record := fmt.Sprintf(`p := Lobby.At("pLLM"); r := NewObject(); r.Set("selector", "scaled"); r.Set("receiver", Lobby.At("o%d")); r.Set("prompt", "Object o%d holds n = %d. Write scaled, n times %d."); r.Set("accepted", "BRICK")
r.Set("personas", []any{"BRICK"}); r.Set("candidates", []any{map[string]any{"persona": "BRICK", "outcome": "accepted", "source": %q}})
g, _ := p.Get("generations").([]any); p.Set("generations", append(g, r))`, i, i, i, i+2, src)
		if _, err := s.Eval(ctx, record); err != nil {
			return fmt.Errorf("selftest: scripted generation %d: %w", i, err)
		}
	}
	step("image", "%d scripted generations accepted from BRICK, in %s", selftestExamples, dir)

	// The saga.
	f.Start()
	t0 = time.Now()
	res, err := s.Eval(ctx, `Lobby.At("Forge").Send("fineTune", "BRICK").(Object).Get("id")`)
	if err != nil {
		return fmt.Errorf("selftest: fineTune: %w", err)
	}
	id := res.Value
	var state, reason string
	for {
		r, err := s.Eval(ctx, fmt.Sprintf(`var st, why string; for _, j := range Lobby.At("Forge").Get("jobs").([]any) { if j.(Object).Get("id") == %v { st = j.(Object).Get("state").(string); if w, ok := j.(Object).Lookup("reason"); ok { why = fmt.Sprint(w) } } }; st + "\n" + why`, id))
		if err != nil {
			return err
		}
		state, reason, _ = strings.Cut(fmt.Sprint(r.Value), "\n")
		if forge.Ended(state) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("selftest: the job is still %s after 10 minutes", state)
		case <-time.After(100 * time.Millisecond):
		}
	}
	jobDir := filepath.Join(dir, "forge", "jobs", fmt.Sprint(id))
	if man, err := forge.ReadManifest(jobDir); err == nil {
		step("curate", "%d training and %d validation examples, %d tokens (byte vocabulary)", man.Train, man.Valid, man.Tokens)
	}
	first, last, steps := trainingCurve(forge.LogPath(dir, intOf(id)))
	if steps > 0 {
		step("train", "%d steps, loss %.3f → %.3f, in %s", steps, first, last, since(t0))
	}
	if state != forge.Succeeded {
		return fmt.Errorf("selftest: forge job %v ended %s: %s (log: %s)", id, state, reason, forge.LogPath(dir, intOf(id)))
	}
	if steps == 0 || !(last < first) {
		return fmt.Errorf("selftest: training did not lower the loss (%.3f → %.3f over %d steps)", first, last, steps)
	}
	version := filepath.Join(dir, "adapters", "BRICK", "v1")
	adapter := filepath.Join(version, forge.AdapterFile)
	fi, err := os.Stat(adapter)
	if err != nil {
		return fmt.Errorf("selftest: convert: %w", err)
	}
	step("convert", "%s, %d bytes", adapter, fi.Size())
	var metrics struct {
		Val  float64 `json:"val_loss"`
		Base float64 `json:"val_loss_base"`
	}
	if b, err := os.ReadFile(filepath.Join(jobDir, "out", "metrics.json")); err == nil && json.Unmarshal(b, &metrics) == nil {
		step("evaluate", "validation loss %.3f without the adapter, %.3f with", metrics.Base, metrics.Val)
	}
	r, err := s.Eval(ctx, `fmt.Sprint(Lobby.At("pLLM").At("personas").At("BRICK").Get("lora"))`)
	if err != nil {
		return err
	}
	if !strings.Contains(fmt.Sprint(r.Value), adapter) {
		return fmt.Errorf("selftest: register: BRICK's lora slot is %v, not the adapter", r.Value)
	}
	step("register", "BRICK's lora names it")

	// llama.cpp against PyTorch.
	nodeDir, err := llamacpp.Find()
	if err != nil {
		return fmt.Errorf("selftest: llama.cpp: %w", err)
	}
	baseGGUF := filepath.Join(tmp, "base.gguf")
	if err := gguf.ConvertBase(base, baseGGUF, gguf.BaseOptions{Vocab: gguf.ByteVocab(), Name: "batos-selftest"}); err != nil {
		return fmt.Errorf("selftest: convert the base: %w", err)
	}
	prompt, _, _ := forge.ByteTokenizer{}.Encode(ctx, "You are BRICK. Answer with one Go method.", "Object o3 holds n = 3. Write scaled, n times 5.", "")
	const n = 8
	worst := 0.0
	var runs []llamacpp.Result
	for _, withAdapter := range []bool{false, true} {
		lora, peft, what := "", "", "base"
		if withAdapter {
			lora, peft, what = adapter, version, "base + adapter"
		}
		t0 = time.Now()
		lc, err := llamacpp.Greedy(ctx, nodeDir, baseGGUF, lora, 1, prompt, n)
		if err != nil {
			return fmt.Errorf("selftest: %s in llama.cpp: %w", what, err)
		}
		pt, err := pytorchGreedy(ctx, python, tdir, base, peft, prompt, n)
		if err != nil {
			return fmt.Errorf("selftest: %s in PyTorch: %w", what, err)
		}
		diff := logprobDiff(lc.LogProbs, pt.Logits)
		worst = math.Max(worst, diff)
		if !slices.Equal(lc.Tokens, pt.Tokens) || diff > 1e-3 || math.IsNaN(diff) {
			return fmt.Errorf("selftest: %s: llama.cpp continues with %v, PyTorch with %v (log-probabilities differ by %.2g)", what, lc.Tokens, pt.Tokens, diff)
		}
		step("llama.cpp", "%s: the same %d greedy tokens as PyTorch, log-probabilities within %.1g, in %s", what, n, diff, since(t0))
		runs = append(runs, lc)
	}
	// The adapter must change what llama.cpp computes: an adapter loaded
	// and ignored would pass the comparisons above.
	moved := 0.0
	for i := range runs[0].LogProbs[0] {
		moved = math.Max(moved, math.Abs(runs[0].LogProbs[0][i]-runs[1].LogProbs[0][i]))
	}
	if moved < 1e-3 {
		return fmt.Errorf("selftest: the adapter changes llama.cpp's log-probabilities by only %.1g", moved)
	}
	step("adapter", "moves llama.cpp's next-token log-probabilities by up to %.2f", moved)
	step("passed", "every step, in %s (largest log-probability difference %.1g)", since(start), worst)
	return nil
}

// selftestPython is the interpreter with torch to use.
func selftestPython(given string) (string, error) {
	candidates := []string{given}
	if given == "" {
		candidates = []string{"python3", "/usr/bin/python3"}
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", "import torch").Run() == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("selftest: no Python with torch (tried %s): install Debian's python3-torch, or name one with --python", strings.Join(candidates, ", "))
}

type pytorchResult struct {
	Tokens []int       `json:"tokens"`
	Logits [][]float64 `json:"logits"`
}

func pytorchGreedy(ctx context.Context, python, tdir, base, adapter string, ids []int, n int) (pytorchResult, error) {
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = fmt.Sprint(id)
	}
	args := []string{filepath.Join(tdir, "greedy.py"), "--base", base, "--ids", strings.Join(strs, ","), "--n", fmt.Sprint(n)}
	if adapter != "" {
		args = append(args, "--adapter", adapter)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return pytorchResult{}, fmt.Errorf("%v: %s", err, lastLine(stderr.Bytes()))
	}
	var r pytorchResult
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &r); err != nil {
		return r, errors.New("greedy.py's output is not JSON")
	}
	return r, nil
}

// logprobDiff is the largest difference between llama.cpp's
// log-probabilities and the log-softmax of PyTorch's logits, over the
// first row (NaN when they cannot be compared).
func logprobDiff(lc [][]float64, logits [][]float64) float64 {
	if len(lc) == 0 || len(logits) == 0 || len(lc[0]) != len(logits[0]) {
		return math.NaN()
	}
	row := logits[0]
	hi := math.Inf(-1)
	for _, x := range row {
		hi = math.Max(hi, x)
	}
	sum := 0.0
	for _, x := range row {
		sum += math.Exp(x - hi)
	}
	worst := 0.0
	for i, x := range row {
		worst = math.Max(worst, math.Abs((x-hi-math.Log(sum))-lc[0][i]))
	}
	return worst
}

// trainingCurve reads the first and last loss the trainer reported.
func trainingCurve(log string) (first, last float64, steps int) {
	b, err := os.ReadFile(log)
	if err != nil {
		return 0, 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		var p struct {
			Step int      `json:"step"`
			Loss *float64 `json:"loss"`
		}
		if json.Unmarshal([]byte(line), &p) != nil || p.Loss == nil {
			continue
		}
		if steps == 0 {
			first = *p.Loss
		}
		last, steps = *p.Loss, p.Step
	}
	return first, last, steps
}

func intOf(v any) int {
	n, _ := v.(int)
	return n
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func since(t time.Time) time.Duration { return time.Since(t).Round(10 * time.Millisecond) }
