package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func FuzzSafetensors(f *testing.F) {
	f.Add(encodeSafetensors(f, []testTensor{
		f32Tensor("a", []uint64{2, 2}, []float32{1, 2, 3, 4}),
		bf16Tensor("b", []uint64{1}, []float32{1}),
		{name: "c", dtype: "F16", shape: []uint64{2}, data: []byte{0, 0x3c, 0, 0x7c}},
		f32Tensor("empty", []uint64{0}, nil),
	}, map[string]string{"format": "pt"}))
	f.Add(rawSafetensors(`{}`, nil))
	f.Add(rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}  `, make([]byte, 4)))
	f.Add(rawSafetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseSafetensors(b)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FormatError", err)
			}
			return
		}
		var total int
		for _, tt := range st.Tensors {
			if got, ok := st.Tensor(tt.Name); !ok || got.Name != tt.Name {
				t.Fatalf("Tensor(%q) does not find it", tt.Name)
			}
			if want := tt.Elements() * safetensorsDTypeSizes[tt.DType]; uint64(len(tt.Data)) != want {
				t.Fatalf("%s: %d bytes for %v of %s", tt.Name, len(tt.Data), tt.Shape, tt.DType)
			}
			total += len(tt.Data)
			if v, err := tt.Float32s(); err == nil && uint64(len(v)) != tt.Elements() {
				t.Fatalf("%s: %d floats for %d elements", tt.Name, len(v), tt.Elements())
			}
		}
		headerEnd := 8 + int(binary.LittleEndian.Uint64(b))
		if total != len(b)-headerEnd {
			t.Fatalf("tensors hold %d bytes of %d", total, len(b)-headerEnd)
		}
	})
}

func FuzzGGUF(f *testing.F) {
	var buf bytes.Buffer
	if _, err := sampleBuilder(f).WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	small := NewBuilder()
	small.SetString("general.type", "adapter")
	small.SetFloat32("adapter.lora.alpha", 8)
	if err := small.AddF32("blk.0.attn_q.weight.lora_a", []uint64{2, 1}, []float32{1, 2}); err != nil {
		f.Fatal(err)
	}
	buf.Reset()
	if _, err := small.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(rawGGUF{version: 3, kvs: []func(*encoder){kvU32("general.alignment", 64)}, tensors: []rawTensor{{name: "q", ne: []uint64{32}, typ: TypeQ8_0}}, data: 64}.bytes())
	f.Add(rawGGUF{version: 2}.bytes())
	f.Add([]byte("GGUF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse(b)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FormatError", err)
			}
			return
		}
		for _, kv := range file.KV {
			if got, ok := file.Lookup(kv.Key); !ok || got.Key != kv.Key {
				t.Fatalf("Lookup(%q) does not find it", kv.Key)
			}
		}
		var next uint64
		for _, ti := range file.Tensors {
			if ti.Offset != next {
				t.Fatalf("%s at %d, want %d", ti.Name, ti.Offset, next)
			}
			next += (ti.Size + file.Alignment - 1) / file.Alignment * file.Alignment
			data, ok := file.TensorData(ti.Name)
			if !ok || uint64(len(data)) != ti.Size {
				t.Fatalf("%s: %d bytes, want %d", ti.Name, len(data), ti.Size)
			}
			if ti.Type == TypeF32 {
				if v, err := file.Float32s(ti.Name); err != nil || uint64(len(v))*4 != ti.Size {
					t.Fatalf("%s: %d floats, %v", ti.Name, len(v), err)
				}
			}
		}
	})
}
