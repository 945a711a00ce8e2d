package app

import (
	"batos/tui/browser"
	"batos/tui/common"
	"batos/tui/entropy"
	"batos/tui/forge"
	"batos/tui/history"
	"batos/tui/inspector"
	"batos/tui/transcript"
	"batos/tui/workspace"
)

// defaultPanes builds the seven panes.
func defaultPanes(c *common.Common) Panes {
	return Panes{
		Browser:    browser.New(c),
		Inspector:  inspector.New(c),
		Workspace:  workspace.New(c),
		Transcript: transcript.New(c),
		History:    history.New(c),
		Forge:      defaultForge(c),
		Entropy:    defaultEntropy(c),
	}
}

// defaultForge builds the Forge pane.
func defaultForge(c *common.Common) common.Pane { return forge.New(c) }

// defaultEntropy builds the Entropy pane.
func defaultEntropy(c *common.Common) common.Pane { return entropy.New(c) }
