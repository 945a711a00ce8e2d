// Command batos opens a living image: see README.md and DESIGN.md.
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	"batos/internal/cmd/root"
	"batos/internal/iostreams"
)

func main() {
	// yaegi reports some of its compiler's failures with log.Panic, which
	// prints to the standard logger before the panic reaches interp,
	// which turns it into the error the user sees: printed as well, the
	// line would be said twice, and would tear the TUI's screen. batos
	// itself logs through slog handlers of its own.
	log.SetOutput(io.Discard)
	ios := iostreams.System()
	if err := root.NewCmd(ios).Execute(); err != nil {
		fmt.Fprintln(ios.ErrOut, "error:", err)
		os.Exit(1)
	}
}
