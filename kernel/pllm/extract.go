package pllm

import (
	"fmt"
	"go/scanner"
	"go/token"
	"regexp"
	"strings"
)

var fence = regexp.MustCompile("(?s)```[A-Za-z0-9_+-]*[ \t]*\r?\n(.*?)```")

// Extract returns the Go source of method selector from a model's answer:
// the first fenced block that declares func selector, or else the
// declaration found in the prose, with the import declarations before it.
// A leading package clause is dropped. It never panics; an answer without
// the function is an error that quotes the start of the answer.
func Extract(answer, selector string) (string, error) {
	decl := "func " + selector + "("
	for _, m := range fence.FindAllStringSubmatch(answer, -1) {
		if strings.Contains(m[1], decl) {
			return dropPackage(m[1]), nil
		}
	}
	start := strings.Index(answer, decl)
	if start < 0 {
		return "", fmt.Errorf("the answer declares no func %s: %q", selector, abbreviate(answer, 80))
	}
	end, ok := declEnd(answer[start:])
	if !ok {
		return "", fmt.Errorf("the answer's func %s is not closed", selector)
	}
	return importsBefore(answer[:start]) + answer[start:start+end], nil
}

// declEnd returns the length of the function declaration at the start of
// src: up to the brace that closes its body.
func declEnd(src string) (int, bool) {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	s.Init(file, []byte(src), nil, 0)
	depth, opened := 0, false
	for {
		pos, tok, _ := s.Scan()
		switch tok {
		case token.EOF:
			return 0, false
		case token.LBRACE:
			depth++
			opened = true
		case token.RBRACE:
			depth--
			if opened && depth == 0 {
				return file.Offset(pos) + 1, true
			}
		}
	}
}

// importsBefore keeps the import lines of the prose before a declaration.
func importsBefore(prose string) string {
	var b strings.Builder
	lines := strings.Split(prose, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		switch {
		case strings.HasPrefix(l, "import ("):
			for ; i < len(lines); i++ {
				b.WriteString(lines[i] + "\n")
				if strings.TrimSpace(lines[i]) == ")" {
					break
				}
			}
		case strings.HasPrefix(l, "import "):
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func dropPackage(src string) string {
	trimmed := strings.TrimLeft(src, " \t\r\n")
	if strings.HasPrefix(trimmed, "package ") {
		if i := strings.IndexByte(trimmed, '\n'); i >= 0 {
			return trimmed[i+1:]
		}
		return ""
	}
	return src
}

// abbreviate puts s on one line of at most n runes.
func abbreviate(s string, n int) string { return truncate(strings.Join(strings.Fields(s), " "), n) }

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// installDirective is how an answer names the parent a method belongs on:
// a line "// batos:install-on NAME", NAME a parent slot of the receiver
// (with or without its "*") or the name slot of an object on its chain.
var installDirective = regexp.MustCompile(`(?m)^\s*//\s*batos:install-on\s+(\S+)\s*$`)

// InstallTarget returns the NAME of an answer's install directive, or "".
func InstallTarget(answer string) string {
	if m := installDirective.FindStringSubmatch(answer); m != nil {
		return m[1]
	}
	return ""
}
