package commontest

import (
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// Recorder wraps a tea.Model and keeps its last rendered view, so that a
// test can wait for what is on screen without decoding the renderer's
// output (which only redraws the cells that changed).
type Recorder struct {
	tea.Model
	mu   sync.Mutex
	last string
}

// Record wraps m.
func Record(m tea.Model) *Recorder { return &Recorder{Model: m} }

// Update implements tea.Model.
func (r *Recorder) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	r.Model, cmd = r.Model.Update(msg)
	return r, cmd
}

// View implements tea.Model.
func (r *Recorder) View() tea.View {
	v := r.Model.View()
	r.mu.Lock()
	r.last = v.Content
	r.mu.Unlock()
	return v
}

// Screen returns the last view, without styles.
func (r *Recorder) Screen() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return ansi.Strip(r.last)
}

// WaitFor waits until the screen shows every text, failing the test after
// timeout with the screen as it was.
func (r *Recorder) WaitFor(tb testing.TB, timeout time.Duration, texts ...string) {
	tb.Helper()
	r.WaitUntil(tb, timeout, strings.Join(texts, ", "), func(screen string) bool {
		for _, s := range texts {
			if !strings.Contains(screen, s) {
				return false
			}
		}
		return true
	})
}

// WaitUntil waits until cond holds of the screen.
func (r *Recorder) WaitUntil(tb testing.TB, timeout time.Duration, what string, cond func(screen string) bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := r.Screen()
		if cond(s) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("screen never showed %s after %s; it shows:\n%s", what, timeout, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
