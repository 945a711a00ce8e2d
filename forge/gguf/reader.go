package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
)

// File is a parsed GGUF file.
//
// Invariant (enforced by Parse): keys and tensor names are unique, every
// tensor's offset is the running sum of the padded sizes before it, and
// every tensor's data lies within the file.
type File struct {
	Version    uint32
	KV         []KV // in file order
	Tensors    []TensorInfo
	Alignment  uint64 // general.alignment, or 32
	DataOffset uint64 // where the data section starts, from the start of the file
	data       []byte
	keyIndex   map[string]int
	nameIndex  map[string]int
}

// KV is one metadata key/value pair. Value holds, by Type: uint8, int8,
// uint16, int16, uint32, int32, float32, bool, string, uint64, int64,
// float64, or an Array.
type KV struct {
	Key   string
	Type  ValueType
	Value any
}

// Array is an ARRAY value. Values is a slice of the element type's Go
// type ([]uint8 ... []float64, []bool, []string); nested arrays are not
// supported, as in llama.cpp.
type Array struct {
	Elem   ValueType
	Values any
}

// TensorInfo describes one tensor: its dimensions (ne[0] contiguous), its
// type, and where its Size bytes lie relative to the data section.
type TensorInfo struct {
	Name   string
	Ne     []uint64
	Type   GGMLType
	Offset uint64
	Size   uint64
}

// Lookup returns the pair for key.
func (f *File) Lookup(key string) (KV, bool) {
	i, ok := f.keyIndex[key]
	if !ok {
		return KV{}, false
	}
	return f.KV[i], true
}

// Tensor returns the info of the tensor called name.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.nameIndex[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// TensorData returns the bytes of the tensor called name; they alias the
// parsed buffer.
func (f *File) TensorData(name string) ([]byte, bool) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, false
	}
	start := f.DataOffset + t.Offset
	return f.data[start : start+t.Size : start+t.Size], true
}

// Float32s returns the elements of an F32 tensor.
func (f *File) Float32s(name string) ([]float32, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("gguf: no tensor %q", name)
	}
	if t.Type != TypeF32 {
		return nil, fmt.Errorf("gguf: tensor %q is %v, not F32", name, t.Type)
	}
	raw, _ := f.TensorData(name)
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

// ReadFile reads and parses the GGUF file at path. The whole file is held
// in memory.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read gguf: %w", err)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, withPath(err, path)
	}
	return f, nil
}

// Parse parses a GGUF file of version 2 or 3 with the checks llama.cpp's
// gguf_init makes: every length is checked against the bytes left before
// anything is allocated, keys and tensor names are unique, names are at
// most MaxTensorName bytes, tensors have 1 to MaxDims dimensions and a known
// type whose block divides ne[0], general.alignment (if present) is a UINT32
// power of two, offsets are exactly the running sum of padded sizes, and the
// data lies within b. The result aliases b.
func Parse(b []byte) (*File, error) {
	d := decoder{b: b}
	if string(d.take(4)) != "GGUF" {
		return nil, d.fail("not a GGUF file (bad magic)")
	}
	f := &File{data: b, Alignment: Alignment, keyIndex: map[string]int{}, nameIndex: map[string]int{}}
	f.Version = d.u32()
	if d.err == nil && (f.Version < 2 || f.Version > 3) {
		return nil, d.fail("version %d is not supported (want 2 or 3)", f.Version)
	}
	nTensors, nKV := d.u64(), d.u64()
	if d.err != nil {
		return nil, d.err
	}
	// Every pair takes at least 8+4+1 bytes and every tensor info 8+4+8+4+8.
	if nKV > uint64(d.left())/13 || nTensors > uint64(d.left())/32 {
		return nil, d.fail("%d keys and %d tensors cannot fit in %d bytes", nKV, nTensors, d.left())
	}
	f.KV = make([]KV, 0, nKV)
	for range nKV {
		at := d.off
		key := d.str()
		typ := ValueType(d.u32())
		value := d.value(typ, true)
		if d.err != nil {
			return nil, d.err
		}
		if _, dup := f.keyIndex[key]; dup {
			return nil, d.failAt(at, "key %q appears twice", key)
		}
		f.keyIndex[key] = len(f.KV)
		f.KV = append(f.KV, KV{Key: key, Type: typ, Value: value})
	}
	if kv, ok := f.Lookup("general.alignment"); ok {
		a, isU32 := kv.Value.(uint32)
		if !isU32 || a == 0 || a&(a-1) != 0 {
			return nil, d.fail("general.alignment must be a UINT32 power of two, got %v %v", kv.Type, kv.Value)
		}
		f.Alignment = uint64(a)
	}
	f.Tensors = make([]TensorInfo, 0, nTensors)
	starts := make([]int, 0, nTensors)
	for range nTensors {
		at := d.off
		var t TensorInfo
		t.Name = d.str()
		nDims := d.u32()
		if d.err != nil {
			return nil, d.err
		}
		where := "tensor " + strconv.Quote(t.Name)
		if len(t.Name) == 0 || len(t.Name) > MaxTensorName {
			return nil, d.failAt(at, "%s: name is %d bytes, want 1 to %d", where, len(t.Name), MaxTensorName)
		}
		if _, dup := f.nameIndex[t.Name]; dup {
			return nil, d.failAt(at, "%s appears twice", where)
		}
		if nDims == 0 || nDims > MaxDims {
			return nil, d.failAt(at, "%s has %d dimensions, want 1 to %d", where, nDims, MaxDims)
		}
		t.Ne = make([]uint64, nDims)
		for i := range t.Ne {
			t.Ne[i] = d.u64()
		}
		t.Type = GGMLType(d.u32())
		t.Offset = d.u64()
		if d.err != nil {
			return nil, d.err
		}
		size, ok := tensorBytes(t.Type, t.Ne)
		if !ok {
			return nil, d.failAt(at, "%s: dimensions %v do not make a valid %v tensor", where, t.Ne, t.Type)
		}
		t.Size = size
		f.nameIndex[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
		starts = append(starts, at)
	}
	f.DataOffset = uint64(d.off)
	if len(f.Tensors) > 0 {
		f.DataOffset = (f.DataOffset + f.Alignment - 1) / f.Alignment * f.Alignment
	}
	var next uint64
	for i, t := range f.Tensors {
		where := "tensor " + strconv.Quote(t.Name)
		if t.Offset != next {
			return nil, d.failAt(starts[i], "%s has offset %d, want %d", where, t.Offset, next)
		}
		if t.Size > uint64(len(b)) || f.DataOffset+t.Offset > uint64(len(b))-t.Size {
			return nil, d.failAt(starts[i], "%s: its %d bytes at data offset %d run past the end of the %d-byte file", where, t.Size, t.Offset, len(b))
		}
		next = t.Offset + (t.Size+f.Alignment-1)/f.Alignment*f.Alignment
	}
	return f, nil
}

// decoder reads little-endian GGUF values from b, remembering the first
// error; after an error every read returns zero values.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) left() int { return len(d.b) - d.off }

func (d *decoder) fail(reason string, args ...any) error {
	return d.failAt(d.off, reason, args...)
}

func (d *decoder) failAt(off int, reason string, args ...any) error {
	if d.err == nil {
		d.err = formatErrorf("GGUF", "offset "+strconv.Itoa(off), reason, args...)
	}
	return d.err
}

func (d *decoder) take(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(d.left()) {
		d.fail("need %d bytes, %d left", n, d.left())
		return nil
	}
	p := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return p
}

func (d *decoder) u8() uint8 {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if p := d.take(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if p := d.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if p := d.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) str() string { return string(d.take(d.u64())) }

func (d *decoder) boolean() bool {
	at := d.off
	switch v := d.u8(); v {
	case 0, 1:
		return v == 1
	default:
		d.failAt(at, "bool is %d, want 0 or 1", v)
		return false
	}
}

// value reads one value of type t; arrays only when arrayOK.
func (d *decoder) value(t ValueType, arrayOK bool) any {
	switch t {
	case ValueUint8:
		return d.u8()
	case ValueInt8:
		return int8(d.u8())
	case ValueUint16:
		return d.u16()
	case ValueInt16:
		return int16(d.u16())
	case ValueUint32:
		return d.u32()
	case ValueInt32:
		return int32(d.u32())
	case ValueFloat32:
		return math.Float32frombits(d.u32())
	case ValueBool:
		return d.boolean()
	case ValueString:
		return d.str()
	case ValueUint64:
		return d.u64()
	case ValueInt64:
		return int64(d.u64())
	case ValueFloat64:
		return math.Float64frombits(d.u64())
	case ValueArray:
		if arrayOK {
			return d.array()
		}
		d.fail("nested arrays are not supported")
	default:
		d.fail("unknown value type %d", uint32(t))
	}
	return nil
}

func (d *decoder) array() any {
	elem := ValueType(d.u32())
	n := d.u64()
	if d.err != nil {
		return nil
	}
	minSize := uint64(elem.fixedSize())
	switch elem {
	case ValueString:
		minSize = 8
	case ValueArray:
		d.fail("nested arrays are not supported")
		return nil
	}
	if minSize == 0 {
		d.fail("unknown array element type %d", uint32(elem))
		return nil
	}
	if n > uint64(d.left())/minSize {
		d.fail("array of %d %v cannot fit in %d bytes", n, elem, d.left())
		return nil
	}
	var values any
	switch elem {
	case ValueUint8:
		values = readN(d, n, d.u8)
	case ValueInt8:
		values = readN(d, n, func() int8 { return int8(d.u8()) })
	case ValueUint16:
		values = readN(d, n, d.u16)
	case ValueInt16:
		values = readN(d, n, func() int16 { return int16(d.u16()) })
	case ValueUint32:
		values = readN(d, n, d.u32)
	case ValueInt32:
		values = readN(d, n, func() int32 { return int32(d.u32()) })
	case ValueFloat32:
		values = readN(d, n, func() float32 { return math.Float32frombits(d.u32()) })
	case ValueBool:
		values = readN(d, n, d.boolean)
	case ValueString:
		values = readN(d, n, d.str)
	case ValueUint64:
		values = readN(d, n, d.u64)
	case ValueInt64:
		values = readN(d, n, func() int64 { return int64(d.u64()) })
	case ValueFloat64:
		values = readN(d, n, func() float64 { return math.Float64frombits(d.u64()) })
	}
	return Array{Elem: elem, Values: values}
}

func readN[T any](d *decoder, n uint64, read func() T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = read()
		if d.err != nil {
			return nil
		}
	}
	return out
}
