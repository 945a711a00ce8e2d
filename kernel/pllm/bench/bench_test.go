package bench_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
	"time"

	"batos"
	"batos/image"
	"batos/kernel"
	"batos/kernel/pllm/bench"
	"batos/kernel/pllm/bench/benchtest"
	"batos/kernel/sandbox"
	"batos/llama/llamatest"
)

// TestMain doubles as the sandbox child: trial runs re-execute this test
// binary, as the batos binary re-executes itself with `batos sandbox`.
func TestMain(m *testing.M) {
	if os.Getenv("BATOS_SANDBOX_CHILD") == "1" {
		os.Exit(sandbox.Main())
	}
	os.Exit(m.Run())
}

func loadSuite(t *testing.T) *bench.Suite {
	t.Helper()
	suite, err := bench.Load(batos.Mandates, batos.MandatesDir)
	if err != nil {
		t.Fatal(err)
	}
	return suite
}

// source opens an image whose pLLM asks srv, with the given personas.
func source(t *testing.T, srv *llamatest.Server, attempts int) *kernel.Kernel {
	t.Helper()
	k, err := kernel.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	s := k.NewSession("user")
	src := fmt.Sprintf(`p := Lobby.At("pLLM"); p.Set("endpoint", %q); p.Set("maxAttempts", %d); p.Set("generationTimeout", "20s")`, srv.URL, attempts)
	if _, err := s.Eval(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	return k
}

func runner() *sandbox.Runner {
	return &sandbox.Runner{Command: []string{os.Args[0]}, Env: []string{"BATOS_SANDBOX_CHILD=1"}, Timeout: 30 * time.Second, Warm: true}
}

// TestSuite: the suite is versioned, big enough, has both parts, and
// every mandate's send is unique (the scripted server answers by it).
func TestSuite(t *testing.T) {
	suite := loadSuite(t)
	if !strings.HasPrefix(suite.Version, "1-") {
		t.Errorf("version %q", suite.Version)
	}
	sends := map[string]string{}
	var held int
	for _, m := range suite.Mandates {
		if other, dup := sends[m.Send]; dup {
			t.Errorf("%s and %s make the same send %s", other, m.Name, m.Send)
		}
		sends[m.Send] = m.Name
		if m.Split == bench.HeldOut {
			held++
		}
	}
	if n := len(suite.Mandates); n < 40 || held < 10 || n-held < 20 {
		t.Errorf("%d mandates, %d held out: want at least 40, 10 held out and 20 to train on", n, held)
	}
}

// TestReferencesPass runs the whole suite through the real pipeline with
// a server that answers each mandate with its reference: every one must
// install at the first attempt and pass its checks.
func TestReferencesPass(t *testing.T) {
	suite := loadSuite(t)
	srv := llamatest.New(t)
	srv.Respond(benchtest.Respond(suite, func(m *bench.Mandate, _ map[string]any) string { return m.Reference }))
	k := source(t, srv, 1)
	rep, err := bench.Run(context.Background(), k, bench.Options{Suite: suite, Personas: []string{"BRICK"}, Sandbox: runner()})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range rep.Outcomes {
		if !o.Passed || o.Attempts != 1 {
			t.Errorf("%v", o)
		}
	}
	row, ok := rep.Row("BRICK")
	if !ok || row.Pass1 != len(suite.Mandates) || row.PassRate != 1 || row.MeanAttempts != 1 {
		t.Errorf("row %+v", row)
	}
}

// TestChecksTell: a method that returns its results' zero values (or
// does nothing) is installed — it compiles and runs — and every
// mandate's checks must reject it.
func TestChecksTell(t *testing.T) {
	suite := loadSuite(t)
	srv := llamatest.New(t)
	srv.Respond(benchtest.Respond(suite, func(m *bench.Mandate, _ map[string]any) string { return zeroStub(t, m.Reference) }))
	k := source(t, srv, 1)
	rep, err := bench.Run(context.Background(), k, bench.Options{Suite: suite, Personas: []string{"BRICK"}, Sandbox: runner()})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range rep.Outcomes {
		if o.Passed || o.Error != "" {
			t.Errorf("a stub passed or did not run: %v", o)
		}
	}
}

// zeroStub keeps the reference's signature and returns zero values.
func zeroStub(t *testing.T, ref string) string {
	t.Helper()
	src := "package p\n" + ref
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, 0)
	if err != nil || len(f.Decls) == 0 {
		t.Fatalf("reference does not parse: %v", err)
	}
	fn, ok := f.Decls[len(f.Decls)-1].(*ast.FuncDecl)
	if !ok {
		t.Fatalf("the reference's last declaration is not a func:\n%s", ref)
	}
	text := func(n ast.Node) string { return src[fset.Position(n.Pos()).Offset:fset.Position(n.End()).Offset] }
	sig := src[fset.Position(fn.Pos()).Offset:fset.Position(fn.Body.Lbrace).Offset]
	var body strings.Builder
	var names []string
	if fn.Type.Results != nil {
		for _, r := range fn.Type.Results.List {
			for range max(1, len(r.Names)) {
				n := fmt.Sprintf("r%d", len(names))
				fmt.Fprintf(&body, "\tvar %s %s\n", n, text(r.Type))
				names = append(names, n)
			}
		}
		fmt.Fprintf(&body, "\treturn %s\n", strings.Join(names, ", "))
	}
	return sig + "{\n" + body.String() + "}"
}

// TestCounting runs one mandate through scripted answers that pass at
// once, fail to compile, fail an example (whose counterexample must be
// fed back) and time out, and checks the counts.
func TestCounting(t *testing.T) {
	suite := loadSuite(t)
	m := find(t, suite, "rect-area")
	srv := llamatest.New(t)
	k := source(t, srv, 2)
	wrong := "```go\nfunc area(self Object) int { return self.Get(\"w\").(int) + self.Get(\"h\").(int) }\n```"
	right := "```go\n" + m.Reference + "\n```"
	run := func(script ...llamatest.Reply) bench.Outcome {
		t.Helper()
		srv.Script(script...)
		rep, err := bench.Run(context.Background(), k, bench.Options{Suite: suite, Names: []string{"rect-area"}, Personas: []string{"ROBIN"}, Sandbox: runner(), TrialDeadline: time.Second})
		if err != nil || len(rep.Outcomes) != 1 {
			t.Fatalf("run: %v, %+v", err, rep)
		}
		return rep.Outcomes[0]
	}
	if o := run(llamatest.Reply{Text: right}); !o.Passed || o.Attempts != 1 || o.Calls != 1 || o.Tokens == 0 || o.PromptBytes == 0 {
		t.Errorf("right at once: %+v", o)
	}
	if o := run(llamatest.Reply{Text: "```go\nfunc area(self Object) int { return }\n```"}, llamatest.Reply{Text: right}); !o.Passed || o.Attempts != 2 {
		t.Errorf("right at the second attempt: %+v", o)
	}
	before := len(srv.Requests())
	if o := run(llamatest.Reply{Text: wrong}, llamatest.Reply{Text: right}); !o.Passed || o.Attempts != 2 {
		t.Errorf("wrong, then right: %+v", o)
	}
	second := fmt.Sprint(srv.Requests()[len(srv.Requests())-1].Body["messages"])
	if len(srv.Requests()) <= before || !strings.Contains(second, "check 1: area() = 7, want 12") {
		t.Errorf("the counterexample was not fed back:\n%s", second)
	}
	if o := run(llamatest.Reply{Text: wrong}); o.Passed || o.Installed || o.Attempts != 2 || !strings.Contains(o.Failure, "want 12") {
		t.Errorf("wrong twice: %+v", o)
	}
	// A method that never returns is stopped by the trial's deadline.
	loop := "```go\nfunc area(self Object) int {\n\tfor {\n\t}\n}\n```"
	if o := run(llamatest.Reply{Text: loop}, llamatest.Reply{Text: right}); !o.Passed || o.Attempts != 2 {
		t.Errorf("a runaway loop, then right: %+v", o)
	}
	// A server slower than generationTimeout fails the mandate; it is
	// the model's failure, not the harness's.
	s := k.NewSession("user")
	if _, err := s.Eval(context.Background(), `Lobby.At("pLLM").Set("generationTimeout", "300ms")`); err != nil {
		t.Fatal(err)
	}
	if o := run(llamatest.Reply{Text: right, Delay: 200 * time.Millisecond}); o.Passed || o.Error != "" || !strings.Contains(o.Failure, "deadline exceeded") {
		t.Errorf("too slow: %+v", o)
	}
}

func find(t *testing.T, s *bench.Suite, name string) *bench.Mandate {
	for _, m := range s.Mandates {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no mandate %s", name)
	return nil
}

// TestUnreachable: a run against no server stops at once and says so;
// it is not a score of zero.
func TestUnreachable(t *testing.T) {
	suite := loadSuite(t)
	srv := llamatest.New(t)
	k := source(t, srv, 1)
	srv.Close()
	rep, err := bench.Run(context.Background(), k, bench.Options{Suite: suite, Sandbox: runner()})
	if !errors.Is(err, bench.ErrUnreachable) || len(rep.Outcomes) != 1 || rep.Outcomes[0].Error == "" {
		t.Fatalf("err %v, report %+v", err, rep)
	}
}

// TestRealServer runs the held-out part against a real llama-server when
// BATOS_TEST_LLAMA_URL names one, and prints the table: the figures are
// the model's; the test checks only that every mandate ran.
func TestRealServer(t *testing.T) {
	url := os.Getenv("BATOS_TEST_LLAMA_URL")
	if url == "" {
		t.Skip("set BATOS_TEST_LLAMA_URL to a llama-server to bench it")
	}
	suite := loadSuite(t)
	k, err := kernel.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, err := k.NewSession("user").Eval(context.Background(), fmt.Sprintf(`Lobby.At("pLLM").Set("endpoint", %q)`, url)); err != nil {
		t.Fatal(err)
	}
	rep, err := bench.Run(context.Background(), k, bench.Options{Suite: suite, Split: bench.HeldOut, Personas: []string{"BRICK"}, Sandbox: runner(),
		Progress: func(o bench.Outcome) { t.Log(o) }})
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	rep.WriteTable(&table)
	t.Log("\n" + table.String())
	held, _ := suite.Select(bench.HeldOut)
	if row, _ := rep.Row("BRICK"); row.Mandates != len(held) {
		t.Fatalf("%d of %d held-out mandates ran: %+v", row.Mandates, len(held), row)
	}
}

// TestRouterMigrates: an image whose router is the codex's from before
// the bench gets the one that reads pass rates; a router someone
// rewrote is left alone.
func TestRouterMigrates(t *testing.T) {
	current, ok := bench.CodexMethod("pLLM", "route")
	if !ok || !strings.Contains(current, `self.Lookup("benchmarks")`) {
		t.Fatalf("the codex's router does not read pass rates:\n%s", current)
	}
	for _, tc := range []struct{ name, before, after string }{
		{"old codex router", bench.RouteBeforeBench, current},
		{"rewritten", bench.RouteBeforeBench + "\n// mine", bench.RouteBeforeBench + "\n// mine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := kernel.Open(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			s := k.NewSession("user")
			if _, err := s.Eval(context.Background(), fmt.Sprintf("Lobby.At(\"pLLM\").Define(\"route\", %q)", tc.before)); err != nil {
				t.Fatal(err)
			}
			if err := bench.Install(k, nil); err != nil {
				t.Fatal(err)
			}
			var got string
			if _, err := s.Run(context.Background(), "", func(lobby kernel.Object) error {
				slots, err := s.SlotsOf(lobby.At("pLLM").OID())
				for _, sl := range slots {
					if m, ok := sl.Value.(image.Method); ok && sl.Name == "route" {
						got = m.Source
					}
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if got != tc.after {
				t.Errorf("route after Install:\n%s", got)
			}
		})
	}
}
