package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/internal/help"
	"batos/tui/browser"
	"batos/tui/common"
	"batos/tui/entropy"
	"batos/tui/internal/pane"
)

// commands are the command line's verbs, as completion offers them.
var commands = []string{"workspace", "browse ", "inspect ", "senders ", "implementors ", "history", "transcript", "forge", "entropy",
	"autotelic", "autotelic on", "autotelic off", "autotelic step", "undo ", "help", "quit"}

// commandsHelp lists the commands for the ? help and an unknown command.
const commandsHelp = ":workspace :browse NAME :inspect EXPR :senders SEL :implementors SEL :history :transcript :forge :entropy :autotelic [on|off|step] :undo TXID :quit :help"

// tuiHelp follows help.Text in :help's pager: what the TUI adds.
const tuiHelp = `
TUI: type entries in the Workspace (ctrl+d do it, ctrl+p print it, ctrl+o
inspect it — the selection, or the paragraph at the cursor; ctrl+x clears;
ctrl+r the last result in full; ctrl+n then enter opens a failed send's
frames); ? lists the focused pane's keys; ctrl+l shows the last message or
error in full; v shows a value in full in the browser, inspector and
transcript; s and I in the browser list senders and implementors.
TUI commands: ` + commandsHelp + `
`

// lobbySlotsMsg carries Lobby's children, for :browse completion,
// Lobby.Forge's OID (0: none), whose commits refresh the status bar,
// Lobby.entropy's (0: none), whose commits refresh the status's CEM, and
// Lobby.autotelic's (0: none), whose commits refresh its switch.
type lobbySlotsMsg struct {
	names                     []string
	forge, entropy, autotelic uint64
}

// lobbySlotsCmd lists Lobby's children for completion.
func lobbySlotsCmd(img api.Image) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		kids, _ := img.Children(ctx, api.LobbyOID)
		msg := lobbySlotsMsg{names: []string{"Lobby"}}
		for _, k := range kids {
			msg.names = append(msg.names, k.Slot)
			switch k.Slot {
			case "Forge":
				msg.forge = k.OID
			case "entropy":
				msg.entropy = k.OID
			case "autotelic":
				msg.autotelic = k.OID
			}
		}
		return msg
	}
}

// suggestions lists the command lines completion offers.
func suggestions(lobbySlots []string) []string {
	out := append([]string(nil), commands...)
	for _, n := range lobbySlots {
		out = append(out, "browse "+n, "inspect "+n)
	}
	return out
}

// quitMsg starts the quit flow (asking first when a pane is dirty).
type quitMsg struct{}

// runCommand turns a command line into a command.
func (m *Model) runCommand(line string) tea.Cmd {
	verb, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	arg = strings.TrimSpace(arg)
	img := m.c.Image
	switch verb {
	case "":
		return nil
	case "workspace", "w":
		return m.focusTitle("Workspace")
	case "transcript", "t":
		return m.focusTitle("Transcript")
	case "history", "h":
		return m.focusTitle("History")
	case "forge", "f":
		return m.focusTitle("Forge")
	case "entropy", "e":
		return m.focusTitle("Entropy")
	case "autotelic", "a":
		return m.autotelic(arg)
	case "quit", "q":
		return m.quit()
	case "help":
		// The REPL's help, in the pager: the script API with examples,
		// the commands, the limits; then the TUI's own.
		m.openPager("Help: the script API, the commands, the limits", help.Text+tuiHelp)
		return nil
	case "browse", "b":
		if arg == "" {
			return common.Err(fmt.Errorf(":browse needs a name: an object, a Lobby slot, or a path like Lobby.pLLM"))
		}
		// The browser takes the focus now, before the next key is read;
		// only finding the object runs in the command.
		return tea.Batch(m.setFocus(browserPane), func() tea.Msg { return browseDoneMsg{resolveBrowse(img, arg)} })
	case "inspect", "i":
		if arg == "" {
			return common.Err(fmt.Errorf(":inspect needs a Go expression"))
		}
		// The inspector takes the focus now; the evaluation runs in the
		// command.
		return tea.Batch(m.setFocus(inspectorPane), m.inspect(arg))
	case "senders", "implementors":
		// Pharo's senders and implementors: the browser lists them, and
		// takes the focus now, before the next key is read.
		if arg == "" || strings.ContainsAny(arg, " \t") {
			return common.Err(fmt.Errorf(":%s needs one selector", verb))
		}
		return tea.Batch(m.setFocus(browserPane), m.update(browserPane, browser.SendersMsg{Selector: arg, Implementors: verb == "implementors"}))
	case "undo", "u":
		tx, err := strconv.ParseUint(arg, 10, 64)
		if err != nil {
			return common.Err(fmt.Errorf(":undo needs a transaction id, got %q", arg))
		}
		return func() tea.Msg {
			ctx, cancel := pane.Ctx()
			defer cancel()
			done, err := img.Undo(ctx, tx)
			if err != nil {
				return common.ErrMsg{Err: fmt.Errorf(":undo %d: %w", tx, err)}
			}
			return common.InfoMsg{Text: fmt.Sprintf("undid transaction %d as transaction %d", tx, done.ID)}
		}
	}
	return common.Err(fmt.Errorf("unknown command :%s (try %s)", verb, commandsHelp))
}

// autotelic runs :autotelic VERB. The bare verb shows the loop's state
// and ledger in the Entropy pane, zoomed: the place it shares with the
// transcript in an 80×24 terminal has no room under the sparklines. on
// and off flip the loop's switch; step has the Entropy pane run one step,
// which can take a minute: the pane is Busy meanwhile (the status bar's
// spinner) and answers with the step's summary or error.
func (m *Model) autotelic(verb string) tea.Cmd {
	switch verb {
	case "":
		cmd := m.focusTitle("Entropy")
		if !m.zoomed {
			m.zoomed = true
			m.resize(m.width, m.height)
		}
		return cmd
	case "on", "off":
		return entropy.SwitchCmd(m.c.Image, verb == "on")
	case "step":
		// A step is a Send: it holds this client's evaluation slot, so
		// the workspace's evaluations wait for it.
		info := m.setInfo("autotelic step running (a minute or so; evaluations wait for it)…", false)
		return tea.Batch(info, m.update(entropyPane, entropy.StepMsg{}))
	}
	return common.Err(fmt.Errorf(":autotelic %s: want on, off or step, or nothing to show the loop", verb))
}

// inspectDoneMsg ends :inspect number seq with msg, what to route.
type inspectDoneMsg struct {
	seq int
	msg tea.Msg
}

// inspect evaluates expr for :inspect, off the UI loop and cancellable:
// esc cancels it, and the status bar shows the spinner meanwhile.
func (m *Model) inspect(expr string) tea.Cmd {
	m.cancelInspect()
	ctx, cancel := pane.Ctx()
	m.inspectSeq++
	m.inspectCancel = cancel
	seq, img := m.inspectSeq, m.c.Image
	return func() tea.Msg {
		res, err := img.Eval(ctx, expr)
		var out tea.Msg
		switch {
		case api.KindOf(err) == api.ErrCanceled || errors.Is(err, context.Canceled):
			out = common.InfoMsg{Text: ":inspect cancelled"}
		case err != nil:
			out = common.ErrMsg{Err: fmt.Errorf(":inspect %s: %w", expr, err)}
		case !res.HasValue:
			out = common.InspectValueMsg{Value: api.Value{Text: "(no value)"}}
		case res.Value.Object != nil:
			out = common.InspectMsg{OID: res.Value.Object.OID}
		default:
			out = common.InspectValueMsg{Value: res.Value}
		}
		return inspectDoneMsg{seq: seq, msg: out}
	}
}

// cancelInspect cancels the :inspect in flight, if any.
func (m *Model) cancelInspect() {
	if m.inspectCancel != nil {
		m.inspectCancel()
		m.inspectCancel = nil
	}
}

// browseDoneMsg carries what :browse or a search's image call found: a
// BrowseMsg for the browser, which the command already focused, or an
// ErrMsg.
type browseDoneMsg struct{ msg tea.Msg }

// resolveBrowse finds what :browse NAME names: a path of slots from Lobby
// ("Lobby", "Lobby.pLLM.personas", or "pLLM" for a Lobby slot), else the
// best search hit.
func resolveBrowse(img api.Image, name string) tea.Msg {
	ctx, cancel := pane.Ctx()
	defer cancel()
	lobby := api.LobbyOID
	path := strings.Split(strings.TrimPrefix(strings.TrimPrefix(name, "Lobby"), "."), ".")
	if name == "Lobby" {
		path = nil
	}
	oid, ok := lobby, true
	for _, slot := range path {
		kids, err := img.Children(ctx, oid)
		if err != nil {
			return common.ErrMsg{Err: fmt.Errorf(":browse %s: %w", name, err)}
		}
		ok = false
		for _, k := range kids {
			if k.Slot == slot {
				oid, ok = k.OID, true
				break
			}
		}
		if !ok {
			break
		}
	}
	if ok {
		return common.BrowseMsg{OID: oid}
	}
	hits, err := img.Search(ctx, name, 1)
	if err != nil {
		return common.ErrMsg{Err: fmt.Errorf(":browse %s: %w", name, err)}
	}
	if len(hits) == 0 {
		return common.ErrMsg{Err: fmt.Errorf(":browse %s: nothing by that name", name)}
	}
	return common.BrowseMsg{OID: hits[0].Object.OID, Selector: hits[0].Selector}
}
