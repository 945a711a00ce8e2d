package pllm

import (
	"context"
	"fmt"
	"sync"
	"time"

	"batos/image"
	"batos/kernel"
)

// ConfirmError is a doesNotUnderstand the pLLM did not answer because
// Lobby.pLLM.confirm asks a person to confirm first: a typo should not
// silently become a method. The client asks, and on yes sends
// Lobby.pLLM.allowWrite(receiver, selector) and runs the input again.
type ConfirmError struct {
	NotUnderstood *kernel.NotUnderstoodError
	Receiver      image.OID
}

func (e *ConfirmError) Error() string {
	return fmt.Sprintf("%v; Lobby.pLLM.confirm is on: confirm, or send Lobby.At(\"pLLM\").Send(\"allowWrite\", ObjectAt(%d), %q) first, to let the pLLM write it", e.NotUnderstood, e.Receiver, e.NotUnderstood.Selector)
}

func (e *ConfirmError) Unwrap() error { return e.NotUnderstood }

// allowTTL is how long an allowance waits for the send it allows.
const allowTTL = 10 * time.Minute

// allowance is a principal's confirmation that the pLLM may write
// selector on receiver: kept in this process only (a confirmation is not
// the image's history), used by the next doesNotUnderstand that matches.
type allowance struct {
	principal string
	receiver  image.OID
	selector  string
}

type allowances struct {
	mu sync.Mutex
	m  map[allowance]time.Time // when it was given
}

func (a *allowances) give(al allowance) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[allowance]time.Time{}
	}
	now := time.Now()
	for k, t := range a.m {
		if now.Sub(t) > allowTTL {
			delete(a.m, k)
		}
	}
	a.m[al] = now
}

// take uses al up, reporting whether it was given and is still fresh.
func (a *allowances) take(al allowance) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.m[al]
	delete(a.m, al)
	return ok && time.Since(t) <= allowTTL
}

// allowWrite is Lobby.pLLM.allowWrite(receiver Object, selector string):
// the caller confirms that the pLLM may write selector on receiver the
// next time a send of the caller's finds it missing.
func (p *PLLM) allowWrite(c *kernel.PrimitiveCall) (any, error) {
	recv, ok1 := kernel.Arg[kernel.Object](c.Args, 0)
	sel, ok2 := kernel.Arg[string](c.Args, 1)
	if !ok1 || !ok2 || sel == "" || len(c.Args) != 2 {
		return nil, fmt.Errorf("allowWrite: want (receiver Object, selector string)")
	}
	if author, ok := c.Session.ModelFrame(); ok {
		return nil, fmt.Errorf("allowWrite: model-written code (%s) may not confirm for a person", author)
	}
	p.allowed.give(allowance{principal: c.Session.Principal(), receiver: recv.OID(), selector: sel})
	return nil, nil
}

// Migrate gives an image made before Lobby.pLLM.confirm its confirm
// switch (off) and allowWrite primitive.
func (p *PLLM) Migrate(ctx context.Context) error {
	s := p.k.NewSession("awakening")
	_, err := s.Run(ctx, "pLLM: give Lobby.pLLM its confirm switch", func(lobby kernel.Object) error {
		o, ok := slot(lobby, "pLLM").(kernel.Object)
		if !ok {
			return nil
		}
		if _, ok := o.Lookup("confirm"); !ok {
			o.Set("confirm", false)
		}
		if _, ok := o.Lookup("allowWrite"); !ok {
			return s.SetPrimitive(o.OID(), "allowWrite", "allowWrite")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate Lobby.pLLM: %w", err)
	}
	return nil
}
