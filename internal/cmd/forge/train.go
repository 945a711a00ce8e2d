package forge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"batos/api"
	"batos/internal/cmdutil"
	"batos/internal/iostreams"
)

// TrainOptions configures `batos forge train`.
type TrainOptions struct {
	IO      *iostreams.IOStreams
	Target  cmdutil.Target
	Persona string
	Detach  bool // only queue
}

// runTrain queues the job and, unless detached, follows it to its end:
// the worker is this process's when the image is opened here, the
// server's when it is served. The first ctrl+c cancels the job (and waits
// for its compensation), a second one stops following.
func runTrain(opts *TrainOptions) error {
	t := opts.Target
	t.Forge = !opts.Detach
	conn, err := cmdutil.Open(t)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx := context.Background()
	events, unsubscribe := conn.Subscribe(4096)
	defer func() { unsubscribe() }()
	f, err := api.LobbySlot(ctx, conn, "Forge")
	if err != nil {
		return err
	}
	res, err := conn.Send(ctx, f, "fineTune", api.String(opts.Persona))
	if err != nil {
		return err
	}
	if res.Value.Object == nil {
		return fmt.Errorf("fineTune answered %s, not a job", res.Value.Text)
	}
	j, err := readJob(ctx, conn, res.Value.Object.OID)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "queued forge job %d (%s) on %s\n", j.id, j.persona, j.backend)
	fmt.Fprintln(opts.IO.Out, j.id)
	if opts.Detach {
		return nil
	}
	interrupts := make(chan os.Signal, 2)
	signal.Notify(interrupts, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(interrupts)
	bar := newBar(opts.IO)
	defer bar.done()
	cancelled := false
	for {
		if j, err = readJob(ctx, conn, j.oid); err != nil {
			return err
		}
		bar.state(j)
		if ended(j.state) {
			bar.done()
			return outcome(j)
		}
		select {
		case ev, ok := <-events:
			switch {
			case !ok || ev.Type == api.EventMissed:
				// Fell behind: subscribe again; the job is read anew.
				unsubscribe()
				events, unsubscribe = conn.Subscribe(4096)
			case ev.Type == api.EventForge && ev.Forge != nil && ev.Forge.Job == j.id:
				bar.progress(*ev.Forge)
			}
		case <-interrupts:
			if cancelled {
				return errors.New("stopped following; the job's cancel goes on in the worker")
			}
			cancelled = true
			bar.note("cancelling: the backend job is stopped and the steps compensated (ctrl+c again to stop waiting)")
			if _, err := conn.Send(ctx, f, "cancel", api.Int(int64(j.id))); err != nil && !strings.Contains(err.Error(), "has ended") {
				return err
			}
		}
	}
}

// bar shows a job's state and the trainer's progress: redrawn in place on
// a terminal, a line per state otherwise.
type bar struct {
	io        *iostreams.IOStreams
	tty       bool
	lastState string
	drawn     bool
}

func newBar(ios *iostreams.IOStreams) *bar {
	tty := false
	if f, ok := ios.ErrOut.(*os.File); ok {
		if fi, err := f.Stat(); err == nil {
			tty = fi.Mode()&os.ModeCharDevice != 0
		}
	}
	return &bar{io: ios, tty: tty}
}

func (b *bar) state(j job) {
	if j.state == b.lastState {
		return
	}
	b.lastState = j.state
	b.clear()
	fmt.Fprintf(b.io.ErrOut, "forge job %d (%s): %s\n", j.id, j.persona, j.state)
}

func (b *bar) progress(p api.ForgeProgress) {
	if p.Steps <= 0 {
		return
	}
	const width = 30
	filled := min(width, p.Step*width/p.Steps)
	line := fmt.Sprintf("  [%s%s] %d/%d loss %.4g eta %ds", strings.Repeat("█", filled), strings.Repeat("░", width-filled), p.Step, p.Steps, p.Loss, p.ETA)
	if !b.tty {
		fmt.Fprintln(b.io.ErrOut, line)
		return
	}
	fmt.Fprintf(b.io.ErrOut, "\r\x1b[K%s", line)
	b.drawn = true
}

func (b *bar) note(s string) {
	b.clear()
	fmt.Fprintln(b.io.ErrOut, s)
}

func (b *bar) clear() {
	if b.drawn {
		fmt.Fprint(b.io.ErrOut, "\r\x1b[K")
		b.drawn = false
	}
}

func (b *bar) done() { b.clear() }
