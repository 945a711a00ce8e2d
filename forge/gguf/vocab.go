package gguf

import "fmt"

// TokenType is a token's llama.cpp type (tokenizer.ggml.token_type).
type TokenType int32

// The llama.cpp token types.
const (
	TokenNormal      TokenType = 1
	TokenUnknown     TokenType = 2
	TokenControl     TokenType = 3
	TokenUserDefined TokenType = 4
	TokenUnused      TokenType = 5
	TokenByte        TokenType = 6
)

// Vocab is a SentencePiece-style ("llama") vocabulary as llama.cpp reads it
// from tokenizer.ggml.*. Token i has text Tokens[i], merge score Scores[i]
// and type Types[i]; byte-fallback tokens are spelled "<0xXX>" with
// upper-case hex, the spelling llama.cpp looks them up by.
type Vocab struct {
	Tokens []string
	Scores []float32
	Types  []TokenType

	BOS, EOS, Unknown uint32 // token ids

	AddBOS bool // tokenizing a prompt starts it with BOS
	AddEOS bool // tokenizing a prompt ends it with EOS

	// AddSpacePrefix makes llama.cpp tokenize a text as if it began with a
	// space (SentencePiece's dummy prefix).
	AddSpacePrefix bool
}

// ByteVocab is the Forge's test vocabulary: 259 tokens, id 0 "<unk>", 1
// "<s>" (BOS), 2 "</s>" (EOS), then the 256 byte tokens "<0x00>".."<0xFF>"
// at ids 3..258, every score 0. A prompt starts with BOS and gets no dummy
// space prefix.
//
// llama.cpp's SentencePiece tokenizer escapes every space as "▁" (U+2581)
// before it looks tokens up. This vocabulary has no "▁", so a space
// tokenizes as the byte tokens of that character's UTF-8 encoding (E2 96
// 81), not as byte 0x20, and llama.cpp detokenizes them as "▁", not as a
// space (TestLlamaCppLoadsConvertedFiles shows it). Training data must be
// tokenized by llama.cpp (llama-server's /tokenize) to match what it sees,
// and generated text shows "▁" for spaces. Appending a TokenNormal "▁"
// (id 259, vocab_size 260) makes llama.cpp round-trip text exactly.
func ByteVocab() *Vocab {
	v := &Vocab{
		Tokens: []string{"<unk>", "<s>", "</s>"},
		Types:  []TokenType{TokenUnknown, TokenControl, TokenControl},
		BOS:    1, EOS: 2, Unknown: 0,
		AddBOS: true,
	}
	for b := range 256 {
		v.Tokens = append(v.Tokens, fmt.Sprintf("<0x%02X>", b))
		v.Types = append(v.Types, TokenByte)
	}
	v.Scores = make([]float32, len(v.Tokens))
	return v
}

// validate checks what llama.cpp asserts or silently mishandles: parallel
// slices, distinct non-empty tokens, special ids in range.
func (v *Vocab) validate() error {
	n := len(v.Tokens)
	if n == 0 || len(v.Scores) != n || len(v.Types) != n {
		return fmt.Errorf("vocab: %d tokens, %d scores and %d types; want equal and non-zero", n, len(v.Scores), len(v.Types))
	}
	seen := make(map[string]int, n)
	for i, t := range v.Tokens {
		if t == "" {
			return fmt.Errorf("vocab: token %d is empty", i)
		}
		if j, dup := seen[t]; dup {
			return fmt.Errorf("vocab: tokens %d and %d are both %q", j, i, t)
		}
		seen[t] = i
		if v.Types[i] < TokenNormal || v.Types[i] > TokenByte {
			return fmt.Errorf("vocab: token %d %q has type %d", i, t, v.Types[i])
		}
	}
	for _, id := range []uint32{v.BOS, v.EOS, v.Unknown} {
		if id >= uint32(n) {
			return fmt.Errorf("vocab: special token id %d is not below %d", id, n)
		}
	}
	return nil
}

// write sets the tokenizer.ggml.* keys of a "llama" tokenizer.
func (v *Vocab) write(b *Builder) {
	types := make([]int32, len(v.Types))
	for i, t := range v.Types {
		types[i] = int32(t)
	}
	b.SetString("tokenizer.ggml.model", "llama")
	b.SetStrings("tokenizer.ggml.tokens", v.Tokens)
	b.SetFloat32s("tokenizer.ggml.scores", v.Scores)
	b.SetInt32s("tokenizer.ggml.token_type", types)
	b.SetUint32("tokenizer.ggml.bos_token_id", v.BOS)
	b.SetUint32("tokenizer.ggml.eos_token_id", v.EOS)
	b.SetUint32("tokenizer.ggml.unknown_token_id", v.Unknown)
	b.SetBool("tokenizer.ggml.add_bos_token", v.AddBOS)
	b.SetBool("tokenizer.ggml.add_eos_token", v.AddEOS)
	b.SetBool("tokenizer.ggml.add_space_prefix", v.AddSpacePrefix)
}
