// Package autotelic is the image improving itself unprompted: the seed's
// entropic imperative as a bounded, revertable loop.
//
// # Model
//
// The loop's state is the object Lobby.autotelic: its switch (enabled),
// when to act (threshold, period), its budgets per hour, the vocabulary of
// behaviour it may ask for, the choice rule (the method choose) and its
// ledger. Nothing of it lives in Go but the worker: users and the system
// read and edit it like any other object, and the write policy keeps
// model-written code away from it (Lobby.autotelic is in
// Lobby.pLLM.policy.never, as is Lobby.entropy, the metric it steers by).
//
// A step measures the Composite Entropy Metric (package kernel/entropy),
// gathers the mandates that could raise it, and sends choose to pick one:
//
//   - exercise: the least consulted persona writes a method, for H_cog;
//   - behaviour: an object with data and little behaviour gets a method
//     from the vocabulary, for H_struc and H_sol;
//   - retry: a selector whose generation failed validation is asked for
//     again, for H_rel;
//   - test: a method without a test gets one (test<Selector>);
//   - forge: a persona with enough new golden data is fine-tuned.
//
// Each mandate carries its expected gain — a prior from the reading's
// components and weights, corrected by what earlier mandates of its kind
// did to CEM (a change a user reverted counts as a loss) — and how often
// the same mandate was tried; the default rule is the Darwin Gödel
// Machine's, gain × 1/(1 + tried).
//
// A mandate runs through the pLLM's doesNotUnderstand pipeline
// (pllm.Generate): the same prompt, trial run, write policy and review,
// with no transaction held open across the model call. Its install
// commits as principal autotelic/<persona> with a note that says why,
// so it arrives live in every transcript and can be undone from the
// history; a forge mandate queues a Forge job as principal autotelic.
// The step ends with one more commit, by autotelic, that appends the
// ledger entry — what was chosen and why, what it cost, CEM before and
// after — and the after reading to Lobby.entropy.series.
//
// # Bounds
//
// Budgets (model calls, tokens and commits per hour, counted from the
// ledger) are checked before a step and before every attempt against the
// attempt's worst case, so the loop never goes past them. The switch is
// read before every step and every attempt. No step runs while no model
// server answers its health check. Every write is an ordinary
// transaction: a conflict with a user's is retried on a fresh snapshot,
// never forced. A new image has the loop off; `batos autotelic on`
// switches it on, and `batos autotelic step` runs one step now, whatever
// the period, within the budgets.
//
// docs/AUTOTELIC.md says how the priors are set and how to change the
// rule.
package autotelic
