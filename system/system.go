// Package system is a running image: the one owner of the kernel, the
// pLLM with its sandbox runner, the event hub and, when served, the
// WebSocket server. Open starts them all; Close stops them all, and no
// goroutine or child process it started outlives Close.
//
// Clients reach the image through api.Image: Connect returns one for a
// principal, in this process; the server hands one to each remote
// connection. Every event — commits, model tokens, each request's output
// and busy/idle status — passes through the hub, which numbers them in one
// sequence and keeps the newest in a ring for clients that reconnect.
package system

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"batos/api"
	"batos/autotelic"
	"batos/eventhub"
	"batos/forge"
	"batos/kernel"
	"batos/kernel/entropy"
	"batos/kernel/pllm"
	"batos/kernel/pllm/bench"
	"batos/kernel/sandbox"
	"batos/server"
)

// Options configures Open. The zero value opens (or creates) the image
// with the pLLM installed, its trial runs re-executing this binary as
// `batos sandbox`.
type Options struct {
	// Kernel is passed to kernel.Open.
	Kernel *kernel.Options
	// Sandbox is the command a trial run executes (it must behave like
	// `batos sandbox`); nil: this executable with argument "sandbox".
	// Empty (non-nil): no pLLM trial runner (tests that need no model).
	Sandbox []string
	// NoPLLM leaves the pLLM uninstalled: doesNotUnderstand fails at
	// once (tests of the kernel alone).
	NoPLLM bool
	// Replay is how many events the hub keeps for reconnecting clients
	// (default 4096).
	Replay int
	// Forge runs the Forge's worker in this process (the TUI, batos serve,
	// batos repl, batos forge). Every process can queue and cancel jobs;
	// only one with a worker runs them.
	Forge bool
	// ForgeOptions configures the Forge (its worker's poll, backends).
	ForgeOptions forge.Options
	// Entropy records the entropy metric's series in this process after
	// the pLLM's commits (entropy.StartRecorder).
	Entropy bool
	// Autotelic runs the autotelic loop's worker in this process (it
	// steps only while Lobby.autotelic.enabled is true); every process
	// can run one step on request.
	Autotelic bool
	// AutotelicOptions configures the loop (its worker's poll).
	AutotelicOptions autotelic.Options
}

// System is a running image. It is safe for concurrent use.
type System struct {
	k      *kernel.Kernel
	forge  *forge.Forge
	worker bool // the Forge's worker runs here
	loop   *autotelic.Loop
	// loopRuns: the loop's worker runs here.
	loopRuns bool
	runner   *sandbox.Runner
	pllm     *pllm.PLLM // nil with NoPLLM
	hub      *eventhub.Hub
	log      *slog.Logger

	stopForward func()
	// forwarded is the newest kernel event the forwarder put on the hub.
	forwarded struct {
		mu   sync.Mutex
		cond *sync.Cond
		seq  uint64
	}
	stopRecorder func() // nil: no entropy recorder

	mu      sync.Mutex
	closed  bool
	clients map[*Client]struct{}
	server  *server.Server // set by Serve
	served  chan struct{}  // closed when the server's Serve returned
	calls   sync.WaitGroup // requests in flight, of every client
}

// Open opens the image in dir, creating it when dir is missing or empty.
func Open(dir string, opts Options) (*System, error) {
	k, err := kernel.Open(dir, opts.Kernel)
	if err != nil {
		return nil, err
	}
	sys := &System{k: k, log: k.Logger(), clients: map[*Client]struct{}{}}
	if !opts.NoPLLM {
		argv := opts.Sandbox
		if argv == nil {
			exe, err := os.Executable()
			if err != nil {
				k.Close()
				return nil, fmt.Errorf("open image %s: locate the batos binary for sandbox runs: %w", dir, err)
			}
			argv = []string{exe, "sandbox"}
		}
		var po pllm.Options
		if len(argv) > 0 {
			sys.runner = &sandbox.Runner{Command: argv, Warm: true}
			po.Sandbox = sys.runner
		}
		sys.pllm = pllm.Install(k, po)
		if err := sys.pllm.Migrate(context.Background()); err != nil {
			k.Close()
			return nil, err
		}
		if err := bench.Install(k, sys.runner); err != nil {
			k.Close()
			return nil, err
		}
	}
	replay := opts.Replay
	if replay <= 0 {
		replay = 4096
	}
	sys.hub = eventhub.New(replay)
	sys.forwarded.cond = sync.NewCond(&sys.forwarded.mu)
	sys.stopForward = sys.forward()
	if err := entropy.Install(k); err != nil {
		sys.Close()
		return nil, err
	}
	fo := opts.ForgeOptions
	if fo.Sandbox == nil {
		fo.Sandbox = sys.runner // the evaluate step's held-out pass rates
	}
	f, err := forge.Install(k, dir, fo)
	if err != nil {
		sys.Close()
		return nil, err
	}
	sys.forge = f
	if opts.Forge {
		f.Start()
		sys.worker = true
	}
	if opts.Entropy {
		sys.stopRecorder = entropy.StartRecorder(k)
	}
	ao := opts.AutotelicOptions
	if ao.Sandbox == nil {
		ao.Sandbox = sys.runner // measure steps run the held-out bench
	}
	if sys.loop, err = autotelic.Install(k, sys.pllm, ao); err != nil {
		sys.Close()
		return nil, err
	}
	if opts.Autotelic {
		sys.loop.Start()
		sys.loopRuns = true
	}
	return sys, nil
}

// Kernel returns the kernel the system runs; tools that work below the
// contract (the sandbox, image maintenance) use it.
func (sys *System) Kernel() *kernel.Kernel { return sys.k }

// Dir returns the image folder.
func (sys *System) Dir() string {
	info, err := sys.k.Store().Info()
	if err != nil {
		return ""
	}
	return info.Dir
}

// ErrClosed is returned by Connect after Close.
var ErrClosed = &api.Error{Kind: api.ErrClosed, Message: "the image is closed"}

// Connect returns a client whose transactions and events carry principal.
// Close it when done: that cancels whatever it still has running.
func (sys *System) Connect(principal string) (*Client, error) {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	if sys.closed {
		return nil, ErrClosed
	}
	c := newClient(sys, principal)
	sys.clients[c] = struct{}{}
	return c, nil
}

// Subscribe delivers the events after seq since (0: from now on), then
// live ones; see eventhub.Hub.Subscribe for the overflow and replay rules.
func (sys *System) Subscribe(since uint64, buffer int) (<-chan api.Event, func()) {
	return sys.hub.Subscribe(since, buffer)
}

// clientCount is how many clients are connected.
func (sys *System) clientCount() int {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	return len(sys.clients)
}

func (sys *System) forget(c *Client) {
	sys.mu.Lock()
	delete(sys.clients, c)
	sys.mu.Unlock()
}

// begin counts a request in flight; it fails once Close has begun, so that
// Close's wait covers every request that started.
func (sys *System) begin() error {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	if sys.closed {
		return ErrClosed
	}
	sys.calls.Add(1)
	return nil
}

// Close stops the server (remote clients are told why and their running
// requests get a grace period), closes every client (cancelling what they
// run), waits for their requests to return, then stops the event
// forwarding, the sandbox's warm child and the kernel. Every commit
// acknowledged before Close is durable.
func (sys *System) Close() error {
	sys.mu.Lock()
	if sys.closed {
		sys.mu.Unlock()
		return nil
	}
	sys.closed = true
	sys.mu.Unlock()
	sys.stopServing()
	sys.mu.Lock()
	clients := make([]*Client, 0, len(sys.clients))
	for c := range sys.clients {
		clients = append(clients, c)
	}
	sys.mu.Unlock()
	for _, c := range clients {
		c.Close()
	}
	sys.calls.Wait()
	if sys.loop != nil {
		sys.loop.Close()
	}
	if sys.forge != nil {
		// Running backend jobs go on; the next worker picks them up.
		sys.forge.Close()
	}
	if sys.stopRecorder != nil {
		sys.stopRecorder()
	}
	sys.stopForward()
	sys.hub.Close()
	if sys.runner != nil {
		sys.runner.Close()
	}
	return sys.k.Close()
}

// forward moves the kernel's events onto the hub until the returned stop
// is called.
func (sys *System) forward() (stop func()) {
	sub := sys.k.Bus().Subscribe(4096)
	// Events before the subscription are not forwarded: nothing waits on
	// them.
	sys.forwarded.mu.Lock()
	sys.forwarded.seq = sys.k.Bus().Seq()
	sys.forwarded.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range sub.C {
			sys.hub.Publish(convertEvent(ev))
			sys.forwarded.mu.Lock()
			sys.forwarded.seq = max(sys.forwarded.seq, ev.Seq)
			sys.forwarded.cond.Broadcast()
			sys.forwarded.mu.Unlock()
		}
	}()
	return func() { sub.Close(); <-done }
}

// maxForwardWait bounds awaitForwarded: a forwarder that dropped events
// (its buffer full) never reaches their numbers.
const maxForwardWait = 2 * time.Second

// awaitForwarded waits until the kernel's events up to seq are on the hub,
// so that a request's idle follows every token and commit it caused: the
// tokens come through the kernel's bus and the forwarder, the idle
// straight to the hub.
func (sys *System) awaitForwarded(seq uint64) {
	deadline := time.Now().Add(maxForwardWait)
	timer := time.AfterFunc(maxForwardWait, func() {
		sys.forwarded.mu.Lock()
		sys.forwarded.cond.Broadcast()
		sys.forwarded.mu.Unlock()
	})
	defer timer.Stop()
	sys.forwarded.mu.Lock()
	defer sys.forwarded.mu.Unlock()
	for sys.forwarded.seq < seq && time.Now().Before(deadline) {
		sys.forwarded.cond.Wait()
	}
}

// bind derives a request context that also ends when the client closes.
func bind(ctx, client context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(client, cancel)
	return ctx, func() { stop(); cancel() }
}
