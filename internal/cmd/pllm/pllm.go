// Package pllm implements `batos pllm`: the pLLM's own tools. `batos pllm
// bench` runs the mandate suite against the image's model servers and
// tells which persona, model and adapter writes the best methods.
package pllm

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"batos/api"
	"batos/internal/cmd/repl"
	"batos/internal/cmdutil"
	"batos/internal/iostreams"
	"batos/kernel/pllm"
)

// NewCmd returns the `pllm` command.
func NewCmd(ios *iostreams.IOStreams, target func() cmdutil.Target) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pllm",
		Short: "The pLLM's tools: bench",
	}
	cmd.AddCommand(NewBenchCmd(ios, target, nil))
	return cmd
}

// BenchOptions configures `batos pllm bench`.
type BenchOptions struct {
	IO       *iostreams.IOStreams
	Target   cmdutil.Target
	Suite    string // a folder of *.txtar mandates; "": the built-in suite
	Split    string
	Names    []string
	Personas []string
	Attempts int
	// Context switches parts of the model's context on or off for the
	// run ("api=false").
	Context []string
	JSON    string
}

// NewBenchCmd returns `pllm bench`; runF replaces RunBench in tests.
func NewBenchCmd(ios *iostreams.IOStreams, target func() cmdutil.Target, runF func(*BenchOptions) error) *cobra.Command {
	opts := &BenchOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run the mandate suite against the model servers and report pass rates",
		Long: `Run every mandate of the suite — a missing method, the send that asks for it,
and checks that judge what gets installed — each in a fresh copy of the image,
through the real doesNotUnderstand pipeline, once per persona. Prints one line per
mandate as it finishes, then a table per persona, model and adapter: pass@1 (passed
at the first attempt), pass within the attempt budget, mean attempts, tokens, time
to install and prompt size. The run is recorded in Lobby.pLLM.benchmarks; --json
writes every outcome for comparing runs.

The built-in suite's held-out part (--split heldout) is never used to tune prompts.
Context parts (` + strings.Join(pllm.ContextParts, ", ") + `) can be switched off for a run
to measure what each is worth: --context api=false.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			opts.Target = target()
			if runF != nil {
				return runF(opts)
			}
			return RunBench(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Suite, "suite", "", "a folder of mandates (*.txtar); default: the built-in suite")
	cmd.Flags().StringVar(&opts.Split, "split", "all", "which mandates: train, heldout or all")
	cmd.Flags().StringSliceVar(&opts.Names, "run", nil, "only mandates whose names contain one of these")
	cmd.Flags().StringSliceVar(&opts.Personas, "personas", nil, "personas to bench, one at a time (default: every configured one)")
	cmd.Flags().IntVar(&opts.Attempts, "attempts", 0, "attempts per mandate (default: Lobby.pLLM.maxAttempts)")
	cmd.Flags().StringSliceVar(&opts.Context, "context", nil, "context parts to switch for the run, as part=true|false")
	cmd.Flags().StringVar(&opts.JSON, "json", "", "write the full report as JSON to this file")
	return cmd
}

// RunBench runs the command.
func RunBench(opts *BenchOptions) error {
	src, err := benchSource(opts)
	if err != nil {
		return err
	}
	conn, err := cmdutil.Open(opts.Target)
	if err != nil {
		return err
	}
	defer conn.Close()
	p, err := repl.NewPrinter(opts.IO, conn)
	if err != nil {
		return err
	}
	defer p.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := p.Eval(ctx, src)
	if err != nil || opts.JSON == "" {
		return err
	}
	// The image answers the report; this process writes the file (the
	// image's scripts reach no file system).
	if res.Value.Kind != api.ValueString || res.Value.Truncated {
		return fmt.Errorf("pllm bench: the image answered no whole report (%s)", res.Value.Type)
	}
	if err := os.WriteFile(opts.JSON, []byte(res.Value.String), 0o644); err != nil {
		return fmt.Errorf("pllm bench: write the report: %w", err)
	}
	return nil
}

// benchSource is the entry that runs the bench: a send of
// Lobby.pLLM.bench with the options as a Go map literal.
func benchSource(opts *BenchOptions) (string, error) {
	entries := map[string]string{}
	if opts.Suite != "" {
		abs, err := filepath.Abs(opts.Suite)
		if err != nil {
			return "", err
		}
		entries["suite"] = strconv.Quote(abs)
	}
	if opts.Split != "" {
		entries["split"] = strconv.Quote(opts.Split)
	}
	if len(opts.Names) > 0 {
		entries["names"] = stringList(opts.Names)
	}
	if len(opts.Personas) > 0 {
		entries["personas"] = stringList(opts.Personas)
	}
	if opts.Attempts > 0 {
		entries["attempts"] = strconv.Itoa(opts.Attempts)
	}
	if opts.JSON != "" {
		entries["report"] = "true"
	}
	if len(opts.Context) > 0 {
		var parts []string
		for _, c := range opts.Context {
			part, value, ok := strings.Cut(c, "=")
			on, err := strconv.ParseBool(value)
			if !ok || err != nil || !slices.Contains(pllm.ContextParts, part) {
				return "", fmt.Errorf("pllm bench: --context %s: want PART=true|false, PART one of %s", c, strings.Join(pllm.ContextParts, ", "))
			}
			parts = append(parts, fmt.Sprintf("%q: %t", part, on))
		}
		entries["context"] = "map[string]any{" + strings.Join(parts, ", ") + "}"
	}
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var kv []string
	for _, k := range keys {
		kv = append(kv, fmt.Sprintf("%q: %s", k, entries[k]))
	}
	send := fmt.Sprintf(`Lobby.At("pLLM").Send("bench", map[string]any{%s})`, strings.Join(kv, ", "))
	if opts.JSON != "" {
		// The entry's value is the report, which RunBench writes.
		return send + `.(map[string]any)["report"]`, nil
	}
	return "_ = " + send, nil
}

func stringList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[]any{" + strings.Join(q, ", ") + "}"
}
