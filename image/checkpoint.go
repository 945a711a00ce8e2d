package image

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Checkpoint writes a consistent copy of the image into dir, which must not
// exist yet (its parent is created if missing). The copy holds every
// transaction committed before Checkpoint was called, hard-links Pebble's
// immutable files where the file system allows, and is an ordinary image:
// Open it (it takes its own lock) while this one stays open. Transactions
// committed while Checkpoint runs may or may not be in the copy, whole.
func (s *Store) Checkpoint(dir string) error {
	if err := s.enterFiles(); err != nil {
		return fmt.Errorf("checkpoint image %s: %w", s.dir, err)
	}
	defer s.exit()
	// WithFlushedWAL syncs the WAL first, so a batch applied by a commit
	// still waiting on its fsync is in the copy too.
	if err := s.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("checkpoint image %s to %s: %w", s.dir, dir, err)
	}
	return nil
}
