package api_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"batos/api"
)

func TestParseLiteral(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want string // Literal() of the result; "" for an error
		err  string // part of the error, with its position
		col  int
	}{
		{src: "nil", want: "nil"},
		{src: " true ", want: "true"},
		{src: "-0x10", want: "-16"},
		{src: "+3", want: "3"},
		{src: "2.50", want: "2.5"},
		{src: "1e3", want: "1000.0"},
		{src: "`raw\\n`", want: `"raw\\n"`},
		{src: `"é"`, want: `"é"`},
		{src: `[]any{1, []any{}, nil}`, want: `[]any{1, []any{}, nil}`},
		{src: `[]interface{}{"x"}`, want: `[]any{"x"}`},
		{src: `map[string]any{"b": 1, "a": ObjectAt(3)}`, want: `map[string]any{"a": ObjectAt(3), "b": 1}`},
		{src: `os.Exit(1)`, err: "cannot call", col: 1},
		{src: `[]any{1, f()}`, err: "cannot call", col: 10},
		{src: `x`, err: "x is not a literal", col: 1},
		{src: `1 + 2`, err: "not a literal", col: 1},
		{src: `func() {}`, err: "not a literal", col: 1},
		{src: `-"s"`, err: "sign", col: 2},
		{src: `99999999999999999999`, err: "overflows int", col: 1},
		{src: `1e999`, err: "overflows float64", col: 1},
		{src: `'a'`, err: "runes", col: 1},
		{src: `map[string]any{1: 2}`, err: "keys are strings", col: 16},
		{src: `map[string]any{"a": 1, "a": 2}`, err: "duplicate key", col: 24},
		{src: `[]int{1}`, err: "only []any", col: 1},
		{src: `ObjectAt(0)`, err: "positive integer", col: 1},
		{src: `[]any{`, err: "expected"},
	} {
		v, err := api.ParseLiteral(tc.src)
		if tc.err != "" {
			var e *api.Error
			if !errors.As(err, &e) || e.Kind != api.ErrSyntax || !strings.Contains(e.Message, tc.err) || (tc.col != 0 && e.Col != tc.col) {
				t.Errorf("%s: %#v, want a syntax error containing %q at column %d", tc.src, err, tc.err, tc.col)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if got, ok := v.Literal(); !ok || got != tc.want {
			t.Errorf("%s reads back as %s (%v), want %s", tc.src, got, ok, tc.want)
		}
	}
	if _, err := api.ParseLiteral(`"` + strings.Repeat("x", 2<<20) + `"`); api.KindOf(err) != api.ErrInvalid {
		t.Fatalf("a 2 MiB literal: %v", err)
	}
	deep := strings.Repeat("[]any{", 200) + strings.Repeat("}", 200)
	if _, err := api.ParseLiteral(deep); api.KindOf(err) != api.ErrSyntax {
		t.Fatalf("200 levels: %v", err)
	}
}

// FuzzParseLiteral: whatever parses writes back as a literal that parses
// to the same value.
func FuzzParseLiteral(f *testing.F) {
	for _, s := range []string{`nil`, `-1`, `0.1`, `"a\x00"`, `[]any{map[string]any{"k": []any{true}}}`, `ObjectAt(7)`, `1e308`, `0x7fffffffffffffff`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		v, err := api.ParseLiteral(src)
		if err != nil {
			if api.KindOf(err) == "" {
				t.Fatalf("%q: untyped error %v", src, err)
			}
			return
		}
		lit, ok := v.Literal()
		if !ok {
			t.Fatalf("%q parsed to %+v, which has no literal", src, v)
		}
		again, err := api.ParseLiteral(lit)
		if err != nil {
			t.Fatalf("%q → %q does not parse: %v", src, lit, err)
		}
		if lit2, _ := again.Literal(); lit2 != lit {
			t.Fatalf("%q → %q → %q", src, lit, lit2)
		}
	})
}

func TestEventJSON(t *testing.T) {
	when := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, ev := range []api.Event{
		{Seq: 1, Client: "remote:ann", Request: "4", Type: api.EventOutput, Output: "hi\n"},
		{Seq: 2, Client: "user", Type: api.EventCommit, Tx: &api.Tx{ID: 9, Time: when, Principal: "user", Note: "n", Changed: []api.Ref{{OID: 1, Name: "Lobby"}}},
			Changes: []api.Change{{Object: api.Ref{OID: 1, Name: "Lobby"}, Slots: []api.SlotChange{{Name: "x", Kind: "data", Op: "added", After: "1"}}}}},
		{Seq: 3, Type: api.EventToken, Token: &api.Token{Principal: "user", Persona: "BRICK", Selector: "area", Text: "func"}},
		{Seq: 4, Client: "user", Request: "r", Type: api.EventStatus, State: api.StateBusy},
		{Seq: 5, Type: api.EventMissed, Missed: 12},
	} {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var wire map[string]any
		if err := json.Unmarshal(b, &wire); err != nil || wire["content"] == nil || wire["type"] != ev.Type {
			t.Fatalf("%s: wire form %s lacks type or content", ev.Type, b)
		}
		var back api.Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, ev) {
			t.Fatalf("round trip of %s:\n%+v\nwant\n%+v", b, back, ev)
		}
	}
	// A type a newer server adds reaches an older client as a bare event.
	var ev api.Event
	if err := json.Unmarshal([]byte(`{"seq":8,"type":"forge","content":{"job":3}}`), &ev); err != nil || ev.Seq != 8 || ev.Type != "forge" {
		t.Fatalf("unknown type: %+v, %v", ev, err)
	}
	if _, err := json.Marshal(api.Event{Type: "nonsense"}); err == nil {
		t.Fatal("an event of no known type marshalled")
	}
}
