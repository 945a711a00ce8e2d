package interp

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path"
	"reflect"
	"strings"
)

// Calls on host values, checked before yaegi compiles them.
//
// yaegi miscounts the arguments of a call to a method of a host type (the
// script API's Object): with one argument too many it converts an
// argument to the receiver's type and its compiler panics ("reflect.Value.
// Convert: value of type string cannot be converted to type Object"),
// which costs a workspace its variables; with too few it fails at run
// time in reflect's words. So calls whose receiver is known to be of a
// host type — self, Lobby and the other bindings, a parameter or
// variable declared with an API type, a variable of an earlier workspace
// entry holding one, the result of a call that returns one — are checked
// here, with Go's messages: a method the type lacks, too few or too many
// arguments. A receiver whose type the resolver cannot follow is left to
// yaegi: it is never guessed.

// hostTyper resolves the types of expressions of one source, as far as
// the syntax and the host's reflect types tell them.
type hostTyper struct {
	c *Compiler
	// globals gives the type of a name declared outside the source (a
	// workspace's earlier entries and bindings), and whether it is
	// declared there (its type may be unknown); nil for methods.
	globals func(name string) (reflect.Type, bool)
	// pkg returns the import path of an identifier that names a
	// curated package, or "".
	pkg  func(*ast.Ident) string
	seen map[ast.Expr]bool // expressions being resolved (a cycle resolves to nothing)
}

// checkTyped checks what yaegi gets wrong about the calls and
// assignments of sm's source that involve host types (see above).
func (c *Compiler) checkTyped(selector string, sm *srcMap, ht *hostTyper) error {
	var err error
	fail := func(p token.Pos, format string, args ...any) bool {
		err = sm.errorAt(selector, p, fmt.Sprintf(format, args...))
		return false
	}
	text := func(n ast.Node) string { return (&site{m: sm}).text(n) }
	ast.Inspect(sm.file, func(n ast.Node) bool {
		if err != nil {
			return false
		}
		switch n := n.(type) {
		case *ast.CallExpr:
			var ft reflect.Type // the function's type, without a receiver
			name := ""
			switch fun := ast.Unparen(n.Fun).(type) {
			case *ast.SelectorExpr:
				t := ht.typeOf(fun.X)
				if t == nil {
					return true
				}
				name = text(fun)
				m, found := methodType(t, fun.Sel.Name)
				if !found {
					if hasField(t, fun.Sel.Name) {
						return true
					}
					return fail(fun.Sel.Pos(), "%s undefined (type %s has no field or method %s)", name, typeName(c.terms, t), fun.Sel.Name)
				}
				ft = m
			case *ast.Ident:
				t := ht.typeOf(fun)
				if t == nil || t.Kind() != reflect.Func {
					// yaegi fails calling a number only when it runs.
					if d := ht.describe(fun); basicType(d) {
						return fail(fun.Pos(), "invalid operation: cannot call non-function %s (variable of type %s)", fun.Name, d)
					}
					return true
				}
				name, ft = fun.Name, t
			default:
				return true
			}
			if msg := c.arity(name, ft, n); msg != "" {
				pos := n.Rparen
				if k := ft.NumIn(); len(n.Args) > k && !ft.IsVariadic() {
					pos = n.Args[k].Pos()
				}
				return fail(pos, "%s", msg)
			}
		case *ast.AssignStmt:
			if len(n.Rhs) == 1 && len(n.Lhs) > 0 && (n.Tok == token.DEFINE || n.Tok == token.ASSIGN) {
				if msg := ht.resultCount(len(n.Lhs), n.Rhs[0], text); msg != "" {
					return fail(n.Rhs[0].Pos(), "%s", msg)
				}
			}
			if n.Tok != token.DEFINE {
				for _, l := range n.Lhs {
					if msg := ht.stringElem(l, text); msg != "" {
						return fail(l.Pos(), "%s", msg)
					}
				}
			}
			if n.Tok == token.ASSIGN && len(n.Lhs) == len(n.Rhs) {
				for i, l := range n.Lhs {
					if msg := ht.implements(ht.declaredType(l), n.Rhs[i], "assignment", text); msg != "" {
						return fail(n.Rhs[i].Pos(), "%s", msg)
					}
				}
			}
		case *ast.ValueSpec:
			if len(n.Values) == 1 && len(n.Names) > 0 && n.Type == nil {
				if msg := ht.resultCount(len(n.Names), n.Values[0], text); msg != "" {
					return fail(n.Values[0].Pos(), "%s", msg)
				}
			}
			if n.Type != nil && len(n.Values) == len(n.Names) {
				for _, v := range n.Values {
					if msg := ht.implements(n.Type, v, "variable declaration", text); msg != "" {
						return fail(v.Pos(), "%s", msg)
					}
				}
			}
		case *ast.IncDecStmt:
			if msg := ht.stringElem(n.X, text); msg != "" {
				return fail(n.X.Pos(), "%s", msg)
			}
		case *ast.IndexExpr:
			// yaegi's compiler crashes ("nil type") indexing a number.
			if t := ht.describe(n.X); basicNonIndexable(t) {
				return fail(n.X.Pos(), "invalid operation: cannot index %s (%s of type %s)", text(n.X), valueKind(n.X), t)
			}
		}
		return true
	})
	return err
}

// stringElem returns Go's message for an assignment to a string's byte
// (yaegi fails in reflect's words when it runs), or "".
func (ht *hostTyper) stringElem(lhs ast.Expr, text func(ast.Node) string) string {
	ix, ok := ast.Unparen(lhs).(*ast.IndexExpr)
	if !ok || ht.describe(ix.X) != "string" {
		return ""
	}
	return fmt.Sprintf("cannot assign to %s (neither addressable nor a map index expression)", text(ix))
}

// basicType reports whether typ names a predeclared type without
// methods.
func basicType(typ string) bool { return typ == "string" || basicNonIndexable(typ) }

// basicNonIndexable reports whether typ names a predeclared type that
// cannot be indexed.
func basicNonIndexable(typ string) bool {
	switch typ {
	case "bool", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
		"float32", "float64", "complex64", "complex128", "rune", "byte":
		return true
	}
	return false
}

// valueKind is how Go's messages call an operand: a variable, or a value.
func valueKind(e ast.Expr) string {
	if _, ok := ast.Unparen(e).(*ast.Ident); ok {
		return "variable"
	}
	return "value"
}

// resultCount returns Go's message when a call of known type assigned to
// lhs names yields another number of values, or "".
func (ht *hostTyper) resultCount(lhs int, rhs ast.Expr, text func(ast.Node) string) string {
	call, ok := ast.Unparen(rhs).(*ast.CallExpr)
	if !ok {
		return ""
	}
	ft := ht.funcType(call.Fun)
	if ft == nil || ft.NumOut() == lhs || ft.NumOut() == 0 {
		return ""
	}
	return fmt.Sprintf("assignment mismatch: %s but %s returns %s", countOf(lhs, "variable"), text(call.Fun), countOf(ft.NumOut(), "value"))
}

// implements returns Go's message when value, of a host type, is
// assigned to a variable of an interface type declared in the script
// that the host type does not implement, or "". yaegi lets a host value
// into such a variable unchecked (and fails only when the missing method
// is called).
func (ht *hostTyper) implements(typ ast.Expr, value ast.Expr, context string, text func(ast.Node) string) string {
	if typ == nil {
		return ""
	}
	methods, ok := ht.interfaceMethods(typ, 0)
	if !ok {
		return ""
	}
	t := ht.typeOf(value)
	has := func(m string) bool {
		_, found := t.MethodByName(m)
		return found
	}
	tn, kind := "", valueKind(value)
	switch d := ht.describe(value); {
	case t != nil && t.Kind() != reflect.Func && t.Kind() != reflect.Interface:
		tn = typeName(ht.c.terms, t)
	case t == nil && basicType(d) && isBasicLit(value):
		// A constant of a predeclared type has no methods. (A
		// variable's type is not trusted here: yaegi gives the named
		// types a script declares their underlying reflect type.)
		tn, has, kind = d, func(string) bool { return false }, "constant"
	default:
		return ""
	}
	for _, m := range methods {
		if !has(m) {
			iface := types.ExprString(typ)
			return fmt.Sprintf("cannot use %s (%s of type %s) as %s value in %s: %s does not implement %s (missing method %s)",
				text(value), kind, tn, iface, context, tn, iface, m)
		}
	}
	return ""
}

// interfaceMethods returns the method names of an interface type written
// in the source (a literal, or a name the source declares as one), with
// the ones it embeds; ok is false when it is not one or cannot be
// followed.
func (ht *hostTyper) interfaceMethods(typ ast.Expr, depth int) (names []string, ok bool) {
	if depth > 10 {
		return nil, false
	}
	switch t := ast.Unparen(typ).(type) {
	case *ast.Ident:
		if t.Obj == nil || t.Obj.Kind != ast.Typ {
			if t.Name == "error" && t.Obj == nil {
				return []string{"Error"}, true
			}
			return nil, false
		}
		ts, isSpec := t.Obj.Decl.(*ast.TypeSpec)
		if !isSpec {
			return nil, false
		}
		return ht.interfaceMethods(ts.Type, depth+1)
	case *ast.SelectorExpr:
		// A library interface (fmt.Stringer).
		id, isID := t.X.(*ast.Ident)
		if !isID || ht.pkg == nil {
			return nil, false
		}
		p := ht.pkg(id)
		if p == "" {
			return nil, false
		}
		rt, isType := exportedType(ht.c.symbols[p+"/"+path.Base(p)][t.Sel.Name])
		if !isType || rt.Kind() != reflect.Interface {
			return nil, false
		}
		for i := 0; i < rt.NumMethod(); i++ {
			names = append(names, rt.Method(i).Name)
		}
		return names, true
	case *ast.InterfaceType:
		for _, f := range t.Methods.List {
			if len(f.Names) > 0 {
				for _, n := range f.Names {
					names = append(names, n.Name)
				}
				continue
			}
			sub, ok := ht.interfaceMethods(f.Type, depth+1)
			if !ok {
				return nil, false // a union, a constraint, an unknown embedding
			}
			names = append(names, sub...)
		}
		return names, true
	}
	return nil, false
}

func isBasicLit(e ast.Expr) bool {
	_, ok := ast.Unparen(e).(*ast.BasicLit)
	return ok
}

// declaredType returns the type expression a variable was declared with
// in the source, or nil.
func (ht *hostTyper) declaredType(e ast.Expr) ast.Expr {
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok || id.Obj == nil || id.Obj.Kind != ast.Var {
		return nil
	}
	switch d := id.Obj.Decl.(type) {
	case *ast.ValueSpec:
		return d.Type
	case *ast.Field:
		return d.Type
	}
	return nil
}

// arity returns Go's message for a call of ft named name whose argument
// count does not fit, or "".
func (c *Compiler) arity(name string, ft reflect.Type, call *ast.CallExpr) string {
	if call.Ellipsis.IsValid() {
		return ""
	}
	n, got := ft.NumIn(), len(call.Args)
	if got == 1 && n != 1 {
		if _, ok := ast.Unparen(call.Args[0]).(*ast.CallExpr); ok {
			return "" // f(g()) passes all of g's results
		}
	}
	switch {
	case ft.IsVariadic() && got >= n-1, !ft.IsVariadic() && got == n:
		return ""
	case got < n:
		return fmt.Sprintf("not enough arguments in call to %s (want %s)", name, c.params(ft))
	}
	return fmt.Sprintf("too many arguments in call to %s (want %s)", name, c.params(ft))
}

// params writes ft's parameter list as Go does: (string, ...any).
func (c *Compiler) params(ft reflect.Type) string {
	var ps []string
	for i := 0; i < ft.NumIn(); i++ {
		t := ft.In(i)
		if i == ft.NumIn()-1 && ft.IsVariadic() {
			ps = append(ps, "..."+typeName(c.terms, t.Elem()))
			continue
		}
		ps = append(ps, typeName(c.terms, t))
	}
	return "(" + strings.Join(ps, ", ") + ")"
}

func typeName(t *goTerms, rt reflect.Type) string {
	s := t.goNames(rt.String(), true)
	return strings.ReplaceAll(s, "interface {}", "any")
}

// errorAt returns a *SyntaxError at p of the source.
func (m *srcMap) errorAt(selector string, p token.Pos, msg string) error {
	tf := m.fset.File(p)
	if tf == nil {
		return &SyntaxError{Selector: selector, Line: 1, Msg: msg, Compile: true}
	}
	s := &site{m: m, off: tf.Offset(p)}
	line, col := s.pos()
	return &SyntaxError{Selector: selector, Line: line, Col: col, Msg: msg, Compile: true}
}

// methodType returns the type of t's method name without the receiver.
func methodType(t reflect.Type, name string) (reflect.Type, bool) {
	if t.Kind() == reflect.Interface {
		m, ok := t.MethodByName(name)
		return m.Type, ok
	}
	m, ok := t.MethodByName(name)
	if !ok && t.Kind() != reflect.Pointer {
		m, ok = reflect.PointerTo(t).MethodByName(name)
	}
	if !ok {
		return nil, false
	}
	// Drop the receiver.
	in := make([]reflect.Type, 0, m.Type.NumIn()-1)
	for i := 1; i < m.Type.NumIn(); i++ {
		in = append(in, m.Type.In(i))
	}
	out := make([]reflect.Type, 0, m.Type.NumOut())
	for i := 0; i < m.Type.NumOut(); i++ {
		out = append(out, m.Type.Out(i))
	}
	return reflect.FuncOf(in, out, m.Type.IsVariadic()), true
}

// hasField reports whether t (or what it points to) is a struct with a
// field called name.
func hasField(t reflect.Type, name string) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	_, ok := t.FieldByName(name)
	return ok
}

// isHost reports whether t is a type of the host whose methods the
// checks may trust: a named type of the API package, a pointer to one,
// or a function type (a binding's).
func (ht *hostTyper) isHost(t reflect.Type) bool {
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.Func:
		return true
	case reflect.Pointer:
		t = t.Elem()
	}
	_, api := ht.c.terms.typeNames[t.String()]
	return api && t.PkgPath() != "" && ht.c.cfg.Exports[ht.c.apiKey][ht.c.terms.typeNames[t.String()]].IsValid()
}

// typeOf returns the host type of e, or nil when it is not one or the
// resolver cannot tell.
func (ht *hostTyper) typeOf(e ast.Expr) reflect.Type {
	if !ht.enter(e) {
		return nil
	}
	defer delete(ht.seen, e)
	var t reflect.Type
	switch e := e.(type) {
	case *ast.ParenExpr:
		return ht.typeOf(e.X)
	case *ast.Ident:
		t = ht.ident(e)
	case *ast.CallExpr:
		if ft := ht.funcType(e.Fun); ft != nil && ft.NumOut() == 1 {
			t = ft.Out(0)
		}
	}
	if !ht.isHost(t) {
		return nil
	}
	return t
}

func (ht *hostTyper) enter(e ast.Expr) bool {
	if ht.seen == nil {
		ht.seen = map[ast.Expr]bool{}
	}
	if ht.seen[e] {
		return false
	}
	ht.seen[e] = true
	return true
}

// funcType returns the type of a called function the resolver knows: a
// method of a host value (without its receiver), a binding, a curated
// package's function; nil otherwise.
func (ht *hostTyper) funcType(fun ast.Expr) reflect.Type {
	var ft reflect.Type
	switch fun := ast.Unparen(fun).(type) {
	case *ast.SelectorExpr:
		if id, ok := fun.X.(*ast.Ident); ok && ht.pkg != nil {
			if p := ht.pkg(id); p != "" {
				v := ht.c.symbols[p+"/"+path.Base(p)][fun.Sel.Name]
				if v.IsValid() && v.Kind() == reflect.Func {
					return v.Type()
				}
				return nil
			}
		}
		if rt := ht.typeOf(fun.X); rt != nil {
			ft, _ = methodType(rt, fun.Sel.Name)
		}
	case *ast.Ident:
		ft = ht.ident(fun)
	}
	if ft == nil || ft.Kind() != reflect.Func {
		return nil
	}
	return ft
}

// describe returns the type of e as Go's messages name it, when the
// syntax or the host tells it (looser than typeOf, for messages only);
// "" otherwise.
func (ht *hostTyper) describe(e ast.Expr) string {
	if t := ht.typeOf(e); t != nil {
		return typeName(ht.c.terms, t)
	}
	if !ht.enter(e) {
		return ""
	}
	defer delete(ht.seen, e)
	switch e := e.(type) {
	case *ast.ParenExpr:
		return ht.describe(e.X)
	case *ast.BasicLit:
		return map[token.Token]string{token.INT: "int", token.FLOAT: "float64", token.IMAG: "complex128", token.CHAR: "rune", token.STRING: "string"}[e.Kind]
	case *ast.CompositeLit:
		if e.Type != nil {
			return types.ExprString(e.Type)
		}
	case *ast.UnaryExpr:
		if e.Op == token.AND {
			if t := ht.describe(e.X); t != "" {
				return "*" + t
			}
		}
	case *ast.StarExpr:
		if t := ht.describe(e.X); strings.HasPrefix(t, "*") {
			return t[1:]
		}
	case *ast.CallExpr:
		if ft := ht.funcType(e.Fun); ft != nil && ft.NumOut() == 1 {
			return typeName(ht.c.terms, ft.Out(0))
		}
		if id, ok := e.Fun.(*ast.Ident); ok && id.Obj == nil && len(e.Args) == 1 && basicNonIndexable(id.Name) {
			return id.Name // a conversion
		}
	case *ast.Ident:
		if e.Obj == nil {
			if e.Name == "true" || e.Name == "false" {
				return "bool"
			}
			if ht.globals != nil {
				if t, ok := ht.globals(e.Name); ok && t != nil && plainType(t) {
					return typeName(ht.c.terms, t)
				}
			}
			return ""
		}
		if e.Obj.Kind != ast.Var {
			return ""
		}
		switch d := e.Obj.Decl.(type) {
		case *ast.Field:
			return types.ExprString(d.Type)
		case *ast.ValueSpec:
			if d.Type != nil {
				return types.ExprString(d.Type)
			}
			for i, n := range d.Names {
				if n.Name == e.Name && len(d.Values) == len(d.Names) {
					return ht.describe(d.Values[i])
				}
			}
		case *ast.AssignStmt:
			if d.Tok == token.DEFINE && len(d.Lhs) == len(d.Rhs) {
				for i, l := range d.Lhs {
					if l, ok := l.(*ast.Ident); ok && l.Name == e.Name {
						return ht.describe(d.Rhs[i])
					}
				}
			}
		}
	}
	return ""
}

// plainType reports whether t is written the same by reflect and by the
// script: built of predeclared types and host types, not the struct and
// function types yaegi makes for the script's own.
func plainType(t reflect.Type) bool {
	for depth := 0; depth < 10; depth++ {
		if t.Name() != "" {
			return t.PkgPath() == "" || !strings.Contains(t.PkgPath(), "yaegi")
		}
		switch t.Kind() {
		case reflect.Slice, reflect.Array, reflect.Pointer:
			t = t.Elem()
		case reflect.Map:
			if !plainType(t.Key()) {
				return false
			}
			t = t.Elem()
		case reflect.Interface:
			return t.NumMethod() == 0
		default:
			return false
		}
	}
	return false
}

// ident resolves a name: declared in the source (a parameter or variable
// with an API type, or one initialized from a host value), a contextual
// name of methods, a workspace binding or earlier variable.
func (ht *hostTyper) ident(id *ast.Ident) reflect.Type {
	if id.Obj == nil {
		if expr, ok := ht.c.contextual[id.Name]; ok && ht.globals == nil {
			return ht.contextual(expr)
		}
		if ht.globals != nil {
			t, _ := ht.globals(id.Name)
			return t
		}
		return nil
	}
	if id.Obj.Kind != ast.Var {
		return nil
	}
	switch d := id.Obj.Decl.(type) {
	case *ast.Field:
		return ht.typeExpr(d.Type)
	case *ast.ValueSpec:
		if d.Type != nil {
			return ht.typeExpr(d.Type)
		}
		for i, n := range d.Names {
			if n.Name == id.Name && i < len(d.Values) && len(d.Values) == len(d.Names) {
				return ht.typeOf(d.Values[i])
			}
		}
	case *ast.AssignStmt:
		if d.Tok != token.DEFINE || len(d.Lhs) != len(d.Rhs) {
			return nil
		}
		for i, l := range d.Lhs {
			if l, ok := l.(*ast.Ident); ok && l.Name == id.Name {
				return ht.typeOf(d.Rhs[i])
			}
		}
	}
	return nil
}

// typeExpr resolves a type written as an API type's name (or a pointer to
// one) not shadowed in the source or the workspace.
func (ht *hostTyper) typeExpr(e ast.Expr) reflect.Type {
	switch e := e.(type) {
	case *ast.Ident:
		if e.Obj != nil {
			return nil
		}
		if ht.globals != nil {
			if _, shadowed := ht.globals(e.Name); shadowed {
				return nil
			}
		}
		if t, ok := exportedType(ht.c.cfg.Exports[ht.c.apiKey][e.Name]); ok {
			return t
		}
	case *ast.StarExpr:
		if t := ht.typeExpr(e.X); t != nil {
			return reflect.PointerTo(t)
		}
	}
	return nil
}

// contextual resolves the type of a Config.Contextual expression, written
// over the receiver (selfParam).
func (ht *hostTyper) contextual(expr string) reflect.Type {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return nil
	}
	recv, _ := exportedType(ht.c.cfg.Exports[ht.c.apiKey][ht.c.cfg.ReceiverType])
	sub := &hostTyper{c: ht.c, globals: func(name string) (reflect.Type, bool) {
		if name == selfParam {
			return recv, true
		}
		return nil, false
	}}
	return sub.typeOf(e)
}
