package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
	// Warm keeps one child started ahead of time, waiting for its request,
	// so that a trial does not wait for a process to start (most of a
	// trial's cost). Close kills it.
	Warm bool

	started func(pid int) // test hook: called once the child has its request
	linger  time.Duration // test hook: replaces lingerAfterResponse when set

	mu    sync.Mutex
	spare *child
}

// child is one sandbox process.
type child struct {
	cmd            *exec.Cmd
	stdin          io.WriteCloser
	stdout, stderr *capBuffer
	done           chan struct{} // closed when the process has been waited for
	waitErr        error
	// ready is closed when the child says it has done what it does
	// before reading its request (readyEnv), or has exited.
	ready chan struct{}
}

// readyEnv names, in a child's environment, the file descriptor on which
// it writes a byte once it is ready for its request.
const readyEnv = "BATOS_SANDBOX_READY_FD"

// Ready waits until the warm child, if there is one, is ready for its
// request (it has made and prepared its compiler), or ctx ends. A trial
// that starts earlier waits for that work itself.
func (r *Runner) Ready(ctx context.Context) error {
	r.mu.Lock()
	c := r.spare
	r.mu.Unlock()
	if c == nil {
		return nil
	}
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Trial runs req in a sandbox process on a checkpoint of store and returns
// its Response. Whatever the candidate does — fail, loop, recurse, kill its
// process with a fatal error — comes back as a Response with OK false; a
// child that dies or answers garbage gives ErrorKind "crash", one the hard
// timeout killed gives "deadline". The error is reserved for failures of
// the machinery (no checkpoint, no executable) and for ctx ending, which
// kills the child at once.
func (r *Runner) Trial(ctx context.Context, store *image.Store, req Request) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, fmt.Errorf("sandbox trial: %w", err)
	}
	argv, err := r.argv()
	if err != nil {
		return Response{}, fmt.Errorf("sandbox trial: %w", err)
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

	c, err := r.take(argv)
	if err != nil {
		return Response{}, fmt.Errorf("sandbox trial: start %s: %w", argv[0], err)
	}
	if r.Warm {
		go r.refill(argv)
	}
	if r.started != nil {
		r.started(c.cmd.Process.Pid)
	}
	// A child that died before reading its request fails the write; its
	// exit status below says why.
	_, _ = c.stdin.Write(append(in, '\n'))
	c.stdin.Close()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-c.stdout.line:
		// The response is whole: the child only exits now, and is reaped
		// in the background (killed if it lingers).
		if resp, err := parseResponse(c.stdout.Bytes()); err == nil {
			linger := lingerAfterResponse
			if r.linger > 0 {
				linger = r.linger
			}
			go c.reap(linger)
			return resp, nil
		}
		<-c.done // garbage: the exit status says more
	case <-c.done:
	case <-ctx.Done():
		c.kill()
		return Response{}, fmt.Errorf("sandbox trial: %w", ctx.Err())
	case <-timer.C:
		c.kill()
		return Response{ErrorKind: KindDeadline, Error: fmt.Sprintf("sandbox process killed: no answer within the hard timeout of %s", timeout)}, nil
	}
	resp, perr := parseResponse(c.stdout.Bytes())
	if c.waitErr != nil {
		return crash(c.waitErr.Error(), c.stderr.Bytes(), resp, perr), nil
	}
	if perr != nil {
		return crash(perr.Error(), c.stderr.Bytes(), Response{}, perr), nil
	}
	return resp, nil
}

// Close kills the warm child, if any.
func (r *Runner) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.spare != nil {
		r.spare.kill()
		r.spare = nil
	}
}

func (r *Runner) argv() ([]string, error) {
	if len(r.Command) > 0 {
		return r.Command, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return []string{exe, "sandbox"}, nil
}

// take returns the warm child when it is still alive, else a new one.
func (r *Runner) take(argv []string) (*child, error) {
	r.mu.Lock()
	c := r.spare
	r.spare = nil
	r.mu.Unlock()
	if c != nil {
		select {
		case <-c.done: // died while waiting (killed, or the host reaped it)
		default:
			return c, nil
		}
	}
	return r.start(argv)
}

// refill starts the next warm child unless one is waiting already.
func (r *Runner) refill(argv []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.spare != nil {
		return
	}
	if c, err := r.start(argv); err == nil {
		r.spare = c
	}
}

func (r *Runner) start(argv []string) (*child, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), r.Env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		stdin.Close()
		return nil, err
	}
	defer readyW.Close()
	cmd.ExtraFiles = []*os.File{readyW} // descriptor 3 in the child
	cmd.Env = append(cmd.Env, readyEnv+"=3")
	c := &child{cmd: cmd, stdin: stdin, stdout: &capBuffer{max: maxStdout, line: make(chan struct{})}, stderr: &capBuffer{max: maxStderr}, done: make(chan struct{}), ready: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.stdout, c.stderr
	setProcessGroup(cmd)
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		readyR.Close()
		return nil, err
	}
	go func() {
		// A byte, or the end of the pipe when the child exits without
		// one (an older child, or one that died).
		_, _ = readyR.Read(make([]byte, 1))
		readyR.Close()
		close(c.ready)
	}()
	go func() {
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// lingerAfterResponse is how long a child may take to exit once it has
// answered before it is killed.
const lingerAfterResponse = 5 * time.Second

// reap waits for a child that has answered, killing it if it has not
// exited after linger.
func (c *child) reap(linger time.Duration) {
	select {
	case <-c.done:
	case <-time.After(linger):
		c.kill()
	}
}

// kill kills the child's process group and waits for it.
func (c *child) kill() {
	killGroup(c.cmd)
	<-c.done
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
// a child cannot make the parent buffer without bound. When line is not
// nil, it is closed at the first newline kept: the child's one response
// line is whole.
type capBuffer struct {
	max  int
	line chan struct{}

	mu     sync.Mutex
	b      bytes.Buffer
	closed bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.b.Len(); room > 0 {
		kept := p[:min(len(p), room)]
		c.b.Write(kept)
		if c.line != nil && !c.closed && bytes.IndexByte(kept, '\n') >= 0 {
			c.closed = true
			close(c.line)
		}
	}
	return len(p), nil
}

// Bytes returns a copy of what was kept so far.
func (c *capBuffer) Bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.b.Bytes())
}
