"""The "classic" text-to-video model (notebook 06): a frame tokenizer + a transformer.

In the VideoGPT / GODIVA line, video generation becomes next-token prediction:

1. ``FrameTokenizer`` (``t2v_edu.tokenizer``) turns each frame into a small grid of
   discrete codes (FSQ) and back: a video is a sequence of T * h * w integers.
2. A caption encoder (``attention.TextTransformer``: word embeddings + self-attention)
   turns the caption into one vector per word.
3. ``VideoTransformer``, a causal transformer over the video's codes, predicts code n
   from codes < n and reads the caption through cross-attention:

       p(codes | caption) = prod_n p(code_n | code_<n, caption).

   An FSQ code is a tuple of digits (one per channel), so by default the transformer
   embeds a code as the sum of its digits' embeddings and predicts each digit with its
   own small softmax (``DigitEmbedding``, ``DigitHead``): a code the model never saw in
   some context still shares its digits with codes it did see.

Sampling draws the codes one by one (with a KV cache, so each step costs one token)
and the tokenizer decodes them. Classifier-free guidance (Ho & Salimans 2022) sharpens
the caption's effect: the model also learns p(code_n | code_<n) by seeing an empty
caption 10 % of the time, and sampling uses

    logits = logits_uncond + g * (logits_cond - logits_uncond).

Training has two stages (``stages``): the tokenizer alone (reconstruction loss), then
the caption encoder and transformer on the frozen tokenizer's codes (cross-entropy).
With ``caption_parse_steps`` (the gpu preset), a "caption" stage between them first
teaches the caption encoder to parse (each word's feature -> the shape, colour and motion
of the object it describes). The transformer stage then keeps it frozen, or with
``caption_keep_parsing`` trains it on with the parse loss as a second term. Trained only
through the video loss, it reads a two-object caption as a bag of words and the model
cannot tell which shape goes with which colour (README: "binding").

With ``plan_slots`` (the gpu preset) the transformer first writes a plan, the grid cell
where each object the caption names starts (``start_cells``), then the codes:

    p(plan, codes | caption) = p(plan | caption) * prod_n p(code_n | code_<n, plan, caption).

Without it a two-object video can lose an object that was simply never started.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import data
from .attention import TEXT_HEADS, TextTransformer, TransformerBlock, causal_mask, padding_mask
from .judges import color_masks
from .text import (PARSE_VALUES, Vocab, caption_batch, check_caption_list, parse_targets,
                   segment_ids)
from .tokenizer import (RECONSTRUCTION_LOSSES, FrameTokenizer, TokenizerConfig,
                        indices_to_digits, tokenizer_loss)
from .training import Stage, check_divides, check_fields, lookup_preset

# weights that checkpoints from before them lack (``--init-from`` starts them fresh): the
# caption parser, and the plan (``plan_slots`` > 0) of a model that had none
ADDED_LATER = ("parser.", "video.plan_")

__all__ = ["Preset", "PRESETS", "TextToVideo", "VideoTransformer", "build", "stages",
           "sample_logits", "filter_logits", "guided_logits", "KVCache", "cache_mask",
           "cached_block", "code_logits_from_digits", "DigitHead", "DigitEmbedding"]


def check_top_k(top_k: int) -> None:
    """top_k: how many of the likeliest entries to keep, a whole number >= 0 (0: all)."""
    data.check_whole("top_k", top_k, 0, " (0: keep all entries)")


@dataclass(frozen=True)
class Preset:
    """Sizes and training settings of the classic model (data, not branches)."""

    # what a checkpoint saved before a field existed implies (read by
    # training.preset_from_dict): earlier models predicted whole codes
    LEGACY: ClassVar[dict] = {"digit_codes": False}
    TEXT_HEADS: ClassVar[int] = TEXT_HEADS   # the caption encoder's attention heads

    data_spec: str = "cpu"           # t2v_edu.data spec: which shapes, colours, motions
    num_frames: int = 8
    size: int = 32                   # frame size of the data (and of generated videos)
    two_object_prob: float | None = None  # share of two-object captions in the training
                                     # videos (None: the data spec's; training.training_spec)
    # tokenizer: 32x32 halved 3 times = a 4x4 grid; 4 frames per token -> 2 x 4 x 4 codes
    work_size: int = 32              # frames are encoded at this size
    hidden: tuple[int, ...] = (32, 64, 64)
    levels: tuple[int, ...] = (8, 5, 5, 5)
    frames_per_token: int = 4        # consecutive frames coded together (a tubelet)
    tokenizer_steps: int = 2000      # measured: 1000 steps of 32 reach a 77 % shape
    tokenizer_lr: float = 3e-3       # ceiling, 2000 steps of 16 reach 98 % in less time
    tokenizer_frames: int = 1        # tubelets per video the tokenizer trains on
    tokenizer_batch: int = 16
    reconstruction_loss: str = "mse"  # or "l1": sharper edges (tokenizer.tokenizer_l1_loss)
    # caption encoder and video transformer
    text_dim: int = 64
    text_layers: int = 0             # 0: word embeddings + positions, no self-attention
    caption_segments: int = 0        # > 0: a learned embedding of each word's segment
                                     # (text.segment_ids: which object it describes)
    caption_parse_steps: int = 0     # > 0: a "caption" stage first teaches the encoder to
    caption_lr: float = 1e-3         # parse (text.parse_targets), then it stays frozen
    caption_share: float = 0.05      # (measured on CPU: binding 53 -> 79 %; README)
    caption_keep_parsing: float = 0.0  # > 0: the transformer stage trains the encoder too,
                                     # with this weight on the parse loss (0: frozen;
                                     # measured: 0.1 binds as well, generalises better)
    embed_dim: int = 96              # (one object per caption: measured better on held-out
    num_layers: int = 3              # combinations than one self-attention layer)
    num_heads: int = 4
    plan_slots: int = 0              # > 0: first sample where each named object starts (a
                                     # cell of the code grid; up to this many objects), then
                                     # the codes: "plan, then draw" (benchmarks/results/)
    plan_weight: float = 1.0         # of the plan's mean cross-entropy in the loss, against
                                     # the codes' mean (benchmarks/results/README.md)
    digit_codes: bool = True         # embed and predict codes digit by digit (measured on
                                     # this preset: held-out joint 42 -> 69 %, test 80 -> 89 %)
    transformer_steps: int = 3000    # a smaller model taking more steps learns more in
    transformer_lr: float = 2e-3     # the same CPU time (measured: 128 wide, 4 layers,
    batch_size: int = 16             # 1500 steps: 72 % / 31 % joint; this: 80 % / 48 %)
    caption_dropout: float = 0.1     # for classifier-free guidance
    # sampling
    guidance: float = 1.5             # measured best of 1, 1.25, 1.5, 2, 3, 5 (cpu preset)
    temperature: float = 0.3         # below 1: fewer incoherent codes (measured: 0.5 -> 0.3
                                     # lifts test joint 79 -> 87 %, held-out 47 -> 50 %)
    top_k: int = 0                   # 0: no top-k cut
    # how --time-budget is shared; the notebook's safety budget and evaluation size
    tokenizer_share: float = 0.3
    notebook_minutes: float = 2.5
    eval_videos: int = 128
    bf16: bool = False
    storage_dtype: str = "float32"   # of the saved weights ("float16": half the size)

    def __post_init__(self):
        check_fields(self, positive=("num_frames", "size", "work_size", "hidden",
                                     "frames_per_token", "tokenizer_steps", "tokenizer_lr",
                                     "tokenizer_frames", "tokenizer_batch", "text_dim",
                                     "caption_lr", "embed_dim", "num_layers", "num_heads",
                                     "transformer_steps", "transformer_lr", "batch_size",
                                     "notebook_minutes", "eval_videos"),
                     at_least_zero=("text_layers", "caption_segments", "caption_parse_steps",
                                    "caption_keep_parsing", "plan_weight", "guidance",
                                    "temperature", "top_k"),
                     shares=("two_object_prob", "caption_share", "caption_dropout",
                             "tokenizer_share"))
        check_top_k(self.top_k)
        if not self.levels or min(self.levels) < 2:
            raise ValueError(f"levels={self.levels!r} does not work: FSQ needs one or more "
                             "digits, each with 2 or more levels, e.g. (8, 5, 5, 5)")
        check_divides(self, "num_frames", "frames_per_token", "a token codes that many frames")
        check_divides(self, "embed_dim", "num_heads", "each head takes an equal slice")
        if self.text_layers:
            check_divides(self, "text_dim", "TEXT_HEADS", "the caption encoder's heads")
        if self.reconstruction_loss not in RECONSTRUCTION_LOSSES:
            raise ValueError(f"reconstruction_loss {self.reconstruction_loss!r} is unknown; "
                             f"use one of {sorted(RECONSTRUCTION_LOSSES)}")
        most = data.get_spec(self.data_spec).max_objects
        if self.plan_slots != 0 and not most <= self.plan_slots <= 8:
            raise ValueError(f"plan_slots {self.plan_slots} does not fit: use 0 (no plan) "
                             f"or {most} to 8 (data spec {self.data_spec!r} names up to "
                             f"{most} objects per caption)")


PRESETS: dict[str, Preset] = {
    "cpu": Preset(),
    # gpu: 60 % two-object captions in training, not the data's 30 % (measured on CPU, 2
    # seeds: sampled two-object videos bind 61 -> 79-81 %, one-object unchanged;
    # benchmarks/results/README.md)
    # gpu batches of 128: the first H100 run (batch 64) used ~5 of ~800 TFLOP/s, its steps
    # bound by kernel launches, so a bigger batch costs about the same time per step
    # (measured at 128, alone on the H100: 3668 videos/s, 15 TFLOP/s, the GPU ~40 % busy)
    # gpu tokenizer: the absolute error (L1), not MSE (measured on CPU, 1500 steps of 32, 2
    # seeds: the oracle's errors on reconstructed two-object videos 97-105 -> 50-58 of 512;
    # benchmarks/tokenizer_loss.py, benchmarks/results; not yet on an H100)
    # gpu plan: 2 slots, weighted 0.3 (measured on CPU at the gpu grid's 8 x 8, 2-3 seeds
    # each: two-object test videos missing an object 21-24 % with no plan, 4-13 % at 0.3,
    # 2-10 % at 1; two-object joint 26 %, 32-36 %, 28-34 %; one-object joint, held out,
    # 61-69 %, 70-77 %, 66-69 %; benchmarks/results/README.md)
    "gpu": Preset(data_spec="gpu", num_frames=16, size=64, work_size=64,
                  hidden=(32, 64, 128), levels=(8, 6, 5, 5), frames_per_token=4,
                  tokenizer_steps=50_000, tokenizer_lr=2e-3, tokenizer_frames=2,
                  tokenizer_batch=128, text_dim=128, text_layers=2, embed_dim=256,
                  num_layers=5, num_heads=8, transformer_steps=50_000,
                  transformer_lr=1e-3, batch_size=128, tokenizer_share=0.3, bf16=True,
                  temperature=0.5, storage_dtype="float16", caption_parse_steps=2000,
                  caption_keep_parsing=0.1, two_object_prob=0.6, reconstruction_loss="l1",
                  plan_slots=2, plan_weight=0.3),
    # for tests and rehearsals of scripts: seconds on a CPU, learns next to nothing
    "tiny": Preset(num_frames=4, size=16, work_size=8, hidden=(8,), levels=(3, 3),
                   frames_per_token=2,
                   tokenizer_steps=3, tokenizer_batch=4, text_dim=16, text_layers=1,
                   embed_dim=32, num_layers=1, num_heads=2, transformer_steps=3,
                   batch_size=4, guidance=2.0, caption_parse_steps=3, caption_keep_parsing=0.1),
}


# ---------------------------------------------------------------------------------
# Sampling formulas
# ---------------------------------------------------------------------------------
def guided_logits(cond: Tensor, uncond: Tensor, guidance: float) -> Tensor:
    """Classifier-free guidance: uncond + g * (cond - uncond); g = 1 is no guidance."""
    data.check_real("guidance", guidance)
    if cond.shape != uncond.shape:
        raise ValueError(f"cond {tuple(cond.shape)} and uncond {tuple(uncond.shape)} must "
                         "have the same shape (one unconditional row per conditional row)")
    return uncond + guidance * (cond - uncond)


def filter_logits(logits: Tensor, temperature: float = 1.0, top_k: int = 0) -> Tensor:
    """logits / temperature, with every entry below the k-th largest of its row set to
    -inf (top_k = 0 keeps all). logits: [B, V] (or any [..., V]) -> the same shape.

    Lower temperature sharpens softmax(logits / T); top-k never draws the unlikely tail.
    """
    data.check_real("temperature", temperature, strict=True)
    check_top_k(top_k)
    logits = logits.float() / temperature
    if 0 < top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]          # [..., 1]
        logits = logits.masked_fill(logits < kth, -float("inf"))
    return logits


def sample_logits(logits: Tensor, temperature: float = 1.0, top_k: int = 0,
                  generator: torch.Generator | None = None) -> Tensor:
    """Draw one index per row from softmax(filter_logits(logits, temperature, top_k)).

    logits: [B, V] -> indices [B] (int64). temperature 0 takes the argmax.
    """
    data.check_real("temperature", temperature)   # 0: greedy
    check_top_k(top_k)
    if temperature == 0:
        return logits.argmax(-1)
    probs = torch.softmax(filter_logits(logits, temperature, top_k), dim=-1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


# ---------------------------------------------------------------------------------
# The video transformer
# ---------------------------------------------------------------------------------
class KVCache:
    """Keys and values of the positions seen so far, per block: [B, heads, n, head_dim].

    Preallocated for ``max_len`` positions, so appending one position writes in place
    instead of copying everything seen so far.
    """

    def __init__(self, num_layers: int, max_len: int):
        self.max_len, self.length = max_len, 0
        self.keys: list[Tensor | None] = [None] * num_layers
        self.values: list[Tensor | None] = [None] * num_layers

    def append(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store k, v [B, heads, n, d] after the cached positions; return all so far."""
        if self.keys[layer] is None:
            shape = (*k.shape[:2], self.max_len, k.shape[-1])
            self.keys[layer], self.values[layer] = k.new_empty(shape), v.new_empty(shape)
        start, end = self.length, self.length + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"the cache holds {self.max_len} positions; {end} requested")
        self.keys[layer][:, :, start:end] = k
        self.values[layer][:, :, start:end] = v
        if layer == len(self.keys) - 1:  # the last block has stored them: advance
            self.length = end
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]


def cache_mask(num_new: int, total: int, device: torch.device | str | None = None) -> Tensor:
    """Which of ``total`` keys each of the ``num_new`` newest queries may attend to.

    The queries are positions total - num_new, ..., total - 1; query i may attend to
    key j when j <= total - num_new + i: bool [num_new, total], the last num_new rows
    of causal_mask(total). With one new position (sampling) every key is allowed.
    """
    if not 0 < num_new <= total:
        raise ValueError(f"need 0 < num_new <= total, got {num_new} and {total}")
    return torch.ones(num_new, total, dtype=torch.bool, device=device).tril(total - num_new)


def _heads(x: Tensor, num_heads: int) -> Tensor:
    """[B, n, E] -> [B, heads, n, E / heads]."""
    B, n, E = x.shape
    return x.view(B, n, num_heads, E // num_heads).transpose(1, 2)


def cached_block(block: TransformerBlock, x: Tensor, layer: int, cache: KVCache,
                 context: Tensor, context_mask: Tensor) -> Tensor:
    """``block(x)`` for the newest positions x [B, n, E], reusing cached keys/values.

    The same computation as TransformerBlock.forward (pre-norm self-attention,
    cross-attention, MLP), except that the self-attention's keys and values of
    earlier positions come from the cache instead of being recomputed. The new
    positions are the latest ones, so they may attend to every cached key; with
    n > 1 they also need the causal mask among themselves.
    """
    attn = block.attn
    h = block.norm1(x)
    q = _heads(attn.q_proj(h), attn.num_heads)
    k, v = cache.append(layer, _heads(attn.k_proj(h), attn.num_heads),
                        _heads(attn.v_proj(h), attn.num_heads))
    mask = cache_mask(x.shape[1], k.shape[2], x.device)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # [B, heads, n, d]
    x = x + attn.out_proj(out.transpose(1, 2).reshape(x.shape))
    h, _ = block.cross(block.norm_cross(x), context, context, mask=context_mask,
                       need_weights=False)
    x = x + h
    return x + block.mlp(block.norm2(x))


def code_logits_from_digits(digit_logits: list[Tensor]) -> Tensor:
    """logit(c) = Σ_k digit_logits[k][d_k(c)]: whole-code logits from one vector per digit.

    digit_logits[k]: [..., L_k]. Code c has the digits d_k(c) of its index
    c = d_1 + L_1 d_2 + L_1 L_2 d_3 + ... (as in ``tokenizer.codes_to_indices``), and

        logit(c) = sum_k digit_logits[k][..., d_k(c)]      -> [..., prod_k L_k],

    so softmax over codes = prod_k softmax(digit_logits[k])[d_k]: given the context,
    the digits of one code are independent.
    """
    if isinstance(digit_logits, Tensor):
        raise TypeError("digit_logits must be a list of tensors, one per digit, got one "
                        "tensor: wrap it, [logits]")
    if (not isinstance(digit_logits, (list, tuple)) or not digit_logits
            or not all(isinstance(lg, Tensor) and lg.dim() >= 1 for lg in digit_logits)):
        raise TypeError("digit_logits must be a non-empty list of tensors [..., L_k], one "
                        f"per digit, got {str(digit_logits)[:80]}")
    if len({lg.shape[:-1] for lg in digit_logits}) > 1:
        raise ValueError("digit_logits must share their leading dimensions [...], got shapes "
                         f"{[tuple(lg.shape) for lg in digit_logits]}")
    # = sum_k digit_logits[k][..., indices_to_digits(arange(num_codes))[:, k]], computed
    # by broadcasting: digit k varies along axis K - 1 - k of a [..., L_K, .., L_1] grid,
    # whose flattening is the code index (measured: a training step 16 % faster)
    K = len(digit_logits)
    out = 0
    for k, logits in enumerate(digit_logits):
        shape = [1] * K
        shape[K - 1 - k] = logits.shape[-1]
        out = out + logits.reshape(*logits.shape[:-1], *shape)
    return out.flatten(-K)


class DigitHead(nn.Module):
    """h [..., E] -> code logits [..., prod(levels)]: one linear layer per FSQ digit."""

    def __init__(self, embed_dim: int, levels: tuple[int, ...]):
        super().__init__()
        self.digits = nn.ModuleList(nn.Linear(embed_dim, L) for L in levels)

    def forward(self, h: Tensor) -> Tensor:
        # summed in float32: under bf16 autocast the digit logits are bf16
        return code_logits_from_digits([digit(h).float() for digit in self.digits])


class DigitEmbedding(nn.Module):
    """Code ids [...] -> sum_i E_i[digit_i]  [..., E]; id prod(levels) is <start>."""

    def __init__(self, levels: tuple[int, ...], embed_dim: int):
        super().__init__()
        self.levels, self.start_id = tuple(levels), math.prod(levels)
        self.digits = nn.ModuleList(nn.Embedding(L, embed_dim) for L in levels)
        self.start = nn.Parameter(torch.randn(embed_dim) * 0.02)

    def forward(self, ids: Tensor) -> Tensor:
        digits = indices_to_digits(ids.clamp_max(self.start_id - 1), self.levels)
        x = sum(embed(digits[..., i]) for i, embed in enumerate(self.digits))
        return torch.where((ids == self.start_id)[..., None], self.start, x)


class VideoTransformer(nn.Module):
    """A causal transformer over a video's codes that reads the caption by cross-attention.

    Position n of the sequence is (frame t, row i, column j) in raster order; its
    embedding is token + frame_t + row_i + column_j (learned, factorised over space
    and time). Input n is code n - 1 (a <start> token at n = 0); output n predicts
    code n. forward(inputs [B, n], context [B, L, C], context_mask [B, 1, L])
    -> logits [B, n, num_codes]. With ``levels`` (the FSQ levels), codes are embedded
    and predicted digit by digit (DigitEmbedding, DigitHead); without, as whole codes.
    num_frames counts token frames: T' = T / frames_per_token of the tokenizer.

    With ``plan_slots`` = S > 0 the sequence starts with a plan: S tokens, each the cell
    of the h x w grid where one named object starts (or ``plan_cells - 1``: no object),
    then the codes. Inputs are <start>, plan_1..plan_S, code_1..; outputs 0..S-1 predict
    the plan (``plan_head``), the rest the codes (``head``); ``hidden`` gives both.
    """

    def __init__(self, num_codes: int, num_frames: int, grid: int, embed_dim: int,
                 num_layers: int, num_heads: int, context_dim: int,
                 levels: tuple[int, ...] | None = None, plan_slots: int = 0):
        super().__init__()
        if levels is not None and math.prod(levels) != num_codes:
            raise ValueError(f"levels {levels} give {math.prod(levels)} codes, not {num_codes}")
        self.num_codes, self.num_frames, self.grid = num_codes, num_frames, grid   # T' frames
        self.plan_slots, self.plan_cells = plan_slots, grid * grid + 1    # + "no object"
        self.length = plan_slots + num_frames * grid * grid                # whole sequence
        self.start_id = num_codes
        self.token = (DigitEmbedding(levels, embed_dim) if levels is not None   # + <start>
                      else nn.Embedding(num_codes + 1, embed_dim))
        self.frame_pos = nn.Parameter(torch.randn(num_frames, embed_dim) * 0.02)
        self.row_pos = nn.Parameter(torch.randn(grid, embed_dim) * 0.02)
        self.col_pos = nn.Parameter(torch.randn(grid, embed_dim) * 0.02)
        if plan_slots:
            self.plan_token = nn.Embedding(self.plan_cells, embed_dim)
            self.plan_pos = nn.Parameter(torch.randn(plan_slots, embed_dim) * 0.02)
            self.plan_head = nn.Linear(embed_dim, self.plan_cells)
        self.blocks = nn.ModuleList(
            TransformerBlock(embed_dim, num_heads, cross_attention=True, context_dim=context_dim)
            for _ in range(num_layers))
        self.norm = nn.LayerNorm(embed_dim)
        self.head = (DigitHead(embed_dim, levels) if levels is not None
                     else nn.Linear(embed_dim, num_codes))
        self.register_buffer("mask", causal_mask(self.length), persistent=False)

    def positions(self) -> Tensor:
        """Position embeddings [S + T * h * w, E]: the plan's, then frame + row + column."""
        pos = (self.frame_pos[:, None, None] + self.row_pos[None, :, None]
               + self.col_pos[None, None, :]).flatten(0, 2)          # [T * h * w, E]
        return torch.cat([self.plan_pos, pos]) if self.plan_slots else pos

    def embed(self, inputs: Tensor, first: int = 0) -> Tensor:
        """Token + position embeddings of inputs [B, n] at sequence positions first.. ."""
        n = inputs.shape[1]
        x = self.token(inputs)
        if self.plan_slots:   # inputs 1..S are plan cells, not codes
            where = torch.arange(first, first + n, device=inputs.device)
            is_plan = ((where >= 1) & (where <= self.plan_slots))[:, None]
            x = torch.where(is_plan, self.plan_token(inputs.clamp_max(self.plan_cells - 1)), x)
        return x + self.positions()[first:first + n]

    def hidden(self, inputs: Tensor, context: Tensor, context_mask: Tensor,
               cache: KVCache | None = None) -> Tensor:
        """The last block's normalised output [B, n, E] for inputs [B, n]: of the whole
        prefix (no cache), or of the positions after the cached ones."""
        first = 0 if cache is None else cache.length
        n = inputs.shape[1]
        if first + n > self.length:
            raise ValueError(f"at most {self.length} positions, got {first + n}")
        x = self.embed(inputs, first)                                # [B, n, E]
        for layer, block in enumerate(self.blocks):
            x = (block(x, mask=self.mask[:n, :n], context=context, context_mask=context_mask)
                 if cache is None else cached_block(block, x, layer, cache, context, context_mask))
        return self.norm(x)

    def forward(self, inputs: Tensor, context: Tensor, context_mask: Tensor) -> Tensor:
        return self.head(self.hidden(inputs, context, context_mask))  # [B, n, num_codes]

    def step(self, inputs: Tensor, cache: KVCache, context: Tensor,
             context_mask: Tensor) -> Tensor:
        """Logits for the positions after the cached ones: inputs [B, n] -> [B, n, V]."""
        return self.head(self.hidden(inputs, context, context_mask, cache))


@functools.lru_cache(maxsize=2**16)
def _caption_colors(caption: str) -> tuple[int, ...]:
    """Palette indices of the objects a caption names (cached: a GPU step's CPU time)."""
    colors = list(data.PALETTE)
    return tuple(colors.index(obj["color"]) for obj in data.parse_caption(caption))


def named_colors(captions: list[str], slots: int) -> Tensor:
    """The palette index of each object a caption names, in caption order, padded with -1:
    long [B, slots]. A caption naming more than ``slots`` objects is refused."""
    rows = []
    for caption in captions:
        colors = _caption_colors(caption)
        if len(colors) > slots:
            raise ValueError(f"caption {caption!r} names {len(colors)} objects; this model "
                             f"plans at most {slots} (Preset.plan_slots)")
        rows.append(colors + (-1,) * (slots - len(colors)))
    return torch.tensor(rows, dtype=torch.long).view(len(captions), slots)


def check_caption_count(captions: list[str], count: int, rows: str = "videos") -> None:
    """One caption per video (or row of codes): a ValueError naming both counts."""
    check_caption_list(captions, "captions")
    if len(captions) != count:
        raise ValueError(f"{len(captions)} caption(s) for {count} {rows}: give one caption per "
                         f"row, a list of {count} captions")


def start_cells(videos: Tensor, colors: Tensor, grid: int) -> Tensor:
    """The plan a video carries: the grid cell holding each named object's centre in the
    first frame, or grid * grid where none is named (colors -1) or its colour is absent.

    With m the object's colour mask in frame 0 (``judges.color_masks``), its centre is
    (x, y) = sum_p m_p (x_p, y_p) / sum_p m_p in [0, 1]^2, and its cell is
    floor(y * grid) * grid + floor(x * grid).
    videos [B, T, 3, H, W], colors [B, S] (palette indices) -> long [B, S].
    """
    masks = color_masks(videos[:, 0:1].float(), tuple(data.PALETTE))[:, 0]   # [B, K, H, W]
    H, W = masks.shape[-2:]
    ys = (torch.arange(H, device=masks.device) + 0.5) / H
    xs = (torch.arange(W, device=masks.device) + 0.5) / W
    mass = masks.sum((-2, -1))                                                # [B, K]
    x = (masks.sum(-2) * xs).sum(-1) / mass.clamp_min(1e-6)
    y = (masks.sum(-1) * ys).sum(-1) / mass.clamp_min(1e-6)
    cells = ((y * grid).long().clamp(0, grid - 1) * grid
             + (x * grid).long().clamp(0, grid - 1))                          # [B, K]
    colors = data.to_device(colors, masks.device)   # no wait for the GPU
    picked = cells.gather(1, colors.clamp_min(0))
    seen = mass.gather(1, colors.clamp_min(0)) > 0.5        # at least half a pixel's worth
    return torch.where((colors >= 0) & seen, picked, grid * grid)


# ---------------------------------------------------------------------------------
# The whole model
# ---------------------------------------------------------------------------------
class TextToVideo(nn.Module):
    """Caption -> codes -> video. ``loss`` trains it; ``sample`` generates.

    Attributes: vocab (the caption grammar's words), tokenizer, text (caption
    encoder), video (the causal transformer).
    """

    def __init__(self, preset: Preset = PRESETS["cpu"]):
        super().__init__()
        self.preset = preset
        self.vocab = Vocab.default()
        self.tokenizer = FrameTokenizer(TokenizerConfig(
            preset.size, preset.work_size, tuple(preset.hidden), tuple(preset.levels),
            preset.frames_per_token))
        self.text = TextTransformer(len(self.vocab), preset.text_dim,
                                    num_heads=preset.TEXT_HEADS,
                                    num_layers=preset.text_layers, max_len=48,
                                    num_segments=preset.caption_segments)
        self.video = VideoTransformer(self.tokenizer.num_codes,
                                      preset.num_frames // preset.frames_per_token,
                                      self.tokenizer.grid, preset.embed_dim,
                                      preset.num_layers, preset.num_heads, preset.text_dim,
                                      tuple(preset.levels) if preset.digit_codes else None,
                                      plan_slots=preset.plan_slots)
        # the parser's heads: word feature -> its object's shape, colour, motion
        self.parser = (nn.ModuleList(nn.Linear(preset.text_dim, len(values))
                                     for values in PARSE_VALUES)
                       if preset.caption_parse_steps else None)

    @property
    def device(self) -> torch.device:
        return self.video.norm.weight.device

    # -- caption ---------------------------------------------------------------
    def encode_text(self, captions: list[str], drop: Tensor | None = None
                    ) -> tuple[Tensor, Tensor]:
        """(word features [B, L, C], mask [B, 1, L]); rows where ``drop`` is True get
        the empty caption (only <bos>), the unconditional input of guidance."""
        ids, lengths = caption_batch(self.vocab, captions, self.device, drop)
        segments = (segment_ids(ids, self.vocab.stoi["and"], self.vocab.stoi["it"])
                    if self.preset.caption_segments else None)
        tokens, _ = self.text(ids, lengths, segments=segments)
        return tokens, padding_mask(lengths, ids.shape[1])

    # -- training --------------------------------------------------------------
    def parse_loss(self, videos: None, captions: list[str]) -> tuple[Tensor, dict[str, Tensor]]:
        """The caption stage: sum over (shape, colour, motion) of the cross-entropy of each
        word's object's value (``text.parse_targets``) from the word's feature. Captions
        only (``videos`` is None)."""
        tokens, _ = self.encode_text(captions)                                      # [B, L, C]
        return self.parse_loss_of(tokens, captions)

    def parse_loss_of(self, tokens: Tensor, captions: list[str]
                      ) -> tuple[Tensor, dict[str, Tensor]]:
        """``parse_loss`` from word features tokens [B, L, C] already encoded."""
        targets = data.to_device(parse_targets(self.vocab, captions), self.device)  # [B, L, 3]
        logits = [head(tokens).float() for head in self.parser]
        loss = sum(F.cross_entropy(lg.flatten(0, 1), targets[..., k].flatten())  # -100: skip
                   for k, lg in enumerate(logits))
        right = torch.stack([lg.argmax(-1) == targets[..., k]
                             for k, lg in enumerate(logits)]).all(0)
        scored = targets[..., 0] >= 0
        return loss, {"parse_accuracy": (right & scored).sum() / scored.sum()}

    def tokenizer_loss(self, videos: Tensor, captions: list[str]
                       ) -> tuple[Tensor, dict[str, Tensor]]:
        """The reconstruction loss (``preset.reconstruction_loss``: MSE or L1) on
        ``tokenizer_frames`` random frames (or tubelets) of each video; its PSNR comes
        from the MSE either way."""
        k = self.preset.frames_per_token
        tubes = videos.unflatten(1, (-1, k))                        # [B, T/k, k, 3, H, W]
        B, n = tubes.shape[:2]
        pick = torch.randint(0, n, (B, self.preset.tokenizer_frames), device=videos.device)
        frames = tubes[torch.arange(B, device=videos.device)[:, None], pick].flatten(1, 2)
        recon, _ = self.tokenizer(frames)
        recon = recon.float()
        loss = RECONSTRUCTION_LOSSES[self.preset.reconstruction_loss](recon, frames)
        mse = tokenizer_loss(recon.detach(), frames)
        return loss, {"psnr": -10 * torch.log10(mse.clamp_min(1e-10))}

    def codes(self, videos: Tensor) -> Tensor:
        """The frozen tokenizer's codes, flattened in raster order: [B, T' * h * w].

        Always in float32 (outside any bf16 autocast), so that training sees the codes
        that ``reconstruct`` and evaluation see.
        """
        self.tokenizer.eval()
        with torch.autocast(videos.device.type, enabled=False):
            return self.tokenizer.encode(videos.float()).flatten(1)

    def plan(self, videos: Tensor, captions: list[str]) -> Tensor | None:
        """The plan of videos [B, T, 3, H, W] for their captions: where each named object
        starts (``start_cells``), long [B, plan_slots]; None for a model without one."""
        if not self.preset.plan_slots:
            return None
        colors = named_colors(captions, self.preset.plan_slots)
        videos = videos.to(self.device)
        with torch.autocast(videos.device.type, enabled=False):   # float32, as ``codes``
            return start_cells(videos, colors, self.video.grid)

    def caption_context(self, captions: list[str], drop: Tensor | None = None
                        ) -> tuple[Tensor, Tensor]:
        """``encode_text``, without gradients when the parsed encoder stays frozen."""
        frozen = caption_frozen(self.preset)   # the parsed encoder stays as it is
        with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
            return self.encode_text(captions, drop)

    def code_logits(self, codes: Tensor, captions: list[str], drop: Tensor | None = None,
                    plan: Tensor | None = None) -> Tensor:
        """Teacher forcing: logits [B, N, num_codes] of each code given the true earlier
        codes [B, N] and the caption (rows where ``drop`` is True: the empty caption);
        a model with ``plan_slots`` also needs the plan (``self.plan(videos, captions)``)."""
        check_caption_count(captions, codes.shape[0], "rows of codes")
        context, context_mask = self.caption_context(captions, drop)
        return self.logits_given_context(codes, context, context_mask, plan)[1]

    def logits_given_context(self, codes: Tensor, context: Tensor, context_mask: Tensor,
                             plan: Tensor | None = None) -> tuple[Tensor | None, Tensor]:
        """Teacher forcing from the caption's word features [B, L, C] and mask [B, 1, L]:
        (the plan's logits [B, S, plan_cells] or None, the codes' [B, N, num_codes])."""
        S = self.video.plan_slots
        if (plan is None) != (S == 0):
            raise ValueError(f"this model plans {S} objects first: give plan "
                             "(model.plan(videos, captions)) exactly when it plans")
        start = torch.full_like(codes[:, :1], self.video.start_id)
        prefix = [start] if plan is None else [start, plan.to(codes.device)]
        h = self.video.hidden(torch.cat([*prefix, codes[:, :-1]], 1), context, context_mask)
        plan_logits = self.video.plan_head(h[:, :S]) if S else None
        return plan_logits, self.video.head(h[:, S:])

    def transformer_loss(self, videos: Tensor, captions: list[str]
                         ) -> tuple[Tensor, dict[str, Tensor]]:
        """Cross-entropy of each code given the earlier codes and the caption (with a
        plan: plus ``plan_weight`` times the plan's mean cross-entropy; with
        ``caption_keep_parsing``: plus that weight times the parse loss)."""
        check_caption_count(captions, videos.shape[0])
        codes = self.codes(videos)                                  # [B, N]
        plan = self.plan(videos, captions)   # of the captions as written, dropped or not
        drop = torch.rand(len(captions)) < self.preset.caption_dropout
        keep_parsing = self.preset.caption_keep_parsing   # the encoder keeps parsing
        if keep_parsing:                                   # while it adapts
            tokens, (context, context_mask) = self.shared_encoding(captions, drop)
        else:
            context, context_mask = self.caption_context(captions, drop)
        plan_logits, logits = self.logits_given_context(codes, context, context_mask, plan)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), codes.flatten())
        metrics = {"bits_per_token": loss.detach() / math.log(2)}
        if plan is not None:   # the plan's mean cross-entropy, weighted against the codes'
            plan_loss = F.cross_entropy(plan_logits.flatten(0, 1).float(), plan.flatten())
            loss = loss + self.preset.plan_weight * plan_loss
            metrics["plan_bits_per_token"] = plan_loss.detach() / math.log(2)
        if keep_parsing:
            parse, parsed = self.parse_loss_of(tokens, captions)
            loss = loss + keep_parsing * parse
            metrics.update(parsed)
        return loss, metrics

    def shared_encoding(self, captions: list[str], drop: Tensor
                        ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """One pass of the caption encoder for both losses of the transformer stage:
        (word features of the captions as written [B, L, C], for the parse loss) and
        (context, mask) with the rows where ``drop`` is True replaced by the empty
        caption, for the code loss. The empty caption is encoded as one extra row: the
        same numbers as ``encode_text(captions, drop)``, in one pass instead of two (a
        GPU step is bound by the operations the CPU queues)."""
        B = len(captions)
        tokens, mask = self.encode_text(list(captions) + [""], torch.arange(B + 1) == B)
        keep = data.to_device(~drop, self.device)[:, None, None]     # [B, 1, 1]
        context = torch.where(keep, tokens[:B], tokens[B:])
        return tokens[:B], (context, torch.where(keep, mask[:B], mask[B:]))

    @torch.no_grad()
    def nll(self, videos: Tensor, captions: list[str]) -> Tensor:
        """-log p(codes of each video | caption) in nats: [B], summed over the codes
        (with a plan: plus -log p(plan | caption), the plan being the video's own).

        One forward pass, no sampling: how likely the model finds a given video for a
        caption (``evaluation.binding_test`` compares it between videos). The videos may
        be on another device than the model (the test draws them on the CPU).
        """
        check_caption_count(captions, videos.shape[0])
        self.eval()
        videos = videos.to(self.device)
        codes, plan = self.codes(videos), self.plan(videos, captions)
        plan_logits, logits = self.logits_given_context(codes, *self.encode_text(captions),
                                                        plan)
        nll = F.cross_entropy(logits.flatten(0, 1).float(), codes.flatten(),
                              reduction="none").view(codes.shape).sum(1)
        if plan is not None:   # -log p(plan | caption) - log p(codes | plan, caption)
            nll = nll + F.cross_entropy(plan_logits.flatten(0, 1).float(), plan.flatten(),
                                        reduction="none").view(plan.shape).sum(1)
        return nll

    # -- sampling --------------------------------------------------------------
    @torch.no_grad()
    def sample_codes(self, captions: list[str], generator: torch.Generator | None = None,
                     guidance: float | None = None, temperature: float | None = None,
                     top_k: int | None = None, use_cache: bool = True,
                     return_plan: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """Draw codes [B, T', h, w] one position at a time (KV cache unless told not to).

        T' = T / frames_per_token token frames (``self.video.num_frames``). A model with
        ``plan_slots`` first draws the plan, at temperature 1 (a colder plan would crowd
        every video's objects into the likeliest cells), limited to the caption's number
        of objects (``plan_choices``): as many cells as it names, then "no object".
        ``return_plan``: return (codes, plan [B, plan_slots]). One caption may be a
        string; a word the captions' grammar lacks is a ValueError naming it
        (``t2v_edu.generate`` also refuses what this model's data lacks).
        """
        from .generation import check_captions

        p = self.preset
        captions = check_captions(captions)
        guidance = p.guidance if guidance is None else guidance
        temperature = p.temperature if temperature is None else temperature
        top_k = p.top_k if top_k is None else top_k
        B, guided = len(captions), guidance != 1.0
        drop = torch.arange(2 * B if guided else B) >= B                # second half: empty
        context, context_mask = self.encode_text(list(captions) * (2 if guided else 1), drop)
        rows, S = 2 * B if guided else B, self.video.plan_slots
        choices = self.plan_choices(captions) if S else None            # [B, S, cells]
        inputs = torch.full((rows, 1), self.video.start_id, device=self.device)
        cache = KVCache(len(self.video.blocks), self.video.length)
        out, plan = [], []
        for n in range(self.video.length):
            if use_cache:
                h = self.video.hidden(inputs[:, -1:], context, context_mask, cache)[:, -1]
            else:
                h = self.video.hidden(inputs, context, context_mask)[:, -1]
            logits = self.video.plan_head(h) if n < S else self.video.head(h)
            if guided:
                logits = guided_logits(logits[:B], logits[B:], guidance)
            if n < S:   # a plan cell
                token = sample_logits(logits.masked_fill(~choices[:, n], -float("inf")),
                                      1.0, 0, generator)
                plan.append(token)
            else:
                token = sample_logits(logits, temperature, top_k, generator)  # [B]
                out.append(token)
            inputs = torch.cat([inputs, token.repeat(2 if guided else 1)[:, None]], 1)
        g = self.video.grid
        codes = torch.stack(out, 1).view(B, self.video.num_frames, g, g)
        if not return_plan:
            return codes
        return codes, (torch.stack(plan, 1) if plan else codes.new_zeros(B, 0))

    def plan_choices(self, captions: list[str]) -> Tensor:
        """Which plan tokens sampling may draw: bool [B, plan_slots, plan_cells]; a slot
        whose object the caption names may take any cell, the others only "no object"."""
        named = data.to_device(named_colors(captions, self.video.plan_slots), self.device) >= 0
        none = torch.arange(self.video.plan_cells, device=self.device) == self.video.plan_cells - 1
        return torch.where(named[..., None], ~none, none)

    @torch.no_grad()
    def sample(self, captions: list[str], generator: torch.Generator | None = None,
               **kwargs) -> Tensor:
        """Videos for captions: float [B, T, 3, H, W] in [0, 1]. kwargs: guidance,
        temperature, top_k (defaults from the preset)."""
        self.eval()
        return self.tokenizer.decode(self.sample_codes(captions, generator, **kwargs))

    @torch.no_grad()
    def reconstruct(self, videos: Tensor) -> Tensor:
        """decode(encode(videos)): what the tokenizer keeps of a video."""
        self.eval()
        return self.tokenizer.decode(self.tokenizer.encode(videos))


# ---------------------------------------------------------------------------------
# The interface of t2v_edu.training
# ---------------------------------------------------------------------------------
def build(preset: Preset | str = "cpu") -> TextToVideo:
    """A fresh model for a preset (a name or a Preset)."""
    return TextToVideo(lookup_preset(PRESETS, preset))


def caption_frozen(preset: Preset) -> bool:
    """Whether the transformer stage leaves the caption encoder as the caption stage left
    it: parsed first, and not asked to keep parsing."""
    return preset.caption_parse_steps > 0 and not preset.caption_keep_parsing


def stages(model: TextToVideo, preset: Preset) -> list[Stage]:
    """Tokenizer first (reconstruction), then caption encoder + transformer."""

    def show_reconstructions(videos, captions):
        return torch.cat([videos[:4], model.reconstruct(videos[:4])])

    def show_samples(videos, captions):
        gen = torch.Generator(device=model.device).manual_seed(0)
        return model.sample(captions[:8], generator=gen)

    parse, frozen = preset.caption_parse_steps > 0, caption_frozen(preset)
    tokenizer = Stage("tokenizer", preset.tokenizer_steps, preset.tokenizer_lr,
                      list(model.tokenizer.parameters()), model.tokenizer_loss,
                      preview=show_reconstructions, time_share=preset.tokenizer_share,
                      warmup=50, batch_size=preset.tokenizer_batch, final_lr_fraction=0.0)
    caption = Stage("caption", preset.caption_parse_steps, preset.caption_lr,
                    list(model.text.parameters()) + list(model.parser.parameters()),
                    model.parse_loss, time_share=preset.caption_share, warmup=50,
                    uses_videos=False) if parse else None
    # a parsed caption encoder stays frozen (code_logits) unless it keeps parsing
    trained = [model.video] if frozen else [model.video, model.text] + (
        [model.parser] if parse else [])
    transformer = Stage("transformer", preset.transformer_steps, preset.transformer_lr,
                        [p for module in trained for p in module.parameters()],
                        model.transformer_loss, preview=show_samples,
                        time_share=1 - preset.tokenizer_share - (preset.caption_share
                                                                 if parse else 0),
                        warmup=100, weight_decay=0.01, final_lr_fraction=0.0)
    return [stage for stage in (tokenizer, caption, transformer) if stage is not None]
