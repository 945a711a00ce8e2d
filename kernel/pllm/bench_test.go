package pllm_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"batos/kernel"
	"batos/kernel/pllm"
	"batos/kernel/sandbox"
	"batos/llama/llamatest"
)

// BenchmarkPipeline measures one whole doesNotUnderstand — context,
// routing, generation against an instant scripted server, extraction,
// validation, the sandboxed trial run, install and the re-sent message —
// and reports its overhead beyond the server's own time, beside its goal
// (goal-ms). The server runs in a process of its own, as llama-server
// does (its work and its garbage are not the pLLM's), and its time is what
// it spent handling the requests the generation made
// (llamatest.Server.Busy): the chat, and the /tokenize that fitting a
// prompt too long to fit by its length alone asks. The client's side of
// each round trip is overhead. Each candidate is removed after its
// generation, so that every generation sees the same Lobby.
func BenchmarkPipeline(b *testing.B) {
	// short: the default image's Lobby, whose prompt fits the context by
	// its length alone. long: a Lobby with enough notes that fitting its
	// prompt asks the server to count its tokens.
	for _, c := range []struct {
		name  string
		notes int
	}{{"short", 0}, {"long", 40}} {
		b.Run(c.name, func(b *testing.B) { benchmarkPipeline(b, c.notes) })
	}
}

func benchmarkPipeline(b *testing.B, notes int) {
	k, err := kernel.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	runner := &sandbox.Runner{Command: []string{os.Args[0]}, Env: []string{"BATOS_SANDBOX_CHILD=1"}, Timeout: 20 * time.Second, Warm: true}
	defer runner.Close()
	pllm.Install(k, pllm.Options{Sandbox: runner})
	srv := startScripted(b)
	s := k.NewSession("bench")
	ctx := context.Background()
	if _, err := s.Eval(ctx, fmt.Sprintf(`p := Lobby.Get("pLLM").(Object); p.Set("endpoint", %q); p.Set("topK", 1)`, srv.url)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Eval(ctx, fmt.Sprintf(`for i := 0; i < %d; i++ { Lobby.Set(fmt.Sprintf("note%%d", i), "a note the prompt lists, long enough to count") }`, notes)); err != nil {
		b.Fatal(err)
	}

	var total, server time.Duration
	overheads := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	b.StopTimer() // only the sends are timed
	for i := 0; i < b.N; i++ {
		sel := fmt.Sprintf("m%d", i)
		srv.ask(b, "script "+sel)
		// A model takes seconds, not the scripted server's microseconds:
		// the warm child is ready by the time a real answer comes.
		if err := runner.Ready(ctx); err != nil {
			b.Fatal(err)
		}
		busy := srv.busy(b)
		b.StartTimer()
		start := time.Now()
		res, err := s.Eval(ctx, fmt.Sprintf(`Lobby.Send(%q, 1)`, sel))
		took := time.Since(start)
		b.StopTimer()
		served := srv.busy(b) - busy
		total, server = total+took, server+served
		overheads = append(overheads, took-served)
		if err != nil || res.Text != "2" {
			b.Fatalf("%s = %q, %v", sel, res.Text, err)
		}
		// Each generation sees the same Lobby, so the figure does not
		// depend on b.N.
		if _, err := s.Eval(ctx, fmt.Sprintf(`Lobby.Remove(%q)`, sel)); err != nil {
			b.Fatal(err)
		}
	}
	tokenized, _ := strconv.Atoi(srv.ask(b, "tokenized"))
	if long := notes > 0; long != (tokenized == b.N) {
		b.Fatalf("%d notes: %d of %d generations asked /tokenize", notes, tokenized, b.N)
	}
	n := time.Duration(b.N)
	b.ReportMetric(float64((total/n).Microseconds())/1000, "total-ms")
	b.ReportMetric(float64((server/n).Microseconds())/1000, "server-ms")
	b.ReportMetric(float64(((total-server)/n).Microseconds())/1000, "overhead-ms")
	slices.Sort(overheads)
	b.ReportMetric(float64(overheads[len(overheads)/2].Microseconds())/1000, "overhead-p50-ms")
	b.ReportMetric(5, "goal-ms")
}

// scriptedServerEnv makes the test binary serveScripted.
const scriptedServerEnv = "BATOS_SCRIPTED_SERVER"

// serveScripted runs a llamatest server, printing its URL, then answers
// lines on stdin until it closes: "script SEL" makes the next answer a
// method SEL(self Object, n int) int returning n+1; "busy" prints the
// nanoseconds spent handling requests; "tokenized" prints how many
// /tokenize requests came.
func serveScripted() int {
	srv := llamatest.Start()
	defer srv.Close()
	fmt.Println(srv.URL)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "script":
			srv.Script(llamatest.Reply{Text: fmt.Sprintf("```go\nfunc %s(self Object, n int) int { return n + 1 }\n```", arg)})
			fmt.Println("ok")
		case "busy":
			fmt.Println(srv.Busy().Nanoseconds())
		case "tokenized":
			n := 0
			for _, r := range srv.Requests() {
				if r.Path == "/tokenize" {
					n++
				}
			}
			fmt.Println(n)
		default:
			fmt.Println("unknown command", cmd)
		}
	}
	return 0
}

// scripted is the parent's side of serveScripted.
type scripted struct {
	url string
	in  io.Writer
	out *bufio.Scanner
}

func startScripted(b *testing.B) *scripted {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), scriptedServerEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	s := &scripted{in: in, out: bufio.NewScanner(out)}
	if !s.out.Scan() {
		b.Fatalf("the scripted server did not start: %v", s.out.Err())
	}
	s.url = s.out.Text()
	return s
}

func (s *scripted) ask(b *testing.B, line string) string {
	if _, err := fmt.Fprintln(s.in, line); err != nil {
		b.Fatal(err)
	}
	if !s.out.Scan() {
		b.Fatalf("the scripted server did not answer %q: %v", line, s.out.Err())
	}
	return s.out.Text()
}

func (s *scripted) busy(b *testing.B) time.Duration {
	ns, err := strconv.ParseInt(s.ask(b, "busy"), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return time.Duration(ns)
}
