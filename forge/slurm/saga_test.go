package slurm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"batos/forge"
	"batos/forge/slurm"
	"batos/forge/slurm/slurmtest"
	"batos/kernel"
)

// TestSagaOnSlurm runs the Forge's saga through the Slurm backend of a
// private cluster, chosen by one slot (Forge.backend): success, a failing
// trainer, a cancel (scancel) and a job Slurm kills at its time limit —
// each ends succeeded, or failed or cancelled with its steps compensated.
func TestSagaOnSlurm(t *testing.T) {
	t.Parallel()
	c := slurmtest.Start(t)
	script, err := filepath.Abs("../testdata/trainer.sh")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mode, want, reason string
		timeLimit          int // seconds; Slurm rounds up to minutes
		cancel             bool
	}{
		{mode: "success", want: forge.Succeeded},
		{mode: "fail", want: forge.Failed, reason: "train: failed"},
		{mode: "hang", want: forge.Cancelled, cancel: true},
		{mode: "hang", want: forge.Failed, reason: "train: timed out", timeLimit: 60},
	}
	for _, tt := range tests {
		name := tt.mode
		if tt.cancel {
			name += " cancelled"
		}
		if tt.timeLimit > 0 {
			name += " past its time limit"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "img")
			k, err := kernel.Open(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			f, err := forge.Install(k, dir, forge.Options{
				Poll:     100 * time.Millisecond,
				NewSlurm: func(s forge.SlurmSettings) (forge.Backend, error) { return slurm.FromSettings(s, c.Env...) },
			})
			if err != nil {
				t.Fatal(err)
			}
			f.Start()
			defer f.Close()
			s := k.NewSession("user")
			eval := func(src string) any {
				t.Helper()
				res, err := s.Eval(context.Background(), src)
				if err != nil {
					t.Fatalf("%s: %v", src, err)
				}
				return res.Value
			}
			eval(fmt.Sprintf(`f := Lobby.Get("Forge").(Object)
f.Set("minExamples", 0)
f.Set("backend", "slurm")
f.Set("slurm", map[string]any{"gpus": 0, "timeLimit": %d})
f.Set("trainer", []any{"/bin/sh", %q, %q, "{dataset}", "{out}", %q})
f.Set("baseModel", %q)`, tt.timeLimit, script, tt.mode, filepath.Join(filepath.Dir(script), "peft"), filepath.Join(filepath.Dir(script), "tiny-base")))
			id := eval(`Lobby.Get("Forge").(Object).Send("fineTune", "BRICK").(Object).Get("id")`).(int)
			jobSlot := func(name string) (v any) {
				t.Helper()
				_, err := s.Run(context.Background(), "", func(lobby kernel.Object) error {
					j := lobby.Get("Forge").(kernel.Object).Get("jobs").([]any)[0].(kernel.Object)
					for _, n := range j.Slots() {
						if n == name {
							v = j.Get(name)
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			sub := k.Bus().Subscribe(1024)
			defer sub.Close()
			cancelled := false
			deadline := time.After(4 * time.Minute)
			for {
				state, _ := jobSlot("state").(string)
				if forge.Ended(state) {
					break
				}
				if tt.cancel && !cancelled && jobSlot("handle") != nil && state == forge.Training {
					eval(fmt.Sprintf(`Lobby.Get("Forge").(Object).Send("cancel", %d)`, id))
					cancelled = true
				}
				select {
				case <-sub.C:
				case <-time.After(time.Second):
				case <-deadline:
					t.Fatalf("job %d still %s; cluster logs:\n%s", id, state, c.Logs())
				}
			}
			if state := jobSlot("state"); state != tt.want {
				t.Fatalf("job ended %v (%v), want %s", state, jobSlot("reason"), tt.want)
			}
			if reason, _ := jobSlot("reason").(string); !strings.HasPrefix(reason, tt.reason) {
				t.Errorf("reason %q, want %q…", reason, tt.reason)
			}
			handle, _ := jobSlot("handle").(string)
			if handle == "" {
				t.Fatal("no Slurm job id recorded")
			}
			_, err = os.Stat(filepath.Join(dir, "adapters", "BRICK", "v1", "adapter_model.safetensors"))
			if (tt.want == forge.Succeeded) != (err == nil) {
				t.Errorf("registered adapter: %v", err)
			}
			if tt.want != forge.Succeeded {
				if _, err := os.Stat(filepath.Join(dir, "forge", "jobs", fmt.Sprint(id), "dataset.jsonl")); !os.IsNotExist(err) {
					t.Errorf("dataset left after compensation: %v", err)
				}
			}
			out, _ := c.Command(context.Background(), "squeue", "-h", "-j", handle).Output()
			if strings.TrimSpace(string(out)) != "" {
				t.Errorf("still queued in Slurm: %s", out)
			}
		})
	}
}
