package system

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"batos/api"
	"batos/autotelic"
	"batos/forge"
	"batos/image"
	"batos/interp"
	"batos/kernel"
	"batos/kernel/entropy"
	"batos/kernel/pllm"
	"batos/llama"
)

// Client is one client of the image in this process: an api.Image whose
// transactions and events carry its principal. Its evaluations run one at
// a time in one session, so that workspace variables persist; every read
// and every edit runs in a session of its own, so that browsing never
// waits behind an evaluation, a search or another client.
type Client struct {
	sys       *System
	principal string

	// ctx ends when the client closes: every request's context is bound
	// to it.
	ctx    context.Context
	cancel context.CancelFunc

	// evalSlot holds the eval session while an evaluation uses it; a
	// request waiting for it gives up when its context ends.
	evalSlot chan *kernel.Session
	record   bool // guarded by holding the eval session
}

var _ api.Image = (*Client)(nil)

func newClient(sys *System, principal string) *Client {
	c := &Client{sys: sys, principal: principal, evalSlot: make(chan *kernel.Session, 1)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.evalSlot <- c.newEvalSession()
	return c
}

func (c *Client) newEvalSession() *kernel.Session {
	return c.sys.k.NewSession(c.principal)
}

// RecordInputs makes every later Eval that succeeds append its input to
// the workspace history in the image (see api.InputsObject), in the
// input's own transaction: the TUI's workspace does, so its history
// survives a restart. Clients that do not — scripts, the REPL, remote
// clients — leave the shared history object alone, so their inputs never
// conflict on it.
func (c *Client) RecordInputs() {
	s := <-c.evalSlot
	s.RecordInputs(api.InputsObject, api.InputsCap)
	c.record = true
	c.evalSlot <- s
}

// Close cancels the client's running requests and forgets it; its
// requests return (with kind canceled) before System.Close completes.
func (c *Client) Close() {
	c.cancel()
	c.sys.forget(c)
}

// Principal returns the name the client's commits carry.
func (c *Client) Principal() string { return c.principal }

// call runs one request: counted for System.Close, bound to the client's
// life, and with its error turned into an *api.Error.
func (c *Client) call(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := c.sys.begin(); err != nil {
		return err
	}
	defer c.sys.calls.Done()
	ctx, cancel := bind(ctx, c.ctx)
	defer cancel()
	if err := c.ctx.Err(); err != nil {
		return &api.Error{Kind: api.ErrClosed, Message: "client closed"}
	}
	return apiError(fn(ctx))
}

// evaluate runs fn with the eval session, publishing busy and idle, and
// the output fn's evaluation prints, as this client's request.
func (c *Client) evaluate(ctx context.Context, fn func(ctx context.Context, s *kernel.Session) (image.TxID, error)) error {
	return c.call(ctx, func(ctx context.Context) error {
		var s *kernel.Session
		select {
		case s = <-c.evalSlot:
		case <-ctx.Done():
			return ctx.Err()
		}
		request := api.RequestOf(ctx)
		c.publish(request, api.Event{Type: api.EventStatus, State: api.StateBusy})
		defer func() {
			// The tokens and commits the request caused come through
			// the kernel's bus: idle follows them.
			c.sys.awaitForwarded(c.sys.k.Bus().Seq())
			c.publish(request, api.Event{Type: api.EventStatus, State: api.StateIdle})
		}()
		s.SetOutput(outputWriter{c, request})
		tx, err := fn(ctx, s)
		if tx != 0 {
			// Its commit event comes through the kernel's bus; publish
			// idle after it, so that every client sees a request's
			// output, then its commit, then its idle.
			c.sys.hub.AwaitCommit(uint64(tx))
		}
		if errors.Is(err, kernel.ErrSessionClosed) || errors.Is(err, interp.ErrAbandoned) {
			// The session is closed for good: go on in a fresh one.
			s = c.newEvalSession()
			if c.record {
				s.RecordInputs(api.InputsObject, api.InputsCap)
			}
		}
		c.evalSlot <- s
		return err
	})
}

func (c *Client) publish(request string, ev api.Event) {
	ev.Client, ev.Request = c.principal, request
	c.sys.hub.Publish(ev)
}

type outputWriter struct {
	c       *Client
	request string
}

func (w outputWriter) Write(p []byte) (int, error) {
	w.c.publish(w.request, api.Event{Type: api.EventOutput, Output: string(p)})
	return len(p), nil
}

// Subscribe delivers every event of the image from now on.
func (c *Client) Subscribe(buffer int) (<-chan api.Event, func()) {
	return c.sys.hub.Subscribe(0, buffer)
}

func (c *Client) Eval(ctx context.Context, src string) (api.Result, error) {
	var res api.Result
	err := c.evaluate(ctx, func(ctx context.Context, s *kernel.Session) (image.TxID, error) {
		r, err := s.Eval(ctx, src)
		if err != nil {
			return 0, err
		}
		res = c.result(ctx, r.Value, r.HasValue, r.Text, r.Tx)
		return r.Tx.ID, nil
	})
	return res, err
}

func (c *Client) Send(ctx context.Context, oid uint64, selector string, args ...api.Value) (api.Result, error) {
	var res api.Result
	err := c.evaluate(ctx, func(ctx context.Context, s *kernel.Session) (image.TxID, error) {
		var v any
		info, err := s.Run(ctx, "send "+selector, func(lobby kernel.Object) error {
			goArgs := make([]any, len(args))
			for i, a := range args {
				v, err := fromValue(s, a, 0)
				if err != nil {
					return err
				}
				goArgs[i] = v
			}
			v = s.Object(image.OID(oid)).Send(selector, goArgs...)
			return nil
		})
		if err != nil {
			return 0, err
		}
		res = c.result(ctx, v, true, "", info)
		return info.ID, nil
	})
	return res, err
}

// result converts an evaluation's value, naming the objects it refers to
// as they are after its commit.
func (c *Client) result(ctx context.Context, v any, has bool, text string, info image.TxInfo) api.Result {
	res := api.Result{HasValue: has, Tx: uint64(info.ID)}
	if !has {
		return res
	}
	_ = c.view(ctx, func(s *kernel.Session) error {
		b := valueBuilder{s: s}
		res.Value = b.top(v, false)
		b.nameRefs(s)
		if res.Value.Object != nil {
			res.Value.Text = res.Value.Object.Name
		} else if text != "" {
			res.Value.Text = text
		}
		return nil
	})
	return res
}

// view runs fn in a read-only transaction of a session of its own.
func (c *Client) view(ctx context.Context, fn func(s *kernel.Session) error) error {
	s := c.sys.k.NewSession(c.principal)
	_, err := s.Run(ctx, "read", func(kernel.Object) error { return fn(s) })
	return err
}

// change runs fn as one transaction of a session of its own.
func (c *Client) change(ctx context.Context, note string, fn func(s *kernel.Session) error) (api.Tx, error) {
	var info image.TxInfo
	err := c.call(ctx, func(ctx context.Context) error {
		s := c.sys.k.NewSession(c.principal)
		var err error
		info, err = s.Run(ctx, note, func(kernel.Object) error { return fn(s) })
		return err
	})
	if err != nil {
		return api.Tx{}, err
	}
	return c.tx(info), nil
}

// read runs fn as a read of a session of its own, as a request.
func (c *Client) read(ctx context.Context, fn func(s *kernel.Session) error) error {
	return c.call(ctx, func(ctx context.Context) error { return c.view(ctx, fn) })
}

func (c *Client) tx(info image.TxInfo) api.Tx {
	t := api.Tx{ID: uint64(info.ID), Time: info.Time, Principal: info.Principal, Note: info.Note}
	for _, oid := range info.Changed {
		t.Changed = append(t.Changed, api.Ref{OID: uint64(oid)})
	}
	return t
}

func ref(s *kernel.Session, oid image.OID) api.Ref {
	return api.Ref{OID: uint64(oid), Name: s.Describe(oid)}
}

func (c *Client) Object(ctx context.Context, oid uint64) (api.ObjectView, error) {
	var v api.ObjectView
	err := c.read(ctx, func(s *kernel.Session) error {
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

func slotView(s *kernel.Session, holder image.OID, sl image.Slot) api.SlotView {
	sv := api.SlotView{Name: sl.Name, Kind: sl.Kind.String(), Holder: ref(s, holder)}
	switch v := sl.Value.(type) {
	case image.Method:
		sv.Source, sv.Author = v.Source, v.Author
	case image.Primitive:
		sv.Source = v.Name
	default:
		b := valueBuilder{s: s}
		val := b.top(v, true)
		b.nameRefs(s)
		if val.Object != nil {
			val.Text = val.Object.Name
		}
		sv.Value = &val
	}
	return sv
}

func (c *Client) Children(ctx context.Context, oid uint64) ([]api.Child, error) {
	var out []api.Child
	err := c.read(ctx, func(s *kernel.Session) error {
		slots, err := s.SlotsOf(image.OID(oid))
		if err != nil {
			return err
		}
		for _, sl := range slots {
			if r, ok := sl.Value.(image.Ref); ok {
				out = append(out, api.Child{Slot: sl.Name, Ref: ref(s, r.OID)})
			}
		}
		return nil
	})
	return out, err
}

func (c *Client) Selectors(ctx context.Context, oid uint64) ([]string, error) {
	var out []string
	err := c.read(ctx, func(s *kernel.Session) error {
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

func (c *Client) Define(ctx context.Context, oid uint64, selector, source string) (api.Tx, error) {
	return c.change(ctx, fmt.Sprintf("define %s", selector), func(s *kernel.Session) error {
		s.Object(image.OID(oid)).Define(selector, source)
		return nil
	})
}

// SetSlot stores v, which is data: nothing of it is evaluated.
func (c *Client) SetSlot(ctx context.Context, oid uint64, slot string, v api.Value) (api.Tx, error) {
	return c.change(ctx, fmt.Sprintf("set %s", slot), func(s *kernel.Session) error {
		if _, err := s.SlotsOf(image.OID(oid)); err != nil {
			return err
		}
		gv, err := fromValue(s, v, 0)
		if err != nil {
			return err
		}
		s.Object(image.OID(oid)).Set(slot, gv)
		return nil
	})
}

func (c *Client) RemoveSlot(ctx context.Context, oid uint64, slot string) (api.Tx, error) {
	return c.change(ctx, fmt.Sprintf("remove %s", slot), func(s *kernel.Session) error {
		s.Object(image.OID(oid)).Remove(slot)
		return nil
	})
}

// RenameSlot renames a slot with kernel.Object.Rename: renaming a method
// rewrites the name its source declares, in the same transaction, so that
// the renamed method answers under its new name, or refuses in one line
// saying why and changes nothing.
func (c *Client) RenameSlot(ctx context.Context, oid uint64, from, to string) (api.Tx, error) {
	return c.change(ctx, fmt.Sprintf("rename %s to %s", from, to), func(s *kernel.Session) error {
		s.Object(image.OID(oid)).Rename(from, to)
		return nil
	})
}

func (c *Client) Clone(ctx context.Context, oid, holder uint64, slot string) (api.Ref, error) {
	var r api.Ref
	_, err := c.change(ctx, fmt.Sprintf("clone into %s", slot), func(s *kernel.Session) error {
		clone := s.Object(image.OID(oid)).Clone()
		s.Object(image.OID(holder)).Set(slot, clone)
		r = api.Ref{OID: clone.ID(), Name: s.Describe(clone.OID())}
		return nil
	})
	return r, err
}

func (c *Client) History(ctx context.Context, before uint64, limit int) ([]api.Tx, error) {
	var out []api.Tx
	err := c.call(ctx, func(ctx context.Context) error {
		infos, err := c.sys.k.Store().History(image.TxID(before), limit)
		if err != nil {
			return err
		}
		out = make([]api.Tx, len(infos))
		for i, info := range infos {
			out[i] = c.tx(info)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Name the changed objects as they are now.
	err = c.read(ctx, func(s *kernel.Session) error {
		for i := range out {
			for j := range out[i].Changed {
				out[i].Changed[j].Name = s.Describe(image.OID(out[i].Changed[j].OID))
			}
		}
		return nil
	})
	return out, err
}

func (c *Client) Versions(ctx context.Context, oid uint64, selector string) ([]api.Version, error) {
	var out []api.Version
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		out, err = c.versions(oid, selector)
		return err
	})
	return out, err
}

func (c *Client) versions(oid uint64, selector string) ([]api.Version, error) {
	revs, err := c.sys.k.Store().Revisions(image.OID(oid))
	if err != nil {
		return nil, err
	}
	var out []api.Version
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
		info, err := c.sys.k.Store().TxInfo(revs[i].Tx)
		if err != nil {
			return nil, err
		}
		out = append(out, api.Version{Tx: uint64(info.ID), Time: info.Time, Principal: info.Principal, Source: src})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Tx > out[j].Tx })
	return out, nil
}

func (c *Client) Undo(ctx context.Context, tx uint64) (api.Tx, error) {
	var info image.TxInfo
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		info, err = c.sys.k.Undo(image.TxID(tx), c.principal)
		return err
	})
	if err != nil {
		return api.Tx{}, err
	}
	return c.tx(info), nil
}

// searchLimit bounds how many objects one search visits, so that search
// stays interactive on large images.
const searchLimit = 200_000

// reachable calls visit with each object reachable from Lobby through
// data and parent slots, breadth first (Lobby first), with the object's
// own slots, until visit answers false, it has seen searchLimit objects
// or ctx ends. An object that cannot be read is skipped.
func reachable(ctx context.Context, s *kernel.Session, visit func(oid image.OID, slots []image.Slot) bool) error {
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
		if !visit(oid, slots) {
			return nil
		}
		for _, child := range (&image.Record{Slots: slots}).Refs() {
			if !seen[child] {
				seen[child] = true
				queue = append(queue, child)
			}
		}
	}
	return nil
}

func (c *Client) Search(ctx context.Context, query string, limit int) ([]api.Hit, error) {
	var hits []api.Hit
	q := strings.ToLower(query)
	err := c.read(ctx, func(s *kernel.Session) error {
		return reachable(ctx, s, func(oid image.OID, slots []image.Slot) bool {
			r := ref(s, oid)
			if score, ok := fuzzy(q, strings.ToLower(r.Name)); ok {
				hits = append(hits, api.Hit{Object: r, Score: score})
			}
			for _, sl := range slots {
				if sl.Kind == image.SlotMethod || sl.Kind == image.SlotPrimitive {
					if score, ok := fuzzy(q, strings.ToLower(sl.Name)); ok {
						hits = append(hits, api.Hit{Object: r, Selector: sl.Name, Score: score})
					}
				}
			}
			return true
		})
	})
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, err
}

// Implementors finds the objects reachable from Lobby whose own slots
// define selector as a method or a primitive, nearest to Lobby first
// (breadth first, bounded as Search is). Each hit's Selector is selector.
func (c *Client) Implementors(ctx context.Context, selector string, limit int) ([]api.Hit, error) {
	return c.methodHits(ctx, limit, func(sl image.Slot) bool {
		return sl.Name == selector && (sl.Kind == image.SlotMethod || sl.Kind == image.SlotPrimitive)
	})
}

// Senders finds the methods, on objects reachable from Lobby, whose
// source sends selector (X.Send("selector", ...) with the selector as a
// string literal), nearest to Lobby first (breadth first, bounded as
// Search is). Each hit names the sending method's holder and selector.
func (c *Client) Senders(ctx context.Context, selector string, limit int) ([]api.Hit, error) {
	return c.methodHits(ctx, limit, func(sl image.Slot) bool {
		m, ok := sl.Value.(image.Method)
		return ok && sl.Kind == image.SlotMethod && sends(m.Source, selector)
	})
}

// methodHits walks the objects reachable from Lobby and answers a hit for
// every own slot match accepts, in walk order, at most limit (0: no
// limit).
func (c *Client) methodHits(ctx context.Context, limit int, match func(image.Slot) bool) ([]api.Hit, error) {
	var hits []api.Hit
	err := c.read(ctx, func(s *kernel.Session) error {
		return reachable(ctx, s, func(oid image.OID, slots []image.Slot) bool {
			for _, sl := range slots {
				if match(sl) {
					hits = append(hits, api.Hit{Object: ref(s, oid), Selector: sl.Name})
					if limit > 0 && len(hits) == limit {
						return false
					}
				}
			}
			return true
		})
	})
	if err != nil {
		return nil, err
	}
	return hits, nil
}

// sends reports whether a method's source sends selector: a call
// X.Send("selector", ...) whose first argument is that string literal.
// A source that does not parse (no stored method should; an image
// written by an older version might hold one) is matched as text.
func sends(src, selector string) bool {
	if selector == "" || !strings.Contains(src, "Send") {
		return false
	}
	sites, err := interp.Sends(src)
	if err != nil {
		return strings.Contains(src, ".Send("+strconv.Quote(selector))
	}
	return slices.ContainsFunc(sites, func(s interp.SendSite) bool { return s.Selector == selector })
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

// Check runs the store's check on a snapshot; the image stays in use.
func (c *Client) Check(ctx context.Context) (api.CheckReport, error) {
	var out api.CheckReport
	err := c.call(ctx, func(context.Context) error {
		rep, err := c.sys.k.Store().Check()
		out = api.CheckReport{Objects: rep.Objects, Revisions: rep.Revisions, Transactions: rep.Transactions}
		for _, p := range rep.Problems {
			out.Problems = append(out.Problems, fmt.Sprint(p))
		}
		if err != nil && len(rep.Problems) == 0 {
			return err
		}
		return nil
	})
	return out, err
}

func (c *Client) Status(ctx context.Context) (api.Status, error) {
	info, err := c.sys.k.Store().Info()
	if err != nil {
		return api.Status{}, apiError(err)
	}
	st := api.Status{Image: info.Dir, Objects: info.Objects, Client: c.principal, Clients: c.sys.clientCount()}
	if info.LastTx != 0 {
		if t, err := c.sys.k.Store().TxInfo(info.LastTx); err == nil {
			st.LastTx = c.tx(t)
		}
	}
	var endpoint string
	_ = c.read(ctx, func(s *kernel.Session) error {
		endpoint = pllm.Endpoint(s)
		lobby := s.Object(image.RootOID)
		st.ForgeRunning, st.ForgeQueued = forge.Counts(lobby)
		st.CEM, st.CEMKnown = entropy.Latest(lobby)
		st.Autotelic = autotelic.Enabled(lobby)
		return nil
	})
	st.ForgeWorker = c.sys.worker
	st.AutotelicWorker = c.sys.loopRuns
	st.PLLM = "offline (no endpoint)"
	if endpoint != "" {
		hctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		lc := llama.New(endpoint)
		var loading *llama.LoadingError
		switch err := lc.Health(hctx); {
		case err == nil:
			st.PLLM, st.PLLMOnline = "online", true
			if p, err := lc.Props(hctx); err == nil && p.ModelPath != "" {
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

func convertEvent(ev kernel.Event) api.Event {
	switch ev.Kind {
	case kernel.EventToken:
		t := ev.Token
		return api.Event{Type: api.EventToken, Token: &api.Token{Principal: t.Principal, Persona: t.Persona, Selector: t.Selector, Text: t.Text,
			Waiting: t.Waiting.Seconds(), Endpoint: t.Endpoint, Attempt: t.Attempt, Outcome: t.Outcome, Reason: t.Reason}}
	case kernel.EventForge:
		p := ev.Forge
		return api.Event{Type: api.EventForge, Client: forge.Principal, Forge: &api.ForgeProgress{
			Job: p.Job, Persona: p.Persona, State: p.State, Step: p.Step, Steps: p.Steps, Loss: p.Loss, LR: p.LR, ETA: p.ETA, Line: p.Line}}
	}
	tx := api.Tx{ID: uint64(ev.Tx.ID), Time: ev.Tx.Time, Principal: ev.Tx.Principal, Note: ev.Tx.Note}
	out := api.Event{Type: api.EventCommit, Client: ev.Tx.Principal, Tx: &tx}
	for _, c := range ev.Changes {
		r := api.Ref{OID: uint64(c.OID), Name: c.Name}
		tx.Changed = append(tx.Changed, r)
		ch := api.Change{Object: r, Created: c.Created, Deleted: c.Deleted}
		for _, sc := range c.Slots {
			ch.Slots = append(ch.Slots, api.SlotChange{Name: sc.Name, Kind: sc.Kind.String(), Op: sc.Op.String(), Before: sc.Before, After: sc.After})
		}
		out.Changes = append(out.Changes, ch)
	}
	return out
}
