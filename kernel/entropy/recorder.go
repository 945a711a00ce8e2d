package entropy

import (
	"context"
	"strings"
	"sync"
	"time"

	"batos/kernel"
)

// StartRecorder records a reading into Lobby.entropy.series after the
// pLLM commits (a generation, an installed method), at most once per
// interval (Lobby.entropy.interval seconds, default 60), as principal
// entropy: the series follows the image's own activity without a commit
// per generation. stop ends it and waits for it.
func StartRecorder(k *kernel.Kernel) (stop func()) {
	sub := k.Bus().Subscribe(1024)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var last time.Time
		for ev := range sub.C {
			if ev.Kind != kernel.EventCommit || !strings.HasPrefix(ev.Tx.Principal, "pLLM") {
				continue
			}
			s := k.NewSession(Principal)
			recorded := false
			_, err := s.Run(ctx, "entropy: record a reading", func(lobby kernel.Object) error {
				recorded = false
				e := object(lobby, "entropy")
				if e == nil {
					return nil
				}
				interval := time.Duration(num(get(*e, "interval"), 60)) * time.Second
				if !due(last, time.Now(), interval) {
					return nil
				}
				_, err := Record(s, time.Now())
				recorded = err == nil
				return err
			})
			switch {
			case err == nil && recorded:
				last = time.Now()
			case err != nil && ctx.Err() == nil:
				k.Logger().Warn("entropy: record", "err", err)
			}
		}
	}()
	return func() {
		cancel()
		sub.Close()
		wg.Wait()
	}
}

// due reports whether a reading is due at now, the last taken at last
// (zero: never).
func due(last, now time.Time, interval time.Duration) bool {
	return last.IsZero() || now.Sub(last) >= interval
}
