package workspace

import (
	"fmt"
	"strings"
	"testing"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

// words is n numbered words, w001 w002 …, then END.
func words(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "w%03d ", i)
	}
	return b.String() + "END"
}

// TestFullResultInPager: a printed value wider and taller than the pane
// is cut there ("…"); ctrl+r, typing or not, sends the app the output and
// the whole value for its pager.
func TestFullResultInPager(t *testing.T) {
	img := commontest.New()
	long := words(60) + "\nsecond\nthird\nfourth\nfifth\nsixth"
	img.Results["long"] = api.Result{HasValue: true, Value: commontest.Text(long)}
	m, d := drive(t, img)
	d.Send(panetest.Key("ctrl+r"))
	if msg, ok := panetest.Last[common.InfoMsg](d); !ok || !strings.Contains(msg.Text, "no result yet") {
		t.Fatalf("ctrl+r before any evaluation sent %+v", d.Out)
	}
	d.Send(panetest.Type("long")...)
	d.Send(panetest.Key("ctrl+p"))
	d.Send(common.EventMsg{Event: api.Event{Type: api.EventOutput, Client: "user", Output: "printed first\n"}})
	if v := panetest.Plain(m.View()); !strings.Contains(v, "⇒ w001") || !strings.Contains(v, "…") || strings.Contains(v, "END") || strings.Contains(v, "sixth") {
		t.Fatalf("the pane does not show the value cut:\n%s", v)
	}
	for _, keys := range [][]string{{"ctrl+r"}, {"esc", "ctrl+r"}} { // typing, then not
		d.Out = nil
		d.Send(panetest.Keys(keys...)...)
		msg, ok := panetest.Last[common.PagerMsg](d)
		if !ok {
			t.Fatalf("%v sent no PagerMsg: %+v", keys, d.Out)
		}
		if want := "printed first\n⇒ " + long; msg.Text != want {
			t.Fatalf("%v: pager text\n%q\nwant\n%q", keys, msg.Text, want)
		}
		if msg.Title != "Workspace: long" {
			t.Fatalf("title %q", msg.Title)
		}
	}
}
