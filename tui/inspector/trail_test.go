package inspector

import (
	"fmt"
	"testing"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/panetest"
)

// TestInspectStartsANewTrail: inspecting something new (:inspect EXPR,
// ctrl+o in the workspace, i in the browser) starts a new breadcrumb
// trail; only enter on a reference extends the trail.
func TestInspectStartsANewTrail(t *testing.T) {
	f := setup(t)
	f.to(t, "inner")
	f.d.Send(panetest.Key("enter"))
	if f.m.Depth() != 2 {
		t.Fatalf("drill in: depth %d", f.m.Depth())
	}
	f.d.Send(common.InspectMsg{OID: 2})
	if f.m.Depth() != 1 || f.m.top().oid != 2 {
		t.Fatalf("inspect traits after point › inner: depth %d, top %d, want a trail of traits alone", f.m.Depth(), f.m.top().oid)
	}
	if v := panetest.Plain(f.m.View()); panetest.Contains(f.m.View(), "point (object") {
		t.Fatalf("the old trail is still in the breadcrumb:\n%s", v)
	}
	f.d.Send(common.InspectValueMsg{Value: api.Int(5)})
	if f.m.Depth() != 1 || f.m.top().oid != 0 {
		t.Fatalf("inspect a value: depth %d", f.m.Depth())
	}
	f.d.Send(common.InspectMsg{OID: f.point})
	if f.m.Depth() != 1 || !panetest.Contains(f.m.View(), fmt.Sprintf("point (object %d)", f.point)) || panetest.Contains(f.m.View(), "value ›") {
		t.Fatalf("inspect point after a value: depth %d\n%s", f.m.Depth(), panetest.Plain(f.m.View()))
	}
}
