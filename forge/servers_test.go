package forge_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"batos/forge"
	"batos/llama"
)

// fakeServerEnv makes this test binary a stand-in for llama-server: it
// takes llama-server's flags and answers /health, /props and
// /lora-adapters with the model and adapters it was started with, as the
// real one does. The supervisor cannot tell it apart.
const fakeServerEnv = "BATOS_FAKE_LLAMA_SERVER"

func fakeServer(args []string) int {
	fs := flag.NewFlagSet("llama-server", flag.ContinueOnError)
	model := fs.String("m", "", "model")
	host := fs.String("host", "127.0.0.1", "host")
	port := fs.Int("port", 8080, "port")
	var loras []string
	fs.Func("lora", "adapter", func(v string) error { loras = append(loras, v); return nil })
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", *host, *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"status":"ok"}`) })
	mux.HandleFunc("GET /props", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"model_path": *model, "default_generation_settings": map[string]any{"n_ctx": 4096}})
	})
	mux.HandleFunc("GET /lora-adapters", func(w http.ResponseWriter, _ *http.Request) {
		list := []map[string]any{}
		for i, l := range loras {
			list = append(list, map[string]any{"id": i, "path": l, "scale": 0.0})
		}
		json.NewEncoder(w).Encode(list)
	})
	fmt.Fprintf(os.Stderr, "fake llama-server: %s with %v on %d\n", *model, loras, *port)
	http.Serve(ln, mux)
	return 0
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestManagedServer: the worker starts a managed server as its object
// says; a registration adds the new adapter to it, the supervisor
// restarts it, and the server then has the persona's adapter loaded;
// closing the Forge stops it.
func TestManagedServer(t *testing.T) {
	t.Setenv(fakeServerEnv, "1")
	e := newEnv(t, forge.Options{})
	e.mode("success")
	port := freePort(t)
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e.eval(fmt.Sprintf(`s := NewObject(); s.Set("name", "brick"); s.Set("binary", %q); s.Set("model", "/models/base.gguf"); s.Set("port", %d); s.Set("managed", true)
Lobby.At("pLLM").Set("servers", []any{s})
Lobby.At("pLLM").At("personas").At("BRICK").Set("endpoint", %q)`, exe, port, endpoint))
	cl := llama.New(endpoint)
	// adapters asks the server for its adapters, waiting for it to be
	// up; it may be restarting meanwhile, which the callers poll past.
	adapters := func() []llama.Adapter {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cl.WaitReady(ctx); err != nil {
			t.Fatalf("the managed server did not come up: %v", err)
		}
		as, _ := cl.LoRAAdapters(ctx)
		return as
	}
	if as := adapters(); len(as) != 0 {
		t.Fatalf("adapters before any registration: %v", as)
	}
	id := e.queue()
	e.await(id, forge.Succeeded)
	gguf := filepath.Join(e.dir, "adapters", "BRICK", "v1", forge.AdapterFile)
	if r := e.eval(fmt.Sprintf(`found := false; for _, j := range Lobby.At("Forge").Get("jobs").([]any) { if j.(Object).Get("id") == %d { _, found = j.(Object).Lookup("restart") } }; found`, id)); r != false {
		t.Fatal("a managed server's job asks for a manual restart")
	}
	// The supervisor restarts the server once the registration commits.
	deadline := time.Now().Add(30 * time.Second)
	for {
		as := adapters()
		if len(as) == 1 && as[0].Path == gguf {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server's adapters after registration: %v, want %s", as, gguf)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st, _ := e.eval(`Lobby.At("pLLM").Get("servers").([]any)[0].(Object).Get("state")`).(string); !strings.HasPrefix(st, "running") && !strings.HasPrefix(st, "starting") {
		t.Fatalf("server state = %q", st)
	}
	// A second registration replaces BRICK's adapter rather than adding.
	id2 := e.queue()
	e.await(id2, forge.Succeeded)
	gguf2 := filepath.Join(e.dir, "adapters", "BRICK", "v2", forge.AdapterFile)
	for {
		as := adapters()
		if len(as) == 1 && as[0].Path == gguf2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server's adapters after the second registration: %v, want only %s", as, gguf2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := cl.Health(ctx); err == nil {
		t.Fatal("the managed server outlived the Forge that started it")
	}
}
