package forge

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/scanner"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"batos/image"
	"batos/kernel"
	"batos/kernel/entropy"
	"batos/kernel/pllm"
	"batos/llama"
)

// Tokenizer turns a conversation into the token ids its model sees at
// inference: the prompt (system and user turns, the assistant's opened)
// and the answer (with what closes the assistant's turn). Curation
// tokenizes through it so that training sees exactly the tokens inference
// will.
type Tokenizer interface {
	Encode(ctx context.Context, system, user, answer string) (promptTokens, answerTokens []int, err error)
}

// ServerTokenizer tokenizes through a llama-server: its chat template
// (/apply-template) and its tokenizer (/tokenize). A server without
// /apply-template is sent the /completion route's plain prompt.
type ServerTokenizer struct{ Client *llama.Client }

// Encode implements Tokenizer.
func (t ServerTokenizer) Encode(ctx context.Context, system, user, answer string) ([]int, []int, error) {
	msgs := []llama.Message{{Role: "system", Content: system}, {Role: "user", Content: user}}
	prefix, err := t.Client.ApplyTemplate(ctx, msgs, true)
	suffix := answer
	var se *llama.ServerError
	switch {
	case errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusNotImplemented):
		// The prompt the pLLM sends on /completion (config.request).
		prefix = system + "\n\n" + user + "\n"
	case err != nil:
		return nil, nil, err
	default:
		full, err := t.Client.ApplyTemplate(ctx, append(msgs, llama.Message{Role: "assistant", Content: answer}), false)
		if err != nil {
			return nil, nil, err
		}
		// The template's closing of the turn (an end-of-turn token) is
		// what the model must learn to emit; a template that renders the
		// last assistant turn otherwise (a prefill) gives the answer alone.
		if strings.HasPrefix(full, prefix) {
			suffix = full[len(prefix):]
		}
	}
	p, err := t.Client.TokenizeSpecial(ctx, prefix, true)
	if err != nil {
		return nil, nil, err
	}
	a, err := t.Client.TokenizeSpecial(ctx, suffix, false)
	if err != nil {
		return nil, nil, err
	}
	return p, a, nil
}

// ByteTokenizer is the tokenizer of a model whose vocabulary is 0 <unk>,
// 1 <s>, 2 </s> and the 256 bytes from 3 (the Forge's tiny test model):
// the /completion route's plain prompt after BOS, the answer before EOS.
type ByteTokenizer struct{}

// Encode implements Tokenizer.
func (ByteTokenizer) Encode(_ context.Context, system, user, answer string) ([]int, []int, error) {
	bytes := func(s string) []int {
		out := make([]int, len(s))
		for i := range len(s) {
			out[i] = 3 + int(s[i])
		}
		return out
	}
	return append([]int{1}, bytes(system+"\n\n"+user+"\n")...), append(bytes(answer), 2), nil
}

// example is one curated conversation.
type example struct {
	system, user, answer string
	origin               string // "generation N" or "method SEL on OBJECT by AUTHOR"
	key                  string // the answer normalised: duplicates share it
}

// curated is what curate gathered from the image.
type curated struct {
	positive  []example
	negative  []example // accepted generations a user reverted
	tokenizer string    // the persona's endpoint
}

// gather collects the persona's golden data from the image: accepted
// generations it wrote that are still installed, and methods users wrote
// or edited by hand (with the prompt the pipeline would send for them);
// accepted generations users reverted are kept apart as negatives.
// Duplicates (same normalised source) are kept once.
func (f *Forge) gather(j job) (curated, error) {
	var c curated
	seen := map[string]bool{}
	add := func(list *[]example, e example) {
		e.key = normalise(e.answer)
		if e.key == "" || seen[e.key] {
			return
		}
		seen[e.key] = true
		*list = append(*list, e)
	}
	var ierr error
	err := f.readIn(func(s *kernel.Session, lobby kernel.Object) {
		p := slotObject(lobby, "pLLM")
		persona := slotObject(slotObject(p, "personas"), j.persona)
		system := stringSlot(persona, "systemPrompt", "")
		c.tokenizer = stringSlot(persona, "endpoint", "")
		if c.tokenizer == "" || os.Getenv("BATOS_LLM_URL") != "" {
			c.tokenizer = pllm.Endpoint(s)
		}
		gens, _ := slot(p, "generations").([]any)
		for gi, g := range gens {
			o, ok := g.(kernel.Object)
			if !ok || stringSlot(o, "accepted", "") != j.persona {
				continue
			}
			recv, hasRecv := slot(o, "receiver").(kernel.Object)
			kept := false
			if hasRecv {
				var err error
				if kept, err = entropy.Responds(s, recv.OID(), stringSlot(o, "selector", "")); err != nil {
					ierr = err
					return
				}
			}
			cands, _ := slot(o, "candidates").([]any)
			for _, cv := range cands {
				m, _ := cv.(map[string]any)
				if m["persona"] != j.persona || m["outcome"] != "accepted" {
					continue
				}
				src, _ := m["source"].(string)
				e := example{system: system, user: stringSlot(o, "prompt", ""), answer: src, origin: fmt.Sprintf("generation %d", gi)}
				if kept {
					add(&c.positive, e)
				} else {
					add(&c.negative, e)
				}
			}
		}
		methods, err := handWritten(s)
		if err != nil {
			ierr = err
			return
		}
		for _, m := range methods {
			prompt, err := pllm.PromptFor(s, m.holder, m.selector, m.source)
			if err != nil {
				continue // a method that no longer parses teaches nothing
			}
			add(&c.positive, example{system: system, user: prompt, answer: m.source,
				origin: fmt.Sprintf("method %s on %s by %s", m.selector, s.Describe(m.holder), m.author)})
		}
	})
	if err == nil {
		err = ierr
	}
	return c, err
}

// written is a method someone wrote.
type written struct {
	holder                   image.OID
	selector, source, author string
}

// maxCurateWalk bounds the objects curation visits for hand-written
// methods.
const maxCurateWalk = 20_000

// handWritten lists the methods reachable from the Lobby that people
// wrote: not the codex's, the pLLM's, the loop's, nor the system's own.
func handWritten(s *kernel.Session) ([]written, error) {
	var out []written
	err := s.Walk(maxCurateWalk, func(oid image.OID, slots []image.Slot) bool {
		for _, sl := range slots {
			m, ok := sl.Value.(image.Method)
			if ok && byPerson(m.Author) {
				out = append(out, written{holder: oid, selector: sl.Name, source: m.Source, author: m.Author})
			}
		}
		return true
	})
	return out, err
}

// byPerson reports whether a method's author is a person: the REPL's and
// the TUI's "user", or a remote client's "remote:NAME".
func byPerson(author string) bool {
	return author == "user" || strings.HasPrefix(author, "remote:")
}

// normalise is a method's source as its token sequence, comments and
// layout dropped: two sources that differ only there are one example.
func normalise(src string) string {
	var sc scanner.Scanner
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	sc.Init(file, []byte(src), nil, 0)
	var b strings.Builder
	for {
		_, tok, lit := sc.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.SEMICOLON && lit == "\n" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if lit != "" {
			b.WriteString(lit)
		} else {
			b.WriteString(tok.String())
		}
	}
	return b.String()
}

// validation reports whether an example belongs to the validation split:
// by the hash of its normalised source, so a given example stays on its
// side as the data grows.
func validation(key string, share float64) bool {
	h := sha256.Sum256([]byte(key))
	return float64(binary.BigEndian.Uint32(h[:4]))/float64(1<<32) < share
}

// line is one dataset line: the conversation, and its tokens with the
// mask of those the loss counts (the answer's).
type line struct {
	Messages []llama.Message `json:"messages"`
	Origin   string          `json:"origin"`
	Tokens   []int           `json:"tokens"`
	Mask     []int           `json:"mask"`
}

// Manifest is the dataset folder's dataset.json: what was curated, for the
// job's log and the adapter's lineage.
type Manifest struct {
	Persona   string `json:"persona"`
	Train     int    `json:"train"`
	Valid     int    `json:"valid"`
	Negatives int    `json:"negatives"`
	Tokens    int    `json:"tokens"`
	Tokenizer string `json:"tokenizer"`
	Hash      string `json:"hash"` // sha256 of train.jsonl and valid.jsonl
}

// curate writes the job's dataset folder — train.jsonl, valid.jsonl and
// negatives.jsonl, chat-format and tokenized through the persona's model
// server, and dataset.json — and the trainer's config file. Too few
// examples fail the step with how many are missing.
func (f *Forge) curate(j job, cfg config) error {
	c, err := f.gather(j)
	if err != nil {
		return fmt.Errorf("curate: %w", err)
	}
	if len(c.positive) < cfg.minExamples {
		return fmt.Errorf("curate: %d examples for %s (accepted generations still installed and hand-written methods), %d short of Forge.minExamples (%d)",
			len(c.positive), j.persona, cfg.minExamples-len(c.positive), cfg.minExamples)
	}
	var tok Tokenizer = ServerTokenizer{Client: llama.New(c.tokenizer)}
	if f.opts.Tokenizer != nil {
		tok = f.opts.Tokenizer(c.tokenizer)
	}
	var train, valid, negative []line
	tokens := 0
	encode := func(e example) (line, error) {
		ctx, cancel := context.WithTimeout(f.ctx, time.Minute)
		defer cancel()
		p, a, err := tok.Encode(ctx, e.system, e.user, e.answer)
		if err != nil {
			return line{}, fmt.Errorf("tokenize %s through %s's model server at %s: %w", e.origin, j.persona, c.tokenizer, err)
		}
		l := line{
			Messages: []llama.Message{{Role: "system", Content: e.system}, {Role: "user", Content: e.user}, {Role: "assistant", Content: e.answer}},
			Origin:   e.origin,
			Tokens:   append(append([]int{}, p...), a...),
			Mask:     make([]int, len(p)+len(a)),
		}
		for i := len(p); i < len(l.Mask); i++ {
			l.Mask[i] = 1
		}
		tokens += len(l.Tokens)
		return l, nil
	}
	for _, e := range c.positive {
		l, err := encode(e)
		if err != nil {
			return fmt.Errorf("curate: %w", err)
		}
		if validation(e.key, cfg.validShare) {
			valid = append(valid, l)
		} else {
			train = append(train, l)
		}
	}
	// Both splits have an example when there are two: validation loss
	// needs one, training needs one.
	switch {
	case len(valid) == 0 && len(train) > 1 && cfg.validShare > 0:
		valid, train = train[len(train)-1:], train[:len(train)-1]
	case len(train) == 0 && len(valid) > 1:
		train, valid = valid[:1], valid[1:]
	}
	for _, e := range c.negative {
		l, err := encode(e)
		if err != nil {
			return fmt.Errorf("curate: %w", err)
		}
		negative = append(negative, l)
	}
	dir := filepath.Join(f.jobDir(j), "dataset")
	h := sha256.New()
	for _, part := range []struct {
		name  string
		lines []line
		hash  bool
	}{{"train.jsonl", train, true}, {"valid.jsonl", valid, true}, {"negatives.jsonl", negative, false}} {
		data, err := jsonLines(part.lines)
		if err != nil {
			return fmt.Errorf("curate: %w", err)
		}
		if part.hash {
			h.Write(data)
		}
		if err := writeFile(filepath.Join(dir, part.name), data); err != nil {
			return fmt.Errorf("curate: %w", err)
		}
	}
	man := Manifest{Persona: j.persona, Train: len(train), Valid: len(valid), Negatives: len(negative), Tokens: tokens, Tokenizer: c.tokenizer, Hash: hex.EncodeToString(h.Sum(nil))}
	if err := writeJSON(filepath.Join(dir, "dataset.json"), man); err != nil {
		return fmt.Errorf("curate: %w", err)
	}
	appendLog(LogPath(f.dir, j.id), fmt.Sprintf("forge: curated %d training and %d validation examples (%d tokens, %d negatives kept apart), dataset %s\n", man.Train, man.Valid, man.Tokens, man.Negatives, man.Hash[:12]))
	if err := writeJSON(filepath.Join(f.jobDir(j), "config.json"), cfg.trainingConfig(j.persona)); err != nil {
		return fmt.Errorf("curate: %w", err)
	}
	return nil
}

func jsonLines(lines []line) ([]byte, error) {
	var data []byte
	for _, l := range lines {
		b, err := json.Marshal(l)
		if err != nil {
			return nil, err
		}
		data = append(append(data, b...), '\n')
	}
	return data, nil
}

// ReadManifest reads the dataset.json of the job folder jobDir.
func ReadManifest(jobDir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(jobDir, "dataset", "dataset.json"))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}
