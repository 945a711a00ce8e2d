package server

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/gorilla/websocket"

	"batos/api"
)

// frames keeps the newest events' frames, each encoded once and written
// to every connection: a broadcast to n clients marshals its event once,
// not n times. An event is identified by its sequence number, which the
// backend gives one event only; the backend's overflow markers
// (EventMissed) are per connection and never kept.
type frames struct {
	mu   sync.Mutex
	byID map[uint64]*websocket.PreparedMessage
	// order is circular, next its next slot; it holds the keys of byID,
	// oldest first from next.
	order []uint64
	next  int
}

// keptFrames is how many frames are kept: enough for every connection
// but one that is far behind to find the frame another encoded.
const keptFrames = 1024

func newFrames() *frames {
	return &frames{byID: map[uint64]*websocket.PreparedMessage{}, order: make([]uint64, keptFrames)}
}

// of returns ev's frame.
func (f *frames) of(ev api.Event) (*websocket.PreparedMessage, error) {
	cacheable := ev.Type != api.EventMissed && ev.Seq != 0
	if cacheable {
		f.mu.Lock()
		pm := f.byID[ev.Seq]
		f.mu.Unlock()
		if pm != nil {
			return pm, nil
		}
	}
	params, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(params) + 48)
	b.WriteString(`{"jsonrpc":"2.0","method":"` + api.MethodEvent + `","params":`)
	b.Write(params)
	b.WriteByte('}')
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b.Bytes())
	if err != nil || !cacheable {
		return pm, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.byID[ev.Seq]; ok {
		return old, nil // another connection encoded it meanwhile
	}
	delete(f.byID, f.order[f.next])
	f.order[f.next] = ev.Seq
	f.next = (f.next + 1) % len(f.order)
	f.byID[ev.Seq] = pm
	return pm, nil
}
