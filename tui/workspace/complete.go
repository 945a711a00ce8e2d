package workspace

import (
	"regexp"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/internal/pane"
)

// objectMethods are the Go methods scripts can call on an Object.
var objectMethods = []string{"Send", "Get", "Set", "Define", "Remove", "Rename", "Slots", "Clone", "ID", "String"}

var (
	sendContext = regexp.MustCompile(`\.Send\("([A-Za-z0-9_:]*)$`)
	dotContext  = regexp.MustCompile(`\.([A-Za-z_][A-Za-z0-9_]*)?$`)
)

// completion modes.
const (
	modeSend = iota + 1 // inside .Send("…: candidates are selectors
	modeDot             // after a dot: methods, and selectors as Send("…
)

type completionMsg struct {
	before     string // the text before the cursor when asked
	prefix     string
	mode       int
	candidates []string
	err        error
}

// completionContext finds what the text before the cursor asks to
// complete; ok is false when it asks nothing.
func completionContext(before string) (prefix string, mode int, ok bool) {
	if m := sendContext.FindStringSubmatch(before); m != nil {
		return m[1], modeSend, true
	}
	if m := dotContext.FindStringSubmatch(before); m != nil {
		return m[1], modeDot, true
	}
	return "", 0, false
}

// completeCmd gathers the candidates for prefix (see the package comment).
func completeCmd(img api.Image, lobby uint64, before, prefix string, mode int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		seen := map[string]bool{}
		var sels []string
		add := func(s string) {
			if strings.HasPrefix(s, prefix) && !seen[s] {
				seen[s] = true
				sels = append(sels, s)
			}
		}
		var err error
		if lobby != 0 {
			var chain []string
			chain, err = img.Selectors(ctx, lobby)
			for _, s := range chain {
				add(s)
			}
		}
		if prefix != "" {
			hits, serr := img.Search(ctx, prefix, 200)
			for _, h := range hits {
				if h.Selector != "" {
					add(h.Selector)
				}
			}
			if err == nil {
				err = serr
			}
		}
		sort.Strings(sels)
		var out []string
		if mode == modeDot {
			for _, m := range objectMethods {
				if strings.HasPrefix(m, prefix) {
					out = append(out, m)
				}
			}
			for _, s := range sels {
				if s != "" && !contains(objectMethods, s) {
					out = append(out, s)
				}
			}
		} else {
			out = sels
		}
		return completionMsg{before: before, prefix: prefix, mode: mode, candidates: out, err: err}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// insertion is what to type for the candidates: the whole of a single
// one (closed), or the common prefix of several.
func insertion(msg completionMsg) string {
	if len(msg.candidates) == 0 {
		return ""
	}
	if len(msg.candidates) == 1 {
		c := msg.candidates[0]
		switch {
		case msg.mode == modeSend:
			return c[len(msg.prefix):] + `"`
		case contains(objectMethods, c):
			return c[len(msg.prefix):] + "("
		default:
			return "" // a selector after a dot: see rewriteToSend
		}
	}
	common := msg.candidates[0]
	for _, c := range msg.candidates[1:] {
		for !strings.HasPrefix(c, common) {
			common = common[:len(common)-1]
		}
	}
	if len(common) < len(msg.prefix) {
		return ""
	}
	return common[len(msg.prefix):]
}
