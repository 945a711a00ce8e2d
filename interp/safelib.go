package interp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// Library calls whose allocation grows faster than their input — with an
// int argument (strings.Repeat, rand.Perm, a float's precision,
// a buffer's Grow), with a product of inputs (Replace with an empty old
// string, a template with many $0s) or with a large factor (Split's
// headers, FindAll's matches) — are bounded like make: what they would
// allocate must fit MaxAlloc. A call that would not is stopped before it
// starts, because once inside native code the guard cannot interrupt it
// and one oversized allocation is a fatal "out of memory".
//
// Package functions are bounded by the rewriter, which replaces the
// selector (strings.Repeat → batos_g.RepeatString) with a Guard method
// below (see guardedLib). Types whose methods allocate (strings.Builder,
// bytes.Buffer, regexp.Regexp, strings.Replacer) are replaced in the
// sandbox's symbol tables by the wrapper types below, which embed the real
// type and override the unbounded methods; they have no guard at hand, so
// they check the allocation limit of the latest evaluation (allocLimit)
// and panic with a *StopError, which no script can recover.

// guardedLib maps "importpath.Func" to the Guard method rewritten code
// calls instead.
var guardedLib = map[string]string{
	"strings.Repeat":              "RepeatString",
	"bytes.Repeat":                "RepeatBytes",
	"strings.Replace":             "ReplaceString",
	"strings.ReplaceAll":          "ReplaceAllString",
	"bytes.Replace":               "ReplaceBytes",
	"bytes.ReplaceAll":            "ReplaceAllBytes",
	"strings.Split":               "SplitString",
	"strings.SplitAfter":          "SplitAfterString",
	"strings.Fields":              "FieldsString",
	"bytes.Split":                 "SplitBytes",
	"bytes.SplitAfter":            "SplitAfterBytes",
	"bytes.Fields":                "FieldsBytes",
	"strconv.FormatFloat":         "FormatFloat",
	"strconv.AppendFloat":         "AppendFloat",
	"encoding/json.Marshal":       "JSONMarshal",
	"encoding/json.MarshalIndent": "JSONMarshalIndent",
	"math/rand.Perm":              "Perm",
	"strings.Join":                "JoinStrings",
	"bytes.Join":                  "JoinBytes",
	"strings.ToValidUTF8":         "ToValidUTF8String",
	"bytes.ToValidUTF8":           "ToValidUTF8Bytes",
	"encoding/json.Unmarshal":     "JSONUnmarshal",
	"time.FixedZone":              "FixedZone",
	"errors.Join":                 "JoinErrors",
}

// allocLimit is MaxAlloc of the most recent evaluation: the limits are
// the image's, the same for every evaluation of a process.
var allocLimit atomic.Int64

func init() { allocLimit.Store(DefaultMaxAlloc) }

// checkAlloc is checkBytes for code without a guard.
func checkAlloc(n, size uint64, what string) {
	limit := uint64(allocLimit.Load())
	if size != 0 && n > limit/size {
		panic(allocStop(int64(limit), fmt.Sprintf("%s asked for %s", what, formatBytes2(n, size))))
	}
}

// ReplaceString is strings.Replace with the result's size checked.
func (g *Guard) ReplaceString(s, old, new string, n int) string {
	g.checkBytes(replacedSize(len(s), len(old), len(new), n, func() int { return strings.Count(s, old) }), 1, "Replace")
	return strings.Replace(s, old, new, n)
}

// ReplaceAllString is strings.ReplaceAll with the result's size checked.
func (g *Guard) ReplaceAllString(s, old, new string) string { return g.ReplaceString(s, old, new, -1) }

// ReplaceBytes is bytes.Replace with the result's size checked.
func (g *Guard) ReplaceBytes(s, old, new []byte, n int) []byte {
	g.checkBytes(replacedSize(len(s), len(old), len(new), n, func() int { return bytes.Count(s, old) }), 1, "Replace")
	return bytes.Replace(s, old, new, n)
}

// ReplaceAllBytes is bytes.ReplaceAll with the result's size checked.
func (g *Guard) ReplaceAllBytes(s, old, new []byte) []byte { return g.ReplaceBytes(s, old, new, -1) }

// replacedSize is the size of Replace's result; count counts old in s
// (for an empty old, the runes plus one).
func replacedSize(ls, lold, lnew, n int, count func() int) uint64 {
	if lnew <= lold || n == 0 {
		return uint64(ls)
	}
	c := count()
	if n > 0 && n < c {
		c = n
	}
	return uint64(ls) + uint64(c)*uint64(lnew-lold)
}

// SplitString is strings.Split with the result's headers checked.
func (g *Guard) SplitString(s, sep string) []string {
	g.checkBytes(uint64(strings.Count(s, sep))+1, 16, "Split")
	return strings.Split(s, sep)
}

// SplitAfterString is strings.SplitAfter with the result's headers checked.
func (g *Guard) SplitAfterString(s, sep string) []string {
	g.checkBytes(uint64(strings.Count(s, sep))+1, 16, "SplitAfter")
	return strings.SplitAfter(s, sep)
}

// FieldsString is strings.Fields with the result's headers checked.
func (g *Guard) FieldsString(s string) []string {
	if uint64(len(s)/2+1)*16 > uint64(g.limits.MaxAlloc) {
		g.checkBytes(uint64(countFields(s)), 16, "Fields")
	}
	return strings.Fields(s)
}

// countFields counts what strings.Fields would return.
func countFields(s string) int {
	n, in := 0, false
	for _, r := range s {
		space := unicode.IsSpace(r)
		if !space && !in {
			n++
		}
		in = !space
	}
	return n
}

// SplitBytes is bytes.Split with the result's headers checked.
func (g *Guard) SplitBytes(s, sep []byte) [][]byte {
	g.checkBytes(uint64(bytes.Count(s, sep))+1, 24, "Split")
	return bytes.Split(s, sep)
}

// SplitAfterBytes is bytes.SplitAfter with the result's headers checked.
func (g *Guard) SplitAfterBytes(s, sep []byte) [][]byte {
	g.checkBytes(uint64(bytes.Count(s, sep))+1, 24, "SplitAfter")
	return bytes.SplitAfter(s, sep)
}

// FieldsBytes is bytes.Fields with the result's headers checked.
func (g *Guard) FieldsBytes(s []byte) [][]byte {
	if uint64(len(s)/2+1)*24 > uint64(g.limits.MaxAlloc) {
		g.checkBytes(uint64(countFields(string(s))), 24, "Fields")
	}
	return bytes.Fields(s)
}

// FormatFloat is strconv.FormatFloat with the precision checked: it is
// the number of digits written.
func (g *Guard) FormatFloat(f float64, fmt byte, prec, bitSize int) string {
	g.checkBytes(uint64(max(prec, 0)), 1, "FormatFloat")
	return strconv.FormatFloat(f, fmt, prec, bitSize)
}

// AppendFloat is strconv.AppendFloat with the precision checked.
func (g *Guard) AppendFloat(dst []byte, f float64, fmt byte, prec, bitSize int) []byte {
	g.checkBytes(uint64(max(prec, 0)), 1, "AppendFloat")
	return strconv.AppendFloat(dst, f, fmt, prec, bitSize)
}

// JSONMarshal is json.Marshal that refuses, as an error, a value that is
// cyclic or too large (see CheckDeep) before encoding walks it.
func (g *Guard) JSONMarshal(v any) ([]byte, error) {
	if err := CheckDeep("encode", v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// JSONMarshalIndent is json.MarshalIndent with the value checked and the
// indentation's size bounded: every element may get prefix and one indent
// per level.
func (g *Guard) JSONMarshalIndent(v any, prefix, indent string) ([]byte, error) {
	w := walker{mode: walkDeep}
	if !w.walk(reflect.ValueOf(v), 0) {
		return nil, &ValueError{Op: "encode", Type: typeString(v), Why: w.why}
	}
	g.checkBytes(uint64(w.nodes), uint64(len(prefix)+MaxNesting*len(indent)+1), "MarshalIndent")
	return json.MarshalIndent(v, prefix, indent)
}

// Perm is rand.Perm with its n ints checked.
func (g *Guard) Perm(n int) []int {
	if n > 0 {
		g.checkBytes(uint64(n), 8, "Perm")
	}
	return rand.Perm(n)
}

// JoinStrings is strings.Join with the result's size checked: the parts
// may all be one large string.
func (g *Guard) JoinStrings(elems []string, sep string) string {
	n := uint64(len(sep)) * uint64(max(len(elems)-1, 0))
	for _, e := range elems {
		n += uint64(len(e))
	}
	g.checkBytes(n, 1, "Join")
	return strings.Join(elems, sep)
}

// JoinBytes is bytes.Join with the result's size checked.
func (g *Guard) JoinBytes(s [][]byte, sep []byte) []byte {
	n := uint64(len(sep)) * uint64(max(len(s)-1, 0))
	for _, e := range s {
		n += uint64(len(e))
	}
	g.checkBytes(n, 1, "Join")
	return bytes.Join(s, sep)
}

// invalidRuns counts the runs of invalid UTF-8 in s, each of which
// ToValidUTF8 replaces.
func invalidRuns(s string) uint64 {
	var n uint64
	invalid := false
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		bad := r == utf8.RuneError && w == 1
		if bad && !invalid {
			n++
		}
		invalid = bad
		i += w
	}
	return n
}

// ToValidUTF8String is strings.ToValidUTF8 with the result's size checked.
func (g *Guard) ToValidUTF8String(s, replacement string) string {
	if len(replacement) > 1 {
		g.checkBytes(uint64(len(s))+invalidRuns(s)*uint64(len(replacement)), 1, "ToValidUTF8")
	}
	return strings.ToValidUTF8(s, replacement)
}

// ToValidUTF8Bytes is bytes.ToValidUTF8 with the result's size checked.
func (g *Guard) ToValidUTF8Bytes(s, replacement []byte) []byte {
	if len(replacement) > 1 {
		g.checkBytes(uint64(len(s))+invalidRuns(string(s))*uint64(len(replacement)), 1, "ToValidUTF8")
	}
	return bytes.ToValidUTF8(s, replacement)
}

// unmarshalFactor bounds what json.Unmarshal allocates per byte of
// input when it decodes into interfaces: "{}," is a map of about a hundred
// bytes for three bytes of input.
const unmarshalFactor = 48

// JSONUnmarshal is json.Unmarshal with what decoding may allocate checked
// against the memory budget before it starts: once inside, nothing stops
// it.
func (g *Guard) JSONUnmarshal(data []byte, v any) error {
	g.checkMemory(uint64(len(data))*unmarshalFactor, "json.Unmarshal")
	return json.Unmarshal(data, v)
}

// maxZoneName bounds a FixedZone's name: Format writes it for every MST
// in its layout.
const maxZoneName = 16

// FixedZone is time.FixedZone with the name's length bounded.
func (g *Guard) FixedZone(name string, offset int) *time.Location {
	if len(name) > maxZoneName {
		panic(fmt.Errorf("time.FixedZone: a zone name is at most %d bytes, got %d", maxZoneName, len(name)))
	}
	return time.FixedZone(name, offset)
}

// JoinErrors is errors.Join refusing a result nested deeper than
// MaxNesting or larger than MaxWalkNodes: its Error method recurses
// natively through every level, beyond the guard's reach.
func (g *Guard) JoinErrors(errs ...error) error {
	for _, e := range errs {
		if err := checkErrorChain(e, 1); err != nil {
			panic(err)
		}
	}
	return errors.Join(errs...)
}

// checkErrorChain measures the tree of errors e wraps (Unwrap() error and
// Unwrap() []error), found depth levels down, against MaxNesting and
// MaxWalkNodes. Error methods of the standard library's wrapping errors
// recurse natively through it.
//
// The text of the errors at its leaves counts against MaxWalkBytes, once
// per place: errors.Join of the same large error, doubled 20 times, is a
// terabyte of text.
func checkErrorChain(e error, depth int) error {
	nodes, text := 0, 0
	var walk func(e error, depth int) bool
	walk = func(e error, depth int) bool {
		if e == nil {
			return true
		}
		if nodes++; depth > MaxNesting || nodes > MaxWalkNodes {
			return false
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			return walk(u.Unwrap(), depth+1)
		case interface{ Unwrap() []error }:
			for _, c := range u.Unwrap() {
				if !walk(c, depth+1) {
					return false
				}
			}
			return true
		}
		text += len(e.Error())
		return text <= MaxWalkBytes
	}
	if !walk(e, depth) {
		return &ValueError{Op: "wrap", Type: typeString(e), Why: fmt.Sprintf("an error chain nested deeper than %d levels, of more than %d errors or %s of text (is it cyclic?)", MaxNesting, MaxWalkNodes, formatBytes(MaxWalkBytes))}
	}
	return nil
}

// Builder is strings.Builder for scripts: Grow is bounded.
type Builder struct{ strings.Builder }

// Grow is strings.Builder.Grow with n checked against the allocation
// limit.
func (b *Builder) Grow(n int) {
	if n > 0 {
		checkAlloc(uint64(b.Len())+uint64(n), 1, "Builder.Grow")
	}
	b.Builder.Grow(n)
}

// Buffer is bytes.Buffer for scripts: Grow is bounded.
type Buffer struct{ bytes.Buffer }

// Grow is bytes.Buffer.Grow with n checked against the allocation limit.
func (b *Buffer) Grow(n int) {
	if n > 0 {
		checkAlloc(uint64(b.Len())+uint64(n), 1, "Buffer.Grow")
	}
	b.Buffer.Grow(n)
}

// ReadFrom is bytes.Buffer.ReadFrom reading at most the allocation limit:
// a buffer reading from itself would grow for ever.
func (b *Buffer) ReadFrom(r io.Reader) (int64, error) {
	if r == io.Reader(b) || r == io.Reader(&b.Buffer) {
		panic(errors.New("bytes.Buffer: ReadFrom its own buffer never ends"))
	}
	limit := allocLimit.Load()
	n, err := b.Buffer.ReadFrom(io.LimitReader(r, limit+1))
	if n > limit {
		checkAlloc(uint64(n), 1, "Buffer.ReadFrom")
	}
	return n, err
}

func newBuffer(buf []byte) *Buffer {
	b := &Buffer{}
	b.Buffer = *bytes.NewBuffer(buf)
	return b
}

func newBufferString(s string) *Buffer { return newBuffer([]byte(s)) }

// jsonIndent is json.Indent into a script's Buffer, its size bounded by
// the input's nesting.
func jsonIndent(dst *Buffer, src []byte, prefix, indent string) error {
	depth, maxDepth := 0, 0
	for _, c := range src {
		switch c {
		case '[', '{':
			depth++
			maxDepth = max(maxDepth, depth)
		case ']', '}':
			depth--
		}
	}
	checkAlloc(uint64(len(src))+1, uint64(len(prefix)+maxDepth*len(indent)+2), "json.Indent")
	return json.Indent(&dst.Buffer, src, prefix, indent)
}

func jsonCompact(dst *Buffer, src []byte) error { return json.Compact(&dst.Buffer, src) }

func jsonHTMLEscape(dst *Buffer, src []byte) { json.HTMLEscape(&dst.Buffer, src) }

// Replacer is strings.Replacer for scripts: its output is bounded.
type Replacer struct{ r *strings.Replacer }

// replacerNodeBytes bounds what building a Replacer costs per byte of its
// old strings: the generic replacer's trie gives a branching node a table
// of up to 256 pointers.
const replacerNodeBytes = 2 << 10

func newReplacer(oldnew ...string) *Replacer {
	var keys uint64
	for i := 0; i+1 < len(oldnew); i += 2 {
		if len(oldnew[i]) > 1 {
			keys += uint64(len(oldnew[i]))
		}
	}
	checkAlloc(keys, replacerNodeBytes, "strings.NewReplacer")
	return &Replacer{strings.NewReplacer(oldnew...)}
}

// Replace is strings.Replacer.Replace with the result bounded by the
// allocation limit.
func (r *Replacer) Replace(s string) string {
	var b strings.Builder
	if _, err := r.r.WriteString(&limitWriter{w: &b, max: int(allocLimit.Load())}, s); err != nil {
		panic(err)
	}
	return b.String()
}

// WriteString is strings.Replacer.WriteString, writing at most the
// allocation limit.
func (r *Replacer) WriteString(w io.Writer, s string) (int, error) {
	return r.r.WriteString(&limitWriter{w: w, max: int(allocLimit.Load())}, s)
}

// limitWriter passes writes on to w and fails with a *StopError past max
// bytes.
type limitWriter struct {
	w       io.Writer
	written int
	max     int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.written+len(p) > w.max {
		return 0, allocStop(int64(w.max), "Replace's result is larger")
	}
	w.written += len(p)
	return w.w.Write(p)
}

// Regexp is regexp.Regexp for scripts: the methods that return all
// matches or replace them are bounded.
type Regexp struct{ *regexp.Regexp }

func wrapRegexp(re *regexp.Regexp, err error) (*Regexp, error) {
	if err != nil {
		return nil, err
	}
	return &Regexp{re}, nil
}

func compileRegexp(expr string) (*Regexp, error) { return wrapRegexp(regexp.Compile(expr)) }

func compilePOSIX(expr string) (*Regexp, error) { return wrapRegexp(regexp.CompilePOSIX(expr)) }

func mustCompile(expr string) *Regexp { return &Regexp{regexp.MustCompile(expr)} }

func mustCompilePOSIX(expr string) *Regexp { return &Regexp{regexp.MustCompilePOSIX(expr)} }

// findLimit returns the n to pass to a FindAll method whose matches cost
// per bytes each: the caller's n when it fits the allocation limit, else
// one more than fits, so that a full result means too many.
func findLimit(n int, per uint64) (limit int, capped bool) {
	fit := int(uint64(allocLimit.Load()) / per)
	if n >= 0 && n <= fit {
		return n, false
	}
	return fit + 1, true
}

// tooMany refuses a FindAll result that reached its limit (see
// findLimit): there were more matches than the allocation limit holds.
func tooMany[T any](out []T, limit int, capped bool, what string) []T {
	if capped && len(out) >= limit {
		panic(allocStop(allocLimit.Load(), fmt.Sprintf("%s found more than %d matches", what, limit-1)))
	}
	return out
}

func (re *Regexp) perMatch(base uint64) uint64 {
	return base + uint64(re.NumSubexp()+1)*16
}

// FindAll is regexp.Regexp.FindAll, bounded.
func (re *Regexp) FindAll(b []byte, n int) [][]byte {
	l, c := findLimit(n, 24)
	return tooMany(re.Regexp.FindAll(b, l), l, c, "FindAll")
}

// FindAllIndex is regexp.Regexp.FindAllIndex, bounded.
func (re *Regexp) FindAllIndex(b []byte, n int) [][]int {
	l, c := findLimit(n, 40)
	return tooMany(re.Regexp.FindAllIndex(b, l), l, c, "FindAllIndex")
}

// FindAllString is regexp.Regexp.FindAllString, bounded.
func (re *Regexp) FindAllString(s string, n int) []string {
	l, c := findLimit(n, 16)
	return tooMany(re.Regexp.FindAllString(s, l), l, c, "FindAllString")
}

// FindAllStringIndex is regexp.Regexp.FindAllStringIndex, bounded.
func (re *Regexp) FindAllStringIndex(s string, n int) [][]int {
	l, c := findLimit(n, 40)
	return tooMany(re.Regexp.FindAllStringIndex(s, l), l, c, "FindAllStringIndex")
}

// FindAllStringSubmatch is regexp.Regexp.FindAllStringSubmatch, bounded.
func (re *Regexp) FindAllStringSubmatch(s string, n int) [][]string {
	l, c := findLimit(n, re.perMatch(24))
	return tooMany(re.Regexp.FindAllStringSubmatch(s, l), l, c, "FindAllStringSubmatch")
}

// FindAllStringSubmatchIndex is regexp.Regexp.FindAllStringSubmatchIndex, bounded.
func (re *Regexp) FindAllStringSubmatchIndex(s string, n int) [][]int {
	l, c := findLimit(n, re.perMatch(24))
	return tooMany(re.Regexp.FindAllStringSubmatchIndex(s, l), l, c, "FindAllStringSubmatchIndex")
}

// FindAllSubmatch is regexp.Regexp.FindAllSubmatch, bounded.
func (re *Regexp) FindAllSubmatch(b []byte, n int) [][][]byte {
	l, c := findLimit(n, re.perMatch(24)+8)
	return tooMany(re.Regexp.FindAllSubmatch(b, l), l, c, "FindAllSubmatch")
}

// FindAllSubmatchIndex is regexp.Regexp.FindAllSubmatchIndex, bounded.
func (re *Regexp) FindAllSubmatchIndex(b []byte, n int) [][]int {
	l, c := findLimit(n, re.perMatch(24))
	return tooMany(re.Regexp.FindAllSubmatchIndex(b, l), l, c, "FindAllSubmatchIndex")
}

// Split is regexp.Regexp.Split, bounded.
func (re *Regexp) Split(s string, n int) []string {
	l, c := findLimit(n, 16)
	if c && l > 0 {
		l++ // Split's n counts pieces, one more than matches
	}
	return tooMany(re.Regexp.Split(s, l), l, c, "Split")
}

// replaceBound measures a replacement before it runs: one pass counts the
// matches and the bytes they cover, from which the result's size is
// bounded by the template's expansion (each $ reference at most the
// match's length).
func (re *Regexp) replaceBound(src string, repl string, expand bool) {
	var matches, covered uint64
	re.Regexp.ReplaceAllStringFunc(src, func(m string) string {
		matches++
		covered += uint64(len(m))
		return ""
	})
	refs := uint64(0)
	if expand {
		refs = uint64(strings.Count(repl, "$"))
	}
	size := uint64(len(src)) + matches*uint64(len(repl)) + refs*covered
	checkAlloc(size, 1, "ReplaceAll")
}

// ReplaceAllString is regexp.Regexp.ReplaceAllString, bounded.
func (re *Regexp) ReplaceAllString(src, repl string) string {
	re.replaceBound(src, repl, true)
	return re.Regexp.ReplaceAllString(src, repl)
}

// ReplaceAllLiteralString is regexp.Regexp.ReplaceAllLiteralString, bounded.
func (re *Regexp) ReplaceAllLiteralString(src, repl string) string {
	re.replaceBound(src, repl, false)
	return re.Regexp.ReplaceAllLiteralString(src, repl)
}

// ReplaceAll is regexp.Regexp.ReplaceAll, bounded.
func (re *Regexp) ReplaceAll(src, repl []byte) []byte {
	re.replaceBound(string(src), string(repl), true)
	return re.Regexp.ReplaceAll(src, repl)
}

// ReplaceAllLiteral is regexp.Regexp.ReplaceAllLiteral, bounded.
func (re *Regexp) ReplaceAllLiteral(src, repl []byte) []byte {
	re.replaceBound(string(src), string(repl), false)
	return re.Regexp.ReplaceAllLiteral(src, repl)
}

// ReplaceAllStringFunc is regexp.Regexp.ReplaceAllStringFunc with the
// result bounded as it is built.
func (re *Regexp) ReplaceAllStringFunc(src string, repl func(string) string) string {
	total := uint64(len(src))
	return re.Regexp.ReplaceAllStringFunc(src, func(m string) string {
		r := repl(m)
		total += uint64(len(r))
		checkAlloc(total, 1, "ReplaceAllStringFunc")
		return r
	})
}

// ReplaceAllFunc is regexp.Regexp.ReplaceAllFunc with the result bounded
// as it is built.
func (re *Regexp) ReplaceAllFunc(src []byte, repl func([]byte) []byte) []byte {
	total := uint64(len(src))
	return re.Regexp.ReplaceAllFunc(src, func(m []byte) []byte {
		r := repl(m)
		total += uint64(len(r))
		checkAlloc(total, 1, "ReplaceAllFunc")
		return r
	})
}

// Expand is regexp.Regexp.Expand, bounded: each $ reference of template
// expands to at most len(src) bytes.
func (re *Regexp) Expand(dst []byte, template []byte, src []byte, match []int) []byte {
	checkAlloc(uint64(len(dst))+uint64(len(template))+uint64(bytes.Count(template, []byte("$")))*uint64(len(src)), 1, "Expand")
	return re.Regexp.Expand(dst, template, src, match)
}

// ExpandString is regexp.Regexp.ExpandString, bounded.
func (re *Regexp) ExpandString(dst []byte, template string, src string, match []int) []byte {
	checkAlloc(uint64(len(dst))+uint64(len(template))+uint64(strings.Count(template, "$"))*uint64(len(src)), 1, "ExpandString")
	return re.Regexp.ExpandString(dst, template, src, match)
}

// safeSymbols replaces, in the sandbox's symbol tables, the types whose
// methods allocate without bound and the functions that make or take
// them, with the wrappers above.
func safeSymbols(out map[string]map[string]reflect.Value) {
	set := func(key, name string, v reflect.Value) {
		if m, ok := out[key]; ok {
			m[name] = v
		}
	}
	set("strings/strings", "Builder", reflect.ValueOf((*Builder)(nil)))
	set("strings/strings", "Replacer", reflect.ValueOf((*Replacer)(nil)))
	set("strings/strings", "NewReplacer", reflect.ValueOf(newReplacer))
	set("bytes/bytes", "Buffer", reflect.ValueOf((*Buffer)(nil)))
	set("bytes/bytes", "NewBuffer", reflect.ValueOf(newBuffer))
	set("bytes/bytes", "NewBufferString", reflect.ValueOf(newBufferString))
	set("encoding/json/json", "Indent", reflect.ValueOf(jsonIndent))
	set("encoding/json/json", "Compact", reflect.ValueOf(jsonCompact))
	set("encoding/json/json", "HTMLEscape", reflect.ValueOf(jsonHTMLEscape))
	set("regexp/regexp", "Regexp", reflect.ValueOf((*Regexp)(nil)))
	set("regexp/regexp", "Compile", reflect.ValueOf(compileRegexp))
	set("regexp/regexp", "CompilePOSIX", reflect.ValueOf(compilePOSIX))
	set("regexp/regexp", "MustCompile", reflect.ValueOf(mustCompile))
	set("regexp/regexp", "MustCompilePOSIX", reflect.ValueOf(mustCompilePOSIX))
}
