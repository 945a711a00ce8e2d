package server_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"batos/api"
	"batos/remote"
	"batos/server"
	"batos/server/servertest"
	"batos/system"
)

// These tests serve the real image (package system) end to end.

// systemBackend adapts a System to Backend: System.Connect returns its
// concrete client.
type systemBackend struct{ *system.System }

func (b systemBackend) Connect(principal string) (server.Client, error) {
	c, err := b.System.Connect(principal)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// openSystem opens a fresh image without a pLLM, closed when the test
// ends (after the server, whose cleanup is registered later).
func openSystem(t testing.TB, replay int) *system.System {
	t.Helper()
	sys, err := system.Open(t.TempDir(), system.Options{NoPLLM: true, Replay: replay})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sys.Close(); err != nil {
			t.Errorf("close the image: %v", err)
		}
	})
	return sys
}

// serveSystem serves a fresh image.
func serveSystem(t testing.TB, opts server.Options) (*system.System, *servertest.Served) {
	t.Helper()
	servertest.NoLeaks(t)
	sys := openSystem(t, 0)
	return sys, servertest.Start(t, systemBackend{sys}, opts)
}

// serveSystemReplay serves a fresh image whose hub keeps replay events.
func serveSystemReplay(t testing.TB, replay int) (*system.System, *servertest.Served) {
	t.Helper()
	sys := openSystem(t, replay)
	return sys, servertest.Start(t, systemBackend{sys}, server.Options{})
}

// longTests runs the end-to-end tests at the brief's full size.
var longTests = os.Getenv("BATOS_LONG") != ""

func dialImage(t testing.TB, s *servertest.Served, name string) *remote.Image {
	t.Helper()
	im, err := remote.Dial(context.Background(), s.URL, remote.Options{Token: s.Token, Client: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(im.Close)
	return im
}

// TestCountersEndToEnd: 50 clients increment shared counters through
// eval; the evaluations conflict on the counters, are retried by the
// kernel, and by the client when the kernel gives up; every increment
// that succeeded is counted exactly once.
//
// Its size: the brief's 50×1000 runs with BATOS_LONG=1 (122 s and 1.3 GB
// on the 2-core machine, most of it the 50 clients' decoding of every
// client's events), or 50×BATOS_COUNTERS; by default 50×4, with -short
// 50×1.
func TestCountersEndToEnd(t *testing.T) {
	const clients, counters = 50, 5
	perClient := 4
	switch {
	case longTests:
		perClient = 1000
		if n, err := strconv.Atoi(os.Getenv("BATOS_COUNTERS")); err == nil {
			perClient = n
		}
	case testing.Short():
		perClient = 1
	}
	sys, s := serveSystem(t, server.Options{})
	ctx := context.Background()
	setup := dialImage(t, s, "setup")
	if _, err := setup.Eval(ctx, `o := NewObject(); Lobby.Set("counters", o); for i := 0; i < 5; i++ { o.Set(fmt.Sprint("c", i), 0) }`); err != nil {
		t.Fatal(err)
	}

	var conflicts atomic.Int64
	var wg sync.WaitGroup
	for i := range clients {
		im := dialImage(t, s, fmt.Sprint("counter-", i))
		slot := fmt.Sprint("c", i%counters)
		src := fmt.Sprintf(`o := Lobby.Get("counters").(Object); o.Set(%q, o.Get(%q).(int)+1)`, slot, slot)
		wg.Go(func() {
			for done := 0; done < perClient; {
				_, err := im.Eval(ctx, src)
				switch {
				case err == nil:
					done++
				case api.KindOf(err) == api.ErrConflict:
					conflicts.Add(1) // not committed: again
				default:
					t.Errorf("client %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	res, err := setup.Eval(ctx, `o := Lobby.Get("counters").(Object); []any{o.Get("c0"), o.Get("c1"), o.Get("c2"), o.Get("c3"), o.Get("c4")}`)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range res.Value.Items {
		if want := int64(clients / counters * perClient); v.Int != want {
			t.Errorf("counter c%d = %d, want %d", i, v.Int, want)
		}
	}
	t.Logf("%d increments; %d conflicts the kernel gave up on", clients*perClient, conflicts.Load())
	_ = sys
}

// logRecorder keeps the server's log records, to see how a request
// ended when its client is gone.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
	changed chan struct{}
}

func newLogRecorder() *logRecorder { return &logRecorder{changed: make(chan struct{})} }

func (l *logRecorder) handler() slog.Handler { return recordHandler{l: l} }

// recordHandler is a slog.Handler adding its attributes to each record it
// gives its recorder.
type recordHandler struct {
	l     *logRecorder
	attrs []slog.Attr
}

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return recordHandler{l: h.l, attrs: append(slices.Clip(h.attrs), as...)}
}
func (h recordHandler) WithGroup(string) slog.Handler { return h }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	l := h.l
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
	close(l.changed)
	l.changed = make(chan struct{})
	return nil
}

// await waits for a record with message msg and attribute key=value.
func (l *logRecorder) await(t testing.TB, msg, key, value string) slog.Record {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		l.mu.Lock()
		ch := l.changed
		for _, r := range l.records {
			found := false
			r.Attrs(func(a slog.Attr) bool {
				found = found || a.Key == key && a.Value.String() == value
				return true
			})
			if r.Message == msg && found {
				l.mu.Unlock()
				return r
			}
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("no log record %q with %s=%s", msg, key, value)
		}
	}
}

func attr(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
		}
		return true
	})
	return v
}

// TestKilledClientEndToEnd: a client killed while its `for {}` runs has
// its evaluation cancelled (not run to its deadline) and its transaction
// aborted; the others' evaluations go on, and nothing is left running
// (the image's Close, at the end, waits for every request).
func TestKilledClientEndToEnd(t *testing.T) {
	logs := newLogRecorder()
	_, s := serveSystem(t, server.Options{Logger: slog.New(logs.handler())})
	ctx := context.Background()
	other := dialImage(t, s, "other")
	// A deadline far away: only the disconnection can stop the loop.
	if _, err := other.Eval(ctx, `Lobby.Get("system").(Object).Set("sendDeadline", "10m")`); err != nil {
		t.Fatal(err)
	}
	events, cancel := other.Subscribe(256)
	defer cancel()

	killed := connect(t, s, "client=killed")
	killed.call(1, api.MethodEval, api.EvalParams{Source: `Lobby.Set("leaked", 1); for {}`})
	for ev := range events {
		if ev.Client == "remote:killed" && ev.State == api.StateBusy {
			break
		}
	}
	start := time.Now()
	killed.ws.NetConn().Close()
	for ev := range events {
		if ev.Client == "remote:killed" && ev.State == api.StateIdle && ev.Request == "1" {
			break
		}
	}
	r := logs.await(t, "request", "client", "killed")
	if kind := attr(r, "kind"); kind != string(api.ErrCanceled) {
		t.Errorf("the killed client's eval ended with kind %q, want canceled", kind)
	}
	t.Logf("cancelled %v after the disconnection", time.Since(start))

	res, err := other.Eval(ctx, `Lobby.Set("after", 2); slices.Contains(Lobby.Slots(), "leaked")`)
	if err != nil {
		t.Fatal(err)
	}
	if res.Value.Kind != api.ValueBool || res.Value.Bool {
		t.Errorf("the killed eval's write is visible: Lobby has leaked: %s", res.Value.Text)
	}
	st, err := other.Status(ctx)
	if err != nil || st.Clients != 1 {
		t.Errorf("status %+v, %v: want the other client alone", st, err)
	}
}

// TestInterruptEndToEnd: a call whose context ends interrupts its
// evaluation on the server; the client's next evaluation runs.
func TestInterruptEndToEnd(t *testing.T) {
	logs := newLogRecorder()
	_, s := serveSystem(t, server.Options{Logger: slog.New(logs.handler())})
	im := dialImage(t, s, "impatient")
	if _, err := im.Eval(context.Background(), `Lobby.Get("system").(Object).Set("sendDeadline", "10m")`); err != nil {
		t.Fatal(err)
	}
	events, cancel := im.Subscribe(64)
	defer cancel()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := im.Eval(ctx, `for {}`)
		done <- err
	}()
	for ev := range events {
		if ev.State == api.StateBusy {
			break
		}
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted eval: %v", err)
	}
	var request string
	for ev := range events {
		if ev.State == api.StateIdle {
			request = ev.Request
			break
		}
	}
	if r := logs.await(t, "request", "id", request); attr(r, "kind") != string(api.ErrCanceled) {
		t.Errorf("the interrupted eval ended with kind %q", attr(r, "kind"))
	}
	res, err := im.Eval(context.Background(), `6 * 7`)
	if err != nil || res.Value.Int != 42 {
		t.Errorf("eval after the interrupt: %+v, %v", res, err)
	}
}

// TestReplayEndToEnd: a client reconnecting with since=N gets exactly
// the events after N from the image's hub, or an EventMissed.
func TestReplayEndToEnd(t *testing.T) {
	_, s := serveSystem(t, server.Options{})
	ctx := context.Background()
	a := dialImage(t, s, "a")
	events, cancel := a.Subscribe(64)
	if _, err := a.Eval(ctx, `fmt.Println("one"); Lobby.Set("one", 1)`); err != nil {
		t.Fatal(err)
	}
	// Idle follows the commit (system waits for its event).
	for idle, commit := false, false; !idle || !commit; {
		ev := <-events
		idle = idle || ev.State == api.StateIdle
		commit = commit || ev.Type == api.EventCommit
	}
	cancel()
	last := a.LastSeq()
	a.Close()

	b := dialImage(t, s, "b")
	if _, err := b.Eval(ctx, `fmt.Println("two"); Lobby.Set("two", 2)`); err != nil {
		t.Fatal(err)
	}
	again, err := remote.Dial(ctx, s.URL, remote.Options{Token: s.Token, Client: "a", Since: last})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	replayed, cancel := again.Subscribe(64)
	defer cancel()
	var got []string
	for len(got) < 4 {
		ev := <-replayed
		if ev.Seq != last+1+uint64(len(got)) || ev.Client != "remote:b" {
			t.Fatalf("event %+v after %v: not b's next", ev, got)
		}
		got = append(got, ev.Type+" "+ev.State+strings.TrimSpace(ev.Output))
	}
	slices.Sort(got)
	if want := "commit ,output two,status busy,status idle"; strings.Join(got, ",") != want {
		t.Errorf("replayed %q, want %q", strings.Join(got, ","), want)
	}

	// Older than the hub's ring holds: told so.
	small, s2 := serveSystemReplay(t, 4)
	_ = small
	c := dialImage(t, s2, "c")
	for range 3 {
		if _, err := c.Eval(ctx, `fmt.Println("x"); Lobby.Set("x", 1)`); err != nil {
			t.Fatal(err)
		}
	}
	old, err := remote.Dial(ctx, s2.URL, remote.Options{Token: s2.Token, Since: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	missed, cancel2 := old.Subscribe(8)
	defer cancel2()
	if ev := <-missed; ev.Type != api.EventMissed || ev.Missed == 0 {
		t.Errorf("since too old: %+v, want EventMissed", ev)
	}
}

// TestSendersEndToEnd asks a served image for the implementors and the
// senders of a selector: the remote client gets the hits the image finds.
func TestSendersEndToEnd(t *testing.T) {
	_, s := serveSystem(t, server.Options{})
	ctx := context.Background()
	im := dialImage(t, s, "alice")
	res, err := im.Eval(ctx, "o := NewObject(); Lobby.Set(\"shape\", o)\n"+
		"o.Define(\"e2eArea\", `func e2eArea(self Object) int { return 6 }`)\n"+
		"o.Define(\"e2eTwice\", `func e2eTwice(self Object) int { return 2 * self.Send(\"e2eArea\").(int) }`)\n"+
		"o")
	if err != nil {
		t.Fatal(err)
	}
	shape := res.Value.Object.OID
	for _, tt := range []struct {
		name string
		call func() ([]api.Hit, error)
		want []api.Hit
	}{
		{"implementors", func() ([]api.Hit, error) { return im.Implementors(ctx, "e2eArea", 0) },
			[]api.Hit{{Object: api.Ref{OID: shape, Name: res.Value.Object.Name}, Selector: "e2eArea"}}},
		{"senders", func() ([]api.Hit, error) { return im.Senders(ctx, "e2eArea", 5) },
			[]api.Hit{{Object: api.Ref{OID: shape, Name: res.Value.Object.Name}, Selector: "e2eTwice"}}},
		{"no senders", func() ([]api.Hit, error) { return im.Senders(ctx, "e2eTwice", 0) }, []api.Hit{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
