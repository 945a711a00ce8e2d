package pllm

import "time"

// SetWaitNotice shortens how often a silent server is reported, for a
// test; restore puts it back.
func SetWaitNotice(d time.Duration) (restore func()) {
	old := waitNotice
	waitNotice = d
	return func() { waitNotice = old }
}
