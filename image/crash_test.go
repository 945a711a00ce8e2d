package image

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The crash tests re-execute the test binary as a child process running
// TestCrashChild, selected by these environment variables.
const (
	envChildDir  = "BATOS_IMAGE_CHILD_DIR"
	envChildMode = "BATOS_IMAGE_CHILD_MODE" // "transfer" or "hold"
)

const (
	accountA, accountB OID = 2, 3
	total                  = 1000
)

// TestCrashChild is not a test on its own: it is the child body of
// TestCrashRecovery and TestLockedOtherProcess.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(envChildDir)
	if dir == "" {
		t.Skip("child process body; run by TestCrashRecovery")
	}
	s, err := Open(dir, &Options{Attempts: 1 << 20, Create: true})
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(2)
	}
	if os.Getenv(envChildMode) == "hold" {
		fmt.Println("ready")
		select {} // hold the image until killed
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := range 3 { // concurrent committers: exercise group commit too
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), uint64(os.Getpid())))
			for {
				var n int
				info, err := s.Update("crash", func(tx *Txn) error {
					root, _, err := tx.Get(RootOID)
					if err != nil {
						return err
					}
					a, _, err := tx.Get(accountA)
					if err != nil {
						return err
					}
					b, _, err := tx.Get(accountB)
					if err != nil {
						return err
					}
					amount := r.IntN(50) - 25
					n = root.Slots[0].Value.(int) + 1
					for _, rec := range []*Record{
						obj(RootOID, "n", n, "a", Ref{accountA}, "b", Ref{accountB}),
						obj(accountA, "bal", a.Slots[0].Value.(int)-amount),
						obj(accountB, "bal", b.Slots[0].Value.(int)+amount),
					} {
						if err := tx.Put(rec); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					fmt.Printf("error %v\n", err)
					os.Exit(2)
				}
				out.Lock()
				fmt.Printf("ack %d %d\n", info.ID, n) // acknowledged: durable
				out.Unlock()
			}
		})
	}
	wg.Wait()
}

func startChild(t *testing.T, dir, mode string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), envChildDir+"="+dir, envChildMode+"="+mode)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewScanner(stdout)
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)
	dir := t.TempDir()
	s := openAt(t, dir, nil)
	mustCommit(t, s,
		obj(RootOID, "n", 0, "a", Ref{accountA}, "b", Ref{accountB}),
		obj(accountA, "bal", total/2), obj(accountB, "bal", total/2))
	s.Close()

	for round := range 20 {
		cmd, lines := startChild(t, dir, "transfer")
		want := 1 + rng.IntN(40)
		var maxTx TxID
		maxN, acks := 0, 0
		for acks < want && lines.Scan() {
			f := strings.Fields(lines.Text())
			if len(f) != 3 || f[0] != "ack" {
				kill(t, cmd)
				t.Fatalf("seed %d round %d: child said %q", seed, round, lines.Text())
			}
			tx, _ := strconv.ParseUint(f[1], 10, 64)
			n, _ := strconv.Atoi(f[2])
			maxTx, maxN = max(maxTx, TxID(tx)), max(maxN, n)
			acks++
		}
		kill(t, cmd)
		if acks < want {
			t.Fatalf("seed %d round %d: child ended after %d acks: %v", seed, round, acks, lines.Err())
		}

		s, err := Open(dir, nil)
		if err != nil {
			t.Fatalf("seed %d round %d: reopen: %v", seed, round, err)
		}
		if rep, err := s.Check(); err != nil {
			s.Close()
			t.Fatalf("seed %d round %d: Check: %v %q", seed, round, err, rep.Problems)
		}
		if s.LastTx() < maxTx {
			t.Errorf("seed %d round %d: LastTx %d < acknowledged %d", seed, round, s.LastTx(), maxTx)
		}
		if _, err := s.TxInfo(maxTx); err != nil {
			t.Errorf("seed %d round %d: acknowledged tx lost: %v", seed, round, err)
		}
		a, b := slotValue(t, s, accountA, "bal").(int), slotValue(t, s, accountB, "bal").(int)
		if a+b != total {
			t.Errorf("seed %d round %d: a+b = %d+%d = %d, want %d", seed, round, a, b, a+b, total)
		}
		if n := slotValue(t, s, RootOID, "n").(int); n < maxN {
			t.Errorf("seed %d round %d: counter %d < acknowledged %d", seed, round, n, maxN)
		}
		s.Close()
		if t.Failed() {
			return
		}
	}
}

func TestLockedOtherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := t.TempDir()
	cmd, lines := startChild(t, dir, "hold")
	if !lines.Scan() || lines.Text() != "ready" {
		kill(t, cmd)
		t.Fatalf("child: %q %v", lines.Text(), lines.Err())
	}
	start := time.Now()
	_, err := Open(dir, nil)
	var le *LockedError
	if !errors.As(err, &le) {
		kill(t, cmd)
		t.Fatalf("Open while another process holds it = %v, want *LockedError", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Open took %v to fail; want at once", d)
	}
	kill(t, cmd)
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatalf("Open after the holder died: %v", err)
	}
	s.Close()
}
