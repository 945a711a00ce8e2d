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
	"strings"
	"sync"
	"time"

	"batos/interp"
	"batos/kernel"
)

// errAbort ends every trial transaction: nothing a candidate does commits.
var errAbort = errors.New("sandbox trial: always aborted")

// Main is the child side of the protocol (`batos sandbox`): it reads one
// Request from stdin, runs the trial on the checkpoint the request names
// and writes one Response line to stdout. It returns 0 whenever it wrote a
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
	var req Request
	if err := json.NewDecoder(bufio.NewReader(os.Stdin)).Decode(&req); err != nil {
		writeResponse(stdout, Response{ErrorKind: KindOther, Error: "sandbox: bad request: " + oneLine(err.Error())})
		return 2
	}
	writeResponse(stdout, run(req))
	return 0
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

// run performs the trial. The checkpoint is a private throw-away copy, so
// setting its limits may commit to it; the trial itself never commits.
func run(req Request) Response {
	k, err := kernel.Open(req.Image, &kernel.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return Response{ErrorKind: KindOther, Error: "sandbox: open image: " + oneLine(err.Error())}
	}
	defer k.Close()
	ctx := context.Background()
	var saved []savedSlot
	if req.DeadlineMS > 0 || req.MaxDepth > 0 {
		s := k.NewSession("sandbox")
		if _, err := s.Run(ctx, "sandbox limits", func(lobby kernel.Object) error {
			var err error
			saved, err = setLimits(s, lobby, req)
			return err
		}); err != nil {
			return Response{ErrorKind: KindOther, Error: "sandbox: set limits: " + oneLine(err.Error())}
		}
	}
	if req.DeadlineMS > 0 {
		// A second stop besides the guard's deadline, which comes from
		// Lobby.system and so was set just above.
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
	out := &capWriter{max: MaxOutput}
	s.SetOutput(out)
	var resp Response
	recorded := false
	_, err = s.Run(ctx, "sandbox trial "+req.Selector, func(lobby kernel.Object) error {
		resp, recorded = trial(s, lobby, req, saved), true
		return errAbort
	})
	if !recorded {
		resp = Response{ErrorKind: classify(err), Error: oneLine(err.Error())}
	}
	resp.Output, resp.OutputTruncated = out.String(), out.truncated
	return resp
}

// savedSlot is a Lobby.system slot as it was before the sandbox set its
// limits there.
type savedSlot struct {
	name    string
	value   any // as stored
	present bool
}

// setLimits writes the request's deadline and depth limit into
// Lobby.system, where the kernel reads the limits of each evaluation, and
// returns the slots as they were, for trial to put back.
func setLimits(s *kernel.Session, lobby kernel.Object, req Request) ([]savedSlot, error) {
	sys, ok := lobby.Get("system").(kernel.Object)
	if !ok {
		return nil, errors.New("Lobby.system is not an object")
	}
	slots, err := s.SlotsOf(sys.OID())
	if err != nil {
		return nil, err
	}
	var saved []savedSlot
	set := func(name string, v int) {
		sv := savedSlot{name: name}
		for _, sl := range slots {
			if sl.Name == name {
				sv.value, sv.present = sl.Value, true
			}
		}
		saved = append(saved, sv)
		sys.Set(name, v)
	}
	if req.DeadlineMS > 0 {
		set("sendDeadline", req.DeadlineMS) // an int is milliseconds
	}
	if req.MaxDepth > 0 {
		set("maxDepth", req.MaxDepth)
	}
	return saved, nil
}

// trial defines the candidate where it would be installed and sends it to
// the receiver itself, inside the session's (to be aborted) transaction,
// after putting Lobby.system's slots back as they were in the image: the
// limits are already in force, and the candidate reads what the real run
// would.
func trial(s *kernel.Session, lobby kernel.Object, req Request, saved []savedSlot) Response {
	args := make([]any, len(req.Args))
	for i, a := range req.Args {
		args[i] = s.Bind(a)
	}
	if err := catch(func() { restoreLimits(s, lobby, saved) }); err != nil {
		return Response{ErrorKind: KindOther, Error: "sandbox: restore limits: " + oneLine(err.Error())}
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
	return Response{OK: true, Value: capString(s.Format(v), MaxOutput), ValueType: typeName(v), Writes: writes}
}

func restoreLimits(s *kernel.Session, lobby kernel.Object, saved []savedSlot) {
	if len(saved) == 0 {
		return
	}
	sys := lobby.Get("system").(kernel.Object)
	for _, sv := range saved {
		if sv.present {
			sys.Set(sv.name, s.Bind(sv.value))
		} else {
			sys.Remove(sv.name)
		}
	}
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
