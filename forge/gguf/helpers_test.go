package gguf

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// testTensor is a tensor to write into a test safetensors file.
type testTensor struct {
	name  string
	dtype string
	shape []uint64
	data  []byte
}

func f32Tensor(name string, shape []uint64, v []float32) testTensor {
	return testTensor{name: name, dtype: "F32", shape: shape, data: f32Bytes(v)}
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// bf16Tensor stores v truncated to bfloat16; tests choose values that are
// exact in bfloat16.
func bf16Tensor(name string, shape []uint64, v []float32) testTensor {
	b := make([]byte, 2*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(math.Float32bits(f)>>16))
	}
	return testTensor{name: name, dtype: "BF16", shape: shape, data: b}
}

// encodeSafetensors lays the tensors out in order and returns the file.
func encodeSafetensors(t testing.TB, tensors []testTensor, meta map[string]string) []byte {
	t.Helper()
	header := map[string]any{}
	if meta != nil {
		header["__metadata__"] = meta
	}
	var data []byte
	for _, tt := range tensors {
		header[tt.name] = map[string]any{
			"dtype": tt.dtype, "shape": tt.shape,
			"data_offsets": []int{len(data), len(data) + len(tt.data)},
		}
		data = append(data, tt.data...)
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	return rawSafetensors(string(h), data)
}

func rawSafetensors(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, b)
}

// pattern returns n distinct values derived from seed, all exact in
// bfloat16 (a small integer times a power of two).
func pattern(seed, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((seed*31+i*7)%113-56) / 64
	}
	return v
}

// tinyBase is the shape of the test model: grouped-query attention with
// more than one head per group, so q and k permute differently.
var tinyBase = BaseInfo{
	Architecture:     "llama",
	HiddenSize:       16,
	IntermediateSize: 24,
	Layers:           2,
	Heads:            4,
	KVHeads:          2,
	HeadDim:          4,
	ContextLength:    64,
	VocabSize:        259,
	RMSNormEps:       1e-5,
	RopeTheta:        10000,
}

func hfConfigJSON(b BaseInfo) map[string]any {
	return map[string]any{
		"architectures":           []string{"LlamaForCausalLM"},
		"model_type":              "llama",
		"hidden_size":             b.HiddenSize,
		"intermediate_size":       b.IntermediateSize,
		"num_hidden_layers":       b.Layers,
		"num_attention_heads":     b.Heads,
		"num_key_value_heads":     b.KVHeads,
		"max_position_embeddings": b.ContextLength,
		"vocab_size":              b.VocabSize,
		"rms_norm_eps":            b.RMSNormEps,
		"rope_theta":              b.RopeTheta,
		"tie_word_embeddings":     b.TieWordEmbeddings,
		"hidden_act":              "silu",
		"torch_dtype":             "float32",
		"bos_token_id":            1,
		"eos_token_id":            2,
		"rope_scaling":            nil,
	}
}

// hfModelTensors returns every tensor of a Llama of shape b, with distinct
// values, as a Hugging Face checkpoint names them.
func hfModelTensors(b BaseInfo, withLMHead bool) []testTensor {
	var ts []testTensor
	for i, bt := range baseLayout(b, withLMHead) {
		n := 1
		for _, d := range bt.shape {
			n *= int(d)
		}
		ts = append(ts, f32Tensor(bt.hf, bt.shape, pattern(i, n)))
	}
	return ts
}

// writeHFModel writes config.json and model.safetensors for b into dir.
func writeHFModel(t testing.TB, dir string, b BaseInfo, tensors []testTensor) {
	t.Helper()
	writeJSON(t, filepath.Join(dir, "config.json"), hfConfigJSON(b))
	writeFile(t, filepath.Join(dir, "model.safetensors"), encodeSafetensors(t, tensors, map[string]string{"format": "pt"}))
}

// peftTensors returns lora_A and lora_B for every projection of every
// layer of b, with rank r and distinct values.
func peftTensors(b BaseInfo, r int) []testTensor {
	var ts []testTensor
	for l := range b.Layers {
		for pi, p := range projections {
			stem := "base_model.model.model.layers." + strconv.Itoa(l) + "." + p.hf
			in, out := p.in(b), p.out(b)
			ts = append(ts,
				f32Tensor(stem+".lora_A.weight", []uint64{uint64(r), uint64(in)}, pattern(100*l+2*pi, r*in)),
				f32Tensor(stem+".lora_B.weight", []uint64{uint64(out), uint64(r)}, pattern(100*l+2*pi+1, out*r)))
		}
	}
	return ts
}

func peftConfig(r int, alpha float64) map[string]any {
	return map[string]any{
		"peft_type":      "LORA",
		"task_type":      "CAUSAL_LM",
		"r":              r,
		"lora_alpha":     alpha,
		"lora_dropout":   0.05,
		"bias":           "none",
		"target_modules": []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"},
		"use_rslora":     false,
		"use_dora":       false,
		"fan_in_fan_out": false,
		"rank_pattern":   map[string]any{},
		"alpha_pattern":  map[string]any{},
	}
}

// writePEFT writes adapter_config.json and adapter_model.safetensors.
func writePEFT(t testing.TB, dir string, cfg map[string]any, tensors []testTensor) {
	t.Helper()
	writeJSON(t, filepath.Join(dir, "adapter_config.json"), cfg)
	writeFile(t, filepath.Join(dir, "adapter_model.safetensors"), encodeSafetensors(t, tensors, map[string]string{"format": "pt"}))
}

// wantError fails unless err is non-nil, on one line, and contains every
// fragment.
func wantError(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", fragments)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("error %q does not contain %q", msg, f)
		}
	}
}
