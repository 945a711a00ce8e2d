package app_test

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"batos/tui/app"
	"batos/tui/browser"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/entropy"
	"batos/tui/forge"
	"batos/tui/history"
	"batos/tui/inspector"
	"batos/tui/transcript"
	"batos/tui/workspace"
)

// TestTinySizes renders the app and every pane at degenerate sizes: none
// may panic.
func TestTinySizes(t *testing.T) {
	for _, size := range [][2]int{{0, 0}, {1, 1}, {5, 1}, {3, 2}, {20, 5}, {1, 3}, {2, 4}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			img := commontest.New()
			c := &common.Common{Image: img, Styles: common.DefaultStyles(), Clock: func() time.Time { return clock }}
			m := app.New(c, app.Options{StatusEvery: -1})
			m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			_ = m.Render()
			for _, p := range []common.Pane{browser.New(c), inspector.New(c), history.New(c), workspace.New(c), transcript.New(c), forge.New(c), entropy.New(c)} {
				p.SetSize(size[0], size[1])
				_ = p.View()
				p.Focus()
				_ = p.View()
			}
		})
	}
}
