package interp

import (
	"bytes"
	"container/ring"
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode"
)

// Library calls whose allocation grows faster than their input — with an
// int argument (strings.Repeat, rand.Perm, ring.New, a float's precision,
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
	"container/ring.New":          "NewRing",
}

// allocLimit is MaxAlloc of the most recent evaluation: the limits are
// the image's, the same for every evaluation of a process.
var allocLimit atomic.Int64

func init() { allocLimit.Store(DefaultMaxAlloc) }

// checkAlloc is checkBytes for code without a guard.
func checkAlloc(n, size uint64, what string) {
	limit := uint64(allocLimit.Load())
	if size != 0 && n > limit/size {
		panic(&StopError{Reason: StopAlloc, Limit: formatBytes(int64(limit)) + " per allocation",
			Detail: fmt.Sprintf("%s asked for %s", what, formatBytes2(n, size))})
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

// NewRing is ring.New with its n elements checked.
func (g *Guard) NewRing(n int) *ring.Ring {
	if n > 0 {
		g.checkBytes(uint64(n), 32, "ring.New")
	}
	return ring.New(n)
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

func newReplacer(oldnew ...string) *Replacer { return &Replacer{strings.NewReplacer(oldnew...)} }

// Replace is strings.Replacer.Replace with the result bounded by the
// allocation limit.
func (r *Replacer) Replace(s string) string {
	w := &limitWriter{max: int(allocLimit.Load())}
	if _, err := r.r.WriteString(w, s); err != nil {
		panic(err)
	}
	return w.b.String()
}

// WriteString is strings.Replacer.WriteString.
func (r *Replacer) WriteString(w interface{ Write([]byte) (int, error) }, s string) (int, error) {
	return r.r.WriteString(w, s)
}

// limitWriter collects writes and fails with a *StopError past max bytes.
type limitWriter struct {
	b   strings.Builder
	max int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, &StopError{Reason: StopAlloc, Limit: formatBytes(int64(w.max)) + " per allocation", Detail: "Replace's result is larger"}
	}
	return w.b.Write(p)
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
		max := allocLimit.Load()
		panic(&StopError{Reason: StopAlloc, Limit: formatBytes(max) + " per allocation",
			Detail: fmt.Sprintf("%s found more than %d matches", what, limit-1)})
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
