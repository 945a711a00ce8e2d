package app_test

import (
	"os"
	"testing"

	"batos/kernel/sandbox"
)

// TestMain doubles as the pLLM's sandbox child: a test that opens an image
// with the pLLM (TestAutotelicStep) has trial runs re-execute this test
// binary with BATOS_SANDBOX_CHILD set, as the batos binary re-executes
// itself with `batos sandbox`.
func TestMain(m *testing.M) {
	if os.Getenv("BATOS_SANDBOX_CHILD") == "1" {
		os.Exit(sandbox.Main())
	}
	os.Exit(m.Run())
}
