package slurmtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStart: the cluster comes up idle and runs a batch job to completion.
func TestStart(t *testing.T) {
	c := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := filepath.Join(t.TempDir(), "out")
	id, err := c.Command(ctx, "sbatch", "--parsable", "--output="+out, "--wrap=echo hello from $SLURM_JOB_ID").Output()
	if err != nil {
		t.Fatalf("sbatch: %v\n%s", err, c.Logs())
	}
	want := "hello from " + strings.TrimSpace(string(id))
	for {
		data, _ := os.ReadFile(out)
		if strings.TrimSpace(string(data)) == want {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("job output %q, want %q\n%s", data, want, c.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(c.Logs(), "slurmctld version") {
		t.Errorf("Logs lacks slurmctld's log:\n%s", c.Logs())
	}
}
