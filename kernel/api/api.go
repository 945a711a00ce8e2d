// Package api is the interface every client of an image talks through:
// the TUI in this process, and the WebSocket client of a remote kernel.
// Its values are plain data (JSON-friendly), never handles into the
// image, so that a remote implementation can carry them over a socket.
//
// Local implements Image over a *kernel.Kernel in this process.
package api

import (
	"context"
	"time"
)

// Image is a live image as a client sees it. Every method that changes the
// image is one transaction; every read sees one consistent snapshot.
// Implementations are safe for concurrent use.
type Image interface {
	// Eval evaluates workspace input (Go statements, expressions or
	// declarations) as one transaction; variables persist between calls.
	// An input that succeeds is appended to the history slot of the
	// object in Lobby's InputsObject slot, in the same transaction.
	Eval(ctx context.Context, src string) (Result, error)
	// Object returns an object's slots, own and inherited.
	Object(ctx context.Context, oid uint64) (ObjectView, error)
	// Children lists the objects an object's data and parent slots refer
	// to, in slot order: the browser's tree.
	Children(ctx context.Context, oid uint64) ([]Child, error)
	// Selectors lists the selectors an object answers, own first, then
	// inherited, each once: completion.
	Selectors(ctx context.Context, oid uint64) ([]string, error)
	// Define compiles and installs a method; a source that does not parse
	// or compile is an error (with its line) and installs nothing.
	Define(ctx context.Context, oid uint64, selector, source string) (Tx, error)
	// SetLiteral sets a data slot to the value of a Go expression.
	SetLiteral(ctx context.Context, oid uint64, slot, literal string) (Tx, error)
	// RemoveSlot and RenameSlot change an object's own slots.
	RemoveSlot(ctx context.Context, oid uint64, slot string) (Tx, error)
	RenameSlot(ctx context.Context, oid uint64, from, to string) (Tx, error)
	// Clone clones an object and stores the clone in holder's slot.
	Clone(ctx context.Context, oid, holder uint64, slot string) (Ref, error)
	// History lists transactions before tx (0: the newest), newest first.
	History(ctx context.Context, before uint64, limit int) ([]Tx, error)
	// Versions lists a method's versions on an object, newest first.
	Versions(ctx context.Context, oid uint64, selector string) ([]Version, error)
	// Undo undoes a transaction as a new one (ZODB semantics).
	Undo(ctx context.Context, tx uint64) (Tx, error)
	// Search finds objects and selectors whose names fuzzily match query.
	Search(ctx context.Context, query string, limit int) ([]Hit, error)
	// Status describes the image and the pLLM.
	Status(ctx context.Context) (Status, error)
	// Subscribe delivers events until cancel is called.
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
	Type   string `json:"type,omitempty"`   // a data slot's Go type
	Value  string `json:"value,omitempty"`  // a data slot's value printed as Go
	Source string `json:"source,omitempty"` // a method's source; a primitive's name
	Author string `json:"author,omitempty"` // a method's author principal ("user", "pLLM/BRICK"); empty when not recorded
	Target *Ref   `json:"target,omitempty"` // what a reference or parent slot points to
	Holder Ref    `json:"holder"`           // the object the slot is on
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

// Result is the outcome of Eval.
type Result struct {
	Text     string `json:"text"`             // the value printed, when HasValue
	HasValue bool   `json:"hasValue"`         // false for statements and declarations
	Object   *Ref   `json:"object,omitempty"` // the value, when it is an object (for inspect it)
	Tx       uint64 `json:"tx,omitempty"`     // the transaction committed, 0 when nothing changed
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

// Hit is a search result: an object, or a selector on it.
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
}

// Event kinds.
const (
	EventCommit = "commit" // Tx and Changes
	EventToken  = "token"  // Token: model output while the pLLM writes
	EventOutput = "output" // Output: fmt.Print output of this client's evaluations
)

// Event is something that happened in the image, live.
type Event struct {
	Kind    string   `json:"kind"`
	Tx      *Tx      `json:"tx,omitempty"`
	Changes []Change `json:"changes,omitempty"`
	Token   *Token   `json:"token,omitempty"`
	Output  string   `json:"output,omitempty"`
}

// Change is what one transaction did to one object.
type Change struct {
	Object  Ref          `json:"object"`
	Created bool         `json:"created,omitempty"`
	Deleted bool         `json:"deleted,omitempty"`
	Slots   []SlotChange `json:"slots"`
}

// SlotChange is one slot's change; Before and After are method sources or
// printed values.
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
}
