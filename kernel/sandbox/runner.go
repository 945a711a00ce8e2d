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
	"slices"
	"strings"
	"sync"
	"time"

	"batos/image"
)

// DefaultGrace is how long Runner waits past a trial's deadline (the
// request's, or the kernel's default of 5 s) before it kills the child,
// when Runner.Timeout is zero: room for process start, reading the image
// and compiling.
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
	// Warm lets Prewarm and Ready start a child ahead of time, waiting for
	// its request, so that a trial does not wait for a process to start
	// and make its compiler (most of a trial's cost). A trial takes the
	// child; the next is started by the next Prewarm, at a moment the
	// caller chooses: the pLLM's when it asks the model, not while the
	// install and the retried send run. Close kills it.
	Warm bool

	started func(pid int) // test hook: called once the child has its request
	asked   func(q query) // test hook: called for each query the child asks
	linger  time.Duration // test hook: replaces lingerAfterResponse when set

	mu    sync.Mutex
	spare *child
	// recent are the objects the latest trials read, most recent last (at
	// most maxPrefetch): the next trial's request carries them, as of its
	// own state, so that its child asks for none of them. A trial reads
	// what its predecessors did (Lobby, Lobby.system, the receiver's
	// parents), and a query is a round trip between two processes.
	recent []image.OID
}

// maxPrefetch bounds the objects a request carries ahead.
const maxPrefetch = 16

// child is one sandbox process.
type child struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  *lineWriter
	stderr  *capBuffer
	done    chan struct{} // closed when the process has been waited for
	waitErr error
	// ready is closed when the child says it has done what it does
	// before reading its request (readyEnv), or has exited.
	ready chan struct{}
}

// readyEnv names, in a child's environment, the file descriptor on which
// it writes a byte once it is ready for its request.
const readyEnv = "BATOS_SANDBOX_READY_FD"

// Prewarm starts a child for the next trial in the background, when the
// runner is Warm and none waits.
func (r *Runner) Prewarm() {
	if !r.Warm {
		return
	}
	if argv, err := r.argv(); err == nil {
		go r.refill(argv)
	}
}

// Ready makes sure a Warm runner has a child waiting, and waits until it
// is ready for its request (it has made and prepared its compiler), or
// ctx ends. A trial that starts earlier waits for that work itself.
func (r *Runner) Ready(ctx context.Context) error {
	if !r.Warm {
		return nil
	}
	argv, err := r.argv()
	if err != nil {
		return err
	}
	r.refill(argv)
	r.mu.Lock()
	c := r.spare
	r.mu.Unlock()
	if c == nil {
		return errors.New("sandbox: no child could be started")
	}
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Trial runs req in a sandbox process and returns its Response. The child
// sees store as last committed when Trial begins (a snapshot, held until
// Trial returns): it asks for each object it reads, one query line on its
// stdout, and Trial answers on its stdin (see query), so no copy of the
// image is made.
//
// Whatever the candidate does — fail, loop, recurse, kill its process
// with a fatal error — comes back as a Response with OK false; a child
// that dies or answers garbage gives ErrorKind "crash", one the hard
// timeout killed gives "deadline". The error is reserved for failures of
// the machinery (no executable) and for ctx ending, which kills the child
// at once.
func (r *Runner) Trial(ctx context.Context, store *image.Store, req Request) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, fmt.Errorf("sandbox trial: %w", err)
	}
	argv, err := r.argv()
	if err != nil {
		return Response{}, fmt.Errorf("sandbox trial: %w", err)
	}
	tx := store.Begin("sandbox")
	defer tx.Abort()
	if err := tx.Err(); err != nil {
		return Response{}, fmt.Errorf("sandbox trial: %w", err)
	}
	req.LastTx, req.NextOID = tx.StartTx(), store.NextOID()
	req.Objects = r.prefetch(tx, req.Receiver, req.Holder)
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
	if r.started != nil {
		r.started(c.cmd.Process.Pid)
	}
	defer c.stdout.stopReading()
	// The child's stdin is written by a goroutine of its own, so that a
	// child that stops reading cannot keep this one from its timer.
	toChild := make(chan []byte, 1)
	defer close(toChild)
	go func() {
		defer c.stdin.Close()
		for b := range toChild {
			// A child that died fails the write; its exit says why.
			if _, err := c.stdin.Write(b); err != nil {
				return
			}
		}
	}()
	send := func(b []byte) {
		select {
		case toChild <- append(b, '\n'):
		case <-c.done:
		}
	}
	send(in)

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var last []byte // the last line that was not a query
	for {
		select {
		case line := <-c.stdout.lines:
			if q, ok := parseQuery(line); ok {
				if r.asked != nil {
					r.asked(q)
				}
				if q.Query == "object" {
					r.read(q.OID)
				}
				b, err := json.Marshal(serve(store, tx, q))
				if err != nil {
					b, _ = json.Marshal(answer{Error: oneLine(err.Error())})
				}
				send(b)
				continue
			}
			if resp, err := parseResponse(line); err == nil {
				// The child only exits now: it is reaped in the
				// background, and killed if it lingers.
				linger := lingerAfterResponse
				if r.linger > 0 {
					linger = r.linger
				}
				go c.reap(linger)
				return resp, nil
			}
			last = line // garbage: the exit says more
		case <-c.done:
			if last == nil {
				last = c.stdout.rest()
			}
			resp, perr := parseResponse(last)
			if c.waitErr != nil {
				return crash(c.waitErr.Error(), c.stderr.Bytes(), resp, perr), nil
			}
			if perr != nil {
				return crash(perr.Error(), c.stderr.Bytes(), Response{}, perr), nil
			}
			return resp, nil
		case <-ctx.Done():
			c.kill()
			return Response{}, fmt.Errorf("sandbox trial: %w", ctx.Err())
		case <-timer.C:
			c.kill()
			return Response{ErrorKind: KindDeadline, Error: fmt.Sprintf("sandbox process killed: no answer within the hard timeout of %s", timeout)}, nil
		}
	}
}

// prefetch returns the objects a request sends ahead: the receiver, the
// holder and the recent ones, as tx sees them. Those that cannot be read
// are left for the child to ask for.
func (r *Runner) prefetch(tx *image.Txn, oids ...image.OID) []Prefetched {
	r.mu.Lock()
	oids = append(oids, r.recent...)
	r.mu.Unlock()
	out := make([]Prefetched, 0, len(oids))
	for _, oid := range oids {
		if oid == 0 || slices.ContainsFunc(out, func(p Prefetched) bool { return p.OID == oid }) {
			continue
		}
		a := serve(nil, tx, query{Query: "object", OID: oid})
		if a.Error == "" {
			out = append(out, Prefetched{OID: oid, Found: a.Found, Record: a.Record})
		}
	}
	return out
}

// read notes that a trial's child asked for oid.
func (r *Runner) read(oid image.OID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recent = slices.DeleteFunc(r.recent, func(o image.OID) bool { return o == oid })
	if len(r.recent) == maxPrefetch {
		r.recent = r.recent[1:]
	}
	r.recent = append(r.recent, oid)
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
	c := &child{cmd: cmd, stdin: stdin, stdout: newLineWriter(maxStdout), stderr: &capBuffer{max: maxStderr}, done: make(chan struct{}), ready: make(chan struct{})}
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

// parseResponse reads a response line.
func parseResponse(line []byte) (Response, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return Response{}, errors.New("no response")
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
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

	mu sync.Mutex
	b  bytes.Buffer
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Bytes returns a copy of what was kept so far.
func (c *capBuffer) Bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.b.Bytes())
}

// lineWriter is a child's stdout: each line written to it goes, without
// its newline and cut to max bytes (then it will not parse), to the trial
// reading lines, one at a time, until the trial stops reading; later
// lines are dropped.
type lineWriter struct {
	max     int
	lines   chan []byte
	stopped chan struct{}
	stop    sync.Once

	mu  sync.Mutex
	cur []byte // the line being written
}

func newLineWriter(max int) *lineWriter {
	return &lineWriter{max: max, lines: make(chan []byte), stopped: make(chan struct{})}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		part := p
		if i >= 0 {
			part = p[:i]
		}
		w.mu.Lock()
		if room := w.max - len(w.cur); room > 0 {
			w.cur = append(w.cur, part[:min(len(part), room)]...)
		}
		if i < 0 {
			w.mu.Unlock()
			break
		}
		line := w.cur
		w.cur = nil
		w.mu.Unlock()
		select {
		case w.lines <- line:
		case <-w.stopped:
		}
		p = p[i+1:]
	}
	return n, nil
}

// rest returns what was written after the last newline.
func (w *lineWriter) rest() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.cur)
}

// stopReading drops the lines still to come.
func (w *lineWriter) stopReading() { w.stop.Do(func() { close(w.stopped) }) }
