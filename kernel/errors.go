package kernel

import (
	"errors"
	"fmt"
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
type RetryError struct{ Reason string }

func (e *RetryError) Error() string { return "retry: " + e.Reason }

// ErrSessionClosed is returned by a session that abandoned an evaluation
// still running in a native call; open a new session.
var ErrSessionClosed = errors.New("session closed after an abandoned evaluation: open a new session")
