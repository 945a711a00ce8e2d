package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"

	"batos/image"
	"batos/interp"
	"batos/kernel"
)

// Request is one trial: the candidate method Source for Selector, defined
// on Holder (Receiver itself when 0) and sent with Args to Receiver in the
// image as of LastTx (a view whose objects the child asks its parent for),
// in a transaction that is always aborted. Author is the
// principal the candidate is defined under; when it is a model's
// ("pLLM/BRICK", see kernel.ModelWritten) the trial runs under the image's
// write policy exactly as the installed method would; empty means
// "sandbox", which is not restricted (isolation only).
//
// Args are script values: nil, bool, int, int64, float64, string, []byte,
// []any, map[string]any and kernel.Object (image.Ref is accepted too),
// nested freely. They travel with their Go types intact (an int stays an
// int); objects travel by OID and are rebound to the child's session. A
// Request decoded from JSON holds image.Ref where the sender had an object.
type Request struct {
	// LastTx and NextOID describe the state the trial sees (an
	// image.ViewState); Runner.Trial fills them in.
	LastTx     image.TxID `json:"last_tx"`
	NextOID    image.OID  `json:"next_oid"`
	Receiver   image.OID  `json:"receiver"`
	Holder     image.OID  `json:"holder,omitempty"` // where the method is installed: the receiver or an object on its parent chain
	Selector   string     `json:"selector"`
	Source     string     `json:"source"`
	Author     string     `json:"author,omitempty"`
	Args       []any      `json:"-"`
	DeadlineMS int        `json:"deadline_ms,omitempty"` // 0: the image's Lobby.system.sendDeadline
	MaxDepth   int        `json:"max_depth,omitempty"`   // 0: the image's Lobby.system.maxDepth
	// Checks are further sends of Selector to Receiver, run after the
	// first in the same (aborted) transaction, in order: each must print
	// as its Want. A failed check fails the trial with KindCheck and a
	// counterexample.
	Checks []Check `json:"-"`
	// Objects are records of the trial's state sent ahead with the
	// request (Runner.Trial fills them in), so that the child does not ask
	// for them: each is what an "object" query of its OID would answer.
	Objects []Prefetched `json:"-"`
}

// Prefetched is an object of the trial's state sent with its request:
// its record (image.EncodeRecord's bytes), or Found false when no such
// object exists there.
type Prefetched struct {
	OID    image.OID `json:"oid"`
	Found  bool      `json:"found,omitempty"`
	Record []byte    `json:"record,omitempty"`
}

// Check is one example a candidate must answer: Selector sent to the
// receiver with Args prints as Want (Session.Format's text: 12, "abc",
// []any{1, 2}).
type Check struct {
	Args []any
	Want string
}

// Error kinds of a failed Response.
const (
	KindCompile       = "compile"        // the source does not parse, compile or name a valid selector
	KindPanic         = "panic"          // the method panicked with a non-error value or a Go runtime error
	KindDeadline      = "deadline"       // the deadline passed (or the sandbox process was killed by the hard timeout)
	KindDepth         = "depth"          // the call-depth limit was exceeded (runaway recursion)
	KindSteps         = "steps"          // the step budget was spent
	KindAlloc         = "alloc"          // an allocation exceeded the limit
	KindMemory        = "memory"         // the process's heap passed the memory budget and the evaluation was stopped
	KindNotUnderstood = "not_understood" // a send found no slot
	KindArgument      = "argument"       // the arguments do not fit the method's parameters
	KindPolicy        = "policy"         // the candidate wrote what the image's write policy forbids
	KindCheck         = "check"          // a check's send answered other than it wants
	KindOther         = "other"          // any other error the method returned or raised
	KindCrash         = "crash"          // the sandbox process died (fatal error, signal, no or garbled answer)
)

// MaxOutput caps Response.Output (and the printed Value) in bytes.
const MaxOutput = 64 << 10

// Response is the outcome of a trial. A failed candidate is data: OK is
// false and ErrorKind says why.
type Response struct {
	OK              bool   `json:"ok"`
	Value           string `json:"value,omitempty"`      // the result printed as Session.Eval prints it
	ValueType       string `json:"value_type,omitempty"` // its Go type ("int", "kernel.Object", "[]any"; "nil")
	Error           string `json:"error,omitempty"`      // one line
	ErrorKind       string `json:"error_kind,omitempty"`
	Output          string `json:"output,omitempty"` // fmt.Print output, at most MaxOutput bytes
	OutputTruncated bool   `json:"output_truncated,omitempty"`
	// Writes is the candidate's write set when it ran as model-written
	// code: the objects it created, the slots it set, removed or renamed
	// and the methods it defined, each once, in order; a write the policy
	// refused is marked Denied (it is the one Error names).
	Writes []Write `json:"writes,omitempty"`
}

// Write is one write of a trial's write set (see kernel.Write).
type Write struct {
	Op     string    `json:"op"` // create, set, define, remove, rename
	Object image.OID `json:"object"`
	Name   string    `json:"name"` // the object described
	Slot   string    `json:"slot,omitempty"`
	To     string    `json:"to,omitempty"` // a rename's new name
	Denied bool      `json:"denied,omitempty"`
}

func (w Write) String() string {
	return kernel.Write{Op: w.Op, Object: w.Object, Name: w.Name, Slot: w.Slot, To: w.To, Denied: w.Denied}.String()
}

// query is a line a child writes on its stdout for what its view reads:
// an object, an object's revisions or a transaction's record. The parent
// writes one answer line on the child's stdin for each, in order. Any other
// line is the Response.
type query struct {
	Query string     `json:"query"` // "object", "revisions", "txinfo"
	OID   image.OID  `json:"oid,omitempty"`
	Tx    image.TxID `json:"tx,omitempty"`
}

// answer is the parent's reply to a query; records are image.EncodeRecord's
// bytes.
type answer struct {
	Found     bool           `json:"found,omitempty"`
	Record    []byte         `json:"record,omitempty"`
	Revisions []wireRevision `json:"revisions,omitempty"`
	TxInfo    *image.TxInfo  `json:"txinfo,omitempty"`
	Error     string         `json:"error,omitempty"`
}

// wireRevision is an image.Revision; no Record means the object did not
// exist after Tx.
type wireRevision struct {
	Tx     image.TxID `json:"tx"`
	Record []byte     `json:"record,omitempty"`
}

// parseQuery reports whether line is a query, and which.
func parseQuery(line []byte) (query, bool) {
	var q query
	if json.Unmarshal(line, &q) != nil || q.Query == "" {
		return query{}, false
	}
	return q, true
}

// serve answers q from tx, a transaction of store whose snapshot is the
// trial's state.
func serve(store *image.Store, tx *image.Txn, q query) answer {
	fail := func(err error) answer { return answer{Error: oneLine(err.Error())} }
	switch q.Query {
	case "object":
		rec, found, err := tx.Get(q.OID)
		if err != nil {
			return fail(err)
		}
		if !found {
			return answer{}
		}
		b, err := image.EncodeRecord(rec)
		if err != nil {
			return fail(err)
		}
		return answer{Found: true, Record: b}
	case "revisions":
		revs, err := store.Revisions(q.OID)
		if err != nil {
			return fail(err)
		}
		a := answer{Found: true}
		for _, r := range revs {
			if r.Tx > tx.StartTx() {
				continue // after the trial's state
			}
			w := wireRevision{Tx: r.Tx}
			if r.Record != nil {
				if w.Record, err = image.EncodeRecord(r.Record); err != nil {
					return fail(err)
				}
			}
			a.Revisions = append(a.Revisions, w)
		}
		return a
	case "txinfo":
		if q.Tx > tx.StartTx() {
			return fail(fmt.Errorf("transaction %d: %w", q.Tx, image.ErrNotFound))
		}
		info, err := store.TxInfo(q.Tx)
		if err != nil {
			return fail(err)
		}
		return answer{Found: true, TxInfo: &info}
	}
	return fail(fmt.Errorf("unknown query %q", q.Query))
}

type wireRequest struct {
	LastTx     image.TxID        `json:"last_tx"`
	NextOID    image.OID         `json:"next_oid"`
	Receiver   image.OID         `json:"receiver"`
	Holder     image.OID         `json:"holder,omitempty"`
	Selector   string            `json:"selector"`
	Source     string            `json:"source"`
	Author     string            `json:"author,omitempty"`
	Args       []json.RawMessage `json:"args"`
	DeadlineMS int               `json:"deadline_ms,omitempty"`
	MaxDepth   int               `json:"max_depth,omitempty"`
	Checks     []wireCheck       `json:"checks,omitempty"`
	Objects    []Prefetched      `json:"objects,omitempty"`
}

type wireCheck struct {
	Args []json.RawMessage `json:"args"`
	Want string            `json:"want"`
}

func encodeArgs(args []any) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(args))
	for i, a := range args {
		v, err := encodeValue(a)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		if out[i], err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	return out, nil
}

func decodeArgs(raw []json.RawMessage) ([]any, error) {
	out := make([]any, len(raw))
	for i, r := range raw {
		v, err := decodeValue(r)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		out[i] = v
	}
	return out, nil
}

// MarshalJSON writes args as tagged values (see encodeValue).
func (r Request) MarshalJSON() ([]byte, error) {
	w := wireRequest{LastTx: r.LastTx, NextOID: r.NextOID, Receiver: r.Receiver, Holder: r.Holder, Selector: r.Selector, Source: r.Source, Author: r.Author,
		DeadlineMS: r.DeadlineMS, MaxDepth: r.MaxDepth, Objects: r.Objects}
	var err error
	if w.Args, err = encodeArgs(r.Args); err != nil {
		return nil, err
	}
	for i, c := range r.Checks {
		args, err := encodeArgs(c.Args)
		if err != nil {
			return nil, fmt.Errorf("check %d: %w", i+1, err)
		}
		w.Checks = append(w.Checks, wireCheck{Args: args, Want: c.Want})
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes; objects come back as image.Ref.
func (r *Request) UnmarshalJSON(b []byte) error {
	var w wireRequest
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = Request{LastTx: w.LastTx, NextOID: w.NextOID, Receiver: w.Receiver, Holder: w.Holder, Selector: w.Selector, Source: w.Source, Author: w.Author,
		DeadlineMS: w.DeadlineMS, MaxDepth: w.MaxDepth, Objects: w.Objects}
	var err error
	if r.Args, err = decodeArgs(w.Args); err != nil {
		return err
	}
	for i, c := range w.Checks {
		args, err := decodeArgs(c.Args)
		if err != nil {
			return fmt.Errorf("check %d: %w", i+1, err)
		}
		r.Checks = append(r.Checks, Check{Args: args, Want: c.Want})
	}
	return nil
}

// encodeValue turns a script value into a one-key JSON object naming its Go
// type: {"nil":true}, {"bool":b}, {"int":"n"}, {"int64":"n"},
// {"float64":"g"} (strconv text, so NaN and ±Inf survive), {"string":s},
// {"bytes":base64}, {"list":[...]}, {"map":{...}}, {"ref":oid}.
func encodeValue(v any) (map[string]any, error) {
	budget := interp.MaxWalkNodes
	return encodeValueAt(v, 0, &budget)
}

// encodeValueAt stops at image.MaxNesting, since an argument can contain
// itself, and after interp.MaxWalkNodes values, since one can share its
// parts so that its expansion is exponential.
func encodeValueAt(v any, depth int, budget *int) (map[string]any, error) {
	if depth > image.MaxNesting {
		return nil, errNested
	}
	if *budget--; *budget < 0 {
		return nil, errTooLarge
	}
	switch v := v.(type) {
	case nil:
		return map[string]any{"nil": true}, nil
	case bool:
		return map[string]any{"bool": v}, nil
	case int:
		return map[string]any{"int": strconv.Itoa(v)}, nil
	case int64:
		return map[string]any{"int64": strconv.FormatInt(v, 10)}, nil
	case float64:
		return map[string]any{"float64": strconv.FormatFloat(v, 'g', -1, 64)}, nil
	case string:
		return map[string]any{"string": v}, nil
	case []byte:
		return map[string]any{"bytes": base64.StdEncoding.EncodeToString(v)}, nil
	case kernel.Object:
		if v.OID() == 0 {
			return nil, errors.New("the zero Object")
		}
		return map[string]any{"ref": uint64(v.OID())}, nil
	case image.Ref:
		if v.OID == 0 {
			return nil, errors.New("a reference to object 0")
		}
		return map[string]any{"ref": uint64(v.OID)}, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			ev, err := encodeValueAt(e, depth+1, budget)
			if err == errNested || err == errTooLarge {
				return nil, err
			}
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = ev
		}
		return map[string]any{"list": out}, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			ev, err := encodeValueAt(e, depth+1, budget)
			if err == errNested || err == errTooLarge {
				return nil, err
			}
			if err != nil {
				return nil, fmt.Errorf("[%q]: %w", k, err)
			}
			out[k] = ev
		}
		return map[string]any{"map": out}, nil
	}
	if typ, ok := typedContainer(v); ok {
		// A typed slice or string-keyed map of scalars (the image's
		// typed containers): its elements tagged as above, its Go type
		// named so the child rebuilds it exactly, nil included.
		rv := reflect.ValueOf(v)
		if rv.IsNil() {
			return map[string]any{"typed": map[string]any{"type": typ, "nil": true}}, nil
		}
		var items []any
		entries := map[string]any{}
		switch rv.Kind() {
		case reflect.Slice:
			for i := range rv.Len() {
				ev, err := encodeValueAt(rv.Index(i).Interface(), depth+1, budget)
				if err != nil {
					return nil, err
				}
				items = append(items, ev)
			}
		case reflect.Map:
			for it := rv.MapRange(); it.Next(); {
				ev, err := encodeValueAt(it.Value().Interface(), depth+1, budget)
				if err != nil {
					return nil, err
				}
				entries[it.Key().String()] = ev
			}
		}
		return map[string]any{"typed": map[string]any{"type": typ, "items": items, "entries": entries}}, nil
	}
	return nil, fmt.Errorf("cannot pass a %T (allowed: nil, bool, int, int64, float64, string, []byte, []any, map[string]any, Object, and []T or map[string]T of bool, int, int64, float64 or string)", v)
}

// typedElems are the element types of the typed containers that cross.
var typedElems = map[string]reflect.Type{
	"bool": reflect.TypeFor[bool](), "int": reflect.TypeFor[int](), "int64": reflect.TypeFor[int64](),
	"float64": reflect.TypeFor[float64](), "string": reflect.TypeFor[string](),
}

// typedContainer names v's type when it is a []T or map[string]T of one
// of typedElems.
func typedContainer(v any) (string, bool) {
	t := reflect.TypeOf(v)
	if t == nil {
		return "", false
	}
	switch {
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8:
	case t.Kind() == reflect.Map && t.Key() == reflect.TypeFor[string]():
	default:
		return "", false
	}
	if e, known := typedElems[t.Elem().String()]; !known || e != t.Elem() {
		return "", false
	}
	return t.String(), true
}

// decodeTyped rebuilds a typed container.
func decodeTyped(body json.RawMessage) (any, error) {
	var w struct {
		Type    string                     `json:"type"`
		Nil     bool                       `json:"nil"`
		Items   []json.RawMessage          `json:"items"`
		Entries map[string]json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	var t reflect.Type
	for name, e := range typedElems {
		switch w.Type {
		case "[]" + name:
			t = reflect.SliceOf(e)
		case "map[string]" + name:
			t = reflect.MapOf(reflect.TypeFor[string](), e)
		}
	}
	if t == nil {
		return nil, fmt.Errorf("unknown typed container %q", w.Type)
	}
	if w.Nil {
		return reflect.Zero(t).Interface(), nil
	}
	conv := func(raw json.RawMessage) (reflect.Value, error) {
		v, err := decodeValue(raw)
		if err != nil {
			return reflect.Value{}, err
		}
		rv := reflect.ValueOf(v)
		if !rv.IsValid() || rv.Type() != t.Elem() {
			return reflect.Value{}, fmt.Errorf("a %T in a %s", v, w.Type)
		}
		return rv, nil
	}
	if t.Kind() == reflect.Slice {
		out := reflect.MakeSlice(t, 0, len(w.Items))
		for i, it := range w.Items {
			rv, err := conv(it)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out = reflect.Append(out, rv)
		}
		return out.Interface(), nil
	}
	out := reflect.MakeMapWithSize(t, len(w.Entries))
	for k, it := range w.Entries {
		rv, err := conv(it)
		if err != nil {
			return nil, fmt.Errorf("[%q]: %w", k, err)
		}
		out.SetMapIndex(reflect.ValueOf(k), rv)
	}
	return out.Interface(), nil
}

func decodeValue(raw json.RawMessage) (any, error) {
	var tagged map[string]json.RawMessage
	if err := json.Unmarshal(raw, &tagged); err != nil {
		return nil, err
	}
	if len(tagged) != 1 {
		return nil, fmt.Errorf("want one type tag, got %d", len(tagged))
	}
	for tag, body := range tagged {
		switch tag {
		case "nil":
			return nil, nil
		case "bool":
			var b bool
			return b, json.Unmarshal(body, &b)
		case "int", "int64", "float64":
			var s string
			if err := json.Unmarshal(body, &s); err != nil {
				return nil, err
			}
			switch tag {
			case "int":
				n, err := strconv.ParseInt(s, 10, strconv.IntSize)
				return int(n), err
			case "int64":
				return strconv.ParseInt(s, 10, 64)
			}
			return strconv.ParseFloat(s, 64)
		case "string":
			var s string
			return s, json.Unmarshal(body, &s)
		case "bytes":
			var s string
			if err := json.Unmarshal(body, &s); err != nil {
				return nil, err
			}
			return base64.StdEncoding.DecodeString(s)
		case "ref":
			var oid uint64
			if err := json.Unmarshal(body, &oid); err != nil {
				return nil, err
			}
			if oid == 0 {
				return nil, errors.New("a reference to object 0")
			}
			return image.Ref{OID: image.OID(oid)}, nil
		case "list":
			var items []json.RawMessage
			if err := json.Unmarshal(body, &items); err != nil {
				return nil, err
			}
			out := make([]any, len(items))
			for i, it := range items {
				v, err := decodeValue(it)
				if err != nil {
					return nil, fmt.Errorf("[%d]: %w", i, err)
				}
				out[i] = v
			}
			return out, nil
		case "map":
			var items map[string]json.RawMessage
			if err := json.Unmarshal(body, &items); err != nil {
				return nil, err
			}
			out := make(map[string]any, len(items))
			for k, it := range items {
				v, err := decodeValue(it)
				if err != nil {
					return nil, fmt.Errorf("[%q]: %w", k, err)
				}
				out[k] = v
			}
			return out, nil
		}
		if tag == "typed" {
			return decodeTyped(body)
		}
		return nil, fmt.Errorf("unknown type tag %q", tag)
	}
	panic("unreachable")
}

// errNested reports a value nested deeper than image.MaxNesting, which a
// cyclic value always is; it is not wrapped with the path at every level.
var errNested = fmt.Errorf("value nested deeper than %d levels (or cyclic)", image.MaxNesting)

// errTooLarge reports a value of more than interp.MaxWalkNodes elements,
// counting a shared part once per place it appears.
var errTooLarge = fmt.Errorf("value larger than %d elements (counting shared parts once per place)", interp.MaxWalkNodes)
