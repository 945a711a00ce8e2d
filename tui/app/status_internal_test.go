package app

import (
	"testing"
	"time"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
)

// TestRefreshDoesNotStartASecondPoll: the status a resubscribe asks for
// updates the bar but schedules nothing; the poll's own answer schedules
// the next poll.
func TestRefreshDoesNotStartASecondPoll(t *testing.T) {
	c := &common.Common{Image: commontest.New(), Styles: common.DefaultStyles()}
	m := New(c, Options{StatusEvery: time.Hour})
	if cmd := m.handle(statusMsg{st: api.Status{Objects: 5}}); cmd != nil || m.status.Objects != 5 {
		t.Fatalf("a refresh's status: cmd %v, objects %d", cmd != nil, m.status.Objects)
	}
	if cmd := m.handle(statusMsg{st: api.Status{Objects: 6}, poll: true}); cmd == nil {
		t.Fatal("the poll's answer scheduled no next poll")
	}
}
