package interp

import "io/fs"

// emptyFS is the interpreters' source file system: nothing can be loaded
// from disk by an import.
type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
