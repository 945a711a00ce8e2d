//go:build race

package sandbox

// raceEnabled: the race detector's runtime maps shadow memory for the
// whole address space, so a race-built child cannot run under an
// address-space limit.
const raceEnabled = true
