package image

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound reports a transaction or object that does not exist (for
// example Undo or TxInfo of an unknown transaction). Test with errors.Is.
var ErrNotFound = errors.New("not found")

// ErrClosed is returned by operations on a closed store.
var ErrClosed = errors.New("image is closed")

// ErrTxnDone is returned by operations on a transaction after Commit or Abort.
var ErrTxnDone = errors.New("transaction already committed or aborted")

// ConflictError reports that a transaction wrote an object that another
// transaction committed after this one's snapshot was taken (ZODB's
// ConflictError). The failed transaction left nothing behind; retrying it in a
// fresh transaction (see Store.Update) normally succeeds.
type ConflictError struct {
	OID OID
	Tx  TxID // the committed transaction that wrote OID after our snapshot
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("conflict: object %d was changed by transaction %d after this transaction began", e.OID, e.Tx)
}

// UndoConflictError reports that a transaction cannot be undone because one
// of the objects it changed was changed again afterwards.
type UndoConflictError struct {
	Tx        TxID // the transaction asked to be undone
	OID       OID  // the object that changed since
	ChangedBy TxID // the later transaction that changed it
}

func (e *UndoConflictError) Error() string {
	return fmt.Sprintf("cannot undo transaction %d: object %d was changed since by transaction %d", e.Tx, e.OID, e.ChangedBy)
}

// ErrReadOnly is returned by writes (Commit with changes, Pack, Undo) to a
// store opened with Options.ReadOnly.
var ErrReadOnly = errors.New("image is open read-only")

// LockedError reports that the image directory is open in another process
// (or another Store in this process). Read-only opens take the same lock,
// so `batos image info` fails this way too while a REPL holds the image.
type LockedError struct {
	Dir string
	Err error // the underlying lock error, for diagnostics
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("image %s is in use by another process (quit the `batos repl`, `batos tui` or `batos eval` that has it open, then try again)", e.Dir)
}

func (e *LockedError) Unwrap() error { return e.Err }

// NoImageError reports that Open without Options.Create found no image:
// the folder is missing, empty, or holds a store whose creation never
// finished. Nothing was created.
type NoImageError struct {
	Dir    string
	Reason string // "no such folder", "the folder is empty", ...
}

func (e *NoImageError) Error() string {
	return fmt.Sprintf("no image at %s: %s (run `batos --image %s` to create one)", e.Dir, e.Reason, e.Dir)
}

// NotImageError reports a folder that holds files but no batos image: no
// Pebble store at all, or a Pebble store without batos's format record.
// Open refuses it and changes nothing.
type NotImageError struct {
	Dir     string
	Problem string
}

func (e *NotImageError) Error() string {
	return fmt.Sprintf("%s is not a batos image: %s; nothing was changed: point --image at an image, or at a new or empty folder to create one", e.Dir, oneLine(e.Problem))
}

// DamagedError reports an image folder whose store cannot be opened: a
// file Pebble needs is missing (the manifest marker, the MANIFEST it names,
// the OPTIONS file), or Pebble refused the store (a table whose size does
// not match the MANIFEST, an unreadable WAL). File names the file when it is
// known. Open refuses it and changes nothing.
type DamagedError struct {
	Dir     string
	File    string // the damaged or missing file, "" when unknown
	Problem string
}

func (e *DamagedError) Error() string {
	what := oneLine(e.Problem)
	if e.File != "" {
		what = e.File + ": " + what
	}
	return fmt.Sprintf("image %s is damaged (%s); nothing was changed: restore the folder from a checkpoint or backup, or point --image at another folder", e.Dir, what)
}

// CorruptError reports damaged data. Key is set for a stored record whose
// value cannot be decoded (its printable form, e.g. "o/0000000000000011");
// File is set for a file in which Pebble found corruption while reading (a
// checksum mismatch in a block, a bad footer); the store has then failed
// (see StorageError for what that means).
type CorruptError struct {
	Key  string
	File string
	Err  error
}

func (e *CorruptError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("corrupt image file %s (%s): batos stopped using this image; restore it from a checkpoint or backup", e.File, oneLine(errText(e.Err)))
	}
	return fmt.Sprintf("corrupt image record %s: %s", e.Key, oneLine(errText(e.Err)))
}

func (e *CorruptError) Unwrap() error { return e.Err }

// StorageError reports that Pebble hit a condition it treats as fatal (a
// failed WAL or MANIFEST write or sync, a broken internal invariant). The
// process keeps running: the store records the first such condition (or
// corruption, as a *CorruptError), freezes its files as they were at that
// instant (what Pebble recovers from, as after a crash) and refuses every
// later write with that error; a writable store also closes Pebble, so
// every later operation returns it.
type StorageError struct {
	Dir     string
	File    string // the file the message names, "" when none
	Problem string
}

func (e *StorageError) Error() string {
	return fmt.Sprintf("image %s: the storage engine failed (%s): batos stopped using this image; quit, check the disk (space, permissions), then reopen it and run `batos image check`", e.Dir, oneLine(e.Problem))
}

// FormatError reports a stored value written by a newer format than this
// build supports.
type FormatError struct {
	Key       string
	Version   int
	Supported int
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("image record %s has format %d, newer than this build supports (%d): upgrade batos", e.Key, e.Version, e.Supported)
}

func errText(err error) string {
	if err == nil {
		return "unknown"
	}
	return err.Error()
}

// oneLine joins the lines of a message (Pebble joins several errors with
// newlines) so that every error the image returns prints as one line.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}
