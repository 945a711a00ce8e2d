package main_test

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"batos/api"
	"batos/remote"
	"batos/server"
)

// startServer runs `batos serve` on a free loopback port and returns the
// process and the address it printed; env is added to its environment
// (by default no model server answers).
func startServer(t *testing.T, image string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(batosBin, "serve", "--image", image, "--listen", "127.0.0.1:0")
	cmd.Env = append(append(cmd.Environ(), "BATOS_LLM_URL=http://127.0.0.1:1"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(stderr)
	at := regexp.MustCompile(`at (ws://127\.0\.0\.1:\d+/)`)
	for lines.Scan() {
		if m := at.FindStringSubmatch(lines.Text()); m != nil {
			go func() { // keep draining, so the server never blocks on stderr
				for lines.Scan() {
				}
			}()
			return cmd, m[1]
		}
	}
	t.Fatalf("batos serve exited without serving: %v", cmd.Wait())
	return nil, ""
}

// TestServeSIGTERMUnderLoad: clients hammer a served image; SIGTERM stops
// the server with every acknowledged commit durable, clients are told the
// server is going away, and the token file is gone.
func TestServeSIGTERMUnderLoad(t *testing.T) {
	image := filepath.Join(t.TempDir(), "img")
	cmd, addr := startServer(t, image)
	tf, err := server.ReadToken(image)
	if err != nil || tf.Addr != addr || len(tf.Token) != 64 {
		t.Fatalf("token file: %+v, %v", tf, err)
	}
	// Without the token nothing gets in.
	if _, err := remote.Dial(context.Background(), addr, remote.Options{}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("dial without a token: %v", err)
	}
	if _, err := remote.Dial(context.Background(), addr, remote.Options{Token: strings.Repeat("0", 64)}); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("dial with a wrong token: %v", err)
	}

	const clients = 8
	var mu sync.Mutex
	acked := 0
	started := make(chan struct{}, clients*4)
	var wg sync.WaitGroup
	for i := range clients {
		img, err := remote.Dial(context.Background(), addr, remote.Options{Token: tf.Token, Client: fmt.Sprintf("c%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		defer img.Close()
		slot := fmt.Sprintf("n%d", i)
		if _, err := img.SetSlot(context.Background(), api.LobbyOID, slot, api.Int(0)); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, err := img.Eval(context.Background(), fmt.Sprintf(`Lobby.Set(%q, Lobby.Get(%q).(int)+1)`, slot, slot))
				if err != nil {
					if k := api.KindOf(err); k != api.ErrClosed {
						t.Errorf("client %d: %v (kind %q), want closed once the server stops", i, err, k)
					}
					return
				}
				mu.Lock()
				acked++
				mu.Unlock()
				select {
				case started <- struct{}{}:
				default:
				}
			}
		}()
	}
	for range clients * 4 {
		<-started
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("batos serve after SIGTERM: %v", err)
	}
	if _, err := server.ReadToken(image); err == nil {
		t.Fatal("the token file outlived the server")
	}
	// Opened directly now: every acknowledged increment is there; at most
	// one more per client (a commit whose answer the shutdown cut off).
	r := batos(t, "", nil, "eval", "--image", image, `s := 0; for i := 0; i < 8; i++ { s += Lobby.Get(fmt.Sprintf("n%d", i)).(int) }; s`)
	var total int
	if _, err := fmt.Sscan(r.out, &total); err != nil || r.code != 0 {
		t.Fatalf("sum: %+v", r)
	}
	if total < acked || total > acked+clients {
		t.Fatalf("%d increments in the image, %d acknowledged", total, acked)
	}
	t.Logf("%d increments acknowledged before SIGTERM, %d durable", acked, total)
}

// TestImageCommandsOnServedImage: history, info and undo reach a served
// image through its server; pack and check, which need the image to
// themselves, say who has it.
func TestImageCommandsOnServedImage(t *testing.T) {
	image := filepath.Join(t.TempDir(), "img")
	_, addr := startServer(t, image)
	if r := batos(t, "", nil, "eval", "--image", image, `Lobby.Set("answer", 42)`); r.code != 0 {
		t.Fatalf("eval through the server: %+v", r)
	}
	r := batos(t, "", nil, "image", "history", "--image", image, "-n", "1")
	fields := strings.Fields(r.out)
	if r.code != 0 || len(fields) < 4 || !strings.HasPrefix(fields[3], "remote:") {
		t.Fatalf("history of a served image: %+v", r)
	}
	id := fields[0]
	if r := batos(t, "", nil, "image", "info", "--image", image); r.code != 0 || !strings.Contains(r.out, "served at:    "+addr) {
		t.Fatalf("info of a served image: %+v", r)
	}
	if r := batos(t, "", nil, "image", "undo", id, "--image", image); r.code != 0 || !strings.Contains(r.out, "undid transaction "+id) {
		t.Fatalf("undo on a served image: %+v", r)
	}
	if r := batos(t, "", nil, "eval", "--image", image, `fmt.Sprint(Lobby.Slots())`); r.code != 0 || strings.Contains(r.out, "answer") {
		t.Fatalf("after the undo: %+v", r)
	}
	if r := batos(t, "", nil, "image", "check", "--image", image); r.code != 0 || !strings.Contains(r.out, ": 0 problems") {
		t.Fatalf("check of a served image: %+v", r)
	}
	oneLineError(t, batos(t, "", nil, "image", "pack", "--image", image), "is served at "+addr, "stop the server first")
}
