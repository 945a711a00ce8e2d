package gguf

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// BaseOptions are ConvertBase's options.
type BaseOptions struct {
	// Vocab is the tokenizer written into the model; its size must equal
	// the config's vocab_size. ConvertBase does not read tokenizer.json or
	// tokenizer.model, so it is required: ByteVocab() for the Forge's test
	// model.
	Vocab *Vocab

	// Name is general.name; empty means the base name of the folder.
	Name string
}

// ConvertBase converts the Hugging Face Llama model in hfDir (config.json
// and model.safetensors or sharded safetensors) into an all-F32 GGUF model
// at out that llama.cpp loads. Weights may be F32, F16 or BF16.
//
// It writes the llama.* hyperparameters llama.cpp reads (context_length,
// embedding_length, block_count, feed_forward_length, rope.dimension_count,
// rope.freq_base, attention.head_count, attention.head_count_kv,
// attention.layer_norm_rms_epsilon, vocab_size, and attention.key_length
// and value_length when the head size is not hidden_size/heads),
// general.file_type 0 (all F32), opts.Vocab as tokenizer.ggml.*, and the
// tensors listed in the package documentation. The rows of q_proj and
// k_proj are permuted into llama.cpp's rotary layout. When lm_head.weight is
// absent and tie_word_embeddings is set, output.weight is omitted and
// llama.cpp reuses token_embd.weight.
//
// Every safetensors tensor must be used (rotary_emb.inv_freq buffers are
// skipped) and have the shape the config implies; the error names the
// first that does not. Nothing is written unless the whole model converts.
func ConvertBase(hfDir, out string, opts BaseOptions) error {
	if opts.Vocab == nil {
		return errors.New("convert base: no vocabulary: reading tokenizer.json or tokenizer.model is not supported; pass BaseOptions{Vocab: ByteVocab()} or another Vocab")
	}
	if err := opts.Vocab.validate(); err != nil {
		return fmt.Errorf("convert base: %w", err)
	}
	base, err := ReadHFConfig(hfDir)
	if err != nil {
		return fmt.Errorf("convert base: %w", err)
	}
	if len(opts.Vocab.Tokens) != base.VocabSize {
		return fmt.Errorf("convert base: the vocabulary has %d tokens, config.json's vocab_size is %d", len(opts.Vocab.Tokens), base.VocabSize)
	}
	w, err := ReadHFWeights(hfDir)
	if err != nil {
		return fmt.Errorf("convert base: %w", err)
	}
	name := opts.Name
	if name == "" {
		abs, err := filepath.Abs(hfDir)
		if err != nil {
			return fmt.Errorf("convert base: %w", err)
		}
		name = filepath.Base(abs)
	}

	b := NewBuilder()
	b.SetString("general.architecture", "llama")
	b.SetString("general.type", "model")
	b.SetString("general.name", name)
	b.SetUint32("general.file_type", 0)
	b.SetUint32("llama.context_length", uint32(base.ContextLength))
	b.SetUint32("llama.embedding_length", uint32(base.HiddenSize))
	b.SetUint32("llama.block_count", uint32(base.Layers))
	b.SetUint32("llama.feed_forward_length", uint32(base.IntermediateSize))
	b.SetUint32("llama.rope.dimension_count", uint32(base.HeadDim))
	b.SetFloat32("llama.rope.freq_base", float32(base.RopeTheta))
	b.SetUint32("llama.attention.head_count", uint32(base.Heads))
	b.SetUint32("llama.attention.head_count_kv", uint32(base.KVHeads))
	b.SetFloat32("llama.attention.layer_norm_rms_epsilon", float32(base.RMSNormEps))
	b.SetUint32("llama.vocab_size", uint32(base.VocabSize))
	if base.HiddenSize%base.Heads != 0 || base.HeadDim != base.HiddenSize/base.Heads {
		b.SetUint32("llama.attention.key_length", uint32(base.HeadDim))
		b.SetUint32("llama.attention.value_length", uint32(base.HeadDim))
	}
	opts.Vocab.write(b)

	if err := addBaseTensors(b, w, base); err != nil {
		return fmt.Errorf("convert base: %w", err)
	}
	if err := b.WriteFile(out); err != nil {
		return fmt.Errorf("convert base: %w", err)
	}
	return nil
}

// baseTensor maps one Hugging Face tensor to its GGUF name and shape.
type baseTensor struct {
	hf, gguf string
	shape    []uint64 // Hugging Face (row-major) shape
	rotary   int      // heads for permuteRotaryRows, or 0
}

// baseLayout lists the tensors a Llama of this shape has, in the order
// they are written.
func baseLayout(base BaseInfo, hasLMHead bool) []baseTensor {
	u := func(n int) uint64 { return uint64(n) }
	ts := []baseTensor{{hf: "model.embed_tokens.weight", gguf: "token_embd.weight", shape: []uint64{u(base.VocabSize), u(base.HiddenSize)}}}
	for l := range base.Layers {
		pre := "model.layers." + strconv.Itoa(l) + "."
		ts = append(ts, baseTensor{hf: pre + "input_layernorm.weight", gguf: blockTensor(l, "attn_norm"), shape: []uint64{u(base.HiddenSize)}})
		for _, p := range projections {
			t := baseTensor{hf: pre + p.hf + ".weight", gguf: blockTensor(l, p.gguf), shape: []uint64{u(p.out(base)), u(p.in(base))}}
			if p.rotary != nil {
				t.rotary = p.rotary(base)
			}
			ts = append(ts, t)
			if p.gguf == "attn_output" {
				ts = append(ts, baseTensor{hf: pre + "post_attention_layernorm.weight", gguf: blockTensor(l, "ffn_norm"), shape: []uint64{u(base.HiddenSize)}})
			}
		}
	}
	ts = append(ts, baseTensor{hf: "model.norm.weight", gguf: "output_norm.weight", shape: []uint64{u(base.HiddenSize)}})
	if hasLMHead {
		ts = append(ts, baseTensor{hf: "lm_head.weight", gguf: "output.weight", shape: []uint64{u(base.VocabSize), u(base.HiddenSize)}})
	}
	return ts
}

func addBaseTensors(b *Builder, w *Weights, base BaseInfo) error {
	bad := func(name, reason string, args ...any) error {
		return formatErrorf("Hugging Face model", "tensor "+strconv.Quote(name), reason, args...)
	}
	_, hasLMHead := w.Tensor("lm_head.weight")
	if !hasLMHead && !base.TieWordEmbeddings {
		return bad("lm_head.weight", "missing, and tie_word_embeddings is false")
	}
	layout := baseLayout(base, hasLMHead)
	used := make(map[string]bool, len(layout))
	for _, t := range layout {
		used[t.hf] = true
	}
	for _, name := range w.Names() {
		if !used[name] && !isRotaryBuffer(name) {
			return bad(name, "not part of a %d-layer Llama", base.Layers)
		}
	}
	for _, t := range layout {
		src, ok := w.Tensor(t.hf)
		if !ok {
			return bad(t.hf, "missing")
		}
		if !slices.Equal(src.Shape, t.shape) {
			return bad(t.hf, "shape %v, want %v from config.json", src.Shape, t.shape)
		}
		data, err := src.Float32s()
		if err != nil {
			return bad(t.hf, "%v", err)
		}
		ne := slices.Clone(t.shape)
		slices.Reverse(ne)
		if t.rotary > 0 {
			if data, err = permuteRotaryRows(data, int(t.shape[0]), int(t.shape[1]), t.rotary); err != nil {
				return bad(t.hf, "%v", err)
			}
		}
		if err := b.AddF32(t.gguf, ne, data); err != nil {
			return err
		}
	}
	return nil
}

// isRotaryBuffer reports a model.layers.N.self_attn.rotary_emb.inv_freq
// buffer, which older transformers saved and llama.cpp recomputes.
func isRotaryBuffer(name string) bool {
	_, rest, ok := parseLayerName(name)
	return ok && strings.HasSuffix(rest, "rotary_emb.inv_freq")
}
