package kernel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"batos/image"
)

// The codex is a JSON document: a format number and a list of objects, each
// with an id and ordered slots. A slot gives exactly one of "value" (any
// JSON value: integers become int, other numbers float64, arrays []any,
// objects map[string]any), "ref" (the id of another codex object), "method"
// (Go source) or "primitive" (a registered primitive's name). A slot whose
// name ends in "*" is a parent slot and must be a ref. The object with id
// "Lobby" becomes the image's root.

// codexFormat is the codex format this build reads.
const codexFormat = 1

type codexFile struct {
	Format  int           `json:"format"`
	Objects []codexObject `json:"objects"`
}

type codexObject struct {
	ID      string      `json:"id"`
	Comment string      `json:"comment"`
	Slots   []codexSlot `json:"slots"`
}

type codexSlot struct {
	Name      string          `json:"name"`
	Value     json.RawMessage `json:"value"`
	Ref       string          `json:"ref"`
	Method    string          `json:"method"`
	Primitive string          `json:"primitive"`
}

// CodexError locates a problem in a codex: the file and the field.
type CodexError struct {
	File  string
	Field string // e.g. objects[1] ("Lobby").slots[2] ("pLLM")
	Err   error
}

func (e *CodexError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("codex %s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("codex %s: %s: %v", e.File, e.Field, e.Err)
}

func (e *CodexError) Unwrap() error { return e.Err }

// codexPlan is a validated codex: every object's slots in image form, with
// refs still as codex ids (resolved once OIDs are allocated).
type codexPlan struct {
	ids   []string
	slots map[string][]plannedSlot
}

type plannedSlot struct {
	slot image.Slot
	ref  string // non-empty for refs: the target's codex id
}

// ValidateCodex checks a codex without applying it.
func (k *Kernel) ValidateCodex(src []byte, name string) error {
	_, err := k.planCodex(src, name)
	return err
}

func (k *Kernel) planCodex(src []byte, name string) (*codexPlan, error) {
	fail := func(field string, format string, args ...any) error {
		return &CodexError{File: name, Field: field, Err: fmt.Errorf(format, args...)}
	}
	var cf codexFile
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cf); err != nil {
		return nil, &CodexError{File: name, Err: jsonErrorAt(src, err)}
	}
	if dec.More() {
		return nil, fail("", "trailing data after the codex object")
	}
	if cf.Format != codexFormat {
		return nil, fail("format", "format %d is not supported (this build reads format %d)", cf.Format, codexFormat)
	}
	plan := &codexPlan{slots: make(map[string][]plannedSlot)}
	for i, o := range cf.Objects {
		field := fmt.Sprintf("objects[%d]", i)
		if o.ID == "" {
			return nil, fail(field, "missing id")
		}
		if _, dup := plan.slots[o.ID]; dup {
			return nil, fail(field, "duplicate id %q", o.ID)
		}
		plan.ids = append(plan.ids, o.ID)
		plan.slots[o.ID] = nil
	}
	if _, ok := plan.slots["Lobby"]; !ok {
		return nil, fail("objects", "no object with id \"Lobby\" (the root)")
	}
	for i, o := range cf.Objects {
		seen := make(map[string]bool)
		for j, cs := range o.Slots {
			field := fmt.Sprintf("objects[%d] (%q).slots[%d] (%q)", i, o.ID, j, cs.Name)
			if err := validSlotName(cs.Name); err != nil {
				return nil, fail(field, "%v", err)
			}
			if seen[cs.Name] {
				return nil, fail(field, "duplicate slot name")
			}
			seen[cs.Name] = true
			ps, err := k.planSlot(cs, plan)
			if err != nil {
				return nil, fail(field, "%v", err)
			}
			plan.slots[o.ID] = append(plan.slots[o.ID], ps)
		}
	}
	return plan, nil
}

func (k *Kernel) planSlot(cs codexSlot, plan *codexPlan) (plannedSlot, error) {
	given := 0
	for _, set := range []bool{cs.Value != nil, cs.Ref != "", cs.Method != "", cs.Primitive != ""} {
		if set {
			given++
		}
	}
	if given != 1 {
		return plannedSlot{}, errors.New(`give exactly one of "value", "ref", "method" or "primitive"`)
	}
	isParent := strings.HasSuffix(cs.Name, "*")
	if isParent && cs.Ref == "" {
		return plannedSlot{}, errors.New(`a parent slot (name ending in "*") needs a "ref"`)
	}
	switch {
	case cs.Ref != "":
		if _, ok := plan.slots[cs.Ref]; !ok {
			return plannedSlot{}, fmt.Errorf("unknown ref %q", cs.Ref)
		}
		kind := image.SlotData
		if isParent {
			kind = image.SlotParent
		}
		return plannedSlot{slot: image.Slot{Name: cs.Name, Kind: kind}, ref: cs.Ref}, nil
	case cs.Method != "":
		if _, err := k.compiler.Compile(cs.Name, cs.Method); err != nil {
			return plannedSlot{}, err
		}
		return plannedSlot{slot: image.Slot{Name: cs.Name, Kind: image.SlotMethod, Value: image.Method{Source: cs.Method, Author: codexAuthor}}}, nil
	case cs.Primitive != "":
		if _, ok := k.primitive(cs.Primitive); !ok {
			return plannedSlot{}, fmt.Errorf("unknown primitive %q", cs.Primitive)
		}
		return plannedSlot{slot: image.Slot{Name: cs.Name, Kind: image.SlotPrimitive, Value: image.Primitive{Name: cs.Primitive}}}, nil
	}
	v, err := decodeCodexValue(cs.Value)
	if err != nil {
		return plannedSlot{}, err
	}
	return plannedSlot{slot: image.Slot{Name: cs.Name, Kind: image.SlotData, Value: v}}, nil
}

// decodeCodexValue decodes a JSON value keeping integers as int.
func decodeCodexValue(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return fromJSONNumbers(v)
}

func fromJSONNumbers(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		s := v.String()
		if !strings.ContainsAny(s, ".eE") {
			i, err := strconv.ParseInt(s, 10, 0)
			if err != nil {
				return nil, fmt.Errorf("integer %s out of range", s)
			}
			return int(i), nil
		}
		return v.Float64()
	case []any:
		for i, e := range v {
			c, err := fromJSONNumbers(e)
			if err != nil {
				return nil, err
			}
			v[i] = c
		}
	case map[string]any:
		for key, e := range v {
			c, err := fromJSONNumbers(e)
			if err != nil {
				return nil, err
			}
			v[key] = c
		}
	}
	return v, nil
}

// jsonErrorAt adds a line number to encoding/json's errors.
func jsonErrorAt(src []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("unexpected end of file")
	}
	if off < 0 || off > int64(len(src)) {
		return err
	}
	line := 1 + bytes.Count(src[:off], []byte("\n"))
	return fmt.Errorf("line %d: %w", line, err)
}

// codexAuthor is the principal of the awakening transaction, and so the
// author of the codex's methods.
const codexAuthor = "awakening"

// awaken applies a codex to an empty image in one transaction.
func (k *Kernel) awaken(src []byte, name string) error {
	plan, err := k.planCodex(src, name)
	if err != nil {
		return err
	}
	t := k.begin(codexAuthor)
	oids := map[string]image.OID{"Lobby": image.RootOID}
	for _, id := range plan.ids {
		if id != "Lobby" {
			oids[id] = t.it.NewOID()
		}
	}
	for _, id := range plan.ids {
		slots := make([]image.Slot, len(plan.slots[id]))
		for i, ps := range plan.slots[id] {
			slots[i] = ps.slot
			if ps.ref != "" {
				slots[i].Value = image.Ref{OID: oids[ps.ref]}
			}
		}
		st := &objState{slots: slots}
		t.objs[oids[id]] = st
		t.markDirty(oids[id], st)
	}
	t.shaped = true
	if _, err := t.commit("Prototypal Awakening from " + name); err != nil {
		return fmt.Errorf("awaken image from %s: %w", name, err)
	}
	k.log.Info("awakened", "codex", name, "objects", len(plan.ids))
	return nil
}
