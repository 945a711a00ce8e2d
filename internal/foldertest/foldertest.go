// Package foldertest checks, in tests, that a folder is byte for byte as
// it was: what a command that promises to change nothing — a read-only
// open, a refused one — must leave behind.
package foldertest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Hash maps every entry under dir, recursively (an image's logs/ folder
// included), to a hash of its content; nil when dir does not exist.
func Hash(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			out[rel+"/"] = "dir"
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Same fails the test if anything under dir changed, appeared or
// disappeared since before (a Hash of it).
func Same(t testing.TB, dir string, before map[string]string) {
	t.Helper()
	after := Hash(t, dir)
	for name, h := range before {
		if after[name] != h {
			t.Errorf("%s: %s changed or disappeared (before %.8s, after %.8s)", dir, name, h, after[name])
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("%s: %s appeared", dir, name)
		}
	}
	if (before == nil) != (after == nil) {
		t.Errorf("%s: the folder appeared or disappeared", dir)
	}
}
