package image

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestValueRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"true", true},
		{"false", false},
		{"int", 42},
		{"negative int", -7},
		{"max int", math.MaxInt},
		{"int64", int64(-1 << 40)},
		{"float64", 3.25},
		{"inf", math.Inf(-1)},
		{"string", "héllo"},
		{"empty string", ""},
		{"bytes", []byte{0, 1, 255}},
		{"empty bytes", []byte{}},
		{"list", []any{1, int64(2), "three", []any{Ref{9}}}},
		{"map", map[string]any{"b": 2, "a": []any{Ref{3}, map[string]any{"x": Ref{4}}}}},
		{"ref", Ref{17}},
		{"method", Method{Source: "func f(self Object) int { return 1 }"}},
		{"authored method", Method{Source: "func f(self Object) int { return 1 }", Author: "pLLM/BRICK"}},
		{"methods in a list", []any{Method{Source: "a"}, Method{Source: "b", Author: "user"}}},
		{"primitive", Primitive{Name: "print"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &Record{OID: 5, Slots: []Slot{{Name: "v", Kind: SlotData, Value: tt.v}}}
			body, err := encodeSlots(nil, rec.Slots)
			if err != nil {
				t.Fatal(err)
			}
			got, flags, err := decodeRecordValue(5, encodeRecordValue(flagCreated, 3, body))
			if err != nil {
				t.Fatal(err)
			}
			if flags != flagCreated || got.Serial != 3 || got.OID != 5 {
				t.Errorf("header: flags %d serial %d oid %d", flags, got.Serial, got.OID)
			}
			if !reflect.DeepEqual(got.Slots, rec.Slots) {
				t.Errorf("got %#v, want %#v", got.Slots, rec.Slots)
			}
		})
	}
}

// TestMethodEncodingCompatible pins the encoding of method slots: records
// written before methods had authors (tag 11, the source alone) decode with
// no author, a method without an author is still written byte for byte the
// old way, and an author is kept with tag 13.
func TestMethodEncodingCompatible(t *testing.T) {
	const src = "func f(self Object) int { return 1 }"
	// A version-1 record as builds before authors wrote it: version 1,
	// flags created, serial 7, one slot "f" of kind method (2), tag 11,
	// the source.
	old := append([]byte{1, flagCreated, 7, 1, 1, 'f', 2, 11, byte(len(src))}, src...)
	rec, flags, err := decodeRecordValue(4, old)
	if err != nil {
		t.Fatal(err)
	}
	want := []Slot{{Name: "f", Kind: SlotMethod, Value: Method{Source: src}}}
	if flags != flagCreated || rec.Serial != 7 || !reflect.DeepEqual(rec.Slots, want) {
		t.Fatalf("old record decoded as %#v (flags %d)", rec, flags)
	}
	body, err := encodeSlots(nil, want)
	if err != nil {
		t.Fatal(err)
	}
	if enc := encodeRecordValue(flagCreated, 7, body); !bytes.Equal(enc, old) {
		t.Fatalf("a method without an author encodes as\n%v, want the old bytes\n%v", enc, old)
	}
	authored := []Slot{{Name: "f", Kind: SlotMethod, Value: Method{Source: src, Author: "pLLM/ROBIN"}}}
	body, err = encodeSlots(nil, authored)
	if err != nil {
		t.Fatal(err)
	}
	wantBody := append(append([]byte{1, 1, 'f', 2, tagAuthoredMethod, byte(len(src))}, src...), append([]byte{10}, "pLLM/ROBIN"...)...)
	if !bytes.Equal(body.b, wantBody) {
		t.Fatalf("authored method encodes as\n%v, want\n%v", body, wantBody)
	}
	rec, _, err = decodeRecordValue(4, encodeRecordValue(0, 8, body))
	if err != nil || !reflect.DeepEqual(rec.Slots, authored) {
		t.Fatalf("authored method decoded as %#v, %v", rec, err)
	}
	// A truncated author is corruption, not a method without one.
	if _, _, err := decodeRecordValue(4, encodeRecordValue(0, 8, slotsBody{body.b[:len(body.b)-3], body.version})); err == nil {
		t.Fatal("a truncated author decoded")
	}
}

func TestMapEncodingDeterministic(t *testing.T) {
	m := map[string]any{}
	for _, k := range strings.Split("q w e r t y u i o p a s d f g h j k l", " ") {
		m[k] = k
	}
	first, err := encodeSlots(nil, []Slot{{Name: "m", Kind: SlotData, Value: m}})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, _ := encodeSlots(nil, []Slot{{Name: "m", Kind: SlotData, Value: m}})
		if !bytes.Equal(first.b, again.b) {
			t.Fatal("map encoding differs between runs")
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	cyclic := []any{nil}
	cyclic[0] = cyclic
	tests := []struct {
		name string
		slot Slot
		want string // substring of the error
	}{
		{"int32", Slot{"n", SlotData, int32(1)}, `slot "n": unsupported value type int32`},
		{"struct", Slot{"s", SlotData, struct{}{}}, `slot "s": unsupported value type struct {}`},
		{"func", Slot{"f", SlotData, func() {}}, `slot "f": unsupported value type func()`},
		{"chan", Slot{"c", SlotData, make(chan int)}, `unsupported value type chan int`},
		{"nested", Slot{"l", SlotData, []any{1, map[string]any{"k": uint(3)}}}, `unsupported value type uint at [1]["k"]`},
		{"cyclic", Slot{"c", SlotData, cyclic}, `nested deeper`},
		{"ref zero", Slot{"r", SlotData, Ref{}}, `Ref to object 0`},
		{"bad kind", Slot{"k", SlotKind(9), 1}, `invalid slot kind 9`},
		{"parent not ref", Slot{"p*", SlotParent, 3}, `parent slot cannot hold a value of type int`},
		{"method not Method", Slot{"m", SlotMethod, "src"}, `method slot cannot hold`},
		{"primitive not Primitive", Slot{"p", SlotPrimitive, Method{}}, `primitive slot cannot hold`},
	}
	s := openTest(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := s.Begin("test")
			defer tx.Abort()
			err := tx.Put(&Record{OID: 7, Slots: []Slot{tt.slot}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Put error = %v, want it to contain %q", err, tt.want)
			}
			if len(tx.Writes()) != 0 {
				t.Error("a rejected Put was buffered")
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := encodeSlots(nil, []Slot{{Name: "a", Kind: SlotData, Value: []any{1, "x"}}})
	valid := encodeRecordValue(0, 1, good)
	tests := []struct {
		name    string
		data    []byte
		version bool // want a version error rather than corruption
	}{
		{"empty", nil, false},
		{"newer version", append([]byte{formatVersion + 1}, valid[1:]...), true},
		{"version zero", append([]byte{0}, valid[1:]...), false},
		{"truncated", valid[:len(valid)-1], false},
		{"trailing", append(append([]byte{}, valid...), 0), false},
		{"unknown flags", append([]byte{formatVersion, 0x80}, valid[2:]...), false},
		{"huge count", []byte{formatVersion, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}, false},
		{"bad tag", []byte{formatVersion, 0, 1, 1, 1, 'a', 1, 99}, false},
		{"unsorted map", []byte{formatVersion, 0, 1, 1, 1, 'a', 1, tagMap, 2, 1, 'b', tagNil, 1, 'a', tagNil}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decodeRecordValue(1, tt.data)
			if err == nil {
				t.Fatal("decoded without error")
			}
			err = keyErr(objKey(17), err)
			var fe *FormatError
			var ce *CorruptError
			switch {
			case tt.version && !errors.As(err, &fe):
				t.Fatalf("got %v, want *FormatError", err)
			case !tt.version && !errors.As(err, &ce):
				t.Fatalf("got %v, want *CorruptError", err)
			}
			if !strings.Contains(err.Error(), "o/0000000000000011") {
				t.Errorf("error %q does not name the key", err)
			}
		})
	}
}

func TestDeepNestingDecode(t *testing.T) {
	data := []byte{formatVersion, 0, 1, 1, 1, 'a', 1}
	for range 100000 {
		data = append(data, tagList, 1)
	}
	if _, _, err := decodeRecordValue(1, data); err == nil {
		t.Fatal("deeply nested value decoded")
	}
}

// FuzzDecodeRecord checks that decoding never panics and that whatever
// decodes re-encodes canonically: encode(decode(x)) is a fixed point.
func FuzzDecodeRecord(f *testing.F) {
	for _, v := range []any{nil, 1, int64(2), 2.5, "s", []byte("b"), []any{Ref{3}}, map[string]any{"k": true}, Method{Source: "m"}, Method{Source: "m", Author: "pLLM/BRICK"}} {
		body, _ := encodeSlots(nil, []Slot{{Name: "x", Kind: SlotData, Value: v}, {Name: "p*", Kind: SlotParent, Value: Ref{1}}})
		f.Add(encodeRecordValue(flagCreated, 9, body))
	}
	f.Add(encodeRecordValue(flagTombstone, 4, tombstoneBody))
	// The typed containers (version 2), and a record of the version-1
	// encoder.
	for _, tt := range typedValues {
		body, _ := encodeSlots(nil, []Slot{{Name: "x", Kind: SlotData, Value: tt.v}, {Name: "p*", Kind: SlotParent, Value: Ref{1}}})
		f.Add(encodeRecordValue(flagCreated, 9, body))
	}
	old, _ := hex.DecodeString(oldRecord)
	f.Add(old)
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, flags, err := decodeRecordValue(3, data)
		if err != nil {
			return
		}
		body, err := encodeSlots(nil, rec.Slots)
		if err != nil {
			t.Fatalf("decoded record does not re-encode: %v", err)
		}
		enc := encodeRecordValue(flags, rec.Serial, body)
		rec2, flags2, err := decodeRecordValue(3, enc)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		body2, _ := encodeSlots(nil, rec2.Slots)
		if flags2 != flags || rec2.Serial != rec.Serial || body.version != body2.version || !bytes.Equal(body.b, body2.b) {
			t.Fatal("round trip changed the record")
		}
	})
}
