// Package interp runs batos methods and workspace input: Go source
// interpreted by yaegi, sandboxed, and preemptible by a Guard.
//
// It knows nothing of the image or the kernel's object model. The kernel
// hands it its script API as yaegi exports (Config.Exports, a package whose
// Object type is the receiver type) and calls compiled methods through
// Method.Call.
//
// # Model
//
// A method is one Go function declaration named after its selector, with
// the receiver first, optionally preceded by imports of curated packages:
//
//	func area(self Object, scale float64) float64 { return self.Get("w").(float64) * scale }
//
// Compile takes source through four steps, once per (selector, source) and
// interpreter generation:
//
//  1. parse and validate with go/parser (ParseMethod): the name, self
//     Object first, exactly one declaration, only curated imports, no go
//     statements, channels or select (a method can't block the image), no
//     identifiers with the reserved prefix batos_. Errors are one line with
//     the line number: *SyntaxError, *ForbiddenImportError.
//  2. rewrite the syntax tree by text edits that never add a line (so
//     interpreter errors keep the user's line numbers): the function gets a
//     hidden name (batos_m42_area) and a hidden first parameter, the
//     *Guard, which the interpreter meters it by (below); recover() becomes
//     Guard.Recover(recover()); make sizes are checked in bytes against
//     MaxAlloc, and library calls whose allocation grows with an argument
//     or a product of inputs (strings.Repeat, Replace, Split, FormatFloat's
//     precision, json.MarshalIndent, rand.Perm, ... see guardedLib) go
//     through Guard methods that check it first; fmt's functions refuse
//     values CheckPrint rejects and write to the evaluation's
//     Limits.Stdout, at most MaxOutput bytes (output follows the session,
//     not the process); curated package references (with or
//     without an import) are renamed to hidden import names, so a local
//     variable called strings cannot break them; Config.Contextual free
//     identifiers (Lobby) become expressions over the receiver.
//  3. compile into the shared interpreter, whose prelude imported the
//     curated packages, the Guard and the API package (dot import, so
//     Object is unqualified) once.
//  4. cache a native entry to the function (yaegi's Interpreter.Func, no
//     reflect call) and its parameter types in a *Method.
//
// The interpreter is batos's copy of yaegi (internal/yaegi, PATCH.md),
// which meters a function called from Go with a *Guard first: the guard
// admits every function body it and its closures enter (depth, deadline,
// stop) and counts every instruction they run as a step, checking the
// budget and the deadline every yaegi.MeterInterval instructions. A
// method's code therefore carries no guard statements, and runs at the
// speed of unguarded code. Workspace input, run by yaegi's Eval at top
// level, has no such entry: its functions and loops are still rewritten to
// call the guard (Guard.EnterOK, TickN), and its steps are function entries
// and loop back-edges.
//
// Method.Call converts arguments (exact or assignable types pass, numbers
// convert when lossless, nil becomes a nilable type's zero value, else
// *ArgumentError), calls the function (its body's entry is one level of
// depth), and
// maps results: none → nil, one → it, a last error → the error when
// non-nil (a sole error result included), several → []any. A panic becomes
// an error: a *StopError or any other error value as is (typed errors of
// nested sends keep their identity), anything else, Go runtime errors
// included, a *PanicError.
//
// A Workspace is REPL input with its own interpreter, so variables persist
// between entries; it applies the same sandbox and rewriting, reading the
// current Eval's guard through a hidden function. A failed entry declares
// nothing (rollback.go): a name whose declaration did not complete is
// undefined after it, a variable or function it redeclared is as before.
//
// # Errors in Go's terms
//
// Every error reads as Go's compiler or runtime would say it, at a
// 1-based line:column of the source as written (goerrors.go): yaegi's
// compile errors are mapped back through the rewriter's edits (srcMap)
// and reworded by a table of rules that fill in, from the syntax at the
// position, what Go's message names; reflect's runtime panics become a
// *PanicError holding a runtime.Error in Go's words ("runtime error:
// index out of range"); the hidden names of the rewriter and yaegi's type
// categories never show. What Go's compiler refuses and yaegi accepts,
// mishandles or crashes on is checked before compiling: on the syntax
// (gochecks.go: assignment counts, missing return, constant conditions,
// return at an entry's top level, names nothing defines) and on host
// types the syntax reveals (typed.go: methods and argument counts of the
// API's types, host values assigned to interfaces they do not
// implement, results of library calls, indexing or calling a number).
//
// # Invariants
//
//   - Every function entry and loop back-edge of script code passes through
//     the Guard of the evaluation running it (a method's through the
//     interpreter's meter); once a guard has stopped it
//     stays stopped, so a script that recovers the stop is stopped again at
//     its next call or loop step.
//   - A Guard belongs to one goroutine at a time; Method values are
//     immutable and may be called concurrently with different guards.
//     Compiles are serialized (yaegi's Eval is not reentrant, yaegi #140).
//   - No script can import from disk (empty GOPATH and source file system),
//     reach os, net, syscall, unsafe, reflect, runtime, io, sync or context,
//     or call members that block (time.Sleep, time.After, timers, fmt.Scan).
//   - Every walk of a script value (printing, storing, encoding, error
//     messages) is measured first within MaxNesting, MaxWalkNodes and
//     MaxWalkBytes (CheckPrint, CheckDeep), so a cyclic or exponentially
//     shared value is refused, never walked without end.
//   - Every limit is clamped to a hard ceiling (Ceilings) the process can
//     bear, whatever the image asks for; MaxDepthCeiling is derived from
//     the Go stack one interpreted level costs (StackPerLevel).
//   - While any guard is active, the memory watchdog samples the heap and
//     stops every running evaluation (StopMemory) once it passes the
//     budget.
//   - An interpreter compiles at most Config.MaxVersions versions, then is
//     replaced (Generation increases); Methods of old generations stay
//     callable, and memory is bounded once callers recompile.
//
// # yaegi hazards and the defences here
//
//   - A compiled function called from Go cannot be stopped: hence the
//     meter patched into the interpreter, and the rewritten guard calls of
//     workspace input (cooperative preemption).
//   - A cancelled EvalWithContext wedges its interpreter: methods never use
//     it; a workspace uses it only as a backstop past the guard's deadline
//     and then replaces its interpreter (ErrWorkspaceReset).
//   - Deep interpreted recursion kills the process with a fatal stack
//     overflow: the depth limit stops it first. Unwinding a panic through
//     thousands of interpreted frames costs time quadratic in their number
//     (yaegi recovers and re-panics in every frame), so metered and
//     rewritten code unwinds a stop by returning zero values (the meter's
//     refusals, Guard.EnterOK, TickN < 0) and
//     Call reports the guard's error; depth 10,000 stops in about 50 ms.
//   - Memory grows with every Eval (yaegi #1678): interpreter replacement.
//   - Concurrent Eval is unsupported: compiles hold a mutex.
//   - yaegi reports failures in its own and reflect's words, knows the
//     position of a runtime failure only for the type assertions it
//     checks itself, and keeps the globals a failed entry declared:
//     errors are translated where they leave the package, and a failed
//     entry's declarations are undone (see above).
//   - yaegi's compiler can panic on unsupported input: the panic becomes an
//     error and the interpreter, its state unknown, is replaced.
//   - yaegi answers a workspace entry ending in a call without results with
//     a stale value (the last function it called): a final call is first
//     compiled wrapped in a one-value function, and only an entry the type
//     checker rejects that way is evaluated as a statement. A function
//     literal called as a statement with other than one result is put in a
//     block of its own, else yaegi runs it again with every later entry.
//   - A native call cannot be interrupted: allocations it would make that
//     grow with its arguments are refused up front (see above), wrapper
//     types replace strings.Builder, bytes.Buffer, strings.Replacer and
//     regexp.Regexp in the sandbox to bound their growing methods, and
//     types too large to allocate are refused at parse time. Growth in
//     small steps (append, s += s, maps) is left to the memory watchdog.
package interp
