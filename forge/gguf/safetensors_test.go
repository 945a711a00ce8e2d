package gguf

import (
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseSafetensorsRoundTrip(t *testing.T) {
	f16 := testTensor{name: "half", dtype: "F16", shape: []uint64{3}, data: []byte{0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38}} // 1, -2, 0.5
	tensors := []testTensor{
		f32Tensor("b.weight", []uint64{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		f16,
		bf16Tensor("a.weight", []uint64{2}, []float32{1.5, -0.25}),
		f32Tensor("scalar", []uint64{}, []float32{7}),
		f32Tensor("empty", []uint64{0, 4}, nil),
		{name: "ints", dtype: "I64", shape: []uint64{1}, data: make([]byte, 8)},
	}
	st, err := ParseSafetensors(encodeSafetensors(t, tensors, map[string]string{"format": "pt"}))
	if err != nil {
		t.Fatal(err)
	}
	if st.Metadata["format"] != "pt" {
		t.Errorf("metadata = %v", st.Metadata)
	}
	want := map[string][]float32{
		"b.weight": {1, 2, 3, 4, 5, 6}, "half": {1, -2, 0.5}, "a.weight": {1.5, -0.25},
		"scalar": {7}, "empty": {},
	}
	for name, vals := range want {
		tt, ok := st.Tensor(name)
		if !ok {
			t.Fatalf("tensor %q missing", name)
		}
		got, err := tt.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, vals) {
			t.Errorf("%s = %v, want %v", name, got, vals)
		}
	}
	if tt, _ := st.Tensor("ints"); tt == nil {
		t.Fatal("I64 tensor missing")
	} else if _, err := tt.Float32s(); err == nil || !strings.Contains(err.Error(), "I64") {
		t.Errorf("Float32s of I64: err = %v", err)
	}
	var names []string
	for _, tt := range st.Tensors {
		names = append(names, tt.Name)
		if got := tt.Elements() * safetensorsDTypeSizes[tt.DType]; got != uint64(len(tt.Data)) {
			t.Errorf("%s: %d elements of %s in %d bytes", tt.Name, tt.Elements(), tt.DType, len(tt.Data))
		}
	}
	if want := []string{"b.weight", "half", "a.weight", "scalar", "empty", "ints"}; !slices.Equal(names, want) {
		t.Errorf("tensors in data order = %v, want %v", names, want)
	}
}

func TestFloat16ToFloat32(t *testing.T) {
	tests := []struct {
		bits uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.333251953125},
		{0x7bff, 65504},
		{0x0400, 1.0 / (1 << 14)},               // smallest normal
		{0x0001, 1.0 / (1 << 24)},               // smallest subnormal
		{0x03ff, 1023.0 / (1 << 24)},            // largest subnormal
		{0x8001, -1.0 / (1 << 24)},              // negative subnormal
		{0x7c00, float32(math.Inf(1))},          // +Inf
		{0xfc00, float32(math.Inf(-1))},         // -Inf
		{0x8000, float32(math.Copysign(0, -1))}, // -0
	}
	for _, tt := range tests {
		got := float16ToFloat32(tt.bits)
		if math.Float32bits(got) != math.Float32bits(tt.want) {
			t.Errorf("float16ToFloat32(%#04x) = %v, want %v", tt.bits, got, tt.want)
		}
	}
	if !math.IsNaN(float64(float16ToFloat32(0x7e00))) {
		t.Error("0x7e00 is not NaN")
	}
}

func TestParseSafetensorsRejects(t *testing.T) {
	twelve := make([]byte, 12)
	tests := []struct {
		name  string
		file  []byte
		wants []string
	}{
		{"too short", []byte{1, 2, 3}, []string{"too short"}},
		{"header over limit", binary.LittleEndian.AppendUint64(nil, MaxSafetensorsHeader+1), []string{"exceeds"}},
		{"header past end", binary.LittleEndian.AppendUint64(nil, 10), []string{"runs past the end"}},
		{"not an object", rawSafetensors(`[1]`, nil), []string{"does not start with '{'"}},
		{"bad json", rawSafetensors(`{"a":`, nil), []string{"header"}},
		{"trailing data", rawSafetensors(`{} {}`, nil), []string{"after the JSON object"}},
		{"duplicate", rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, twelve[:4]),
			[]string{`"a" appears twice`}},
		{"unknown dtype", rawSafetensors(`{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}`, twelve[:4]),
			[]string{`tensor "a"`, `unknown dtype "F33"`}},
		{"missing field", rawSafetensors(`{"a":{"dtype":"F32","shape":[1]}}`, twelve[:4]),
			[]string{`tensor "a"`, "needs dtype, shape and data_offsets"}},
		{"unknown field", rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, twelve[:4]),
			[]string{`tensor "a"`, `unknown field "x"`}},
		{"negative shape", rawSafetensors(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, twelve[:4]),
			[]string{`tensor "a"`}},
		{"three offsets", rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, twelve[:4]),
			[]string{`tensor "a"`, "3 numbers"}},
		{"begin after end", rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, twelve[:4]),
			[]string{`tensor "a"`, "do not lie within"}},
		{"end past data", rawSafetensors(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}`, twelve[:8]),
			[]string{`tensor "a"`, "do not lie within the 8 data bytes"}},
		{"shape disagrees", rawSafetensors(`{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}`, twelve),
			[]string{`tensor "a"`, "shape [2 2] of F32 does not fill data_offsets [0, 12] (12 bytes)"}},
		{"shape overflows", rawSafetensors(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,12]}}`, twelve),
			[]string{`tensor "a"`, "does not fill"}},
		{"hole", rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, twelve),
			[]string{`tensor "b"`, "starts at 8, want 4"}},
		{"overlap", rawSafetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, twelve[:8]),
			[]string{"starts at 4, want 8"}},
		{"uncovered tail", rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, twelve[:8]),
			[]string{"cover 4 of the 8 data bytes"}},
		{"metadata not strings", rawSafetensors(`{"__metadata__":{"a":1}}`, nil), []string{"__metadata__"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSafetensors(tt.file)
			wantError(t, err, append([]string{"safetensors"}, tt.wants...)...)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("%v is not a *FormatError", err)
			}
		})
	}
}

func TestReadSafetensorsNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	writeFile(t, path, rawSafetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 4)))
	_, err := ReadSafetensors(path)
	wantError(t, err, path, `tensor "a"`)
}

func TestReadHFWeights(t *testing.T) {
	a := f32Tensor("model.a", []uint64{2}, []float32{1, 2})
	b := bf16Tensor("model.b", []uint64{1}, []float32{3})
	c := f32Tensor("model.c", []uint64{1}, []float32{4})

	t.Run("single file", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "model.safetensors"), encodeSafetensors(t, []testTensor{a, b}, nil))
		w, err := ReadHFWeights(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Names(); !slices.Equal(got, []string{"model.a", "model.b"}) {
			t.Errorf("names = %v", got)
		}
	})

	t.Run("no weights", func(t *testing.T) {
		_, err := ReadHFWeights(t.TempDir())
		wantError(t, err, "model.safetensors")
	})

	shards := func(t *testing.T, weightMap map[string]string) string {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "model-00001-of-00002.safetensors"), encodeSafetensors(t, []testTensor{a, b}, nil))
		writeFile(t, filepath.Join(dir, "model-00002-of-00002.safetensors"), encodeSafetensors(t, []testTensor{c}, nil))
		writeJSON(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]any{
			"metadata": map[string]any{"total_size": 14}, "weight_map": weightMap,
		})
		return dir
	}
	good := map[string]string{
		"model.a": "model-00001-of-00002.safetensors",
		"model.b": "model-00001-of-00002.safetensors",
		"model.c": "model-00002-of-00002.safetensors",
	}
	t.Run("sharded", func(t *testing.T) {
		w, err := ReadHFWeights(shards(t, good))
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Names(); !slices.Equal(got, []string{"model.a", "model.b", "model.c"}) {
			t.Errorf("names = %v", got)
		}
		tc, _ := w.Tensor("model.c")
		if v, _ := tc.Float32s(); !slices.Equal(v, []float32{4}) {
			t.Errorf("model.c = %v", v)
		}
	})

	bad := []struct {
		name   string
		mutate func(map[string]string)
		wants  []string
	}{
		{"listed in the wrong shard", func(m map[string]string) { m["model.c"] = "model-00001-of-00002.safetensors" },
			[]string{`tensor "model.c"`}},
		{"unlisted tensor", func(m map[string]string) { delete(m, "model.b") },
			[]string{`tensor "model.b"`, "the index lists it in"}},
		{"shard outside the folder", func(m map[string]string) { m["model.c"] = "../model-00002-of-00002.safetensors" },
			[]string{`tensor "model.c"`, "not a .safetensors file in the folder"}},
		{"missing shard", func(m map[string]string) { m["model.c"] = "model-00003-of-00002.safetensors" },
			[]string{"model-00003-of-00002.safetensors"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			m := make(map[string]string)
			for k, v := range good {
				m[k] = v
			}
			tt.mutate(m)
			_, err := ReadHFWeights(shards(t, m))
			wantError(t, err, tt.wants...)
		})
	}
}
