package api

import "encoding/json"

// The wire protocol (docs/PROTOCOL.md): JSON-RPC 2.0 over WebSocket, one
// JSON object per text frame. The types below are shared by package server
// and package remote, so that both ends read and write the same shapes;
// each method's params are a JSON object with the named fields, and its
// result is the api type the Image method of the same name returns.

// Subprotocol is the WebSocket subprotocol of this version of the protocol.
// A later incompatible version is "batos.v2"; a server refuses a client
// that offers none it speaks before the upgrade.
const Subprotocol = "batos.v1"

// Method names. Each is one Image method; MethodInterrupt cancels a
// running request of the same connection; MethodEvent is the server's
// notification carrying an Event.
const (
	MethodEval         = "eval"         // EvalParams → Result
	MethodSend         = "send"         // SendParams → Result
	MethodObject       = "object"       // OIDParams → ObjectView
	MethodChildren     = "children"     // OIDParams → []Child
	MethodSelectors    = "selectors"    // OIDParams → []string
	MethodDefine       = "define"       // DefineParams → Tx
	MethodSetSlot      = "setSlot"      // SetSlotParams → Tx
	MethodRemoveSlot   = "removeSlot"   // SlotParams → Tx
	MethodRenameSlot   = "renameSlot"   // RenameSlotParams → Tx
	MethodClone        = "clone"        // CloneParams → Ref
	MethodHistory      = "history"      // HistoryParams → []Tx
	MethodVersions     = "versions"     // VersionsParams → []Version
	MethodUndo         = "undo"         // UndoParams → Tx
	MethodSearch       = "search"       // SearchParams → []Hit
	MethodImplementors = "implementors" // SelectorParams → []Hit
	MethodSenders      = "senders"      // SelectorParams → []Hit
	MethodStatus       = "status"       // {} → Status
	MethodCheck        = "check"        // {} → CheckReport
	MethodInterrupt    = "interrupt"    // InterruptParams → InterruptResult; may be a notification
	MethodEvent        = "event"        // server → client notification: params are an Event
)

// EvalParams are eval's params.
type EvalParams struct {
	Source string `json:"source"`
}

// SendParams are send's params.
type SendParams struct {
	OID      uint64  `json:"oid"`
	Selector string  `json:"selector"`
	Args     []Value `json:"args,omitempty"`
}

// OIDParams are the params of object, children and selectors.
type OIDParams struct {
	OID uint64 `json:"oid"`
}

// DefineParams are define's params.
type DefineParams struct {
	OID      uint64 `json:"oid"`
	Selector string `json:"selector"`
	Source   string `json:"source"`
}

// SetSlotParams are setSlot's params.
type SetSlotParams struct {
	OID   uint64 `json:"oid"`
	Slot  string `json:"slot"`
	Value Value  `json:"value"`
}

// SlotParams are removeSlot's params.
type SlotParams struct {
	OID  uint64 `json:"oid"`
	Slot string `json:"slot"`
}

// RenameSlotParams are renameSlot's params.
type RenameSlotParams struct {
	OID  uint64 `json:"oid"`
	From string `json:"from"`
	To   string `json:"to"`
}

// CloneParams are clone's params: clone OID into Holder's Slot.
type CloneParams struct {
	OID    uint64 `json:"oid"`
	Holder uint64 `json:"holder"`
	Slot   string `json:"slot"`
}

// HistoryParams are history's params (Before 0: from the newest).
type HistoryParams struct {
	Before uint64 `json:"before,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// VersionsParams are versions' params.
type VersionsParams struct {
	OID      uint64 `json:"oid"`
	Selector string `json:"selector"`
}

// UndoParams are undo's params.
type UndoParams struct {
	Tx uint64 `json:"tx"`
}

// SearchParams are search's params (Limit 0: no limit).
type SearchParams struct {
	Query string `json:"query"`
	Limit int    `json:"limit,omitempty"`
}

// SelectorParams are the params of implementors and senders (Limit 0: no
// limit).
type SelectorParams struct {
	Selector string `json:"selector"`
	Limit    int    `json:"limit,omitempty"`
}

// InterruptParams name the request to cancel by its JSON-RPC id as it
// appeared on the wire, as a string: the id 7 is "7", the id "a" is "a".
type InterruptParams struct {
	Request string `json:"request"`
}

// InterruptResult says whether a request of that id was running (and is
// now cancelled; its own response still comes, with kind canceled).
type InterruptResult struct {
	Interrupted bool `json:"interrupted"`
}

// RPCRequest is a JSON-RPC request or notification (ID absent).
type RPCRequest struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
}

// RPCResponse is a JSON-RPC response: exactly one of Result and Error is
// set. ID is null when the request's id could not be read.
type RPCResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *RPCError       `json:"error,omitempty"`
}

// RPCError is a JSON-RPC error object. Data is always set: an image's
// error as the *Error it returned (Code CodeImage), a protocol error as an
// *Error of kind invalid (CodeParse, CodeInvalidRequest,
// CodeMethodNotFound, CodeInvalidParams) or overloaded (CodeOverloaded).
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    *Error `json:"data,omitempty"`
}

func (e *RPCError) Error() string { return e.Message }

// RPCNotification is a server notification: Method is MethodEvent and
// Params an Event.
type RPCNotification struct {
	JSONRPC string          `json:"jsonrpc"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}
