package gguf

import (
	"strconv"
	"strings"
)

// projection is one of the seven linear layers of a Llama block, with the
// shape its Hugging Face weight (out × in) has for a given base.
type projection struct {
	hf      string // module path in the block: "self_attn.q_proj"
	gguf    string // GGUF tensor stem: "attn_q"
	in, out func(BaseInfo) int
	rotary  func(BaseInfo) int // heads for permuteRotaryRows, or nil
}

func hidden(b BaseInfo) int { return b.HiddenSize }
func qDim(b BaseInfo) int   { return b.Heads * b.HeadDim }
func kvDim(b BaseInfo) int  { return b.KVHeads * b.HeadDim }
func ffDim(b BaseInfo) int  { return b.IntermediateSize }

var projections = []projection{
	{"self_attn.q_proj", "attn_q", hidden, qDim, func(b BaseInfo) int { return b.Heads }},
	{"self_attn.k_proj", "attn_k", hidden, kvDim, func(b BaseInfo) int { return b.KVHeads }},
	{"self_attn.v_proj", "attn_v", hidden, kvDim, nil},
	{"self_attn.o_proj", "attn_output", qDim, hidden, nil},
	{"mlp.gate_proj", "ffn_gate", hidden, ffDim, nil},
	{"mlp.up_proj", "ffn_up", hidden, ffDim, nil},
	{"mlp.down_proj", "ffn_down", ffDim, hidden, nil},
}

// parseLayerName splits "model.layers.N.REST" into N and REST. N must be
// written canonically (no sign, no leading zeros).
func parseLayerName(name string) (layer int, rest string, ok bool) {
	s, found := strings.CutPrefix(name, "model.layers.")
	if !found {
		return 0, "", false
	}
	num, rest, found := strings.Cut(s, ".")
	if !found || num == "" || (len(num) > 1 && num[0] == '0') || strings.TrimLeft(num, "0123456789") != "" {
		return 0, "", false
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, "", false
	}
	return n, rest, true
}

func blockTensor(layer int, stem string) string {
	return "blk." + strconv.Itoa(layer) + "." + stem + ".weight"
}
