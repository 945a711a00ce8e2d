package image

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// typedValues are the typed containers a data slot can hold, full, empty
// and nil, and nested in the untyped containers.
var typedValues = []struct {
	name string
	v    any
}{
	{"[]bool", []bool{true, false, true}},
	{"[]int", []int{0, -1, math.MaxInt, math.MinInt}},
	{"[]int64", []int64{1 << 40, -3}},
	{"[]float64", []float64{0.5, math.Inf(1), math.Copysign(0, -1), math.MaxFloat64}},
	{"[]string", []string{"x", "", "héllo"}},
	{"map[string]bool", map[string]bool{"a": true, "b": false}},
	{"map[string]int", map[string]int{"a": 1, "": -2}},
	{"map[string]int64", map[string]int64{"z": math.MinInt64}},
	{"map[string]float64", map[string]float64{"pi": math.Pi}},
	{"map[string]string", map[string]string{"k": "v", "e": ""}},
	{"empty []int", []int{}},
	{"empty []string", []string{}},
	{"empty map[string]int", map[string]int{}},
	{"nil []bool", []bool(nil)},
	{"nil []int", []int(nil)},
	{"nil []int64", []int64(nil)},
	{"nil []float64", []float64(nil)},
	{"nil []string", []string(nil)},
	{"nil map[string]bool", map[string]bool(nil)},
	{"nil map[string]int", map[string]int(nil)},
	{"nil map[string]int64", map[string]int64(nil)},
	{"nil map[string]float64", map[string]float64(nil)},
	{"nil map[string]string", map[string]string(nil)},
	{"in []any", []any{1, []string{"a"}, map[string]int{"n": 2}, Ref{4}}},
	{"in map[string]any", map[string]any{"xs": []float64{1}, "m": map[string]any{"flags": map[string]bool{"on": true}}, "none": []int(nil)}},
}

func TestTypedRoundTrip(t *testing.T) {
	for _, tt := range typedValues {
		t.Run(tt.name, func(t *testing.T) {
			slots := []Slot{{Name: "v", Kind: SlotData, Value: tt.v}}
			body, err := encodeSlots(nil, slots)
			if err != nil {
				t.Fatal(err)
			}
			if body.version != 2 {
				t.Errorf("a record holding %T is version %d, want 2", tt.v, body.version)
			}
			data := encodeRecordValue(flagCreated, 3, body)
			if data[0] != 2 {
				t.Errorf("version byte %d, want 2", data[0])
			}
			got, _, err := decodeRecordValue(5, data)
			if err != nil {
				t.Fatal(err)
			}
			v := got.Slots[0].Value
			if reflect.TypeOf(v) != reflect.TypeOf(tt.v) || !reflect.DeepEqual(v, tt.v) {
				t.Fatalf("got %T %#v, want %T %#v", v, v, tt.v, tt.v)
			}
			if !sameNilness(v, tt.v) {
				t.Fatalf("nilness changed: got %#v, want %#v", v, tt.v)
			}
		})
	}
}

// sameNilness compares, recursively, which slices and maps are nil.
func sameNilness(a, b any) bool {
	ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
	if ra.Kind() != rb.Kind() {
		return false
	}
	switch ra.Kind() {
	case reflect.Slice, reflect.Map:
		if ra.IsNil() != rb.IsNil() {
			return false
		}
	}
	switch x := a.(type) {
	case []any:
		for i := range x {
			if !sameNilness(x[i], b.([]any)[i]) {
				return false
			}
		}
	case map[string]any:
		for k := range x {
			if !sameNilness(x[k], b.(map[string]any)[k]) {
				return false
			}
		}
	}
	return true
}

// TestTypedEncoding pins the bytes of the typed containers (tags 14-17).
func TestTypedEncoding(t *testing.T) {
	tests := []struct {
		v    any
		want []byte
	}{
		{[]bool{true, false}, []byte{tagSlice, elemBool, 2, 1, 0}},
		{[]int{1, -1}, []byte{tagSlice, elemInt, 2, 2, 1}},
		{[]int64{64}, []byte{tagSlice, elemInt64, 1, 0x80, 1}},
		{[]float64{1}, []byte{tagSlice, elemFloat64, 1, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}},
		{[]string{"ab", ""}, []byte{tagSlice, elemString, 2, 2, 'a', 'b', 0}},
		{map[string]int{"b": 2, "a": 1}, []byte{tagStringMap, elemInt, 2, 1, 'a', 2, 1, 'b', 4}},
		{map[string]string{}, []byte{tagStringMap, elemString, 0}},
		{[]int(nil), []byte{tagNilSlice, elemInt}},
		{map[string]bool(nil), []byte{tagNilStringMap, elemBool}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%T %v", tt.v, tt.v), func(t *testing.T) {
			body, err := encodeSlots(nil, []Slot{{Name: "v", Kind: SlotData, Value: tt.v}})
			if err != nil {
				t.Fatal(err)
			}
			want := append([]byte{1, 1, 'v', byte(SlotData)}, tt.want...)
			if !bytes.Equal(body.b, want) {
				t.Fatalf("encodes as\n%v, want\n%v", body.b, want)
			}
		})
	}
	if tagSlice != 14 || tagStringMap != 15 || tagNilSlice != 16 || tagNilStringMap != 17 {
		t.Fatal("the typed container tags were renumbered")
	}
}

// oldRecord is a record as the version-1 encoder wrote it before typed
// containers existed (captured from that encoder): version 1, flags
// created, serial 5, and the slots of oldSlots.
const oldRecord = "0102050407706172656e742a040a01017601080a000201030e040f053ff8000000000000060173070162090201610800016b0a030900016d020d2466756e63206d2873656c66204f626a6563742920696e74207b2072657475726e2031207d04757365720170030c057072696e74"

var oldSlots = []Slot{
	{Name: "parent*", Kind: SlotParent, Value: Ref{1}},
	{Name: "v", Kind: SlotData, Value: []any{nil, true, false, 7, int64(-8), 1.5, "s", []byte("b"), map[string]any{"k": Ref{3}, "a": []any{}}, map[string]any{}}},
	{Name: "m", Kind: SlotMethod, Value: Method{Source: "func m(self Object) int { return 1 }", Author: "user"}},
	{Name: "p", Kind: SlotPrimitive, Value: Primitive{Name: "print"}},
}

// TestVersion1Compatible checks that records written before typed
// containers decode unchanged, and that a record holding none is still
// written byte for byte as version 1, so older builds read it.
func TestVersion1Compatible(t *testing.T) {
	old, err := hex.DecodeString(oldRecord)
	if err != nil {
		t.Fatal(err)
	}
	rec, flags, err := decodeRecordValue(4, old)
	if err != nil {
		t.Fatal(err)
	}
	if flags != flagCreated || rec.Serial != 5 || !reflect.DeepEqual(rec.Slots, oldSlots) {
		t.Fatalf("old record decoded as %#v (flags %d)", rec, flags)
	}
	body, err := encodeSlots(nil, oldSlots)
	if err != nil {
		t.Fatal(err)
	}
	if enc := encodeRecordValue(flagCreated, 5, body); !bytes.Equal(enc, old) {
		t.Fatalf("a record without typed containers encodes as\n%x, want the version-1 bytes\n%x", enc, old)
	}
	if tx := encodeTxRecord(TxInfo{Principal: "user"}); tx[0] != 1 {
		t.Fatalf("transaction record version %d, want 1", tx[0])
	}
	if tomb := encodeRecordValue(flagTombstone, 2, tombstoneBody); tomb[0] != 1 {
		t.Fatalf("tombstone version %d, want 1", tomb[0])
	}
}

// TestTypedOnDisk stores typed containers next to a record written by the
// version-1 encoder in a real image, reopens it, and reads both back with
// their types; the bytes on disk say which records need version 2.
func TestTypedOnDisk(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, &Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, obj(RootOID, "child", Ref{17}), obj(17, "n", 1))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Object 17 as the version-1 build wrote it, with serial 1.
	old, _ := hex.DecodeString(oldRecord)
	old[2] = 1
	poke(t, dir, objKey(17), old, revKey(17, 1), old)

	s = openAt(t, dir, nil)
	if got, _ := get(t, s, 17); !reflect.DeepEqual(got.Slots, oldSlots) {
		t.Fatalf("old record read as %#v", got.Slots)
	}
	typed := map[string]any{
		"m":    map[string]int{"a": 1},
		"s":    []string{"x"},
		"nil":  []float64(nil),
		"deep": []any{map[string]any{"b": []bool{true}}},
	}
	mustCommit(t, s, obj(RootOID, "child", Ref{17}, "m", typed["m"], "s", typed["s"], "nil", typed["nil"], "deep", typed["deep"]))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, dir, nil)
	for name, want := range typed {
		got := slotValue(t, s, RootOID, name)
		if reflect.TypeOf(got) != reflect.TypeOf(want) || !reflect.DeepEqual(got, want) || !sameNilness(got, want) {
			t.Errorf("slot %s reads back as %T %#v, want %T %#v", name, got, got, want, want)
		}
	}
	if got, _ := get(t, s, 17); !reflect.DeepEqual(got.Slots, oldSlots) {
		t.Fatalf("old record read as %#v after the typed commit", got.Slots)
	}
	if rep, err := s.Check(); err != nil {
		// Object 17's old slots refer to object 3, which this image lacks.
		if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "missing object 3") {
			t.Fatalf("Check = %v, problems %q", err, rep.Problems)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw := func(k []byte) []byte {
		v, closer, err := db.Get(k)
		if err != nil {
			t.Fatalf("%s: %v", keyString(k), err)
		}
		defer closer.Close()
		return bytes.Clone(v)
	}
	if v := raw(objKey(RootOID)); v[0] != 2 {
		t.Errorf("the Lobby holding typed containers is version %d, want 2", v[0])
	}
	if v := raw(revKey(RootOID, 1)); v[0] != 1 {
		t.Errorf("the Lobby's first revision is version %d, want 1", v[0])
	}
	if v := raw(txKey(2)); v[0] != 1 {
		t.Errorf("transaction record version %d, want 1", v[0])
	}
	if v, _ := decodeU64(raw(keyFormat)); v != 1 {
		t.Errorf("m/format %d, want 1", v)
	}
}

func TestTypedDecodeRejects(t *testing.T) {
	rec := func(version byte, value ...byte) []byte {
		return append([]byte{version, 0, 1, 1, 1, 'a', byte(SlotData)}, value...)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"typed slice in version 1", rec(1, tagSlice, elemInt, 1, 2)},
		{"typed map in version 1", rec(1, tagStringMap, elemInt, 0)},
		{"nil slice in version 1", rec(1, tagNilSlice, elemInt)},
		{"nil map in version 1", rec(1, tagNilStringMap, elemInt)},
		{"element type 0", rec(2, tagSlice, 0, 0)},
		{"element type 6", rec(2, tagNilSlice, 6)},
		{"no element type", rec(2, tagSlice)},
		{"bool 2", rec(2, tagSlice, elemBool, 1, 2)},
		{"truncated float", rec(2, tagSlice, elemFloat64, 1, 0, 0, 0)},
		{"float count over the bytes left", rec(2, tagSlice, elemFloat64, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0)},
		{"huge count", rec(2, tagSlice, elemInt, 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"huge map count", rec(2, tagStringMap, elemBool, 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"unsorted keys", rec(2, tagStringMap, elemInt, 2, 1, 'b', 2, 1, 'a', 2)},
		{"duplicate keys", rec(2, tagStringMap, elemInt, 2, 1, 'a', 2, 1, 'a', 2)},
		{"bad varint", rec(2, tagSlice, elemInt64, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
		{"truncated string", rec(2, tagSlice, elemString, 1, 5, 'a')},
		{"trailing", rec(2, tagSlice, elemInt, 1, 2, 0)},
		{"version 3", rec(3, tagSlice, elemInt, 0)},
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
			if tt.data[0] > formatVersion {
				if !errors.As(err, &fe) || fe.Supported != 2 {
					t.Fatalf("got %v, want *FormatError", err)
				}
			} else if !errors.As(err, &ce) {
				t.Fatalf("got %v, want *CorruptError", err)
			}
		})
	}
}

// TestTypedNesting checks that a typed container counts as one level of
// MaxNesting, on encode and decode.
func TestTypedNesting(t *testing.T) {
	nest := func(v any, levels int) any {
		for range levels {
			v = []any{v}
		}
		return v
	}
	if _, err := encodeSlots(nil, []Slot{{Name: "v", Kind: SlotData, Value: nest([]int{1}, MaxNesting)}}); err != nil {
		t.Fatalf("a typed container at depth %d: %v", MaxNesting, err)
	}
	_, err := encodeSlots(nil, []Slot{{Name: "v", Kind: SlotData, Value: nest([]int{1}, MaxNesting+1)}})
	if err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("a typed container at depth %d: %v", MaxNesting+1, err)
	}
	data := []byte{2, 0, 1, 1, 1, 'a', byte(SlotData)}
	for range MaxNesting + 1 {
		data = append(data, tagList, 1)
	}
	data = append(data, tagNilSlice, elemInt)
	if _, _, err := decodeRecordValue(1, data); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("decoding a typed container at depth %d: %v", MaxNesting+1, err)
	}
}
