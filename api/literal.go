package api

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/scanner"
	"go/token"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ParseLiteral reads a value a person typed — a Go literal of a kind a
// slot can hold — into a Value, without evaluating anything:
//
//	nil  true  false  42  -7  0x1F  3.5  1e-3  "text"  `raw`
//	[]any{1, "two", nil}  map[string]any{"x": 1}  ObjectAt(12)
//
// Anything else (a call, an operator, a variable) is an *Error of kind
// syntax with its position: a literal cannot run statements.
func ParseLiteral(src string) (Value, error) {
	if len(src) > maxLiteral {
		return Value{}, Errorf(ErrInvalid, "literal is %d bytes, more than %d", len(src), maxLiteral)
	}
	fset := token.NewFileSet()
	expr, err := parser.ParseExprFrom(fset, "", src, 0)
	if err != nil {
		e := &Error{Kind: ErrSyntax, Message: err.Error(), Line: 1}
		if list, ok := err.(scanner.ErrorList); ok && len(list) > 0 {
			e.Line, e.Col = list[0].Pos.Line, list[0].Pos.Column
			e.Message = list[0].Error()
		}
		return Value{}, e
	}
	p := literalParser{fset: fset}
	v := p.value(expr, 0)
	if p.err != nil {
		return Value{}, p.err
	}
	return v, nil
}

// maxLiteral bounds typed literals: a value this large is data for a
// script to build, not text to type.
const maxLiteral = 1 << 20

type literalParser struct {
	fset  *token.FileSet
	err   *Error
	nodes int
}

func (p *literalParser) fail(n ast.Node, format string, args ...any) Value {
	if p.err == nil {
		pos := p.fset.Position(n.Pos())
		p.err = Errorf(ErrSyntax, "%d:%d: "+format, append([]any{pos.Line, pos.Column}, args...)...)
		p.err.Line, p.err.Col = pos.Line, pos.Column
	}
	return Value{}
}

func (p *literalParser) value(e ast.Expr, depth int) Value {
	if p.err != nil {
		return Value{}
	}
	if p.nodes++; p.nodes > MaxValueNodes || depth > 100 {
		return p.fail(e, "literal too large or too deeply nested")
	}
	switch e := e.(type) {
	case *ast.ParenExpr:
		return p.value(e.X, depth+1)
	case *ast.Ident:
		switch e.Name {
		case "nil":
			return Nil()
		case "true":
			return Bool(true)
		case "false":
			return Bool(false)
		}
		return p.fail(e, "%s is not a literal", e.Name)
	case *ast.BasicLit:
		return p.basic(e, false)
	case *ast.UnaryExpr:
		if lit, ok := e.X.(*ast.BasicLit); ok && (e.Op == token.SUB || e.Op == token.ADD) {
			return p.basic(lit, e.Op == token.SUB)
		}
		return p.fail(e, "only a number may carry a sign")
	case *ast.CompositeLit:
		return p.composite(e, depth)
	case *ast.CallExpr:
		if id, ok := e.Fun.(*ast.Ident); ok && id.Name == "ObjectAt" && len(e.Args) == 1 {
			if lit, ok := e.Args[0].(*ast.BasicLit); ok && lit.Kind == token.INT {
				if oid, err := strconv.ParseUint(lit.Value, 0, 64); err == nil && oid > 0 {
					return ObjectRef(Ref{OID: oid, Name: "object " + strconv.FormatUint(oid, 10)})
				}
			}
			return p.fail(e, "ObjectAt takes an object id, a positive integer")
		}
		return p.fail(e, "a literal cannot call anything but ObjectAt(id)")
	}
	return p.fail(e, "not a literal (want nil, a bool, a number, a string, []any{…}, map[string]any{…} or ObjectAt(id))")
}

func (p *literalParser) basic(lit *ast.BasicLit, negate bool) Value {
	switch lit.Kind {
	case token.STRING:
		if negate {
			return p.fail(lit, "a string cannot carry a sign")
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return p.fail(lit, "bad string: %v", err)
		}
		return String(s)
	case token.INT:
		c := constant.MakeFromLiteral(lit.Value, lit.Kind, 0)
		if negate {
			c = constant.UnaryOp(token.SUB, c, 0)
		}
		i, exact := constant.Int64Val(c)
		if !exact {
			return p.fail(lit, "%s overflows int", lit.Value)
		}
		return Int(i)
	case token.FLOAT:
		c := constant.MakeFromLiteral(lit.Value, lit.Kind, 0)
		if negate {
			c = constant.UnaryOp(token.SUB, c, 0)
		}
		f, _ := constant.Float64Val(c)
		if math.IsInf(f, 0) {
			return p.fail(lit, "%s overflows float64", lit.Value)
		}
		return Float(f)
	}
	return p.fail(lit, "%s is not a slot value (runes and imaginary numbers are not)", lit.Value)
}

func (p *literalParser) composite(e *ast.CompositeLit, depth int) Value {
	switch typeString(e.Type) {
	case "[]any", "[]interface{}":
		v := List()
		for _, el := range e.Elts {
			if _, ok := el.(*ast.KeyValueExpr); ok {
				return p.fail(el, "a []any literal takes no keys")
			}
			v.Items = append(v.Items, p.value(el, depth+1))
		}
		return v
	case "map[string]any", "map[string]interface{}":
		v := Map()
		seen := map[string]bool{}
		for _, el := range e.Elts {
			kv, ok := el.(*ast.KeyValueExpr)
			if !ok {
				return p.fail(el, "a map literal needs key: value")
			}
			k := p.value(kv.Key, depth+1)
			if p.err != nil {
				return Value{}
			}
			if k.Kind != ValueString {
				return p.fail(kv.Key, "map keys are strings")
			}
			if seen[k.String] {
				return p.fail(kv.Key, "duplicate key %q", k.String)
			}
			seen[k.String] = true
			v.Entries = append(v.Entries, Entry{Key: k.String, Value: p.value(kv.Value, depth+1)})
		}
		sort.Slice(v.Entries, func(i, j int) bool { return v.Entries[i].Key < v.Entries[j].Key })
		return v
	}
	return p.fail(e, "only []any{…} and map[string]any{…} literals are slot values")
}

func typeString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.ArrayType:
		if e.Len == nil {
			return "[]" + typeString(e.Elt)
		}
	case *ast.MapType:
		return "map[" + typeString(e.Key) + "]" + typeString(e.Value)
	case *ast.Ident:
		return e.Name
	case *ast.InterfaceType:
		if e.Methods == nil || len(e.Methods.List) == 0 {
			return "interface{}"
		}
	}
	return ""
}

// Literal writes v back as the Go literal ParseLiteral reads (an object as
// ObjectAt(id)); ok is false for kinds a slot cannot hold and for
// truncated values.
func (v Value) Literal() (string, bool) {
	var b strings.Builder
	ok := v.literal(&b)
	return b.String(), ok
}

func (v Value) literal(b *strings.Builder) bool {
	if v.Truncated {
		return false
	}
	switch v.Kind {
	case ValueNil:
		b.WriteString("nil")
	case ValueBool:
		b.WriteString(strconv.FormatBool(v.Bool))
	case ValueInt:
		b.WriteString(strconv.FormatInt(v.Int, 10))
	case ValueFloat:
		f := v.Float64()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return false
		}
		s := strconv.FormatFloat(f, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0" // stays a float when read back
		}
		b.WriteString(s)
	case ValueString:
		b.WriteString(strconv.Quote(v.String))
	case ValueObject:
		if v.Object == nil {
			return false
		}
		b.WriteString("ObjectAt(" + strconv.FormatUint(v.Object.OID, 10) + ")")
	case ValueList:
		b.WriteString("[]any{")
		for i, it := range v.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			if !it.literal(b) {
				return false
			}
		}
		b.WriteString("}")
	case ValueMap:
		b.WriteString("map[string]any{")
		for i, en := range v.Entries {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(en.Key) + ": ")
			if !en.Value.literal(b) {
				return false
			}
		}
		b.WriteString("}")
	default:
		return false
	}
	return true
}
