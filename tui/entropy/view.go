package entropy

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"batos/tui/internal/pane"
)

// sparks are the eight heights of a sparkline.
var sparks = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws the newest width of values, oldest left, one cell each:
// a value in 0..1 (clamped) as one of eight heights, as `batos entropy`
// draws them; a NaN (a reading without the component) as a space.
func Sparkline(values []float64, width int) string {
	if width <= 0 {
		return ""
	}
	if len(values) > width {
		values = values[len(values)-width:]
	}
	var b strings.Builder
	for _, v := range values {
		if math.IsNaN(v) {
			b.WriteByte(' ')
			continue
		}
		i := int(min(max(v, 0), 1) * float64(len(sparks)))
		b.WriteRune(sparks[max(0, min(len(sparks)-1, i))])
	}
	return b.String()
}

// wideWidth is the width from which the components' rows carry their long
// names and the rows under them say more.
const wideWidth = 64

// columns are the component rows' column widths: label, value, weight.
func columns(wide bool) (int, int, int) {
	if wide {
		return 29, 5, 6
	}
	return 7, 5, 4
}

func (m *Model) View() string {
	w, h := m.width, m.height
	if w <= 0 || h <= 0 {
		return ""
	}
	bh := h - 1
	rows := pane.Block(m.body(w, bh), w, bh)
	return strings.Join(append(rows, pane.Fit(m.footer(), w)), "\n")
}

func (m *Model) body(w, h int) []string {
	st := m.c.Styles
	switch {
	case h <= 0:
		return nil
	case !m.loaded:
		return []string{st.Dim.Render(" loading…")}
	case m.oid == 0:
		return []string{st.Dim.Render(" nothing to measure")}
	}
	wide := w >= wideWidth
	lw, vw, ww := columns(wide)
	sw := max(w-lw-vw-ww-3, 0)
	var out []string
	if wide && h >= 12 {
		head := fmt.Sprintf("%-*s %*s %-*s %s", lw, "component", vw, "now", ww, "weight", "series, newest right")
		out = append(out, st.Dim.Render(head))
	}
	points := make([]float64, len(m.series))
	for i, c := range components {
		label := c.short
		if wide {
			label = fmt.Sprintf("%-7s %s", c.short, c.long)
		}
		label = pane.Fit(label, lw)
		if i == 0 {
			label = st.Title.Render(label)
		}
		value := "–"
		if v := m.now.Values[i]; m.nowOK && !math.IsNaN(v) {
			value = fmt.Sprintf("%.3f", v)
		}
		weight := ""
		if wt := m.cfg.weights[i]; i > 0 && !math.IsNaN(wt) {
			weight = "×" + weightText(wt, wide)
		}
		for j, r := range m.series {
			points[j] = r.Values[i]
		}
		spark := Sparkline(points, sw)
		switch {
		case i == 0 && len(m.series) == 0:
			spark = st.Dim.Render(pane.Fit("R records a reading", sw))
		case i == 0:
			spark = st.Info.Render(spark)
		}
		out = append(out, fmt.Sprintf("%s %*s %s %s", label, vw, value, st.Dim.Render(pane.Fit(weight, ww)), spark))
	}
	if wide {
		if h >= 12 {
			out = append(out, "")
		}
		out = append(out, m.windowLine(true), m.seriesLine(true))
		if m.cfg.interval > 0 {
			out = append(out, st.Dim.Render(fmt.Sprintf("recorded after the pLLM's commits, at most every %d s", m.cfg.interval)))
		}
	} else {
		out = append(out, m.windowLine(false), m.seriesLine(false))
	}
	// The autotelic loop's ledger under the metric it steers by, in what
	// room is left, after a blank line when there is room for one.
	room := h - len(out)
	if wide && room > 2 {
		if ledger := m.ledgerLines(true, room-1); len(ledger) > 0 {
			return append(append(out, ""), ledger...)
		}
	}
	return append(out, m.ledgerLines(wide, room)...)
}

// weightText is a weight, short: ".25" when narrow, "0.25" when wide.
func weightText(w float64, wide bool) string {
	if wide {
		return fmt.Sprintf("%.2f", w)
	}
	s := strconv.FormatFloat(w, 'g', 2, 64)
	if strings.HasPrefix(s, "0.") {
		s = s[1:]
	}
	return s
}

// windowLine says how many generation records the reading measured, and
// the window's size.
func (m *Model) windowLine(wide bool) string {
	gens := -1
	if m.nowOK {
		gens = m.now.Generations
	}
	switch {
	case gens >= 0 && wide && m.cfg.window > 0:
		s := fmt.Sprintf("window: %s measured, of the newest %d", plural(gens, "generation record"), m.cfg.window)
		if m.cfg.k > 0 {
			s += fmt.Sprintf(" · k %d", m.cfg.k)
		}
		return s
	case gens >= 0 && m.cfg.window > 0:
		return fmt.Sprintf("window: %s (max %d)", plural(gens, "generation"), m.cfg.window)
	case gens >= 0:
		return "window: " + plural(gens, "generation")
	case m.cfg.window > 0:
		return fmt.Sprintf("window: the newest %d generations", m.cfg.window)
	}
	return ""
}

// seriesLine says how many readings the series holds and when the newest
// was recorded.
func (m *Model) seriesLine(wide bool) string {
	n := len(m.series)
	if n == 0 {
		return "no readings yet"
	}
	s := plural(n, "reading")
	if wide {
		s = "series: " + s
		if m.cfg.maximum > 0 {
			s += fmt.Sprintf(" (the newest %d kept)", m.cfg.maximum)
		}
	}
	if t := m.series[n-1].Time; t != "" {
		if wide {
			s += " · last " + when(t)
		} else {
			s += ", last " + when(t)
		}
	}
	return s
}

// when is a reading's RFC 3339 time, shorter, in UTC; text it cannot
// read is shown as it is (sanitized already).
func when(t string) string {
	at, err := time.Parse(time.RFC3339, t)
	if err != nil {
		return t
	}
	return at.UTC().Format("2006-01-02 15:04Z")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func (m *Model) footer() string {
	st := m.c.Styles
	switch {
	case m.note != "" && m.noteErr:
		return st.Error.Render("✗ " + m.note)
	case m.note != "":
		return st.Info.Render("• " + m.note)
	case m.loadErr != "":
		return st.Error.Render("✗ " + m.loadErr)
	case m.nowOK:
		return st.Dim.Render(fmt.Sprintf("measured %s · r again · R record", m.measuredAt.Format("15:04:05")))
	}
	return st.Dim.Render("r measure · R record")
}
