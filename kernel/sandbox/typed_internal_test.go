package sandbox

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestTypedArgsCross: typed slices and maps cross to the trial child with
// their Go types, nil ones as nil; anything else typed is refused by name.
func TestTypedArgsCross(t *testing.T) {
	values := []any{
		[]int{1, 2}, []int64{3}, []float64{1.5}, []bool{true}, []string{"a", ""},
		map[string]int{"a": 1}, map[string]string{"k": "v"}, map[string]float64{}, map[string]bool{"t": true}, map[string]int64{"x": 9},
		[]int(nil), map[string]string(nil), []any{[]string{"nested"}},
	}
	for _, v := range values {
		enc, err := encodeValue(v)
		if err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		raw, err := json.Marshal(enc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeValue(raw)
		if err != nil {
			t.Fatalf("%T: decode %s: %v", v, raw, err)
		}
		if !reflect.DeepEqual(got, v) || reflect.TypeOf(got) != reflect.TypeOf(v) {
			t.Errorf("%T %v came back as %T %v", v, v, got, got)
		}
	}
	for _, v := range []any{[]float32{1}, map[int]string{}, [][]int{{1}}} {
		if _, err := encodeValue(v); err == nil || !strings.Contains(err.Error(), "cannot pass a") {
			t.Errorf("%T: %v, want refused", v, err)
		}
	}
	if _, err := decodeValue(json.RawMessage(`{"typed":{"type":"[]int","items":[{"string":"x"}]}}`)); err == nil {
		t.Error("a string in a []int decoded")
	}
	if _, err := decodeValue(json.RawMessage(`{"typed":{"type":"[]uint8"}}`)); err == nil {
		t.Error("an unknown typed container decoded")
	}
}
