package app

import (
	"strings"
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

// TestStatusForgeSegment: the status bar counts the Forge's jobs in
// flight from api.Status, says when queued jobs have no worker to run
// them, and says nothing when no job is in flight.
func TestStatusForgeSegment(t *testing.T) {
	c := &common.Common{Image: commontest.New(), Styles: common.DefaultStyles()}
	m := New(c, Options{StatusEvery: time.Hour})
	for _, tt := range []struct {
		st        api.Status
		want, not string
	}{
		{api.Status{}, "", "forge"},
		{api.Status{ForgeWorker: true}, "", "forge"},
		{api.Status{ForgeRunning: 1, ForgeQueued: 2, ForgeWorker: true}, " │ forge 1 running, 2 queued ", "no worker"},
		{api.Status{ForgeRunning: 1, ForgeWorker: true}, " │ forge 1 running ", "queued"},
		{api.Status{ForgeQueued: 2}, " │ forge 2 queued (no worker) ", "running"},
		{api.Status{ForgeRunning: 1, ForgeQueued: 1}, " │ forge 1 running, 1 queued (no worker) ", ""},
	} {
		m.handle(statusMsg{st: tt.st})
		line := m.statusLine()
		if tt.want != "" && !strings.Contains(line, tt.want) || tt.not != "" && strings.Contains(line, tt.not) {
			t.Errorf("%+v: status line %q, want %q and not %q", tt.st, line, tt.want, tt.not)
		}
	}
}

// TestForgeEventsRefreshStatus: a commit by the Forge, a commit to
// Lobby.Forge and a Forge event in a new state ask for the status; other
// commits and progress in the same state do not.
func TestForgeEventsRefreshStatus(t *testing.T) {
	c := &common.Common{Image: commontest.New(), Styles: common.DefaultStyles()}
	m := New(c, Options{StatusEvery: time.Hour})
	m.handle(lobbySlotsMsg{names: []string{"Lobby", "Forge"}, forge: 11})
	commit := func(principal string, oids ...uint64) api.Event {
		tx := &api.Tx{ID: 9, Principal: principal}
		for _, oid := range oids {
			tx.Changed = append(tx.Changed, api.Ref{OID: oid})
		}
		return api.Event{Type: api.EventCommit, Tx: tx}
	}
	progress := func(state string, step int) api.Event {
		return api.Event{Type: api.EventForge, Forge: &api.ForgeProgress{Job: 3, Persona: "BRICK", State: state, Step: step, Steps: 2}}
	}
	for _, tt := range []struct {
		what string
		ev   api.Event
		want bool
	}{
		{"a user's commit elsewhere", commit("user", 12), false},
		{"a commit by the Forge", commit("forge", 14), true},
		{"a job queued (a user's commit to Lobby.Forge)", commit("user", 11, 14), true},
		{"a job training", progress("training", 0), true},
		{"its progress", progress("training", 1), false},
		{"more progress", progress("training", 2), false},
		{"its next state", progress("converting", 0), true},
		{"its end", progress("succeeded", 0), true},
		{"a token", api.Event{Type: api.EventToken, Token: &api.Token{Text: "x"}}, false},
	} {
		if got := m.forgeChanged(tt.ev); got != tt.want {
			t.Errorf("%s: refresh %v, want %v", tt.what, got, tt.want)
		}
	}
	if len(m.forgeStates) != 0 {
		t.Errorf("an ended job's state is kept: %v", m.forgeStates)
	}
}

// TestStatusRefreshCoalesces: while a refresh runs, more asked make one
// more after it, not one each; an answer older than the one shown is not
// shown.
func TestStatusRefreshCoalesces(t *testing.T) {
	c := &common.Common{Image: commontest.New(), Styles: common.DefaultStyles()}
	m := New(c, Options{StatusEvery: time.Hour})
	first := m.refreshStatus()
	if first == nil {
		t.Fatal("no refresh")
	}
	for range 2 {
		if m.refreshStatus() != nil {
			t.Fatal("a second refresh ran while one was in flight")
		}
	}
	msg := first().(statusMsg)
	msg.st = api.Status{ForgeQueued: 1}
	again := m.handle(msg)
	if again == nil {
		t.Fatal("what was asked meanwhile was dropped")
	}
	if m.handle(again().(statusMsg)) != nil {
		t.Fatal("a third refresh ran")
	}
	// An older answer (an earlier poll's, arriving late) is not shown.
	m.handle(statusMsg{st: api.Status{Objects: 1, ForgeRunning: 5}, seq: 1, poll: true})
	if m.status.ForgeRunning == 5 {
		t.Fatalf("a stale status was shown: %+v", m.status)
	}
}
