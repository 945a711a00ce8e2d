package forge

import (
	"context"
	"time"
)

// A Backend runs the training step's command somewhere: as a child
// process of this machine (local), as a Slurm batch job (slurm), or — the
// interface is small on purpose — as a Ray job or a Kubernetes Job.
//
// Invariants every backend keeps, on which the saga's recovery rests:
//   - A job is known by the handle Submit returns, and the handle alone
//     (with the Spec's paths) is enough for a later process — the kernel
//     restarted after a crash — to ask its Status or Cancel it.
//   - The command's standard output and error go to Spec.Log, appended,
//     so that progress survives the process that submitted the job.
//   - When the command ends, its exit status is written to Spec.Status
//     as a decimal number and a newline; a backend that kills the command
//     (timeout, cancel) may leave Spec.Status absent.
//   - Submit either starts the job and returns its handle, or returns an
//     error and leaves nothing running.
type Backend interface {
	// Name is the backend's name in the image ("local", "slurm").
	Name() string
	// Submit starts spec's command and returns the job's handle.
	Submit(ctx context.Context, spec Spec) (handle string, err error)
	// Status reports what became of the job.
	Status(ctx context.Context, handle string, spec Spec) (Status, error)
	// Cancel stops the job (its whole process tree); it is not an error
	// to cancel a job that has ended.
	Cancel(ctx context.Context, handle string, spec Spec) error
}

// A Finder is a Backend that can find a job it started by its Spec alone:
// the worker asks it before submitting, so that a job submitted by a
// kernel that died before it committed the handle is re-attached, not
// started twice.
type Finder interface {
	Find(ctx context.Context, spec Spec) (handle string, ok bool, err error)
}

// Spec describes a backend job.
type Spec struct {
	// Name identifies the job to the backend and to people
	// ("batos-forge-7"); it is unique within the image.
	Name string
	// Command is the trainer's argv, placeholders already filled in.
	Command []string
	// Dir is the job's working directory; it exists.
	Dir string
	// Log receives the command's standard output and error.
	Log string
	// Status receives the command's exit status (see Backend).
	Status string
	// Timeout bounds the job's run time (0: none); the backend stops the
	// job past it and reports StateTimedOut.
	Timeout time.Duration
	// Env is added to the command's environment (KEY=VALUE).
	Env []string
}

// State is a backend job's state, as far as the saga cares.
type State int

const (
	// StateRunning: submitted and not ended (queued by the scheduler
	// counts as running).
	StateRunning State = iota
	// StateSucceeded: the command exited 0.
	StateSucceeded
	// StateFailed: the command exited non-zero (Status.ExitCode), or the
	// backend failed it (Status.Reason).
	StateFailed
	// StateTimedOut: stopped past Spec.Timeout.
	StateTimedOut
	// StateCancelled: stopped by Cancel (or by someone else, e.g. scancel).
	StateCancelled
	// StateLost: the backend no longer knows the job and it left no exit
	// status (the machine rebooted, the process vanished).
	StateLost
)

func (s State) String() string {
	switch s {
	case StateRunning:
		return "running"
	case StateSucceeded:
		return "succeeded"
	case StateFailed:
		return "failed"
	case StateTimedOut:
		return "timed out"
	case StateCancelled:
		return "cancelled"
	case StateLost:
		return "lost"
	}
	return "unknown"
}

// Ended reports whether the job will not change state again.
func (s State) Ended() bool { return s != StateRunning }

// Status is a backend job's state with its details.
type Status struct {
	State    State
	ExitCode int    // StateFailed from the command's exit
	Reason   string // people's words for a failure: "exit status 3", "TIMEOUT", "node failure"
}
