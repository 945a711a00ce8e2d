"""A Llama decoder in plain PyTorch, with LoRA on chosen linear layers.

This is the model the Forge's trainers share (lora_sft.py trains it,
greedy.py runs it, tiny_llama.py makes a small one). It reads a Hugging
Face-format Llama folder without the transformers library:

  config.json             LlamaConfig fields (hidden_size, intermediate_size,
                          num_hidden_layers, num_attention_heads,
                          num_key_value_heads, vocab_size, rms_norm_eps,
                          rope_theta, max_position_embeddings,
                          tie_word_embeddings)
  model.safetensors       the weights, or sharded model-0000x-of-0000y.safetensors
                          listed by model.safetensors.index.json

and computes what transformers' LlamaForCausalLM computes: RMSNorm, rotary
position embeddings in the rotate_half convention, grouped-query attention
with a causal mask, a SwiGLU MLP, and the LM head (tied to the embeddings
when tie_word_embeddings). Tensor names follow Hugging Face's
(model.layers.N.self_attn.q_proj.weight, ...), so a state dict of this
module is a Hugging Face checkpoint.

LoRA (Hu et al. 2021, as PEFT implements it): a target Linear W (out, in)
becomes y = W x + (alpha / r) * B(A(dropout(x))) with A (r, in) initialised
kaiming-uniform(a=sqrt(5)) and B (out, r) zeros, so training starts from
the base model exactly. Only A and B are trainable.
"""

import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

import safetensors_io

ATTN_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP_MODULES = ("gate_proj", "up_proj", "down_proj")
ALL_MODULES = ATTN_MODULES + MLP_MODULES


class ModelError(Exception):
    """A base model folder that cannot be read."""


# ---------------------------------------------------------------- config


class LlamaConfig:
    """The LlamaConfig fields this model needs, with transformers' defaults."""

    def __init__(self, d):
        def need(key):
            if key not in d:
                raise ModelError(f"config.json has no {key}")
            return d[key]

        self.hidden_size = int(need("hidden_size"))
        self.intermediate_size = int(need("intermediate_size"))
        self.num_hidden_layers = int(need("num_hidden_layers"))
        self.num_attention_heads = int(need("num_attention_heads"))
        self.num_key_value_heads = int(d.get("num_key_value_heads") or self.num_attention_heads)
        self.vocab_size = int(need("vocab_size"))
        self.rms_norm_eps = float(d.get("rms_norm_eps", 1e-6))
        self.rope_theta = float(d.get("rope_theta", 10000.0))
        self.max_position_embeddings = int(d.get("max_position_embeddings", 2048))
        self.tie_word_embeddings = bool(d.get("tie_word_embeddings", False))
        self.head_dim = int(d.get("head_dim") or self.hidden_size // self.num_attention_heads)
        if self.num_attention_heads % self.num_key_value_heads:
            raise ModelError("num_attention_heads is not a multiple of num_key_value_heads")
        scaling = d.get("rope_scaling")
        if scaling:
            # Llama 3's and linear rope scaling change the frequencies; not done here.
            raise ModelError(f"rope_scaling {scaling} is not supported")
        self.raw = d

    def module_shape(self, module):
        """(out, in) of the Linear named module (q_proj ... down_proj)."""
        h, hd = self.hidden_size, self.head_dim
        return {
            "q_proj": (self.num_attention_heads * hd, h),
            "k_proj": (self.num_key_value_heads * hd, h),
            "v_proj": (self.num_key_value_heads * hd, h),
            "o_proj": (h, self.num_attention_heads * hd),
            "gate_proj": (self.intermediate_size, h),
            "up_proj": (self.intermediate_size, h),
            "down_proj": (h, self.intermediate_size),
        }[module]


def read_config(base):
    """The LlamaConfig of the Hugging Face folder base."""
    if not os.path.isdir(base):
        raise ModelError(f"base model folder {base} does not exist")
    path = os.path.join(base, "config.json")
    try:
        with open(path) as f:
            d = json.load(f)
    except FileNotFoundError:
        raise ModelError(f"{path} does not exist") from None
    except json.JSONDecodeError as e:
        raise ModelError(f"{path}: not JSON ({e})") from None
    if not isinstance(d, dict):
        raise ModelError(f"{path}: not a JSON object")
    return LlamaConfig(d)


def weight_files(base):
    """The safetensors files of the folder base: one, or the shards of an index."""
    index = os.path.join(base, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f).get("weight_map", {})
        files = sorted(set(weight_map.values()))
        if not files:
            raise ModelError(f"{index} has an empty weight_map")
        return [os.path.join(base, name) for name in files]
    single = os.path.join(base, "model.safetensors")
    if os.path.exists(single):
        return [single]
    raise ModelError(f"{base} has neither model.safetensors nor model.safetensors.index.json")


def load_state_dict(base):
    """All tensors of the base model folder, as stored (name -> CPU tensor)."""
    state = {}
    for path in weight_files(base):
        if not os.path.exists(path):
            raise ModelError(f"shard {path} does not exist")
        state.update(safetensors_io.load(path))
    return state


# ---------------------------------------------------------------- layers


class RMSNorm(nn.Module):
    """Root-mean-square layer norm, computed in float32 as transformers does."""

    def __init__(self, size, eps, device=None):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size, device=device))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotate_half(x):
    """Swap the two halves of the last axis, negating the new first half."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def rotary_tables(cfg, length, device):
    """cos and sin tables (length, head_dim) for positions 0..length-1."""
    d = cfg.head_dim
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, d, 2, dtype=torch.float32, device=device) / d))
    t = torch.arange(length, dtype=torch.float32, device=device)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


class LoRALinear(nn.Module):
    """A frozen Linear plus a trainable low-rank update (alpha/r) * B A."""

    def __init__(self, base, r, alpha, dropout):
        super().__init__()
        self.base = base
        self.r, self.alpha = r, alpha
        self.scaling = alpha / r
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        # PEFT's init: A as nn.Linear's default weight init, B zeros.
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    @property
    def weight(self):
        return self.base.weight

    def forward(self, x):
        y = self.base(x)
        a, b = self.lora_A, self.lora_B
        if not torch.is_autocast_enabled():
            # Without autocast a bfloat16 base meets float32 LoRA weights.
            a, b = a.to(x.dtype), b.to(x.dtype)
        return y + F.linear(F.linear(self.dropout(x), a), b) * self.scaling


class Attention(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        h, hd = cfg.hidden_size, cfg.head_dim
        self.n_heads, self.n_kv, self.head_dim = cfg.num_attention_heads, cfg.num_key_value_heads, hd
        self.q_proj = nn.Linear(h, self.n_heads * hd, bias=False, device=device)
        self.k_proj = nn.Linear(h, self.n_kv * hd, bias=False, device=device)
        self.v_proj = nn.Linear(h, self.n_kv * hd, bias=False, device=device)
        self.o_proj = nn.Linear(self.n_heads * hd, h, bias=False, device=device)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape

        def heads(proj, n):
            return proj(x).view(b, t, n, self.head_dim).transpose(1, 2)

        q, k, v = heads(self.q_proj, self.n_heads), heads(self.k_proj, self.n_kv), heads(self.v_proj, self.n_kv)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if self.n_kv != self.n_heads:
            # Grouped-query attention: KV head i serves query heads i*rep .. i*rep+rep-1.
            rep = self.n_heads // self.n_kv
            k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        scores = scores.float().masked_fill(mask, float("-inf"))
        probs = torch.softmax(scores, dim=-1).to(v.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, -1)
        return self.o_proj(out)


class MLP(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        h, i = cfg.hidden_size, cfg.intermediate_size
        self.gate_proj = nn.Linear(h, i, bias=False, device=device)
        self.up_proj = nn.Linear(h, i, bias=False, device=device)
        self.down_proj = nn.Linear(i, h, bias=False, device=device)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, device)
        self.self_attn = Attention(cfg, device)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, device)
        self.mlp = MLP(cfg, device)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Backbone(nn.Module):
    """transformers' LlamaModel: embeddings, decoder layers, final norm."""

    def __init__(self, cfg, device=None):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size, device=device)
        self.layers = nn.ModuleList(DecoderLayer(cfg, device) for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, device)


class LlamaForCausalLM(nn.Module):
    """The decoder and its LM head; state dict names match Hugging Face's."""

    def __init__(self, cfg, device=None):
        """device "meta" builds the structure without allocating or initialising weights."""
        super().__init__()
        self.cfg = cfg
        self.model = Backbone(cfg, device)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False, device=device)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def hidden_states(self, ids):
        """The final normed hidden states (batch, time, hidden) for ids (batch, time).

        The mask is causal only: pad sequences on the right, where padding
        cannot influence any real position.
        """
        t = ids.shape[1]
        cos, sin = rotary_tables(self.cfg, t, ids.device)
        mask = torch.ones(t, t, dtype=torch.bool, device=ids.device).triu(1)
        x = self.model.embed_tokens(ids)
        cos, sin = cos.to(x.dtype), sin.to(x.dtype)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        return self.model.norm(x)

    def forward(self, ids):
        """Logits (batch, time, vocab) for ids (batch, time)."""
        return self.lm_head(self.hidden_states(ids))


def load_model(base, dtype=torch.float32, device="cpu"):
    """The model in folder base, every weight frozen, in dtype on device.

    The module is built on the meta device and each weight is put in place
    straight from the file, so a large model is never allocated twice nor
    randomly initialised first.
    """
    cfg = read_config(base)
    state = load_state_dict(base)
    if cfg.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    model = LlamaForCausalLM(cfg, device="meta")
    # named_parameters lists a tied weight once, as model.embed_tokens.weight.
    expected = {name: p.shape for name, p in model.named_parameters()}
    missing = sorted(set(expected) - set(state))
    if missing:
        raise ModelError(f"{base}: weights missing: {', '.join(missing[:4])}"
                         + (f" and {len(missing) - 4} more" if len(missing) > 4 else ""))
    unused = [n for n in sorted(set(state) - set(expected)) if not n.endswith("rotary_emb.inv_freq")]
    if unused:
        raise ModelError(f"{base}: unexpected weights: {', '.join(unused[:4])}")
    for name, shape in expected.items():
        t = state.pop(name)
        if tuple(t.shape) != tuple(shape):
            raise ModelError(f"{base}: {name} has shape {list(t.shape)}, config.json says {list(shape)}")
        owner, _, attr = name.rpartition(".")
        setattr(model.get_submodule(owner), attr,
                nn.Parameter(t.to(device=device, dtype=dtype), requires_grad=False))
    if cfg.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight
    return model


# ---------------------------------------------------------------- LoRA


def lora_key(layer, module):
    """PEFT's prefix for module (q_proj ... down_proj) of decoder layer."""
    group = "self_attn" if module in ATTN_MODULES else "mlp"
    return f"base_model.model.model.layers.{layer}.{group}.{module}"


def add_lora(model, targets, r, alpha, dropout):
    """Wrap each target Linear of every layer in a LoRALinear.

    Returns the wrappers as an ordered dict PEFT-prefix -> LoRALinear; their
    lora_A and lora_B are the only trainable parameters of the model.
    """
    wrappers = {}
    for i, layer in enumerate(model.model.layers):
        for module in targets:
            parent = layer.self_attn if module in ATTN_MODULES else layer.mlp
            wrapped = LoRALinear(getattr(parent, module), r, alpha, dropout)
            setattr(parent, module, wrapped)
            wrappers[lora_key(i, module)] = wrapped
    return wrappers


def lora_state(wrappers):
    """The adapter's tensors under PEFT's names, float32 on the CPU."""
    out = {}
    for key, w in wrappers.items():
        out[key + ".lora_A.weight"] = w.lora_A.detach().float().cpu()
        out[key + ".lora_B.weight"] = w.lora_B.detach().float().cpu()
    return out


def merge_lora(model, tensors, scale):
    """Add scale * B @ A to each base weight that tensors (PEFT names) adapts."""
    layers = model.model.layers
    for name, a in tensors.items():
        if not name.endswith(".lora_A.weight"):
            continue
        prefix = name[: -len(".lora_A.weight")]
        b = tensors[prefix + ".lora_B.weight"]
        parts = prefix.split(".")  # base_model.model.model.layers.N.group.module
        layer, group, module = int(parts[4]), parts[5], parts[6]
        linear = getattr(getattr(layers[layer], group), module)
        with torch.no_grad():
            linear.weight += scale * (b.float() @ a.float()).to(linear.weight.dtype)
