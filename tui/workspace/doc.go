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
// What the actions evaluate, as in Pharo, is the selection when there is
// one (the text area's: shift+arrows, ctrl+g selects all); else, in a
// buffer of several lines whose cursor line is not blank, the paragraph
// around the cursor: its block of non-blank lines, less the result lines
// at its end; else (one line, or the cursor on a blank line) the whole
// buffer. Paragraphs rather than lines, because Go statements span lines
// (a loop, a Define with a method's source); variables persist between
// evaluations, so paragraphs separated by blank lines are run one by one,
// and a blank line, or ctrl+g, takes them all. A one-line input is a
// command line: print it shows its value under it only. In a buffer of
// several lines print it also writes the value into the buffer, after the
// block it evaluated, as a comment line `// ⇒ value` (its first line, cut
// to maxInline runes) indented as the block's last line, replacing the
// result lines already there; a statement, which has no value, removes
// them. The cursor keeps its place; the selection ends. Typing on while
// the evaluation runs is allowed: the block is found where its lines are
// then, or the buffer is left alone. An error in a paragraph that does not
// begin the buffer says the buffer's line too.
//
// ctrl+x clears the input and what is shown under it; over input never
// evaluated (see Dirty) it asks for a second ctrl+x. The history keeps
// the inputs evaluated. (ctrl+l, the usual clear, is the app's.)
//
// A failure deep in nested sends is an *api.Error with Frames, the chain
// of sends outermost first: the pane shows them under the error, one a
// line (receiver.selector:line, the method's holder when it is another
// object, → to the next), and the pager has them too. ctrl+n selects the
// innermost frame, where it failed, then the next one out, round; while
// one is selected (▸, kept in view) up and down move, enter sends
// common.BrowseMsg for the frame's holder and selector, so that the app
// opens the method in the browser, and esc or any other key unselects.
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
// tab while typing completes (below) when the text before the cursor asks
// for a completion; else it leaves the pane as tab does everywhere: the
// pane sends common.FocusMsg for NextPane, the pane after it in the app's
// tab order. It never types a tab (indent with spaces).
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
