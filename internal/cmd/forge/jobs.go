package forge

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"batos/api"
	"batos/forge"
	"batos/internal/cmdutil"
	"batos/internal/iostreams"
)

// JobsOptions configures `batos forge jobs`.
type JobsOptions struct {
	IO     *iostreams.IOStreams
	Target cmdutil.Target
}

func runJobs(opts *JobsOptions) error {
	conn, err := cmdutil.Open(opts.Target)
	if err != nil {
		return err
	}
	defer conn.Close()
	all, err := jobs(context.Background(), conn)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "no forge jobs (queue one: batos forge train PERSONA)")
		return nil
	}
	for _, j := range all {
		progress := ""
		if j.steps > 0 {
			progress = fmt.Sprintf("step %d/%d loss %s", j.step, j.steps, j.loss)
		}
		fmt.Fprintf(opts.IO.Out, "%-5d %-8s %-13s %-6s %-26s %s\n", j.id, j.persona, j.state, j.backend, progress, j.reason)
	}
	return nil
}

// ShowOptions configures `batos forge show`.
type ShowOptions struct {
	IO     *iostreams.IOStreams
	Target cmdutil.Target
	Job    int
}

func runShow(opts *ShowOptions) error {
	conn, err := cmdutil.Open(opts.Target)
	if err != nil {
		return err
	}
	defer conn.Close()
	j, err := findJob(context.Background(), conn, opts.Job)
	if err != nil {
		return err
	}
	for _, s := range j.slots {
		if s.Value != nil && s.Name != "parent*" {
			fmt.Fprintf(opts.IO.Out, "%-10s %s\n", s.Name, s.Value.Text)
		}
	}
	fmt.Fprintf(opts.IO.Out, "%-10s %s\n", "log", forge.LogPath(opts.Target.Image, j.id))
	return nil
}

// CancelOptions configures `batos forge cancel`.
type CancelOptions struct {
	IO     *iostreams.IOStreams
	Target cmdutil.Target
	Job    int
}

func runCancel(opts *CancelOptions) error {
	conn, err := cmdutil.Open(opts.Target)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx := context.Background()
	f, err := api.LobbySlot(ctx, conn, "Forge")
	if err != nil {
		return err
	}
	if _, err := conn.Send(ctx, f, "cancel", api.Int(int64(opts.Job))); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "forge job %d: cancel requested; the worker stops it and compensates its steps\n", opts.Job)
	return nil
}

// LogsOptions configures `batos forge logs`.
type LogsOptions struct {
	IO     *iostreams.IOStreams
	Target cmdutil.Target
	Job    int
	Follow bool
}

// logPoll is how often a followed log is read again.
const logPoll = 200 * time.Millisecond

// runLogs prints the job's log from the image folder (on this machine);
// following, it goes on until the job has ended and its log is read out.
func runLogs(opts *LogsOptions) error {
	conn, err := cmdutil.Open(opts.Target)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx := context.Background()
	j, err := findJob(ctx, conn, opts.Job)
	if err != nil {
		return err
	}
	path := forge.LogPath(opts.Target.Image, j.id)
	var off int64
	for {
		n, err := copyFrom(opts.IO.Out, path, off)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		off += n
		if !opts.Follow || ended(j.state) {
			if os.IsNotExist(err) && !opts.Follow {
				return fmt.Errorf("forge job %d has no log yet (%s)", j.id, path)
			}
			return nil
		}
		time.Sleep(logPoll)
		if j, err = readJob(ctx, conn, j.oid); err != nil {
			return err
		}
	}
}

func copyFrom(w io.Writer, path string, off int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(w, f)
}

// RunOptions configures `batos forge run`.
type RunOptions struct {
	IO     *iostreams.IOStreams
	Target cmdutil.Target
}

// runWorker runs the worker here until no job is left in flight: how a
// user resumes jobs without opening the TUI.
func runWorker(opts *RunOptions) error {
	t := opts.Target
	t.Forge = true
	conn, err := cmdutil.Open(t)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx := context.Background()
	events, unsubscribe := conn.Subscribe(4096)
	defer func() { unsubscribe() }()
	states := map[int]string{}
	for {
		st, err := conn.Status(ctx)
		if err != nil {
			return err
		}
		if !st.ForgeWorker {
			return fmt.Errorf("the image is served at %s: its server runs the Forge", st.Remote)
		}
		if st.ForgeRunning+st.ForgeQueued == 0 {
			fmt.Fprintln(opts.IO.ErrOut, "no forge job in flight")
			return nil
		}
		select {
		case ev, ok := <-events:
			if !ok || ev.Type == api.EventMissed {
				unsubscribe()
				events, unsubscribe = conn.Subscribe(4096)
			} else if p := ev.Forge; ev.Type == api.EventForge && p != nil && states[p.Job] != p.State {
				states[p.Job] = p.State
				fmt.Fprintf(opts.IO.ErrOut, "forge job %d (%s): %s\n", p.Job, p.Persona, p.State)
			}
		case <-time.After(time.Second):
		}
	}
}
