package slurm

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"batos/forge"
)

// These tests need no cluster: the parsers, the configuration's checks,
// and the batch script, which sh runs here as sbatch's node would (the
// #SBATCH lines are comments to sh).

// scontrolRecord is `scontrol show job` as Slurm 22.05 prints it, with
// the state and exit code to fill in.
func scontrolRecord(id, name, state, exit string) string {
	return "JobId=" + id + " JobName=" + name + `
   UserId=root(0) GroupId=root(0) MCS_label=N/A
   Priority=4294901755 Nice=0 Account=(null) QOS=(null)
   JobState=` + state + ` Reason=TimeLimit Dependency=(null)
   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=` + exit + `
   RunTime=00:01:20 TimeLimit=00:01:00 TimeMin=N/A
   Partition=batos AllocNode:Sid=localhost:11694
   Command=/tmp/job dir/` + name + `.sbatch
   WorkDir=/tmp/job dir
   StdErr=/tmp/job dir/train.log
   StdIn=/dev/null
   StdOut=/tmp/job dir/train.log
   Power=

`
}

func TestParseJob(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  string
		want forge.Status
		err  string // in the error; "" for none
	}{
		{"completed", scontrolRecord("5", "a", "COMPLETED", "0:0"), forge.Status{State: forge.StateSucceeded}, ""},
		{"failed", scontrolRecord("5", "a", "FAILED", "3:0"), forge.Status{State: forge.StateFailed, ExitCode: 3, Reason: "exit status 3"}, ""},
		{"killed by a signal", scontrolRecord("5", "a", "FAILED", "0:9"), forge.Status{State: forge.StateFailed, Reason: "signal 9"}, ""},
		{"failed to launch", scontrolRecord("5", "a", "FAILED", "0:0"), forge.Status{State: forge.StateFailed, Reason: "FAILED"}, ""},
		{"timeout", scontrolRecord("5", "a", "TIMEOUT", "0:15"), forge.Status{State: forge.StateTimedOut, Reason: "TIMEOUT"}, ""},
		{"cancelled", scontrolRecord("5", "a", "CANCELLED", "0:15"), forge.Status{State: forge.StateCancelled, Reason: "CANCELLED"}, ""},
		{"cancelled by", scontrolRecord("5", "a", "CANCELLED by 0", "0:15"), forge.Status{State: forge.StateCancelled, Reason: "CANCELLED"}, ""},
		{"out of memory", scontrolRecord("5", "a", "OUT_OF_MEMORY", "0:125"), forge.Status{State: forge.StateFailed, Reason: "OUT_OF_MEMORY"}, ""},
		{"node failure", scontrolRecord("5", "a", "NODE_FAIL", "0:0"), forge.Status{State: forge.StateFailed, Reason: "NODE_FAIL"}, ""},
		{"pending", scontrolRecord("5", "a", "PENDING", "0:0"), forge.Status{State: forge.StateRunning}, ""},
		{"completing", scontrolRecord("5", "a", "COMPLETING", "0:0"), forge.Status{State: forge.StateRunning}, ""},
		// Free text that looks like fields must not be read as fields.
		{"name that lies", scontrolRecord("5", "x JobState=FAILED ExitCode=9:0", "COMPLETED", "0:0"), forge.Status{State: forge.StateSucceeded}, ""},
		{"second record", scontrolRecord("4", "a", "FAILED", "1:0") + scontrolRecord("5", "b", "COMPLETED", "0:0"), forge.Status{State: forge.StateSucceeded}, ""},
		{"another job", scontrolRecord("4", "a", "COMPLETED", "0:0"), forge.Status{}, `no record for job "5"`},
		{"no state", "JobId=5 JobName=a\n   ExitCode=0:0\n", forge.Status{}, "no JobState"},
		{"unknown state", scontrolRecord("5", "a", "EXPLODED", "0:0"), forge.Status{}, `unknown job state "EXPLODED"`},
		{"bad exit code", scontrolRecord("5", "a", "FAILED", "x"), forge.Status{}, "bad ExitCode"},
		{"empty", "", forge.Status{}, "no record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseJob(tc.out, "5")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseJob = %+v, %v; want an error about %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseJob = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseSqueue(t *testing.T) {
	for _, tc := range []struct {
		out    string
		state  string
		listed bool
	}{
		{"RUNNING\n", "RUNNING", true},
		{"  pending  \n", "PENDING", true},
		{"\nCOMPLETING\nRUNNING\n", "COMPLETING", true},
		{"", "", false},
		{"\n \n", "", false},
	} {
		if state, listed := parseSqueue(tc.out); state != tc.state || listed != tc.listed {
			t.Errorf("parseSqueue(%q) = %q, %v; want %q, %v", tc.out, state, listed, tc.state, tc.listed)
		}
	}
}

func TestParseSubmit(t *testing.T) {
	for _, tc := range []struct{ out, id string }{
		{"42\n", "42"}, {"42;batostest\n", "42"}, {"", ""}, {"Submitted batch job 42\n", ""}, {"-42", ""},
	} {
		id, err := parseSubmit(tc.out)
		if id != tc.id || (err == nil) != (tc.id != "") {
			t.Errorf("parseSubmit(%q) = %q, %v; want %q", tc.out, id, err, tc.id)
		}
	}
}

// FuzzParseJobState feeds the parsers anything: they must not panic, and
// what they return must be something the saga can act on.
func FuzzParseJobState(f *testing.F) {
	f.Add(scontrolRecord("5", "a", "FAILED", "3:0"), "5")
	f.Add(scontrolRecord("5", "a b", "CANCELLED by 0", "0:15"), "5")
	f.Add("JobId=5 JobName=a\n JobState=RUNNING\n", "5")
	f.Add("JobId=5\nJobState= ExitCode=:\n\nJobId=5", "5")
	f.Add("slurm_load_jobs error: Invalid job id specified\n", "7")
	f.Fuzz(func(t *testing.T, out, id string) {
		if state, listed := parseSqueue(out); listed && strings.ContainsAny(state, " \n") {
			t.Errorf("parseSqueue(%q) state %q", out, state)
		}
		st, err := parseJob(out, id)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("parseJob(%q) error on several lines: %q", out, err)
			}
			return
		}
		if st.State < forge.StateRunning || st.State > forge.StateLost || st.State == forge.StateLost {
			t.Errorf("parseJob(%q) = impossible state %d", out, st.State)
		}
		if st.ExitCode < 0 || st.ExitCode > 255 || (st.ExitCode != 0) != (st.State == forge.StateFailed && strings.HasPrefix(st.Reason, "exit status")) {
			t.Errorf("parseJob(%q) = %+v: exit code inconsistent", out, st)
		}
		if strings.Contains(st.Reason, "\n") {
			t.Errorf("parseJob(%q) reason on several lines: %q", out, st.Reason)
		}
	})
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		err  string // in the error; "" for none
	}{
		{"zero", Config{}, ""},
		{"full", Config{Partition: "gpu", GPUs: 2, TimeLimit: time.Hour, Extra: []string{"#SBATCH --mem=8G", "#SBATCH --exclusive"}, Env: []string{"SLURM_CONF=/x"}}, ""},
		{"negative GPUs", Config{GPUs: -1}, "negative GPUs"},
		{"negative limit", Config{TimeLimit: -time.Second}, "negative time limit"},
		{"no prefix", Config{Extra: []string{"--mem=8G"}}, `does not start with "#SBATCH "`},
		{"prefix without space", Config{Extra: []string{"#SBATCH--mem=8G"}}, `does not start with "#SBATCH "`},
		{"newline", Config{Extra: []string{"#SBATCH --mem=8G\nrm -rf /"}}, "not one line"},
		{"carriage return", Config{Extra: []string{"#SBATCH --mem=8G\r"}}, "not one line"},
		{"output", Config{Extra: []string{"#SBATCH --output=/x"}}, "sets --output"},
		{"short output", Config{Extra: []string{"#SBATCH -o/x"}}, "sets --output"},
		{"error", Config{Extra: []string{"#SBATCH -e /x"}}, "sets --error"},
		{"abbreviated", Config{Extra: []string{"#SBATCH --open=truncate"}}, "sets --open-mode"},
		{"array", Config{Extra: []string{"#SBATCH --array=1-3"}}, "sets --array"},
		{"second option", Config{Extra: []string{"#SBATCH --mem=8G --job-name=x"}}, "sets --job-name"},
		{"quoted option", Config{Extra: []string{`#SBATCH "--out"put=/x`}}, "sets --output"},
		{"after a comment", Config{Extra: []string{"#SBATCH --mem=8G # not --output"}}, ""},
		{"partition newline", Config{Partition: "a\nb"}, "not one line"},
		{"env", Config{Env: []string{"SLURM_CONF"}}, "not KEY=VALUE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("Validate = %v, want an error about %q", err, tc.err)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Fatalf("Validate error on several lines: %q", err)
			}
		})
	}
}

func TestMinutes(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int64
	}{
		{time.Nanosecond, 1}, {time.Second, 1}, {time.Minute, 1}, {time.Minute + time.Second, 2}, {90 * time.Minute, 90},
	} {
		if got := minutes(tc.d); got != tc.want {
			t.Errorf("minutes(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

// TestScript renders a script and runs it with sh: the command receives
// its argv verbatim whatever the quoting, sees Spec.Env, and its exit
// status reaches Spec.Status and the script's own exit.
func TestScript(t *testing.T) {
	dir := filepath.Join(t.TempDir(), `job "dir" #1`)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"a b", "it's", "$HOME", "`id`", `"q"\`, "new\nline", "", "*"}
	spec := forge.Spec{
		Name:    "batos-forge-7",
		Command: append([]string{"/bin/sh", "-c", `for a; do printf '[%s]\n' "$a"; done; echo "$GREETING"; exit 4`, "argv0"}, args...),
		Dir:     dir,
		Log:     filepath.Join(dir, "train.log"),
		Status:  filepath.Join(dir, "exit status"),
		Timeout: 61 * time.Second,
		Env:     []string{"GREETING=hello 'world' $USER"},
	}
	b := New(Config{Partition: "gpu", GPUs: 2, Extra: []string{"#SBATCH --mem=8G"}})
	text, err := b.script(spec, "batos-forge-token")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"#!/bin/sh\n",
		"#SBATCH --job-name=batos-forge-7\n",
		`#SBATCH --output="` + strings.ReplaceAll(spec.Log, `"`, `\"`) + "\"\n",
		"#SBATCH --open-mode=append\n",
		"#SBATCH --comment=batos-forge-token\n",
		"#SBATCH --time=2\n",
		"#SBATCH --partition=gpu\n",
		"#SBATCH --gres=gpu:2\n",
		"#SBATCH --mem=8G\n",
		`#SBATCH --chdir="` + strings.ReplaceAll(dir, `"`, `\"`) + "\"\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("script lacks %q:\n%s", want, text)
		}
	}
	// sbatch stops reading directives at the first command.
	lastDirective := strings.LastIndex(text, "#SBATCH")
	if firstCommand := strings.Index(text, "GREETING="); firstCommand < lastDirective {
		t.Errorf("a command precedes an #SBATCH line:\n%s", text)
	}

	path := filepath.Join(dir, "job.sbatch")
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", path)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 4 {
		t.Errorf("script exited %d (%v), want the command's 4", code, err)
	}
	var want strings.Builder
	for _, a := range args {
		want.WriteString("[" + a + "]\n")
	}
	want.WriteString("hello 'world' $USER\n")
	if out.String() != want.String() {
		t.Errorf("the command printed\n%s\nwant\n%s", out.String(), want.String())
	}
	if status, err := os.ReadFile(spec.Status); err != nil || string(status) != "4\n" {
		t.Errorf("Spec.Status holds %q (%v), want \"4\\n\"", status, err)
	}
	if leftovers, _ := filepath.Glob(spec.Status + ".tmp*"); len(leftovers) != 0 {
		t.Errorf("temporary status files left: %v", leftovers)
	}
}

func TestScriptRefuses(t *testing.T) {
	ok := forge.Spec{Name: "j", Command: []string{"true"}, Dir: "/tmp", Log: "/tmp/l", Status: "/tmp/s"}
	for _, tc := range []struct {
		name string
		edit func(*forge.Spec)
		err  string
	}{
		{"no name", func(s *forge.Spec) { s.Name = "" }, "bad job name"},
		{"name with a slash", func(s *forge.Spec) { s.Name = "a/b" }, "bad job name"},
		{"no command", func(s *forge.Spec) { s.Command = nil }, "no command"},
		{"no log", func(s *forge.Spec) { s.Log = "" }, "required"},
		{"env name", func(s *forge.Spec) { s.Env = []string{"1X=y"} }, "not NAME=VALUE"},
		{"log with a newline", func(s *forge.Spec) { s.Log = "/tmp/a\nb" }, "not one line"},
		{"packjob", func(s *forge.Spec) { s.Dir = "/tmp/PackJob" }, "packjob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := ok
			tc.edit(&spec)
			spec, err := absolute(spec)
			if err == nil {
				_, err = New(Config{}).script(spec, "t")
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error = %v, want one line about %q", err, tc.err)
			}
		})
	}
}

func TestStatusFile(t *testing.T) {
	for _, tc := range []struct {
		name, content string // content "-": no file
		want          forge.Status
	}{
		{"absent", "-", forge.Status{State: forge.StateLost}},
		{"zero", "0\n", forge.Status{State: forge.StateSucceeded}},
		{"three", "3\n", forge.Status{State: forge.StateFailed, ExitCode: 3, Reason: "exit status 3"}},
		{"garbage", "three\n", forge.Status{State: forge.StateLost}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := forge.Spec{Status: filepath.Join(t.TempDir(), "status")}
			if tc.content != "-" {
				if err := os.WriteFile(spec.Status, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := statusFile(spec, "9")
			if err != nil || got.State != tc.want.State || got.ExitCode != tc.want.ExitCode {
				t.Fatalf("statusFile = %+v, %v; want %+v", got, err, tc.want)
			}
			if got.State == forge.StateLost && !strings.Contains(got.Reason, "job 9") {
				t.Errorf("lost without saying which job: %q", got.Reason)
			}
		})
	}
}
