// Package tui is batos's terminal IDE: a Smalltalk-style live-image
// environment (browser, inspector, workspace, transcript, history, forge,
// entropy) built with Bubble Tea v2. It reaches the image only through
// api.Image, so that the same TUI can drive a remote kernel.
//
// Run starts it; tui/app is the root model, tui/common the contract panes
// implement, and each pane has its own package.
package tui

import (
	"fmt"
	"io"
	"time"

	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/app"
	"batos/tui/common"
)

// Options configure Run.
type Options struct {
	// Input and Output replace the terminal (tests); nil: the terminal.
	Input  io.Reader
	Output io.Writer
	// StatusEvery is how often the status bar polls the image (default 3 s).
	StatusEvery time.Duration
	// OnFirstView is called once the first frame is rendered.
	OnFirstView func()
}

// Run runs the TUI on img until the user quits. Nothing committed is lost
// by quitting: every commit is durable when it returns.
func Run(img api.Image, opts Options) error {
	c := &common.Common{Image: img, Styles: common.DefaultStyles()}
	m := app.New(c, app.Options{StatusEvery: opts.StatusEvery, OnFirstView: opts.OnFirstView})
	defer m.Close()
	var popts []tea.ProgramOption
	if opts.Input != nil {
		popts = append(popts, tea.WithInput(opts.Input))
	}
	if opts.Output != nil {
		popts = append(popts, tea.WithOutput(opts.Output))
	}
	if _, err := tea.NewProgram(m, popts...).Run(); err != nil {
		return fmt.Errorf("tui: %w", err)
	}
	return nil
}
