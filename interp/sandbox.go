package interp

import (
	"path"
	"reflect"
	"strings"

	"github.com/traefik/yaegi/stdlib"
)

// curated lists the standard packages scripts may use, by import path. All
// of them are usable without an import, under their package name.
// Excluded on purpose: os, os/exec, net and net/*, syscall, unsafe, plugin,
// reflect, runtime (escape the sandbox); io, bufio, sync, context (can block
// forever); math/big and container/ring (unbounded native work the guard
// cannot interrupt: Ring.Move(1<<62) loops natively, and a copied Ring's
// Len never ends).
var curated = []string{
	"bytes", "cmp", "container/heap", "container/list",
	"crypto/md5", "crypto/sha1", "crypto/sha256", "crypto/sha512",
	"encoding/base64", "encoding/hex", "encoding/json",
	"errors", "fmt", "hash/crc32", "hash/fnv", "html",
	"maps", "math", "math/bits", "math/cmplx", "math/rand",
	"path", "regexp", "slices", "sort", "strconv", "strings", "time",
	"unicode", "unicode/utf16", "unicode/utf8",
}

// denied lists members of curated packages scripts may not use, with why.
var denied = map[string]string{
	"time.Sleep": blocks, "time.After": blocks, "time.AfterFunc": blocks, "time.Tick": blocks,
	"time.NewTimer": blocks, "time.NewTicker": blocks, "time.LoadLocation": blocks,
	"fmt.Scan": blocks, "fmt.Scanf": blocks, "fmt.Scanln": blocks,
	// An Encoder writes a value of any size into a Builder or Buffer
	// without the checks of json.Marshal (JSONMarshal); a Decoder decodes
	// without those of json.Unmarshal (JSONUnmarshal).
	"json.NewEncoder": unbounded + ": use json.Marshal", "json.NewDecoder": unbounded + ": use json.Unmarshal",
}

const (
	blocks    = "it blocks or reaches outside the image"
	unbounded = "its native work cannot be bounded"
)

var curatedSet = func() map[string]bool {
	m := make(map[string]bool, len(curated))
	for _, p := range curated {
		m[p] = true
	}
	return m
}()

// pkgNames maps each curated package's name to its import path.
var pkgNames = func() map[string]string {
	m := make(map[string]string, len(curated))
	for _, p := range curated {
		m[path.Base(p)] = p
	}
	return m
}()

// hiddenPkg is the name under which the prelude imports a curated package;
// script references to it are rewritten to this name, so a local variable
// named like a package cannot break them.
func hiddenPkg(importPath string) string {
	return hiddenPrefix + "p_" + strings.NewReplacer("/", "_", ".", "_").Replace(importPath)
}

// sandboxSymbols returns the curated subset of yaegi's standard library,
// members that block or escape removed, in the form interp.Use expects.
func sandboxSymbols() map[string]map[string]reflect.Value {
	out := map[string]map[string]reflect.Value{}
	for key, syms := range stdlib.Symbols {
		if key == "." {
			out[key] = syms // interface wrapper map types, no symbols
			continue
		}
		p := path.Dir(key)
		if !curatedSet[p] {
			continue
		}
		m := make(map[string]reflect.Value, len(syms))
		for name, v := range syms {
			if denied[path.Base(p)+"."+name] != "" || escapes(v) {
				continue
			}
			m[name] = v
		}
		if len(m) > 0 { // cmp, maps, slices: empty here, loaded from source by Use
			out[key] = m
		}
	}
	safeSymbols(out)
	return out
}

// escapes reports whether a function symbol's signature mentions a type
// from a package outside the sandbox (os.File, syscall, unsafe, reflect).
func escapes(v reflect.Value) bool {
	if v.Kind() != reflect.Func {
		return false
	}
	t := v.Type()
	bad := func(t reflect.Type) bool {
		s := t.String()
		return strings.Contains(s, "os.") || strings.Contains(s, "syscall.") || strings.Contains(s, "unsafe.") || strings.Contains(s, "reflect.")
	}
	for i := 0; i < t.NumIn(); i++ {
		if bad(t.In(i)) {
			return true
		}
	}
	for i := 0; i < t.NumOut(); i++ {
		if bad(t.Out(i)) {
			return true
		}
	}
	return false
}

// preludeImports is the import block every interpreter evaluates once:
// each curated package under its hidden name, plus extra lines.
func preludeImports(extra ...string) string {
	var b strings.Builder
	b.WriteString("import (\n")
	for _, l := range extra {
		b.WriteString("\t" + l + "\n")
	}
	for _, p := range curated {
		b.WriteString("\t" + hiddenPkg(p) + " \"" + p + "\"\n")
	}
	b.WriteString(")\n")
	return b.String()
}
