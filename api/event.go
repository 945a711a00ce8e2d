package api

import (
	"encoding/json"
	"fmt"
)

// Event types.
const (
	EventCommit = "commit" // Tx and Changes: a transaction became durable
	EventToken  = "token"  // Token: model output while the pLLM writes
	EventOutput = "output" // Output: what a request printed
	EventStatus = "status" // State: a request became busy or idle
	EventMissed = "missed" // Missed: the subscriber fell behind and is dropped
	EventForge  = "forge"  // Forge: a Forge job's live progress (its transitions are commits)
)

// Request states of EventStatus.
const (
	StateBusy = "busy"
	StateIdle = "idle"
)

// Event is something that happened in the image, live, as Jupyter's iopub
// broadcasts it: Seq increases by one per event across the whole image;
// Client and Request say whose request caused it (empty for the image's
// own work, such as the pLLM's commits). Exactly the fields of its Type
// are set.
type Event struct {
	Seq     uint64
	Client  string
	Request string
	Type    string

	Tx      *Tx      // commit
	Changes []Change // commit
	Token   *Token   // token
	Output  string   // output
	State   string   // status: StateBusy or StateIdle
	Missed  uint64   // missed: events lost since the last one delivered
	Forge   *ForgeProgress
}

// ForgeProgress is a Forge job's state and the trainer's latest progress:
// a stream between the job's transitions, which are commits.
type ForgeProgress struct {
	Job     int     `json:"job"`
	Persona string  `json:"persona"`
	State   string  `json:"state"`
	Step    int     `json:"step,omitempty"`
	Steps   int     `json:"steps,omitempty"`
	Loss    float64 `json:"loss,omitempty"`
	LR      float64 `json:"lr,omitempty"`
	ETA     int     `json:"eta_s,omitempty"`
	Line    string  `json:"line,omitempty"` // the job's newest log line
}

// Change is what one transaction did to one object.
type Change struct {
	Object  Ref          `json:"object"`
	Created bool         `json:"created,omitempty"`
	Deleted bool         `json:"deleted,omitempty"`
	Slots   []SlotChange `json:"slots"`
}

// SlotChange is one slot's change. Before and After are for people: a
// method's source, or a data value printed as Go (the object's current
// slots, as data, are one Object call away).
type SlotChange struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Op     string `json:"op"` // added, removed, changed
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// Token is a piece of model output.
type Token struct {
	Principal string `json:"principal"`
	Persona   string `json:"persona"`
	Selector  string `json:"selector"`
	Text      string `json:"text"`
	// Waiting, when not zero, is how many seconds the persona's server at
	// Endpoint has said nothing since it accepted the request (Text is
	// empty then).
	Waiting  float64 `json:"waiting,omitempty"`
	Endpoint string  `json:"endpoint,omitempty"`
	// Attempt is the generation's attempt the text belongs to (0 when
	// not a candidate's). Outcome, when set, ends a candidate (Text is
	// empty): accepted, rejected, failed, unreachable, not needed, or a
	// review's approved or rejected; Reason says why.
	Attempt int    `json:"attempt,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// eventJSON is the wire form of an Event: the type's fields in content.
type eventJSON struct {
	Seq     uint64          `json:"seq"`
	Client  string          `json:"client,omitempty"`
	Request string          `json:"request,omitempty"`
	Type    string          `json:"type"`
	Content json.RawMessage `json:"content"`
}

type commitContent struct {
	Tx      *Tx      `json:"tx"`
	Changes []Change `json:"changes"`
}

type outputContent struct {
	Text string `json:"text"`
}

type statusContent struct {
	State string `json:"state"`
}

type missedContent struct {
	Missed uint64 `json:"missed"`
}

// MarshalJSON writes the event as the protocol's event params:
// {"seq":N,"client":…,"request":…,"type":…,"content":{…}}.
func (e Event) MarshalJSON() ([]byte, error) {
	var content any
	switch e.Type {
	case EventCommit:
		content = commitContent{e.Tx, e.Changes}
	case EventToken:
		content = e.Token
	case EventOutput:
		content = outputContent{e.Output}
	case EventStatus:
		content = statusContent{e.State}
	case EventMissed:
		content = missedContent{e.Missed}
	case EventForge:
		content = e.Forge
	default:
		return nil, fmt.Errorf("event %d: unknown type %q", e.Seq, e.Type)
	}
	raw, err := json.Marshal(content)
	if err != nil {
		return nil, err
	}
	return json.Marshal(eventJSON{e.Seq, e.Client, e.Request, e.Type, raw})
}

// UnmarshalJSON reads the protocol's event params. An event of a type
// this version does not know keeps its Type and no content, so that a
// newer server's additions do not break an older client.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w eventJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = Event{Seq: w.Seq, Client: w.Client, Request: w.Request, Type: w.Type}
	if len(w.Content) == 0 || string(w.Content) == "null" {
		return nil
	}
	var err error
	switch w.Type {
	case EventCommit:
		var c commitContent
		err = json.Unmarshal(w.Content, &c)
		e.Tx, e.Changes = c.Tx, c.Changes
	case EventToken:
		e.Token = new(Token)
		err = json.Unmarshal(w.Content, e.Token)
	case EventOutput:
		var c outputContent
		err = json.Unmarshal(w.Content, &c)
		e.Output = c.Text
	case EventStatus:
		var c statusContent
		err = json.Unmarshal(w.Content, &c)
		e.State = c.State
	case EventMissed:
		var c missedContent
		err = json.Unmarshal(w.Content, &c)
		e.Missed = c.Missed
	case EventForge:
		e.Forge = new(ForgeProgress)
		err = json.Unmarshal(w.Content, e.Forge)
	}
	if err != nil {
		return fmt.Errorf("event %d (%s): %w", w.Seq, w.Type, err)
	}
	return nil
}
