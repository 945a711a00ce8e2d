// Package browser is the system browser pane (Pharo's System Browser,
// Self's outliner): a tree of the objects reachable from Lobby, the
// selected object's slots grouped by kind with inherited ones apart, and
// the selected method's source, highlighted and editable in place.
//
// Structure. One model per column, in the style of Bubble Tea's examples:
// each sub-model has its own state, Update, View, SetSize and key map.
//
//	file        owns
//	browser.go  Model: layout, which column has the focus, the status
//	            line, the messages exchanged with the app (BrowseMsg,
//	            SendersMsg, EventMsg, RefreshMsg, InspectMsg, InfoMsg),
//	            the routing of keys and mouse, and the requests below
//	view.go     the layout, the frame (columns joined, the last line),
//	            and the rendering helpers the columns share
//	keys.go     KeyMap: the browser's own keys and one key map per
//	            sub-model (TreeKeyMap, SlotKeyMap, SourceKeyMap, HitKeyMap)
//	tree.go     tree: the rows, expansion, lazy children, list and map
//	            members, "… N more" rows, the path search from Lobby
//	slots.go    slotList: the selected object's view, its entries and
//	            the slot cursor
//	slotops.go  slotList's operations: add, rename, remove, clone, set a
//	            value; their prompt and the remove question
//	source.go   sourceEditor: the selected slot's source or value, the
//	            method editor and its discard question
//	senders.go  SendersMsg and the senders/implementors hit list, which
//	            the source editor owns and shows over its column
//	highlight.go  the Go highlighter the source editor renders with
//
// Each sub-model has a small test of its contract beside the browser's
// end-to-end tests: tree_test.go, slots_test.go, source_test.go.
//
// The tree. A list of rows flattened from three things: the children of
// each object fetched so far (kids, by OID, loaded lazily with
// api.Image.Children, plus the objects held in the object's own list and
// map data slots, read from api.Image.Object and named like
// "generations[3]": a list shows its newest 50 members and a "… N more"
// row, which enter opens), the set of expanded rows (by path of slot
// names from Lobby, so that an object reachable twice expands
// independently), and the cursor's path. Every change to either rebuilds
// the rows; View renders only the rows in the window, so a frame costs
// the same over ten objects or a hundred thousand.
//
// The slot list holds the selected object's api.ObjectView; the source
// editor shows the slot the slot list has selected (passed to its View,
// never copied). After a reload the slot cursor stays on its slot, or
// near where it was when the slot is gone.
//
// Requests. A sub-model never reaches into another. What it needs of the
// browser (show the object under the tree's cursor, move the focus, edit
// or browse the selected slot, list senders) it returns as a request
// beside its command, and the browser acts on it in the same Update
// (Model.do): a message sent through the runtime could arrive after the
// next key, which would then act on the old selection.
//
// Keys. While a sub-model has a prompt, a question, the editor or a hit
// list open, it gets every key. Otherwise the browser's own keys (columns,
// e, i, s, I) and the slot operations (a, r, d, c) act from any column,
// and the rest go to the focused column's sub-model.
//
// Every image call runs in a tea.Cmd and comes back as a message; a commit
// reported by common.EventMsg reloads the children and the object view it
// touched. Editing a method uses a textarea; ctrl+s defines it through
// api.Image.Define, and a compile error is shown under the line it names
// (the *api.Error's Line) while the edit is kept. Slots are added (a),
// renamed (r), removed (d, confirmed) and objects cloned into Lobby (c)
// through one-line prompts. A data slot's value is typed as a Go literal
// and read by api.ParseLiteral, which evaluates nothing: a call is refused
// with its column, and nothing is set. common.RefreshMsg (the live feed
// missed events) reloads everything loaded.
//
// Senders and implementors (Pharo's navigation): s on a selected method
// (or primitive) lists the methods that send its selector
// (api.Image.Senders), I the objects that implement it
// (api.Image.Implementors). The list takes the source column until esc;
// enter browses the hit's object with its method selected, and s and I
// on a hit list its selector's senders and implementors in turn. The app
// opens the same list for a selector typed on its command line by sending
// SendersMsg.
//
// Mouse coordinates are taken relative to the pane's content (0,0 is the
// top-left cell View draws); the app translates them, and the browser
// hands each column a row relative to the column's header.
package browser
