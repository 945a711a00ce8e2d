// Package eventhub numbers the events of one image in one sequence, keeps
// the newest in a ring for clients that reconnect, and fans them out to
// subscribers without ever blocking the publisher: the broadcast half of
// the contract server.Backend states, shared by system and the server's
// in-memory test backend.
package eventhub

import (
	"sync"
	"time"

	"batos/api"
)

// Hub numbers every event of the image in one sequence, keeps the newest
// in a ring for replay, and fans them out to subscribers without ever
// blocking the publisher.
//
// Invariants (under mu): seq is the Seq of the newest event published;
// ring holds the newest len(ring) events in order, ring[n-1].Seq == seq;
// each subscriber's channel has room for its buffer plus one, and that one
// is kept for the EventMissed that ends a subscriber which fell behind.
type Hub struct {
	mu sync.Mutex
	// published is closed and replaced by each publish: AwaitCommit's
	// wake-up.
	published chan struct{}
	seq       uint64
	ring      []api.Event
	max       int
	subs      map[*subscriber]struct{}
	closed    bool
}

type subscriber struct {
	c      chan api.Event
	buffer int
}

// New returns a hub that keeps the newest replay events (at least one).
func New(replay int) *Hub {
	replay = max(replay, 1)
	return &Hub{max: replay, subs: map[*subscriber]struct{}{}, published: make(chan struct{})}
}

// Publish gives ev the next sequence number, delivers it, and returns
// the number (0 once closed). A subscriber
// whose buffer is full gets an EventMissed and is dropped (its channel
// closed): a slow reader never slows the image or other readers.
func (h *Hub) Publish(ev api.Event) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0
	}
	h.seq++
	ev.Seq = h.seq
	if len(h.ring) == h.max {
		copy(h.ring, h.ring[1:])
		h.ring = h.ring[:h.max-1]
	}
	h.ring = append(h.ring, ev)
	for s := range h.subs {
		if len(s.c) >= s.buffer {
			s.c <- api.Event{Seq: ev.Seq, Type: api.EventMissed, Missed: 1}
			close(s.c)
			delete(h.subs, s)
			continue
		}
		s.c <- ev
	}
	close(h.published)
	h.published = make(chan struct{})
	return ev.Seq
}

// commitWait bounds how long AwaitCommit waits: the kernel's bus drops
// events for a subscriber that falls 4096 behind, and a request must not
// hang on an event that will never come.
const commitWait = 2 * time.Second

// AwaitCommit waits until the commit event of transaction tx has been
// published (or commitWait passed).
func (h *Hub) AwaitCommit(tx uint64) {
	timeout := time.NewTimer(commitWait)
	defer timeout.Stop()
	for {
		h.mu.Lock()
		if h.closed || h.hasCommit(tx) {
			h.mu.Unlock()
			return
		}
		wake := h.published
		h.mu.Unlock()
		select {
		case <-wake:
		case <-timeout.C:
			return
		}
	}
}

// hasCommit reports whether the ring holds tx's commit. Concurrent
// commits may be published out of transaction order, so the whole ring
// is searched, newest first.
func (h *Hub) hasCommit(tx uint64) bool {
	for i := len(h.ring) - 1; i >= 0; i-- {
		if ev := h.ring[i]; ev.Type == api.EventCommit && ev.Tx != nil && ev.Tx.ID == tx {
			return true
		}
	}
	return false
}

// Subscribe delivers the events after seq since (0: from now on), then
// live ones. When the ring no longer holds the event after since, the
// first event is an EventMissed counting those lost, then live ones.
func (h *Hub) Subscribe(since uint64, buffer int) (<-chan api.Event, func()) {
	if buffer < 1 {
		buffer = 1
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var replay []api.Event
	if since > 0 && since < h.seq {
		oldest := h.seq + 1
		if len(h.ring) > 0 {
			oldest = h.ring[0].Seq
		}
		if since+1 < oldest {
			replay = []api.Event{{Seq: h.seq, Type: api.EventMissed, Missed: oldest - since - 1}}
		} else {
			replay = h.ring[len(h.ring)-int(h.seq-since):]
		}
	}
	s := &subscriber{c: make(chan api.Event, buffer+len(replay)+1), buffer: buffer + len(replay)}
	for _, ev := range replay {
		s.c <- ev
	}
	if h.closed {
		close(s.c)
		return s.c, func() {}
	}
	h.subs[s] = struct{}{}
	return s.c, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[s]; ok {
			delete(h.subs, s)
			close(s.c)
		}
	}
}

// Close ends every subscription.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		close(s.c)
		delete(h.subs, s)
	}
}

// Seq returns the newest event's sequence number.
func (h *Hub) Seq() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

// Subscribers counts the live subscriptions.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
