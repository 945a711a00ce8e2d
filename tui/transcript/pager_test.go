package transcript_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
	"batos/tui/transcript"
)

// words is n numbered words, w001 w002 …, then END.
func words(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "w%03d ", i)
	}
	return b.String() + "END"
}

// TestEntryInFullInPager: v sends the app the selected entry in full for
// its pager: a commit's whole note-less summary, its diffs (folded in the
// pane) and a data slot's whole value (cut to a line there), a stream's
// whole text, an output line wider than the pane.
func TestEntryInFullInPager(t *testing.T) {
	c := &common.Common{Image: commontest.New(), Styles: common.DefaultStyles(), Clock: func() time.Time { return clock }}
	tr := transcript.New(c)
	tr.SetSize(60, 12)
	d := &panetest.Driver{TB: t, Pane: tr}
	d.Focus()
	value := words(30) + "\nsecond line of the value"
	d.Send(commit(7, "user", api.Change{Object: api.Ref{OID: 12, Name: "point (object 12)"}, Slots: []api.SlotChange{
		{Name: "area", Kind: api.KindMethod, Op: "changed", Before: "func area(self Object) int {\n\treturn 1\n}", After: "func area(self Object) int {\n\treturn 2\n}"},
		{Name: "w", Kind: api.KindData, Op: "added", After: value},
	}}))
	d.Send(common.EventMsg{Event: api.Event{Type: api.EventToken, Token: &api.Token{Principal: "pLLM/BRICK", Persona: "BRICK", Selector: "fib",
		Text: "func fib(self Object, n int) int {\n\t// " + words(20) + "\n\treturn n\n}"}}})
	d.Send(common.EventMsg{Event: api.Event{Type: api.EventOutput, Client: "remote:bob", Output: words(25) + "\n"}})
	if v := panetest.Plain(tr.View()); strings.Contains(v, "END") || !strings.Contains(v, "…") {
		t.Fatalf("the pane does not cut the entries:\n%s", v)
	}
	open := func() common.PagerMsg {
		t.Helper()
		d.Out = nil
		d.Send(panetest.Key("v"))
		msg, ok := panetest.Last[common.PagerMsg](d)
		if !ok {
			t.Fatalf("v sent no PagerMsg: %+v", d.Out)
		}
		return msg
	}
	// The newest entry is selected: the output line.
	if msg := open(); msg.Title != "Transcript: output of remote:bob" || !strings.Contains(msg.Text, words(25)) {
		t.Fatalf("output entry: %+v", msg)
	}
	d.Send(panetest.Key("k"))
	if msg := open(); msg.Title != "Transcript: pLLM/BRICK is writing fib" || !strings.Contains(msg.Text, "// "+words(20)+"\n") || !strings.Contains(msg.Text, "return n\n}") {
		t.Fatalf("stream entry: %+v", msg)
	}
	d.Send(panetest.Key("k"))
	msg := open()
	for _, want := range []string{"tx 7", "point (object 12): ~area +w", "-    return 1", "+    return 2", words(30) + "\n", "second line of the value"} {
		if !strings.Contains(msg.Text, want) {
			t.Fatalf("commit entry lacks %q: %+v", want, msg)
		}
	}
	if strings.Contains(msg.Text, "\x1b") {
		t.Fatalf("the pager's text is styled: %q", msg.Text)
	}
	if v := panetest.Plain(tr.View()); strings.Contains(v, "return 2") {
		t.Fatalf("v expanded the commit in the pane:\n%s", v)
	}
}
