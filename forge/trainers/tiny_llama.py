#!/usr/bin/python3
"""Write a randomly initialised tiny Llama in Hugging Face format.

    tiny_llama.py --out DIR [--vocab 259 --hidden 64 --intermediate 128
                             --layers 2 --heads 4 --kv-heads 2 --seed 0]

DIR gets config.json (architectures ["LlamaForCausalLM"], model_type
"llama", bos_token_id 1, eos_token_id 2, tie_word_embeddings false) and
model.safetensors (F32, written by safetensors_io). It is a base model for
the trainers' tests and for comparing this project's Llama and LoRA with
llama.cpp's, not a language model.

Initialisation: linear weights normal(0, 0.02), norms 1.0, and the
embeddings and LM head normal(0, 0.2), large enough that the logits of
different tokens are well separated and greedy decoding is not decided by
rounding differences between implementations.

Vocabulary convention (for whoever writes a GGUF or tokenizer of it):
id 0 "<unk>", 1 "<s>" (BOS), 2 "</s>" (EOS), ids 3..258 the bytes
0x00..0xFF (id = byte + 3). A --vocab other than 259 breaks that mapping.
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True

import torch  # noqa: E402

import llama_lite  # noqa: E402
import safetensors_io  # noqa: E402

BYTE_OFFSET = 3  # token id of byte 0x00


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="folder to write (created)")
    p.add_argument("--vocab", type=int, default=259)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--intermediate", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--max-positions", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def hf_config(a):
    """The config.json of the model described by the arguments a."""
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": a.hidden,
        "intermediate_size": a.intermediate,
        "num_hidden_layers": a.layers,
        "num_attention_heads": a.heads,
        "num_key_value_heads": a.kv_heads,
        "head_dim": a.hidden // a.heads,
        "vocab_size": a.vocab,
        "max_position_embeddings": a.max_positions,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "hidden_act": "silu",
        "initializer_range": 0.02,
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "float32",
    }


def init_weights(model, seed):
    """Fill model's weights deterministically from seed (see the module doc)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("layernorm.weight") or name == "model.norm.weight":
                p.fill_(1.0)
            elif name in ("model.embed_tokens.weight", "lm_head.weight"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)


def main(argv):
    a = parse_args(argv)
    if a.hidden % a.heads or a.heads % a.kv_heads or (a.hidden // a.heads) % 2:
        sys.exit("tiny_llama: error: hidden must split into heads of even size, heads into kv-heads")
    cfg_dict = hf_config(a)
    model = llama_lite.LlamaForCausalLM(llama_lite.LlamaConfig(cfg_dict))
    init_weights(model, a.seed)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg_dict, f, indent=2)
        f.write("\n")
    safetensors_io.save(model.state_dict(), os.path.join(a.out, "model.safetensors"),
                        metadata={"format": "pt"}, dtype=torch.float32)
    n = sum(p.numel() for p in model.parameters())
    print(f"tiny_llama: wrote {a.out} ({n} parameters)", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
