// Package kernel implements batos's prototype objects and message send on
// top of the living image.
//
// # Objects
//
// An object is an OID in the image plus an ordered list of slots. A slot is
// data, a method (Go source compiled by package interp), a primitive (a
// named native behaviour registered with the kernel and persisted by name)
// or a parent. A slot whose name ends in "*" is a parent slot. There are no
// classes: new objects come from NewObject or Clone, and behaviour is shared
// by delegation.
//
// Scripts and Go code hold objects through Object, a handle that pairs an
// OID with the Session whose transaction it reads and writes. Handles are
// cheap values; the state lives in the image.
//
// # Sending
//
// Always send through Object.Send (scripts) or Session.Send (Go); never
// call a compiled method directly. Lookup visits the receiver's own slots,
// then each parent in slot order, depth first, each object at most once
// (cycles are allowed). The slot found runs with self bound to the
// original receiver, not the holder. A data slot answers its value. When
// lookup fails, the receiver is sent doesNotUnderstand(selector, args),
// itself an ordinary slot that users may override; the default primitive
// fails with *NotUnderstoodError.
//
// Lookup results are cached per (receiver, selector). Data-slot writes do
// not affect lookup; every other slot change (a slot added, removed or
// re-kinded, a parent re-pointed, a method redefined) is a shape change.
// Invariant: a cache entry is used only by a transaction whose snapshot saw
// the same shape epoch the entry was computed under, and never by a
// transaction that has uncommitted shape changes of its own.
//
// # Transactions
//
// Every top-level input (Session.Eval, Session.Run) is one image
// transaction with the session's principal: snapshot reads, buffered
// writes, optimistic conflict detection at commit, retried on conflict. An
// error, panic or deadline aborts it and leaves the image unchanged. Each
// evaluation runs under an interp.Guard built from the limits in
// Lobby.system (sendDeadline, maxDepth, maxSteps), which also counts the
// depth of nested sends so that runaway recursion through self.Send stops
// with an error instead of overflowing the Go stack.
//
// # Events
//
// Every commit publishes an Event on the kernel's Bus: the transaction
// record and, per object, the slots changed with method source before and
// after. The TUI, the WebSocket server and the autotelic loop subscribe.
//
// # Awakening
//
// Opening an empty image applies the codex (codex_seed.json, embedded in
// the binary) in one transaction: Lobby, the root traits object, system
// limits, pLLM with its personas, Forge and the entropy weights. A
// non-empty image is loaded as it is; the codex is never re-applied.
package kernel
