package transcript_test

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/transcript"
)

var clock = time.Date(2026, 11, 25, 18, 40, 0, 0, time.UTC)

var screen *commontest.Recorder

// start opens a transcript on an image with no history.
func start(t *testing.T) (*teatest.TestModel, *transcript.Model) {
	t.Helper()
	img := commontest.New()
	img.Txs = []api.Tx{}
	return startOn(t, img)
}

// startOn opens a transcript on img, as the app does: Init loads the
// recent history.
func startOn(t *testing.T, img *commontest.Image) (*teatest.TestModel, *transcript.Model) {
	t.Helper()
	c := &common.Common{Image: img, Styles: common.DefaultStyles(), Clock: func() time.Time { return clock }}
	tr := transcript.New(c)
	screen = commontest.Record(commontest.NewModel(tr))
	tm := teatest.NewTestModel(t, screen, teatest.WithInitialTermSize(100, 20))
	return tm, tr
}

func waitFor(t *testing.T, _ *teatest.TestModel, texts ...string) {
	t.Helper()
	screen.WaitFor(t, 5*time.Second, texts...)
}

func quit(t *testing.T, tm *teatest.TestModel) {
	t.Helper()
	tm.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

func commit(id uint64, principal string, changes ...api.Change) common.EventMsg {
	return common.EventMsg{Event: api.Event{Type: api.EventCommit,
		Tx:      &api.Tx{ID: id, Time: clock.Add(time.Duration(id) * time.Second), Principal: principal},
		Changes: changes}}
}

var areaChange = api.Change{Object: api.Ref{OID: 12, Name: "point (object 12)"}, Slots: []api.SlotChange{
	{Name: "area", Kind: api.KindMethod, Op: "changed",
		Before: "func area(self Object) int {\n\treturn 1\n}", After: "func area(self Object) int {\n\treturn 2\n}"},
	{Name: "w", Kind: api.KindData, Op: "added", After: "2.0"},
}}

func TestCommitRendersPrincipalAndSlots(t *testing.T) {
	tm, tr := start(t)
	tm.Send(commit(7, "user", areaChange))
	waitFor(t, tm, "18:40:07", "user", "tx 7", "point (object 12): ~area +w")
	quit(t, tm)
	if tr.Len() != 1 {
		t.Fatalf("%d entries, want 1", tr.Len())
	}
}

func TestTokensStream(t *testing.T) {
	tm, tr := start(t)
	tok := func(text string) common.EventMsg {
		return common.EventMsg{Event: api.Event{Type: api.EventToken, Token: &api.Token{Principal: "pLLM/BRICK", Persona: "BRICK", Selector: "fibonacci", Text: text}}}
	}
	tm.Send(tok("func fibonacci(self Object, n int) int {\n"))
	waitFor(t, tm, "pLLM/BRICK", "is writing", "fibonacci", "func fibonacci(self Object, n int) int {")
	tm.Send(tok("\tif n < 2 { return n }\n"))
	waitFor(t, tm, "if n < 2 { return n }")
	tm.Send(commit(9, "pLLM/BRICK", api.Change{Object: api.Ref{OID: 1, Name: "Lobby"}, Slots: []api.SlotChange{{Name: "fibonacci", Kind: api.KindMethod, Op: "added", After: "func fibonacci…"}}}))
	waitFor(t, tm, "wrote", "Lobby: +fibonacci")
	quit(t, tm)
	if tr.Len() != 2 {
		t.Fatalf("%d entries, want the stream and the commit", tr.Len())
	}
}

func TestDiffToggles(t *testing.T) {
	tm, tr := start(t)
	tm.Send(commit(7, "user", areaChange))
	waitFor(t, tm, "tx 7")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitFor(t, tm, "-    return 1", "+    return 2", "w (data) added: (none) → 2.0")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitFor(t, tm, "▸")
	quit(t, tm)
	if v := ansi.Strip(tr.View()); strings.Contains(v, "return 2") {
		t.Fatalf("diff still shown after the second enter:\n%s", v)
	}
}

func TestFilterAndOutput(t *testing.T) {
	tm, tr := start(t)
	tm.Send(commit(1, "user"))
	tm.Send(commit(2, "pLLM/ROBIN"))
	tm.Send(commit(3, "forge"))
	tm.Send(common.EventMsg{Event: api.Event{Type: api.EventOutput, Client: "user", Output: "hello "}})
	tm.Send(common.EventMsg{Event: api.Event{Type: api.EventOutput, Client: "user", Output: "world\nsecond\n"}})
	waitFor(t, tm, "hello world", "second", "5 entries")
	tm.Send(tea.KeyPressMsg{Code: 'f', Text: "f"}) // user
	waitFor(t, tm, "filter: user")
	tm.Send(tea.KeyPressMsg{Code: 'f', Text: "f"}) // pLLM
	waitFor(t, tm, "filter: pLLM")
	quit(t, tm)
	v := ansi.Strip(tr.View())
	if !strings.Contains(v, "pLLM/ROBIN") || strings.Contains(v, "forge") || strings.Contains(v, "hello") {
		t.Fatalf("pLLM filter shows:\n%s", v)
	}
}

func TestCapAndVirtualised(t *testing.T) {
	c := &common.Common{Image: commontest.New(), Styles: common.DefaultStyles(), Clock: func() time.Time { return clock }}
	tr := transcript.New(c)
	tr.SetSize(80, 10)
	for i := 1; i <= transcript.MaxEntries*2; i++ {
		tr.Update(commit(uint64(i), "user"))
	}
	if n := tr.Len(); n > transcript.MaxEntries+transcript.MaxEntries/10 {
		t.Fatalf("kept %d entries, cap %d", n, transcript.MaxEntries)
	}
	v := ansi.Strip(tr.View())
	if !strings.Contains(v, "tx 10000") {
		t.Fatalf("the newest commit is not on screen:\n%s", v)
	}
}

func BenchmarkView(b *testing.B) {
	c := &common.Common{Image: commontest.New(), Styles: common.DefaultStyles(), Clock: func() time.Time { return clock }}
	tr := transcript.New(c)
	tr.SetSize(100, 40)
	for i := 1; i <= transcript.MaxEntries; i++ {
		tr.Update(commit(uint64(i), "user", areaChange))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.Update(commit(uint64(i), "user", areaChange))
		_ = tr.View()
	}
}

// TestOutputOfEachClient: output is attributed to the client that printed
// it, and one client's unfinished line is not joined by another's.
func TestOutputOfEachClient(t *testing.T) {
	tm, tr := start(t)
	out := func(client, text string) common.EventMsg {
		return common.EventMsg{Event: api.Event{Type: api.EventOutput, Client: client, Request: "7", Output: text}}
	}
	tm.Send(out("user", "mine "))
	tm.Send(out("remote:alice", "hers "))
	tm.Send(out("user", "too\n"))
	tm.Send(out("remote:alice", "also\n"))
	waitFor(t, tm, "user       output mine too", "remote:alice output hers also", "2 entries")
	tm.Send(common.EventMsg{Event: api.Event{Type: api.EventMissed, Missed: 3}})
	waitFor(t, tm, "missed 3 events")
	tm.Send(tea.KeyPressMsg{Code: 'f', Text: "f"}) // user
	waitFor(t, tm, "filter: user")
	quit(t, tm)
	v := ansi.Strip(tr.View())
	if strings.Contains(v, "hers") || !strings.Contains(v, "mine too") || !strings.Contains(v, "missed 3 events") {
		t.Fatalf("user filter shows:\n%s", v)
	}
}

// TestSilentServerShown: while the persona's server says nothing, the
// stream entry says how long it has been waited for; the first token
// replaces the note.
func TestSilentServerShown(t *testing.T) {
	tm, _ := start(t)
	wait := func(seconds float64) common.EventMsg {
		return common.EventMsg{Event: api.Event{Type: api.EventToken, Token: &api.Token{Principal: "user", Persona: "BRICK", Selector: "fibonacci", Waiting: seconds, Endpoint: "http://127.0.0.1:8080"}}}
	}
	tm.Send(wait(5.2))
	waitFor(t, tm, "is writing", "waiting for http://127.0.0.1:8080: no answer after 5s")
	tm.Send(wait(10.1))
	waitFor(t, tm, "no answer after 10s")
	tm.Send(common.EventMsg{Event: api.Event{Type: api.EventToken, Token: &api.Token{Principal: "user", Persona: "BRICK", Selector: "fibonacci", Text: "func fibonacci"}}})
	waitFor(t, tm, "func fibonacci")
	quit(t, tm)
}
