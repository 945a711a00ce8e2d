package gguf

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
)

// MaxSafetensorsHeader is the largest JSON header ParseSafetensors accepts,
// the limit of the reference safetensors implementation.
const MaxSafetensorsHeader = 100_000_000

// safetensorsDTypeSizes maps every dtype the safetensors format defines to
// its element size in bytes. Any of them parses; only F32, F16 and BF16
// convert to float32.
var safetensorsDTypeSizes = map[string]uint64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"U16": 2, "I16": 2, "F16": 2, "BF16": 2,
	"U32": 4, "I32": 4, "F32": 4,
	"U64": 8, "I64": 8, "F64": 8,
}

// Safetensors is a parsed safetensors file.
//
// Invariant (enforced by ParseSafetensors): the tensors' byte ranges tile
// the data section exactly, in Tensors order, and each range holds exactly
// the bytes its dtype and shape need.
type Safetensors struct {
	Metadata map[string]string // the "__metadata__" entry; nil when absent
	Tensors  []SafeTensor      // in the order of their data
	byName   map[string]int
}

// SafeTensor is one tensor of a safetensors file. Data aliases the buffer
// the file was parsed from; callers must not modify it.
type SafeTensor struct {
	Name  string
	DType string   // "F32", "F16", "BF16", ...
	Shape []uint64 // row-major, the last axis contiguous
	Data  []byte   // little-endian elements
}

// Tensor returns the tensor called name.
func (s *Safetensors) Tensor(name string) (*SafeTensor, bool) {
	i, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	return &s.Tensors[i], true
}

// ReadSafetensors reads and parses the safetensors file at path. The whole
// file is held in memory.
func ReadSafetensors(path string) (*Safetensors, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read safetensors: %w", err)
	}
	st, err := ParseSafetensors(b)
	if err != nil {
		return nil, withPath(err, path)
	}
	return st, nil
}

// ParseSafetensors parses a safetensors file: a u64 little-endian header
// length, a JSON object {name: {dtype, shape, data_offsets}, "__metadata__":
// {string: string}}, then the data, with offsets relative to its start. It
// rejects a header over MaxSafetensorsHeader, duplicate or unknown fields,
// unknown dtypes, byte ranges that do not tile the data exactly, and shapes
// that disagree with their byte range. The result aliases b.
func ParseSafetensors(b []byte) (*Safetensors, error) {
	bad := func(where, reason string, args ...any) error {
		return formatErrorf("safetensors", where, reason, args...)
	}
	if len(b) < 8 {
		return nil, bad("", "%d bytes is too short for the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > MaxSafetensorsHeader {
		return nil, bad("header", "length %d exceeds the %d-byte limit", n, MaxSafetensorsHeader)
	}
	if n > uint64(len(b)-8) {
		return nil, bad("header", "length %d runs past the end of the %d-byte file", n, len(b))
	}
	header, data := b[8:8+n], b[8+n:]
	if len(header) == 0 || header[0] != '{' {
		return nil, bad("header", "does not start with '{'")
	}

	entries, err := jsonObjectEntries(header)
	if err != nil {
		return nil, bad("header", "%v", err)
	}
	st := &Safetensors{byName: make(map[string]int, len(entries))}
	type span struct{ begin, end uint64 }
	spans := make([]span, 0, len(entries))
	for _, e := range entries {
		if e.key == "__metadata__" {
			if err := decodeStrict(e.value, &st.Metadata); err != nil {
				return nil, bad("__metadata__", "want an object of strings: %v", err)
			}
			continue
		}
		where := "tensor " + strconv.Quote(e.key)
		var info struct {
			DType   *string   `json:"dtype"`
			Shape   *[]uint64 `json:"shape"`
			Offsets *[]uint64 `json:"data_offsets"`
		}
		if err := decodeStrict(e.value, &info); err != nil {
			return nil, bad(where, "%v", err)
		}
		if info.DType == nil || info.Shape == nil || info.Offsets == nil {
			return nil, bad(where, "needs dtype, shape and data_offsets")
		}
		size, ok := safetensorsDTypeSizes[*info.DType]
		if !ok {
			return nil, bad(where, "unknown dtype %q", *info.DType)
		}
		if len(*info.Offsets) != 2 {
			return nil, bad(where, "data_offsets has %d numbers, want 2", len(*info.Offsets))
		}
		begin, end := (*info.Offsets)[0], (*info.Offsets)[1]
		if begin > end || end > uint64(len(data)) {
			return nil, bad(where, "data_offsets [%d, %d] do not lie within the %d data bytes", begin, end, len(data))
		}
		need, ok := byteSize(*info.Shape, size, end-begin)
		if !ok || need != end-begin {
			return nil, bad(where, "shape %v of %s does not fill data_offsets [%d, %d] (%d bytes)",
				*info.Shape, *info.DType, begin, end, end-begin)
		}
		st.byName[e.key] = len(st.Tensors)
		st.Tensors = append(st.Tensors, SafeTensor{
			Name: e.key, DType: *info.DType, Shape: *info.Shape, Data: data[begin:end:end],
		})
		spans = append(spans, span{begin, end})
	}

	order := make([]int, len(st.Tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		if c := compareUint64(spans[i].begin, spans[j].begin); c != 0 {
			return c
		}
		return compareUint64(spans[i].end, spans[j].end)
	})
	var next uint64
	sorted := make([]SafeTensor, len(order))
	for k, i := range order {
		if spans[i].begin != next {
			return nil, bad("tensor "+strconv.Quote(st.Tensors[i].Name),
				"data starts at %d, want %d: tensors must tile the data without holes or overlaps", spans[i].begin, next)
		}
		next = spans[i].end
		sorted[k] = st.Tensors[i]
		st.byName[sorted[k].Name] = k
	}
	if next != uint64(len(data)) {
		return nil, bad("", "tensors cover %d of the %d data bytes", next, len(data))
	}
	st.Tensors = sorted
	return st, nil
}

// Float32s converts the tensor's elements to float32. F32, F16 and BF16
// convert exactly; any other dtype is an error.
func (t *SafeTensor) Float32s() ([]float32, error) {
	var out []float32
	switch t.DType {
	case "F32":
		out = make([]float32, len(t.Data)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
	case "F16":
		out = make([]float32, len(t.Data)/2)
		for i := range out {
			out[i] = float16ToFloat32(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
	case "BF16":
		out = make([]float32, len(t.Data)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(t.Data[2*i:])) << 16)
		}
	default:
		return nil, fmt.Errorf("tensor %q: dtype %s does not convert to float32 (want F32, F16 or BF16)", t.Name, t.DType)
	}
	return out, nil
}

// Elements is the number of elements, the product of the shape.
func (t *SafeTensor) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// float16ToFloat32 converts an IEEE 754 binary16 to float32, exactly.
func float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0: // zero or subnormal: mant * 2^-24
		f := float32(mant) / (1 << 24)
		return math.Float32frombits(sign | math.Float32bits(f))
	case 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	default: // rebias the exponent from 15 to 127
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
}

// byteSize returns product(shape)*elem, or false when it exceeds limit
// (which also rules out overflow).
func byteSize(shape []uint64, elem, limit uint64) (uint64, bool) {
	n := elem
	for _, d := range shape {
		if d == 0 {
			return 0, true
		}
		if n > limit/d {
			return 0, false
		}
		n *= d
	}
	return n, n <= limit
}

func compareUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type jsonEntry struct {
	key   string
	value json.RawMessage
}

// jsonObjectEntries splits a JSON object into its entries in order,
// rejecting duplicate keys and anything after the object but whitespace.
func jsonObjectEntries(b []byte) ([]jsonEntry, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil {
		return nil, err
	} else if tok != json.Delim('{') {
		return nil, fmt.Errorf("want a JSON object")
	}
	var entries []jsonEntry
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string) // inside an object, Token returns keys as strings
		if seen[key] {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		entries = append(entries, jsonEntry{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON object")
	}
	return entries, nil
}

// decodeStrict decodes b into v, rejecting unknown fields and trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}
