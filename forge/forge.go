package forge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"batos/image"
	"batos/kernel"
	"batos/kernel/sandbox"
)

// Principal is the principal of every transition the Forge commits.
const Principal = "forge"

// maxJobs bounds Lobby.Forge.jobs: past it the oldest ended jobs leave
// the list (and stay in history until a pack).
const maxJobs = 500

// Options configures a Forge.
type Options struct {
	// Poll is how often a running backend job is looked at (default 1 s).
	Poll time.Duration
	// Backends replaces the backends by name (tests); by default "local"
	// is Local and "slurm" is made by NewSlurm.
	Backends map[string]Backend
	// NewSlurm makes the slurm backend from the image's Forge.slurm
	// settings; nil: jobs for slurm fail with a message that says so.
	NewSlurm func(SlurmSettings) (Backend, error)
	// CrashAt makes the process SIGKILL itself right after it commits a
	// job's move to this state, or, as "training:N", once the trainer
	// reported step N: the crash tests' failpoint.
	CrashAt string // also "submitted": after the backend took the job, before its handle is committed
	// Tokenizer, when set, makes the tokenizer curation uses for a
	// persona whose model server is at endpoint (ByteTokenizer for the
	// tiny test model); nil: a ServerTokenizer on that endpoint.
	Tokenizer func(endpoint string) Tokenizer
	// Sandbox runs the trial runs of the evaluate step's held-out pass
	// rates (bench.Run); nil: pass rates are not compared.
	Sandbox *sandbox.Runner
}

// SlurmSettings are Lobby.Forge.slurm's slots.
type SlurmSettings struct {
	Partition string
	GPUs      int
	TimeLimit time.Duration // 0: the job's timeout
	Extra     []string      // "#SBATCH ..." lines
}

// Forge is the worker of one kernel: it drives every job of the image
// that has not ended, one goroutine per job, and is woken by the commits
// that queue or cancel one.
type Forge struct {
	k    *kernel.Kernel
	dir  string // the image folder
	opts Options
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{}

	startOnce sync.Once

	mu      sync.Mutex
	driving map[image.OID]string // job → its backend, while a driver runs it

	servers *supervisor // the managed model servers, while the worker runs
}

// Install binds the Forge's primitives in k (fineTune and cancelJob) and
// gives an image awakened before they existed their slots: every process
// that opens an image can queue and cancel jobs. Start starts the worker
// that runs them, in the processes that live long enough (the TUI, batos
// serve, batos forge); a job queued where none runs waits for the next.
func Install(k *kernel.Kernel, imageDir string, opts Options) (*Forge, error) {
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	f := &Forge{k: k, dir: imageDir, opts: opts, log: k.Logger().With("component", "forge"),
		wake: make(chan struct{}, 1), driving: map[image.OID]string{}}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	k.RegisterPrimitive("fineTune", f.primFineTune)
	k.RegisterPrimitive("cancelJob", f.primCancel)
	if err := f.migrate(); err != nil {
		return nil, err
	}
	return f, nil
}

// DefaultTrainer is the trainer command template of a new image: the
// Forge's own trainer (package forge/trainers), unpacked into
// IMAGE/forge/trainers, run by Forge.python.
var DefaultTrainer = []string{"{python}", "{trainers}/lora_sft.py", "--dataset", "{dataset}", "--out", "{out}", "--base", "{base}", "--config", "{config}"}

// oldTrainer is the template images had before.
var oldTrainer = []string{"python3", "-m", "batos_forge.train", "--dataset", "{dataset}", "--out", "{out}", "--base", "{base}", "--config", "{config}"}

// Start starts the worker (once).
func (f *Forge) Start() {
	f.startOnce.Do(func() {
		f.wg.Add(2)
		go f.loop()
		f.servers = &supervisor{f: f, running: map[image.OID]*serverProc{}}
		go f.servers.supervise()
	})
}

// Close stops the worker and waits for its goroutines, and stops the
// model servers it started; it cancels no backend job: Close and a crash
// leave the same state, which the next worker resumes.
func (f *Forge) Close() {
	f.cancel()
	f.wg.Wait()
}

// Wake makes the worker look at the jobs now.
func (f *Forge) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// migrate gives Lobby.Forge the slots of the Forge's primitives when the
// image was awakened without them, and puts Lobby.Forge out of reach of
// model-written code (Lobby.pLLM.policy.never): its trainer slot is a
// command the worker runs, so a method the pLLM wrote on the Forge must
// not be able to set it.
func (f *Forge) migrate() error {
	s := f.k.NewSession(Principal)
	_, err := s.Run(f.ctx, "forge: install its primitives", func(lobby kernel.Object) error {
		fo, ok := slot(lobby, "Forge").(kernel.Object)
		if !ok {
			return nil
		}
		if policy, ok := slot(slotObject(lobby, "pLLM"), "policy").(kernel.Object); ok {
			never, _ := slot(policy, "never").([]any)
			if !slices.Contains(never, any("Lobby.Forge")) {
				policy.Set("never", append(never, "Lobby.Forge"))
			}
		}
		// The trainer template of images made before the Forge shipped
		// its trainer named a module nothing provided.
		if slices.Equal(stringList(slot(fo, "trainer")), oldTrainer) {
			fo.Set("trainer", anyList(DefaultTrainer))
		}
		for name, prim := range map[string]string{"fineTune": "fineTune", "cancel": "cancelJob"} {
			if slot(fo, name) == nil {
				if err := s.SetPrimitive(fo.OID(), name, prim); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("forge: install: %w", err)
	}
	return nil
}

// primFineTune queues a fine-tune of a persona: Forge.Send("fineTune",
// "BRICK") returns the job object. The job is created in the caller's
// transaction: if that aborts, there is no job and nothing runs.
func (f *Forge) primFineTune(c *kernel.PrimitiveCall) (any, error) {
	persona, ok := kernel.Arg[string](c.Args, 0)
	if !ok || len(c.Args) != 1 {
		return nil, errors.New("fineTune: want one argument, the persona's name")
	}
	// The name becomes a folder (adapters/PERSONA/vN): nothing that could
	// climb out of it.
	if persona == "." || persona == ".." || strings.ContainsAny(persona, `/\`) {
		return nil, fmt.Errorf("fineTune: %q is not a persona name a folder can take", persona)
	}
	lobby := c.Self.Lobby()
	personas, _ := slot(slotObject(lobby, "pLLM"), "personas").(kernel.Object)
	if _, ok := slot(personas, persona).(kernel.Object); !ok || personas == (kernel.Object{}) {
		return nil, fmt.Errorf("fineTune: no persona %q in Lobby.pLLM.personas", persona)
	}
	fo := c.Self
	cfg := readConfig(fo, f.dir)
	id := intSlot(fo, "nextJob", 1)
	fo.Set("nextJob", id+1)
	o := lobby.NewObject()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for name, v := range map[string]any{
		"name": fmt.Sprintf("forge job %d (%s)", id, persona), "id": id, "persona": persona,
		"state": Queued, "backend": cfg.backend, "created": now, "updated": now, "done": []any{},
	} {
		o.Set(name, v)
	}
	jobs, _ := slot(fo, "jobs").([]any)
	jobs = append(jobs, o)
	fo.Set("jobs", trimJobs(jobs))
	c.AfterCommit(func(committed bool) {
		if committed {
			f.Wake()
		}
	})
	return o, nil
}

// primCancel asks for a job's cancel: Forge.Send("cancel", 7). The worker
// stops its backend job and compensates what it did.
func (f *Forge) primCancel(c *kernel.PrimitiveCall) (any, error) {
	id, ok := kernel.Arg[int](c.Args, 0)
	if !ok || len(c.Args) != 1 {
		return nil, errors.New("cancel: want one argument, the job's id")
	}
	for _, v := range jobList(c.Self) {
		if intSlot(v, "id", 0) != id {
			continue
		}
		if state := stringSlot(v, "state", ""); Ended(state) {
			return nil, fmt.Errorf("cancel: forge job %d has ended (%s)", id, state)
		}
		v.Set("cancel", true)
		c.AfterCommit(func(committed bool) {
			if committed {
				f.Wake()
			}
		})
		return v, nil
	}
	return nil, fmt.Errorf("cancel: no forge job %d", id)
}

// trimJobs drops the oldest ended jobs past maxJobs.
func trimJobs(jobs []any) []any {
	for len(jobs) > maxJobs {
		i := slices.IndexFunc(jobs, func(v any) bool {
			o, ok := v.(kernel.Object)
			return !ok || Ended(stringSlot(o, "state", ""))
		})
		if i < 0 {
			break
		}
		jobs = slices.Delete(jobs, i, i+1)
	}
	return jobs
}

func slotObject(o kernel.Object, name string) kernel.Object {
	v, _ := slot(o, name).(kernel.Object)
	return v
}

func jobList(fo kernel.Object) []kernel.Object {
	var out []kernel.Object
	l, _ := slot(fo, "jobs").([]any)
	for _, v := range l {
		if o, ok := v.(kernel.Object); ok {
			out = append(out, o)
		}
	}
	return out
}

// loop starts a driver for every job that has not ended and has none,
// queued jobs within their backend's concurrency, oldest first.
func (f *Forge) loop() {
	defer f.wg.Done()
	tick := time.NewTicker(f.opts.Poll)
	defer tick.Stop()
	for {
		f.scan()
		select {
		case <-f.ctx.Done():
			return
		case <-f.wake:
		case <-tick.C:
		}
	}
}

func (f *Forge) scan() {
	var jobs []job
	var cfg config
	err := f.read(func(lobby kernel.Object) {
		fo := slotObject(lobby, "Forge")
		if fo == (kernel.Object{}) {
			return
		}
		cfg = readConfig(fo, f.dir)
		for _, o := range jobList(fo) {
			if j := readJob(o); !Ended(j.state) {
				jobs = append(jobs, j)
			}
		}
	})
	if err != nil {
		if f.ctx.Err() == nil {
			f.log.Warn("scan jobs", "err", err)
		}
		return
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].id < jobs[b].id })
	f.mu.Lock()
	defer f.mu.Unlock()
	busy := map[string]int{}
	for _, b := range f.driving {
		busy[b]++
	}
	for _, j := range jobs {
		if _, ok := f.driving[j.oid]; ok {
			continue
		}
		// A job past queued holds its place already (it was running
		// when the last kernel stopped); a queued one waits for room,
		// unless it is to be cancelled, which takes none.
		if j.state == Queued && !j.cancel && busy[j.backend] >= cfg.limit(j.backend) {
			continue
		}
		f.driving[j.oid] = j.backend
		busy[j.backend]++
		f.wg.Add(1)
		go f.drive(j.oid)
	}
}

// read runs fn in a read-only transaction.
func (f *Forge) read(fn func(lobby kernel.Object)) error {
	return f.readIn(func(_ *kernel.Session, lobby kernel.Object) { fn(lobby) })
}

func (f *Forge) readIn(fn func(s *kernel.Session, lobby kernel.Object)) error {
	s := f.k.NewSession(Principal)
	_, err := s.Run(f.ctx, "", func(lobby kernel.Object) error {
		fn(s, lobby)
		return nil
	})
	return err
}

// load reads a job and the configuration.
func (f *Forge) load(oid image.OID) (j job, cfg config, err error) {
	err = f.readIn(func(s *kernel.Session, lobby kernel.Object) {
		j = readJob(s.Object(oid))
		cfg = readConfig(slotObject(lobby, "Forge"), f.dir)
	})
	return j, cfg, err
}

// update commits fn's changes to job j as one transaction by the Forge,
// provided the job is still in j.state (nothing else moves a job).
func (f *Forge) update(j job, note string, fn func(o kernel.Object, lobby kernel.Object) error) error {
	s := f.k.NewSession(Principal)
	_, err := s.Run(f.ctx, fmt.Sprintf("%s: %s", j, note), func(lobby kernel.Object) error {
		o := s.Object(j.oid)
		if got := stringSlot(o, "state", ""); got != j.state {
			return fmt.Errorf("%s is %s, not %s", j, got, j.state)
		}
		if err := fn(o, lobby); err != nil {
			return err
		}
		o.Set("updated", time.Now().UTC().Format(time.RFC3339Nano))
		return nil
	})
	return err
}

// move commits j's transition to state, with set's other changes.
func (f *Forge) move(j job, to string, set map[string]any) error {
	err := f.update(j, j.state+" → "+to, func(o kernel.Object, _ kernel.Object) error {
		o.Set("state", to)
		for k, v := range set {
			o.Set(k, v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	f.k.Bus().PublishForge(kernel.ForgeProgress{Job: j.id, Persona: j.persona, State: to})
	f.log.Info("job moved", "job", j.id, "persona", j.persona, "from", j.state, "to", to)
	if f.opts.CrashAt == to {
		crash()
	}
	return nil
}

// crash is the failpoint: the process dies as a kill -9 would kill it.
func crash() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// drive runs one job's saga until it ends or the Forge closes; each pass
// reads the job's committed state and takes one step from it, so a driver
// started after a crash resumes where the last committed transition left
// the job.
func (f *Forge) drive(oid image.OID) {
	defer f.wg.Done()
	defer func() {
		f.mu.Lock()
		delete(f.driving, oid)
		f.mu.Unlock()
		f.Wake()
	}()
	for f.ctx.Err() == nil {
		j, cfg, err := f.load(oid)
		if err != nil {
			f.log.Warn("load job", "oid", uint64(oid), "err", err)
			return
		}
		if Ended(j.state) || j.state == "" {
			return
		}
		if err := f.step(j, cfg); err != nil && f.ctx.Err() == nil {
			f.log.Warn("job step", "job", j.id, "state", j.state, "err", err)
			// A step that could not even commit its outcome is retried
			// after a pause, not in a tight loop.
			select {
			case <-f.ctx.Done():
			case <-time.After(f.opts.Poll):
			}
		}
	}
}

// step takes job j one step from its committed state.
func (f *Forge) step(j job, cfg config) error {
	if j.cancel && j.state != Compensating {
		return f.fail(j, "cancelled by request", true)
	}
	switch j.state {
	case Queued:
		return f.move(j, Curating, nil)
	case Curating:
		if err := f.curate(j, cfg); err != nil {
			return f.fail(j, err.Error(), false)
		}
		return f.complete(j, nil)
	case Training:
		return f.train(j, cfg)
	case Converting:
		version, err := f.convert(j, cfg)
		if err != nil {
			return f.fail(j, err.Error(), false)
		}
		return f.complete(j, map[string]any{"version": version})
	case Evaluating:
		if err := f.evaluate(j, cfg); err != nil {
			return f.fail(j, err.Error(), false)
		}
		return f.complete(j, nil)
	case Registering:
		return f.register(j, cfg)
	case Compensating:
		return f.compensate(j, cfg)
	}
	return f.fail(j, fmt.Sprintf("unknown state %q", j.state), false)
}

// complete records j's current step as done and moves it on.
func (f *Forge) complete(j job, set map[string]any) error {
	if set == nil {
		set = map[string]any{}
	}
	set["done"] = anyList(append(slices.Clone(j.done), j.state))
	return f.move(j, next(j.state), set)
}

// fail sends j to compensation with the reason.
func (f *Forge) fail(j job, reason string, cancelled bool) error {
	if cancelled {
		reason = "cancelled by request"
	}
	return f.move(j, Compensating, map[string]any{"reason": reason, "cancelled": cancelled, "failedIn": j.state})
}

// paths of a job's files: its folder (dataset, trainer output, the
// backend's status file) and its log.
func (f *Forge) jobDir(j job) string { return filepath.Join(f.dir, "forge", "jobs", fmt.Sprint(j.id)) }

// TrainersDir is where the Forge unpacks its trainer in an image folder.
func TrainersDir(imageDir string) string { return filepath.Join(imageDir, "forge", "trainers") }

// LogPath is where job id's trainer output goes.
func LogPath(imageDir string, id int) string {
	return filepath.Join(imageDir, "logs", "forge", fmt.Sprintf("%d.log", id))
}

func (f *Forge) spec(j job, cfg config) Spec {
	dir := f.jobDir(j)
	return Spec{
		Name: j.name(),
		Command: fill(cfg.trainer, map[string]string{
			"dataset":  filepath.Join(dir, "dataset"),
			"out":      filepath.Join(dir, "out"),
			"base":     cfg.baseModel,
			"config":   filepath.Join(dir, "config.json"),
			"python":   cfg.python,
			"trainers": TrainersDir(f.dir),
		}),
		Dir:     dir,
		Log:     LogPath(f.dir, j.id),
		Status:  filepath.Join(dir, "train.status"),
		Timeout: cfg.timeout,
	}
}

// backend returns the backend named name.
func (f *Forge) backend(name string, cfg config) (Backend, error) {
	if b, ok := f.opts.Backends[name]; ok {
		return b, nil
	}
	switch name {
	case "local":
		return Local{}, nil
	case "slurm":
		if f.opts.NewSlurm == nil {
			return nil, errors.New("the slurm backend is not available in this build")
		}
		return f.opts.NewSlurm(SlurmSettings{Partition: cfg.slurm.partition, GPUs: cfg.slurm.gpus, TimeLimit: cfg.slurm.timeLimit, Extra: cfg.slurm.extra})
	}
	return nil, fmt.Errorf("unknown backend %q (Forge.backend: local or slurm)", name)
}

// writeJSON writes v to path whole (through a temporary file).
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, append(b, '\n'))
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Counts returns how many of the image's jobs are past queued and not
// ended, and how many are queued: the status bar's forge segment.
func Counts(lobby kernel.Object) (running, queued int) {
	for _, o := range jobList(slotObject(lobby, "Forge")) {
		switch state := stringSlot(o, "state", ""); {
		case state == Queued:
			queued++
		case !Ended(state):
			running++
		}
	}
	return running, queued
}
