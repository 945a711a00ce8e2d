package interp

import (
	"go/ast"
	"go/token"
	"go/types"
	"reflect"
	"strconv"
)

// Checks Go's compiler makes and yaegi does not, or makes in a way that
// costs more than a message (a compiler crash that resets a workspace, a
// global declared by a failed entry). Each works on the syntax alone, or
// on names the workspace knows; none can refuse a program Go accepts.

// checkStatements refuses what Go refuses and yaegi mishandles, on the
// syntax of file: assignments whose sides cannot match (yaegi accepts
// `a, b := 1, 2, 3`, and says "unsupported assign expression" for
// `a, b := 1`), and, in a workspace entry's statements (main, the
// synthetic wrapper), a return outside any function literal, which
// crashes yaegi's compiler.
func checkStatements(file *ast.File, main *ast.FuncDecl, serr func(token.Pos, string, ...any) error) error {
	var err error
	ast.Inspect(file, func(n ast.Node) bool {
		if err != nil {
			return false
		}
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE || n.Tok == token.ASSIGN {
				err = checkCounts(len(n.Lhs), n.Rhs, serr)
			}
		case *ast.ValueSpec:
			if len(n.Values) > 0 {
				err = checkCounts(len(n.Names), n.Values, serr)
			}
		case *ast.IfStmt:
			err = checkCondition(n.Cond, "if", serr)
		case *ast.ForStmt:
			err = checkCondition(n.Cond, "for", serr)
		case *ast.FuncDecl:
			err = checkReturns(n.Type, n.Body, serr)
		case *ast.FuncLit:
			err = checkReturns(n.Type, n.Body, serr)
		case *ast.CallExpr:
			// close(nil) crashes yaegi's compiler; and there are no
			// channels to close.
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "close" && id.Obj == nil {
				err = serr(n.Pos(), "invalid operation: close: channels are not allowed: a method can't block the image")
			}
		}
		return err == nil
	})
	if err != nil || main == nil {
		return err
	}
	ast.Inspect(main.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			if err == nil {
				if len(n.Results) > 0 {
					err = serr(n.Results[0].Pos(), "too many return values")
				} else {
					err = serr(n.Pos(), "return outside a function: an entry's statements are not a function body")
				}
			}
		}
		return err == nil
	})
	return err
}

// checkReturns refuses a function with results whose body can end
// without a return (Go's "missing return"; yaegi returns zero values).
// The rule is the Go specification's, on the syntax alone: the body must
// end in a terminating statement.
func checkReturns(typ *ast.FuncType, body *ast.BlockStmt, serr func(token.Pos, string, ...any) error) error {
	if body == nil || typ.Results == nil || len(typ.Results.List) == 0 {
		return nil
	}
	if !terminatingList(body.List, "") {
		return serr(body.Rbrace, "missing return")
	}
	return nil
}

// terminating reports whether s is a terminating statement (the Go
// specification, "Terminating statements"; go/types' isTerminating).
func terminating(s ast.Stmt, label string) bool {
	switch s := s.(type) {
	case *ast.ReturnStmt:
		return true
	case *ast.BranchStmt:
		return s.Tok == token.GOTO || s.Tok == token.FALLTHROUGH
	case *ast.ExprStmt:
		call, ok := ast.Unparen(s.X).(*ast.CallExpr)
		if !ok {
			return false
		}
		id, ok := ast.Unparen(call.Fun).(*ast.Ident)
		return ok && id.Name == "panic" && id.Obj == nil
	case *ast.BlockStmt:
		return terminatingList(s.List, "")
	case *ast.IfStmt:
		return s.Else != nil && terminating(s.Body, "") && terminating(s.Else, "")
	case *ast.SwitchStmt:
		return terminatingSwitch(s.Body, label)
	case *ast.TypeSwitchStmt:
		return terminatingSwitch(s.Body, label)
	case *ast.SelectStmt:
		for _, c := range s.Body.List {
			cc := c.(*ast.CommClause)
			if !terminatingList(cc.Body, "") || hasBreakList(cc.Body, label, true) {
				return false
			}
		}
		return true
	case *ast.ForStmt:
		return s.Cond == nil && !hasBreak(s.Body, label, true)
	case *ast.LabeledStmt:
		return terminating(s.Stmt, s.Label.Name)
	}
	return false
}

// terminatingList reports whether a statement list ends in a terminating
// statement (empty statements after it aside).
func terminatingList(list []ast.Stmt, label string) bool {
	for i := len(list) - 1; i >= 0; i-- {
		if _, empty := list[i].(*ast.EmptyStmt); !empty {
			return terminating(list[i], label)
		}
	}
	return false
}

func terminatingSwitch(body *ast.BlockStmt, label string) bool {
	hasDefault := false
	for _, c := range body.List {
		cc := c.(*ast.CaseClause)
		if cc.List == nil {
			hasDefault = true
		}
		if !terminatingList(cc.Body, "") || hasBreakList(cc.Body, label, true) {
			return false
		}
	}
	return hasDefault
}

// hasBreak reports whether s holds a break that leaves the statement
// labeled label (or, when implicit, the innermost enclosing one).
func hasBreak(s ast.Stmt, label string, implicit bool) bool {
	switch s := s.(type) {
	case *ast.BranchStmt:
		if s.Tok == token.BREAK {
			if s.Label == nil {
				return implicit
			}
			return s.Label.Name == label
		}
	case *ast.LabeledStmt:
		return hasBreak(s.Stmt, label, implicit)
	case *ast.BlockStmt:
		return hasBreakList(s.List, label, implicit)
	case *ast.IfStmt:
		return hasBreak(s.Body, label, implicit) || s.Else != nil && hasBreak(s.Else, label, implicit)
	case *ast.CaseClause:
		return hasBreakList(s.Body, label, implicit)
	case *ast.CommClause:
		return hasBreakList(s.Body, label, implicit)
	case *ast.SwitchStmt:
		return label != "" && hasBreak(s.Body, label, false)
	case *ast.TypeSwitchStmt:
		return label != "" && hasBreak(s.Body, label, false)
	case *ast.SelectStmt:
		return label != "" && hasBreak(s.Body, label, false)
	case *ast.ForStmt:
		return label != "" && hasBreak(s.Body, label, false)
	case *ast.RangeStmt:
		return label != "" && hasBreak(s.Body, label, false)
	}
	return false
}

func hasBreakList(list []ast.Stmt, label string, implicit bool) bool {
	for _, s := range list {
		if hasBreak(s, label, implicit) {
			return true
		}
	}
	return false
}

// checkCondition refuses a condition that is a constant other than a
// boolean (`if 1 {}`): Go says so, and yaegi's compiler crashes on it.
func checkCondition(cond ast.Expr, stmt string, serr func(token.Pos, string, ...any) error) error {
	if cond == nil {
		return nil
	}
	if lit, ok := ast.Unparen(cond).(*ast.BasicLit); ok {
		return serr(lit.Pos(), "non-boolean condition in %s statement", stmt)
	}
	return nil
}

// checkCounts checks the sides of an assignment or declaration of lhs
// names, as Go does: as many values as names, or one value that yields
// as many (a call; a comma-ok form for two).
func checkCounts(lhs int, rhs []ast.Expr, serr func(token.Pos, string, ...any) error) error {
	if len(rhs) == 0 || lhs == len(rhs) {
		return nil
	}
	if len(rhs) == 1 {
		switch x := ast.Unparen(rhs[0]).(type) {
		case *ast.CallExpr:
			return nil // the call's results are counted by the compiler
		case *ast.IndexExpr, *ast.TypeAssertExpr:
			if lhs == 2 {
				return nil
			}
		case *ast.UnaryExpr:
			if x.Op == token.ARROW && lhs == 2 {
				return nil
			}
		}
	}
	return serr(rhs[0].Pos(), "assignment mismatch: %s but %s", countOf(lhs, "variable"), countOf(len(rhs), "value"))
}

func countOf(n int, noun string) string { return plural(strconv.Itoa(n), noun) }

// undefinedName returns the first name of u that nothing defines: not an
// earlier entry, a binding, the API package, a package, nor Go's
// predeclared names. yaegi answers such a name at an entry's top level
// with "constant definition loop" or a crash ("nil type": a loop
// variable used after its loop), and a name only a failed entry declared
// (see rollback) still exists in its interpreter; Go says "undefined".
func (w *Workspace) undefinedName(u *input, isPkg func(*ast.Ident) bool) *ast.Ident {
	for _, id := range u.file.Unresolved {
		switch name := id.Name; {
		case name == "_", w.declared[name], isPkg(id), types.Universe.Lookup(name) != nil:
		case w.bindings[bindPath+"/bind"][name].IsValid():
		case w.c.cfg.Exports[w.c.apiKey][name].IsValid():
		default:
			return id
		}
	}
	return nil
}

// globalTypes returns, for the typed checks, the type of a name earlier
// entries declared or a binding, and whether there is one.
func (w *Workspace) globalTypes() func(string) (reflect.Type, bool) {
	var globals map[string]reflect.Value
	return func(name string) (reflect.Type, bool) {
		if w.declared[name] {
			if globals == nil {
				globals = w.globals()
			}
			if v, ok := globals[name]; ok && v.IsValid() {
				return v.Type(), true
			}
			return nil, true
		}
		if v := w.bindings[bindPath+"/bind"][name]; v.IsValid() {
			return v.Type(), true
		}
		return nil, false
	}
}
