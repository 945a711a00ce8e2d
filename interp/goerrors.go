package interp

// Errors in Go's terms.
//
// yaegi reports failures in its own words: compile errors name its type
// categories (stringT, intT), the rewriter's hidden names (batos_p_strings,
// batos_g.RepeatString) and its struct stand-ins (unsafe2.dummy); runtime
// failures surface as reflect's panics ("reflect: slice index out of
// range", "reflect: call of reflect.Value.Field on zero Value"); a few
// inputs crash its compiler ("CFG post-order panic", "nil type"). A user,
// and the pLLM whose feedback quotes these errors, must read them as Go's
// compiler or runtime would say them. So every error leaves the package
// through one translation:
//
//   - compile errors (compileErr, Workspace.compile, Compiler.eval): the
//     position yaegi gives in the rewritten text is mapped back to the
//     source as written (srcMap), then the message is rewritten by the
//     first rule of compileRules that matches, with the syntax at the
//     position to fill in what Go's message names (the call, the operand,
//     the statement); then names are cleaned (goNames);
//   - panics (panicToError): reflect's and yaegi's runtime failures become
//     the *PanicError of a runtimeError in Go's runtime words
//     (runtimeRules), with the position when yaegi knows it.
//
// Each rule says which yaegi message it maps and why. A message no rule
// matches keeps its words, its names cleaned.

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// runtimeError is a Go runtime error in Go's words, raised for a failure
// yaegi reported in reflect's (an index out of range, a nil pointer
// dereference). Like Go's runtime errors it satisfies runtime.Error.
type runtimeError string

func (e runtimeError) Error() string { return string(e) }

// RuntimeError marks e as a runtime.Error.
func (runtimeError) RuntimeError() {}

// srcMap maps a position in the text yaegi compiled back to the source
// the user wrote. The rewriter's edits never add a line but shift columns;
// yaegi compiles the rewritten text with its own wrapper, which is the
// same as the parse wrapper here (package main; and, for workspace
// statements, func main() {...}), except for a ";" put after the
// wrapper before statements that begin with a declaration (input.unwrap).
type srcMap struct {
	text   string // the parsed text: prefix, the user's source, suffix
	prefix int    // bytes before the user's source, all on line 1
	suffix int    // bytes after it
	out    string // the rewritten text
	edits  []edit // the edits from text to out, in applyEdits's order
	semi   bool   // yaegi compiled out with a ";" after the prefix
	fset   *token.FileSet
	file   *ast.File
	// base and end bound the token.Pos values yaegi gave the compile
	// (its FileSet's Base before and after), so that a runtime position
	// can be told to belong to this source; 0 when unknown.
	base, end int
	// ht resolves the types of the source's expressions as far as it
	// can (typed.go), for messages; nil when not set.
	ht *hostTyper
}

// newSrcMap returns the map for text rewritten to out by edits (which
// applyEdits has sorted).
func newSrcMap(text, out string, prefix, suffix int, edits []edit, fset *token.FileSet, file *ast.File) *srcMap {
	return &srcMap{text: text, prefix: prefix, suffix: suffix, out: out, edits: append([]edit(nil), edits...), fset: fset, file: file}
}

// outOffset returns the offset in out of yaegi's 1-based line and column.
func (m *srcMap) outOffset(line, col int) (int, bool) {
	if line < 1 || col < 1 {
		return 0, false
	}
	start := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(m.out[start:], '\n')
		if i < 0 {
			return 0, false
		}
		start += i + 1
	}
	off := start + col - 1
	if line == 1 && m.semi && off > m.prefix {
		off-- // the ";" yaegi saw and out lacks
	}
	if off > len(m.out) {
		return 0, false
	}
	return off, true
}

// origOffset maps an offset in out to one in text: a position inside text
// an edit inserted maps to where the edit was made.
func (m *srcMap) origOffset(o int) int {
	delta := 0 // out offset - text offset, before the current edit
	for _, e := range m.edits {
		start := e.off + delta
		if o < start {
			break
		}
		if o < start+len(e.text) {
			return e.off
		}
		delta += len(e.text) - (e.end - e.off)
	}
	return o - delta
}

// at returns the site of yaegi's position line:col, or nil when it lies
// outside the user's source (in code the rewriter generated around it).
func (m *srcMap) at(line, col int) *site {
	if m == nil {
		return nil
	}
	o, ok := m.outOffset(line, col)
	if !ok {
		return nil
	}
	off := m.origOffset(o)
	if off < m.prefix || off > len(m.text)-m.suffix {
		return nil
	}
	return &site{m: m, off: off}
}

// site is a position in the source the user wrote.
type site struct {
	m   *srcMap
	off int // offset in m.text
}

// pos returns the 1-based line and column in the user's source.
func (s *site) pos() (line, col int) {
	before := s.m.text[:s.off]
	line = 1 + strings.Count(before, "\n")
	nl := strings.LastIndexByte(before, '\n')
	col = s.off - nl
	if line == 1 {
		col -= s.m.prefix
	}
	return line, col
}

// path returns the syntax nodes that contain the site, outermost first.
func (s *site) path() []ast.Node {
	if s == nil || s.m.file == nil {
		return nil
	}
	tf := s.m.fset.File(s.m.file.Pos())
	if tf == nil || s.off > tf.Size() {
		return nil
	}
	p := tf.Pos(s.off)
	var path []ast.Node
	ast.Inspect(s.m.file, func(n ast.Node) bool {
		if n == nil || p < n.Pos() || p >= n.End() {
			return false
		}
		path = append(path, n)
		return true
	})
	return path
}

// innermost returns the innermost node around the site that match
// accepts, or nil.
func (s *site) innermost(match func(ast.Node) bool) ast.Node {
	path := s.path()
	for i := len(path) - 1; i >= 0; i-- {
		if match(path[i]) {
			return path[i]
		}
	}
	return nil
}

// moveTo moves the site to p.
func (s *site) moveTo(p token.Pos) {
	if tf := s.m.fset.File(p); tf != nil {
		s.off = tf.Offset(p)
	}
}

// text returns the source of n as the user wrote it.
func (s *site) text(n ast.Node) string {
	tf := s.m.fset.File(n.Pos())
	if tf == nil {
		return ""
	}
	o, e := tf.Offset(n.Pos()), tf.Offset(n.End())
	if o < 0 || e > len(s.m.text) || o > e {
		return ""
	}
	return s.m.text[o:e]
}

// ---- names ----

// goTerms holds what translation needs to know of one compiler: the
// names scripts know the host's types by.
type goTerms struct {
	// typeNames maps a host type's reflect name to the script's name
	// for it: the API package's types are dot-imported (interp.Object →
	// Object), the sandbox's wrapper types stand for the library's
	// (interp.Builder → strings.Builder).
	typeNames map[string]string
}

func newGoTerms(api map[string]reflect.Value) *goTerms {
	t := &goTerms{typeNames: map[string]string{}}
	for key, syms := range sandboxSymbols() {
		if key == "." {
			continue
		}
		pkg := path.Base(path.Dir(key))
		for name, v := range syms {
			if rt, ok := exportedType(v); ok && rt.String() != pkg+"."+name {
				t.typeNames[rt.String()] = pkg + "." + name
			}
		}
	}
	for name, v := range api {
		if rt, ok := exportedType(v); ok {
			t.typeNames[rt.String()] = name
		}
	}
	return t
}

// exportedType returns T for a yaegi export of a type ((*T)(nil)).
func exportedType(v reflect.Value) (reflect.Type, bool) {
	if v.Kind() != reflect.Pointer || !v.IsNil() || v.Type().Elem().Name() == "" {
		return nil, false
	}
	return v.Type().Elem(), true
}

var (
	hiddenNamesOnce sync.Once
	hiddenPkgNames  map[string]string // batos_p_encoding_json → json
	guardNames      map[string]string // RepeatString → strings.Repeat
)

func hiddenNames() {
	hiddenNamesOnce.Do(func() {
		hiddenPkgNames = map[string]string{}
		for _, p := range curated {
			hiddenPkgNames[hiddenPkg(p)] = path.Base(p)
		}
		guardNames = map[string]string{}
		for fn, m := range guardedLib {
			pkg, name, _ := strings.Cut(fn, ".") // "encoding/json.Marshal"
			guardNames[m] = path.Base(pkg) + "." + name
		}
		for name := range guardedFmt {
			guardNames[name] = "fmt." + name
		}
	})
}

// yaegi's type categories, as its messages name them, and Go's words for
// them.
var catNames = map[string]string{
	"nilT": "nil", "arrayT": "array", "binT": "value", "binPkgT": "package", "boolT": "bool",
	"builtinT": "built-in", "chanT": "chan", "chanSendT": "chan<-", "chanRecvT": "<-chan",
	"comparableT": "comparable", "complex64T": "complex64", "complex128T": "complex128",
	"constraintT": "constraint", "errorT": "error", "float32T": "float32", "float64T": "float64",
	"funcT": "func", "genericT": "generic", "interfaceT": "interface", "intT": "int", "int8T": "int8",
	"int16T": "int16", "int32T": "int32", "int64T": "int64", "linkedT": "type", "mapT": "map",
	"ptrT": "pointer", "sliceT": "slice", "srcPkgT": "package", "stringT": "string", "structT": "struct",
	"uintT": "uint", "uint8T": "uint8", "uint16T": "uint16", "uint32T": "uint32", "uint64T": "uint64",
	"uintptrT": "uintptr", "valueT": "value", "variadicT": "...",
}

var (
	catRE       = regexp.MustCompile(`\b(?:nilT|arrayT|binT|binPkgT|boolT|builtinT|chanT|chanSendT|chanRecvT|comparableT|complex64T|complex128T|constraintT|errorT|float32T|float64T|funcT|genericT|interfaceT|intT|int8T|int16T|int32T|int64T|linkedT|mapT|ptrT|sliceT|srcPkgT|stringT|structT|uintT|uint8T|uint16T|uint32T|uint64T|uintptrT|valueT|variadicT)\b`)
	hiddenPkgRE = regexp.MustCompile(`\b` + hiddenPrefix + `p_\w+`)
	guardRE     = regexp.MustCompile(`\b` + guardParam + `\.(\w+)`)
	methodRE    = regexp.MustCompile(`\b` + hiddenPrefix + `m\d+_(\w+?)(?:_r)?\b`)
	// yaegi names a struct field's type it has not finished building
	// (a recursive type) unsafe2.dummy, and exports struct fields with
	// an X prefix when their names are unexported.
	dummyRE    = regexp.MustCompile(`\*?unsafe2\.dummy`)
	mainQualRE = regexp.MustCompile(`\bmain\.`)
	// qualifiedRE matches a qualified name: a candidate for typeNames.
	qualifiedRE = regexp.MustCompile(`\b\w+\.\w+\b`)
)

// goNames rewrites the names in a message that yaegi or the rewriter
// made into the ones the user wrote: hidden package and guard names, the
// method's hidden name, yaegi's type categories, host type names; in a
// compile error (compile), the main package's qualifier, which Go's
// compiler does not write for the package it compiles.
func (t *goTerms) goNames(msg string, compile bool) string {
	hiddenNames()
	if strings.Contains(msg, hiddenPrefix) {
		msg = hiddenPkgRE.ReplaceAllStringFunc(msg, func(s string) string {
			if n, ok := hiddenPkgNames[s]; ok {
				return n
			}
			return s
		})
		msg = guardRE.ReplaceAllStringFunc(msg, func(s string) string {
			if n, ok := guardNames[s[len(guardParam)+1:]]; ok {
				return n
			}
			return s
		})
		msg = methodRE.ReplaceAllString(msg, "$1")
		msg = strings.ReplaceAll(msg, selfParam, "self")
	}
	if strings.Contains(msg, "T") {
		msg = catRE.ReplaceAllStringFunc(msg, func(s string) string { return catNames[s] })
	}
	if strings.Contains(msg, "unsafe2") {
		msg = dummyRE.ReplaceAllString(msg, "…")
	}
	if t != nil && strings.Contains(msg, ".") {
		msg = qualifiedRE.ReplaceAllStringFunc(msg, func(s string) string {
			if n, ok := t.typeNames[s]; ok {
				return n
			}
			return s
		})
	}
	if compile {
		// Go's compiler names the empty interface any, and the package it
		// compiles without a qualifier.
		msg = mainQualRE.ReplaceAllString(msg, "")
		msg = strings.ReplaceAll(msg, "interface {}", "any")
	}
	return msg
}

// ---- compile errors ----

// rule maps one yaegi message, matched by re, to Go's; s is the site of
// the error in the user's source, nil when unknown.
type rule struct {
	re *regexp.Regexp
	to func(m []string, s *site) string
}

var compileRules = []rule{
	// An explicit conversion Go refuses.
	{re(`^cannot convert expression of type (.+) to type (.+)$`), func(m []string, s *site) string {
		if c := callAt(s); c != nil && len(c.Args) == 1 {
			return fmt.Sprintf("cannot convert %s to type %s", describeOperand(s, c.Args[0]), m[2])
		}
		return fmt.Sprintf("cannot convert value of type %s to type %s", m[1], m[2])
	}},
	// yaegi says "cannot convert X to T" for a value (constant, mostly)
	// that is not assignable where it is used: an argument, an
	// assignment, a return. Go says "cannot use X (untyped K constant) as
	// T value in <context>", and keeps "cannot convert" for conversions.
	{re(`^cannot convert (.+) to (.+)$`), func(m []string, s *site) string {
		return fmt.Sprintf("cannot use %s as %s value%s", operand(s, m[1]), m[2], useContext(s))
	}},
	// A return value of the wrong type: Go calls it a return statement
	// and describes constants by kind.
	{re(`^cannot use (.+) \(type (.+)\) as type (.+) in return argument$`), func(m []string, s *site) string {
		return fmt.Sprintf("cannot use %s as %s value in return statement", operandOfType(s, m[1], m[2]), m[3])
	}},
	// A value of the wrong type (not a constant): Go says "value of
	// type" and where.
	{re(`^cannot use type (.+) as type (.+?)(?: in (assignment|.+))?$`), func(m []string, s *site) string {
		what := "value of type " + m[1]
		if e := exprAt(s); e != nil {
			if msg := s.missingMethod(e); msg != "" {
				return msg
			}
			what = fmt.Sprintf("%s (%s of type %s)", s.text(e), valueKind(e), m[1])
		}
		return fmt.Sprintf("cannot use %s as %s value%s", what, m[2], useContext(s))
	}},
	// A call with too few arguments: yaegi leaves the callee's name out
	// or gives its hidden name; Go names the call as written.
	{re(`^not enough arguments in call to ?(.*)$`), func(m []string, s *site) string {
		return "not enough arguments in call" + callee(s, m[1])
	}},
	{re(`^too many arguments$`), func(m []string, s *site) string {
		return "too many arguments in call" + callee(s, "")
	}},
	// A selector that names nothing: Go says which expression lacks the
	// field or method.
	{re(`^undefined (?:selector|method):? (\w+)$`), func(m []string, s *site) string {
		if sel := selectorAt(s, m[1]); sel != nil {
			s.moveTo(sel.Sel.Pos()) // Go points at the selector
			return fmt.Sprintf("%s undefined (%s)", s.text(sel), noMember(s, sel))
		}
		return fmt.Sprintf("undefined: field or method %s", m[1])
	}},
	{re(`^undefined selector:? (\w+)\.(\w+)$`), func(m []string, s *site) string {
		return fmt.Sprintf("%s.%s undefined (type %s has no field or method %s)", m[1], m[2], m[1], m[2])
	}},
	// A package member that does not exist.
	{re(`^package (\w+) "[^"]*" has no symbol (\w+)$`), func(m []string, s *site) string {
		return fmt.Sprintf("undefined: %s.%s", m[1], m[2])
	}},
	// yaegi's word for a multi-value assignment whose sides do not
	// match; Go counts them.
	{re(`^unsupported assign expression$`), func(m []string, s *site) string {
		if msg := assignMismatch(s); msg != "" {
			return msg
		}
		return "assignment mismatch"
	}},
	// `x := undefinedName()` at the top level of an entry: yaegi reports
	// a loop among the package's initializers. The workspace first
	// looks for an undefined name itself (Workspace.undefinedName); left
	// here, Go would speak of an initialization cycle.
	{re(`^(?:constant|variable) definition loop$`), func(m []string, s *site) string {
		if id := identAt(s); id != nil {
			return fmt.Sprintf("initialization cycle or undefined name in the declaration of %s", id.Name)
		}
		return "initialization cycle or undefined name in a declaration"
	}},
	// yaegi leaves the context out (a trailing space).
	{re(`^use of untyped nil\s*$`), func(m []string, s *site) string {
		return "use of untyped nil" + useContext(s)
	}},
	// yaegi adds a second line with its own file name; Go's second line
	// ("other declaration of x") is left out to keep one line.
	{re(`(?s)^(\S+) redeclared in this block.*$`), func(m []string, s *site) string {
		return m[1] + " redeclared in this block"
	}},
	// A constant index out of an array's bounds: yaegi names the index's
	// type instead of its value.
	{re(`^index (\S+) is out of bounds(?: \(>= (\d+)\))?$`), func(m []string, s *site) string {
		idx := m[1]
		if ix, ok := innermostOf[*ast.IndexExpr](s); ok {
			idx = s.text(ix.Index)
		}
		if m[2] != "" {
			return fmt.Sprintf("invalid argument: index %s out of bounds [0:%s]", idx, m[2])
		}
		return fmt.Sprintf("invalid argument: index %s out of bounds", idx)
	}},
	// Constant slice indices in the wrong order.
	{re(`^invalid index values, must be low <= high <= max$`), func(m []string, s *site) string {
		if se, ok := innermostOf[*ast.SliceExpr](s); ok {
			idx := []ast.Expr{se.Low, se.High, se.Max}
			for i := 0; i < 2; i++ {
				for j := i + 1; j < 3; j++ {
					a, aok := constIndex(idx[i])
					b, bok := constIndex(idx[j])
					if aok && bok && b < a {
						return fmt.Sprintf("invalid slice indices: %d < %d", b, a)
					}
				}
			}
		}
		return "invalid slice indices"
	}},
	// Go names the operation and puts the types in parentheses.
	{re(`^invalid operation: mismatched types (.+) and (.+)$`), func(m []string, s *site) string {
		if b, ok := innermostOf[*ast.BinaryExpr](s); ok {
			return fmt.Sprintf("invalid operation: %s (mismatched types %s and %s)", s.text(b), m[1], m[2])
		}
		return fmt.Sprintf("invalid operation: mismatched types %s and %s", m[1], m[2])
	}},
	{re(`^invalid operation: operator (\S+) not defined on (.+)$`), func(m []string, s *site) string {
		if b, ok := innermostOf[*ast.BinaryExpr](s); ok {
			switch k := kindOf(m[2]); {
			case (m[1] == "==" || m[1] == "!=") && k != "":
				return fmt.Sprintf("invalid operation: %s (%s can only be compared to nil)", s.text(b), k)
			default:
				return fmt.Sprintf("invalid operation: operator %s not defined on %s (%s of type %s)", m[1], s.text(b.X), valueKind(b.X), m[2])
			}
		}
		if u, ok := innermostOf[*ast.UnaryExpr](s); ok {
			return fmt.Sprintf("invalid operation: operator %s not defined on %s (%s of type %s)", m[1], s.text(u.X), valueKind(u.X), m[2])
		}
		return fmt.Sprintf("invalid operation: operator %s not defined on %s", m[1], m[2])
	}},
	// Dereferencing what is not a pointer: yaegi quotes an empty name.
	{re(`^invalid operation: cannot indirect "(.*)"$`), func(m []string, s *site) string {
		if st, ok := starAt(s); ok {
			if t := s.typeOf(st.X); t != "" {
				return fmt.Sprintf("invalid operation: cannot indirect %s (%s of type %s)", s.text(st.X), valueKind(st.X), t)
			}
			return fmt.Sprintf("invalid operation: cannot indirect %s", s.text(st.X))
		}
		return "invalid operation: cannot indirect a value that is not a pointer"
	}},
	// A type assertion on a value that is not an interface.
	{re(`^invalid type assertion: non-interface type (.+) on left$`), func(m []string, s *site) string {
		if ta, ok := innermostOf[*ast.TypeAssertExpr](s); ok {
			return fmt.Sprintf("invalid operation: %s (%s of type %s) is not an interface", s.text(ta.X), valueKind(ta.X), m[1])
		}
		return fmt.Sprintf("invalid operation: value of type %s is not an interface", m[1])
	}},
	// A constant too large for its type: Go shows the constant's value
	// when the operand is an expression.
	{re(`^(\S+) overflows (\w+)$`), func(m []string, s *site) string {
		x := operand(s, m[1])
		if e := exprAt(s); e != nil {
			if _, lit := ast.Unparen(e).(*ast.BasicLit); !lit {
				x = fmt.Sprintf("%s (untyped int constant %s)", s.text(e), m[1])
			}
		}
		return fmt.Sprintf("cannot use %s as %s value%s (overflows)", x, m[2], useContext(s))
	}},
	// Assigning to a constant: yaegi names the value, Go the operand.
	{re(`^cannot assign to (.+) \((.+) constant\)$`), func(m []string, s *site) string {
		if as, ok := innermostOf[*ast.AssignStmt](s); ok && len(as.Lhs) == 1 {
			return fmt.Sprintf("cannot assign to %s (neither addressable nor a map index expression)", s.text(as.Lhs[0]))
		}
		return fmt.Sprintf("cannot assign to %s (constant)", m[1])
	}},
	// A built-in given an argument it does not take.
	{re(`^invalid argument (?:type (\S+) )?for (\w+)$`), func(m []string, s *site) string {
		if c := callAt(s); c != nil && len(c.Args) > 0 {
			return fmt.Sprintf("invalid argument: %s for built-in %s", operand(s, s.text(c.Args[0])), m[2])
		}
		return fmt.Sprintf("invalid argument for built-in %s", m[2])
	}},
	// Go names the literal's type.
	{re(`^(unknown field \w+ in struct literal|too many values in struct literal|too few values in struct literal|mixture of field:value and value elements in struct literal)$`), func(m []string, s *site) string {
		if cl, ok := innermostOf[*ast.CompositeLit](s); ok && cl.Type != nil {
			return fmt.Sprintf("%s of type %s", m[1], s.text(cl.Type))
		}
		return m[1]
	}},
	{re(`^non-bool used as (if|for) condition$`), func(m []string, s *site) string {
		return fmt.Sprintf("non-boolean condition in %s statement", m[1])
	}},
	// Go points at the results.
	{re(`^too many arguments to return$`), func(m []string, s *site) string {
		atResults(s)
		return "too many return values"
	}},
	{re(`^not enough arguments to return$`), func(m []string, s *site) string {
		atResults(s)
		return "not enough return values"
	}},
	// yaegi's assignment-count message names the callee's hidden name
	// (cleaned already) and may say "returns 0 values" for an undefined
	// one.
	{re(`^assignment mismatch: (\d+) variables? but (.+) returns (\d+) values?$`), func(m []string, s *site) string {
		return fmt.Sprintf("assignment mismatch: %s but %s returns %s", plural(m[1], "variable"), m[2], plural(m[3], "value"))
	}},
	{re(`^(\S+) does not implement (.+)$`), func(m []string, s *site) string {
		return fmt.Sprintf("%s does not implement %s", m[1], m[2])
	}},
	{re(`^type (.+) does not implement interface (.+)$`), func(m []string, s *site) string {
		return fmt.Sprintf("%s does not implement %s", m[1], m[2])
	}},
	// yaegi's word for a call of something that is not a function, a
	// type used as a value, and the like.
	{re(`^(\S+) is not a type$`), func(m []string, s *site) string { return m[1] + " is not a type" }},
}

// re compiles a rule's pattern.
func re(p string) *regexp.Regexp { return regexp.MustCompile(p) }

// ---- helpers for rules ----

// innermostOf returns the innermost node of type T around the site.
func innermostOf[T ast.Node](s *site) (T, bool) {
	var zero T
	if s == nil {
		return zero, false
	}
	n := s.innermost(func(n ast.Node) bool { _, ok := n.(T); return ok })
	if n == nil {
		return zero, false
	}
	return n.(T), true
}

// atResults moves the site to the results of the return statement
// around it.
func atResults(s *site) {
	if r, ok := innermostOf[*ast.ReturnStmt](s); ok && len(r.Results) > 0 {
		s.moveTo(r.Results[0].Pos())
	}
}

// starAt returns the dereference whose operand starts at the site (where
// yaegi points), else the innermost one.
func starAt(s *site) (*ast.StarExpr, bool) {
	if s == nil {
		return nil, false
	}
	tf := s.m.fset.File(s.m.file.Pos())
	for _, n := range s.path() {
		if st, ok := n.(*ast.StarExpr); ok && tf.Offset(st.X.Pos()) == s.off {
			return st, true
		}
	}
	return innermostOf[*ast.StarExpr](s)
}

// callAt returns the innermost call around the site.
func callAt(s *site) *ast.CallExpr {
	c, _ := innermostOf[*ast.CallExpr](s)
	return c
}

// exprAt returns the innermost expression that starts at the site.
func exprAt(s *site) ast.Expr {
	if s == nil {
		return nil
	}
	path := s.path()
	tf := s.m.fset.File(s.m.file.Pos())
	for i := len(path) - 1; i >= 0; i-- {
		if e, ok := path[i].(ast.Expr); ok && tf.Offset(e.Pos()) == s.off {
			// The largest expression that starts here: yaegi points at
			// an operand's first token.
			for j := i - 1; j >= 0; j-- {
				if o, ok := path[j].(ast.Expr); ok && tf.Offset(o.Pos()) == s.off {
					e = o
					continue
				}
				break
			}
			return e
		}
	}
	return nil
}

// identAt returns the identifier at the site.
func identAt(s *site) *ast.Ident {
	id, _ := innermostOf[*ast.Ident](s)
	return id
}

// selectorAt returns the selector expression around the site whose
// selector is name.
func selectorAt(s *site, name string) *ast.SelectorExpr {
	if s == nil {
		return nil
	}
	var found *ast.SelectorExpr
	path := s.path()
	for i := len(path) - 1; i >= 0 && found == nil; i-- {
		ast.Inspect(path[i], func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == name && found == nil {
				found = sel
			}
			return found == nil
		})
	}
	return found
}

// noMember says that sel's operand has no member sel.Sel, with its type
// when the site knows it (see site.typeOf).
func noMember(s *site, sel *ast.SelectorExpr) string {
	if t := s.typeOf(sel.X); t != "" {
		return fmt.Sprintf("type %s has no field or method %s", t, sel.Sel.Name)
	}
	return fmt.Sprintf("%s has no field or method %s", s.text(sel.X), sel.Sel.Name)
}

// typeOf returns the type of e as a script names it, when the site's
// resolver knows it (set for a compile the checks in typed.go can
// follow); "" otherwise.
func (s *site) typeOf(e ast.Expr) string {
	if s == nil || s.m.ht == nil {
		return ""
	}
	return s.m.ht.describe(e)
}

// missingMethod returns Go's message when the value e, declared or
// assigned to a variable of an interface type, lacks one of its methods
// (see hostTyper.implements); "" when the site's resolver cannot tell.
func (s *site) missingMethod(e ast.Expr) string {
	if s.m.ht == nil {
		return ""
	}
	text := s.text
	if vs, ok := innermostOf[*ast.ValueSpec](s); ok && vs.Type != nil {
		return s.m.ht.implements(vs.Type, e, "variable declaration", func(n ast.Node) string { return text(n) })
	}
	if as, ok := innermostOf[*ast.AssignStmt](s); ok && as.Tok == token.ASSIGN && len(as.Lhs) == len(as.Rhs) {
		for i, r := range as.Rhs {
			if r == e {
				return s.m.ht.implements(s.m.ht.declaredType(as.Lhs[i]), e, "assignment", func(n ast.Node) string { return text(n) })
			}
		}
	}
	return ""
}

// operand describes the operand text x the way Go does: an untyped
// constant's kind in parentheses.
func operand(s *site, x string) string {
	if e := exprAt(s); e != nil {
		return describeOperand(s, e)
	}
	return x
}

// operandOfType is operand for a value yaegi gave a type: untyped
// constants are described by kind, other values by their type.
func operandOfType(s *site, x, typ string) string {
	if e := exprAt(s); e != nil {
		if _, lit := ast.Unparen(e).(*ast.BasicLit); lit {
			return describeOperand(s, e)
		}
		return fmt.Sprintf("%s (value of type %s)", s.text(e), typ)
	}
	return fmt.Sprintf("%s (value of type %s)", x, typ)
}

func describeOperand(s *site, e ast.Expr) string {
	text := s.text(e)
	switch lit := ast.Unparen(e).(type) {
	case *ast.BasicLit:
		kinds := map[token.Token]string{token.INT: "int", token.FLOAT: "float", token.IMAG: "complex", token.CHAR: "rune", token.STRING: "string"}
		return fmt.Sprintf("%s (untyped %s constant)", text, kinds[lit.Kind])
	case *ast.Ident:
		if lit.Name == "nil" {
			return "nil"
		}
	}
	return text
}

// useContext names, as Go does after "cannot use x as T value", where
// the site's value is used: " in argument to f", " in assignment", " in
// variable declaration", " in return statement"; "" when unknown.
func useContext(s *site) string {
	if s == nil {
		return ""
	}
	tf := s.m.fset.File(s.m.file.Pos())
	path := s.path()
	for i := len(path) - 1; i >= 0; i-- {
		if _, expr := path[i].(ast.Expr); expr && tf.Offset(path[i].Pos()) == s.off {
			continue // the value itself, or an expression it begins
		}
		switch n := path[i].(type) {
		case *ast.IndexExpr:
			if tf.Offset(n.Lbrack) < s.off {
				return " in map index"
			}
		case *ast.CallExpr:
			if tf.Offset(n.Lparen) < s.off {
				return " in argument to " + callName(s, n)
			}
		case *ast.ReturnStmt:
			return " in return statement"
		case *ast.AssignStmt:
			return " in assignment"
		case *ast.ValueSpec:
			return " in variable declaration"
		case *ast.CompositeLit:
			return " in composite literal"
		case *ast.FuncLit, *ast.BlockStmt:
			return ""
		}
	}
	return ""
}

// callee returns " to f" naming the call around the site as written, or
// the name yaegi gave (its hidden names cleaned); "" when neither.
func callee(s *site, name string) string {
	if c := callAt(s); c != nil {
		return " to " + callName(s, c)
	}
	if name != "" {
		return " to " + name
	}
	return ""
}

func callName(s *site, c *ast.CallExpr) string { return s.text(c.Fun) }

// assignMismatch describes a multi-value assignment or declaration around
// the site whose sides do not match, as Go does.
func assignMismatch(s *site) string {
	if as, ok := innermostOf[*ast.AssignStmt](s); ok {
		return mismatch(s, len(as.Lhs), as.Rhs)
	}
	if vs, ok := innermostOf[*ast.ValueSpec](s); ok && len(vs.Values) > 0 {
		return mismatch(s, len(vs.Names), vs.Values)
	}
	return ""
}

func mismatch(s *site, lhs int, rhs []ast.Expr) string {
	if len(rhs) == 1 {
		if c, ok := ast.Unparen(rhs[0]).(*ast.CallExpr); ok {
			return fmt.Sprintf("assignment mismatch: %s but %s returns a different number of values", plural(strconv.Itoa(lhs), "variable"), s.text(c.Fun)+"()")
		}
	}
	return fmt.Sprintf("assignment mismatch: %s but %s", plural(strconv.Itoa(lhs), "variable"), plural(strconv.Itoa(len(rhs)), "value"))
}

func plural(n, noun string) string {
	if n == "1" {
		return n + " " + noun
	}
	return n + " " + noun + "s"
}

// constIndex evaluates an integer literal index.
func constIndex(e ast.Expr) (int64, bool) {
	if e == nil {
		return 0, false
	}
	return constInt(e, nil)
}

// kindOf returns "slice", "map" or "func" for a type that can only be
// compared to nil, else "".
func kindOf(typ string) string {
	switch {
	case strings.HasPrefix(typ, "[]"):
		return "slice"
	case strings.HasPrefix(typ, "map["):
		return "map"
	case strings.HasPrefix(typ, "func("):
		return "func"
	}
	return ""
}

// yaegiPosPrefix matches the position yaegi puts before its messages:
// "1:28: " or "_.go:1:28: ".
var yaegiPosPrefix = regexp.MustCompile(`^(?:[^:\s]*\.go:)?(\d+):(\d+): `)

// innerPos matches positions yaegi nests inside a message ("CFG
// post-order panic: 1:21: incomplete type T").
var innerPos = regexp.MustCompile(`(?:[^:\s]*\.go:)?\b\d+:\d+: `)

// splitPos removes yaegi's position from msg and returns it.
func splitPos(msg string) (line, col int, rest string) {
	m := yaegiPosPrefix.FindStringSubmatch(msg)
	if m == nil {
		return 0, 0, msg
	}
	line, _ = strconv.Atoi(m[1])
	col, _ = strconv.Atoi(m[2])
	return line, col, msg[len(m[0]):]
}

// goCompileMessage translates a yaegi compile error message (its
// position removed) at s.
func (t *goTerms) goCompileMessage(msg string, s *site) string {
	msg = t.goNames(msg, true)
	for _, r := range compileRules {
		if m := r.re.FindStringSubmatch(msg); m != nil {
			return r.to(m, s)
		}
	}
	return msg
}

// ---- runtime errors ----

// runtimeRules map the panics of reflect (through which yaegi runs
// most operations) to the runtime errors Go raises for the same
// operation. reflect knows neither the index nor the length, so Go's
// "[3] with length 0" is left out: the rest is Go's message word for
// word.
var runtimeRules = []rule{
	// Indexing a slice, array or string out of range.
	{re(`^reflect: (?:slice|array|string) index out of range$`), func([]string, *site) string {
		return "runtime error: index out of range"
	}},
	// Slicing out of range.
	{re(`^reflect\.Value\.Slice3?: (?:string )?slice index out of bounds$`), func([]string, *site) string {
		return "runtime error: slice bounds out of range"
	}},
	// make with a negative or too large length or capacity.
	{re(`^reflect\.MakeSlice: (?:negative len|len too large)$`), func([]string, *site) string {
		return "runtime error: makeslice: len out of range"
	}},
	{re(`^reflect\.MakeSlice: (?:negative cap|len > cap|cap too large)$`), func([]string, *site) string {
		return "runtime error: makeslice: cap out of range"
	}},
	// A nil pointer, interface or function used: yaegi meets the nil
	// as reflect's zero Value, or calls a nil interface's method or a
	// nil func through reflect.
	{re(`^reflect: call of reflect\.Value\.\w+ on zero Value$`), nilDeref},
	{re(`^reflect: Method on nil interface value$`), nilDeref},
	{re(`^reflect: Call using zero Value argument$`), nilDeref},
	{re(`^reflect\.Value\.Call: call of nil function$`), nilDeref},
	{re(`^reflect: call of reflect\.Value\.(?:Elem|Field|Method|NumMethod) on ptr Value$`), nilDeref},
	// Calling a value that is not a function: a compile error in Go,
	// found only when yaegi runs the call.
	{re(`^reflect: call of reflect\.Value\.Call(?:Slice)? on (\S+) Value$`), func(m []string, s *site) string {
		return fmt.Sprintf("invalid operation: cannot call non-function (value of kind %s)", m[1])
	}},
	// An argument of the wrong type, found when yaegi calls a library
	// function: a compile error in Go.
	{re(`^reflect: Call using (.+) as type (.+)$`), func(m []string, s *site) string {
		return fmt.Sprintf("cannot use value of type %s as %s value in argument", m[1], m[2])
	}},
	{re(`^reflect: (?:Call|CallSlice) with too (few|many) input arguments$`), func(m []string, s *site) string {
		if m[1] == "few" {
			return "not enough arguments in call"
		}
		return "too many arguments in call"
	}},
	// Assigning to a string's byte, or another value Go could not
	// address: a compile error in Go.
	{re(`^reflect: reflect\.(?:Value\.)?Set(?:\w*)? using unaddressable value$`), func([]string, *site) string {
		return "cannot assign to value (neither addressable nor a map index expression)"
	}},
	// A host struct's unexported field.
	{re(`^reflect(?:\.Value\.Interface)?: cannot return value obtained from unexported field or method$`), func([]string, *site) string {
		return "cannot refer to an unexported field or method"
	}},
	{re(`^reflect\.Set: value of type (.+) is not assignable to type (.+)$`), func(m []string, s *site) string {
		return fmt.Sprintf("cannot use value of type %s as %s value in assignment", m[1], m[2])
	}},
	{re(`^reflect\.Value\.Convert: value of type (.+) cannot be converted to type (.+)$`), func(m []string, s *site) string {
		return fmt.Sprintf("cannot convert value of type %s to type %s", m[1], m[2])
	}},
	// A type assertion to an interface the script declared, of a value
	// that is nil — or of a host value, which yaegi cannot convert to
	// such an interface even when Go could: its message says "nil" for
	// both.
	{re(`^interface conversion: nil is not (.+)$`), func(m []string, s *site) string {
		return "interface conversion: interface is nil or holds a host type, not " + m[1] + " (the interpreter cannot assert a host type to an interface declared in the script)"
	}},
	// A type assertion of a host function's result (Object.Get's any) to
	// a concrete type it does not hold: yaegi words it as an interface
	// assertion with no method named.
	{re(`^interface conversion: (\S+) is not ([^:]+): missing method\s*$`), func(m []string, s *site) string {
		return fmt.Sprintf("interface conversion: interface {} is %s, not %s", m[1], m[2])
	}},
	{re(`^(interface conversion: .+)$`), func(m []string, s *site) string { return m[1] }},
	// A method call on a value of an interface type declared in the
	// script, which yaegi let hold a host value that lacks the method
	// (see checkInterfaceValue): Go refuses the assignment.
	{re(`^method not found: (\w+)$`), func(m []string, s *site) string {
		if vs, ok := innermostOf[*ast.ValueSpec](s); ok && vs.Type != nil {
			if e := exprAt(s); e != nil {
				return fmt.Sprintf("cannot use %s as %s value in variable declaration: missing method %s", describeOperand(s, e), types.ExprString(vs.Type), m[1])
			}
		}
		if sel := selectorAt(s, m[1]); sel != nil {
			return fmt.Sprintf("cannot call %s: the value in %s does not implement its interface (missing method %s)", s.text(sel), s.text(sel.X), m[1])
		}
		return fmt.Sprintf("value does not implement the interface (missing method %s)", m[1])
	}},
}

func nilDeref([]string, *site) string {
	return "runtime error: invalid memory address or nil pointer dereference"
}

// goRuntimeMessage returns Go's words for a panic message of reflect or
// yaegi, or "" when msg is not one.
func (t *goTerms) goRuntimeMessage(msg string, s *site) string {
	for _, r := range runtimeRules {
		if m := r.re.FindStringSubmatch(msg); m != nil {
			return t.goNames(r.to(m, s), false)
		}
	}
	return ""
}

// ---- where errors leave the package ----

// compileErr reformats a yaegi compile error as a *SyntaxError in Go's
// words, at the position in the source as written (sm maps it; nil keeps
// yaegi's line, which the rewriter never moves, and no column).
func (t *goTerms) compileErr(selector string, err error, sm *srcMap) error {
	line, col, msg := splitPos(err.Error())
	if line == 0 {
		msg = t.goCompileMessage(innerPos.ReplaceAllString(msg, ""), nil)
		return &SyntaxError{Selector: selector, Msg: msg, Compile: true}
	}
	s := sm.at(line, col)
	msg = t.goCompileMessage(innerPos.ReplaceAllString(msg, ""), s)
	se := &SyntaxError{Selector: selector, Line: line, Msg: msg, Compile: true}
	if s != nil {
		se.Line, se.Col = s.pos()
	}
	return se
}

// unsupported turns a panic of yaegi's compiler into an error. The panic
// says "L:C: CFG post-order panic: <what>" when yaegi knew where; <what>
// is often a runtime error of yaegi itself. Inputs known to crash it get
// Go's message (a non-boolean constant condition, indexing a non-index
// type); others say the interpreter does not support them.
func (t *goTerms) unsupported(selector string, r any, sm *srcMap) *SyntaxError {
	msg := fmt.Sprint(r)
	if e, ok := r.(error); ok {
		msg = e.Error()
	}
	line, col, rest := splitPos(msg)
	rest = strings.TrimPrefix(rest, "CFG post-order panic: ")
	var s *site
	if line > 0 {
		s = sm.at(line, col)
	}
	if l2, c2, inner := splitPos(rest); l2 > 0 {
		// A nested position is the more precise one.
		if s2 := sm.at(l2, c2); s2 != nil {
			s, line, col = s2, l2, c2
		}
		rest = inner
	}
	rest = innerPos.ReplaceAllString(rest, "")
	var out string
	switch {
	case strings.HasPrefix(rest, "reflect: call of reflect.Value.Bool on"):
		// A constant condition that is not a boolean.
		out = "non-boolean condition in if statement"
		if _, ok := innermostOf[*ast.ForStmt](s); ok {
			out = "non-boolean condition in for statement"
		}
	case rest == "nil type" || strings.HasPrefix(rest, "nil type:"):
		if ix, ok := innermostOf[*ast.IndexExpr](s); ok {
			out = fmt.Sprintf("invalid operation: cannot index %s", s.text(ix.X))
		} else if id := identAt(s); id != nil {
			out = "undefined: " + id.Name
		}
	case strings.HasPrefix(rest, "incomplete type "):
		out = "invalid use of incomplete type " + strings.TrimPrefix(rest, "incomplete type ")
	}
	if out == "" {
		// What the compiler met is its own failure (a reflect or
		// runtime error inside yaegi, "nil type"): not the script's, so
		// not told in Go's words for one.
		out = "unsupported by the interpreter: its compiler failed on this input"
		if !internalFailure.MatchString(rest) {
			out += " (" + t.goNames(rest, true) + ")"
		}
	}
	se := &SyntaxError{Selector: selector, Msg: t.goNames(out, true), Compile: true}
	if s != nil {
		se.Line, se.Col = s.pos()
	} else if line > 0 {
		se.Line = line
	}
	return se
}

// internalFailure matches the panics of yaegi's compiler that say
// nothing about the script: its own runtime errors and reflect's.
var internalFailure = regexp.MustCompile(`^(?:reflect|runtime error|interface conversion|nil type|nil reflect type|assignment to entry in nil map)`)

// yaegiErrorPos returns the position of a runtime error yaegi raised
// itself (its *cfgError, which holds the syntax node it failed at), read
// through reflect: yaegi does not export it. ok is false for any other
// value, and if yaegi's layout ever changes.
func yaegiErrorPos(v any) (token.Pos, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return 0, false
	}
	st := rv.Elem()
	if st.Type().Name() != "cfgError" || st.Type().PkgPath() != "batos/internal/yaegi/interp" || st.NumField() == 0 {
		return 0, false
	}
	n := st.Field(0)
	if n.Kind() != reflect.Pointer || n.IsNil() || n.Elem().Kind() != reflect.Struct {
		return 0, false
	}
	p := n.Elem().FieldByName("pos")
	if !p.IsValid() || p.Kind() != reflect.Int {
		return 0, false
	}
	return token.Pos(p.Int()), true
}

// isYaegiError reports whether v is an error yaegi raised itself.
func isYaegiError(v any) bool {
	t := reflect.TypeOf(v)
	return t != nil && t.Kind() == reflect.Pointer && t.Elem().PkgPath() == "batos/internal/yaegi/interp"
}

// runtimeSite returns the site of yaegi's error v in the source sm maps,
// when v knows its position and it lies in that source (not in code an
// earlier entry compiled).
func runtimeSite(v any, fset *token.FileSet, sm *srcMap) *site {
	if sm == nil || fset == nil || sm.end <= sm.base {
		return nil
	}
	p, ok := yaegiErrorPos(v)
	if !ok || int(p) < sm.base || int(p) >= sm.end {
		return nil
	}
	pos := fset.Position(p)
	return sm.at(pos.Line, pos.Column)
}

// soleSite is where a panic without a position happened when the source
// leaves no doubt: the only expression that can fail so — the only index
// expression for "index out of range", the only slice expression for
// "slice bounds out of range", the only division for "integer divide by
// zero", the only call of panic for a panic of the script's own; nil
// otherwise. (Without types an index into a map counts too: a source
// that also indexes a map gets no position.)
func soleSite(sm *srcMap, msg string) *site {
	if sm == nil || sm.file == nil || sm.fset == nil {
		return nil
	}
	var want func(ast.Node) bool
	switch msg {
	case "runtime error: index out of range":
		want = func(n ast.Node) bool { _, ok := n.(*ast.IndexExpr); return ok }
	case "runtime error: slice bounds out of range":
		want = func(n ast.Node) bool { _, ok := n.(*ast.SliceExpr); return ok }
	case "runtime error: integer divide by zero":
		want = func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr:
				return n.Op == token.QUO || n.Op == token.REM
			case *ast.AssignStmt:
				return n.Tok == token.QUO_ASSIGN || n.Tok == token.REM_ASSIGN
			}
			return false
		}
	case panicCall:
		want = func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return false
			}
			id, ok := call.Fun.(*ast.Ident)
			return ok && id.Name == "panic"
		}
	default:
		return nil
	}
	var found []ast.Node
	ast.Inspect(sm.file, func(n ast.Node) bool {
		if n != nil && want(n) {
			found = append(found, n)
		}
		return len(found) < 2
	})
	if len(found) != 1 {
		return nil
	}
	off := sm.fset.Position(found[0].Pos()).Offset
	if off < sm.prefix || off > len(sm.text)-sm.suffix {
		return nil
	}
	return &site{m: sm, off: off}
}

// panicCall is soleSite's kind for a panic the script raised itself.
const panicCall = "panic()"

// panicToError is goTerms.panicToError without a compiler's terms or a
// position.
func panicToError(selector string, r any) error {
	return (*goTerms)(nil).panicToError(selector, r, nil, nil)
}

// panicToError turns a recovered panic value into the error a caller
// sees: a *StopError or any other error value as is (so typed errors
// raised by nested sends keep their identity); reflect's and yaegi's
// runtime failures as a *PanicError of a runtimeError in Go's words (with
// the position when yaegi knows it: fset and sm, when not nil, say where
// the code that ran was compiled); everything else, Go runtime errors
// included, as a *PanicError.
func (t *goTerms) panicToError(selector string, r any, fset *token.FileSet, sm *srcMap) error {
	if rv, ok := r.(reflect.Value); ok {
		// yaegi hands some panic values over wrapped.
		r = nil
		if rv.IsValid() && rv.CanInterface() {
			r = rv.Interface()
		}
	}
	pe := &PanicError{Selector: selector, Value: r}
	switch v := r.(type) {
	case *StopError:
		return v
	case runtime.Error:
		if s := soleSite(sm, v.Error()); s != nil {
			pe.Line, pe.Col = s.pos()
		}
		return pe
	case *reflect.ValueError:
		if m := t.goRuntimeMessage(v.Error(), nil); m != "" {
			pe.Value = runtimeError(m)
		}
		return pe
	case string:
		if strings.HasPrefix(v, "reflect") {
			if m := t.goRuntimeMessage(v, nil); m != "" {
				pe.Value = runtimeError(m)
				// reflect's panic carries no position; when the source
				// has one expression that can fail so, it is the one.
				if s := soleSite(sm, m); s != nil {
					pe.Line, pe.Col = s.pos()
				}
			}
		} else if s := soleSite(sm, panicCall); s != nil {
			pe.Line, pe.Col = s.pos()
		}
		return pe
	case error:
		if !isYaegiError(v) {
			return safeError(v)
		}
		s := runtimeSite(v, fset, sm)
		_, _, msg := splitPos(v.Error())
		if m := t.goRuntimeMessage(msg, s); m != "" {
			msg = m
		} else {
			msg = t.goNames(msg, false)
		}
		pe.Value = runtimeError(msg)
		if s != nil {
			pe.Line, pe.Col = s.pos()
		}
		return pe
	}
	return pe
}
