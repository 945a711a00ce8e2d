package repl

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestHistoryItem(t *testing.T) {
	entry := "p.Define(\"area\", `func area(self Object) int {\n\treturn 6 * 7\n}`)\n"
	item := historyItem(entry)
	if strings.Contains(item, "\n") {
		t.Fatalf("item %q spans lines", item)
	}
	if got := fromHistory(item); got != strings.TrimSuffix(entry, "\n") {
		t.Fatalf("fromHistory(%q) = %q", item, got)
	}
	if got := fromHistory("1 + 1"); got != "1 + 1" {
		t.Fatalf("a typed line changed: %q", got)
	}
}

// TestHistoryFile: the file round-trips long multi-line items, and a
// folder that does not exist keeps none without failing.
func TestHistoryFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), HistoryFileName)
	items := []string{"x := 1", historyItem("func f() {\n" + strings.Repeat("\t_ = 1\n", 2000) + "}"), "f()"}
	write := func(w io.Writer) (int, error) {
		for _, it := range items {
			if _, err := fmt.Fprintln(w, it); err != nil {
				return 0, err
			}
		}
		return len(items), nil
	}
	if err := saveHistory(path, write); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := loadHistory(path, func(s string) { got = append(got, s) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, items) {
		t.Fatalf("loaded %d items, want %d: %.80q", len(got), len(items), got)
	}
	if left, _ := filepath.Glob(path + ".*"); len(left) != 0 {
		t.Fatalf("temporary files left: %q", left)
	}

	absent := filepath.Join(t.TempDir(), "absent", HistoryFileName)
	if err := saveHistory(absent, write); err != nil {
		t.Fatalf("saving into a missing folder: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(absent)); !os.IsNotExist(err) {
		t.Fatal("saving created the folder")
	}
}
