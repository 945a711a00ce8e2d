package bench_test

import (
	"io/fs"
	"strings"
	"testing"

	"batos"
	"batos/kernel/pllm/bench"
)

const good = `split: train
about: a test

-- setup --
Lobby.Set("r", NewObject())
-- send --
Lobby.At("r").Send("area", 2, "x")
-- checks --
Lobby.At("r").Send("area", 2, "x") => 4
Lobby.At("r").Set("w", 1)
Lobby.At("r").Send("area", 3, "y") => 6
-- reference --
func area(self Object, n int, s string) int { return 2 * n }
`

func TestParse(t *testing.T) {
	m, err := bench.Parse("area.txtar", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "area" || m.Receiver != `Lobby.At("r")` || m.Selector != "area" || strings.Join(m.Args, "|") != `2|"x"` || len(m.Checks) != 3 {
		t.Fatalf("%+v", m)
	}
	// Only the checks before the first statement are examples: the
	// statement may change what the later ones see.
	if c := m.Checks; !c[0].Example || c[0].Want != "4" || !c[1].Stmt || c[2].Example || c[2].Line != 11 {
		t.Errorf("checks %+v", c)
	}
	for _, tc := range []struct{ name, src, err string }{
		{"split", strings.Replace(good, "split: train", "split: test", 1), `a.txtar:1: split is "test"`},
		{"key", strings.Replace(good, "about:", "abuot:", 1), `a.txtar:2: unknown key "abuot"`},
		{"section", strings.Replace(good, "-- setup --", "-- setpu --", 1), `a.txtar:4: unknown section "setpu"`},
		{"send", strings.Replace(good, `Lobby.At("r").Send("area", 2, "x")`+"\n-- checks", `Lobby.At("r").Get("area")`+"\n-- checks", 1), `a.txtar:7: send: "Lobby.At(\"r\").Get(\"area\")" is not RECEIVER.Send`},
		{"selector", strings.Replace(good, `Lobby.At("r").Send("area", 2, "x")`+"\n-- checks", `Lobby.At("r").Send(sel)`+"\n-- checks", 1), "the selector must be a string literal"},
		{"no value", strings.Replace(good, " => 4", "", 1) + "", ""},
		{"empty want", strings.Replace(good, "=> 4", "=>  ", 1), "a.txtar:9:"},
		{"no reference", good[:strings.Index(good, "-- reference --")], `no "reference" section`},
		{"twice", good + "-- send --\nx.Send(\"y\")\n", `section "send" appears twice`},
	} {
		_, err := bench.Parse("a.txtar", []byte(tc.src))
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
		}
	}
}

func TestSelect(t *testing.T) {
	suite := loadSuite(t)
	held, err := suite.Select(bench.HeldOut)
	if err != nil || len(held) == 0 {
		t.Fatal(err)
	}
	for _, m := range held {
		if m.Split != bench.HeldOut {
			t.Errorf("%s in the held-out selection", m.Name)
		}
	}
	if got, _ := suite.Select("all", "rect-area"); len(got) != 1 || got[0].Name != "rect-area" {
		t.Errorf("by name: %v", got)
	}
	if _, err := suite.Select("dev"); err == nil {
		t.Error("unknown split accepted")
	}
}

// FuzzParse: any bytes give a mandate or an error naming the file, never
// a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	files, _ := fs.Glob(batos.Mandates, batos.MandatesDir+"/*.txtar")
	for _, name := range files {
		data, _ := fs.ReadFile(batos.Mandates, name)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := bench.Parse("f.txtar", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "mandate f.txtar:") {
				t.Fatalf("error without its place: %v", err)
			}
			return
		}
		if m.Selector == "" || m.Receiver == "" || m.Reference == "" {
			t.Fatalf("a mandate without its send: %+v", m)
		}
	})
}
