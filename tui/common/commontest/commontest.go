// Package commontest provides an in-memory api.Image for pane tests: fixed
// status, scripted evaluations and events the test sends, so that golden
// views do not depend on a real image's paths, times or object counts.
//
// It keeps the contract's data shapes: values are api.Values (see Text,
// Ref), errors are whatever the test scripts (an *api.Error where a pane
// branches on its kind), and a subscriber that Overflow drops gets an
// EventMissed and then a closed channel, as the image's hub does.
package commontest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"batos/api"
)

// Text returns a value of kind go whose printed form is text: what the
// fake answers for a source it has no scripted result for.
func Text(text string) api.Value {
	return api.Value{Kind: api.ValueGo, Type: "string", Text: text}
}

// Ref returns a reference value to r, printed as its name.
func Ref(r api.Ref) *api.Value {
	v := api.ObjectRef(r)
	return &v
}

// Data returns a slot value: v printed as its Literal form when it has one
// (how the image prints slot values), else as it is.
func Data(v api.Value) *api.Value {
	if v.Text == "" {
		if lit, ok := v.Literal(); ok {
			v.Text = lit
		}
	}
	return &v
}

// SetCall is one SetSlot the fake received.
type SetCall struct {
	OID   uint64
	Slot  string
	Value api.Value
}

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
	// Sets records every SetSlot, in order.
	Sets []SetCall
	// Txs, when set, is what History answers from, newest first.
	Txs []api.Tx
	// UndoErr, when set, is what Undo fails with.
	UndoErr error
	// DefineErr, when set, is what Define fails with.
	DefineErr error
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
				{Name: "traits", Kind: api.KindData, Value: Ref(api.Ref{OID: 2, Name: "traits (object 2)"})},
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
			Client: "user", Clients: 1,
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

// Overflow drops every subscriber as the image drops one that fell
// behind: an EventMissed counting missed events, then its channel closes.
func (f *Image) Overflow(missed uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.subs {
		c <- api.Event{Type: api.EventMissed, Missed: missed}
		close(c)
	}
	f.subs = nil
}

// Subscribers returns how many subscriptions are open.
func (f *Image) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// SetLog returns the SetSlot calls so far.
func (f *Image) SetLog() []SetCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SetCall(nil), f.Sets...)
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
		return api.Result{HasValue: true, Value: api.ObjectRef(api.Ref{OID: Lobby, Name: "Lobby"})}, nil
	}
	if ok {
		return res, nil
	}
	return api.Result{HasValue: true, Value: Text(key)}, nil
}

// Send answers as Eval would for the source `ObjectAt(oid).Send("selector")`
// (its scripted result or error), else with the selector's name as text.
func (f *Image) Send(ctx context.Context, oid uint64, selector string, args ...api.Value) (api.Result, error) {
	return f.Eval(ctx, fmt.Sprintf("ObjectAt(%d).Send(%q)", oid, selector))
}

func (f *Image) Object(ctx context.Context, oid uint64) (api.ObjectView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.Objects[oid]
	if !ok {
		return api.ObjectView{}, api.Errorf(api.ErrNotFound, "object %d: not found", oid)
	}
	return v, nil
}

func (f *Image) Children(ctx context.Context, oid uint64) ([]api.Child, error) {
	v, err := f.Object(ctx, oid)
	var out []api.Child
	for _, s := range v.Slots {
		if t := s.Target(); t != nil {
			out = append(out, api.Child{Slot: s.Name, Ref: *t})
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
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.DefineErr != nil {
		return api.Tx{}, f.DefineErr
	}
	return api.Tx{ID: 8, Principal: "user"}, nil
}

// SetSlot records the call and stores v in the object's own slot.
func (f *Image) SetSlot(ctx context.Context, oid uint64, slot string, v api.Value) (api.Tx, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Sets = append(f.Sets, SetCall{OID: oid, Slot: slot, Value: v})
	if view, ok := f.Objects[oid]; ok {
		slots := append([]api.SlotView(nil), view.Slots...)
		sv := api.SlotView{Name: slot, Kind: api.KindData, Value: Data(v), Holder: view.Ref}
		found := false
		for i := range slots {
			if slots[i].Name == slot {
				slots[i], found = sv, true
			}
		}
		if !found {
			slots = append(slots, sv)
		}
		view.Slots = slots
		f.Objects[oid] = view
	}
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

// History answers from Txs (newest first) when set, else the status's
// last transaction.
func (f *Image) History(ctx context.Context, before uint64, limit int) ([]api.Tx, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Txs == nil {
		return []api.Tx{f.Fixed.LastTx}, nil
	}
	var out []api.Tx
	for _, t := range f.Txs {
		if (before == 0 || t.ID < before) && (limit <= 0 || len(out) < limit) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (f *Image) Versions(ctx context.Context, oid uint64, selector string) ([]api.Version, error) {
	return nil, nil
}

func (f *Image) Undo(ctx context.Context, tx uint64) (api.Tx, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.UndoErr != nil {
		return api.Tx{}, f.UndoErr
	}
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

// Implementors answers the objects whose own slots define selector as a
// method or a primitive, by OID.
func (f *Image) Implementors(ctx context.Context, selector string, limit int) ([]api.Hit, error) {
	return f.methodHits(limit, func(s api.SlotView) bool {
		return s.Name == selector && (s.Kind == api.KindMethod || s.Kind == api.KindPrimitive)
	}), nil
}

// Senders answers the methods whose source holds .Send("selector", by
// holder OID: the image parses the source, the fake matches text.
func (f *Image) Senders(ctx context.Context, selector string, limit int) ([]api.Hit, error) {
	return f.methodHits(limit, func(s api.SlotView) bool {
		return s.Kind == api.KindMethod && strings.Contains(s.Source, fmt.Sprintf(".Send(%q", selector))
	}), nil
}

func (f *Image) methodHits(limit int, match func(api.SlotView) bool) []api.Hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	oids := make([]uint64, 0, len(f.Objects))
	for oid := range f.Objects {
		oids = append(oids, oid)
	}
	slices.Sort(oids)
	var hits []api.Hit
	for _, oid := range oids {
		v := f.Objects[oid]
		for _, s := range v.Slots {
			if match(s) && (limit <= 0 || len(hits) < limit) {
				hits = append(hits, api.Hit{Object: v.Ref, Selector: s.Name})
			}
		}
	}
	return hits
}

func (f *Image) Check(ctx context.Context) (api.CheckReport, error) {
	return api.CheckReport{}, nil
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
