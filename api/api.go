// Package api is the contract between a live image and its clients: the
// TUI, the REPL and `batos eval` in the image's own process, and the same
// programs attached to a served image over WebSocket (docs/PROTOCOL.md).
//
// Everything that crosses it is data: values are tagged (kind, Go type,
// contents, object reference — see Value), errors are typed (*Error, with
// a kind and the line, transaction, object and slot they concern), events
// carry a sequence number, the client and the request they belong to.
// No client parses a printed value or an error message; the printed forms
// (Value.Text, Error.Message) are for people.
//
// The package depends on nothing of the kernel. The kernel's side lives in
// package system (System.Client implements Image in process); package
// remote implements Image over the wire.
package api

import (
	"context"
	"time"
)

// Image is a live image as a client sees it. Every method that changes the
// image is one transaction; every read sees one consistent snapshot, and
// reads never wait behind an evaluation or another read. Implementations
// are safe for concurrent use. Errors are *Error (test with errors.As) or
// the context's error.
type Image interface {
	// Eval evaluates workspace input (Go statements, expressions or
	// declarations) as one transaction; variables persist between calls
	// of the same client. For a client that records its inputs (the
	// TUI's workspace in the image's own process), an input that succeeds
	// is appended to the history slot of the object in Lobby's
	// InputsObject slot, in the same transaction. Output the input prints is published as EventOutput
	// events of this client and request (see WithRequest), once, from the
	// attempt that counted (see docs/decisions.md, "Retried inputs").
	Eval(ctx context.Context, src string) (Result, error)
	// Send sends selector to an object with args as one transaction.
	Send(ctx context.Context, oid uint64, selector string, args ...Value) (Result, error)
	// Object returns an object's slots, own and inherited.
	Object(ctx context.Context, oid uint64) (ObjectView, error)
	// Children lists the objects an object's data and parent slots refer
	// to, in slot order: the browser's tree.
	Children(ctx context.Context, oid uint64) ([]Child, error)
	// Selectors lists the selectors an object answers, own first, then
	// inherited, each once: completion.
	Selectors(ctx context.Context, oid uint64) ([]string, error)
	// Define compiles and installs a method; a source that does not parse
	// or compile is an *Error of kind syntax or compile with its line, and
	// installs nothing.
	Define(ctx context.Context, oid uint64, selector, source string) (Tx, error)
	// SetSlot sets a data slot to a value. The value is data: nothing of
	// it is evaluated (see ParseLiteral for turning typed text into one).
	SetSlot(ctx context.Context, oid uint64, slot string, v Value) (Tx, error)
	// RemoveSlot and RenameSlot change an object's own slots.
	RemoveSlot(ctx context.Context, oid uint64, slot string) (Tx, error)
	RenameSlot(ctx context.Context, oid uint64, from, to string) (Tx, error)
	// Clone clones an object and stores the clone in holder's slot.
	Clone(ctx context.Context, oid, holder uint64, slot string) (Ref, error)
	// History lists transactions before tx (0: the newest), newest first.
	History(ctx context.Context, before uint64, limit int) ([]Tx, error)
	// Versions lists a method's versions on an object, newest first.
	Versions(ctx context.Context, oid uint64, selector string) ([]Version, error)
	// Undo undoes a transaction as a new one (ZODB semantics). When an
	// object it changed was changed again since, the error is an *Error of
	// kind undo-conflict naming the object and the later transaction.
	Undo(ctx context.Context, tx uint64) (Tx, error)
	// Search finds objects and selectors whose names fuzzily match query.
	Search(ctx context.Context, query string, limit int) ([]Hit, error)
	// Implementors finds the objects reachable from Lobby whose own
	// slots define selector as a method or a primitive; each Hit's
	// Selector is selector. Senders finds the methods, on objects
	// reachable from Lobby, whose source sends selector
	// (X.Send("selector", ...), the selector written as a string
	// literal); each Hit names the sending method's holder and its own
	// selector. Both answer nearest to Lobby first, at most limit hits
	// (0: no limit), with Score 0, and visit at most as many objects as
	// Search does.
	Implementors(ctx context.Context, selector string, limit int) ([]Hit, error)
	Senders(ctx context.Context, selector string, limit int) ([]Hit, error)
	// Status describes the image, the pLLM and this client.
	Status(ctx context.Context) (Status, error)
	// Check verifies, on a snapshot of the image while it stays in use,
	// that every record decodes and every reference resolves (batos
	// image check on a served image).
	Check(ctx context.Context) (CheckReport, error)
	// Subscribe delivers every client's events from now on until cancel
	// is called. A subscriber that falls buffer events behind is dropped:
	// its channel is closed after an EventMissed event saying so.
	Subscribe(buffer int) (events <-chan Event, cancel func())
}

// LobbyOID is the root object's identity in every image.
const LobbyOID uint64 = 1

// InputsObject names the Lobby slot holding the workspace object, whose
// data slot InputsSlot keeps the inputs Eval ran successfully, newest last
// (at most InputsCap): the workspace's history. It is not kept on Lobby
// itself, so that recording it never makes an undo of a change to Lobby
// conflict.
const (
	InputsObject = "workspace"
	InputsSlot   = "history"
	InputsCap    = 200
)

type requestKey struct{}

// WithRequest names the request ctx belongs to, so that the events it
// causes (output, busy and idle) carry that name. The server names each
// remote request by its JSON-RPC id; an in-process client may name its
// own.
func WithRequest(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestKey{}, id)
}

// RequestOf returns the request name WithRequest gave ctx, or "".
func RequestOf(ctx context.Context) string {
	id, _ := ctx.Value(requestKey{}).(string)
	return id
}

// Ref names an object.
type Ref struct {
	OID  uint64 `json:"oid"`
	Name string `json:"name"` // "Lobby", "point (object 12)", "object 12"
}

// Slot kinds as the API spells them.
const (
	KindData      = "data"
	KindMethod    = "method"
	KindPrimitive = "primitive"
	KindParent    = "parent"
)

// SlotView is one slot as a browser shows it.
type SlotView struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Value  *Value `json:"value,omitempty"`  // a data or parent slot's value
	Source string `json:"source,omitempty"` // a method's source; a primitive's name
	Author string `json:"author,omitempty"` // a method's author principal ("user", "pLLM/BRICK"); empty when not recorded
	Holder Ref    `json:"holder"`           // the object the slot is on
}

// Target returns what a reference or parent slot points to, or nil.
func (s SlotView) Target() *Ref {
	if s.Value == nil {
		return nil
	}
	return s.Value.Object
}

// ObjectView is an object with its own slots and the slots it inherits
// (shadowed ones left out), in lookup order.
type ObjectView struct {
	Ref
	Slots     []SlotView `json:"slots"`
	Inherited []SlotView `json:"inherited"`
}

// Child is an object another refers to, and the slot it is held in.
type Child struct {
	Slot string `json:"slot"`
	Ref
}

// Result is the outcome of Eval and Send.
type Result struct {
	HasValue bool   `json:"hasValue"` // false for statements and declarations
	Value    Value  `json:"value"`    // the value of the last expression, when HasValue
	Tx       uint64 `json:"tx,omitempty"`
}

// Tx is a transaction record.
type Tx struct {
	ID        uint64    `json:"id"`
	Time      time.Time `json:"time"`
	Principal string    `json:"principal"`
	Note      string    `json:"note"`
	Changed   []Ref     `json:"changed"`
}

// Version is one version of a method.
type Version struct {
	Tx        uint64    `json:"tx"`
	Time      time.Time `json:"time"`
	Principal string    `json:"principal"`
	Source    string    `json:"source"` // empty: the method did not exist after Tx
}

// Hit is a search result: an object, or a selector on it (also what
// Implementors and Senders answer).
type Hit struct {
	Object   Ref    `json:"object"`
	Selector string `json:"selector,omitempty"`
	Score    int    `json:"score"`
}

// Status describes the image for a status bar.
type Status struct {
	Image      string `json:"image"`
	Objects    int    `json:"objects"`
	LastTx     Tx     `json:"lastTx"`
	PLLM       string `json:"pllm"` // "online (MODEL)", "loading", "offline (URL)"
	PLLMOnline bool   `json:"pllmOnline"`
	// Client is the name this client's transactions and events carry
	// ("user", "remote:alice"); Remote is the server's address when the
	// image is reached over the wire, else "".
	Client string `json:"client"`
	Remote string `json:"remote,omitempty"`
	// Clients counts the clients attached to the image, this one included.
	Clients int `json:"clients"`
	// ForgeRunning and ForgeQueued count the Forge's jobs past queued and
	// still queued; ForgeWorker says whether a Forge worker runs them in
	// the image's process.
	ForgeRunning int  `json:"forgeRunning"`
	ForgeQueued  int  `json:"forgeQueued"`
	ForgeWorker  bool `json:"forgeWorker"`
	// CEM is the newest reading recorded in Lobby.entropy.series, when
	// there is one (CEMKnown): the status reads it, it does not measure
	// (a measure walks the whole image).
	CEM      float64 `json:"cem,omitempty"`
	CEMKnown bool    `json:"cemKnown,omitempty"`
	// Autotelic is Lobby.autotelic.enabled, the loop's switch;
	// AutotelicWorker says whether the loop's worker runs in the image's
	// process (else the switch waits for a process that runs one).
	Autotelic       bool `json:"autotelic,omitempty"`
	AutotelicWorker bool `json:"autotelicWorker,omitempty"`
}

// CheckReport is what Check found: counts and one line per problem.
type CheckReport struct {
	Objects      int      `json:"objects"`
	Revisions    int      `json:"revisions"`
	Transactions int      `json:"transactions"`
	Problems     []string `json:"problems,omitempty"`
}
