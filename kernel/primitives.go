package kernel

import (
	"context"
	"fmt"

	"batos/image"
)

// Primitive is a native behaviour. Slots name primitives; the kernel binds
// the name to a Primitive at send time.
type Primitive func(c *PrimitiveCall) (any, error)

// PrimitiveCall is one activation of a primitive.
type PrimitiveCall struct {
	Session  *Session
	Self     Object
	Selector string // the selector the slot was found under
	Args     []any
	// Context is the evaluation's context: cancelled when the user
	// cancels the top-level input.
	Context context.Context
}

// AfterCommit registers fn to run once the call's transaction is settled:
// committed true after it is durable, false after it aborted (and so after
// each abandoned attempt of an input that is retried). It runs outside
// every store lock and may start transactions.
func (c *PrimitiveCall) AfterCommit(fn func(committed bool)) {
	c.Session.tx.it.AfterCommit(func(_ image.TxInfo, committed bool) { fn(committed) })
}

// Suspend stops the evaluation's deadline clock until resume is called, for
// a primitive that waits on the outside world under its own timeout.
func (c *PrimitiveCall) Suspend() (resume func()) { return c.Session.guard.Suspend() }

func defaultPrimitives() map[string]Primitive {
	return map[string]Primitive{
		"doesNotUnderstand": primDoesNotUnderstand,
		"printString":       primPrintString,
		"respondsTo":        primRespondsTo,
		"infer":             primInfer,
		"allowWrite":        primNoPLLM,
		"fineTune":          primNoForge,
		"cancelJob":         primNoForge,
		"measureEntropy":    primNoEntropy,
		"recordEntropy":     primNoEntropy,
		"autotelicStep":     primNoAutotelic,
		"autotelicMandates": primNoAutotelic,
		"pllmBench":         primNoBench,
	}
}

// primNoBench is the pLLM's bench where package bench is not installed
// (it rebinds it).
func primNoBench(c *PrimitiveCall) (any, error) {
	return nil, fmt.Errorf("%s: the pLLM bench is not installed in this process", c.Selector)
}

// primNoEntropy is the metric's primitives where package entropy is not
// installed (it rebinds them).
func primNoEntropy(c *PrimitiveCall) (any, error) {
	return nil, fmt.Errorf("%s: the entropy metric is not installed in this process", c.Selector)
}

// primNoAutotelic is the autotelic loop's step where package autotelic
// is not installed (it rebinds it).
func primNoAutotelic(c *PrimitiveCall) (any, error) {
	return nil, fmt.Errorf("%s: the autotelic loop is not installed in this process", c.Selector)
}

// primNoForge is the Forge's primitives in a process that runs no Forge
// (package forge rebinds them).
func primNoForge(c *PrimitiveCall) (any, error) {
	return nil, fmt.Errorf("%s: the Forge does not run in this process (batos eval); use the TUI, batos serve or batos forge", c.Selector)
}

// primDoesNotUnderstand is the default doesNotUnderstand: it fails the
// send. The pLLM replaces it by delegation once it lives in the image.
func primDoesNotUnderstand(c *PrimitiveCall) (any, error) {
	sel, _ := Arg[string](c.Args, 0)
	args, _ := Arg[[]any](c.Args, 1)
	return nil, &NotUnderstoodError{Receiver: c.Session.describe(c.Self.oid), Selector: sel, Args: len(args)}
}

func primPrintString(c *PrimitiveCall) (any, error) {
	if len(c.Args) != 0 {
		return nil, fmt.Errorf("printString: want no arguments, got %d", len(c.Args))
	}
	return c.Session.describe(c.Self.oid), nil
}

// primNoPLLM is the pLLM's primitives other than infer where package
// pllm is not installed (it rebinds them).
func primNoPLLM(c *PrimitiveCall) (any, error) {
	return nil, fmt.Errorf("%s: the pLLM is not installed in this process", c.Selector)
}

// primInfer is the default infer: this process runs without a model
// client. Package pllm rebinds it.
func primInfer(c *PrimitiveCall) (any, error) {
	return nil, fmt.Errorf("infer: the pLLM is not installed in this process")
}

// primRespondsTo answers whether the receiver's lookup chain has a slot
// for the selector, without sending it.
func primRespondsTo(c *PrimitiveCall) (any, error) {
	sel, ok := Arg[string](c.Args, 0)
	if !ok || len(c.Args) != 1 {
		return nil, fmt.Errorf("respondsTo: want one string argument")
	}
	_, found, err := c.Session.tx.resolve(c.Self.oid, sel)
	return found, err
}

// Arg returns args[i] as a T, and whether it is one: how primitives read
// their arguments.
func Arg[T any](args []any, i int) (T, bool) {
	var zero T
	if i >= len(args) {
		return zero, false
	}
	v, ok := args[i].(T)
	return v, ok
}
