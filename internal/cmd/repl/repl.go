// Package repl implements `batos repl`: a line REPL over one client of an
// image, in this process or attached to a served one. Each
// complete entry — Go statements, expressions or declarations, possibly
// spanning lines — is one transaction. Expression values are printed;
// failures print "error: ..." and the REPL goes on.
//
// On a terminal (standard input and output both one) lines are edited
// with liner: arrows, home/end, word moves, a history kept in the image
// folder (HistoryFileName) and searched with ctrl+r, tab completion of
// selectors, slot names and top-level names (complete.go). There ctrl+c
// at a continuation prompt drops the partial entry, and at the primary
// prompt only says how to leave; ctrl+d on an empty line or :quit leaves.
// Elsewhere (piped input) lines are read as they come, with no prompt
// unless the input is a terminal. Either way ctrl+c while an entry runs
// cancels it.
package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/peterh/liner"
	"github.com/spf13/cobra"

	"batos/api"
	"batos/internal/cmdutil"
	"batos/internal/help"
	"batos/internal/iostreams"
)

// Options configures a REPL run.
type Options struct {
	IO     *iostreams.IOStreams
	Target cmdutil.Target
	// HandleInterrupt makes ctrl+c cancel the running entry instead of
	// killing the process.
	HandleInterrupt bool
	// Terminal edits lines on the process's terminal, which must be IO's
	// In and Out (see Terminal), with a history and tab completion.
	// Otherwise lines are read from IO.In as they come.
	Terminal bool
	// HistoryFile keeps the history between sessions when Terminal is
	// set; empty: none. Run defaults it to the image folder's
	// HistoryFileName.
	HistoryFile string
}

// NewCmd returns the `repl` command.
func NewCmd(ios *iostreams.IOStreams, target func() cmdutil.Target) *cobra.Command {
	var connect string
	cmd := &cobra.Command{
		Use:   "repl",
		Short: "Evaluate Go statements and expressions against the image, one transaction per entry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t := target()
			if connect != "" {
				t.Connect = connect
			}
			return Run(&Options{IO: ios, Target: t, HandleInterrupt: true, Terminal: ios.Interactive && Terminal()})
		},
	}
	cmd.Flags().StringVar(&connect, "connect", "", "a served image's address (ws://HOST:PORT/)")
	return cmd
}

// Terminal reports whether the process's standard input and output are
// both a terminal that supports line editing.
func Terminal() bool {
	return term.IsTerminal(os.Stdin.Fd()) && term.IsTerminal(os.Stdout.Fd()) && liner.TerminalSupported()
}

// Run reaches the image and reads entries until end of input.
func Run(opts *Options) error {
	t := opts.Target
	t.Forge = true
	t.Serve = true
	conn, err := cmdutil.Open(t)
	if err != nil {
		return err
	}
	defer conn.Close()
	if opts.Terminal && opts.HistoryFile == "" && t.Image != "" {
		o := *opts
		o.HistoryFile = filepath.Join(t.Image, HistoryFileName)
		opts = &o
	}
	return Loop(opts, conn)
}

// Loop runs the read-eval-print loop on an image.
func Loop(opts *Options, img api.Image) error {
	ios := opts.IO
	p, err := NewPrinter(ios, img)
	if err != nil {
		return err
	}
	defer p.Close()
	cancels := newInterrupts(opts.HandleInterrupt)
	defer cancels.stop()
	comp := newCompleter(img)
	var lines lineReader
	if opts.Terminal {
		lines = newTerminalReader(opts.HistoryFile, comp.complete, ios.ErrOut)
	} else {
		lines = newPlainReader(ios.In, ios.Out, ios.Interactive)
	}
	defer lines.close()
	if ios.Interactive {
		where := "image " + p.status.Image
		if p.status.Remote != "" {
			where += " at " + p.status.Remote
		}
		fmt.Fprintf(ios.Out, "batos — %s. Go statements and expressions; Lobby is the root. help lists the API; ctrl+d quits.\n", where)
	}
	var e entries
	for {
		prompt := "batos> "
		if e.continuing() {
			prompt = "  ...> "
		}
		line, readErr := lines.readLine(prompt)
		act := e.step(line, readErr)
		switch act.kind {
		case actHint:
			fmt.Fprintln(ios.Out, interruptHint)
		case actHelp:
			lines.remember(act.src)
			fmt.Fprint(ios.Out, help.Text)
		case actEval:
			lines.remember(act.src)
			ok, confirm := p.entry(cancels, act.src)
			// Lobby.pLLM.confirm: a person says yes before the pLLM
			// writes a method nobody defined (a typo stays an error).
			for confirm != nil && ios.Interactive {
				answer, err := lines.readLine(fmt.Sprintf("let the pLLM write %s on %s? [y/N] ", confirm.Selector, confirm.Object.Name))
				if err != nil || !strings.EqualFold(strings.TrimSpace(answer), "y") {
					break
				}
				if _, err := p.img.Eval(context.Background(), fmt.Sprintf("Lobby.At(\"pLLM\").Send(\"allowWrite\", ObjectAt(%d), %q)", confirm.Object.OID, confirm.Selector)); err != nil {
					fmt.Fprintln(ios.Out, "error:", oneLine(err.Error()))
					break
				}
				ok, confirm = p.entry(cancels, act.src)
			}
			if confirm != nil {
				fmt.Fprintln(ios.Out, "error:", oneLine(confirm.Error()))
			}
			if ok {
				comp.learn(act.src)
			}
		case actQuit:
			if act.src != "" {
				if _, confirm := p.entry(cancels, act.src); confirm != nil {
					fmt.Fprintln(ios.Out, "error:", oneLine(confirm.Error()))
				}
			}
			if ios.Interactive && readErr != nil {
				fmt.Fprintln(ios.Out) // end the prompt's line
			}
			if errors.Is(readErr, io.EOF) {
				readErr = nil
			}
			return readErr
		}
	}
}

// entry evaluates one entry and prints its output, then its value or
// error; ok reports that it ran, and confirm is the error when it asks a
// person to confirm that the pLLM may write a method (api.Error.Confirm).
func (p *Printer) entry(cancels *interrupts, src string) (ok bool, confirm *api.Error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancels.set(cancel)
	res, err := p.Eval(ctx, src)
	cancels.set(nil)
	if err != nil {
		var ae *api.Error
		if errors.As(err, &ae) && ae.Confirm && ae.Object != nil && p.ios.Interactive {
			return false, ae // asked, not printed: the question says it
		}
		fmt.Fprintln(p.ios.Out, "error:", oneLine(err.Error()))
		return false, nil
	}
	if res.HasValue {
		fmt.Fprintln(p.ios.Out, res.Value.Text)
	}
	return true, nil
}

// followed is the candidate a selector's tokens are shown from: one
// persona's, in the newest attempt.
type followed struct {
	persona string
	attempt int
}

// Printer evaluates entries on an image and prints, as they come, the
// output they print (on Out) and the pLLM's tokens while it writes a
// method for them (on ErrOut).
type Printer struct {
	ios    *iostreams.IOStreams
	img    api.Image
	status api.Status
	w      *watcher
}

// NewPrinter subscribes to img's events; Close it when done.
func NewPrinter(ios *iostreams.IOStreams, img api.Image) (*Printer, error) {
	st, err := img.Status(context.Background())
	if err != nil {
		return nil, err
	}
	w := &watcher{subscribe: func() (<-chan api.Event, func()) { return img.Subscribe(4096) },
		client: st.Client, out: ios.Out, model: ios.ErrOut, following: map[string]followed{}}
	w.events, w.cancel = w.subscribe()
	return &Printer{ios: ios, img: img, status: st, w: w}, nil
}

// Close ends the subscription.
func (p *Printer) Close() { p.w.cancel() }

// Eval evaluates src, printing what it prints; the value is the caller's
// to print.
func (p *Printer) Eval(ctx context.Context, src string) (api.Result, error) {
	stop := make(chan struct{})
	drained := make(chan struct{})
	go func() { defer close(drained); p.w.drain(stop) }()
	res, err := p.img.Eval(ctx, src)
	switch api.KindOf(err) {
	case api.ErrClosed, api.ErrInvalid, api.ErrOverloaded:
		close(stop) // it never ran: no idle will come
	default:
		// Its output and idle are published before the result in this
		// process; over the wire they may trail it a little.
		select {
		case <-drained:
		case <-time.After(idleWait):
			close(stop)
		}
	}
	<-drained
	return res, err
}

// oneLine keeps an error to one line: the REPL's transcript reads as
// input, output, input.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ⏎ ")), " ")
}

// interrupts routes SIGINT to the running entry's cancel function.
type interrupts struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	sig    chan os.Signal
}

func newInterrupts(enabled bool) *interrupts {
	it := &interrupts{}
	if !enabled {
		return it
	}
	it.sig = make(chan os.Signal, 1)
	signal.Notify(it.sig, os.Interrupt)
	go func() {
		for range it.sig {
			it.mu.Lock()
			if it.cancel != nil {
				it.cancel()
			}
			it.mu.Unlock()
		}
	}()
	return it
}

func (it *interrupts) set(cancel context.CancelFunc) {
	it.mu.Lock()
	it.cancel = cancel
	it.mu.Unlock()
}

func (it *interrupts) stop() {
	if it.sig != nil {
		signal.Stop(it.sig)
		close(it.sig)
	}
}

// watcher prints the events of this client's entries: their output on
// out, and on model the tokens the pLLM streams while it writes a method
// for this client, so that the user watches it being written. Personas
// write concurrently; interleaving their tokens would be unreadable, so it
// follows the first persona that starts writing each selector; the commit
// says whose method won. Standard output stays the entries' output and
// values alone.
type watcher struct {
	subscribe func() (<-chan api.Event, func())
	events    <-chan api.Event
	cancel    func()
	client    string
	out       io.Writer
	model     io.Writer
	following map[string]followed // selector → the candidate whose tokens are shown
}

// idleWait bounds how long the REPL waits, after a result, for the events
// that the entry caused and that have not arrived yet.
var idleWait = 5 * time.Second // a variable for tests over a fake image, which sends no idle

// drain prints events as they come until this client's entry went idle
// (its output is published before that) or stop is closed.
func (w *watcher) drain(stop <-chan struct{}) {
	busy := false    // this client's entry has begun
	midLine := false // the model's text so far ends without a newline
	// The entry's value follows on standard output: on a terminal it must
	// not continue the model's last line.
	defer func() {
		if midLine {
			io.WriteString(w.model, "\n")
		}
	}()
	for {
		var ev api.Event
		var ok bool
		select {
		case ev, ok = <-w.events:
		case <-stop:
			return
		}
		if !ok {
			// Dropped for falling behind (while no entry ran, other
			// clients' events filled the buffer): follow live again.
			w.events, w.cancel = w.subscribe()
			continue
		}
		switch {
		case ev.Type == api.EventMissed && ev.Client == "":
			if busy {
				fmt.Fprintln(w.model, "\n[fell behind the image's events: some output may be missing]")
			}
		case ev.Type == api.EventStatus && ev.Client == w.client && ev.State == api.StateBusy:
			busy = true
		case ev.Type == api.EventStatus && ev.Client == w.client && ev.State == api.StateIdle:
			return
		case ev.Type == api.EventOutput && ev.Client == w.client:
			io.WriteString(w.out, ev.Output)
		case ev.Type == api.EventCommit && strings.HasPrefix(ev.Tx.Principal, "pLLM") && len(w.following) > 0:
			nl := ""
			if midLine {
				nl = "\n"
			}
			fmt.Fprintf(w.model, "%s[%s committed transaction %d: %s]\n", nl, ev.Tx.Principal, ev.Tx.ID, ev.Tx.Note)
			clear(w.following)
			midLine = false
		case ev.Type == api.EventToken && ev.Token.Principal == w.client && ev.Token.Waiting > 0:
			t := ev.Token
			fmt.Fprintf(w.model, "\n[waiting for %s at %s: no answer after %s]\n", t.Persona, t.Endpoint, time.Duration(t.Waiting*float64(time.Second)).Round(time.Second))
			midLine = false
		case ev.Type == api.EventToken && ev.Token.Principal == w.client && ev.Token.Outcome != "":
			// A candidate ended: say why one followed here was turned
			// down; an accepted one is followed by its commit, an
			// unreachable server by the entry's error.
			t := ev.Token
			if f, ok := w.following[t.Selector]; ok && (t.Outcome == "rejected" || t.Outcome == "failed") && (f.persona == t.Persona || f.attempt == t.Attempt) {
				nl := ""
				if midLine {
					nl = "\n"
				}
				fmt.Fprintf(w.model, "%s[%s %s: %s]\n", nl, t.Persona, t.Outcome, t.Reason)
				midLine = false
			}
		case ev.Type == api.EventToken && ev.Token.Principal == w.client:
			t := ev.Token
			switch f, ok := w.following[t.Selector]; {
			case !ok:
				w.following[t.Selector] = followed{t.Persona, t.Attempt}
				if t.Selector == "infer" {
					fmt.Fprintf(w.model, "\n[pLLM/%s answers]\n", t.Persona)
				} else {
					fmt.Fprintf(w.model, "\n[pLLM/%s is writing %s]\n", t.Persona, t.Selector)
				}
			case t.Attempt > f.attempt:
				// A new attempt: follow its first candidate.
				w.following[t.Selector] = followed{t.Persona, t.Attempt}
				fmt.Fprintf(w.model, "\n[pLLM/%s is writing %s, attempt %d]\n", t.Persona, t.Selector, t.Attempt)
			case f.persona != t.Persona:
				continue
			}
			io.WriteString(w.model, t.Text)
			if t.Text != "" {
				midLine = !strings.HasSuffix(t.Text, "\n")
			}
		}
	}
}
