// Package eventhub numbers the events of one image in one sequence, keeps
// the newest in a ring for clients that reconnect, and fans them out to
// subscribers without ever blocking the publisher: the broadcast half of
// the contract server.Backend states, shared by system and the server's
// in-memory test backend.
package eventhub

import (
	"slices"
	"sync"
	"time"

	"batos/api"
)

// Hub numbers every event of the image in one sequence, keeps the newest
// in a ring for replay, and fans them out to subscribers without ever
// blocking the publisher.
//
// Invariants (under mu): seq is the Seq of the newest event published;
// the ring holds the newest n events, the i-th oldest at
// ring[(head+i)%len(ring)], and the newest has Seq seq; commits holds the
// transaction IDs of the newest len(commits) commit events, whatever the
// ring's size; each subscriber's channel has room for its buffer plus one,
// and that one is kept for the EventMissed that ends a subscriber which
// fell behind.
type Hub struct {
	mu sync.Mutex
	// published is closed and replaced by each publish: AwaitCommit's
	// wake-up.
	published chan struct{}
	seq       uint64
	ring      []api.Event // circular: a publish moves no event
	head, n   int
	// commits is circular too, next its next slot: AwaitCommit must find
	// a commit that many other events have followed before it looked,
	// even when the ring keeps only one.
	commits []uint64
	next    int
	subs    map[*subscriber]struct{}
	closed  bool
}

// recentCommits is how many commits AwaitCommit can look back on: far
// more than can be published between a commit and its request's check.
const recentCommits = 1024

type subscriber struct {
	c      chan api.Event
	buffer int
}

// New returns a hub that keeps the newest replay events (at least one).
func New(replay int) *Hub {
	return &Hub{
		ring:      make([]api.Event, max(replay, 1)),
		commits:   make([]uint64, recentCommits),
		subs:      map[*subscriber]struct{}{},
		published: make(chan struct{}),
	}
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
	if h.n == len(h.ring) {
		h.ring[h.head] = ev
		h.head = (h.head + 1) % len(h.ring)
	} else {
		h.ring[(h.head+h.n)%len(h.ring)] = ev
		h.n++
	}
	if ev.Type == api.EventCommit && ev.Tx != nil && ev.Tx.ID != 0 {
		h.commits[h.next] = ev.Tx.ID
		h.next = (h.next + 1) % len(h.commits)
	}
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
// published, and reports whether it was; false when commitWait passed or
// the hub closed first.
func (h *Hub) AwaitCommit(tx uint64) bool {
	timeout := time.NewTimer(commitWait)
	defer timeout.Stop()
	for {
		h.mu.Lock()
		found, closed := h.hasCommit(tx), h.closed
		wake := h.published
		h.mu.Unlock()
		if found || closed {
			return found
		}
		select {
		case <-wake:
		case <-timeout.C:
			return false
		}
	}
}

// hasCommit reports whether tx's commit is among the recent ones.
// Concurrent commits may be published out of transaction order, so all
// are searched.
func (h *Hub) hasCommit(tx uint64) bool {
	return slices.Contains(h.commits, tx)
}

// at returns the i-th oldest event of the ring.
func (h *Hub) at(i int) api.Event { return h.ring[(h.head+i)%len(h.ring)] }

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
		if h.n > 0 {
			oldest = h.at(0).Seq
		}
		if since+1 < oldest {
			replay = []api.Event{{Seq: h.seq, Type: api.EventMissed, Missed: oldest - since - 1}}
		} else {
			for i := h.n - int(h.seq-since); i < h.n; i++ {
				replay = append(replay, h.at(i))
			}
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
