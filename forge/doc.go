// Package forge runs fine-tune jobs as sagas over the image: the Forge of
// the seed's fifth mandate.
//
// A job is an object in Lobby.Forge.jobs, created by the fineTune
// primitive inside the caller's transaction: the image is the queue (a
// transactional outbox), so a job exists only if the transaction that
// asked for it committed, and an after-commit hook wakes the worker.
//
// The worker (Start) runs in the kernel's process, one goroutine per job
// in flight. It acts on committed state only: each pass reads the job and
// takes one step from its state — curate, train, convert, evaluate,
// register — committing every transition as its own transaction by
// principal "forge". A failure or a cancel sends the job to compensating,
// which undoes its completed steps in reverse order and ends it failed or
// cancelled. Every step is idempotent or recorded before it matters, so a
// worker started after a crash resumes each job where its last committed
// transition left it; a training job re-attaches to its backend job by
// the handle committed when it was submitted.
//
// Training runs on a Backend: Local (a child process group of this
// machine) or Slurm (package forge/slurm); others need four methods. The
// persona's adapter slot changes only in register's transaction, together
// with the job's success, and only to a version folder staged whole.
//
// docs/FORGE.md describes the states, the steps and their compensation,
// the trainer contract, the crash windows and how to add a backend.
package forge
