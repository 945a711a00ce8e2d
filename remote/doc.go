// Package remote implements api.Image over the wire protocol of package
// server (docs/PROTOCOL.md): an attached TUI, REPL or `batos eval` uses a
// served image through the same interface it uses in process.
//
// The model. An Image is one WebSocket connection. Calls are JSON-RPC
// requests with increasing integer ids; one reader goroutine matches
// responses to waiting calls by id and fans event notifications out to
// local subscribers. Calls may be made concurrently; writes are
// serialized.
//
// What can go wrong, and what it does:
//
//   - A call's context ends before its response: the call sends
//     interrupt{request: id}, so that the server stops the work, and
//     returns ctx.Err(); the late response is dropped.
//   - The connection drops: every pending and later call fails with an
//     *api.Error of kind closed, every subscriber's channel is closed.
//     Reconnecting is the caller's choice: Dial again with Options.Since
//     set to LastSeq() to be sent the events missed meanwhile.
//   - A local subscriber falls behind: like in process, it gets an
//     EventMissed and its channel is closed; the connection and the other
//     subscribers go on. When the server says events were lost (its
//     EventMissed), every subscriber gets that event and is closed too:
//     each must refresh what it shows and subscribe again.
//   - The server refuses the connection: Dial returns a *DialError with
//     the HTTP status and the server's one-line reason (401 no token,
//     403 wrong token or origin, 400 bad version or parameters).
package remote
