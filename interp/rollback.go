package interp

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"reflect"
	"strings"

	yaegi "batos/internal/yaegi/interp"
)

// A failed entry declares nothing.
//
// yaegi declares an entry's top-level names in the interpreter's global
// scope as it compiles them, and keeps them when the compile or the run
// then fails: `x := undefinedThing()` left an x, a redeclaration that
// failed (`x := "s" + 1`) left x at its zero value, and a function whose
// new body did not compile panicked when called. In Go's terms the
// declarations of a program that failed never happened, so a workspace
// undoes them:
//
//   - a name the failed entry declared first stays undefined: the entry
//     never reaches the workspace's declared names, so the next entry
//     that uses it is refused with "undefined: x" (undefinedName) before
//     yaegi sees it — and when it shadowed a binding or a predeclared
//     name (Lobby, len), the interpreter is recycled without it when it
//     can be;
//   - a variable it redeclared gets back the value it held (save);
//   - a function it redeclared gets back its former definition, compiled
//     again from the source kept when it was declared (keepFuncs).
//
// Assignments to existing variables are not declarations: like any
// other side effect of a run that failed (a slot set), they stay.

// saved is what an entry would redeclare, as it was before the entry.
type saved struct {
	vars map[string]reflect.Value // copies of variables' values
}

// save copies the values of the variables u redeclares.
func (w *Workspace) save(u *input) saved {
	s := saved{vars: map[string]reflect.Value{}}
	var globals map[string]reflect.Value
	for _, name := range u.declares() {
		if !w.declared[name] {
			continue
		}
		if globals == nil {
			globals = w.globals()
		}
		v, ok := globals[name]
		if !ok || !v.IsValid() || !v.CanInterface() {
			continue
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		s.vars[name] = c
	}
	return s
}

// rollback undoes the declarations of the failed entry u (see above)
// that its run did not complete: done is the number of top-level
// statements that did (0 when it did not run).
func (w *Workspace) rollback(u *input, s saved, done int) {
	var globals map[string]reflect.Value
	shadows := false
	names := u.declares()
	if u.main != nil && done > 0 {
		names = nil
		for i, st := range u.main.Body.List {
			if i >= done {
				names = append(names, stmtDeclares(st)...)
				continue
			}
			// Completed: its names are declared, as after an entry
			// that succeeded.
			for _, name := range stmtDeclares(st) {
				w.declared[name] = true
			}
			if d, ok := st.(*ast.DeclStmt); ok && d.Decl.(*ast.GenDecl).Tok != token.VAR {
				w.pinned = true
			}
		}
	}
	for _, name := range names {
		if !w.declared[name] {
			shadows = shadows || types.Universe.Lookup(name) != nil || w.bindings[bindPath+"/bind"][name].IsValid() ||
				w.c.cfg.Exports[w.c.apiKey][name].IsValid()
			continue
		}
		if old, ok := s.vars[name]; ok {
			if globals == nil {
				globals = w.globals()
			}
			cur, ok := globals[name]
			switch {
			case ok && cur.IsValid() && cur.CanSet() && cur.Type() == old.Type():
				cur.Set(old)
			case carriable(old, new(int)):
				// The entry gave it another type: declare it again.
				w.redeclare(name, old)
			}
		}
		if src, ok := w.funcs[name]; ok {
			w.redefine(src)
		}
	}
	if shadows && !w.pinned {
		w.recycle()
	}
}

// globals returns the interpreter's global variables. After a compile
// that failed, yaegi's scope may name variables its memory frame does not
// hold yet (Globals then panics): running an empty program grows the
// frame.
func (w *Workspace) globals() (g map[string]reflect.Value) {
	for try := 0; try < 2; try++ {
		ok := func() (ok bool) {
			defer func() {
				if recover() != nil {
					ok = false
				}
			}()
			g = w.in.Globals()
			return true
		}()
		if ok {
			return g
		}
		func() {
			defer func() { recover() }()
			if prog, err := w.in.Compile(";"); err == nil {
				w.in.Execute(prog)
			}
		}()
	}
	return nil
}

// redeclare declares name again as a variable holding v, through a
// package of its own (as recycle carries variables).
func (w *Workspace) redeclare(name string, v reflect.Value) {
	w.restores++
	pkg := fmt.Sprintf("%srestore%d", hiddenPrefix, w.restores)
	p := reflect.New(v.Type())
	p.Elem().Set(v)
	defer func() {
		if recover() != nil {
			w.in = nil
		}
	}()
	if err := w.in.Use(yaegi.Exports{restorePath + "/" + pkg + "/" + pkg: {name: p.Elem()}}); err != nil {
		return
	}
	if _, err := w.in.Eval("import " + pkg + ` "` + restorePath + "/" + pkg + `"`); err != nil {
		return
	}
	w.in.Eval(name + " := " + pkg + "." + name)
}

const restorePath = "batos/interp/restore"

// redefine compiles a function's former declaration again.
func (w *Workspace) redefine(src string) {
	defer func() {
		if recover() != nil {
			w.in = nil // yaegi's compiler crashed: its state is unknown
		}
	}()
	w.in.Eval(src)
}

// keepFuncs records the rewritten source of the functions the entry u
// declared, for rollback. sm maps u to its rewritten text.
func (w *Workspace) keepFuncs(u *input, sm *srcMap) {
	if u.main != nil {
		return
	}
	for _, d := range u.file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil {
			continue
		}
		if src, ok := sm.rewrittenNode(fd); ok {
			w.funcs[fd.Name.Name] = src
		}
	}
}

// rewrittenNode returns the rewritten text of n.
func (m *srcMap) rewrittenNode(n ast.Node) (string, bool) {
	tf := m.fset.File(n.Pos())
	if tf == nil {
		return "", false
	}
	o, e := tf.Offset(n.Pos()), tf.Offset(n.End())
	oo, oe := m.outOffsetOf(o, false), m.outOffsetOf(e, true)
	if oo < 0 || oe > len(m.out) || oo > oe {
		return "", false
	}
	return m.out[oo:oe], true
}

// outOffsetOf maps an offset in text to one in out; an edit made exactly
// at off is counted before it unless after.
func (m *srcMap) outOffsetOf(off int, after bool) int {
	delta := 0
	for _, e := range m.edits {
		if e.off > off || e.off == off && !after && e.end == e.off {
			break
		}
		if e.off < off && e.end > off {
			return -1 // inside a replaced span
		}
		delta += len(e.text) - (e.end - e.off)
	}
	return off + delta
}

// srcMap returns the map from u to its rewritten text out (edits applied).
func (u *input) srcMap(edits []edit, out string) *srcMap {
	sm := newSrcMap(u.text, out, len(u.prefix), len(u.suffix), edits, u.fset, u.file)
	if u.main != nil {
		switch firstToken(strings.TrimSuffix(strings.TrimPrefix(out, u.prefix), u.suffix)) {
		case token.CONST, token.IMPORT, token.TYPE, token.VAR:
			sm.semi = true
		}
	}
	return sm
}
