package tui_test

import (
	"io"
	"testing"
	"time"

	"batos/system"
	"batos/tui"
)

// BenchmarkFirstFrame measures a start as `batos` makes it: open the image
// (a fresh one, with its awakening, on the first iteration; a reopen
// after) with the pLLM installed (but no sandbox to run its trials: this
// test binary is not batos), connect, then Run until the first frame is
// rendered.
func BenchmarkFirstFrame(b *testing.B) {
	b.Setenv("BATOS_LLM_URL", "http://127.0.0.1:1")
	dir := b.TempDir()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		sys, err := system.Open(dir, system.Options{Sandbox: []string{}})
		if err != nil {
			b.Fatal(err)
		}
		img, err := sys.Connect("user")
		if err != nil {
			b.Fatal(err)
		}
		in, keys := io.Pipe()
		first := make(chan time.Time, 1)
		done := make(chan error, 1)
		go func() {
			done <- tui.Run(img, tui.Options{Input: in, Output: io.Discard, OnFirstView: func() { first <- time.Now() }})
		}()
		d := (<-first).Sub(t0)
		_, _ = keys.Write([]byte{3}) // ctrl+c
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		img.Close()
		if err := sys.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(d.Microseconds())/1000, "ms-to-first-frame")
	}
}
