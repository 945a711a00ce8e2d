package workspace

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"batos/kernel/api"
)

// HistorySlot is the Lobby data slot that keeps the workspace's inputs.
const HistorySlot = "workspaceHistory"

// HistoryCap is how many inputs the image keeps.
const HistoryCap = 200

type historyLoadedMsg struct {
	lobby   uint64
	entries []string
	err     error
}

type historySavedMsg struct{ err error }

// loadHistoryCmd finds Lobby and reads its history slot.
func loadHistoryCmd(img api.Image) tea.Cmd {
	return func() tea.Msg {
		ctx := context.Background()
		res, err := img.Eval(ctx, "Lobby")
		if err != nil {
			return historyLoadedMsg{err: fmt.Errorf("workspace history: find Lobby: %w", err)}
		}
		if res.Object == nil {
			return historyLoadedMsg{err: fmt.Errorf("workspace history: Lobby is not an object")}
		}
		lobby := res.Object.OID
		view, err := img.Object(ctx, lobby)
		if err != nil {
			return historyLoadedMsg{lobby: lobby, err: fmt.Errorf("workspace history: %w", err)}
		}
		for _, s := range view.Slots {
			if s.Name == HistorySlot && s.Kind == api.KindData {
				entries, err := parseHistory(s.Value)
				return historyLoadedMsg{lobby: lobby, entries: entries, err: err}
			}
		}
		return historyLoadedMsg{lobby: lobby}
	}
}

// saveHistoryCmd writes entries to Lobby's history slot.
func saveHistoryCmd(img api.Image, lobby uint64, entries []string) tea.Cmd {
	lit := historyLiteral(entries)
	return func() tea.Msg {
		_, err := img.SetLiteral(context.Background(), lobby, HistorySlot, lit)
		if err != nil {
			err = fmt.Errorf("workspace history: save: %w", err)
		}
		return historySavedMsg{err: err}
	}
}

// historyLiteral prints entries as the Go literal []any{"a", "b"}.
func historyLiteral(entries []string) string {
	var b strings.Builder
	b.WriteString("[]any{")
	for i, e := range entries {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(e))
	}
	b.WriteString("}")
	return b.String()
}

// parseHistory reads a printed []any of strings back; elements that are
// not strings are skipped.
func parseHistory(printed string) ([]string, error) {
	expr, err := parser.ParseExpr(printed)
	if err != nil {
		return nil, fmt.Errorf("workspace history: %s is not a Go literal: %w", HistorySlot, err)
	}
	lit, ok := expr.(*ast.CompositeLit)
	if !ok {
		return nil, fmt.Errorf("workspace history: %s is not a []any", HistorySlot)
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
