package pllm

import (
	"math"
	"strings"
	"testing"

	"batos/interp"
)

func TestExtract(t *testing.T) {
	tests := []struct {
		name, answer, want, err string
	}{
		{"fenced", "Here you go:\n```go\nfunc fib(self Object, n int) int { return n }\n```\nEnjoy.", "func fib(self Object, n int) int { return n }\n", ""},
		{"fence without language", "```\nfunc fib(self Object, n int) int { return n }\n```", "func fib(self Object, n int) int { return n }\n", ""},
		{"second fence", "```go\nfunc helper() {}\n```\n```go\nfunc fib(self Object, n int) int { return 1 }\n```", "func fib(self Object, n int) int { return 1 }\n", ""},
		{"package clause dropped", "```go\npackage main\n\nfunc fib(self Object) int { return 1 }\n```", "\nfunc fib(self Object) int { return 1 }\n", ""},
		{"prose", "Sure. func fib(self Object, n int) int {\n\tif n < 2 { return n }\n\treturn n\n} That is all.", "func fib(self Object, n int) int {\n\tif n < 2 { return n }\n\treturn n\n}", ""},
		{"prose with import", "import \"strings\"\n\nfunc up(self Object, s string) string { return strings.ToUpper(s) }", "import \"strings\"\nfunc up(self Object, s string) string { return strings.ToUpper(s) }", ""},
		{"braces in strings", "func fib(self Object) string { return \"}\" }", "func fib(self Object) string { return \"}\" }", ""},
		{"prose only", "I cannot write that method.", "", "declares no func fib"},
		{"unclosed", "func fib(self Object) int { return 1", "", "not closed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sel := "fib"
			if strings.Contains(tc.answer, "func up(") {
				sel = "up"
			}
			got, err := Extract(tc.answer, sel)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Extract = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// FuzzExtract: Extract never panics, and whatever it returns for a
// selector contains that selector's declaration.
func FuzzExtract(f *testing.F) {
	f.Add("```go\nfunc fib(self Object, n int) int { return n }\n```")
	f.Add("func fib(self Object) { { } ")
	f.Add("``````func fib(")
	f.Fuzz(func(t *testing.T, answer string) {
		src, err := Extract(answer, "fib")
		if err == nil && !strings.Contains(src, "func fib(") {
			t.Fatalf("Extract returned %q without the declaration", src)
		}
		if err == nil {
			interp.ParseMethod("fib", src) // must not panic either
		}
	})
}

func TestInstallTarget(t *testing.T) {
	for answer, want := range map[string]string{
		"// batos:install-on parent*\nfunc f(self Object) {}": "parent*",
		"  //batos:install-on traits  \n":                     "traits",
		"func f(self Object) {} // batos:install-on traits":   "",
		"no directive": "",
	} {
		if got := InstallTarget(answer); got != want {
			t.Errorf("InstallTarget(%q) = %q, want %q", answer, got, want)
		}
	}
}

func TestRoutingEntropy(t *testing.T) {
	if _, ok := RoutingEntropy(map[string]float64{"BRICK": 1}); ok {
		t.Error("one score has an entropy")
	}
	if h, ok := RoutingEntropy(map[string]float64{"A": 2, "B": 2, "C": 2, "D": 2}); !ok || math.Abs(h-1) > 1e-12 {
		t.Errorf("equal scores: %v %v, want 1", h, ok)
	}
	if h, _ := RoutingEntropy(map[string]float64{"A": 40, "B": 0, "C": 0}); h > 0.01 {
		t.Errorf("one dominant score: %v, want near 0", h)
	}
	lo, _ := RoutingEntropy(map[string]float64{"A": 3, "B": 1})
	hi, _ := RoutingEntropy(map[string]float64{"A": 1.5, "B": 1})
	if !(0 < lo && lo < hi && hi < 1) {
		t.Errorf("a closer race is less confident: %v, %v", lo, hi)
	}
}
