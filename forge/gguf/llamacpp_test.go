package gguf

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLlamaCppLoadsConvertedFiles runs real llama.cpp, through
// node-llama-cpp, on a converted base and adapter. Applying the adapter must
// give the next-token distribution of the model with the adapter merged in
// before conversion; the same adapter without the rotary permutation must
// not. It also checks how llama.cpp tokenizes spaces with ByteVocab, with
// and without a "▁" token (see ByteVocab). It needs node and a
// node-llama-cpp package folder (npm install node-llama-cpp@3.21.1) named by
// BATOS_NODE_LLAMA_CPP, and skips without.
func TestLlamaCppLoadsConvertedFiles(t *testing.T) {
	pkg := os.Getenv("BATOS_NODE_LLAMA_CPP")
	if pkg == "" {
		t.Skip("set BATOS_NODE_LLAMA_CPP to a node-llama-cpp package folder to run llama.cpp on the converted files")
	}
	const r, alpha = 2, 3.0
	dir := t.TempDir()
	hf := hfModelTensors(tinyBase, true)
	lora := peftTensors(tinyBase, r)
	writeHFModel(t, filepath.Join(dir, "base"), tinyBase, hf)
	writePEFT(t, filepath.Join(dir, "peft"), peftConfig(r, alpha), lora)

	merged := mergeLoRA(t, hf, lora, r, alpha/r)
	writeHFModel(t, filepath.Join(dir, "merged"), tinyBase, merged)

	for _, c := range []struct{ in, out string }{{"base", "base.gguf"}, {"merged", "merged.gguf"}} {
		if err := ConvertBase(filepath.Join(dir, c.in), filepath.Join(dir, c.out), BaseOptions{Vocab: ByteVocab()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ConvertLoRA(filepath.Join(dir, "peft"), filepath.Join(dir, "adapter.gguf"), tinyBase); err != nil {
		t.Fatal(err)
	}
	writeUnpermutedAdapter(t, filepath.Join(dir, "adapter.gguf"), filepath.Join(dir, "unpermuted.gguf"), lora)

	spaced := tinyBase
	spaced.VocabSize = 260
	writeHFModel(t, filepath.Join(dir, "space"), spaced, hfModelTensors(spaced, true))
	vocab := ByteVocab()
	vocab.Tokens = append(vocab.Tokens, "\u2581")
	vocab.Scores = append(vocab.Scores, 0)
	vocab.Types = append(vocab.Types, TokenNormal)
	if err := ConvertBase(filepath.Join(dir, "space"), filepath.Join(dir, "space.gguf"), BaseOptions{Vocab: vocab}); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join("testdata", "llamacpp_check.mjs"), pkg, dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got struct {
		Tokens             []int    `json:"tokens"`
		Text               string   `json:"text"`
		Detokenized        string   `json:"detokenized"`
		SpaceDetokenized   string   `json:"spaceDetokenized"`
		BOS                int      `json:"bos"`
		EOS                int      `json:"eos"`
		AdapterVsMerged    float64  `json:"adapterVsMerged"`
		BaseVsMerged       float64  `json:"baseVsMerged"`
		UnpermutedVsMerged float64  `json:"unpermutedVsMerged"`
		ProbabilitySum     float64  `json:"probabilitySum"`
		Warnings           []string `json:"warnings"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	t.Logf("llama.cpp: %+v", got)
	if got.ProbabilitySum < 0.99 || got.ProbabilitySum > 1.01 {
		t.Errorf("next-token probabilities sum to %v", got.ProbabilitySum)
	}
	if got.AdapterVsMerged > 1e-4 {
		t.Errorf("base+adapter differs from the merged model by %v", got.AdapterVsMerged)
	}
	if got.BaseVsMerged < 1e-3 {
		t.Errorf("the adapter changes nothing (%v)", got.BaseVsMerged)
	}
	if got.UnpermutedVsMerged < 1e-3 {
		t.Errorf("an unpermuted adapter gives the merged model too (%v): the check cannot see the permutation", got.UnpermutedVsMerged)
	}
	// A space goes through SentencePiece's "▁" escape: three byte tokens.
	var spaceBytes []string
	for _, b := range []byte("\u2581") {
		spaceBytes = append(spaceBytes, strconv.Itoa(3+int(b)))
	}
	ids := make([]string, len(got.Tokens))
	for i, id := range got.Tokens {
		ids[i] = strconv.Itoa(id)
	}
	if !strings.Contains(strings.Join(ids, ","), strings.Join(spaceBytes, ",")) {
		t.Errorf("tokens %v do not hold a space as the bytes of U+2581 %v", got.Tokens, spaceBytes)
	}
	if want := strings.ReplaceAll(got.Text, " ", "\u2581"); got.Detokenized != want {
		t.Errorf("ByteVocab detokenizes %q as %q, want %q", got.Text, got.Detokenized, want)
	}
	if got.SpaceDetokenized != got.Text {
		t.Errorf("ByteVocab plus \"\u2581\" detokenizes %q as %q", got.Text, got.SpaceDetokenized)
	}
}

// mergeLoRA returns the checkpoint with W + scale·B·A for every adapted
// projection.
func mergeLoRA(t *testing.T, hf, lora []testTensor, r int, scale float64) []testTensor {
	t.Helper()
	byName := make(map[string]testTensor)
	for _, tt := range lora {
		byName[tt.name] = tt
	}
	out := make([]testTensor, len(hf))
	for i, tt := range hf {
		out[i] = tt
		a, ok := byName["base_model.model."+strings.TrimSuffix(tt.name, ".weight")+".lora_A.weight"]
		if !ok {
			continue
		}
		b := byName["base_model.model."+strings.TrimSuffix(tt.name, ".weight")+".lora_B.weight"]
		w, _ := (&SafeTensor{DType: tt.dtype, Data: tt.data}).Float32s()
		av, _ := (&SafeTensor{DType: a.dtype, Data: a.data}).Float32s()
		bv, _ := (&SafeTensor{DType: b.dtype, Data: b.data}).Float32s()
		rows, cols := int(tt.shape[0]), int(tt.shape[1])
		for o := range rows {
			for c := range cols {
				var d float64
				for k := range r {
					d += float64(bv[o*r+k]) * float64(av[k*cols+c])
				}
				w[o*cols+c] += float32(scale * d)
			}
		}
		out[i] = f32Tensor(tt.name, tt.shape, w)
	}
	return out
}

// writeUnpermutedAdapter copies the adapter at src to dst with q's and k's
// lora_B as PEFT stored them, the mistake the permutation prevents.
func writeUnpermutedAdapter(t *testing.T, src, dst string, lora []testTensor) {
	t.Helper()
	f, err := ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuilder()
	for _, kv := range f.KV {
		switch v := kv.Value.(type) {
		case string:
			b.SetString(kv.Key, v)
		case float32:
			b.SetFloat32(kv.Key, v)
		case uint32:
			b.SetUint32(kv.Key, v)
		default:
			t.Fatalf("unexpected key %s %T", kv.Key, v)
		}
	}
	peft := make(map[string]testTensor)
	for _, tt := range lora {
		peft[tt.name] = tt
	}
	for _, ti := range f.Tensors {
		data, _ := f.TensorData(ti.Name)
		for l := range tinyBase.Layers {
			for _, p := range []string{"q_proj", "k_proj"} {
				gguf := "blk." + strconv.Itoa(l) + ".attn_" + p[:1] + ".weight.lora_b"
				if ti.Name == gguf {
					data = peft["base_model.model.model.layers."+strconv.Itoa(l)+".self_attn."+p+".lora_B.weight"].data
				}
			}
		}
		if err := b.AddRaw(ti.Name, ti.Type, ti.Ne, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.WriteFile(dst); err != nil {
		t.Fatal(err)
	}
}
