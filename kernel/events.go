package kernel

import (
	"fmt"
	"sync"
	"time"

	"batos/image"
)

// EventKind tells what an Event reports.
type EventKind int

const (
	// EventCommit: a transaction became durable; Tx and Changes are set.
	EventCommit EventKind = iota
	// EventToken: a piece of model output while the pLLM writes; Token is set.
	EventToken
	// EventForge: a Forge job's progress between its transitions (which
	// are commits); Forge is set.
	EventForge
)

// Event is published after each commit becomes durable, and for each
// piece of model output as it streams in. The kernel's commits are
// published in TxID order: one that becomes durable first waits for the
// events of those applied before it (see Pending).
type Event struct {
	// Seq numbers the bus's events in the order it published them, from 1.
	Seq     uint64
	Kind    EventKind
	Tx      image.TxInfo
	Changes []ObjectChange
	Token   *Token
	Forge   *ForgeProgress
}

// ForgeProgress is a Forge job's live state: its last committed
// transition's state, and the trainer's latest progress line. It is not
// committed: a job's progress is a stream, its transitions are history.
type ForgeProgress struct {
	Job     int
	Persona string
	State   string
	Step    int
	Steps   int
	Loss    float64
	LR      float64
	ETA     int    // seconds
	Line    string // the job's newest log line, for a live tail
}

// PublishForge publishes a Forge job's progress.
func (b *Bus) PublishForge(p ForgeProgress) { b.publish(Event{Kind: EventForge, Forge: &p}) }

// Token is a piece of model output streamed while the pLLM works.
type Token struct {
	Principal string // the session whose send is being answered
	Persona   string
	Selector  string
	Text      string
	// Waiting, when not zero, says that the persona's server at Endpoint
	// has accepted the request and said nothing for that long (Text is
	// empty): clients show that the model is being waited for.
	Waiting  time.Duration
	Endpoint string
	// Attempt is the generation's attempt the text belongs to (1 and
	// up; 0 when the text is not a candidate's, as infer's).
	Attempt int
	// Outcome, when set, ends a candidate (Text is empty): "accepted",
	// "rejected", "failed", "unreachable", "not needed" — or a review's
	// "approved" or "rejected" (Persona is the reviewer) — with Reason
	// saying why.
	Outcome, Reason string
}

// PublishToken publishes a piece of model output.
func (b *Bus) PublishToken(t Token) { b.publish(Event{Kind: EventToken, Token: &t}) }

// ObjectChange is what one transaction did to one object.
type ObjectChange struct {
	OID     image.OID
	Name    string // the object's described name, e.g. "Lobby" or "object 12"
	Created bool
	Deleted bool
	Slots   []SlotChange
}

// SlotOp says how a slot changed.
type SlotOp int

const (
	SlotAdded SlotOp = iota + 1
	SlotRemoved
	SlotChanged
)

func (op SlotOp) String() string {
	switch op {
	case SlotAdded:
		return "added"
	case SlotRemoved:
		return "removed"
	case SlotChanged:
		return "changed"
	}
	return fmt.Sprintf("SlotOp(%d)", int(op))
}

// SlotChange is one slot's change. Before and After are the method source
// for method slots and a printed value otherwise; empty when absent.
type SlotChange struct {
	Name   string
	Kind   image.SlotKind
	Op     SlotOp
	Before string
	After  string
}

func diffObject(oid image.OID, before *image.Record, after []image.Slot, name string) ObjectChange {
	c := ObjectChange{OID: oid, Name: name, Created: before == nil}
	var old []image.Slot
	if before != nil {
		old = before.Slots
	}
	for _, s := range after {
		i := findSlot(old, s.Name)
		switch {
		case i < 0:
			c.Slots = append(c.Slots, SlotChange{Name: s.Name, Kind: s.Kind, Op: SlotAdded, After: slotText(s)})
		case old[i].Kind == s.Kind && sameScalar(old[i].Value, s.Value):
			// Unchanged, and known so without formatting it: a commit
			// that sets one slot of an object with many costs one text.
		default:
			b, a := slotText(old[i]), slotText(s)
			if b != a || old[i].Kind != s.Kind {
				c.Slots = append(c.Slots, SlotChange{Name: s.Name, Kind: s.Kind, Op: SlotChanged, Before: b, After: a})
			}
		}
	}
	for _, s := range old {
		if findSlot(after, s.Name) < 0 {
			c.Slots = append(c.Slots, SlotChange{Name: s.Name, Kind: s.Kind, Op: SlotRemoved, Before: slotText(s)})
		}
	}
	return c
}

// sameScalar reports whether a and b are equal values of a type whose
// text is a function of its value alone (lists and maps are not compared:
// their texts are).
func sameScalar(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		return same(x, b)
	case int:
		return same(x, b)
	case int64:
		return same(x, b)
	case float64:
		return same(x, b)
	case bool:
		return same(x, b)
	case image.Ref:
		return same(x, b)
	case image.Method:
		return same(x, b)
	case image.Primitive:
		return same(x, b)
	}
	return false
}

func same[T comparable](x T, b any) bool {
	y, ok := b.(T)
	return ok && x == y
}

func slotText(s image.Slot) string {
	switch v := s.Value.(type) {
	case image.Method:
		return v.Source
	case image.Primitive:
		return "<primitive " + v.Name + ">"
	default:
		return formatStored(v)
	}
}

// eventFromRevisions rebuilds the event of a transaction the kernel did not
// make itself (an undo) from the per-object revisions.
func (k *Kernel) eventFromRevisions(info image.TxInfo) Event {
	ev := Event{Kind: EventCommit, Tx: info}
	for _, oid := range info.Changed {
		revs, err := k.store.Revisions(oid)
		if err != nil {
			continue
		}
		var after, before *image.Record
		for i, r := range revs {
			if r.Tx == info.ID {
				after = r.Record
				if i+1 < len(revs) {
					before = revs[i+1].Record
				}
				break
			}
		}
		var slots []image.Slot
		if after != nil {
			slots = after.Slots
		}
		c := diffObject(oid, before, slots, describeSlots(oid, slots))
		c.Deleted = after == nil
		ev.Changes = append(ev.Changes, c)
	}
	return ev
}

// Bus fans events out to subscribers. Publishing never blocks: a
// subscriber that falls more than its buffer behind loses events and sees
// the count in Dropped.
type Bus struct {
	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
	seq    uint64
	// waiting are the places of the kernel's applied transactions whose
	// events are not published yet, in TxID order (reserve is called
	// under Kernel.applyMu). The first one unsettled holds back those
	// after it.
	waiting []*commitPlace
}

// commitPlace is an applied transaction's place in the order of commit
// events.
type commitPlace struct {
	settled   bool
	ev        *Event        // nil: nothing to publish (its sync failed)
	published chan struct{} // closed once ev is published or dropped
}

// reserve takes the next place in the order of commit events.
// REQUIRES: Kernel.applyMu held, right after the transaction's Apply.
func (b *Bus) reserve() *commitPlace {
	p := &commitPlace{published: make(chan struct{})}
	b.mu.Lock()
	b.waiting = append(b.waiting, p)
	b.mu.Unlock()
	return p
}

// settle gives place its event (nil for none) and publishes every settled
// event at the head of the order.
func (b *Bus) settle(place *commitPlace, ev *Event) {
	b.mu.Lock()
	place.settled, place.ev = true, ev
	n := 0
	for n < len(b.waiting) && b.waiting[n].settled {
		if p := b.waiting[n]; p.ev != nil {
			b.publishLocked(*p.ev)
		}
		n++
	}
	done := b.waiting[:n:n]
	b.waiting = b.waiting[n:]
	b.mu.Unlock()
	// Closed after the whole run is published: a waiter that wakes finds
	// the events applied after its own out too, when they were ready.
	for _, p := range done {
		close(p.published)
	}
}

// Seq is the sequence number of the newest event published: a subscriber
// that has seen it has seen everything published before.
func (b *Bus) Seq() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}

// Subscription receives events on C until Close.
type Subscription struct {
	C       <-chan Event
	c       chan Event
	bus     *Bus
	mu      sync.Mutex
	dropped int
}

func newBus() *Bus { return &Bus{subs: make(map[*Subscription]struct{})} }

// Subscribe returns a subscription with room for buffer pending events.
func (b *Bus) Subscribe(buffer int) *Subscription {
	c := make(chan Event, buffer)
	s := &Subscription{C: c, c: c, bus: b}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(c)
		return s
	}
	b.subs[s] = struct{}{}
	return s
}

// Close stops delivery and closes C.
func (s *Subscription) Close() {
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.c)
	}
}

// Dropped reports how many events were lost because C was full.
func (s *Subscription) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

func (b *Bus) publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.publishLocked(ev)
}

func (b *Bus) publishLocked(ev Event) {
	b.seq++
	ev.Seq = b.seq
	for s := range b.subs {
		select {
		case s.c <- ev:
		default:
			s.mu.Lock()
			s.dropped++
			s.mu.Unlock()
		}
	}
}

func (b *Bus) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		delete(b.subs, s)
		close(s.c)
	}
}
