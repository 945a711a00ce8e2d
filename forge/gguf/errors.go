package gguf

import (
	"errors"
	"fmt"
)

// FormatError reports an input that breaks its format's rules or does not
// fit the model it is converted for. Callers that need to tell bad input
// from failed I/O use errors.As.
type FormatError struct {
	Format string // "safetensors", "GGUF", "adapter_config.json", "config.json", ...
	Path   string // the file, or "" when parsing bytes
	Where  string // the tensor, key or offset at fault, or "" for the whole file
	Reason string
}

func (e *FormatError) Error() string {
	s := e.Format
	if e.Path != "" {
		s += " " + e.Path
	}
	if e.Where != "" {
		s += ": " + e.Where
	}
	return s + ": " + e.Reason
}

func formatErrorf(format, where, reason string, args ...any) *FormatError {
	return &FormatError{Format: format, Where: where, Reason: fmt.Sprintf(reason, args...)}
}

// withPath fills in the path of a FormatError that was made without one.
func withPath(err error, path string) error {
	var fe *FormatError
	if errors.As(err, &fe) && fe.Path == "" {
		fe.Path = path
	}
	return err
}
