package interp

import (
	"context"
	"testing"
	"time"
)

// TestGuardSuspend checks that time spent suspended does not count against
// the deadline, that the deadline still applies afterwards, and that
// cancellation is not suspended.
func TestGuardSuspend(t *testing.T) {
	g := NewGuard(context.Background(), Limits{Deadline: time.Second})
	defer g.Release()
	resume := g.Suspend()
	time.Sleep(1500 * time.Millisecond) // longer than the whole deadline
	resume()
	if g.expired.Load() != 0 {
		t.Fatal("guard expired while suspended")
	}
	select {
	case <-g.Expired():
	case <-time.After(5 * time.Second):
		t.Fatal("deadline did not apply after resume")
	}

	ctx, cancel := context.WithCancel(context.Background())
	g2 := NewGuard(ctx, Limits{Deadline: time.Hour})
	defer g2.Release()
	resume = g2.Suspend()
	cancel()
	select {
	case <-g2.Expired():
	case <-time.After(5 * time.Second):
		t.Fatal("cancellation was suspended too")
	}
	resume()
	if g2.TickN() >= 0 {
		t.Fatal("a cancelled guard kept running")
	}
}
