package forge_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"batos"
	"batos/forge"
	"batos/kernel/pllm/bench"
	"batos/kernel/pllm/bench/benchtest"
	"batos/kernel/sandbox"
	"batos/llama/llamatest"
)

// TestHeldOutPassRate: the evaluate step asks the held-out mandates of
// BRICK's own server, with BRICK's current adapter and with the new one,
// through the real pipeline; the new adapter is registered only if its
// pass rate did not fall. The server here answers the mandates right
// only when a request applies the adapter the test makes better or
// worse.
func TestHeldOutPassRate(t *testing.T) {
	suite, err := bench.Load(batos.Mandates, batos.MandatesDir)
	if err != nil {
		t.Fatal(err)
	}
	runner := &sandbox.Runner{Command: []string{os.Args[0]}, Env: []string{"BATOS_SANDBOX_CHILD=1"}, Timeout: 30 * time.Second, Warm: true}
	for _, tc := range []struct {
		name      string
		newIsGood bool
		state     string
	}{{"better", true, forge.Succeeded}, {"worse", false, forge.Failed}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, forge.Options{Sandbox: runner})
			e.mode("success")
			gguf := filepath.Join(e.dir, "adapters", "BRICK", "v1", forge.AdapterFile)
			srv := llamatest.New(t)
			srv.SetAdapters(llamatest.Adapter{Path: gguf})
			srv.Respond(benchtest.Respond(suite, func(m *bench.Mandate, body map[string]any) string {
				if withNew := strings.Contains(fmt.Sprint(body["lora"]), "map[id:0 scale:1]"); withNew != tc.newIsGood {
					return ""
				}
				return m.Reference
			}))
			e.eval(fmt.Sprintf(`p := Lobby.At("pLLM"); p.Set("endpoint", %q); p.Set("maxAttempts", 1); p.At("personas").At("BRICK").Set("endpoint", %q)`, srv.URL, srv.URL))
			id := e.queue()
			if got := e.await(id, forge.Succeeded, forge.Failed); got != tc.state {
				t.Fatalf("job ended %s, want %s; reason %v", got, tc.state, e.jobSlot(id, "reason"))
			}
			rates, _ := e.jobSlot(id, "heldOut").(map[string]any)
			held, _ := suite.Select(bench.HeldOut)
			good, bad := 1.0, 0.0
			if !tc.newIsGood {
				good, bad = bad, good
			}
			if rates["after"] != good || rates["before"] != bad || rates["mandates"] != len(held) {
				t.Fatalf("heldOut = %v", rates)
			}
			lineage, _ := e.eval(`v, _ := Lobby.At("pLLM").At("personas").At("BRICK").Lookup("adapter"); v`).(map[string]any)
			if tc.newIsGood {
				if r, _ := lineage["heldOut"].(map[string]any); r["after"] != 1.0 {
					t.Errorf("the lineage lacks the pass rates: %v", lineage)
				}
				return
			}
			if reason, _ := e.jobSlot(id, "reason").(string); !strings.Contains(reason, "held-out pass rate 0% with the adapter is below 100% with the current one") {
				t.Errorf("reason %q", reason)
			}
			if lineage != nil {
				t.Errorf("a worse adapter was registered: %v", lineage)
			}
		})
	}
}
