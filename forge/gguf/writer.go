package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// Alignment is the alignment of the data section and of every tensor in
// the files this package writes; it is GGUF's default and is also written
// as general.alignment.
const Alignment = 32

// MaxTensorName is the longest tensor name llama.cpp accepts, in bytes
// (GGML_MAX_NAME - 1).
const MaxTensorName = 63

// MaxDims is the most dimensions a ggml tensor has.
const MaxDims = 4

// Builder assembles a GGUF v3 file. Keys keep the order of their first Set;
// setting a key again replaces its value. Tensors keep the order they were
// added in, and their data is laid out in that order.
//
// A Builder holds every tensor's bytes until it is written; it is not safe
// for concurrent use.
type Builder struct {
	kvs      []builderKV
	keyIndex map[string]int
	tensors  []builderTensor
	names    map[string]bool
}

type builderKV struct {
	key   string
	typ   ValueType
	value any // uint32, int32, float32, bool, string, []string, []float32, []int32 or []uint32
}

type builderTensor struct {
	name string
	typ  GGMLType
	ne   []uint64
	data []byte
}

// NewBuilder returns an empty Builder with general.alignment set.
func NewBuilder() *Builder {
	b := &Builder{keyIndex: make(map[string]int), names: make(map[string]bool)}
	b.SetUint32("general.alignment", Alignment)
	return b
}

func (b *Builder) set(key string, typ ValueType, v any) {
	kv := builderKV{key: key, typ: typ, value: v}
	if i, ok := b.keyIndex[key]; ok {
		b.kvs[i] = kv
		return
	}
	b.keyIndex[key] = len(b.kvs)
	b.kvs = append(b.kvs, kv)
}

// SetUint32 sets key to a UINT32.
func (b *Builder) SetUint32(key string, v uint32) { b.set(key, ValueUint32, v) }

// SetInt32 sets key to an INT32.
func (b *Builder) SetInt32(key string, v int32) { b.set(key, ValueInt32, v) }

// SetFloat32 sets key to a FLOAT32.
func (b *Builder) SetFloat32(key string, v float32) { b.set(key, ValueFloat32, v) }

// SetBool sets key to a BOOL.
func (b *Builder) SetBool(key string, v bool) { b.set(key, ValueBool, v) }

// SetString sets key to a STRING.
func (b *Builder) SetString(key, v string) { b.set(key, ValueString, v) }

// SetStrings sets key to an ARRAY of STRING. The Builder keeps v.
func (b *Builder) SetStrings(key string, v []string) { b.set(key, ValueArray, v) }

// SetFloat32s sets key to an ARRAY of FLOAT32. The Builder keeps v.
func (b *Builder) SetFloat32s(key string, v []float32) { b.set(key, ValueArray, v) }

// SetInt32s sets key to an ARRAY of INT32. The Builder keeps v.
func (b *Builder) SetInt32s(key string, v []int32) { b.set(key, ValueArray, v) }

// SetUint32s sets key to an ARRAY of UINT32. The Builder keeps v.
func (b *Builder) SetUint32s(key string, v []uint32) { b.set(key, ValueArray, v) }

// AddF32 adds an F32 tensor with dimensions ne (ne[0] contiguous) and the
// given elements, which the Builder copies.
func (b *Builder) AddF32(name string, ne []uint64, data []float32) error {
	raw := make([]byte, 4*len(data))
	for i, f := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	return b.AddRaw(name, TypeF32, ne, raw)
}

// AddRaw adds a tensor of type typ with dimensions ne and its encoded
// bytes, which the Builder keeps. It checks the name (unique, 1 to
// MaxTensorName bytes), the dimensions (1 to MaxDims, each at least 1) and
// that len(raw) is the size they imply.
func (b *Builder) AddRaw(name string, typ GGMLType, ne []uint64, raw []byte) error {
	if name == "" || len(name) > MaxTensorName {
		return fmt.Errorf("gguf: tensor name %q is %d bytes, want 1 to %d", name, len(name), MaxTensorName)
	}
	if b.names[name] {
		return fmt.Errorf("gguf: tensor %q added twice", name)
	}
	if len(ne) == 0 || len(ne) > MaxDims {
		return fmt.Errorf("gguf: tensor %q has %d dimensions, want 1 to %d", name, len(ne), MaxDims)
	}
	for _, d := range ne {
		if d == 0 {
			return fmt.Errorf("gguf: tensor %q has an empty dimension in %v", name, ne)
		}
	}
	size, ok := tensorBytes(typ, ne)
	if !ok {
		return fmt.Errorf("gguf: tensor %q: %v is not a valid shape for type %v", name, ne, typ)
	}
	if uint64(len(raw)) != size {
		return fmt.Errorf("gguf: tensor %q: %d bytes of data, but %v of %v needs %d", name, len(raw), ne, typ, size)
	}
	b.names[name] = true
	b.tensors = append(b.tensors, builderTensor{name: name, typ: typ, ne: append([]uint64(nil), ne...), data: raw})
	return nil
}

// WriteTo writes the file to w.
//
// Invariant: each tensor's offset is the sum of the sizes of the tensors
// before it, each rounded up to Alignment, and the data section starts at
// the first multiple of Alignment after the tensor infos.
func (b *Builder) WriteTo(w io.Writer) (int64, error) {
	for _, kv := range b.kvs {
		if kv.key == "" {
			return 0, errors.New("gguf: empty metadata key")
		}
	}
	bw := bufio.NewWriter(w)
	cw := &countingWriter{w: bw}
	e := encoder{w: cw}
	e.bytes([]byte("GGUF"))
	e.u32(3)
	e.u64(uint64(len(b.tensors)))
	e.u64(uint64(len(b.kvs)))
	for _, kv := range b.kvs {
		e.str(kv.key)
		e.u32(uint32(kv.typ))
		e.value(kv)
	}
	var offset uint64
	for _, t := range b.tensors {
		e.str(t.name)
		e.u32(uint32(len(t.ne)))
		for _, d := range t.ne {
			e.u64(d)
		}
		e.u32(uint32(t.typ))
		e.u64(offset)
		offset += padded(uint64(len(t.data)))
	}
	e.zeros(padded(uint64(cw.n)) - uint64(cw.n))
	for _, t := range b.tensors {
		e.bytes(t.data)
		e.zeros(padded(uint64(len(t.data))) - uint64(len(t.data)))
	}
	if e.err == nil {
		e.err = bw.Flush()
	}
	if e.err != nil {
		return cw.n, fmt.Errorf("gguf: write: %w", e.err)
	}
	return cw.n, nil
}

// WriteFile writes the file to path atomically: to a temporary file in the
// same folder, synced, then renamed over path. On error nothing is left at
// path that was not there before.
func (b *Builder) WriteFile(path string) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := b.WriteTo(f); err != nil {
		return err
	}
	// CreateTemp makes the file private; a model server running as
	// another user must be able to read it.
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("gguf: sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("gguf: close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func padded(n uint64) uint64 { return (n + Alignment - 1) / Alignment * Alignment }

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// encoder writes little-endian GGUF values, remembering the first error.
type encoder struct {
	w   io.Writer
	err error
	buf [8]byte
}

func (e *encoder) bytes(p []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
	}
}

func (e *encoder) zeros(n uint64) {
	var zero [Alignment]byte
	e.bytes(zero[:n])
}

func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], v)
	e.bytes(e.buf[:4])
}

func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], v)
	e.bytes(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.bytes([]byte(s))
}

func (e *encoder) value(kv builderKV) {
	switch v := kv.value.(type) {
	case uint32:
		e.u32(v)
	case int32:
		e.u32(uint32(v))
	case float32:
		e.u32(math.Float32bits(v))
	case bool:
		if v {
			e.bytes([]byte{1})
		} else {
			e.bytes([]byte{0})
		}
	case string:
		e.str(v)
	case []string:
		e.u32(uint32(ValueString))
		e.u64(uint64(len(v)))
		for _, s := range v {
			e.str(s)
		}
	case []float32:
		e.u32(uint32(ValueFloat32))
		e.u64(uint64(len(v)))
		for _, f := range v {
			e.u32(math.Float32bits(f))
		}
	case []int32:
		e.u32(uint32(ValueInt32))
		e.u64(uint64(len(v)))
		for _, i := range v {
			e.u32(uint32(i))
		}
	case []uint32:
		e.u32(uint32(ValueUint32))
		e.u64(uint64(len(v)))
		for _, u := range v {
			e.u32(u)
		}
	default:
		panic(fmt.Sprintf("gguf: key %q holds a %T, which no setter stores", kv.key, kv.value))
	}
}
