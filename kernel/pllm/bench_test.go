package pllm_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"batos/kernel"
	"batos/kernel/pllm"
	"batos/kernel/sandbox"
	"batos/llama"
	"batos/llama/llamatest"
)

// BenchmarkPipeline measures one whole doesNotUnderstand — context,
// routing, generation against an instant scripted server, extraction,
// validation, the sandboxed trial run, install and the re-sent message —
// and reports its overhead beyond the server's own time (a bare streamed
// chat request measured in the same run), beside its goal (goal-ms). The
// trial run dominates it: a checkpoint, and a warm child opening it,
// compiling and running the candidate.
func BenchmarkPipeline(b *testing.B) {
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
	reply := func(sel string) llamatest.Reply {
		return llamatest.Reply{Text: fmt.Sprintf("```go\nfunc %s(self Object, n int) int { return n + 1 }\n```", sel)}
	}

	// The server's own time: the same streamed request, bare.
	srv.Script(reply("raw"))
	client := llama.New(srv.URL)
	const rawN = 50
	start := time.Now()
	for i := 0; i < rawN; i++ {
		if _, err := client.Chat(ctx, llama.Request{Messages: []llama.Message{{Role: "user", Content: "x"}}}, nil); err != nil {
			b.Fatal(err)
		}
	}
	server := time.Since(start) / rawN

	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sel := fmt.Sprintf("m%d", i)
		srv.Script(reply(sel))
		// A model takes seconds, not the scripted server's microseconds:
		// the warm child is ready by the time a real answer comes.
		if err := runner.Ready(ctx); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		res, err := s.Eval(ctx, fmt.Sprintf(`Lobby.Send(%q, 1)`, sel))
		total += time.Since(start)
		if err != nil || res.Text != "2" {
			b.Fatalf("%s = %q, %v", sel, res.Text, err)
		}
	}
	b.StopTimer()
	per := total / time.Duration(b.N)
	b.ReportMetric(float64(server.Microseconds())/1000, "server-ms")
	b.ReportMetric(float64((per-server).Microseconds())/1000, "overhead-ms")
	b.ReportMetric(5, "goal-ms")
}
