package main_test

import (
	"batos/image"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"batos/internal/foldertest"
)

var batosBin string

// TestMain builds the real binary once; the tests run it as a child
// process, the way users do.
func TestMain(m *testing.M) {
	if img := os.Getenv(holdEnv); img != "" {
		os.Exit(hold(img))
	}
	dir, err := os.MkdirTemp("", "batos-bin-")
	if err != nil {
		panic(err)
	}
	batosBin = filepath.Join(dir, "batos")
	out, err := exec.Command("go", "build", "-o", batosBin, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	out, err string
	code     int
}

func batos(t *testing.T, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(batosBin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errOut.String(), code}
}

func TestEvalHistoryUndo(t *testing.T) {
	img := filepath.Join(t.TempDir(), "img")
	if r := batos(t, "", nil, "eval", "--image", img, `Lobby.Define("f", "func f(self Object) int { return 1 }")`); r.code != 0 {
		t.Fatalf("define: %+v", r)
	}
	if r := batos(t, "", nil, "eval", "--image", img, `Lobby.Define("f", "func f(self Object) int { return 2 }")`); r.code != 0 {
		t.Fatalf("redefine: %+v", r)
	}
	if r := batos(t, "", nil, "eval", "--image", img, `Lobby.Send("f")`); r.out != "2\n" {
		t.Fatalf("f = %+v, want 2", r)
	}
	r := batos(t, "", nil, "image", "history", "--image", img)
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if r.code != 0 || len(lines) != 3 || !strings.Contains(lines[0], "return 2") || !strings.Contains(lines[2], "awakening") {
		t.Fatalf("history: %+v", r)
	}
	id := regexp.MustCompile(`^\d+`).FindString(lines[0])
	if r := batos(t, "", nil, "image", "undo", id, "--image", img); r.code != 0 || !strings.Contains(r.out, "undid transaction "+id) {
		t.Fatalf("undo: %+v", r)
	}
	if r := batos(t, "", nil, "eval", "--image", img, `Lobby.Send("f")`); r.out != "1\n" {
		t.Fatalf("f after undo = %+v, want 1", r)
	}
	// Undoing the same transaction again conflicts: its object changed since.
	if r := batos(t, "", nil, "image", "undo", id, "--image", img); r.code != 1 || !strings.HasPrefix(r.err, "error: ") || strings.Count(r.err, "\n") != 1 {
		t.Fatalf("second undo: %+v, want a one-line error", r)
	}
	if r := batos(t, "", nil, "image", "check", "--image", img); r.code != 0 || !strings.Contains(r.out, "0 problems") {
		t.Fatalf("check: %+v", r)
	}
	if r := batos(t, "", nil, "image", "info", "--image", img); r.code != 0 || !strings.Contains(r.out, "objects:") {
		t.Fatalf("info: %+v", r)
	}
	if r := batos(t, "", nil, "image", "pack", "--image", img); r.code != 0 || !strings.Contains(r.out, "packed") {
		t.Fatalf("pack: %+v", r)
	}
	if r := batos(t, "", nil, "eval", "--image", img, `Lobby.Send("f")`); r.out != "1\n" {
		t.Fatalf("f after pack = %+v, want 1", r)
	}
}

func TestEvalErrorExitsOne(t *testing.T) {
	img := filepath.Join(t.TempDir(), "img")
	r := batos(t, "", []string{"BATOS_IMAGE=" + img}, "eval", `Lobby.Send("nothing")`)
	if r.code != 1 || !strings.HasPrefix(r.err, "error: Lobby does not understand nothing (with 0 arguments), and the pLLM could not write it: ") || strings.Count(r.err, "\n") != 1 {
		t.Fatalf("eval of an unknown selector: %+v", r)
	}
	if _, err := os.Stat(img); err != nil {
		t.Fatalf("BATOS_IMAGE was not used: %v", err)
	}
}

// TestInterpreterFailureIsOneLine: what yaegi's compiler gives up on
// (here a comma-ok assertion to a package's type, declared at top level)
// is one line of error, not also a line of the interpreter's own log.
func TestInterpreterFailureIsOneLine(t *testing.T) {
	img := filepath.Join(t.TempDir(), "img")
	oneLineError(t, batos(t, "", nil, "eval", "--image", img, `type S []S; var s S; s`), "unsupported by the interpreter")
	// What used to crash the interpreter now answers as Go does.
	if r := batos(t, "", nil, "eval", "--image", img, `var b any = 1; r, ok := b.(*strings.Reader); fmt.Sprint(r, ok)`); r.code != 0 || r.out != "\"<nil> false\"\n" {
		t.Fatalf("comma-ok assertion to a package type: %+v", r)
	}
}

func TestImageCommandsNeedAnImage(t *testing.T) {
	img := filepath.Join(t.TempDir(), "absent")
	r := batos(t, "", nil, "image", "history", "--image", img)
	if r.code != 1 || !strings.Contains(r.err, "no image at") {
		t.Fatalf("history of a missing image: %+v", r)
	}
	if _, err := os.Stat(img); !os.IsNotExist(err) {
		t.Fatal("image history created an image")
	}
}

func TestPipedREPL(t *testing.T) {
	img := filepath.Join(t.TempDir(), "img")
	in := "x := 20\nx + 22\nfunc twice(n int) int {\n\treturn 2 * n\n}\ntwice(x)\nLobby.Send(\"nope\")\n\"still here\"\n"
	r := batos(t, in, nil, "--image", img)
	want := regexp.MustCompile(`^42\n40\nerror: Lobby does not understand nope \(with 0 arguments\)[^\n]*\n"still here"\n$`)
	if r.code != 0 || !want.MatchString(r.out) {
		t.Fatalf("piped repl:\n%s\nwant:\n%s\nstderr: %s", r.out, want, r.err)
	}
}

// TestSecondProcessIsRefused holds an image open in one REPL process and
// checks that another process fails at once, saying why.
// holdEnv makes this test binary a process that holds an image open and
// serves nothing, until its standard input closes: another process's lock
// (a lock this process took itself would go with the first close of the
// LOCK file anywhere in it, fcntl's rule).
const holdEnv = "BATOS_TEST_HOLD_IMAGE"

func hold(img string) int {
	st, err := image.Open(img, nil)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer st.Close()
	fmt.Println("held")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

func TestSecondProcessIsRefused(t *testing.T) {
	img := filepath.Join(t.TempDir(), "img")
	if r := batos(t, "", nil, "eval", "--image", img, "1"); r.code != 0 {
		t.Fatalf("create the image: %+v", r)
	}
	// Another process holds the image and serves nothing, as batos eval
	// and batos forge do.
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), holdEnv+"="+img)
	holder, stdin, stdout := startHolder(t, cmd)
	if line, err := stdout.ReadString('\n'); err != nil || line != "held\n" {
		t.Fatalf("holder: %q, %v", line, err)
	}
	r := batos(t, "", nil, "eval", "--image", img, "1")
	if r.code != 1 || !strings.Contains(r.err, "in use by another process") || strings.Count(r.err, "\n") != 1 {
		t.Fatalf("second process: %+v", r)
	}
	// The commands the message suggests exist.
	named := regexp.MustCompile("`batos ([a-z ]+)`").FindAllStringSubmatch(r.err, -1)
	if len(named) == 0 {
		t.Fatalf("the message names no command: %q", r.err)
	}
	for _, m := range named {
		if h := batos(t, "", nil, append(strings.Fields(m[1]), "--help")...); h.code != 0 || !strings.Contains(h.out, "Usage:") {
			t.Errorf("the message names `batos %s`, which does not exist: %+v", m[1], h)
		}
	}
	// Read-only commands take the same lock: they fail the same way, at
	// once, and change nothing.
	before := foldertest.Hash(t, img)
	for _, verb := range []string{"info", "history", "check"} {
		r := batos(t, "", nil, "image", verb, "--image", img)
		if r.code != 1 || !strings.Contains(r.err, "in use by another process") || strings.Count(r.err, "\n") != 1 {
			t.Errorf("image %s while the image is in use: %+v", verb, r)
		}
	}
	foldertest.Same(t, img, before)
	stdin.Close()
	if err := holder.Wait(); err != nil {
		t.Fatalf("holder: %v", err)
	}
}

// startHolder starts a process that holds an image, with pipes to its
// standard input and output; it is killed when the test ends.
func startHolder(t *testing.T, cmd *exec.Cmd) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, stdin, bufio.NewReader(stdout)
}

// TestSecondProcessAttachesToTheREPL: the REPL serves the image it has
// open, so a second process beside it attaches rather than being refused.
func TestSecondProcessAttachesToTheREPL(t *testing.T) {
	img := filepath.Join(t.TempDir(), "img")
	holder, stdin, stdout := startHolder(t, exec.Command(batosBin, "repl", "--image", img))
	// Await the holder's first answer: the image is open and served by then.
	stdin.Write([]byte("1 + 1\n"))
	if line, err := stdout.ReadString('\n'); err != nil || line != "2\n" {
		t.Fatalf("holder: %q, %v", line, err)
	}
	if r := batos(t, "", nil, "eval", "--image", img, `Lobby.Set("beside", 1); 7`); r.code != 0 || r.out != "7\n" {
		t.Fatalf("eval beside the REPL: %+v", r)
	}
	for _, verb := range []string{"info", "history", "check"} {
		if r := batos(t, "", nil, "image", verb, "--image", img); r.code != 0 {
			t.Errorf("image %s beside the REPL: %+v", verb, r)
		}
	}
	stdin.Close()
	if err := holder.Wait(); err != nil {
		t.Fatalf("holder exit: %v", err)
	}
}

// oneLineError checks that a failed command printed exactly one line,
// "error: ...", with no stack dump.
func oneLineError(t *testing.T, r result, want ...string) {
	t.Helper()
	if r.code != 1 || !strings.HasPrefix(r.err, "error: ") || strings.Count(r.err, "\n") != 1 || strings.Contains(r.err, "goroutine ") {
		t.Errorf("want exit 1 and a one-line error, got %+v", r)
		return
	}
	for _, w := range want {
		if !strings.Contains(r.err, w) {
			t.Errorf("error %q does not mention %q", r.err, w)
		}
	}
}

// liveImage makes an image with the real binary; the second run's open
// flushes the first run's log into an sstable.
func liveImage(t *testing.T) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "img")
	for _, src := range []string{`Lobby.Set("a", 1)`, `Lobby.Set("b", "two")`} {
		if r := batos(t, "", nil, "eval", "--image", img, src); r.code != 0 {
			t.Fatalf("eval %s: %+v", src, r)
		}
	}
	return img
}

// TestReadOnlyImageCommandsChangeNothing runs info, history and check on a
// healthy image and compares every file (logs included) before and after.
func TestReadOnlyImageCommandsChangeNothing(t *testing.T) {
	img := liveImage(t)
	before := foldertest.Hash(t, img)
	for _, verb := range []string{"info", "history", "check"} {
		if r := batos(t, "", nil, "image", verb, "--image", img); r.code != 0 || r.err != "" {
			t.Errorf("image %s: %+v", verb, r)
		}
	}
	foldertest.Same(t, img, before)
}

// TestImageCommandsOnDamagedImages damages a real image in the ways folders
// get damaged and runs the read-only commands on it: each either succeeds
// (when it does not read the damaged part) or fails with one line naming
// the file, and none changes a byte. The writers (eval, pack) refuse too.
func TestImageCommandsOnDamagedImages(t *testing.T) {
	base := liveImage(t)
	glob := func(t *testing.T, img, pattern string) []string {
		m, _ := filepath.Glob(filepath.Join(img, pattern))
		if len(m) == 0 {
			t.Fatalf("no %s in %s", pattern, img)
		}
		return m
	}
	table := func(t *testing.T, img string) string { return glob(t, img, "*.sst")[0] }
	rewrite := func(t *testing.T, path string, at func(size int64) int64, n int) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		off := at(int64(len(b)))
		for i := range n {
			b[off+int64(i)] ^= 0xff
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		damage  func(t *testing.T, img string) string // returns what the error must name
		mayRead bool                                  // the damage is inside a table: only check must read it
	}{
		{"missing manifest marker", func(t *testing.T, img string) string {
			os.Remove(glob(t, img, "marker.manifest.*")[0])
			return "marker.manifest"
		}, false},
		{"missing MANIFEST", func(t *testing.T, img string) string {
			marker := filepath.Base(glob(t, img, "marker.manifest.*")[0])
			manifest := marker[strings.Index(marker, "MANIFEST-"):]
			os.Remove(filepath.Join(img, manifest))
			return manifest
		}, false},
		{"missing OPTIONS", func(t *testing.T, img string) string {
			for _, p := range glob(t, img, "OPTIONS-*") {
				os.Remove(p)
			}
			return "OPTIONS"
		}, false},
		{"truncated table", func(t *testing.T, img string) string {
			p := table(t, img)
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()/2)
			return filepath.Base(p)
		}, false},
		{"flipped byte in a table block", func(t *testing.T, img string) string {
			p := table(t, img)
			rewrite(t, p, func(size int64) int64 { return size / 2 }, 1)
			return filepath.Base(p)
		}, true},
		{"bad table footer", func(t *testing.T, img string) string {
			p := table(t, img)
			rewrite(t, p, func(size int64) int64 { return size - 8 }, 8)
			return filepath.Base(p)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "img")
			if err := os.CopyFS(img, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			want := tt.damage(t, img)
			before := foldertest.Hash(t, img)
			for _, verb := range []string{"info", "history", "check"} {
				r := batos(t, "", nil, "image", verb, "--image", img)
				if r.code == 0 && tt.mayRead && verb != "check" {
					continue
				}
				oneLineError(t, r, want)
			}
			foldertest.Same(t, img, before)
			// Writers refuse too, with one line, and change nothing when
			// they refuse at open. Damage inside a table is found only when
			// read (by them or by a compaction), and then the damaged file
			// is left as it was.
			for _, args := range [][]string{{"eval", "--image", img, `Lobby.Send("a")`}, {"image", "pack", "--image", img}} {
				r := batos(t, "", nil, args...)
				if tt.mayRead {
					if r.code != 0 {
						oneLineError(t, r, want)
					}
					if h := foldertest.Hash(t, img)[want]; h != before[want] {
						t.Errorf("%s: the damaged %s was changed or removed", args[0], want)
					}
					continue
				}
				oneLineError(t, r, want)
				foldertest.Same(t, img, before)
			}
		})
	}
}

// TestImageCommandsCreateNothing runs the image commands on folders that
// hold no image: nothing may appear in them, and the answer is one line.
func TestImageCommandsCreateNothing(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(dir string) error // nil: no folder
		want    string
	}{
		{"missing folder", nil, "no image at"},
		{"empty folder", func(string) error { return nil }, "the folder is empty"},
		{"unrelated folder", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "thesis.tex"), []byte("\\begin{document}"), 0o644)
		}, "not a batos image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "img")
			if tt.prepare != nil {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := tt.prepare(dir); err != nil {
					t.Fatal(err)
				}
			}
			before := foldertest.Hash(t, dir)
			for _, verb := range []string{"check", "info", "history", "pack"} {
				oneLineError(t, batos(t, "", nil, "image", verb, "--image", dir), tt.want)
				foldertest.Same(t, dir, before)
			}
			oneLineError(t, batos(t, "", nil, "image", "undo", "1", "--image", dir), tt.want)
			foldertest.Same(t, dir, before)
		})
	}
	// batos itself creates an image in an empty folder, never in an
	// unrelated one.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	before := foldertest.Hash(t, dir)
	oneLineError(t, batos(t, "", nil, "eval", "--image", dir, "1"), "not a batos image", `"notes.txt"`)
	foldertest.Same(t, dir, before)
	empty := t.TempDir()
	if r := batos(t, "", nil, "eval", "--image", empty, "1"); r.code != 0 || r.out != "1\n" {
		t.Fatalf("eval in an empty folder: %+v", r)
	}
}

// TestREPLHelp: help prints the API, and the REPL goes on.
func TestREPLHelp(t *testing.T) {
	img := filepath.Join(t.TempDir(), "img")
	r := batos(t, "help\n1 + 1\n", nil, "repl", "--image", img)
	if r.code != 0 || !strings.Contains(r.out, `o.At("shape")`) || !strings.HasSuffix(r.out, "\n2\n") {
		t.Fatalf("help: %+v", r)
	}
}
