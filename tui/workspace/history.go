package workspace

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/internal/pane"
)

// HistoryCap is how many inputs the pane keeps in memory, as the image
// does.
const HistoryCap = api.InputsCap

type historyLoadedMsg struct {
	lobby   uint64
	entries []string
	err     error
}

// loadHistoryCmd reads the input history the image keeps (every input
// that succeeds is appended in its own transaction): the strings of the
// list in Lobby.workspace.history, as data.
func loadHistoryCmd(img api.Image) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		lobby, err := img.Object(ctx, api.LobbyOID)
		if err != nil {
			return historyLoadedMsg{lobby: api.LobbyOID, err: fmt.Errorf("workspace history: %w", err)}
		}
		var holder *api.Ref
		for _, s := range lobby.Slots {
			if s.Name == api.InputsObject && s.Target() != nil {
				holder = s.Target()
			}
		}
		if holder == nil {
			return historyLoadedMsg{lobby: api.LobbyOID}
		}
		view, err := img.Object(ctx, holder.OID)
		if err != nil {
			return historyLoadedMsg{lobby: api.LobbyOID, err: fmt.Errorf("workspace history: %w", err)}
		}
		for _, s := range view.Slots {
			if s.Name == api.InputsSlot && s.Kind == api.KindData {
				entries, err := historyEntries(s.Value)
				return historyLoadedMsg{lobby: api.LobbyOID, entries: entries, err: err}
			}
		}
		return historyLoadedMsg{lobby: api.LobbyOID}
	}
}

// historyEntries returns the strings of the history slot's list, oldest
// first; items that are not strings are skipped. A value that is not a
// list is an error: the slot holds something the workspace did not write.
func historyEntries(v *api.Value) ([]string, error) {
	if v == nil || v.Kind != api.ValueList {
		kind := "nothing"
		if v != nil {
			kind = "a " + string(v.Kind)
		}
		return nil, fmt.Errorf("workspace history: %s holds %s, not a list", api.InputsSlot, kind)
	}
	var out []string
	for _, it := range v.Items {
		if it.Kind == api.ValueString {
			out = append(out, it.String)
		}
	}
	if len(out) > HistoryCap {
		out = out[len(out)-HistoryCap:]
	}
	return out, nil
}

// appendHistory appends entry unless it repeats the last one, keeping at
// most HistoryCap entries.
func appendHistory(h []string, entry string) []string {
	if len(h) > 0 && h[len(h)-1] == entry {
		return h
	}
	h = append(h, entry)
	if len(h) > HistoryCap {
		h = append([]string(nil), h[len(h)-HistoryCap:]...)
	}
	return h
}
