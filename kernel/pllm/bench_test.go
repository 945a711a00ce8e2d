package pllm_test

import (
	"context"
	"fmt"
	"os"
	"slices"
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
// (goal-ms). The server's time is what it spent handling the requests the
// generation made (llamatest.Server.Busy): the chat, and the /tokenize
// that fitting a prompt too long to fit by its length alone asks. The
// client's side of each round trip is overhead. Each candidate is removed
// after its generation, so that every generation sees the same Lobby.
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
	srv := llamatest.New(b)
	s := k.NewSession("bench")
	ctx := context.Background()
	if _, err := s.Eval(ctx, fmt.Sprintf(`p := Lobby.Get("pLLM").(Object); p.Set("endpoint", %q); p.Set("topK", 1)`, srv.URL)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Eval(ctx, fmt.Sprintf(`for i := 0; i < %d; i++ { Lobby.Set(fmt.Sprintf("note%%d", i), "a note the prompt lists, long enough to count") }`, notes)); err != nil {
		b.Fatal(err)
	}
	reply := func(sel string) llamatest.Reply {
		return llamatest.Reply{Text: fmt.Sprintf("```go\nfunc %s(self Object, n int) int { return n + 1 }\n```", sel)}
	}

	var total, server time.Duration
	overheads := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sel := fmt.Sprintf("m%d", i)
		srv.Script(reply(sel))
		// A model takes seconds, not the scripted server's microseconds:
		// the warm child is ready by the time a real answer comes.
		if err := runner.Ready(ctx); err != nil {
			b.Fatal(err)
		}
		busy := srv.Busy()
		start := time.Now()
		res, err := s.Eval(ctx, fmt.Sprintf(`Lobby.Send(%q, 1)`, sel))
		took, served := time.Since(start), srv.Busy()-busy
		total, server = total+took, server+served
		overheads = append(overheads, took-served)
		if err != nil || res.Text != "2" {
			b.Fatalf("%s = %q, %v", sel, res.Text, err)
		}
		// Each generation sees the same Lobby, so the figure does not
		// depend on b.N.
		b.StopTimer()
		if _, err := s.Eval(ctx, fmt.Sprintf(`Lobby.Remove(%q)`, sel)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	tokenized := 0
	for _, r := range srv.Requests() {
		if r.Path == "/tokenize" {
			tokenized++
		}
	}
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
