package browser

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"batos/tui/internal/panetest"
)

// BenchmarkBrowserFrame renders one frame of the browser over an image
// with 100,000 objects under Lobby, every one of them a row of the tree:
// Lobby holds 100 objects h0..h99 (expanded), each holding 1,000. (Lobby
// holding all 100,000 directly costs the kernel a rewrite of Lobby's whole
// slot list per Set, which makes building the image, not the frame, slow.)
// A frame must stay under 16 ms: it costs what is visible, not what exists.
func BenchmarkBrowserFrame(b *testing.B) {
	const holders, per = 100, 1_000
	img := panetest.Open(b)
	ctx := context.Background()
	for h := 0; h < holders; h++ {
		src := fmt.Sprintf(`h := NewObject(); for i := 0; i < %d; i++ { o := NewObject(); o.Set("n", i); h.Set("o"+strconv.Itoa(i), o) }; Lobby.Set("h%d", h)`, per, h)
		if _, err := img.Eval(ctx, src); err != nil {
			b.Fatal(err)
		}
	}
	m := New(panetest.Common(img))
	m.SetSize(160, 48)
	m.Focus()
	d := &panetest.Driver{TB: b, Pane: m}
	d.Init()
	for _, r := range append([]row(nil), m.rows...) {
		if strings.HasPrefix(r.slot, "h") && r.depth == 1 {
			d.Send(m.loadKids(r.oid, r.path)())
		}
	}
	if len(m.rows) < holders*per {
		b.Fatalf("%d rows", len(m.rows))
	}
	d.Send(panetest.Keys("G", "k")...) // deep in the list
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			m.cursor-- // a moving cursor, as while scrolling
			m.scrollTree()
		}
		_ = m.View()
	}
	b.ReportMetric(float64(len(m.rows)), "rows")
}
