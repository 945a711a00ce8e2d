package llamacpp_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"batos/forge/gguf"
	"batos/forge/llamacpp"
	"batos/kernel/pllm"
)

// The selector the grammar test constrains to.
const grammarSelector = "wordCount"

// grammarSeeds are the samples TestGrammarConstrainsLlamaCpp draws.
var grammarSeeds = []int{1, 2, 3, 4, 5, 6}

// grammarShape is the language pllm.Grammar(grammarSelector) describes,
// written as a Go regular expression: a complete sample must match it.
var grammarShape = regexp.MustCompile("^```go\n(//[^\n]*\n)*func " + grammarSelector + `\(self Object[^\n]*\n([^` + "`" + `\n][^\n]*\n|\n)*\}\n` + "```$")

// TestGrammarConstrainsLlamaCpp parses pllm.Grammar in a real llama.cpp
// and samples from a model under it. The model (writeEscapeModel's) would rather
// write backquotes and end the text than anything else, so unconstrained it
// never writes a Go function; every sample the grammar completes must be
// exactly one fenced declaration of func wordCount(self Object ...) that
// pllm.Extract reads whole, and a sample cut short by the token limit a
// prefix of one. A grammar llama.cpp cannot parse must be an error that
// says so.
func TestGrammarConstrainsLlamaCpp(t *testing.T) {
	requireLlamaCpp(t)
	dir, err := filepath.Abs(".") // the test runs in forge/llamacpp, where requireLlamaCpp found node_modules
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	model := filepath.Join(tmp, "escape.gguf")
	writeEscapeModel(t, filepath.Join(tmp, "escape"), model)

	text := pllm.Grammar(grammarSelector)
	if text == "" {
		t.Fatalf("pllm.Grammar(%q) is empty", grammarSelector)
	}
	checkGrammar(t, dir, model, text)
}

// checkGrammar samples from model under the grammar text (for
// grammarSelector) in the node-llama-cpp installation dir and checks every
// sample; and that a broken grammar is refused.
func checkGrammar(t *testing.T, dir, model, text string) {
	tmp := t.TempDir()
	grammar := filepath.Join(tmp, "wordCount.gbnf")
	writeFile(t, grammar, []byte(text))
	broken := filepath.Join(tmp, "broken.gbnf")
	// Not `root ::= "x" | `: llama.cpp reads that as "x" or the empty string.
	writeFile(t, broken, []byte(`root ::= "x" | [a-`))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	type sample struct {
		seed, maxTokens int
		text            string
		err             error
	}
	var (
		mu      sync.Mutex
		samples []sample
	)
	draw := func(t *testing.T, seed, maxTokens int) {
		began := time.Now()
		got, err := llamacpp.Constrained(ctx, dir, model, grammar, "// wordCount returns the number of words in the receiver's text.\n", maxTokens, seed)
		t.Logf("seed %d, %d tokens at most: %v: %q (%v)", seed, maxTokens, time.Since(began).Round(time.Millisecond), got, err)
		if err != nil && !errors.Is(err, llamacpp.ErrMaxTokens) {
			t.Fatal(err)
		}
		mu.Lock()
		samples = append(samples, sample{seed, maxTokens, got, err})
		mu.Unlock()
	}
	t.Run("run", func(t *testing.T) {
		for _, seed := range grammarSeeds {
			t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
				t.Parallel()
				draw(t, seed, 400)
			})
		}
		t.Run("broken", func(t *testing.T) {
			t.Parallel()
			began := time.Now()
			_, err := llamacpp.Constrained(ctx, dir, model, broken, "", 8, 1)
			t.Logf("%v: %v", time.Since(began).Round(time.Millisecond), err)
			if err == nil || !strings.Contains(err.Error(), "grammar does not parse") || !strings.Contains(err.Error(), "error parsing grammar") {
				t.Errorf("Constrained with the grammar %q: error %v, want one that says the grammar does not parse and quotes llama.cpp's reason", `root ::= "x" | [a-`, err)
			}
		})
		// Too few tokens to finish: the text must be a prefix.
		t.Run("short", func(t *testing.T) {
			t.Parallel()
			draw(t, 7, 40)
		})
	})
	if t.Failed() {
		return
	}

	complete := 0
	for _, s := range samples {
		name := fmt.Sprintf("seed %d (%d tokens at most)", s.seed, s.maxTokens)
		done, err := grammarPrefix(s.text)
		if err != nil {
			t.Errorf("%s: %v: %q", name, err, s.text)
			continue
		}
		if s.err != nil { // the token limit
			if done {
				t.Errorf("%s: stopped at the token limit with a complete text (llama.cpp should have ended it): %q", name, s.text)
			}
			continue
		}
		if !done {
			t.Errorf("%s: the model ended the text before the grammar allowed: %q", name, s.text)
			continue
		}
		complete++
		if !strings.HasPrefix(s.text, "```go\n") || !strings.Contains(s.text, "func "+grammarSelector+"(self Object") || !strings.HasSuffix(s.text, "}\n```") {
			t.Errorf("%s: not a fenced func %s(self Object ...: %q", name, grammarSelector, s.text)
		}
		if !grammarShape.MatchString(s.text) {
			t.Errorf("%s: does not match %v: %q", name, grammarShape, s.text)
		}
		if n := strings.Count(s.text, "\n```"); n != 1 {
			t.Errorf("%s: %d lines start with a fence after the opening one, want 1: %q", name, n, s.text)
		}
		src, err := pllm.Extract(s.text, grammarSelector)
		if err != nil {
			t.Errorf("%s: Extract: %v", name, err)
			continue
		}
		// Extract must read the whole fenced declaration: the grammar
		// claims the closing fence is the only way out of it.
		if body := strings.TrimSuffix(strings.TrimPrefix(s.text, "```go\n"), "```"); src != body {
			t.Errorf("%s: Extract read %q of the fenced declaration %q: a fence (```) inside a line ends Extract's block early", name, src, body)
		}
	}
	if complete == 0 {
		t.Errorf("none of the %d samples completed the grammar", len(samples))
	}
	t.Logf("%d of %d samples complete", complete, len(samples))
}

// grammarPrefix reports whether text is a whole sentence of
// pllm.Grammar(grammarSelector) (done) or a proper prefix of one, and
// describes how it leaves the grammar otherwise.
func grammarPrefix(text string) (done bool, err error) {
	const open = "```go\n"
	if !strings.HasPrefix(text, open) {
		if strings.HasPrefix(open, text) {
			return false, nil
		}
		return false, errors.New("does not open with a ```go fence")
	}
	lines := strings.Split(text[len(open):], "\n")
	full, partial := lines[:len(lines)-1], lines[len(lines)-1]
	decl := "func " + grammarSelector + "(self Object"
	i := 0
	for i < len(full) && strings.HasPrefix(full[i], "//") {
		i++
	}
	if i == len(full) { // still before the declaration
		if strings.HasPrefix(partial, "//") || strings.HasPrefix("//", partial) || strings.HasPrefix(decl, partial) || strings.HasPrefix(partial, decl) {
			return false, nil
		}
		return false, fmt.Errorf("line %q is neither a comment nor %q", partial, decl)
	}
	if !strings.HasPrefix(full[i], decl) {
		return false, fmt.Errorf("line %q is neither a comment nor %q", full[i], decl)
	}
	body := full[i+1:]
	for _, l := range body {
		if strings.HasPrefix(l, "`") {
			return false, fmt.Errorf("body line %q starts with a backquote", l)
		}
	}
	if !strings.HasPrefix(partial, "`") {
		return false, nil
	}
	if len(body) == 0 || body[len(body)-1] != "}" {
		return false, fmt.Errorf("a fence %q does not follow a line \"}\"", partial)
	}
	switch partial {
	case "`", "``":
		return false, nil
	case "```":
		return true, nil
	}
	return false, fmt.Errorf("text %q follows the closing fence", partial)
}

// missingTool skips the test, saying what is missing; with
// BATOS_LLAMACPP_REQUIRED=1 (CI) it fails it instead.
func missingTool(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("BATOS_LLAMACPP_REQUIRED") == "1" {
		t.Fatal(msg + " (BATOS_LLAMACPP_REQUIRED=1)")
	}
	t.Skip(msg)
}

// requireLlamaCpp skips the test, saying what is missing, without node 20+
// or forge/llamacpp/node_modules (the grammar test needs no PyTorch);
// BATOS_LLAMACPP_REQUIRED=1 makes that a failure.
func requireLlamaCpp(t *testing.T) {
	t.Helper()
	missing := func(format string, args ...any) { t.Helper(); missingTool(t, format, args...) }
	if _, err := exec.LookPath("node"); err != nil {
		missing("node is not installed: llama.cpp runs here through node-llama-cpp")
	}
	out, err := exec.Command("node", "--version").Output()
	major, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), ".")
	if v, aerr := strconv.Atoi(major); err != nil || aerr != nil || v < 20 {
		missing("node-llama-cpp needs node 20 or later; node --version says %q (%v)", strings.TrimSpace(string(out)), err)
	}
	if _, err := os.Stat(filepath.Join("node_modules", "node-llama-cpp", "package.json")); err != nil {
		missing("node-llama-cpp is not installed: run npm ci --prefix forge/llamacpp from the repository root")
	}
}

// escapeModel's logits, by the previous token's class (see writeEscapeModel).
const (
	classOther = iota
	classNewline
	classBrace
	classBackquote
	nClasses
)

// escapeLogit is escapeModel's logit of token id after a token of class c:
// printable ASCII 0, a newline 2.5, "}" 2, a backquote and the end of text
// 3; after a newline a backquote 6 and "}" 3 (it would close the fence at
// once), after "}" a newline 5, after a backquote another 5. Every other
// token (control and non-ASCII bytes, BOS, <unk>) is -30: never sampled.
func escapeLogit(c, id int) float64 {
	const eos = 2
	if id == eos {
		return 3
	}
	if id < 3 {
		return -30
	}
	b := byte(id - 3)
	switch {
	case c == classNewline && b == '`':
		return 6
	case c == classNewline && b == '}':
		return 3
	case c == classNewline && b == '\n':
		return 1
	case c == classBrace && b == '\n':
		return 5
	case c == classBackquote && b == '`':
		return 5
	case b == '\n':
		return 2.5
	case b == '}':
		return 2
	case b == '`':
		return 3
	case b >= 0x20 && b < 0x7f:
		return 0
	}
	return -30
}

// writeEscapeModel writes a Llama for the byte vocabulary (gguf.ByteVocab)
// as a Hugging Face checkpoint in hfDir and converts it to GGUF at out.
// Its attention and MLP are zero, so the final norm sees the embedding of
// the last token alone: one-hot in the dimension of the token's class
// (newline, "}", backquote, other). The norm scales that to sqrt(hidden),
// and the LM head's column for the class holds escapeLogit/sqrt(hidden):
// a bigram model whose next-token logits are escapeLogit's.
func writeEscapeModel(t *testing.T, hfDir, out string) {
	t.Helper()
	const (
		vocab  = 259
		hidden = 8
		ff     = 8
		heads  = 2
	)
	class := func(id int) int {
		switch id {
		case 3 + '\n':
			return classNewline
		case 3 + '}':
			return classBrace
		case 3 + '`':
			return classBackquote
		}
		return classOther
	}
	embed := make([]float32, vocab*hidden)
	head := make([]float32, vocab*hidden)
	scale := math.Sqrt(hidden)
	for id := range vocab {
		embed[id*hidden+class(id)] = 1
		for c := range nClasses {
			head[id*hidden+c] = float32(escapeLogit(c, id) / scale)
		}
	}
	ones := make([]float32, hidden)
	for i := range ones {
		ones[i] = 1
	}
	zeros := func(rows, cols int) []float32 { return make([]float32, rows*cols) }
	type tensor struct {
		name  string
		shape []int
		data  []float32
	}
	layer := "model.layers.0."
	tensors := []tensor{
		{"model.embed_tokens.weight", []int{vocab, hidden}, embed},
		{layer + "input_layernorm.weight", []int{hidden}, ones},
		{layer + "self_attn.q_proj.weight", []int{hidden, hidden}, zeros(hidden, hidden)},
		{layer + "self_attn.k_proj.weight", []int{hidden, hidden}, zeros(hidden, hidden)},
		{layer + "self_attn.v_proj.weight", []int{hidden, hidden}, zeros(hidden, hidden)},
		{layer + "self_attn.o_proj.weight", []int{hidden, hidden}, zeros(hidden, hidden)},
		{layer + "post_attention_layernorm.weight", []int{hidden}, ones},
		{layer + "mlp.gate_proj.weight", []int{ff, hidden}, zeros(ff, hidden)},
		{layer + "mlp.up_proj.weight", []int{ff, hidden}, zeros(ff, hidden)},
		{layer + "mlp.down_proj.weight", []int{hidden, ff}, zeros(hidden, ff)},
		{"model.norm.weight", []int{hidden}, ones},
		{"lm_head.weight", []int{vocab, hidden}, head},
	}
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data []byte
	for _, tt := range tensors {
		start := len(data)
		for _, f := range tt.data {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(f))
		}
		header[tt.name] = map[string]any{"dtype": "F32", "shape": tt.shape, "data_offsets": []int{start, len(data)}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	st := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	st = append(append(st, h...), data...)
	config, _ := json.Marshal(map[string]any{
		"architectures": []string{"LlamaForCausalLM"}, "model_type": "llama",
		"hidden_size": hidden, "intermediate_size": ff, "num_hidden_layers": 1,
		"num_attention_heads": heads, "num_key_value_heads": heads, "head_dim": hidden / heads,
		"vocab_size": vocab, "max_position_embeddings": 1024, "rms_norm_eps": 1e-6,
		"rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": false,
		"bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32",
	})
	if err := os.MkdirAll(hfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(hfDir, "config.json"), config)
	writeFile(t, filepath.Join(hfDir, "model.safetensors"), st)
	if err := gguf.ConvertBase(hfDir, out, gguf.BaseOptions{Vocab: gguf.ByteVocab()}); err != nil {
		t.Fatal(err)
	}
}
