package interp

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// notGo lists what an error must never say: yaegi's and reflect's words,
// the rewriter's hidden names, struct dumps, more than one line.
var notGo = []string{
	"reflect", "stringT", "intT", "valueT", "unsafe2", "batos_", "nil type", "CFG",
	"definition loop", "_.go", "0x", "interp.", "yaegi", "\n",
}

func checkGoError(t *testing.T, what string, err error) {
	t.Helper()
	for _, bad := range notGo {
		if strings.Contains(err.Error(), bad) {
			t.Errorf("%s: error %q says %q", what, err, bad)
		}
	}
}

// wsEval runs entries in a fresh workspace with the test bindings and
// returns the last one's error (earlier ones must succeed).
func wsEval(t *testing.T, entries ...string) (EvalResult, error) {
	t.Helper()
	c := sharedCompiler(t)
	w0 := &world{c: c}
	lobby := newObject(w0)
	ws, err := c.NewWorkspace(map[string]any{"Lobby": lobby, "NewObject": func() Object { return newObject(w0) }})
	if err != nil {
		t.Fatal(err)
	}
	var res EvalResult
	for i, e := range entries {
		g := newGuard(t, Limits{})
		w0.g = g
		res, err = ws.Eval(g, e)
		if i < len(entries)-1 && err != nil {
			t.Fatalf("entry %q: %v", e, err)
		}
	}
	return res, err
}

// TestGoErrors: every failing entry is reported in Go's words (its
// compiler's, or its runtime's after "panic: "), at the position in the
// entry, 1-based. Each case names the yaegi message it replaces; the
// wording follows go1.26 (`go run` of the same code), short of what
// yaegi cannot know (the index and length of an index out of range).
func TestGoErrors(t *testing.T) {
	tests := []struct {
		entry string // entries separated by "⏎"; the last one fails
		want  string
	}{
		// Runtime errors (reflect's words before).
		{`var a []int; a[3]`, "line 1:14: panic: runtime error: index out of range"},                                         // reflect: slice index out of range
		{`var a [3]int; i := 5; a[i]`, "line 1:23: panic: runtime error: index out of range"},                                // reflect: array index out of range
		{`s := "ab"; i := 5; s[i]`, "line 1:20: panic: runtime error: index out of range"},                                   // reflect: string index out of range
		{`a := []int{1, 2}; i := 5; a[1:i]`, "line 1:27: panic: runtime error: slice bounds out of range"},                   // reflect.Value.Slice: slice index out of bounds
		{`s := "ab"; i := 5; s[1:i]`, "line 1:20: panic: runtime error: slice bounds out of range"},                          // ...: string slice index out of bounds
		{`var m map[string]int; m["a"] = 1`, "panic: assignment to entry in nil map"},                                        // Go's already
		{`var p *int; *p`, "panic: runtime error: invalid memory address or nil pointer dereference"},                        // no error at all
		{`var p *int; x := *p; x`, "panic: runtime error: invalid memory address or nil pointer dereference"},                // reflect: call of reflect.Value.Set on zero Value
		{`type P struct{ A int }; var p *P; p.A`, "panic: runtime error: invalid memory address or nil pointer dereference"}, // ... Field on zero Value
		{`var p *int; fmt.Println(*p)`, "panic: runtime error: invalid memory address or nil pointer dereference"},           // reflect: Call using zero Value argument
		{`var e error; e.Error()`, "panic: runtime error: invalid memory address or nil pointer dereference"},                // reflect: Method on nil interface value
		{`var f func(); f()`, "panic: runtime error: invalid memory address or nil pointer dereference"},                     // reflect.Value.Call: call of nil function
		{`n := -1; make([]int, n)`, "panic: runtime error: makeslice: len out of range"},                                     // reflect.MakeSlice: negative len
		{`x := 0; 1 / x`, "line 1:9: panic: runtime error: integer divide by zero"},
		{`var x any = "s"; x.(int)`, "line 1:18: panic: interface conversion: interface {} is string, not int"}, // "1:46: interface conversion..."
		{`var x any; x.(int)`, "line 1:12: panic: interface conversion: interface {} is nil, not int"},
		{`var x any = 1; x.(fmt.Stringer)`, "line 1:16: panic: interface conversion: int is not fmt.Stringer: missing method String"},
		{`Lobby.Set("w", 3); Lobby.Get("w").(string)`, "line 1:20: panic: interface conversion: interface {} is int, not string"}, // int is not string: missing method
		// Compile errors.
		{`1 / 0`, "line 1:1: invalid operation: division by zero"},
		{`var i interface{ Foo() } = Lobby; i`, "line 1:28: cannot use Lobby (variable of type Object) as interface{Foo()} value in variable declaration: Object does not implement interface{Foo()} (missing method Foo)"}, // a struct dump
		{`type I interface{ Foo() }; var i I = Lobby; i.Foo()`, "line 1:38: cannot use Lobby (variable of type Object) as I value in variable declaration: Object does not implement I (missing method Foo)"},               // 1:73: method not found: Foo
		{`var i fmt.Stringer = Lobby`, "line 1:22: cannot use Lobby (variable of type Object) as fmt.Stringer value in variable declaration: Object does not implement fmt.Stringer (missing method String)"},               // cannot use type interp.Object as type fmt.Stringer in assignment
		{`var i fmt.Stringer = 3`, "line 1:22: cannot use 3 (constant of type int) as fmt.Stringer value in variable declaration: int does not implement fmt.Stringer (missing method String)"},                             // 1:58: method not found: String
		{`strings.Repeat(1, 2)`, "line 1:16: cannot use 1 (untyped int constant) as string value in argument to strings.Repeat"},                                                                                            // cannot convert 1 to string
		{`strings.ToUpper()`, "line 1:1: not enough arguments in call to strings.ToUpper"},                                                                                                                                  // ...call to batos_p_strings.ToUpper
		{`strings.ToUpper("a", "b")`, "line 1:22: too many arguments in call to strings.ToUpper"},                                                                                                                           // too many arguments
		{`fmt.Sprintf()`, "line 1:1: not enough arguments in call to fmt.Sprintf"},                                                                                                                                          // "not enough arguments in call to "
		{`Lobby.Foo()`, "line 1:7: Lobby.Foo undefined (type Object has no field or method Foo)"},                                                                                                                           // undefined method: Foo
		{`Lobby.Get()`, "line 1:11: not enough arguments in call to Lobby.Get (want (string))"},
		{`Lobby.Get("a", "b")`, "line 1:16: too many arguments in call to Lobby.Get (want (string))"}, // a compiler crash that reset the workspace
		{`x := Lobby; x.Get("a", "b")`, "line 1:24: too many arguments in call to x.Get (want (string))"},
		{`Lobby.Get(1)`, "line 1:11: cannot use 1 (untyped int constant) as string value in argument to Lobby.Get"},
		{`type P struct{ A int }; p := P{}; p.B`, "line 1:37: p.B undefined (type P has no field or method B)"}, // undefined selector: B
		{`x := 1; x.y`, "line 1:11: x.y undefined (type int has no field or method y)"},
		{`type T struct{}; var t *T; t.M()`, "line 1:30: t.M undefined (type *T has no field or method M)"},
		{`Lobby.Get("a").Foo`, "line 1:16: Lobby.Get(\"a\").Foo undefined (type any has no field or method Foo)"},
		{`errors.Foo`, "line 1:1: undefined: errors.Foo"}, // package batos_p_errors "errors" has no symbol Foo
		{`type P struct{ A int }; p := P{B: 1}`, "line 1:32: unknown field B in struct literal of type P"},
		{`type T struct{ A int }; T{1, 2}`, "line 1:30: too many values in struct literal of type T"},
		{`x := 1; x = "s"`, "line 1:13: cannot use \"s\" (untyped string constant) as int value in assignment"}, // cannot convert "s" to int
		{`var x int = "s"`, "line 1:13: cannot use \"s\" (untyped string constant) as int value in variable declaration"},
		{`x := map[string]int{}; x[1]`, "line 1:26: cannot use 1 (untyped int constant) as string value in map index"},
		{`f := func(a int) int { return a }; var s string = f(1)`, "line 1:51: cannot use f(1) (value of type int) as string value in variable declaration"}, // cannot use type int as type string in assignment
		{`var f float64 = 1; var i int = f`, "line 1:32: cannot use f (variable of type float64) as int value in variable declaration"},
		{`func g() int { return "s" }`, "line 1:23: cannot use \"s\" (untyped string constant) as int value in return statement"}, // ... (type stringT) as type intT in return argument
		{`int("s")`, "line 1:5: cannot convert \"s\" (untyped string constant) to type int"},                                      // cannot convert expression of type untyped string to type int
		{`x := "s" + 1`, "line 1:6: invalid operation: \"s\" + 1 (mismatched types untyped string and untyped int)"},
		{`x := 1; var y float64 = 2; x + y`, "line 1:28: invalid operation: x + y (mismatched types int and float64)"},
		{`x := "a"; -x`, "line 1:11: invalid operation: operator - not defined on x (variable of type string)"},
		{`x := []int{1}; x == x`, "line 1:16: invalid operation: x == x (slice can only be compared to nil)"},           // operator == not defined on []int
		{`x := 1; x.(int)`, "line 1:9: invalid operation: x (variable of type int) is not an interface"},                // invalid type assertion: non-interface type int on left
		{`x := 1; x[0]`, "line 1:9: invalid operation: cannot index x (variable of type int)"},                          // a compiler crash ("nil type")
		{`x := 3; x()`, "line 1:9: invalid operation: cannot call non-function x (variable of type int)"},               // reflect: call of reflect.Value.Call on int Value
		{`x := "abc"; x[0] = 'b'`, "line 1:13: cannot assign to x[0] (neither addressable nor a map index expression)"}, // reflect: reflect.Value.Set using unaddressable value
		{`const c = 1; c = 2`, "line 1:14: cannot assign to c (neither addressable nor a map index expression)"},        // cannot assign to 1 (untyped int constant)
		{`x := 1; p := &x; **p`, "line 1:19: invalid operation: cannot indirect *p (value of type int)"},                // cannot indirect ""
		{`a, b := 1`, "line 1:9: assignment mismatch: 2 variables but 1 value"},                                         // unsupported assign expression
		{`a, b := 1, 2, 3`, "line 1:9: assignment mismatch: 2 variables but 3 values"},                                  // accepted
		{`x := strconv.Atoi("1")`, "line 1:6: assignment mismatch: 1 variable but strconv.Atoi returns 2 values"},       // accepted
		{`x := undefinedThing()`, "line 1:6: undefined: undefinedThing"},                                                // constant definition loop
		{`for i := range 3 { _ = i }; i`, "line 1:29: undefined: i"},                                                    // a compiler crash ("nil type")
		{`x := nil`, "line 1:6: use of untyped nil in assignment"},                                                      // "use of untyped nil "
		{`var x int; var x int`, "line 1:16: x redeclared in this block"},                                               // and "\n\tprevious declaration at _.go:1:5"
		{`var arr [2]int; arr[2]`, "line 1:21: invalid argument: index 2 out of bounds"},                                // index int is out of bounds
		{`x := []int{1, 2, 3}; x[2:1]`, "line 1:22: invalid slice indices: 1 < 2"},                                      // invalid index values, must be low <= high <= max
		{`var u uint8 = 256`, "line 1:15: cannot use 256 (untyped int constant) as uint8 value in variable declaration (overflows)"},
		{`x := 1 << 70`, "line 1:6: cannot use 1 << 70 (untyped int constant 1180591620717411303424) as int value in assignment (overflows)"},
		{`len(1)`, "line 1:5: invalid argument: 1 (untyped int constant) for built-in len"},
		{`if 1 { }`, "line 1:4: non-boolean condition in if statement"}, // a compiler crash
		{`return 1`, "line 1:8: too many return values"},                // a compiler crash
		{`func g() int { }`, "line 1:16: missing return"},               // accepted
		{`func g() { return 1 }`, "line 1:19: too many return values"},  // too many arguments to return
		{`close(nil)`, "line 1:1: invalid operation: close: channels are not allowed: a method can't block the image"},
		{`type S interface{ Get(string) any }; var x any = Lobby; s := x.(S)`, "line 1:62: panic: interface conversion: interface is nil or holds a host type, not main.S (the interpreter cannot assert a host type to an interface declared in the script)"},
		// Earlier entries: a redefined function, a name of an earlier
		// entry, a position in a later line.
		{"func f(a int) int { return a }⏎f(\"x\")", "line 1:3: cannot use \"x\" (untyped string constant) as int value in argument to f"},
		{"func f(a int) int { return a }⏎f(1, 2)", "line 1:6: too many arguments in call to f"},
		{"x := []int{1}⏎y := 2\nz := x[y]", "line 2:6: panic: runtime error: index out of range"},
		{"x := 1\ny := x\nx = \"s\"", "line 3:5: cannot use \"s\" (untyped string constant) as int value in assignment"},
		{"x := 1\n\ty := x.z", "line 2:9: x.z undefined (type int has no field or method z)"},
	}
	for _, tt := range tests {
		t.Run(tt.entry, func(t *testing.T) {
			_, err := wsEval(t, strings.Split(tt.entry, "⏎")...)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n  %s\nwant\n  %s", err, tt.want)
			}
			checkGoError(t, tt.entry, err)
		})
	}
}

// TestGoErrorsAreTyped: a compile error is a *SyntaxError (Compile set)
// at the entry's position; a runtime error is a *PanicError whose value
// is a runtime.Error, as Go's are.
func TestGoErrorsAreTyped(t *testing.T) {
	_, err := wsEval(t, "x := 1\nx.y")
	var se *SyntaxError
	if !errors.As(err, &se) || !se.Compile || se.Line != 2 || se.Col != 3 {
		t.Fatalf("compile error: %#v", err)
	}
	_, err = wsEval(t, "var a []int; a[3]")
	var pe *PanicError
	var re runtime.Error
	if !errors.As(err, &pe) || !errors.As(err, &re) {
		t.Fatalf("runtime error: %T %v", err, err)
	}
	_, err = wsEval(t, `var x any = "s"; x.(int)`)
	if !errors.As(err, &pe) || pe.Line != 1 || pe.Col != 18 || !errors.As(err, &re) {
		t.Fatalf("a type assertion yaegi checks: %#v (if yaegi's cfgError changed, see yaegiErrorPos)", err)
	}
}

// TestMethodGoErrors: the same translation for methods, at positions in
// the method's source.
func TestMethodGoErrors(t *testing.T) {
	c := sharedCompiler(t)
	tests := []struct {
		sel, src, want string
		compile        bool // the error comes from Compile, not Call
	}{
		{"m1", "func m1(self Object) int {\n\tvar x any = \"s\"\n\treturn x.(int)\n}", "method m1: line 3:9: panic: interface conversion: interface {} is string, not int", false},
		{"m2", "func m2(self Object) any {\n\tvar a []int\n\treturn a[3]\n}", "method m2: line 3:9: panic: runtime error: index out of range", false},
		// Two index expressions: which one failed is not known.
		{"m2b", "func m2b(self Object) any {\n\ta := []int{1}\n\treturn a[0] + a[3]\n}", "panic in m2b: runtime error: index out of range", false},
		{"m2d", "func m2d(self Object) int {\n\tn := 0\n\treturn 10 / n\n}", "method m2d: line 3:9: panic: runtime error: integer divide by zero", false},
		{"m2e", "func m2e(self Object) int {\n\tn := 1\n\tif n > 2 {\n\t\treturn 0\n\t}\n\tpanic(\"no\")\n}", "method m2e: line 6:2: panic: no", false},
		// Two calls of panic: which one is not known.
		{"m2f", "func m2f(self Object) int {\n\tn := 1\n\tif n > 2 {\n\t\tpanic(\"nil\")\n\t}\n\tpanic(\"no\")\n}", "panic in m2f: no", false},
		{"m2c", "func m2c(self Object) any {\n\ts := \"ab\"\n\tn := 5\n\treturn s[1:n]\n}", "method m2c: line 4:9: panic: runtime error: slice bounds out of range", false},
		{"m3", "func m3(self Object) any {\n\treturn self.Foo()\n}", "method m3: line 2:14: self.Foo undefined (type Object has no field or method Foo)", true},
		{"m4", "func m4(self Object) any {\n\treturn self.Get(\"a\", \"b\")\n}", "method m4: line 2:23: too many arguments in call to self.Get (want (string))", true},
		{"m5", "func m5(self Object) any {\n\treturn Lobby.Get()\n}", "method m5: line 2:19: not enough arguments in call to Lobby.Get (want (string))", true},
		{"m6", "func m6(self Object) int {\n\tx := 1\n}", "method m6: line 3:1: missing return", true},
		{"m7", "func m7(self Object) int { return \"s\" }", "method m7: line 1:35: cannot use \"s\" (untyped string constant) as int value in return statement", true},
		{"m8", "func m8(self Object) any {\n\treturn strings.Repeat(1, 2)\n}", "method m8: line 2:24: cannot use 1 (untyped int constant) as string value in argument to strings.Repeat", true},
		{"m9", "func m9(self Object) any {\n\tvar i interface{ Foo() } = self\n\treturn i\n}", "method m9: line 2:29: cannot use self (variable of type Object) as interface{Foo()} value in variable declaration: Object does not implement interface{Foo()} (missing method Foo)", true},
		{"m10", "func m10(self Object) any {\n\treturn undefinedThing\n}", "method m10: line 2:9: undefined: undefinedThing", true},
		{"m11", "func m11(self Object) (int, int) { return 1 }", "method m11: line 1:43: not enough return values", true},
		{"m12", "func m12(self Object) {\n\tx, y := 1\n}", "method m12: line 2:10: assignment mismatch: 2 variables but 1 value", true},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			m, err := c.Compile(tt.sel, tt.src)
			if tt.compile {
				if err == nil || err.Error() != tt.want {
					t.Fatalf("compile error\n  %v\nwant\n  %s", err, tt.want)
				}
				checkGoError(t, tt.sel, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g := newGuard(t, Limits{})
			_, err = m.Call(g, newObject(&world{c: c, g: g}), nil)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("call error\n  %v\nwant\n  %s", err, tt.want)
			}
			checkGoError(t, tt.sel, err)
		})
	}
}

// TestFailedEntryDeclaresNothing: the declarations of a failed entry are
// undone — the ones its run did not reach, all of them when it did not
// compile: a new name is undefined after it, a redeclared variable and a
// redefined function are as they were.
func TestFailedEntryDeclaresNothing(t *testing.T) {
	tests := []struct {
		entries []string // the one before last fails
		want    string   // the last one's value, or its error
	}{
		{[]string{`x := undefinedThing()`, `x`}, "line 1:1: undefined: x"},
		{[]string{`var z int = "s"`, `z`}, "line 1:1: undefined: z"},
		{[]string{`x := "s" + 1`, `x`}, "line 1:1: undefined: x"},
		{[]string{`y := []int{}[3]`, `y`}, "line 1:1: undefined: y"},
		{[]string{`s := []int{}; i := 5; y := s[i]`, `y`}, "line 1:1: undefined: y"},
		{[]string{`s := []int{}; i := 5; y := s[i]`, `len(s) + i`}, "5"}, // statements the run completed keep their names
		{[]string{`func f() int { return undefinedThing }`, `f`}, "line 1:1: undefined: f"},
		{[]string{`type T struct{ A undefinedType }`, `T{}`}, "line 1:1: undefined: T"},
		{[]string{`x := 1`, `x := "s" + 1`, `x`}, "1"},
		{[]string{`x := 1`, `x := undefinedThing()`, `x`}, "1"},
		{[]string{`x := 1`, `var x int = "s"`, `x`}, "1"},
		{[]string{`x := 1`, `x := []int{}[3]`, `x + 1`}, "2"},
		{[]string{`x := 1`, `x := "a" + []string{}[3]`, `x + 1`}, "2"}, // another type: declared again
		{[]string{`x := []int{1}`, `x := 2; y := []int{}[3]`, `x`}, "2"},
		{[]string{`func f() int { return 1 }`, `func f() int { return undefinedThing }`, `f()`}, "1"},
		{[]string{`func f() int { return 1 }`, `func f() string { return 1 }`, `f()`}, "1"},
		{[]string{`func f() int { return 1 }`, `func f() int { return 2 }; var y = []int{}[3]`, `f()`}, "1"},
		{[]string{`len := 1; var z int = "s"`, `len("ab")`}, "2"},
		{[]string{`x := undefinedThing()`, `x := 2; x`}, "2"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.entries, " ⏎ "), func(t *testing.T) {
			c := sharedCompiler(t)
			w0 := &world{c: c}
			ws, err := c.NewWorkspace(map[string]any{"Lobby": newObject(w0)})
			if err != nil {
				t.Fatal(err)
			}
			n := len(tt.entries)
			for i, e := range tt.entries {
				g := newGuard(t, Limits{})
				w0.g = g
				res, err := ws.Eval(g, e)
				switch {
				case i == n-2:
					if err == nil {
						t.Fatalf("%q did not fail", e)
					}
				case i < n-2:
					if err != nil {
						t.Fatalf("%q: %v", e, err)
					}
				default:
					got := ""
					if err != nil {
						got = err.Error()
					} else {
						got = fmtAny(res.Value)
					}
					if got != tt.want {
						t.Errorf("%q: got %q, want %q", e, got, tt.want)
					}
				}
			}
		})
	}
}

// TestTerminatingStatements: a function with results must end in a
// terminating statement (the Go specification's rule), and only then.
func TestTerminatingStatements(t *testing.T) {
	ok := []string{
		"return 1",
		"panic(\"x\")",
		"for {}",
		"for { if true { continue } }",
		"if true { return 1 } else { return 2 }",
		"if true { return 1 } else if false { return 2 } else { panic(0) }",
		"switch { case true: return 1; default: return 2 }",
		"switch x := 1; x { case 1: fallthrough; default: return 2 }",
		"var v any; switch v.(type) { case int: return 1; default: return 2 }",
		"{ return 1 }",
		"L: for { break L2 }; L2: for {}",
		"goto L; L: return 1",
		"return 1;;",
	}
	bad := []string{
		"",
		"if true { return 1 }",
		"for { break }",
		"L: for { for { break L } }",
		"for i := 0; i < 1; i++ { return 1 }",
		"for range 3 { return 1 }",
		"switch { case true: return 1 }",
		"switch { case true: break; default: return 1 }",
		"L: switch { default: for { break L } }",
		"x := 1; _ = x",
	}
	for _, body := range ok {
		if _, err := ParseMethod("f", "func f(self Object) int { "+body+" }"); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
	for _, body := range bad {
		_, err := ParseMethod("f", "func f(self Object) int { "+body+" }")
		if err == nil || !strings.HasSuffix(err.Error(), ": missing return") {
			t.Errorf("%q: got %v, want missing return", body, err)
		}
	}
}

// TestSrcMap: positions in rewritten text map back to the source.
func TestSrcMap(t *testing.T) {
	text := "package main;x := strings.Repeat(a, 2)"
	edits := []edit{{18, 25, "batos_p_strings"}, {33, 33, "batos_g.Alloc("}}
	out, err := applyEdits(text, edits)
	if err != nil {
		t.Fatal(err)
	}
	m := newSrcMap(text, out, len("package main;"), 0, edits, nil, nil)
	for _, tc := range []struct{ out, orig int }{
		{13, 13},                      // x
		{18, 18},                      // the renamed package: its start
		{18 + len("batos_p_str"), 18}, // inside the replacement
		{18 + len("batos_p_strings") + 1, 26},
		{33 + 8 + len("batos_g.A"), 33}, // inside an insertion
		{len(out) - 1, len(text) - 1},
	} {
		if got := m.origOffset(tc.out); got != tc.orig {
			t.Errorf("origOffset(%d) = %d, want %d", tc.out, got, tc.orig)
		}
	}
}
