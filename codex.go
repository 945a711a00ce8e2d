// Package batos holds what the binary embeds from the top of the repository:
// the codex that the first awakening of an empty image applies.
package batos

import _ "embed"

// CodexSeed is codex_seed.json: the objects, slots and limits that the
// Prototypal Awakening creates in an empty image. Later launches never
// re-apply it; the image is the source of truth from then on.
//
//go:embed codex_seed.json
var CodexSeed []byte
