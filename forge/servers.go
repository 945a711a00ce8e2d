package forge

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"batos/image"
	"batos/kernel"
	"batos/llama"
)

// Model servers. llama-server loads LoRA adapters only when it starts, so
// a persona's new adapter needs its server restarted. The objects in
// Lobby.pLLM.servers describe the llama-servers batos runs itself: each
// has a binary, a model, a host and port, the adapters it loads (in
// --lora order: their ids) and extra flags. The worker that runs the
// Forge's jobs (Start) keeps every server marked managed running as its
// object says: it starts them, waits for /health, restarts one whose
// object changed (a registration adds an adapter), and stops them when it
// closes. Each server's output goes to IMAGE/logs/servers/NAME.log and
// its state to its object's state slot.
//
// A persona uses a server through its endpoint (http://HOST:PORT). Servers
// batos does not manage keep working as before; a registration for one
// says the exact command that restarts it with the new adapter.

// serverSpec is a server object as the supervisor reads it.
type serverSpec struct {
	oid     image.OID
	name    string
	binary  string
	model   string
	host    string
	port    int
	loras   []string
	args    []string
	managed bool
	timeout time.Duration // to wait for /health after a start
}

func readServer(o kernel.Object) serverSpec {
	return serverSpec{
		oid:     o.OID(),
		name:    stringSlot(o, "name", fmt.Sprintf("server%d", o.OID())),
		binary:  stringSlot(o, "binary", "llama-server"),
		model:   stringSlot(o, "model", ""),
		host:    stringSlot(o, "host", "127.0.0.1"),
		port:    intSlot(o, "port", 8080),
		loras:   stringList(slot(o, "loras")),
		args:    stringList(slot(o, "args")),
		managed: boolSlot(o, "managed"),
		timeout: time.Duration(intSlot(o, "startTimeout", 600)) * time.Second,
	}
}

// argv is the command that runs the server.
func (s serverSpec) argv() []string {
	argv := []string{s.binary, "-m", s.model, "--host", s.host, "--port", strconv.Itoa(s.port)}
	for _, l := range s.loras {
		argv = append(argv, "--lora", l)
	}
	return append(argv, s.args...)
}

// endpoint is the URL personas reach the server at.
func (s serverSpec) endpoint() string { return fmt.Sprintf("http://%s:%d", s.host, s.port) }

// servers lists Lobby.pLLM.servers.
func servers(lobby kernel.Object) []kernel.Object {
	var out []kernel.Object
	l, _ := slot(slotObject(lobby, "pLLM"), "servers").([]any)
	for _, v := range l {
		if o, ok := v.(kernel.Object); ok {
			out = append(out, o)
		}
	}
	return out
}

// serverFor returns the server a persona reaches at endpoint, if one of
// Lobby.pLLM.servers is there.
func serverFor(lobby kernel.Object, endpoint string) (kernel.Object, bool) {
	want := sameEndpoint(endpoint)
	for _, o := range servers(lobby) {
		if sameEndpoint(readServer(o).endpoint()) == want {
			return o, true
		}
	}
	return kernel.Object{}, false
}

// sameEndpoint normalises an endpoint for comparison: scheme, host and
// port; "localhost" is 127.0.0.1.
func sameEndpoint(e string) string {
	u, err := url.Parse(strings.TrimRight(e, "/"))
	if err != nil {
		return e
	}
	host := u.Hostname()
	if host == "localhost" {
		host = "127.0.0.1"
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	return host + ":" + port
}

// supervisor runs the managed servers of one Forge.
type supervisor struct {
	f *Forge

	mu      sync.Mutex
	running map[image.OID]*serverProc
}

type serverProc struct {
	spec serverSpec
	key  string // argv, to know whether the object changed
	cmd  *exec.Cmd
	done chan struct{} // closed when the process ended
}

// supervise keeps the managed servers as their objects say until the
// Forge closes, then stops them.
func (sv *supervisor) supervise() {
	defer sv.f.wg.Done()
	sub := sv.f.k.Bus().Subscribe(256)
	defer sub.Close()
	defer sv.stopAll()
	sv.sync()
	for {
		select {
		case <-sv.f.ctx.Done():
			return
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			if ev.Kind == kernel.EventCommit && ev.Tx.Principal != serverPrincipal {
				sv.sync()
			}
		}
	}
}

// serverPrincipal commits the servers' states: its commits wake no sync.
const serverPrincipal = "forge/servers"

// sync starts, restarts and stops servers to match the image.
func (sv *supervisor) sync() {
	var specs []serverSpec
	if err := sv.f.read(func(lobby kernel.Object) {
		for _, o := range servers(lobby) {
			specs = append(specs, readServer(o))
		}
	}); err != nil {
		return
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	want := map[image.OID]bool{}
	for _, s := range specs {
		if !s.managed {
			continue
		}
		want[s.oid] = true
		key := strings.Join(s.argv(), "\x00")
		if p, ok := sv.running[s.oid]; ok {
			select {
			case <-p.done:
				// It died: start it again (its object says it is wanted).
			default:
				if p.key == key {
					continue
				}
			}
			sv.stop(p)
		}
		sv.start(s, key)
	}
	for oid, p := range sv.running {
		if !want[oid] {
			sv.stop(p)
			delete(sv.running, oid)
			sv.setState(oid, "stopped")
		}
	}
}

// start starts s and waits for its health in the background. Called with
// sv.mu held.
func (sv *supervisor) start(s serverSpec, key string) {
	if s.model == "" {
		sv.setState(s.oid, "not started: the server object has no model")
		delete(sv.running, s.oid)
		return
	}
	logPath := filepath.Join(sv.f.dir, "logs", "servers", s.name+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		sv.setState(s.oid, "failed: "+err.Error())
		return
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		sv.setState(s.oid, "failed: "+err.Error())
		return
	}
	argv := s.argv()
	fmt.Fprintf(logf, "batos: starting %s\n", strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		sv.setState(s.oid, fmt.Sprintf("failed: start %s: %v", argv[0], err))
		delete(sv.running, s.oid)
		return
	}
	p := &serverProc{spec: s, key: key, cmd: cmd, done: make(chan struct{})}
	sv.running[s.oid] = p
	sv.f.log.Info("model server started", "server", s.name, "pid", cmd.Process.Pid, "argv", strings.Join(argv, " "))
	go func() {
		err := cmd.Wait()
		logf.Close()
		close(p.done)
		sv.mu.Lock()
		current := sv.running[s.oid] == p
		sv.mu.Unlock()
		if current && sv.f.ctx.Err() == nil {
			sv.setState(s.oid, fmt.Sprintf("exited: %v (see %s)", err, logPath))
		}
	}()
	sv.setState(s.oid, fmt.Sprintf("starting (pid %d)", cmd.Process.Pid))
	sv.f.wg.Add(1)
	go func() {
		defer sv.f.wg.Done()
		ctx, cancel := context.WithTimeout(sv.f.ctx, s.timeout)
		defer cancel()
		ready := make(chan error, 1)
		go func() { ready <- llama.New(s.endpoint()).WaitReady(ctx) }()
		select {
		case err := <-ready:
			if err != nil {
				if sv.f.ctx.Err() == nil {
					sv.setState(s.oid, fmt.Sprintf("not ready after %s: %v", s.timeout, err))
				}
				return
			}
			sv.setState(s.oid, fmt.Sprintf("running (pid %d) at %s", cmd.Process.Pid, s.endpoint()))
		case <-p.done:
			cancel()
			<-ready
		}
	}()
}

// stop ends a server's process group: SIGTERM, then SIGKILL after 5 s.
func (sv *supervisor) stop(p *serverProc) {
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
	}
	sv.f.log.Info("model server stopped", "server", p.spec.name, "pid", pid)
}

func (sv *supervisor) stopAll() {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	for oid, p := range sv.running {
		sv.stop(p)
		delete(sv.running, oid)
	}
}

// setState commits a server's state; a failure is logged (the state is
// what users read, not what the supervisor acts on).
func (sv *supervisor) setState(oid image.OID, state string) {
	s := sv.f.k.NewSession(serverPrincipal)
	_, err := s.Run(context.Background(), "model server: "+state, func(lobby kernel.Object) error {
		o := s.Object(oid)
		if stringSlot(o, "state", "") != state {
			o.Set("state", state)
		}
		return nil
	})
	if err != nil && !errors.Is(err, kernel.ErrSessionClosed) {
		sv.f.log.Warn("model server state", "err", err)
	}
}

// restartCommand says how to restart an unmanaged server at endpoint so
// that it loads adapter too: its model and adapters as it reports them.
func restartCommand(ctx context.Context, endpoint, adapter string) string {
	cl := llama.New(endpoint)
	model := "MODEL.gguf"
	if p, err := cl.Props(ctx); err == nil && p.ModelPath != "" {
		model = p.ModelPath
	}
	var loras []string
	if as, err := cl.LoRAAdapters(ctx); err == nil {
		for _, a := range as {
			loras = append(loras, a.Path)
		}
	}
	if !slices.Contains(loras, adapter) {
		loras = append(loras, adapter)
	}
	port := "8080"
	if u, err := url.Parse(endpoint); err == nil && u.Port() != "" {
		port = u.Port()
	}
	cmd := []string{"llama-server", "-m", model, "--port", port}
	for _, l := range loras {
		cmd = append(cmd, "--lora", l)
	}
	return strings.Join(cmd, " ")
}
