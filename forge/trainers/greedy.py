#!/usr/bin/python3
"""Greedy decoding with a Llama folder and an optional LoRA adapter.

    greedy.py --base DIR [--adapter DIR] [--scale 1.0] --ids 1,5,9 --n 8 [--all-logits]

Prints one JSON line:

    {"tokens": [...the n greedy continuation ids...],
     "logits": [[...the logits at the prompt's last position...]]}

With --all-logits, "logits" has one row per generated token (row i is the
distribution token i was chosen from; row 0 is the prompt's last position).
The adapter (PEFT format, checked by peft_check) is merged into the base
weights at scale * lora_alpha / r, as llama.cpp applies a LoRA at a user
scale, so the output can be compared with llama.cpp's for the same GGUFs.
Everything runs in float32 on the CPU, without a KV cache (tiny models).
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True

import torch  # noqa: E402

import llama_lite  # noqa: E402
import peft_check  # noqa: E402
import safetensors_io  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description="Greedy decoding for comparison with llama.cpp.")
    p.add_argument("--base", required=True, help="Hugging Face Llama folder")
    p.add_argument("--adapter", help="PEFT LoRA adapter folder to merge")
    p.add_argument("--scale", type=float, default=1.0, help="user scale of the adapter (llama.cpp's)")
    p.add_argument("--ids", required=True, help="prompt token ids, comma-separated")
    p.add_argument("--n", type=int, default=8, help="tokens to generate")
    p.add_argument("--all-logits", action="store_true", help="logits of every step, not only the first")
    return p.parse_args(argv)


def merge_adapter(model, folder, scale):
    """Merge the PEFT adapter in folder into model at scale * alpha / r."""
    peft_check.validate(folder)
    with open(os.path.join(folder, "adapter_config.json")) as f:
        cfg = json.load(f)
    tensors = safetensors_io.load(os.path.join(folder, "adapter_model.safetensors"))
    llama_lite.merge_lora(model, tensors, scale * cfg["lora_alpha"] / cfg["r"])


@torch.no_grad()
def greedy(model, ids, n):
    """The n greedy continuation ids of ids, and the logits each came from."""
    seq, rows = list(ids), []
    for _ in range(n):
        logits = model(torch.tensor([seq]))[0, -1].float()
        rows.append(logits)
        seq.append(int(logits.argmax()))
    return seq[len(ids):], rows


def main(argv):
    a = parse_args(argv)
    try:
        ids = [int(x) for x in a.ids.split(",") if x.strip()]
        model = llama_lite.load_model(a.base)
        if a.adapter:
            merge_adapter(model, a.adapter, a.scale)
    except (ValueError, OSError, llama_lite.ModelError, peft_check.AdapterError,
            safetensors_io.SafetensorsError) as e:
        print(f"greedy: error: {e}", file=sys.stderr)
        return 1
    if not ids or any(not 0 <= i < model.cfg.vocab_size for i in ids):
        print(f"greedy: error: --ids must be ids below {model.cfg.vocab_size}", file=sys.stderr)
        return 1
    tokens, rows = greedy(model, ids, max(a.n, 1))
    rows = rows if a.all_logits else rows[:1]
    print(json.dumps({"tokens": tokens[: a.n], "logits": [r.tolist() for r in rows]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
