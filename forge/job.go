package forge

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"batos/image"
	"batos/kernel"
)

// Job states. A job moves forward through the steps, one committed
// transition each; a failure or a cancel sends it to compensating, which
// undoes its completed steps in reverse order and ends it failed or
// cancelled.
const (
	Queued       = "queued"
	Curating     = "curating"
	Training     = "training"
	Converting   = "converting"
	Evaluating   = "evaluating"
	Registering  = "registering"
	Succeeded    = "succeeded"
	Compensating = "compensating"
	Failed       = "failed"
	Cancelled    = "cancelled"
)

// steps are the saga's forward states, in order; each is also the name of
// the step it runs (registering runs register).
var steps = []string{Curating, Training, Converting, Evaluating, Registering}

// Ended reports whether a job in state will not move again.
func Ended(state string) bool { return state == Succeeded || state == Failed || state == Cancelled }

// next is the state after a forward state.
func next(state string) string {
	if state == Queued {
		return Curating
	}
	i := slices.Index(steps, state)
	if i < 0 || i == len(steps)-1 {
		return Succeeded
	}
	return steps[i+1]
}

// job is a job object's slots, read in one transaction.
//
// Slots of a job object: id, persona, state, backend, handle (the backend
// job's, once submitted), submitted (RFC 3339), done (the completed steps,
// in order), cancel (set by a user's request), cancelled (the
// compensation is for a cancel), reason, version (the adapter version it
// makes), previous (the persona's adapter before register), progress (a
// map: the trainer's last progress line, committed with the next
// transition), created and updated (RFC 3339).
type job struct {
	oid       image.OID
	id        int
	persona   string
	state     string
	backend   string
	handle    string
	submitted time.Time
	done      []string
	cancel    bool
	cancelled bool
	reason    string
	version   int
}

func readJob(o kernel.Object) job {
	j := job{
		oid:       o.OID(),
		id:        intSlot(o, "id", 0),
		persona:   stringSlot(o, "persona", ""),
		state:     stringSlot(o, "state", ""),
		backend:   stringSlot(o, "backend", "local"),
		handle:    stringSlot(o, "handle", ""),
		cancel:    boolSlot(o, "cancel"),
		cancelled: boolSlot(o, "cancelled"),
		reason:    stringSlot(o, "reason", ""),
		version:   intSlot(o, "version", 0),
	}
	if t, err := time.Parse(time.RFC3339Nano, stringSlot(o, "submitted", "")); err == nil {
		j.submitted = t
	}
	if l, ok := slot(o, "done").([]any); ok {
		for _, s := range l {
			if s, ok := s.(string); ok {
				j.done = append(j.done, s)
			}
		}
	}
	return j
}

// name is the job's name for people and backends.
func (j job) name() string { return fmt.Sprintf("batos-forge-%d", j.id) }

func (j job) String() string { return fmt.Sprintf("forge job %d (%s)", j.id, j.persona) }

// slot reads a slot, nil when o has none.
func slot(o kernel.Object, name string) any {
	if o == (kernel.Object{}) {
		return nil
	}
	v, _ := o.Lookup(name)
	return v
}

func stringSlot(o kernel.Object, name, def string) string {
	if s, ok := slot(o, name).(string); ok {
		return s
	}
	return def
}

func intSlot(o kernel.Object, name string, def int) int {
	switch v := slot(o, name).(type) {
	case int:
		return v
	case float64:
		return int(v)
	}
	return def
}

func boolSlot(o kernel.Object, name string) bool {
	b, _ := slot(o, name).(bool)
	return b
}

func stringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// fill replaces the trainer template's placeholders.
func fill(template []string, vars map[string]string) []string {
	out := make([]string, len(template))
	for i, a := range template {
		for k, v := range vars {
			a = strings.ReplaceAll(a, "{"+k+"}", v)
		}
		out[i] = a
	}
	return out
}
