package app_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"batos/api"
	"batos/system"
	"batos/tui/app"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

// entropyWait bounds the waits on a real image.
const entropyWait = 30 * time.Second

// recordSrc records a reading: Lobby.entropy's record, a commit to it.
const recordSrc = `Lobby.Get("entropy").(Object).Send("record")`

// cemText is a reading's CEM as the status bar shows it.
func cemText(t *testing.T, reading api.Value) string {
	t.Helper()
	for _, e := range reading.Entries {
		if e.Key == "cem" {
			f, err := strconv.ParseFloat(e.Value.Float, 64)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("CEM %.2f", f)
		}
	}
	t.Fatalf("not a reading: %s", reading.Text)
	return ""
}

// record records a reading as img's client and returns its CEM as the
// status bar shows it, checking that api.Status now carries it.
func record(t *testing.T, img api.Image) string {
	t.Helper()
	res, err := img.Eval(context.Background(), recordSrc)
	if err != nil {
		t.Fatalf("%s: %v", recordSrc, err)
	}
	want := cemText(t, res.Value)
	st, err := img.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("CEM %.2f", st.CEM); !st.CEMKnown || got != want {
		t.Fatalf("after a record the status carries %s (known %v), want %s", got, st.CEMKnown, want)
	}
	return want
}

// newestCEM is the CEM of the newest reading in Lobby.entropy.series, as
// the status bar shows it; "" when there is none.
func newestCEM(t *testing.T, img api.Image) string {
	t.Helper()
	ctx := context.Background()
	lobby, err := img.Object(ctx, api.LobbyOID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range lobby.Slots {
		r := s.Target()
		if s.Name != "entropy" || r == nil {
			continue
		}
		v, err := img.Object(ctx, r.OID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range v.Slots {
			if s.Name == "series" && s.Value != nil && len(s.Value.Items) > 0 {
				return cemText(t, s.Value.Items[len(s.Value.Items)-1])
			}
		}
		return ""
	}
	t.Fatal("no Lobby.entropy")
	return ""
}

func evalOK(t *testing.T, img api.Image, src string) {
	t.Helper()
	if _, err := img.Eval(context.Background(), src); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
}

// statusBar is the screen's last line.
func statusBar(screen string) string {
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	return lines[len(lines)-1]
}

// runApp runs the app, 80×24, with its real panes over img, polling the
// status every poll (negative: once, at start), and waits for its first
// status.
func runApp(t *testing.T, img api.Image, poll time.Duration) (*teatest.TestModel, *commontest.Recorder) {
	t.Helper()
	c := &common.Common{Image: img, Styles: common.DefaultStyles(), Clock: func() time.Time { return clock }}
	screen := commontest.Record(app.New(c, app.Options{StatusEvery: poll}))
	tm := teatest.NewTestModel(t, screen, teatest.WithInitialTermSize(80, 24))
	screen.WaitFor(t, entropyWait, "objects", "[Browser]")
	return tm, screen
}

func command(tm *teatest.TestModel, line string) {
	tm.Send(char(':'))
	for _, r := range line {
		tm.Send(char(r))
	}
	tm.Send(enter)
}

// TestEntropyRecordShowsInStatus: over a real image the status is polled
// once, at start, and shows no CEM: no reading is recorded. A user's
// record (a commit to Lobby.entropy) refreshes it, and the status bar
// shows the recorded reading's CEM; the Entropy pane's R does the same
// with its own reading, after a weights edit that changes the metric but
// records nothing.
func TestEntropyRecordShowsInStatus(t *testing.T) {
	img := panetest.Open(t)
	tm, screen := runApp(t, img, -1)
	if bar := statusBar(screen.Screen()); strings.Contains(bar, "CEM") {
		t.Fatalf("a CEM before any reading was recorded: %q", bar)
	}
	first := record(t, img)
	screen.WaitUntil(t, entropyWait, "│ "+first+" │ in the status bar", func(s string) bool {
		return strings.Contains(statusBar(s), "│ "+first+" │")
	})

	command(tm, "entropy")
	screen.WaitFor(t, entropyWait, "[Entropy]", "H_struc", "1 reading,", "measured 18:40:00")
	if strings.Contains(screen.Screen(), "Transcript") {
		t.Fatalf("the transcript is drawn beside the Entropy pane:\n%s", screen.Screen())
	}
	// All the weight on H_struc: CEM becomes H_struc, which the seed's
	// structure makes more than its 5% share.
	evalOK(t, img, `Lobby.Get("entropy").(Object).Set("weights", map[string]any{"rel": 0.0, "cog": 0.0, "sol": 0.0, "struc": 1.0})`)
	screen.WaitFor(t, entropyWait, "H_struc ", "×1 ")
	tm.Send(char('R'))
	screen.WaitFor(t, entropyWait, "2 readings,", "recorded a reading")
	second := newestCEM(t, img)
	if second == first {
		t.Fatalf("the weights did not change the reading (%s)", first)
	}
	screen.WaitUntil(t, entropyWait, "│ "+second+" │ in the status bar", func(s string) bool {
		return strings.Contains(statusBar(s), "│ "+second+" │")
	})
	tm.Send(char('q'))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// TestStatusPollSendsNothing: the status bar's poll, however often, and
// the Entropy pane while it has not been shown, measure nothing: no
// request of the app's client runs (a measure is a Send, which would tell
// every attached client so); the status bar shows the recorded CEM all
// the same. Shown, the pane measures, once.
func TestStatusPollSendsNothing(t *testing.T) {
	img := panetest.Open(t)
	want := record(t, img)
	events := panetest.Events(t, img)
	tm, screen := runApp(t, img, 10*time.Millisecond)
	screen.WaitUntil(t, entropyWait, "│ "+want+" │ in the status bar", func(s string) bool {
		return strings.Contains(statusBar(s), "│ "+want+" │")
	})
	time.Sleep(300 * time.Millisecond) // some thirty polls
	busy := func() int {
		n := 0
		for {
			select {
			case ev := <-events:
				if ev.Type == api.EventStatus && ev.State == api.StateBusy {
					n++
				}
			default:
				return n
			}
		}
	}
	if n := busy(); n != 0 {
		t.Fatalf("the app ran %d requests in the evaluation slot while polling", n)
	}
	command(tm, "entropy")
	screen.WaitFor(t, entropyWait, "[Entropy]", "measured 18:40:00")
	time.Sleep(100 * time.Millisecond)
	if n := busy(); n != 1 {
		t.Fatalf("the Entropy pane, shown, ran %d requests, want its one measure", n)
	}
	tm.Send(char('q'))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// TestEntropyFollowsRecorder: with the recorder running (as in `batos`),
// a commit by the pLLM has it record a reading (a commit by principal
// entropy to Lobby.entropy); the Entropy pane shows the reading counted
// and the status bar its CEM, though the status is polled only at start.
func TestEntropyFollowsRecorder(t *testing.T) {
	img := panetest.OpenWith(t, system.Options{NoPLLM: true, Entropy: true})
	tm, screen := runApp(t, img, -1)
	command(tm, "entropy")
	screen.WaitFor(t, entropyWait, "[Entropy]", "no readings yet")
	if bar := statusBar(screen.Screen()); strings.Contains(bar, "CEM") {
		t.Fatalf("a CEM before any reading was recorded: %q", bar)
	}

	model, err := img.System.Connect("pLLM/BRICK")
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	if _, err := model.Eval(context.Background(), `Lobby.Set("noted", 1)`); err != nil {
		t.Fatal(err)
	}
	screen.WaitFor(t, entropyWait, "1 reading,")
	want := newestCEM(t, img)
	if want == "" {
		t.Fatal("the pane counts a reading the image does not hold")
	}
	screen.WaitUntil(t, entropyWait, "│ "+want+" │ in the status bar", func(s string) bool {
		return strings.Contains(statusBar(s), "│ "+want+" │")
	})
	tm.Send(char('q'))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}
