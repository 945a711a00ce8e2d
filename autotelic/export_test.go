package autotelic

// Ticks is how many looks the worker has taken: tests wait on it to know
// the worker had its chance.
func (l *Loop) Ticks() int64 { return l.ticks.Load() }
