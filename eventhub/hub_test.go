package eventhub

import (
	"testing"

	"batos/api"
)

func output(text string) api.Event { return api.Event{Type: api.EventOutput, Output: text} }

func recv(t *testing.T, c <-chan api.Event) api.Event {
	t.Helper()
	select {
	case ev, ok := <-c:
		if !ok {
			t.Fatal("channel closed")
		}
		return ev
	default:
		t.Fatal("no event ready")
	}
	return api.Event{}
}

func TestHubReplay(t *testing.T) {
	h := New(4)
	for _, s := range []string{"a", "b", "c", "d", "e", "f"} {
		h.Publish(output(s))
	}
	// The ring holds seq 3..6. since=4: exactly 5 and 6, then live.
	c, cancel := h.Subscribe(4, 8)
	defer cancel()
	for _, want := range []uint64{5, 6} {
		if ev := recv(t, c); ev.Seq != want || ev.Type != api.EventOutput {
			t.Fatalf("replayed %+v, want seq %d", ev, want)
		}
	}
	h.Publish(output("g"))
	if ev := recv(t, c); ev.Seq != 7 || ev.Output != "g" {
		t.Fatalf("live %+v", ev)
	}
	// since=1: 2 is gone; the subscriber is told how many it missed.
	old, cancel2 := h.Subscribe(1, 8)
	defer cancel2()
	if ev := recv(t, old); ev.Type != api.EventMissed || ev.Missed != 2 {
		t.Fatalf("too old: %+v, want missed 2 (seq 2 and 3)", ev)
	}
	// since = now: nothing to replay.
	now, cancel3 := h.Subscribe(7, 8)
	defer cancel3()
	select {
	case ev := <-now:
		t.Fatalf("replayed %+v for an up-to-date subscriber", ev)
	default:
	}
}

// TestHubSlowSubscriber: a subscriber that falls behind is dropped with an
// EventMissed last; the publisher and other subscribers go on.
func TestHubSlowSubscriber(t *testing.T) {
	h := New(16)
	slow, cancelSlow := h.Subscribe(0, 2)
	fast, cancelFast := h.Subscribe(0, 100)
	defer cancelFast()
	for i := range 10 {
		h.Publish(output(string(rune('a' + i))))
		recv(t, fast)
	}
	got := []api.Event{}
	for ev := range slow {
		got = append(got, ev)
	}
	if len(got) != 3 || got[0].Seq != 1 || got[1].Seq != 2 || got[2].Type != api.EventMissed {
		t.Fatalf("slow subscriber got %+v, want seq 1, 2 then missed", got)
	}
	cancelSlow() // a no-op once dropped
	// Resubscribing from the last seq it saw replays the rest.
	again, cancel := h.Subscribe(2, 100)
	defer cancel()
	if ev := recv(t, again); ev.Seq != 3 {
		t.Fatalf("resubscribed at %+v, want seq 3", ev)
	}
}

func TestHubClose(t *testing.T) {
	h := New(4)
	c, cancel := h.Subscribe(0, 4)
	h.Close()
	if _, ok := <-c; ok {
		t.Fatal("subscription open after close")
	}
	cancel()
	h.Publish(output("late")) // must not panic or block
	late, _ := h.Subscribe(0, 4)
	if _, ok := <-late; ok {
		t.Fatal("subscription after close is open")
	}
}

// TestHubAwaitCommitBeyondRing: a commit that later events pushed out of
// a one-event ring before its request looked is still found, at once
// (before this, the request waited the full commitWait).
func TestHubAwaitCommitBeyondRing(t *testing.T) {
	h := New(1)
	h.Publish(api.Event{Type: api.EventCommit, Tx: &api.Tx{ID: 7}})
	for range 100 {
		h.Publish(output("later"))
	}
	if !h.AwaitCommit(7) {
		t.Fatal("commit 7 not found once later events filled the ring")
	}
	done := make(chan bool)
	go func() { done <- h.AwaitCommit(8) }()
	h.Publish(output("not it"))
	h.Publish(api.Event{Type: api.EventCommit, Tx: &api.Tx{ID: 8}})
	if !<-done {
		t.Fatal("commit 8, published while awaited, not found")
	}
	h.Close()
	if h.AwaitCommit(9) {
		t.Fatal("a closed hub reported a commit never published")
	}
}
