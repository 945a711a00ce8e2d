package image

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Every stored record, revision and transaction record starts with its
// format version byte; bump formatVersion and keep a decoder for the old
// versions when the layout changes.
//
//	1  the original layout.
//	2  adds the typed containers (tagSlice, tagStringMap, tagNilSlice,
//	   tagNilStringMap): a []T or map[string]T of one scalar type.
//
// A record is written as version 2 only when it holds a typed container.
// Everything else — records without one, transaction records, the m/format
// stamp of a new image — is written as baseVersion, byte for byte what
// version-1 builds wrote: they still read every record that does not use
// the new tags, and report one that does as newer (*FormatError, "upgrade
// batos"), never as corrupt. A version-1 record holding a version-2 tag is
// corrupt.
const (
	formatVersion = 2 // the newest version this build reads and writes
	baseVersion   = 1 // what this build writes where version 2 adds nothing
)

// MaxNesting bounds the nesting of []any and map[string]any (a typed
// container counts one level, like the scalars it holds), on encode (which
// also rejects cyclic values) and on decode (so hostile input cannot exhaust
// the stack). Every walker of values outside the image (the kernel's
// conversions, the sandbox's wire encoding) stops at the same depth.
const MaxNesting = 100

// Key prefixes (see the key layout table in doc.go).
const (
	prefixMeta   = "m/"
	prefixObject = "o/"
	prefixRev    = "r/"
	prefixTx     = "t/"
)

var (
	keyFormat  = []byte("m/format")
	keyLastTx  = []byte("m/lasttx")
	keyNextOID = []byte("m/nextoid")
)

func objKey(oid OID) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixObject), uint64(oid))
}

func revPrefix(oid OID) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixRev), uint64(oid))
}

func revKey(oid OID, tx TxID) []byte {
	return binary.BigEndian.AppendUint64(revPrefix(oid), uint64(tx))
}

func txKey(tx TxID) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixTx), uint64(tx))
}

// prefixEnd returns the smallest key greater than every key starting with p.
func prefixEnd(p []byte) []byte {
	end := slices.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}

// parseRevKey splits a revision key; ok is false if k is not one.
func parseRevKey(k []byte) (OID, TxID, bool) {
	if len(k) != len(prefixRev)+16 || string(k[:len(prefixRev)]) != prefixRev {
		return 0, 0, false
	}
	b := k[len(prefixRev):]
	return OID(binary.BigEndian.Uint64(b)), TxID(binary.BigEndian.Uint64(b[8:])), true
}

// parseIDKey returns the id of an object or transaction key with prefix p.
func parseIDKey(k []byte, p string) (uint64, bool) {
	if len(k) != len(p)+8 || string(k[:len(p)]) != p {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[len(p):]), true
}

// keyString renders a key for messages: "o/0000000000000011",
// "r/0000000000000011/000000000000002a", "t/000000000000002a", "m/lasttx".
func keyString(k []byte) string {
	if oid, tx, ok := parseRevKey(k); ok {
		return fmt.Sprintf("r/%016x/%016x", uint64(oid), uint64(tx))
	}
	for _, p := range []string{prefixObject, prefixTx} {
		if id, ok := parseIDKey(k, p); ok {
			return fmt.Sprintf("%s%016x", p, id)
		}
	}
	if q := strconv.QuoteToASCII(string(k)); q[1:len(q)-1] == string(k) && strings.HasPrefix(string(k), prefixMeta) {
		return string(k)
	}
	return fmt.Sprintf("%q", k)
}

// Record flags (the byte after the version).
const (
	flagTombstone = 1 << 0 // the object did not exist after this revision
	flagCreated   = 1 << 1 // the object did not exist before this revision
	knownFlags    = flagTombstone | flagCreated
)

// Value tags. Persisted: never renumber.
const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt
	tagInt64
	tagFloat64
	tagString
	tagBytes
	tagList
	tagMap
	tagRef
	tagMethod
	tagPrimitive
	// tagAuthoredMethod is a method with its author: the source, then the
	// author. A method without an author is still written as tagMethod,
	// byte for byte what builds before authors wrote, and every tagMethod
	// reads as a method with no author.
	tagAuthoredMethod

	// The typed containers (format version 2 only): a slice or a
	// string-keyed map whose elements are all of one scalar type, named by
	// the element byte after the tag (elemBool...). Elements are written
	// bare, without a tag: a bool as one byte 0 or 1, an int or int64 as a
	// varint, a float64 as 8 bytes big-endian, a string as its length and
	// bytes. A nil slice or map keeps its nilness through its own tag.

	// tagSlice is a []T: element byte, uvarint count, the elements.
	tagSlice
	// tagStringMap is a map[string]T: element byte, uvarint count, then per
	// key, in strictly increasing order, the key and its element.
	tagStringMap
	// tagNilSlice is a nil []T: the element byte.
	tagNilSlice
	// tagNilStringMap is a nil map[string]T: the element byte.
	tagNilStringMap
)

// Element types of the typed containers, the byte after their tag.
// Persisted: never renumber.
const (
	elemBool byte = iota + 1
	elemInt
	elemInt64
	elemFloat64
	elemString
)

// elemMinBytes is the fewest bytes an encoded element of each type takes,
// for bounding counts by the input's size (indexed by element byte).
var elemMinBytes = [...]int{elemBool: 1, elemInt: 1, elemInt64: 1, elemFloat64: 8, elemString: 1}

// isTyped reports whether v is a typed container: one of []T and
// map[string]T for T in bool, int, int64, float64, string, nil ones
// included.
func isTyped(v any) bool {
	switch v.(type) {
	case []bool, []int, []int64, []float64, []string,
		map[string]bool, map[string]int, map[string]int64, map[string]float64, map[string]string:
		return true
	}
	return false
}

// valueError reports an unencodable value; path locates it inside a nested
// value ("" for the slot value itself).
type valueError struct {
	path string
	msg  string
}

func (e *valueError) Error() string {
	if e.path == "" {
		return e.msg
	}
	return e.msg + " at " + e.path
}

// slotsBody is an encoded slot list (count, then each slot) and the
// oldest format version that can hold it: formatVersion when a value uses
// a typed container, baseVersion otherwise.
type slotsBody struct {
	b       []byte
	version byte
}

// encodeSlots appends the encoding of slots (count, then each slot) to buf.
// Errors name the slot and the offending Go type.
func encodeSlots(buf []byte, slots []Slot) (slotsBody, error) {
	b, err := appendSlots(buf, slots)
	if err != nil {
		return slotsBody{}, err
	}
	version := byte(baseVersion)
	for _, s := range slots {
		if holdsTyped(s.Value, 0) {
			version = formatVersion
			break
		}
	}
	return slotsBody{b, version}, nil
}

// holdsTyped reports whether v is or holds a typed container. It runs on
// values appendValue accepted, so they are acyclic and depth-limited.
func holdsTyped(v any, depth int) bool {
	if isTyped(v) {
		return true
	}
	if depth > MaxNesting {
		return false
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if holdsTyped(e, depth+1) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if holdsTyped(e, depth+1) {
				return true
			}
		}
	}
	return false
}

func appendSlots(buf []byte, slots []Slot) ([]byte, error) {
	buf = binary.AppendUvarint(buf, uint64(len(slots)))
	for _, s := range slots {
		if !s.Kind.valid() {
			return nil, fmt.Errorf("slot %q: invalid slot kind %d", s.Name, uint8(s.Kind))
		}
		if err := checkKindValue(s); err != nil {
			return nil, fmt.Errorf("slot %q: %w", s.Name, err)
		}
		buf = appendString(buf, s.Name)
		buf = append(buf, byte(s.Kind))
		var err error
		buf, err = appendValue(buf, s.Value, 0, "")
		if err != nil {
			return nil, fmt.Errorf("slot %q: %w", s.Name, err)
		}
	}
	return buf, nil
}

// checkKindValue enforces the value type of non-data slots.
func checkKindValue(s Slot) error {
	ok := true
	switch s.Kind {
	case SlotParent:
		_, isRef := s.Value.(Ref)
		ok = isRef || s.Value == nil
	case SlotMethod:
		_, ok = s.Value.(Method)
	case SlotPrimitive:
		_, ok = s.Value.(Primitive)
	}
	if !ok {
		return fmt.Errorf("a %s slot cannot hold a value of type %T", s.Kind, s.Value)
	}
	return nil
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendValue(buf []byte, v any, depth int, path string) ([]byte, error) {
	if depth > MaxNesting {
		return nil, &valueError{path, fmt.Sprintf("value nested deeper than %d levels (or cyclic)", MaxNesting)}
	}
	switch x := v.(type) {
	case nil:
		return append(buf, tagNil), nil
	case bool:
		if x {
			return append(buf, tagTrue), nil
		}
		return append(buf, tagFalse), nil
	case int:
		return binary.AppendVarint(append(buf, tagInt), int64(x)), nil
	case int64:
		return binary.AppendVarint(append(buf, tagInt64), x), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(buf, tagFloat64), math.Float64bits(x)), nil
	case string:
		return appendString(append(buf, tagString), x), nil
	case []byte:
		buf = binary.AppendUvarint(append(buf, tagBytes), uint64(len(x)))
		return append(buf, x...), nil
	case []any:
		buf = binary.AppendUvarint(append(buf, tagList), uint64(len(x)))
		for i, e := range x {
			var err error
			if buf, err = appendValue(buf, e, depth+1, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return nil, err
			}
		}
		return buf, nil
	case map[string]any:
		// Sorted keys: equal maps encode to equal bytes.
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		buf = binary.AppendUvarint(append(buf, tagMap), uint64(len(keys)))
		for _, k := range keys {
			buf = appendString(buf, k)
			var err error
			if buf, err = appendValue(buf, x[k], depth+1, path+"["+strconv.Quote(k)+"]"); err != nil {
				return nil, err
			}
		}
		return buf, nil
	case Ref:
		if x.OID == 0 {
			return nil, &valueError{path, "Ref to object 0 (never a valid object)"}
		}
		return binary.AppendUvarint(append(buf, tagRef), uint64(x.OID)), nil
	case Method:
		if x.Author == "" {
			return appendString(append(buf, tagMethod), x.Source), nil
		}
		return appendString(appendString(append(buf, tagAuthoredMethod), x.Source), x.Author), nil
	case Primitive:
		return appendString(append(buf, tagPrimitive), x.Name), nil
	case []bool:
		return appendSlice(buf, elemBool, x), nil
	case []int:
		return appendSlice(buf, elemInt, x), nil
	case []int64:
		return appendSlice(buf, elemInt64, x), nil
	case []float64:
		return appendSlice(buf, elemFloat64, x), nil
	case []string:
		return appendSlice(buf, elemString, x), nil
	case map[string]bool:
		return appendStringMap(buf, elemBool, x), nil
	case map[string]int:
		return appendStringMap(buf, elemInt, x), nil
	case map[string]int64:
		return appendStringMap(buf, elemInt64, x), nil
	case map[string]float64:
		return appendStringMap(buf, elemFloat64, x), nil
	case map[string]string:
		return appendStringMap(buf, elemString, x), nil
	}
	return nil, &valueError{path, fmt.Sprintf("unsupported value type %T", v)}
}

// scalar is an element type of the typed containers.
type scalar interface {
	bool | int | int64 | float64 | string
}

func appendSlice[T scalar](buf []byte, elem byte, s []T) []byte {
	if s == nil {
		return append(buf, tagNilSlice, elem)
	}
	buf = binary.AppendUvarint(append(buf, tagSlice, elem), uint64(len(s)))
	for _, e := range s {
		buf = appendElem(buf, e)
	}
	return buf
}

func appendStringMap[T scalar](buf []byte, elem byte, m map[string]T) []byte {
	if m == nil {
		return append(buf, tagNilStringMap, elem)
	}
	// Sorted keys: equal maps encode to equal bytes.
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	buf = binary.AppendUvarint(append(buf, tagStringMap, elem), uint64(len(keys)))
	for _, k := range keys {
		buf = appendElem(appendString(buf, k), m[k])
	}
	return buf
}

// appendElem writes a typed container's element bare (see tagSlice).
func appendElem[T scalar](buf []byte, e T) []byte {
	switch x := any(e).(type) {
	case bool:
		if x {
			return append(buf, 1)
		}
		return append(buf, 0)
	case int:
		return binary.AppendVarint(buf, int64(x))
	case int64:
		return binary.AppendVarint(buf, x)
	case float64:
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(x))
	case string:
		return appendString(buf, x)
	}
	panic("unreachable: scalar covers bool, int, int64, float64, string")
}

// encodeRecordValue builds a stored record: header (the body's version,
// flags, serial) then the pre-encoded slots body (from encodeSlots).
func encodeRecordValue(flags byte, serial TxID, body slotsBody) []byte {
	buf := make([]byte, 0, 2+binary.MaxVarintLen64+len(body.b))
	buf = append(buf, body.version, flags)
	buf = binary.AppendUvarint(buf, uint64(serial))
	return append(buf, body.b...)
}

// tombstoneBody is the slots body of a tombstone: no slots.
var tombstoneBody = slotsBody{[]byte{0}, baseVersion}

// errBadVersion is wrapped with the version found; decodeAt turns it into a
// *FormatError or *CorruptError.
type versionError struct{ version int }

func (e *versionError) Error() string { return fmt.Sprintf("unknown format version %d", e.version) }

var errTruncated = errors.New("truncated value")

// decoder reads the encodings above. It never panics: every read checks
// bounds, counts are checked against the bytes left, nesting is bounded.
type decoder struct {
	b   []byte
	off int
	v   byte // the format version read by version()
}

func (d *decoder) byte() (byte, error) {
	if d.off >= len(d.b) {
		return 0, errTruncated
	}
	c := d.b[d.off]
	d.off++
	return c, nil
}

func (d *decoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		return 0, fmt.Errorf("bad uvarint at offset %d", d.off)
	}
	d.off += n
	return v, nil
}

func (d *decoder) varint() (int64, error) {
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		return 0, fmt.Errorf("bad varint at offset %d", d.off)
	}
	d.off += n
	return v, nil
}

// count reads a length and checks that at least min*length bytes remain, so
// a hostile length cannot make us allocate more than the input's size.
func (d *decoder) count(min int) (int, error) {
	n, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if n > uint64(len(d.b)-d.off)/uint64(min) {
		return 0, fmt.Errorf("length %d exceeds remaining %d bytes", n, len(d.b)-d.off)
	}
	return int(n), nil
}

func (d *decoder) bytes() ([]byte, error) {
	n, err := d.count(1)
	if err != nil {
		return nil, err
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b, nil
}

func (d *decoder) string() (string, error) {
	b, err := d.bytes()
	return string(b), err
}

func (d *decoder) version() error {
	v, err := d.byte()
	if err != nil {
		return err
	}
	if v < baseVersion || v > formatVersion {
		return &versionError{int(v)}
	}
	d.v = v
	return nil
}

func (d *decoder) end() error {
	if d.off != len(d.b) {
		return fmt.Errorf("%d trailing bytes", len(d.b)-d.off)
	}
	return nil
}

func (d *decoder) value(depth int) (any, error) {
	if depth > MaxNesting {
		return nil, fmt.Errorf("value nested deeper than %d levels", MaxNesting)
	}
	tag, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagNil:
		return nil, nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagInt:
		return d.intElem()
	case tagInt64:
		return d.varint()
	case tagFloat64:
		return d.float64Elem()
	case tagString:
		return d.string()
	case tagBytes:
		b, err := d.bytes()
		if err != nil {
			return nil, err
		}
		return slices.Clone(b), nil // never alias the caller's (pebble's) buffer
	case tagList:
		n, err := d.count(1)
		if err != nil {
			return nil, err
		}
		l := make([]any, n)
		for i := range l {
			if l[i], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return l, nil
	case tagMap:
		n, err := d.count(2)
		if err != nil {
			return nil, err
		}
		return sortedMap(d, n, func(d *decoder) (any, error) { return d.value(depth + 1) })
	case tagRef:
		v, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if v == 0 {
			return nil, errors.New("Ref to object 0")
		}
		return Ref{OID(v)}, nil
	case tagMethod:
		s, err := d.string()
		return Method{Source: s}, err
	case tagAuthoredMethod:
		s, err := d.string()
		if err != nil {
			return nil, err
		}
		a, err := d.string()
		return Method{Source: s, Author: a}, err
	case tagPrimitive:
		s, err := d.string()
		return Primitive{s}, err
	case tagSlice, tagStringMap, tagNilSlice, tagNilStringMap:
		if d.v < 2 {
			return nil, fmt.Errorf("value tag %d at offset %d in a version %d record (typed containers need version 2)", tag, d.off-1, d.v)
		}
		return d.typed(tag)
	}
	return nil, fmt.Errorf("unknown value tag %d at offset %d", tag, d.off-1)
}

// typed reads a typed container after its tag (see tagSlice). Its
// elements are scalars: it nests no further.
func (d *decoder) typed(tag byte) (any, error) {
	at := d.off
	elem, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch elem {
	case elemBool:
		return typedOf(d, tag, elemMinBytes[elem], (*decoder).boolElem)
	case elemInt:
		return typedOf(d, tag, elemMinBytes[elem], (*decoder).intElem)
	case elemInt64:
		return typedOf(d, tag, elemMinBytes[elem], (*decoder).varint)
	case elemFloat64:
		return typedOf(d, tag, elemMinBytes[elem], (*decoder).float64Elem)
	case elemString:
		return typedOf(d, tag, elemMinBytes[elem], (*decoder).string)
	}
	return nil, fmt.Errorf("unknown element type %d at offset %d", elem, at)
}

// typedOf reads the rest of a typed container, each element with read;
// min is the fewest bytes an element takes. Counts are bounded by the
// bytes left, as for []any and map[string]any.
func typedOf[T scalar](d *decoder, tag byte, min int, read func(*decoder) (T, error)) (any, error) {
	switch tag {
	case tagNilSlice:
		return []T(nil), nil
	case tagNilStringMap:
		return map[string]T(nil), nil
	case tagSlice:
		n, err := d.count(min)
		if err != nil {
			return nil, err
		}
		s := make([]T, n)
		for i := range s {
			if s[i], err = read(d); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
	n, err := d.count(1 + min)
	if err != nil {
		return nil, err
	}
	return sortedMap(d, n, read)
}

// sortedMap reads n entries, each a string key, in strictly increasing
// order (so that one value has one encoding), and a value read by read.
func sortedMap[T any](d *decoder, n int, read func(*decoder) (T, error)) (map[string]T, error) {
	m := make(map[string]T, n)
	prev := ""
	for i := 0; i < n; i++ {
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		if i > 0 && k <= prev {
			return nil, fmt.Errorf("map keys not strictly sorted (%q after %q)", k, prev)
		}
		prev = k
		if m[k], err = read(d); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (d *decoder) boolElem() (bool, error) {
	c, err := d.byte()
	if err != nil {
		return false, err
	}
	if c > 1 {
		return false, fmt.Errorf("bool element %d at offset %d (want 0 or 1)", c, d.off-1)
	}
	return c == 1, nil
}

func (d *decoder) intElem() (int, error) {
	v, err := d.varint()
	if err != nil {
		return 0, err
	}
	if int64(int(v)) != v {
		return 0, fmt.Errorf("int %d overflows this platform's int", v)
	}
	return int(v), nil
}

func (d *decoder) float64Elem() (float64, error) {
	if len(d.b)-d.off < 8 {
		return 0, errTruncated
	}
	v := math.Float64frombits(binary.BigEndian.Uint64(d.b[d.off:]))
	d.off += 8
	return v, nil
}

// decodeRecordValue decodes a stored record or revision. oid is taken from
// the key. A tombstone decodes to a record with no slots and flagTombstone.
func decodeRecordValue(oid OID, data []byte) (*Record, byte, error) {
	d := &decoder{b: data}
	if err := d.version(); err != nil {
		return nil, 0, err
	}
	flags, err := d.byte()
	if err != nil {
		return nil, 0, err
	}
	if flags&^knownFlags != 0 {
		return nil, 0, fmt.Errorf("unknown record flags %#x", flags)
	}
	serial, err := d.uvarint()
	if err != nil {
		return nil, 0, err
	}
	n, err := d.count(3)
	if err != nil {
		return nil, 0, err
	}
	if flags&flagTombstone != 0 && n != 0 {
		return nil, 0, errors.New("tombstone with slots")
	}
	rec := &Record{OID: oid, Serial: TxID(serial), Slots: make([]Slot, n)}
	for i := range rec.Slots {
		s := &rec.Slots[i]
		if s.Name, err = d.string(); err != nil {
			return nil, 0, err
		}
		k, err := d.byte()
		if err != nil {
			return nil, 0, err
		}
		s.Kind = SlotKind(k)
		if !s.Kind.valid() {
			return nil, 0, fmt.Errorf("slot %q: invalid slot kind %d", s.Name, k)
		}
		if s.Value, err = d.value(0); err != nil {
			return nil, 0, fmt.Errorf("slot %q: %w", s.Name, err)
		}
		if err := checkKindValue(*s); err != nil {
			return nil, 0, fmt.Errorf("slot %q: %w", s.Name, err)
		}
	}
	return rec, flags, d.end()
}

// encodeTxRecord and decodeTxRecord handle the t/ values.
func encodeTxRecord(info TxInfo) []byte {
	buf := make([]byte, 0, 32+len(info.Principal)+len(info.Note)+4*len(info.Changed))
	buf = append(buf, baseVersion)
	buf = binary.AppendVarint(buf, info.Time.UnixNano())
	buf = appendString(buf, info.Principal)
	buf = appendString(buf, info.Note)
	buf = binary.AppendUvarint(buf, uint64(len(info.Changed)))
	for _, o := range info.Changed {
		buf = binary.AppendUvarint(buf, uint64(o))
	}
	return buf
}

func decodeTxRecord(id TxID, data []byte) (TxInfo, error) {
	d := &decoder{b: data}
	info := TxInfo{ID: id}
	if err := d.version(); err != nil {
		return info, err
	}
	ns, err := d.varint()
	if err != nil {
		return info, err
	}
	info.Time = time.Unix(0, ns)
	if info.Principal, err = d.string(); err != nil {
		return info, err
	}
	if info.Note, err = d.string(); err != nil {
		return info, err
	}
	n, err := d.count(1)
	if err != nil {
		return info, err
	}
	info.Changed = make([]OID, n)
	for i := range info.Changed {
		v, err := d.uvarint()
		if err != nil {
			return info, err
		}
		info.Changed[i] = OID(v)
	}
	return info, d.end()
}

// encodeU64 and decodeU64 handle the fixed-width meta values.
func encodeU64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func decodeU64(data []byte) (uint64, error) {
	if len(data) != 8 {
		return 0, fmt.Errorf("meta value has %d bytes, want 8", len(data))
	}
	return binary.BigEndian.Uint64(data), nil
}

// keyErr wraps a decoding error for the stored key k as a *FormatError (a
// newer version) or a *CorruptError (anything else).
func keyErr(k []byte, err error) error {
	if err == nil {
		return nil
	}
	var ve *versionError
	if errors.As(err, &ve) && ve.version > formatVersion {
		return &FormatError{Key: keyString(k), Version: ve.version, Supported: formatVersion}
	}
	return &CorruptError{Key: keyString(k), Err: err}
}
