package repl

import (
	"context"
	"go/scanner"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"time"

	"batos/api"
)

// completionTimeout bounds the image reads of one completion: a tab press
// must never hang the prompt, even on a slow link to a served image. A
// completion that runs out of time offers nothing.
const completionTimeout = 500 * time.Millisecond

// indent is what tab inserts at the start of a line, where there is no
// word to complete: continuation lines are indented by hand.
const indent = "    "

// objectMethods are the methods of the scripts' Object type, offered after
// `Lobby.`, `x.` (x a variable of the session) or a call that answers an
// Object.
var objectMethods = []string{"At", "Clone", "Define", "Get", "ID", "Lookup", "Remove", "Rename", "Send", "Set", "Slots"}

// objectCalls are the calls that answer an Object.
var objectCalls = []string{"At", "Clone", "Lobby", "NewObject"}

// topLevel are the names every entry can use besides its own: the image's
// API, Go's predeclared identifiers and keywords.
var topLevel = func() []string {
	names := []string{"Lobby", "NewObject", "Object", "help",
		"append", "cap", "clear", "close", "complex", "copy", "delete", "imag", "len", "make", "max", "min",
		"new", "panic", "print", "println", "real", "recover", "true", "false", "nil"}
	for tok := token.BREAK; tok <= token.VAR; tok++ {
		if tok.IsKeyword() {
			names = append(names, tok.String())
		}
	}
	return names
}()

// completer offers completions of the word before the cursor: the
// selectors and slot names of an object the line names when the cursor is
// in the first string argument of Send, Get, At, Set and the like; the
// Object methods after a dot; top-level names elsewhere.
//
// It resolves a receiver only when the line spells the path to it —
// Lobby, or Lobby.At("a").At("b") — since finding what a variable holds
// would mean evaluating, and an evaluation is a transaction.
type completer struct {
	img api.Image
	// declared holds the names the session's entries declared (variables,
	// functions, types, constants); objects are the variables among them,
	// after which a dot offers the Object methods.
	declared map[string]bool
	vars     map[string]bool
}

func newCompleter(img api.Image) *completer {
	return &completer{img: img, declared: map[string]bool{}, vars: map[string]bool{}}
}

// learn records the names an entry that ran declared.
func (c *completer) learn(src string) {
	vars, others := declarations(src)
	for _, n := range vars {
		c.vars[n] = true
		c.declared[n] = true
	}
	for _, n := range others {
		c.declared[n] = true
	}
}

// complete is a liner.WordCompleter: line is the line being edited and pos
// the cursor's position in runes; the line becomes head + one of the
// candidates + tail.
func (c *completer) complete(line string, pos int) (head string, candidates []string, tail string) {
	r := []rune(line)
	pos = max(0, min(pos, len(r)))
	before, tail := string(r[:pos]), string(r[pos:])
	if strings.TrimSpace(before) == "" {
		return before, []string{indent}, tail
	}
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	start, candidates := c.candidates(ctx, before)
	return before[:start], candidates, tail
}

// lexeme is one token of the text before the cursor.
type lexeme struct {
	tok        token.Token
	lit        string
	start, end int // byte offsets
}

// candidates returns where the word being completed starts in before and
// the sorted candidates for it.
func (c *completer) candidates(ctx context.Context, before string) (int, []string) {
	toks, open := lex(before)
	toks = slices.DeleteFunc(toks, inserted)
	if len(toks) == 0 {
		return len(before), nil
	}
	last := toks[len(toks)-1]
	atEnd := last.end == len(before)
	switch {
	case last.tok == token.COMMENT && atEnd:
		return len(before), nil
	case last.tok == token.STRING && open && atEnd:
		// In an unterminated string: a selector or slot name when the
		// string is the first argument of a known method.
		word := last.lit[1:]
		if last.lit[0] != '"' || strings.ContainsRune(word, '\\') {
			return len(before), nil
		}
		return last.start + 1, withPrefix(c.slotNames(ctx, toks[:len(toks)-1]), word)
	case (last.tok == token.IDENT || last.tok.IsKeyword()) && atEnd:
		rest := toks[:len(toks)-1]
		if n := len(rest); n > 0 && rest[n-1].tok == token.PERIOD && rest[n-1].end == last.start {
			return last.start, withPrefix(c.methods(rest[:n-1]), last.lit)
		}
		return last.start, withPrefix(c.names(), last.lit)
	case last.tok == token.PERIOD && atEnd:
		return len(before), c.methods(toks[:len(toks)-1])
	case last.tok.IsOperator() && last.tok != token.RPAREN && last.tok != token.RBRACK && last.tok != token.RBRACE,
		last.tok.IsKeyword():
		// After an operator or a keyword a name may start.
		return len(before), c.names()
	}
	return len(before), nil
}

// lex scans src, keeping comments; open reports that src ends inside an
// interpreted string literal.
func lex(src string) (toks []lexeme, open bool) {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	s.Init(file, []byte(src), func(_ token.Position, msg string) {
		if msg == "string literal not terminated" {
			open = true
		}
	}, scanner.ScanComments)
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if lit == "" {
			lit = tok.String()
		}
		start := file.Offset(pos)
		toks = append(toks, lexeme{tok: tok, lit: lit, start: start, end: start + len(lit)})
	}
	return toks, open
}

// inserted reports a semicolon the scanner inserted at a line's end.
func inserted(t lexeme) bool { return t.tok == token.SEMICOLON && t.lit == "\n" }

// methods offers the Object methods when the tokens before a dot end in
// an Object: Lobby, a variable of the session, or a call that answers an
// Object.
func (c *completer) methods(recv []lexeme) []string {
	n := len(recv)
	if n == 0 || n > 1 && recv[n-2].tok == token.PERIOD && recv[n-1].tok == token.IDENT {
		return nil // a field or package member: not known to be an Object
	}
	switch last := recv[n-1]; last.tok {
	case token.IDENT:
		if last.lit == "Lobby" || c.vars[last.lit] {
			return objectMethods
		}
	case token.RPAREN:
		open := matchingParen(recv, n-1)
		if open > 0 && recv[open-1].tok == token.IDENT && slices.Contains(objectCalls, recv[open-1].lit) {
			return objectMethods
		}
	}
	return nil
}

// matchingParen returns the index of the "(" that the ")" at i closes, or
// -1.
func matchingParen(toks []lexeme, i int) int {
	depth := 0
	for ; i >= 0; i-- {
		switch toks[i].tok {
		case token.RPAREN:
			depth++
		case token.LPAREN:
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// slotNames offers, for tokens ending in `RECEIVER.Method(`, the names
// Method takes as its first argument on the object RECEIVER names: the
// selectors it answers for Send and Define, its slots for the others.
func (c *completer) slotNames(ctx context.Context, toks []lexeme) []string {
	n := len(toks)
	if n < 4 || toks[n-1].tok != token.LPAREN || toks[n-2].tok != token.IDENT || toks[n-3].tok != token.PERIOD {
		return nil
	}
	method := toks[n-2].lit
	oid, ok := c.resolve(ctx, toks[:n-3])
	if !ok {
		return nil
	}
	if method == "Send" || method == "Define" {
		sels, err := c.img.Selectors(ctx, oid)
		if err != nil {
			return nil
		}
		return sels
	}
	var keep func(s api.SlotView, own bool) bool
	switch method {
	case "Get", "Lookup":
		keep = func(api.SlotView, bool) bool { return true }
	case "At":
		keep = func(s api.SlotView, _ bool) bool { return s.Target() != nil }
	case "Set":
		keep = func(s api.SlotView, _ bool) bool { return s.Kind == api.KindData || s.Kind == api.KindParent }
	case "Remove", "Rename":
		keep = func(_ api.SlotView, own bool) bool { return own }
	default:
		return nil
	}
	view, err := c.img.Object(ctx, oid)
	if err != nil {
		return nil
	}
	var names []string
	for _, s := range view.Slots {
		if keep(s, true) {
			names = append(names, s.Name)
		}
	}
	for _, s := range view.Inherited {
		if keep(s, false) {
			names = append(names, s.Name)
		}
	}
	return names
}

// resolve finds the object that tokens spelling Lobby or
// Lobby.At("a").At("b")... name, reading the image.
func (c *completer) resolve(ctx context.Context, toks []lexeme) (uint64, bool) {
	// Walk back over .At("name") links to Lobby.
	var path []string
	i := len(toks)
	for i >= 5 && toks[i-1].tok == token.RPAREN && toks[i-2].tok == token.STRING && toks[i-3].tok == token.LPAREN &&
		toks[i-4].tok == token.IDENT && toks[i-4].lit == "At" && toks[i-5].tok == token.PERIOD {
		name, err := strconv.Unquote(toks[i-2].lit)
		if err != nil {
			return 0, false
		}
		path = append(path, name)
		i -= 5
	}
	if i < 1 || toks[i-1].tok != token.IDENT || toks[i-1].lit != "Lobby" || i > 1 && toks[i-2].tok == token.PERIOD {
		return 0, false
	}
	oid := api.LobbyOID
	for _, name := range slices.Backward(path) {
		view, err := c.img.Object(ctx, oid)
		if err != nil {
			return 0, false
		}
		next, ok := objectSlot(view, name)
		if !ok {
			return 0, false
		}
		oid = next
	}
	return oid, true
}

// objectSlot returns the object held in the slot name of view, found as
// At finds it: own slots first, then inherited ones.
func objectSlot(view api.ObjectView, name string) (uint64, bool) {
	for _, s := range slices.Concat(view.Slots, view.Inherited) {
		if s.Name == name {
			if t := s.Target(); t != nil {
				return t.OID, true
			}
			return 0, false
		}
	}
	return 0, false
}

// names returns the top-level names: the API's, Go's and the session's.
func (c *completer) names() []string {
	names := slices.Clone(topLevel)
	for n := range c.declared {
		names = append(names, n)
	}
	return names
}

// withPrefix returns the names that start with prefix, sorted, each once.
func withPrefix(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// declarations returns the names src declares at its top level: the
// variables (x := ..., var x) and the other names (func, type, const). A
// scan rather than a parse: an entry is statements, not a file, and
// completion only needs the names.
func declarations(src string) (vars, others []string) {
	toks, _ := lex(src)
	depth := 0
	stmtStart := true // the token begins a statement at depth 0
	group := token.ILLEGAL
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case depth == 0 && stmtStart && t.tok == token.IDENT:
			// x, y := ...
			j := i
			var names []string
			for j < len(toks) && toks[j].tok == token.IDENT {
				names = append(names, toks[j].lit)
				if j+1 < len(toks) && toks[j+1].tok == token.COMMA {
					j += 2
					continue
				}
				j++
				break
			}
			if j < len(toks) && toks[j].tok == token.DEFINE {
				vars = append(vars, names...)
			}
		case depth == 0 && stmtStart && (t.tok == token.VAR || t.tok == token.CONST || t.tok == token.TYPE):
			if i+1 < len(toks) && toks[i+1].tok == token.LPAREN {
				group = t.tok
				depth++
				i++
				stmtStart = true
				continue
			}
			vars, others = declare(t.tok, toks[i+1:], vars, others)
		case depth == 1 && group != token.ILLEGAL && stmtStart && t.tok == token.IDENT:
			vars, others = declare(group, toks[i:], vars, others)
		case depth == 0 && stmtStart && t.tok == token.FUNC:
			if i+1 < len(toks) && toks[i+1].tok == token.IDENT {
				others = append(others, toks[i+1].lit)
			}
		}
		switch t.tok {
		case token.LPAREN, token.LBRACE, token.LBRACK:
			depth++
		case token.RPAREN, token.RBRACE, token.RBRACK:
			depth--
			if depth == 0 {
				group = token.ILLEGAL
			}
		}
		stmtStart = t.tok == token.SEMICOLON
	}
	return vars, others
}

// declare adds the identifiers that begin toks (a, b, c) as names of the
// kind a var, const or type declaration gives them.
func declare(kind token.Token, toks []lexeme, vars, others []string) ([]string, []string) {
	for j := 0; j < len(toks) && toks[j].tok == token.IDENT; j += 2 {
		if kind == token.VAR {
			vars = append(vars, toks[j].lit)
		} else {
			others = append(others, toks[j].lit)
		}
		if j+1 >= len(toks) || toks[j+1].tok != token.COMMA {
			break
		}
	}
	return vars, others
}
