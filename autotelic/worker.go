package autotelic

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"batos/image"
	"batos/kernel"
	"batos/kernel/entropy"
)

// run is the worker: it looks at CEM every Poll, and at once when
// Lobby.autotelic changes, and steps when the switch is on and CEM has
// stayed below the threshold for the period since it fell there or since
// the last step.
func (l *Loop) run() {
	defer l.wg.Done()
	sub := l.k.Bus().Subscribe(256)
	defer sub.Close()
	ticker := time.NewTicker(l.opts.Poll)
	defer ticker.Stop()
	var below time.Time // since when CEM has been below the threshold; zero: it is not
	self := l.oid()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-ticker.C:
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			if ev.Kind != kernel.EventCommit || !touches(ev, self) {
				continue
			}
		}
		below = l.look(below)
		l.ticks.Add(1)
	}
}

// look is one look of the worker; it returns the new start of the time
// below the threshold.
func (l *Loop) look(below time.Time) time.Time {
	var (
		cfg Config
		cem float64
	)
	err := l.view(l.ctx, func(s *kernel.Session, lobby kernel.Object) error {
		a, ok := object(lobby, "autotelic")
		cfg = readConfig(a, ok)
		if !cfg.Enabled {
			return nil
		}
		r, err := entropy.Measure(s)
		cem = r.CEM
		return err
	})
	switch {
	case err != nil:
		if l.ctx.Err() == nil {
			l.log.Warn("measure", "err", err)
		}
		return below
	case !cfg.Enabled || cem >= cfg.Threshold:
		return time.Time{}
	}
	now := time.Now()
	if below.IsZero() {
		below = now
	}
	if now.Sub(below) < cfg.Period {
		return below
	}
	e, err := l.Step(l.ctx, "loop")
	switch {
	case err == nil:
		l.log.Info("the loop stepped", "summary", e.String())
	case errors.Is(err, ErrOffline), errors.Is(err, ErrNoMandate), errors.Is(err, ErrBusy):
		l.log.Info("the loop did not step", "reason", err)
	default:
		var budget *BudgetError
		if errors.As(err, &budget) {
			l.log.Info("the loop did not step", "reason", err)
		} else if l.ctx.Err() == nil {
			l.log.Warn("the loop's step failed", "err", err)
		}
	}
	// The period starts again: CEM must stay low for another before the
	// next step, whatever this one did.
	return time.Now()
}

// oid is Lobby.autotelic's object, 0 when the image has none.
func (l *Loop) oid() image.OID {
	var oid image.OID
	l.view(l.ctx, func(_ *kernel.Session, lobby kernel.Object) error {
		if a, ok := object(lobby, "autotelic"); ok {
			oid = a.OID()
		}
		return nil
	})
	return oid
}

func touches(ev kernel.Event, oid image.OID) bool {
	for _, c := range ev.Changes {
		if c.OID == oid {
			return true
		}
	}
	return false
}

// chooseSource is the default choice rule, the Darwin Gödel Machine's
// parent selection.
const chooseSource = `func choose(self Object, candidates []any) int {
	// Expected gain, discounted by how often the same mandate was tried
	// (score × 1/(1 + tried)): exploitation that keeps exploring.
	best, bestScore := -1, 0.0
	for i, c := range candidates {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		gain, _ := m["gain"].(float64)
		tried, _ := m["tried"].(int)
		score := gain / float64(1+tried)
		if best < 0 || score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
}`

// migrate gives the image its Lobby.autotelic, switched off, when it has
// none (as the codex would: principal awakening), and keeps it and the
// metric it steers by out of model-written code's reach.
func (l *Loop) migrate() error {
	s := l.k.NewSession("awakening")
	_, err := s.Run(l.ctx, "autotelic: give the image its loop, switched off", func(lobby kernel.Object) error {
		if policy, ok := resolve(lobby, "Lobby.pLLM.policy"); ok {
			never, _ := get(policy, "never").([]any)
			changed := false
			for _, p := range []string{"Lobby.entropy", "Lobby.autotelic"} {
				if !slices.Contains(never, any(p)) {
					never, changed = append(never, p), true
				}
			}
			if changed {
				policy.Set("never", never)
			}
		}
		if a, ok := object(lobby, "autotelic"); ok {
			// An image made before a primitive of the loop existed.
			if get(a, "mandates") == nil {
				return s.SetPrimitive(a.OID(), "mandates", "autotelicMandates")
			}
			return nil
		}
		a := lobby.NewObject()
		if traits, ok := object(lobby, "traits"); ok {
			a.Set("parent*", traits)
		}
		budget := map[string]any{"generations": defaults.Budget.Calls, "tokens": defaults.Budget.Tokens, "commits": defaults.Budget.Commits}
		vocab := make([]any, len(defaults.Vocab))
		for i, w := range defaults.Vocab {
			vocab[i] = map[string]any{"selector": w.Selector, "purpose": w.Purpose}
		}
		ignore := make([]any, len(defaults.Ignore))
		for i, p := range defaults.Ignore {
			ignore[i] = p
		}
		for _, sl := range []struct {
			name string
			v    any
		}{
			{"name", "autotelic"},
			{"enabled", false},
			{"threshold", defaults.Threshold},
			{"period", int(defaults.Period / time.Second)},
			{"budget", budget},
			{"maxTokens", defaults.MaxTokens},
			{"vocabulary", vocab},
			{"ignore", ignore},
			{"ledgerMax", defaults.LedgerMax},
			{"ledger", []any{}},
		} {
			a.Set(sl.name, sl.v)
		}
		a.Define("choose", chooseSource)
		if err := s.SetPrimitive(a.OID(), "step", "autotelicStep"); err != nil {
			return err
		}
		if err := s.SetPrimitive(a.OID(), "mandates", "autotelicMandates"); err != nil {
			return err
		}
		lobby.Set("autotelic", a)
		return nil
	})
	if err != nil {
		return fmt.Errorf("autotelic: install: %w", err)
	}
	return nil
}
