package image

import (
	"errors"
	"flag"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

var modelSeed = flag.Uint64("image.seed", 0, "seed for TestRandomOpsAgainstModel (0: time)")

// modelRev is one revision in the model: slots nil means deleted.
type modelRev struct {
	tx    TxID
	slots []Slot
}

// model is the obviously-correct in-memory version of the store: per object
// its revisions, newest last, and per transaction the objects it changed.
type model struct {
	objs    map[OID][]modelRev
	changed map[TxID][]OID
	last    TxID
}

func (m *model) current(oid OID) ([]Slot, TxID, bool) {
	revs := m.objs[oid]
	if len(revs) == 0 {
		return nil, 0, false
	}
	r := revs[len(revs)-1]
	return r.slots, r.tx, r.slots != nil
}

func (m *model) commit(id TxID, writes map[OID][]Slot, order []OID) {
	m.last = id
	m.changed[id] = order
	for _, oid := range order {
		m.objs[oid] = append(m.objs[oid], modelRev{id, writes[oid]})
	}
}

// TestRandomOpsAgainstModel runs seeded random transactions (puts, reads,
// aborts, interleaved conflicting transactions, undo, reopen) against the
// store and the model, comparing every object after each step.
func TestRandomOpsAgainstModel(t *testing.T) {
	seed := *modelSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	defer func() {
		if t.Failed() {
			t.Logf("reproduce with: go test ./image/ -run TestRandomOpsAgainstModel -image.seed=%d", seed)
		}
	}()
	dir := t.TempDir()
	s, err := Open(dir, &Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	m := &model{objs: map[OID][]modelRev{}, changed: map[TxID][]OID{}}
	const maxOID = 12

	randomValue := func() any {
		switch rng.IntN(7) {
		case 0:
			return rng.IntN(100)
		case 1:
			return int64(rng.IntN(100))
		case 2:
			return "s" + string(rune('a'+rng.IntN(26)))
		case 3:
			return []any{rng.Float64(), Ref{OID(1 + rng.IntN(maxOID))}}
		case 4:
			return map[string]any{"k": []byte{byte(rng.IntN(256))}}
		case 5:
			return nil
		}
		return rng.IntN(2) == 0
	}
	randomSlots := func() []Slot {
		slots := make([]Slot, rng.IntN(4))
		for i := range slots {
			slots[i] = Slot{Name: string(rune('a' + i)), Kind: SlotData, Value: randomValue()}
		}
		return slots
	}
	// write buffers random puts in tx and returns them.
	write := func(tx *Txn) (map[OID][]Slot, []OID) {
		writes := map[OID][]Slot{}
		var order []OID
		for range 1 + rng.IntN(3) {
			oid := OID(1 + rng.IntN(maxOID))
			slots := randomSlots()
			if err := tx.Put(&Record{OID: oid, Slots: slots}); err != nil {
				t.Fatalf("seed %d: Put: %v", seed, err)
			}
			if _, ok := writes[oid]; !ok {
				order = append(order, oid)
			}
			writes[oid] = slots
		}
		return writes, order
	}
	verify := func(step int) {
		t.Helper()
		if s.LastTx() != m.last {
			t.Fatalf("seed %d step %d: LastTx %d, model %d", seed, step, s.LastTx(), m.last)
		}
		tx := s.Begin("verify")
		defer tx.Abort()
		for oid := OID(1); oid <= maxOID; oid++ {
			rec, found, err := tx.Get(oid)
			if err != nil {
				t.Fatalf("seed %d step %d: Get(%d): %v", seed, step, oid, err)
			}
			slots, serial, ok := m.current(oid)
			if found != ok {
				t.Fatalf("seed %d step %d: object %d found=%v, model %v", seed, step, oid, found, ok)
			}
			if found && (rec.Serial != serial || !reflect.DeepEqual(rec.Slots, slots) && len(slots)+len(rec.Slots) > 0) {
				t.Fatalf("seed %d step %d: object %d = %d %#v, model %d %#v", seed, step, oid, rec.Serial, rec.Slots, serial, slots)
			}
		}
	}

	for step := range 300 {
		switch op := rng.IntN(10); {
		case op < 5: // a plain transaction
			tx := s.Begin("model")
			writes, order := write(tx)
			if rng.IntN(5) == 0 {
				tx.Abort()
				break
			}
			info, err := tx.Commit()
			if err != nil {
				t.Fatalf("seed %d step %d: Commit: %v", seed, step, err)
			}
			m.commit(info.ID, writes, order)
		case op < 7: // two overlapping transactions: the second conflicts iff they share an object
			t1, t2 := s.Begin("one"), s.Begin("two")
			w1, o1 := write(t1)
			w2, o2 := write(t2)
			i1, err := t1.Commit()
			if err != nil {
				t.Fatalf("seed %d step %d: Commit: %v", seed, step, err)
			}
			m.commit(i1.ID, w1, o1)
			shared := false
			for _, oid := range o2 {
				_, in := w1[oid]
				shared = shared || in
			}
			i2, err := t2.Commit()
			var ce *ConflictError
			switch {
			case shared && (!errors.As(err, &ce) || ce.Tx != i1.ID):
				t.Fatalf("seed %d step %d: second commit = %v, want conflict with %d", seed, step, err, i1.ID)
			case !shared && err != nil:
				t.Fatalf("seed %d step %d: second commit = %v, want success", seed, step, err)
			case !shared:
				m.commit(i2.ID, w2, o2)
			}
		case op < 9 && m.last > 0: // undo a random transaction
			target := TxID(1 + rng.IntN(int(m.last)))
			var blocker TxID
			writes := map[OID][]Slot{}
			for _, oid := range m.changed[target] {
				revs := m.objs[oid]
				if cur := revs[len(revs)-1].tx; cur != target && blocker == 0 {
					blocker = cur
				}
				var prev []Slot
				for _, r := range revs {
					if r.tx < target {
						prev = r.slots
					}
				}
				writes[oid] = prev
			}
			info, err := s.Undo(target, "model")
			var uce *UndoConflictError
			switch {
			case blocker != 0 && (!errors.As(err, &uce) || uce.ChangedBy != blocker):
				t.Fatalf("seed %d step %d: Undo(%d) = %v, want conflict by %d", seed, step, target, err, blocker)
			case blocker == 0 && err != nil:
				t.Fatalf("seed %d step %d: Undo(%d) = %v", seed, step, target, err)
			case blocker == 0:
				m.commit(info.ID, writes, m.changed[target])
			}
		default: // reopen
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if s, err = Open(dir, nil); err != nil {
				t.Fatalf("seed %d step %d: reopen: %v", seed, step, err)
			}
		}
		verify(step)
	}
	if rep, err := s.Check(); err != nil && len(rep.Problems) > 0 {
		// Random refs may dangle and the root may be missing: only decoding
		// problems would be bugs here.
		for _, p := range rep.Problems {
			if !containsAny(p, "refers to missing", "root object") {
				t.Fatalf("seed %d: Check: %s", seed, p)
			}
		}
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
