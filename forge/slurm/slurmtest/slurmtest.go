// Package slurmtest starts a private single-node Slurm cluster for the
// length of one test, so that the slurm backend is tested against the real
// sbatch, squeue, scontrol and scancel rather than against fakes.
//
// The model: everything the cluster is lives in the test's temporary
// directory and in child processes the test owns. A private munged
// (its own key, socket, pid and seed files) authenticates a slurmctld and
// a slurmd started in the foreground (-D) on a slurm.conf written there,
// with free ports of their own, so that nothing global is touched — not
// /etc/slurm, not /etc/munge, not the system's munged or a Slurm that may
// already run on the machine. Clients reach the cluster through
// SLURM_CONF (Cluster.Env). Cleanup cancels the jobs still queued, then
// stops exactly the daemons Start started: SIGTERM, SIGKILL after a grace.
//
// Start skips the test, with the reason, where the cluster cannot exist:
// Debian's slurmctld, slurmd, slurm-client and munge are not installed, the
// test does not run as root (slurmd must, to launch jobs), or the daemons
// do not come up. Set SLURMTEST_REQUIRE=1 to make those skips failures,
// where Slurm is known to be installed.
//
// Timing: the node is idle within a second or two of Start. Slurm's time
// limits are whole minutes and slurmctld checks them every 30 seconds (a
// constant of its controller), so a job past its limit is killed 60 to 90
// seconds after it started, whatever this configuration says.
package slurmtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Partition is the cluster's one partition, the default.
const Partition = "batos"

// startTimeout bounds the wait for the node to turn idle; it is a ceiling,
// not a sleep: the wait polls sinfo.
const startTimeout = 30 * time.Second

// stopGrace is how long a daemon has between SIGTERM and SIGKILL.
const stopGrace = 5 * time.Second

// A Cluster is a running private Slurm cluster.
type Cluster struct {
	// Dir holds the configuration, state, spool, keys and logs.
	Dir string
	// Conf is slurm.conf's path.
	Conf string
	// Node is the node's name (the host's short name).
	Node string
	// Env is what the clients need to reach this cluster (SLURM_CONF=…),
	// for forge/slurm's Config.Env.
	Env []string

	mu      sync.Mutex
	daemons []*daemon // in start order; stopped in reverse
}

// A daemon is one child process the cluster owns.
type daemon struct {
	name string
	cmd  *exec.Cmd
	out  string        // its standard output and error
	done chan struct{} // closed when it exited
	err  error         // its exit, once done is closed
}

// binaries are the programs the cluster needs; Debian puts the daemons in
// /usr/sbin, which a non-login root shell may not have on PATH.
var binaries = []string{"munged", "slurmctld", "slurmd", "sinfo", "sbatch", "squeue", "scontrol", "scancel"}

// Start starts a private cluster and registers its stopping with
// t.Cleanup. It skips t (see the package comment) when it cannot.
func Start(t testing.TB) *Cluster {
	t.Helper()
	skip := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("SLURMTEST_REQUIRE") == "1" {
			t.Fatalf("slurmtest: "+format, args...)
		}
		t.Skipf("slurmtest: "+format, args...)
	}
	paths := map[string]string{}
	for _, name := range binaries {
		p, err := lookPath(name)
		if err != nil {
			skip("%s not installed (apt-get install slurmctld slurmd slurm-client munge)", name)
		}
		paths[name] = p
	}
	if os.Geteuid() != 0 {
		skip("needs root: slurmd launches jobs as their user, and SlurmUser is root here")
	}
	host, err := os.Hostname()
	if err != nil {
		skip("no host name: %v", err)
	}
	host, _, _ = strings.Cut(host, ".") // `hostname -s`

	c := &Cluster{Dir: t.TempDir(), Node: host}
	t.Cleanup(c.stop)
	// munged refuses a socket whose directories not everyone can traverse:
	// open up the two that testing made for this test (0700).
	for _, d := range []string{filepath.Dir(c.Dir), c.Dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			skip("%v", err)
		}
	}
	sock := filepath.Join(c.Dir, "munge.sock")
	if len(sock) > 100 { // sockaddr_un holds 108 bytes
		short, err := os.MkdirTemp("", "slurmtest-")
		if err != nil {
			skip("%v", err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(short) })
		if err := os.Chmod(short, 0o755); err != nil {
			skip("%v", err)
		}
		sock = filepath.Join(short, "munge.sock")
	}
	for _, d := range []string{"state", "spool"} {
		if err := os.Mkdir(filepath.Join(c.Dir, d), 0o755); err != nil {
			skip("%v", err)
		}
	}

	// A private munged: the system's one (/run/munge) may not run — a fresh
	// CI machine starts no services — and a key of our own keeps this
	// cluster's credentials apart from any real one. There is no fallback
	// to the system's: the private one needs nothing the system's does not
	// (root, the munge package), and where it cannot start anyway the test
	// skips with munged's words rather than lean on global state. munged
	// insists on a key readable only by its owner.
	key := make([]byte, 1024)
	_, _ = rand.Read(key) // never fails (crypto/rand)
	keyFile := filepath.Join(c.Dir, "munge.key")
	if err := os.WriteFile(keyFile, key, 0o400); err != nil {
		skip("%v", err)
	}
	if err := c.spawn("munged", paths["munged"], "--foreground",
		"--socket="+sock, "--key-file="+keyFile,
		"--pid-file="+filepath.Join(c.Dir, "munged.pid"),
		"--log-file="+filepath.Join(c.Dir, "munged.log"),
		"--seed-file="+filepath.Join(c.Dir, "munged.seed")); err != nil {
		skip("%v", err)
	}
	if err := c.await(5*time.Second, "munged's socket", func() bool {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return false
		}
		_ = conn.Close()
		return true
	}); err != nil {
		skip("%v\n%s", err, c.Logs())
	}

	ports, err := freePorts(2)
	if err != nil {
		skip("%v", err)
	}
	c.Conf = filepath.Join(c.Dir, "slurm.conf")
	if err := os.WriteFile(c.Conf, []byte(c.config(sock, ports[0], ports[1])), 0o644); err != nil {
		skip("%v", err)
	}
	c.Env = []string{"SLURM_CONF=" + c.Conf}
	if err := c.spawn("slurmctld", paths["slurmctld"], "-D", "-f", c.Conf); err != nil {
		skip("%v", err)
	}
	if err := c.spawn("slurmd", paths["slurmd"], "-D", "-f", c.Conf, "-N", c.Node); err != nil {
		skip("%v", err)
	}
	if err := c.await(startTimeout, "the node to be idle", func() bool {
		out, _ := c.Command(context.Background(), paths["sinfo"], "-h", "-o", "%T").Output()
		return strings.TrimSpace(string(out)) == "idle"
	}); err != nil {
		skip("%v\n%s", err, c.Logs())
	}
	return c
}

// config is slurm.conf: one node, one partition, every file under Dir.
func (c *Cluster) config(sock string, ctldPort, dPort int) string {
	d := func(name string) string { return filepath.Join(c.Dir, name) }
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# A private single-node cluster for one test (forge/slurm/slurmtest).")
	line("ClusterName=batostest")
	// The address in parentheses spares a name lookup.
	line("SlurmctldHost=%s(127.0.0.1)", c.Node)
	line("SlurmctldPort=%d", ctldPort)
	line("SlurmdPort=%d", dPort)
	line("AuthType=auth/munge")
	line("CredType=cred/munge")
	line("AuthInfo=socket=%s", sock)
	line("SlurmUser=root")
	line("SlurmdUser=root")
	line("StateSaveLocation=%s", d("state"))
	line("SlurmdSpoolDir=%s", d("spool"))
	line("SlurmctldPidFile=%s", d("slurmctld.pid"))
	line("SlurmdPidFile=%s", d("slurmd.pid"))
	line("SlurmctldLogFile=%s", d("slurmctld.log"))
	line("SlurmdLogFile=%s", d("slurmd.log"))
	// No cgroups: a container or a CI machine may not delegate them.
	line("ProctrackType=proctrack/linuxproc")
	line("TaskPlugin=task/none")
	line("SelectType=select/cons_tres")
	// Cores only: memory as a consumable would give each job the whole
	// node's memory by default, one job at a time.
	line("SelectTypeParameters=CR_Core")
	// FIFO, and batch jobs scheduled at submission (the default delays
	// them up to 3 s).
	line("SchedulerType=sched/builtin")
	line("SchedulerParameters=batch_sched_delay=0")
	line("AccountingStorageType=accounting_storage/none")
	line("JobCompType=jobcomp/none")
	line("JobAcctGatherType=jobacct_gather/none")
	line("MpiDefault=none")
	line("SwitchType=switch/none")
	line("MailProg=/bin/true")
	line("ReturnToService=2")
	// Ended jobs are forgotten soon (slurmctld purges once a minute), so
	// that tests can reach the backend's fallback on Spec.Status.
	line("MinJobAge=2")
	// Kill promptly: SIGKILL 2 s after SIGTERM, no grace past the limit.
	// InactiveLimit concerns srun and salloc only; 0 says so.
	line("KillWait=2")
	line("OverTimeLimit=0")
	line("InactiveLimit=0")
	line("NodeName=%s NodeAddr=127.0.0.1 CPUs=%d RealMemory=512 State=UNKNOWN", c.Node, runtime.NumCPU())
	// FORCE:8 shares each core among up to 8 jobs: tests run more jobs at
	// once than a small machine has cores, and they mostly sleep.
	line("PartitionName=%s Nodes=%s Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8", Partition, c.Node)
	return b.String()
}

// Command is a Slurm client command aimed at this cluster.
func (c *Cluster) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), c.Env...)
	return cmd
}

// Logs returns the tail of each daemon's output, for a failing test's
// message. In the foreground the daemons log to standard error as well as
// to their log files, and errors before the log file opens go there only.
func (c *Cluster) Logs() string {
	c.mu.Lock()
	daemons := append([]*daemon(nil), c.daemons...)
	c.mu.Unlock()
	var b strings.Builder
	for _, d := range daemons {
		data, err := os.ReadFile(d.out)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		const limit = 4000 // the tail says why
		if len(data) > limit {
			data = data[len(data)-limit:]
		}
		fmt.Fprintf(&b, "--- %s (%s)\n%s\n", d.name, d.out, bytes.TrimRight(data, "\n"))
	}
	return b.String()
}

// spawn starts a daemon in the foreground as a child of this process.
func (c *Cluster) spawn(name, path string, args ...string) error {
	out, err := os.Create(filepath.Join(c.Dir, name+".out"))
	if err != nil {
		return err
	}
	defer out.Close() // the child holds its own descriptor
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Dir = c.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = daemonAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, out: out.Name(), done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	c.mu.Lock()
	c.daemons = append(c.daemons, d)
	c.mu.Unlock()
	return nil
}

// await polls cond until it holds, a daemon exits, or timeout passes.
func (c *Cluster) await(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return nil
		}
		c.mu.Lock()
		for _, d := range c.daemons {
			select {
			case <-d.done:
				c.mu.Unlock()
				return fmt.Errorf("waiting for %s: %s exited: %v", what, d.name, d.err)
			default:
			}
		}
		c.mu.Unlock()
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: not after %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop cancels the jobs still known, so that no job's slurmstepd outlives
// the cluster, then stops the daemons, last started first.
func (c *Cluster) stop() {
	c.mu.Lock()
	daemons := c.daemons
	c.daemons = nil
	c.mu.Unlock()
	if c.Conf != "" && len(daemons) == 3 && alive(daemons[1]) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = c.Command(ctx, "scancel", "--partition="+Partition).Run()
		for ctx.Err() == nil {
			out, err := c.Command(ctx, "squeue", "-h", "-o", "%i").Output()
			if err != nil || len(bytes.TrimSpace(out)) == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		cancel()
	}
	for i := len(daemons) - 1; i >= 0; i-- {
		d := daemons[i]
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(stopGrace):
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	}
}

func alive(d *daemon) bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// lookPath finds a program on PATH or in /usr/sbin.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err != nil {
		return "", errors.New(name + " not found")
	}
	return p, nil
}

// freePorts returns n distinct loopback ports free a moment ago. Holding
// every listener until all are chosen keeps them distinct; another process
// taking one before the daemons bind it would make Start skip, not fail.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
