package kernel

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"

	"batos/image"
)

// renamedMethod returns the method m, held in o's slot from, as it is
// once renamed to to: its source declares the new name. It returns a
// one-line *SlotError saying why when the method cannot be renamed so:
// to is no Go identifier, the method was written by another author than
// the one a define now records (a rename must not change a method's
// author, so that nobody launders another's code into their own), its
// source does not declare func from exactly once, or the rewritten
// source does not compile (a body that calls from by name).
func (o Object) renamedMethod(m image.Method, from, to string) (image.Method, error) {
	s := o.s
	refuse := func(format string, args ...any) error {
		return &SlotError{Object: s.describe(o.oid), Slot: from, Msg: "cannot rename method to " + to + ": " + fmt.Sprintf(format, args...)}
	}
	if !token.IsIdentifier(to) {
		return image.Method{}, refuse("a method's selector must be a Go identifier")
	}
	if author := s.author(); m.Author != author {
		return image.Method{}, refuse("it was written by %s; define %s with its source and remove %s instead", authorName(m.Author), to, from)
	}
	src, err := renameDecl(m.Source, from, to)
	if err != nil {
		return image.Method{}, refuse("%v", err)
	}
	if _, err := s.k.compiler.Compile(to, src); err != nil {
		return image.Method{}, refuse("its renamed source does not compile: %s", firstLine(err.Error()))
	}
	return image.Method{Source: src, Author: m.Author}, nil
}

func authorName(a string) string {
	if a == "" {
		return "an unrecorded author"
	}
	return a
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// renameDecl rewrites the name of the one function src declares, from to
// to, leaving every other byte of src (comments, layout) as it was. Only
// the declared name changes: a send of from inside the body is left as
// written.
func renameDecl(src, from, to string) (string, error) {
	const prefix = "package main;"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", prefix+src, parser.SkipObjectResolution)
	if err != nil {
		return "", fmt.Errorf("its source does not parse")
	}
	var name *ast.Ident
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == from {
			if name != nil {
				return "", fmt.Errorf("its source declares %s twice", from)
			}
			name = fd.Name
		}
	}
	if name == nil {
		return "", fmt.Errorf("its source declares no func %s", from)
	}
	off := fset.Position(name.Pos()).Offset - len(prefix)
	if off < 0 || off+len(from) > len(src) || src[off:off+len(from)] != from {
		return "", fmt.Errorf("its declaration of %s could not be found", from)
	}
	return src[:off] + to + src[off+len(from):], nil
}
