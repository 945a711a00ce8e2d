package interp

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMethodErrors(t *testing.T) {
	tests := []struct {
		name, sel, src, want string
	}{
		{"wrong name", "bar", "func foo(self Object) {}", "method bar: line 1:6: method source declares foo, want bar"},
		{"no self", "f", "func f(x int) {}", "line 1:7: the first parameter must be self Object"},
		{"no params", "f", "func f() {}", "line 1:7: the first parameter must be self Object"},
		{"wrong receiver type", "f", "func f(self int) {}", "the first parameter must be self Object"},
		{"go receiver", "f", "func (self Object) f() {}", "line 1:1: a method is a plain function"},
		{"empty", "f", "", "method f: line 1: method source declares nothing"},
		{"two decls", "f", "func f(self Object) {}\nfunc g(self Object) {}", "line 2:1: method source must declare exactly one function, found 2"},
		{"var decl", "f", "var x = 1", "must be one function declaration, found var"},
		{"syntax", "f", "func f(self Object) {\n\treturn 1 +\n}", "method f: line 3:1: expected operand"},
		{"go stmt", "f", "func f(self Object) {\n\tgo f(self)\n}", "line 2:2: go statements are not allowed"},
		{"send", "f", "func f(self Object, c int) {\n\tc <- 1\n}", "line 2:2: channel send is not allowed: a method can't block the image"},
		{"recv", "f", "func f(self Object) {\n\tx := <-y\n}", "line 2:7: channel receive is not allowed"},
		{"select", "f", "func f(self Object) {\n\tselect {}\n}", "line 2:2: select is not allowed"},
		{"chan type", "f", "func f(self Object) {\n\t_ = make(chan int)\n}", "line 2:11: channels are not allowed"},
		{"reserved", "f", "func f(self Object) {\n\tbatos_g := 1\n}", "line 2:2: identifier batos_g uses the reserved prefix batos_"},
		{"huge array", "f", "func f(self Object) {\n\tvar a [1 << 40]byte\n}", "line 2:8: array type of 1 TiB exceeds"},
		{"self as value", "f", "func f(self Object) {\n\tg := f\n}", "line 2:7: f may only call itself directly"},
		{"generic", "f", "func f[T any](self Object) {}", "type parameters"},
		{"dot import", "f", "import . \"strings\"\nfunc f(self Object) {}", "dot imports are not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMethod(tt.sel, tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestForbiddenImports(t *testing.T) {
	for _, pkg := range []string{"os", "os/exec", "net", "net/http", "syscall", "unsafe", "plugin", "reflect", "runtime", "io", "sync", "github.com/x/y"} {
		t.Run(pkg, func(t *testing.T) {
			src := "\nimport \"" + pkg + "\"\nfunc f(self Object) {}"
			_, err := ParseMethod("f", src)
			var fe *ForbiddenImportError
			if !errors.As(err, &fe) || fe.Package != pkg || fe.Line != 2 {
				t.Fatalf("got %v", err)
			}
			want := `import "` + pkg + `" is not allowed in methods (line 2)`
			if err.Error() != want {
				t.Errorf("got %q, want %q", err, want)
			}
		})
	}
}

func TestSignature(t *testing.T) {
	sig, err := ParseMethod("area", "import \"math\"\nfunc area(self Object, scale float64, names ...string) (r float64, err error) { return math.Pi, nil }")
	if err != nil {
		t.Fatal(err)
	}
	want := `{area [{scale float64} {names ...string}] [float64 error] true}`
	if got := strings.TrimPrefix(fmtSig(sig), "&"); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func fmtSig(s *Signature) string {
	var b strings.Builder
	b.WriteString("{" + s.Selector + " [")
	for i, p := range s.Params {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString("{" + p.Name + " " + p.Type + "}")
	}
	b.WriteString("] [" + strings.Join(s.Results, " ") + "] ")
	if s.Variadic {
		b.WriteString("true}")
	} else {
		b.WriteString("false}")
	}
	return b.String()
}

func FuzzParseMethod(f *testing.F) {
	f.Add("f", "func f(self Object, x int) int { for { return x } }")
	f.Add("area", "import \"strings\"\nfunc area(self Object) string { return strings.Repeat(\"a\", 3) }")
	f.Add("g", "func g(self Object) { var a [1<<62]int; _ = a }")
	f.Add("h", "func h(self Object) { x := <-c; go h(self) }")
	f.Fuzz(func(t *testing.T, sel, src string) {
		ParseMethod(sel, src)
	})
}

func TestComplete(t *testing.T) {
	tests := []struct {
		src  string
		want bool
	}{
		{"x := 3", true},
		{"for i := 0; i < 3; i++ {", false},
		{"f(1,", false},
		{"x := 1 +", false},
		{"s := `abc", false},
		{"func f() int {\n\treturn 1\n}", true},
		{"x := )", true},
		{"", true},
		{"x.", false},
	}
	for _, tt := range tests {
		if got := Complete(tt.src); got != tt.want {
			t.Errorf("Complete(%q) = %v, want %v", tt.src, got, tt.want)
		}
	}
}

// TestConstantBounds: constants fold when yaegi compiles, so their size
// and folding work are refused from the syntax.
func TestConstantBounds(t *testing.T) {
	half := strings.Repeat("x", 600<<10)
	tests := []struct{ name, body, want string }{
		{"string", `const s = "` + half + `"; const d = s + s; return len(d)`, "a string constant of more than 1 MiB"},
		{"bits", `const b = 1 << 4000; const c = b * b; return 0`, "an integer constant of more than 4096 bits"},
		{"shift", `return 1 << (1 << 40) >> (1 << 40)`, "a constant shifted by more than 4096 bits"},
		{"float", `return int(1e100000 / 1e100000)`, "a float literal with an exponent beyond 10000"},
		{"fine", `const b = 1 << 62; const s = "ab" + "cd"; return b + len(s)`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMethod("f", "func f(self Object) int { "+tc.body+" }")
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestEntryCutOff: an entry cut off at its end is reported where it
// ends, on its own lines, not in the statement wrapper around it.
func TestEntryCutOff(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
		msg       string
	}{
		{"1 +", 1, 4, "expected operand, found end of entry"},
		{"1 +\n\n", 1, 4, "expected operand, found end of entry"},
		{"f(1,\n2,", 2, 3, "expected operand, found end of entry"},
		{"if x {", 1, 7, "expected '}', found end of entry"},
		{"a.", 1, 3, "expected selector or type assertion, found end of entry"},
		{"x := (1", 1, 8, "expected ')', found newline"},
		{"x := 1\ny := )", 2, 6, "expected operand, found ')'"},
	}
	for _, tt := range tests {
		_, err := parseInput(tt.src)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != tt.line || se.Col != tt.col || se.Msg != tt.msg {
			t.Errorf("%q: %#v, want line %d:%d %q", tt.src, err, tt.line, tt.col, tt.msg)
		}
	}
}
