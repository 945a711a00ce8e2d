package repl

import (
	"context"
	"strings"
	"testing"
	"time"

	"batos/api"
	"batos/internal/iostreams"
	"batos/tui/common/commontest"
)

// confirmImage answers an entry with the pLLM's confirm question until
// Lobby.pLLM.allowWrite was sent for it.
type confirmImage struct {
	*commontest.Image
	entry   string
	allowed bool
}

func (c *confirmImage) Eval(ctx context.Context, src string) (api.Result, error) {
	src = strings.TrimSpace(src)
	switch {
	case strings.Contains(src, `Send("allowWrite", ObjectAt(1), "twice")`):
		c.allowed = true
		return api.Result{}, nil
	case src == c.entry && !c.allowed:
		return api.Result{}, &api.Error{Kind: api.ErrNotUnderstood, Confirm: true, Selector: "twice", Object: &api.Ref{OID: 1, Name: "Lobby"},
			Message: "Lobby does not understand twice (with 1 argument); Lobby.pLLM.confirm is on"}
	case src == c.entry:
		return api.Result{HasValue: true, Value: api.Int(8)}, nil
	}
	return c.Image.Eval(ctx, src)
}

// TestConfirmAsks: with Lobby.pLLM.confirm on, the interactive REPL asks
// before the pLLM writes a method; yes allows it and runs the entry
// again, no leaves the error. Piped input is not asked.
func TestConfirmAsks(t *testing.T) {
	const entry = `Lobby.Send("twice", 4)`
	// The fake image publishes no idle event to wait for.
	defer func(d time.Duration) { idleWait = d }(idleWait)
	idleWait = time.Millisecond
	for _, tc := range []struct {
		name, input string
		interactive bool
		want, not   string
	}{
		{"yes", entry + "\ny\n", true, "let the pLLM write twice on Lobby? [y/N] 8\n", "error:"},
		{"no", entry + "\nn\n", true, "[y/N] error: Lobby does not understand twice", "8\n"},
		{"piped", entry + "\n", false, "error: Lobby does not understand twice", "[y/N]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ios, in, out, _ := iostreams.Test()
			ios.Interactive = tc.interactive
			in.WriteString(tc.input)
			img := &confirmImage{Image: commontest.New(), entry: entry}
			if err := Loop(&Options{IO: ios}, img); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); !strings.Contains(got, tc.want) || strings.Contains(got, tc.not) {
				t.Fatalf("output:\n%s", got)
			}
		})
	}
}
