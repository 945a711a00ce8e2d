// Package history is the history pane: the image's transactions newest
// first, a method's versions with a unified diff between any two, and
// revert (ZODB's undo) with the conflict explained when it cannot apply.
//
// Model. The pane holds the transactions loaded so far (a page at a time
// from api.Image.History, more as the cursor nears the end) and prepends
// each commit that common.EventMsg reports, keeping the slot changes those
// events carry. It is in one of three modes: the transaction list (with
// the selected transaction's principal, note and changed objects beside
// it); choosing a method among the selected transaction's changes (and the
// browser's last selection, from common.BrowseMsg); and a method's
// versions (api.Image.Versions) beside the diff between the marked version
// and the one under the cursor (go-udiff). In the versions, r reverts the
// method to the version under the cursor after a y/n question: it defines
// the method again with that version's source (api.Image.Define), a new
// transaction that the history lists and u can undo; a version with no
// source (the method removed) or the current one is refused in one line.
// u reverts the selected
// transaction through api.Image.Undo after a y/n question; an undo
// conflict (an *api.Error of kind undo-conflict) is explained from its
// fields: the object, and the later transaction that changed it. Every
// image call runs in a tea.Cmd; common.RefreshMsg (the live feed missed
// events) reloads the newest page.
package history
