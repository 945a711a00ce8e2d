package kernel_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"batos/image"
	"batos/kernel"
)

// TestCorruptRecordIsAnError damages the Lobby's record on disk and checks
// that sends report the key, never panic, and that the rest of the image is
// still readable.
func TestCorruptRecordIsAnError(t *testing.T) {
	dir := t.TempDir()
	k, err := kernel.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	k.Close()

	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	key := append([]byte("o/"), binary.BigEndian.AppendUint64(nil, uint64(image.RootOID))...)
	if err := db.Set(key, []byte{0x01, 0xff, 0xff, 0xff}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()

	k, err = kernel.Open(dir, nil)
	if err != nil {
		t.Fatalf("open is lazy and must not read the damaged record: %v", err)
	}
	defer k.Close()
	_, err = k.NewSession("user").Eval(context.Background(), `Lobby.Send("pLLM")`)
	var ce *image.CorruptError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "o/0000000000000001") {
		t.Fatalf("send to a corrupt Lobby: %v, want a CorruptError naming o/0000000000000001", err)
	}
	report, err := k.Store().Check()
	if err == nil || len(report.Problems) == 0 {
		t.Fatalf("Check did not report the corrupt record: %+v", report)
	}
}

// FuzzCodex feeds arbitrary documents to the codex validator: it must
// answer with a *CodexError or accept, never panic.
func FuzzCodex(f *testing.F) {
	f.Add([]byte(`{"format": 1, "objects": [{"id": "Lobby", "slots": [{"name": "x", "value": 1}]}]}`))
	f.Add([]byte(`{"format": 1, "objects": [{"id": "Lobby", "slots": [{"name": "p*", "ref": "Lobby"}, {"name": "m", "method": "func m(self Object) int { return 1 }"}]}]}`))
	f.Add([]byte(`{"format": 1, "objects": [{"id": "Lobby", "slots": [{"name": "v", "value": [1, 2.5, {"a": null}]}]}]}`))
	k, _ := openKernel(f)
	f.Fuzz(func(t *testing.T, doc []byte) {
		err := k.ValidateCodex(doc, "fuzz.json")
		var ce *kernel.CodexError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("validator error is not a CodexError: %v", err)
		}
	})
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
