// Package workspace is the TUI's workspace pane: a multi-line Go input
// evaluated against the image, as Pharo's Playground.
//
// do it (ctrl+d) evaluates and reports only an error or a short
// confirmation; print it (ctrl+p) shows the printed value under the input;
// inspect it (ctrl+o; ctrl+i too where the terminal tells it from tab)
// opens the value in the inspector: an object as common.InspectMsg, any
// other value as common.InspectValueMsg. Evaluation runs in a tea.Cmd with
// a context, off the UI loop, behind a spinner; esc cancels it. What the
// pane shows under the input is cut to its width and height; ctrl+r
// (typing or not) opens it in full, the output and then the result, in
// the app's pager (common.PagerMsg).
//
// What an evaluation prints arrives as api.EventOutput events of every
// client (common.EventMsg); the pane shows, above the result, only those
// whose Client is its own (api.Status.Client, asked once in Init), the
// newest lines when they do not all fit. Other clients' output is the
// transcript's.
//
// Typing mode: the pane takes every key while it is focused (Editing is
// true), so that q, ?, : and / are typed. esc leaves typing mode, after
// which tab, ?, :, / and q reach the app; enter or i go back to typing.
//
// Input history lives in the image, not in a file: each evaluated input is
// appended to the data slot Lobby.workspace.history ([]any of strings,
// newest last, at most 200), read back as data (the list value's string
// items) when the pane starts. up on the
// first line and down on the last line (or alt+up / alt+down anywhere)
// walk it.
//
// Completion (tab while typing) completes a selector after `.Send("` and a
// method or selector after `.`. The rule is deliberately simple: the
// candidates are Object's Go methods (after `.` only), the selectors of
// Lobby's lookup chain, and the selectors that api.Image.Search finds for
// the typed prefix anywhere in the image; the receiver's own type is not
// inferred. One candidate is inserted; several insert their common prefix
// and are listed under the input. A selector chosen after `.` is written as
// Send("selector".
package workspace
