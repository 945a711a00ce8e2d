// Package app is the TUI's root model: it lays the panes out, moves focus
// between them, routes the messages panes exchange (common.BrowseMsg,
// InspectMsg, InspectValueMsg, FocusMsg), forwards the image's live
// events to every pane, and owns the global overlays: the ? help, the :
// command line, the / search and the quit confirmation.
//
// Layout: the browser, inspector and history across the top, the
// workspace and transcript under them, an information line and the status
// bar at the bottom. The Forge pane (tui/forge) shares the transcript's
// place: whichever of the two was focused last is drawn there (tab goes
// from the transcript to the Forge, :forge focuses it), and a hidden pane
// still gets every message but keys and the mouse. Sizes are computed
// once per tea.WindowSizeMsg, never at the end of an Update. Key presses
// reach only the focused pane (after the app's global keys, which yield
// to a pane that is Editing); mouse clicks focus the pane under the
// pointer and wheel events scroll it (both reach that pane with X and Y
// relative to its content); every other message reaches every pane.
//
// Work that may take time (image calls, the status poll, search) runs in
// tea.Cmds, off the UI loop. The status bar polls api.Image.Status every
// few seconds (the server and client name when attached remotely, how
// many clients share the image, and the Forge's jobs running and queued,
// saying so when queued jobs have no worker to run them). A commit by the
// Forge or to Lobby.Forge, and a Forge event that tells of a job in a new
// state, ask for the status at once too: one request at a time, with one
// more after it for whatever was asked meanwhile; an answer older than the
// one shown is dropped.
//
// The live feed is one subscription. When the image drops it for falling
// behind (an api.EventMissed, after which the channel closes), the app
// subscribes again, passes the EventMissed on (the transcript marks the
// gap), broadcasts common.RefreshMsg so that panes reload what the missed
// commits may have changed, and says so on the information line. A feed
// that closes without one is reported as disconnected in the status bar.
//
// Colours are downsampled by Bubble Tea's renderer to the
// profile it detects (or tea.WithColorProfile forces); every distinction
// colour makes is also made by text (border weight, markers), so NO_COLOR
// terminals stay readable.
package app
