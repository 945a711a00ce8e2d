package gguf

import "fmt"

// ValueType is the type of a GGUF metadata value.
type ValueType uint32

// The GGUF metadata value types.
const (
	ValueUint8 ValueType = iota
	ValueInt8
	ValueUint16
	ValueInt16
	ValueUint32
	ValueInt32
	ValueFloat32
	ValueBool
	ValueString
	ValueArray
	ValueUint64
	ValueInt64
	ValueFloat64
)

var valueTypeNames = [...]string{
	"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
	"BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64",
}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("ValueType(%d)", uint32(t))
}

// fixedSize is the encoded size of a scalar of type t, or 0 for strings,
// arrays and unknown types.
func (t ValueType) fixedSize() int {
	switch t {
	case ValueUint8, ValueInt8, ValueBool:
		return 1
	case ValueUint16, ValueInt16:
		return 2
	case ValueUint32, ValueInt32, ValueFloat32:
		return 4
	case ValueUint64, ValueInt64, ValueFloat64:
		return 8
	}
	return 0
}

// GGMLType is the element type of a GGUF tensor (ggml_type).
type GGMLType uint32

// The ggml types this package knows the layout of. The writer produces F32;
// the reader accepts any of them.
const (
	TypeF32     GGMLType = 0
	TypeF16     GGMLType = 1
	TypeQ4_0    GGMLType = 2
	TypeQ4_1    GGMLType = 3
	TypeQ5_0    GGMLType = 6
	TypeQ5_1    GGMLType = 7
	TypeQ8_0    GGMLType = 8
	TypeQ8_1    GGMLType = 9
	TypeQ2_K    GGMLType = 10
	TypeQ3_K    GGMLType = 11
	TypeQ4_K    GGMLType = 12
	TypeQ5_K    GGMLType = 13
	TypeQ6_K    GGMLType = 14
	TypeQ8_K    GGMLType = 15
	TypeIQ2_XXS GGMLType = 16
	TypeIQ2_XS  GGMLType = 17
	TypeIQ3_XXS GGMLType = 18
	TypeIQ1_S   GGMLType = 19
	TypeIQ4_NL  GGMLType = 20
	TypeIQ3_S   GGMLType = 21
	TypeIQ2_S   GGMLType = 22
	TypeIQ4_XS  GGMLType = 23
	TypeI8      GGMLType = 24
	TypeI16     GGMLType = 25
	TypeI32     GGMLType = 26
	TypeI64     GGMLType = 27
	TypeF64     GGMLType = 28
	TypeIQ1_M   GGMLType = 29
	TypeBF16    GGMLType = 30
	TypeTQ1_0   GGMLType = 34
	TypeTQ2_0   GGMLType = 35
	TypeMXFP4   GGMLType = 39
)

// ggmlLayout is a ggml type's block: blockSize elements take typeSize bytes.
type ggmlLayout struct {
	name      string
	blockSize uint64
	typeSize  uint64
}

// ggmlLayouts is ggml's type_traits table for the types above.
var ggmlLayouts = map[GGMLType]ggmlLayout{
	TypeF32: {"F32", 1, 4}, TypeF16: {"F16", 1, 2},
	TypeQ4_0: {"Q4_0", 32, 18}, TypeQ4_1: {"Q4_1", 32, 20},
	TypeQ5_0: {"Q5_0", 32, 22}, TypeQ5_1: {"Q5_1", 32, 24},
	TypeQ8_0: {"Q8_0", 32, 34}, TypeQ8_1: {"Q8_1", 32, 36},
	TypeQ2_K: {"Q2_K", 256, 84}, TypeQ3_K: {"Q3_K", 256, 110},
	TypeQ4_K: {"Q4_K", 256, 144}, TypeQ5_K: {"Q5_K", 256, 176},
	TypeQ6_K: {"Q6_K", 256, 210}, TypeQ8_K: {"Q8_K", 256, 292},
	TypeIQ2_XXS: {"IQ2_XXS", 256, 66}, TypeIQ2_XS: {"IQ2_XS", 256, 74},
	TypeIQ3_XXS: {"IQ3_XXS", 256, 98}, TypeIQ1_S: {"IQ1_S", 256, 50},
	TypeIQ4_NL: {"IQ4_NL", 32, 18}, TypeIQ3_S: {"IQ3_S", 256, 110},
	TypeIQ2_S: {"IQ2_S", 256, 82}, TypeIQ4_XS: {"IQ4_XS", 256, 136},
	TypeI8: {"I8", 1, 1}, TypeI16: {"I16", 1, 2}, TypeI32: {"I32", 1, 4},
	TypeI64: {"I64", 1, 8}, TypeF64: {"F64", 1, 8},
	TypeIQ1_M: {"IQ1_M", 256, 56}, TypeBF16: {"BF16", 1, 2},
	TypeTQ1_0: {"TQ1_0", 256, 54}, TypeTQ2_0: {"TQ2_0", 256, 66},
	TypeMXFP4: {"MXFP4", 32, 17},
}

func (t GGMLType) String() string {
	if l, ok := ggmlLayouts[t]; ok {
		return l.name
	}
	return fmt.Sprintf("GGMLType(%d)", uint32(t))
}

// tensorBytes is the byte size of a tensor of type t with dimensions ne,
// or false when the type is unknown, ne[0] is not a whole number of blocks,
// or the size overflows int64.
func tensorBytes(t GGMLType, ne []uint64) (uint64, bool) {
	const limit = 1<<63 - 1
	l, ok := ggmlLayouts[t]
	if !ok || len(ne) == 0 || ne[0] > limit || ne[0]%l.blockSize != 0 {
		return 0, false
	}
	n := ne[0] / l.blockSize * l.typeSize
	elems := ne[0]
	for _, d := range ne[1:] {
		if d > limit || d != 0 && (n > limit/d || elems > limit/d) {
			return 0, false
		}
		n *= d
		elems *= d
	}
	return n, n <= limit
}
