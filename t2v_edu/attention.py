"""Attention (notebook 03): scaled dot-product, multi-head, positions, transformer blocks.

- ``scaled_dot_product_attention``: softmax(QKᵀ/√d_k) V with a boolean mask
  (True = may attend), returning the weights too; ``causal_mask``, ``padding_mask``.
- ``multi_head_attention`` / ``MultiHeadAttention``: self- or cross-attention with
  W_Q, W_K, W_V, W_O (the function without biases, the module with them).
- ``sinusoidal_positions``: the fixed positional encoding of Vaswani et al. (2017).
- ``TransformerBlock``: pre-norm self-attention, optional cross-attention, MLP.
- ``TextTransformer``: a caption encoder (per-token features + a pooled vector).
- ``FrameQueryReader``: learned "frame queries" cross-attend to caption words, the
  mechanism the video models of notebooks 06-07 use to read their caption.

Masks are boolean and broadcast against the attention scores [..., L_q, L_k]:
True means "this query may attend to this key". (``torch.nn.MultiheadAttention``'s
``attn_mask``/``key_padding_mask`` use the opposite convention: True = blocked.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import data
from .text import Vocab, check_lengths, fit, masked_mean_unchecked, padding_lengths_mask


# ---------------------------------------------------------------------------------
# Scaled dot-product attention and masks
# ---------------------------------------------------------------------------------
def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None,
                                 dropout: float = 0.0) -> tuple[Tensor, Tensor]:
    """Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V.

    The weights: α_ij = exp(q_i·k_j / √d_k) / Σ_{j'} exp(q_i·k_{j'} / √d_k).

    q: [..., L_q, d_k]; k: [..., L_k, d_k]; v: [..., L_k, d_v];
    mask: bool, broadcastable to [..., L_q, L_k], True = may attend.
    -> (output [..., L_q, d_v], weights [..., L_q, L_k]). A query that may attend to
    no key gets zero weights and a zero output (a plain softmax over all -inf scores
    gives NaN there; F.scaled_dot_product_attention gives zeros or NaN depending on
    the PyTorch version).
    ``dropout`` (training only) drops weights before they mix V; returned weights are
    the undropped ones.
    """
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k need the same last dimension d_k, got {q.shape[-1]} and "
                         f"{k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v need the same number of positions L_k, got {k.shape[-2]} "
                         f"and {v.shape[-2]}")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])      # [..., L_q, L_k]
    if mask is not None:
        check_mask(mask, scores.shape)
        scores = scores.masked_fill(~mask, -float("inf"))
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights.nan_to_num(0.0)                           # fully masked rows
    mixed = F.dropout(weights, dropout) if dropout > 0 else weights
    return mixed @ v, weights


def causal_mask(n: int, device: torch.device | str | None = None,
                num_keys: int | None = None) -> Tensor:
    """Position i may attend to positions j <= i: bool [n, n], lower triangle True.

    With ``num_keys`` (>= n), the n queries are the *last* n of num_keys positions (as
    when decoding with a KV cache): bool [n, num_keys].
    """
    num_keys = n if num_keys is None else num_keys
    if num_keys < n:
        raise ValueError(f"num_keys ({num_keys}) must be >= the number of queries ({n})")
    return torch.ones(n, num_keys, dtype=torch.bool, device=device).tril(num_keys - n)


def padding_mask(lengths: Tensor, max_len: int) -> Tensor:
    """Every query may attend to the real keys only: bool [B, 1, max_len].

    Combine with a causal mask by ``&``: padding_mask(lengths, L) & causal_mask(L).
    """
    return padding_lengths_mask(lengths, max_len)[:, None, :]


def check_mask(mask: Tensor, scores_shape: Sequence[int]) -> None:
    """A mask must be boolean and broadcast to the scores [..., L_q, L_k] without
    enlarging them (a shape check: no GPU sync)."""
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be boolean (True = may attend), got {mask.dtype}")
    if mask.dim() > len(scores_shape) or any(
            m not in (1, s) for m, s in zip(mask.shape[::-1], scores_shape[::-1])):
        raise ValueError(f"mask {tuple(mask.shape)} does not broadcast to the attention "
                         f"scores [..., L_q, L_k] = {tuple(scores_shape)}; each of its sizes "
                         "must be 1 or the scores' size, counted from the right")


# ---------------------------------------------------------------------------------
# Multi-head attention
# ---------------------------------------------------------------------------------
def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """[B, L, E] -> [B, h, L, E/h]: each head gets its own slice of the features."""
    B, L, E = x.shape
    if E % num_heads != 0:
        raise ValueError(f"{E} features cannot be split into {num_heads} equal heads")
    return x.view(B, L, num_heads, E // num_heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """[B, h, L, d] -> [B, L, h*d]: the heads' outputs side by side (Concat)."""
    B, h, L, d = x.shape
    return x.transpose(1, 2).reshape(B, L, h * d)


def check_batch(query: Tensor, key: Tensor, value: Tensor) -> None:
    """Batch-first [B, L, E] inputs with one B: a key of batch 1 would otherwise
    broadcast, one caption silently conditioning every item of the batch."""
    if query.dim() != 3 or key.dim() != 3 or value.dim() != 3:
        raise ValueError("multi-head attention expects batch-first [B, L, E] inputs, got "
                         f"query {tuple(query.shape)}, key {tuple(key.shape)} and value "
                         f"{tuple(value.shape)}")
    if not query.shape[0] == key.shape[0] == value.shape[0]:
        raise ValueError(f"query, key and value need the same batch size, got "
                         f"{query.shape[0]}, {key.shape[0]} and {value.shape[0]}")


def _head_mask(mask: Tensor | None, num_queries: int) -> Tensor | None:
    """A mask broadcastable to [B, L_q, L_k] made broadcastable to [B, h, L_q, L_k]."""
    if mask is None:
        return None
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be boolean (True = may attend), got {mask.dtype}")
    if mask.dim() == 2 and mask.shape[0] not in (1, num_queries):
        raise ValueError(f"a 2-D mask is [L_q, L_k] (one row per query, L_q = {num_queries}), "
                         f"got {tuple(mask.shape)}; for padding use "
                         "attention.padding_mask(lengths, L), which is [B, 1, L]")
    return mask.unsqueeze(-3) if mask.dim() == 3 else mask


def multi_head_attention(query: Tensor, key: Tensor, value: Tensor, W_Q: Tensor, W_K: Tensor,
                         W_V: Tensor, W_O: Tensor, num_heads: int, mask: Tensor | None = None
                         ) -> tuple[Tensor, Tensor]:
    """MultiHead(Q, K, V) = Concat(head_1, .., head_h) W_O,
    head_i = Attention(Q W_Q^i, K W_K^i, V W_V^i), without biases.

    query: [B, L_q, E]; key, value: [B, L_k, E]; W_*: [E, E] (nn.Linear layout, so
    Q W_Q is ``query @ W_Q.T``); head i uses features i*E/h .. (i+1)*E/h.
    -> (out [B, L_q, E], weights [B, h, L_q, L_k])
    """
    check_batch(query, key, value)
    q = split_heads(query @ W_Q.T, num_heads)
    k = split_heads(key @ W_K.T, num_heads)
    v = split_heads(value @ W_V.T, num_heads)
    out, weights = scaled_dot_product_attention(q, k, v, _head_mask(mask, query.shape[1]))
    return merge_heads(out) @ W_O.T, weights


class MultiHeadAttention(nn.Module):
    """``multi_head_attention`` as a module, with biases and dropout on the weights.

    Self-attention: forward(x) or forward(x, x, x); cross-attention:
    forward(x, context, context). ``kdim``/``vdim`` allow a context of another width
    (as in nn.MultiheadAttention). Batch first: query [B, L_q, E], key [B, L_k, kdim],
    value [B, L_k, vdim].
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0,
                 kdim: int | None = None, vdim: int | None = None, bias: bool = True):
        super().__init__()
        data.check_sizes(embed_dim=embed_dim, num_heads=num_heads)
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)          # W_Q
        self.k_proj = nn.Linear(kdim or embed_dim, embed_dim, bias=bias)  # W_K
        self.v_proj = nn.Linear(vdim or embed_dim, embed_dim, bias=bias)  # W_V
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)        # W_O

    def forward(self, query: Tensor, key: Tensor | None = None, value: Tensor | None = None,
                mask: Tensor | None = None, need_weights: bool = True,
                cache: dict | None = None) -> tuple[Tensor, Tensor | None]:
        """-> (out [B, L_q, E], weights [B, h, L_q, L_k] or None).

        key/value default to query (self-attention). mask: bool broadcastable to
        [B, L_q, L_k] (e.g. ``padding_mask``, ``causal_mask``), True = may attend.
        need_weights=False uses PyTorch's fused kernel (faster, flash attention on
        GPUs) and returns None for the weights.
        cache: a dict (start with ``{}``) for step-by-step decoding: the projected keys
        and values of earlier calls are kept in it and put before this call's, so L_k
        counts every position so far (mask with ``causal_mask(L_q, num_keys=L_k)``,
        or no mask when one position is decoded at a time).
        """
        key = query if key is None else key
        value = key if value is None else value
        check_batch(query, key, value)
        q = split_heads(self.q_proj(query), self.num_heads)
        k = split_heads(self.k_proj(key), self.num_heads)
        v = split_heads(self.v_proj(value), self.num_heads)
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        mask = _head_mask(mask, query.shape[1])
        drop = self.dropout if self.training else 0.0
        if need_weights:
            out, weights = scaled_dot_product_attention(q, k, v, mask, dropout=drop)
        else:
            if mask is not None:
                check_mask(mask, (*q.shape[:3], k.shape[2]))        # [B, h, L_q, L_k]
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
            weights = None
        return self.out_proj(merge_heads(out)), weights

    @torch.no_grad()
    def load_from_torch(self, mha: nn.MultiheadAttention) -> "MultiHeadAttention":
        """Copy the weights of a ``nn.MultiheadAttention`` with the same sizes."""
        if mha.embed_dim != self.embed_dim or mha.num_heads != self.num_heads:
            raise ValueError(f"nn.MultiheadAttention has embed_dim/num_heads "
                             f"{mha.embed_dim}/{mha.num_heads}, this module "
                             f"{self.embed_dim}/{self.num_heads}")
        if mha._qkv_same_embed_dim:
            wq, wk, wv = mha.in_proj_weight.chunk(3, 0)
        else:
            wq, wk, wv = mha.q_proj_weight, mha.k_proj_weight, mha.v_proj_weight
        theirs, ours = mha.in_proj_bias is not None, self.q_proj.bias is not None
        if theirs != ours:
            raise ValueError(f"bias: nn.MultiheadAttention has bias={theirs}, this module "
                             f"bias={ours}; build this module with bias={theirs} so that "
                             "both compute the same function")
        for proj, w in ((self.q_proj, wq), (self.k_proj, wk), (self.v_proj, wv)):
            proj.weight.copy_(w)
        if ours:
            for proj, b in zip((self.q_proj, self.k_proj, self.v_proj), mha.in_proj_bias.chunk(3)):
                proj.bias.copy_(b)
        self.out_proj.weight.copy_(mha.out_proj.weight)
        if self.out_proj.bias is not None:
            self.out_proj.bias.copy_(mha.out_proj.bias)
        return self


# ---------------------------------------------------------------------------------
# Positions
# ---------------------------------------------------------------------------------
def sinusoidal_positions(length: int | Tensor, dim: int, base: float = 10000.0) -> Tensor:
    """PE[p, 2i] = sin(p / base^(2i/dim)),  PE[p, 2i+1] = cos(p / base^(2i/dim)).

    length: an int (positions 0..length-1 -> [length, dim]) or a float tensor of
    positions of any shape [...] (e.g. diffusion/flow times) -> [..., dim]. dim even;
    base > 1, so that the wavelengths 2π base^(2i/dim) grow from 2π towards 2π base.
    """
    if dim % 2 != 0 or dim <= 0:
        raise ValueError(f"dim must be a positive even number, got {dim}")
    if not base > 1:
        raise ValueError(f"base must be a number > 1 (the longest wavelength is 2π base), "
                         f"got {base}")
    if isinstance(length, Tensor):
        pos = length.float()
    else:
        if length < 0:
            raise ValueError(f"length must be >= 0, got {length}")
        pos = torch.arange(length, dtype=torch.float32)
    freq = base ** (-torch.arange(0, dim, 2, dtype=torch.float32, device=pos.device) / dim)
    angle = pos[..., None] * freq                                   # [..., dim/2]
    return torch.stack([angle.sin(), angle.cos()], -1).flatten(-2)  # interleave sin, cos


# ---------------------------------------------------------------------------------
# Transformer block and caption encoder
# ---------------------------------------------------------------------------------
class MLP(nn.Module):
    """Linear -> GELU -> Linear, widening by ``mlp_ratio``."""

    def __init__(self, embed_dim: int, mlp_ratio: float = 4, dropout: float = 0.0):
        super().__init__()
        hidden = int(embed_dim * mlp_ratio)
        self.net = nn.Sequential(nn.Linear(embed_dim, hidden), nn.GELU(),
                                 nn.Linear(hidden, embed_dim), nn.Dropout(dropout))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class TransformerBlock(nn.Module):
    """Pre-norm block:  x += SelfAttn(LN(x));  [x += CrossAttn(LN(x), context)];  x += MLP(LN(x)).

    forward(x [B, L, E], mask=None, context=None [B, L_c, context_dim],
    context_mask=None [B, 1, L_c], return_weights=False, cache=None) -> x, or
    (x, {"self": w, "cross": w}) with weights [B, h, L, L] / [B, h, L, L_c] when
    return_weights.
    """

    def __init__(self, embed_dim: int, num_heads: int, mlp_ratio: float = 4,
                 cross_attention: bool = False, dropout: float = 0.0,
                 context_dim: int | None = None):
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dim)
        self.attn = MultiHeadAttention(embed_dim, num_heads, dropout)
        self.cross = None
        if cross_attention:
            self.norm_cross = nn.LayerNorm(embed_dim)
            self.cross = MultiHeadAttention(embed_dim, num_heads, dropout,
                                            kdim=context_dim, vdim=context_dim)
        self.norm2 = nn.LayerNorm(embed_dim)
        self.mlp = MLP(embed_dim, mlp_ratio, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor | None = None, context: Tensor | None = None,
                context_mask: Tensor | None = None, return_weights: bool = False,
                cache: dict | None = None) -> Tensor | tuple[Tensor, dict[str, Tensor | None]]:
        """``cache``: a dict for step-by-step decoding of the self-attention (see
        ``MultiHeadAttention.forward``); use one dict per block."""
        weights = {}
        h, weights["self"] = self.attn(self.norm1(x), mask=mask, need_weights=return_weights,
                                       cache=cache)
        x = x + self.drop(h)
        if self.cross is not None:
            if context is None:
                raise ValueError("this block has cross-attention: pass context [B, L_c, D]")
            h, weights["cross"] = self.cross(self.norm_cross(x), context, context,
                                             mask=context_mask, need_weights=return_weights)
            x = x + self.drop(h)
        elif context is not None:
            raise ValueError("context given but the block was built with cross_attention=False")
        x = x + self.mlp(self.norm2(x))
        return (x, weights) if return_weights else x


TEXT_HEADS = 4   # the attention heads of the course's caption encoders (06, 07)


class TextTransformer(nn.Module):
    """Caption encoder: token embedding * sqrt(E) + sinusoidal positions -> blocks ->
    LayerNorm.

    forward(ids [B, L], lengths [B] or None) -> (tokens [B, L, E], pooled [B, E]); the
    pooled vector is the mean over real tokens. Padding (id 0) is never attended to.
    ``return_weights=True`` adds a list of self-attention weights [B, h, L, L] per block.
    With ``num_segments`` > 0, forward also takes ``segments`` [B, L] (e.g.
    ``text.segment_ids``) and adds a learned embedding of each token's segment.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, num_heads: int = 4,
                 num_layers: int = 2, max_len: int = 32, mlp_ratio: float = 4,
                 dropout: float = 0.0, num_segments: int = 0):
        super().__init__()
        data.check_sizes(vocab_size=vocab_size, embed_dim=embed_dim, num_heads=num_heads,
                    max_len=max_len)
        if not (num_layers >= 0 and num_segments >= 0):   # 0 layers: embeddings + positions
            raise ValueError(f"num_layers and num_segments must be >= 0, got {num_layers} and "
                             f"{num_segments}")
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=Vocab.pad_id)
        self.segment = nn.Embedding(num_segments, embed_dim) if num_segments else None
        self.register_buffer("positions", sinusoidal_positions(max_len, embed_dim),
                             persistent=False)
        self.blocks = nn.ModuleList(TransformerBlock(embed_dim, num_heads, mlp_ratio,
                                                     dropout=dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(embed_dim)
        self.out_dim = embed_dim
        self.max_len = max_len

    def forward(self, ids: Tensor, lengths: Tensor | None = None, return_weights: bool = False,
                segments: Tensor | None = None
                ) -> tuple[Tensor, Tensor] | tuple[Tensor, Tensor, list[Tensor]]:
        B, L = ids.shape
        if L > self.max_len:
            raise ValueError(f"captions of {L} tokens exceed max_len={self.max_len}")
        if (segments is not None) != (self.segment is not None):
            raise ValueError("segments are given exactly when the encoder has segment "
                             f"embeddings (num_segments > 0); this one has "
                             f"{0 if self.segment is None else self.segment.num_embeddings}")
        if lengths is None:
            lengths = (ids != Vocab.pad_id).sum(1)
        check_lengths(lengths, L, B)                   # values only on the CPU: no GPU sync
        x = self.embed(ids) * math.sqrt(self.out_dim) + self.positions[:L]
        if segments is not None:  # a third "and" would be past the last segment: clamp
            x = x + self.segment(segments.clamp_max(self.segment.num_embeddings - 1))
        mask = padding_mask(lengths, L)                              # [B, 1, L]
        all_weights = []
        for block in self.blocks:
            if return_weights:
                x, w = block(x, mask=mask, return_weights=True)
                all_weights.append(w["self"])
            else:
                x = block(x, mask=mask)
        tokens = self.norm(x)
        pooled = masked_mean_unchecked(tokens, lengths)              # no GPU sync per step
        return (tokens, pooled, all_weights) if return_weights else (tokens, pooled)


# ---------------------------------------------------------------------------------
# Cross-attention from frame queries to caption words
# ---------------------------------------------------------------------------------
def frame_targets(attrs: Sequence[list[dict]], geometry: Sequence[list[dict]],
                  num_frames: int) -> Tensor:
    """What each frame should show of the first object, relative to frame 0:
    (Δx, Δy, log r_t/r_0, red, green, blue): float32 [B, T, 6]."""
    out = torch.zeros(len(attrs), num_frames, 6)
    for b, (a, geo) in enumerate(zip(attrs, geometry)):
        x, y, r = data.motion_track(a[0]["motion"], num_frames, (geo[0]["x"], geo[0]["y"]),
                                    geo[0]["travel"], geo[0]["radius"])
        x, y, r = (torch.tensor(v, dtype=torch.float32) for v in (x, y, r))
        out[b, :, 0], out[b, :, 1] = x - x[0], y - y[0]
        out[b, :, 2] = torch.log(r / r[0])
        out[b, :, 3:] = torch.tensor(data.PALETTE[a[0]["color"]])
    return out


class FrameQueryReader(nn.Module):
    """T learned frame queries cross-attend to the caption's token features; a linear
    head reads each frame's (Δx, Δy, log size ratio, RGB) from what it gathered.

    forward(ids, lengths) -> (pred [B, T, 6], weights [B, h, T, L]).
    """

    def __init__(self, vocab_size: int, num_frames: int = 8, embed_dim: int = 32,
                 num_heads: int = 2, max_len: int = 32):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=Vocab.pad_id)
        self.register_buffer("positions", sinusoidal_positions(max_len, embed_dim),
                             persistent=False)
        self.queries = nn.Parameter(sinusoidal_positions(num_frames, embed_dim))  # [T, E]
        self.cross = MultiHeadAttention(embed_dim, num_heads)
        self.head = nn.Sequential(nn.LayerNorm(embed_dim), nn.Linear(embed_dim, 6))

    def forward(self, ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        B, L = ids.shape
        words = self.embed(ids) + 0.1 * self.positions[:L]          # [B, L, E]
        queries = self.queries.expand(B, -1, -1)                    # [B, T, E]
        gathered, weights = self.cross(queries, words, words, mask=padding_mask(lengths, L))
        return self.head(gathered), weights


def train_frame_query_reader(model: FrameQueryReader, vocab: Vocab, captions: Sequence[str],
                             targets: Tensor, steps: int = 400, batch_size: int = 64,
                             lr: float = 3e-3, seed: int = 0) -> list[float]:
    """``text.fit`` on the mean squared error to ``frame_targets``; the loss per step."""
    ids, lengths = vocab.encode_batch(captions)
    return fit(model, lambda i: F.mse_loss(model(ids[i], lengths[i])[0], targets[i]),
               len(captions), steps, batch_size, lr, seed)


@dataclass(frozen=True)
class AttentionPreset:
    """Notebook 03's sizes and training steps."""

    embed_dim: int
    num_heads: int
    num_layers: int
    steps: int
    reader_steps: int


PRESETS = {"cpu": AttentionPreset(embed_dim=64, num_heads=4, num_layers=2, steps=300,
                                  reader_steps=400),
           "gpu": AttentionPreset(embed_dim=128, num_heads=4, num_layers=4, steps=1500,
                                  reader_steps=2000)}
