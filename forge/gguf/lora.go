package gguf

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// loraConfig is the part of PEFT's adapter_config.json ConvertLoRA reads.
type loraConfig struct {
	PeftType      string          `json:"peft_type"`
	R             *int            `json:"r"`
	LoraAlpha     *float64        `json:"lora_alpha"`
	TargetModules json.RawMessage `json:"target_modules"`
	UseRSLoRA     bool            `json:"use_rslora"`
	UseDoRA       bool            `json:"use_dora"`
	FanInFanOut   bool            `json:"fan_in_fan_out"`
	Bias          string          `json:"bias"`
	RankPattern   map[string]any  `json:"rank_pattern"`
	AlphaPattern  map[string]any  `json:"alpha_pattern"`
	ModulesToSave []string        `json:"modules_to_save"`
}

// adapterPair is one adapted projection: PEFT's lora_A (r × in) and
// lora_B (out × r).
type adapterPair struct {
	layer int
	proj  int // index into projections
	a, b  *SafeTensor
}

// ConvertLoRA converts the PEFT LoRA adapter in peftDir (adapter_config.json
// and adapter_model.safetensors) for the base described by base into a GGUF
// adapter at out that llama-server loads with --lora.
//
// The adapter may adapt any of q/k/v/o_proj and gate/up/down_proj of any
// layer, with F32, F16 or BF16 weights; the output is F32. adapter.lora.alpha
// is lora_alpha, or lora_alpha·√r for rsLoRA (which scales by alpha/√r where
// llama.cpp scales by alpha/r). lora_B of q_proj and k_proj gets the rotary
// row permutation the base's q and k weights got (see permuteRotaryRows).
//
// It refuses, naming the tensor or key: a name outside that layout (such as
// embeddings, biases or modules_to_save), a lora_A without its lora_B or the
// reverse, a module not in target_modules, a layer the base lacks, a shape
// that disagrees with r or the base, and DoRA, fan_in_fan_out, rank_pattern
// and alpha_pattern. Nothing is written unless the whole adapter converts.
func ConvertLoRA(peftDir, out string, base BaseInfo) error {
	if err := base.validate(); err != nil {
		return fmt.Errorf("convert lora: base: %w", err)
	}
	cfgPath := filepath.Join(peftDir, "adapter_config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return fmt.Errorf("convert lora: %w", err)
	}
	cfg, targets, err := parseLoraConfig(raw)
	if err != nil {
		return fmt.Errorf("convert lora: %w", withPath(err, cfgPath))
	}
	stPath := filepath.Join(peftDir, "adapter_model.safetensors")
	st, err := ReadSafetensors(stPath)
	if err != nil {
		return fmt.Errorf("convert lora: %w", err)
	}
	pairs, err := loraPairs(st, base, *cfg.R, targets)
	if err != nil {
		return fmt.Errorf("convert lora: %w", withPath(err, stPath))
	}

	alpha := *cfg.LoraAlpha
	if cfg.UseRSLoRA {
		alpha *= math.Sqrt(float64(*cfg.R))
	}
	if alpha > math.MaxFloat32 {
		return fmt.Errorf("convert lora: %w", withPath(formatErrorf("adapter_config.json", "lora_alpha", "%g does not fit a FLOAT32", alpha), cfgPath))
	}
	b := NewBuilder()
	b.SetString("general.architecture", base.Architecture)
	b.SetString("general.type", "adapter")
	b.SetString("adapter.type", "lora")
	b.SetFloat32("adapter.lora.alpha", float32(alpha))
	for _, p := range pairs {
		if err := addLoraPair(b, p, base); err != nil {
			return fmt.Errorf("convert lora: %w", withPath(err, stPath))
		}
	}
	if err := b.WriteFile(out); err != nil {
		return fmt.Errorf("convert lora: %w", err)
	}
	return nil
}

// parseLoraConfig decodes adapter_config.json and returns target_modules
// when it is a list of names (matched as PEFT does: a module matches a name
// it equals or ends with after a dot), or nil when it is a regular
// expression or "all-linear", which are not checked.
func parseLoraConfig(raw []byte) (loraConfig, []string, error) {
	bad := func(where, reason string, args ...any) error {
		return formatErrorf("adapter_config.json", where, reason, args...)
	}
	var cfg loraConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return cfg, nil, bad("", "%v", err)
	}
	switch {
	case cfg.PeftType != "" && cfg.PeftType != "LORA":
		return cfg, nil, bad("peft_type", "%q is not LORA", cfg.PeftType)
	case cfg.R == nil || *cfg.R <= 0:
		return cfg, nil, bad("r", "missing or not positive")
	case cfg.LoraAlpha == nil || !(*cfg.LoraAlpha > 0) || math.IsInf(*cfg.LoraAlpha, 0):
		return cfg, nil, bad("lora_alpha", "missing, not positive or not finite")
	case cfg.UseDoRA:
		return cfg, nil, bad("use_dora", "DoRA adapters are not supported by llama.cpp")
	case cfg.FanInFanOut:
		return cfg, nil, bad("fan_in_fan_out", "transposed (Conv1D) weights are not supported")
	case cfg.Bias != "" && cfg.Bias != "none":
		return cfg, nil, bad("bias", "%q is not supported (want none)", cfg.Bias)
	case len(cfg.RankPattern) > 0:
		return cfg, nil, bad("rank_pattern", "per-module ranks are not supported")
	case len(cfg.AlphaPattern) > 0:
		return cfg, nil, bad("alpha_pattern", "per-module alphas are not supported (GGUF has one alpha)")
	case len(cfg.ModulesToSave) > 0:
		return cfg, nil, bad("modules_to_save", "%v: fully trained modules are not supported", cfg.ModulesToSave)
	}
	var list []string
	if isJSONNull(cfg.TargetModules) {
		return cfg, nil, bad("target_modules", "missing")
	}
	if err := json.Unmarshal(cfg.TargetModules, &list); err != nil {
		var pattern string
		if json.Unmarshal(cfg.TargetModules, &pattern) != nil {
			return cfg, nil, bad("target_modules", "want a list of module names or a string")
		}
		return cfg, nil, nil
	}
	if list == nil {
		list = []string{}
	}
	return cfg, list, nil
}

// targeted reports whether PEFT's target_modules list selects the module
// at path ("model.layers.0.self_attn.q_proj").
func targeted(path string, targets []string) bool {
	return slices.ContainsFunc(targets, func(t string) bool {
		return path == t || strings.HasSuffix(path, "."+t)
	})
}

// loraPairs matches lora_A with lora_B tensors and checks every name and
// shape, returning the pairs ordered by layer and projection.
func loraPairs(st *Safetensors, base BaseInfo, r int, targets []string) ([]adapterPair, error) {
	bad := func(name, reason string, args ...any) error {
		return formatErrorf("PEFT adapter", "tensor "+strconv.Quote(name), reason, args...)
	}
	type key struct{ layer, proj int }
	byKey := make(map[key]*adapterPair)
	for i := range st.Tensors {
		t := &st.Tensors[i]
		layer, proj, isA, ok := parseLoraName(t.Name)
		if !ok {
			return nil, bad(t.Name, "not a LoRA tensor of a Llama projection "+
				"(want base_model.model.model.layers.N.{self_attn.{q,k,v,o}_proj,mlp.{gate,up,down}_proj}.lora_{A,B}.weight)")
		}
		p := projections[proj]
		if path := "model.layers." + strconv.Itoa(layer) + "." + p.hf; targets != nil && !targeted(path, targets) {
			return nil, bad(t.Name, "module %s is not selected by target_modules %v", p.hf, targets)
		}
		if layer >= base.Layers {
			return nil, bad(t.Name, "layer %d, but the base has %d layers", layer, base.Layers)
		}
		want := []uint64{uint64(r), uint64(p.in(base))}
		if !isA {
			want = []uint64{uint64(p.out(base)), uint64(r)}
		}
		if !slices.Equal(t.Shape, want) {
			return nil, bad(t.Name, "shape %v, want %v (r=%d, base %s is %d×%d)",
				t.Shape, want, r, p.hf, p.out(base), p.in(base))
		}
		k := key{layer, proj}
		pair := byKey[k]
		if pair == nil {
			pair = &adapterPair{layer: layer, proj: proj}
			byKey[k] = pair
		}
		if isA {
			pair.a = t
		} else {
			pair.b = t
		}
	}
	if len(byKey) == 0 {
		return nil, formatErrorf("PEFT adapter", "", "holds no LoRA tensors")
	}
	pairs := make([]adapterPair, 0, len(byKey))
	for _, p := range byKey {
		stem := "base_model.model.model.layers." + strconv.Itoa(p.layer) + "." + projections[p.proj].hf
		switch {
		case p.a == nil:
			return nil, bad(stem+".lora_A.weight", "missing (its lora_B is present)")
		case p.b == nil:
			return nil, bad(stem+".lora_B.weight", "missing (its lora_A is present)")
		}
		pairs = append(pairs, *p)
	}
	slices.SortFunc(pairs, func(x, y adapterPair) int {
		if x.layer != y.layer {
			return x.layer - y.layer
		}
		return x.proj - y.proj
	})
	return pairs, nil
}

// parseLoraName parses
// "base_model.model.model.layers.N.<projection>.lora_{A,B}.weight".
func parseLoraName(name string) (layer, proj int, isA, ok bool) {
	s, found := strings.CutPrefix(name, "base_model.model.")
	if !found {
		return 0, 0, false, false
	}
	switch {
	case strings.HasSuffix(s, ".lora_A.weight"):
		s, isA = strings.TrimSuffix(s, ".lora_A.weight"), true
	case strings.HasSuffix(s, ".lora_B.weight"):
		s = strings.TrimSuffix(s, ".lora_B.weight")
	default:
		return 0, 0, false, false
	}
	layer, rest, found := parseLayerName(s)
	if !found {
		return 0, 0, false, false
	}
	proj = slices.IndexFunc(projections, func(p projection) bool { return p.hf == rest })
	return layer, proj, isA, proj >= 0
}

// addLoraPair adds blk.N.<stem>.weight.lora_a (ne [in, r], lora_A's bytes
// as they are) and .lora_b (ne [r, out], lora_B with rotary rows permuted).
func addLoraPair(b *Builder, p adapterPair, base BaseInfo) error {
	proj := projections[p.proj]
	in, out, r := p.a.Shape[1], p.b.Shape[0], p.a.Shape[0]
	a, err := p.a.Float32s()
	if err != nil {
		return formatErrorf("PEFT adapter", "tensor "+strconv.Quote(p.a.Name), "%v", err)
	}
	bw, err := p.b.Float32s()
	if err != nil {
		return formatErrorf("PEFT adapter", "tensor "+strconv.Quote(p.b.Name), "%v", err)
	}
	if proj.rotary != nil {
		if bw, err = permuteRotaryRows(bw, int(out), int(r), proj.rotary(base)); err != nil {
			return fmt.Errorf("tensor %q: %w", p.b.Name, err)
		}
	}
	name := blockTensor(p.layer, proj.gguf)
	if err := b.AddF32(name+".lora_a", []uint64{in, r}, a); err != nil {
		return err
	}
	return b.AddF32(name+".lora_b", []uint64{r, out}, bw)
}
