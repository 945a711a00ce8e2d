// Package commontest provides an in-memory api.Image for pane tests: fixed
// status, scripted evaluations and events the test sends, so that golden
// views do not depend on a real image's paths, times or object counts.
package commontest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"batos/kernel/api"
)

// Image is a scripted api.Image. The zero value is not usable; call New.
type Image struct {
	mu sync.Mutex
	// Results maps an Eval source (trimmed) to its result; Errors to its
	// error. Any other source evaluates to its own text as a value.
	Results map[string]api.Result
	Errors  map[string]error
	// Block, when set, makes Eval wait for it or for the context.
	Block chan struct{}
	// Objects are what Object, Selectors and Search answer from.
	Objects map[uint64]api.ObjectView
	// Fixed is what Status answers.
	Fixed api.Status
	// Evals records every Eval source, in order.
	Evals []string
	// searches counts Search calls.
	searches int
	subs     []chan api.Event
}

var _ api.Image = (*Image)(nil)

// Lobby is the OID of the fake Lobby.
const Lobby = 1

// New returns a fake image with a Lobby holding a few slots.
func New() *Image {
	return &Image{
		Results: map[string]api.Result{},
		Errors:  map[string]error{},
		Objects: map[uint64]api.ObjectView{
			Lobby: {Ref: api.Ref{OID: Lobby, Name: "Lobby"}, Slots: []api.SlotView{
				{Name: "traits", Kind: api.KindData, Type: "Object", Value: "traits (object 2)", Target: &api.Ref{OID: 2, Name: "traits (object 2)"}},
				{Name: "printString", Kind: api.KindMethod, Source: "func printString(self Object) string { return \"Lobby\" }"},
				{Name: "printOn", Kind: api.KindMethod, Source: "func printOn(self Object, s string) string { return s }"},
			}},
			2: {Ref: api.Ref{OID: 2, Name: "traits (object 2)"}, Slots: []api.SlotView{
				{Name: "doesNotUnderstand", Kind: api.KindPrimitive, Source: "dnu"},
			}},
		},
		Fixed: api.Status{
			Image: "/images/demo", Objects: 42,
			LastTx: api.Tx{ID: 7, Time: time.Date(2026, 11, 25, 18, 40, 1, 0, time.UTC), Principal: "user"},
			PLLM:   "offline (http://127.0.0.1:8080)",
		},
	}
}

// Emit delivers ev to every subscriber.
func (f *Image) Emit(ev api.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.subs {
		c <- ev
	}
}

// Searches returns how many times Search was called.
func (f *Image) Searches() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.searches
}

// EvalLog returns the sources evaluated so far.
func (f *Image) EvalLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.Evals...)
}

func (f *Image) Eval(ctx context.Context, src string) (api.Result, error) {
	f.mu.Lock()
	f.Evals = append(f.Evals, src)
	key := strings.TrimSpace(src)
	res, ok := f.Results[key]
	err := f.Errors[key]
	block := f.Block
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return api.Result{}, ctx.Err()
		}
	}
	if err != nil {
		return api.Result{}, err
	}
	if key == "Lobby" {
		return api.Result{Text: "Lobby", HasValue: true, Object: &api.Ref{OID: Lobby, Name: "Lobby"}}, nil
	}
	if ok {
		return res, nil
	}
	return api.Result{Text: key, HasValue: true}, nil
}

func (f *Image) Object(ctx context.Context, oid uint64) (api.ObjectView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.Objects[oid]
	if !ok {
		return api.ObjectView{}, fmt.Errorf("object %d: not found", oid)
	}
	return v, nil
}

func (f *Image) Children(ctx context.Context, oid uint64) ([]api.Child, error) {
	v, err := f.Object(ctx, oid)
	var out []api.Child
	for _, s := range v.Slots {
		if s.Target != nil {
			out = append(out, api.Child{Slot: s.Name, Ref: *s.Target})
		}
	}
	return out, err
}

func (f *Image) Selectors(ctx context.Context, oid uint64) ([]string, error) {
	v, err := f.Object(ctx, oid)
	var out []string
	for _, s := range append(v.Slots, v.Inherited...) {
		if s.Kind != api.KindParent {
			out = append(out, s.Name)
		}
	}
	return out, err
}

func (f *Image) Define(ctx context.Context, oid uint64, selector, source string) (api.Tx, error) {
	return api.Tx{ID: 8, Principal: "user"}, nil
}

func (f *Image) SetLiteral(ctx context.Context, oid uint64, slot, literal string) (api.Tx, error) {
	return api.Tx{ID: 8, Principal: "user"}, nil
}

func (f *Image) RemoveSlot(ctx context.Context, oid uint64, slot string) (api.Tx, error) {
	return api.Tx{ID: 8, Principal: "user"}, nil
}

func (f *Image) RenameSlot(ctx context.Context, oid uint64, from, to string) (api.Tx, error) {
	return api.Tx{ID: 8, Principal: "user"}, nil
}

func (f *Image) Clone(ctx context.Context, oid, holder uint64, slot string) (api.Ref, error) {
	return api.Ref{OID: 99, Name: "object 99"}, nil
}

func (f *Image) History(ctx context.Context, before uint64, limit int) ([]api.Tx, error) {
	return []api.Tx{f.Fixed.LastTx}, nil
}

func (f *Image) Versions(ctx context.Context, oid uint64, selector string) ([]api.Version, error) {
	return nil, nil
}

func (f *Image) Undo(ctx context.Context, tx uint64) (api.Tx, error) {
	return api.Tx{ID: 9, Principal: "user"}, nil
}

// Search matches names and selectors that contain query.
func (f *Image) Search(ctx context.Context, query string, limit int) ([]api.Hit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.searches++
	var hits []api.Hit
	q := strings.ToLower(query)
	for oid := uint64(1); oid <= uint64(len(f.Objects)); oid++ {
		v, ok := f.Objects[oid]
		if !ok {
			continue
		}
		if strings.Contains(strings.ToLower(v.Name), q) {
			hits = append(hits, api.Hit{Object: v.Ref, Score: 10})
		}
		for _, s := range v.Slots {
			if (s.Kind == api.KindMethod || s.Kind == api.KindPrimitive) && strings.Contains(strings.ToLower(s.Name), q) {
				hits = append(hits, api.Hit{Object: v.Ref, Selector: s.Name, Score: 5})
			}
		}
	}
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}

func (f *Image) Status(ctx context.Context) (api.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Fixed, nil
}

func (f *Image) Subscribe(buffer int) (<-chan api.Event, func()) {
	c := make(chan api.Event, buffer)
	f.mu.Lock()
	f.subs = append(f.subs, c)
	f.mu.Unlock()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			for i, s := range f.subs {
				if s == c {
					f.subs = append(f.subs[:i], f.subs[i+1:]...)
					close(c)
					return
				}
			}
		})
	}
}
