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
	if err := checkBody(file, fd, nil, MaxAllocCeiling, serr); err != nil {
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
// of memory" when it cannot have it. known holds the sizes of types
// declared by earlier workspace entries, and receives this file's.
func checkBody(file *ast.File, fd *ast.FuncDecl, known map[string]uint64, limit int, serr func(token.Pos, string, ...any) error) error {
	var err error
	calls := map[*ast.Ident]bool{}
	sizes := &typeSizer{decls: map[string]ast.Expr{}, known: known, done: map[string]uint64{}}
	ast.Inspect(file, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok {
			sizes.decls[ts.Name.Name] = ts.Type
		}
		return true
	})
	for name := range sizes.decls {
		if b := sizes.named(name); known != nil {
			known[name] = b
		}
	}
	ast.Inspect(file, func(n ast.Node) bool {
		if err != nil {
			return false
		}
		switch n := n.(type) {
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
			}
		case *ast.ArrayType:
			if n.Len != nil {
				if b := sizes.size(n); b > uint64(limit) {
					err = serr(n.Pos(), "array type of %s exceeds the largest allocation allowed, %s", formatBytes2(b, 1), formatBytes(int64(limit)))
				}
			}
		case *ast.TypeSpec:
			if b := sizes.named(n.Name.Name); b > uint64(limit) {
				err = serr(n.Pos(), "type %s is %s, over the largest allocation allowed, %s", n.Name.Name, formatBytes2(b, 1), formatBytes(int64(limit)))
			}
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && id.Obj == nil {
				if p, ok := pkgNames[id.Name]; ok && denied[path.Base(p)+"."+n.Sel.Name] {
					err = serr(n.Pos(), "%s.%s is not available to scripts: it blocks or reaches outside the image", id.Name, n.Sel.Name)
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

// typeSizer estimates the size in bytes of type expressions from their
// syntax: a lower bound (an unknown type counts one byte), saturating at
// 1<<62, enough to refuse arrays too large to allocate.
type typeSizer struct {
	decls map[string]ast.Expr // types declared in the file
	known map[string]uint64   // types declared earlier (workspace), may be nil
	done  map[string]uint64
}

const sizeCap = uint64(1) << 62

var basicSizes = map[string]uint64{
	"bool": 1, "int8": 1, "uint8": 1, "byte": 1, "int16": 2, "uint16": 2,
	"int32": 4, "rune": 4, "uint32": 4, "float32": 4, "int": 8, "uint": 8, "uintptr": 8,
	"int64": 8, "uint64": 8, "float64": 8, "complex64": 8, "complex128": 16,
	"string": 16, "any": 16, "error": 16, "Object": 16,
}

func (ts *typeSizer) named(name string) uint64 {
	if b, ok := ts.done[name]; ok {
		return b
	}
	e, ok := ts.decls[name]
	if !ok {
		if b, ok := ts.known[name]; ok {
			return b
		}
		if b, ok := basicSizes[name]; ok {
			return b
		}
		return 1
	}
	ts.done[name] = 1 // a recursive type refers to itself through a pointer, slice or map
	b := ts.size(e)
	ts.done[name] = b
	return b
}

func (ts *typeSizer) size(e ast.Expr) uint64 {
	switch e := e.(type) {
	case *ast.Ident:
		return ts.named(e.Name)
	case *ast.ParenExpr:
		return ts.size(e.X)
	case *ast.ArrayType:
		if e.Len == nil {
			return 24
		}
		n, ok := constInt(e.Len)
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

func mulCap(a, b uint64) uint64 {
	if a != 0 && b > sizeCap/a {
		return sizeCap
	}
	return a * b
}

// constInt evaluates a constant integer expression built from literals.
func constInt(e ast.Expr) (int64, bool) {
	var eval func(ast.Expr) constant.Value
	eval = func(e ast.Expr) constant.Value {
		switch e := e.(type) {
		case *ast.BasicLit:
			return constant.MakeFromLiteral(e.Value, e.Kind, 0)
		case *ast.ParenExpr:
			return eval(e.X)
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
				s, ok := constant.Uint64Val(y)
				if !ok || s > 1000 {
					return constant.MakeUnknown()
				}
				return constant.Shift(x, e.Op, uint(s))
			case token.QUO:
				if constant.Sign(y) == 0 {
					return constant.MakeUnknown()
				}
			case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ, token.LAND, token.LOR:
				return constant.MakeUnknown()
			}
			if x.Kind() == constant.Int && y.Kind() == constant.Int && e.Op == token.QUO {
				return constant.BinaryOp(x, token.QUO_ASSIGN, y)
			}
			return constant.BinaryOp(x, e.Op, y)
		}
		return constant.MakeUnknown()
	}
	defer func() { recover() }() // constant ops panic on mismatched kinds
	v := constant.ToInt(eval(e))
	if v.Kind() != constant.Int {
		return 0, false
	}
	if i, ok := constant.Int64Val(v); ok {
		return i, true
	}
	return 1 << 62, true
}

// edit replaces src[off:end] with text (an insertion when off == end).
type edit struct {
	off, end int
	text     string
}

func applyEdits(src string, edits []edit) (string, error) {
	sort.SliceStable(edits, func(i, j int) bool {
		if edits[i].off != edits[j].off {
			return edits[i].off < edits[j].off
		}
		return edits[i].end-edits[i].off < edits[j].end-edits[j].off
	})
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
			if hasLoops(n.Body) {
				pro += countVar + " := 0; _ = " + countVar + "; "
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
		if n.Tok == token.GOTO {
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
		for _, e := range n.Elts {
			if kv, ok := e.(*ast.KeyValueExpr); ok {
				if _, isIdent := kv.Key.(*ast.Ident); !isIdent {
					r.walk(kv.Key, kv, fn)
				}
				r.walk(kv.Value, kv, fn)
				continue
			}
			r.walk(e, n, fn)
		}
		return
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

// prologue makes a function account its entry and loops.
//
// A stopped guard makes the function return zero values instead of
// panicking: a panic through thousands of interpreted frames costs time
// quadratic in their number (yaegi recovers and re-panics in every frame,
// and each panic walks the whole stack), so a depth stop unwinds by returns
// and Method.Call reports the guard's error.
func (r *rewriter) prologue(typ *ast.FuncType, body *ast.BlockStmt, outer *ast.FuncType) {
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
		r.replace(id, r.hidden+"_r")
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
}
