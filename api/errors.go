package api

import (
	"errors"
	"fmt"
)

// ErrorKind says what went wrong, for callers that must branch on it.
type ErrorKind string

// Error kinds. A client branches on these, never on Message.
const (
	ErrSyntax        ErrorKind = "syntax"         // source does not parse, or breaks the method contract; Line, Col
	ErrCompile       ErrorKind = "compile"        // source parses but does not type-check; Line
	ErrForbidden     ErrorKind = "forbidden"      // an import outside the sandbox's packages; Line
	ErrNotUnderstood ErrorKind = "not-understood" // no slot answers Selector, and the pLLM did not write one
	ErrArgument      ErrorKind = "argument"       // a send's arguments do not fit the method; Selector
	ErrPanic         ErrorKind = "panic"          // a script panicked; Selector
	ErrDeadline      ErrorKind = "deadline"       // the evaluation ran past its deadline
	ErrCanceled      ErrorKind = "canceled"       // the client interrupted the evaluation
	ErrLimit         ErrorKind = "limit"          // call depth, steps, allocation or memory budget
	ErrConflict      ErrorKind = "conflict"       // a write conflict that retries did not resolve; Object, Tx
	ErrUndoConflict  ErrorKind = "undo-conflict"  // Tx cannot be undone: Object was changed since by ChangedBy
	ErrPolicy        ErrorKind = "policy"         // a model-written method wrote where its author may not; Object, Slot, Selector
	ErrSlot          ErrorKind = "slot"           // no such slot, or a value the slot cannot take; Object, Slot
	ErrNotFound      ErrorKind = "not-found"      // no such object or transaction
	ErrCorrupt       ErrorKind = "corrupt"        // the image holds a record that does not decode
	ErrReadOnly      ErrorKind = "read-only"      // the image is open read-only
	ErrLocked        ErrorKind = "locked"         // the image is in use by another process
	ErrClosed        ErrorKind = "closed"         // the image or the connection is closed
	ErrInvalid       ErrorKind = "invalid"        // a malformed request: bad parameters, an unknown method
	ErrOverloaded    ErrorKind = "overloaded"     // the client sent requests faster than its rate limit
	ErrInternal      ErrorKind = "internal"       // anything else
)

// Error is an error as every client receives it, in process or over the
// wire. Fields other than Kind and Message are set where the kind says.
type Error struct {
	Kind     ErrorKind `json:"kind"`
	Message  string    `json:"message"`            // one line, for people
	Line     int       `json:"line,omitempty"`     // 1-based line in the source the request carried
	Col      int       `json:"col,omitempty"`      // 1-based column, when known
	Tx       uint64    `json:"tx,omitempty"`       // the transaction concerned (asked to be undone; that conflicted)
	Object   *Ref      `json:"object,omitempty"`   // the object concerned
	Slot     string    `json:"slot,omitempty"`     // the slot concerned
	Selector string    `json:"selector,omitempty"` // the method concerned
	// ChangedBy is, for an undo conflict, the later transaction that
	// changed Object since Tx.
	ChangedBy uint64 `json:"changedBy,omitempty"`
	// Confirm is set on a not-understood error that the pLLM would answer
	// once a person confirms (Lobby.pLLM.confirm): the client asks, sends
	// Lobby.pLLM.allowWrite(Object, Selector) and runs the input again.
	Confirm bool `json:"confirm,omitempty"`
	// Frames is the chain of sends that led to a failure in a method,
	// outermost first, when there was more than the one the request made.
	Frames []Frame `json:"frames,omitempty"`
}

// Frame is one send of a failed chain: its receiver, the object its
// method was found on (nil for a primitive) and the line of that method's
// source where it failed or made the next send of the chain (0 when not
// known). A client opens Holder's Selector at Line to show it.
type Frame struct {
	Object   Ref    `json:"object"`
	Holder   *Ref   `json:"holder,omitempty"`
	Selector string `json:"selector"`
	Line     int    `json:"line,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error of kind with a formatted message.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns err's kind when it is (or wraps) an *Error, else "".
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// JSON-RPC 2.0 error codes. The protocol's own (-32700 … -32600) are for
// frames the server cannot read; every error an image method returns is
// CodeImage with the *Error in data.
const (
	CodeParse          = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternal       = -32603
	CodeImage          = -32000
	CodeOverloaded     = -32001
)
