package image

import (
	"errors"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// poke writes raw key/values into a closed image with Pebble directly.
func poke(t *testing.T, dir string, kv ...[]byte) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			err = db.Delete(kv[i], pebble.Sync)
		} else {
			err = db.Set(kv[i], kv[i+1], pebble.Sync)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// seeded returns the dir of a closed image holding root -> 17.
func seeded(t *testing.T) string {
	dir := t.TempDir()
	s, err := Open(dir, &Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, obj(RootOID, "r", Ref{17}), obj(17, "v", 1))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCheckClean(t *testing.T) {
	s := openAt(t, seeded(t), nil)
	rep, err := s.Check()
	if err != nil || rep.Objects != 2 || rep.Revisions != 2 || rep.Transactions != 1 || len(rep.Problems) != 0 {
		t.Fatalf("Check = %+v, %v", rep, err)
	}
	info, err := s.Info()
	if err != nil || info.Objects != 2 || info.LastTx != 1 || info.Format != formatVersion || info.DiskBytes <= 0 {
		t.Fatalf("Info = %+v, %v", info, err)
	}
}

func TestCorruptAndNewerRecords(t *testing.T) {
	key := "o/0000000000000011"
	tests := []struct {
		name   string
		value  []byte
		newer  bool
		checks string // substring expected among Check's problems
	}{
		{"garbage", []byte("\x01\x00garbage"), false, key},
		{"truncated", []byte{formatVersion}, false, key},
		{"empty", []byte{}, false, key},
		{"newer format", []byte{formatVersion + 1, 0, 0}, true, key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := seeded(t)
			poke(t, dir, objKey(17), tt.value)
			s := openAt(t, dir, nil) // lazy: opening does not read objects
			tx := s.Begin("t")
			defer tx.Abort()
			_, _, err := tx.Get(17)
			var ce *CorruptError
			var fe *FormatError
			if tt.newer {
				if !errors.As(err, &fe) || fe.Key != key || fe.Version != formatVersion+1 || fe.Supported != formatVersion {
					t.Fatalf("Get = %v, want *FormatError for %s", err, key)
				}
			} else if !errors.As(err, &ce) || ce.Key != key {
				t.Fatalf("Get = %v, want *CorruptError for %s", err, key)
			}
			rep, err := s.Check()
			if err == nil || !strings.Contains(strings.Join(rep.Problems, "\n"), tt.checks) {
				t.Fatalf("Check = %v, problems %q", err, rep.Problems)
			}
			if _, err := s.Pack(0); err == nil {
				t.Fatal("Pack over a corrupt reachable object succeeded")
			}
		})
	}
}

func TestCheckFindsStructuralProblems(t *testing.T) {
	tests := []struct {
		name string
		kv   [][]byte
		want string
	}{
		{"dangling ref", [][]byte{objKey(17), nil}, "object 1: refers to missing object 17"},
		{"missing root", [][]byte{objKey(RootOID), nil}, "root object 1 is missing"},
		{"corrupt tx record", [][]byte{txKey(1), []byte{formatVersion, 0xff}}, "t/0000000000000001"},
		{"corrupt revision", [][]byte{revKey(17, 1), []byte{9}}, "r/0000000000000011/0000000000000001"},
		{"revision missing", [][]byte{revKey(17, 1), nil}, "object 17: no revision record for its serial 1"},
		{"unknown key", [][]byte{[]byte("zz"), []byte("?")}, `"zz": unknown key`},
		{"bad lasttx", [][]byte{keyLastTx, []byte("x")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := seeded(t)
			poke(t, dir, tt.kv...)
			s, err := Open(dir, nil)
			if tt.want == "" { // corrupt meta: Open itself must refuse
				var ce *CorruptError
				if !errors.As(err, &ce) || ce.Key != "m/lasttx" {
					t.Fatalf("Open = %v, want CorruptError for m/lasttx", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rep, err := s.Check()
			if err == nil || !strings.Contains(strings.Join(rep.Problems, "\n"), tt.want) {
				t.Fatalf("Check = %v, problems %q, want %q", err, rep.Problems, tt.want)
			}
		})
	}
}

func TestOpenNewerImageFormat(t *testing.T) {
	dir := seeded(t)
	poke(t, dir, keyFormat, encodeU64(formatVersion+1))
	_, err := Open(dir, nil)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Key != "m/format" || fe.Version != formatVersion+1 {
		t.Fatalf("Open = %v, want *FormatError", err)
	}
	// The failed Open released the lock.
	poke(t, dir, keyFormat, encodeU64(formatVersion))
	s := openAt(t, dir, nil)
	if s.LastTx() != 1 {
		t.Fatalf("LastTx = %d", s.LastTx())
	}
}
