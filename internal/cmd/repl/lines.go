package repl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/peterh/liner"
)

// HistoryFileName is the file in the image folder that keeps the REPL's
// history between sessions.
const HistoryFileName = "repl_history"

// lineReader reads the REPL's input a line at a time.
type lineReader interface {
	// readLine shows prompt, when the reader prompts, and returns the
	// next line without its newline: errInterrupt for ctrl+c at the
	// prompt, io.EOF at the end of input.
	readLine(prompt string) (string, error)
	// remember adds a complete entry to the history, if the reader keeps
	// one.
	remember(entry string)
	close() error
}

// plainReader reads lines from any reader: piped input, or a terminal
// whose output is not one. It prompts when In is a terminal.
type plainReader struct {
	in      *bufio.Scanner
	out     io.Writer
	prompts bool
}

func newPlainReader(in io.Reader, out io.Writer, prompts bool) *plainReader {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	return &plainReader{in: sc, out: out, prompts: prompts}
}

func (r *plainReader) readLine(prompt string) (string, error) {
	if r.prompts {
		fmt.Fprint(r.out, prompt)
	}
	if r.in.Scan() {
		return r.in.Text(), nil
	}
	if err := r.in.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

func (r *plainReader) remember(string) {}
func (r *plainReader) close() error    { return nil }

// terminalReader edits lines on the process's terminal (os.Stdin and
// os.Stdout, which liner uses directly) with liner: arrows, home/end,
// word moves, ctrl+r searching the history, tab completion. The history
// keeps the newest liner.HistoryLimit (1000) entries in the file history
// (none when empty), rewritten after each entry so that a killed session
// keeps it.
//
// liner edits one line; a multi-line entry is one history item all the
// same, its newlines shown as historyNewline. A line holding that glyph is
// returned with newlines in its place, so that a recalled entry, edited or
// not, runs as it was typed.
type terminalReader struct {
	state   *liner.State
	history string
	errOut  io.Writer
	warned  bool // a failure to load or save the history was reported
}

// historyNewline stands for a newline in a history item. It is the
// Unicode symbol for a newline, which Go source has no use for outside
// string literals; one typed in a string literal would become a newline,
// the price of editing a multi-line entry as one line.
const historyNewline = "␤"

func newTerminalReader(history string, complete liner.WordCompleter, errOut io.Writer) *terminalReader {
	st := liner.NewLiner()
	st.SetCtrlCAborts(true)
	// Long lines and recalled entries wrap instead of scrolling sideways.
	st.SetMultiLineMode(true)
	// Like bash and Python: tab completes the common prefix, a second tab
	// lists the candidates.
	st.SetTabCompletionStyle(liner.TabPrints)
	st.SetWordCompleter(complete)
	r := &terminalReader{state: st, history: history, errOut: errOut}
	r.load()
	return r
}

func (r *terminalReader) readLine(prompt string) (string, error) {
	line, err := r.state.Prompt(prompt)
	if errors.Is(err, liner.ErrPromptAborted) {
		return "", errInterrupt
	}
	return fromHistory(line), err
}

func (r *terminalReader) remember(entry string) {
	r.state.AppendHistory(historyItem(entry))
	r.save()
}

// historyItem is an entry as one history item: one line.
func historyItem(entry string) string {
	return strings.ReplaceAll(strings.TrimRight(entry, "\n"), "\n", historyNewline)
}

// fromHistory turns a line that may hold a recalled history item back into
// the lines it stands for.
func fromHistory(line string) string {
	return strings.ReplaceAll(line, historyNewline, "\n")
}

func (r *terminalReader) close() error { return r.state.Close() }

// load reads the history file into liner's history.
func (r *terminalReader) load() {
	if r.history == "" {
		return
	}
	if err := loadHistory(r.history, r.state.AppendHistory); err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.warn(err)
	}
}

// save writes liner's history to the history file.
func (r *terminalReader) save() {
	if r.history == "" {
		return
	}
	if err := saveHistory(r.history, r.state.WriteHistory); err != nil {
		r.warn(err)
	}
}

// loadHistory passes the items of the history file at path to add, oldest
// first, one item a line. (liner.ReadHistory stops at a line longer than
// 4 KiB, and an entry defining a method can be longer.)
func loadHistory(path string, add func(item string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		if sc.Text() != "" {
			add(sc.Text())
		}
	}
	return sc.Err()
}

// saveHistory rewrites the history file at path with what write writes,
// through a temporary file and a rename, so that two sessions saving at
// once leave one whole history (the later). A folder that does not exist
// here (the image folder of a served image reached by its address) keeps
// no history.
func saveHistory(path string, write func(io.Writer) (int, error)) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename: nothing to remove
	_, err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	return err
}

// warn reports the first failure to keep the history; the REPL goes on
// without it.
func (r *terminalReader) warn(err error) {
	if !r.warned {
		r.warned = true
		fmt.Fprintln(r.errOut, "repl: history:", err)
	}
}
