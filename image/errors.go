package image

import (
	"errors"
	"fmt"
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

// LockedError reports that the image directory is open in another process
// (or another Store in this process).
type LockedError struct {
	Dir string
	Err error // the underlying lock error, for diagnostics
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("image %s is in use by another process (try `batos attach`)", e.Dir)
}

func (e *LockedError) Unwrap() error { return e.Err }

// CorruptError reports a stored key whose value cannot be decoded. Key is the
// printable form of the key, e.g. "o/0000000000000011".
type CorruptError struct {
	Key string
	Err error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt image record %s: %v", e.Key, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

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
