package gguf

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	parser "github.com/gpustack/gguf-parser-go"
)

// ndarray is a strided view over float32s, enough to replay numpy's
// reshape and swapaxes literally.
type ndarray struct {
	shape, strides []int
	data           []float32
}

func contiguous(data []float32, shape ...int) ndarray {
	strides := make([]int, len(shape))
	step := 1
	for i := len(shape) - 1; i >= 0; i-- {
		strides[i] = step
		step *= shape[i]
	}
	if step != len(data) {
		panic("shape does not match data")
	}
	return ndarray{shape: shape, strides: strides, data: data}
}

func (a ndarray) swapaxes(i, j int) ndarray {
	shape, strides := slices.Clone(a.shape), slices.Clone(a.strides)
	shape[i], shape[j] = shape[j], shape[i]
	strides[i], strides[j] = strides[j], strides[i]
	return ndarray{shape: shape, strides: strides, data: a.data}
}

// values lists the elements in C order, which is what reshape of a
// non-contiguous array copies.
func (a ndarray) values() []float32 {
	var out []float32
	idx := make([]int, len(a.shape))
	for {
		off := 0
		for k, i := range idx {
			off += i * a.strides[k]
		}
		out = append(out, a.data[off])
		k := len(idx) - 1
		for ; k >= 0; k-- {
			idx[k]++
			if idx[k] < a.shape[k] {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			return out
		}
	}
}

// pythonPermute is convert_hf_to_gguf.py's LlamaModel.permute, replayed:
//
//	if n_head_kv is not None and n_head != n_head_kv: n_head = n_head_kv
//	return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
func pythonPermute(w []float32, rows, cols, nHead, nHeadKV int) []float32 {
	if nHead != nHeadKV {
		nHead = nHeadKV
	}
	return contiguous(w, nHead, 2, rows/nHead/2, cols).swapaxes(1, 2).values()
}

func TestPermuteRotaryRowsMatchesPython(t *testing.T) {
	tests := []struct {
		rows, cols, heads int
		handRows          []int // expected source row of each output row, worked out by hand
	}{
		{4, 1, 1, []int{0, 2, 1, 3}},
		{8, 2, 1, []int{0, 4, 1, 5, 2, 6, 3, 7}},
		{8, 3, 2, []int{0, 2, 1, 3, 4, 6, 5, 7}},
		{12, 2, 2, []int{0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11}},
		{32, 5, 4, nil},
		{64, 3, 8, nil},
	}
	for _, tt := range tests {
		w := make([]float32, tt.rows*tt.cols)
		for i := range w {
			w[i] = float32(i)
		}
		got, err := permuteRotaryRows(w, tt.rows, tt.cols, tt.heads)
		if err != nil {
			t.Fatal(err)
		}
		if want := pythonPermute(w, tt.rows, tt.cols, tt.heads, tt.heads); !slices.Equal(got, want) {
			t.Errorf("%d×%d over %d heads: got %v, python %v", tt.rows, tt.cols, tt.heads, got, want)
		}
		for dst, src := range tt.handRows {
			if got[dst*tt.cols] != w[src*tt.cols] {
				t.Errorf("%d×%d over %d heads: row %d holds %v, want row %d", tt.rows, tt.cols, tt.heads, dst, got[dst*tt.cols]/float32(tt.cols), src)
			}
		}
	}
	if _, err := permuteRotaryRows(make([]float32, 6), 6, 1, 2); err == nil {
		t.Error("6 rows over 2 heads of odd size permuted")
	}
}

func convertTinyLoRA(t *testing.T, base BaseInfo, cfg map[string]any, tensors []testTensor) (string, error) {
	t.Helper()
	dir := t.TempDir()
	writePEFT(t, filepath.Join(dir, "peft"), cfg, tensors)
	out := filepath.Join(dir, "adapter.gguf")
	return out, ConvertLoRA(filepath.Join(dir, "peft"), out, base)
}

func TestConvertLoRA(t *testing.T) {
	const r = 2
	tensors := peftTensors(tinyBase, r)
	// One pair in BF16, to cover conversion on the way.
	for i := range tensors[:2] {
		v, _ := (&SafeTensor{DType: "F32", Data: tensors[i].data}).Float32s()
		tensors[i] = bf16Tensor(tensors[i].name, tensors[i].shape, v)
	}
	out, err := convertTinyLoRA(t, tinyBase, peftConfig(r, 16), tensors)
	if err != nil {
		t.Fatal(err)
	}

	theirs, err := parser.ParseGGUFFile(out)
	if err != nil {
		t.Fatal(err)
	}
	arch := theirs.Architecture()
	if arch.Type != "adapter" || arch.Architecture != "llama" || arch.AdapterType != "lora" || arch.AdapterLoRAAlpha != 16 {
		t.Errorf("parser architecture: type %q arch %q adapter %q alpha %v", arch.Type, arch.Architecture, arch.AdapterType, arch.AdapterLoRAAlpha)
	}
	if kv, ok := theirs.Header.MetadataKV.Get("adapter.lora.alpha"); !ok || kv.ValueType != parser.GGUFMetadataValueTypeFloat32 {
		t.Errorf("adapter.lora.alpha = %+v, want a FLOAT32", kv)
	}
	ours, err := ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	assertTensorsAgree(t, ours, theirs)

	var wantNames []string
	for l := range tinyBase.Layers {
		for _, p := range projections {
			name := "blk." + strconv.Itoa(l) + "." + p.gguf + ".weight"
			wantNames = append(wantNames, name+".lora_a", name+".lora_b")
		}
	}
	var gotNames []string
	var offset uint64
	for _, ti := range theirs.TensorInfos {
		gotNames = append(gotNames, ti.Name)
		if ti.Type != parser.GGMLTypeF32 {
			t.Errorf("%s is %v", ti.Name, ti.Type)
		}
		if ti.Offset != offset {
			t.Errorf("%s at %d, want %d", ti.Name, ti.Offset, offset)
		}
		offset += (ti.Bytes() + 31) / 32 * 32
	}
	if !slices.Equal(gotNames, wantNames) {
		t.Errorf("tensors %v, want %v", gotNames, wantNames)
	}

	peft := make(map[string]testTensor)
	for _, tt := range tensors {
		peft[tt.name] = tt
	}
	for l := range tinyBase.Layers {
		for _, p := range projections {
			stem := "base_model.model.model.layers." + strconv.Itoa(l) + "." + p.hf
			name := "blk." + strconv.Itoa(l) + "." + p.gguf + ".weight"
			in, out := uint64(p.in(tinyBase)), uint64(p.out(tinyBase))

			a, _ := ours.Tensor(name + ".lora_a")
			b, _ := ours.Tensor(name + ".lora_b")
			if !slices.Equal(a.Ne, []uint64{in, r}) || !slices.Equal(b.Ne, []uint64{r, out}) {
				t.Errorf("%s: lora_a %v lora_b %v, want [%d %d] and [%d %d]", name, a.Ne, b.Ne, in, r, r, out)
			}
			wantA, _ := (&SafeTensor{Name: stem, DType: peft[stem+".lora_A.weight"].dtype, Data: peft[stem+".lora_A.weight"].data}).Float32s()
			if got, _ := ours.Float32s(name + ".lora_a"); !slices.Equal(got, wantA) {
				t.Errorf("%s.lora_a is not PEFT's lora_A", name)
			}
			wantB, _ := (&SafeTensor{Name: stem, DType: peft[stem+".lora_B.weight"].dtype, Data: peft[stem+".lora_B.weight"].data}).Float32s()
			switch p.gguf {
			case "attn_q":
				wantB = pythonPermute(wantB, int(out), r, tinyBase.Heads, tinyBase.Heads)
			case "attn_k":
				wantB = pythonPermute(wantB, int(out), r, tinyBase.Heads, tinyBase.KVHeads)
			}
			if got, _ := ours.Float32s(name + ".lora_b"); !slices.Equal(got, wantB) {
				t.Errorf("%s.lora_b = %v, want %v", name, got, wantB)
			}
		}
	}
}

// TestConvertLoRAPermutesQAndKRows gives every row of q's and k's lora_B a
// value that names it and checks where each row lands.
func TestConvertLoRAPermutesQAndKRows(t *testing.T) {
	base := tinyBase
	base.HiddenSize, base.HeadDim = 32, 8 // 4 query heads and 2 key/value heads of 8 rows
	const r = 3
	rowNamed := func(rows int) []float32 {
		v := make([]float32, rows*r)
		for i := range v {
			v[i] = float32(i/r) + float32(i%r)/10 // row.column
		}
		return v
	}
	var tensors []testTensor
	for _, m := range []struct {
		hf   string
		rows int
	}{{"q_proj", base.Heads * base.HeadDim}, {"k_proj", base.KVHeads * base.HeadDim}} {
		stem := "base_model.model.model.layers.1.self_attn." + m.hf
		tensors = append(tensors,
			f32Tensor(stem+".lora_A.weight", []uint64{r, uint64(base.HiddenSize)}, pattern(1, r*base.HiddenSize)),
			f32Tensor(stem+".lora_B.weight", []uint64{uint64(m.rows), r}, rowNamed(m.rows)))
	}
	out, err := convertTinyLoRA(t, base, peftConfig(r, 8), tensors)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// Within a head of 8 rows, llama.cpp's row 2i+j is Hugging Face's row j·4+i.
	perHead := []int{0, 4, 1, 5, 2, 6, 3, 7}
	for _, tt := range []struct {
		name  string
		heads int
		nKV   int
	}{{"blk.1.attn_q.weight.lora_b", base.Heads, base.Heads}, {"blk.1.attn_k.weight.lora_b", base.Heads, base.KVHeads}} {
		got, err := f.Float32s(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		heads := tt.nKV
		rows := heads * base.HeadDim
		if want := pythonPermute(rowNamed(rows), rows, r, tt.heads, tt.nKV); !slices.Equal(got, want) {
			t.Errorf("%s = %v, python %v", tt.name, got, want)
		}
		for dst := range rows {
			src := dst/8*8 + perHead[dst%8]
			for c := range r {
				if want := float32(src) + float32(c)/10; got[dst*r+c] != want {
					t.Fatalf("%s row %d column %d = %v, want HF row %d (%v)", tt.name, dst, c, got[dst*r+c], src, want)
				}
			}
		}
	}
}

func TestConvertLoRAAlpha(t *testing.T) {
	tensors := peftTensors(tinyBase, 4)[:2]
	for _, tt := range []struct {
		name   string
		rslora bool
		want   float32
	}{{"plain", false, 8}, {"rslora scales by sqrt(r)", true, 16}} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := peftConfig(4, 8)
			cfg["use_rslora"] = tt.rslora
			out, err := convertTinyLoRA(t, tinyBase, cfg, tensors)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			kv, _ := f.Lookup("adapter.lora.alpha")
			if kv.Type != ValueFloat32 || kv.Value != tt.want {
				t.Errorf("adapter.lora.alpha = %v %v, want FLOAT32 %v", kv.Type, kv.Value, tt.want)
			}
		})
	}
}

func TestConvertLoRATargetModules(t *testing.T) {
	q := peftTensors(tinyBase, 2)[:2] // layer 0 q_proj
	for _, tt := range []struct {
		name    string
		targets any
		ok      bool
	}{
		{"module name", []string{"q_proj"}, true},
		{"dotted suffix", []string{"self_attn.q_proj"}, true},
		{"full path", []string{"model.layers.0.self_attn.q_proj"}, true},
		{"regular expression", `.*\.(q|v)_proj`, true},
		{"all-linear", "all-linear", true},
		{"other modules", []string{"v_proj", "proj"}, false},
		{"partial name", []string{"_proj"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := peftConfig(2, 4)
			cfg["target_modules"] = tt.targets
			_, err := convertTinyLoRA(t, tinyBase, cfg, q)
			if tt.ok && err != nil {
				t.Fatal(err)
			}
			if !tt.ok {
				wantError(t, err, "q_proj.lora_A.weight", "target_modules")
			}
		})
	}
}

func TestConvertLoRARejects(t *testing.T) {
	const r = 2
	good := peftTensors(tinyBase, r)
	qA, qB := good[0], good[1]
	with := func(extra ...testTensor) []testTensor { return append(slices.Clone(good), extra...) }
	without := func(name string) []testTensor {
		return slices.DeleteFunc(slices.Clone(good), func(t testTensor) bool { return t.name == name })
	}
	renamed := func(tt testTensor, name string) testTensor { tt.name = name; return tt }
	reshaped := func(tt testTensor, shape ...uint64) testTensor {
		tt.shape = shape
		n := uint64(1)
		for _, d := range shape {
			n *= d
		}
		tt.data = make([]byte, 4*n)
		return tt
	}
	cfgWith := func(key string, v any) map[string]any {
		cfg := peftConfig(r, 4)
		if v == nil {
			delete(cfg, key)
		} else {
			cfg[key] = v
		}
		return cfg
	}
	tests := []struct {
		name    string
		cfg     map[string]any
		tensors []testTensor
		wants   []string
	}{
		{"embedding adapter", peftConfig(r, 4), with(renamed(qA, "base_model.model.model.embed_tokens.lora_A.weight")),
			[]string{`tensor "base_model.model.model.embed_tokens.lora_A.weight"`, "not a LoRA tensor"}},
		{"lm_head", peftConfig(r, 4), with(renamed(qA, "base_model.model.lm_head.lora_A.weight")),
			[]string{`"base_model.model.lm_head.lora_A.weight"`}},
		{"full weight", peftConfig(r, 4), with(renamed(qA, "base_model.model.model.layers.0.self_attn.q_proj.base_layer.weight")),
			[]string{`"base_model.model.model.layers.0.self_attn.q_proj.base_layer.weight"`}},
		{"unknown module", peftConfig(r, 4), with(renamed(qA, "base_model.model.model.layers.0.self_attn.qkv_proj.lora_A.weight")),
			[]string{`"base_model.model.model.layers.0.self_attn.qkv_proj.lora_A.weight"`}},
		{"adapter-named weights", peftConfig(r, 4), with(renamed(qA, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight")),
			[]string{`"base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight"`}},
		{"padded layer number", peftConfig(r, 4), with(renamed(qA, "base_model.model.model.layers.01.self_attn.q_proj.lora_A.weight")),
			[]string{`"base_model.model.model.layers.01.self_attn.q_proj.lora_A.weight"`}},
		{"layer beyond the base", peftConfig(r, 4), with(
			renamed(qA, "base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight"),
			renamed(qB, "base_model.model.model.layers.2.self_attn.q_proj.lora_B.weight")),
			[]string{`"base_model.model.model.layers.2.self_attn.q_proj.lora_`, "layer 2, but the base has 2 layers"}},
		{"missing lora_B", peftConfig(r, 4), without(qB.name),
			[]string{`tensor "` + qB.name + `"`, "missing"}},
		{"missing lora_A", peftConfig(r, 4), without(qA.name),
			[]string{`tensor "` + qA.name + `"`, "missing"}},
		{"rank disagrees with r", peftConfig(r, 4), append(without(qA.name), reshaped(qA, 3, 16)),
			[]string{`tensor "` + qA.name + `"`, "shape [3 16], want [2 16]"}},
		{"input disagrees with base", peftConfig(r, 4), append(without(qA.name), reshaped(qA, 2, 32)),
			[]string{`tensor "` + qA.name + `"`, "shape [2 32], want [2 16]", "16×16"}},
		{"output disagrees with base", peftConfig(r, 4), append(without(qB.name), reshaped(qB, 8, 2)),
			[]string{`tensor "` + qB.name + `"`, "shape [8 2], want [16 2]"}},
		{"integer weights", peftConfig(r, 4), append(without(qA.name), testTensor{name: qA.name, dtype: "I32", shape: qA.shape, data: qA.data}),
			[]string{`tensor "` + qA.name + `"`, "I32"}},
		{"no tensors", peftConfig(r, 4), nil, []string{"holds no LoRA tensors"}},
		{"dora", cfgWith("use_dora", true), good, []string{"use_dora"}},
		{"fan_in_fan_out", cfgWith("fan_in_fan_out", true), good, []string{"fan_in_fan_out"}},
		{"rank_pattern", cfgWith("rank_pattern", map[string]int{"q_proj": 4}), good, []string{"rank_pattern"}},
		{"alpha_pattern", cfgWith("alpha_pattern", map[string]int{"q_proj": 4}), good, []string{"alpha_pattern"}},
		{"bias", cfgWith("bias", "all"), good, []string{"bias"}},
		{"modules_to_save", cfgWith("modules_to_save", []string{"lm_head"}), good, []string{"modules_to_save"}},
		{"zero alpha", cfgWith("lora_alpha", 0), good, []string{"lora_alpha"}},
		{"no alpha", cfgWith("lora_alpha", nil), good, []string{"lora_alpha"}},
		{"no r", cfgWith("r", nil), good, []string{`r: missing`}},
		{"no target_modules", cfgWith("target_modules", nil), good, []string{"target_modules"}},
		{"not lora", cfgWith("peft_type", "IA3"), good, []string{"peft_type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := convertTinyLoRA(t, tinyBase, tt.cfg, tt.tensors)
			wantError(t, err, append([]string{"convert lora"}, tt.wants...)...)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("%v is not a *FormatError", err)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed conversion left %s: %v", out, err)
			}
		})
	}

	t.Run("invalid base", func(t *testing.T) {
		base := tinyBase
		base.KVHeads = 3
		_, err := convertTinyLoRA(t, base, peftConfig(r, 4), good)
		wantError(t, err, "base", "3 key/value heads do not divide 4 heads")
	})
	t.Run("missing folder", func(t *testing.T) {
		err := ConvertLoRA(filepath.Join(t.TempDir(), "none"), filepath.Join(t.TempDir(), "a.gguf"), tinyBase)
		wantError(t, err, "adapter_config.json")
	})
}

// TestAdapterMatchesConvertedBase is the property the permutation exists
// for: applying the GGUF adapter to the GGUF base, as llama.cpp does (W +
// B·A with the scale left out), equals converting the merged Hugging Face
// weight W + B·A. It also checks the shapes llama.cpp's adapter loader
// compares.
func TestAdapterMatchesConvertedBase(t *testing.T) {
	const r = 3
	dir := t.TempDir()
	hf := hfModelTensors(tinyBase, true)
	writeHFModel(t, filepath.Join(dir, "base"), tinyBase, hf)
	if err := ConvertBase(filepath.Join(dir, "base"), filepath.Join(dir, "base.gguf"), BaseOptions{Vocab: ByteVocab()}); err != nil {
		t.Fatal(err)
	}
	lora := peftTensors(tinyBase, r)
	writePEFT(t, filepath.Join(dir, "peft"), peftConfig(r, 6), lora)
	if err := ConvertLoRA(filepath.Join(dir, "peft"), filepath.Join(dir, "adapter.gguf"), tinyBase); err != nil {
		t.Fatal(err)
	}
	base, err := ReadFile(filepath.Join(dir, "base.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	adapter, err := ReadFile(filepath.Join(dir, "adapter.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	floats := func(tts []testTensor, name string) []float32 {
		i := slices.IndexFunc(tts, func(t testTensor) bool { return t.name == name })
		v, _ := (&SafeTensor{DType: tts[i].dtype, Data: tts[i].data}).Float32s()
		return v
	}
	for l := range tinyBase.Layers {
		for _, p := range projections {
			name := "blk." + strconv.Itoa(l) + "." + p.gguf + ".weight"
			w, _ := base.Tensor(name)
			a, _ := adapter.Tensor(name + ".lora_a")
			b, _ := adapter.Tensor(name + ".lora_b")
			if w.Ne[0] != a.Ne[0] || w.Ne[1] != b.Ne[1] || a.Ne[1] != b.Ne[0] {
				t.Fatalf("%s: base %v, lora_a %v, lora_b %v: llama.cpp would refuse the adapter", name, w.Ne, a.Ne, b.Ne)
			}
			in, out := int(w.Ne[0]), int(w.Ne[1])

			hfStem := "model.layers." + strconv.Itoa(l) + "." + p.hf
			merged := floats(hf, hfStem+".weight")
			hfA := floats(lora, "base_model.model."+hfStem+".lora_A.weight")
			hfB := floats(lora, "base_model.model."+hfStem+".lora_B.weight")
			for o := range out {
				for i := range in {
					for k := range r {
						merged[o*in+i] += hfB[o*r+k] * hfA[k*in+i]
					}
				}
			}
			switch p.gguf {
			case "attn_q":
				merged = pythonPermute(merged, out, in, tinyBase.Heads, tinyBase.Heads)
			case "attn_k":
				merged = pythonPermute(merged, out, in, tinyBase.Heads, tinyBase.KVHeads)
			}

			gw, _ := base.Float32s(name)
			ga, _ := adapter.Float32s(name + ".lora_a")
			gb, _ := adapter.Float32s(name + ".lora_b")
			for o := range out {
				for i := range in {
					got := gw[o*in+i]
					for k := range r {
						got += gb[o*r+k] * ga[k*in+i]
					}
					if want := merged[o*in+i]; math.Abs(float64(got-want)) > 1e-5 {
						t.Fatalf("%s[%d][%d]: base+adapter %v, converted merge %v", name, o, i, got, want)
					}
				}
			}
		}
	}
}
