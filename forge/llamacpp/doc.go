// Package llamacpp is the Forge's check, against a real llama.cpp, that
// the GGUF files batos/forge/gguf writes load and compute what the PyTorch
// model that forge/trainers trains computes. Greedy runs it from Go (the
// binary embeds check.mjs); Find locates the node-llama-cpp installation.
//
// llama.cpp comes from npm's node-llama-cpp, pinned to 3.21.1 in
// package.json and package-lock.json, whose prebuilt CPU binary for
// linux-x64 (@node-llama-cpp/linux-x64) runs on the project's machines
// without a compiler or a model download. Install it, from the repository
// root, with
//
//	npm ci --prefix forge/llamacpp
//
// (about 5 s and 83 MB in forge/llamacpp/node_modules, which git ignores).
// The folder's .npmrc omits node-llama-cpp's optional dependencies, the
// prebuilt builds for every platform (the CUDA and Vulkan ones alone are
// about 620 MB on linux-x64; the CPU one is a direct dependency instead),
// and ignores install scripts, so node-llama-cpp's postinstall never tries
// to download or build llama.cpp; package.json's
// config.nodeLlamaCppPostinstall "skip" says the same to node-llama-cpp.
//
// check.mjs runs greedy decoding in llama.cpp:
//
//	node forge/llamacpp/check.mjs --model BASE.gguf [--lora ADAPTER.gguf --scale 1.0] --ids 1,5,9 --n 8 [--all-logprobs]
//
// and prints {"tokens":[...],"logprobs":[[...]],"vocab":N,"warnings":[...]}
// (see its header), the counterpart of forge/trainers/greedy.py.
//
// TestLlamaCppMatchesPyTorch makes the tiny Llama (forge/trainers/tiny_llama.py),
// converts it with gguf.ConvertBase, trains a LoRA adapter for it with
// forge/trainers/lora_sft.py, converts that with gguf.ConvertLoRA, and
// requires llama.cpp's greedy tokens and next-token log-probabilities to
// equal PyTorch's, without the adapter and with it at two scales. It skips,
// saying why, without node 20 or later, the installed node_modules, or
// torch in /usr/bin/python3; with BATOS_LLAMACPP_REQUIRED=1 in the
// environment (for CI, after the install) it fails instead of skipping.
package llamacpp
