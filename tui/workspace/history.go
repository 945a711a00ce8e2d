package workspace

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"

	tea "charm.land/bubbletea/v2"

	"batos/kernel/api"
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

// loadHistoryCmd reads Lobby's input history (kernel-kept: every input
// that succeeds is appended in its own transaction).
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
			if s.Name == api.InputsObject && s.Target != nil {
				holder = s.Target
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
				entries, err := parseHistory(s.Value)
				return historyLoadedMsg{lobby: api.LobbyOID, entries: entries, err: err}
			}
		}
		return historyLoadedMsg{lobby: api.LobbyOID}
	}
}

// parseHistory reads a printed []any of strings back; elements that are
// not strings are skipped.
func parseHistory(printed string) ([]string, error) {
	expr, err := parser.ParseExpr(printed)
	if err != nil {
		return nil, fmt.Errorf("workspace history: %s is not a Go literal: %w", api.InputsSlot, err)
	}
	lit, ok := expr.(*ast.CompositeLit)
	if !ok {
		return nil, fmt.Errorf("workspace history: %s is not a []any", api.InputsSlot)
	}
	var out []string
	for _, e := range lit.Elts {
		if bl, ok := e.(*ast.BasicLit); ok && bl.Kind == token.STRING {
			if s, err := strconv.Unquote(bl.Value); err == nil {
				out = append(out, s)
			}
		}
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
