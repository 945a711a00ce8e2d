package app

import (
	"batos/tui/browser"
	"batos/tui/common"
	"batos/tui/history"
	"batos/tui/inspector"
	"batos/tui/transcript"
	"batos/tui/workspace"
)

// defaultPanes builds the five panes.
func defaultPanes(c *common.Common) Panes {
	return Panes{
		Browser:    browser.New(c),
		Inspector:  inspector.New(c),
		Workspace:  workspace.New(c),
		Transcript: transcript.New(c),
		History:    history.New(c),
	}
}
