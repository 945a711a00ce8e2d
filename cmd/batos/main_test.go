package main_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var batosBin string

// TestMain builds the real binary once; the tests run it as a child
// process, the way users do.
func TestMain(m *testing.M) {
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
func TestSecondProcessIsRefused(t *testing.T) {
	img := filepath.Join(t.TempDir(), "img")
	holder := exec.Command(batosBin, "repl", "--image", img)
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Process.Kill()
	// Await the holder's first answer: the image is open by then.
	stdin.Write([]byte("1 + 1\n"))
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "2\n" {
		t.Fatalf("holder: %q, %v", line, err)
	}
	r := batos(t, "", nil, "eval", "--image", img, "1")
	if r.code != 1 || !strings.Contains(r.err, "in use by another process") || !strings.Contains(r.err, "batos attach") {
		t.Fatalf("second process: %+v", r)
	}
	stdin.Close()
	if err := holder.Wait(); err != nil {
		t.Fatalf("holder exit: %v", err)
	}
}
