#!/usr/bin/python3
"""Check that a folder holds a PEFT LoRA adapter the Forge can use.

    peft_check.py ADAPTER_DIR [--base BASE_DIR]

Prints one line: "ok: ..." with a summary and exits 0, or
"peft_check: error: ..." on stderr and exits 1. The Forge's convert step
may run it on an adapter from any trainer (lora_sft.py's or another's).

The contract (the one lora_sft.py writes):

  adapter_config.json     peft_type "LORA"; r a positive integer; lora_alpha
                          a number; target_modules a list of Llama linear
                          names (q_proj k_proj v_proj o_proj gate_proj
                          up_proj down_proj); bias "none"; fan_in_fan_out
                          false; no DoRA
  adapter_model.safetensors
                          for each adapted module,
                          base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight
                          (r, in) and ...lora_B.weight (out, r), the mlp ones
                          under .mlp.; dtype F32, F16 or BF16; both halves of
                          every pair; every module in target_modules; the same
                          (in, out) for a module in every layer

With --base, the shapes and layer numbers are checked against the base
model's config.json too. Only the standard library is needed, so the check
runs where torch is not installed.
"""

import argparse
import json
import os
import re
import struct
import sys

sys.dont_write_bytecode = True

ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")
NAME = re.compile(r"^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\."
                  r"(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)\.lora_([AB])\.weight$")
DTYPE_SIZES = {"F32": 4, "F16": 2, "BF16": 2}


class AdapterError(Exception):
    """An adapter that breaks the contract; the message says how."""


def read_config(folder):
    path = os.path.join(folder, "adapter_config.json")
    try:
        with open(path) as f:
            cfg = json.load(f)
    except FileNotFoundError:
        raise AdapterError(f"{path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AdapterError(f"{path}: not JSON ({e})") from None
    if not isinstance(cfg, dict):
        raise AdapterError(f"{path}: not a JSON object")
    return cfg


def check_config(cfg):
    """Raise AdapterError unless cfg is a LoRA config of the contract."""
    if cfg.get("peft_type") != "LORA":
        raise AdapterError(f"adapter_config.json: peft_type is {cfg.get('peft_type')!r}, want \"LORA\"")
    r = cfg.get("r")
    if not isinstance(r, int) or isinstance(r, bool) or r <= 0:
        raise AdapterError(f"adapter_config.json: r is {r!r}, want a positive integer")
    alpha = cfg.get("lora_alpha")
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or alpha <= 0:
        raise AdapterError(f"adapter_config.json: lora_alpha is {alpha!r}, want a positive number")
    targets = cfg.get("target_modules")
    if not isinstance(targets, list) or not targets:
        raise AdapterError(f"adapter_config.json: target_modules is {targets!r}, want a list of module names")
    unknown = [t for t in targets if t not in ATTN + MLP]
    if unknown:
        raise AdapterError(f"adapter_config.json: unsupported target_modules {unknown}")
    if cfg.get("bias", "none") != "none":
        raise AdapterError(f"adapter_config.json: bias is {cfg.get('bias')!r}, want \"none\"")
    if cfg.get("fan_in_fan_out", False):
        raise AdapterError("adapter_config.json: fan_in_fan_out is true, want false")
    if cfg.get("use_dora", False):
        raise AdapterError("adapter_config.json: DoRA adapters are not supported")
    if cfg.get("rank_pattern") or cfg.get("alpha_pattern"):
        raise AdapterError("adapter_config.json: rank_pattern/alpha_pattern are not supported")


def read_header(path):
    """The tensor entries of the safetensors file at path (no tensor data read)."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            raw = f.read(8)
            if len(raw) != 8:
                raise AdapterError(f"{path}: too short for safetensors")
            (n,) = struct.unpack("<Q", raw)
            if 8 + n > size:
                raise AdapterError(f"{path}: header length {n} past the end of the file")
            header = json.loads(f.read(n).decode("utf-8"))
    except FileNotFoundError:
        raise AdapterError(f"{path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AdapterError(f"{path}: header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise AdapterError(f"{path}: header is not a JSON object")
    header.pop("__metadata__", None)
    check_layout(path, header, size - 8 - n)
    return header


def check_layout(path, header, data_len):
    """Each entry's dtype, shape and offsets fit, and the data is contiguous."""
    spans = []
    for name, e in header.items():
        if not isinstance(e, dict) or e.get("dtype") not in DTYPE_SIZES:
            dtype = e.get("dtype") if isinstance(e, dict) else e
            raise AdapterError(f"{path}: {name}: dtype {dtype!r}, want F32, F16 or BF16")
        shape, off = e.get("shape"), e.get("data_offsets")
        if not isinstance(shape, list) or len(shape) != 2 or not all(isinstance(d, int) and d > 0 for d in shape):
            raise AdapterError(f"{path}: {name}: shape {shape!r}, want two positive sizes")
        if not isinstance(off, list) or len(off) != 2 or not all(isinstance(o, int) for o in off):
            raise AdapterError(f"{path}: {name}: bad data_offsets {off!r}")
        if off[1] - off[0] != shape[0] * shape[1] * DTYPE_SIZES[e["dtype"]] or not 0 <= off[0] <= off[1] <= data_len:
            raise AdapterError(f"{path}: {name}: data_offsets {off} do not fit {shape} {e['dtype']}")
        spans.append(tuple(off))
    pos = 0
    for begin, end in sorted(spans):
        if begin != pos:
            raise AdapterError(f"{path}: tensor data is not contiguous at byte {begin}")
        pos = end
    if pos != data_len:
        raise AdapterError(f"{path}: {data_len - pos} bytes after the last tensor")


def collect_modules(header, cfg):
    """Map (layer, module) -> {"A": shape, "B": shape}, checking names and ranks."""
    r, modules = cfg["r"], {}
    for name, e in header.items():
        m = NAME.match(name)
        if not m:
            raise AdapterError(f"unexpected tensor {name} (want base_model.model.model.layers.N.self_attn|mlp.MODULE.lora_A|lora_B.weight)")
        layer, group, module, half = int(m.group(1)), m.group(2), m.group(3), m.group(4)
        if group != ("self_attn" if module in ATTN else "mlp"):
            raise AdapterError(f"{name}: {module} is not under .{group}.")
        if module not in cfg["target_modules"]:
            raise AdapterError(f"{name}: {module} is not in target_modules {cfg['target_modules']}")
        shape = e["shape"]
        if (half == "A" and shape[0] != r) or (half == "B" and shape[1] != r):
            raise AdapterError(f"{name}: shape {shape} does not have rank r={r}")
        modules.setdefault((layer, module), {})[half] = shape
    if not modules:
        raise AdapterError("adapter_model.safetensors holds no LoRA tensors")
    return modules


def check_modules(modules, cfg, base=None):
    """Pairs are complete, dimensions agree across layers (and with base)."""
    dims = {}
    for (layer, module), halves in sorted(modules.items()):
        where = f"layer {layer} {module}"
        if set(halves) != {"A", "B"}:
            missing = "lora_B" if "A" in halves else "lora_A"
            raise AdapterError(f"{where}: {missing} is missing")
        io = (halves["A"][1], halves["B"][0])  # (in, out)
        if dims.setdefault(module, io) != io:
            raise AdapterError(f"{where}: (in, out) {io} differs from other layers' {dims[module]}")
        if base is not None:
            if layer >= base["layers"]:
                raise AdapterError(f"{where}: the base model has only {base['layers']} layers")
            want = base["shapes"][module]
            if io != want:
                raise AdapterError(f"{where}: (in, out) {io}, the base model's is {want}")
    missing = [t for t in cfg["target_modules"] if t not in dims]
    if missing:
        raise AdapterError(f"target_modules {missing} have no tensors")
    return dims


def base_shapes(base):
    """Layer count and (in, out) per module of the base model folder base."""
    try:
        with open(os.path.join(base, "config.json")) as f:
            c = json.load(f)
        h, inter = c["hidden_size"], c["intermediate_size"]
        heads = c["num_attention_heads"]
        kv = c.get("num_key_value_heads") or heads
        hd = c.get("head_dim") or h // heads
        layers = c["num_hidden_layers"]
    except (OSError, ValueError, KeyError) as e:
        raise AdapterError(f"base {base}: cannot read config.json ({e})") from None
    shapes = {"q_proj": (h, heads * hd), "k_proj": (h, kv * hd), "v_proj": (h, kv * hd),
              "o_proj": (heads * hd, h), "gate_proj": (h, inter), "up_proj": (h, inter),
              "down_proj": (inter, h)}
    return {"layers": layers, "shapes": shapes}


def validate(folder, base=None):
    """Check the adapter in folder (against base, a model folder, if given).

    Returns a summary dict; raises AdapterError with a one-line message.
    """
    if not os.path.isdir(folder):
        raise AdapterError(f"adapter folder {folder} does not exist")
    cfg = read_config(folder)
    check_config(cfg)
    path = os.path.join(folder, "adapter_model.safetensors")
    if not os.path.exists(path) and os.path.exists(os.path.join(folder, "adapter_model.bin")):
        raise AdapterError(f"{folder} has adapter_model.bin only; the contract needs adapter_model.safetensors")
    header = read_header(path)
    modules = collect_modules(header, cfg)
    check_modules(modules, cfg, base_shapes(base) if base else None)
    layers = sorted({layer for layer, _ in modules})
    return {
        "r": cfg["r"],
        "lora_alpha": cfg["lora_alpha"],
        "target_modules": cfg["target_modules"],
        "layers": len(layers),
        "tensors": len(header),
        "dtypes": sorted({e["dtype"] for e in header.values()}),
        "params": sum(e["shape"][0] * e["shape"][1] for e in header.values()),
    }


def main(argv):
    p = argparse.ArgumentParser(description="Check a PEFT LoRA adapter folder.")
    p.add_argument("adapter", help="the adapter folder")
    p.add_argument("--base", help="a Hugging Face Llama folder to check the shapes against")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    a = p.parse_args(argv)
    try:
        s = validate(a.adapter, a.base)
    except AdapterError as e:
        print(f"peft_check: error: {e}", file=sys.stderr)
        return 1
    if a.json:
        print(json.dumps(s))
    else:
        print(f"ok: LORA r={s['r']} alpha={s['lora_alpha']} targets={','.join(s['target_modules'])} "
              f"layers={s['layers']} tensors={s['tensors']} dtype={','.join(s['dtypes'])} params={s['params']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
