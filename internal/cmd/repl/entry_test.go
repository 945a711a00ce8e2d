package repl

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

// read is one result of a line reader: a line, or an error.
type read struct {
	line string
	err  error
}

func line(s string) read { return read{line: s} }

var (
	ctrlC = read{err: errInterrupt}
	ctrlD = read{err: io.EOF}
)

func TestEntriesStep(t *testing.T) {
	tests := []struct {
		name  string
		reads []read
		want  []action // one per read
	}{
		{"one line", []read{line("1 + 1")}, []action{{actEval, "1 + 1\n"}}},
		{"blank lines between entries", []read{line(""), line("  "), line("x")}, []action{{}, {}, {actEval, "x\n"}}},
		{"an entry over lines", []read{line("func f() int {"), line("return 1"), line("}")},
			[]action{{}, {}, {actEval, "func f() int {\nreturn 1\n}\n"}}},
		{"a blank line ends an unfinished entry", []read{line("f("), line("")}, []action{{}, {actEval, "f(\n\n"}}},
		{"a recalled entry keeps its blank lines", []read{line("func f() {\n\nreturn\n}")},
			[]action{{actEval, "func f() {\n\nreturn\n}\n"}}},
		{"help", []read{line(" help ")}, []action{{actHelp, " help \n"}}},
		{"help inside an entry is source", []read{line("f("), line("help"), line(")")}, []action{{}, {}, {actEval, "f(\nhelp\n)\n"}}},
		{"quit", []read{line(":quit")}, []action{{kind: actQuit}}},
		{"ctrl+c at the primary prompt hints", []read{ctrlC, line("2")}, []action{{kind: actHint}, {actEval, "2\n"}}},
		{"ctrl+c at a continuation prompt drops the entry", []read{line("func f() {"), ctrlC, line("3")},
			[]action{{}, {kind: actDrop}, {actEval, "3\n"}}},
		{"ctrl+d at the primary prompt quits", []read{ctrlD}, []action{{kind: actQuit}}},
		{"ctrl+d runs what is left, then quits", []read{line("f("), ctrlD}, []action{{}, {actQuit, "f(\n"}}},
		{"a read error ends like ctrl+d", []read{line("f("), {err: errors.New("broken")}}, []action{{}, {actQuit, "f(\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e entries
			for i, r := range tt.reads {
				if got := e.step(r.line, r.err); got != tt.want[i] {
					t.Errorf("read %d (%q, %v): %s, want %s", i, r.line, r.err, got, tt.want[i])
				}
			}
		})
	}
}

func (a action) String() string {
	names := [...]string{actRead: "read", actEval: "eval", actHelp: "help", actHint: "hint", actDrop: "drop", actQuit: "quit"}
	return fmt.Sprintf("%s %q", names[a.kind], a.src)
}
