package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	parser "github.com/gpustack/gguf-parser-go"
)

// sampleBuilder has every kind of value the Builder writes and tensors whose
// sizes are not multiples of the alignment.
func sampleBuilder(t testing.TB) *Builder {
	t.Helper()
	b := NewBuilder()
	b.SetString("general.architecture", "llama")
	b.SetUint32("u32", 7)
	b.SetInt32("i32", -7)
	b.SetFloat32("f32", 0.25)
	b.SetBool("yes", true)
	b.SetBool("no", false)
	b.SetString("empty", "")
	b.SetStrings("strings", []string{"a", "", "ünï"})
	b.SetFloat32s("floats", []float32{1, -2.5})
	b.SetInt32s("ints", []int32{-1, 0, 1})
	b.SetUint32s("uints", []uint32{math.MaxUint32})
	b.SetUint32("u32", 8) // replaces the value, keeps the position
	for _, tt := range []struct {
		name string
		ne   []uint64
	}{
		{"one", []uint64{1}},
		{"matrix", []uint64{3, 5}},
		{"cube", []uint64{2, 3, 4}},
		{"aligned", []uint64{8}},
		{"four", []uint64{1, 2, 1, 3}},
	} {
		n := 1
		for _, d := range tt.ne {
			n *= int(d)
		}
		if err := b.AddF32(tt.name, tt.ne, pattern(len(tt.name), n)); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func encode(t testing.TB, b *Builder) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := b.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

func TestBuilderRoundTrip(t *testing.T) {
	raw := encode(t, sampleBuilder(t))
	f, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || f.Alignment != 32 || f.DataOffset%32 != 0 {
		t.Errorf("version %d, alignment %d, data offset %d", f.Version, f.Alignment, f.DataOffset)
	}
	wantKV := []KV{
		{"general.alignment", ValueUint32, uint32(32)},
		{"general.architecture", ValueString, "llama"},
		{"u32", ValueUint32, uint32(8)},
		{"i32", ValueInt32, int32(-7)},
		{"f32", ValueFloat32, float32(0.25)},
		{"yes", ValueBool, true},
		{"no", ValueBool, false},
		{"empty", ValueString, ""},
		{"strings", ValueArray, Array{ValueString, []string{"a", "", "ünï"}}},
		{"floats", ValueArray, Array{ValueFloat32, []float32{1, -2.5}}},
		{"ints", ValueArray, Array{ValueInt32, []int32{-1, 0, 1}}},
		{"uints", ValueArray, Array{ValueUint32, []uint32{math.MaxUint32}}},
	}
	if !reflect.DeepEqual(f.KV, wantKV) {
		t.Errorf("KV =\n%v\nwant\n%v", f.KV, wantKV)
	}
	var offset uint64
	for _, ti := range f.Tensors {
		if ti.Offset != offset {
			t.Errorf("%s at offset %d, want %d", ti.Name, ti.Offset, offset)
		}
		offset += (ti.Size + 31) / 32 * 32
		n := 1
		for _, d := range ti.Ne {
			n *= int(d)
		}
		got, err := f.Float32s(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, pattern(len(ti.Name), n)) {
			t.Errorf("%s = %v", ti.Name, got)
		}
	}
	if want := f.DataOffset + offset; uint64(len(raw)) != want {
		t.Errorf("file is %d bytes, want %d (every tensor padded)", len(raw), want)
	}
}

// TestBuilderAgreesWithGGUFParser reads the Builder's output with an
// independent GGUF implementation.
func TestBuilderAgreesWithGGUFParser(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sample.gguf")
	if err := sampleBuilder(t).WriteFile(path); err != nil {
		t.Fatal(err)
	}
	ours, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := parser.ParseGGUFFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if theirs.Header.Version != parser.GGUFVersionV3 || theirs.Header.TensorCount != uint64(len(ours.Tensors)) ||
		theirs.Header.MetadataKVCount != uint64(len(ours.KV)) {
		t.Fatalf("parser header %+v", theirs.Header)
	}
	if theirs.TensorDataStartOffset != int64(ours.DataOffset) {
		t.Errorf("parser data offset %d, ours %d", theirs.TensorDataStartOffset, ours.DataOffset)
	}
	for i, kv := range theirs.Header.MetadataKV {
		want := ours.KV[i]
		if kv.Key != want.Key || uint32(kv.ValueType) != uint32(want.Type) {
			t.Errorf("parser kv %d = %s %v, ours %s %v", i, kv.Key, kv.ValueType, want.Key, want.Type)
			continue
		}
		if arr, ok := want.Value.(Array); ok {
			av := kv.ValueArray()
			if uint32(av.Type) != uint32(arr.Elem) || av.Len != uint64(reflect.ValueOf(arr.Values).Len()) {
				t.Errorf("parser %s = %v[%d], ours %v", kv.Key, av.Type, av.Len, arr)
			}
			continue
		}
		if !reflect.DeepEqual(kv.Value, want.Value) {
			t.Errorf("parser %s = %#v, ours %#v", kv.Key, kv.Value, want.Value)
		}
	}
	assertTensorsAgree(t, ours, theirs)
}

// assertTensorsAgree checks the parser sees the same tensor infos.
func assertTensorsAgree(t *testing.T, ours *File, theirs *parser.GGUFFile) {
	t.Helper()
	if len(theirs.TensorInfos) != len(ours.Tensors) {
		t.Fatalf("parser sees %d tensors, ours %d", len(theirs.TensorInfos), len(ours.Tensors))
	}
	for i, ti := range theirs.TensorInfos {
		want := ours.Tensors[i]
		if ti.Name != want.Name || !slices.Equal(ti.Dimensions, want.Ne) || uint32(ti.Type) != uint32(want.Type) ||
			ti.Offset != want.Offset || ti.Bytes() != want.Size {
			t.Errorf("parser tensor %d = %s %v %v @%d (%d bytes), ours %+v", i, ti.Name, ti.Dimensions, ti.Type, ti.Offset, ti.Bytes(), want)
		}
	}
}

func TestGGMLLayoutsAgreeWithGGUFParser(t *testing.T) {
	for typ, l := range ggmlLayouts {
		trait, ok := parser.GGMLType(typ).Trait()
		if !ok || trait.BlockSize != l.blockSize || trait.TypeSize != l.typeSize {
			t.Errorf("%v: ours %d elements in %d bytes, parser %+v", typ, l.blockSize, l.typeSize, trait)
		}
		if got := parser.GGMLType(typ).String(); got != l.name {
			t.Errorf("type %d: ours %s, parser %s", uint32(typ), l.name, got)
		}
	}
}

func TestBuilderRejects(t *testing.T) {
	long := string(bytes.Repeat([]byte("n"), MaxTensorName+1))
	tests := []struct {
		name  string
		tname string
		typ   GGMLType
		ne    []uint64
		raw   []byte
		wants string
	}{
		{"name too long", long, TypeF32, []uint64{1}, make([]byte, 4), "want 1 to 63"},
		{"empty name", "", TypeF32, []uint64{1}, make([]byte, 4), "want 1 to 63"},
		{"duplicate", "dup", TypeF32, []uint64{1}, make([]byte, 4), "added twice"},
		{"no dims", "x", TypeF32, nil, nil, "0 dimensions"},
		{"five dims", "x", TypeF32, []uint64{1, 1, 1, 1, 1}, make([]byte, 4), "5 dimensions"},
		{"empty dim", "x", TypeF32, []uint64{2, 0}, nil, "empty dimension"},
		{"short data", "x", TypeF32, []uint64{2}, make([]byte, 4), "4 bytes of data, but [2] of F32 needs 8"},
		{"partial block", "x", TypeQ8_0, []uint64{16}, make([]byte, 17), "not a valid shape for type Q8_0"},
		{"unknown type", "x", GGMLType(99), []uint64{1}, make([]byte, 4), "GGMLType(99)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder()
			if err := b.AddF32("dup", []uint64{1}, []float32{0}); err != nil {
				t.Fatal(err)
			}
			wantError(t, b.AddRaw(tt.tname, tt.typ, tt.ne, tt.raw), tt.wants)
		})
	}
	if err := NewBuilder().AddRaw("q", TypeQ8_0, []uint64{64, 2}, make([]byte, 4*34)); err != nil {
		t.Errorf("a whole number of Q8_0 blocks: %v", err)
	}
}

// rawGGUF writes GGUF files the Builder would refuse to, for the reader's
// tests.
type rawGGUF struct {
	version uint32
	kvs     []func(*encoder)
	tensors []rawTensor
	data    int // bytes of data after the aligned header
}

type rawTensor struct {
	name   string
	ne     []uint64
	typ    GGMLType
	offset uint64
}

func (r rawGGUF) bytes() []byte {
	var buf bytes.Buffer
	e := encoder{w: &buf}
	e.bytes([]byte("GGUF"))
	e.u32(r.version)
	e.u64(uint64(len(r.tensors)))
	e.u64(uint64(len(r.kvs)))
	for _, kv := range r.kvs {
		kv(&e)
	}
	for _, t := range r.tensors {
		e.str(t.name)
		e.u32(uint32(len(t.ne)))
		for _, d := range t.ne {
			e.u64(d)
		}
		e.u32(uint32(t.typ))
		e.u64(t.offset)
	}
	e.zeros(padded(uint64(buf.Len())) - uint64(buf.Len()))
	buf.Write(make([]byte, r.data))
	return buf.Bytes()
}

func kvU32(key string, v uint32) func(*encoder) {
	return func(e *encoder) { e.str(key); e.u32(uint32(ValueUint32)); e.u32(v) }
}

func kvRaw(key string, typ ValueType, payload ...byte) func(*encoder) {
	return func(e *encoder) { e.str(key); e.u32(uint32(typ)); e.bytes(payload) }
}

func TestParseRejects(t *testing.T) {
	f32 := func(name string, offset uint64, ne ...uint64) rawTensor {
		return rawTensor{name: name, ne: ne, typ: TypeF32, offset: offset}
	}
	u64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	long := string(bytes.Repeat([]byte("n"), MaxTensorName+1))
	tests := []struct {
		name  string
		file  []byte
		wants []string
	}{
		{"bad magic", []byte("GGML\x03\x00\x00\x00"), []string{"bad magic"}},
		{"version 1", rawGGUF{version: 1}.bytes(), []string{"version 1"}},
		{"version 4", rawGGUF{version: 4}.bytes(), []string{"version 4"}},
		{"truncated counts", []byte("GGUF\x03\x00\x00\x00\x01"), []string{"need 8 bytes"}},
		{"too many keys", append([]byte("GGUF\x03\x00\x00\x00"), append(u64(0), u64(1<<40)...)...), []string{"cannot fit"}},
		{"duplicate key", rawGGUF{version: 3, kvs: []func(*encoder){kvU32("a", 1), kvU32("a", 2)}}.bytes(), []string{`key "a" appears twice`}},
		{"unknown value type", rawGGUF{version: 3, kvs: []func(*encoder){kvRaw("a", 13, 0)}}.bytes(), []string{"unknown value type 13"}},
		{"bad bool", rawGGUF{version: 3, kvs: []func(*encoder){kvRaw("a", ValueBool, 2)}}.bytes(), []string{"bool is 2"}},
		{"nested array", rawGGUF{version: 3, kvs: []func(*encoder){kvRaw("a", ValueArray, append([]byte{9, 0, 0, 0}, u64(1)...)...)}}.bytes(),
			[]string{"nested arrays"}},
		{"huge array", rawGGUF{version: 3, kvs: []func(*encoder){kvRaw("a", ValueArray, append([]byte{4, 0, 0, 0}, u64(1<<60)...)...)}}.bytes(),
			[]string{"cannot fit"}},
		{"string past end", rawGGUF{version: 3, kvs: []func(*encoder){kvRaw("a", ValueString, u64(100)...)}}.bytes(),
			[]string{"need 100 bytes"}},
		{"alignment type", rawGGUF{version: 3, kvs: []func(*encoder){kvRaw("general.alignment", ValueUint64, u64(32)...)}}.bytes(),
			[]string{"general.alignment must be a UINT32"}},
		{"alignment not power of two", rawGGUF{version: 3, kvs: []func(*encoder){kvU32("general.alignment", 24)}}.bytes(),
			[]string{"power of two"}},
		{"name too long", rawGGUF{version: 3, tensors: []rawTensor{f32(long, 0, 1)}, data: 32}.bytes(), []string{"64 bytes"}},
		{"duplicate tensor", rawGGUF{version: 3, tensors: []rawTensor{f32("t", 0, 1), f32("t", 32, 1)}, data: 64}.bytes(),
			[]string{`tensor "t" appears twice`}},
		{"no dims", rawGGUF{version: 3, tensors: []rawTensor{f32("t", 0)}, data: 32}.bytes(), []string{"0 dimensions"}},
		{"five dims", rawGGUF{version: 3, tensors: []rawTensor{f32("t", 0, 1, 1, 1, 1, 1)}, data: 32}.bytes(), []string{"5 dimensions"}},
		{"unknown type", rawGGUF{version: 3, tensors: []rawTensor{{name: "t", ne: []uint64{1}, typ: 99}}, data: 32}.bytes(),
			[]string{"GGMLType(99)"}},
		{"partial block", rawGGUF{version: 3, tensors: []rawTensor{{name: "t", ne: []uint64{16}, typ: TypeQ4_0}}, data: 32}.bytes(),
			[]string{"valid Q4_0 tensor"}},
		{"size overflow", rawGGUF{version: 3, tensors: []rawTensor{f32("t", 0, 1<<40, 1<<40)}, data: 32}.bytes(),
			[]string{"valid F32 tensor"}},
		{"offset hole", rawGGUF{version: 3, tensors: []rawTensor{f32("a", 0, 1), f32("b", 64, 1)}, data: 96}.bytes(),
			[]string{`tensor "b" has offset 64, want 32`}},
		{"offset unpadded", rawGGUF{version: 3, tensors: []rawTensor{f32("a", 0, 1), f32("b", 4, 1)}, data: 64}.bytes(),
			[]string{`tensor "b" has offset 4, want 32`}},
		{"data past end", rawGGUF{version: 3, tensors: []rawTensor{f32("a", 0, 16)}, data: 32}.bytes(),
			[]string{`tensor "a"`, "run past the end"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.file)
			wantError(t, err, append([]string{"GGUF", "offset"}, tt.wants...)...)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("%v is not a *FormatError", err)
			}
		})
	}
}

func TestParseEveryTruncation(t *testing.T) {
	raw := encode(t, sampleBuilder(t))
	f, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	last := f.Tensors[len(f.Tensors)-1]
	end := f.DataOffset + last.Offset + last.Size // padding after the last tensor is optional
	for n := range len(raw) {
		_, err := Parse(raw[:n])
		if uint64(n) < end && err == nil {
			t.Fatalf("a %d-byte prefix of a %d-byte file parsed", n, len(raw))
		}
		if uint64(n) >= end && err != nil {
			t.Fatalf("a %d-byte prefix holding every tensor: %v", n, err)
		}
	}
}

func TestWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.gguf")
	writeFile(t, path, []byte("old"))
	b := NewBuilder()
	if err := b.AddF32("t", []uint64{1}, []float32{1}); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path); err != nil {
		t.Fatal(err)
	}
	// Readable by a model server running as another user.
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", fi.Mode(), err)
	}
	entries, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(entries) != 1 {
		t.Errorf("folder holds %v, want only x.gguf", entries)
	}
	if err := b.WriteFile(filepath.Join(dir, "missing", "x.gguf")); err == nil {
		t.Error("writing into a missing folder succeeded")
	}
}
