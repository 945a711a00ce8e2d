// Package forge implements `batos forge train|jobs|show|cancel|logs|run|doctor|selftest`:
// the Forge's fine-tune jobs seen and driven from the command line,
// through the clients' contract, on an image opened here or served.
package forge

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"batos/api"
	"batos/internal/cmdutil"
	"batos/internal/iostreams"
)

// NewCmd returns the `forge` command and its verbs.
func NewCmd(ios *iostreams.IOStreams, target func() cmdutil.Target) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "forge",
		Short: "Fine-tune persona adapters: train, jobs, show, cancel, logs, run",
	}
	var detach bool
	train := &cobra.Command{
		Use:   "train PERSONA",
		Short: "Queue a fine-tune of PERSONA and follow it until it ends (ctrl+c cancels it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return runTrain(&TrainOptions{IO: ios, Target: target(), Persona: args[0], Detach: detach})
		},
	}
	train.Flags().BoolVar(&detach, "detach", false, "only queue the job")
	var follow bool
	logs := &cobra.Command{
		Use:   "logs ID",
		Short: "Print a job's trainer log",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			id, err := jobID(args[0])
			if err != nil {
				return err
			}
			return runLogs(&LogsOptions{IO: ios, Target: target(), Job: id, Follow: follow})
		},
	}
	logs.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing until the job ends")
	cmd.AddCommand(train,
		&cobra.Command{
			Use:   "jobs",
			Short: "List the Forge's jobs, newest first",
			Args:  cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				return runJobs(&JobsOptions{IO: ios, Target: target()})
			},
		},
		&cobra.Command{
			Use:   "show ID",
			Short: "Show a job's slots",
			Args:  cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, args []string) error {
				id, err := jobID(args[0])
				if err != nil {
					return err
				}
				return runShow(&ShowOptions{IO: ios, Target: target(), Job: id})
			},
		},
		&cobra.Command{
			Use:   "cancel ID",
			Short: "Cancel a job: its backend job is stopped and its steps compensated",
			Args:  cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, args []string) error {
				id, err := jobID(args[0])
				if err != nil {
					return err
				}
				return runCancel(&CancelOptions{IO: ios, Target: target(), Job: id})
			},
		},
		&cobra.Command{
			Use:   "doctor",
			Short: "Check what a fine-tune needs here and in the image's configuration, one line each",
			Args:  cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				return runDoctor(&DoctorOptions{IO: ios, Target: target()})
			},
		},
		selftestCmd(ios),
		&cobra.Command{
			Use:   "run",
			Short: "Run the Forge's worker here until no job is left in flight",
			Args:  cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				return runWorker(&RunOptions{IO: ios, Target: target()})
			},
		},
		logs,
	)
	return cmd
}

func jobID(s string) (int, error) {
	id, err := strconv.Atoi(s)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not a job id (see `batos forge jobs`)", s)
	}
	return id, nil
}

// job is a job object's slots, as the contract gives them.
type job struct {
	oid     uint64
	id      int
	persona string
	state   string
	backend string
	reason  string
	slots   []api.SlotView
	step    int
	steps   int
	loss    string
}

// readJob reads the job object oid.
func readJob(ctx context.Context, img api.Image, oid uint64) (job, error) {
	v, err := img.Object(ctx, oid)
	if err != nil {
		return job{}, err
	}
	j := job{oid: oid, slots: v.Slots}
	for _, s := range v.Slots {
		if s.Value == nil {
			continue
		}
		switch val := *s.Value; s.Name {
		case "id":
			j.id = int(val.Int)
		case "persona":
			j.persona = val.String
		case "state":
			j.state = val.String
		case "backend":
			j.backend = val.String
		case "reason":
			j.reason = val.String
		case "progress":
			for _, e := range val.Entries {
				switch e.Key {
				case "step":
					j.step = int(e.Value.Int)
				case "steps":
					j.steps = int(e.Value.Int)
				case "loss":
					j.loss = e.Value.Text
				}
			}
		}
	}
	return j, nil
}

// jobs reads every job, newest first.
func jobs(ctx context.Context, img api.Image) ([]job, error) {
	f, err := api.LobbySlot(ctx, img, "Forge")
	if err != nil {
		return nil, err
	}
	v, err := img.Object(ctx, f)
	if err != nil {
		return nil, err
	}
	var out []job
	for _, s := range v.Slots {
		if s.Name != "jobs" || s.Value == nil {
			continue
		}
		for _, item := range s.Value.Items {
			if item.Object == nil {
				continue
			}
			j, err := readJob(ctx, img, item.Object.OID)
			if err != nil {
				return nil, err
			}
			out = append(out, j)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].id > out[b].id })
	return out, nil
}

// findJob reads job id.
func findJob(ctx context.Context, img api.Image, id int) (job, error) {
	all, err := jobs(ctx, img)
	if err != nil {
		return job{}, err
	}
	for _, j := range all {
		if j.id == id {
			return j, nil
		}
	}
	return job{}, fmt.Errorf("no forge job %d (see `batos forge jobs`)", id)
}

// ended reports whether a job state is final.
func ended(state string) bool {
	return state == "succeeded" || state == "failed" || state == "cancelled"
}

// outcome is a job's end as a command's result: nil when it succeeded.
func outcome(j job) error {
	switch j.state {
	case "succeeded":
		return nil
	case "cancelled":
		return fmt.Errorf("forge job %d (%s) was cancelled; its steps were compensated", j.id, j.persona)
	}
	return fmt.Errorf("forge job %d (%s) failed: %s; its steps were compensated", j.id, j.persona, j.reason)
}

func selftestCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &SelftestOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "selftest",
		Short: "Run the whole fine-tune chain on a tiny model on the CPU and check the adapter in llama.cpp",
		Long: `selftest makes a tiny Llama and a temporary image with scripted generations,
runs a Forge job on them (curate, train with the Forge's own trainer, convert to
GGUF, evaluate, register), converts the base to GGUF too, and checks in llama.cpp
(npm's node-llama-cpp) that base and adapter continue a prompt exactly as PyTorch
does. It prints each step with its figures and exits 0 only if every step passed.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runSelftest(opts) },
	}
	cmd.Flags().StringVar(&opts.Python, "python", "", "the Python with torch (default: python3, else /usr/bin/python3)")
	cmd.Flags().BoolVar(&opts.Keep, "keep", false, "keep the temporary folder")
	return cmd
}
