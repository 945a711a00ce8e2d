package workspace

import (
	"strings"
	"testing"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

// withHistory gives the fake image a workspace object whose history slot
// holds v.
func withHistory(img *commontest.Image, v api.Value) {
	lobby := img.Objects[commontest.Lobby]
	lobby.Slots = append(lobby.Slots, api.SlotView{Name: api.InputsObject, Kind: api.KindData, Value: commontest.Ref(api.Ref{OID: 5, Name: "workspace (object 5)"})})
	img.Objects[commontest.Lobby] = lobby
	img.Objects[5] = api.ObjectView{Ref: api.Ref{OID: 5, Name: "workspace (object 5)"}, Slots: []api.SlotView{
		{Name: api.InputsSlot, Kind: api.KindData, Value: &v},
	}}
}

func drive(t *testing.T, img *commontest.Image) (*Model, *panetest.Driver) {
	t.Helper()
	return driveOver(t, img)
}

// TestHistoryFromItems: the history is the strings among the slot's
// items, as data; its printed text is never read (here it says nothing
// useful).
func TestHistoryFromItems(t *testing.T) {
	img := commontest.New()
	v := api.List(api.String("1 + 1"), api.Int(3), api.String("multi\nline `x`"))
	v.Text = "[]any{…}"
	withHistory(img, v)
	m, d := drive(t, img)
	if got := strings.Join(m.history, "|"); got != "1 + 1|multi\nline `x`" {
		t.Fatalf("history = %q", got)
	}
	d.Send(panetest.Key("up"))
	if m.Value() != "multi\nline `x`" {
		t.Fatalf("up recalled %q", m.Value())
	}
}

// TestHistoryNotAList: a history slot holding something else is reported,
// not guessed at.
func TestHistoryNotAList(t *testing.T) {
	img := commontest.New()
	withHistory(img, api.String(`[]any{"1 + 1"}`))
	m, d := drive(t, img)
	if len(m.history) != 0 {
		t.Fatalf("history = %q", m.history)
	}
	if e, ok := panetest.Last[common.ErrMsg](d); !ok || !strings.Contains(e.Err.Error(), "holds a string, not a list") {
		t.Fatalf("sent %+v", d.Out)
	}
}

// TestOnlyOwnOutput: the workspace shows the output of its own client
// (api.Status.Client), not another client's.
func TestOnlyOwnOutput(t *testing.T) {
	img := commontest.New()
	img.Fixed.Client = "remote:bob"
	m, d := drive(t, img)
	d.Send(panetest.Type("42")...)
	d.Send(panetest.Key("ctrl+p"))
	out := func(client, text string) common.EventMsg {
		return common.EventMsg{Event: api.Event{Type: api.EventOutput, Client: client, Output: text}}
	}
	d.Send(out("remote:bob", "mine "), out("user", "not mine\n"), out("remote:bob", "too\n"))
	v := panetest.Plain(m.View())
	if !strings.Contains(v, "mine too") || strings.Contains(v, "not mine") || !strings.Contains(v, "⇒ 42") {
		t.Fatalf("view:\n%s", v)
	}
	// A new evaluation starts with no output.
	d.Send(panetest.Key("ctrl+p"))
	if v := panetest.Plain(m.View()); strings.Contains(v, "mine too") {
		t.Fatalf("old output kept:\n%s", v)
	}
}

// TestLongOutputKeepsTheNewest: more output than fits shows its newest
// lines under a count of the others, and the value.
func TestLongOutputKeepsTheNewest(t *testing.T) {
	img := commontest.New()
	m, d := drive(t, img)
	d.Send(panetest.Type("42")...)
	d.Send(panetest.Key("ctrl+p"))
	var b strings.Builder
	for i := range 50 {
		b.WriteString(strings.Repeat("x", i%3) + "line " + string(rune('a'+i%26)) + "\n")
	}
	d.Send(common.EventMsg{Event: api.Event{Type: api.EventOutput, Client: "user", Output: b.String()}})
	v := panetest.Plain(m.View())
	if !strings.Contains(v, "earlier lines") || !strings.Contains(v, "xline x") || !strings.Contains(v, "⇒ 42") {
		t.Fatalf("view:\n%s", v)
	}
	if n := len(strings.Split(m.View(), "\n")); n != 12 {
		t.Fatalf("view is %d lines", n)
	}
}
