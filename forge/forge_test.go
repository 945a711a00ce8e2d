package forge_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"batos/forge"
	"batos/kernel"
)

// trainer is a scripted trainer, testdata/trainer.sh: sh trainer.sh MODE
// DATASET OUT. Its modes cover the trainer contract's every path.
var trainer = func() string {
	b, err := os.ReadFile("testdata/trainer.sh")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// testdata is the absolute path of a testdata entry: the trainer runs in
// the job's folder. testdata/peft is a tiny PEFT adapter for the base in
// testdata/tiny-base (its config only).
func testdata(name string) string {
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return p
}

type env struct {
	t     *testing.T
	dir   string
	k     *kernel.Kernel
	f     *forge.Forge
	s     *kernel.Session
	train string
}

// newEnv opens a fresh image with a Forge whose trainer runs in mode.
func newEnv(t *testing.T, opts forge.Options) *env {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "img")
	k, err := kernel.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Poll == 0 {
		opts.Poll = 20 * time.Millisecond
	}
	f, err := forge.Install(k, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.Start()
	e := &env{t: t, dir: dir, k: k, f: f, s: k.NewSession("user"), train: filepath.Join(t.TempDir(), "trainer.sh")}
	t.Cleanup(func() {
		f.Close()
		if err := k.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := os.WriteFile(e.train, []byte(trainer), 0o755); err != nil {
		t.Fatal(err)
	}
	e.eval(`f := Lobby.Get("Forge").(Object); f.Set("minExamples", 0); f.Set("timeout", 30)`)
	return e
}

func (e *env) eval(src string) any {
	e.t.Helper()
	res, err := e.s.Eval(context.Background(), src)
	if err != nil {
		e.t.Fatalf("%s: %v", src, err)
	}
	return res.Value
}

// mode sets the trainer's mode for the next jobs.
func (e *env) mode(mode string) {
	e.t.Helper()
	e.eval(fmt.Sprintf(`f := Lobby.Get("Forge").(Object); f.Set("trainer", []any{"/bin/sh", %q, %q, "{dataset}", "{out}", %q}); f.Set("baseModel", %q)`, e.train, mode, testdata("peft"), testdata("tiny-base")))
}

// queue queues a fine-tune of BRICK and returns its id.
func (e *env) queue() int {
	e.t.Helper()
	return e.eval(`Lobby.Get("Forge").(Object).Send("fineTune", "BRICK").(Object).Get("id")`).(int)
}

// jobSlot reads a slot of job id.
func (e *env) jobSlot(id int, name string) any {
	e.t.Helper()
	return e.eval(fmt.Sprintf(`var v any; for _, j := range Lobby.Get("Forge").(Object).Get("jobs").([]any) { if j.(Object).Get("id") == %d { v = j.(Object).Get(%q) } }; v`, id, name))
}

// await waits, on the bus, until job id is in one of states.
func (e *env) await(id int, states ...string) string {
	e.t.Helper()
	sub := e.k.Bus().Subscribe(1024)
	defer sub.Close()
	timeout := time.After(60 * time.Second)
	for {
		state, _ := e.jobSlot(id, "state").(string)
		for _, s := range states {
			if state == s {
				return state
			}
		}
		select {
		case <-sub.C:
		case <-timeout:
			e.t.Fatalf("job %d is %s, never %v; reason %v", id, state, states, e.jobSlot(id, "reason"))
		}
	}
}

// transitions lists job id's transitions as history records them.
func (e *env) transitions(id int) []string {
	e.t.Helper()
	txs, err := e.k.Store().History(0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	prefix := fmt.Sprintf("forge job %d (BRICK): ", id)
	for i := len(txs) - 1; i >= 0; i-- {
		if tx := txs[i]; strings.HasPrefix(tx.Note, prefix) && strings.Contains(tx.Note, " → ") {
			if tx.Principal != forge.Principal {
				e.t.Errorf("transition %q committed by %s", tx.Note, tx.Principal)
			}
			out = append(out, strings.TrimPrefix(tx.Note, prefix))
		}
	}
	return out
}

func TestSagaSucceeds(t *testing.T) {
	for _, mode := range []string{"success", "garbage"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, forge.Options{})
			e.mode(mode)
			id := e.queue()
			e.await(id, forge.Succeeded)
			want := []string{"queued → curating", "curating → training", "training → converting", "converting → evaluating", "evaluating → registering", "registering → succeeded"}
			if got := e.transitions(id); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("transitions %q, want %q", got, want)
			}
			adapter := e.eval(`Lobby.Get("pLLM").(Object).Get("personas").(Object).Get("BRICK").(Object).Get("adapter")`).(map[string]any)
			path, _ := adapter["path"].(string)
			if adapter["version"] != 1 || adapter["job"] != id || path != filepath.Join(e.dir, "adapters", "BRICK", "v1") {
				t.Fatalf("adapter slot %v", adapter)
			}
			peft, _ := os.ReadFile(testdata("peft/adapter_model.safetensors"))
			if b, err := os.ReadFile(filepath.Join(path, "adapter_model.safetensors")); err != nil || string(b) != string(peft) {
				t.Fatalf("registered adapter: %d bytes, %v", len(b), err)
			}
			// The GGUF beside it is what the persona's lora slot names.
			gguf := filepath.Join(path, forge.AdapterFile)
			if fi, err := os.Stat(gguf); err != nil || fi.Size() == 0 || adapter["gguf"] != gguf {
				t.Fatalf("GGUF adapter: %v, %v; slot %v", fi, err, adapter)
			}
			lora := e.eval(`Lobby.At("pLLM").At("personas").At("BRICK").Get("lora")`).(map[string]any)
			if lora["path"] != gguf || lora["scale"] != 1.0 {
				t.Fatalf("BRICK's lora slot = %v", lora)
			}
			// No server of BRICK's is one batos manages: the job says how to
			// restart it with the adapter.
			if r, _ := e.jobSlot(id, "restart").(string); !strings.Contains(r, "--lora "+gguf) {
				t.Fatalf("restart = %q", r)
			}
			progress, _ := e.jobSlot(id, "progress").(map[string]any)
			if progress["step"] != 3 || progress["steps"] != 3 {
				t.Errorf("last progress %v, want step 3 of 3", progress)
			}
			// A second job makes version 2 and remembers version 1.
			id2 := e.queue()
			e.await(id2, forge.Succeeded)
			prev, _ := e.jobSlot(id2, "previous").(map[string]any)
			if prev["version"] != 1 {
				t.Errorf("job %d's previous adapter %v, want version 1", id2, prev)
			}
		})
	}
}

// TestSagaCompensates: each way a job fails ends it failed with its
// reason, every completed step undone, and the persona's adapter as it
// was.
func TestSagaCompensates(t *testing.T) {
	tests := []struct {
		mode, reason, failedIn string
		timeout                int
	}{
		{"fail", "train: failed: exit status 3", forge.Training, 30},
		{"crash", "train: failed: killed by signal 9", forge.Training, 30},
		{"noartifacts", "convert: the trainer left no adapter_config.json", forge.Converting, 30},
		{"hang", "train: timed out after 1s", forge.Training, 1},
		{"worse", "evaluate: validation loss 2.5000 with the adapter is worse than the base model's 1.2500 (Forge.evalTolerance 0): not registered", forge.Evaluating, 30},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			e := newEnv(t, forge.Options{})
			e.mode(tt.mode)
			e.eval(fmt.Sprintf(`Lobby.Get("Forge").(Object).Set("timeout", %d)`, tt.timeout))
			id := e.queue()
			e.await(id, forge.Failed, forge.Succeeded, forge.Cancelled)
			if state := e.jobSlot(id, "state"); state != forge.Failed {
				t.Fatalf("state %v", state)
			}
			if reason, _ := e.jobSlot(id, "reason").(string); !strings.HasPrefix(reason, tt.reason) {
				t.Errorf("reason %q, want %q", reason, tt.reason)
			}
			if in := e.jobSlot(id, "failedIn"); in != tt.failedIn {
				t.Errorf("failed in %v, want %s", in, tt.failedIn)
			}
			e.assertCompensated(id)
		})
	}
}

// assertCompensated checks that job id left nothing behind.
func (e *env) assertCompensated(id int) {
	e.t.Helper()
	jobDir := filepath.Join(e.dir, "forge", "jobs", fmt.Sprint(id))
	for _, name := range []string{"dataset", "config.json", "out"} {
		if _, err := os.Stat(filepath.Join(jobDir, name)); !os.IsNotExist(err) {
			e.t.Errorf("%s left behind (%v)", name, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(e.dir, "adapters", "BRICK")); len(entries) != 0 {
		e.t.Errorf("adapter versions left behind: %v", entries)
	}
	if a := e.eval(`Lobby.Get("pLLM").(Object).Get("personas").(Object).Get("BRICK").(Object).Get("lora")`); a != nil {
		e.t.Errorf("lora changed: %v", a)
	}
	if slots := e.eval(`fmt.Sprint(Lobby.Get("pLLM").(Object).Get("personas").(Object).Get("BRICK").(Object).Slots())`).(string); strings.Contains(slots, "adapter") {
		e.t.Errorf("the persona gained an adapter: %s", slots)
	}
	if done, _ := e.jobSlot(id, "done").([]any); len(done) != 0 {
		e.t.Errorf("done steps left: %v", done)
	}
}

// TestSagaCancel: a job cancelled while it trains has its trainer stopped
// and is compensated; one cancelled while queued never runs.
func TestSagaCancel(t *testing.T) {
	e := newEnv(t, forge.Options{})
	e.mode("wait")
	id := e.queue()
	queued := e.queue() // concurrency 1: waits behind the first
	e.await(id, forge.Training)
	if state := e.jobSlot(queued, "state"); state != forge.Queued {
		t.Fatalf("second job %v while the first trains, want queued", state)
	}
	e.eval(fmt.Sprintf(`Lobby.Get("Forge").(Object).Send("cancel", %d)`, queued))
	e.await(queued, forge.Cancelled)
	if tr := e.transitions(queued); strings.Join(tr, "|") != "queued → compensating|compensating → cancelled" {
		t.Errorf("queued job's transitions %q", tr)
	}
	// Cancel the training one once the trainer reported step 1.
	awaitFile(t, forge.LogPath(e.dir, id), `"step":1`)
	handle, _ := e.jobSlot(id, "handle").(string)
	e.eval(fmt.Sprintf(`Lobby.Get("Forge").(Object).Send("cancel", %d)`, id))
	e.await(id, forge.Cancelled)
	if reason := e.jobSlot(id, "reason"); reason != "cancelled by request" {
		t.Errorf("reason %v", reason)
	}
	pid, _, _ := strings.Cut(handle, ":")
	if _, err := os.Stat("/proc/" + pid); err == nil {
		if b, _ := os.ReadFile("/proc/" + pid + "/stat"); !strings.Contains(string(b), ") Z") {
			t.Errorf("trainer %s still runs after the cancel", pid)
		}
	}
	e.assertCompensated(id)
	if _, err := e.s.Eval(context.Background(), fmt.Sprintf(`Lobby.Get("Forge").(Object).Send("cancel", %d)`, id)); err == nil || !strings.Contains(err.Error(), "has ended (cancelled)") {
		t.Errorf("cancel of an ended job: %v", err)
	}
}

// TestFineTuneAborted: a job queued in a transaction that aborts does not
// exist, and nothing runs.
func TestFineTuneAborted(t *testing.T) {
	e := newEnv(t, forge.Options{})
	e.mode("success")
	_, err := e.s.Eval(context.Background(), `Lobby.Get("Forge").(Object).Send("fineTune", "BRICK"); panic("changed my mind")`)
	if err == nil {
		t.Fatal("the input did not fail")
	}
	if n := e.eval(`len(Lobby.Get("Forge").(Object).Get("jobs").([]any))`); n != 0 {
		t.Fatalf("%v jobs after an aborted fineTune", n)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "forge")); !os.IsNotExist(err) {
		t.Fatalf("the Forge worked for an aborted job: %v", err)
	}
	e.eval(`Lobby.At("pLLM").At("personas").Set("..", NewObject())`)
	for _, src := range []string{`Lobby.Get("Forge").(Object).Send("fineTune", "NOBODY")`, `Lobby.Get("Forge").(Object).Send("fineTune", "..")`, `Lobby.Get("Forge").(Object).Send("fineTune")`, `Lobby.Get("Forge").(Object).Send("cancel", 99)`} {
		if _, err := e.s.Eval(context.Background(), src); err == nil {
			t.Errorf("%s: no error", src)
		}
	}
}

// TestCurateTooFew: too little golden data fails the curate step with how
// much is missing.
func TestCurateTooFew(t *testing.T) {
	e := newEnv(t, forge.Options{})
	e.mode("success")
	e.eval(`Lobby.Get("Forge").(Object).Set("minExamples", 5)`)
	id := e.queue()
	e.await(id, forge.Failed)
	if reason := e.jobSlot(id, "reason"); reason != "curate: 0 examples for BRICK (accepted generations still installed and hand-written methods), 5 short of Forge.minExamples (5)" {
		t.Errorf("reason %v", reason)
	}
	e.assertCompensated(id)
}

// awaitFile waits until path contains text.
func awaitFile(t *testing.T, path, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, _ := os.ReadFile(path); strings.Contains(string(b), text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never held %q", path, text)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestForgeProtected: the Forge's configuration (its trainer is a command
// the worker runs) is out of reach of model-written code, in a new image
// and in one awakened before the Forge protected it.
func TestForgeProtected(t *testing.T) {
	e := newEnv(t, forge.Options{})
	protected := func() bool {
		var ok bool
		if _, err := e.s.Run(context.Background(), "", func(lobby kernel.Object) error {
			_, ok = e.s.Protected(lobby.At("Forge").OID())
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !protected() {
		t.Fatal("Lobby.Forge is not in the write policy's never list")
	}
	e.eval(`p := Lobby.At("pLLM").At("policy"); p.Set("never", []any{"Lobby.system"})`)
	if protected() {
		t.Fatal("the test's policy still protects the Forge")
	}
	if _, err := forge.Install(e.k, e.dir, forge.Options{}); err != nil {
		t.Fatal(err)
	}
	if !protected() {
		t.Fatal("Install did not protect the Forge of an older image")
	}
}

// TestOldTrainerTemplateMigrates: an image whose trainer template names
// the module nothing shipped gets the Forge's own trainer.
func TestOldTrainerTemplateMigrates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	k, err := kernel.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	s := k.NewSession("user")
	// A new image's codex has the same template.
	if res, err := s.Eval(context.Background(), `fmt.Sprint(Lobby.At("Forge").Get("trainer"))`); err != nil || res.Text != fmt.Sprintf("%q", fmt.Sprint(forge.DefaultTrainer)) {
		t.Fatalf("a new image's trainer: %s, %v", res.Text, err)
	}
	if _, err := s.Eval(context.Background(), `Lobby.At("Forge").Set("trainer", []any{"python3", "-m", "batos_forge.train", "--dataset", "{dataset}", "--out", "{out}", "--base", "{base}", "--config", "{config}"})`); err != nil {
		t.Fatal(err)
	}
	if _, err := forge.Install(k, dir, forge.Options{}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Eval(context.Background(), `fmt.Sprint(Lobby.At("Forge").Get("trainer"))`)
	if err != nil || res.Text != fmt.Sprintf("%q", fmt.Sprint(forge.DefaultTrainer)) {
		t.Fatalf("trainer after the migration: %s, %v; want %v", res.Text, err, forge.DefaultTrainer)
	}
}
