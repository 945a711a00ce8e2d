package repl

import (
	"errors"
	"strings"

	"batos/interp"
)

// errInterrupt is what a line reader returns when the user pressed ctrl+c
// at a prompt (not while an entry runs: that cancels the entry).
var errInterrupt = errors.New("interrupted")

// quitCommand leaves the REPL, like ctrl+d; it cannot be Go source.
const quitCommand = ":quit"

// interruptHint answers ctrl+c at the primary prompt: leaving takes ctrl+d
// or :quit, so that a ctrl+c meant for an entry that has just finished does
// not end the session.
const interruptHint = "(ctrl+d or :quit to leave)"

// actionKind is what the loop does after one read.
type actionKind int

const (
	// actRead: nothing to do yet; read the next line.
	actRead actionKind = iota
	// actEval: evaluate the action's src, a complete entry.
	actEval
	// actHelp: print the help.
	actHelp
	// actHint: ctrl+c at the primary prompt; say how to leave.
	actHint
	// actDrop: ctrl+c at a continuation prompt dropped the partial entry.
	actDrop
	// actQuit: leave, after evaluating src when it is not empty.
	actQuit
)

// action is the outcome of one read.
type action struct {
	kind actionKind
	src  string
}

// entries gathers lines into entries: the REPL's state between reads.
// Go has no end-of-statement marker a line can be checked for, so an entry
// ends when interp.Complete says it parses as a whole, or at a blank line,
// so that a stray brace cannot swallow the rest of the session.
type entries struct {
	partial strings.Builder
}

// continuing reports whether a partial entry waits for more lines: the
// continuation prompt is shown then.
func (e *entries) continuing() bool { return e.partial.Len() > 0 }

// step takes the result of one read — a line, or errInterrupt, or io.EOF —
// and says what to do. A line may hold several lines (a multi-line entry
// recalled from the history): it is added to the entry as one piece.
func (e *entries) step(line string, err error) action {
	switch {
	case errors.Is(err, errInterrupt):
		if e.continuing() {
			e.partial.Reset()
			return action{kind: actDrop}
		}
		return action{kind: actHint}
	case err != nil: // io.EOF: the rest of the entry, if any, still runs
		src := e.partial.String()
		e.partial.Reset()
		return action{kind: actQuit, src: src}
	}
	blank := strings.TrimSpace(line) == ""
	if !e.continuing() {
		switch strings.TrimSpace(line) {
		case "":
			return action{kind: actRead}
		case quitCommand:
			return action{kind: actQuit}
		}
	}
	e.partial.WriteString(line)
	e.partial.WriteByte('\n')
	src := e.partial.String()
	if !interp.Complete(src) && !blank {
		return action{kind: actRead}
	}
	e.partial.Reset()
	if strings.TrimSpace(src) == "help" {
		return action{kind: actHelp, src: src}
	}
	return action{kind: actEval, src: src}
}
