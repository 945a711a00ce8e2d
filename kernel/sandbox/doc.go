// Package sandbox trial-runs untrusted candidate methods (the pLLM's) in a
// separate process, so that even one that kills its process — Go's fatal
// stack overflow, running out of memory — cannot take the image down.
//
// Runner.Trial checkpoints the image into a temporary directory
// (image.Store.Checkpoint) and starts a child (`batos sandbox`, whose body
// is Main) in its own process group. The parent writes one JSON Request on
// the child's stdin and reads one JSON Response line from its stdout. The
// child opens the checkpoint, and in one session transaction clones the
// receiver, defines the candidate on the clone and sends it the arguments,
// records the outcome and aborts: nothing the candidate does commits, and
// it only ever touched the copy anyway. The parent kills the child's group
// with SIGKILL when its context ends or the hard timeout passes, and reports
// a child that died or answered garbage as ErrorKind "crash".
//
// Limits: the request's deadline and depth limit are written into the
// copy's Lobby.system (the kernel reads each evaluation's limits there)
// before the trial. Only the kernel's default primitives exist in the
// child, so a candidate whose send falls through to a doesNotUnderstand
// handled by a primitive the child lacks fails with kind "other".
package sandbox
