package trainers_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// python is the interpreter with Debian's torch; the PATH one may lack it.
const python = "/usr/bin/python3"

// The tiny model every test trains (tiny_llama.py's defaults).
const (
	vocab, hidden, intermediate, layers, heads, kvHeads = 259, 64, 128, 2, 4, 2
	headDim                                             = hidden / heads
)

var (
	torchOnce   sync.Once
	torchReason string
)

// needTorch skips the test unless /usr/bin/python3 can import torch.
func needTorch(t *testing.T) {
	t.Helper()
	torchOnce.Do(func() {
		out, err := exec.Command(python, "-c", "import torch").CombinedOutput()
		if err != nil {
			torchReason = fmt.Sprintf("%s cannot import torch (%v): %s", python, err, lastLine(string(out)))
		}
	})
	if torchReason != "" {
		t.Skip(torchReason)
	}
}

// script is the absolute path of one of this folder's Python programs.
func script(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// result is what a finished command left.
type result struct {
	stdout, stderr string
	code           int
}

// run runs argv with extra environment variables and returns its output
// and exit status; only a failure to start fails the test.
func run(t *testing.T, env []string, argv ...string) result {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// mustRun is run that fails the test unless the command exits 0.
func mustRun(t *testing.T, env []string, argv ...string) result {
	t.Helper()
	r := run(t, env, argv...)
	if r.code != 0 {
		t.Fatalf("%s exited %d\nstdout:\n%s\nstderr:\n%s", filepath.Base(argv[1]), r.code, r.stdout, r.stderr)
	}
	return r
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// makeBase writes the tiny random Llama into a fresh folder.
func makeBase(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "base")
	mustRun(t, nil, python, script(t, "tiny_llama.py"), "--out", dir, "--seed", "0")
	return dir
}

// example is one line of the trainer's dataset.
type example struct {
	Tokens   []int            `json:"tokens"`
	Mask     []int            `json:"mask"`
	Messages []map[string]any `json:"messages,omitempty"`
}

// synthExample is a prompt (BOS, three random byte tokens and a "topic"
// token 3, 4 or 5, random when topic is 0; mask 0) and an answer that
// depends on the topic (a fixed run of five tokens per topic, then EOS;
// mask 1): a pattern the tiny model's adapter learns within 30 steps.
func synthExample(rng *rand.Rand, topic int) example {
	prompt := []int{1}
	for range 3 {
		prompt = append(prompt, 6+rng.Intn(7))
	}
	if topic == 0 {
		topic = 3 + rng.Intn(3)
	}
	prompt = append(prompt, topic)
	answer := make([]int, 0, 6)
	for k := range 5 {
		answer = append(answer, 100+10*(topic-3)+k)
	}
	answer = append(answer, 2)
	mask := make([]int, len(prompt)+len(answer))
	for i := len(prompt); i < len(mask); i++ {
		mask[i] = 1
	}
	return example{Tokens: append(prompt, answer...), Mask: mask}
}

// makeDataset writes train.jsonl (nTrain examples) and valid.jsonl
// (nValid) into a fresh folder; some lines carry "messages" too, which
// the trainer ignores.
func makeDataset(t *testing.T, nTrain, nValid int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "dataset")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(7))
	for _, f := range []struct {
		name string
		n    int
	}{{"train.jsonl", nTrain}, {"valid.jsonl", nValid}} {
		name, n := f.name, f.n
		var b bytes.Buffer
		for i := range n {
			ex := synthExample(rng, 0)
			if i%3 == 0 {
				ex.Messages = []map[string]any{{"role": "user", "content": "hi"}}
			}
			line, _ := json.Marshal(ex)
			b.Write(append(line, '\n'))
		}
		writeFile(t, filepath.Join(dir, name), b.String())
	}
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeConfig writes the trainer's config file: cfg over CPU defaults.
func writeConfig(t *testing.T, cfg map[string]any) string {
	t.Helper()
	full := map[string]any{"device": "cpu", "seed": 1, "persona": "BRICK", "base_model": ""}
	for k, v := range cfg {
		full[k] = v
	}
	b, _ := json.Marshal(full)
	path := filepath.Join(t.TempDir(), "config.json")
	writeFile(t, path, string(b))
	return path
}

// train runs lora_sft.py; env adds environment variables.
func train(t *testing.T, env []string, dataset, out, base, config string) result {
	t.Helper()
	return run(t, env, python, script(t, "lora_sft.py"),
		"--dataset", dataset, "--out", out, "--base", base, "--config", config)
}

// progress is one progress line of the contract.
type progress struct {
	Step    int      `json:"step"`
	Steps   int      `json:"steps"`
	Loss    float64  `json:"loss"`
	LR      float64  `json:"lr"`
	ETA     int      `json:"eta_s"`
	ValLoss *float64 `json:"val_loss"`
}

// parseProgress reads stdout: every line must be a progress line with
// all of step, steps, loss, lr and eta_s.
func parseProgress(t *testing.T, stdout string) []progress {
	t.Helper()
	var out []progress
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("stdout line %q is not JSON: %v", sc.Text(), err)
		}
		for _, k := range []string{"step", "steps", "loss", "lr", "eta_s"} {
			if _, ok := raw[k]; !ok {
				t.Fatalf("progress line %q has no %q", sc.Text(), k)
			}
		}
		var p progress
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("progress line %q: %v", sc.Text(), err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		t.Fatal("no progress lines")
	}
	return out
}

// tensor is one tensor of a safetensors file.
type tensor struct {
	dtype string
	shape []int
	data  []float32 // only for F32
}

// readSafetensors parses a safetensors file: the header (checked for
// contiguous, in-bounds offsets) and the F32 data.
func readSafetensors(t *testing.T, path string) map[string]tensor {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 8 {
		t.Fatalf("%s: too short", path)
	}
	n := binary.LittleEndian.Uint64(raw[:8])
	if 8+n > uint64(len(raw)) {
		t.Fatalf("%s: header length %d past the end", path, n)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &header); err != nil {
		t.Fatalf("%s: header: %v", path, err)
	}
	data := raw[8+n:]
	type entry struct {
		DType   string `json:"dtype"`
		Shape   []int  `json:"shape"`
		Offsets [2]int `json:"data_offsets"`
	}
	out := map[string]tensor{}
	var spans [][2]int
	for name, msg := range header {
		if name == "__metadata__" {
			continue
		}
		var e entry
		if err := json.Unmarshal(msg, &e); err != nil {
			t.Fatalf("%s: %s: %v", path, name, err)
		}
		if e.Offsets[0] < 0 || e.Offsets[1] > len(data) || e.Offsets[0] > e.Offsets[1] {
			t.Fatalf("%s: %s: offsets %v out of %d bytes", path, name, e.Offsets, len(data))
		}
		spans = append(spans, e.Offsets)
		tn := tensor{dtype: e.DType, shape: e.Shape}
		if e.DType == "F32" {
			b := data[e.Offsets[0]:e.Offsets[1]]
			tn.data = make([]float32, len(b)/4)
			for i := range tn.data {
				tn.data[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		}
		out[name] = tn
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	pos := 0
	for _, s := range spans {
		if s[0] != pos {
			t.Fatalf("%s: data not contiguous at byte %d", path, s[0])
		}
		pos = s[1]
	}
	if pos != len(data) {
		t.Fatalf("%s: %d bytes after the last tensor", path, len(data)-pos)
	}
	return out
}

// moduleShape is (out, in) of a Llama linear of the tiny model.
func moduleShape(module string) (int, int) {
	switch module {
	case "q_proj":
		return heads * headDim, hidden
	case "k_proj", "v_proj":
		return kvHeads * headDim, hidden
	case "o_proj":
		return hidden, heads * headDim
	case "gate_proj", "up_proj":
		return intermediate, hidden
	default: // down_proj
		return hidden, intermediate
	}
}

// checkAdapter checks out's adapter files: PEFT config and tensor names,
// shapes and dtypes for rank r and the target modules.
func checkAdapter(t *testing.T, out string, r int, alpha float64, targets []string) map[string]tensor {
	t.Helper()
	var cfg struct {
		PeftType string   `json:"peft_type"`
		TaskType string   `json:"task_type"`
		R        int      `json:"r"`
		Alpha    float64  `json:"lora_alpha"`
		Targets  []string `json:"target_modules"`
		Base     string   `json:"base_model_name_or_path"`
		Bias     string   `json:"bias"`
		FanIn    bool     `json:"fan_in_fan_out"`
		Infer    bool     `json:"inference_mode"`
	}
	b, err := os.ReadFile(filepath.Join(out, "adapter_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.PeftType != "LORA" || cfg.TaskType != "CAUSAL_LM" || cfg.R != r || cfg.Alpha != alpha ||
		strings.Join(cfg.Targets, ",") != strings.Join(targets, ",") || cfg.Bias != "none" || cfg.FanIn || !cfg.Infer || cfg.Base == "" {
		t.Fatalf("adapter_config.json: %s", b)
	}
	tensors := readSafetensors(t, filepath.Join(out, "adapter_model.safetensors"))
	if len(tensors) != 2*layers*len(targets) {
		t.Errorf("%d tensors, want %d", len(tensors), 2*layers*len(targets))
	}
	for l := range layers {
		for _, m := range targets {
			group := "self_attn"
			if m == "gate_proj" || m == "up_proj" || m == "down_proj" {
				group = "mlp"
			}
			prefix := fmt.Sprintf("base_model.model.model.layers.%d.%s.%s", l, group, m)
			outDim, inDim := moduleShape(m)
			for name, shape := range map[string][]int{prefix + ".lora_A.weight": {r, inDim}, prefix + ".lora_B.weight": {outDim, r}} {
				tn, ok := tensors[name]
				if !ok {
					t.Errorf("no tensor %s", name)
					continue
				}
				if tn.dtype != "F32" || fmt.Sprint(tn.shape) != fmt.Sprint(shape) {
					t.Errorf("%s: %s %v, want F32 %v", name, tn.dtype, tn.shape, shape)
				}
			}
		}
	}
	return tensors
}

// maxDiff is the largest absolute difference between two adapters' values.
func maxDiff(t *testing.T, a, b map[string]tensor) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("adapters have %d and %d tensors", len(a), len(b))
	}
	d := 0.0
	for name, ta := range a {
		tb, ok := b[name]
		if !ok || len(ta.data) != len(tb.data) {
			t.Fatalf("tensor %s differs in presence or size", name)
		}
		for i := range ta.data {
			d = math.Max(d, math.Abs(float64(ta.data[i]-tb.data[i])))
		}
	}
	return d
}

func mean(ps []progress) float64 {
	s := 0.0
	for _, p := range ps {
		s += p.Loss
	}
	return s / float64(len(ps))
}

// TestTrainingLowersLoss trains the tiny model for 30 steps on a pattern
// and checks the progress lines, the falling loss, the PEFT files and
// metrics.json; peft_check.py accepts the adapter, and greedy.py with the
// adapter merged continues each prompt with the learned answer.
func TestTrainingLowersLoss(t *testing.T) {
	needTorch(t)
	base, data := makeBase(t), makeDataset(t, 64, 16)
	out := filepath.Join(t.TempDir(), "out")
	targets := []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
	cfg := writeConfig(t, map[string]any{
		"lora_rank": 8, "learning_rate": 1e-2, "max_steps": 30, "batch_size": 4,
		"warmup_steps": 2, "target_modules": targets,
	})
	r := mustRun(t, nil, python, script(t, "lora_sft.py"), "--dataset", data, "--out", out, "--base", base, "--config", cfg)
	ps := parseProgress(t, r.stdout)
	if len(ps) != 30 {
		t.Fatalf("%d progress lines, want 30", len(ps))
	}
	for i, p := range ps {
		if p.Step != i+1 || p.Steps != 30 || p.LR <= 0 || p.ETA < 0 || math.IsNaN(p.Loss) {
			t.Fatalf("progress line %d: %+v", i+1, p)
		}
	}
	first, last := mean(ps[:3]), mean(ps[len(ps)-5:])
	t.Logf("loss: first 3 steps %.3f, last 5 steps %.3f", first, last)
	if last > 0.5*first {
		t.Errorf("the loss did not fall: first %.3f, last %.3f", first, last)
	}
	// 64 examples, 4 a step: an epoch is 16 steps; validation at its end and after the last step.
	for _, step := range []int{16, 30} {
		if v := ps[step-1].ValLoss; v == nil || *v <= 0 || *v > first {
			t.Errorf("step %d: val_loss %v", step, v)
		}
	}
	checkAdapter(t, out, 8, 16, targets)

	var m struct {
		TrainLoss float64  `json:"train_loss"`
		ValLoss   *float64 `json:"val_loss"`
		Steps     int      `json:"steps"`
		Examples  int      `json:"examples"`
		Runtime   float64  `json:"runtime_s"`
		ValBase   *float64 `json:"val_loss_base"`
	}
	b, err := os.ReadFile(filepath.Join(out, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Steps != 30 || m.Examples != 64 || m.ValLoss == nil || math.Abs(m.TrainLoss-ps[29].Loss) > 1e-5 {
		t.Errorf("metrics.json: %s (%v)", b, err)
	}
	// The base model's validation loss, which the Forge's evaluate step
	// compares with: training lowered it.
	if m.ValBase == nil || m.ValLoss == nil || *m.ValLoss >= *m.ValBase {
		t.Errorf("validation loss with the adapter %v, without %v: want lower with", m.ValLoss, m.ValBase)
	}
	t.Logf("%.1f ms a step on the CPU", 1000*m.Runtime/float64(m.Steps))

	chk := mustRun(t, nil, python, script(t, "peft_check.py"), out, "--base", base)
	if !strings.HasPrefix(chk.stdout, "ok: LORA r=8 alpha=16") || strings.Count(chk.stdout, "\n") != 1 {
		t.Errorf("peft_check: %q", chk.stdout)
	}
	// The adapter merged at alpha/r (greedy.py) answers each topic with its pattern.
	for topic := 3; topic <= 5; topic++ {
		g := mustRun(t, nil, python, script(t, "greedy.py"), "--base", base, "--adapter", out,
			"--ids", fmt.Sprintf("1,7,12,9,%d", topic), "--n", "6")
		var greedy struct {
			Tokens []int       `json:"tokens"`
			Logits [][]float64 `json:"logits"`
		}
		if err := json.Unmarshal([]byte(g.stdout), &greedy); err != nil || len(greedy.Logits) != 1 || len(greedy.Logits[0]) != vocab {
			t.Fatalf("greedy.py: %.200s (%v)", g.stdout, err)
		}
		want := synthExample(rand.New(rand.NewSource(0)), topic).Tokens[5:]
		if fmt.Sprint(greedy.Tokens) != fmt.Sprint(want) {
			t.Errorf("topic %d: the adapted model continues %v, want %v", topic, greedy.Tokens, want)
		}
	}
}

// TestCheckpointResumes crashes a 10-step run right after step 7 (its
// newest checkpoint is step 5's), reruns it in the same folder and checks
// that it resumed at step 6 and ended with the adapter of an uninterrupted
// run. Dropout is 0 and the data order depends only on the seed and the
// step, so the two must agree.
func TestCheckpointResumes(t *testing.T) {
	needTorch(t)
	base, data := makeBase(t), makeDataset(t, 32, 8)
	cfg := writeConfig(t, map[string]any{
		"lora_rank": 4, "lora_alpha": 8, "lora_dropout": 0, "learning_rate": 1e-2, "max_steps": 10,
		"batch_size": 4, "warmup_steps": 2, "checkpoint_every": 5, "target_modules": []string{"q_proj", "v_proj", "up_proj"},
	})
	whole, resumed := filepath.Join(t.TempDir(), "whole"), filepath.Join(t.TempDir(), "resumed")

	ref := train(t, nil, data, whole, base, cfg)
	if ref.code != 0 {
		t.Fatalf("uninterrupted run exited %d: %s", ref.code, ref.stderr)
	}
	crash := train(t, []string{"BATOS_TRAINER_CRASH_AT=7"}, data, resumed, base, cfg)
	if crash.code == 0 {
		t.Fatal("the crashing run exited 0")
	}
	if ps := parseProgress(t, crash.stdout); ps[len(ps)-1].Step != 7 {
		t.Fatalf("the crashing run stopped at step %d, want 7", ps[len(ps)-1].Step)
	}
	for _, name := range []string{"checkpoint-5/trainer_state.pt", "checkpoint-5/adapter_model.safetensors"} {
		if _, err := os.Stat(filepath.Join(resumed, name)); err != nil {
			t.Fatalf("after the crash: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(resumed, "adapter_model.safetensors")); err == nil {
		t.Fatal("the crashed run left a final adapter")
	}

	again := train(t, nil, data, resumed, base, cfg)
	if again.code != 0 {
		t.Fatalf("the resumed run exited %d: %s", again.code, again.stderr)
	}
	ps, want := parseProgress(t, again.stdout), parseProgress(t, ref.stdout)
	if ps[0].Step != 6 || len(ps) != 5 {
		t.Fatalf("the resumed run reported steps %d..%d, want 6..10", ps[0].Step, ps[len(ps)-1].Step)
	}
	for _, p := range ps {
		if w := want[p.Step-1]; math.Abs(p.Loss-w.Loss) > 1e-5 || p.LR != w.LR {
			t.Errorf("step %d: loss %v lr %v, uninterrupted %v %v", p.Step, p.Loss, p.LR, w.Loss, w.LR)
		}
	}
	a := checkAdapter(t, whole, 4, 8, []string{"q_proj", "v_proj", "up_proj"})
	b := checkAdapter(t, resumed, 4, 8, []string{"q_proj", "v_proj", "up_proj"})
	d := maxDiff(t, a, b)
	t.Logf("resumed vs uninterrupted: max abs diff %.3g", d)
	if d > 1e-6 {
		t.Errorf("the resumed adapter differs from the uninterrupted one by %g", d)
	}
}

// freePort is a TCP port nothing listens on (for torchrun's rendezvous).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestTorchrunMatchesOneProcess trains with two CPU processes under
// torchrun (gloo), batch 2 each, and with one process, batch 4: the same
// global batches, so the same adapter within float tolerance.
func TestTorchrunMatchesOneProcess(t *testing.T) {
	needTorch(t)
	base, data := makeBase(t), makeDataset(t, 32, 8)
	settings := map[string]any{
		"lora_rank": 4, "lora_alpha": 8, "lora_dropout": 0, "learning_rate": 1e-2, "max_steps": 8,
		"warmup_steps": 2, "target_modules": []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj"},
	}
	settings["batch_size"] = 4
	one := filepath.Join(t.TempDir(), "one")
	r1 := train(t, nil, data, one, base, writeConfig(t, settings))
	if r1.code != 0 {
		t.Fatalf("one process exited %d: %s", r1.code, r1.stderr)
	}
	settings["batch_size"] = 2
	two := filepath.Join(t.TempDir(), "two")
	// --redirects/--tee 2: see doc.go (Debian's torchrun fails on their default).
	r2 := run(t, nil, python, "-m", "torch.distributed.run", "--nproc_per_node", "2",
		"--master_addr", "127.0.0.1", "--master_port", strconv.Itoa(freePort(t)),
		"--monitor_interval", "0.2", "--redirects", "2", "--tee", "2",
		script(t, "lora_sft.py"), "--dataset", data, "--out", two, "--base", base, "--config", writeConfig(t, settings))
	if r2.code != 0 {
		t.Fatalf("torchrun exited %d\nstdout:\n%s\nstderr:\n%s", r2.code, r2.stdout, r2.stderr)
	}
	p1, p2 := parseProgress(t, r1.stdout), parseProgress(t, r2.stdout)
	if len(p2) != 8 {
		t.Fatalf("torchrun printed %d progress lines, want 8 (rank 0's only)", len(p2))
	}
	for i := range p2 {
		if p2[i].Step != i+1 || math.Abs(p1[i].Loss-p2[i].Loss) > 1e-4 {
			t.Errorf("step %d: loss %v with one process, %v with two", i+1, p1[i].Loss, p2[i].Loss)
		}
	}
	targets := settings["target_modules"].([]string)
	d := maxDiff(t, checkAdapter(t, one, 4, 8, targets), checkAdapter(t, two, 4, 8, targets))
	t.Logf("one process vs two: max abs diff %.3g", d)
	if d >= 1e-4 {
		t.Errorf("two processes' adapter differs from one's by %g", d)
	}
}

// oneLineError checks that a failed run said why on exactly one stderr
// line containing each of wants, and printed no progress.
func oneLineError(t *testing.T, r result, prefix string, wants ...string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("exited 0; stdout %q", r.stdout)
	}
	msg := strings.TrimRight(r.stderr, "\n")
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, prefix) {
		t.Fatalf("stderr is not one %q line: %q", prefix, r.stderr)
	}
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
	if r.stdout != "" {
		t.Errorf("a failed run printed %q", r.stdout)
	}
}

// TestBadInputsFailWithOneLine: a malformed dataset line (named by
// file:line), a missing base folder, a rank of 0 and a broken adapter
// each fail with one line on stderr.
func TestBadInputsFailWithOneLine(t *testing.T) {
	needTorch(t)
	base := makeBase(t)
	good := writeConfig(t, map[string]any{"lora_rank": 4, "max_steps": 1})

	t.Run("malformed line", func(t *testing.T) {
		dir := t.TempDir()
		train := filepath.Join(dir, "train.jsonl")
		writeFile(t, train, "{\"tokens\":[1,5,6],\"mask\":[0,1,1]}\n\n{\"tokens\":[1,5,6],\"mask\":[0,1]}\n")
		r := run(t, nil, python, script(t, "lora_sft.py"), "--dataset", dir, "--out", filepath.Join(dir, "out"), "--base", base, "--config", good)
		oneLineError(t, r, "lora_sft: error: ", train+":3:", "mask")
		if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
			t.Error("a failed run created its output folder")
		}
	})
	t.Run("missing base", func(t *testing.T) {
		dir := t.TempDir()
		data := makeDataset(t, 4, 0)
		missing := filepath.Join(dir, "no-such-model")
		r := run(t, nil, python, script(t, "lora_sft.py"), "--dataset", data, "--out", filepath.Join(dir, "out"), "--base", missing, "--config", good)
		oneLineError(t, r, "lora_sft: error: ", missing, "does not exist")
	})
	t.Run("rank 0", func(t *testing.T) {
		dir := t.TempDir()
		data := makeDataset(t, 4, 0)
		cfg := writeConfig(t, map[string]any{"lora_rank": 0})
		r := run(t, nil, python, script(t, "lora_sft.py"), "--dataset", data, "--out", filepath.Join(dir, "out"), "--base", base, "--config", cfg)
		oneLineError(t, r, "lora_sft: error: ", "lora_rank", "0")
	})
	t.Run("broken adapter", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "adapter_config.json"), `{"peft_type":"LORA","r":0,"lora_alpha":16,"target_modules":["q_proj"]}`)
		r := run(t, nil, python, script(t, "peft_check.py"), dir)
		oneLineError(t, r, "peft_check: error: ", "r is 0")
	})
}
