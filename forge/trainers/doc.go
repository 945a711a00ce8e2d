// Package trainers holds the Forge's own trainer: Python programs that the
// Forge runs through its trainer command template, and the Go tests that
// check them against the trainer contract (docs/FORGE.md, "The trainer
// contract"). The programs are embedded in the binary; Unpack writes them
// where the Forge's trainer template ({trainers}) finds them.
//
// The trainer trains a LoRA adapter for a Hugging Face-format Llama in
// plain PyTorch (no transformers, peft or safetensors packages):
//
//	/usr/bin/python3 forge/trainers/lora_sft.py --dataset {dataset} --out {out} --base {base} --config {config}
//
// The dataset is pre-tokenized JSONL ({"tokens": [...], "mask": [...]},
// mask 1 on the assistant tokens the loss counts). Progress is one JSON
// line per optimizer step on stdout. The result is a PEFT adapter
// (adapter_config.json, adapter_model.safetensors) and metrics.json in
// {out}. Checkpoints in {out}/checkpoint-STEP make a rerun resume. Under
// torchrun (or srun torchrun, across nodes) it trains data-parallel, with
// the result of one process with the same global batch. lora_sft.py's
// module docstring is the full reference.
//
// Beside it:
//   - peft_check.py ADAPTER_DIR [--base DIR] checks a PEFT LoRA adapter
//     from any trainer against the same contract, in one line.
//   - tiny_llama.py writes a randomly initialised tiny Llama (vocabulary:
//     0 <unk>, 1 <s>, 2 </s>, 3..258 the bytes 0x00..0xFF) for tests and
//     for comparisons with llama.cpp.
//   - greedy.py decodes greedily with a base and an optional adapter
//     merged at alpha/r, printing the ids and the logits, for the same
//     comparison.
//   - llama_lite.py (the Llama model and its LoRA layers) and
//     safetensors_io.py (a safetensors reader and writer) are the modules
//     they share.
//
// The tests skip when /usr/bin/python3 cannot import torch. They run
// everything on the CPU ("device": "cpu"), with a tiny model and few steps.
//
// Debian's torch 1.13 under Python 3.11 has a torchrun that fails before
// it starts any worker ("'NoneType' object has no attribute 'get'"): the
// default value "0" of its --redirects and --tee is no longer found among
// the members of its Std flag enum. Non-zero values avoid it, as the tests
// pass them (--redirects 2 --tee 2: each worker's stderr goes to a file
// and to the console); a newer torch does not need them.
package trainers
