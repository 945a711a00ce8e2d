package interp

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	yaegi "batos/internal/yaegi/interp"
)

// Workspace evaluates top-level input (a REPL or workspace pane) for one
// client session. Variables, functions and types declared by one Eval are
// visible to the next. A workspace has its own interpreter; it is safe for
// concurrent use, but evaluations are serialized.
type Workspace struct {
	c        *Compiler
	bindings yaegi.Exports

	mu       sync.Mutex
	in       *yaegi.Interpreter // nil until first use and after a reset
	cur      *guardCell         // in's cell: the guard of the Eval in progress, read by rewritten code through batos_ws.G()
	aliases  map[string]string  // package names: curated defaults plus the user's imports
	declared map[string]bool    // names declared by earlier entries
	// sizes holds the types and constants earlier entries declared (see
	// checkBody).
	sizes *sizeEnv
	// funcs holds the rewritten source of each function earlier entries
	// declared, to restore one that a failed entry redeclared (see
	// rollback).
	funcs    map[string]string
	restores int // variables redeclared by rollback, naming their packages
	// evals counts the entries in's interpreter compiled; pinned is set
	// once an entry declares what cannot be carried to another
	// interpreter (a func, type or const). See recycle.
	evals  int
	pinned bool
	// again is the latest entry, when it may run again without compiling
	// (againFor).
	again *compiledEntry
}

// EvalResult is the outcome of Workspace.Eval.
type EvalResult struct {
	Value    any
	HasValue bool   // the input ended with an expression that has a value
	Type     string // Value's type, when HasValue
}

const (
	wsPath   = "batos/interp/ws"
	bindPath = "batos/interp/bind"
	// grace is how long past the guard's deadline a workspace waits before
	// abandoning an evaluation the guard could not stop (a long native call).
	grace = 2 * time.Second
)

// NewWorkspace returns a workspace whose input sees bindings as
// unqualified names (for example "Lobby" → an Object, "NewObject" → a
// func() Object), besides the API package and the curated library.
func (c *Compiler) NewWorkspace(bindings map[string]any) (*Workspace, error) {
	w := &Workspace{c: c, aliases: map[string]string{}, declared: map[string]bool{}}
	for name, p := range pkgNames {
		w.aliases[name] = p
	}
	syms := map[string]reflect.Value{}
	for name, v := range bindings {
		if !token.IsIdentifier(name) || strings.HasPrefix(name, hiddenPrefix) {
			return nil, fmt.Errorf("interp: bad binding name %q", name)
		}
		switch rv := reflect.ValueOf(v); {
		case v == nil:
			return nil, fmt.Errorf("interp: binding %s is nil", name)
		case rv.Kind() == reflect.Func:
			syms[name] = rv
		default:
			p := reflect.New(rv.Type())
			p.Elem().Set(rv)
			syms[name] = p.Elem()
		}
	}
	w.bindings = yaegi.Exports{
		wsPath + "/ws":     {"Value": reflect.ValueOf(func(v any) any { return v })},
		bindPath + "/bind": syms,
	}
	if err := w.reset(); err != nil {
		return nil, err
	}
	return w, nil
}

// guardCell holds the guard of the evaluation running in one interpreter.
// Rewritten code reads it through a function (yaegi would copy a
// variable's value at compile time). Each interpreter has its own cell, so
// an evaluation abandoned in a native call (ErrAbandoned) keeps reading its
// own, stopped, guard when the call returns, whatever the workspace runs
// next in a new interpreter.
type guardCell struct {
	g atomic.Pointer[Guard]
	// done counts the top-level statements of the evaluation in
	// progress that completed, as far as rollback needs to know: the
	// rewritten code calls batos_ws.D(i) after each statement i that
	// declares names (markDeclarations).
	done atomic.Int64
}

func (c *guardCell) get() *Guard { return c.g.Load() }

func (c *guardCell) mark(i int) {
	if n := int64(i) + 1; n > c.done.Load() {
		c.done.Store(n)
	}
}

// reset replaces the interpreter with a fresh one, without variables.
func (w *Workspace) reset() error {
	in, cell, err := w.newInterpreter(nil)
	if err != nil {
		return err
	}
	w.in, w.cur = in, cell
	w.declared = map[string]bool{}
	w.funcs = map[string]string{}
	w.sizes = newSizeEnv()
	w.evals, w.pinned = 0, false
	return nil
}

// newInterpreter returns an interpreter for the workspace and its guard
// cell; carried, when not nil, is the package of variables recycle moves.
func (w *Workspace) newInterpreter(carried map[string]reflect.Value) (*yaegi.Interpreter, *guardCell, error) {
	cell := &guardCell{}
	exports := make(yaegi.Exports, len(w.bindings)+1)
	for k, v := range w.bindings {
		exports[k] = v
	}
	ws := map[string]reflect.Value{"G": reflect.ValueOf(cell.get), "D": reflect.ValueOf(cell.mark)}
	for k, v := range w.bindings[wsPath+"/ws"] {
		if k != "G" && k != "D" {
			ws[k] = v
		}
	}
	exports[wsPath+"/ws"] = ws
	imports := []string{wsPkg + ` "` + wsPath + `"`, `. "` + bindPath + `"`}
	if carried != nil {
		exports[carryPath+"/carry"] = carried
		imports = append(imports, carryPkg+` "`+carryPath+`"`)
	}
	in, err := w.c.newInterpreter(exports, imports...)
	return in, cell, err
}

// ErrWorkspaceReset is returned (wrapped) when an evaluation had to be
// abandoned and the workspace's interpreter replaced, losing its variables.
var ErrWorkspaceReset = errors.New("workspace reset: its variables are lost")

// ErrAbandoned (which wraps ErrWorkspaceReset) is returned when an
// evaluation stuck in a native call did not stop a grace period after its
// deadline and was left running on its own goroutine. It may still touch
// whatever its bindings reach when the call returns, so the caller must
// retire them (the kernel closes the session).
var ErrAbandoned = fmt.Errorf("evaluation abandoned: %w", ErrWorkspaceReset)

// Eval evaluates src under g: Go statements and expressions, or top-level
// declarations (func, var, const, type, import). It applies the method
// sandbox and guard: a forbidden import is refused, a runaway loop is
// stopped with *StopError, and the next Eval works.
func (w *Workspace) Eval(g *Guard, src string) (EvalResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if decls, stmts, at, ok := splitEntry(src); ok {
		// Declarations, then statements (`func f() int { return 1 };
		// f()`): neither parser nor yaegi takes both in one unit, so
		// they run one after the other; the statements see what the
		// declarations made, and the declarations stay if they fail
		// (as a notebook cell's would).
		if res, err := w.eval(g, decls); err != nil {
			return res, err
		}
		res, err := w.eval(g, stmts)
		return res, shiftPosition(err, at)
	}
	return w.eval(g, src)
}

// splitEntry finds where an entry that begins with declarations goes on
// with statements: the parser, reading it as declarations, stops there
// with "expected declaration". at is the statements' start, as a line and
// column of src.
func splitEntry(src string) (decls, stmts string, at token.Position, ok bool) {
	switch firstToken(src) {
	case token.CONST, token.FUNC, token.IMPORT, token.TYPE, token.VAR:
	default:
		return "", "", at, false
	}
	fset := token.NewFileSet()
	_, err := parser.ParseFile(fset, "", filePrefix+src, 0)
	var list scanner.ErrorList
	if !errors.As(err, &list) || len(list) == 0 || !strings.HasPrefix(list[0].Msg, "expected declaration") {
		return "", "", at, false
	}
	off := list[0].Pos.Offset - len(filePrefix)
	if off <= 0 || off >= len(src) {
		return "", "", at, false
	}
	decls, stmts = src[:off], src[off:]
	// const, type and var are statements too, and an entry that starts
	// with them alone parses as statements (parseInput): only a func or
	// an import, which cannot be, needs the split.
	f, err := parser.ParseFile(token.NewFileSet(), "", filePrefix+decls, 0)
	if err != nil {
		return "", "", at, false
	}
	needed := false
	for _, d := range f.Decls {
		gd, isGen := d.(*ast.GenDecl)
		needed = needed || !isGen || gd.Tok == token.IMPORT
	}
	if !needed {
		return "", "", at, false
	}
	at.Line = 1 + strings.Count(decls, "\n")
	at.Column = len(decls) - strings.LastIndexByte(decls, '\n')
	return decls, stmts, at, true
}

// shiftPosition moves the position of an error in the statements of a
// split entry to where they are in the entry.
func shiftPosition(err error, at token.Position) error {
	move := func(line, col *int) {
		if *line == 0 {
			return
		}
		if *line == 1 && *col > 0 {
			*col += at.Column - 1
		}
		*line += at.Line - 1
	}
	var se *SyntaxError
	var pe *PanicError
	switch {
	case errors.As(err, &se) && se.Selector == "":
		move(&se.Line, &se.Col)
	case errors.As(err, &pe) && pe.Selector == "":
		move(&pe.Line, &pe.Col)
	}
	return err
}

// eval evaluates one unit of input: declarations, or statements.
func (w *Workspace) eval(g *Guard, src string) (EvalResult, error) {
	if w.in == nil {
		if err := w.reset(); err != nil {
			return EvalResult{}, err
		}
	}
	if w.evals >= recycleAfter && !w.pinned {
		w.recycle()
	}
	if e := w.againFor(g, src); e != nil {
		w.evals++
		e.evals = w.evals
		w.again = e
		return w.run(g, e)
	}
	u, err := parseInput(src)
	if err != nil {
		return EvalResult{}, err
	}
	aliases := map[string]string{}
	for k, v := range w.aliases {
		aliases[k] = v
	}
	serr := func(pos token.Pos, format string, args ...any) error {
		p := u.fset.Position(pos)
		return &SyntaxError{Line: p.Line, Col: u.col(p), Msg: fmt.Sprintf(format, args...)}
	}
	for _, d := range u.file.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			if err := checkImports("", u.fset, gd, aliases, serr); err != nil {
				return EvalResult{}, err
			}
		}
	}
	isPkg := func(id *ast.Ident) bool {
		_, pkg := aliases[id.Name]
		return id.Obj == nil && pkg && !w.declared[id.Name]
	}
	if err := checkBody(u.file, nil, w.sizes, g.limits.MaxAlloc, isPkg, serr); err != nil {
		return EvalResult{}, err
	}
	if err := checkStatements(u.file, u.main, serr); err != nil {
		return EvalResult{}, err
	}
	if id := w.undefinedName(u, isPkg); id != nil {
		e := serr(id.Pos(), "undefined: %s", id.Name).(*SyntaxError)
		e.Compile = true
		return EvalResult{}, e
	}
	r := &rewriter{fset: u.fset, file: u.file, source: u.text, aliases: aliases, shadowed: w.declared,
		topGuard: wsPkg + ".G()", wsFuncs: true, skip: u.main}
	r.run()
	blockFuncLitCalls(r, u)
	declareCommaOK(r, u)
	encloseAssertions(r, u)
	markDeclarations(r, u)
	out, err := applyEdits(u.text, r.edits)
	if err != nil {
		return EvalResult{}, err
	}
	sm := u.srcMap(r.edits, out)
	ht := &hostTyper{c: w.c, globals: w.globalTypes(), pkg: func(id *ast.Ident) string {
		if isPkg(id) {
			return aliases[id.Name]
		}
		return ""
	}}
	sm.ht = ht
	if err := w.c.checkTyped("", sm, ht); err != nil {
		return EvalResult{}, err
	}
	out = u.unwrap(out)
	w.aliases = aliases
	if strings.TrimSpace(out) == "" {
		return EvalResult{}, nil
	}
	w.evals++
	// A failed entry declares nothing (see rollback): what it would
	// redeclare is saved first.
	saved := w.save(u)
	// yaegi answers a call without results with a stale value (the last
	// function it called), so a final call is first compiled wrapped in
	// Value(...), which the type checker rejects for a call without
	// exactly one result; then the entry is compiled as written. Either
	// way it is compiled before any of it runs, and runs once.
	call, printer := u.finalCall()
	valued := call != nil && !printer
	if lit := calledFuncLit(call); lit != nil && valued {
		// A function literal called on the spot says itself how many
		// results it has: no trial compile is needed.
		valued = lit.Type.Results.NumFields() == 1
	}
	var prog *yaegi.Program
	progMap := sm
	if valued {
		r.insert(call.Pos(), wsPkg+".Value(")
		r.insert(call.End(), ")")
		wrapped, err := applyEdits(u.text, r.edits)
		if err != nil {
			return EvalResult{}, err
		}
		progMap = u.srcMap(r.edits, wrapped)
		progMap.ht = sm.ht
		wrapped = u.unwrap(wrapped)
		prog, err = w.compile(wrapped, progMap)
		if w.in == nil {
			return EvalResult{}, err // a crash, already in Go's words
		}
	}
	if prog == nil {
		progMap = sm
		if prog, err = w.compile(out, sm); err != nil {
			if w.in == nil {
				return EvalResult{}, err
			}
			w.rollback(u, saved, 0)
			return EvalResult{}, w.c.terms.compileErr("", err, sm)
		}
		valued = call == nil // a call that does not fit Value has no single value
	}
	e := &compiledEntry{src: src, in: w.in, evals: w.evals, maxAlloc: g.limits.MaxAlloc,
		u: u, sm: sm, progMap: progMap, prog: prog, valued: valued, saved: saved}
	if u.main != nil && len(u.declares()) == 0 && !u.declaresCode() {
		w.again = e
	}
	return w.run(g, e)
}

// compiledEntry is an entry compiled and ready to run (run).
type compiledEntry struct {
	src      string
	in       *yaegi.Interpreter // the interpreter it was compiled in
	evals    int                // Workspace.evals once it was compiled
	maxAlloc int                // the limit its checks assumed
	u        *input
	sm       *srcMap
	progMap  *srcMap // prog's
	prog     *yaegi.Program
	valued   bool // the entry's last call or expression yields its value
	saved    saved
}

// againFor returns the entry compiled last when src is the same text and
// nothing was entered since, in the same interpreter under the same
// limits: an input that a doesNotUnderstand or a write conflict runs
// again is not compiled again. Only statements that declare nothing are
// kept (w.again), so running the same program again is running the same
// input again.
func (w *Workspace) againFor(g *Guard, src string) *compiledEntry {
	e := w.again
	w.again = nil
	if e == nil || e.src != src || e.in != w.in || w.in == nil || e.evals != w.evals || e.maxAlloc != g.limits.MaxAlloc {
		return nil
	}
	return e
}

// run runs a compiled entry and turns its outcome into an EvalResult.
func (w *Workspace) run(g *Guard, e *compiledEntry) (EvalResult, error) {
	u := e.u
	cell := w.cur
	cell.done.Store(0)
	v, err := w.execute(g, e.prog, e.progMap)
	if !e.valued {
		v = reflect.Value{}
	}
	if err == nil && !v.IsValid() && e.valued && u.endsWithExpr() {
		// yaegi yields no value for *p when p is nil; Go panics.
		if star, ok := ast.Unparen(u.main.Body.List[len(u.main.Body.List)-1].(*ast.ExprStmt).X).(*ast.StarExpr); ok && star != nil {
			err = &PanicError{Value: runtimeError("runtime error: invalid memory address or nil pointer dereference")}
		}
	}
	if err != nil && w.in != nil {
		w.rollback(u, e.saved, int(cell.done.Load()))
	}
	if err == nil {
		w.keepFuncs(u, e.sm)
	}
	return w.result(u, v, err)
}

// result turns an evaluation's outcome into an EvalResult and remembers
// the names the input declared.
func (w *Workspace) result(u *input, v reflect.Value, err error) (EvalResult, error) {
	if err != nil {
		return EvalResult{}, err
	}
	for _, name := range u.declares() {
		w.declared[name] = true
	}
	w.pinned = w.pinned || u.declaresCode()
	if !u.endsWithExpr() || !v.IsValid() {
		return EvalResult{}, nil
	}
	for v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	res := EvalResult{Value: v.Interface(), HasValue: true, Type: v.Type().String()}
	if res.Value == nil {
		res.Type = "nil"
	}
	return res, nil
}

// compile compiles rewritten input without running any of it. yaegi's
// compiler can panic on input it does not support; the interpreter, its
// state unknown, is then dropped, and the error is in Go's words. A
// compile error is returned as yaegi's: the caller translates the one it
// reports (goTerms.compileErr), not a trial's.
func (w *Workspace) compile(src string, sm *srcMap) (prog *yaegi.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			w.in = nil
			prog, err = nil, fmt.Errorf("%w: %w", w.c.terms.unsupported("", r, sm), ErrWorkspaceReset)
		}
	}()
	sm.base = w.in.FileSet().Base()
	prog, err = w.in.Compile(src)
	sm.end = w.in.FileSet().Base()
	return prog, err
}

// execute runs a compiled entry once under g. The guard stops runaway
// code; a context cancelled a grace period after the guard expires is only
// a backstop for native calls the guard cannot interrupt, after which the
// interpreter is unusable and is dropped.
func (w *Workspace) execute(g *Guard, prog *yaegi.Program, sm *srcMap) (v reflect.Value, err error) {
	cell := w.cur
	cell.g.Store(g)
	abandoned := false
	defer func() {
		if !abandoned {
			cell.g.Store(nil)
		}
	}()
	// The backstop starts counting when the guard expires, not at a fixed
	// time, so that time the guard spent suspended (Guard.Suspend) is not
	// held against the evaluation.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-g.Expired():
		case <-done:
			return
		}
		select {
		case <-time.After(grace):
			cancel()
		case <-done:
		}
	}()
	v, err = w.in.ExecuteWithContext(ctx, prog)
	if ctx.Err() != nil {
		// yaegi stopped this interpreter (it may also have answered with
		// the guard's error): its next Eval would block for ever. What
		// still runs in it keeps its stopped guard (see guardCell).
		w.in, abandoned = nil, true
		return reflect.Value{}, fmt.Errorf("did not stop within %s of its deadline: %w", grace, ErrAbandoned)
	}
	if e := g.stopped.Load(); e != nil {
		return reflect.Value{}, e
	}
	if err == nil {
		return v, nil
	}
	var p yaegi.Panic
	if errors.As(err, &p) {
		return v, w.c.terms.panicToError("", p.Value, w.in.FileSet(), sm)
	}
	if e := g.Err(); e != nil {
		return v, e
	}
	return v, err
}

// input is parsed workspace text: either a file of declarations or
// statements wrapped in a synthetic main function.
type input struct {
	fset           *token.FileSet
	file           *ast.File
	text           string // prefix + src + suffix
	prefix, suffix string
	main           *ast.FuncDecl // the wrapper, in statement mode
}

// unwrap returns the rewritten input without the wrapper parseInput put
// around it, as yaegi is to compile it. yaegi, too, tells declarations
// from statements by the first token: statements that begin with a
// declaration (`var x any; n := 1`) start with an empty statement, which
// moves no line (yaegi's compile errors carry no column).
func (u *input) unwrap(text string) string {
	text = strings.TrimSuffix(strings.TrimPrefix(text, u.prefix), u.suffix)
	if u.main != nil {
		switch firstToken(text) {
		case token.CONST, token.IMPORT, token.TYPE, token.VAR:
			text = ";" + text
		}
	}
	return text
}

func (u *input) col(p token.Position) int {
	if p.Line == 1 {
		return p.Column - len(u.prefix)
	}
	return p.Column
}

const (
	filePrefix = "package main;"
	stmtPrefix = "package main; func main() {"
	stmtSuffix = "\n}"
)

// parseInput parses src the way yaegi does: a first token of const, func,
// import, type or var means declarations, anything else statements. Input
// that fails to parse as declarations is retried as statements, which
// may begin with a declaration (`var x any; n, _ := x.(int)`); when it
// fails both ways, the declarations' error is reported.
func parseInput(src string) (*input, error) {
	tok := firstToken(src)
	var firstErr error
	if tok == token.CONST || tok == token.FUNC || tok == token.IMPORT || tok == token.TYPE || tok == token.VAR {
		u := &input{fset: token.NewFileSet(), text: filePrefix + src, prefix: filePrefix}
		f, err := parser.ParseFile(u.fset, "", u.text, 0)
		if err == nil {
			u.file = f
			return u, nil
		}
		firstErr = syntaxErr("", err, len(filePrefix))
	}
	u := &input{fset: token.NewFileSet(), text: stmtPrefix + src + stmtSuffix, prefix: stmtPrefix, suffix: stmtSuffix}
	f, err := parser.ParseFile(u.fset, "", u.text, 0)
	if err != nil {
		if firstErr != nil {
			return nil, atEntryEnd(firstErr, src)
		}
		return nil, atEntryEnd(syntaxErr("", err, len(stmtPrefix)), src)
	}
	u.file, u.main = f, f.Decls[0].(*ast.FuncDecl)
	return u, nil
}

// atEntryEnd moves a syntax error the parser found in the statement
// wrapper's closing brace (an entry cut off: `1 +`) to the end of the
// entry's last non-blank line, and names what it found as such: the user
// never wrote the brace.
func atEntryEnd(err error, src string) error {
	se, ok := err.(*SyntaxError)
	if !ok {
		return err
	}
	lines := strings.Split(strings.TrimRight(src, " \t\r\n"), "\n")
	if se.Line < len(lines) || se.Line == len(lines) && se.Col <= len(lines[len(lines)-1]) {
		return err
	}
	se.Line, se.Col = len(lines), len(lines[len(lines)-1])+1
	for _, found := range []string{"found '}'", "found 'EOF'"} {
		if m, ok := strings.CutSuffix(se.Msg, found); ok {
			se.Msg = m + "found end of entry"
		}
	}
	return se
}

func firstToken(src string) token.Token {
	var s scanner.Scanner
	fset := token.NewFileSet()
	s.Init(fset.AddFile("", -1, len(src)), []byte(src), nil, 0)
	_, tok, _ := s.Scan()
	return tok
}

// endsWithExpr reports whether the input's last statement is an expression.
func (u *input) endsWithExpr() bool {
	if u.main == nil {
		return false
	}
	l := u.main.Body.List
	if len(l) == 0 {
		return false
	}
	_, ok := l[len(l)-1].(*ast.ExprStmt)
	return ok
}

// finalCall returns the call expression that ends the input, if any, and
// whether it is one of fmt's printers.
func (u *input) finalCall() (call *ast.CallExpr, printer bool) {
	if !u.endsWithExpr() {
		return nil, false
	}
	l := u.main.Body.List
	call, ok := l[len(l)-1].(*ast.ExprStmt).X.(*ast.CallExpr)
	if !ok {
		return nil, false
	}
	if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
		if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "fmt" && strings.HasPrefix(sel.Sel.Name, "Print") {
			return call, true
		}
	}
	return call, false
}

// declares lists the top-level names the input declares.
func (u *input) declares() []string {
	var names []string
	addSpecs := func(g *ast.GenDecl) {
		for _, s := range g.Specs {
			switch s := s.(type) {
			case *ast.ValueSpec:
				for _, n := range s.Names {
					names = append(names, n.Name)
				}
			case *ast.TypeSpec:
				names = append(names, s.Name.Name)
			}
		}
	}
	if u.main == nil {
		for _, d := range u.file.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					names = append(names, d.Name.Name)
				}
			case *ast.GenDecl:
				addSpecs(d)
			}
		}
		return names
	}
	for _, s := range u.main.Body.List {
		names = append(names, stmtDeclares(s)...)
	}
	sort.Strings(names)
	return names
}

// stmtDeclares lists the names a top-level statement of a workspace
// entry declares.
func stmtDeclares(s ast.Stmt) []string {
	var names []string
	switch s := s.(type) {
	case *ast.AssignStmt:
		if s.Tok == token.DEFINE {
			for _, e := range s.Lhs {
				if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
					names = append(names, id.Name)
				}
			}
		}
	case *ast.DeclStmt:
		if g, ok := s.Decl.(*ast.GenDecl); ok {
			for _, sp := range g.Specs {
				switch sp := sp.(type) {
				case *ast.ValueSpec:
					for _, n := range sp.Names {
						names = append(names, n.Name)
					}
				case *ast.TypeSpec:
					names = append(names, sp.Name.Name)
				}
			}
		}
	}
	return names
}

// declaresCode reports whether the input declares a func, type or const:
// code and types that live in the interpreter that compiled them (see
// recycle).
func (u *input) declaresCode() bool {
	code := func(d ast.Decl) bool {
		switch d := d.(type) {
		case *ast.FuncDecl:
			return true
		case *ast.GenDecl:
			return d.Tok == token.TYPE || d.Tok == token.CONST
		}
		return false
	}
	if u.main == nil {
		return slices.ContainsFunc(u.file.Decls, code)
	}
	return slices.ContainsFunc(u.main.Body.List, func(s ast.Stmt) bool {
		d, ok := s.(*ast.DeclStmt)
		return ok && code(d.Decl)
	})
}

// Complete reports whether src is a complete input: false when it is an
// unfinished multi-line entry (an unclosed brace, parenthesis, bracket or
// raw string, or an expression cut off at the end) so a REPL should read
// another line; true when it is complete or definitely wrong.
func Complete(src string) bool {
	if strings.TrimSpace(src) == "" {
		return true
	}
	var s scanner.Scanner
	fset := token.NewFileSet()
	depth := 0
	unterminated := false
	last := token.ILLEGAL
	s.Init(fset.AddFile("", -1, len(src)), []byte(src), func(_ token.Position, msg string) {
		if strings.Contains(msg, "raw string literal not terminated") || strings.Contains(msg, "comment not terminated") {
			unterminated = true
		}
	}, 0)
	for {
		_, tok, _ := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok != token.SEMICOLON {
			last = tok
		}
		switch tok {
		case token.LBRACE, token.LPAREN, token.LBRACK:
			depth++
		case token.RBRACE, token.RPAREN, token.RBRACK:
			depth--
		}
	}
	if unterminated || depth > 0 {
		return false
	}
	if depth < 0 {
		return true
	}
	switch last {
	case token.RPAREN, token.RBRACK, token.RBRACE, token.INC, token.DEC, token.ELLIPSIS:
		return true
	}
	// An expression cut off after an operator, comma or period.
	return !last.IsOperator()
}

// calledFuncLit returns the function literal call calls on the spot
// (func() { ... }()), or nil.
func calledFuncLit(call *ast.CallExpr) *ast.FuncLit {
	if call == nil {
		return nil
	}
	lit, _ := ast.Unparen(call.Fun).(*ast.FuncLit)
	return lit
}

// markDeclarations makes each top-level statement that declares names
// report that it completed (batos_ws.D(i), on its line), so that a failed
// run undoes only the declarations it did not reach (rollback).
func markDeclarations(r *rewriter, u *input) {
	if u.main == nil {
		return
	}
	for i, st := range u.main.Body.List {
		if len(stmtDeclares(st)) > 0 {
			r.insert(st.End(), fmt.Sprintf("; %s.D(%d)", wsPkg, i))
		}
	}
}

// declareCommaOK rewrites a top-level `v, ok := x.(T)` as `var v T; var
// ok bool; v, ok = x.(T)`: yaegi's compiler fails on the first form at an
// entry's top level ("nil type"), where it declares globals. The type is
// inserted as the rewriter rewrote it (a package name renamed).
func declareCommaOK(r *rewriter, u *input) {
	if u.main == nil {
		return
	}
	for _, st := range u.main.Body.List {
		as, ok := st.(*ast.AssignStmt)
		if !ok || as.Tok != token.DEFINE || len(as.Lhs) != 2 || len(as.Rhs) != 1 {
			continue
		}
		ta, ok := ast.Unparen(as.Rhs[0]).(*ast.TypeAssertExpr)
		if !ok || ta.Type == nil {
			continue
		}
		v, okv := as.Lhs[0].(*ast.Ident)
		b, okb := as.Lhs[1].(*ast.Ident)
		if !okv || !okb {
			continue
		}
		typ, ok := rewrittenSpan(u.text, r.edits, r.off(ta.Type.Pos()), r.off(ta.Type.End()))
		if !ok {
			continue
		}
		var decl string
		if v.Name != "_" {
			decl += "var " + v.Name + " " + typ + "; "
		}
		if b.Name != "_" {
			decl += "var " + b.Name + " bool; "
		}
		r.insert(as.Pos(), decl)
		tok := r.off(as.TokPos)
		r.edits = append(r.edits, edit{tok, tok + len(":="), "="})
	}
}

// encloseAssertions runs each top-level compound statement (if, for,
// switch, select, block) that holds a type assertion in a function
// literal of its own: yaegi mis-scopes the variables of a comma-ok
// assertion or a type switch declared in a statement at the entry's
// top level ("undefined: ok", "nil type"), and gets them right inside a
// function. Such a statement declares nothing outside itself, so the
// closure changes no meaning; its call is a block of its own for the
// reason blockFuncLitCalls gives.
func encloseAssertions(r *rewriter, u *input) {
	if u.main == nil {
		return
	}
	for _, st := range u.main.Body.List {
		switch st.(type) {
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt, *ast.BlockStmt:
		default:
			continue
		}
		asserts := false
		ast.Inspect(st, func(n ast.Node) bool {
			switch n.(type) {
			case *ast.FuncLit:
				return false // a function's own scope is right already
			case *ast.TypeAssertExpr:
				asserts = true
			}
			return !asserts
		})
		if asserts {
			r.insert(st.Pos(), "{ func() { ")
			r.insert(st.End(), " }() }")
		}
	}
}

// rewrittenSpan returns text[off:end] with the edits made inside it
// (insertions at its bounds belong to what is around it); ok is false
// when an edit straddles a bound.
func rewrittenSpan(text string, edits []edit, off, end int) (string, bool) {
	var inner []edit
	for _, e := range edits {
		switch {
		case e.end < off || e.off > end, e.off == e.end && (e.off == off || e.off == end), e.end == off && e.off < off, e.off == end && e.end > end:
		case e.off >= off && e.end <= end:
			inner = append(inner, edit{e.off - off, e.end - off, e.text})
		default:
			return "", false
		}
	}
	out, err := applyEdits(text[off:end], inner)
	return out, err == nil
}

// blockFuncLitCalls puts every top-level statement that calls a function
// literal with other than one result in a block of its own. As the last statement of
// an entry, yaegi would keep such a call as the entry's pending value and
// run it again with every later entry: one that stopped at its deadline
// (func() { for {} }()) would stop every entry after it.
func blockFuncLitCalls(r *rewriter, u *input) {
	if u.main == nil {
		return
	}
	for _, st := range u.main.Body.List {
		es, ok := st.(*ast.ExprStmt)
		if !ok {
			continue
		}
		call, _ := es.X.(*ast.CallExpr)
		if lit := calledFuncLit(call); lit != nil && lit.Type.Results.NumFields() != 1 {
			r.insert(st.Pos(), "{ ")
			r.insert(st.End(), " }")
		}
	}
}
