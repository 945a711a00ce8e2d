// Package browser is the system browser pane (Pharo's System Browser,
// Self's outliner): a tree of the objects reachable from Lobby, the
// selected object's slots grouped by kind with inherited ones apart, and
// the selected method's source, highlighted and editable in place.
//
// Model. The tree is a list of rows flattened from three things: the
// children of each object fetched so far (kids, by OID, loaded lazily with
// api.Image.Children, plus the objects held in the object's own list and
// map data slots, read from api.Image.Object and named like
// "generations[3]": a list shows its newest 50 members and a "… N more"
// row, which enter opens), the set of expanded rows (by path of slot names from
// Lobby, so that an object reachable twice expands independently), and the
// cursor's path. Every change to either rebuilds the rows; View renders only
// the rows in the window, so a frame costs the same over ten objects or a
// hundred thousand. The selected object's api.ObjectView drives the slots
// column; the selected slot drives the source column.
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
// top-left cell View draws); the app translates them.
package browser
