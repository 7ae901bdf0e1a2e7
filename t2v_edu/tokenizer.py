"""A frame tokenizer: video -> a grid of discrete codes per frame -> video (notebook 06).

The transformer of ``t2v_edu.t2v`` predicts *tokens*, so frames must become a short
sequence of integers and back. We reuse notebook 05's convolutional encoder and
decoder and put a discrete bottleneck between them: finite scalar quantisation (FSQ,
Mentzer et al. 2023), a simpler alternative to VQ-VAE's learned codebook.

FSQ with levels (L_1, .., L_d): the encoder outputs d channels per grid cell; channel
i is squashed with tanh into a range that holds L_i integers ([-(L_i - 1)/2, (L_i - 1)/2]
for odd L_i, shifted by 1/2 for even L_i: ``fsq_bound``) and rounded to the nearest
integer, so a cell takes one of prod(L_i) values (levels (5, 5, 5): 125 codes). Its
code index is the mixed-radix number of the d digits. Rounding has zero gradient
almost everywhere; the straight-through estimator passes the gradient through as if
rounding were the identity:  round_ste(z) = z + stopgrad(round(z) - z).

Shapes: video [B, T, 3, H, W] in [0, 1]; codes [B, T', h, w] (int64), h = H / 2^k.
A tokenizer can work at a lower resolution than the data (``work_size``): frames are
area-downsampled before encoding and decoded frames bilinearly resized back. It can
also code ``frames_per_token`` consecutive frames together (a "tubelet", stacked in
the channels), so that T' = T / frames_per_token: fewer tokens for the transformer.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import data
from .vae import ConvDecoder, ConvEncoder

__all__ = ["straight_through_round", "fsq_bound", "fsq_quantize", "codes_to_indices",
           "indices_to_codes", "indices_to_digits", "FrameTokenizer", "TokenizerConfig",
           "tokenizer_loss", "tokenizer_l1_loss", "RECONSTRUCTION_LOSSES", "code_usage"]


# ---------------------------------------------------------------------------------
# Finite scalar quantisation
# ---------------------------------------------------------------------------------
def straight_through_round(z: Tensor) -> Tensor:
    """round_ste(z) = z + stopgrad(round(z) - z).

    Forward: round(z). Backward: d round_ste / dz = 1 (the gradient passes straight
    through), so the encoder still learns although rounding is flat almost everywhere.
    """
    return z + (torch.round(z) - z).detach()


def check_levels(levels: tuple[int, ...] | Tensor) -> tuple[int, ...]:
    """FSQ levels as a tuple of ints, or a ValueError: one or more, each >= 2."""
    levels = levels.cpu() if isinstance(levels, Tensor) else torch.as_tensor(levels)
    if (levels.dim() != 1 or levels.dtype.is_floating_point or levels.dtype == torch.bool
            or (levels < 2).any()):
        raise ValueError(f"levels must be a sequence of integers >= 2, got {levels.tolist()}")
    return tuple(levels.tolist())


def _levels_tensor(levels: tuple[int, ...] | Tensor, like: Tensor) -> Tensor:
    levels = check_levels(levels)
    if like.shape[-1] != len(levels):
        raise ValueError(f"the last dimension ({like.shape[-1]}) must equal the number of "
                         f"levels ({len(levels)})")
    return levels_on(levels, like.device)


@functools.lru_cache(maxsize=32)
def levels_on(levels: tuple[int, ...], device: torch.device) -> Tensor:
    """The levels as an int64 tensor on ``device``, made once per device (checked and
    built on the CPU: copying a new tensor to a GPU at every training step would make
    the CPU wait for the GPU each time). Do not modify it in place."""
    return torch.tensor(levels, dtype=torch.long, device=device)


def fsq_bound(z: Tensor, levels: tuple[int, ...]) -> Tensor:
    """Squash each channel into the range its levels round to:

        half = (L - 1)(1 - eps) / 2,  offset = 1/2 if L is even else 0,
        bound(z) = tanh(z + tan(offset / half)) * half - offset,

    so round(bound(z)) takes exactly L integer values (for odd L: -(L-1)/2 .. (L-1)/2,
    for even L: -L/2 .. L/2 - 1). The shift tan(offset / half) only moves the
    squashing curve sideways; it is the one the FSQ authors' code uses.
    z: [..., d] with d = len(levels) -> [..., d].
    """
    lv = _levels_tensor(levels, z).to(z.dtype)
    half = (lv - 1) * (1 - 1e-3) / 2
    offset = torch.where(lv % 2 == 0, 0.5, 0.0).to(z.dtype)
    shift = torch.tan(offset / half)
    return torch.tanh(z + shift) * half - offset


def fsq_quantize(z: Tensor, levels: tuple[int, ...]) -> Tensor:
    """FSQ: q = round_ste(bound(z)) / (L // 2), values on a grid in [-1, 1].

    z: [..., d] -> q: [..., d]; each channel i takes L_i values (e.g. L = 5:
    -1, -0.5, 0, 0.5, 1). Gradients pass through the rounding (straight-through).
    """
    lv = _levels_tensor(levels, z)
    return straight_through_round(fsq_bound(z, levels)) / (lv // 2).to(z.dtype)


def _radix_basis(lv: Tensor) -> Tensor:
    """prod_{j < i} L_j for each digit i: the place values of the mixed-radix index."""
    return torch.cumprod(torch.cat([lv.new_ones(1), lv[:-1]]), 0)


# how far (in grid steps) q_i (L_i // 2) may be from an integer and still count as on
# the code grid: room for rounding error only (fsq_quantize in bf16 is off by < 0.01)
GRID_TOLERANCE = 0.1


def codes_to_indices(q: Tensor, levels: tuple[int, ...]) -> Tensor:
    """Quantised values [..., d] -> code indices [...] (int64) in [0, prod(levels)).

    digit_i = q_i * (L_i // 2) + L_i // 2 in {0, .., L_i - 1};
    index = sum_i digit_i * prod_{j < i} L_j  (mixed radix, first digit least significant).
    q must lie on the code grid (``fsq_quantize``'s values, or ``indices_to_codes``').
    """
    lv = _levels_tensor(levels, q)
    _check_on_grid(q, lv)
    return _grid_indices(q, lv)


def _grid_indices(q: Tensor, lv: Tensor) -> Tensor:
    """``codes_to_indices`` without the grid check (q is on the grid by construction)."""
    digits = torch.round(q * (lv // 2) + lv // 2).long()
    return (digits * _radix_basis(lv)).sum(-1)


def _check_on_grid(q: Tensor, lv: Tensor) -> None:
    """q_i (L_i // 2) must be (within GRID_TOLERANCE of) an integer digit - L_i // 2."""
    digits = q.detach().float() * (lv // 2) + lv // 2
    off_grid = (digits - digits.round()).abs() > GRID_TOLERANCE
    out_of_range = (digits.round() < 0) | (digits.round() > lv - 1)
    if (off_grid | out_of_range).any():
        raise ValueError(f"q is not on the code grid of levels {lv.tolist()}: channel i must "
                         "be k / (L_i // 2) for an integer k in -(L_i // 2) .. L_i - 1 - "
                         "L_i // 2 (the values fsq_quantize gives), got values in "
                         f"[{float(q.min()):.4g}, {float(q.max()):.4g}]")


def check_indices(indices: Tensor, levels: tuple[int, ...], anywhere: bool = False,
                  name: str = "indices") -> None:
    """Code indices: an integer tensor with values in [0, prod(levels)). The values are
    read on the CPU only, unless ``anywhere`` (reading a GPU's makes the CPU wait)."""
    if (not isinstance(indices, Tensor) or indices.is_floating_point() or indices.is_complex()
            or indices.dtype == torch.bool):
        got = indices.dtype if isinstance(indices, Tensor) else type(indices).__name__
        raise TypeError(f"{name} must be an integer tensor of code indices (e.g. torch.long), "
                        f"got {got}")
    num_codes = math.prod(levels)
    if ((anywhere or indices.device.type == "cpu") and indices.numel()
            and (indices.min() < 0 or indices.max() >= num_codes)):
        raise ValueError(f"{name} must lie in [0, {num_codes}) (prod(levels) = "
                         f"prod{levels}), got [{int(indices.min())}, {int(indices.max())}]")


def indices_to_digits(indices: Tensor, levels: tuple[int, ...]) -> Tensor:
    """Code indices [...] -> their digits [..., d] (int64), digit_i in {0, .., L_i - 1}:

    digit_i = (index // prod_{j < i} L_j) mod L_i   (first digit least significant).
    """
    levels = check_levels(levels)
    check_indices(indices, levels)
    lv = levels_on(levels, indices.device)
    return (indices[..., None] // _radix_basis(lv)) % lv


def indices_to_codes(indices: Tensor, levels: tuple[int, ...]) -> Tensor:
    """Code indices [...] -> quantised values [..., d]: the inverse of codes_to_indices."""
    levels = check_levels(levels)
    check_indices(indices, levels, anywhere=True)
    lv = levels_on(levels, indices.device)
    return (indices_to_digits(indices, levels) - lv // 2).float() / (lv // 2).float()


def code_usage(indices: Tensor, num_codes: int) -> float:
    """Perplexity of the code histogram / num_codes: 1 = all codes equally used."""
    counts = torch.bincount(indices.reshape(-1), minlength=num_codes).float()
    p = counts / counts.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum()
    return float(entropy.exp() / num_codes)


# ---------------------------------------------------------------------------------
# The tokenizer
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenizerConfig:
    size: int = 32                    # the data's frame size
    work_size: int = 32               # the size the tokenizer encodes
    hidden: tuple[int, ...] = (32, 64, 64)
    levels: tuple[int, ...] = (5, 5, 5)
    frames_per_token: int = 1          # consecutive frames coded together

    def __post_init__(self):
        check_levels(self.levels)
        data.check_whole("frames_per_token", self.frames_per_token)


class FrameTokenizer(nn.Module):
    """ConvEncoder -> FSQ -> ConvDecoder, applied to every frame (or tubelet) of a video.

    encode(video [B, T, 3, H, W]) -> codes [B, T', h, w];  decode(codes) -> video in
    [0, 1];  forward(video) -> (reconstruction [B, T, 3, H, W], codes) for training
    (the straight-through estimator lets the reconstruction loss reach the encoder).
    T' = T / frames_per_token.
    """

    def __init__(self, config: TokenizerConfig = TokenizerConfig()):
        super().__init__()
        self.config = config
        self.levels = tuple(config.levels)
        self.num_codes = int(torch.tensor(self.levels).prod())
        self.grid = config.work_size // 2 ** len(config.hidden)
        if self.grid * 2 ** len(config.hidden) != config.work_size:
            raise ValueError(f"work_size {config.work_size} must be divisible by "
                             f"2^len(hidden) = {2 ** len(config.hidden)}")
        k = self.frames_per_token = config.frames_per_token
        self.encoder = ConvEncoder(3 * k, tuple(config.hidden), len(self.levels))
        self.decoder = ConvDecoder(len(self.levels), tuple(config.hidden)[::-1], 3 * k)

    def _frames(self, video: Tensor) -> Tensor:
        """[B, T, 3, H, W] -> tubelets [B*T', 3k, s, s] at the working size."""
        if video.dim() != 5 or video.shape[2] != 3:
            raise ValueError(f"video must be [B, T, 3, H, W], got {tuple(video.shape)}")
        data.check_float(video, "video")
        B, T, _, H, W = video.shape
        k = self.frames_per_token
        if T % k:
            raise ValueError(f"{T} frames cannot be cut into tubelets of {k} frames")
        frames = video.reshape(B * T // k, 3 * k, H, W)
        if frames.shape[-1] != self.config.work_size:
            frames = F.interpolate(frames, size=self.config.work_size, mode="area")
        return frames

    def _levels(self, like: Tensor) -> Tensor:
        return levels_on(tuple(self.levels), like.device)

    def quantize(self, video: Tensor) -> Tensor:
        """Quantised latents [B, T', h, w, d] (differentiable through the STE)."""
        B = video.shape[0]
        z = self.encoder(self._frames(video))                       # [B*T', d, h, w]
        q = fsq_quantize(z.permute(0, 2, 3, 1), self.levels)        # [B*T', h, w, d]
        return q.unflatten(0, (B, -1))

    def decode_latents(self, q: Tensor) -> Tensor:
        """Latents [B, T', h, w, d] -> video logits [B, T, 3, H, W] (before the sigmoid)."""
        B, n = q.shape[:2]
        x = self.decoder(q.flatten(0, 1).permute(0, 3, 1, 2))       # [B*T', 3k, s, s]
        if x.shape[-1] != self.config.size:
            x = F.interpolate(x, size=self.config.size, mode="bilinear", align_corners=False)
        return x.reshape(B, n * self.frames_per_token, 3, *x.shape[-2:])

    @torch.no_grad()
    def encode(self, video: Tensor) -> Tensor:
        """video [B, T, 3, H, W] in [0, 1] -> codes [B, T', h, w] (int64)."""
        # quantize's values are on the grid by construction: no need for
        # codes_to_indices' check, which would run at every step of the transformer stage
        return _grid_indices(self.quantize(video), self._levels(video))

    def decode(self, codes: Tensor) -> Tensor:
        """codes [B, T', h, w] -> video [B, T, 3, H, W] in [0, 1]."""
        g = self.grid
        if codes.dim() != 4 or codes.shape[-2:] != (g, g):
            raise ValueError(f"codes must be [B, T', h, w] on this tokenizer's {g} x {g} grid, "
                             f"got {tuple(codes.shape)}")
        check_indices(codes, self.levels, anywhere=True, name="codes")
        return torch.sigmoid(self.decode_latents(indices_to_codes(codes, self.levels)))

    def forward(self, video: Tensor) -> tuple[Tensor, Tensor]:
        q = self.quantize(video)
        logits = self.decode_latents(q)
        return torch.sigmoid(logits), _grid_indices(q.detach(), self._levels(video))


def _check_same_shape(recon: Tensor, video: Tensor) -> None:
    if recon.shape != video.shape:
        raise ValueError(f"recon {tuple(recon.shape)} and video {tuple(video.shape)} differ")


def tokenizer_loss(recon: Tensor, video: Tensor) -> Tensor:
    """L = mean (x_hat - x)^2, the squared error per pixel (MSE)."""
    _check_same_shape(recon, video)
    return F.mse_loss(recon, video)


def tokenizer_l1_loss(recon: Tensor, video: Tensor) -> Tensor:
    """L = mean |x_hat - x|, the absolute error per pixel (L1).

    Where the decoder is unsure whether an edge pixel is lit, squared error is least
    for a grey in between (the mean: a blurred edge, a square's corners rounded off);
    absolute error is least for the more likely of the two (the median: a sharp edge).
    """
    _check_same_shape(recon, video)
    return F.l1_loss(recon, video)


# the reconstruction losses a preset may name (``Preset.reconstruction_loss``)
RECONSTRUCTION_LOSSES = {"mse": tokenizer_loss, "l1": tokenizer_l1_loss}
