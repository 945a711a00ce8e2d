// Package pllm puts the language model inside the image: a llama.cpp
// client bound to the pLLM object, and the doesNotUnderstand pipeline that
// writes, validates, installs and commits missing methods.
//
// # Model
//
// Configuration lives in the image as slots of Lobby.pLLM (endpoint,
// route, sampling, maxAttempts, topK, explorationBonus, dnuTemplate,
// generationTimeout) and of its personas (BRICK, ROBIN, BABS, ALFRED: role,
// systemPrompt, endpoint, model, lora, keywords, uses). Routing is a
// Go-script method, pLLM.route(mandate, k), so users and the system can
// rewrite it like any other method. Only the HTTP client is native: Install
// registers it as primitives and nothing non-persistable is stored in a
// slot. BATOS_LLM_URL overrides every persona's endpoint.
//
// # doesNotUnderstand
//
// Install rebinds the doesNotUnderstand primitive. When a send finds no
// slot, the pipeline
//
//  1. builds the context: the receiver's slots and their Go types, its
//     parent chain, the method sources on it, the selector, the actual
//     arguments and their Go types, and the failures of earlier attempts;
//  2. asks pLLM.route for the top-k personas and generates one candidate per
//     persona concurrently, streaming every token onto the kernel's bus;
//  3. extracts the Go function from prose and code fences, parses it and
//     checks its name, receiver, parameters and imports;
//  4. trial-runs it with the actual arguments on the receiver itself, defined
//     where it will be installed and authored pLLM/<persona>, in a separate
//     sandbox process over a snapshot of the image, under a deadline and
//     the image's write policy (Lobby.pLLM.policy), in a transaction that
//     is always aborted; a candidate that writes outside the policy is
//     rejected, naming the object and slot, and its trial's write set is
//     kept in the generation record;
//  5. installs the first candidate that passed, in its own transaction with
//     principal pLLM/<persona> and a note (model, prompt hash, attempt,
//     timings), then asks the evaluation boundary to run the caller's input
//     again (kernel.RetryError), which now finds the method; the input runs
//     again while the install's commit reaches the disk, and answers once
//     it has (RetryError.After);
//  6. otherwise feeds the failures back and tries again, up to maxAttempts,
//     then fails with one error; nothing is installed.
//
// Every generation — prompt, personas, candidates, their outcomes, their
// trials' write sets and the one accepted — is committed as an object in
// Lobby.pLLM.generations: the entropy metric's input and the Forge's
// golden data. The record commits in a transaction of its own, after the
// install's (which changes the method's holder only): every generation
// changes the log and the personas' counters, so an undo of a generated
// method would otherwise conflict with every later generation.
//
// An installed method keeps its author, pLLM/<persona>: every real run of
// it runs under the write policy too (package kernel), so a candidate that
// behaved in its trial and misbehaves later fails its send with a
// *kernel.PolicyError and commits nothing. The pLLM writes no methods for
// objects the policy's never list protects, and refuses to generate while
// the policy is not valid.
//
// The caller's transaction stays open (a snapshot, no locks) across the
// model call; its deadline is suspended meanwhile and generationTimeout
// bounds the call instead. Cancelling the caller cancels the stream.
//
// # Generate
//
// PLLM.Generate runs the same pipeline for a method nobody sent — the
// autotelic loop's mandates — with no transaction open across the model
// call: it reads the image in short read-only transactions before and
// after it. A Request may name the personas to consult, say what the
// method is for (told to the model), cap the answers and gate every
// attempt on what it has spent so far (a budget), and installs as
// Principal/<persona>.
package pllm
