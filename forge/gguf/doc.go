// Package gguf turns what the Forge's trainer leaves behind into files
// llama.cpp loads: a PEFT LoRA adapter becomes a GGUF adapter for
// llama-server's --lora, and a small Hugging Face Llama becomes a GGUF base
// model. It reads safetensors, writes and reads GGUF v3, and does nothing
// else: no quantisation, no architectures besides llama.
//
// # The GGUF v3 model
//
// A GGUF file is, in order, all little-endian:
//
//	magic "GGUF" | u32 version 3 | u64 tensor count | u64 key/value count
//	key/value pairs: u64 key length, key bytes, u32 value type, value
//	tensor infos:    u64 name length, name (at most 63 bytes), u32 n_dims,
//	                 u64 ne[n_dims], u32 ggml type, u64 offset
//	zero padding to general.alignment (32)
//	tensor data, each tensor zero-padded to the alignment
//
// A string is a u64 length and its bytes; an array is a u32 element type, a
// u64 count and the elements. ne[0] is the contiguous axis, so a PyTorch
// matrix of shape (rows, cols) is a GGUF tensor with ne = [cols, rows] and
// the same bytes. A tensor's offset is relative to the start of the data
// section and must equal the sum of the padded sizes of the tensors before
// it: llama.cpp refuses a file with holes or overlaps.
//
// # What the converters write
//
// ConvertLoRA writes general.architecture (the base's), general.type
// "adapter", adapter.type "lora" and adapter.lora.alpha as a FLOAT32 (any
// other type aborts llama-server), and for every adapted projection two F32
// tensors named after the base tensor: blk.N.attn_q.weight.lora_a with
// ne = [in, r] (PEFT's lora_A, elements in the same order) and
// blk.N.attn_q.weight.lora_b with ne = [r, out] (PEFT's lora_B, rows of q
// and k permuted as below). llama.cpp scales the product by alpha/r.
//
// ConvertBase writes an all-F32 llama model: the llama.* hyperparameters,
// a tokenizer (only a caller-supplied Vocab, such as ByteVocab; reading
// tokenizer.json or tokenizer.model is out of scope) and the tensors
// token_embd, blk.N.{attn_norm,attn_q,attn_k,attn_v,attn_output,ffn_norm,
// ffn_gate,ffn_up,ffn_down}, output_norm and, unless the embeddings are
// tied, output.
//
// # What can go wrong, and what stops it
//
//   - Rotary embeddings in the wrong layout. Hugging Face's Llama rotates
//     the two halves of each head; llama.cpp rotates adjacent pairs. Its
//     converter permutes the rows of q_proj (per query head) and k_proj (per
//     key/value head), so a base converted by it or by ConvertBase holds
//     permuted rows, and an adapter's lora_b for q and k must be permuted
//     the same way or it adds its update to the wrong rows. ConvertLoRA and
//     ConvertBase share one permutation, tested against an independent
//     reshape/swapaxes implementation of the Python original, and, when
//     node-llama-cpp is at hand, against llama.cpp itself: base plus
//     adapter must predict what the merged model predicts
//     (TestLlamaCppLoadsConvertedFiles).
//   - An adapter for another base. Every PEFT tensor's shape is checked
//     against the base's config.json (BaseInfo) and every name against the
//     Llama layout; a mismatch fails with an error naming the tensor, before
//     anything is written, instead of at llama-server's start.
//   - A truncated or hostile input. The safetensors and GGUF readers check
//     every length and offset against the bytes they have before using it,
//     bound the header size, and are fuzzed (FuzzSafetensors, FuzzGGUF).
//     Malformed input is reported as a *FormatError saying what and where.
//   - A half-written output. Files are written to a temporary name in the
//     destination folder, synced and renamed, so out is either absent, the
//     old file, or the complete new one.
//
// The converters hold the whole model in memory as float32; they are meant
// for adapters and the Forge's small test model, not for multi-gigabyte
// bases, which llama.cpp's own convert_hf_to_gguf.py handles.
package gguf
