package interp

import (
	"strings"
	"testing"
)

// TestWorkspaceRecycle: past recycleAfter entries a workspace moves its
// variables to a fresh interpreter, unless one of them, or a declared
// func, type or const, belongs to the interpreter that made it; either
// way every name keeps working.
func TestWorkspaceRecycle(t *testing.T) {
	defer func(n int) { recycleAfter = n }(recycleAfter)
	recycleAfter = 3
	c := sharedCompiler(t)
	w0 := &world{c: c, g: newGuard(t, Limits{})}
	lobby := newObject(w0)
	lobby.Set("name", "lobby")
	type step struct{ src, want string }
	tests := []struct {
		name     string
		setup    []string
		recycled bool
		checks   []step
	}{
		{
			name: "variables move",
			setup: []string{
				"n := 41",
				`s := []any{1, "a", []int{2}}`,
				`m := map[string]int{"k": 2}`,
				"o := Lobby",
				"var e error = errors.New(\"boom\")",
				"t := time.Unix(0, 0).UTC()",
			},
			recycled: true,
			checks: []step{
				{"n + 1", "42"},
				{"s[1]", "a"},
				{`fmt.Sprintf("%T %d", m, m["k"])`, "map[string]int 2"},
				{`o.Get("name")`, "lobby"},
				{"e.Error()", "boom"},
				{"t.Year()", "1970"},
				{"for {}", "deadline exceeded"},
			},
		},
		{
			name:   "a func pins",
			setup:  []string{"n := 1", "func f() int { return n + 1 }"},
			checks: []step{{"f()", "2"}},
		},
		{
			name:   "a const pins",
			setup:  []string{"const k = 3"},
			checks: []step{{"k * 2", "6"}},
		},
		{
			name:   "a closure stays",
			setup:  []string{"g := func() int { return 2 }"},
			checks: []step{{"g()", "2"}},
		},
		{
			name:   "a pointer to a variable stays",
			setup:  []string{"n := 1", "p := &n"},
			checks: []step{{"*p = 5; n", "5"}},
		},
		{
			name:   "an interpreter's struct stays",
			setup:  []string{"v := []any{struct{ X func() }{}}"},
			checks: []step{{"len(v)", "1"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := c.NewWorkspace(map[string]any{"Lobby": lobby})
			if err != nil {
				t.Fatal(err)
			}
			eval := func(src string, limits Limits) string {
				t.Helper()
				g := newGuard(t, limits)
				w0.g = g
				res, err := ws.Eval(g, src)
				if err != nil {
					return err.Error()
				}
				if !res.HasValue {
					return ""
				}
				return strings.TrimSpace(fmtAny(res.Value))
			}
			for _, src := range tc.setup {
				if got := eval(src, Limits{}); got != "" {
					t.Fatalf("%q: %s", src, got)
				}
			}
			first := ws.in
			// Each check runs twice, so that every case goes past
			// recycleAfter.
			for _, st := range append(tc.checks, tc.checks...) {
				limits := Limits{}
				if st.src == "for {}" {
					limits = shortLimits()
				}
				if got := eval(st.src, limits); !strings.Contains(got, st.want) {
					t.Errorf("%q = %q, want %q", st.src, got, st.want)
				}
			}
			if recycled := ws.in != first; recycled != tc.recycled {
				t.Errorf("recycled: %v, want %v", recycled, tc.recycled)
			}
		})
	}
}
