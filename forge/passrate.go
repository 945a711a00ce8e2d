package forge

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"batos"
	"batos/kernel"
	"batos/kernel/pllm/bench"
	"batos/llama"
)

// comparePassRates is the evaluate step's judgement through the real
// pipeline: the mandate suite's held-out part, asked of the persona with
// its current adapter and with the new one, on its own model server. The
// new adapter is refused when its pass rate is lower by more than
// Forge.passTolerance. The rates are kept in the job's heldOut slot and
// the adapter's lineage.
//
// It is skipped, with the reason in the job's log, when this process has
// no sandbox, when the persona's server does not answer, or when it has
// not loaded the new adapter and is not one batos manages (llama-server
// loads adapter files only at start: the log says how to restart it). A
// managed server is given the new adapter first — the supervisor restarts
// it — and compensation takes it away again.
func (f *Forge) comparePassRates(j job, cfg config) error {
	logPath := LogPath(f.dir, j.id)
	skip := func(format string, a ...any) error {
		appendLog(logPath, "forge: evaluate: held-out pass rate not compared: "+fmt.Sprintf(format, a...)+"\n")
		return nil
	}
	if f.opts.Sandbox == nil {
		return skip("this process has no sandbox to trial-run candidates in")
	}
	gguf := filepath.Join(adapterPath(cfg, j.persona, j.version), AdapterFile)
	var (
		endpoint string
		managed  bool
		current  any
	)
	if err := f.readIn(func(s *kernel.Session, lobby kernel.Object) {
		endpoint = personaEndpoint(s, lobby, j.persona)
		if srv, ok := serverFor(lobby, endpoint); ok {
			managed = readServer(srv).managed
		}
		current = slot(slotObject(slotObject(slotObject(lobby, "pLLM"), "personas"), j.persona), "lora")
	}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(f.ctx, cfg.timeout)
	defer cancel()
	cl := llama.New(endpoint)
	hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
	health := cl.Health(hctx)
	hcancel()
	if health != nil && !managed {
		return skip("%s's model server at %s does not answer: %v", j.persona, endpoint, health)
	}
	if !loaded(ctx, cl, gguf) {
		if !managed {
			return skip("the model server at %s has not loaded %s; restart it so that it does: %s", endpoint, gguf, restartCommand(ctx, endpoint, gguf))
		}
		if err := f.setServerLoRA(j, endpoint, gguf, true); err != nil {
			return err
		}
		appendLog(logPath, fmt.Sprintf("forge: evaluate: restarting the managed server at %s with %s to compare pass rates\n", endpoint, gguf))
		if err := awaitLoaded(ctx, cl, gguf); err != nil {
			return fmt.Errorf("evaluate: the managed server at %s did not load %s: %w", endpoint, gguf, err)
		}
	}
	suite, err := bench.Load(batos.Mandates, batos.MandatesDir)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	run := func(lora any) (bench.Row, error) {
		rep, err := bench.Run(ctx, f.k, bench.Options{
			Suite: suite, Split: bench.HeldOut, Personas: []string{j.persona},
			LoRA: map[string]any{j.persona: lora}, Sandbox: f.opts.Sandbox,
		})
		if err != nil {
			return bench.Row{}, err
		}
		row, _ := rep.Row(j.persona)
		return row, nil
	}
	before, err := run(current)
	if err == nil {
		var after bench.Row
		if after, err = run(map[string]any{"path": gguf, "scale": 1.0}); err == nil {
			return f.judgePassRates(j, cfg, suite.Version, before, after)
		}
	}
	if errors.Is(err, bench.ErrUnreachable) {
		return skip("%v", err)
	}
	if f.ctx.Err() != nil {
		return f.ctx.Err()
	}
	return fmt.Errorf("evaluate: held-out pass rate: %w", err)
}

// judgePassRates records both rates and refuses a fall beyond the
// tolerance.
func (f *Forge) judgePassRates(j job, cfg config, version string, before, after bench.Row) error {
	appendLog(LogPath(f.dir, j.id), fmt.Sprintf("forge: evaluate: held-out pass rate %d/%d with the new adapter, %d/%d with the current one (suite %s)\n",
		after.Pass, after.Mandates, before.Pass, before.Mandates, version))
	rates := map[string]any{"suite": version, "before": before.PassRate, "after": after.PassRate,
		"beforeAt1": before.Pass1Rate, "afterAt1": after.Pass1Rate, "mandates": after.Mandates}
	if err := f.update(j, "held-out pass rates", func(o, _ kernel.Object) error {
		o.Set("heldOut", rates)
		return nil
	}); err != nil {
		return err
	}
	if after.PassRate < before.PassRate-cfg.passTolerance {
		return fmt.Errorf("evaluate: held-out pass rate %.0f%% with the adapter is below %.0f%% with the current one (Forge.passTolerance %g): not registered",
			100*after.PassRate, 100*before.PassRate, cfg.passTolerance)
	}
	return nil
}

// loaded reports whether the server at cl has loaded adapter.
func loaded(ctx context.Context, cl *llama.Client, adapter string) bool {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	as, err := cl.LoRAAdapters(lctx)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(as, func(a llama.Adapter) bool { return filepath.Clean(a.Path) == filepath.Clean(adapter) })
}

// awaitLoaded waits, within ctx, until the server lists adapter: a
// restarted server is polled, as nothing else tells when it is up.
func awaitLoaded(ctx context.Context, cl *llama.Client, adapter string) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for !loaded(ctx, cl, adapter) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// setServerLoRA adds adapter to (or, with add false, removes it from) the
// adapter list of the managed server at endpoint; the supervisor
// restarts the server on the commit.
func (f *Forge) setServerLoRA(j job, endpoint, adapter string, add bool) error {
	verb := "load"
	if !add {
		verb = "unload"
	}
	s := f.k.NewSession(Principal)
	_, err := s.Run(context.WithoutCancel(f.ctx), fmt.Sprintf("%s: %s %s on the server at %s", j, verb, adapter, endpoint), func(lobby kernel.Object) error {
		srv, ok := serverFor(lobby, endpoint)
		if !ok {
			return nil
		}
		loras := stringList(slot(srv, "loras"))
		has := slices.Contains(loras, adapter)
		switch {
		case add && !has:
			srv.Set("loras", anyList(append(loras, adapter)))
		case !add && has:
			srv.Set("loras", anyList(slices.DeleteFunc(loras, func(l string) bool { return l == adapter })))
		}
		return nil
	})
	return err
}
