package server

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"batos/api"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		frame    string
		id       string // the id as JSON; "" for none
		idString string
		method   string
		code     int // 0: no error
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"status"}`, `1`, "1", "status", 0},
		{` {"jsonrpc":"2.0","id":"a b","method":"eval","params":{"source":"x"}}`, `"a b"`, "a b", "eval", 0},
		{`{"jsonrpc":"2.0","id":-3.5e2,"method":"status","params":null}`, `-3.5e2`, "-3.5e2", "status", 0},
		{`{"jsonrpc":"2.0","method":"interrupt","params":{"request":"1"}}`, ``, "", "interrupt", 0},
		{`{"jsonrpc":"2.0","id":1,"method":"status","extra":true}`, `1`, "1", "status", 0},
		{``, ``, "", "", api.CodeParse},
		{`{`, ``, "", "", api.CodeParse},
		{`{} {}`, ``, "", "", api.CodeParse},
		{`[]`, ``, "", "", api.CodeInvalidRequest},
		{`7`, ``, "", "", api.CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":true,"method":"status"}`, ``, "", "", api.CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":[1],"method":"status"}`, ``, "", "", api.CodeInvalidRequest},
		{`{"jsonrpc":2,"id":1,"method":"status"}`, `1`, "1", "", api.CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":1,"method":7}`, `1`, "1", "", api.CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":1,"method":""}`, `1`, "1", "", api.CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":1,"method":"object","params":"x"}`, `1`, "1", "object", api.CodeInvalidParams},
	}
	for _, tt := range tests {
		req, err := parseRequest([]byte(tt.frame))
		code := 0
		if err != nil {
			code = err.Code
			if err.Data == nil || err.Data.Kind != api.ErrInvalid {
				t.Errorf("%s: error data %+v", tt.frame, err.Data)
			}
		}
		if code != tt.code || string(req.id) != tt.id || req.idString != tt.idString || (code == 0 && req.method != tt.method) {
			t.Errorf("%s: id %s (%q) method %q code %d; want id %s (%q) method %q code %d",
				tt.frame, req.id, req.idString, req.method, code, tt.id, tt.idString, tt.method, tt.code)
		}
	}
}

// FuzzParseRequest: any frame is either a request with a method and an
// id that is absent, a string or a number, or an error of the protocol;
// nothing panics.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"status"}`,
		`{"jsonrpc":"2.0","method":"interrupt","params":{"request":"1"}}`,
		`[{"jsonrpc":"2.0","id":1,"method":"status"}]`,
		`{"jsonrpc":"2.0","id":"\u00e9","method":"eval","params":{"source":"1"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		req, err := parseRequest(frame)
		if err != nil {
			if err.Code >= -32000 || err.Data == nil || err.Data.Kind != api.ErrInvalid {
				t.Fatalf("error %+v", err)
			}
			return
		}
		if req.method == "" {
			t.Fatal("a request without a method")
		}
		if req.id != nil {
			var v any
			d := json.NewDecoder(bytes.NewReader(req.id))
			d.UseNumber()
			if d.Decode(&v) != nil {
				t.Fatalf("id %s does not decode", req.id)
			}
			switch v.(type) {
			case string, json.Number:
			default:
				t.Fatalf("id %s is neither a string nor a number", req.id)
			}
		}
		for name := range methods {
			if name == req.method {
				prepared, perr := methods[name](req.params)
				if (prepared == nil) == (perr == nil) {
					t.Fatalf("%s: prepared %v and error %v", name, prepared != nil, perr)
				}
			}
		}
	})
}

func TestBucket(t *testing.T) {
	t0 := time.Unix(0, 0)
	tests := []struct {
		name        string
		rate        float64
		burst       int
		at          []time.Duration // request times
		wantAllowed int
	}{
		{"burst at once", 10, 3, []time.Duration{0, 0, 0, 0, 0}, 3},
		{"refilled", 10, 3, []time.Duration{0, 0, 0, 0, 100 * time.Millisecond, 100 * time.Millisecond}, 4},
		{"never above burst", 10, 2, []time.Duration{0, time.Hour, time.Hour, time.Hour}, 3},
		{"unlimited", -1, 1, []time.Duration{0, 0, 0, 0}, 4},
	}
	for _, tt := range tests {
		b := newBucket(tt.rate, tt.burst)
		allowed := 0
		for _, d := range tt.at {
			if b.allow(t0.Add(d)) {
				allowed++
			}
		}
		if allowed != tt.wantAllowed {
			t.Errorf("%s: %d allowed, want %d", tt.name, allowed, tt.wantAllowed)
		}
	}
}
