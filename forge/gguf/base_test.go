package gguf

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	parser "github.com/gpustack/gguf-parser-go"
)

func TestByteVocab(t *testing.T) {
	v := ByteVocab()
	if err := v.validate(); err != nil {
		t.Fatal(err)
	}
	if len(v.Tokens) != 259 || v.BOS != 1 || v.EOS != 2 || v.Unknown != 0 || !v.AddBOS || v.AddEOS || v.AddSpacePrefix {
		t.Errorf("ByteVocab = %d tokens, bos %d eos %d unk %d, add bos %v eos %v space %v",
			len(v.Tokens), v.BOS, v.EOS, v.Unknown, v.AddBOS, v.AddEOS, v.AddSpacePrefix)
	}
	for id, want := range map[int]struct {
		text string
		typ  TokenType
	}{
		0: {"<unk>", TokenUnknown}, 1: {"<s>", TokenControl}, 2: {"</s>", TokenControl},
		3: {"<0x00>", TokenByte}, 3 + '\n': {"<0x0A>", TokenByte}, 3 + ' ': {"<0x20>", TokenByte},
		3 + 0xE2: {"<0xE2>", TokenByte}, 258: {"<0xFF>", TokenByte},
	} {
		if v.Tokens[id] != want.text || v.Types[id] != want.typ {
			t.Errorf("token %d = %q %d, want %q %d", id, v.Tokens[id], v.Types[id], want.text, want.typ)
		}
	}
}

func TestVocabValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Vocab)
		wants  string
	}{
		{"short scores", func(v *Vocab) { v.Scores = v.Scores[1:] }, "258 scores"},
		{"empty token", func(v *Vocab) { v.Tokens[5] = "" }, "token 5 is empty"},
		{"duplicate", func(v *Vocab) { v.Tokens[4] = "<0x00>" }, `tokens 3 and 4 are both "<0x00>"`},
		{"bad type", func(v *Vocab) { v.Types[7] = 9 }, "type 9"},
		{"eos out of range", func(v *Vocab) { v.EOS = 259 }, "id 259 is not below 259"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := ByteVocab()
			tt.mutate(v)
			wantError(t, v.validate(), tt.wants)
		})
	}
}

func TestReadHFConfig(t *testing.T) {
	full := hfConfigJSON(tinyBase)
	tests := []struct {
		name   string
		mutate func(map[string]any)
		want   func(*BaseInfo)
		wants  []string // error fragments; nil when it must succeed
	}{
		{"complete", func(map[string]any) {}, func(*BaseInfo) {}, nil},
		{"kv heads default to heads", func(c map[string]any) { delete(c, "num_key_value_heads") },
			func(b *BaseInfo) { b.KVHeads = b.Heads }, nil},
		{"rope theta defaults to 10000", func(c map[string]any) { delete(c, "rope_theta") }, func(*BaseInfo) {}, nil},
		{"rope_parameters", func(c map[string]any) {
			delete(c, "rope_theta")
			c["rope_parameters"] = map[string]any{"rope_type": "default", "rope_theta": 500000.0}
		}, func(b *BaseInfo) { b.RopeTheta = 500000 }, nil},
		{"explicit head_dim", func(c map[string]any) { c["head_dim"] = 8 }, func(b *BaseInfo) { b.HeadDim = 8 }, nil},
		{"tied", func(c map[string]any) { c["tie_word_embeddings"] = true }, func(b *BaseInfo) { b.TieWordEmbeddings = true }, nil},
		{"only architectures", func(c map[string]any) { delete(c, "model_type") }, func(*BaseInfo) {}, nil},
		{"not llama", func(c map[string]any) { c["model_type"] = "qwen2"; c["architectures"] = []string{"Qwen2ForCausalLM"} }, nil,
			[]string{"model_type", "not a Llama model"}},
		{"rope scaling", func(c map[string]any) { c["rope_scaling"] = map[string]any{"rope_type": "llama3", "factor": 8.0} }, nil,
			[]string{"rope_scaling", "not supported"}},
		{"yarn rope_parameters", func(c map[string]any) {
			c["rope_parameters"] = map[string]any{"rope_type": "yarn"}
			delete(c, "rope_theta")
		}, nil,
			[]string{"rope_parameters", "yarn"}},
		{"gelu", func(c map[string]any) { c["hidden_act"] = "gelu" }, nil, []string{"hidden_act"}},
		{"attention bias", func(c map[string]any) { c["attention_bias"] = true }, nil, []string{"biases"}},
		{"missing hidden size", func(c map[string]any) { delete(c, "hidden_size") }, nil, []string{"hidden_size: missing"}},
		{"missing eps", func(c map[string]any) { delete(c, "rms_norm_eps") }, nil, []string{"rms_norm_eps: missing"}},
		{"heads do not divide hidden", func(c map[string]any) { c["num_attention_heads"] = 3; c["num_key_value_heads"] = 3 }, nil,
			[]string{"3 does not divide hidden_size 16"}},
		{"kv heads do not divide heads", func(c map[string]any) { c["num_key_value_heads"] = 3 }, nil,
			[]string{"3 key/value heads do not divide 4 heads"}},
		{"odd head dim", func(c map[string]any) { c["head_dim"] = 5 }, nil, []string{"head dim 5 is odd"}},
		{"zero layers", func(c map[string]any) { c["num_hidden_layers"] = 0 }, nil, []string{"layers 0 is out of range"}},
		{"not json", nil, nil, []string{"config.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.mutate == nil {
				writeFile(t, filepath.Join(dir, "config.json"), []byte("{"))
			} else {
				c := make(map[string]any)
				for k, v := range full {
					c[k] = v
				}
				tt.mutate(c)
				writeJSON(t, filepath.Join(dir, "config.json"), c)
			}
			got, err := ReadHFConfig(dir)
			if tt.wants != nil {
				wantError(t, err, append([]string{filepath.Join(dir, "config.json")}, tt.wants...)...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tinyBase
			tt.want(&want)
			if got != want {
				t.Errorf("ReadHFConfig =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func convertTinyBase(t *testing.T, b BaseInfo, tensors []testTensor, opts BaseOptions) (string, error) {
	t.Helper()
	dir := t.TempDir()
	writeHFModel(t, filepath.Join(dir, "tiny-llama"), b, tensors)
	out := filepath.Join(dir, "base.gguf")
	return out, ConvertBase(filepath.Join(dir, "tiny-llama"), out, opts)
}

func TestConvertBase(t *testing.T) {
	hf := hfModelTensors(tinyBase, true)
	out, err := convertTinyBase(t, tinyBase, hf, BaseOptions{Vocab: ByteVocab()})
	if err != nil {
		t.Fatal(err)
	}

	theirs, err := parser.ParseGGUFFile(out)
	if err != nil {
		t.Fatal(err)
	}
	arch := theirs.Architecture()
	if arch.Type != "model" || arch.Architecture != "llama" || arch.EmbeddingLength != 16 || arch.BlockCount != 2 ||
		arch.FeedForwardLength[0] != 24 || arch.AttentionHeadCount != 4 || arch.AttentionHeadCountKV != 2 ||
		arch.MaximumContextLength != 64 || arch.RoPEDimensionCount != 4 || arch.VocabularyLength != 259 {
		t.Errorf("parser architecture = %+v", arch)
	}
	tok := theirs.Tokenizer()
	if tok.Model != "llama" || tok.TokensLength != 259 || tok.BOSTokenID != 1 || tok.EOSTokenID != 2 || tok.UnknownTokenID != 0 {
		t.Errorf("parser tokenizer = %+v", tok)
	}
	if ft := theirs.TensorInfos.GetFileType(); ft != parser.GGUFFileTypeMostlyF32 {
		t.Errorf("parser file type from tensors = %v", ft)
	}

	// llama.cpp reads each of these with one exact type and refuses others.
	wantTypes := map[string]parser.GGUFMetadataValueType{
		"general.architecture":                   parser.GGUFMetadataValueTypeString,
		"general.alignment":                      parser.GGUFMetadataValueTypeUint32,
		"general.file_type":                      parser.GGUFMetadataValueTypeUint32,
		"llama.context_length":                   parser.GGUFMetadataValueTypeUint32,
		"llama.embedding_length":                 parser.GGUFMetadataValueTypeUint32,
		"llama.block_count":                      parser.GGUFMetadataValueTypeUint32,
		"llama.feed_forward_length":              parser.GGUFMetadataValueTypeUint32,
		"llama.rope.dimension_count":             parser.GGUFMetadataValueTypeUint32,
		"llama.rope.freq_base":                   parser.GGUFMetadataValueTypeFloat32,
		"llama.attention.head_count":             parser.GGUFMetadataValueTypeUint32,
		"llama.attention.head_count_kv":          parser.GGUFMetadataValueTypeUint32,
		"llama.attention.layer_norm_rms_epsilon": parser.GGUFMetadataValueTypeFloat32,
		"llama.vocab_size":                       parser.GGUFMetadataValueTypeUint32,
		"tokenizer.ggml.model":                   parser.GGUFMetadataValueTypeString,
		"tokenizer.ggml.tokens":                  parser.GGUFMetadataValueTypeArray,
		"tokenizer.ggml.scores":                  parser.GGUFMetadataValueTypeArray,
		"tokenizer.ggml.token_type":              parser.GGUFMetadataValueTypeArray,
		"tokenizer.ggml.bos_token_id":            parser.GGUFMetadataValueTypeUint32,
		"tokenizer.ggml.eos_token_id":            parser.GGUFMetadataValueTypeUint32,
		"tokenizer.ggml.unknown_token_id":        parser.GGUFMetadataValueTypeUint32,
		"tokenizer.ggml.add_bos_token":           parser.GGUFMetadataValueTypeBool,
		"tokenizer.ggml.add_eos_token":           parser.GGUFMetadataValueTypeBool,
		"tokenizer.ggml.add_space_prefix":        parser.GGUFMetadataValueTypeBool,
	}
	for key, typ := range wantTypes {
		kv, ok := theirs.Header.MetadataKV.Get(key)
		if !ok || kv.ValueType != typ {
			t.Errorf("%s = %v, want a %v", key, kv.ValueType, typ)
		}
	}
	elems := map[string]parser.GGUFMetadataValueType{
		"tokenizer.ggml.tokens": parser.GGUFMetadataValueTypeString, "tokenizer.ggml.scores": parser.GGUFMetadataValueTypeFloat32,
		"tokenizer.ggml.token_type": parser.GGUFMetadataValueTypeInt32,
	}
	for key, typ := range elems {
		kv, _ := theirs.Header.MetadataKV.Get(key)
		if av := kv.ValueArray(); av.Type != typ || av.Len != 259 {
			t.Errorf("%s = %v[%d], want %v[259]", key, av.Type, av.Len, typ)
		}
	}
	if kv, _ := theirs.Header.MetadataKV.Get("llama.attention.layer_norm_rms_epsilon"); kv.ValueFloat32() != float32(1e-5) {
		t.Errorf("rms eps = %v", kv.ValueFloat32())
	}
	if kv, _ := theirs.Header.MetadataKV.Get("general.name"); kv.ValueString() != "tiny-llama" {
		t.Errorf("general.name = %q", kv.ValueString())
	}

	ours, err := ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	assertTensorsAgree(t, ours, theirs)
	var names []string
	for _, ti := range ours.Tensors {
		names = append(names, ti.Name)
	}
	want := []string{"token_embd.weight"}
	for l := range tinyBase.Layers {
		for _, s := range []string{"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"} {
			want = append(want, "blk."+strconv.Itoa(l)+"."+s+".weight")
		}
	}
	want = append(want, "output_norm.weight", "output.weight")
	if !slices.Equal(names, want) {
		t.Errorf("tensors %v, want %v", names, want)
	}

	for _, bt := range baseLayout(tinyBase, true) {
		ti, _ := ours.Tensor(bt.gguf)
		ne := slices.Clone(bt.shape)
		slices.Reverse(ne)
		if !slices.Equal(ti.Ne, ne) || ti.Type != TypeF32 {
			t.Errorf("%s: %v %v, want F32 %v", bt.gguf, ti.Type, ti.Ne, ne)
		}
		src := hf[slices.IndexFunc(hf, func(t testTensor) bool { return t.name == bt.hf })]
		wantData, _ := (&SafeTensor{DType: src.dtype, Data: src.data}).Float32s()
		rows := int(bt.shape[0])
		switch {
		case bt.gguf == "blk.0.attn_q.weight" || bt.gguf == "blk.1.attn_q.weight":
			wantData = pythonPermute(wantData, rows, int(bt.shape[1]), tinyBase.Heads, tinyBase.Heads)
		case bt.gguf == "blk.0.attn_k.weight" || bt.gguf == "blk.1.attn_k.weight":
			wantData = pythonPermute(wantData, rows, int(bt.shape[1]), tinyBase.Heads, tinyBase.KVHeads)
		}
		if got, _ := ours.Float32s(bt.gguf); !slices.Equal(got, wantData) {
			t.Errorf("%s does not hold %s as converted", bt.gguf, bt.hf)
		}
	}
}

func TestConvertBaseTiedEmbeddings(t *testing.T) {
	tied := tinyBase
	tied.TieWordEmbeddings = true
	out, err := convertTinyBase(t, tied, hfModelTensors(tied, false), BaseOptions{Vocab: ByteVocab(), Name: "tied"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Tensor("output.weight"); ok {
		t.Error("tied model has output.weight")
	}
	if kv, _ := f.Lookup("general.name"); kv.Value != "tied" {
		t.Errorf("general.name = %v", kv.Value)
	}

	_, err = convertTinyBase(t, tinyBase, hfModelTensors(tinyBase, false), BaseOptions{Vocab: ByteVocab()})
	wantError(t, err, `tensor "lm_head.weight"`, "tie_word_embeddings is false")
}

func TestConvertBaseHeadDim(t *testing.T) {
	wide := tinyBase
	wide.HeadDim = 8 // q is 32×16, not 16×16
	dir := t.TempDir()
	cfg := hfConfigJSON(wide)
	cfg["head_dim"] = 8
	writeJSON(t, filepath.Join(dir, "m", "config.json"), cfg)
	writeFile(t, filepath.Join(dir, "m", "model.safetensors"), encodeSafetensors(t, hfModelTensors(wide, true), nil))
	if err := ConvertBase(filepath.Join(dir, "m"), filepath.Join(dir, "m.gguf"), BaseOptions{Vocab: ByteVocab()}); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(filepath.Join(dir, "m.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"llama.attention.key_length", "llama.attention.value_length", "llama.rope.dimension_count"} {
		if kv, _ := f.Lookup(key); kv.Value != uint32(8) {
			t.Errorf("%s = %v, want 8", key, kv.Value)
		}
	}
	if q, _ := f.Tensor("blk.0.attn_q.weight"); !slices.Equal(q.Ne, []uint64{16, 32}) {
		t.Errorf("attn_q ne = %v", q.Ne)
	}
}

func TestConvertBaseShardedHalfPrecision(t *testing.T) {
	dir := t.TempDir()
	tensors := hfModelTensors(tinyBase, true)
	weightMap := make(map[string]string)
	var first, second []testTensor
	for i, tt := range tensors {
		v, _ := (&SafeTensor{DType: "F32", Data: tt.data}).Float32s()
		tt = bf16Tensor(tt.name, tt.shape, v)
		if i%2 == 0 {
			first = append(first, tt)
			weightMap[tt.name] = "model-00001-of-00002.safetensors"
		} else {
			second = append(second, tt)
			weightMap[tt.name] = "model-00002-of-00002.safetensors"
		}
	}
	writeJSON(t, filepath.Join(dir, "m", "config.json"), hfConfigJSON(tinyBase))
	writeFile(t, filepath.Join(dir, "m", "model-00001-of-00002.safetensors"), encodeSafetensors(t, first, nil))
	writeFile(t, filepath.Join(dir, "m", "model-00002-of-00002.safetensors"), encodeSafetensors(t, second, nil))
	writeJSON(t, filepath.Join(dir, "m", "model.safetensors.index.json"), map[string]any{"weight_map": weightMap})
	out := filepath.Join(dir, "m.gguf")
	if err := ConvertBase(filepath.Join(dir, "m"), out, BaseOptions{Vocab: ByteVocab()}); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := f.Float32s("blk.1.ffn_down.weight")
	src := tensors[slices.IndexFunc(tensors, func(t testTensor) bool { return t.name == "model.layers.1.mlp.down_proj.weight" })]
	want, _ := (&SafeTensor{DType: "F32", Data: src.data}).Float32s()
	if !slices.Equal(got, want) {
		t.Error("blk.1.ffn_down.weight does not hold the BF16 weights exactly")
	}
}

func TestConvertBaseRejects(t *testing.T) {
	good := hfModelTensors(tinyBase, true)
	replace := func(name string, tt testTensor) []testTensor {
		ts := slices.Clone(good)
		ts[slices.IndexFunc(ts, func(t testTensor) bool { return t.name == name })] = tt
		return ts
	}
	smallVocab := ByteVocab()
	smallVocab.Tokens, smallVocab.Scores, smallVocab.Types = smallVocab.Tokens[:258], smallVocab.Scores[:258], smallVocab.Types[:258]
	tests := []struct {
		name    string
		tensors []testTensor
		opts    BaseOptions
		wants   []string
	}{
		{"no vocabulary", good, BaseOptions{}, []string{"no vocabulary", "ByteVocab"}},
		{"vocabulary size", good, BaseOptions{Vocab: smallVocab}, []string{"258 tokens", "vocab_size is 259"}},
		{"unknown tensor", append(slices.Clone(good), f32Tensor("model.layers.0.self_attn.q_proj.bias", []uint64{16}, make([]float32, 16))),
			BaseOptions{Vocab: ByteVocab()}, []string{`tensor "model.layers.0.self_attn.q_proj.bias"`, "not part of a 2-layer Llama"}},
		{"extra layer", append(slices.Clone(good), f32Tensor("model.layers.2.input_layernorm.weight", []uint64{16}, make([]float32, 16))),
			BaseOptions{Vocab: ByteVocab()}, []string{`tensor "model.layers.2.input_layernorm.weight"`}},
		{"missing tensor", slices.DeleteFunc(slices.Clone(good), func(t testTensor) bool { return t.name == "model.layers.1.mlp.up_proj.weight" }),
			BaseOptions{Vocab: ByteVocab()}, []string{`tensor "model.layers.1.mlp.up_proj.weight"`, "missing"}},
		{"wrong shape", replace("model.layers.0.self_attn.k_proj.weight", f32Tensor("model.layers.0.self_attn.k_proj.weight", []uint64{16, 16}, make([]float32, 256))),
			BaseOptions{Vocab: ByteVocab()}, []string{`tensor "model.layers.0.self_attn.k_proj.weight"`, "shape [16 16], want [8 16]"}},
		{"integer weights", replace("model.norm.weight", testTensor{name: "model.norm.weight", dtype: "I32", shape: []uint64{16}, data: make([]byte, 64)}),
			BaseOptions{Vocab: ByteVocab()}, []string{`tensor "model.norm.weight"`, "I32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := convertTinyBase(t, tinyBase, tt.tensors, tt.opts)
			wantError(t, err, append([]string{"convert base"}, tt.wants...)...)
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed conversion left %s: %v", out, err)
			}
		})
	}
	t.Run("rotary buffers are skipped", func(t *testing.T) {
		ts := append(slices.Clone(good), f32Tensor("model.layers.0.self_attn.rotary_emb.inv_freq", []uint64{2}, []float32{1, 0.01}))
		if _, err := convertTinyBase(t, tinyBase, ts, BaseOptions{Vocab: ByteVocab()}); err != nil {
			t.Fatal(err)
		}
	})
}
