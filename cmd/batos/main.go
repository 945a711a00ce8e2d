// Command batos opens a living image: see README.md and DESIGN.md.
package main

import (
	"fmt"
	"os"

	"batos/internal/cmd/root"
	"batos/internal/iostreams"
)

func main() {
	ios := iostreams.System()
	if err := root.NewCmd(ios).Execute(); err != nil {
		fmt.Fprintln(ios.ErrOut, "error:", err)
		os.Exit(1)
	}
}
