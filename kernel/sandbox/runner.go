package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"batos/image"
)

// DefaultGrace is how long Runner waits past a trial's deadline (the
// request's, or the kernel's default of 5 s) before it kills the child,
// when Runner.Timeout is zero: room for process start, opening the
// checkpoint and compiling.
const DefaultGrace = 10 * time.Second

// defaultDeadline is the kernel's default send deadline, assumed when the
// request leaves the image's own in force.
const defaultDeadline = 5 * time.Second

// maxStdout and maxStderr cap what is kept of the child's streams.
const (
	maxStdout = 4 * MaxOutput
	maxStderr = 64 << 10
)

// Runner starts sandbox processes. The zero value runs `batos sandbox`
// from the running executable. A Runner is safe for concurrent trials.
type Runner struct {
	// Command is the child's argv; empty means {os.Executable(), "sandbox"}.
	Command []string
	// Env is added to the parent's environment for the child.
	Env []string
	// Timeout is the hard limit on one child, after which it is killed;
	// zero means the request's deadline plus DefaultGrace.
	Timeout time.Duration

	started func(pid int) // test hook: called once the child runs
}

// Trial runs req in a new sandbox process on a checkpoint of store and
// returns its Response. Whatever the candidate does — fail, loop, recurse,
// kill its process with a fatal error — comes back as a Response with OK
// false; a child that dies or answers garbage gives ErrorKind "crash", one
// the hard timeout killed gives "deadline". The error is reserved for
// failures of the machinery (no checkpoint, no executable) and for ctx
// ending, which kills the child at once.
func (r *Runner) Trial(ctx context.Context, store *image.Store, req Request) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, fmt.Errorf("sandbox trial: %w", err)
	}
	argv := r.Command
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return Response{}, fmt.Errorf("sandbox trial: %w", err)
		}
		argv = []string{exe, "sandbox"}
	}
	tmp, err := os.MkdirTemp("", "batos-sandbox-*")
	if err != nil {
		return Response{}, fmt.Errorf("sandbox trial: %w", err)
	}
	defer os.RemoveAll(tmp)
	req.Image = filepath.Join(tmp, "image")
	if err := store.Checkpoint(req.Image); err != nil {
		return Response{}, fmt.Errorf("sandbox trial: %w", err)
	}
	in, err := json.Marshal(req)
	if err != nil {
		return Response{}, fmt.Errorf("sandbox trial: request: %w", err)
	}

	timeout := r.Timeout
	if timeout <= 0 {
		timeout = defaultDeadline + DefaultGrace
		if req.DeadlineMS > 0 {
			timeout = time.Duration(req.DeadlineMS)*time.Millisecond + DefaultGrace
		}
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), r.Env...)
	cmd.Dir = tmp
	cmd.Stdin = bytes.NewReader(in)
	stdout := &capBuffer{max: maxStdout}
	stderr := &capBuffer{max: maxStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	setProcessGroup(cmd) // Cancel kills the whole group with SIGKILL
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return Response{}, fmt.Errorf("sandbox trial: start %s: %w", argv[0], err)
	}
	if r.started != nil {
		r.started(cmd.Process.Pid)
	}
	waitErr := cmd.Wait()

	if err := ctx.Err(); err != nil {
		return Response{}, fmt.Errorf("sandbox trial: %w", err)
	}
	if cctx.Err() != nil {
		return Response{ErrorKind: KindDeadline, Error: fmt.Sprintf("sandbox process killed: no answer within the hard timeout of %s", timeout)}, nil
	}
	resp, perr := parseResponse(stdout.Bytes())
	if waitErr != nil {
		return crash(waitErr.Error(), stderr.Bytes(), resp, perr), nil
	}
	if perr != nil {
		return crash(perr.Error(), stderr.Bytes(), Response{}, perr), nil
	}
	return resp, nil
}

// parseResponse reads the last line of the child's stdout.
func parseResponse(out []byte) (Response, error) {
	out = bytes.TrimSpace(out)
	if len(out) == 0 {
		return Response{}, errors.New("no response")
	}
	if i := bytes.LastIndexByte(out, '\n'); i >= 0 {
		out = out[i+1:]
	}
	var resp Response
	if err := json.Unmarshal(out, &resp); err != nil {
		return Response{}, fmt.Errorf("garbled response: %v", err)
	}
	if !resp.OK && resp.ErrorKind == "" {
		return Response{}, errors.New("garbled response: failure without an error kind")
	}
	return resp, nil
}

// crash describes a dead child in one line, naming the Go runtime's fatal
// error or panic when its stderr has one, else cause.
func crash(cause string, stderr []byte, resp Response, perr error) Response {
	why := cause
	if line := fatalLine(stderr); line != "" {
		why = line
	} else if perr == nil && resp.Error != "" {
		why = cause + ": " + resp.Error
	} else if last := lastLine(stderr); last != "" {
		why = cause + ": " + last
	}
	return Response{ErrorKind: KindCrash, Error: oneLine("sandbox process died: " + why), Output: resp.Output, OutputTruncated: resp.OutputTruncated}
}

// fatalLine finds the first line of a Go runtime death in stderr.
func fatalLine(stderr []byte) string {
	for line := range strings.Lines(string(stderr)) {
		line = strings.TrimSpace(line)
		for _, p := range []string{"fatal error:", "panic:", "runtime: out of memory"} {
			if strings.HasPrefix(line, p) {
				return line
			}
		}
	}
	return ""
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// capBuffer keeps the first max bytes written to it and drops the rest, so
// a child cannot make the parent buffer without bound.
type capBuffer struct {
	max int
	b   bytes.Buffer
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capBuffer) Bytes() []byte { return c.b.Bytes() }
