// Package repl implements `batos repl`: a line REPL over one session. Each
// complete entry — Go statements, expressions or declarations, possibly
// spanning lines — is one transaction. Expression values are printed;
// failures print "error: ..." and the REPL goes on.
package repl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"batos/internal/cmdutil"
	"batos/internal/iostreams"
	"batos/interp"
	"batos/kernel"
)

// Options configures a REPL run.
type Options struct {
	IO    *iostreams.IOStreams
	Image string
	// Principal names the REPL's commits (default "user").
	Principal string
	// HandleInterrupt makes ctrl+c cancel the running entry instead of
	// killing the process.
	HandleInterrupt bool
}

// NewCmd returns the `repl` command.
func NewCmd(ios *iostreams.IOStreams, image func() string) *cobra.Command {
	return &cobra.Command{
		Use:   "repl",
		Short: "Evaluate Go statements and expressions against the image, one transaction per entry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return Run(&Options{IO: ios, Image: image(), HandleInterrupt: true})
		},
	}
}

// Run opens the image and reads entries until end of input.
func Run(opts *Options) error {
	k, err := cmdutil.OpenImage(opts.Image)
	if err != nil {
		return err
	}
	defer k.Close()
	principal := opts.Principal
	if principal == "" {
		principal = "user"
	}
	return Loop(opts, k.NewSession(principal))
}

// Loop runs the read-eval-print loop on an open session.
func Loop(opts *Options, s *kernel.Session) error {
	ios := opts.IO
	in := bufio.NewScanner(ios.In)
	in.Buffer(make([]byte, 64*1024), 16*1024*1024)
	s.SetOutput(ios.Out)
	stopWatching := watchModel(s, ios.ErrOut)
	defer stopWatching()
	cancels := newInterrupts(opts.HandleInterrupt)
	defer cancels.stop()
	if ios.Interactive {
		fmt.Fprintf(ios.Out, "batos — image %s. Go statements and expressions; Lobby is the root. ctrl+d quits.\n", s.Kernel().Store().Dir())
	}
	var entry strings.Builder
	prompt := func() {
		if !ios.Interactive {
			return
		}
		if entry.Len() == 0 {
			fmt.Fprint(ios.Out, "batos> ")
		} else {
			fmt.Fprint(ios.Out, "  ...> ")
		}
	}
	for prompt(); in.Scan(); prompt() {
		line := in.Text()
		if entry.Len() == 0 && strings.TrimSpace(line) == "" {
			continue
		}
		entry.WriteString(line)
		entry.WriteByte('\n')
		src := entry.String()
		// A blank line ends an entry that is still incomplete, so that a
		// stray brace cannot swallow the rest of the session.
		if !interp.Complete(src) && strings.TrimSpace(line) != "" {
			continue
		}
		entry.Reset()
		if evalEntry(ios, s, cancels, src) {
			// The entry was abandoned in a native call and its session
			// closed: go on in a fresh one.
			s = s.Kernel().NewSession(s.Principal())
			s.SetOutput(ios.Out)
			fmt.Fprintln(ios.Out, "note: the workspace was reset; its variables are gone")
		}
	}
	if entry.Len() > 0 {
		evalEntry(ios, s, cancels, entry.String())
	}
	if ios.Interactive {
		fmt.Fprintln(ios.Out)
	}
	return in.Err()
}

// evalEntry evaluates one entry and prints its value or error; it reports
// whether the session was closed under it.
func evalEntry(ios *iostreams.IOStreams, s *kernel.Session, cancels *interrupts, src string) (closed bool) {
	ctx, cancel := context.WithCancel(context.Background())
	cancels.set(cancel)
	res, err := s.Eval(ctx, src)
	cancels.set(nil)
	cancel()
	if err != nil {
		fmt.Fprintln(ios.Out, "error:", oneLine(err.Error()))
		return errors.Is(err, interp.ErrAbandoned)
	}
	if res.HasValue {
		fmt.Fprintln(ios.Out, res.Text)
	}
	return false
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

// watchModel prints, on w, the tokens the pLLM streams while it writes a
// method for this session, so that the user watches it being written.
// Personas write concurrently; interleaving their tokens would be
// unreadable, so it follows the first persona that starts writing each
// selector; the commit says whose method won. Standard output stays the entries.
// values alone.
func watchModel(s *kernel.Session, w io.Writer) (stop func()) {
	sub := s.Kernel().Bus().Subscribe(4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		following := map[string]string{} // selector → the persona followed
		for ev := range sub.C {
			switch {
			case ev.Kind == kernel.EventCommit && strings.HasPrefix(ev.Tx.Principal, "pLLM") && len(following) > 0:
				fmt.Fprintf(w, "\n[%s committed transaction %d: %s]\n", ev.Tx.Principal, ev.Tx.ID, ev.Tx.Note)
				clear(following)
			case ev.Kind == kernel.EventToken && ev.Token.Principal == s.Principal():
				t := ev.Token
				switch persona, ok := following[t.Selector]; {
				case !ok:
					following[t.Selector] = t.Persona
					fmt.Fprintf(w, "\n[pLLM/%s is writing %s]\n", t.Persona, t.Selector)
				case persona != t.Persona:
					continue
				}
				io.WriteString(w, t.Text)
			}
		}
	}()
	return func() {
		sub.Close()
		<-done
	}
}
