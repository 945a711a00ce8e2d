package image

import (
	"strings"
	"testing"
)

// TestPackNeverGrows: a pack leaves the image no larger on disk, whether
// it removes revisions or has nothing to remove.
func TestPackNeverGrows(t *testing.T) {
	s := openTest(t, nil)
	mustCommit(t, s, &Record{OID: RootOID, Slots: []Slot{{Name: "n", Kind: SlotData, Value: 0}}})
	big := strings.Repeat("x", 4000)
	for i := range 40 {
		mustCommit(t, s, obj(OID(2+i%4), "v", big+string(rune('a'+i%26))), &Record{OID: RootOID, Slots: []Slot{
			{Name: "a", Kind: SlotData, Value: Ref{2}}, {Name: "b", Kind: SlotData, Value: Ref{3}},
			{Name: "c", Kind: SlotData, Value: Ref{4}}, {Name: "d", Kind: SlotData, Value: Ref{5}},
		}})
	}
	size := func() int64 {
		t.Helper()
		info, err := s.Info()
		if err != nil {
			t.Fatal(err)
		}
		return info.DiskBytes
	}
	before := size()
	st, err := s.Pack(s.LastTx())
	if err != nil {
		t.Fatal(err)
	}
	after := size()
	if st.RevisionsRemoved == 0 || after > before {
		t.Fatalf("a pack that removed %d revisions took the image from %d to %d bytes", st.RevisionsRemoved, before, after)
	}
	if _, err := s.Pack(s.LastTx()); err != nil {
		t.Fatal(err)
	}
	if again := size(); again > after {
		t.Fatalf("a pack with nothing to remove took the image from %d to %d bytes", after, again)
	}
}
