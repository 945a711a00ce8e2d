package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"batos/image"
	"batos/interp"
	"batos/kernel"
)

// errAbort ends every trial transaction: nothing a candidate does commits.
var errAbort = errors.New("sandbox trial: always aborted")

// Main is the child side of the protocol (`batos sandbox`): it reads one
// Request from stdin, runs the trial on a view of the parent's image (its
// queries on stdout, the answers on stdin) and writes one Response line to
// stdout. It returns 0 whenever it wrote a
// response, however the candidate failed; 2 when it could not read the
// request.
func Main() int {
	if !raceEnabled {
		limitMemory(MaxMemory)
	}
	// Stray writes to os.Stdout (there should be none: scripts' fmt output
	// is captured) must not corrupt the response.
	stdout := os.Stdout
	os.Stdout = os.Stderr
	// What does not depend on the request is done before reading it: a
	// warm child (Runner.Warm) does it while it waits.
	c, err := kernel.NewCompiler(0)
	if err == nil {
		err = c.Prepare()
	}
	if err != nil {
		c = nil // Open makes its own and reports what fails
	} else {
		warmUp(c)
	}
	// Making the compiler leaves a collection under way: it is finished
	// now, so that a ready child is idle, not marking its heap on a core
	// the trial's parent needs.
	runtime.GC()
	signalReady()
	var req Request
	dec := json.NewDecoder(bufio.NewReader(os.Stdin))
	if err := dec.Decode(&req); err != nil {
		writeResponse(stdout, Response{ErrorKind: KindOther, Error: "sandbox: bad request: " + oneLine(err.Error())})
		return 2
	}
	src := &pipeSource{enc: json.NewEncoder(stdout), dec: dec, sent: make(map[image.OID]Prefetched, len(req.Objects))}
	for _, o := range req.Objects {
		src.sent[o.OID] = o
	}
	writeResponse(stdout, run(req, c, src))
	return 0
}

// pipeSource is the child's image.Source and image.History: it asks the
// parent, one query line on stdout and one answer line on stdin at a time,
// for what the request did not send ahead.
type pipeSource struct {
	mu   sync.Mutex
	enc  *json.Encoder
	dec  *json.Decoder
	sent map[image.OID]Prefetched // Request.Objects
}

func (p *pipeSource) ask(q query) (answer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var a answer
	if err := p.enc.Encode(q); err != nil {
		return a, fmt.Errorf("sandbox: ask the image process: %w", err)
	}
	if err := p.dec.Decode(&a); err != nil {
		return a, fmt.Errorf("sandbox: the image process's answer: %w", err)
	}
	if a.Error != "" {
		return a, errors.New(a.Error)
	}
	return a, nil
}

func (p *pipeSource) Object(oid image.OID) (*image.Record, bool, error) {
	o, ok := p.sent[oid] // read-only once the request is decoded
	a := answer{Found: o.Found, Record: o.Record}
	if !ok {
		var err error
		if a, err = p.ask(query{Query: "object", OID: oid}); err != nil {
			return nil, false, err
		}
	}
	if !a.Found {
		return nil, false, nil
	}
	rec, err := image.DecodeRecord(oid, a.Record)
	return rec, err == nil, err
}

func (p *pipeSource) Revisions(oid image.OID) ([]image.Revision, error) {
	a, err := p.ask(query{Query: "revisions", OID: oid})
	if err != nil {
		return nil, err
	}
	revs := make([]image.Revision, len(a.Revisions))
	for i, w := range a.Revisions {
		revs[i].Tx = w.Tx
		if w.Record != nil {
			if revs[i].Record, err = image.DecodeRecord(oid, w.Record); err != nil {
				return nil, err
			}
		}
	}
	return revs, nil
}

func (p *pipeSource) TxInfo(id image.TxID) (image.TxInfo, error) {
	a, err := p.ask(query{Query: "txinfo", Tx: id})
	if err != nil {
		return image.TxInfo{}, err
	}
	if a.TxInfo == nil {
		return image.TxInfo{}, fmt.Errorf("transaction %d: %w", id, image.ErrNotFound)
	}
	return *a.TxInfo, nil
}

// signalReady writes a byte on the descriptor the runner named in
// readyEnv, if any (see Runner.Ready).
func signalReady() {
	fd, err := strconv.Atoi(os.Getenv(readyEnv))
	if err != nil || fd < 3 {
		return
	}
	if f := os.NewFile(uintptr(fd), "ready"); f != nil {
		_, _ = f.Write([]byte{1})
		f.Close()
	}
}

// MaxMemory is the sandbox process's address-space limit.
const MaxMemory = 4 << 30

func writeResponse(w io.Writer, resp Response) {
	b, err := json.Marshal(resp)
	if err != nil { // cannot happen: Response holds strings, bools, numbers
		b = []byte(`{"ok":false,"error_kind":"other","error":"sandbox: cannot encode the response"}`)
	}
	_, _ = w.Write(append(b, '\n'))
}

// run performs the trial. The request's limits are the session's own
// (Session.SetLimits): nothing is written into the image, so the
// candidate reads Lobby.system as its real run will; the trial itself
// never commits.
//
// The image is a view of the parent's as of req.LastTx, its objects read
// from src, run with c, a compiler made ahead, when not nil. It is not
// closed: the process exits once the response is written.
func run(req Request, c *interp.Compiler, src image.Source) Response {
	view := image.OpenView(src, image.ViewState{LastTx: req.LastTx, NextOID: req.NextOID})
	k, err := kernel.Open("", &kernel.Options{Store: view, Logger: slog.New(slog.DiscardHandler), Compiler: c})
	if err != nil {
		return Response{ErrorKind: KindOther, Error: "sandbox: open image: " + oneLine(err.Error())}
	}
	ctx := context.Background()
	if req.DeadlineMS > 0 {
		// A second stop besides the guard's deadline.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.DeadlineMS)*time.Millisecond)
		defer cancel()
	}
	author := req.Author
	if author == "" {
		author = "sandbox"
	}
	// The trial's session has the candidate's author as its principal, so
	// the method it defines records that author, and a model's runs under
	// the write policy as it will once installed.
	s := k.NewSession(author)
	s.SetLimits(func(l interp.Limits) interp.Limits {
		if req.DeadlineMS > 0 {
			l.Deadline = time.Duration(req.DeadlineMS) * time.Millisecond
		}
		if req.MaxDepth > 0 {
			l.MaxDepth = req.MaxDepth
		}
		return l
	})
	out := &capWriter{max: MaxOutput}
	s.SetOutput(out)
	var resp Response
	recorded := false
	_, err = s.Run(ctx, "sandbox trial "+req.Selector, func(lobby kernel.Object) error {
		resp, recorded = trial(s, req), true
		return errAbort
	})
	if !recorded {
		resp = Response{ErrorKind: classify(err), Error: oneLine(err.Error())}
	}
	resp.Output, resp.OutputTruncated = out.String(), out.truncated
	return resp
}

// trial defines the candidate where it would be installed and sends it to
// the receiver itself, inside the session's (to be aborted) transaction.
func trial(s *kernel.Session, req Request) Response {
	args := make([]any, len(req.Args))
	for i, a := range req.Args {
		args[i] = s.Bind(a)
	}
	recv := s.Object(req.Receiver)
	holder := recv
	if req.Holder != 0 {
		holder = s.Object(req.Holder)
	}
	for _, o := range []kernel.Object{recv, holder} {
		if err := catch(func() { o.Slots() }); err != nil {
			return Response{ErrorKind: KindOther, Error: fmt.Sprintf("sandbox: receiver: %s", oneLine(err.Error()))}
		}
	}
	if err := catch(func() { holder.Define(req.Selector, req.Source) }); err != nil {
		return Response{ErrorKind: KindCompile, Error: oneLine(err.Error())}
	}
	var v any
	err := catch(func() { v = recv.Send(req.Selector, args...) })
	writes := writeSet(s.ModelWrites())
	if err != nil {
		return Response{ErrorKind: classify(err), Error: oneLine(err.Error()), Writes: writes}
	}
	resp := Response{OK: true, Value: capString(s.Format(v), MaxOutput), ValueType: typeName(v), Writes: writes}
	for i, c := range req.Checks {
		args := make([]any, len(c.Args))
		for j, a := range c.Args {
			args[j] = s.Bind(a)
		}
		var got any
		err := catch(func() { got = recv.Send(req.Selector, args...) })
		resp.Writes = writeSet(s.ModelWrites())
		call := checkCall(s, req.Selector, args)
		if err != nil {
			return Response{ErrorKind: classify(err), Error: oneLine(fmt.Sprintf("check %d, %s: %v", i+1, call, err)), Writes: resp.Writes}
		}
		if text := s.Format(got); text != c.Want {
			return Response{ErrorKind: KindCheck, Error: oneLine(fmt.Sprintf("check %d: %s = %s, want %s", i+1, call, capString(text, 200), c.Want)), Writes: resp.Writes}
		}
	}
	return resp
}

// checkCall writes a check's send as a script would: area(3, "x").
func checkCall(s *kernel.Session, sel string, args []any) string {
	texts := make([]string, len(args))
	for i, a := range args {
		texts[i] = capString(s.Format(a), 80)
	}
	return sel + "(" + strings.Join(texts, ", ") + ")"
}

func writeSet(ws []kernel.Write) []Write {
	if len(ws) == 0 {
		return nil
	}
	out := make([]Write, len(ws))
	for i, w := range ws {
		out[i] = Write{Op: w.Op, Object: w.Object, Name: w.Name, Slot: w.Slot, To: w.To, Denied: w.Denied}
	}
	return out
}

// catch runs fn and returns what it panicked with as an error.
func catch(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
			} else {
				err = &interp.PanicError{Value: r}
			}
		}
	}()
	fn()
	return nil
}

// classify maps a send's error to a Response.ErrorKind.
func classify(err error) string {
	var (
		stop *interp.StopError
		pe   *interp.PanicError
		ae   *interp.ArgumentError
		se   *interp.SyntaxError
		fe   *interp.ForbiddenImportError
	)
	var pol *kernel.PolicyError
	switch {
	case errors.As(err, &pol):
		return KindPolicy
	case errors.As(err, &stop):
		switch stop.Reason {
		case interp.StopDeadline, interp.StopCanceled:
			return KindDeadline
		case interp.StopDepth:
			return KindDepth
		case interp.StopSteps:
			return KindSteps
		case interp.StopAlloc:
			return KindAlloc
		case interp.StopMemory:
			return KindMemory
		}
	case errors.Is(err, context.DeadlineExceeded):
		return KindDeadline
	case kernel.IsNotUnderstood(err):
		return KindNotUnderstood
	case errors.As(err, &ae):
		return KindArgument
	case errors.As(err, &pe):
		return KindPanic
	case errors.As(err, &se), errors.As(err, &fe):
		return KindCompile // a method the candidate defined or sent to does not compile
	}
	return KindOther
}

// typeName names v's Go type the way a script would write it.
func typeName(v any) string {
	if v == nil {
		return "nil"
	}
	return strings.ReplaceAll(fmt.Sprintf("%T", v), "interface {}", "any")
}

// oneLine keeps the first line of s, marking that more followed.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i]) + " …"
	}
	return capString(s, 1024)
}

func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// capWriter keeps the first max bytes written to it.
type capWriter struct {
	mu        sync.Mutex
	max       int
	b         strings.Builder
	truncated bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - w.b.Len(); len(p) > room {
		w.b.Write(p[:max(room, 0)])
		w.truncated = true
	} else {
		w.b.Write(p)
	}
	return len(p), nil
}

func (w *capWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// warmUp runs, before the request comes, what every trial runs for the
// first time in its process: a compile and a call, and the decoding and
// encoding of the protocol's types (encoding/json builds its codec for a
// type on first use). A trial then spends its time on the candidate.
func warmUp(c *interp.Compiler) {
	if m, err := c.Compile(warmUpSelector, warmUpSource); err == nil {
		g := interp.NewGuard(context.Background(), interp.Limits{})
		_, _ = m.Call(g, nil, []any{3})
		g.Release()
	}
	req := Request{Selector: warmUpSelector, Source: warmUpSource, Args: []any{1, "s", []any{true}}, Checks: []Check{{Args: []any{2}, Want: "1"}},
		Objects: []Prefetched{{OID: image.RootOID, Found: true, Record: []byte{1}}}}
	if b, err := json.Marshal(req); err == nil {
		_ = json.Unmarshal(b, &req)
	}
	_, _ = json.Marshal(Response{Writes: []Write{{Op: "set"}}})
	if b, err := json.Marshal(answer{Revisions: []wireRevision{{}}, TxInfo: &image.TxInfo{}}); err == nil {
		_ = json.Unmarshal(b, &answer{})
	}
	_, _ = json.Marshal(query{})
}

// The method warmUp compiles and calls.
const (
	warmUpSelector = "sandboxWarmUp"
	warmUpSource   = `func sandboxWarmUp(self Object, n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i
	}
	return s
}`
)
