package interp

import (
	"errors"
	"fmt"
)

// StopReason says which limit of a Guard stopped an evaluation.
type StopReason int

const (
	StopDeadline StopReason = iota + 1 // the deadline passed
	StopCanceled                       // the context was canceled
	StopDepth                          // the call-depth limit was exceeded
	StopSteps                          // the step budget was spent
	StopAlloc                          // an allocation exceeded MaxAlloc
	StopMemory                         // the heap exceeded MemoryBudget (the memory watchdog)
)

// Sentinels for errors.Is: errors.Is(err, ErrDeadline) holds for a
// *StopError with Reason StopDeadline, and so on.
var (
	ErrDeadline = errors.New("deadline exceeded")
	ErrCanceled = errors.New("evaluation canceled")
	ErrDepth    = errors.New("call depth limit exceeded")
	ErrSteps    = errors.New("step limit exceeded")
	ErrAlloc    = errors.New("allocation limit exceeded")
	ErrMemory   = errors.New("memory budget exceeded")
)

// StopError is the panic value of a Guard that stopped an evaluation, and
// the error Method.Call and Workspace.Eval return for it.
type StopError struct {
	Reason StopReason
	Limit  string // the limit that was hit: "5s", "depth 10000", "1000000000 steps", "64 MiB per allocation"
	Detail string // what hit it, when known: "make asked for 8 GiB"
}

func (e *StopError) Error() string {
	if e.Detail != "" {
		return e.message() + ": " + e.Detail
	}
	return e.message()
}

func (e *StopError) message() string {
	switch e.Reason {
	case StopDeadline:
		return fmt.Sprintf("deadline exceeded (%s)", e.Limit)
	case StopCanceled:
		return "evaluation canceled"
	case StopDepth:
		return fmt.Sprintf("call %s exceeded (runaway recursion?)", e.Limit)
	case StopSteps:
		return fmt.Sprintf("step limit exceeded (%s; runaway loop?)", e.Limit)
	case StopAlloc:
		return fmt.Sprintf("allocation limit exceeded (%s)", e.Limit)
	case StopMemory:
		return fmt.Sprintf("out of memory for scripts (%s)", e.Limit)
	}
	return "evaluation stopped"
}

// Unwrap returns the sentinel for e.Reason, so errors.Is works.
func (e *StopError) Unwrap() error {
	switch e.Reason {
	case StopDeadline:
		return ErrDeadline
	case StopCanceled:
		return ErrCanceled
	case StopDepth:
		return ErrDepth
	case StopSteps:
		return ErrSteps
	case StopAlloc:
		return ErrAlloc
	case StopMemory:
		return ErrMemory
	}
	return nil
}

// SyntaxError reports method or workspace source that does not parse or
// breaks the method source contract, or that Go's compiler would refuse
// (Compile). Line and Col are 1-based positions in the source as the
// user wrote it; Col is 0 when unknown, Line too.
type SyntaxError struct {
	Selector string // empty for workspace input
	Line     int
	Col      int
	Msg      string
	// Compile is set when the source parsed but the interpreter refused
	// it (an undefined name, a type mismatch).
	Compile bool
}

func (e *SyntaxError) Error() string {
	pos := fmt.Sprintf("line %d: ", e.Line)
	switch {
	case e.Line == 0:
		pos = "" // unknown
	case e.Col > 0:
		pos = fmt.Sprintf("line %d:%d: ", e.Line, e.Col)
	}
	if e.Selector == "" {
		return pos + e.Msg
	}
	return fmt.Sprintf("method %s: %s%s", e.Selector, pos, e.Msg)
}

// ForbiddenImportError reports an import of a package outside the curated
// set (os, net, syscall, unsafe, reflect, ...).
type ForbiddenImportError struct {
	Package string
	Line    int
}

func (e *ForbiddenImportError) Error() string {
	return fmt.Sprintf("import %q is not allowed in methods (line %d)", e.Package, e.Line)
}

// ArgumentError reports a call whose arguments do not fit the method's
// parameters: a wrong count (Index 0) or a value that does not convert
// losslessly to the parameter's type.
type ArgumentError struct {
	Selector string
	Index    int   // 1-based argument index; 0 for a count mismatch
	Param    Param // the parameter, when Index > 0
	Got      any   // the offending value, when Index > 0
	Want     int   // parameters wanted (fixed ones for a variadic method), when Index == 0
	Variadic bool
	Count    int // arguments given, when Index == 0
}

func (e *ArgumentError) Error() string {
	if e.Index == 0 {
		least := ""
		if e.Variadic {
			least = "at least "
		}
		noun := "arguments"
		if e.Want == 1 {
			noun = "argument"
		}
		return fmt.Sprintf("%s: want %s%d %s, got %d", e.Selector, least, e.Want, noun, e.Count)
	}
	return fmt.Sprintf("%s: argument %d (%s %s): got %s", e.Selector, e.Index, e.Param.Name, e.Param.Type, describe(e.Got))
}

func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case string:
		return fmt.Sprintf("string %q", v)
	}
	return fmt.Sprintf("%T %s", v, Sprint(v))
}

// PanicError is a panic inside a method or workspace entry whose value is
// not an error (or is a Go runtime error, such as an index out of range).
// Runtime failures yaegi or reflect report in their own words carry a
// runtimeError in Go's (see goerrors.go).
type PanicError struct {
	Selector string // empty for workspace input
	Value    any
	// Line and Col are the 1-based position of the failing operation in
	// the source as written, when known (yaegi knows it for the type
	// assertions it checks itself); 0 when not.
	Line, Col int
}

func (e *PanicError) Error() string {
	// The value is the script's: printing it is bounded like any other.
	v := Sprint(e.Value)
	if err, ok := e.Value.(error); ok {
		v = err.Error()
	}
	pos := ""
	if e.Line > 0 {
		pos = fmt.Sprintf("line %d:%d: ", e.Line, e.Col)
	}
	switch {
	case e.Selector == "":
		return fmt.Sprintf("%spanic: %s", pos, v)
	case pos != "":
		return fmt.Sprintf("method %s: %spanic: %s", e.Selector, pos, v)
	}
	return fmt.Sprintf("panic in %s: %s", e.Selector, v)
}

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// safeError returns e, or the refusal in its place when calling e's Error
// method would recurse without bound (see CheckError): every error a
// script hands the kernel passes here.
func safeError(e error) error {
	if err := CheckError(e); err != nil {
		return err
	}
	return e
}
