package interp

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
)

// SendSite is a send written in source: X.Send("selector", ...), with its
// position in the source as written (1-based).
type SendSite struct {
	Selector  string
	Line, Col int
}

// Sends lists, in source order, the sends in a method's source (or in a
// workspace entry's statements) whose selector is a string literal: what
// "senders of" finds and what a stack frame points at. The error is the
// parser's, for a source that does not parse.
func Sends(src string) ([]SendSite, error) {
	const wrapper = "package p\n"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", wrapper+src, parser.SkipObjectResolution)
	if err != nil {
		// A workspace entry: statements, not declarations.
		const stmts = "package p\nfunc _() {\n"
		var serr error
		if f, serr = parser.ParseFile(fset, "", stmts+src+"\n}", parser.SkipObjectResolution); serr != nil {
			return nil, err
		}
		return sendsIn(fset, f, 2), nil
	}
	return sendsIn(fset, f, 1), nil
}

func sendsIn(fset *token.FileSet, f *ast.File, skipLines int) []SendSite {
	var out []SendSite
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		fun, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || fun.Sel.Name != "Send" {
			return true
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		sel, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		p := fset.Position(fun.Sel.Pos())
		out = append(out, SendSite{Selector: sel, Line: p.Line - skipLines, Col: p.Column})
		return true
	})
	return out
}
