package kernel

import (
	"slices"
	"testing"

	"batos/image"
)

// TestDiffObject: a commit's change lists the slots whose text changed,
// however the values compare.
func TestDiffObject(t *testing.T) {
	data := func(name string, v any) image.Slot { return image.Slot{Name: name, Kind: image.SlotData, Value: v} }
	method := func(src, author string) image.Slot {
		return image.Slot{Name: "m", Kind: image.SlotMethod, Value: image.Method{Source: src, Author: author}}
	}
	before := []image.Slot{
		data("s", "text"), data("n", 1), data("f", 1.5), data("b", true), data("r", image.Ref{OID: 7}),
		data("list", []any{1, "a"}), data("gone", 3), method("func m(self Object) {}", "user"),
	}
	change := func(name string, op SlotOp, before, after string) SlotChange {
		return SlotChange{Name: name, Kind: image.SlotData, Op: op, Before: before, After: after}
	}
	tests := []struct {
		name  string
		after []image.Slot
		want  []SlotChange
	}{
		{"unchanged", before, nil},
		{"a string changed", replace(before, data("s", "other")), []SlotChange{change("s", SlotChanged, `"text"`, `"other"`)}},
		{"another type", replace(before, data("n", int64(1))), []SlotChange{change("n", SlotChanged, "1", "int64(1)")}},
		{"an equal list", replace(before, data("list", []any{1, "a"})), nil},
		{"a list changed", replace(before, data("list", []any{1})), []SlotChange{change("list", SlotChanged, `[]any{1, "a"}`, "[]any{1}")}},
		{"only the author changed", replace(before, method("func m(self Object) {}", "pLLM/BRICK")), nil},
		{"a slot added and one removed", append(replace(before[:len(before)-2], data("new", 0)), before[len(before)-1]),
			[]SlotChange{change("new", SlotAdded, "", "0"), change("gone", SlotRemoved, "3", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := diffObject(5, &image.Record{OID: 5, Slots: before}, tt.after, "x")
			if !slices.Equal(c.Slots, tt.want) {
				t.Errorf("changes = %+v, want %+v", c.Slots, tt.want)
			}
		})
	}
}

// replace returns slots with the one named like s replaced by s, or s
// appended.
func replace(slots []image.Slot, s image.Slot) []image.Slot {
	out := append([]image.Slot(nil), slots...)
	for i := range out {
		if out[i].Name == s.Name {
			out[i] = s
			return out
		}
	}
	return append(out, s)
}

// TestBusPublishesCommitsInOrder: a commit event waits for those of the
// transactions applied before it, however their syncs finish; one that
// failed holds nothing back; a waiter wakes with its run published.
func TestBusPublishesCommitsInOrder(t *testing.T) {
	b := newBus()
	sub := b.Subscribe(8)
	defer sub.Close()
	first, second, third := b.reserve(), b.reserve(), b.reserve()
	ev := func(id image.TxID) *Event { return &Event{Kind: EventCommit, Tx: image.TxInfo{ID: id}} }
	published := func() (ids []image.TxID) {
		for len(sub.C) > 0 {
			ids = append(ids, (<-sub.C).Tx.ID)
		}
		return ids
	}
	closed := func(p *commitPlace) bool {
		select {
		case <-p.published:
			return true
		default:
			return false
		}
	}
	b.settle(third, ev(3))
	b.settle(second, nil) // its sync failed
	if got := published(); len(got) != 0 || closed(third) || closed(second) {
		t.Fatalf("published before the first settled: %v", got)
	}
	b.settle(first, ev(1))
	if got := published(); !slices.Equal(got, []image.TxID{1, 3}) {
		t.Fatalf("published %v, want [1 3]", got)
	}
	for i, p := range []*commitPlace{first, second, third} {
		if !closed(p) {
			t.Fatalf("place %d not released", i+1)
		}
	}
	if len(b.waiting) != 0 {
		t.Fatalf("%d places left waiting", len(b.waiting))
	}
}
