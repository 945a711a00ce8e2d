package api

import (
	"math"
	"strconv"
	"strings"
)

// ValueKind says what a Value holds.
type ValueKind string

// Value kinds. The first eight are what a slot can hold; the rest are
// results only.
const (
	ValueNil    ValueKind = "nil"
	ValueBool   ValueKind = "bool"
	ValueInt    ValueKind = "int"
	ValueFloat  ValueKind = "float"
	ValueString ValueKind = "string"
	ValueList   ValueKind = "list"   // []any or a typed slice ([]int…): Items; Type says which
	ValueMap    ValueKind = "map"    // map[string]any or a typed map (map[string]int…): Entries, keys sorted
	ValueObject ValueKind = "object" // Object
	ValueError  ValueKind = "error"  // an error value: Text is its message
	ValueGo     ValueKind = "go"     // any other Go value (struct, func, channel…): Type and Text only
)

// Value is a script value as data. Kind says which of the fields holds it;
// Type is its Go type ("int", "[]any", "map[string]int", "Object",
// "time.Duration"); Text is the value printed as Go for people (bounded;
// never parse it).
//
// Besides []any and map[string]any, a slot holds the typed containers
// []T and map[string]T for T one of bool, int, int64, float64, string
// (see TypedContainer). They come as lists and maps whose Type names
// them ("[]string", "map[string]int") and whose items are of T's kind
// (an int64 item has Type "int64"). A list or map sent with one of these
// Types is stored as that type, and each of its items must be of T's
// kind; any other Type (or none) is stored as []any or map[string]any.
//
// A value too large to carry whole (more than MaxValueNodes elements, or
// nested deeper than an implementation carries) has Truncated set, on it
// and on every container above the elements left out; Text still prints
// it, within its own bound.
type Value struct {
	Kind ValueKind `json:"kind"`
	Type string    `json:"type,omitempty"`
	Text string    `json:"text,omitempty"`

	Bool bool  `json:"bool,omitempty"`
	Int  int64 `json:"int,omitempty"`
	// Float is a float in strconv's shortest 'g' form, or "+Inf", "-Inf",
	// "NaN", which JSON numbers cannot carry: use Float64.
	Float     string  `json:"float,omitempty"`
	String    string  `json:"string,omitempty"`
	Items     []Value `json:"items,omitempty"`
	Entries   []Entry `json:"entries,omitempty"`
	Object    *Ref    `json:"object,omitempty"`
	Truncated bool    `json:"truncated,omitempty"`
}

// Entry is one key of a map Value.
type Entry struct {
	Key   string `json:"key"`
	Value Value  `json:"value"`
}

// MaxValueNodes bounds how many elements a Value carries in all; a larger
// container is truncated (Text prints it, within its own bound).
const MaxValueNodes = 10_000

// Float64 returns a float Value's number (0 for other kinds).
func (v Value) Float64() float64 {
	f, err := strconv.ParseFloat(v.Float, 64)
	if err != nil {
		return 0
	}
	return f
}

// Nil, Bool, Int, Float, String, List, Map and ObjectRef build Values the
// way an implementation reports them; Text is left for the implementation
// to fill (it prints as the image does).
func Nil() Value { return Value{Kind: ValueNil, Type: "nil", Text: "nil"} }
func Bool(b bool) Value {
	return Value{Kind: ValueBool, Type: "bool", Bool: b, Text: strconv.FormatBool(b)}
}
func Int(i int64) Value {
	return Value{Kind: ValueInt, Type: "int", Int: i, Text: strconv.FormatInt(i, 10)}
}
func String(s string) Value {
	return Value{Kind: ValueString, Type: "string", String: s, Text: strconv.Quote(s)}
}

// Float returns a float64 Value.
func Float(f float64) Value {
	text := strconv.FormatFloat(f, 'g', -1, 64)
	switch {
	case math.IsInf(f, 1):
		text = "math.Inf(1)"
	case math.IsInf(f, -1):
		text = "math.Inf(-1)"
	case math.IsNaN(f):
		text = "math.NaN()"
	}
	return Value{Kind: ValueFloat, Type: "float64", Float: strconv.FormatFloat(f, 'g', -1, 64), Text: text}
}

// List returns a []any Value.
func List(items ...Value) Value { return Value{Kind: ValueList, Type: "[]any", Items: items} }

// Map returns a map[string]any Value; entries should be sorted by key.
func Map(entries ...Entry) Value {
	return Value{Kind: ValueMap, Type: "map[string]any", Entries: entries}
}

// ListOf returns a list Value of Go type typ: "[]any" or a typed slice
// such as "[]int" (see TypedContainer).
func ListOf(typ string, items ...Value) Value {
	return Value{Kind: ValueList, Type: typ, Items: items}
}

// MapOf returns a map Value of Go type typ: "map[string]any" or a typed
// map such as "map[string]int"; entries should be sorted by key.
func MapOf(typ string, entries ...Entry) Value {
	return Value{Kind: ValueMap, Type: typ, Entries: entries}
}

// TypedContainer reports whether typ names a typed container a slot can
// hold, and then whether it is a map, and its element type, "bool",
// "int", "int64", "float64" or "string": TypedContainer("map[string]int")
// is (true, "int", true).
func TypedContainer(typ string) (isMap bool, elem string, ok bool) {
	if e, found := strings.CutPrefix(typ, "[]"); found {
		isMap, elem = false, e
	} else if e, found := strings.CutPrefix(typ, "map[string]"); found {
		isMap, elem = true, e
	} else {
		return false, "", false
	}
	switch elem {
	case "bool", "int", "int64", "float64", "string":
		return isMap, elem, true
	}
	return false, "", false
}

// ObjectRef returns a Value referring to an object.
func ObjectRef(r Ref) Value {
	return Value{Kind: ValueObject, Type: "Object", Object: &r, Text: r.Name}
}
