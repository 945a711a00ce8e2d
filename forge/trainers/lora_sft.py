#!/usr/bin/python3
"""LoRA supervised fine-tuning of a Hugging Face Llama, in plain PyTorch.

    lora_sft.py --dataset DIR_OR_FILE --out OUT --base BASE --config CONFIG.json

This is a trainer of the Forge's contract (docs/FORGE.md, "The trainer
contract"): it trains a LoRA adapter for the Llama in BASE on the
pre-tokenized dataset, prints its progress as JSON lines on stdout, leaves
a PEFT-format adapter in OUT and exits 0 only on success. Needs torch and
the modules beside it (llama_lite, safetensors_io); no transformers, peft
or safetensors packages.

Inputs
  --base     a Hugging Face Llama folder (config.json, model.safetensors or
             an index and its shards); see llama_lite. The base stays frozen.
  --dataset  a folder with train.jsonl and optionally valid.jsonl, or one
             .jsonl file (train only). Each line is
             {"tokens": [int, ...], "mask": [0|1, ...]}: mask 1 marks the
             assistant tokens the loss counts (token t+1 is predicted from
             positions 0..t; a position whose next token has mask 0 is not
             counted). Other keys ("messages") are ignored. A malformed line
             fails the run naming FILE:LINE. Examples left with no counted
             token (after max_seq_len) are skipped with a warning.
  --config   JSON; every key optional:
             lora_rank 16, lora_alpha 2*rank, lora_dropout 0.05,
             target_modules ["q_proj","k_proj","v_proj","o_proj"] (any of
             those and gate_proj, up_proj, down_proj, or "all-linear"),
             learning_rate 2e-4, epochs 1, max_steps (overrides epochs),
             batch_size 4 (per process), grad_accum 1, warmup_steps 0,
             seed 0, checkpoint_every 0 (steps; 0: only at the end),
             max_seq_len (truncate; default the model's context),
             weight_decay 0, max_grad_norm 1.0 (0: no clipping),
             device "auto" | "cpu" | "cuda", base_model (used only
             without --base), persona (ignored).

Training
  Loss: cross-entropy over the counted tokens, averaged over all counted
  tokens of the optimizer step's global batch (batch_size x grad_accum x
  processes examples), so the gradient does not depend on how the batch
  is split into micro-batches or processes. AdamW (betas 0.9/0.999) on the
  LoRA weights only; linear warmup over warmup_steps (step i of the warmup
  at peak*(i+1)/(warmup+1), so no step is wasted at lr 0) then cosine
  decay towards 0 at the end, as transformers'
  get_cosine_schedule_with_warmup; gradient-norm clipping. On CUDA the
  frozen base is bfloat16 and the forward runs under bfloat16 autocast when
  the GPU supports it (the LoRA weights stay float32); on the CPU all is
  float32.

  Data order: each epoch is a permutation of the training set seeded by
  (seed, epoch), padded by wrapping around to a whole number of global
  batches (as DistributedSampler pads); step k takes global batch k, and
  process p takes its every world_size-th example. The order depends only
  on the seed, the global batch size and the step, which makes resuming
  exact and one process equal to several with the same global batch.
  Dropout is reseeded from (seed, step, rank) at every step.

  Several processes: under torchrun (or srun torchrun, across nodes: the
  environment sets WORLD_SIZE, RANK, LOCAL_RANK and the rendezvous; a bare
  srun of several tasks works too given MASTER_ADDR), torch.distributed
  starts with nccl on CUDA, gloo on the CPU; the LoRA gradients are
  all-reduced before each optimizer step. Only rank 0 prints progress and
  writes files; OUT must be on storage every process sees.

  Validation: the mean loss over valid.jsonl at the end of every epoch, at
  each checkpoint and after the last step, reported as "val_loss" on that
  step's progress line.

  Checkpoints: OUT/checkpoint-STEP/ holds trainer_state.pt (LoRA weights,
  optimizer, scheduler, step, losses) and the adapter in PEFT format,
  written to a temporary folder and renamed. Every checkpoint_every steps
  and after the last step. A run whose OUT has checkpoints resumes from
  the newest, at the step after it.

Outputs (rank 0)
  stdout     one JSON line per optimizer step, flushed:
             {"step":10,"steps":100,"loss":1.23,"lr":0.0002,"eta_s":42}
             plus "val_loss" when computed. Everything else goes to stderr.
  OUT/adapter_config.json, OUT/adapter_model.safetensors
             PEFT's LoRA format (F32 tensors named
             base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight
             (r, in) and ...lora_B.weight (out, r); mlp under .mlp.).
  OUT/metrics.json
             train_loss (last step), train_loss_avg (last up to 10 steps),
             val_loss, val_loss_base (the same split with the adapter off),
             steps, examples, valid_examples, tokens, world_size,
             runtime_s.
  Exit status 0 on success; otherwise one line "lora_sft: error: ..." on
  stderr and status 2 (bad input) or 1 (anything else).

Test hook: BATOS_TRAINER_CRASH_AT=N makes the process exit with status 137
right after step N (its checkpoint, if any, written), as a crash would.
"""

import argparse
import json
import math
import os
import re
import shutil
import sys
import time

sys.dont_write_bytecode = True

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import llama_lite  # noqa: E402
import safetensors_io  # noqa: E402

PROG = "lora_sft"
DEFAULT_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]
CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
STATE_FILE = "trainer_state.pt"
IGNORED_KEYS = {"persona", "base_model"}


class TrainerError(Exception):
    """Bad input: the run fails with this one-line message and status 2."""


def log(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- arguments and config


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise TrainerError(message)


def parse_args(argv):
    p = _Parser(prog=PROG, description="LoRA SFT of a Llama (see the module doc).")
    p.add_argument("--dataset", required=True, help="folder with train.jsonl [valid.jsonl], or a .jsonl file")
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--base", default="", help="Hugging Face Llama folder")
    p.add_argument("--config", required=True, help="training config JSON")
    return p.parse_args(argv)


def _int(cfg, key, default, minimum):
    v = cfg.get(key, default)
    if v is None:
        v = default
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise TrainerError(f"config: {key} must be an integer >= {minimum}, got {v!r}")
    return v


def _num(cfg, key, default, lo, hi=math.inf, lo_open=False):
    v = cfg.get(key, default)
    if v is None:
        v = default
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and (v > lo if lo_open else v >= lo) and v <= hi
    if not ok:
        bound = f"> {lo}" if lo_open else f">= {lo}"
        raise TrainerError(f"config: {key} must be a number {bound}" + (f" and <= {hi}" if hi < math.inf else "")
                           + f", got {v!r}")
    return float(v)


def read_config(path):
    """The training settings from the JSON file at path, checked, with defaults."""
    try:
        with open(path) as f:
            cfg = json.load(f)
    except FileNotFoundError:
        raise TrainerError(f"config {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TrainerError(f"config {path}: not JSON ({e})") from None
    if not isinstance(cfg, dict):
        raise TrainerError(f"config {path}: not a JSON object")
    return settings(cfg)


def settings(cfg):
    """Check the config dict cfg and fill in the defaults (see the module doc)."""
    s = {}
    r = cfg.get("lora_rank", 16)
    if isinstance(r, bool) or not isinstance(r, int) or r < 1:
        raise TrainerError(f"config: lora_rank must be a positive integer, got {r!r}")
    s["lora_rank"] = r
    alpha = _num(cfg, "lora_alpha", 2 * r, 0, lo_open=True)
    s["lora_alpha"] = int(alpha) if alpha.is_integer() else alpha
    s["lora_dropout"] = _num(cfg, "lora_dropout", 0.05, 0, 0.99)
    s["target_modules"] = targets(cfg.get("target_modules"))
    s["learning_rate"] = _num(cfg, "learning_rate", 2e-4, 0, lo_open=True)
    s["epochs"] = _num(cfg, "epochs", 1, 0, lo_open=True)
    max_steps = cfg.get("max_steps")
    s["max_steps"] = None if max_steps is None or (isinstance(max_steps, int) and max_steps < 0) \
        else _int(cfg, "max_steps", None, 1)
    s["batch_size"] = _int(cfg, "batch_size", 4, 1)
    s["grad_accum"] = _int(cfg, "grad_accum", 1, 1)
    s["warmup_steps"] = _int(cfg, "warmup_steps", 0, 0)
    s["seed"] = _int(cfg, "seed", 0, 0)
    s["checkpoint_every"] = _int(cfg, "checkpoint_every", 0, 0)
    s["max_seq_len"] = None if cfg.get("max_seq_len") is None else _int(cfg, "max_seq_len", None, 2)
    s["weight_decay"] = _num(cfg, "weight_decay", 0.0, 0)
    s["max_grad_norm"] = _num(cfg, "max_grad_norm", 1.0, 0)
    s["device"] = cfg.get("device", "auto")
    if s["device"] not in ("auto", "cpu", "cuda"):
        raise TrainerError(f"config: device must be auto, cpu or cuda, got {s['device']!r}")
    s["base_model"] = cfg.get("base_model") or ""
    unknown = sorted(set(cfg) - set(s) - IGNORED_KEYS)
    if unknown:
        log(f"warning: config keys ignored: {', '.join(unknown)}")
    return s


def targets(v):
    """The target module list of config value v."""
    if v is None:
        return list(DEFAULT_TARGETS)
    if v == "all-linear":
        return list(llama_lite.ALL_MODULES)
    if not isinstance(v, list) or not v or not all(isinstance(t, str) for t in v):
        raise TrainerError(f"config: target_modules must be a non-empty list of names, got {v!r}")
    bad = [t for t in v if t not in llama_lite.ALL_MODULES]
    if bad:
        raise TrainerError(f"config: target_modules {bad} are not Llama linear layers "
                           f"({', '.join(llama_lite.ALL_MODULES)})")
    return list(dict.fromkeys(v))


# ---------------------------------------------------------------- data


def dataset_files(path):
    """(train, valid or None) paths for the --dataset argument."""
    if os.path.isdir(path):
        train = os.path.join(path, "train.jsonl")
        if not os.path.isfile(train):
            raise TrainerError(f"dataset folder {path} has no train.jsonl")
        valid = os.path.join(path, "valid.jsonl")
        return train, valid if os.path.isfile(valid) else None
    if os.path.isfile(path):
        return path, None
    raise TrainerError(f"dataset {path} does not exist")


def parse_line(where, line, vocab):
    """(tokens, mask) of one JSONL line; where is FILE:LINE for errors."""
    try:
        d = json.loads(line)
    except json.JSONDecodeError as e:
        raise TrainerError(f"{where}: not JSON ({e.msg})") from None
    if not isinstance(d, dict):
        raise TrainerError(f"{where}: not a JSON object")
    tokens, mask = d.get("tokens"), d.get("mask")
    if not isinstance(tokens, list) or not tokens:
        raise TrainerError(f"{where}: \"tokens\" must be a non-empty list of token ids (the trainer needs pre-tokenized lines)")
    if not isinstance(mask, list) or len(mask) != len(tokens):
        raise TrainerError(f"{where}: \"mask\" must be a list as long as \"tokens\" ({len(tokens)})")
    for t in tokens:
        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < vocab:
            raise TrainerError(f"{where}: token {t!r} is not an id below the vocabulary size {vocab}")
    for m in mask:
        if m not in (0, 1):
            raise TrainerError(f"{where}: mask value {m!r} is not 0 or 1")
    return tokens, [int(m) for m in mask]


def read_jsonl(path, vocab, max_len):
    """The examples of the JSONL file at path, truncated to max_len tokens.

    Examples without a counted token (a mask 1 after position 0) are
    dropped with a warning.
    """
    examples, dropped = [], 0
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        raise TrainerError(f"{path}: {e.strerror}") from None
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            tokens, mask = parse_line(f"{path}:{n}", line, vocab)
            tokens, mask = tokens[:max_len], mask[:max_len]
            if not any(mask[1:]):
                dropped += 1
                continue
            examples.append((tokens, mask))
    if dropped:
        log(f"warning: {path}: {dropped} examples have no assistant token to learn and are skipped")
    return examples


def epoch_order(n, global_batch, seed, epoch):
    """The example indices of an epoch, padded by wrapping to whole global batches."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(n, generator=g).tolist()
    steps = math.ceil(n / global_batch)
    while len(order) < steps * global_batch:
        order += order[: steps * global_batch - len(order)]
    return order


def collate(examples, device):
    """ids (b, t) right-padded with 0, and targets (b, t-1) bool: which next tokens count."""
    t = max(len(tok) for tok, _ in examples)
    ids = torch.zeros(len(examples), t, dtype=torch.long)
    counted = torch.zeros(len(examples), t, dtype=torch.bool)
    for i, (tok, mask) in enumerate(examples):
        ids[i, : len(tok)] = torch.tensor(tok)
        counted[i, : len(mask)] = torch.tensor(mask, dtype=torch.bool)
    return ids.to(device), counted[:, 1:].to(device)


def counted_tokens(examples):
    return sum(sum(mask[1:]) for _, mask in examples)


# ---------------------------------------------------------------- distributed


class World:
    """This process's place among the training processes (one without torchrun).

    torchrun sets WORLD_SIZE, RANK and LOCAL_RANK. Under a bare srun with
    several tasks, srun's SLURM_STEP_NUM_TASKS, SLURM_PROCID and
    SLURM_LOCALID stand in for them, given MASTER_ADDR (and MASTER_PORT,
    default 29500) for the rendezvous. (A batch script's own SLURM_NTASKS
    is not used: the script itself is one process.)
    """

    def __init__(self, device_pref):
        env = os.environ
        if "WORLD_SIZE" not in env and int(env.get("SLURM_STEP_NUM_TASKS", "1")) > 1:
            if "MASTER_ADDR" not in env:
                raise TrainerError("several Slurm tasks without torchrun: set MASTER_ADDR (and MASTER_PORT) "
                                   "or run the trainer under torchrun")
            env.setdefault("MASTER_PORT", "29500")
            env["WORLD_SIZE"], env["RANK"] = env["SLURM_STEP_NUM_TASKS"], env["SLURM_PROCID"]
            env["LOCAL_RANK"] = env.get("SLURM_LOCALID", "0")
        self.size = int(env.get("WORLD_SIZE", "1"))
        self.rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", "0"))
        use_cuda = torch.cuda.is_available() and device_pref != "cpu"
        if device_pref == "cuda" and not torch.cuda.is_available():
            raise TrainerError("config: device is cuda but CUDA is not available")
        self.device = torch.device("cuda", local) if use_cuda else torch.device("cpu")
        if use_cuda:
            torch.cuda.set_device(self.device)
        self.dist = None
        if self.size > 1:
            import torch.distributed as dist
            dist.init_process_group("nccl" if use_cuda else "gloo")
            self.dist = dist

    @property
    def main(self):
        return self.rank == 0

    def sum(self, values):
        """The element-wise sum over processes of a list of floats."""
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        if self.dist:
            self.dist.all_reduce(t)
        return t.tolist()

    def sum_grads(self, params):
        """Replace each parameter's gradient by its sum over processes."""
        if not self.dist:
            return
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        self.dist.all_reduce(flat)
        i = 0
        for p in params:
            n = p.numel()
            p.grad.copy_(flat[i: i + n].view_as(p.grad))
            i += n

    def broadcast(self, params):
        """Give every process rank 0's parameter values."""
        if self.dist:
            for p in params:
                self.dist.broadcast(p.data, 0)

    def close(self):
        if self.dist:
            self.dist.destroy_process_group()


# ---------------------------------------------------------------- schedule


class CosineSchedule:
    """Linear warmup to the peak, then cosine decay to 0 at the last step."""

    def __init__(self, peak, warmup, total):
        self.peak, self.warmup, self.total = peak, warmup, total

    def lr(self, step):
        """The learning rate of optimizer step `step` (1-based)."""
        i = step - 1
        if i < self.warmup:
            return self.peak * (i + 1) / (self.warmup + 1) if self.warmup else self.peak
        progress = (i - self.warmup) / max(1, self.total - self.warmup)
        return self.peak * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    def state_dict(self):
        return {"peak": self.peak, "warmup": self.warmup, "total": self.total}


# ---------------------------------------------------------------- model and loss


def build_model(base, s, world):
    """The frozen base with LoRA wrappers; returns (model, wrappers, params, autocast dtype)."""
    amp = torch.bfloat16 if world.device.type == "cuda" and torch.cuda.is_bf16_supported() else None
    model = llama_lite.load_model(base, dtype=amp or torch.float32, device=world.device)
    torch.manual_seed(s["seed"])  # the LoRA A init: the same on every process and run
    wrappers = llama_lite.add_lora(model, s["target_modules"], s["lora_rank"], s["lora_alpha"], s["lora_dropout"])
    params = [p for w in wrappers.values() for p in (w.lora_A, w.lora_B)]
    model.to(world.device)  # the LoRA weights (float32)
    world.broadcast(params)
    return model, wrappers, params, amp


def loss_sum(model, ids, counted, amp):
    """The summed cross-entropy of the counted next tokens, and their number."""
    with torch.autocast(device_type=ids.device.type, dtype=amp, enabled=amp is not None):
        h = model.hidden_states(ids[:, :-1])
        logits = model.lm_head(h[counted])
    loss = F.cross_entropy(logits.float(), ids[:, 1:][counted], reduction="sum")
    return loss, int(counted.sum())


@torch.no_grad()
def evaluate(model, examples, world, batch_size, amp):
    """Mean loss over the counted tokens of examples, across all processes."""
    model.eval()
    total, count = 0.0, 0
    mine = examples[world.rank:: world.size]
    for i in range(0, len(mine), batch_size):
        ids, counted = collate(mine[i: i + batch_size], world.device)
        loss, n = loss_sum(model, ids, counted, amp)
        total, count = total + float(loss), count + n
    total, count = world.sum([total, count])
    model.train()
    return total / count if count else None


# ---------------------------------------------------------------- files


def adapter_config(s, base):
    return {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "r": s["lora_rank"],
        "lora_alpha": s["lora_alpha"],
        "lora_dropout": s["lora_dropout"],
        "target_modules": s["target_modules"],
        "base_model_name_or_path": base,
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "modules_to_save": None,
        "use_rslora": False,
        "use_dora": False,
        "init_lora_weights": True,
    }


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def write_adapter(folder, wrappers, s, base):
    """adapter_model.safetensors (F32) and adapter_config.json in folder."""
    safetensors_io.save(llama_lite.lora_state(wrappers), os.path.join(folder, "adapter_model.safetensors"),
                        metadata={"format": "pt"}, dtype=torch.float32)
    write_json(os.path.join(folder, "adapter_config.json"), adapter_config(s, base))


def save_checkpoint(out, step, wrappers, opt, sched, losses, s, base):
    """OUT/checkpoint-STEP, written whole under a temporary name first."""
    final = os.path.join(out, f"checkpoint-{step}")
    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    state = {"step": step, "lora": llama_lite.lora_state(wrappers), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "losses": losses, "settings": s}
    torch.save(state, os.path.join(tmp, STATE_FILE))
    write_adapter(tmp, wrappers, s, base)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)


def newest_checkpoint(out):
    """The path of OUT's newest complete checkpoint, or None."""
    best = None
    for name in os.listdir(out) if os.path.isdir(out) else []:
        m = CHECKPOINT.match(name)
        if m and os.path.isfile(os.path.join(out, name, STATE_FILE)):
            if best is None or int(m.group(1)) > best[0]:
                best = (int(m.group(1)), os.path.join(out, name))
    return best[1] if best else None


def resume(path, wrappers, opt, sched):
    """Load the checkpoint at path; returns (step, losses)."""
    state = torch.load(os.path.join(path, STATE_FILE), map_location="cpu")
    lora = state["lora"]
    want = set(llama_lite.lora_state(wrappers))
    if set(lora) != want:
        raise TrainerError(f"checkpoint {path} holds other LoRA tensors than the config asks for")
    with torch.no_grad():
        for key, w in wrappers.items():
            w.lora_A.copy_(lora[key + ".lora_A.weight"])
            w.lora_B.copy_(lora[key + ".lora_B.weight"])
    try:
        opt.load_state_dict(state["optimizer"])
    except (ValueError, KeyError) as e:
        raise TrainerError(f"checkpoint {path}: optimizer state does not fit ({e})") from None
    if state["scheduler"] != sched.state_dict():
        log(f"warning: resuming with a different schedule ({state['scheduler']} then, {sched.state_dict()} now)")
    return state["step"], list(state["losses"])


# ---------------------------------------------------------------- training


class Run:
    """One training run: the loop and its bookkeeping."""

    def __init__(self, a, s, world):
        self.a, self.s, self.world = a, s, world
        self.base = a.base or s["base_model"]
        if not self.base:
            raise TrainerError("no base model: --base is empty and the config has no base_model")
        cfg = llama_lite.read_config(self.base)
        max_len = min(s["max_seq_len"] or cfg.max_position_embeddings, cfg.max_position_embeddings)
        train_path, valid_path = dataset_files(a.dataset)
        self.train = read_jsonl(train_path, cfg.vocab_size, max_len)
        self.valid = read_jsonl(valid_path, cfg.vocab_size, max_len) if valid_path else []
        if not self.train:
            raise TrainerError(f"{train_path}: no training examples")
        self.global_batch = s["batch_size"] * s["grad_accum"] * world.size
        self.steps_per_epoch = math.ceil(len(self.train) / self.global_batch)
        self.total = s["max_steps"] or max(1, math.ceil(s["epochs"] * self.steps_per_epoch))
        self.model, self.wrappers, self.params, self.amp = build_model(self.base, s, world)
        self.opt = torch.optim.AdamW(self.params, lr=s["learning_rate"], betas=(0.9, 0.999),
                                     eps=1e-8, weight_decay=s["weight_decay"])
        self.sched = CosineSchedule(s["learning_rate"], s["warmup_steps"], self.total)
        self.losses, self.val_loss, self.val_loss_base, self.start_step = [], None, None, 0

    def step_examples(self, step):
        """This process's examples of optimizer step `step` (1-based)."""
        epoch, k = divmod(step - 1, self.steps_per_epoch)
        order = epoch_order(len(self.train), self.global_batch, self.s["seed"], epoch)
        batch = order[k * self.global_batch: (k + 1) * self.global_batch]
        return [self.train[i] for i in batch[self.world.rank:: self.world.size]]

    def train_step(self, step):
        """One optimizer step; returns the global batch's mean loss."""
        s, world = self.s, self.world
        torch.manual_seed((s["seed"] * 1_000_003 + step) * 1024 + world.rank)  # dropout
        lr = self.sched.lr(step)
        for group in self.opt.param_groups:
            group["lr"] = lr
        mine = self.step_examples(step)
        (count,) = world.sum([counted_tokens(mine)])
        total = 0.0
        self.opt.zero_grad(set_to_none=False)
        for i in range(0, len(mine), s["batch_size"]):
            ids, counted = collate(mine[i: i + s["batch_size"]], world.device)
            loss, _ = loss_sum(self.model, ids, counted, self.amp)
            (loss / count).backward()
            total += float(loss)
        world.sum_grads(self.params)
        if s["max_grad_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(self.params, s["max_grad_norm"])
        self.opt.step()
        (total,) = world.sum([total])
        return total / count, lr

    def wants_eval(self, step):
        every = self.s["checkpoint_every"]
        return bool(self.valid) and (step % self.steps_per_epoch == 0 or step == self.total
                                     or (every and step % every == 0))

    def wants_checkpoint(self, step):
        every = self.s["checkpoint_every"]
        return step == self.total or bool(every and step % every == 0)

    def report(self, step, loss, lr, began, val):
        done = step - self.start_step
        eta = (time.monotonic() - began) / done * (self.total - step)
        line = {"step": step, "steps": self.total, "loss": round(loss, 6), "lr": lr, "eta_s": int(round(eta))}
        if val is not None:
            line["val_loss"] = round(val, 6)
        print(json.dumps(line), flush=True)

    def run(self):
        a, s, world = self.a, self.s, self.world
        if world.main:
            os.makedirs(a.out, exist_ok=True)
        ckpt = newest_checkpoint(a.out)
        if ckpt:
            self.start_step, self.losses = resume(ckpt, self.wrappers, self.opt, self.sched)
            if world.main:
                log(f"resuming from {ckpt} (step {self.start_step} of {self.total})")
        if world.main:
            log(f"{len(self.train)} training and {len(self.valid)} validation examples, "
                f"{self.total} steps of {self.global_batch} examples on {world.size} x {world.device}"
                + (" (bf16 autocast)" if self.amp else ""))
        crash_at = int(os.environ.get("BATOS_TRAINER_CRASH_AT", "0") or 0)
        began = time.monotonic()
        self.model.train()
        for step in range(self.start_step + 1, self.total + 1):
            loss, lr = self.train_step(step)
            if not math.isfinite(loss):
                raise RuntimeError(f"loss is {loss} at step {step}")
            self.losses.append(loss)
            val = None
            if self.wants_eval(step):
                val = self.val_loss = evaluate(self.model, self.valid, world, s["batch_size"], self.amp)
            if world.main and self.wants_checkpoint(step):
                save_checkpoint(a.out, step, self.wrappers, self.opt, self.sched, self.losses, s, self.base)
            if world.main:
                self.report(step, loss, lr, began, val)
            if step == crash_at:
                log(f"BATOS_TRAINER_CRASH_AT: exiting after step {step}")
                os._exit(137)
        if self.valid and self.val_loss is None:
            self.val_loss = evaluate(self.model, self.valid, world, s["batch_size"], self.amp)
        # The base model's loss on the same split, for the Forge's evaluate
        # step: the adapter must not make it worse.
        self.val_loss_base = self.base_loss() if self.valid else None
        if world.main:
            self.finish(time.monotonic() - began)

    def base_loss(self):
        """The validation loss with every LoRA update switched off."""
        saved = [w.scaling for w in self.wrappers.values()]
        for w in self.wrappers.values():
            w.scaling = 0.0
        try:
            return evaluate(self.model, self.valid, self.world, self.s["batch_size"], self.amp)
        finally:
            for w, sc in zip(self.wrappers.values(), saved):
                w.scaling = sc

    def finish(self, runtime):
        out = self.a.out
        write_adapter(out, self.wrappers, self.s, self.base)
        last = self.losses[-10:]
        write_json(os.path.join(out, "metrics.json"), {
            "train_loss": self.losses[-1] if self.losses else None,
            "train_loss_avg": sum(last) / len(last) if last else None,
            "val_loss": self.val_loss,
            "val_loss_base": self.val_loss_base,
            "steps": self.total,
            "examples": len(self.train),
            "valid_examples": len(self.valid),
            "tokens": counted_tokens(self.train),
            "world_size": self.world.size,
            "runtime_s": round(runtime, 3),
        })
        log(f"wrote the adapter to {out}")


def main(argv):
    world = None
    try:
        a = parse_args(argv)
        s = read_config(a.config)
        world = World(s["device"])
        Run(a, s, world).run()
        return 0
    except (TrainerError, llama_lite.ModelError, safetensors_io.SafetensorsError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr, flush=True)
        return 2
    except Exception as e:  # one line for the Forge's log; BATOS_DEBUG=1 for the traceback
        if os.environ.get("BATOS_DEBUG"):
            import traceback
            traceback.print_exc()
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        print(f"{PROG}: error: {type(e).__name__}: {msg}", file=sys.stderr, flush=True)
        return 1
    finally:
        if world is not None:
            world.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
