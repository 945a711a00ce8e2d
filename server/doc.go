// Package server serves a running image over WebSocket: JSON-RPC 2.0, one
// JSON object per text frame, subprotocol batos.v1 (docs/PROTOCOL.md is
// the wire contract; api/rpc.go holds its shapes).
//
// The model. A Server serves one Backend, the running image. Each
// connection is one Client of it, whose principal is "remote:NAME", and
// one subscription to its events. A connection has three kinds of
// goroutine, all started and ended by the connection:
//
//   - the reader (the HTTP handler's goroutine after the upgrade) reads
//     frames, checks them, and starts one goroutine per request;
//   - each request runs one Image method with a context bound to the
//     connection and named by the request id (api.WithRequest), so that
//     the events it causes carry that id and interrupt{request} can
//     cancel it;
//   - the writer owns every socket write: responses from a bounded queue,
//     events straight from the backend's subscription channel, pings.
//
// When the connection ends, for whatever reason, the reader cancels every
// running request, waits for them, stops the writer, closes the socket,
// the subscription and the Client, in that order: nothing of a connection
// outlives it, and nothing of any connection outlives Shutdown.
//
// What can go wrong, and what stops it:
//
//   - A stranger connects: the bearer token is checked (in constant time)
//     before the upgrade, 401 without one, 403 for a wrong one; a browser
//     page of another origin is refused with 403; Listen refuses a
//     non-loopback address unless asked to serve beyond this machine.
//   - A client floods requests: a token bucket per connection answers the
//     excess with CodeOverloaded, and at most MaxInFlight requests of a
//     connection run at once. A flood of frames that the writer cannot
//     answer fast enough blocks the reader, so TCP pushes back on the
//     client rather than the server buffering without bound.
//   - A client sends a huge frame: it is refused while being read
//     (MaxMessage), with close code 1009.
//   - A client stops reading: each socket write has a deadline
//     (WriteTimeout); a write that misses it ends the connection. The
//     backend's hub never waits for a subscriber, so the image and the
//     other clients are not slowed meanwhile.
//   - A client reads too slowly for the event rate: its subscription
//     overflows (the backend drops it after an EventMissed). The writer
//     resubscribes from the last event it wrote, so the client sees no
//     gap while the backend's replay buffer still holds what it missed;
//     when it does not, the client gets the backend's EventMissed (how many
//     events were lost) and then live events, and must refresh what it
//     shows. A slow reader is thus never disconnected for slowness alone,
//     only for a stalled write.
//   - A client vanishes mid-request (a `for {}` evaluation): the dropped
//     connection cancels the request's context; the backend stops the
//     evaluation and aborts its transaction.
//   - A half-open TCP connection: the writer pings every PingInterval and
//     the reader gives up after two intervals without a frame or pong.
//
// Shutdown stops accepting connections, answers new requests with kind
// closed, lets running requests finish (until its context ends, then
// cancels them) and delivers their responses, then sends every client a
// close frame with code 1001 and closes it.
package server
