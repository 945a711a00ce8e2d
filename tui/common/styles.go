package common

import (
	"charm.land/lipgloss/v2"
)

// Styles are the TUI's styles. Colours are ANSI-256 and lipgloss degrades
// them to the terminal's profile; every distinction colour makes is also
// made by text or weight, so that no-colour terminals stay readable.
type Styles struct {
	Focused, Blurred lipgloss.Style // pane borders
	Title            lipgloss.Style
	Selected         lipgloss.Style // the selected row of a list
	Dim              lipgloss.Style // secondary text: inherited slots, times
	Error            lipgloss.Style
	Info             lipgloss.Style
	StatusBar        lipgloss.Style
	Kind             map[string]lipgloss.Style // by slot kind
	Principal        func(p string) lipgloss.Style
}

// DefaultStyles returns the default styles.
func DefaultStyles() *Styles {
	s := &Styles{
		Focused:   lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(lipgloss.Color("63")),
		Blurred:   lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(lipgloss.Color("240")),
		Title:     lipgloss.NewStyle().Bold(true),
		Selected:  lipgloss.NewStyle().Reverse(true),
		Dim:       lipgloss.NewStyle().Foreground(lipgloss.Color("245")),
		Error:     lipgloss.NewStyle().Foreground(lipgloss.Color("196")).Bold(true),
		Info:      lipgloss.NewStyle().Foreground(lipgloss.Color("35")),
		StatusBar: lipgloss.NewStyle().Reverse(true),
		Kind: map[string]lipgloss.Style{
			"parent":    lipgloss.NewStyle().Foreground(lipgloss.Color("141")),
			"data":      lipgloss.NewStyle().Foreground(lipgloss.Color("252")),
			"method":    lipgloss.NewStyle().Foreground(lipgloss.Color("81")).Bold(true),
			"primitive": lipgloss.NewStyle().Foreground(lipgloss.Color("214")),
		},
	}
	s.Principal = func(p string) lipgloss.Style {
		switch {
		case len(p) >= 5 && p[:5] == "pLLM/":
			return lipgloss.NewStyle().Foreground(lipgloss.Color("213")).Bold(true)
		case p == "autotelic":
			return lipgloss.NewStyle().Foreground(lipgloss.Color("220"))
		case p == "forge":
			return lipgloss.NewStyle().Foreground(lipgloss.Color("208"))
		case p == "remote" || len(p) >= 7 && p[:7] == "remote/":
			return lipgloss.NewStyle().Foreground(lipgloss.Color("37"))
		case p == "user":
			return lipgloss.NewStyle().Foreground(lipgloss.Color("75"))
		}
		return lipgloss.NewStyle().Foreground(lipgloss.Color("250"))
	}
	return s
}
