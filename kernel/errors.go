package kernel

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"batos/image"
	"batos/interp"
)

// NotUnderstoodError reports a send whose selector no slot on the
// receiver's lookup chain answers, after doesNotUnderstand declined too.
type NotUnderstoodError struct {
	Receiver string // described receiver, e.g. "Lobby" or "object 12"
	Selector string
	Args     int
}

func (e *NotUnderstoodError) Error() string {
	return fmt.Sprintf("%s does not understand %s (with %d argument%s)", e.Receiver, e.Selector, e.Args, plural(e.Args))
}

// SlotError reports a slot operation on a name the object does not have,
// or a value the slot cannot take.
type SlotError struct {
	Object string
	Slot   string
	Msg    string
}

func (e *SlotError) Error() string { return fmt.Sprintf("%s.%s: %s", e.Object, e.Slot, e.Msg) }

// ErrNoTransaction is returned when an Object handle is used outside the
// top-level evaluation of its session, for example after it committed.
var ErrNoTransaction = errors.New("object used outside a transaction (handles are valid only while their session evaluates)")

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// RetryError asks the evaluation boundary to run the top-level input again
// on a fresh snapshot, as after a write conflict: a primitive returns it
// when it committed something (a method the pLLM installed) that the
// caller's older snapshot cannot see.
type RetryError struct {
	Reason string
	// After, when set, is the commit the retry is for, which may not be
	// durable yet (Session.Apply): the evaluation runs again at once, and
	// returns only once After is durable too. So an input whose retry
	// answers from a method just installed never reports that answer
	// before the method is on disk.
	After *Pending
}

func (e *RetryError) Error() string { return "retry: " + e.Reason }

// ErrSessionClosed is returned by a session that abandoned an evaluation
// still running in a native call; open a new session.
var ErrSessionClosed = errors.New("session closed after an abandoned evaluation: open a new session")

// SendError is an error that came out of a method, with the chain of sends
// that reached it, outermost first: a failure deep in nested sends says
// which sends led there. It unwraps to the error itself.
type SendError struct {
	Chain []Frame
	Err   error
}

// Frame is one send of a chain.
type Frame struct {
	Receiver string    // described, e.g. "shape (object 15)"
	Object   image.OID // the receiver
	Selector string
	// Holder is the object the method was found on (the receiver or one
	// of its parents), 0 for a primitive.
	Holder image.OID
	// Line is the line of the method's source the failure was at: where
	// the innermost method failed, when the error says; in an outer
	// method, its send to the next frame's selector, when the source has
	// one line that sends it; 0 when not known.
	Line int
}

func (e *SendError) Error() string {
	if len(e.Chain) < 2 {
		return e.Err.Error() // the send the user made says it all
	}
	parts := make([]string, len(e.Chain))
	for i, f := range e.Chain {
		parts[i] = f.Receiver + "." + f.Selector
		if f.Line > 0 {
			parts[i] += ":" + strconv.Itoa(f.Line)
		}
	}
	return fmt.Sprintf("%v (sends: %s)", e.Err, strings.Join(parts, " → "))
}

func (e *SendError) Unwrap() error { return e.Err }

// maxChain bounds the frames a SendError keeps: the outermost and the
// innermost matter; a runaway recursion's middle does not.
const maxChain = 12

// framed adds the send of sel to recv, found as b, to err's chain.
// Errors that belong to the evaluation rather than to a method (a retry,
// an abandoned session) pass unchanged.
func (s *Session) framed(err error, recv image.OID, sel string, b binding) error {
	if err == nil {
		return nil // before the errors.As below, whose target would escape
	}
	var retry *RetryError
	if errors.As(err, &retry) || errors.Is(err, ErrSessionClosed) {
		return err
	}
	f := Frame{Receiver: s.describe(recv), Object: recv, Selector: sel}
	src := ""
	if m, ok := b.slot.Value.(image.Method); ok {
		f.Holder, src = b.holder, m.Source
	}
	var se *SendError
	if errors.As(err, &se) && se == err {
		f.Line = sendLine(src, se.Chain[0].Selector)
		if len(se.Chain) < maxChain {
			se.Chain = append([]Frame{f}, se.Chain...)
		} else {
			se.Chain = append([]Frame{f}, se.Chain[len(se.Chain)-maxChain+1:]...)
		}
		return se
	}
	f.Line = failedLine(err, sel, src)
	return &SendError{Chain: []Frame{f}, Err: err}
}

// failedLine is the line of method sel's source src that err says
// failed: the error's own line, or the line of the send nobody
// understood; 0 when err does not say.
func failedLine(err error, sel, src string) int {
	var pe *interp.PanicError
	var se *interp.SyntaxError
	var nu *NotUnderstoodError
	switch {
	case errors.As(err, &pe) && pe.Selector == sel:
		return pe.Line
	case errors.As(err, &se) && se.Selector == sel:
		return se.Line
	case errors.As(err, &nu):
		return sendLine(src, nu.Selector)
	}
	return 0
}

// sendLine is the line of src that sends sel, when exactly one does.
func sendLine(src, sel string) int {
	line := 0
	sites, _ := interp.Sends(src)
	for _, site := range sites {
		if site.Selector != sel {
			continue
		}
		if line != 0 && site.Line != line {
			return 0
		}
		line = site.Line
	}
	return line
}
