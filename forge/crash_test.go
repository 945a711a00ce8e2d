package forge_test

import (
	"batos/kernel/sandbox"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"batos/forge"
	"batos/kernel"
)

// The crash tests run the Forge in a child process (this test binary,
// re-entered through TestMain), kill it with SIGKILL at a failpoint, and
// start another, as a user would restart batos.

const childDirEnv, childCrashEnv = "BATOS_FORGE_CHILD_DIR", "BATOS_FORGE_CHILD_CRASH"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		os.Exit(runChild(dir, os.Getenv(childCrashEnv)))
	}
	if os.Getenv(fakeServerEnv) == "1" {
		os.Exit(fakeServer(os.Args[1:]))
	}
	if os.Getenv("BATOS_SANDBOX_CHILD") == "1" {
		os.Exit(sandbox.Main())
	}
	os.Exit(m.Run())
}

// runChild opens the image, runs its Forge until no job is left in
// flight, and exits 0 (or is killed at its failpoint).
func runChild(dir, crashAt string) int {
	k, err := kernel.Open(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer k.Close()
	f, err := forge.Install(k, dir, forge.Options{Poll: 20 * time.Millisecond, CrashAt: crashAt})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	f.Start()
	defer f.Close()
	s := k.NewSession("check")
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		inFlight := 0
		_, err := s.Run(context.Background(), "", func(lobby kernel.Object) error {
			for _, j := range lobby.Get("Forge").(kernel.Object).Get("jobs").([]any) {
				if st, _ := j.(kernel.Object).Get("state").(string); !forge.Ended(st) {
					inFlight++
				}
			}
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if inFlight == 0 {
			return 0
		}
	}
	fmt.Fprintln(os.Stderr, "jobs still in flight after 2 minutes")
	return 3
}

// child starts the Forge on dir in a child process.
func child(t *testing.T, dir, crashAt string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir, childCrashEnv+"="+crashAt)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// killed waits for cmd and checks that SIGKILL ended it.
func killed(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed at its failpoint: %v", err)
	}
}

// TestCrashInEveryState: the kernel is SIGKILLed right after each
// transition (and mid-training, with the trainer still running); the next
// kernel finishes the job — succeeded, or failed or cancelled with its
// compensation done — and the trainer ran once.
func TestCrashInEveryState(t *testing.T) {
	tests := []struct {
		name, mode, crashAt, want string
		cancel                    bool // cancel the job before the restart
		killTrainer               bool // the trainer dies with the kernel
	}{
		{name: "curating", mode: "success", crashAt: forge.Curating, want: forge.Succeeded},
		{name: "training before submit", mode: "success", crashAt: forge.Training, want: forge.Succeeded},
		{name: "submitted, handle not recorded", mode: "wait", crashAt: "submitted", want: forge.Succeeded},
		{name: "mid-training, reattached", mode: "wait", crashAt: "training:1", want: forge.Succeeded},
		{name: "mid-training, trainer gone", mode: "wait", crashAt: "training:1", want: forge.Failed, killTrainer: true},
		{name: "mid-training, then cancelled", mode: "wait", crashAt: "training:1", want: forge.Cancelled, cancel: true},
		{name: "converting", mode: "success", crashAt: forge.Converting, want: forge.Succeeded},
		{name: "evaluating", mode: "success", crashAt: forge.Evaluating, want: forge.Succeeded},
		{name: "registering", mode: "success", crashAt: forge.Registering, want: forge.Succeeded},
		{name: "succeeded", mode: "success", crashAt: forge.Succeeded, want: forge.Succeeded},
		{name: "compensating", mode: "fail", crashAt: forge.Compensating, want: forge.Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if testing.Short() && tt.mode == "wait" && !tt.cancel {
				t.Skip("short")
			}
			dir := filepath.Join(t.TempDir(), "img")
			work := t.TempDir()
			script := filepath.Join(work, "trainer.sh")
			// Each start of the trainer leaves a line in starts.
			starts := filepath.Join(work, "starts")
			if err := os.WriteFile(script, []byte("echo started >> "+starts+"\n"+trainer), 0o755); err != nil {
				t.Fatal(err)
			}
			setup(t, dir, fmt.Sprintf(`f := Lobby.Get("Forge").(Object); f.Set("minExamples", 0); f.Set("trainer", []any{"/bin/sh", %q, %q, "{dataset}", "{out}", %q}); f.Set("baseModel", %q); f.Send("fineTune", "BRICK")`, script, tt.mode, testdata("peft"), testdata("tiny-base")))

			killed(t, child(t, dir, tt.crashAt))
			jobDir := filepath.Join(dir, "forge", "jobs", "1")
			if tt.killTrainer {
				handle := readSlot(t, dir, "handle").(string)
				pid, _, _ := strings.Cut(handle, ":")
				var p int
				fmt.Sscan(pid, &p)
				if err := syscall.Kill(-p, syscall.SIGKILL); err != nil {
					t.Fatalf("kill the trainer %s: %v", handle, err)
				}
				awaitGone(t, p)
			}
			if tt.cancel {
				setup(t, dir, `Lobby.Get("Forge").(Object).Send("cancel", 1)`)
			}
			restart := child(t, dir, "")
			if tt.mode == "wait" && !tt.killTrainer && !tt.cancel {
				if err := os.WriteFile(filepath.Join(jobDir, "release"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := restart.Wait(); err != nil {
				t.Fatalf("the restarted kernel: %v", err)
			}
			if state := readSlot(t, dir, "state"); state != tt.want {
				t.Fatalf("job ended %v (%v), want %s", state, readSlot(t, dir, "reason"), tt.want)
			}
			if b, _ := os.ReadFile(starts); strings.Count(string(b), "started") > 1 {
				t.Errorf("the trainer ran %d times", strings.Count(string(b), "started"))
			}
			adapter := filepath.Join(dir, "adapters", "BRICK", "v1")
			_, err := os.Stat(filepath.Join(adapter, "adapter_model.safetensors"))
			if tt.want == forge.Succeeded {
				if err != nil {
					t.Errorf("no registered adapter: %v", err)
				}
				return
			}
			if !os.IsNotExist(err) {
				t.Errorf("adapter left after compensation: %v", err)
			}
			for _, name := range []string{"dataset", "out"} {
				if _, err := os.Stat(filepath.Join(jobDir, name)); !os.IsNotExist(err) {
					t.Errorf("%s left after compensation", name)
				}
			}
		})
	}
}

// setup runs src in the image (closed again after), in a process that
// can queue jobs but runs none.
func setup(t *testing.T, dir, src string) {
	t.Helper()
	k, err := kernel.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, err := forge.Install(k, dir, forge.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.NewSession("user").Eval(context.Background(), src); err != nil {
		t.Fatal(err)
	}
}

// readSlot reads a slot of job 1 from the closed image.
func readSlot(t *testing.T, dir, name string) any {
	t.Helper()
	k, err := kernel.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	res, err := k.NewSession("user").Eval(context.Background(), fmt.Sprintf(`Lobby.Get("Forge").(Object).Get("jobs").([]any)[0].(Object).Get(%q)`, name))
	if err != nil {
		t.Fatal(err)
	}
	return res.Value
}

func awaitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(b), ") Z") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
	}
}
