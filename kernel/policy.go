package kernel

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"batos/image"
	"batos/interp"
)

// The write policy: what model-written code may change (DESIGN.md, "Safety
// invariants"). It is data in the image, the object Lobby.pLLM.policy:
//
//	mayWrite  []any  rules for the objects whose data and parent slots
//	                 model-written code may set, remove or rename
//	                 (default: "receiver", "created")
//	mayDefine []any  rules for the objects it may define, remove or rename
//	                 methods on, or overwrite a method slot of (default:
//	                 "holder")
//	never     []any  paths it may never change, whatever the rules say
//	                 (default: "Lobby.system", "Lobby.pLLM", "Lobby.traits")
//
// A rule is "receiver" (the receiver of the outermost model-written method
// running), "holder" (the object that method is installed on), "created"
// (an object created in this transaction while model-written code ran),
// "any" (every object), or a path such as "Lobby.notes" (that object). A
// path is "Lobby" followed by own-slot names, each holding an object. A
// path in never protects the slot that holds it, the object it names and,
// recursively, every object held directly (not in a list or map, not
// through a parent slot) in a data slot of a protected object; Lobby
// itself is only protected by the path "Lobby". A slot the image lacks uses
// its default; a policy that is not valid refuses every write by
// model-written code, with the reason, until it is fixed. An image without
// Lobby.pLLM.policy runs under the defaults.
//
// Restrictions apply while any model-written frame is on the stack of the
// evaluation: a method whose author ModelWritten reports, and everything it
// calls, user methods and callbacks included. The frame that counts is the
// outermost model-written one. A transaction in which model-written code
// attempted a forbidden write never commits, even if the code recovered
// the panic.

// Policy rules.
const (
	RuleReceiver = "receiver"
	RuleHolder   = "holder"
	RuleCreated  = "created"
	RuleAny      = "any"
)

// Policy is the write policy as read from Lobby.pLLM.policy.
type Policy struct {
	MayWrite  []string
	MayDefine []string
	Never     []string
}

// DefaultPolicy is the policy of an image without Lobby.pLLM.policy, and of
// each slot the policy object lacks: the same as the codex creates.
func DefaultPolicy() Policy {
	return Policy{
		MayWrite:  []string{RuleReceiver, RuleCreated},
		MayDefine: []string{RuleHolder},
		// traits is every object's root: a method installed there could
		// otherwise redefine doesNotUnderstand for the whole image.
		Never: []string{"Lobby.system", "Lobby.pLLM", "Lobby.traits"},
	}
}

// ModelWritten reports whether a method by author runs under the write
// policy: methods the pLLM installs ("pLLM/<persona>") and those the
// autotelic loop writes ("autotelic", "autotelic/...").
func ModelWritten(author string) bool {
	return strings.HasPrefix(author, "pLLM/") || author == "autotelic" || strings.HasPrefix(author, "autotelic/")
}

// PolicyError reports a write that model-written code may not make. The
// send of the model-written method fails with it, and the transaction it
// ran in is aborted.
type PolicyError struct {
	Author   string    // the model-written method's author, e.g. "pLLM/BRICK"
	Selector string    // its selector (the outermost model-written frame's)
	Op       string    // set, define, remove or rename
	OID      image.OID // the object written
	Object   string    // the object described, e.g. "system (object 3)"
	Slot     string
	Reason   string
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("write policy: %s's method %s may not %s %s.%s: %s", e.Author, e.Selector, e.Op, e.Object, e.Slot, e.Reason)
}

// Write is one write model-written code made, or attempted, in a
// transaction: Op is "set", "define", "remove", "rename" (Slot is the old
// name, To the new) or "create" (Slot empty).
type Write struct {
	Op     string
	Object image.OID
	Name   string // the object described
	Slot   string
	To     string
	Denied bool // refused by the policy: it did not happen
}

func (w Write) String() string {
	s := w.Op + " " + w.Name
	if w.Slot != "" {
		s += "." + w.Slot
	}
	if w.To != "" {
		s += " to " + w.To
	}
	if w.Denied {
		s += " (denied)"
	}
	return s
}

// maxWrites bounds the write set kept per transaction.
const maxWrites = 256

// policyState is the write policy's per-transaction state: the
// model-written frames on the stack, the objects they created, the writes
// they made, the first violation and the policy as compiled for this
// transaction. It exists once a model-written method has been sent.
type policyState struct {
	frames    []modelFrame
	created   map[image.OID]bool
	writes    []Write
	seen      map[Write]bool // writes recorded, keyed without Name
	violation *PolicyError
	rules     *compiledPolicy // nil until needed; dropped when code outside model frames writes
}

type modelFrame struct {
	author, selector string
	receiver, holder image.OID
}

func (t *txn) policy() *policyState {
	if t.pol == nil {
		t.pol = &policyState{created: map[image.OID]bool{}, seen: map[Write]bool{}}
	}
	return t.pol
}

// active returns the outermost model-written frame, if any is running.
func (p *policyState) active() (modelFrame, bool) {
	if p == nil || len(p.frames) == 0 {
		return modelFrame{}, false
	}
	return p.frames[0], true
}

// record adds w to the write set unless it is there already; name
// describes the object, computed only for a new entry.
func (p *policyState) record(w Write, name func() string) {
	if p.seen[w] {
		return
	}
	if len(p.writes) >= maxWrites {
		return
	}
	p.seen[w] = true
	w.Name = name()
	p.writes = append(p.writes, w)
}

// invokeModel calls a model-written method with its frame pushed. A
// violation anywhere in this transaction fails the send, even when the
// code recovered the panic; a result that carries a function is refused,
// since calling it later would run model-written code outside the policy.
func (s *Session) invokeModel(m *interp.Method, author string, holder, recv image.OID, sel string, args []any) (any, error) {
	p := s.tx.policy()
	n := len(p.frames)
	p.frames = append(p.frames, modelFrame{author: author, selector: sel, receiver: recv, holder: holder})
	defer func() { p.frames = p.frames[:n] }()
	v, err := m.Call(s.guard, Object{oid: recv, s: s}, args)
	if p.violation != nil {
		return nil, p.violation
	}
	if err == nil {
		if why := carriesFunc(v); why != "" {
			return nil, fmt.Errorf("%s's method %s returned %s: model-written methods may not, since calling a function they made would run their code outside the write policy", author, sel, why)
		}
	}
	var pe *interp.PanicError
	if errors.As(err, &pe) && carriesFunc(pe.Value) != "" {
		// A caller that recovers the panic must not get the function.
		return nil, fmt.Errorf("%s's method %s panicked with %s", author, sel, carriesFunc(pe.Value))
	}
	return v, err
}

// maxResultWalk bounds the values carriesFunc looks at.
const maxResultWalk = 1 << 20

// carriesFunc says what function or channel v is or holds ("" for none),
// looking through slices, arrays, maps, pointers, interfaces and struct
// fields. A value too large or deep to look through counts as holding one.
func carriesFunc(v any) string {
	switch v.(type) {
	case nil, bool, int, int64, float64, string, []byte, Object:
		return ""
	}
	budget := maxResultWalk
	var walk func(rv reflect.Value, depth int) string
	walk = func(rv reflect.Value, depth int) string {
		if !mayHoldFunc(rv.Type(), nil) {
			return ""
		}
		if budget--; budget < 0 || depth > image.MaxNesting {
			return "a value too large to check for functions"
		}
		switch rv.Kind() {
		case reflect.Func, reflect.Chan, reflect.UnsafePointer:
			return "a " + rv.Type().String()
		case reflect.Interface, reflect.Pointer:
			if !rv.IsNil() {
				return walk(rv.Elem(), depth+1)
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < rv.Len(); i++ {
				if why := walk(rv.Index(i), depth+1); why != "" {
					return why
				}
			}
		case reflect.Map:
			it := rv.MapRange()
			for it.Next() {
				if why := walk(it.Key(), depth+1); why != "" {
					return why
				}
				if why := walk(it.Value(), depth+1); why != "" {
					return why
				}
			}
		case reflect.Struct:
			for i := 0; i < rv.NumField(); i++ {
				if why := walk(rv.Field(i), depth+1); why != "" {
					return why
				}
			}
		}
		return ""
	}
	return walk(reflect.ValueOf(v), 0)
}

var objectType = reflect.TypeFor[Object]()

// mayHoldFunc reports whether a value of type t can be or hold a function
// or channel; interfaces can hold anything.
func mayHoldFunc(t reflect.Type, seen map[reflect.Type]bool) bool {
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Interface:
		return true
	case reflect.Slice, reflect.Array, reflect.Pointer:
		return mayHoldFunc(t.Elem(), seen)
	case reflect.Map:
		return mayHoldFunc(t.Key(), seen) || mayHoldFunc(t.Elem(), seen)
	case reflect.Struct:
		if t == objectType || seen[t] {
			return false
		}
		if seen == nil {
			seen = map[reflect.Type]bool{}
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			if mayHoldFunc(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// checkWrite is called by every Object method that changes oid's slot
// before it changes anything. Outside model-written code it only notes
// that the image changed (the compiled policy is recomputed when next
// needed); inside, it records the write and panics with *PolicyError when
// the policy forbids it. method says whether the write changes a method
// slot (define, or remove, rename or overwrite a method or primitive).
func (s *Session) checkWrite(op string, oid image.OID, slot, to string, method bool) {
	p := s.tx.pol
	f, ok := p.active()
	if !ok {
		if p != nil {
			p.rules = nil
		}
		return
	}
	w := Write{Op: op, Object: oid, Slot: slot, To: to}
	name := func() string { return s.describe(oid) }
	reason := p.compiled(s).allows(f, p.created, oid, slot, method)
	if to != "" && reason == "" {
		reason = p.compiled(s).allows(f, p.created, oid, to, method)
	}
	if reason == "" {
		p.record(w, name)
		return
	}
	w.Denied = true
	p.record(w, name)
	e := &PolicyError{Author: f.author, Selector: f.selector, Op: op, OID: oid, Object: s.describe(oid), Slot: slot, Reason: reason}
	if p.violation == nil {
		p.violation = e
	}
	panic(e)
}

// noteCreated records an object created while model-written code runs.
func (s *Session) noteCreated(oid image.OID) {
	p := s.tx.pol
	if _, ok := p.active(); ok {
		p.created[oid] = true
		p.record(Write{Op: "create", Object: oid}, func() string { return s.describe(oid) })
	}
}

// author is the author a method defined now records: the outermost
// model-written frame's, so model-written code cannot launder its code
// into a method that runs unrestricted, else the session's principal.
func (s *Session) author() string {
	if f, ok := s.tx.pol.active(); ok {
		return f.author
	}
	return s.principal
}

// ModelWrites returns the writes model-written code made or attempted in
// the evaluation in progress, in order, each once (at most 256; the sandbox
// reports a trial's write set with it). It is nil outside an evaluation.
func (s *Session) ModelWrites() []Write {
	if s.tx == nil || s.tx.pol == nil {
		return nil
	}
	return append([]Write(nil), s.tx.pol.writes...)
}

// PolicyViolation returns the first write the policy refused in the
// evaluation in progress, or nil.
func (s *Session) PolicyViolation() *PolicyError {
	if s.tx == nil || s.tx.pol == nil {
		return nil
	}
	return s.tx.pol.violation
}

// MayDefine returns nil when the evaluation in progress may have a method
// sel installed on oid by the pLLM: always outside model-written code;
// inside, only where the policy lets that code define methods itself, so
// that it cannot have the pLLM install methods where it may not. It
// returns the *PolicyError the define would raise, without raising it.
func (s *Session) MayDefine(oid image.OID, sel string) error {
	if s.tx == nil {
		return ErrNoTransaction
	}
	p := s.tx.pol
	f, ok := p.active()
	if !ok {
		return nil
	}
	if reason := p.compiled(s).allows(f, p.created, oid, sel, true); reason != "" {
		return &PolicyError{Author: f.author, Selector: f.selector, Op: "have the pLLM define", OID: oid, Object: s.describe(oid), Slot: sel, Reason: reason}
	}
	return nil
}

// Policy reads and validates the write policy as the evaluation in
// progress sees the image.
func (s *Session) Policy() (Policy, error) {
	if s.tx == nil {
		return Policy{}, ErrNoTransaction
	}
	return readPolicy(s.tx)
}

// Protected reports whether the policy's never list protects oid, and the
// path that does (the pLLM refuses to install methods there). An invalid
// policy protects everything.
func (s *Session) Protected(oid image.OID) (string, bool) {
	if s.tx == nil {
		return "", false
	}
	c := s.tx.compiledPolicy()
	if c.err != nil {
		return "Lobby.pLLM.policy (invalid: " + c.err.Error() + ")", true
	}
	p, ok := c.protObj[oid]
	return p.path, ok
}

// compiled returns the policy compiled for this transaction.
func (p *policyState) compiled(s *Session) *compiledPolicy {
	if p.rules == nil {
		p.rules = s.tx.compiledPolicy()
	}
	return p.rules
}

// policyCache holds the policy last compiled by a transaction that had
// written nothing: it is then a function of the snapshot alone, which its
// start names, and a generation asks for it several times, in
// transactions that see the same state.
type policyCache struct {
	mu    sync.Mutex
	start image.TxID
	rules *compiledPolicy // read-only once made
}

// compiledPolicy returns the policy compiled for t's state.
func (t *txn) compiledPolicy() *compiledPolicy {
	if len(t.order) > 0 {
		return compilePolicy(t)
	}
	start := t.it.StartTx()
	pc := &t.k.policy
	pc.mu.Lock()
	c := pc.rules
	hit := c != nil && pc.start == start
	pc.mu.Unlock()
	if hit {
		return c
	}
	c = compilePolicy(t)
	pc.mu.Lock()
	if pc.rules == nil || start >= pc.start {
		pc.start, pc.rules = start, c
	}
	pc.mu.Unlock()
	return c
}

// compiledPolicy is a Policy resolved against the image: paths turned into
// objects and the protected objects and slots enumerated.
type compiledPolicy struct {
	err      error
	write    ruleSet
	define   ruleSet
	protObj  map[image.OID]protection
	protSlot map[slotRef]string // slot holding a never path → the path
}

// protection says which never path protects an object, and whether the
// path names it or it is held under the object the path names.
type protection struct {
	path   string
	direct bool
}

type ruleSet struct {
	receiver, holder, created, any bool
	objs                           map[image.OID]bool
	text                           string // for messages
}

type slotRef struct {
	oid  image.OID
	slot string
}

// maxProtected bounds the objects one never path protects through its
// data slots.
const maxProtected = 1 << 16

func compilePolicy(t *txn) *compiledPolicy {
	c := &compiledPolicy{protObj: map[image.OID]protection{}, protSlot: map[slotRef]string{}}
	pol, err := readPolicy(t)
	if err != nil {
		c.err = err
		return c
	}
	c.write = compileRules(t, pol.MayWrite, "mayWrite")
	c.define = compileRules(t, pol.MayDefine, "mayDefine")
	for _, path := range pol.Never {
		holder, slot, target, ok := resolvePath(t, path)
		if holder != 0 {
			c.protSlot[slotRef{holder, slot}] = path
		}
		if !ok {
			continue
		}
		if target == image.RootOID {
			c.protObj[target] = protection{path, true}
			continue
		}
		queue := []image.OID{target}
		for len(queue) > 0 && len(c.protObj) < maxProtected {
			oid := queue[0]
			queue = queue[1:]
			if _, done := c.protObj[oid]; done || oid == image.RootOID {
				continue
			}
			c.protObj[oid] = protection{path, oid == target}
			st, err := t.load(oid)
			if err != nil {
				continue
			}
			for _, sl := range st.slots {
				if r, ok := sl.Value.(image.Ref); ok && sl.Kind == image.SlotData {
					queue = append(queue, r.OID)
				}
			}
		}
	}
	return c
}

func compileRules(t *txn, rules []string, slot string) ruleSet {
	rs := ruleSet{objs: map[image.OID]bool{}}
	var words []string
	for _, r := range rules {
		switch r {
		case RuleReceiver:
			rs.receiver = true
			words = append(words, "its receiver")
		case RuleHolder:
			rs.holder = true
			words = append(words, "the object it is installed on")
		case RuleCreated:
			rs.created = true
			words = append(words, "objects it created")
		case RuleAny:
			rs.any = true
			words = append(words, "any object")
		default:
			words = append(words, r)
			if _, _, oid, ok := resolvePath(t, r); ok {
				rs.objs[oid] = true
			}
		}
	}
	if len(words) == 0 {
		rs.text = "nothing (Lobby.pLLM.policy." + slot + " is empty)"
	} else {
		rs.text = "only " + strings.Join(words, ", ") + " (Lobby.pLLM.policy." + slot + ")"
	}
	return rs
}

// allows returns "" when model-written code running as f may write oid's
// slot, else why not.
func (c *compiledPolicy) allows(f modelFrame, created map[image.OID]bool, oid image.OID, slot string, method bool) string {
	if c.err != nil {
		return "Lobby.pLLM.policy is not valid, so model-written code may change nothing: " + c.err.Error()
	}
	if path, ok := c.protSlot[slotRef{oid, slot}]; ok {
		return fmt.Sprintf("the slot holds %s, which Lobby.pLLM.policy.never protects", path)
	}
	if p, ok := c.protObj[oid]; ok {
		if p.direct {
			return fmt.Sprintf("it is %s, which Lobby.pLLM.policy.never protects", p.path)
		}
		return fmt.Sprintf("it is held under %s, which Lobby.pLLM.policy.never protects", p.path)
	}
	rs, what := c.write, "change"
	if method {
		rs, what = c.define, "change methods of"
	}
	switch {
	case rs.any,
		rs.receiver && oid == f.receiver,
		rs.holder && oid == f.holder,
		rs.created && created[oid],
		rs.objs[oid]:
		return ""
	}
	return fmt.Sprintf("model-written code may %s %s", what, rs.text)
}

// readPolicy reads Lobby.pLLM.policy through t, with the defaults for
// what is missing, and validates it.
func readPolicy(t *txn) (Policy, error) {
	pol := DefaultPolicy()
	pllm, ok := ownRef(t, image.RootOID, "pLLM")
	if !ok {
		return pol, nil
	}
	st, err := t.load(pllm)
	if err != nil {
		return pol, nil
	}
	i := findSlot(st.slots, "policy")
	if i < 0 {
		return pol, nil
	}
	ref, ok := st.slots[i].Value.(image.Ref)
	if !ok {
		return pol, fmt.Errorf("Lobby.pLLM.policy is a %s, not an object", typeOfStored(st.slots[i].Value))
	}
	pst, err := t.load(ref.OID)
	if err != nil {
		return pol, fmt.Errorf("Lobby.pLLM.policy: %w", err)
	}
	for _, sl := range pst.slots {
		var dst *[]string
		rules := true
		switch sl.Name {
		case "mayWrite":
			dst = &pol.MayWrite
		case "mayDefine":
			dst = &pol.MayDefine
		case "never":
			dst, rules = &pol.Never, false
		default:
			continue
		}
		list, err := policyList(sl, rules)
		if err != nil {
			return pol, err
		}
		*dst = list
	}
	return pol, nil
}

func policyList(sl image.Slot, rules bool) ([]string, error) {
	field := "Lobby.pLLM.policy." + sl.Name
	list, ok := sl.Value.([]any)
	if !ok || sl.Kind != image.SlotData {
		return nil, fmt.Errorf("%s is a %s, want a []any of strings", field, typeOfStored(sl.Value))
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("%s[%d] is a %s, want a string", field, i, typeOfStored(e))
		}
		switch s {
		case RuleReceiver, RuleHolder, RuleCreated, RuleAny:
			if !rules {
				return nil, fmt.Errorf("%s[%d] is %q: never holds paths such as \"Lobby.system\", not rules", field, i, s)
			}
		default:
			if err := validPath(s); err != nil {
				what := "a path such as \"Lobby.system\""
				if rules {
					what = "\"receiver\", \"holder\", \"created\", \"any\" or " + what
				}
				return nil, fmt.Errorf("%s[%d] is %q: %v; want %s", field, i, s, err, what)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func validPath(p string) error {
	parts := strings.Split(p, ".")
	if parts[0] != "Lobby" {
		return fmt.Errorf("a path starts at Lobby")
	}
	for _, name := range parts[1:] {
		if err := validSlotName(name); err != nil || strings.HasSuffix(name, "*") {
			return fmt.Errorf("%q is not a data slot's name", name)
		}
	}
	return nil
}

// resolvePath follows a valid path's own slots from Lobby. holder and slot
// name the slot holding the last step (holder is 0 for "Lobby" itself, or
// when a step before the last is missing); target is the object it holds.
func resolvePath(t *txn, path string) (holder image.OID, slot string, target image.OID, ok bool) {
	parts := strings.Split(path, ".")
	cur := image.RootOID
	for i, name := range parts[1:] {
		last := i == len(parts)-2
		next, found := ownRef(t, cur, name)
		if last {
			if !found {
				return cur, name, 0, false
			}
			return cur, name, next, true
		}
		if !found {
			return 0, "", 0, false
		}
		cur = next
	}
	return 0, "", image.RootOID, true
}

// ownRef returns the object held in oid's own slot name.
func ownRef(t *txn, oid image.OID, name string) (image.OID, bool) {
	st, err := t.load(oid)
	if err != nil {
		return 0, false
	}
	i := findSlot(st.slots, name)
	if i < 0 {
		return 0, false
	}
	r, ok := st.slots[i].Value.(image.Ref)
	return r.OID, ok
}

func typeOfStored(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case image.Ref:
		return "Object"
	case []any:
		return "[]any"
	case map[string]any:
		return "map[string]any"
	}
	return fmt.Sprintf("%T", v)
}

// ModelFrame reports whether model-written code is on the stack of the
// evaluation in progress, and the author of the outermost such frame:
// primitives that act outside the caller's transaction, and so outside
// the write policy, refuse to be sent from it.
func (s *Session) ModelFrame() (author string, ok bool) {
	if s.tx == nil {
		return "", false
	}
	f, ok := s.tx.pol.active()
	return f.author, ok
}
