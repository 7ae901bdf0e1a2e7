"""Telling real videos from generated ones (notebook 08, "ethics and privacy").

Two detectors, from the transparent to the learned:

- ``palette_residual``: every pixel of a real video of the data set lies on the ray
  from black through one palette colour (anti-aliased edges blend a colour with the
  black background). The mean distance of the pixels to those rays is ~0 for real
  videos (floating-point rounding); generators blur and mix colours. One number per
  video, one threshold.
- ``VideoDetector``: a small 3-D convolutional network trained with binary
  cross-entropy (real = 1, generated = 0), which finds its own cues.

``detection_accuracy`` scores either on held-out videos. High accuracy on *these*
generators says little about real deepfakes: a detector learns the artefacts of the
generators it was trained on (see notebook 08's discussion).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import data
from .judges import check_video_pixels, check_videos


# ---------------------------------------------------------------------------------
# A transparent detector: distance to the palette
# ---------------------------------------------------------------------------------
def palette_directions(spec: str | data.DataSpec = "cpu") -> Tensor:
    """Unit RGB vectors of the spec's colours: [K, 3]."""
    colors = torch.tensor([data.PALETTE[c] for c in data.get_spec(spec).colors])
    return colors / colors.norm(dim=1, keepdim=True)


def palette_residual(videos: Tensor, spec: str | data.DataSpec = "cpu") -> Tensor:
    """r(x) = min_k |x - max(0, x.u_k) u_k|, averaged over each video's pixels: [B].

    The distance of a pixel x to the ray from black along the unit colour direction u
    is |x - max(0, x.u) u|; r(x) is the smallest over the palette's colours u_k: how far
    the pixel is from every colour the data can draw. Real videos of the data set score
    ~0 (floating-point rounding, and where two objects overlap).
    """
    videos = check_video_pixels(videos)
    x = videos.permute(0, 1, 3, 4, 2).reshape(len(videos), -1, 3)    # [B, N, 3]
    u = palette_directions(spec).to(x)                                 # [K, 3]
    along = x @ u.T                                                    # [B, N, K]
    dist = (x.pow(2).sum(-1, keepdim=True) - along.clamp(min=0).pow(2)).clamp(min=0).sqrt()
    return dist.min(dim=-1).values.mean(dim=1)                         # [B]


def threshold_accuracy(real_scores: Tensor, fake_scores: Tensor, threshold: float) -> float:
    """Accuracy of the rule "real if score <= threshold" over both sets of videos."""
    right = (real_scores <= threshold).sum() + (fake_scores > threshold).sum()
    return right.item() / (len(real_scores) + len(fake_scores))


def best_threshold(real_scores: Tensor, fake_scores: Tensor) -> tuple[float, float]:
    """The threshold t (real if score <= t) with the best accuracy: (t, accuracy).

    The accuracy is measured on the very scores t was fitted to (in-sample), so it is
    optimistic: score a held-out half with ``threshold_accuracy`` to compare it with
    ``detection_accuracy``. Real and fake count per video, so unequal counts shift the
    chance level.
    """
    best = (0.0, 0.0)
    for t in torch.cat([real_scores, fake_scores]).unique().tolist():
        acc = threshold_accuracy(real_scores, fake_scores, t)
        if acc > best[1]:
            best = (float(t), acc)
    return best


# ---------------------------------------------------------------------------------
# A learned detector
# ---------------------------------------------------------------------------------
class VideoDetector(nn.Module):
    """video [B, T, 3, H, W] -> logit [B] (positive: real).

    Three 3-D convolutions (space-time kernels 3 x 4 x 4, stride 2 in space; the
    second also in time), LeakyReLU, a global average, a linear read-out.
    """

    def __init__(self, width: int = 16):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv3d(3, width, (3, 4, 4), (1, 2, 2), (1, 1, 1)), nn.LeakyReLU(0.2),
            nn.Conv3d(width, 2 * width, (3, 4, 4), (2, 2, 2), (1, 1, 1)), nn.LeakyReLU(0.2),
            nn.Conv3d(2 * width, 4 * width, (3, 4, 4), (1, 2, 2), (1, 1, 1)),
            nn.LeakyReLU(0.2))
        self.read_out = nn.Linear(4 * width, 1)

    def forward(self, videos: Tensor) -> Tensor:
        h = self.body(check_videos(videos).transpose(1, 2))  # [B, C, T', H', W']
        return self.read_out(h.mean(dim=(2, 3, 4))).squeeze(1)


@dataclass(frozen=True)
class DetectorConfig:
    steps: int = 150
    batch_size: int = 32
    lr: float = 2e-3
    width: int = 16


def detector_loss(logits: Tensor, is_real: Tensor) -> Tensor:
    """Binary cross-entropy with logits, real = 1: mean over the batch."""
    return F.binary_cross_entropy_with_logits(logits, is_real.float())


def train_detector(real: Tensor, fake: Tensor, config: DetectorConfig = DetectorConfig(),
                   seed: int = 0, progress: Callable[[range], Iterable[int]] | None = None,
                   ) -> tuple[VideoDetector, list[float]]:
    """Train a :class:`VideoDetector` on real [N, T, 3, H, W] vs generated [M, ...] videos.

    Each step draws half a batch from each set (balanced). Returns (detector in eval
    mode, losses).
    """
    check_videos(real, name="real")
    check_videos(fake, name="fake")
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    detector = VideoDetector(config.width)
    optimizer = torch.optim.Adam(detector.parameters(), lr=config.lr)
    half = config.batch_size // 2
    losses = []
    steps = range(config.steps)
    for _ in (progress(steps) if progress else steps):
        r = real[torch.randint(len(real), (half,), generator=g)]
        f = fake[torch.randint(len(fake), (half,), generator=g)]
        videos = torch.cat([r, f])
        labels = torch.cat([torch.ones(half), torch.zeros(half)])
        loss = detector_loss(detector(videos), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return detector.eval(), losses


@torch.no_grad()
def detection_accuracy(detector: VideoDetector, real: Tensor, fake: Tensor) -> float:
    """Fraction of videos classified correctly (real if logit > 0), balanced over the
    two sets: (accuracy on real + accuracy on fake) / 2."""
    acc_real = (detector(real) > 0).float().mean().item()
    acc_fake = (detector(fake) <= 0).float().mean().item()
    return (acc_real + acc_fake) / 2
