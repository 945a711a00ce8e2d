package llamatest

import (
	"encoding/json"
)

// settings is the subset of task_params that task_params::to_json prints, with
// llama.cpp's common_params_sampling defaults. Fields a request can set are
// taken from it (apply), so "generation_settings" echoes what was asked.
type settings struct {
	seed        uint32
	temperature float64
	topK        int
	topP        float64
	minP        float64
	nPredict    int
	stop        []string
	stream      bool
	grammar     string
	lora        []object
}

func defaultSettings() settings {
	return settings{
		seed:        4294967295, // LLAMA_DEFAULT_SEED
		temperature: 0.8,
		topK:        40,
		topP:        0.95,
		minP:        0.05,
		nPredict:    -1,
		stop:        []string{},
		lora:        []object{},
	}
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// apply copies the request fields params_from_json_cmpl reads.
func (s *settings) apply(body map[string]any) {
	if f, ok := number(body["seed"]); ok {
		s.seed = uint32(int64(f))
	}
	if f, ok := number(body["temperature"]); ok {
		s.temperature = f
	}
	if f, ok := number(body["top_k"]); ok {
		s.topK = int(f)
	}
	if f, ok := number(body["top_p"]); ok {
		s.topP = f
	}
	if f, ok := number(body["min_p"]); ok {
		s.minP = f
	}
	if f, ok := number(body["max_tokens"]); ok {
		s.nPredict = int(f)
	}
	if f, ok := number(body["n_predict"]); ok {
		s.nPredict = int(f)
	}
	if st, ok := body["stop"].([]any); ok {
		s.stop = []string{}
		for _, w := range st {
			if w, ok := w.(string); ok && w != "" {
				s.stop = append(s.stop, w)
			}
		}
	}
	if g, ok := body["grammar"].(string); ok {
		s.grammar = g
	}
	if l, ok := body["lora"].([]any); ok {
		s.lora = []object{}
		for _, e := range l {
			m, _ := e.(map[string]any)
			id, _ := number(m["id"])
			scale, _ := number(m["scale"])
			s.lora = append(s.lora, object{{"id", int(id)}, {"scale", f32(scale)}})
		}
	}
}

// toJSON is task_params::to_json(only_metrics); member order as in llama.cpp.
func (s settings) toJSON(onlyMetrics bool) object {
	samplers := []string{"penalties", "dry", "top_n_sigma", "top_k", "typ_p", "top_p", "min_p", "xtc", "temperature"}
	head := object{
		{"seed", s.seed},
		{"temperature", f32(s.temperature)},
		{"dynatemp_range", f32(0)},
		{"dynatemp_exponent", f32(1)},
		{"top_k", s.topK},
		{"top_p", f32(s.topP)},
		{"min_p", f32(s.minP)},
		{"top_n_sigma", f32(-1)},
		{"xtc_probability", f32(0)},
		{"xtc_threshold", f32(0.1)},
		{"typical_p", f32(1)},
		{"repeat_last_n", 64},
		{"repeat_penalty", f32(1)},
		{"presence_penalty", f32(0)},
		{"frequency_penalty", f32(0)},
		{"dry_multiplier", f32(0)},
		{"dry_base", f32(1.75)},
		{"dry_allowed_length", 2},
		{"dry_penalty_last_n", -1},
	}
	if !onlyMetrics {
		head = append(head, kv{"dry_sequence_breakers", []string{"\n", ":", "\"", "*"}})
	}
	head = append(head,
		kv{"mirostat", 0},
		kv{"mirostat_tau", f32(5)},
		kv{"mirostat_eta", f32(0.1)},
	)
	if !onlyMetrics {
		head = append(head, kv{"stop", s.stop})
	}
	head = append(head,
		kv{"max_tokens", s.nPredict},
		kv{"n_predict", s.nPredict},
		kv{"n_keep", 0},
		kv{"n_discard", 0},
		kv{"ignore_eos", false},
		kv{"stream", s.stream},
	)
	if !onlyMetrics {
		head = append(head, kv{"logit_bias", []any{}})
	}
	head = append(head,
		kv{"n_probs", 0},
		kv{"min_keep", 0},
	)
	if !onlyMetrics {
		head = append(head,
			kv{"grammar", s.grammar},
			kv{"grammar_lazy", false},
			kv{"grammar_triggers", []any{}},
			kv{"preserved_tokens", []any{}},
		)
	}
	return append(head,
		kv{"chat_format", "Content-only"},
		kv{"reasoning_format", "none"},
		kv{"reasoning_in_content", false},
		kv{"thinking_forced_open", false},
		kv{"samplers", samplers},
		kv{"speculative.n_max", 16},
		kv{"speculative.n_min", 0},
		kv{"speculative.p_min", f32(0.75)},
		kv{"timings_per_token", false},
		kv{"post_sampling_probs", false},
		kv{"lora", s.lora},
	)
}
