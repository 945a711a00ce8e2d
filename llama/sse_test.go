package llama

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll parses all events of in, returning the terminating error.
func readAll(in string, maxLine int) ([]sseEvent, error) {
	r := newSSEReader(strings.NewReader(in), maxLine)
	var evs []sseEvent
	for {
		ev, err := r.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestSSE(t *testing.T) {
	ev := func(data string) sseEvent { return sseEvent{Data: data} }
	tests := []struct {
		name string
		in   string
		want []sseEvent
		err  error
	}{
		{"llama frames", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []sseEvent{ev(`{"a":1}`), ev("[DONE]")}, io.EOF},
		{"pings", ":\n\n: ping\n\ndata: x\n\n:\n\n", []sseEvent{ev("x")}, io.EOF},
		{"crlf", "data: x\r\n\r\ndata: y\r\n\r\n", []sseEvent{ev("x"), ev("y")}, io.EOF},
		{"lone cr", "data: x\r\rdata: y\r\r", []sseEvent{ev("x"), ev("y")}, io.EOF},
		{"multi-line data", "data: a\ndata:b\ndata:  c\n\n", []sseEvent{ev("a\nb\n c")}, io.EOF},
		{"event name", "event: error\ndata: {}\n\n", []sseEvent{{Event: "error", Data: "{}"}}, io.EOF},
		{"legacy error field", "error: {\"code\":500}\n\n", []sseEvent{{Event: "error", Data: `{"code":500}`}}, io.EOF},
		{"ignored fields", "id: 7\nretry: 10\nfoo\ndata: z\n\n", []sseEvent{ev("z")}, io.EOF},
		{"empty event dropped", "event: x\n\ndata: y\n\n", []sseEvent{ev("y")}, io.EOF},
		{"no final blank line", "data: x\n\ndata: [DONE]\n", []sseEvent{ev("x"), ev("[DONE]")}, io.EOF},
		{"cut mid-line", "data: x\n\ndata: {\"a\":", []sseEvent{ev("x")}, io.ErrUnexpectedEOF},
		{"cut mid-line after cr", "data: x\r\rdata: {", []sseEvent{ev("x")}, io.ErrUnexpectedEOF},
		{"empty", "", nil, io.EOF},
		{"too long", "data: " + strings.Repeat("x", 100) + "\n\n", nil, errLineTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(tc.in, 64)
			if !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("events = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSSEOneByteReads checks that framing does not depend on read sizes.
func TestSSEOneByteReads(t *testing.T) {
	in := ":\n\ndata: {\"content\":\"é\"}\r\n\r\ndata: [DONE]\n\n"
	r := newSSEReader(iotest.OneByteReader(strings.NewReader(in)), 1<<10)
	var got []string
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Data)
	}
	if want := []string{`{"content":"é"}`, "[DONE]"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// encodeSSE writes events so that parsing them gives them back.
func encodeSSE(evs []sseEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		if ev.Event != "" {
			b.WriteString("event: " + ev.Event + "\n")
		}
		for _, line := range strings.Split(ev.Data, "\n") {
			b.WriteString("data: " + line + "\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// FuzzSSE feeds arbitrary bytes to the event-stream parser: it must not
// panic, must never return data containing a line terminator it should have
// split on, and what it returns must survive a write/parse round trip.
func FuzzSSE(f *testing.F) {
	for _, seed := range []string{
		"data: {\"a\":1}\n\ndata: [DONE]\n\n",
		":\n\n:\n\ndata: x\r\n\r\n",
		"event: error\ndata: a\ndata: b\n\n",
		"error: {\"code\":500}\n\n",
		"data: x\rdata: y\r\r",
		"data",
		"data:\n\n",
		"\r\n\r",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		evs, err := readAll(string(in), 1<<12)
		if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, errLineTooLong) {
			t.Fatalf("unexpected error %v", err)
		}
		for _, ev := range evs {
			if strings.ContainsRune(ev.Data, '\r') || strings.ContainsAny(ev.Event, "\r\n") {
				t.Fatalf("event %q kept a line terminator", ev)
			}
		}
		if err != io.EOF && err != io.ErrUnexpectedEOF {
			return
		}
		again, err2 := readAll(encodeSSE(evs), 1<<20)
		if err2 != io.EOF || !reflect.DeepEqual(again, evs) && !(len(again) == 0 && len(evs) == 0) {
			t.Fatalf("round trip of %q: got %q (%v)", evs, again, err2)
		}
		// Splitting the input across reads must not change the result.
		one, err3 := func() ([]sseEvent, error) {
			r := newSSEReader(iotest.OneByteReader(bytes.NewReader(in)), 1<<12)
			var out []sseEvent
			for {
				ev, err := r.Next()
				if err != nil {
					return out, err
				}
				out = append(out, ev)
			}
		}()
		if err3 != err || !reflect.DeepEqual(one, evs) && !(len(one) == 0 && len(evs) == 0) {
			t.Fatalf("one-byte reads: got %q (%v), want %q (%v)", one, err3, evs, err)
		}
	})
}
