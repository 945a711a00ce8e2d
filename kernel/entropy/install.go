package entropy

import (
	"context"
	"fmt"
	"time"

	"batos/kernel"
)

// Install binds the metric's primitives in k — Lobby.entropy's measure
// (the reading, as a map) and record (measure and append it to the
// series) — and gives an image awakened before they existed their slots.
func Install(k *kernel.Kernel) error {
	k.RegisterPrimitive("measureEntropy", func(c *kernel.PrimitiveCall) (any, error) {
		if len(c.Args) != 0 {
			return nil, fmt.Errorf("measure: want no arguments, got %d", len(c.Args))
		}
		r, err := Measure(c.Session)
		if err != nil {
			return nil, err
		}
		return r.AsMap(), nil
	})
	k.RegisterPrimitive("recordEntropy", func(c *kernel.PrimitiveCall) (any, error) {
		if len(c.Args) != 0 {
			return nil, fmt.Errorf("record: want no arguments, got %d", len(c.Args))
		}
		now := time.Now()
		r, err := Record(c.Session, now)
		if err != nil {
			return nil, err
		}
		return r.asMap(now), nil
	})
	s := k.NewSession(Principal)
	_, err := s.Run(context.Background(), "entropy: install its primitives", func(lobby kernel.Object) error {
		e := object(lobby, "entropy")
		if e == nil {
			return nil
		}
		for name, prim := range map[string]string{"measure": "measureEntropy", "record": "recordEntropy"} {
			if get(*e, name) == nil {
				if err := s.SetPrimitive(e.OID(), name, prim); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("entropy: install: %w", err)
	}
	return nil
}
