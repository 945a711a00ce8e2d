package main_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// forgeImage makes an image whose Forge trains BRICK with the scripted
// trainer in mode.
func forgeImage(t *testing.T, mode string) (image string) {
	t.Helper()
	image = filepath.Join(t.TempDir(), "img")
	script, err := filepath.Abs("../../forge/testdata/trainer.sh")
	if err != nil {
		t.Fatal(err)
	}
	setTrainer(t, image, script, mode)
	return image
}

func setTrainer(t *testing.T, image, script, mode string) {
	t.Helper()
	testdata := filepath.Dir(script)
	src := fmt.Sprintf(`f := Lobby.Get("Forge").(Object); f.Set("minExamples", 0); f.Set("trainer", []any{"/bin/sh", %q, %q, "{dataset}", "{out}", %q}); f.Set("baseModel", %q)`,
		script, mode, filepath.Join(testdata, "peft"), filepath.Join(testdata, "tiny-base"))
	if r := batos(t, "", nil, "eval", "--image", image, src); r.code != 0 {
		t.Fatalf("set the trainer: %+v", r)
	}
}

// TestForgeCommands: train follows a job to its end and exits by its
// outcome; jobs, show and logs report it.
func TestForgeCommands(t *testing.T) {
	image := forgeImage(t, "success")
	r := batos(t, "", nil, "forge", "train", "BRICK", "--image", image)
	if r.code != 0 || strings.TrimSpace(r.out) != "1" || !strings.Contains(r.err, "forge job 1 (BRICK): succeeded") {
		t.Fatalf("train: %+v", r)
	}
	if r := batos(t, "", nil, "forge", "jobs", "--image", image); r.code != 0 || !strings.Contains(r.out, "succeeded") || !strings.Contains(r.out, "step 3/3") {
		t.Fatalf("jobs: %+v", r)
	}
	if r := batos(t, "", nil, "forge", "show", "1", "--image", image); r.code != 0 || !strings.Contains(r.out, `version    1`) {
		t.Fatalf("show: %+v", r)
	}
	if r := batos(t, "", nil, "forge", "logs", "1", "--image", image); r.code != 0 || strings.Count(r.out, `"step"`) != 3 {
		t.Fatalf("logs: %+v", r)
	}
	setTrainer(t, image, mustAbs(t, "../../forge/testdata/trainer.sh"), "fail")
	// Progress goes to standard error before the error's one line.
	r = batos(t, "", nil, "forge", "train", "BRICK", "--image", image)
	lines := strings.Split(strings.TrimSpace(r.err), "\n")
	if last := lines[len(lines)-1]; r.code != 1 || last != "error: forge job 2 (BRICK) failed: train: failed: exit status 3; its steps were compensated" {
		t.Fatalf("train of a failing trainer: %+v", r)
	}
	oneLineError(t, batos(t, "", nil, "forge", "train", "NOBODY", "--image", image), `no persona "NOBODY"`)
	oneLineError(t, batos(t, "", nil, "forge", "cancel", "1", "--image", image), "forge job 1 has ended (succeeded)")
	oneLineError(t, batos(t, "", nil, "forge", "show", "x", "--image", image), `"x" is not a job id`)
	// eval can queue (the job waits for a worker) but runs nothing.
	if r := batos(t, "", nil, "eval", "--image", image, `Lobby.Get("Forge").(Object).Send("fineTune", "ROBIN").(Object).Get("state")`); r.code != 0 || strings.TrimSpace(r.out) != `"queued"` {
		t.Fatalf("queue from eval: %+v", r)
	}
	if r := batos(t, "", nil, "forge", "run", "--image", image); r.code != 0 {
		t.Fatalf("run: %+v", r)
	}
	if r := batos(t, "", nil, "forge", "jobs", "--image", image); !strings.Contains(r.out, "3     ROBIN    failed") {
		t.Fatalf("the queued job after run: %+v", r)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// startTrain starts `batos forge train BRICK` and waits until the trainer
// reported its first step.
func startTrain(t *testing.T, image string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(batosBin, "forge", "train", "BRICK", "--image", image)
	cmd.Env = append(os.Environ(), "BATOS_LLM_URL=http://127.0.0.1:1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if strings.Contains(lines.Text(), "1/2") {
			go func() {
				for lines.Scan() {
				}
			}()
			return cmd
		}
	}
	t.Fatalf("forge train ended before the trainer's first step: %v", cmd.Wait())
	return nil
}

// TestForgeTrainInterrupted: ctrl+c cancels the job, which is compensated;
// a batos killed mid-training is resumed by the next one, which
// re-attaches to the still running trainer.
func TestForgeTrainInterrupted(t *testing.T) {
	image := forgeImage(t, "wait")
	cmd := startTrain(t, image)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("train after ctrl+c: %v", err)
	}
	if r := batos(t, "", nil, "forge", "jobs", "--image", image); !strings.Contains(r.out, "cancelled") {
		t.Fatalf("jobs after ctrl+c: %+v", r)
	}

	cmd = startTrain(t, image)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// The trainer outlives batos; the next worker finds it running.
	if err := os.WriteFile(filepath.Join(image, "forge", "jobs", "2", "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan result, 1)
	go func() { done <- batos(t, "", nil, "forge", "run", "--image", image) }()
	select {
	case r := <-done:
		if r.code != 0 {
			t.Fatalf("run: %+v", r)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("forge run did not finish")
	}
	r := batos(t, "", nil, "forge", "show", "2", "--image", image)
	if !strings.Contains(r.out, `"succeeded"`) {
		t.Fatalf("job 2 after the restart: %+v", r)
	}
	if r := batos(t, "", nil, "forge", "logs", "2", "--image", image); strings.Count(r.out, `"step":1`) != 1 {
		t.Fatalf("the trainer ran more than once: %s", r.out)
	}
}

// TestEntropyCommand: the reading, recorded into the series on request.
func TestEntropyCommand(t *testing.T) {
	image := filepath.Join(t.TempDir(), "img")
	r := batos(t, "", nil, "entropy", "--image", image)
	if r.code != 0 || !strings.Contains(r.out, "H_struc ") || !strings.Contains(r.out, "0 readings in the series") {
		t.Fatalf("entropy: %+v", r)
	}
	for range 2 {
		batos(t, "", nil, "entropy", "--record", "--image", image)
	}
	if r := batos(t, "", nil, "entropy", "--image", image); !strings.Contains(r.out, "2 readings in the series") {
		t.Fatalf("after two records: %+v", r)
	}
}

// TestForgeSelftest is the Forge's chain end to end on the CPU with the
// real binary: a tiny model fine-tuned through a temporary image's saga,
// its adapter converted and checked against llama.cpp. It needs torch
// and node-llama-cpp (.ci/run installs both); BATOS_LLAMACPP_REQUIRED=1
// makes their absence a failure.
func TestForgeSelftest(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "forge", "llamacpp"))
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	if exec.Command("/usr/bin/python3", "-c", "import torch").Run() != nil {
		missing = append(missing, "torch in /usr/bin/python3")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "node-llama-cpp")); err != nil {
		missing = append(missing, "node-llama-cpp (npm ci --prefix forge/llamacpp)")
	}
	if len(missing) > 0 {
		if os.Getenv("BATOS_LLAMACPP_REQUIRED") == "1" {
			t.Fatalf("missing %s", strings.Join(missing, " and "))
		}
		t.Skipf("missing %s", strings.Join(missing, " and "))
	}
	r := batos(t, "", []string{"BATOS_LLAMACPP_DIR=" + dir}, "forge", "selftest", "--python", "/usr/bin/python3")
	if r.code != 0 {
		t.Fatalf("selftest failed:\n%s\n%s", r.out, r.err)
	}
	for _, want := range []string{"curate ", "train ", "convert ", "evaluate ", "register ", "base + adapter: the same 8 greedy tokens as PyTorch", "passed "} {
		if !strings.Contains(r.out, want) {
			t.Fatalf("selftest's report lacks %q:\n%s", want, r.out)
		}
	}
	t.Log(r.out)
}
