#!/usr/bin/python3
"""Reference LLaMA in PyTorch, written from the Hugging Face LlamaForCausalLM formulas (DESIGN §4),
for the parity test (tests/parity/parity.py). No transformers / safetensors packages are needed.

Contents:
  * safetensors reader/writer (F32 and friends) and model-directory I/O (model.safetensors + config.json);
  * Config (the HF config.json keys) and random_weights() (matrices std 0.02-0.1, RMSNorm gains 1 +- 0.1);
  * the reference model: ref_loss() (vectorised, HF rotate_half RoPE, repeat_kv GQA, fp32 RMSNorm),
    ref_grad() and ref_train() (torch.optim.AdamW with two param groups + clip_grad_norm_);
  * a second, independently structured implementation (alt_loss: per-head loops, RoPE as explicit
    rotation matrices, hand-written softmax / log-softmax; alt_train: AdamW written out by hand),
    used to self-test the reference and, through main(), as a stand-in `templar grad|train` CLI:
        llama_ref.py grad  --model DIR --tokens FILE.npy --out FILE.safetensors [--ignore-token ID]
        llama_ref.py train --config FILE.json --init DIR --data DIR --steps N --out DIR [--json]
    (`parity.py --templar tests/parity/llama_ref.py` checks the test harness itself, no C needed).

PARITY_SELFTEST_BREAK=<mode> deliberately breaks the *reference* (ref_*, not alt_*) so that one can
watch parity.py fail: rope (interleaved pairs instead of rotate_half), gqa (kv heads tiled instead of
repeated), gain (RMSNorm gains ignored), ignore (the ignore token is not ignored), wd (weight decay on
the 1-D gains too), clip (no gradient clipping). Several modes may be given, comma-separated.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------------
# safetensors / npy I/O

_ST_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"), "U32": np.dtype("<u4"), "U16": np.dtype("<u2"), "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NP_TO_ST = {v: k for k, v in _ST_DTYPES.items()}


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: np.ndarray | torch.Tensor}. Written in name order, header padded to 8 bytes."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        a = tensors[name]
        if isinstance(a, torch.Tensor):
            a = a.detach().cpu().numpy()
        a = np.asarray(a)
        dt = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        if dt not in _NP_TO_ST:
            raise ValueError(f"{name}: unsupported dtype {a.dtype}")
        b = np.ascontiguousarray(a, dtype=dt).tobytes()
        header[name] = {"dtype": _NP_TO_ST[dt], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Returns ({name: np.ndarray}, metadata). Checks that offsets are in bounds and sizes match."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} past end of file")
    header = json.loads(data[8:8 + n].decode())
    body = memoryview(data)[8 + n:]
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        dt = _ST_DTYPES.get(e["dtype"])
        if dt is None:
            raise ValueError(f"{path}: {name}: unsupported dtype {e['dtype']}")
        s, t = e["data_offsets"]
        shape = tuple(e["shape"])
        count = int(np.prod(shape)) if shape else 1
        if not (0 <= s <= t <= len(body)) or t - s != count * dt.itemsize:
            raise ValueError(f"{path}: {name}: bad data_offsets {s},{t} for shape {shape} {e['dtype']}")
        out[name] = np.frombuffer(body[s:t], dtype=dt).reshape(shape).copy()
    return out, meta


def write_tokens_npy(path, tokens, dtype="<i4"):
    np.save(path, np.ascontiguousarray(np.asarray(tokens).astype(dtype)), allow_pickle=False)


def write_data_dir(path, train, val, vocab_size, eot):
    """A one-shard-per-split data directory as `templar prep` writes it (src/data/shards.h):
    train_000000.npy / val_000000.npy flat `<u4` streams and meta.json (format templar-shards v1;
    the C reader wants eot_token == vocab_size - 1 and a 64-hex tokenizer digest, checked only
    against a tokenizer.json that is present -- none is written here)."""
    os.makedirs(path, exist_ok=True)
    train = np.asarray(train).reshape(-1).astype("<u4")
    val = np.asarray(val).reshape(-1).astype("<u4")
    np.save(os.path.join(path, "train_000000.npy"), train, allow_pickle=False)
    np.save(os.path.join(path, "val_000000.npy"), val, allow_pickle=False)
    meta = {"format": "templar-shards", "version": 1, "vocab_size": int(vocab_size), "eot_token": int(eot),
            "train_tokens": int(train.size), "val_tokens": int(val.size), "train_shards": 1, "val_shards": 1,
            "unigram_entropy": 0.0, "tokenizer_blake2b": "0" * 64}
    with open(os.path.join(path, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


# ----------------------------------------------------------------------------------------------
# configuration and weights

class Config:
    def __init__(self, dim, n_layers, n_heads, n_kv_heads, ffn_dim, vocab_size, seq_len,
                 tie=False, rope_theta=10000.0, norm_eps=1e-5):
        assert dim % n_heads == 0 and n_heads % n_kv_heads == 0 and (dim // n_heads) % 2 == 0
        self.dim, self.n_layers, self.n_heads, self.n_kv_heads = dim, n_layers, n_heads, n_kv_heads
        self.ffn_dim, self.vocab_size, self.seq_len = ffn_dim, vocab_size, seq_len
        self.tie, self.rope_theta, self.norm_eps = bool(tie), float(rope_theta), float(norm_eps)

    @property
    def head_dim(self):
        return self.dim // self.n_heads

    def to_hf(self):
        return {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": self.dim, "intermediate_size": self.ffn_dim,
            "num_hidden_layers": self.n_layers, "num_attention_heads": self.n_heads,
            "num_key_value_heads": self.n_kv_heads, "vocab_size": self.vocab_size,
            "rms_norm_eps": self.norm_eps, "rope_theta": self.rope_theta,
            "tie_word_embeddings": self.tie, "max_position_embeddings": self.seq_len,
            "hidden_act": "silu", "attention_bias": False, "torch_dtype": "float32",
        }

    @staticmethod
    def from_hf(d):
        return Config(d["hidden_size"], d["num_hidden_layers"], d["num_attention_heads"],
                      d.get("num_key_value_heads", d["num_attention_heads"]), d["intermediate_size"],
                      d["vocab_size"], d["max_position_embeddings"], d.get("tie_word_embeddings", False),
                      d.get("rope_theta", 10000.0), d.get("rms_norm_eps", 1e-6))

    def __repr__(self):
        return (f"D={self.dim} L={self.n_layers} H={self.n_heads} KV={self.n_kv_heads} F={self.ffn_dim} "
                f"V={self.vocab_size} T={self.seq_len} {'tied' if self.tie else 'untied'} "
                f"theta={self.rope_theta:g} eps={self.norm_eps:g}")


def param_shapes(cfg):
    """[(HF name, shape)] in a fixed order."""
    D, F_, V, hd = cfg.dim, cfg.ffn_dim, cfg.vocab_size, cfg.head_dim
    out = [("model.embed_tokens.weight", (V, D))]
    for i in range(cfg.n_layers):
        p = f"model.layers.{i}."
        out += [
            (p + "self_attn.q_proj.weight", (cfg.n_heads * hd, D)),
            (p + "self_attn.k_proj.weight", (cfg.n_kv_heads * hd, D)),
            (p + "self_attn.v_proj.weight", (cfg.n_kv_heads * hd, D)),
            (p + "self_attn.o_proj.weight", (D, cfg.n_heads * hd)),
            (p + "mlp.gate_proj.weight", (F_, D)),
            (p + "mlp.up_proj.weight", (F_, D)),
            (p + "mlp.down_proj.weight", (D, F_)),
            (p + "input_layernorm.weight", (D,)),
            (p + "post_attention_layernorm.weight", (D,)),
        ]
    out.append(("model.norm.weight", (D,)))
    if not cfg.tie:
        out.append(("lm_head.weight", (V, D)))
    return out


def random_weights(cfg, seed):
    """Random float32 weights: each matrix N(0, s) with s drawn from [0.02, 0.1] (embedding/lm_head
    0.1/0.05 so logits are not flat), each RMSNorm gain 1 + N(0, 0.1) so a gains bug shows."""
    rng = np.random.default_rng(seed)
    w = {}
    for name, shape in param_shapes(cfg):
        if len(shape) == 1:
            a = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            if name == "model.embed_tokens.weight":
                s = 0.1
            elif name == "lm_head.weight":
                s = 0.05
            else:
                s = rng.uniform(0.02, 0.1)
            a = s * rng.standard_normal(shape)
        w[name] = a.astype(np.float32)
    return w


def write_model_dir(path, cfg, weights):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg.to_hf(), f, indent=2)
    write_safetensors(os.path.join(path, "model.safetensors"), weights, {"format": "pt"})


def read_model_dir(path):
    with open(os.path.join(path, "config.json")) as f:
        cfg = Config.from_hf(json.load(f))
    w, _ = read_safetensors(os.path.join(path, "model.safetensors"))
    return cfg, w


def is_decayed(name, shape):
    """Weight decay applies to the 2-D tensors only (not the RMSNorm gains)."""
    return len(shape) == 2


# ----------------------------------------------------------------------------------------------
# the reference model (vectorised, HF conventions)

def _breaks():
    return set(x for x in os.environ.get("PARITY_SELFTEST_BREAK", "").split(",") if x)


def rope_cos_sin(T, hd, theta, dtype):
    """HF LlamaRotaryEmbedding: inv_freq = 1/theta^(arange(0,hd,2)/hd); emb = cat(freqs, freqs)."""
    ct = torch.float64 if dtype == torch.float64 else torch.float32  # HF computes these in fp32
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).to(ct) / hd))
    pos = torch.arange(T, dtype=ct)
    freqs = torch.outer(pos, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)  # [T, hd]


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def apply_rope(x, cos, sin):
    """x: [B, heads, T, hd]."""
    if "rope" in _breaks():  # interleaved (GPT-J / Meta) pairs (2i, 2i+1): the wrong convention here
        hd = x.shape[-1]
        c, s = cos[:, : hd // 2], sin[:, : hd // 2]
        x1, x2 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x1 * c - x2 * s, x1 * s + x2 * c), -1).flatten(-2)
    return x * cos + rotate_half(x) * sin


def rmsnorm(x, w, eps):
    """HF LlamaRMSNorm: in fp32 (or wider), x * rsqrt(mean(x^2) + eps) * weight."""
    dt = x.dtype
    xf = x.to(torch.float32) if dt in (torch.float16, torch.bfloat16) else x
    var = xf.pow(2).mean(-1, keepdim=True)
    xf = xf * torch.rsqrt(var + eps)
    if "gain" in _breaks():
        return xf.to(dt) * (1 + 0 * w)  # gains ignored (but still get a (zero) gradient)
    return w * xf.to(dt)


def repeat_kv(x, n_rep):
    """[B, KV, T, hd] -> [B, KV*n_rep, T, hd]; kv head j serves query heads j*n_rep .. (j+1)*n_rep-1."""
    if n_rep == 1:
        return x
    if "gqa" in _breaks():
        return x.repeat(1, n_rep, 1, 1)  # wrong: kv head j serves j, j+KV, ...
    B, KV, T, hd = x.shape
    return x[:, :, None, :, :].expand(B, KV, n_rep, T, hd).reshape(B, KV * n_rep, T, hd)


def ref_logits(p, tokens, cfg):
    """p: {HF name: tensor}; tokens: LongTensor [B, T]. Returns logits [B, T, V]."""
    B, T = tokens.shape
    H, KV, hd = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
    dtype = p["model.embed_tokens.weight"].dtype
    cos, sin = rope_cos_sin(T, hd, cfg.rope_theta, dtype)
    mask = torch.full((T, T), float("-inf"), dtype=dtype).triu(1)
    x = F.embedding(tokens, p["model.embed_tokens.weight"])
    for i in range(cfg.n_layers):
        pre = f"model.layers.{i}."
        h = rmsnorm(x, p[pre + "input_layernorm.weight"], cfg.norm_eps)
        q = F.linear(h, p[pre + "self_attn.q_proj.weight"]).view(B, T, H, hd).transpose(1, 2)
        k = F.linear(h, p[pre + "self_attn.k_proj.weight"]).view(B, T, KV, hd).transpose(1, 2)
        v = F.linear(h, p[pre + "self_attn.v_proj.weight"]).view(B, T, KV, hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        k, v = repeat_kv(k, H // KV), repeat_kv(v, H // KV)
        att = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(hd) + mask
        att = torch.softmax(att, dim=-1)
        a = torch.matmul(att, v).transpose(1, 2).reshape(B, T, H * hd)
        x = x + F.linear(a, p[pre + "self_attn.o_proj.weight"])
        h = rmsnorm(x, p[pre + "post_attention_layernorm.weight"], cfg.norm_eps)
        m = F.silu(F.linear(h, p[pre + "mlp.gate_proj.weight"])) * F.linear(h, p[pre + "mlp.up_proj.weight"])
        x = x + F.linear(m, p[pre + "mlp.down_proj.weight"])
    x = rmsnorm(x, p["model.norm.weight"], cfg.norm_eps)
    head = p["model.embed_tokens.weight"] if cfg.tie else p["lm_head.weight"]
    return F.linear(x, head)


def ref_loss(p, tokens, cfg, ignore=None):
    """Mean CE over positions t < T-1 predicting token t+1, targets equal to `ignore` excluded."""
    logits = ref_logits(p, tokens, cfg)[:, :-1, :]
    tgt = tokens[:, 1:]
    if ignore is None or "ignore" in _breaks():
        return F.cross_entropy(logits.reshape(-1, cfg.vocab_size), tgt.reshape(-1))
    return F.cross_entropy(logits.reshape(-1, cfg.vocab_size), tgt.reshape(-1), ignore_index=int(ignore))


def _to_params(weights, dtype):
    return {k: torch.tensor(np.asarray(v), dtype=dtype, requires_grad=True) for k, v in weights.items()}


def ref_grad(weights, tokens, cfg, ignore=None, dtype=torch.float32):
    """Returns (loss: float, {name: np.ndarray grad})."""
    p = _to_params(weights, dtype)
    loss = ref_loss(p, torch.as_tensor(np.asarray(tokens, dtype=np.int64)), cfg, ignore)
    loss.backward()
    return float(loss), {k: v.grad.detach().numpy().copy() for k, v in p.items()}


def ref_train(weights, tokens, cfg, steps, lr, beta1, beta2, eps, weight_decay, grad_clip,
              ignore=None, dtype=torch.float32):
    """`steps` steps of torch.optim.AdamW on the same batch. Weight decay on the 2-D tensors only
    (two param groups), clip_grad_norm_ over all gradients when grad_clip > 0, constant lr.
    Returns ({name: np.ndarray}, [loss per step], [grad norm before clipping per step],
    {name: per element, min over steps of |grad| / max|grad of that tensor|}) -- the last says which
    elements are ill-conditioned (Adam's first step is lr*sign(g): a g within rounding noise of 0 flips)."""
    p = _to_params(weights, dtype)
    names = list(p)
    wd_all = "wd" in _breaks()
    decay = [p[n] for n in names if wd_all or is_decayed(n, p[n].shape)]
    nodecay = [p[n] for n in names if not (wd_all or is_decayed(n, p[n].shape))]
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if nodecay:
        groups.append({"params": nodecay, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, lr=lr, betas=(beta1, beta2), eps=eps)
    tok = torch.as_tensor(np.asarray(tokens, dtype=np.int64))
    losses, norms, cond = [], [], {}
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = ref_loss(p, tok, cfg, ignore)
        loss.backward()
        if grad_clip and grad_clip > 0 and "clip" not in _breaks():
            n = torch.nn.utils.clip_grad_norm_([p[k] for k in names], grad_clip)
        else:
            n = torch.norm(torch.stack([torch.norm(p[k].grad) for k in names]))
        norms.append(float(n))
        losses.append(float(loss))
        for k in names:
            g = p[k].grad.detach().abs()
            r = (g / g.max().clamp_min(1e-300)).numpy()
            cond[k] = r if k not in cond else np.minimum(cond[k], r)
        opt.step()
    return {k: v.detach().numpy().copy() for k, v in p.items()}, losses, norms, cond


# ----------------------------------------------------------------------------------------------
# a second, independently structured implementation (no PARITY_SELFTEST_BREAK here)

def _alt_rotation(T, hd, theta, dtype):
    """Per position an explicit [hd, hd] rotation: dims (i, i + hd/2) rotate by t * theta^(-2i/hd)."""
    half = hd // 2
    R = torch.zeros(T, hd, hd, dtype=torch.float64)
    for i in range(half):
        ang = torch.arange(T, dtype=torch.float64) * (float(theta) ** (-2.0 * i / hd))
        c, s = torch.cos(ang), torch.sin(ang)
        R[:, i, i] = c
        R[:, i, i + half] = -s
        R[:, i + half, i] = s
        R[:, i + half, i + half] = c
    return R.to(dtype)


def _alt_norm(x, g, eps):
    return x / torch.sqrt((x * x).sum(-1, keepdim=True) / x.shape[-1] + eps) * g


def alt_loss(p, tokens, cfg, ignore=None):
    B, T = tokens.shape
    H, KV, hd, D = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.dim
    group = H // KV
    dtype = p["model.embed_tokens.weight"].dtype
    R = _alt_rotation(T, hd, cfg.rope_theta, dtype)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    E = p["model.embed_tokens.weight"]
    x = E[tokens.reshape(-1)].reshape(B, T, D)
    for i in range(cfg.n_layers):
        pre = f"model.layers.{i}."
        Wq, Wk = p[pre + "self_attn.q_proj.weight"], p[pre + "self_attn.k_proj.weight"]
        Wv, Wo = p[pre + "self_attn.v_proj.weight"], p[pre + "self_attn.o_proj.weight"]
        h = _alt_norm(x, p[pre + "input_layernorm.weight"], cfg.norm_eps)
        outs = []
        for head in range(H):
            j = head // group  # the kv head serving this query head
            q = h @ Wq[head * hd:(head + 1) * hd].T          # [B, T, hd]
            k = h @ Wk[j * hd:(j + 1) * hd].T
            v = h @ Wv[j * hd:(j + 1) * hd].T
            q = torch.einsum("tij,btj->bti", R, q)
            k = torch.einsum("tij,btj->bti", R, k)
            s = torch.einsum("bti,bsi->bts", q, k) / math.sqrt(hd)
            s = torch.where(causal, s, torch.full_like(s, -1e30))
            s = s - s.max(-1, keepdim=True).values
            e = torch.exp(s) * causal
            a = e / e.sum(-1, keepdim=True)
            outs.append(torch.einsum("bts,bsi->bti", a, v))
        x = x + torch.cat(outs, -1) @ Wo.T
        h = _alt_norm(x, p[pre + "post_attention_layernorm.weight"], cfg.norm_eps)
        g = h @ p[pre + "mlp.gate_proj.weight"].T
        u = h @ p[pre + "mlp.up_proj.weight"].T
        x = x + (g / (1 + torch.exp(-g)) * u) @ p[pre + "mlp.down_proj.weight"].T
    x = _alt_norm(x, p["model.norm.weight"], cfg.norm_eps)
    W = E if cfg.tie else p["lm_head.weight"]
    logits = (x @ W.T)[:, :-1]                                   # [B, T-1, V]
    tgt = tokens[:, 1:]
    mx = logits.max(-1, keepdim=True).values
    lse = (mx + torch.log(torch.exp(logits - mx).sum(-1, keepdim=True))).squeeze(-1)
    nll = lse - torch.gather(logits, -1, tgt.unsqueeze(-1)).squeeze(-1)
    valid = torch.ones_like(nll) if ignore is None else (tgt != int(ignore)).to(nll.dtype)
    return (nll * valid).sum() / valid.sum()


def alt_grad(weights, tokens, cfg, ignore=None, dtype=torch.float64):
    p = _to_params(weights, dtype)
    loss = alt_loss(p, torch.as_tensor(np.asarray(tokens, dtype=np.int64)), cfg, ignore)
    loss.backward()
    return float(loss), {k: v.grad.detach().numpy().copy() for k, v in p.items()}


def alt_train(weights, tokens, cfg, steps, lr, beta1, beta2, eps, weight_decay, grad_clip,
              ignore=None, dtype=torch.float64):
    """AdamW written out from the formulas (decoupled decay on 2-D tensors, bias-corrected moments),
    global L2 clip with coef = clip / (norm + 1e-6) when that is < 1."""
    w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    m = {k: np.zeros_like(v) for k, v in w.items()}
    s = {k: np.zeros_like(v) for k, v in w.items()}
    losses, norms = [], []
    for t in range(1, steps + 1):
        loss, g = alt_grad(w, tokens, cfg, ignore, dtype)
        g = {k: v.astype(np.float64) for k, v in g.items()}
        total = math.sqrt(sum(float((v * v).sum()) for v in g.values()))
        if grad_clip and grad_clip > 0:
            coef = grad_clip / (total + 1e-6)
            if coef < 1:
                g = {k: v * coef for k, v in g.items()}
        losses.append(loss)
        norms.append(total)
        for k in w:
            if is_decayed(k, w[k].shape):
                w[k] = w[k] * (1 - lr * weight_decay)
            m[k] = beta1 * m[k] + (1 - beta1) * g[k]
            s[k] = beta2 * s[k] + (1 - beta2) * g[k] * g[k]
            mhat = m[k] / (1 - beta1 ** t)
            shat = s[k] / (1 - beta2 ** t)
            w[k] = w[k] - lr * mhat / (np.sqrt(shat) + eps)
    return w, losses, norms


# ----------------------------------------------------------------------------------------------
# stand-in `templar grad|train` CLI on the alt implementation (float64), to test the harness

def _opts(argv, flags=()):
    o, i = {}, 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("--"):
            raise SystemExit(f"llama_ref: unexpected argument {a}")
        if a[2:] in flags:
            o[a[2:]] = True
            i += 1
        else:
            o[a[2:]] = argv[i + 1]
            i += 2
    return o


def _load_tokens(path):
    a = np.load(path, allow_pickle=False)
    if a.dtype not in (np.dtype("<i4"), np.dtype("<u4")):
        raise SystemExit(f"llama_ref: {path}: tokens must be int32/uint32, not {a.dtype}")
    return a


def main(argv):
    if len(argv) < 1 or argv[0] not in ("grad", "train"):
        print(__doc__)
        return 2
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    if argv[0] == "grad":
        o = _opts(argv[1:])
        cfg, w = read_model_dir(o["model"])
        tok = _load_tokens(o["tokens"])
        if tok.ndim != 2 or tok.shape[1] > cfg.seq_len or tok.max() >= cfg.vocab_size:
            raise SystemExit("llama_ref: bad tokens")
        ign = int(o["ignore-token"]) if "ignore-token" in o else None
        loss, g = alt_grad(w, tok, cfg, ign)
        out = {"loss": np.array(loss, dtype=np.float32)}
        out.update({"grad." + k: v.astype(np.float32) for k, v in g.items()})
        write_safetensors(o["out"], out)
        print(f"loss {loss:.6f}")
        return 0
    o = _opts(argv[1:], flags=("json",))
    with open(o["config"]) as f:
        tc = json.load(f)["train"]
    cfg, w = read_model_dir(o["init"])
    with open(os.path.join(o["data"], "meta.json")) as f:
        meta = json.load(f)
    stream = np.load(os.path.join(o["data"], "train_000000.npy"), allow_pickle=False)
    B, T = tc["batch_size"], cfg.seq_len
    if stream.size != B * T:
        raise SystemExit("llama_ref: the stand-in trains only on a shard of exactly batch_size samples")
    if tc.get("warmup_steps", 0) != 0 or tc.get("eta_min_factor", 1.0) != 1.0:
        raise SystemExit("llama_ref: the stand-in supports a constant lr only")
    w2, losses, _ = alt_train(w, stream.reshape(B, T), cfg, int(o["steps"]), tc["lr"], tc["beta1"],
                              tc["beta2"], tc["eps"], tc["weight_decay"], tc["grad_clip"],
                              ignore=meta["eot_token"])
    write_model_dir(o["out"], cfg, {k: v.astype(np.float32) for k, v in w2.items()})
    if o.get("json"):
        print(json.dumps({"steps": int(o["steps"]), "loss": losses[-1]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
