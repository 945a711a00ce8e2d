package batos

import "embed"

// Mandates is testdata/mandates: the pLLM's mandate suite, which `batos
// pllm bench` runs when it is given no other (package kernel/pllm/bench
// reads it).
//
//go:embed testdata/mandates
var Mandates embed.FS

// MandatesDir is the suite's folder inside Mandates.
const MandatesDir = "testdata/mandates"
