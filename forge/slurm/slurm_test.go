package slurm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"batos/forge"
	"batos/forge/slurm/slurmtest"
)

// trainer is a scripted trainer: it prints STEPS progress lines, a step
// every 0.1 s, says goodbye on standard error and exits with $EXIT (0 by
// default). With SLEEP set it
// then sleeps that long in a child, having written its own pid and the
// child's into pids, for tests that must see the processes die.
const trainer = `#!/bin/sh
steps=${STEPS:-3}
i=1
while [ "$i" -le "$steps" ]; do
	printf '{"step":%d,"steps":%d,"loss":1.%d,"lr":0.0002,"eta_s":%d}\n' "$i" "$steps" "$i" $((steps - i))
	sleep 0.1
	i=$((i + 1))
done
if [ -n "$SLEEP" ]; then
	sleep "$SLEEP" &
	echo "$$ $!" >pids.tmp && mv pids.tmp pids
	wait
fi
echo "trainer: exiting ${EXIT:-0}" >&2
exit "${EXIT:-0}"
`

// newSpec returns a spec for the trainer in a fresh directory.
func newSpec(t *testing.T, env ...string) forge.Spec {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "train.sh")
	if err := os.WriteFile(path, []byte(trainer), 0o755); err != nil {
		t.Fatal(err)
	}
	name := "batos-forge-" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return forge.Spec{
		Name:    name,
		Command: []string{path, "--epochs", "it's 1"},
		Dir:     dir,
		Log:     filepath.Join(dir, "train.log"),
		Status:  filepath.Join(dir, "exit-status"),
		Env:     env,
	}
}

// await polls Status until the job has ended, or fails the test after
// timeout.
func await(t *testing.T, c *slurmtest.Cluster, b *Backend, handle string, spec forge.Spec, timeout time.Duration) forge.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		st, err := b.Status(ctx, handle, spec)
		if err != nil {
			t.Fatalf("Status(%s): %v\n%s", handle, err, c.Logs())
		}
		if st.State.Ended() {
			return st
		}
		select {
		case <-ctx.Done():
			log, _ := os.ReadFile(spec.Log)
			t.Fatalf("job %s still running after %v; log:\n%s\n%s", handle, timeout, log, c.Logs())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// awaitFile waits for path to exist and returns its contents.
func awaitFile(t *testing.T, c *slurmtest.Cluster, path string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		data, err := os.ReadFile(path)
		if err == nil {
			return string(data)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v\n%s", path, timeout, c.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// awaitGone waits for every pid in pids ("PID PID") to have exited.
func awaitGone(t *testing.T, pids string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, f := range strings.Fields(pids) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("bad pids %q", pids)
		}
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("process %d still alive %v after the job ended", pid, timeout)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// queued returns the ids of the jobs named name that Slurm still lists.
func queued(t *testing.T, c *slurmtest.Cluster, name string) string {
	t.Helper()
	out, err := c.Command(context.Background(), "squeue", "-h", "--name="+name, "-o", "%i").CombinedOutput()
	if err != nil {
		t.Fatalf("squeue: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestSlurm runs every backend operation against one private cluster.
// The subtests run in parallel: the time limit's takes a minute or more
// (see slurmtest), the others a few seconds alongside it; and the test
// alongside TestSagaOnSlurm, whose time limit takes as long.
func TestSlurm(t *testing.T) {
	t.Parallel()
	c := slurmtest.Start(t)
	cfg := Config{Env: c.Env}
	ctx := context.Background()

	t.Run("exit", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name string
			env  []string
			want forge.Status
		}{
			{"zero", nil, forge.Status{State: forge.StateSucceeded}},
			{"three", []string{"EXIT=3"}, forge.Status{State: forge.StateFailed, ExitCode: 3, Reason: "exit status 3"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				b := New(cfg)
				spec := newSpec(t, tc.env...)
				// An earlier attempt's output, which the job appends to.
				if err := os.WriteFile(spec.Log, []byte("earlier attempt\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				handle, err := b.Submit(ctx, spec)
				if err != nil {
					t.Fatalf("Submit: %v\n%s", err, c.Logs())
				}
				if got := await(t, c, b, handle, spec, 60*time.Second); got != tc.want {
					t.Errorf("Status = %+v, want %+v", got, tc.want)
				}
				status, err := os.ReadFile(spec.Status)
				if want := strconv.Itoa(tc.want.ExitCode) + "\n"; err != nil || string(status) != want {
					t.Errorf("Spec.Status holds %q (%v), want %q", status, err, want)
				}
				log, err := os.ReadFile(spec.Log)
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimSpace(string(log)), "\n")
				goodbye := fmt.Sprintf("trainer: exiting %d", tc.want.ExitCode)
				if len(lines) != 5 || lines[0] != "earlier attempt" || lines[4] != goodbye {
					t.Fatalf("log holds\n%s\nwant the earlier attempt's line, 3 progress lines and %q", log, goodbye)
				}
				for i, line := range lines[1:4] {
					var p struct{ Step, Steps int }
					if err := json.Unmarshal([]byte(line), &p); err != nil || p.Step != i+1 || p.Steps != 3 {
						t.Errorf("log line %d = %q (%v), want step %d of 3", i+1, line, err, i+1)
					}
				}
			})
		}
	})

	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		b := New(cfg)
		spec := newSpec(t, "SLEEP=300")
		handle, err := b.Submit(ctx, spec)
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		pids := awaitFile(t, c, filepath.Join(spec.Dir, "pids"), 30*time.Second)
		if st, err := b.Status(ctx, handle, spec); err != nil || st.State != forge.StateRunning {
			t.Fatalf("Status of a sleeping job = %+v, %v; want running", st, err)
		}
		if err := b.Cancel(ctx, handle, spec); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if got := await(t, c, b, handle, spec, 30*time.Second); got.State != forge.StateCancelled {
			t.Errorf("Status after Cancel = %+v, want cancelled", got)
		}
		awaitGone(t, pids, 15*time.Second)
		if err := b.Cancel(ctx, handle, spec); err != nil {
			t.Errorf("Cancel of an ended job: %v", err)
		}
	})

	t.Run("time limit", func(t *testing.T) {
		t.Parallel()
		b := New(cfg)
		spec := newSpec(t, "SLEEP=600")
		spec.Timeout = 5 * time.Second // rounded up to Slurm's minute
		start := time.Now()
		handle, err := b.Submit(ctx, spec)
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		pids := awaitFile(t, c, filepath.Join(spec.Dir, "pids"), 30*time.Second)
		got := await(t, c, b, handle, spec, 150*time.Second)
		if got.State != forge.StateTimedOut {
			t.Errorf("Status = %+v, want timed out", got)
		}
		if took := time.Since(start); took < time.Minute {
			t.Errorf("killed after %v, before the minute the 5 s limit rounds up to", took)
		}
		awaitGone(t, pids, 15*time.Second)
		t.Logf("killed %v after submission", time.Since(start).Round(time.Second))
	})

	t.Run("submit errors", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name string
			cfg  Config
			want string // in the error
		}{
			{"extra without #SBATCH", Config{Extra: []string{"--mem=1G"}}, `does not start with "#SBATCH "`},
			{"extra with a newline", Config{Extra: []string{"#SBATCH --mem=1G\necho hi"}}, "not one line"},
			{"extra setting the log", Config{Extra: []string{"#SBATCH -o /tmp/elsewhere"}}, "sets --output"},
			{"extra setting a prefix", Config{Extra: []string{"#SBATCH --chd=/"}}, "sets --chdir"},
			{"unknown option", Config{Extra: []string{"#SBATCH --no-such-option"}}, "unrecognized option"},
			{"no such partition", Config{Partition: "nosuch"}, "invalid partition"},
			{"GPUs on a node without", Config{GPUs: 1}, "Invalid generic resource"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.cfg.Env = c.Env
				spec := newSpec(t)
				handle, err := New(tc.cfg).Submit(ctx, spec)
				if err == nil {
					t.Fatalf("Submit = %q, want an error about %q", handle, tc.want)
				}
				t.Logf("Submit: %v", err)
				if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(strings.ToLower(msg), strings.ToLower(tc.want)) {
					t.Errorf("Submit error = %q, want one line about %q", msg, tc.want)
				}
				if ids := queued(t, c, spec.Name); ids != "" {
					t.Errorf("jobs %s queued after a failed Submit", ids)
				}
			})
		}
	})

	// A kernel restarted after a crash has only the handle: fresh
	// Backends must follow and cancel the job a forgotten one submitted.
	t.Run("reattach", func(t *testing.T) {
		t.Parallel()
		spec := newSpec(t, "SLEEP=300")
		handle, err := New(cfg).Submit(ctx, spec)
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		pids := awaitFile(t, c, filepath.Join(spec.Dir, "pids"), 30*time.Second)
		if st, err := New(cfg).Status(ctx, handle, spec); err != nil || st.State != forge.StateRunning {
			t.Fatalf("fresh backend's Status = %+v, %v; want running", st, err)
		}
		if err := New(cfg).Cancel(ctx, handle, spec); err != nil {
			t.Fatalf("fresh backend's Cancel: %v", err)
		}
		if got := await(t, c, New(cfg), handle, spec, 30*time.Second); got.State != forge.StateCancelled {
			t.Errorf("Status after Cancel = %+v, want cancelled", got)
		}
		awaitGone(t, pids, 15*time.Second)
	})

	// The worker asks Find before it submits: a kernel that died between
	// Submit and committing the handle must find the job, not start
	// another — by the handle file, or by asking Slurm when the crash came
	// before that file was written.
	t.Run("find", func(t *testing.T) {
		t.Parallel()
		spec := newSpec(t, "SLEEP=300")
		if h, ok, err := New(cfg).Find(ctx, spec); err != nil || ok {
			t.Fatalf("Find before Submit = %q, %v, %v; want nothing", h, ok, err)
		}
		// An earlier attempt's exit status, which Status must not take for
		// this job's once Slurm forgets it.
		if err := os.WriteFile(spec.Status, []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		handle, err := New(cfg).Submit(ctx, spec)
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		t.Cleanup(func() { _ = New(cfg).Cancel(ctx, handle, spec) })
		if _, err := os.Stat(spec.Status); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the earlier exit status is still there after Submit (%v)", err)
		}
		if h, ok, err := New(cfg).Find(ctx, spec); err != nil || !ok || h != handle {
			t.Errorf("Find = %q, %v, %v; want %q", h, ok, err, handle)
		}
		if err := os.Remove(filepath.Join(spec.Dir, spec.Name+".handle")); err != nil {
			t.Fatal(err)
		}
		if h, ok, err := New(cfg).Find(ctx, spec); err != nil || !ok || h != handle {
			t.Errorf("Find without the handle file = %q, %v, %v; want %q", h, ok, err, handle)
		}
		other := spec
		other.Dir = t.TempDir() // same name, another job's folder
		if h, ok, err := New(cfg).Find(ctx, other); err != nil || ok {
			t.Errorf("Find for another folder = %q, %v, %v; want nothing", h, ok, err)
		}
	})

	// A job Slurm does not know (purged, or from before a reinstall):
	// Spec.Status decides. 67000000 is a valid job id (below MaxJobId)
	// that no job has here.
	t.Run("forgotten", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name   string
			status string // "": no file
			want   forge.Status
		}{
			{"no status", "", forge.Status{State: forge.StateLost}},
			{"status 0", "0\n", forge.Status{State: forge.StateSucceeded}},
			{"status 7", "7\n", forge.Status{State: forge.StateFailed, ExitCode: 7, Reason: "exit status 7"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				spec := newSpec(t)
				if tc.status != "" {
					if err := os.WriteFile(spec.Status, []byte(tc.status), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				got, err := New(cfg).Status(ctx, "67000000", spec)
				if err != nil {
					t.Fatalf("Status: %v", err)
				}
				if got.State != tc.want.State || got.ExitCode != tc.want.ExitCode || (tc.want.Reason != "" && got.Reason != tc.want.Reason) {
					t.Errorf("Status = %+v, want %+v", got, tc.want)
				}
				if err := New(cfg).Cancel(ctx, "67000000", spec); err != nil {
					t.Errorf("Cancel of an unknown job: %v", err)
				}
			})
		}
	})

	// Submit's cleanup, for a sbatch that may have queued the job before
	// it failed: the jobs with the submission's token go, others stay.
	t.Run("cleanup by token", func(t *testing.T) {
		t.Parallel()
		b := New(cfg)
		spec := newSpec(t, "SLEEP=300")
		submit := func(token string) string {
			out, err := c.Command(ctx, "sbatch", "--parsable", "--job-name="+spec.Name, "--comment="+token,
				"--output=/dev/null", "--wrap=sleep 300").CombinedOutput()
			id, perr := parseSubmit(string(out))
			if err != nil || perr != nil {
				t.Fatalf("sbatch: %v: %s", err, out)
			}
			return id
		}
		mine, other := submit("batos-forge-mine"), submit("batos-forge-other")
		t.Cleanup(func() { _ = b.Cancel(ctx, other, spec) })
		if err := b.cancelToken(spec.Name, "batos-forge-mine"); err != nil {
			t.Fatalf("cancelToken: %v", err)
		}
		if got := await(t, c, b, mine, spec, 30*time.Second); got.State != forge.StateCancelled {
			t.Errorf("the token's job: %+v, want cancelled", got)
		}
		if got, err := b.Status(ctx, other, spec); err != nil || got.State != forge.StateRunning {
			t.Errorf("another token's job: %+v, %v; want running", got, err)
		}
	})

	// A real purge: once slurmctld drops the ended job (MinJobAge=2, but
	// it purges once a minute), Status reads the exit status the script
	// left. Slow like the time limit's, alongside it.
	t.Run("purged", func(t *testing.T) {
		t.Parallel()
		b := New(cfg)
		spec := newSpec(t, "EXIT=5")
		handle, err := b.Submit(ctx, spec)
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		want := forge.Status{State: forge.StateFailed, ExitCode: 5, Reason: "exit status 5"}
		if got := await(t, c, b, handle, spec, 60*time.Second); got != want {
			t.Fatalf("Status = %+v, want %+v", got, want)
		}
		deadline := time.Now().Add(150 * time.Second)
		for {
			out, err := c.Command(ctx, "scontrol", "show", "job", handle).CombinedOutput()
			var exit *exec.ExitError
			if errors.As(err, &exit) && strings.Contains(string(out), "Invalid job id") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s not purged after 150 s: %s", handle, out)
			}
			time.Sleep(500 * time.Millisecond)
		}
		if got, err := b.Status(ctx, handle, spec); err != nil || got != want {
			t.Errorf("Status once purged = %+v, %v; want %+v", got, err, want)
		}
	})
}
