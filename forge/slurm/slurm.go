// Package slurm is the forge backend that runs the training step's command
// as a Slurm batch job.
//
// The model: Submit writes a batch script into the job's directory
// (<Spec.Dir>/<Spec.Name>.sbatch) whose #SBATCH lines say everything Slurm
// needs — the job's name, the log (Spec.Log, appended, standard error
// joined to standard output), the time limit, the partition, the GPUs, the
// configured extra lines, the working directory — and whose body runs the
// command and then writes its exit status to Spec.Status, atomically (a
// temporary file, then mv). It submits the script with `sbatch --parsable`;
// the job id is the handle, also left beside the job (<Name>.handle) for
// Find. Nothing else is kept: a kernel restarted after a crash asks about
// the job by the handle alone, and one that crashed before it recorded the
// handle finds the job again (forge.Finder) by that file or, failing it,
// by asking squeue for the job of that name whose script is the spec's.
//
// Status asks squeue first (the cheap question: is the job still queued or
// running?), then scontrol, which keeps an ended job's state and exit code
// for MinJobAge (300 s by default) before purging it. Once Slurm has
// forgotten the job, Spec.Status is the last witness: a number there is the
// command's exit status; no file means the job ended without one (killed:
// cancelled, timed out, node lost) and Status says StateLost. So a caller
// that polls less often than MinJobAge may see a cancelled or timed-out job
// as lost, never as succeeded.
//
// Time limits: Slurm counts them in whole minutes; the backend rounds the
// limit up, so a job gets at least the time asked for. slurmctld enforces
// limits on a 30-second timer, then signals the job (SIGTERM, SIGKILL after
// KillWait), so a job may run up to about half a minute past its limit.
//
// Every command (sbatch, squeue, scontrol, scancel) runs with Config.Env
// added to this process's environment, under a timeout, and its standard
// error ends up in the error, on one line.
package slurm

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"batos/forge"
)

// Config says where and how the backend's jobs run.
type Config struct {
	// Partition is sbatch's --partition ("": the cluster's default).
	Partition string
	// GPUs is the number of GPUs each job asks for (--gres=gpu:N).
	GPUs int
	// TimeLimit is the jobs' time limit (0: Spec.Timeout; both 0: the
	// partition's limit).
	TimeLimit time.Duration
	// Extra lines go into the batch script verbatim, after the backend's
	// own #SBATCH lines (so they win where both set an option). Each must
	// start with "#SBATCH " and be one line; options the backend owns
	// (job name, output, error, open mode, working directory, comment,
	// array) are refused, since the backend's invariants rest on them.
	Extra []string
	// Env is added to the Slurm commands' environment (e.g.
	// SLURM_CONF=/etc/slurm-other/slurm.conf). sbatch passes its own
	// environment on to the job, so the job sees it too.
	Env []string
}

// Backend runs jobs on a Slurm cluster. It keeps no state of its own: two
// Backends with one Config are interchangeable.
type Backend struct {
	cfg Config
}

var (
	_ forge.Backend = (*Backend)(nil)
	_ forge.Finder  = (*Backend)(nil)
)

// New returns a Slurm backend. Submit checks cfg (see Config.Validate).
func New(cfg Config) *Backend { return &Backend{cfg: cfg} }

// Name is "slurm".
func (b *Backend) Name() string { return "slurm" }

// commandTimeout bounds each Slurm command unless the caller's context
// ends sooner. Slurm's own MessageTimeout is 10 s by default; sbatch
// retries a busy controller for a while.
const commandTimeout = 60 * time.Second

// ownedOptions are the sbatch options an Extra line may not set, with
// their short forms: the log's place and mode, the working directory, the
// name that people see, the comment that carries the submission's token,
// and --array, which would make one handle many jobs.
var ownedOptions = []struct{ long, short string }{
	{"--job-name", "-J"}, {"--output", "-o"}, {"--error", "-e"}, {"--open-mode", ""},
	{"--chdir", "-D"}, {"--comment", ""}, {"--array", "-a"},
}

// unquote drops what sbatch's #SBATCH parser would remove from a word.
var unquote = strings.NewReplacer(`"`, "", `'`, "", `\`, "")

// ownedOption returns the owned option that an #SBATCH line's first word
// sets, or "". sbatch takes "-ofile" for "-o file", and, as getopt_long
// does, any unambiguous prefix of a long option ("--out=").
func ownedOption(word string) string {
	opt, _, _ := strings.Cut(word, "=")
	short := len(opt) >= 2 && opt[0] == '-' && opt[1] != '-'
	for _, o := range ownedOptions {
		switch {
		case short && o.short != "" && opt[:2] == o.short,
			!short && len(opt) > 2 && strings.HasPrefix(o.long, opt):
			return o.long
		}
	}
	return ""
}

// Validate checks the configuration; its error is one line.
func (c Config) Validate() error {
	if c.GPUs < 0 {
		return fmt.Errorf("slurm config: negative GPUs %d", c.GPUs)
	}
	if c.TimeLimit < 0 {
		return fmt.Errorf("slurm config: negative time limit %v", c.TimeLimit)
	}
	if err := directiveValue("partition", c.Partition); err != nil {
		return fmt.Errorf("slurm config: %w", err)
	}
	for _, line := range c.Extra {
		if !strings.HasPrefix(line, "#SBATCH ") {
			return fmt.Errorf("slurm config: extra line %q does not start with \"#SBATCH \"", line)
		}
		if strings.ContainsAny(line, "\n\r\x00") {
			return fmt.Errorf("slurm config: extra line %q is not one line", line)
		}
		// sbatch reads every option on the line, unquoting as it goes; a
		// word that only looks like an option is refused too (safe side).
		for _, word := range strings.Fields(unquote.Replace(strings.TrimPrefix(line, "#SBATCH "))) {
			if strings.HasPrefix(word, "#") { // the rest is a comment
				break
			}
			if owned := ownedOption(word); owned != "" {
				return fmt.Errorf("slurm config: extra line %q sets %s, which the backend sets itself", line, owned)
			}
		}
	}
	for _, kv := range c.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("slurm config: env entry %q is not KEY=VALUE", kv)
		}
	}
	return nil
}

// Submit writes the batch script and submits it; the handle is the job
// id. It removes an earlier attempt's exit status first, since Status may
// read that file, and leaves the handle beside the job for Find. When
// sbatch fails, or its answer cannot be read, Submit cancels any job that
// carries this submission's token (the script's --comment), so that a
// submission that did reach slurmctld is not left queued.
func (b *Backend) Submit(ctx context.Context, spec forge.Spec) (string, error) {
	if err := b.cfg.Validate(); err != nil {
		return "", err
	}
	spec, err := absolute(spec)
	if err != nil {
		return "", err
	}
	var raw [8]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand)
	token := "batos-forge-" + hex.EncodeToString(raw[:])
	text, err := b.script(spec, token)
	if err != nil {
		return "", err
	}
	for _, stale := range []string{spec.Status, handleFile(spec)} {
		if err := os.Remove(stale); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("slurm submit %s: %w", spec.Name, err)
		}
	}
	path := scriptFile(spec)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("slurm submit %s: %w", spec.Name, err)
	}
	out, err := b.run(ctx, spec.Dir, "sbatch", "--parsable", path)
	if err == nil {
		var id string
		if id, err = parseSubmit(out); err == nil {
			// The worker commits the handle next; a crash before that must
			// find this job rather than submit another.
			if err := os.WriteFile(handleFile(spec), []byte(id+"\n"), 0o644); err != nil {
				err = fmt.Errorf("slurm submit %s: %w", spec.Name, err)
				if cerr := b.Cancel(context.Background(), id, spec); cerr != nil {
					err = fmt.Errorf("%w; and cancelling job %s: %v", err, id, cerr)
				}
				return "", err
			}
			return id, nil
		}
	}
	err = fmt.Errorf("sbatch %s: %w", path, err)
	if cerr := b.cancelToken(spec.Name, token); cerr != nil {
		err = fmt.Errorf("%w; and cleaning up: %v", err, cerr)
	}
	return "", err
}

func scriptFile(spec forge.Spec) string { return filepath.Join(spec.Dir, spec.Name+".sbatch") }
func handleFile(spec forge.Spec) string { return filepath.Join(spec.Dir, spec.Name+".handle") }

// Find returns the handle of the job Submit started for spec, if any: the
// handle Submit left beside the job or, for a crash between sbatch's
// answer and that file's write, the newest job Slurm still knows by the
// spec's name whose batch script is the spec's.
func (b *Backend) Find(ctx context.Context, spec forge.Spec) (string, bool, error) {
	if !validName(spec.Name) {
		return "", false, fmt.Errorf("slurm find: bad job name %q", spec.Name)
	}
	dir, err := filepath.Abs(spec.Dir)
	if err != nil {
		return "", false, fmt.Errorf("slurm find %s: %w", spec.Name, err)
	}
	spec.Dir = dir
	data, err := os.ReadFile(handleFile(spec))
	switch {
	case err == nil:
		h := strings.TrimSpace(string(data))
		if !validHandle(h) {
			return "", false, fmt.Errorf("slurm find %s: bad job id %q in %s", spec.Name, h, handleFile(spec))
		}
		return h, true, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, fmt.Errorf("slurm find %s: %w", spec.Name, err)
	}
	out, err := b.run(ctx, "", "squeue", "-h", "--name="+spec.Name, "--states=all", "-o", "%i %o")
	if err != nil {
		return "", false, fmt.Errorf("squeue --name=%s: %w", spec.Name, err)
	}
	found, newest := "", uint64(0)
	for _, line := range strings.Split(out, "\n") {
		id, command, _ := strings.Cut(strings.TrimSpace(line), " ")
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil || !validHandle(id) || command != scriptFile(spec) || n < newest {
			continue
		}
		found, newest = id, n
	}
	return found, found != "", nil
}

// cancelToken cancels the jobs named name whose comment is token. It runs
// on a context of its own: the caller's may be what ended sbatch.
func (b *Backend) cancelToken(name, token string) error {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	out, err := b.run(ctx, "", "squeue", "-h", "--name="+name, "-o", "%i %k")
	if err != nil {
		return fmt.Errorf("squeue --name=%s: %w", name, err)
	}
	for _, line := range strings.Split(out, "\n") {
		id, comment, _ := strings.Cut(strings.TrimSpace(line), " ")
		if comment != token || !validHandle(id) {
			continue
		}
		if _, err := b.run(ctx, "", "scancel", id); err != nil && !jobEnded(err) {
			return fmt.Errorf("scancel %s: %w", id, err)
		}
	}
	return nil
}

// Status reports what became of the job (see the package comment).
func (b *Backend) Status(ctx context.Context, handle string, spec forge.Spec) (forge.Status, error) {
	if !validHandle(handle) {
		return forge.Status{}, fmt.Errorf("slurm status: bad job id %q", handle)
	}
	out, err := b.run(ctx, "", "squeue", "-h", "--jobs="+handle, "-o", "%T")
	switch {
	case err == nil:
		if state, listed := parseSqueue(out); listed {
			if st, known := mapState(state, 0, 0); !known || !st.State.Ended() {
				// squeue lists queued, running and completing jobs; a
				// state this backend does not know is one of those.
				return forge.Status{State: forge.StateRunning}, nil
			}
			// An ended state: scontrol has its exit code.
		}
	case !unknownJob(err):
		return forge.Status{}, fmt.Errorf("squeue job %s: %w", handle, err)
	}
	out, err = b.run(ctx, "", "scontrol", "show", "job", handle)
	if err != nil {
		if unknownJob(err) {
			return statusFile(spec, handle)
		}
		return forge.Status{}, fmt.Errorf("scontrol show job %s: %w", handle, err)
	}
	st, err := parseJob(out, handle)
	if err != nil {
		return forge.Status{}, fmt.Errorf("scontrol show job %s: %w", handle, err)
	}
	return st, nil
}

// Cancel cancels the job; Slurm signals its whole process tree (SIGTERM,
// then SIGKILL after KillWait). A job that has ended, or that Slurm has
// forgotten, is not an error.
func (b *Backend) Cancel(ctx context.Context, handle string, spec forge.Spec) error {
	if !validHandle(handle) {
		return fmt.Errorf("slurm cancel: bad job id %q", handle)
	}
	if _, err := b.run(ctx, "", "scancel", handle); err != nil && !jobEnded(err) {
		return fmt.Errorf("scancel %s: %w", handle, err)
	}
	return nil
}

// absolute checks spec and makes its paths absolute, so that Slurm (which
// reads them in --chdir) and Status (which reads Spec.Status here) agree.
func absolute(spec forge.Spec) (forge.Spec, error) {
	switch {
	case !validName(spec.Name):
		return spec, fmt.Errorf("slurm submit: bad job name %q", spec.Name)
	case len(spec.Command) == 0:
		return spec, fmt.Errorf("slurm submit %s: no command", spec.Name)
	case spec.Dir == "" || spec.Log == "" || spec.Status == "":
		return spec, fmt.Errorf("slurm submit %s: Dir, Log and Status are required", spec.Name)
	case spec.Timeout < 0:
		return spec, fmt.Errorf("slurm submit %s: negative timeout %v", spec.Name, spec.Timeout)
	}
	for _, p := range []*string{&spec.Dir, &spec.Log, &spec.Status} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return spec, fmt.Errorf("slurm submit %s: %w", spec.Name, err)
		}
		*p = abs
	}
	for _, arg := range spec.Command {
		if strings.ContainsRune(arg, 0) {
			return spec, fmt.Errorf("slurm submit %s: command argument %q holds a NUL", spec.Name, arg)
		}
	}
	for _, kv := range spec.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || !shellName(k) || strings.ContainsRune(kv, 0) {
			return spec, fmt.Errorf("slurm submit %s: env entry %q is not NAME=VALUE", spec.Name, kv)
		}
	}
	return spec, nil
}

// script renders the batch script. sbatch reads #SBATCH lines up to the
// first command, so they all come first.
func (b *Backend) script(spec forge.Spec, token string) (string, error) {
	var w strings.Builder
	w.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&w, "# batos forge job %s, written by the slurm backend: run it with sbatch.\n", spec.Name)
	directive := func(opt, value string) error {
		if err := directiveValue(opt, value); err != nil {
			return fmt.Errorf("slurm submit %s: %w", spec.Name, err)
		}
		fmt.Fprintf(&w, "#SBATCH --%s=%s\n", opt, sbatchQuote(value))
		return nil
	}
	for _, d := range [][2]string{
		{"job-name", spec.Name},
		{"output", spec.Log},
		{"open-mode", "append"},
		{"comment", token},
	} {
		if err := directive(d[0], d[1]); err != nil {
			return "", err
		}
	}
	limit := b.cfg.TimeLimit
	if limit == 0 {
		limit = spec.Timeout
	}
	if limit > 0 {
		w.WriteString("# Slurm's time limits are whole minutes: rounded up from " + limit.String() + ".\n")
		fmt.Fprintf(&w, "#SBATCH --time=%d\n", minutes(limit))
	}
	if b.cfg.Partition != "" {
		if err := directive("partition", b.cfg.Partition); err != nil {
			return "", err
		}
	}
	if b.cfg.GPUs > 0 {
		fmt.Fprintf(&w, "#SBATCH --gres=gpu:%d\n", b.cfg.GPUs)
	}
	for _, line := range b.cfg.Extra {
		w.WriteString(line + "\n")
	}
	if err := directive("chdir", spec.Dir); err != nil {
		return "", err
	}

	w.WriteString("\n# The command, with Spec.Env in its environment.\n")
	for _, kv := range spec.Env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&w, "%s=%s \\\n", k, shQuote(v))
	}
	for i, arg := range spec.Command {
		if i > 0 {
			w.WriteByte(' ')
		}
		w.WriteString(shQuote(arg))
	}
	w.WriteString("\nbatos_status=$?\n")
	w.WriteString("# Its exit status, whole or not at all: a temporary file, then mv.\n")
	fmt.Fprintf(&w, "batos_tmp=%s.$$\n", shQuote(spec.Status+".tmp"))
	fmt.Fprintf(&w, "printf '%%d\\n' \"$batos_status\" >\"$batos_tmp\" && mv -f \"$batos_tmp\" %s\n", shQuote(spec.Status))
	w.WriteString("exit \"$batos_status\"\n")
	return w.String(), nil
}

// minutes rounds d up to whole minutes, at least one.
func minutes(d time.Duration) int64 {
	m := int64((d + time.Minute - 1) / time.Minute)
	return max(m, 1)
}

// directiveValue checks a value for an #SBATCH line. sbatch (22.05) blanks
// out "packjob" anywhere in such a line before it parses the line, so a
// value holding it would silently become another.
func directiveValue(opt, value string) error {
	if strings.ContainsAny(value, "\n\r\x00") {
		return fmt.Errorf("%s %q is not one line", opt, value)
	}
	if strings.Contains(strings.ToLower(value), "packjob") {
		return fmt.Errorf("%s %q contains \"packjob\", which sbatch erases from #SBATCH lines", opt, value)
	}
	return nil
}

// sbatchQuote quotes a value for an #SBATCH line: sbatch groups a quoted
// string and takes a backslash as escaping the next character, inside
// quotes too; an unquoted # would start a comment.
func sbatchQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,/:+@%") == "" {
		return s
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	return `"` + s + `"`
}

// shQuote quotes s as one word for sh: inside single quotes nothing is
// special but the single quote itself, which closes the quoting, is
// escaped with a backslash, and reopens it.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellName reports whether s is a portable environment variable name.
func shellName(s string) bool {
	for i, r := range s {
		if r != '_' && !(r >= 'A' && r <= 'Z') && !(r >= 'a' && r <= 'z') && (i == 0 || !(r >= '0' && r <= '9')) {
			return false
		}
	}
	return s != ""
}

// validName: a job's name names its files in Spec.Dir (<Name>.sbatch,
// <Name>.handle) and goes on an #SBATCH line.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\n\r\x00")
}

// validHandle: a handle is a job id, digits only. Checking it keeps a bad
// handle from reaching a command line as an option.
func validHandle(h string) bool {
	if h == "" || len(h) > 20 {
		return false
	}
	for _, r := range h {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// parseSubmit reads `sbatch --parsable`'s answer: "ID" or "ID;CLUSTER".
func parseSubmit(out string) (string, error) {
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	if !validHandle(id) {
		return "", fmt.Errorf("unexpected answer %q", oneLine(out))
	}
	return id, nil
}

// statusFile is Status's last resort, once Slurm has forgotten the job:
// the exit status the script wrote, or StateLost.
func statusFile(spec forge.Spec, id string) (forge.Status, error) {
	path, err := filepath.Abs(spec.Status)
	if err != nil {
		return forge.Status{}, fmt.Errorf("slurm status %s: %w", id, err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return forge.Status{State: forge.StateLost, Reason: "Slurm forgot job " + id + " and it left no exit status"}, nil
	}
	if err != nil {
		return forge.Status{}, fmt.Errorf("slurm status %s: %w", id, err)
	}
	code, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || code < 0 {
		return forge.Status{State: forge.StateLost, Reason: fmt.Sprintf("Slurm forgot job %s and its exit status %q is not a number", id, oneLine(string(data)))}, nil
	}
	if code == 0 {
		return forge.Status{State: forge.StateSucceeded}, nil
	}
	return forge.Status{State: forge.StateFailed, ExitCode: code, Reason: fmt.Sprintf("exit status %d", code)}, nil
}

// A cmdError is a Slurm command that failed, with its standard error.
type cmdError struct {
	err    error
	stderr string
}

func (e *cmdError) Error() string {
	if e.stderr == "" {
		return e.err.Error()
	}
	return e.err.Error() + ": " + e.stderr
}

func (e *cmdError) Unwrap() error { return e.err }

// run runs a Slurm command and returns its standard output.
func (b *Backend) run(ctx context.Context, dir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), b.cfg.Env...)
	cmd.Dir = dir
	cmd.WaitDelay = time.Second // a grandchild holding the pipes cannot hang us
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return stdout.String(), &cmdError{err: err, stderr: oneLine(stderr.String())}
	}
	return stdout.String(), nil
}

// unknownJob reports whether a command failed because Slurm does not know
// the job (never did, or purged it).
func unknownJob(err error) bool {
	var ce *cmdError
	// "Invalid job id specified" from slurmctld; "Invalid job id: N" from
	// a client for an id beyond any Slurm's.
	return errors.As(err, &ce) && strings.Contains(ce.stderr, "Invalid job id")
}

// jobEnded reports whether scancel failed because there was nothing left
// to cancel.
func jobEnded(err error) bool {
	var ce *cmdError
	return errors.As(err, &ce) && (unknownJob(err) ||
		strings.Contains(ce.stderr, "already completing or completed"))
}

// oneLine joins s's lines with "; " and bounds its length.
func oneLine(s string) string {
	var parts []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	s = strings.Join(parts, "; ")
	const limit = 1000
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// FromSettings is the backend for the image's Forge.slurm settings (the
// forge.Options.NewSlurm of every command), with env added to the Slurm
// commands' environment.
func FromSettings(s forge.SlurmSettings, env ...string) (forge.Backend, error) {
	cfg := Config{Partition: s.Partition, GPUs: s.GPUs, TimeLimit: s.TimeLimit, Extra: s.Extra, Env: env}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return New(cfg), nil
}
