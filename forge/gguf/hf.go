package gguf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// BaseInfo is what the converters need to know about a base model: its
// GGUF architecture and the hyperparameters that fix its tensor shapes.
// ReadHFConfig fills it from a Hugging Face config.json.
type BaseInfo struct {
	Architecture      string  // GGUF general.architecture; "llama" is the only one supported
	HiddenSize        int     // n_embd
	IntermediateSize  int     // n_ff
	Layers            int     // n_layer
	Heads             int     // query heads
	KVHeads           int     // key/value heads; divides Heads
	HeadDim           int     // per head; even
	ContextLength     int     // max_position_embeddings
	VocabSize         int     // rows of the token embedding
	RMSNormEps        float64 // rms_norm_eps
	RopeTheta         float64 // rope frequency base
	TieWordEmbeddings bool    // the output projection is the token embedding
}

// hfConfig is the part of a Hugging Face LlamaConfig the converters read.
type hfConfig struct {
	Architectures         []string        `json:"architectures"`
	ModelType             string          `json:"model_type"`
	HiddenSize            *int            `json:"hidden_size"`
	IntermediateSize      *int            `json:"intermediate_size"`
	NumHiddenLayers       *int            `json:"num_hidden_layers"`
	NumAttentionHeads     *int            `json:"num_attention_heads"`
	NumKeyValueHeads      *int            `json:"num_key_value_heads"`
	HeadDim               *int            `json:"head_dim"`
	MaxPositionEmbeddings *int            `json:"max_position_embeddings"`
	VocabSize             *int            `json:"vocab_size"`
	RMSNormEps            *float64        `json:"rms_norm_eps"`
	RopeTheta             *float64        `json:"rope_theta"`
	RopeScaling           json.RawMessage `json:"rope_scaling"`
	RopeParameters        json.RawMessage `json:"rope_parameters"`
	TieWordEmbeddings     *bool           `json:"tie_word_embeddings"`
	HiddenAct             string          `json:"hidden_act"`
	AttentionBias         bool            `json:"attention_bias"`
	MLPBias               bool            `json:"mlp_bias"`
}

// ReadHFConfig reads dir/config.json, a Hugging Face Llama configuration
// (model_type "llama" or architectures ["LlamaForCausalLM"]), and checks it
// describes a model the converters can write: SiLU activation, no biases, no
// rope scaling, heads that divide evenly.
func ReadHFConfig(dir string) (BaseInfo, error) {
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return BaseInfo{}, fmt.Errorf("read base config: %w", err)
	}
	info, err := parseHFConfig(b)
	if err != nil {
		return BaseInfo{}, withPath(err, path)
	}
	return info, nil
}

func parseHFConfig(b []byte) (BaseInfo, error) {
	bad := func(where, reason string, args ...any) error {
		return formatErrorf("config.json", where, reason, args...)
	}
	var c hfConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return BaseInfo{}, bad("", "%v", err)
	}
	if c.ModelType != "llama" && !slices.Contains(c.Architectures, "LlamaForCausalLM") {
		return BaseInfo{}, bad("model_type", "%q (architectures %v) is not a Llama model", c.ModelType, c.Architectures)
	}
	if c.HiddenAct != "" && c.HiddenAct != "silu" {
		return BaseInfo{}, bad("hidden_act", "%q is not supported (llama.cpp's llama uses silu)", c.HiddenAct)
	}
	if c.AttentionBias || c.MLPBias {
		return BaseInfo{}, bad("attention_bias", "biases are not supported")
	}
	if !isJSONNull(c.RopeScaling) {
		var compact bytes.Buffer
		if json.Compact(&compact, c.RopeScaling) != nil {
			compact.Reset()
			compact.WriteString("a value")
		}
		return BaseInfo{}, bad("rope_scaling", "%s is not supported", compact.String())
	}
	info := BaseInfo{Architecture: "llama", RopeTheta: 10000}
	if c.RopeTheta != nil {
		info.RopeTheta = *c.RopeTheta
	} else if !isJSONNull(c.RopeParameters) {
		var rp struct {
			RopeType  string   `json:"rope_type"`
			RopeTheta *float64 `json:"rope_theta"`
		}
		if err := json.Unmarshal(c.RopeParameters, &rp); err != nil {
			return BaseInfo{}, bad("rope_parameters", "%v", err)
		}
		if rp.RopeType != "" && rp.RopeType != "default" {
			return BaseInfo{}, bad("rope_parameters", "rope_type %q is not supported", rp.RopeType)
		}
		if rp.RopeTheta != nil {
			info.RopeTheta = *rp.RopeTheta
		}
	}
	required := []struct {
		key string
		v   *int
		dst *int
	}{
		{"hidden_size", c.HiddenSize, &info.HiddenSize},
		{"intermediate_size", c.IntermediateSize, &info.IntermediateSize},
		{"num_hidden_layers", c.NumHiddenLayers, &info.Layers},
		{"num_attention_heads", c.NumAttentionHeads, &info.Heads},
		{"max_position_embeddings", c.MaxPositionEmbeddings, &info.ContextLength},
		{"vocab_size", c.VocabSize, &info.VocabSize},
	}
	for _, r := range required {
		if r.v == nil {
			return BaseInfo{}, bad(r.key, "missing")
		}
		*r.dst = *r.v
	}
	if c.RMSNormEps == nil {
		return BaseInfo{}, bad("rms_norm_eps", "missing")
	}
	info.RMSNormEps = *c.RMSNormEps
	info.KVHeads = info.Heads
	if c.NumKeyValueHeads != nil {
		info.KVHeads = *c.NumKeyValueHeads
	}
	if c.HeadDim != nil {
		info.HeadDim = *c.HeadDim
	} else if info.Heads > 0 {
		if info.HiddenSize%info.Heads != 0 {
			return BaseInfo{}, bad("num_attention_heads", "%d does not divide hidden_size %d", info.Heads, info.HiddenSize)
		}
		info.HeadDim = info.HiddenSize / info.Heads
	}
	info.TieWordEmbeddings = c.TieWordEmbeddings != nil && *c.TieWordEmbeddings
	if err := info.validate(); err != nil {
		return BaseInfo{}, bad("", "%v", err)
	}
	return info, nil
}

// validate checks the invariants the converters rely on.
func (b BaseInfo) validate() error {
	if b.Architecture != "llama" {
		return fmt.Errorf("architecture %q is not supported (want llama)", b.Architecture)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"hidden size", b.HiddenSize}, {"intermediate size", b.IntermediateSize}, {"layers", b.Layers},
		{"heads", b.Heads}, {"key/value heads", b.KVHeads}, {"head dim", b.HeadDim},
		{"context length", b.ContextLength}, {"vocab size", b.VocabSize},
	} {
		if f.v <= 0 || f.v > math.MaxInt32 {
			return fmt.Errorf("%s %d is out of range", f.name, f.v)
		}
	}
	if b.Heads%b.KVHeads != 0 {
		return fmt.Errorf("%d key/value heads do not divide %d heads", b.KVHeads, b.Heads)
	}
	if b.HeadDim%2 != 0 {
		return fmt.Errorf("head dim %d is odd; rotary embeddings need pairs", b.HeadDim)
	}
	if !(b.RMSNormEps > 0) || math.IsInf(b.RMSNormEps, 0) || !(b.RopeTheta > 0) || math.IsInf(b.RopeTheta, 0) {
		return fmt.Errorf("rms_norm_eps %g and rope theta %g must be positive and finite", b.RMSNormEps, b.RopeTheta)
	}
	return nil
}

func isJSONNull(b json.RawMessage) bool {
	s := strings.TrimSpace(string(b))
	return s == "" || s == "null"
}

// Weights is the union of the tensors of a Hugging Face model folder's
// safetensors files. Each tensor name is unique across the folder.
type Weights struct {
	byName map[string]*SafeTensor
}

// Tensor returns the tensor called name.
func (w *Weights) Tensor(name string) (*SafeTensor, bool) {
	t, ok := w.byName[name]
	return t, ok
}

// Names returns the tensor names, sorted.
func (w *Weights) Names() []string {
	names := make([]string, 0, len(w.byName))
	for n := range w.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ReadHFWeights reads the weights of a Hugging Face model folder: the
// shards named by model.safetensors.index.json when it exists, otherwise
// model.safetensors. The index's weight_map and the shards must agree
// exactly: every listed tensor is in its shard, and every shard tensor is
// listed for that shard. All shards are held in memory.
func ReadHFWeights(dir string) (*Weights, error) {
	indexPath := filepath.Join(dir, "model.safetensors.index.json")
	b, err := os.ReadFile(indexPath)
	if errors.Is(err, fs.ErrNotExist) {
		st, err := ReadSafetensors(filepath.Join(dir, "model.safetensors"))
		if err != nil {
			return nil, err
		}
		w := &Weights{byName: make(map[string]*SafeTensor, len(st.Tensors))}
		for i := range st.Tensors {
			w.byName[st.Tensors[i].Name] = &st.Tensors[i]
		}
		return w, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read weights index: %w", err)
	}
	bad := func(where, reason string, args ...any) error {
		e := formatErrorf("safetensors index", where, reason, args...)
		e.Path = indexPath
		return e
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		return nil, bad("", "%v", err)
	}
	if len(index.WeightMap) == 0 {
		return nil, bad("weight_map", "missing or empty")
	}
	shards := make(map[string][]string) // shard file -> tensor names
	for name, file := range index.WeightMap {
		if file != filepath.Base(file) || file == "." || file == ".." || !strings.HasSuffix(file, ".safetensors") {
			return nil, bad("tensor "+strconv.Quote(name), "shard %q is not a .safetensors file in the folder", file)
		}
		shards[file] = append(shards[file], name)
	}
	files := make([]string, 0, len(shards))
	for f := range shards {
		files = append(files, f)
	}
	slices.Sort(files)
	w := &Weights{byName: make(map[string]*SafeTensor, len(index.WeightMap))}
	for _, file := range files {
		path := filepath.Join(dir, file)
		st, err := ReadSafetensors(path)
		if err != nil {
			return nil, err
		}
		for i := range st.Tensors {
			t := &st.Tensors[i]
			if index.WeightMap[t.Name] != file {
				return nil, bad("tensor "+strconv.Quote(t.Name), "in shard %s, but the index lists it in %q", file, index.WeightMap[t.Name])
			}
			w.byName[t.Name] = t
		}
		for _, name := range shards[file] {
			if _, ok := st.Tensor(name); !ok {
				return nil, bad("tensor "+strconv.Quote(name), "listed in shard %s, which does not hold it", file)
			}
		}
	}
	return w, nil
}
