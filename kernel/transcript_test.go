package kernel_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"batos/internal/cmd/repl"
	"batos/internal/iostreams"
	"batos/system"
)

// TestTranscripts replays the REPL transcripts in testdata/*.txt through the
// real REPL loop on a real image: "> " lines are input, the lines after
// them the expected output ("~ " for a regular expression), "--- restart"
// closes and reopens the image.
func TestTranscripts(t *testing.T) { replayAll(t, "testdata/*.txt") }

// TestHostile replays testdata/hostile/*.txt: one transcript per class of
// input that used to kill the kernel process (see docs/decisions.md,
// "Safety"). Each asserts the error that says what was refused, and that
// the next entry works; a regression kills the test binary itself.
func TestHostile(t *testing.T) { replayAll(t, "testdata/hostile/*.txt") }

// replayAll replays every transcript matching pattern as a subtest.
func replayAll(t *testing.T, pattern string) {
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts match %s: %v", pattern, err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			runTranscript(t, file)
		})
	}
}

type transcriptPart struct {
	input    []string
	expected []string // lines, "~ " prefixed for regexps
	line     int      // first line of the part in the file
}

func parseTranscript(t *testing.T, file string) [][]transcriptPart {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sessions [][]transcriptPart
	var parts []transcriptPart
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case line == "--- restart":
			sessions = append(sessions, parts)
			parts = nil
		case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, "> "):
			if len(parts) == 0 || len(parts[len(parts)-1].expected) > 0 {
				parts = append(parts, transcriptPart{line: n})
			}
			p := &parts[len(parts)-1]
			p.input = append(p.input, strings.TrimPrefix(line, "> "))
		default:
			if len(parts) == 0 {
				t.Fatalf("%s:%d: output before any input", file, n)
			}
			p := &parts[len(parts)-1]
			p.expected = append(p.expected, line)
		}
	}
	return append(sessions, parts)
}

func runTranscript(t *testing.T, file string) {
	dir := t.TempDir()
	for _, parts := range parseTranscript(t, file) {
		sys, err := system.Open(dir, system.Options{NoPLLM: true})
		if err != nil {
			t.Fatal(err)
		}
		client, err := sys.Connect("user")
		if err != nil {
			t.Fatal(err)
		}
		ios, in, out, _ := iostreams.Test()
		var want []string
		for _, p := range parts {
			for _, l := range p.input {
				in.WriteString(l + "\n")
			}
			want = append(want, p.expected...)
		}
		if err := repl.Loop(&repl.Options{IO: ios}, client); err != nil {
			t.Fatalf("repl: %v", err)
		}
		if err := sys.Close(); err != nil {
			t.Fatal(err)
		}
		got := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
		if out.Len() == 0 {
			got = nil
		}
		for i := 0; i < len(want) || i < len(got); i++ {
			var w, g string
			if i < len(want) {
				w = want[i]
			}
			if i < len(got) {
				g = got[i]
			}
			if !matchLine(w, g) {
				t.Errorf("%s: output line %d:\n got: %q\nwant: %q\nfull output:\n%s", file, i+1, g, w, out.String())
				break
			}
		}
	}
}

func matchLine(want, got string) bool {
	if re, ok := strings.CutPrefix(want, "~ "); ok {
		return regexp.MustCompile("^(?:" + re + ")$").MatchString(got)
	}
	return want == got
}
