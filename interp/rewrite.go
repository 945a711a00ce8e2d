package interp

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/scanner"
	"go/token"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/traefik/yaegi/stdlib"
)

// hiddenPrefix starts every name the rewriter introduces. Scripts may not
// use identifiers with this prefix.
const hiddenPrefix = "batos_"

// Names the rewritten code uses.
const (
	guardParam = hiddenPrefix + "g"    // the method's hidden first parameter
	selfParam  = hiddenPrefix + "self" // the renamed receiver parameter
	countVar   = hiddenPrefix + "n"    // a function's loop countdown
	rtPkg      = hiddenPrefix + "rt"   // the package exporting Guard
	wsPkg      = hiddenPrefix + "ws"   // a workspace's package holding its current guard
)

// Param is one declared parameter of a method, after self.
type Param struct{ Name, Type string }

// Signature is what a method's source declares.
type Signature struct {
	Selector string
	Params   []Param  // excluding self; a variadic last parameter's Type starts with "..."
	Results  []string // result types as written
	Variadic bool
}

// ParseMethod validates method source against the method source contract
// (see the package documentation) without compiling it, and returns its
// signature. The receiver type must be spelt Object.
func ParseMethod(selector, src string) (*Signature, error) {
	p, err := parseMethod(selector, src, "Object")
	if err != nil {
		return nil, err
	}
	return p.sig, nil
}

// parsed is a validated method.
type parsed struct {
	sig     *Signature
	fset    *token.FileSet
	file    *ast.File
	decl    *ast.FuncDecl
	src     string
	aliases map[string]string // user import names → paths
}

func parseMethod(selector, src, recvType string) (*parsed, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "", "package main;"+src, parser.AllErrors)
	if err != nil {
		return nil, syntaxErr(selector, err, len("package main;"))
	}
	serr := func(pos token.Pos, format string, args ...any) error {
		p := fset.Position(pos)
		col := p.Column
		if p.Line == 1 {
			col -= len("package main;")
		}
		return &SyntaxError{Selector: selector, Line: p.Line, Col: col, Msg: fmt.Sprintf(format, args...)}
	}
	pm := &parsed{fset: fset, file: file, src: src, aliases: map[string]string{}}
	var decls []ast.Decl
	for _, d := range file.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			if err := checkImports(selector, fset, g, pm.aliases, serr); err != nil {
				return nil, err
			}
			continue
		}
		decls = append(decls, d)
	}
	switch {
	case len(decls) == 0:
		return nil, &SyntaxError{Selector: selector, Line: 1, Msg: fmt.Sprintf("method source declares nothing, want one func %s(self %s, ...)", selector, recvType)}
	case len(decls) > 1:
		return nil, serr(decls[1].Pos(), "method source must declare exactly one function, found %d declarations", len(decls))
	}
	fd, ok := decls[0].(*ast.FuncDecl)
	if !ok {
		return nil, serr(decls[0].Pos(), "method source must be one function declaration, found %s", decls[0].(*ast.GenDecl).Tok)
	}
	pm.decl = fd
	if fd.Recv != nil {
		return nil, serr(fd.Pos(), "a method is a plain function with the receiver as its first parameter: func %s(self %s, ...)", selector, recvType)
	}
	if fd.Name.Name != selector {
		return nil, serr(fd.Name.Pos(), "method source declares %s, want %s", fd.Name.Name, selector)
	}
	if fd.Type.TypeParams != nil {
		return nil, serr(fd.Type.TypeParams.Pos(), "methods cannot have type parameters")
	}
	if fd.Body == nil {
		return nil, serr(fd.Pos(), "method %s has no body", selector)
	}
	params := fd.Type.Params.List
	if len(params) == 0 || len(params[0].Names) == 0 || params[0].Names[0].Name != "self" || !isIdent(params[0].Type, recvType) {
		return nil, serr(fd.Type.Params.Pos(), "the first parameter must be self %s", recvType)
	}
	sig := &Signature{Selector: selector}
	for i, f := range params {
		typ := src[offset(fset, f.Type.Pos())-len("package main;") : offset(fset, f.Type.End())-len("package main;")]
		for j, n := range f.Names {
			if i == 0 && j == 0 {
				continue
			}
			sig.Params = append(sig.Params, Param{Name: n.Name, Type: typ})
		}
		if _, ok := f.Type.(*ast.Ellipsis); ok {
			sig.Variadic = true
		}
	}
	if fd.Type.Results != nil {
		for _, f := range fd.Type.Results.List {
			typ := src[offset(fset, f.Type.Pos())-len("package main;") : offset(fset, f.Type.End())-len("package main;")]
			for range max(1, len(f.Names)) {
				sig.Results = append(sig.Results, typ)
			}
		}
	}
	pm.sig = sig
	isPkg := func(id *ast.Ident) bool {
		_, alias := pm.aliases[id.Name]
		_, curated := pkgNames[id.Name]
		return id.Obj == nil && (alias || curated)
	}
	if err := checkBody(file, fd, newSizeEnv(), MaxAllocCeiling, isPkg, serr); err != nil {
		return nil, err
	}
	if err := checkStatements(file, nil, serr); err != nil {
		return nil, err
	}
	return pm, nil
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func offset(fset *token.FileSet, p token.Pos) int { return fset.Position(p).Offset }

// syntaxErr converts a go/parser error into a *SyntaxError, correcting
// columns on line 1 for a prefix of skip bytes.
func syntaxErr(selector string, err error, skip int) error {
	if list, ok := err.(scanner.ErrorList); ok && len(list) > 0 {
		e := list[0]
		col := e.Pos.Column
		if e.Pos.Line == 1 {
			col -= skip
		}
		return &SyntaxError{Selector: selector, Line: e.Pos.Line, Col: col, Msg: e.Msg}
	}
	return &SyntaxError{Selector: selector, Line: 1, Msg: err.Error()}
}

// checkImports refuses imports outside the curated set and records the
// names the others declare.
func checkImports(selector string, fset *token.FileSet, g *ast.GenDecl, aliases map[string]string, serr func(token.Pos, string, ...any) error) error {
	for _, s := range g.Specs {
		is := s.(*ast.ImportSpec)
		p, err := strconv.Unquote(is.Path.Value)
		if err != nil {
			return serr(is.Pos(), "bad import path %s", is.Path.Value)
		}
		if !curatedSet[p] {
			return &ForbiddenImportError{Package: p, Line: fset.Position(is.Pos()).Line}
		}
		name := pathName(p)
		if is.Name != nil {
			switch is.Name.Name {
			case ".":
				return serr(is.Pos(), "dot imports are not allowed in methods")
			case "_":
				continue
			}
			name = is.Name.Name
		}
		aliases[name] = p
	}
	return nil
}

func pathName(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}

// checkBody refuses what a method may not do: start goroutines, use
// channels (a method must never block the image), use the reserved
// prefix, declare huge arrays, or refer to itself other than by a call.
//
// Types larger than limit bytes are refused too (MaxAllocCeiling for
// methods, which are compiled once for any limits; the evaluation's
// MaxAlloc for workspace input): a variable of such a type is one
// allocation the guard never sees, and Go's runtime dies with a fatal "out
// of memory" when it cannot have it. So are keyed slice literals whose
// highest index would make them as large, and assignments to the
// variables of library packages, which the whole process shares
// (unicode.White_Space = nil would break the kernel's own code). env holds
// what earlier workspace entries declared and receives this file's.
func checkBody(file *ast.File, fd *ast.FuncDecl, env *sizeEnv, limit int, isPkg func(*ast.Ident) bool, serr func(token.Pos, string, ...any) error) error {
	var err error
	calls := map[*ast.Ident]bool{}
	sizes := env.sizer(file, isPkg)
	refuse := func(n ast.Node, what string, b uint64) {
		err = serr(n.Pos(), "%s of %s exceeds the largest allocation allowed, %s", what, formatBytes2(b, 1), formatBytes(int64(limit)))
	}
	// Constants fold when yaegi compiles: check each outermost operation
	// once; the operations inside it are part of it.
	covered := map[ast.Node]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		if err != nil {
			return false
		}
		switch n := n.(type) {
		case *ast.BinaryExpr, *ast.UnaryExpr, *ast.BasicLit:
			if covered[n] {
				return true
			}
			coverOperations(n, covered)
			if why := sizes.checkConstant(n.(ast.Expr)); why != "" {
				err = serr(n.Pos(), "%s: too large to compile", why)
			}
		case *ast.ValueSpec:
			for _, v := range n.Values {
				if why := sizes.checkConstant(v); why != "" && err == nil {
					err = serr(v.Pos(), "%s: too large to compile", why)
				}
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	ast.Inspect(file, func(n ast.Node) bool {
		if err != nil {
			return false
		}
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if pkg := packageRoot(l, isPkg); pkg != "" && err == nil {
					err = serr(l.Pos(), "cannot assign to %s: the variables of library packages are shared by the whole image", pkg)
				}
			}
		case *ast.IncDecStmt:
			if pkg := packageRoot(n.X, isPkg); pkg != "" {
				err = serr(n.Pos(), "cannot assign to %s: the variables of library packages are shared by the whole image", pkg)
			}
		case *ast.CompositeLit:
			if b := sizes.literal(n); b > uint64(limit) {
				refuse(n, "a literal", b)
			}
		case *ast.GoStmt:
			err = serr(n.Pos(), "go statements are not allowed: a method cannot outlive its send")
		case *ast.SendStmt:
			err = serr(n.Pos(), "channel send is not allowed: a method can't block the image")
		case *ast.SelectStmt:
			err = serr(n.Pos(), "select is not allowed: a method can't block the image")
		case *ast.ChanType:
			err = serr(n.Pos(), "channels are not allowed: a method can't block the image")
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				err = serr(n.Pos(), "channel receive is not allowed: a method can't block the image")
			} else if pkg := packageRoot(n.X, isPkg); n.Op == token.AND && pkg != "" {
				err = serr(n.Pos(), "cannot take the address of %s: the variables of library packages are shared by the whole image", pkg)
			}
		case *ast.ArrayType:
			if _, ok := n.Len.(*ast.Ellipsis); n.Len != nil && !ok {
				if _, known := sizes.length(n.Len); !known {
					err = serr(n.Len.Pos(), "array length must be a constant batos can evaluate")
				} else if b := sizes.size(n); b > uint64(limit) {
					refuse(n, "array type", b)
				}
			}
		case *ast.IndexExpr, *ast.IndexListExpr:
			if b := sizes.size(n.(ast.Expr)); b > uint64(limit) {
				refuse(n, "instantiated type", b)
			}
		case *ast.StructType:
			if b := sizes.size(n); b > uint64(limit) {
				refuse(n, "struct type", b)
			}
		case *ast.TypeSpec:
			if b := sizes.named(n.Name.Name); b > uint64(limit) {
				err = serr(n.Pos(), "type %s is %s, over the largest allocation allowed, %s", n.Name.Name, formatBytes2(b, 1), formatBytes(int64(limit)))
			}
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && id.Obj == nil {
				if p, ok := pkgNames[id.Name]; ok && denied[path.Base(p)+"."+n.Sel.Name] != "" {
					err = serr(n.Pos(), "%s.%s is not available to scripts: %s", id.Name, n.Sel.Name, denied[path.Base(p)+"."+n.Sel.Name])
				}
			}
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok {
				calls[id] = true
			}
		case *ast.Ident:
			if strings.HasPrefix(n.Name, hiddenPrefix) {
				err = serr(n.Pos(), "identifier %s uses the reserved prefix %s", n.Name, hiddenPrefix)
			} else if fd != nil && n != fd.Name && n.Obj != nil && n.Obj == fd.Name.Obj && !calls[n] {
				err = serr(n.Pos(), "%s may only call itself directly (or send to self), not use itself as a value", fd.Name.Name)
			}
		}
		return true
	})
	return err
}

// sizeEnv is what the size checks of checkBody know of declarations made
// before the input they check: a workspace keeps one across entries.
type sizeEnv struct {
	types    map[string]uint64
	generics map[string]*ast.TypeSpec
	consts   map[string]constant.Value
}

func newSizeEnv() *sizeEnv {
	return &sizeEnv{types: map[string]uint64{}, generics: map[string]*ast.TypeSpec{}, consts: map[string]constant.Value{}}
}

// sizer returns a typeSizer for file, having recorded file's type and
// constant declarations in env.
func (env *sizeEnv) sizer(file *ast.File, isPkg func(*ast.Ident) bool) *typeSizer {
	ts := &typeSizer{env: env, decls: map[string]*ast.TypeSpec{}, done: map[string]uint64{}, isPkg: isPkg,
		constExprs: map[string]constDecl{}}
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.TypeSpec:
			ts.decls[n.Name.Name] = n
			if n.TypeParams != nil {
				env.generics[n.Name.Name] = n
			}
		case *ast.GenDecl:
			if n.Tok == token.CONST {
				var last []ast.Expr
				for i, spec := range n.Specs {
					vs := spec.(*ast.ValueSpec)
					if len(vs.Values) > 0 {
						last = vs.Values
					}
					for j, name := range vs.Names {
						if j < len(last) {
							ts.constExprs[name.Name] = constDecl{last[j], int64(i)}
						}
					}
				}
			}
		}
		return true
	})
	for name := range ts.constExprs {
		if v := ts.constant(name); v.Kind() != constant.Unknown {
			env.consts[name] = v
		}
	}
	for name := range ts.decls {
		env.types[name] = ts.named(name)
	}
	return ts
}

type constDecl struct {
	expr ast.Expr
	iota int64
}

// typeSizer estimates the size in bytes of type expressions from their
// syntax: a lower bound (an unknown type counts one byte), saturating at
// 1<<62, enough to refuse arrays too large to allocate. Array lengths are
// evaluated as constants: literals, constants declared in the input or
// earlier, and the library's.
type typeSizer struct {
	env        *sizeEnv
	decls      map[string]*ast.TypeSpec // types declared in the file
	done       map[string]uint64
	bind       map[string]uint64 // type parameters of the generic being instantiated
	constExprs map[string]constDecl
	constDone  map[string]bool // constants being evaluated (a loop is an error)
	constVals  map[string]constant.Value
	constCosts map[string]int
	isPkg      func(*ast.Ident) bool
}

const sizeCap = uint64(1) << 62

var basicSizes = map[string]uint64{
	"bool": 1, "int8": 1, "uint8": 1, "byte": 1, "int16": 2, "uint16": 2,
	"int32": 4, "rune": 4, "uint32": 4, "float32": 4, "int": 8, "uint": 8, "uintptr": 8,
	"int64": 8, "uint64": 8, "float64": 8, "complex64": 8, "complex128": 16,
	"string": 16, "any": 16, "error": 16, "Object": 16,
}

func (ts *typeSizer) named(name string) uint64 {
	if b, ok := ts.bind[name]; ok {
		return b
	}
	if b, ok := ts.done[name]; ok {
		return b
	}
	spec, ok := ts.decls[name]
	if !ok {
		if b, ok := ts.env.types[name]; ok {
			return b
		}
		if b, ok := basicSizes[name]; ok {
			return b
		}
		return 1
	}
	ts.done[name] = 1 // a recursive type refers to itself through a pointer, slice or map
	b := ts.size(spec.Type)
	ts.done[name] = b
	return b
}

// instance sizes a generic type instantiated with args.
func (ts *typeSizer) instance(x ast.Expr, args []ast.Expr) uint64 {
	id, ok := x.(*ast.Ident)
	if !ok {
		return 8
	}
	spec, ok := ts.decls[id.Name]
	if !ok {
		spec = ts.env.generics[id.Name]
	}
	if spec == nil || spec.TypeParams == nil {
		return ts.size(x)
	}
	bind := map[string]uint64{}
	i := 0
	for _, f := range spec.TypeParams.List {
		for _, n := range f.Names {
			if i < len(args) {
				bind[n.Name] = ts.size(args[i])
			}
			i++
		}
	}
	outer := ts.bind
	ts.bind = bind
	b := ts.size(spec.Type)
	ts.bind = outer
	return b
}

func (ts *typeSizer) size(e ast.Expr) uint64 {
	switch e := e.(type) {
	case *ast.Ident:
		return ts.named(e.Name)
	case *ast.ParenExpr:
		return ts.size(e.X)
	case *ast.IndexExpr:
		return ts.instance(e.X, []ast.Expr{e.Index})
	case *ast.IndexListExpr:
		return ts.instance(e.X, e.Indices)
	case *ast.ArrayType:
		if e.Len == nil {
			return 24
		}
		n, ok := ts.length(e.Len)
		if !ok || n <= 0 {
			return 1
		}
		return mulCap(uint64(n), ts.size(e.Elt))
	case *ast.StructType:
		var total uint64
		for _, f := range e.Fields.List {
			total = min(total+mulCap(uint64(max(len(f.Names), 1)), ts.size(f.Type)), sizeCap)
		}
		return total
	case *ast.InterfaceType:
		return 16
	}
	return 8
}

// literal sizes a composite literal of a slice or array type whose keys
// set its length ([]int{1 << 33: 1}).
func (ts *typeSizer) literal(n *ast.CompositeLit) uint64 {
	var elt ast.Expr
	switch t := n.Type.(type) {
	case *ast.ArrayType:
		elt = t.Elt
	default:
		return 0
	}
	var highest int64
	for _, e := range n.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if k, ok := ts.length(kv.Key); ok {
				highest = max(highest, k)
			} else {
				return 0
			}
		}
	}
	return mulCap(uint64(highest), ts.size(elt))
}

// length evaluates an array length or index.
func (ts *typeSizer) length(e ast.Expr) (int64, bool) { return constInt(e, ts.resolve) }

// resolve evaluates a named constant: declared in the file, earlier, or
// by a library package.
func (ts *typeSizer) resolve(e ast.Expr) constant.Value {
	switch e := e.(type) {
	case *ast.Ident:
		if e.Name == "iota" {
			return constant.MakeUnknown()
		}
		return ts.constant(e.Name)
	case *ast.SelectorExpr:
		id, ok := e.X.(*ast.Ident)
		if !ok || ts.isPkg == nil || !ts.isPkg(id) {
			return constant.MakeUnknown()
		}
		return libraryConstant(id.Name, e.Sel.Name)
	}
	return constant.MakeUnknown()
}

func (ts *typeSizer) constant(name string) constant.Value {
	d, ok := ts.constExprs[name]
	if !ok {
		if v, ok := ts.env.consts[name]; ok {
			return v
		}
		return constant.MakeUnknown()
	}
	if v, ok := ts.constVals[name]; ok {
		return v
	}
	if ts.constDone == nil {
		ts.constDone, ts.constVals = map[string]bool{}, map[string]constant.Value{}
	}
	if ts.constDone[name] {
		return constant.MakeUnknown()
	}
	ts.constDone[name] = true
	defer delete(ts.constDone, name)
	v := constValue(d.expr, func(e ast.Expr) constant.Value {
		if id, ok := e.(*ast.Ident); ok && id.Name == "iota" {
			return constant.MakeInt64(d.iota)
		}
		return ts.resolve(e)
	})
	ts.constVals[name] = v
	return v
}

// Bounds on constant expressions. yaegi folds them when it compiles, with
// arbitrary precision and no memo: 1 << (1 << 40) is a 128 GiB number, a
// string constant doubled 40 times a terabyte, and forty constants each
// the sum of the one before twice take 2^40 steps — all before any guard
// runs. checkConstants refuses them from the syntax.
const (
	maxConstBits   = 4096    // bits of an integer constant (Go's compiler allows 512)
	maxConstString = 1 << 20 // bytes of a string constant
	maxConstExp    = 10000   // decimal exponent of a float literal
	maxConstCost   = 100_000 // operations to fold one expression, names expanded
)

// coverOperations marks the operations folded with n: its operands, down
// to anything that is not an operation.
func coverOperations(n ast.Node, covered map[ast.Node]bool) {
	ast.Inspect(n, func(c ast.Node) bool {
		switch c.(type) {
		case *ast.BinaryExpr, *ast.UnaryExpr, *ast.BasicLit, *ast.ParenExpr:
			covered[c] = true
			return true
		}
		return c == n
	})
}

// errConstTooLarge is raised inside constValue when a constant exceeds
// the bounds above.
type errConstTooLarge struct{ what string }

// cost returns how many operations folding e takes when every constant
// name is expanded into its expression, as yaegi folds it.
func (ts *typeSizer) cost(e ast.Expr) int {
	total := 0
	ast.Inspect(e, func(n ast.Node) bool {
		if total > maxConstCost {
			return false
		}
		total++
		switch n := n.(type) {
		case *ast.Ident:
			total += ts.constCost(n.Name)
		case *ast.BinaryExpr, *ast.UnaryExpr, *ast.ParenExpr, *ast.BasicLit:
			return true
		case *ast.CallExpr: // a conversion: int64(x)
			return len(n.Args) == 1
		}
		return n == e
	})
	return total
}

func (ts *typeSizer) constCost(name string) int {
	d, ok := ts.constExprs[name]
	if !ok {
		return 0
	}
	if c, ok := ts.constCosts[name]; ok {
		return c
	}
	if ts.constCosts == nil {
		ts.constCosts = map[string]int{}
	}
	ts.constCosts[name] = maxConstCost + 1 // a loop
	c := min(ts.cost(d.expr), maxConstCost+1)
	ts.constCosts[name] = c
	return c
}

// checkConstant reports an error when folding e would exceed the bounds
// on constants.
func (ts *typeSizer) checkConstant(e ast.Expr) string {
	if ts.cost(e) > maxConstCost {
		return fmt.Sprintf("a constant expression that takes more than %d operations to fold", maxConstCost)
	}
	if why := constTooLarge(e, ts.resolve); why != "" {
		return why
	}
	return ""
}

func mulCap(a, b uint64) uint64 {
	if a != 0 && b > sizeCap/a {
		return sizeCap
	}
	return a * b
}

// constInt evaluates a constant integer expression of literals and the
// names resolve knows (nil: none).
func constInt(e ast.Expr, resolve func(ast.Expr) constant.Value) (int64, bool) {
	v := constant.ToInt(constValue(e, resolve))
	if v.Kind() != constant.Int {
		return 0, false
	}
	if i, ok := constant.Int64Val(v); ok {
		return i, true
	}
	return 1 << 62, true
}

// constValue evaluates a constant expression; Unknown when it cannot or
// when it exceeds the bounds on constants.
func constValue(e ast.Expr, resolve func(ast.Expr) constant.Value) constant.Value {
	v, _ := boundedConst(e, resolve)
	return v
}

// constTooLarge says why folding e exceeds the bounds on constants, or "".
func constTooLarge(e ast.Expr, resolve func(ast.Expr) constant.Value) string {
	_, why := boundedConst(e, resolve)
	return why
}

// bound panics with errConstTooLarge when v exceeds the bounds.
func bound(v constant.Value) constant.Value {
	switch v.Kind() {
	case constant.Int:
		if b := constant.BitLen(v); b > maxConstBits {
			panic(errConstTooLarge{fmt.Sprintf("an integer constant of more than %d bits", maxConstBits)})
		}
	case constant.String:
		if n := len(constant.StringVal(v)); n > maxConstString {
			panic(errConstTooLarge{fmt.Sprintf("a string constant of more than %s", formatBytes(maxConstString))})
		}
	}
	return v
}

// floatLiteralOK reports whether a float literal's exponent is within
// maxConstExp, or four times that for a hexadecimal (binary) exponent:
// go/constant computes 1e1000000000 exactly.
func floatLiteralOK(lit string) bool {
	marks, limit := "eE", maxConstExp
	if strings.HasPrefix(lit, "0x") || strings.HasPrefix(lit, "0X") {
		marks, limit = "pP", 4*maxConstExp
	}
	i := strings.IndexAny(lit, marks)
	if i < 0 {
		return true
	}
	exp := strings.TrimRight(strings.TrimLeft(lit[i+1:], "+-"), "i")
	n, err := strconv.Atoi(strings.ReplaceAll(exp, "_", ""))
	return err == nil && n <= limit
}

func boundedConst(e ast.Expr, resolve func(ast.Expr) constant.Value) (v constant.Value, why string) {
	defer func() {
		if r := recover(); r != nil { // constant ops panic on mismatched kinds
			v = constant.MakeUnknown()
			if tl, ok := r.(errConstTooLarge); ok {
				why = tl.what
			}
		}
	}()
	var eval func(ast.Expr) constant.Value
	eval = func(e ast.Expr) constant.Value {
		switch e := e.(type) {
		case *ast.BasicLit:
			if (e.Kind == token.FLOAT || e.Kind == token.IMAG) && !floatLiteralOK(e.Value) {
				panic(errConstTooLarge{fmt.Sprintf("a float literal with an exponent beyond %d", maxConstExp)})
			}
			return bound(constant.MakeFromLiteral(e.Value, e.Kind, 0))
		case *ast.ParenExpr:
			return eval(e.X)
		case *ast.Ident, *ast.SelectorExpr:
			if resolve == nil {
				return constant.MakeUnknown()
			}
			return resolve(e)
		case *ast.CallExpr: // a conversion: int64(1 << 40)
			if len(e.Args) == 1 {
				if id, ok := e.Fun.(*ast.Ident); ok && basicSizes[id.Name] != 0 {
					return eval(e.Args[0])
				}
			}
		case *ast.UnaryExpr:
			x := eval(e.X)
			if x.Kind() == constant.Unknown {
				return x
			}
			return constant.UnaryOp(e.Op, x, 0)
		case *ast.BinaryExpr:
			x, y := eval(e.X), eval(e.Y)
			if x.Kind() == constant.Unknown || y.Kind() == constant.Unknown {
				return constant.MakeUnknown()
			}
			switch e.Op {
			case token.SHL, token.SHR:
				s, ok := constant.Uint64Val(constant.ToInt(y))
				if e.Op == token.SHL && (!ok || s > maxConstBits) {
					panic(errConstTooLarge{fmt.Sprintf("a constant shifted by more than %d bits", maxConstBits)})
				}
				if !ok {
					return constant.MakeUnknown()
				}
				return bound(constant.Shift(x, e.Op, uint(min(s, maxConstBits))))
			case token.QUO, token.REM:
				if constant.Sign(y) == 0 {
					return constant.MakeUnknown()
				}
			case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ, token.LAND, token.LOR:
				return constant.MakeUnknown()
			}
			if e.Op == token.MUL && x.Kind() == constant.Int && y.Kind() == constant.Int && constant.BitLen(x)+constant.BitLen(y) > maxConstBits+1 {
				panic(errConstTooLarge{fmt.Sprintf("an integer constant of more than %d bits", maxConstBits)})
			}
			if e.Op == token.ADD && x.Kind() == constant.String && y.Kind() == constant.String &&
				len(constant.StringVal(x))+len(constant.StringVal(y)) > maxConstString {
				panic(errConstTooLarge{fmt.Sprintf("a string constant of more than %s", formatBytes(maxConstString))})
			}
			if x.Kind() == constant.Int && y.Kind() == constant.Int && e.Op == token.QUO {
				return bound(constant.BinaryOp(x, token.QUO_ASSIGN, y))
			}
			return bound(constant.BinaryOp(x, e.Op, y))
		}
		return constant.MakeUnknown()
	}
	return eval(e), ""
}

// libraryConstant returns the value of a curated package's constant,
// Unknown for anything else.
func libraryConstant(pkg, name string) constant.Value {
	p, ok := pkgNames[pkg]
	if !ok {
		return constant.MakeUnknown()
	}
	if v, ok := stdlib.Symbols[p+"/"+path.Base(p)][name]; ok && v.IsValid() && v.CanInterface() {
		switch c := v.Interface().(type) {
		case constant.Value:
			return c
		case int:
			return constant.MakeInt64(int64(c))
		}
	}
	return constant.MakeUnknown()
}

// packageRoot returns "pkg.Name" when e is, or is a part of (an element,
// field or dereference of), a variable of a library package.
func packageRoot(e ast.Expr, isPkg func(*ast.Ident) bool) string {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && isPkg != nil && isPkg(id) {
				return id.Name + "." + x.Sel.Name
			}
			e = x.X
		default:
			return ""
		}
	}
}

// edit replaces src[off:end] with text (an insertion when off == end).
type edit struct {
	off, end int
	text     string
}

func applyEdits(src string, edits []edit) (string, error) {
	sortEdits(edits)
	var b strings.Builder
	last := 0
	for _, e := range edits {
		if e.off < last {
			return "", fmt.Errorf("internal error: overlapping rewrites at offset %d", e.off)
		}
		b.WriteString(src[last:e.off])
		b.WriteString(e.text)
		last = e.end
	}
	b.WriteString(src[last:])
	return b.String(), nil
}

// sortEdits orders edits as applyEdits applies them (and sorts them
// in place: srcMap relies on that order).
func sortEdits(edits []edit) {
	sort.SliceStable(edits, func(i, j int) bool {
		if edits[i].off != edits[j].off {
			return edits[i].off < edits[j].off
		}
		return edits[i].end-edits[i].off < edits[j].end-edits[j].off
	})
}

// rewriter computes the edits that insert the guard into a parsed file.
// All insertions stay on the line where they are made, so line numbers in
// interpreter errors match the source as written.
type rewriter struct {
	fset       *token.FileSet
	file       *ast.File
	edits      []edit
	aliases    map[string]string // package names in scope: curated defaults plus user imports
	shadowed   map[string]bool   // workspace names declared by earlier entries
	contextual map[string]string // free identifier → replacement text
	topGuard   string            // guard expression outside any function (workspace)
	wsFuncs    bool              // outermost functions bind batos_g from topGuard (workspace)
	method     *ast.FuncDecl     // the method declaration (method mode)
	hidden     string            // the method's hidden name
	unresolved map[*ast.Ident]bool
	skip       ast.Node // workspace: the synthetic main wrapper
	source     string   // the parsed text
}

func (r *rewriter) off(p token.Pos) int { return offset(r.fset, p) }

func (r *rewriter) insert(p token.Pos, text string) {
	o := r.off(p)
	r.edits = append(r.edits, edit{o, o, text})
}

func (r *rewriter) replace(n ast.Node, text string) {
	r.edits = append(r.edits, edit{r.off(n.Pos()), r.off(n.End()), text})
}

func (r *rewriter) run() {
	r.unresolved = map[*ast.Ident]bool{}
	for _, id := range r.file.Unresolved {
		r.unresolved[id] = true
	}
	// Imports are evaluated once per interpreter under hidden names; blank
	// the user's, keeping newlines.
	for _, d := range r.file.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			o, e := r.off(g.Pos()), r.off(g.End())
			r.edits = append(r.edits, edit{o, e, blank(r.text(o, e))})
		}
	}
	r.walk(r.file, nil, nil)
}

func (r *rewriter) text(o, e int) string { return r.source[o:e] }

func blank(s string) string {
	return strings.Map(func(c rune) rune {
		if c == '\n' {
			return c
		}
		return ' '
	}, s)
}

// hasLoops reports whether body has a loop outside nested func literals.
func hasLoops(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ForStmt, *ast.RangeStmt:
			found = true
		}
		return !found
	})
	return found
}

func (r *rewriter) guard(fn *ast.FuncType) string {
	if fn != nil || r.topGuard == "" {
		return guardParam
	}
	return r.topGuard
}

// walk visits n; fn is the type of the function whose body holds n (nil
// outside functions and in the workspace's synthetic main).
func (r *rewriter) walk(n ast.Node, parent ast.Node, fn *ast.FuncType) {
	if n == nil {
		return
	}
	switch n := n.(type) {
	case *ast.FuncDecl:
		if n == r.skip {
			r.walk(n.Body, n, nil)
			return
		}
		if n.Body == nil {
			return
		}
		if n == r.method {
			r.replace(n.Name, r.hidden)
			first := n.Type.Params.List[0]
			r.insert(first.Pos(), guardParam+" *"+rtPkg+".Guard, ")
			pro := ""
			if selfRebound(n) {
				r.replace(first.Names[0], selfParam)
				pro = "self := " + selfParam + "; _ = self; "
			} else {
				// self always means the receiver: no hidden copy needed
				// (one interpreted statement less per call).
				r.contextual = withSelf(r.contextual)
			}
			r.insert(n.Body.Lbrace+1, pro)
			r.walk(n.Type, n, nil)
		} else {
			r.prologue(n.Type, n.Body, fn)
			r.walk(n.Type, n, nil)
		}
		r.walk(n.Body, n, n.Type)
		return
	case *ast.FuncLit:
		r.prologue(n.Type, n.Body, fn)
		r.walk(n.Type, n, fn)
		r.walk(n.Body, n, n.Type)
		return
	case *ast.ForStmt:
		r.loop(n.Body, fn)
	case *ast.RangeStmt:
		r.loop(n.Body, fn)
	case *ast.BranchStmt:
		if n.Tok == token.GOTO && r.method == nil {
			r.insert(n.Pos(), r.guard(fn)+".Tick(); ")
		}
	case *ast.CallExpr:
		if r.call(n, fn) {
			return
		}
	case *ast.SelectorExpr:
		if id, ok := n.X.(*ast.Ident); ok && r.unresolved[id] && !r.shadowed[id.Name] {
			if p, ok := r.aliases[id.Name]; ok {
				switch m, lib := guardedLib[p+"."+n.Sel.Name]; {
				case lib:
					r.replace(n, r.guard(fn)+"."+m)
				case p == "fmt" && guardedFmt[n.Sel.Name]:
					r.replace(n, r.guard(fn)+"."+n.Sel.Name)
				default:
					r.replace(id, hiddenPkg(p))
				}
				return
			}
		}
	case *ast.CompositeLit:
		r.walk(n.Type, n, fn)
		lib := r.libraryType(n.Type)
		for i, e := range n.Elts {
			if kv, ok := e.(*ast.KeyValueExpr); ok {
				if _, isIdent := kv.Key.(*ast.Ident); !isIdent {
					r.walk(kv.Key, kv, fn)
				}
				r.checkedErr(kv.Value, lib != "" && isIdent(kv.Key, "Err"), kv, fn)
				continue
			}
			r.checkedErr(e, lib == "strconv.NumError" && i == 2, n, fn)
		}
		return
	case *ast.AssignStmt:
		if r.errFieldAssign(n, parent, fn) {
			return
		}
	case *ast.Ident:
		if r.unresolved[n] && !r.shadowed[n.Name] {
			if text, ok := r.contextual[n.Name]; ok {
				r.replace(n, text)
			}
		}
		return
	}
	for _, c := range children(n) {
		r.walk(c, n, fn)
	}
}

// selfRebound reports whether the method declares or assigns another self
// anywhere, so contextual rewrites must use a hidden copy of the receiver.
func selfRebound(fd *ast.FuncDecl) bool {
	recv := fd.Type.Params.List[0].Names[0].Obj
	found := false
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			if n.Name == "self" && n.Obj != recv {
				found = true
			}
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if isIdent(l, "self") {
					found = true
				}
			}
		case *ast.UnaryExpr:
			if n.Op == token.AND && isIdent(n.X, "self") {
				found = true
			}
		}
		return !found
	})
	return found
}

// withSelf returns contextual rewrites spelt with self instead of the
// hidden receiver name.
func withSelf(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = strings.ReplaceAll(v, selfParam, "self")
	}
	return out
}

// prologue makes a function of workspace input account its entry and
// loops. A method's functions need none: the interpreter meters them
// natively (Guard.Meter), which costs a counter per instruction instead of
// two native calls and a defer per call.
//
// A stopped guard makes the function return zero values instead of
// panicking: a panic through thousands of interpreted frames costs time
// quadratic in their number (yaegi recovers and re-panics in every frame,
// and each panic walks the whole stack), so a depth stop unwinds by returns
// and Method.Call reports the guard's error.
func (r *rewriter) prologue(typ *ast.FuncType, body *ast.BlockStmt, outer *ast.FuncType) {
	if r.method != nil {
		return // metered natively (see Guard.Meter)
	}
	var pro string
	if r.wsFuncs && outer == nil {
		pro = guardParam + " := " + r.topGuard + "; "
	}
	pro += "if !" + guardParam + ".EnterOK() { " + r.zeroReturn(typ) + " }; defer " + guardParam + ".Leave(); "
	if hasLoops(body) {
		pro += countVar + " := 0; _ = " + countVar + "; "
	}
	r.insert(body.Lbrace+1, pro)
}

func (r *rewriter) loop(body *ast.BlockStmt, fn *ast.FuncType) {
	if r.method != nil {
		return // metered natively (see Guard.Meter)
	}
	if fn != nil {
		r.insert(body.Lbrace+1, "if "+countVar+"--; "+countVar+" < 0 { "+countVar+" = "+guardParam+".TickN(); if "+countVar+" < 0 { "+r.zeroReturn(fn)+" } }; ")
	} else {
		r.insert(body.Lbrace+1, r.topGuard+".Tick(); ")
	}
}

// zeroReturn is a return statement for a function of type typ that
// returns zero values (or the named results as they are).
func (r *rewriter) zeroReturn(typ *ast.FuncType) string {
	if typ.Results == nil || len(typ.Results.List) == 0 || len(typ.Results.List[0].Names) > 0 {
		return "return"
	}
	var zs []string
	for _, f := range typ.Results.List {
		zs = append(zs, zeroOf(r.source[r.off(f.Type.Pos()):r.off(f.Type.End())]))
	}
	return "return " + strings.Join(zs, ", ")
}

func zeroOf(typ string) string { return "*new(" + typ + ")" }

// call handles recover(), make(...) and direct recursion; it reports
// whether it visited the call's children itself.
func (r *rewriter) call(n *ast.CallExpr, fn *ast.FuncType) bool {
	id, ok := n.Fun.(*ast.Ident)
	if !ok {
		return false
	}
	g := r.guard(fn)
	switch {
	case r.method != nil && id.Obj != nil && id.Obj == r.method.Name.Obj:
		r.replace(id, r.hidden)
		r.insert(n.Lparen+1, guardParam+", ")
		for _, a := range n.Args {
			r.walk(a, n, fn)
		}
		return true
	case !r.unresolved[id] || r.shadowed[id.Name]:
		return false
	case id.Name == "recover" && len(n.Args) == 0:
		r.replace(n, g+".Recover(recover())")
		return true
	case id.Name == "make" && len(n.Args) >= 2:
		// make(T, n) → make(T, g.Alloc(int(n), (T)(nil))): the guard
		// learns T's element size from a typed nil. T is copied as
		// rewritten (a package in it is renamed).
		typ := r.rewritten(n.Args[0], n, fn)
		for _, a := range n.Args[1:] {
			r.insert(a.Pos(), g+".Alloc(int(")
			r.walk(a, n, fn)
			r.insert(a.End(), "), ("+typ+")(nil))")
		}
		return true
	}
	return false
}

// libraryType returns "pkg.Type" when typ names a type of a curated
// package, else "".
func (r *rewriter) libraryType(typ ast.Expr) string {
	sel, ok := typ.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	id, ok := sel.X.(*ast.Ident)
	if !ok || !r.unresolved[id] || r.shadowed[id.Name] {
		return ""
	}
	if p, ok := r.aliases[id.Name]; ok {
		return pathName(p) + "." + sel.Sel.Name
	}
	return ""
}

// checkedErr walks e, the value of an Err field of a library type's
// composite literal when check is set, which then goes through
// Guard.ErrValue: the library's wrapping errors recurse natively through
// Err (see Guard.CheckErrField).
func (r *rewriter) checkedErr(e ast.Expr, check bool, parent ast.Node, fn *ast.FuncType) {
	if check {
		r.insert(e.Pos(), r.guard(fn)+".ErrValue(")
	}
	r.walk(e, parent, fn)
	if check {
		r.insert(e.End(), ")")
	}
}

// errFieldAssign rewrites an assignment statement to fields named Err
// (x.Err = e) to check each afterwards with Guard.CheckErrField, on the
// same line; it reports whether it walked the statement itself. Only
// statements of a statement list can be followed by another.
func (r *rewriter) errFieldAssign(n *ast.AssignStmt, parent ast.Node, fn *ast.FuncType) bool {
	if n.Tok != token.ASSIGN {
		return false
	}
	switch parent.(type) {
	case *ast.BlockStmt, *ast.CaseClause, *ast.CommClause:
	default:
		return false
	}
	var fields []ast.Expr
	for _, l := range n.Lhs {
		if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "Err" {
			fields = append(fields, l)
		}
	}
	if len(fields) == 0 {
		return false
	}
	var checks strings.Builder
	for _, l := range n.Lhs {
		text := r.rewritten(l, n, fn)
		for _, f := range fields {
			if f == l {
				checks.WriteString("; " + r.guard(fn) + ".CheckErrField(&" + text + ")")
			}
		}
	}
	for _, e := range n.Rhs {
		r.walk(e, n, fn)
	}
	r.insert(n.End(), checks.String())
	return true
}

// rewritten walks e and returns its text with the edits made inside it.
func (r *rewriter) rewritten(e ast.Expr, parent ast.Node, fn *ast.FuncType) string {
	first := len(r.edits)
	r.walk(e, parent, fn)
	off, end := r.off(e.Pos()), r.off(e.End())
	var inner []edit
	for _, ed := range r.edits[first:] {
		inner = append(inner, edit{ed.off - off, ed.end - off, ed.text})
	}
	text, err := applyEdits(r.source[off:end], inner)
	if err != nil {
		return r.source[off:end]
	}
	return text
}

// children lists n's direct children in source order.
func children(n ast.Node) []ast.Node {
	var out []ast.Node
	first := true
	ast.Inspect(n, func(c ast.Node) bool {
		if first {
			first = false
			return true
		}
		if c != nil {
			out = append(out, c)
		}
		return false
	})
	return out
}

// guardedFmt lists the fmt functions rewritten to Guard methods: the
// printers write to the evaluation's output, and all of them refuse cyclic
// values before fmt walks them.
var guardedFmt = map[string]bool{
	"Print": true, "Printf": true, "Println": true,
	"Sprint": true, "Sprintf": true, "Sprintln": true, "Errorf": true,
	"Fprint": true, "Fprintf": true, "Fprintln": true,
	"Append": true, "Appendf": true, "Appendln": true,
}
