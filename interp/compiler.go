package interp

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"path"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	yaegi "batos/internal/yaegi/interp"
)

// DefaultMaxVersions is Config.MaxVersions's default.
const DefaultMaxVersions = 1000

// rtPath is the import path under which interpreters see Guard.
const rtPath = "batos/interp/rt"

// Config configures a Compiler.
type Config struct {
	// Exports holds the script API in yaegi's form: key "path/name" (for
	// example "batos/script/script"), then symbol name → value; a type is
	// exported as reflect.ValueOf((*T)(nil)).
	Exports map[string]map[string]reflect.Value
	// APIPackage is the import path of the API package ("batos/script");
	// its exported names are visible unqualified in scripts (dot import).
	APIPackage string
	// ReceiverType is the API type of self ("Object").
	ReceiverType string
	// Contextual maps a free identifier in method source to an expression
	// over the receiver, written with the name self: {"Lobby": "self.Lobby()"}.
	Contextual map[string]string
	// MaxVersions is how many method versions one interpreter compiles
	// before it is replaced (yaegi keeps every Eval's memory); default 1000.
	MaxVersions int
	// Stdout receives fmt.Print output of scripts; nil discards it.
	Stdout io.Writer
	// Direct gives native entries to methods of the API's types, which
	// interpreted code then calls without reflect.
	Direct []DirectMethod
}

// A DirectMethod is a native entry to the method Name of the API type Type
// (a value receiver, at most one result) for interpreted code: Call(recv,
// in) must do exactly what calling that method on recv with the arguments
// in, variadic ones one by one, does, and return its result (the zero
// Value when it has none). Through reflect, a call from interpreted code
// to a native method costs about 300 ns and six allocations; through its
// direct entry about 40 ns and one.
type DirectMethod struct {
	Type reflect.Type
	Name string
	Call func(recv reflect.Value, in []reflect.Value) reflect.Value
}

// Compiler turns method source into callable Methods. It is safe for
// concurrent use; compiles are serialized (yaegi's Eval is not reentrant),
// calls are not.
type Compiler struct {
	cfg        Config
	contextual map[string]string // with self replaced by the hidden receiver
	symbols    map[string]map[string]reflect.Value
	apiKey     string
	terms      *goTerms // what errors in Go's words need to know
	// gen is mu.gen for readers that must not wait for a compile: every
	// send asks whether its cached method is current.
	gen atomic.Uint64

	mu struct {
		sync.Mutex
		pool     []*interpreter // this generation's interpreters
		failed   bool           // the generation must be retired: an interpreter panicked
		gen      uint64
		versions int
		seq      uint64
		cache    map[cacheKey]compiled
	}
}

type cacheKey struct{ selector, src string }

type compiled struct {
	m   *Method
	err error
}

// NewCompiler checks cfg and returns a compiler.
func NewCompiler(cfg Config) (*Compiler, error) {
	debug.SetMaxStack(MaxStack) // MaxDepthCeiling is derived from it
	if cfg.MaxVersions <= 0 {
		cfg.MaxVersions = DefaultMaxVersions
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.APIPackage == "" || cfg.ReceiverType == "" {
		return nil, errors.New("interp: Config needs APIPackage and ReceiverType")
	}
	c := &Compiler{cfg: cfg, contextual: map[string]string{}, symbols: sandboxSymbols()}
	for k, syms := range cfg.Exports {
		if path.Dir(k) == cfg.APIPackage {
			c.apiKey = k
			if _, ok := syms[cfg.ReceiverType]; !ok {
				return nil, fmt.Errorf("interp: API package %s does not export %s", cfg.APIPackage, cfg.ReceiverType)
			}
		}
	}
	if c.apiKey == "" {
		return nil, fmt.Errorf("interp: Exports has no key %q", cfg.APIPackage+"/"+path.Base(cfg.APIPackage))
	}
	c.terms = newGoTerms(cfg.Exports[c.apiKey])
	for name, expr := range cfg.Contextual {
		text, err := substituteSelf(expr)
		if err != nil {
			return nil, fmt.Errorf("interp: Contextual[%q]: %w", name, err)
		}
		c.contextual[name] = text
	}
	c.mu.cache = map[cacheKey]compiled{}
	return c, nil
}

// substituteSelf rewrites the identifier self in expr to the hidden
// receiver name and parenthesizes the result.
func substituteSelf(expr string) (string, error) {
	fset := token.NewFileSet()
	e, err := parser.ParseExprFrom(fset, "", expr, 0)
	if err != nil {
		return "", err
	}
	var edits []edit
	walkIdents(e, func(name string, pos, end token.Pos) {
		if name == "self" {
			edits = append(edits, edit{fset.Position(pos).Offset, fset.Position(end).Offset, selfParam})
		}
	})
	out, err := applyEdits(expr, edits)
	return "(" + out + ")", err
}

// newInterpreter returns a sandboxed interpreter with the prelude
// evaluated: curated packages under hidden names, Guard, the API package
// dot-imported, plus extra exports and prelude lines.
func (c *Compiler) newInterpreter(extra yaegi.Exports, extraImports ...string) (*yaegi.Interpreter, error) {
	in := yaegi.New(yaegi.Options{
		GoPath:               "/nonexistent-batos-gopath",
		SourcecodeFilesystem: emptyFS{},
		Stdin:                strings.NewReader(""),
		Stdout:               c.cfg.Stdout,
		Stderr:               io.Discard, // yaegi logs every unwound panic frame here
		Args:                 []string{"batos"},
		Env:                  []string{},
	})
	if err := in.Use(c.symbols); err != nil {
		return nil, fmt.Errorf("interp: load sandbox: %w", err)
	}
	exp := yaegi.Exports{rtPath + "/rt": {"Guard": reflect.ValueOf((*Guard)(nil))}}
	for k, v := range c.cfg.Exports {
		exp[k] = v
	}
	for k, v := range extra {
		exp[k] = v
	}
	if err := in.Use(exp); err != nil {
		return nil, fmt.Errorf("interp: load API: %w", err)
	}
	for _, d := range c.cfg.Direct {
		if err := in.Direct(yaegi.DirectMethod(d)); err != nil {
			return nil, fmt.Errorf("interp: load API: %w", err)
		}
	}
	lines := append([]string{rtPkg + ` "` + rtPath + `"`, `. "` + c.cfg.APIPackage + `"`}, extraImports...)
	if _, err := in.Eval(preludeImports(lines...)); err != nil {
		return nil, fmt.Errorf("interp: prelude: %w", err)
	}
	return in, nil
}

// Generation returns the current interpreter generation. It increases
// when the interpreter is replaced after MaxVersions compiles; Methods of
// older generations stay valid, but callers should recompile so the old
// interpreter's memory can be freed.
func (c *Compiler) Generation() uint64 { return c.gen.Load() }

// Method is a compiled method version. It is immutable and safe for
// concurrent calls, each with its own Guard.
type Method struct {
	Selector   string
	Sig        *Signature
	Source     string
	Generation uint64

	call    func(yaegi.Meter, []reflect.Value) []reflect.Value // runs the compiled function func(*Guard, Object, params...) results
	recv    reflect.Type                                       // the receiver type
	lastErr bool                                               // the last result is an error
	home    *interpreter                                       // the interpreter it was compiled in
	params  []reflect.Type                                     // parameter types after self; a variadic last one is its slice type
	src     *srcMap                                            // maps positions of runtime errors back to Source
	terms   *goTerms
}

// Compile validates, rewrites and compiles src as the method selector. The
// result is cached by (selector, src) for the current generation, errors
// included.
func (c *Compiler) Compile(selector, src string) (*Method, error) {
	key := cacheKey{selector, src}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.mu.cache[key]; ok {
		return r.m, r.err
	}
	if c.mu.versions >= c.cfg.MaxVersions || c.mu.failed {
		c.retire()
	}
	m, err := c.compile(selector, src)
	if err != nil && errors.Is(err, errInterpreter) {
		return nil, err // not cached: the next compile retries the interpreter
	}
	c.mu.versions++
	c.mu.cache[key] = compiled{m, err}
	return m, err
}

var errInterpreter = errors.New("interpreter setup failed")

// interpreter is one yaegi interpreter of the pool. yaegi's Eval writes
// the global frame that every running call of the same interpreter reads
// (a data race), so calls hold busy for reading and a compile may only use
// an interpreter whose write lock it gets at once (TryLock): while calls
// are in flight on every pooled interpreter, a compile starts a new one. A
// compile never waits for calls, so a send that compiles its callee lazily
// from inside a call cannot deadlock; a call waits at most for one compile.
type interpreter struct {
	in   *yaegi.Interpreter
	busy sync.RWMutex
}

// retire starts a new generation. c.mu is held.
func (c *Compiler) retire() {
	c.mu.pool = nil
	c.mu.gen++
	c.gen.Store(c.mu.gen)
	c.mu.versions = 0
	c.mu.failed = false
	clear(c.mu.cache)
}

// Prepare starts an interpreter ahead of the first compile, so that the
// compile does not wait for one (a sandbox child prepares while it waits
// for its request).
func (c *Compiler) Prepare() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.mu.pool) > 0 {
		return nil
	}
	it, err := c.acquire()
	if err != nil {
		return err
	}
	it.busy.Unlock()
	return nil
}

// acquire returns an idle interpreter of the pool, write-locked, creating
// one when all are busy. c.mu is held.
func (c *Compiler) acquire() (*interpreter, error) {
	for _, it := range c.mu.pool {
		if it.busy.TryLock() {
			return it, nil
		}
	}
	in, err := c.newInterpreter(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInterpreter, err)
	}
	it := &interpreter{in: in}
	it.busy.Lock()
	c.mu.pool = append(c.mu.pool, it)
	return it, nil
}

// compile does the work of Compile; c.mu is held.
func (c *Compiler) compile(selector, src string) (*Method, error) {
	pm, err := parseMethod(selector, src, c.cfg.ReceiverType)
	if err != nil {
		return nil, err
	}
	it, err := c.acquire()
	if err != nil {
		return nil, err
	}
	defer it.busy.Unlock()
	c.mu.seq++
	hidden := fmt.Sprintf("%sm%d_%s", hiddenPrefix, c.mu.seq, selector)
	full := "package main;" + src
	aliases := map[string]string{}
	for name, p := range pkgNames {
		aliases[name] = p
	}
	for name, p := range pm.aliases {
		aliases[name] = p
	}
	r := &rewriter{fset: pm.fset, file: pm.file, source: full, aliases: aliases, contextual: c.contextual, method: pm.decl, hidden: hidden}
	r.run()
	out, err := applyEdits(full, r.edits)
	if err != nil {
		return nil, err
	}
	sm := newSrcMap(full, out, len("package main;"), 0, r.edits, pm.fset, pm.file)
	ht := &hostTyper{c: c, pkg: func(id *ast.Ident) string {
		if id.Obj == nil {
			if p, ok := aliases[id.Name]; ok {
				return p
			}
		}
		return ""
	}}
	sm.ht = ht
	if err := c.checkTyped(selector, sm, ht); err != nil {
		return nil, err
	}
	out = strings.TrimPrefix(out, "package main;")
	sm.base = it.in.FileSet().Base()
	_, err = c.eval(it, out)
	sm.end = it.in.FileSet().Base()
	if err != nil {
		return nil, c.evalErr(selector, err, sm)
	}
	call, ft, err := it.in.Func(hidden)
	if err != nil {
		return nil, fmt.Errorf("method %s: internal error: %w", selector, err)
	}
	m := &Method{Selector: selector, Sig: pm.sig, Source: src, Generation: c.mu.gen, call: call, recv: ft.In(1), home: it, src: sm, terms: c.terms}
	n := len(pm.sig.Results)
	m.lastErr = n > 0 && pm.sig.Results[n-1] == "error"
	for i := 2; i < ft.NumIn(); i++ {
		m.params = append(m.params, ft.In(i))
	}
	return m, nil
}

// eval evaluates src in the current interpreter. yaegi's compiler can
// panic on input it does not support; the interpreter is then dropped (its
// state is unknown) and the panic becomes a *crashError. c.mu is held.
func (c *Compiler) eval(it *interpreter, src string) (v reflect.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.mu.failed = true
			v, err = reflect.Value{}, &crashError{r}
		}
	}()
	return it.in.Eval(src)
}

// crashError is a panic of yaegi's compiler.
type crashError struct{ value any }

func (e *crashError) Error() string { return fmt.Sprint(e.value) }

// evalErr translates an error of eval: a crash or a compile error.
func (c *Compiler) evalErr(selector string, err error, sm *srcMap) error {
	if ce, ok := err.(*crashError); ok {
		return c.terms.unsupported(selector, ce.value, sm)
	}
	return c.terms.compileErr(selector, err, sm)
}

// Call runs the method with self and args under g. See the package
// documentation for argument conversion, results and panics.
func (m *Method) Call(g *Guard, self any, args []any) (any, error) {
	args, err := m.convert(args)
	if err != nil {
		return nil, err
	}
	recv := reflect.Zero(m.recv)
	if self != nil {
		if recv = reflect.ValueOf(self); recv.Type() != m.recv {
			return nil, fmt.Errorf("%s: receiver is %T, want %s", m.Selector, self, m.recv)
		}
	}
	out, err := m.invoke(g, recv, nil, args)
	if err != nil {
		return nil, err
	}
	return m.results(out)
}

// CallValues is Call for arguments that are reflect.Values already (the
// interpreter's, for a send from a method): when each has its parameter's
// exact type, they go into the callee's frame as they are, and a single
// result comes back as the Value it is, without boxing either. Otherwise
// it is Call, its result as a Value (the zero Value for nil). self must
// be of the receiver type.
func (m *Method) CallValues(g *Guard, self reflect.Value, args []reflect.Value) (reflect.Value, error) {
	var v any
	var err error
	if !m.exact(args) || self.Type() != m.recv {
		boxed := make([]any, len(args))
		for i, a := range args {
			if a.IsValid() && a.CanInterface() {
				boxed[i] = a.Interface()
			}
		}
		var s any
		if self.IsValid() {
			s = self.Interface()
		}
		v, err = m.Call(g, s, boxed)
	} else {
		var out []reflect.Value
		if out, err = m.invoke(g, self, args, nil); err == nil {
			if !m.lastErr && len(out) == 1 {
				return out[0], nil
			}
			v, err = m.results(out)
		}
	}
	if err != nil || v == nil {
		return reflect.Value{}, err
	}
	return reflect.ValueOf(v), nil
}

// invoke runs the compiled function with g, self and the arguments, given
// either as Values (args) or as Call's converted values (boxed), and turns
// a panic into an error as Call documents. The body's entry is accounted
// by the interpreter (Guard.Meter).
func (m *Method) invoke(g *Guard, self reflect.Value, args []reflect.Value, boxed []any) (out []reflect.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, m.terms.panicToError(m.Selector, r, m.home.in.FileSet(), m.src)
		}
	}()
	m.home.busy.RLock()
	defer m.home.busy.RUnlock()
	in := g.pushArgs(2 + len(args) + len(boxed))
	defer g.popArgs(len(in))
	in[0], in[1] = reflect.ValueOf(g), self
	copy(in[2:], args)
	for i, a := range boxed {
		if a == nil {
			in[i+2] = reflect.Zero(m.params[i])
		} else {
			in[i+2] = reflect.ValueOf(a)
		}
	}
	out = m.call(g.Meter(), in)
	if e := g.stopped.Load(); e != nil {
		// Metered and rewritten code unwinds a stop by returning zero
		// values.
		return nil, e
	}
	return out, nil
}

// exact reports whether args can go into a call as they are: one per
// parameter of a method that is not variadic, each of its parameter's
// type.
func (m *Method) exact(args []reflect.Value) bool {
	if m.Sig.Variadic || len(args) != len(m.params) {
		return false
	}
	for i, a := range args {
		if !a.IsValid() || a.Type() != m.params[i] {
			return false
		}
	}
	return true
}

// results maps the compiled function's results to Call's: none → nil; one
// → it; a last error → returned as the error when non-nil; several →
// []any.
func (m *Method) results(out []reflect.Value) (any, error) {
	n := len(out)
	if m.lastErr {
		if e := out[n-1]; !e.IsNil() {
			return nil, safeError(e.Interface().(error))
		}
		n--
	}
	switch n {
	case 0:
		return nil, nil
	case 1:
		return out[0].Interface(), nil
	}
	vs := make([]any, n)
	for i := range vs {
		vs[i] = out[i].Interface()
	}
	return vs, nil
}
