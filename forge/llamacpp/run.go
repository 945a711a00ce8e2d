package llamacpp

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// checkScript is check.mjs, shipped in the binary: Greedy writes it into
// the installation it finds, where node resolves node-llama-cpp from it.
//
//go:embed check.mjs
var checkScript []byte

// Result is what check.mjs prints.
type Result struct {
	Tokens   []int       `json:"tokens"`
	LogProbs [][]float64 `json:"logprobs"`
	Vocab    int         `json:"vocab"`
	Warnings []string    `json:"warnings"`
}

// ErrNotInstalled: no node-llama-cpp installation was found.
var ErrNotInstalled = errors.New("node-llama-cpp is not installed: run `npm ci --prefix forge/llamacpp` in the batos repository, or set BATOS_LLAMACPP_DIR to a folder where `npm install node-llama-cpp@3.21.1` was run")

// Find returns the folder that holds node_modules/node-llama-cpp: the
// one BATOS_LLAMACPP_DIR names, else forge/llamacpp under the working
// folder (the repository), else ~/.cache/batos/llamacpp.
func Find() (string, error) {
	var candidates []string
	if d := os.Getenv("BATOS_LLAMACPP_DIR"); d != "" {
		candidates = append(candidates, d)
	}
	candidates = append(candidates, filepath.Join("forge", "llamacpp"))
	if home, err := os.UserCacheDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, "batos", "llamacpp"))
	}
	for _, d := range candidates {
		if _, err := os.Stat(filepath.Join(d, "node_modules", "node-llama-cpp", "package.json")); err == nil {
			return filepath.Abs(d)
		}
	}
	return "", ErrNotInstalled
}

// Version is the installed node-llama-cpp's version.
func Version(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "node-llama-cpp", "package.json"))
	if err != nil {
		return "", err
	}
	var p struct{ Version string }
	if err := json.Unmarshal(b, &p); err != nil {
		return "", err
	}
	return p.Version, nil
}

// Greedy runs check.mjs in the installation dir: model (with lora at
// scale, when lora is not empty) greedily continues ids by n tokens in
// llama.cpp.
func Greedy(ctx context.Context, dir, model, lora string, scale float64, ids []int, n int) (Result, error) {
	script := filepath.Join(dir, "check.mjs")
	if have, err := os.ReadFile(script); err != nil || !bytes.Equal(have, checkScript) {
		script = filepath.Join(dir, ".batos-check.mjs")
		if err := os.WriteFile(script, checkScript, 0o644); err != nil {
			return Result{}, fmt.Errorf("llama.cpp check: %w", err)
		}
	}
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = strconv.Itoa(id)
	}
	args := []string{script, "--model", model, "--ids", strings.Join(strs, ","), "--n", strconv.Itoa(n)}
	if lora != "" {
		args = append(args, "--lora", lora, "--scale", strconv.FormatFloat(scale, 'g', -1, 64))
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return Result{}, fmt.Errorf("llama.cpp check: %v: %s", err, msg)
	}
	var r Result
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &r); err != nil {
		return Result{}, fmt.Errorf("llama.cpp check: its output is not JSON: %.200q", stdout.String())
	}
	return r, nil
}

// grammarScript is grammar.mjs, shipped in the binary like check.mjs.
//
//go:embed grammar.mjs
var grammarScript []byte

// ErrMaxTokens: Constrained's generation ran out of tokens before the
// grammar was complete; the text it returns with this error is a prefix of
// what the grammar allows, not a whole sentence of it.
var ErrMaxTokens = errors.New("llama.cpp stopped at the token limit before the grammar was complete")

// Completion is what grammar.mjs prints.
type Completion struct {
	Text       string   `json:"text"`
	StopReason string   `json:"stopReason"` // node-llama-cpp's: "eogToken", "maxTokens", ...
	Tokens     int      `json:"tokens"`
	Warnings   []string `json:"warnings"`
}

// Sample runs grammar.mjs in the installation dir: model continues prompt
// in llama.cpp, sampling at temperature 0.8 from seed under the GBNF
// grammar in the file grammar, for at most maxTokens tokens. A grammar
// llama.cpp cannot parse is an error that says so and quotes llama.cpp's
// reason.
func Sample(ctx context.Context, dir, model, grammar, prompt string, maxTokens int, seed int) (Completion, error) {
	script := filepath.Join(dir, "grammar.mjs")
	if have, err := os.ReadFile(script); err != nil || !bytes.Equal(have, grammarScript) {
		script = filepath.Join(dir, ".batos-grammar.mjs")
		if err := os.WriteFile(script, grammarScript, 0o644); err != nil {
			return Completion{}, fmt.Errorf("llama.cpp grammar: %w", err)
		}
	}
	args := []string{script, "--model", model, "--grammar", grammar, "--prompt", prompt,
		"--max-tokens", strconv.Itoa(maxTokens), "--seed", strconv.Itoa(seed)}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// grammar.mjs runs llama.cpp in a child process, which it stops on an
	// interrupt (and which stops itself when grammar.mjs dies).
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return Completion{}, fmt.Errorf("llama.cpp grammar: %v: %s", err, msg)
	}
	var c Completion
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &c); err != nil {
		return Completion{}, fmt.Errorf("llama.cpp grammar: its output is not JSON: %.200q", stdout.String())
	}
	return c, nil
}

// Constrained is Sample's text: model's continuation of prompt under the
// grammar in the file grammar (see Sample). When the model ended the text,
// which under a grammar llama.cpp allows only where the grammar is
// complete, the error is nil; when maxTokens ran out first it is
// ErrMaxTokens, returned with the text so far.
func Constrained(ctx context.Context, dir, model, grammar, prompt string, maxTokens int, seed int) (text string, err error) {
	c, err := Sample(ctx, dir, model, grammar, prompt, maxTokens, seed)
	if err != nil {
		return "", err
	}
	switch c.StopReason {
	case "eogToken":
		return c.Text, nil
	case "maxTokens":
		return c.Text, fmt.Errorf("llama.cpp grammar: %w (%d tokens)", ErrMaxTokens, maxTokens)
	}
	return c.Text, fmt.Errorf("llama.cpp grammar: generation stopped by %q", c.StopReason)
}
