package bench

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"batos/kernel"
)

// Report is a run's figures: one Row per persona, model and adapter, and
// every Outcome. It marshals to the JSON that `batos pllm bench --json`
// writes, to compare runs.
type Report struct {
	Version string          `json:"suite_version"`
	Split   string          `json:"split"`
	Started time.Time       `json:"started"`
	TookMS  int64           `json:"took_ms"`
	Context map[string]bool `json:"context,omitempty"` // the context parts the run changed
	Rows    []Row           `json:"rows"`
	// Outcomes are in the order they were run.
	Outcomes []Outcome `json:"outcomes"`
}

// Row sums one persona's outcomes with one model and adapter.
type Row struct {
	Persona string `json:"persona"`
	Model   string `json:"model"`
	Adapter string `json:"adapter,omitempty"`
	// Mandates counts those that ran; Errors those the harness could not
	// run (left out of the rates).
	Mandates int `json:"mandates"`
	Errors   int `json:"errors,omitempty"`
	// Pass1 passed with the first attempt; Pass within the attempt
	// budget.
	Pass1        int     `json:"pass_at_1"`
	Pass         int     `json:"pass"`
	Pass1Rate    float64 `json:"pass_at_1_rate"`
	PassRate     float64 `json:"pass_rate"`
	MeanAttempts float64 `json:"mean_attempts"`
	Tokens       int     `json:"tokens"`
	// MeanInstallMS is over the mandates that installed a method.
	MeanInstallMS   float64 `json:"mean_install_ms"`
	MeanPromptBytes float64 `json:"mean_prompt_bytes"`
}

// finish sums the outcomes into rows and stamps the run's duration.
func (r *Report) finish() {
	r.TookMS = time.Since(r.Started).Milliseconds()
	type key struct{ persona, model, adapter string }
	rows := map[key]*Row{}
	var order []key
	installs := map[key]int{}
	for _, o := range r.Outcomes {
		k := key{o.Persona, o.Model, o.Adapter}
		row, ok := rows[k]
		if !ok {
			row = &Row{Persona: o.Persona, Model: o.Model, Adapter: o.Adapter}
			rows[k] = row
			order = append(order, k)
		}
		if o.Error != "" {
			row.Errors++
			continue
		}
		row.Mandates++
		if o.Passed {
			row.Pass++
			if o.Attempts == 1 {
				row.Pass1++
			}
		}
		row.MeanAttempts += float64(o.Attempts)
		row.Tokens += o.Tokens
		row.MeanPromptBytes += float64(o.PromptBytes)
		if o.Installed {
			installs[k]++
			row.MeanInstallMS += float64(o.InstallMS)
		}
	}
	r.Rows = r.Rows[:0]
	for _, k := range order {
		row := rows[k]
		if n := float64(row.Mandates); n > 0 {
			row.Pass1Rate, row.PassRate = float64(row.Pass1)/n, float64(row.Pass)/n
			row.MeanAttempts /= n
			row.MeanPromptBytes /= n
		}
		if n := installs[k]; n > 0 {
			row.MeanInstallMS /= float64(n)
		}
		r.Rows = append(r.Rows, *row)
	}
	sort.SliceStable(r.Rows, func(i, j int) bool { return r.Rows[i].PassRate > r.Rows[j].PassRate })
}

// Row returns the row of persona (the first, when it ran with several
// models or adapters).
func (r *Report) Row(persona string) (Row, bool) {
	for _, row := range r.Rows {
		if row.Persona == persona {
			return row, true
		}
	}
	return Row{}, false
}

// WriteTable prints the rows as the command shows them, best first.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "PERSONA\tMODEL\tADAPTER\tMANDATES\tPASS@1\tPASS\tATTEMPTS\tTOKENS\tINSTALL\tPROMPT")
	for _, row := range r.Rows {
		mandates := fmt.Sprint(row.Mandates)
		if row.Errors > 0 {
			mandates += fmt.Sprintf(" (+%d not run)", row.Errors)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%d\t%s\t%.0f B\n",
			row.Persona, orDash(row.Model), orDash(row.Adapter), mandates,
			rate(row.Pass1, row.Mandates), rate(row.Pass, row.Mandates),
			row.MeanAttempts, row.Tokens, (time.Duration(row.MeanInstallMS) * time.Millisecond).Round(time.Millisecond), row.MeanPromptBytes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "suite %s, split %s, %d outcome%s in %s\n", r.Version, r.Split, len(r.Outcomes), plural(len(r.Outcomes)), (time.Duration(r.TookMS) * time.Millisecond).Round(time.Millisecond))
	return err
}

// String is an outcome as a progress line: PASS, FAIL or ERROR, the
// persona and mandate, and why.
func (o Outcome) String() string {
	verdict := "PASS"
	switch {
	case o.Error != "":
		verdict = "ERROR"
	case !o.Passed:
		verdict = "FAIL"
	}
	line := fmt.Sprintf("%-5s %s %s (%s, %d attempt%s, %d tokens)", verdict, o.Persona, o.Mandate, o.Split, o.Attempts, plural(o.Attempts), o.Tokens)
	if o.Error != "" {
		line = fmt.Sprintf("%-5s %s %s (%s)", verdict, o.Persona, o.Mandate, o.Split)
	}
	if why := o.Error + o.Failure; why != "" {
		line += ": " + abbreviate(oneLine(why), 240)
	}
	return line
}

func rate(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d %3.0f%%", n, of, 100*float64(n)/float64(of))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// maxRuns bounds Lobby.pLLM.benchmarks; older runs stay in history.
const maxRuns = 50

// Record appends the report's rows to Lobby.pLLM.benchmarks in src, as
// principal, and returns the entry as committed: where pass rates are
// compared over time and by the Forge.
func Record(ctx context.Context, src *kernel.Kernel, principal string, r *Report) (map[string]any, error) {
	entry := r.asMap()
	s := src.NewSession(principal)
	note := fmt.Sprintf("bench: suite %s, split %s: %s", r.Version, r.Split, r.summary())
	_, err := s.Run(ctx, note, func(lobby kernel.Object) error {
		p := lobby.At("pLLM")
		runs, _ := p.Get("benchmarks").([]any)
		runs = append(runs, entry)
		if len(runs) > maxRuns {
			runs = runs[len(runs)-maxRuns:]
		}
		p.Set("benchmarks", runs)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record the bench run: %w", err)
	}
	return entry, nil
}

// summary is each row's pass rate, for a commit note.
func (r *Report) summary() string {
	var parts []string
	for _, row := range r.Rows {
		parts = append(parts, fmt.Sprintf("%s %d/%d", row.Persona, row.Pass, row.Mandates))
	}
	return strings.Join(parts, ", ")
}

// asMap is the report as the image keeps it: the rows, not the outcomes
// (the generations of a run live and die with its copies).
func (r *Report) asMap() map[string]any {
	rows := make([]any, len(r.Rows))
	for i, row := range r.Rows {
		rows[i] = map[string]any{
			"persona": row.Persona, "model": row.Model, "adapter": row.Adapter,
			"mandates": row.Mandates, "errors": row.Errors,
			"passAt1": row.Pass1, "pass": row.Pass,
			"passAt1Rate": row.Pass1Rate, "passRate": row.PassRate,
			"meanAttempts": row.MeanAttempts, "tokens": row.Tokens,
			"meanInstallMS": row.MeanInstallMS, "meanPromptBytes": row.MeanPromptBytes,
		}
	}
	m := map[string]any{
		"time":    r.Started.UTC().Format(time.RFC3339),
		"suite":   r.Version,
		"split":   r.Split,
		"tookMS":  int(r.TookMS),
		"rows":    rows,
		"failed":  r.failedNames(),
		"context": contextMap(r.Context),
	}
	return m
}

func (r *Report) failedNames() []any {
	var out []any
	for _, o := range r.Outcomes {
		if !o.Passed {
			out = append(out, o.Persona+" "+o.Mandate)
		}
	}
	return out
}

func contextMap(c map[string]bool) map[string]any {
	m := map[string]any{}
	for k, v := range c {
		m[k] = v
	}
	return m
}
