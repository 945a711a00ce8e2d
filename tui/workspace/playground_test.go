package workspace

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

// driveOver is drive over any image (a real one, say).
func driveOver(t *testing.T, img api.Image) (*Model, *panetest.Driver) {
	t.Helper()
	m := New(panetest.Common(img))
	m.SetSize(60, 12)
	m.Focus()
	d := &panetest.Driver{TB: t, Pane: m}
	d.Init()
	return m, d
}

var shiftLeft = tea.KeyPressMsg{Code: tea.KeyLeft, Mod: tea.ModShift}

// lastEval is the source the fake image evaluated last.
func lastEval(t *testing.T, img *commontest.Image) string {
	t.Helper()
	log := img.EvalLog()
	if len(log) == 0 {
		t.Fatal("nothing evaluated")
	}
	return log[len(log)-1]
}

// TestParagraphEvaluated: in a buffer of several lines, the actions take
// the paragraph around the cursor (its non-blank lines); on a blank line,
// the whole buffer; with a selection, the selection.
func TestParagraphEvaluated(t *testing.T) {
	img := commontest.New()
	m, d := drive(t, img)
	d.Send(panetest.Type("x := 6\ny := 7\n\nx * y")...)
	d.Send(panetest.Keys("up", "up", "ctrl+d")...) // on y := 7
	if got := lastEval(t, img); got != "x := 6\ny := 7" {
		t.Fatalf("do it on the first paragraph evaluated %q", got)
	}
	d.Send(panetest.Keys("down", "ctrl+d")...) // the blank line: everything
	if got := lastEval(t, img); got != "x := 6\ny := 7\n\nx * y" {
		t.Fatalf("do it on a blank line evaluated %q", got)
	}
	d.Send(panetest.Keys("down", "end")...)
	d.Send(shiftLeft)
	d.Send(panetest.Key("ctrl+o"))
	if got := lastEval(t, img); got != "y" {
		t.Fatalf("inspect it of a selection evaluated %q", got)
	}
	if v, ok := panetest.Last[common.InspectValueMsg](d); !ok || v.Value.Text != "y" {
		t.Fatalf("inspect it sent %+v", d.Out)
	}
	if m.Dirty() {
		t.Fatal("a buffer whose paragraphs were all evaluated counts as unsaved")
	}
}

// TestPrintItInline: print it writes the value after the paragraph as a
// `// ⇒` line, replacing the one already there; the cursor stays; a
// one-line input is left as it is.
func TestPrintItInline(t *testing.T) {
	img := commontest.New()
	img.Results["6 * 7"] = api.Result{HasValue: true, Value: commontest.Text("42")}
	img.Results["x := 1\n  6 * 7"] = api.Result{HasValue: true, Value: commontest.Text("42")}
	img.Results["x := 1\n  6 * 8"] = api.Result{HasValue: true, Value: commontest.Text("48\nand more")}
	m, d := drive(t, img)
	d.Send(panetest.Type("6 * 7")...)
	d.Send(panetest.Key("ctrl+p"))
	if m.Value() != "6 * 7" || !strings.Contains(panetest.Plain(m.View()), "⇒ 42") {
		t.Fatalf("a one-line print it: input %q, view\n%s", m.Value(), m.View())
	}
	d.Send(panetest.Type("\n\nx := 1\n  6 * 7")...)
	d.Send(panetest.Key("ctrl+p"))
	if want := "6 * 7\n\nx := 1\n  6 * 7\n  // ⇒ 42"; m.Value() != want {
		t.Fatalf("after print it the input is %q, want %q", m.Value(), want)
	}
	// Again, changed: the result line is replaced, not added to.
	d.Send(panetest.Keys("backspace", "8", "ctrl+p")...)
	if want := "6 * 7\n\nx := 1\n  6 * 8\n  // ⇒ 48…"; m.Value() != want {
		t.Fatalf("after a second print it the input is %q, want %q", m.Value(), want)
	}
	if got := lastEval(t, img); got != "x := 1\n  6 * 8" {
		t.Fatalf("print it evaluated %q", got)
	}
	if m.input.Line() != 3 {
		t.Fatalf("the cursor moved to line %d", m.input.Line())
	}
	// From the result line itself, the paragraph is the same.
	d.Send(panetest.Keys("down", "ctrl+p")...)
	if got := lastEval(t, img); got != "x := 1\n  6 * 8" {
		t.Fatalf("print it on the result line evaluated %q", got)
	}
	if strings.Count(m.Value(), "// ⇒") != 1 {
		t.Fatalf("input %q", m.Value())
	}
	if m.Dirty() {
		t.Fatalf("an input printed counts as unsaved: %q", m.Value())
	}
}

// TestPrintItStatementDropsStaleResult: a statement prints no value; the
// result line an earlier print it left after it goes.
func TestPrintItStatementDropsStaleResult(t *testing.T) {
	img := commontest.New()
	img.Results["x := 1"] = api.Result{}
	m, d := drive(t, img)
	m.SetValue("1\n\nx := 1\n// ⇒ 1\n\nnext")
	d.Send(panetest.Keys("up", "up", "up", "ctrl+p")...)
	if got := lastEval(t, img); got != "x := 1" {
		t.Fatalf("print it evaluated %q", got)
	}
	if want := "1\n\nx := 1\n\nnext"; m.Value() != want {
		t.Fatalf("input %q, want %q", m.Value(), want)
	}
}

// TestClear: ctrl+x clears the input and the output; over input never
// evaluated it asks for a second ctrl+x first. The history keeps the
// inputs.
func TestClear(t *testing.T) {
	img := commontest.New()
	m, d := drive(t, img)
	d.Send(panetest.Type("42")...)
	d.Send(panetest.Keys("ctrl+p", "ctrl+x")...)
	if m.Value() != "" || strings.Contains(panetest.Plain(m.View()), "⇒ 42") {
		t.Fatalf("after ctrl+x: input %q, view\n%s", m.Value(), m.View())
	}
	d.Send(panetest.Type("unsaved")...)
	d.Send(panetest.Key("ctrl+x"))
	if m.Value() != "unsaved" {
		t.Fatal("ctrl+x cleared input never evaluated without asking")
	}
	if msg, ok := panetest.Last[common.InfoMsg](d); !ok || !strings.Contains(msg.Text, "ctrl+x again") {
		t.Fatalf("sent %+v", d.Out)
	}
	d.Send(panetest.Key("ctrl+x"))
	if m.Value() != "" {
		t.Fatalf("a second ctrl+x left %q", m.Value())
	}
	d.Send(panetest.Key("up"))
	if m.Value() != "42" {
		t.Fatalf("the history lost the input: up recalls %q", m.Value())
	}
}

// TestTabLeaves: tab with nothing to complete asks the app to focus the
// next pane (and types no tab); with something to complete it completes.
func TestTabLeaves(t *testing.T) {
	img := commontest.New()
	m, d := drive(t, img)
	d.Send(panetest.Type("x := 1")...)
	d.Send(panetest.Key("tab"))
	if f, ok := panetest.Last[common.FocusMsg](d); !ok || f.Title != "Transcript" {
		t.Fatalf("tab sent %+v", d.Out)
	}
	if m.Value() != "x := 1" {
		t.Fatalf("tab typed into the input: %q", m.Value())
	}
	d.Out = nil
	d.Send(panetest.Type("; Lobby.print")...)
	d.Send(panetest.Key("tab"))
	if _, ok := panetest.Last[common.FocusMsg](d); ok || !strings.Contains(panetest.Plain(m.View()), "completions: printOn printString") {
		t.Fatalf("tab in a completion context sent %+v; view\n%s", d.Out, m.View())
	}
}

// defineChain gives a real image Lobby.o, whose a sends b, which panics
// on its second line.
func defineChain(t *testing.T, img api.Image) {
	t.Helper()
	if _, err := img.Eval(t.Context(), "o := NewObject()\n"+
		"o.Define(\"a\", \"func a(self Object) int {\\n\\treturn self.Send(\\\"b\\\").(int)\\n}\")\n"+
		"o.Define(\"b\", \"func b(self Object) int {\\n\\tpanic(\\\"deep\\\")\\n}\")\n"+
		"Lobby.Set(\"o\", o)"); err != nil {
		t.Fatal(err)
	}
}

// TestErrorFrames: an error deep in nested sends shows its chain under
// it, a frame a line with its line; ctrl+n selects the innermost frame,
// then the next out, and enter asks the app to browse the frame's
// method; the pager has the frames too.
func TestErrorFrames(t *testing.T) {
	img := panetest.Open(t)
	defineChain(t, img)
	var o uint64
	if res, err := img.Eval(t.Context(), `Lobby.At("o")`); err != nil || res.Value.Object == nil {
		t.Fatalf("%+v %v", res, err)
	} else {
		o = res.Value.Object.OID
	}
	m, d := driveOver(t, img)
	d.Send(panetest.Type(`Lobby.At("o").Send("a")`)...)
	d.Send(panetest.Key("ctrl+d"))
	v := panetest.Plain(m.View())
	t.Logf("view:\n%s", v)
	if !strings.Contains(v, "error:") || !strings.Contains(v, ".a:2 →") || !strings.Contains(v, ".b:2") {
		t.Fatalf("view:\n%s", v)
	}
	d.Send(panetest.Key("ctrl+n"))
	if v := panetest.Plain(m.View()); !strings.Contains(v, "▸") || !strings.Contains(v[strings.Index(v, "▸"):], ".b:2") {
		t.Fatalf("ctrl+n did not select the innermost frame:\n%s", v)
	}
	d.Send(panetest.Key("enter"))
	if b, ok := panetest.Last[common.BrowseMsg](d); !ok || b.OID != o || b.Selector != "b" {
		t.Fatalf("enter on frame b sent %+v, want BrowseMsg{%d b}", d.Out, o)
	}
	if strings.Contains(m.Value(), "\n") {
		t.Fatalf("enter on a frame typed a newline: %q", m.Value())
	}
	d.Send(panetest.Keys("ctrl+n", "ctrl+n", "enter")...)
	if b, ok := panetest.Last[common.BrowseMsg](d); !ok || b.OID != o || b.Selector != "a" {
		t.Fatalf("enter on frame a sent %+v, want BrowseMsg{%d a}", d.Out, o)
	}
	d.Send(panetest.Key("ctrl+r"))
	p, ok := panetest.Last[common.PagerMsg](d)
	if !ok || !strings.Contains(p.Text, "error:") || !strings.Contains(p.Text, ".a:2 →\n") || !strings.Contains(p.Text, ".b:2") || strings.Contains(p.Text, "▸") {
		t.Fatalf("pager %+v", p)
	}
}

// TestLongChainShowsSelectedFrame: a chain longer than the rows under
// the input shows its first frames and a count; the frame selected is
// kept in view, under the error's line.
func TestLongChainShowsSelectedFrame(t *testing.T) {
	img := commontest.New()
	var frames []api.Frame
	for _, s := range []string{"f1", "f2", "f3", "f4", "f5", "f6"} {
		frames = append(frames, api.Frame{Object: api.Ref{OID: 7, Name: "Lobby.p (object 7)"}, Holder: &api.Ref{OID: 7}, Selector: s, Line: 3})
	}
	frames[5].Holder = &api.Ref{OID: 9, Name: "proto (object 9)"}
	img.Errors["p.f1()"] = &api.Error{Kind: api.ErrPanic, Message: "boom", Frames: frames}
	m, d := drive(t, img)
	d.Send(panetest.Type("p.f1()")...)
	d.Send(panetest.Key("ctrl+d"))
	v := panetest.Plain(m.View())
	if !strings.Contains(v, "error: boom") || !strings.Contains(v, "Lobby.p (object 7).f1:3 →") || strings.Contains(v, "f6") || !strings.Contains(v, "more lines") {
		t.Fatalf("view:\n%s", v)
	}
	d.Send(panetest.Key("ctrl+n"))
	v = panetest.Plain(m.View())
	if !strings.Contains(v, "error: boom") || !strings.Contains(v, "▸ Lobby.p (object 7).f6:3 (method of proto (object 9))") {
		t.Fatalf("the innermost frame selected is not in view:\n%s", v)
	}
	if h := m.ShortHelp(); h[0].Help().Key != "enter" {
		t.Fatalf("help while a frame is selected: %+v", h[0].Help())
	}
	d.Send(panetest.Keys("up", "enter")...)
	if b, ok := panetest.Last[common.BrowseMsg](d); !ok || b.OID != 7 || b.Selector != "f5" {
		t.Fatalf("up, enter sent %+v", d.Out)
	}
	d.Send(panetest.Keys("ctrl+n", "esc")...)
	if v := panetest.Plain(m.View()); strings.Contains(v, "▸") || !m.Editing() {
		t.Fatalf("esc did not unselect the frame (and only that):\n%s", v)
	}
	if h := m.ShortHelp(); h[0].Help().Key != "ctrl+n" {
		t.Fatalf("help under an error with frames: %+v", h[0].Help())
	}
	d.Out = nil
	d.Send(panetest.Keys("ctrl+n", "enter")...)
	if b, ok := panetest.Last[common.BrowseMsg](d); !ok || b.OID != 9 || b.Selector != "f6" {
		t.Fatalf("sent %+v", d.Out)
	}
}

// TestParagraphsOverARealImage: paragraphs run one by one share their
// variables; print it writes the value after the paragraph.
func TestParagraphsOverARealImage(t *testing.T) {
	img := panetest.Open(t)
	m, d := driveOver(t, img)
	d.Send(panetest.Type("x := 6\n\nx * 7")...)
	d.Send(panetest.Keys("up", "up", "ctrl+d")...)
	if v := panetest.Plain(m.View()); !strings.Contains(v, "✓ done") {
		t.Fatalf("do it of x := 6:\n%s", v)
	}
	d.Send(panetest.Keys("down", "down", "ctrl+p")...)
	if want := "x := 6\n\nx * 7\n// ⇒ 42"; m.Value() != want {
		t.Fatalf("input %q, want %q; view:\n%s", m.Value(), want, m.View())
	}
	if m.Dirty() {
		t.Fatal("both paragraphs evaluated, yet the input counts as unsaved")
	}
}
