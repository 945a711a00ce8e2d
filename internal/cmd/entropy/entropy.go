// Package entropy implements `batos entropy`: the Composite Entropy
// Metric's current reading and its recorded series as sparklines.
package entropy

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"batos/api"
	"batos/internal/cmdutil"
	"batos/internal/iostreams"
)

// Options configures `batos entropy`.
type Options struct {
	IO     *iostreams.IOStreams
	Target cmdutil.Target
	// Record appends the reading to the series (a commit).
	Record bool
}

// NewCmd returns the `entropy` command.
func NewCmd(ios *iostreams.IOStreams, target func() cmdutil.Target) *cobra.Command {
	var record bool
	cmd := &cobra.Command{
		Use:   "entropy",
		Short: "Print the Composite Entropy Metric now and its series as sparklines",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return Run(&Options{IO: ios, Target: target(), Record: record})
		},
	}
	cmd.Flags().BoolVar(&record, "record", false, "also append the reading to Lobby.entropy.series")
	return cmd
}

// components are the reading's keys, in the order printed.
var components = []struct{ key, label string }{
	{"cem", "CEM"}, {"rel", "H_rel"}, {"cog", "H_cog"}, {"sol", "H_sol"}, {"struc", "H_struc"},
}

// Run prints the reading and the series.
func Run(opts *Options) error {
	conn, err := cmdutil.Open(opts.Target)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx := context.Background()
	e, err := api.LobbySlot(ctx, conn, "entropy")
	if err != nil {
		return err
	}
	selector := "measure"
	if opts.Record {
		selector = "record"
	}
	res, err := conn.Send(ctx, e, selector)
	if err != nil {
		return err
	}
	now := entries(res.Value)
	view, err := conn.Object(ctx, e)
	if err != nil {
		return err
	}
	var series []map[string]float64
	for _, s := range view.Slots {
		if s.Name == "series" && s.Value != nil {
			for _, item := range s.Value.Items {
				series = append(series, entries(item))
			}
		}
	}
	for _, c := range components {
		var points []float64
		for _, r := range series {
			points = append(points, r[c.key])
		}
		fmt.Fprintf(opts.IO.Out, "%-8s %.3f  %s\n", c.label, now[c.key], Sparkline(points, 60))
	}
	if routed := int(now["routed"]); routed > 0 {
		fmt.Fprintf(opts.IO.Out, "%-8s %.3f  (the router's mean entropy per call, over %d; not in CEM)\n", "routing", now["routing"], routed)
	}
	fmt.Fprintf(opts.IO.Out, "over the newest %d generation records; %d readings in the series\n", int(now["generations"]), len(series))
	return nil
}

func byKey(v api.Value) map[string]api.Value {
	out := map[string]api.Value{}
	for _, e := range v.Entries {
		out[e.Key] = e.Value
	}
	return out
}

// entries reads a reading's numbers.
func entries(v api.Value) map[string]float64 {
	out := map[string]float64{}
	for k, x := range byKey(v) {
		switch x.Kind {
		case api.ValueFloat:
			f, _ := strconv.ParseFloat(x.Float, 64)
			out[k] = f
		case api.ValueInt:
			out[k] = float64(x.Int)
		}
	}
	return out
}

// sparks are the eight heights of a sparkline.
var sparks = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws the newest width points of values in 0..1 (clamped).
func Sparkline(values []float64, width int) string {
	if len(values) > width {
		values = values[len(values)-width:]
	}
	var b strings.Builder
	for _, v := range values {
		i := int(v * float64(len(sparks)))
		b.WriteRune(sparks[max(0, min(len(sparks)-1, i))])
	}
	return b.String()
}
