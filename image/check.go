package image

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// CheckReport is the outcome of Check. Each problem names the key or object
// it concerns.
type CheckReport struct {
	Objects, Revisions, Transactions int
	Problems                         []string
}

// Check reads the whole image and verifies that:
//   - every object, revision, transaction and meta record decodes;
//   - every current object has a revision record for its serial;
//   - every Ref in a current object resolves to an existing object;
//   - RootOID exists when the image is not empty, and no transaction is
//     newer than m/lasttx.
//
// It returns the report, and a non-nil error when there are problems.
func (s *Store) Check() (CheckReport, error) {
	var rep CheckReport
	if err := s.enterFiles(); err != nil {
		return rep, fmt.Errorf("check: %w", err)
	}
	defer s.exit()
	// A snapshot gives one consistent view while commits continue.
	snap := s.db.NewSnapshot()
	defer snap.Close()
	lastTx := s.LastTx()
	it, err := snap.NewIter(nil)
	if err != nil {
		return rep, fmt.Errorf("check: %w", s.engineErr(err))
	}
	defer it.Close()

	problem := func(format string, a ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, a...)) }
	objects := map[OID]TxID{}     // current objects and their serials
	revisions := map[OID][]TxID{} // only for current objects' serial check
	refs := map[OID][]OID{}       // referrer -> referents
	var maxTx TxID
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		v, err := it.ValueAndErr()
		if err != nil {
			return rep, fmt.Errorf("check: read %s: %w", keyString(k), s.engineErr(err))
		}
		switch ks := string(k); {
		case strings.HasPrefix(ks, prefixObject):
			id, ok := parseIDKey(k, prefixObject)
			if !ok || id == 0 {
				problem("%s: malformed object key", keyString(k))
				continue
			}
			rep.Objects++
			rec, flags, err := decodeRecordValue(OID(id), v)
			if err == nil && flags&flagTombstone != 0 {
				err = fmt.Errorf("tombstone stored as current revision")
			}
			if err != nil {
				problem("%v", keyErr(k, err))
				continue
			}
			objects[rec.OID] = rec.Serial
			if r := rec.Refs(); len(r) > 0 {
				refs[rec.OID] = r
			}
		case strings.HasPrefix(ks, prefixRev):
			oid, tx, ok := parseRevKey(k)
			if !ok || oid == 0 || tx == 0 {
				problem("%s: malformed revision key", keyString(k))
				continue
			}
			rep.Revisions++
			rec, _, err := decodeRecordValue(oid, v)
			if err != nil {
				problem("%v", keyErr(k, err))
				continue
			}
			if rec.Serial != tx {
				problem("%s: serial %d does not match its key", keyString(k), rec.Serial)
			}
			revisions[oid] = append(revisions[oid], tx)
		case strings.HasPrefix(ks, prefixTx):
			id, ok := parseIDKey(k, prefixTx)
			if !ok || id == 0 {
				problem("%s: malformed transaction key", keyString(k))
				continue
			}
			rep.Transactions++
			if _, err := decodeTxRecord(TxID(id), v); err != nil {
				problem("%v", keyErr(k, err))
			}
			maxTx = max(maxTx, TxID(id))
		case ks == string(keyFormat) || ks == string(keyLastTx) || ks == string(keyNextOID):
			if _, err := decodeU64(v); err != nil {
				problem("%v", keyErr(k, err))
			}
		default:
			problem("%s: unknown key", keyString(k))
		}
	}
	if err := it.Error(); err != nil {
		return rep, fmt.Errorf("check: %w", s.engineErr(err))
	}

	// Cross-record checks, in OID order so reports are stable.
	oids := slices.Sorted(maps.Keys(objects))
	for _, oid := range oids {
		serial := objects[oid]
		found := false
		for _, tx := range revisions[oid] {
			found = found || tx == serial
		}
		if !found {
			problem("object %d: no revision record for its serial %d (%s)", oid, serial, keyString(revKey(oid, serial)))
		}
	}
	for _, from := range oids {
		for _, oid := range refs[from] {
			if _, ok := objects[oid]; !ok {
				problem("object %d: refers to missing object %d", from, oid)
			}
		}
	}
	if lastTx > 0 {
		if _, ok := objects[RootOID]; !ok {
			problem("root object %d is missing (%s)", RootOID, keyString(objKey(RootOID)))
		}
	}
	if maxTx > lastTx {
		problem("%s says %d but transaction %d exists", keyString(keyLastTx), lastTx, maxTx)
	}
	if len(rep.Problems) > 0 {
		return rep, fmt.Errorf("check image %s: %d problems, first: %s", s.dir, len(rep.Problems), rep.Problems[0])
	}
	return rep, nil
}

var _ pebble.Reader = (*pebble.Snapshot)(nil)
