// Package sandbox trial-runs untrusted candidate methods (the pLLM's) in a
// separate process, so that even one that kills its process — Go's fatal
// stack overflow, running out of memory — cannot take the image down.
//
// Runner.Trial takes a snapshot of the image (a read-only transaction of
// image.Store) and hands the request to a child (`batos sandbox`, whose
// body is Main) in its own process group, one started ahead of time when
// the Runner is Warm: such a child has made its compiler while it waited.
// The parent writes one JSON Request line on the child's stdin. The child
// runs a kernel on an image.View of the parent's image: each object it
// reads (and, for methods older than recorded authors, the history it
// consults) it asks for with a query line on its stdout, which the parent
// answers from its snapshot with a line on the child's stdin; no copy of
// the image is made. In one session transaction the child defines the
// candidate where it would be installed (the request's Holder: the
// receiver or an object on its parent chain), sends it the arguments on
// the receiver itself, records the outcome and aborts: nothing the
// candidate does commits, and a view cannot commit anyway. Its last line is
// the Response. The parent returns it as soon as the line is whole and
// reaps the child in the background; it kills the child's group with
// SIGKILL when its context ends or the hard timeout passes, and reports a
// child that died or answered garbage as ErrorKind "crash".
//
// A candidate whose Author is a model's (the pLLM's "pLLM/<persona>") runs
// under the image's write policy (kernel.ModelWritten, Lobby.pLLM.policy)
// exactly as the installed method will: a forbidden write fails the trial
// with ErrorKind "policy", and the Response lists the candidate's write set
// (objects created, slots set, removed or renamed, methods defined).
//
// Limits: the request's deadline and depth limit are written into the
// copy's Lobby.system (the kernel reads each evaluation's limits there, at
// its start) in a transaction of their own, and the trial's transaction
// puts the slots back before the candidate runs, so that it reads the
// image's own values while the sandbox's are in force.
//
// What a candidate can still tell apart from its real run: the image is
// the last committed one when the trial began, not the caller's
// transaction (writes the caller
// made before the send are missing, and so is the record of the generation
// in progress, committed with the install); the clock; the objects it
// creates get other ids; only the kernel's default primitives exist in the
// child, so a send that falls through to the pLLM fails as not understood
// and infer fails; the limits in force are the trial's. The write policy
// does not rely on the trial: it is enforced on every real run too.
package sandbox
