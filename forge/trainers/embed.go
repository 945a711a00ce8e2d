package trainers

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// files are the trainer's programs, shipped inside the batos binary.
//
//go:embed *.py
var files embed.FS

// Unpack writes the trainer's programs into dir, replacing those whose
// content differs (each written whole: beside, then renamed), so that a
// command template can name dir/lora_sft.py wherever batos was installed.
func Unpack(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("unpack the trainers: %w", err)
	}
	return fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		want, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, name)
		if have, err := os.ReadFile(dst); err == nil && bytes.Equal(have, want) {
			return nil
		}
		tmp := dst + ".tmp"
		if err := os.WriteFile(tmp, want, 0o644); err != nil {
			return fmt.Errorf("unpack the trainers: %w", err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			return fmt.Errorf("unpack the trainers: %w", err)
		}
		return nil
	})
}
