// Package image is the Living Image: a transactional object store on Pebble
// that holds every object, every method's source, every transaction record
// and the history of a batos system.
//
// # Model
//
// An object is an OID plus an ordered list of slots (data, method,
// primitive, parent); a Record is one revision of it. Values keep their Go
// types through persistence: nil, bool, int, int64, float64, string, []byte,
// []any, map[string]any, and Ref, Method and Primitive, nested freely; and
// the typed containers []T and map[string]T for T one of bool, int, int64,
// float64, string (a map[string]int reads back as a map[string]int, a nil
// []string as a nil []string).
//
// A Txn reads from a Pebble snapshot taken at Begin (plus its own buffered
// writes) and buffers its writes. Commit validates optimistically, like
// ZODB: if another transaction committed a revision of an object we wrote
// after our snapshot, Commit fails with *ConflictError and writes nothing
// (Store.Update retries). Otherwise the whole transaction — records,
// revisions, transaction record, last TxID and next OID — goes into one
// Pebble batch applied with Sync; Commit returns only after the fsync, and
// only then do AfterCommit hooks run. Validation and application are
// serialized by a commit mutex; the fsync is awaited outside it, so
// concurrent committers share fsyncs (group commit). Commit is Apply then
// Applied.Wait: a caller with other work splits them, and works while the
// disk syncs (the batch is visible from Apply on, as Pebble's own batches
// are before their sync).
//
// History follows ZODB. Every revision is kept until Pack. Undo(T) commits
// a new transaction restoring, for each object T changed, the revision
// before T (deleting objects T created), and fails with *UndoConflictError
// if any of them changed after T. Pack(before) drops revisions superseded
// at `before` and objects unreachable from RootOID.
//
// # Key layout
//
// OIDs and TxIDs in keys are 8-byte big-endian, so keys sort by id; the
// printable form used in errors shows them as 16 hex digits.
//
//	key                      value
//	m/format                 u64 BE: format version of the image (1; see below)
//	m/lasttx                 u64 BE: newest committed TxID
//	m/nextoid                u64 BE: next OID to allocate
//	o/<oid>                  current record of a live object
//	r/<oid><txid>            revision of oid written by txid (record or tombstone)
//	t/<txid>                 transaction record: time, principal, note, changed OIDs
//
// Record values are: format byte, flags byte (tombstone, created), uvarint
// serial, uvarint slot count, then per slot: name, kind byte, tagged value.
// Transaction records start with the same format byte. A version newer than
// this build's is reported as *FormatError; any other undecodable value as
// *CorruptError naming the key. Decoding never panics.
//
// Versions are per record (codec.go): a record holding a typed container is
// written as version 2, everything else as version 1, byte for byte as
// version-1 builds wrote it, and m/format stays 1. So a version-1 build
// opens any image, reads every record that holds no typed container, and
// reports one that does as *FormatError rather than corruption.
//
// # Invariants
//
//   - o/<oid> equals r/<oid><serial> for the object's serial, and that is
//     the object's newest revision; a deleted object has no o/ key and a
//     tombstone as its newest revision.
//   - m/lasttx is the largest t/ key; TxIDs are dense from 1 (Pack keeps
//     transaction records).
//   - m/nextoid is greater than every OID ever allocated and committed, so
//     OIDs are never reused, even across restarts.
//   - Only one Store has an image open: Open takes Pebble's directory lock
//     and fails with *LockedError if it is held.
//   - Open is lazy: it reads the meta keys only, never the objects.
//
// # The folder on disk
//
// No call destroys an image (disk.go, Store.Open):
//
//   - Open creates an image only with Options.Create, and only in a missing
//     or empty folder. A folder with entries must hold a complete Pebble
//     store (checked by name before Pebble opens it, so a missing manifest
//     marker, MANIFEST or OPTIONS file is refused, never recreated) and the
//     m/format record (read through a read-only open before Pebble may
//     write). What fails is refused with one line, and the folder is left
//     as it was.
//   - Options.ReadOnly changes no byte: Pebble opens read-only, its file
//     system (guardFS) refuses every change, and a folder without LOCK (a
//     checkpoint) is opened without creating one. Read-only opens still take
//     the exclusive lock when LOCK exists, so they fail with *LockedError
//     while another process has the image.
//   - Pebble never exits the process. Its Logger.Fatalf and its corruption
//     reports are recorded as the store's failure (*StorageError,
//     *CorruptError naming the file): the files freeze as they were, every
//     write is refused with that error, and a writable store closes Pebble
//     so every later operation returns it. A failed WAL write or sync fails
//     the store the same way.
package image
