package server_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"batos/api"
	"batos/server"
	"batos/server/servertest"
)

// BenchmarkRoundTrip measures calls over loopback against the same calls
// of in-process clients of the same image, in the same run: ns/op is the
// remote call's; remote/inproc is how many times slower the wire is.
// eval is a trivial evaluation (it commits: the workspace history records
// it); object is a read of Lobby, the protocol's cost nearly alone.
func BenchmarkRoundTrip(b *testing.B) {
	calls := []struct {
		name string
		call func(context.Context, api.Image) error
	}{
		{"eval", func(ctx context.Context, im api.Image) error { _, err := im.Eval(ctx, "1"); return err }},
		{"object", func(ctx context.Context, im api.Image) error { _, err := im.Object(ctx, api.LobbyOID); return err }},
	}
	for _, c := range calls {
		for _, n := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/clients=%d", c.name, n), func(b *testing.B) {
				sys, s := serveSystem(b, server.Options{Rate: -1})
				local, remote := make([]api.Image, n), make([]api.Image, n)
				for i := range n {
					lc, err := sys.Connect(fmt.Sprint("local-", i))
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(lc.Close)
					local[i], remote[i] = lc, dialImage(b, s, fmt.Sprint("bench-", i))
				}
				inproc := runCalls(b, b.N, local, c.call)
				b.ResetTimer()
				wire := runCalls(b, b.N, remote, c.call)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/wire.Seconds(), "remote-calls/s")
				b.ReportMetric(float64(b.N)/inproc.Seconds(), "inproc-calls/s")
				b.ReportMetric(wire.Seconds()/inproc.Seconds(), "remote/inproc")
			})
		}
	}
}

// runCalls makes total calls shared among the images, each image's from
// its own goroutine, and returns how long they took.
func runCalls(b *testing.B, total int, ims []api.Image, call func(context.Context, api.Image) error) time.Duration {
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for i, im := range ims {
		share := total / len(ims)
		if i < total%len(ims) {
			share++
		}
		wg.Go(func() {
			for range share {
				if err := call(ctx, im); err != nil && api.KindOf(err) != api.ErrConflict {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkBroadcast measures the server's fan-out: each op is one event
// published by the backend and written to 50 connected clients, which
// read every frame. The publisher keeps at most window events ahead of
// the slowest client, so that no subscription overflows.
func BenchmarkBroadcast(b *testing.B) {
	const clients, window = 50, 2048
	backend := servertest.NewBackend(window)
	s := servertest.Start(b, backend, server.Options{SendQueue: 2 * window})
	var (
		mu     sync.Mutex
		cond   = sync.NewCond(&mu)
		counts = make([]int, clients)
	)
	slowest := func() int {
		m := counts[0]
		for _, c := range counts {
			m = min(m, c)
		}
		return m
	}
	var wg sync.WaitGroup
	for i := range clients {
		ws, _, err := dialRaw(s, "", header(s.Token), api.Subprotocol)
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			defer ws.Close()
			for n := 1; ; n++ {
				typ, r, err := ws.NextReader()
				if err != nil {
					// Dropped (as a slow consumer, say) or shut down: the
					// publisher must not wait for it.
					mu.Lock()
					if counts[i] < b.N {
						b.Errorf("client %d left after %d of %d events: %v", i, n-1, b.N, err)
					}
					counts[i] = math.MaxInt
					cond.Broadcast()
					mu.Unlock()
					return
				}
				if typ != websocket.TextMessage {
					b.Errorf("frame type %d", typ)
				}
				io.Copy(io.Discard, r)
				// Frames besides the events (a notice of missed events)
				// can make n pass b.N.
				if n%64 == 0 || n >= b.N {
					mu.Lock()
					counts[i] = n
					cond.Broadcast()
					mu.Unlock()
				}
			}
		})
	}
	stuck := false
	await := func(n int) {
		// A delivery that never comes fails the benchmark instead of
		// hanging it.
		t := time.AfterFunc(time.Minute, func() {
			mu.Lock()
			stuck = true
			cond.Broadcast()
			mu.Unlock()
		})
		defer t.Stop()
		mu.Lock()
		defer mu.Unlock()
		for slowest() < n && !stuck {
			cond.Wait()
		}
		if stuck {
			b.Fatalf("after a minute the slowest client has %d of %d events", slowest(), n)
		}
	}
	// A client connected is not yet subscribed: an event published
	// before would pass it by.
	backend.Await(b, "every client subscribed", func() bool { return backend.Subscribers() == clients })
	ev := api.Event{Type: api.EventOutput, Client: "remote:bench", Request: "1", Output: "hello, world\n"}
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		backend.Publish(ev)
		if i%256 == 0 && i > window {
			await(i - window)
		}
	}
	await(b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N*clients)/b.Elapsed().Seconds(), "deliveries/s")
	if err := s.Server.Shutdown(context.Background()); err != nil {
		b.Error(err)
	}
	wg.Wait()
}
