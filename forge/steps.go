package forge

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"batos/forge/gguf"
	"batos/forge/trainers"
	"batos/kernel"
	"batos/kernel/pllm"
)

// train submits the job to its backend, unless it was submitted before
// (the kernel restarted: it re-attaches by the recorded handle), and
// follows it until it ends, publishing its progress and stopping it when
// it is cancelled or runs past the timeout.
func (f *Forge) train(j job, cfg config) error {
	b, err := f.backend(j.backend, cfg)
	if err != nil {
		return f.fail(j, "train: "+err.Error(), false)
	}
	spec := f.spec(j, cfg)
	if j.handle == "" {
		if err := os.MkdirAll(filepath.Dir(spec.Log), 0o755); err != nil {
			return f.fail(j, "train: "+err.Error(), false)
		}
		handle, found := "", false
		if fb, ok := b.(Finder); ok {
			// Submitted by a kernel that died before it recorded the
			// handle: re-attach.
			if handle, found, err = fb.Find(f.ctx, spec); err != nil {
				return f.fail(j, "train: "+err.Error(), false)
			}
		}
		if !found {
			_ = os.RemoveAll(filepath.Join(spec.Dir, "out"))
			if err := os.MkdirAll(filepath.Join(spec.Dir, "out"), 0o755); err != nil {
				return f.fail(j, "train: "+err.Error(), false)
			}
			if err := trainers.Unpack(TrainersDir(f.dir)); err != nil {
				return f.fail(j, "train: "+err.Error(), false)
			}
			if handle, err = b.Submit(f.ctx, spec); err != nil {
				return f.fail(j, "train: "+err.Error(), false)
			}
		}
		if f.opts.CrashAt == "submitted" {
			crash()
		}
		now := time.Now().UTC()
		err = f.update(j, "submitted to "+b.Name()+" as "+handle, func(o kernel.Object, _ kernel.Object) error {
			o.Set("handle", handle)
			o.Set("submitted", now.Format(time.RFC3339Nano))
			return nil
		})
		if err != nil {
			// Not recorded: stop what was started, so nothing runs twice.
			_ = b.Cancel(context.Background(), handle, spec)
			return err
		}
		j.handle, j.submitted = handle, now
	}
	tail := &progressReader{path: spec.Log}
	for {
		p, line := tail.read()
		if p != nil || line != "" {
			ev := kernel.ForgeProgress{Job: j.id, Persona: j.persona, State: Training, Line: line}
			if p != nil {
				ev.Step, ev.Steps, ev.Loss, ev.LR, ev.ETA = p.Step, p.Steps, p.Loss, p.LR, p.ETA
			}
			f.k.Bus().PublishForge(ev)
		}
		if f.opts.CrashAt != "" && tail.last != nil && f.opts.CrashAt == fmt.Sprintf("training:%d", tail.last.Step) {
			crash()
		}
		st, err := b.Status(f.ctx, j.handle, spec)
		if err != nil {
			return err
		}
		if st.State.Ended() {
			// Read what the trainer printed last, an unended last line
			// too, before judging.
			tail.read()
			tail.flush()
			set := map[string]any{}
			if tail.last != nil {
				set["progress"] = tail.last.asMap()
			}
			if st.State != StateSucceeded {
				reason := "train: " + st.State.String()
				if st.Reason != "" && st.Reason != st.State.String() {
					reason += ": " + st.Reason
				}
				set["reason"], set["cancelled"], set["failedIn"] = reason, false, Training
				return f.move(j, Compensating, set)
			}
			return f.complete(j, set)
		}
		cur, _, err := f.load(j.oid)
		if err != nil {
			return err
		}
		if cur.cancel {
			if err := b.Cancel(f.ctx, j.handle, spec); err != nil {
				return err
			}
			return f.fail(j, "", true)
		}
		if cfg.timeout > 0 && !j.submitted.IsZero() && time.Since(j.submitted) > cfg.timeout {
			if err := b.Cancel(f.ctx, j.handle, spec); err != nil {
				return err
			}
			return f.move(j, Compensating, map[string]any{"reason": fmt.Sprintf("train: timed out after %s", cfg.timeout), "failedIn": Training})
		}
		select {
		case <-f.ctx.Done():
			return nil
		case <-time.After(f.opts.Poll):
		}
	}
}

// progress is one line of the trainer's progress.
type progress struct {
	Step  int     `json:"step"`
	Steps int     `json:"steps"`
	Loss  float64 `json:"loss"`
	LR    float64 `json:"lr"`
	ETA   int     `json:"eta_s"`
}

func (p *progress) asMap() map[string]any {
	return map[string]any{"step": p.Step, "steps": p.Steps, "loss": p.Loss, "lr": p.LR, "eta_s": p.ETA}
}

// parseProgress reads a progress line: a JSON object with a step. Anything
// else (the trainer's other output, garbage) is not progress.
func parseProgress(line string) (*progress, bool) {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "{") {
		return nil, false
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal([]byte(line), &raw) != nil {
		return nil, false
	}
	if _, ok := raw["step"]; !ok {
		return nil, false
	}
	var p progress
	if json.Unmarshal([]byte(line), &p) != nil || p.Step < 0 || p.Steps < 0 {
		return nil, false
	}
	return &p, true
}

// progressReader follows a log file: each read returns the newest
// progress line and the newest line of any kind written since the last
// read. A line not yet ended with a newline waits for the next read.
type progressReader struct {
	path string
	off  int64
	part string
	last *progress
}

// flush takes the unended last line as a line: the trainer has ended.
func (r *progressReader) flush() {
	if q, ok := parseProgress(r.part); ok {
		r.last = q
	}
	r.part = ""
}

// maxTailRead bounds what one read takes from the log.
const maxTailRead = 1 << 20

func (r *progressReader) read() (p *progress, line string) {
	fh, err := os.Open(r.path)
	if err != nil {
		return nil, ""
	}
	defer fh.Close()
	if _, err := fh.Seek(r.off, io.SeekStart); err != nil {
		return nil, ""
	}
	b, _ := io.ReadAll(io.LimitReader(fh, maxTailRead))
	r.off += int64(len(b))
	text := r.part + string(b)
	end := strings.LastIndexByte(text, '\n')
	if end < 0 {
		r.part = text
		return nil, ""
	}
	r.part = text[end+1:]
	sc := bufio.NewScanner(strings.NewReader(text[:end]))
	sc.Buffer(nil, maxTailRead)
	for sc.Scan() {
		l := sc.Text()
		if q, ok := parseProgress(l); ok {
			p, r.last = q, q
		}
		if strings.TrimSpace(l) != "" {
			line = l
		}
	}
	if len(line) > 200 {
		line = line[:200]
	}
	return p, line
}

// adapterFiles are what a PEFT adapter folder must hold.
var adapterFiles = []string{"adapter_config.json", "adapter_model.safetensors"}

// convert checks the trainer's output, converts it to the GGUF adapter
// llama-server loads (AdapterFile), and stages both as the persona's next
// adapter version, ADAPTERS/PERSONA/vN, whole (written beside it, then
// renamed into place): the version folder exists only complete. It
// returns N.
func (f *Forge) convert(j job, cfg config) (int, error) {
	out := filepath.Join(f.jobDir(j), "out")
	for _, name := range adapterFiles {
		fi, err := os.Stat(filepath.Join(out, name))
		if err != nil || fi.Size() == 0 {
			return 0, fmt.Errorf("convert: the trainer left no %s in %s", name, out)
		}
	}
	var ac map[string]any
	if b, err := os.ReadFile(filepath.Join(out, "adapter_config.json")); err != nil || json.Unmarshal(b, &ac) != nil {
		return 0, fmt.Errorf("convert: %s/adapter_config.json is not JSON", out)
	}
	version := j.version
	if version == 0 {
		// The next free version; a job resumed after a crash reuses the
		// one it had staged (recorded only with the next transition, so
		// it is recomputed: its folder, if complete, is its own).
		version = 1
		for {
			dir := filepath.Join(cfg.adapterDir, j.persona, fmt.Sprintf("v%d", version))
			owner, err := os.ReadFile(filepath.Join(dir, ".job"))
			if errors.Is(err, os.ErrNotExist) {
				if _, serr := os.Stat(dir); errors.Is(serr, os.ErrNotExist) {
					break
				}
			} else if err == nil && strings.TrimSpace(string(owner)) == fmt.Sprint(j.id) {
				return version, nil
			}
			version++
		}
	}
	dst := filepath.Join(cfg.adapterDir, j.persona, fmt.Sprintf("v%d", version))
	tmp := dst + ".staging"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return 0, fmt.Errorf("convert: %w", err)
	}
	for _, name := range adapterFiles {
		if err := copyFile(filepath.Join(out, name), filepath.Join(tmp, name)); err != nil {
			return 0, fmt.Errorf("convert: %w", err)
		}
	}
	// The GGUF adapter llama-server loads, converted for the base model:
	// its heads decide the q and k rows' permutation.
	if cfg.baseModel == "" {
		return 0, errors.New("convert: Forge.baseModel is empty: set it to the base model's Hugging Face folder (config.json), which the adapter is converted for")
	}
	base, err := gguf.ReadHFConfig(cfg.baseModel)
	if err != nil {
		return 0, fmt.Errorf("convert: Forge.baseModel: %w", err)
	}
	if err := gguf.ConvertLoRA(tmp, filepath.Join(tmp, AdapterFile), base); err != nil {
		return 0, fmt.Errorf("convert: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".job"), []byte(fmt.Sprintln(j.id)), 0o644); err != nil {
		return 0, fmt.Errorf("convert: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return 0, fmt.Errorf("convert: %w", err)
	}
	return version, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// removeStaged removes the adapter versions of j's persona that job j
// staged.
func removeStaged(cfg config, j job) error {
	entries, err := os.ReadDir(filepath.Join(cfg.adapterDir, j.persona))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		dir := filepath.Join(cfg.adapterDir, j.persona, e.Name())
		owner, err := os.ReadFile(filepath.Join(dir, ".job"))
		if err == nil && strings.TrimSpace(string(owner)) == fmt.Sprint(j.id) {
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// adapterPath is version's folder.
func adapterPath(cfg config, persona string, version int) string {
	return filepath.Join(cfg.adapterDir, persona, fmt.Sprintf("v%d", version))
}

// evaluate judges the staged adapter: its validation loss must not be
// worse than the base model's on the same validation split (as the
// trainer measured them, out/metrics.json's val_loss and val_loss_base),
// within Forge.evalTolerance; then Forge.evaluator, when set, runs on it
// (placeholders {adapter}, {persona}, {base}) and must exit 0.
func (f *Forge) evaluate(j job, cfg config) error {
	logPath := LogPath(f.dir, j.id)
	m, err := readMetrics(filepath.Join(f.jobDir(j), "out"))
	after, okAfter := m["val_loss"].(float64)
	before, okBefore := m["val_loss_base"].(float64)
	switch {
	case err != nil || !okAfter || !okBefore:
		appendLog(logPath, "forge: evaluate: the trainer reported no validation loss before and after training (out/metrics.json val_loss_base, val_loss): not compared\n")
	case after > before*(1+cfg.evalTolerance):
		return fmt.Errorf("evaluate: validation loss %.4f with the adapter is worse than the base model's %.4f (Forge.evalTolerance %g): not registered", after, before, cfg.evalTolerance)
	default:
		appendLog(logPath, fmt.Sprintf("forge: evaluate: validation loss %.4f with the adapter, %.4f without\n", after, before))
	}
	if err := f.comparePassRates(j, cfg); err != nil {
		return err
	}
	if len(cfg.evaluator) == 0 {
		return nil
	}
	argv := fill(cfg.evaluator, map[string]string{"adapter": adapterPath(cfg, j.persona, j.version), "persona": j.persona, "base": cfg.baseModel})
	ctx, cancel := context.WithTimeout(f.ctx, cfg.timeout)
	defer cancel()
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = f.jobDir(j)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		if f.ctx.Err() != nil {
			return f.ctx.Err()
		}
		return fmt.Errorf("evaluate: %s: %w", argv[0], err)
	}
	return nil
}

func appendLog(path, text string) {
	_ = os.MkdirAll(filepath.Dir(path), 0o755)
	if fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err == nil {
		fh.WriteString(text)
		fh.Close()
	}
}

// AdapterFile is the GGUF adapter llama-server loads, in a version
// folder beside the PEFT files it was converted from.
const AdapterFile = "adapter.gguf"

// register points the persona at the new version and ends the job, in one
// transaction: the persona's adapter slot (the version's lineage: job,
// dataset, base model, metrics) and lora slot (the GGUF file, which the
// pLLM maps to the server's id at each request), and, when the persona's
// server is one batos manages, that server's adapter list, which makes
// the supervisor restart it with the new adapter. For a server batos does
// not manage, the job's restart slot says the command that loads it. The
// mapping never names a version that is not staged whole, and a crash
// leaves either the old mapping and a job still registering, or both
// changed.
func (f *Forge) register(j job, cfg config) error {
	path := adapterPath(cfg, j.persona, j.version)
	gguf := filepath.Join(path, AdapterFile)
	if _, err := os.Stat(gguf); err != nil || j.version == 0 {
		return f.fail(j, fmt.Sprintf("register: adapter version %d is not staged at %s", j.version, path), false)
	}
	lineage := map[string]any{"version": j.version, "path": path, "gguf": gguf, "job": j.id,
		"base": cfg.baseModel, "registered": time.Now().UTC().Format(time.RFC3339)}
	if man, err := ReadManifest(f.jobDir(j)); err == nil {
		lineage["dataset"], lineage["examples"] = man.Hash, man.Train+man.Valid
	}
	if m, err := readMetrics(filepath.Join(f.jobDir(j), "out")); err == nil {
		lineage["metrics"] = m
	}
	if err := f.readIn(func(s *kernel.Session, _ kernel.Object) {
		if rates, ok := slot(s.Object(j.oid), "heldOut").(map[string]any); ok {
			lineage["heldOut"] = rates
		}
	}); err != nil {
		return err
	}
	var endpoint string
	var managed bool
	if err := f.readIn(func(s *kernel.Session, lobby kernel.Object) {
		endpoint = personaEndpoint(s, lobby, j.persona)
		if srv, ok := serverFor(lobby, endpoint); ok {
			managed = readServer(srv).managed
		}
	}); err != nil {
		return err
	}
	restart := ""
	if !managed {
		ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
		restart = restartCommand(ctx, endpoint, gguf)
		cancel()
	}
	err := f.update(j, Registering+" → "+Succeeded, func(o kernel.Object, lobby kernel.Object) error {
		persona := slotObject(slotObject(slotObject(lobby, "pLLM"), "personas"), j.persona)
		if persona == (kernel.Object{}) {
			return fmt.Errorf("register: no persona %q", j.persona)
		}
		previous, _ := slot(persona, "adapter").(map[string]any)
		o.Set("previous", slot(persona, "adapter"))
		persona.Set("adapter", lineage)
		persona.Set("lora", map[string]any{"path": gguf, "scale": 1.0})
		if srv, ok := serverFor(lobby, endpoint); ok && managed {
			loras := stringList(slot(srv, "loras"))
			if old, _ := previous["gguf"].(string); old != "" && !usedByAnother(lobby, j.persona, old) {
				loras = slices.DeleteFunc(loras, func(l string) bool { return l == old })
			}
			if !slices.Contains(loras, gguf) {
				loras = append(loras, gguf)
			}
			srv.Set("loras", anyList(loras))
		} else {
			o.Set("restart", restart)
		}
		o.Set("state", Succeeded)
		o.Set("done", anyList(append(j.done, Registering)))
		return nil
	})
	if err != nil {
		return err
	}
	if restart != "" {
		appendLog(LogPath(f.dir, j.id), fmt.Sprintf("forge: %s's server at %s is not one batos manages: restart it so that it loads the adapter:\n  %s\n", j.persona, endpoint, restart))
	}
	f.k.Bus().PublishForge(kernel.ForgeProgress{Job: j.id, Persona: j.persona, State: Succeeded})
	f.log.Info("job moved", "job", j.id, "persona", j.persona, "from", Registering, "to", Succeeded)
	if f.opts.CrashAt == Succeeded {
		crash()
	}
	return nil
}

// personaEndpoint is where a persona's model server is, as the pLLM
// reaches it.
func personaEndpoint(s *kernel.Session, lobby kernel.Object, persona string) string {
	p := slotObject(slotObject(slotObject(lobby, "pLLM"), "personas"), persona)
	if e := stringSlot(p, "endpoint", ""); e != "" && os.Getenv("BATOS_LLM_URL") == "" {
		return e
	}
	return pllm.Endpoint(s)
}

// usedByAnother reports whether a persona other than persona names the
// adapter file gguf.
func usedByAnother(lobby kernel.Object, persona, gguf string) bool {
	ps := slotObject(slotObject(lobby, "pLLM"), "personas")
	for _, name := range ps.Slots() {
		p, ok := slot(ps, name).(kernel.Object)
		if !ok || name == persona || strings.HasSuffix(name, "*") {
			continue
		}
		if a, ok := slot(p, "adapter").(map[string]any); ok && a["gguf"] == gguf {
			return true
		}
	}
	return false
}

// readMetrics reads the trainer's metrics.json, when it wrote one.
func readMetrics(out string) (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join(out, "metrics.json"))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	// JSON numbers are float64; the image keeps them so.
	return m, nil
}

// compensate undoes the job's completed steps, newest first, and ends it
// failed or cancelled. Each undo is idempotent: a compensation cut short
// by a crash is run again whole.
func (f *Forge) compensate(j job, cfg config) error {
	dir := f.jobDir(j)
	for i := len(j.done) - 1; i >= 0; i-- {
		switch j.done[i] {
		case Registering:
			// Never reached with done holding it (register ends the job),
			// kept for a saga that gains steps after it.
		case Evaluating:
		case Training:
			if err := os.RemoveAll(filepath.Join(dir, "out")); err != nil {
				return err
			}
		case Curating:
			for _, name := range []string{"dataset", "config.json"} {
				if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
					return err
				}
			}
		}
	}
	// A training step that failed or was cancelled leaves a backend job
	// that may still run (a crash between its cancel and this) and output.
	if j.handle != "" {
		if b, err := f.backend(j.backend, cfg); err == nil {
			if err := b.Cancel(f.ctx, j.handle, f.spec(j, cfg)); err != nil {
				return err
			}
		}
	}
	if err := os.RemoveAll(filepath.Join(dir, "out")); err != nil {
		return err
	}
	// A managed server the evaluate step gave the new adapter to.
	if j.version > 0 {
		gguf := filepath.Join(adapterPath(cfg, j.persona, j.version), AdapterFile)
		var endpoint string
		if err := f.readIn(func(s *kernel.Session, lobby kernel.Object) { endpoint = personaEndpoint(s, lobby, j.persona) }); err != nil {
			return err
		}
		if err := f.setServerLoRA(j, endpoint, gguf, false); err != nil {
			return err
		}
	}
	// Every version this job staged, whole or not, recorded or not (a
	// convert cut short by a crash records nothing).
	if err := removeStaged(cfg, j); err != nil {
		return err
	}
	end := Failed
	if j.cancelled {
		end = Cancelled
	}
	return f.move(j, end, map[string]any{"done": []any{}})
}
