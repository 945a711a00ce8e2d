package forge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Local runs the trainer as a child process of this machine, in its own
// process group, under /bin/sh, which writes the trainer's exit status to
// Spec.Status when it ends. The group outlives the kernel that started it:
// a kernel killed mid-training finds its job still running when it starts
// again (the handle names the process and its start time, so a recycled
// pid is not mistaken for it), or finds its exit status.
//
// Local enforces no timeout itself; the saga stops a job past its timeout
// through Cancel, whichever process started it.
type Local struct{}

// Name is "local".
func (Local) Name() string { return "local" }

// wrapper runs the trainer and records how it ended; the status file is
// written whole (renamed into place), so a reader never sees half of it.
const wrapper = `"$@"; s=$?; echo $s > "$BATOS_FORGE_STATUS.tmp" && mv -f "$BATOS_FORGE_STATUS.tmp" "$BATOS_FORGE_STATUS"; exit $s`

// Submit starts spec's command; the handle is "PID:STARTTIME".
func (Local) Submit(ctx context.Context, spec Spec) (string, error) {
	if len(spec.Command) == 0 {
		return "", errors.New("local: no trainer command (set Forge.trainer)")
	}
	logf, err := os.OpenFile(spec.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return "", fmt.Errorf("local: %w", err)
	}
	defer logf.Close()
	_ = os.Remove(spec.Status)
	_ = os.Remove(cancelMarker(spec))
	_ = os.Remove(handleFile(spec))
	cmd := exec.Command("/bin/sh", append([]string{"-c", wrapper, "sh"}, spec.Command...)...)
	cmd.Dir = spec.Dir
	cmd.Env = append(append(os.Environ(), spec.Env...), "BATOS_FORGE_STATUS="+spec.Status)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("local: start %s: %w", spec.Command[0], err)
	}
	pid := cmd.Process.Pid
	// Reap the child while this process lives; after it dies, init does.
	go cmd.Wait()
	start, err := startTime(pid)
	if err != nil {
		// It ended already: its status file tells.
		start = 0
	}
	handle := fmt.Sprintf("%d:%d", pid, start)
	// Left beside the job for Find: the worker commits the handle next,
	// and a crash before that must not start the trainer again.
	if err := os.WriteFile(handleFile(spec), []byte(handle+"\n"), 0o644); err != nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		return "", fmt.Errorf("local: %w", err)
	}
	return handle, nil
}

func handleFile(spec Spec) string { return filepath.Join(spec.Dir, spec.Name+".handle") }

// Find returns the handle of the job Submit started for spec, if any.
func (Local) Find(_ context.Context, spec Spec) (string, bool, error) {
	b, err := os.ReadFile(handleFile(spec))
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("local: %w", err)
	}
	h := strings.TrimSpace(string(b))
	if _, _, err := parseHandle(h); err != nil {
		return "", false, err
	}
	return h, true, nil
}

// Status reads the status file; without one, the job runs while its
// process does.
func (Local) Status(_ context.Context, handle string, spec Spec) (Status, error) {
	pid, start, err := parseHandle(handle)
	if err != nil {
		return Status{}, err
	}
	if st, ok := readExitStatus(spec.Status); ok {
		return st, nil
	}
	if alive(pid, start) {
		return Status{State: StateRunning}, nil
	}
	// It may have written its status between the two looks.
	if st, ok := readExitStatus(spec.Status); ok {
		return st, nil
	}
	if _, err := os.Stat(cancelMarker(spec)); err == nil {
		return Status{State: StateCancelled, Reason: "cancelled"}, nil
	}
	return Status{State: StateLost, Reason: "the trainer process is gone and left no exit status"}, nil
}

// cancelGrace is how long a cancelled trainer has between SIGTERM and
// SIGKILL.
const cancelGrace = 5 * time.Second

// Cancel stops the job's process group and returns once it is gone.
func (Local) Cancel(ctx context.Context, handle string, spec Spec) error {
	pid, start, err := parseHandle(handle)
	if err != nil {
		return err
	}
	if !alive(pid, start) {
		return nil
	}
	if err := os.WriteFile(cancelMarker(spec), nil, 0o644); err != nil {
		return fmt.Errorf("local: cancel: %w", err)
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	deadline := time.Now().Add(cancelGrace)
	for alive(pid, start) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			deadline = time.Now().Add(cancelGrace)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func cancelMarker(spec Spec) string { return spec.Status + ".cancelled" }

func parseHandle(h string) (pid int, start uint64, err error) {
	p, s, ok := strings.Cut(h, ":")
	pid, err1 := strconv.Atoi(p)
	start, err2 := strconv.ParseUint(s, 10, 64)
	if !ok || err1 != nil || err2 != nil || pid <= 1 {
		return 0, 0, fmt.Errorf("local: bad job handle %q", h)
	}
	return pid, start, nil
}

// readExitStatus reads a status file the wrapper wrote.
func readExitStatus(path string) (Status, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Status{}, false
	}
	code, err := strconv.Atoi(strings.TrimSpace(string(b)))
	switch {
	case err != nil:
		return Status{State: StateFailed, Reason: fmt.Sprintf("unreadable exit status %q", b)}, true
	case code == 0:
		return Status{State: StateSucceeded}, true
	case code > 128:
		return Status{State: StateFailed, ExitCode: code, Reason: fmt.Sprintf("killed by signal %d", code-128)}, true
	}
	return Status{State: StateFailed, ExitCode: code, Reason: fmt.Sprintf("exit status %d", code)}, true
}

// alive reports whether pid runs and is the process that started at start
// (0: unknown, any process will do). A zombie is not alive.
func alive(pid int, start uint64) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	state, st, ok := parseStat(string(b))
	if !ok || state == "Z" || state == "X" {
		return false
	}
	return start == 0 || st == start
}

func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	_, st, ok := parseStat(string(b))
	if !ok {
		return 0, fmt.Errorf("unreadable /proc/%d/stat", pid)
	}
	return st, nil
}

// parseStat returns the state and start time (field 22, clock ticks since
// boot) of a /proc/PID/stat line; the command name, field 2, is in
// parentheses and may hold spaces and parentheses itself.
func parseStat(line string) (state string, start uint64, ok bool) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return "", 0, false
	}
	fields := strings.Fields(line[i+1:])
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 {
		return "", 0, false
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	return fields[0], start, err == nil
}
