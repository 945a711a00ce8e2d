package app

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

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

// TestStatusCEMSegment: the status bar shows api.Status's CEM, with two
// decimals, when it is known, after the Forge's counts and before the
// image's path, so that an 80-column terminal keeps it; nothing when it
// is not known (no reading recorded), nor for a value it cannot show.
func TestStatusCEMSegment(t *testing.T) {
	c := &common.Common{Image: commontest.New(), Styles: common.DefaultStyles()}
	m := New(c, Options{StatusEvery: time.Hour})
	st := api.Status{Image: "/home/somebody/images/a-rather-long-image-name-for-a-test", Objects: 1234, ForgeRunning: 1, ForgeWorker: true}
	for _, tt := range []struct {
		cem   float64
		known bool
		want  string
	}{
		{0, false, ""},
		{0.4125, false, ""},
		{0.4125, true, " batos │ forge 1 running │ CEM 0.41 │ /home/"},
		{0, true, " batos │ forge 1 running │ CEM 0.00 │ /home/"},
		{math.NaN(), true, ""},
	} {
		st.CEM, st.CEMKnown = tt.cem, tt.known
		m.handle(statusMsg{st: st})
		line := m.statusLine()
		if tt.want == "" && strings.Contains(line, "CEM") || tt.want != "" && !strings.HasPrefix(line, tt.want) {
			t.Errorf("CEM %v known %v: status line %q, want it to start %q", tt.cem, tt.known, line, tt.want)
		}
	}
	st.CEM, st.CEMKnown = 0.4125, true
	m.handle(statusMsg{st: st})
	m.width, m.height = 80, 24
	if r := m.Render(); !strings.Contains(r, "CEM 0.41") {
		t.Fatalf("80 columns lose the CEM:\n%s", r)
	}
}

// TestEntropyCommitsRefreshStatus: a commit by the entropy recorder, and
// one that changes Lobby.entropy once it is known, ask for the status (the
// refresh the Forge's commits use); other commits and events do not; the
// poll and the commits measure nothing (no Send reaches the image).
func TestEntropyCommitsRefreshStatus(t *testing.T) {
	img := commontest.New()
	c := &common.Common{Image: img, Styles: common.DefaultStyles()}
	m := quietModel(c)
	commit := func(principal string, oids ...uint64) api.Event {
		tx := &api.Tx{ID: 9, Principal: principal}
		for _, oid := range oids {
			tx.Changed = append(tx.Changed, api.Ref{OID: oid})
		}
		return api.Event{Type: api.EventCommit, Tx: tx}
	}
	if m.entropyChanged(commit("user", 12)) {
		t.Fatal("a commit to object 12 refreshes before Lobby.entropy is known")
	}
	if !m.entropyChanged(commit("entropy", 30)) {
		t.Fatal("the recorder's commit refreshes nothing before Lobby.entropy is known")
	}
	m.handle(lobbySlotsMsg{names: []string{"Lobby", "Forge", "entropy"}, forge: 11, entropy: 12})
	for _, tt := range []struct {
		what string
		ev   api.Event
		want bool
	}{
		{"the recorder's commit", commit("entropy", 12), true},
		{"a commit by the entropy principal elsewhere", commit("entropy", 30), true},
		{"a user's record (a commit to Lobby.entropy)", commit("user", 12), true},
		{"a user's commit elsewhere", commit("user", 13), false},
		{"the pLLM's commit (the recorder follows it)", commit("pLLM/BRICK", 1), false},
		{"a commit by the Forge", commit("forge", 11), false},
		{"a status event", api.Event{Type: api.EventStatus, State: api.StateBusy}, false},
	} {
		if got := m.entropyChanged(tt.ev); got != tt.want {
			t.Errorf("%s: refresh %v, want %v", tt.what, got, tt.want)
		}
	}

	// Through the update loop: a user's commit elsewhere asks nothing; the
	// recorder's asks for the status, whose answer shows the CEM.
	m.handle(common.EventMsg{Event: commit("user", 13)})
	if m.refreshing {
		t.Fatal("a user's commit elsewhere refreshed the status")
	}
	img.Fixed.CEM, img.Fixed.CEMKnown = 0.6, true
	cmd := m.handle(common.EventMsg{Event: commit("entropy", 30)})
	if !m.refreshing {
		t.Fatal("the recorder's commit refreshed nothing")
	}
	for _, msg := range run(cmd) {
		if st, ok := msg.(statusMsg); ok {
			m.handle(st)
		}
	}
	if line := m.statusLine(); !strings.Contains(line, " │ CEM 0.60 │ ") {
		t.Fatalf("after the recorder's commit: %q", line)
	}
	if m.refreshing {
		t.Fatal("the refresh did not end")
	}
	// A burst of commits to Lobby.entropy: one refresh in flight, one
	// more after it.
	first := m.handle(common.EventMsg{Event: commit("user", 12)})
	for range 3 {
		m.handle(common.EventMsg{Event: commit("entropy", 12)})
	}
	var answer statusMsg
	for _, msg := range run(first) {
		if st, ok := msg.(statusMsg); ok {
			answer = st
		}
	}
	if again := m.handle(answer); again == nil || !m.refreshing {
		t.Fatal("what the burst asked meanwhile was dropped")
	}
	m.handle(statusTickMsg{})
	for _, src := range img.EvalLog() {
		if strings.Contains(src, "measure") {
			t.Fatalf("the status bar measured: %q", src)
		}
	}
}

// quietPane is a pane that asks for nothing.
type quietPane struct{ title string }

func (p quietPane) Init() tea.Cmd                         { return nil }
func (p quietPane) Update(tea.Msg) (common.Pane, tea.Cmd) { return p, nil }
func (p quietPane) View() string                          { return p.title }
func (p quietPane) SetSize(int, int)                      {}
func (p quietPane) Focus() tea.Cmd                        { return nil }
func (p quietPane) Blur()                                 {}
func (p quietPane) Title() string                         { return p.title }
func (p quietPane) Editing() bool                         { return false }
func (p quietPane) Dirty() bool                           { return false }
func (p quietPane) ShortHelp() []key.Binding              { return nil }
func (p quietPane) FullHelp() [][]key.Binding             { return nil }

// quietModel is the app over c with panes that ask for nothing and a live
// feed already closed, so that every command an update returns can be run
// to its message (see run).
func quietModel(c *common.Common) *Model {
	ps := &Panes{}
	for _, p := range []*common.Pane{&ps.Browser, &ps.Inspector, &ps.Workspace, &ps.Transcript, &ps.History, &ps.Forge, &ps.Entropy} {
		*p = quietPane{}
	}
	m := New(c, Options{StatusEvery: time.Hour, Panes: ps})
	closed := make(chan api.Event)
	close(closed)
	m.events = closed
	return m
}

// run runs cmd, and the commands of a batch, to their messages; it leaves
// the model's panes and live feed must not block (see quietModel).
func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, run(c)...)
		}
		return out
	case nil:
		return nil
	default:
		return []tea.Msg{msg}
	}
}

// TestStatusAutoSegment: the status bar says the autotelic loop is on,
// after the CEM, and when no worker runs it in the image's process; it
// says nothing while the loop is off.
func TestStatusAutoSegment(t *testing.T) {
	c := &common.Common{Image: commontest.New(), Styles: common.DefaultStyles()}
	m := New(c, Options{StatusEvery: time.Hour})
	for _, tt := range []struct {
		st   api.Status
		want string
	}{
		{api.Status{}, ""},
		{api.Status{AutotelicWorker: true}, ""},
		{api.Status{Autotelic: true, AutotelicWorker: true}, " batos │ auto on │ "},
		{api.Status{Autotelic: true}, " batos │ auto on (no worker) │ "},
		{api.Status{Autotelic: true, AutotelicWorker: true, CEM: 0.41, CEMKnown: true}, " batos │ CEM 0.41 │ auto on │ "},
	} {
		m.handle(statusMsg{st: tt.st})
		line := m.statusLine()
		if tt.want == "" && strings.Contains(line, "auto") || tt.want != "" && !strings.HasPrefix(line, tt.want) {
			t.Errorf("%+v: status line %q, want it to start %q", tt.st, line, tt.want)
		}
	}
}

// TestAutotelicCommitsRefreshStatus: a commit that changes Lobby.autotelic
// (its switch), once it is known, asks for the status; others do not.
func TestAutotelicCommitsRefreshStatus(t *testing.T) {
	c := &common.Common{Image: commontest.New(), Styles: common.DefaultStyles()}
	m := quietModel(c)
	commit := func(oids ...uint64) api.Event {
		tx := &api.Tx{ID: 9, Principal: "user"}
		for _, oid := range oids {
			tx.Changed = append(tx.Changed, api.Ref{OID: oid})
		}
		return api.Event{Type: api.EventCommit, Tx: tx}
	}
	if m.autotelicChanged(commit(14)) {
		t.Fatal("a commit to object 14 refreshes before Lobby.autotelic is known")
	}
	m.handle(lobbySlotsMsg{names: []string{"Lobby", "autotelic"}, autotelic: 14})
	if !m.autotelicChanged(commit(3, 14)) {
		t.Fatal("a commit to Lobby.autotelic refreshes nothing")
	}
	if m.autotelicChanged(commit(13)) || m.autotelicChanged(api.Event{Type: api.EventStatus, State: api.StateBusy}) {
		t.Fatal("a commit elsewhere, or another event, refreshes the status")
	}
	m.handle(common.EventMsg{Event: commit(14)})
	if !m.refreshing {
		t.Fatal("a commit to Lobby.autotelic refreshed nothing through the update loop")
	}
}

// TestCommandCompletion: the command line offers the :autotelic verbs.
func TestCommandCompletion(t *testing.T) {
	got := suggestions([]string{"Lobby", "autotelic"})
	for _, want := range []string{"autotelic", "autotelic on", "autotelic off", "autotelic step", "browse autotelic"} {
		if !slices.Contains(got, want) {
			t.Errorf("no %q in %q", want, got)
		}
	}
}
