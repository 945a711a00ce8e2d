package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/txtar"
)

// Splits of a suite: prompts and the pLLM's defaults may be tuned on the
// train part; the held-out part is for measuring only.
const (
	Train   = "train"
	HeldOut = "heldout"
)

// Suite is a versioned set of mandates.
type Suite struct {
	// Version is the suite's VERSION file (when it has one) and a hash of
	// every mandate's text: two runs compare only on equal versions.
	Version  string
	Mandates []*Mandate
}

// Mandate is one missing-method task.
type Mandate struct {
	Name  string // the file's name without .txtar
	Split string // Train or HeldOut
	About string // for people; never told to the model
	Tags  []string
	// Setup is Go script evaluated as one entry in a fresh copy of the
	// image; the variables it declares are in scope for Send and Checks.
	Setup string
	// Send is the send that finds no method: Receiver.Send("Selector",
	// Args...), each part Go source evaluated after Setup.
	Send     string
	Receiver string
	Selector string
	Args     []string
	Checks   []Check
	// Reference is a method that passes every check: the suite's own
	// test that the mandate can be done and its checks can tell. Never
	// told to the model.
	Reference string
}

// Check is one line of a mandate's checks section: an expression whose
// printed value must equal Want, or (Want empty and Stmt set) a
// statement run for its effect before the checks after it.
type Check struct {
	Line int // in the file
	Expr string
	Want string
	Stmt bool
	// Example is set when the check sends the mandate's selector to its
	// receiver before any statement: the pipeline runs it in the trial
	// too, and feeds a failure back with its counterexample.
	Example bool
	// Args are an example's argument expressions.
	Args []string
}

// Load reads every *.txtar mandate in dir of fsys, in name order.
func Load(fsys fs.FS, dir string) (*Suite, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read mandate suite %s: %w", dir, err)
	}
	h := sha256.New()
	suite := &Suite{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".txtar") {
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read mandate %s: %w", e.Name(), err)
		}
		m, err := Parse(e.Name(), data)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(h, "%s\x00%s\x00", e.Name(), data)
		suite.Mandates = append(suite.Mandates, m)
	}
	if len(suite.Mandates) == 0 {
		return nil, fmt.Errorf("read mandate suite %s: no *.txtar mandates", dir)
	}
	version := "unversioned"
	if v, err := fs.ReadFile(fsys, path.Join(dir, "VERSION")); err == nil {
		version = strings.TrimSpace(string(v))
	}
	suite.Version = version + "-" + hex.EncodeToString(h.Sum(nil)[:4])
	return suite, nil
}

// Select returns the mandates of split ("" or "all": every one) whose
// names contain one of names (none: every one).
func (s *Suite) Select(split string, names ...string) ([]*Mandate, error) {
	switch split {
	case "", "all", Train, HeldOut:
	default:
		return nil, fmt.Errorf("unknown split %q (want %s, %s or all)", split, Train, HeldOut)
	}
	var out []*Mandate
	for _, m := range s.Mandates {
		if split != "" && split != "all" && m.Split != split {
			continue
		}
		if len(names) > 0 && !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(m.Name, n) }) {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// Parse reads one mandate: a txtar archive whose comment holds
// "split:", "about:" and "tags:" lines and whose files are setup, send,
// checks and reference. Errors name the file and line.
func Parse(file string, data []byte) (*Mandate, error) {
	m := &Mandate{Name: strings.TrimSuffix(path.Base(file), ".txtar")}
	fail := func(line int, format string, a ...any) (*Mandate, error) {
		return nil, fmt.Errorf("mandate %s:%d: %s", file, line, fmt.Sprintf(format, a...))
	}
	ar := txtar.Parse(data)
	for i, line := range strings.Split(string(ar.Comment), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return fail(i+1, "want key: value, got %q", line)
		}
		value = strings.TrimSpace(value)
		switch strings.TrimSpace(key) {
		case "split":
			m.Split = value
		case "about":
			m.About = value
		case "tags":
			for _, t := range strings.Split(value, ",") {
				if t = strings.TrimSpace(t); t != "" {
					m.Tags = append(m.Tags, t)
				}
			}
		default:
			return fail(i+1, "unknown key %q (want split, about or tags)", key)
		}
	}
	if m.Split != Train && m.Split != HeldOut {
		return fail(1, "split is %q, want %s or %s", m.Split, Train, HeldOut)
	}
	// Line numbers of each file's first line, for errors.
	offsets := map[string]int{}
	line := strings.Count(string(ar.Comment), "\n") + 1
	for _, f := range ar.Files {
		offsets[f.Name] = line + 1
		line += 1 + strings.Count(string(f.Data), "\n")
	}
	seen := map[string]bool{}
	for _, f := range ar.Files {
		if seen[f.Name] {
			return fail(offsets[f.Name]-1, "section %q appears twice", f.Name)
		}
		seen[f.Name] = true
		text := string(f.Data)
		switch f.Name {
		case "setup":
			m.Setup = text
		case "send":
			m.Send = strings.TrimSpace(text)
		case "checks":
			m.Checks = nil
			for i, l := range strings.Split(text, "\n") {
				if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "//") {
					continue
				}
				c := Check{Line: offsets[f.Name] + i}
				if expr, want, ok := strings.Cut(l, " => "); ok {
					c.Expr, c.Want = strings.TrimSpace(expr), strings.TrimSpace(want)
					if c.Expr == "" || c.Want == "" {
						return fail(c.Line, "a check is EXPR => WANT, both non-empty")
					}
				} else {
					c.Expr, c.Stmt = strings.TrimSpace(l), true
				}
				m.Checks = append(m.Checks, c)
			}
		case "reference":
			m.Reference = text
		default:
			return fail(offsets[f.Name]-1, "unknown section %q (want setup, send, checks, reference)", f.Name)
		}
	}
	for _, need := range []string{"send", "checks", "reference"} {
		if !seen[need] {
			return fail(1, "no %q section", need)
		}
	}
	recv, sel, args, err := parseSend(m.Send)
	if err != nil {
		return fail(offsets["send"], "send: %v", err)
	}
	m.Receiver, m.Selector, m.Args = recv, sel, args
	if !token.IsIdentifier(sel) {
		return fail(offsets["send"], "send: the selector %q is not a Go identifier", sel)
	}
	if !strings.Contains(m.Reference, "func "+sel+"(") {
		return fail(offsets["reference"], "the reference does not declare func %s", sel)
	}
	if !slices.ContainsFunc(m.Checks, func(c Check) bool { return !c.Stmt }) {
		return fail(offsets["checks"], "no check with a wanted value (EXPR => WANT)")
	}
	for i := range m.Checks {
		c := &m.Checks[i]
		if c.Stmt {
			break // later checks may depend on the statement's effect
		}
		if r, s, a, err := parseSend(c.Expr); err == nil && r == m.Receiver && s == m.Selector {
			c.Example, c.Args = true, a
		}
	}
	return m, nil
}

// parseSend splits RECV.Send("sel", ARGS...) into its sources.
func parseSend(src string) (recv, sel string, args []string, err error) {
	expr, err := parser.ParseExpr(src)
	if err != nil {
		return "", "", nil, fmt.Errorf("%q is not a Go expression: %v", src, err)
	}
	call, ok := expr.(*ast.CallExpr)
	var fun *ast.SelectorExpr
	if ok {
		fun, ok = call.Fun.(*ast.SelectorExpr)
	}
	if !ok || fun.Sel.Name != "Send" || len(call.Args) == 0 || call.Ellipsis != token.NoPos {
		return "", "", nil, fmt.Errorf("%q is not RECEIVER.Send(\"selector\", args...)", src)
	}
	lit, ok := call.Args[0].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", "", nil, fmt.Errorf("%q: the selector must be a string literal", src)
	}
	sel, err = strconv.Unquote(lit.Value)
	if err != nil || sel == "" {
		return "", "", nil, fmt.Errorf("%q: bad selector %s", src, lit.Value)
	}
	text := func(n ast.Node) string { return src[n.Pos()-1 : n.End()-1] }
	for _, a := range call.Args[1:] {
		args = append(args, text(a))
	}
	return text(fun.X), sel, args, nil
}
