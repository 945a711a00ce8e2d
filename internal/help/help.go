// Package help is the one help text of the REPL's `help` and the TUI's
// `:help` (which shows it in the TUI's pager, wrapped to its width, and
// adds the TUI's own keys and commands after it): the script API with an
// example each, the commands, the limits.
package help

// Text is the help, for a terminal 80 columns wide.
const Text = `Each entry — Go statements, expressions or declarations — is one transaction.
Lobby is the root object; everything reachable from it is kept.

Objects (every method below is on Object):
  o := NewObject()                          a new, empty object
  o.Set("w", 2.0)                           write a slot (name* makes a parent)
  o.Get("w")                                read a value (any)
  o.At("shape")                             read an object slot as an Object
  v, ok := o.Lookup("maybe")                a slot that may be missing
  o.Define("area", ` + "`" + `func area(self Object, s float64) float64 {
      return self.Get("w").(float64) * s }` + "`" + `)
                                            a method, Go source, named after its selector
  o.Send("area", 3)                         send a message (found through parents)
  o.Remove("w"); o.Rename("a", "b")         remove or rename a slot
  c := o.Clone(); c.Set("parent*", o)       clone; delegate to o
  o.Slots(); o.ID()                         the slot names; the object's id
A send the receiver does not understand asks the pLLM to write the method
(Lobby.pLLM.endpoint names a llama-server).

Limits (Lobby.system): sendDeadline (5s), maxDepth, maxSteps, maxAlloc (64 MiB
per allocation), memoryBudget. A runaway entry is stopped and reported; the
next one works. Scripts cannot reach os, os/exec, net, syscall or unsafe.

Values: bool, int, int64, float64, string, []byte, []any, map[string]any,
Object, and []T or map[string]T of bool, int, int64, float64 or string keep
their Go types in slots.

REPL: an unfinished entry continues on the next line; a blank line ends it.
Arrows edit and recall (history in IMAGE/repl_history), ctrl+r searches it,
tab completes selectors and slot names. ctrl+c cancels a running entry or
drops an unfinished one; ctrl+d or :quit quits.
Commands: batos, batos tui, batos eval 'SOURCE', batos serve, batos attach,
batos image info|history|undo|pack|check, batos forge train|jobs|show|cancel|
logs|run|doctor|selftest, batos entropy, batos autotelic on|off|step|mandates,
batos pllm bench. See README.md and docs/pllm.md.
`
