package browser

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/pane"
)

// lobbyOID is the root of the tree.
const lobbyOID = 1

// maxMembers is how many members of one list (or map) slot the tree
// shows, the newest (the last); a "… N more" row stands for the others.
const maxMembers = 50

// row is one visible row of the tree.
type row struct {
	path  string // slot names from Lobby, "/"-separated: the row's identity
	oid   uint64
	slot  string // the slot of the parent row that holds it ("" for Lobby)
	name  string
	depth int
	// more is set on the "… N more" row standing for the older members
	// of a list (or map) slot the tree does not show; its oid is the
	// holder's, and expanding it shows them all.
	more int
	// list is, on a more row, the path of the list ("Lobby/x/generations").
	list string
}

// Messages the tree's commands return.
type (
	kidsMsg struct {
		oid    uint64
		kids   []api.Child
		expand string // the path of the row to expand once loaded; "" for a reload
		err    error
	}
	pathMsg struct {
		oid      uint64
		selector string
		path     []api.Child // from Lobby's child to oid
		kids     map[uint64][]api.Child
		found    bool
		err      error
	}
)

// tree is the object tree, the browser's first column: a list of rows
// flattened from the children of each object fetched so far (kids), the
// set of expanded rows (by path, so that an object reachable twice
// expands independently) and the lists shown whole (showAll). Every
// change to these rebuilds the rows, keeping the cursor on its path.
//
// Moving the cursor onto a row asks the browser to show the row's object
// (a selectReq); the slot list then loads it.
type tree struct {
	c      *common.Common
	keys   TreeKeyMap
	report *statusLine
	width  int
	height int // the header row included

	kids     map[uint64][]api.Child
	expanded map[string]bool
	// showAll holds the paths of list slots ("Lobby/x/generations")
	// shown whole rather than only their newest maxMembers members.
	showAll map[string]bool
	rows    []row
	cursor  int
	treeOff int
	// detached is set while the selected object is not in the tree (a
	// search from Lobby did not find it): the cursor's row is not it.
	detached bool
}

func newTree(c *common.Common, keys TreeKeyMap, report *statusLine) *tree {
	return &tree{
		c:        c,
		keys:     keys,
		report:   report,
		kids:     map[uint64][]api.Child{},
		expanded: map[string]bool{"Lobby": true},
		showAll:  map[string]bool{},
	}
}

func (t *tree) SetSize(width, height int) {
	t.width, t.height = width, height
	t.scrollTree()
}

// Update handles the tree's messages and, while its column has the
// focus, its keys.
func (t *tree) Update(msg tea.Msg) (tea.Cmd, request) {
	switch msg := msg.(type) {
	case kidsMsg:
		if msg.err != nil {
			t.report.set(msg.err.Error(), true)
			return nil, nil
		}
		t.kids[msg.oid] = msg.kids
		if msg.expand != "" {
			t.expanded[msg.expand] = true
		}
		t.rebuild()
	case pathMsg:
		return nil, t.found(msg)
	case tea.KeyPressMsg:
		return t.key(msg)
	}
	return nil, nil
}

func (t *tree) key(msg tea.KeyPressMsg) (tea.Cmd, request) {
	k := t.keys
	page := max(t.height-2, 1)
	switch {
	case key.Matches(msg, k.Down):
		return nil, t.moveTree(t.cursor + 1)
	case key.Matches(msg, k.Up):
		return nil, t.moveTree(t.cursor - 1)
	case key.Matches(msg, k.Top):
		return nil, t.moveTree(0)
	case key.Matches(msg, k.Bottom):
		return nil, t.moveTree(len(t.rows) - 1)
	case key.Matches(msg, k.PageDown):
		return nil, t.moveTree(t.cursor + page)
	case key.Matches(msg, k.PageUp):
		return nil, t.moveTree(t.cursor - page)
	case key.Matches(msg, k.Expand):
		r := t.rows[t.cursor]
		if r.more > 0 {
			t.showAll[r.list] = true
			t.rebuild()
			return nil, nil
		}
		kids, loaded := t.kids[r.oid]
		if t.expanded[r.path] || (loaded && len(kids) == 0) {
			return nil, focusReq{col: colSlots} // nothing more to open here: go to the slots
		}
		return t.expand(t.cursor), nil
	case key.Matches(msg, k.Collapse):
		r := t.rows[t.cursor]
		if t.expanded[r.path] && r.depth > 0 {
			delete(t.expanded, r.path)
			t.rebuild()
			return nil, nil
		}
		return nil, t.moveTree(t.parentRow(t.cursor))
	}
	return nil, nil
}

// --- commands ---------------------------------------------------------------

func (t *tree) loadKids(oid uint64, expand string) tea.Cmd {
	img := t.c.Image
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		kids, err := children(ctx, img, oid)
		return kidsMsg{oid: oid, kids: sanitizeKids(kids), expand: expand, err: err}
	}
}

// reload reloads the children of those of oids loaded so far.
func (t *tree) reload(oids ...uint64) []tea.Cmd {
	var cmds []tea.Cmd
	for _, oid := range oids {
		if _, ok := t.kids[oid]; ok {
			cmds = append(cmds, t.loadKids(oid, ""))
		}
	}
	return cmds
}

// reloadChanged reloads the children of the loaded objects changed holds.
func (t *tree) reloadChanged(changed map[uint64]bool) []tea.Cmd {
	var cmds []tea.Cmd
	for oid := range t.kids {
		if changed[oid] {
			cmds = append(cmds, t.loadKids(oid, ""))
		}
	}
	return cmds
}

// reloadAll reloads the children of every object loaded.
func (t *tree) reloadAll() []tea.Cmd {
	cmds := make([]tea.Cmd, 0, len(t.kids))
	for oid := range t.kids {
		cmds = append(cmds, t.loadKids(oid, ""))
	}
	return cmds
}

// findPath searches breadth first from Lobby for oid, visiting at most
// limit objects, and returns the slots that lead there.
func (t *tree) findPath(oid uint64, selector string) tea.Cmd {
	img := t.c.Image
	known := make(map[uint64][]api.Child, len(t.kids))
	for k, v := range t.kids {
		known[k] = v
	}
	return func() tea.Msg {
		const limit = 5000
		ctx, cancel := pane.Ctx()
		defer cancel()
		type step struct {
			oid  uint64
			path []api.Child
		}
		out := pathMsg{oid: oid, selector: selector, kids: map[uint64][]api.Child{}}
		if oid == lobbyOID {
			out.found = true
			return out
		}
		queue := []step{{oid: lobbyOID}}
		seen := map[uint64]bool{lobbyOID: true}
		for len(queue) > 0 && len(seen) < limit {
			s := queue[0]
			queue = queue[1:]
			kids, ok := known[s.oid]
			if !ok {
				var err error
				kids, err = children(ctx, img, s.oid)
				kids = sanitizeKids(kids)
				if err != nil {
					out.err = err
					return out
				}
			}
			out.kids[s.oid] = kids
			for _, k := range kids {
				if seen[k.OID] {
					continue
				}
				seen[k.OID] = true
				p := append(append([]api.Child(nil), s.path...), k)
				if k.OID == oid {
					out.path, out.found = p, true
					return out
				}
				queue = append(queue, step{k.OID, p})
			}
		}
		return out
	}
}

// found takes a path search's answer: it opens the rows down to the
// object and puts the cursor there, and asks for the object to be shown
// (detached when the search did not find it).
func (t *tree) found(msg pathMsg) request {
	if msg.err != nil {
		t.report.set(msg.err.Error(), true)
		return nil
	}
	for k, v := range msg.kids {
		t.kids[k] = v
	}
	if !msg.found {
		t.report.set(fmt.Sprintf("object %d is not reachable from Lobby", msg.oid), false)
		return selectReq{oid: msg.oid, slot: msg.selector, detached: true}
	}
	p, parent := "Lobby", uint64(lobbyOID)
	for _, c := range msg.path {
		t.expanded[p] = true
		if base, ok := memberOf(c.Slot); ok && hiddenMember(t.kids[parent], base, c.Slot) {
			t.showAll[p+"/"+base] = true // an older member: show its list whole
		}
		p, parent = p+"/"+c.Slot, c.OID
	}
	t.rebuild()
	for i := range t.rows {
		if t.rows[i].path == p {
			t.cursor = i
			break
		}
	}
	t.scrollTree()
	return selectReq{oid: msg.oid, slot: msg.selector}
}

// --- the rows ---------------------------------------------------------------

// rebuild flattens the tree into rows, keeping the cursor on its path.
func (t *tree) rebuild() {
	var cur string
	if t.cursor < len(t.rows) {
		cur = t.rows[t.cursor].path
	}
	t.rows = t.rows[:0]
	var walk func(oid uint64, path, slot, name string, depth int)
	walk = func(oid uint64, path, slot, name string, depth int) {
		t.rows = append(t.rows, row{path: path, oid: oid, slot: slot, name: name, depth: depth})
		if !t.expanded[path] {
			return
		}
		kids := t.kids[oid]
		// How many members each list slot holds, for the bound.
		count := map[string]int{}
		for _, k := range kids {
			if base, ok := memberOf(k.Slot); ok {
				count[base]++
			}
		}
		seen := map[string]int{}
		for _, k := range kids {
			if base, ok := memberOf(k.Slot); ok {
				j := seen[base]
				seen[base]++
				if hide := count[base] - maxMembers; hide > 0 && j < hide && !t.showAll[path+"/"+base] {
					if j == 0 {
						t.rows = append(t.rows, row{path: path + "/" + base + "[…]", oid: oid, slot: base, name: name,
							depth: depth + 1, more: hide, list: path + "/" + base})
					}
					continue
				}
			}
			walk(k.OID, path+"/"+k.Slot, k.Slot, k.Name, depth+1)
		}
	}
	walk(lobbyOID, "Lobby", "", "Lobby", 0)
	t.cursor = pane.Clamp(t.cursor, len(t.rows))
	if cur != "" && t.rows[t.cursor].path != cur {
		for i := range t.rows {
			if t.rows[i].path == cur {
				t.cursor = i
				break
			}
		}
	}
	t.scrollTree()
}

func (t *tree) scrollTree() {
	t.treeOff = pane.Scroll(t.cursor, t.treeOff, t.height-1, len(t.rows))
}

// moveTree moves the cursor to i and asks for the object there to be
// shown (again, when the selection was detached from the tree).
func (t *tree) moveTree(i int) request {
	i = pane.Clamp(i, len(t.rows))
	if i == t.cursor && !t.detached {
		t.scrollTree()
		return nil
	}
	t.cursor = i
	t.scrollTree()
	return selectReq{oid: t.rows[i].oid}
}

// show puts the cursor on the first row of oid, when one is shown.
func (t *tree) show(oid uint64) bool {
	for i := range t.rows {
		if t.rows[i].oid == oid {
			t.cursor = i
			t.scrollTree()
			return true
		}
	}
	return false
}

func (t *tree) expand(i int) tea.Cmd {
	r := t.rows[i]
	if t.expanded[r.path] {
		return nil
	}
	if _, ok := t.kids[r.oid]; !ok {
		return t.loadKids(r.oid, r.path)
	}
	t.expanded[r.path] = true
	t.rebuild()
	return nil
}

// parentRow returns the index of row i's parent row, or i for Lobby.
func (t *tree) parentRow(i int) int {
	d := t.rows[i].depth
	for j := i - 1; j >= 0; j-- {
		if t.rows[j].depth < d {
			return j
		}
	}
	return i
}

// --- mouse ------------------------------------------------------------------

// click moves the cursor to the row at y (0 is the header).
func (t *tree) click(y int) (tea.Cmd, request) {
	if i := t.treeOff + y - 1; y > 0 && i < len(t.rows) {
		return nil, t.moveTree(i)
	}
	return nil, nil
}

// wheel scrolls the rows by d, leaving the cursor.
func (t *tree) wheel(d int) {
	t.treeOff = max(0, min(t.treeOff+d, len(t.rows)-(t.height-1)))
}

// --- view -------------------------------------------------------------------

// View renders the column: its header and the rows in the window.
func (t *tree) View(focused bool) []string {
	out := make([]string, 0, t.height)
	title := "Objects"
	if t.detached {
		title = "Objects (selection not reachable from Lobby)"
	}
	out = append(out, header(t.c.Styles, title, focused, t.width))
	end := min(t.treeOff+t.height-1, len(t.rows))
	for i := t.treeOff; i < end; i++ {
		text := t.treeRow(t.rows[i])
		if i == t.cursor && !t.detached {
			out = append(out, selectedRow(t.c.Styles, text, focused, t.width))
		} else {
			out = append(out, pane.Fit(" "+text, t.width))
		}
	}
	return pane.Block(out, t.width, t.height)
}

func (t *tree) treeRow(r row) string {
	if r.more > 0 {
		return strings.Repeat("  ", r.depth) + t.c.Styles.Dim.Render("… "+strconv.Itoa(r.more)+" more "+r.slot+" (enter shows them)")
	}
	marker := "▸"
	if t.expanded[r.path] {
		marker = "▾"
	} else if kids, ok := t.kids[r.oid]; ok && len(kids) == 0 {
		marker = "·"
	}
	label := r.slot
	if r.depth == 0 {
		label = r.name
	}
	ref := api.Ref{OID: r.oid, Name: r.name}
	if name := shortName(ref); !anonymous(ref) && name != label && name != "" {
		label += " " + name
	}
	return strings.Repeat("  ", r.depth) + marker + " " + label + " " + t.c.Styles.Dim.Render("#"+strconv.FormatUint(r.oid, 10))
}

// --- children ---------------------------------------------------------------

// children lists the objects oid refers to: those its slots hold
// (img.Children), then those held in its own list and map data slots,
// named like "generations[3]" and `jobs["k"]`, so that records kept in a
// list are reachable in the tree.
func children(ctx context.Context, img api.Image, oid uint64) ([]api.Child, error) {
	kids, err := img.Children(ctx, oid)
	if err != nil {
		return kids, err
	}
	v, err := img.Object(ctx, oid)
	if err != nil {
		return kids, nil // the slots' objects are still worth showing
	}
	for _, s := range v.Slots {
		if s.Kind != api.KindData || s.Value == nil {
			continue
		}
		switch s.Value.Kind {
		case api.ValueList:
			for i, it := range s.Value.Items {
				if it.Kind == api.ValueObject && it.Object != nil {
					kids = append(kids, api.Child{Slot: s.Name + "[" + strconv.Itoa(i) + "]", Ref: *it.Object})
				}
			}
		case api.ValueMap:
			for _, e := range s.Value.Entries {
				if e.Value.Kind == api.ValueObject && e.Value.Object != nil {
					kids = append(kids, api.Child{Slot: s.Name + "[" + strconv.Quote(e.Key) + "]", Ref: *e.Value.Object})
				}
			}
		}
	}
	return kids, nil
}

// hiddenMember reports whether the member slot of list base is one of
// those older than the newest maxMembers, which the tree hides.
func hiddenMember(kids []api.Child, base, slot string) bool {
	n, at := 0, -1
	for _, k := range kids {
		if b, ok := memberOf(k.Slot); ok && b == base {
			if k.Slot == slot {
				at = n
			}
			n++
		}
	}
	return at >= 0 && at < n-maxMembers
}

// memberOf reports whether a child's slot names a list or map member
// ("generations[3]"), and the list slot's name.
func memberOf(slot string) (string, bool) {
	i := strings.IndexByte(slot, '[')
	if i <= 0 || !strings.HasSuffix(slot, "]") {
		return "", false
	}
	return slot[:i], true
}

// sanitizeKids sanitizes the slot and object names of kids.
func sanitizeKids(kids []api.Child) []api.Child {
	for i := range kids {
		kids[i].Slot = common.Sanitize(kids[i].Slot)
		kids[i].Ref = common.SanitizeRef(kids[i].Ref)
	}
	return kids
}
