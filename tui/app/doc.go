// Package app is the TUI's root model: it lays the panes out, moves focus
// between them, routes the messages panes exchange (common.BrowseMsg,
// InspectMsg, InspectValueMsg, FocusMsg), forwards the image's live
// events to every pane, and owns the global overlays: the ? help, the :
// command line, the / search, the quit confirmation and the pager.
//
// The pager shows a long text in full where the panes and the info line
// cut it to a line ("…"): a scrollable viewport over the panes, with a
// title, the text sanitized and wrapped to its width (again on resize),
// j/k ↑/↓, pgup/pgdn (space, b), u/d, g/G to move and esc or q to close.
// A pane opens it by returning common.PagerMsg (the workspace's ctrl+r:
// the last output and result; the transcript's v: the selected entry);
// ctrl+l opens the info line's last message or error; :help opens
// internal/help.Text, the script API with examples, the commands and the
// limits, followed by the TUI's keys and commands.
//
// The info line's message (an error, or a line of information such as
// "reverted tx…") clears at the next key typed after it, whatever that
// key does (tab, shift+tab, :, /, an overlay's key, a pane's key; only
// ctrl+l, which shows it in full, leaves it), and at a mouse click. A line
// of information also goes after Options.InfoTimeout (8 s), counted per
// message so that the timeout of a replaced message clears nothing; an
// error stays until a key or click, never timing out, so that one is not
// missed while the person looked away.
//
// Layout: the browser, inspector and history across the top, the
// workspace and transcript under them, an information line and the status
// bar at the bottom. The Forge pane (tui/forge) and the Entropy pane
// (tui/entropy) share the transcript's place: whichever of the three was
// focused last is drawn there (tab goes from the transcript to the Forge,
// then to the Entropy pane; :forge and :entropy focus them), and a hidden
// pane still gets every message but keys and the mouse. The transcript's
// place is the one an 80×24 terminal can spare: the workspace beside it
// is where one types, and the top row's inspector and history are half as
// wide. Sizes are computed
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
// After the Forge's counts the status bar shows the Composite Entropy
// Metric (CEM 0.41), while the image has a reading: api.Status's CEM, the
// newest reading recorded in Lobby.entropy.series, which the status reads
// and does not measure. The status bar never measures: a measure is a
// Send, which runs in the client's one evaluation slot (it would wait
// behind, and delay, the workspace's evaluations) and tells every
// attached client that this one is busy. A commit by the entropy recorder
// (principal entropy), or one that changes Lobby.entropy (a record), asks
// for the status at once, as the Forge's do.
//
// After the CEM the status bar says whether the autotelic loop is on
// (auto on), and when no process runs its worker (auto on (no worker));
// nothing while it is off. A commit that changes Lobby.autotelic asks for
// the status at once. The command line's :autotelic shows the loop's
// state and ledger in the Entropy pane, zoomed; :autotelic on and off
// flip its switch; :autotelic step has the Entropy pane run one step,
// off the UI loop (see tui/entropy).
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
