package api

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"batos/image"
	"batos/interp"
	"batos/kernel"
	"batos/kernel/pllm"
	"batos/kernel/pllm/llama"
)

// Local is an Image in this process. Evaluations run in one session (so
// workspace variables persist); reads and edits run in sessions of their
// own, so that browsing never waits behind a long evaluation.
type Local struct {
	k    *kernel.Kernel
	eval *kernel.Session
	read *kernel.Session
	edit *kernel.Session

	mu   sync.Mutex // guards subs and the replacement of eval
	subs map[chan Event]struct{}
	stop func()
}

var _ Image = (*Local)(nil)

// NewLocal returns an Image over k whose commits carry principal. Close it
// to stop its event forwarding.
func NewLocal(k *kernel.Kernel, principal string) *Local {
	l := &Local{
		k:    k,
		eval: k.NewSession(principal),
		read: k.NewSession(principal),
		edit: k.NewSession(principal),
		subs: map[chan Event]struct{}{},
	}
	l.eval.SetOutput(outputWriter{l})
	l.eval.RecordInputs(InputsObject, InputsCap)
	sub := k.Bus().Subscribe(1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range sub.C {
			l.publish(convertEvent(ev))
		}
	}()
	l.stop = func() { sub.Close(); <-done }
	return l
}

// Close stops event delivery; subscribers' channels are closed.
func (l *Local) Close() {
	l.stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.subs {
		close(c)
		delete(l.subs, c)
	}
}

// Kernel returns the kernel the image runs on.
func (l *Local) Kernel() *kernel.Kernel { return l.k }

func (l *Local) Subscribe(buffer int) (<-chan Event, func()) {
	c := make(chan Event, buffer)
	l.mu.Lock()
	l.subs[c] = struct{}{}
	l.mu.Unlock()
	return c, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, ok := l.subs[c]; ok {
			delete(l.subs, c)
			close(c)
		}
	}
}

// publish never blocks: a subscriber that is full misses the event.
func (l *Local) publish(ev Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.subs {
		select {
		case c <- ev:
		default:
		}
	}
}

type outputWriter struct{ l *Local }

func (w outputWriter) Write(p []byte) (int, error) {
	w.l.publish(Event{Kind: EventOutput, Output: string(p)})
	return len(p), nil
}

func (l *Local) Eval(ctx context.Context, src string) (Result, error) {
	l.mu.Lock()
	s := l.eval
	l.mu.Unlock()
	res, err := s.Eval(ctx, src)
	if errors.Is(err, kernel.ErrSessionClosed) || errors.Is(err, interp.ErrAbandoned) {
		// The session is closed for good: go on in a fresh one.
		fresh := l.k.NewSession(s.Principal())
		fresh.SetOutput(outputWriter{l})
		fresh.RecordInputs(InputsObject, InputsCap)
		l.mu.Lock()
		l.eval = fresh
		l.mu.Unlock()
	}
	if err != nil {
		return Result{}, err
	}
	r := Result{Text: res.Text, HasValue: res.HasValue, Tx: uint64(res.Tx.ID)}
	if o, ok := res.Value.(kernel.Object); ok {
		r.Object = &Ref{OID: o.ID(), Name: res.Text}
	}
	return r, nil
}

// view runs fn in a read-only transaction of the read session.
func (l *Local) view(ctx context.Context, fn func(s *kernel.Session) error) error {
	_, err := l.read.Run(ctx, "read", func(kernel.Object) error { return fn(l.read) })
	return err
}

// change runs fn as one transaction of the edit session.
func (l *Local) change(ctx context.Context, note string, fn func(s *kernel.Session)) (Tx, error) {
	info, err := l.edit.Run(ctx, note, func(kernel.Object) error {
		fn(l.edit)
		return nil
	})
	if err != nil {
		return Tx{}, err
	}
	return l.tx(info), nil
}

func (l *Local) tx(info image.TxInfo) Tx {
	t := Tx{ID: uint64(info.ID), Time: info.Time, Principal: info.Principal, Note: info.Note}
	for _, oid := range info.Changed {
		t.Changed = append(t.Changed, Ref{OID: uint64(oid)})
	}
	return t
}

func ref(s *kernel.Session, oid image.OID) Ref { return Ref{OID: uint64(oid), Name: s.Describe(oid)} }

func (l *Local) Object(ctx context.Context, oid uint64) (ObjectView, error) {
	var v ObjectView
	err := l.view(ctx, func(s *kernel.Session) error {
		chain, err := s.Chain(image.OID(oid))
		if err != nil {
			return err
		}
		v.Ref = ref(s, image.OID(oid))
		seen := map[string]bool{}
		for i, holder := range chain {
			slots, err := s.SlotsOf(holder)
			if err != nil {
				return err
			}
			for _, sl := range slots {
				if seen[sl.Name] {
					continue // shadowed
				}
				seen[sl.Name] = true
				sv := slotView(s, holder, sl)
				if i == 0 {
					v.Slots = append(v.Slots, sv)
				} else if sl.Kind != image.SlotParent {
					v.Inherited = append(v.Inherited, sv)
				}
			}
		}
		return nil
	})
	return v, err
}

func slotView(s *kernel.Session, holder image.OID, sl image.Slot) SlotView {
	sv := SlotView{Name: sl.Name, Kind: sl.Kind.String(), Holder: ref(s, holder)}
	switch v := sl.Value.(type) {
	case image.Method:
		sv.Source, sv.Author = v.Source, v.Author
	case image.Primitive:
		sv.Source = v.Name
	case image.Ref:
		r := ref(s, v.OID)
		sv.Target, sv.Type, sv.Value = &r, "Object", r.Name
	default:
		sv.Type, sv.Value = typeName(v), s.Format(s.Bind(v))
	}
	return sv
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case []any:
		return "[]any"
	case map[string]any:
		return "map[string]any"
	}
	return fmt.Sprintf("%T", v)
}

func (l *Local) Children(ctx context.Context, oid uint64) ([]Child, error) {
	var out []Child
	err := l.view(ctx, func(s *kernel.Session) error {
		slots, err := s.SlotsOf(image.OID(oid))
		if err != nil {
			return err
		}
		for _, sl := range slots {
			if r, ok := sl.Value.(image.Ref); ok {
				out = append(out, Child{Slot: sl.Name, Ref: ref(s, r.OID)})
			}
		}
		return nil
	})
	return out, err
}

func (l *Local) Selectors(ctx context.Context, oid uint64) ([]string, error) {
	var out []string
	err := l.view(ctx, func(s *kernel.Session) error {
		chain, err := s.Chain(image.OID(oid))
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, holder := range chain {
			slots, err := s.SlotsOf(holder)
			if err != nil {
				return err
			}
			for _, sl := range slots {
				if !seen[sl.Name] && sl.Kind != image.SlotParent {
					seen[sl.Name] = true
					out = append(out, sl.Name)
				}
			}
		}
		return nil
	})
	return out, err
}

func (l *Local) Define(ctx context.Context, oid uint64, selector, source string) (Tx, error) {
	return l.change(ctx, fmt.Sprintf("define %s", selector), func(s *kernel.Session) {
		s.Object(image.OID(oid)).Define(selector, source)
	})
}

func (l *Local) SetLiteral(ctx context.Context, oid uint64, slot, literal string) (Tx, error) {
	// The edit session's own workspace: a tool's edit is not a line of
	// the user's input history.
	res, err := l.edit.Eval(ctx, fmt.Sprintf("ObjectAt(%d).Set(%q, %s)", oid, slot, literal))
	if err != nil {
		return Tx{}, err
	}
	return l.tx(res.Tx), nil
}

func (l *Local) RemoveSlot(ctx context.Context, oid uint64, slot string) (Tx, error) {
	return l.change(ctx, fmt.Sprintf("remove %s", slot), func(s *kernel.Session) {
		s.Object(image.OID(oid)).Remove(slot)
	})
}

func (l *Local) RenameSlot(ctx context.Context, oid uint64, from, to string) (Tx, error) {
	return l.change(ctx, fmt.Sprintf("rename %s to %s", from, to), func(s *kernel.Session) {
		s.Object(image.OID(oid)).Rename(from, to)
	})
}

func (l *Local) Clone(ctx context.Context, oid, holder uint64, slot string) (Ref, error) {
	var r Ref
	_, err := l.change(ctx, fmt.Sprintf("clone into %s", slot), func(s *kernel.Session) {
		c := s.Object(image.OID(oid)).Clone()
		s.Object(image.OID(holder)).Set(slot, c)
		r = Ref{OID: c.ID(), Name: s.Describe(c.OID())}
	})
	return r, err
}

func (l *Local) History(ctx context.Context, before uint64, limit int) ([]Tx, error) {
	infos, err := l.k.Store().History(image.TxID(before), limit)
	if err != nil {
		return nil, err
	}
	out := make([]Tx, len(infos))
	for i, info := range infos {
		out[i] = l.tx(info)
	}
	// Name the changed objects as they are now.
	err = l.view(ctx, func(s *kernel.Session) error {
		for i := range out {
			for j := range out[i].Changed {
				out[i].Changed[j].Name = s.Describe(image.OID(out[i].Changed[j].OID))
			}
		}
		return nil
	})
	return out, err
}

func (l *Local) Versions(ctx context.Context, oid uint64, selector string) ([]Version, error) {
	revs, err := l.k.Store().Revisions(image.OID(oid))
	if err != nil {
		return nil, err
	}
	var out []Version
	last := "\x00"
	for i := len(revs) - 1; i >= 0; i-- { // oldest first, to keep changes only
		src := ""
		if rec := revs[i].Record; rec != nil {
			if sl, _, ok := rec.Slot(selector); ok {
				if m, ok := sl.Value.(image.Method); ok {
					src = m.Source
				}
			}
		}
		if src == last || (src == "" && last == "\x00") {
			continue
		}
		last = src
		info, err := l.k.Store().TxInfo(revs[i].Tx)
		if err != nil {
			return nil, err
		}
		out = append(out, Version{Tx: uint64(info.ID), Time: info.Time, Principal: info.Principal, Source: src})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Tx > out[j].Tx })
	return out, nil
}

func (l *Local) Undo(ctx context.Context, tx uint64) (Tx, error) {
	info, err := l.k.Undo(image.TxID(tx), l.edit.Principal())
	if err != nil {
		return Tx{}, err
	}
	return l.tx(info), nil
}

// searchLimit bounds how many objects one search visits, so that search
// stays interactive on large images.
const searchLimit = 200_000

func (l *Local) Search(ctx context.Context, query string, limit int) ([]Hit, error) {
	var hits []Hit
	q := strings.ToLower(query)
	err := l.view(ctx, func(s *kernel.Session) error {
		queue := []image.OID{image.RootOID}
		seen := map[image.OID]bool{image.RootOID: true}
		for len(queue) > 0 && len(seen) <= searchLimit {
			if err := ctx.Err(); err != nil {
				return err
			}
			oid := queue[0]
			queue = queue[1:]
			slots, err := s.SlotsOf(oid)
			if err != nil {
				continue
			}
			r := ref(s, oid)
			if score, ok := fuzzy(q, strings.ToLower(r.Name)); ok {
				hits = append(hits, Hit{Object: r, Score: score})
			}
			for _, sl := range slots {
				if sl.Kind == image.SlotMethod || sl.Kind == image.SlotPrimitive {
					if score, ok := fuzzy(q, strings.ToLower(sl.Name)); ok {
						hits = append(hits, Hit{Object: r, Selector: sl.Name, Score: score})
					}
				}
			}
			for _, child := range (&image.Record{Slots: slots}).Refs() {
				if !seen[child] {
					seen[child] = true
					queue = append(queue, child)
				}
			}
		}
		return nil
	})
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, err
}

// fuzzy matches query as a subsequence of name (Spotter-style): a match
// scores higher when it is a prefix, contiguous, and the name is short.
func fuzzy(query, name string) (int, bool) {
	if query == "" {
		return 0, true
	}
	score, qi, run := 0, 0, 0
	for ni := 0; ni < len(name) && qi < len(query); ni++ {
		if name[ni] == query[qi] {
			qi++
			run++
			score += run * 2
			if ni == qi-1 {
				score += 3 // prefix
			}
		} else {
			run = 0
		}
	}
	if qi < len(query) {
		return 0, false
	}
	return score*10 - len(name), true
}

func (l *Local) Status(ctx context.Context) (Status, error) {
	info, err := l.k.Store().Info()
	if err != nil {
		return Status{}, err
	}
	st := Status{Image: info.Dir, Objects: info.Objects}
	if info.LastTx != 0 {
		if t, err := l.k.Store().TxInfo(info.LastTx); err == nil {
			st.LastTx = l.tx(t)
		}
	}
	var endpoint string
	_ = l.view(ctx, func(s *kernel.Session) error {
		endpoint = pllm.Endpoint(s)
		return nil
	})
	st.PLLM = "offline (no endpoint)"
	if endpoint != "" {
		hctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		c := llama.New(endpoint)
		var loading *llama.LoadingError
		switch err := c.Health(hctx); {
		case err == nil:
			st.PLLM, st.PLLMOnline = "online", true
			if p, err := c.Props(hctx); err == nil && p.ModelPath != "" {
				st.PLLM = "online (" + baseName(p.ModelPath) + ")"
			}
		case errors.As(err, &loading):
			st.PLLM = "loading (" + endpoint + ")"
		default:
			st.PLLM = "offline (" + endpoint + ")"
		}
	}
	return st, nil
}

func baseName(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[i+1:]
	}
	return path
}

func convertEvent(ev kernel.Event) Event {
	switch ev.Kind {
	case kernel.EventToken:
		t := ev.Token
		return Event{Kind: EventToken, Token: &Token{Principal: t.Principal, Persona: t.Persona, Selector: t.Selector, Text: t.Text}}
	}
	tx := Tx{ID: uint64(ev.Tx.ID), Time: ev.Tx.Time, Principal: ev.Tx.Principal, Note: ev.Tx.Note}
	out := Event{Kind: EventCommit, Tx: &tx}
	for _, c := range ev.Changes {
		r := Ref{OID: uint64(c.OID), Name: c.Name}
		tx.Changed = append(tx.Changed, r)
		ch := Change{Object: r, Created: c.Created, Deleted: c.Deleted}
		for _, sc := range c.Slots {
			ch.Slots = append(ch.Slots, SlotChange{Name: sc.Name, Kind: sc.Kind.String(), Op: sc.Op.String(), Before: sc.Before, After: sc.After})
		}
		out.Changes = append(out.Changes, ch)
	}
	return out
}
