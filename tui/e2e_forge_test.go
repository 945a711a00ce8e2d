package tui_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestEndToEndForge: a fine-tune queued in the workspace of the real
// binary (whose TUI runs the Forge's worker) is watched in the Forge pane
// until it succeeds, with its adapter registered, and counted in the
// status bar meanwhile or not at all once it ended.
func TestEndToEndForge(t *testing.T) {
	x := newTmux(t)
	image := filepath.Join(t.TempDir(), "image")
	script, err := filepath.Abs(filepath.Join("..", "forge", "testdata", "trainer.sh"))
	if err != nil {
		t.Fatal(err)
	}
	testdata := filepath.Dir(script)
	src := fmt.Sprintf(`f := Lobby.Get("Forge").(Object); f.Set("minExamples", 0); f.Set("trainer", []any{"/bin/sh", %q, "success", "{dataset}", "{out}", %q}); f.Set("baseModel", %q)`,
		script, filepath.Join(testdata, "peft"), filepath.Join(testdata, "tiny-base"))
	eval := exec.Command(binary, "eval", "--image", image, src)
	eval.Env = append(os.Environ(), "BATOS_LLM_URL=http://127.0.0.1:1")
	if out, err := eval.CombinedOutput(); err != nil {
		t.Fatalf("set the trainer: %v\n%s", err, out)
	}

	x.start("forge", image)
	x.waitFor("forge", "objects", "[Browser]")
	x.keys("forge", "Tab", "Tab", "Tab")
	x.waitFor("forge", "[Workspace]")
	x.text("forge", `Lobby.Get("Forge").(Object).Send("fineTune", "BRICK")`)
	x.keys("forge", "C-d")
	x.waitFor("forge", "✓ done")
	x.keys("forge", "Escape") // stop typing: : reaches the app
	x.waitFor("forge", "type again")
	x.text("forge", ":forge")
	x.keys("forge", "Enter")
	x.waitFor("forge", "[Forge]", "1 BRICK", "succeeded", "step 3/3", "adapter v1 of BRICK registered")
	x.text("forge", "q")
	x.waitFor("forge", "BATOS-EXIT-0")
}
