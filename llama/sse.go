package llama

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// sseEvent is one dispatched Server-Sent Event.
type sseEvent struct {
	Event string // the "event:" field; "" for the default message event
	Data  string // the "data:" lines joined by "\n"
}

// errLineTooLong is returned for a line longer than the reader's limit.
var errLineTooLong = errors.New("line too long")

// sseReader parses a text/event-stream per the WHATWG HTML "server-sent
// events" section: lines end in "\n", "\r\n" or "\r"; a blank line dispatches
// the event; lines starting with ":" are comments (llama-server's keep-alive
// pings are ":" alone); "data: x" appends "x" to the event's data (one space
// after the colon is dropped); "event:" names the event; other fields are
// ignored. One extension: an "error:" field, which llama-server builds before
// late 2025 used for mid-stream errors, is read as event "error" with that
// data.
type sseReader struct {
	r       *bufio.Reader
	maxLine int

	line     []byte // the last line read, for error messages
	data     bytes.Buffer
	hasData  bool
	event    string
	comments int    // comment lines seen (pings)
	pending  []byte // the rest of a chunk after a lone "\r"
	eofTail  bool   // pending ends at EOF without a terminator
}

func newSSEReader(r io.Reader, maxLine int) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 4<<10), maxLine: maxLine}
}

// Next returns the next event. At the end of the stream it returns io.EOF if
// the stream ended on an event boundary, io.ErrUnexpectedEOF if it ended in
// the middle of a line; complete lines of an event not yet terminated by a
// blank line are dispatched first (servers that omit the last blank line are
// common). Other errors come from the underlying reader.
func (s *sseReader) Next() (sseEvent, error) {
	for {
		line, err := s.readLine()
		if err != nil {
			if err == io.EOF && s.hasData {
				return s.dispatch(), nil
			}
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if s.hasData {
				return s.dispatch(), nil
			}
			s.event = ""
			continue
		}
		s.field(line)
	}
}

func (s *sseReader) dispatch() sseEvent {
	ev := sseEvent{Event: s.event, Data: s.data.String()}
	s.data.Reset()
	s.hasData = false
	s.event = ""
	return ev
}

func (s *sseReader) field(line []byte) {
	if line[0] == ':' {
		s.comments++
		return
	}
	name, value, found := bytes.Cut(line, []byte(":"))
	if found && len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	switch string(name) {
	case "data":
		if s.hasData {
			s.data.WriteByte('\n')
		}
		s.data.Write(value)
		s.hasData = true
	case "event":
		s.event = string(value)
	case "error":
		s.event = "error"
		if s.hasData {
			s.data.WriteByte('\n')
		}
		s.data.Write(value)
		s.hasData = true
	}
}

// readLine returns the next line without its terminator. A "\r" not followed
// by "\n" also ends a line.
func (s *sseReader) readLine() ([]byte, error) {
	if len(s.pending) > 0 {
		return s.splitCR(s.pending)
	}
	var buf []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		if len(buf)+len(chunk) > s.maxLine {
			s.line = append(buf, chunk[:min(len(chunk), 200)]...)
			return nil, fmt.Errorf("%w (over %d bytes)", errLineTooLong, s.maxLine)
		}
		switch err {
		case nil:
			if buf == nil {
				buf = chunk // valid until the next read: consumed before it
			} else {
				buf = append(buf, chunk...)
			}
			buf = buf[:len(buf)-1]
			return s.splitCR(buf)
		case bufio.ErrBufferFull:
			buf = append(buf, chunk...)
			continue
		case io.EOF:
			buf = append(buf, chunk...)
			if len(buf) == 0 {
				return nil, io.EOF
			}
			if bytes.IndexByte(buf, '\r') >= 0 {
				// Lines ended by lone CRs before the end; the last piece is
				// still incomplete unless buf ends in '\r'.
				s.pending = append([]byte(nil), buf...)
				s.eofTail = buf[len(buf)-1] != '\r'
				return s.splitCR(s.pending)
			}
			s.line = buf
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// splitCR returns the part of b before its first "\r" (dropping a "\r" that
// ends b, i.e. "\r\n"), keeping the rest in s.pending.
func (s *sseReader) splitCR(b []byte) ([]byte, error) {
	i := bytes.IndexByte(b, '\r')
	if i < 0 {
		s.pending = nil
		s.line = b
		if s.eofTail {
			s.eofTail = false
			return nil, io.ErrUnexpectedEOF
		}
		return b, nil
	}
	if i == len(b)-1 {
		s.pending = nil
		s.line = b[:i]
		return b[:i], nil
	}
	line := b[:i]
	rest := b[i+1:]
	if s.pending != nil {
		s.pending = rest
	} else {
		s.pending = append([]byte(nil), rest...)
		line = append([]byte(nil), line...)
	}
	s.line = line
	return line, nil
}
