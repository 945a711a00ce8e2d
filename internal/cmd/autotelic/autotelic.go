// Package autotelic implements `batos autotelic [on|off|step]`: the
// autotelic loop's switch, one step now, and its state and ledger,
// through the clients' contract, on an image opened here or served.
package autotelic

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"batos/api"
	"batos/internal/cmdutil"
	"batos/internal/iostreams"
)

// Options configures `batos autotelic`.
type Options struct {
	IO     *iostreams.IOStreams
	Target cmdutil.Target
	// Verb is "on", "off", "step", "mandates", or "" (print the state and
	// the ledger).
	Verb string
	// Last is how many ledger entries the state shows.
	Last int
}

// NewCmd returns the `autotelic` command.
func NewCmd(ios *iostreams.IOStreams, target func() cmdutil.Target) *cobra.Command {
	last := 10
	cmd := &cobra.Command{
		Use:   "autotelic [on|off|step|mandates]",
		Short: "The autotelic loop: switch it on or off, run one step now, or show its state and ledger",
		Long: `With no argument, print the loop's switch, its budgets and what the last hour
used of them, and its newest ledger entries (what each step chose, why, what it
did, and CEM before and after).

on and off flip Lobby.autotelic.enabled (a commit). The loop's worker runs in
the processes that keep the image open (batos, batos serve, batos repl); it
steps when CEM has stayed below Lobby.autotelic.threshold for its period.

step runs one step now, whatever the period and the switch, within the budgets,
and prints what it chose, why, and what changed.

mandates lists what a step would choose among now, best first by the default
rule (gain / (1 + tried)), with each one's reason: what the loop would do.`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"on", "off", "step", "mandates"},
		RunE: func(_ *cobra.Command, args []string) error {
			opts := &Options{IO: ios, Target: target(), Last: last}
			if len(args) == 1 {
				opts.Verb = args[0]
			}
			return Run(opts)
		},
	}
	cmd.Flags().IntVarP(&last, "last", "n", last, "ledger entries to show")
	return cmd
}

// Run runs the command.
func Run(opts *Options) error {
	switch opts.Verb {
	case "", "on", "off", "step", "mandates":
	default:
		return fmt.Errorf("autotelic: unknown verb %q (want on, off, step or mandates)", opts.Verb)
	}
	conn, err := cmdutil.Open(opts.Target)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx := context.Background()
	oid, err := api.LobbySlot(ctx, conn, "autotelic")
	if err != nil {
		return err
	}
	switch opts.Verb {
	case "on", "off":
		if _, err := conn.SetSlot(ctx, oid, "enabled", api.Bool(opts.Verb == "on")); err != nil {
			return err
		}
	case "step":
		res, err := conn.Send(ctx, oid, "step")
		if err != nil {
			return err
		}
		fmt.Fprintln(opts.IO.Out, entries(res.Value)["summary"].String)
		return nil
	case "mandates":
		res, err := conn.Send(ctx, oid, "mandates")
		if err != nil {
			return err
		}
		if len(res.Value.Items) == 0 {
			fmt.Fprintln(opts.IO.Out, "no mandate: no object with data and little behaviour, no failed selector, no untested method, no persona with enough new data")
			return nil
		}
		for _, it := range res.Value.Items {
			m := entries(it)
			what := m["selector"].String + " on " + m["targetName"].String
			if m["kind"].String == "forge" {
				what = "fine-tune"
			}
			if p := m["persona"].String; p != "" {
				what += " by " + p
			}
			fmt.Fprintf(opts.IO.Out, "%-9s %-40s gain %.3f tried %d  %s\n", m["kind"].String, what, m["gain"].Float64(), m["tried"].Int, m["reason"].String)
		}
		return nil
	}
	view, err := conn.Object(ctx, oid)
	if err != nil {
		return err
	}
	st := readState(view)
	if opts.Verb == "" || opts.Verb == "on" {
		state := "off"
		if st.enabled {
			state = "on"
		}
		fmt.Fprintf(opts.IO.Out, "the autotelic loop is %s: it steps when CEM stays below %.2f for %s\n", state, st.threshold, st.period)
	} else {
		fmt.Fprintln(opts.IO.Out, "the autotelic loop is off")
	}
	if opts.Verb != "" {
		return nil
	}
	since := time.Now().Add(-time.Hour)
	var calls, tokens, commits int64
	for _, e := range st.ledger {
		if t, err := time.Parse(time.RFC3339, e["time"].String); err == nil && !t.Before(since) {
			calls += e["calls"].Int
			tokens += e["tokens"].Int
			commits += e["commits"].Int
		}
	}
	fmt.Fprintf(opts.IO.Out, "the last hour: %d of %d model calls, %d of %d tokens, %d of %d commits\n",
		calls, st.budget["generations"].Int, tokens, st.budget["tokens"].Int, commits, st.budget["commits"].Int)
	if len(st.ledger) == 0 {
		fmt.Fprintln(opts.IO.Out, "the ledger is empty (run one step: batos autotelic step)")
		return nil
	}
	start := max(0, len(st.ledger)-opts.Last)
	for _, e := range st.ledger[start:] {
		fmt.Fprintln(opts.IO.Out, Line(e))
	}
	return nil
}

// Line is one ledger entry on one line: when, what, on what, by whom,
// what became of it, and CEM before → after.
func Line(e map[string]api.Value) string {
	when := e["time"].String
	if t, err := time.Parse(time.RFC3339, when); err == nil {
		when = t.Local().Format("2006-01-02 15:04")
	}
	what := e["selector"].String + " on " + e["targetName"].String
	if e["kind"].String == "forge" {
		what = "fine-tune"
	}
	if p := e["persona"].String; p != "" {
		what += " by " + p
	}
	after := "?"
	if v, ok := e["cemAfter"]; ok {
		after = fmt.Sprintf("%.3f", v.Float64())
	}
	line := fmt.Sprintf("%s  %-9s %-40s %-9s CEM %.3f → %s", when, e["kind"].String, what, e["outcome"].String, e["cemBefore"].Float64(), after)
	if tx := e["tx"].Int; tx != 0 {
		line += fmt.Sprintf("  tx %d", tx)
	}
	return strings.TrimRight(line, " ")
}

type state struct {
	enabled   bool
	threshold float64
	period    time.Duration
	budget    map[string]api.Value
	ledger    []map[string]api.Value
}

func readState(v api.ObjectView) state {
	st := state{threshold: 0.6, period: 10 * time.Minute}
	for _, s := range v.Slots {
		if s.Value == nil {
			continue
		}
		switch s.Name {
		case "enabled":
			st.enabled = s.Value.Bool
		case "threshold":
			st.threshold = number(*s.Value)
		case "period":
			st.period = time.Duration(number(*s.Value) * float64(time.Second))
		case "budget":
			st.budget = entries(*s.Value)
		case "ledger":
			for _, item := range s.Value.Items {
				// The ledger is data anyone may edit: what is not a
				// step's entry is not shown as one.
				if e := entries(item); e["kind"].String != "" && e["outcome"].String != "" {
					st.ledger = append(st.ledger, e)
				}
			}
		}
	}
	return st
}

func number(v api.Value) float64 {
	if v.Kind == api.ValueInt {
		return float64(v.Int)
	}
	return v.Float64()
}

func entries(v api.Value) map[string]api.Value {
	out := map[string]api.Value{}
	for _, e := range v.Entries {
		out[e.Key] = e.Value
	}
	return out
}
