package transcript_test

import (
	"strings"
	"testing"
	"time"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
	"batos/tui/transcript"
)

// gen is a token of user's send fibonacci: text, or an outcome with its
// reason, by persona in attempt.
func gen(persona string, attempt int, text, outcome, reason string) common.EventMsg {
	return common.EventMsg{Event: api.Event{Type: api.EventToken, Token: &api.Token{Principal: "user", Persona: persona, Selector: "fibonacci",
		Attempt: attempt, Text: text, Outcome: outcome, Reason: reason}}}
}

// TestAttemptsSeparated: a generation that tries three times, with two
// personas and a reviewer, shows one entry per persona and attempt, each
// ended by its outcome: the compiler's rejection (its lines joined, as an
// error), the unreachable persona, the reviewer's verdicts and the
// candidate they turned down, the accepted one. v shows an entry in full,
// the reason as it came.
func TestAttemptsSeparated(t *testing.T) {
	c := &common.Common{Image: commontest.New(), Styles: common.DefaultStyles(), Clock: func() time.Time { return clock }}
	tr := transcript.New(c)
	tr.SetSize(110, 40)
	d := &panetest.Driver{TB: t, Pane: tr}
	d.Focus()
	compile := "does not compile:\n./fibonacci.go:2: undefined: x"
	d.Send(
		gen("BRICK", 1, "func fibonacci(self Object, n int) int {\n\treturn x\n}", "", ""),
		gen("BRICK", 1, "", "rejected", compile),
		gen("ROBIN", 1, "", "unreachable", "dial tcp 127.0.0.1:8081: connection refused"),
	)
	// The persona's server is silent at first: the attempt's entry says
	// so until the first token.
	d.Send(common.EventMsg{Event: api.Event{Type: api.EventToken, Token: &api.Token{Principal: "user", Persona: "BRICK", Selector: "fibonacci",
		Attempt: 2, Waiting: 5, Endpoint: "http://127.0.0.1:8080"}}})
	if v := panetest.Plain(tr.View()); !strings.Contains(v, "pLLM/BRICK is writing fibonacci · attempt 2\n  ▌\n  waiting for http://127.0.0.1:8080: no answer after 5s") {
		t.Fatalf("the silent server of attempt 2:\n%s", v)
	}
	d.Send(
		gen("BRICK", 2, "func fibonacci(self Object, n int) int {\n\tfor {}\n}", "", ""),
		gen("ALFRED", 2, "REJECT\nit loops forever", "", ""),
		gen("ALFRED", 2, "", "rejected", "REJECT\nit loops forever"),
		gen("BRICK", 2, "", "rejected", "ALFRED's review: REJECT\nit loops forever"),
		gen("BRICK", 3, "func fibonacci(self Object, n int) int {\n\treturn n\n}", "", ""),
		gen("ALFRED", 3, "APPROVE\nlooks right", "", ""),
		gen("ALFRED", 3, "", "approved", "APPROVE\nlooks right"),
		gen("BRICK", 3, "", "accepted", ""),
	)
	v := panetest.Plain(tr.View())
	for _, want := range []string{
		"pLLM/BRICK wrote fibonacci · attempt 1 · rejected\n  func fibonacci(self Object, n int) int {\n      return x\n  }\n  rejected: does not compile: · ./fibonacci.go:2: undefined: x",
		"pLLM/ROBIN wrote fibonacci · attempt 1 · unreachable\n  unreachable: dial tcp 127.0.0.1:8081: connection refused",
		"pLLM/BRICK wrote fibonacci · attempt 2 · rejected\n  func fibonacci(self Object, n int) int {\n      for {}\n  }\n  rejected: ALFRED's review: REJECT · it loops forever",
		"pLLM/ALFRED wrote fibonacci · attempt 2 · rejected\n  REJECT\n  it loops forever\n  rejected: REJECT · it loops forever",
		"pLLM/BRICK wrote fibonacci · attempt 3 · accepted\n  func fibonacci(self Object, n int) int {\n      return n\n  }\n  accepted",
		"pLLM/ALFRED reviewed fibonacci · attempt 3 · approved\n  APPROVE\n  looks right\n  approved: APPROVE · looks right",
	} {
		if !strings.Contains(v, want) {
			t.Fatalf("the view lacks\n%s\n--- it shows:\n%s", want, v)
		}
	}
	if strings.Contains(v, "waiting for") {
		t.Fatalf("the waiting note outlived the first token:\n%s", v)
	}
	if tr.Len() != 6 {
		t.Fatalf("%d entries, want one per persona and attempt (6):\n%s", tr.Len(), v)
	}
	// A rejection is an error; an acceptance is not.
	raw := tr.View()
	if !strings.Contains(raw, c.Styles.Error.Render("rejected: does not compile: · ./fibonacci.go:2: undefined: x")) {
		t.Fatalf("the rejection is not styled as an error:\n%q", raw)
	}
	if !strings.Contains(raw, c.Styles.Info.Render("accepted")) {
		t.Fatalf("the acceptance is not styled as information:\n%q", raw)
	}
	// The installing commit comes after; every stream is over.
	d.Send(commit(9, "pLLM/BRICK", api.Change{Object: api.Ref{OID: 1, Name: "Lobby"}, Slots: []api.SlotChange{{Name: "fibonacci", Kind: api.KindMethod, Op: "added"}}}))
	if v := panetest.Plain(tr.View()); strings.Contains(v, "is writing") || !strings.Contains(v, "Lobby: +fibonacci") {
		t.Fatalf("after the commit:\n%s", v)
	}

	// v on the first attempt: its whole text, and the reason as it came.
	for range 6 {
		d.Send(panetest.Key("k"))
	}
	d.Out = nil
	d.Send(panetest.Key("v"))
	msg, ok := panetest.Last[common.PagerMsg](d)
	if !ok || msg.Title != "Transcript: pLLM/BRICK wrote fibonacci · attempt 1" ||
		!strings.Contains(msg.Text, "    return x\n}\n\nrejected: "+compile) {
		t.Fatalf("v on attempt 1: %+v", msg)
	}
	d.Send(panetest.Key("j"))
	d.Out = nil
	d.Send(panetest.Key("v"))
	if msg, _ := panetest.Last[common.PagerMsg](d); msg.Text != "18:40:00 pLLM/ROBIN wrote fibonacci · attempt 1\n\nunreachable: dial tcp 127.0.0.1:8081: connection refused" {
		t.Fatalf("v on the unreachable persona: %q", msg.Text)
	}
	d.Send(panetest.Key("j"), panetest.Key("j"))
	d.Out = nil
	d.Send(panetest.Key("v"))
	if msg, _ := panetest.Last[common.PagerMsg](d); msg.Title != "Transcript: pLLM/ALFRED wrote fibonacci · attempt 2" || !strings.HasSuffix(msg.Text, "rejected: REJECT\nit loops forever") {
		t.Fatalf("v on attempt 2's review: %+v", msg)
	}
}

// TestStreamsKeptApart: a stream still open is continued only by its own
// persona, selector, session and attempt; an outcome ends a stream that a
// commit already closed rather than adding one; a new attempt ends the
// streams of the one before that were left open.
func TestStreamsKeptApart(t *testing.T) {
	c := &common.Common{Image: commontest.New(), Styles: common.DefaultStyles(), Clock: func() time.Time { return clock }}
	tr := transcript.New(c)
	tr.SetSize(110, 30)
	d := &panetest.Driver{TB: t, Pane: tr}
	other := func(text string) common.EventMsg {
		return common.EventMsg{Event: api.Event{Type: api.EventToken, Token: &api.Token{Principal: "remote:bob", Persona: "BRICK", Selector: "fibonacci", Attempt: 1, Text: text}}}
	}
	d.Send(gen("BRICK", 1, "mine", "", ""), other("bobs"), gen("ROBIN", 1, "robins", "", ""))
	if tr.Len() != 3 {
		t.Fatalf("%d entries, want 3:\n%s", tr.Len(), panetest.Plain(tr.View()))
	}
	// Attempt 2 begins: the streams of attempt 1 left open are over
	// (bob's send is another generation).
	d.Send(gen("BRICK", 2, "again", "", ""))
	v := panetest.Plain(tr.View())
	if !strings.Contains(v, "pLLM/BRICK wrote fibonacci · attempt 1\n  mine\n") || !strings.Contains(v, "pLLM/ROBIN wrote fibonacci · attempt 1\n  robins\n") ||
		!strings.Contains(v, "pLLM/BRICK is writing fibonacci · attempt 1\n  bobs▌") {
		t.Fatalf("after attempt 2 began:\n%s", v)
	}
	// An outcome that comes late ends its stream, not a new one.
	d.Send(gen("BRICK", 1, "", "failed", "the trial run panicked"))
	v = panetest.Plain(tr.View())
	if tr.Len() != 4 || !strings.Contains(v, "pLLM/BRICK wrote fibonacci · attempt 1 · failed\n  mine\n  failed: the trial run panicked") {
		t.Fatalf("%d entries; the late outcome:\n%s", tr.Len(), v)
	}
	// A commit closes BRICK's stream before its outcome comes.
	d.Send(commit(4, "pLLM/BRICK"), gen("BRICK", 2, "", "accepted", ""))
	v = panetest.Plain(tr.View())
	if tr.Len() != 5 || !strings.Contains(v, "pLLM/BRICK wrote fibonacci · attempt 2 · accepted\n  again\n  accepted") {
		t.Fatalf("%d entries; the outcome after the commit:\n%s", tr.Len(), v)
	}
}
