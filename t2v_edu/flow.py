"""The "modern" text-to-video model (notebook 07): latent flow matching with a transformer.

Where notebook 06 turns a video into discrete codes and predicts them one by one, this
model follows the diffusion/flow line (Stable Diffusion 3, Sora-style video DiTs):

1. Notebook 05's convolutional VAE (``vae.FrameVAE`` with spatial latents) maps every
   frame to a small grid of continuous latents; a video becomes z0 [T, C, h, w].
2. Rectified flow / flow matching (Lipman et al. 2022; Liu et al. 2022; both ICLR
   2023) connects noise and data by straight lines,

       x_t = (1 - t) x_0 + t eps,   t in [0, 1],  eps ~ N(0, I),

   (t = 0 is data, t = 1 is noise) whose velocity is constant along each line:

       d x_t / d t = eps - x_0.

   A network v_theta(x_t, t, caption) learns it by regression:

       L = E_{x_0, eps, t} (1/D) || v_theta(x_t, t, caption) - (eps - x_0) ||^2,

   with D the number of entries of x_0 (the mean squared error, as F.mse_loss takes it).

3. Sampling integrates dx/dt = v_theta backwards in time, from noise at t = 1 to data
   at t = 0, with a few Euler steps: x_{t - dt} = x_t - dt v_theta(x_t, t).
4. ``VideoFlowTransformer`` predicts the velocity: the latent video is cut into
   space-time patches (tokens), the flow time is added to every block, and every
   block reads the caption by cross-attention (``attention.TransformerBlock``).
5. Classifier-free guidance (Ho & Salimans 2022): training replaces the caption by the
   empty one 10 % of the time, so that the same network also predicts the
   unconditional velocity; sampling uses v_uncond + g (v_cond - v_uncond).

Training has two stages (``stages``, run by ``t2v-edu train --model modern``): the
VAE alone (reconstruction + beta KL), then the caption encoder and the flow
transformer on the frozen VAE's (normalised) latents.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Callable, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import data
from .attention import TEXT_HEADS, TextTransformer, TransformerBlock, padding_mask, sinusoidal_positions
from .t2v import check_caption_count, guided_logits
from .text import Vocab, caption_batch
from .training import Stage, check_divides, check_fields, lookup_preset
from .vae import FrameVAE, vae_loss

__all__ = ["Preset", "PRESETS", "interpolate", "velocity_target", "flow_matching_loss",
           "euler_step", "euler_sample", "guided_velocity", "sample_times", "ring_of_gaussians",
           "ToyVelocity", "train_toy_flow", "patchify",
           "unpatchify", "space_time_positions", "VideoFlowTransformer", "LatentFlow", "build",
           "stages"]

VelocityFn = Callable[[Tensor, Tensor], Tensor]
TIME_SAMPLINGS = ("logit_normal", "uniform")   # how sample_times draws t


@dataclass(frozen=True)
class Preset:
    """Sizes and training settings of the modern model (data, not branches)."""

    TEXT_HEADS: ClassVar[int] = TEXT_HEADS   # the caption encoder's attention heads

    data_spec: str = "cpu"            # t2v_edu.data spec: which shapes, colours, motions
    num_frames: int = 8
    size: int = 32                    # frame size of the data and of generated videos
    # the frame VAE (notebook 05's, with spatial latents)
    vae_hidden: tuple[int, ...] = (32, 64)   # 2 halvings: 32 x 32 -> 8 x 8 latents
    latent_channels: int = 4
    vae_beta: float = 0.01            # small: sharp reconstructions; latents are rescaled
    vae_steps: int = 400
    vae_lr: float = 2e-3
    vae_frames: int = 2               # frames per video the VAE trains on
    vae_batch: int = 32
    # caption encoder and flow transformer
    text_dim: int = 64
    text_layers: int = 1
    patch: int = 2                    # latent cells per token, each way
    frame_patch: int = 2              # frames per token
    embed_dim: int = 128
    num_layers: int = 4
    num_heads: int = 4
    flow_steps: int = 1000
    flow_lr: float = 2e-3
    batch_size: int = 32
    caption_dropout: float = 0.1      # for classifier-free guidance
    time_sampling: str = "logit_normal"  # or "uniform"
    # sampling
    sample_steps: int = 10            # Euler steps
    guidance: float = 2.0
    # notebook 07: training time (None: the steps above), evaluation size, guidance sweep
    notebook_minutes: float | None = None
    eval_videos: int = 96
    guidance_sweep: tuple[float, ...] = (1.0, 2.0, 3.0, 5.0)
    # how --time-budget is shared, the GPU's number format, the saved weights' format
    vae_share: float = 0.3
    bf16: bool = False
    storage_dtype: str = "float32"

    def __post_init__(self):
        check_fields(self, positive=("num_frames", "size", "vae_hidden", "latent_channels",
                                     "vae_steps", "vae_lr", "vae_frames", "vae_batch",
                                     "text_dim", "patch", "frame_patch", "embed_dim",
                                     "num_layers", "num_heads", "flow_steps", "flow_lr",
                                     "batch_size", "sample_steps", "notebook_minutes",
                                     "eval_videos"),
                     at_least_zero=("vae_beta", "text_layers", "guidance", "guidance_sweep"),
                     shares=("caption_dropout", "vae_share"))
        check_divides(self, "num_frames", "frame_patch", "a token covers that many frames")
        check_divides(self, "embed_dim", "num_heads", "each head takes an equal slice")
        if self.text_layers:
            check_divides(self, "text_dim", "TEXT_HEADS", "the caption encoder's heads")
        if self.time_sampling not in TIME_SAMPLINGS:
            raise ValueError(f"time_sampling {self.time_sampling!r} is unknown; use one of "
                             f"{TIME_SAMPLINGS}")


PRESETS: dict[str, Preset] = {
    # the notebook's live run stops after 2 minutes. A smaller transformer taking more,
    # smaller steps learns more in them (measured, one thread: 128 wide, 4 layers, batch
    # 32, 413 steps: joint 18 % test / 11 % held-out; this, ~1300 steps: 59 % / 68 %)
    "cpu": Preset(notebook_minutes=2.0, text_layers=0, embed_dim=96, num_layers=3,
                  batch_size=16, flow_steps=3000),
    "gpu": Preset(data_spec="gpu", num_frames=16, size=64, vae_hidden=(64, 128),
                  latent_channels=4, vae_steps=6000, vae_lr=1e-3, vae_frames=4,
                  vae_batch=64, text_dim=96, text_layers=2, embed_dim=256, num_layers=6,
                  num_heads=8, flow_steps=30_000, flow_lr=1e-3, batch_size=64,
                  sample_steps=20, notebook_minutes=6.0, eval_videos=256, vae_share=0.25,
                  bf16=True, storage_dtype="float16"),
    # for tests and rehearsals of scripts: seconds on a CPU, learns next to nothing
    "tiny": Preset(num_frames=4, size=16, vae_hidden=(8,), latent_channels=2, vae_steps=3,
                   vae_batch=4, text_dim=16, text_layers=1, patch=2, frame_patch=2,
                   embed_dim=32, num_layers=1, num_heads=2, flow_steps=3, batch_size=4,
                   sample_steps=3),
}


# ---------------------------------------------------------------------------------
# Flow-matching formulas
# ---------------------------------------------------------------------------------
def _expand_time(t: Tensor, like: Tensor) -> Tensor:
    """t [B] (or a number) -> broadcastable to like [B, ...]."""
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    if t.dim() == 0:
        return t
    if t.dim() != 1 or t.shape[0] != like.shape[0]:
        raise ValueError(f"t must be a number or a vector [batch={like.shape[0]}], got shape "
                         f"{tuple(t.shape)}")
    return t.view(-1, *([1] * (like.dim() - 1)))


def interpolate(x0: Tensor, noise: Tensor, t: Tensor) -> Tensor:
    """x_t = (1 - t) x_0 + t eps: data at t = 0, pure noise at t = 1.

    x0, noise: [B, ...] (the same shape); t: [B] or a number -> x_t [B, ...].
    """
    if x0.shape != noise.shape:
        raise ValueError(f"x0 {tuple(x0.shape)} and noise {tuple(noise.shape)} must have the "
                         "same shape")
    t = _expand_time(t, x0)
    return (1 - t) * x0 + t * noise


def velocity_target(x0: Tensor, noise: Tensor) -> Tensor:
    """v = d x_t / d t = eps - x_0: constant along the straight path (points to noise)."""
    if x0.shape != noise.shape:
        raise ValueError(f"x0 {tuple(x0.shape)} and noise {tuple(noise.shape)} must have the "
                         "same shape")
    return noise - x0


def flow_matching_loss(velocity_fn: VelocityFn, x0: Tensor, noise: Tensor, t: Tensor) -> Tensor:
    """L = E (1/D) || v_theta(x_t, t) - (eps - x_0) ||^2 with x_t = (1 - t) x_0 + t eps.

    velocity_fn(x_t [B, ...], t [B]) -> v [B, ...]; x0, noise: [B, ...]; t: [B].
    D is the number of entries of one x_0: the loss is the mean over every element (a
    scalar), as F.mse_loss takes it.
    """
    xt = interpolate(x0, noise, t)
    return F.mse_loss(velocity_of(velocity_fn, xt, t).float(),
                      velocity_target(x0, noise).float())


def velocity_of(velocity_fn: VelocityFn, x: Tensor, t: Tensor) -> Tensor:
    """velocity_fn(x, t), which must have x's shape (a ValueError otherwise)."""
    v = velocity_fn(x, t)
    if v.shape != x.shape:
        raise ValueError(f"velocity_fn returned {tuple(v.shape)}; it must return v with x's "
                         f"shape {tuple(x.shape)}")
    return v


def euler_step(velocity_fn: VelocityFn, x: Tensor, t: float, t_next: float) -> Tensor:
    """x_{t_next} = x_t + (t_next - t) v(x_t, t): one Euler step of dx/dt = v.

    Sampling runs from t = 1 (noise) to t = 0 (data), so t_next < t and the step
    moves *against* the velocity eps - x_0, towards the data.
    """
    t_vec = torch.full((x.shape[0],), float(t), device=x.device, dtype=x.dtype)
    return x + (t_next - t) * velocity_of(velocity_fn, x, t_vec).to(x.dtype)


def euler_sample(velocity_fn: VelocityFn, noise: Tensor, num_steps: int) -> Tensor:
    """Integrate dx/dt = v from t = 1 (x = noise) to t = 0 in ``num_steps`` equal steps.

    noise [B, ...] -> x_0 [B, ...]. With the exact velocity of a single straight path
    one step is exact; a learned velocity field bends, so a few steps are used.
    """
    num_steps = data.check_whole("num_steps", num_steps, meaning=" Euler steps")
    times = torch.linspace(1.0, 0.0, num_steps + 1).tolist()
    x = noise
    for t, t_next in zip(times[:-1], times[1:]):
        x = euler_step(velocity_fn, x, t, t_next)
    return x


def guided_velocity(cond: Tensor, uncond: Tensor, guidance: float) -> Tensor:
    """Classifier-free guidance: v = v_uncond + g (v_cond - v_uncond); g = 1 gives v_cond.

    The same formula as 06's ``t2v.guided_logits``, applied to velocities.
    """
    return guided_logits(cond, uncond, guidance)


def sample_times(n: int, kind: str = "logit_normal", generator: torch.Generator | None = None,
                 device: str | torch.device = "cpu") -> Tensor:
    """t = sigmoid(u), u ~ N(0, 1) ("logit_normal"), or t ~ U[0, 1) ("uniform"): [n].

    Training times in [0, 1). Logit-normal (Esser et al. 2024) puts more training near
    t = 1/2, where predicting the velocity is hardest.
    """
    if kind == "uniform":
        return torch.rand(n, generator=generator, device=device)
    if kind == "logit_normal":
        return torch.sigmoid(torch.randn(n, generator=generator, device=device))
    raise ValueError(f"time sampling {kind!r} is unknown; use one of {TIME_SAMPLINGS}")


# ---------------------------------------------------------------------------------
# A 2-D toy: the same formulas on points, small enough to watch
# ---------------------------------------------------------------------------------
def ring_of_gaussians(n: int, generator: torch.Generator | None = None, modes: int = 8,
                      radius: float = 2.0, std: float = 0.15) -> Tensor:
    """n points [n, 2] from ``modes`` Gaussians (std ``std``) evenly spaced on a circle."""
    k = torch.randint(modes, (n,), generator=generator)
    angle = 2 * torch.pi * k.float() / modes
    centres = radius * torch.stack([angle.cos(), angle.sin()], 1)
    return centres + std * torch.randn(n, 2, generator=generator)


class ToyVelocity(nn.Module):
    """v_theta(x, t) for 2-D points: an MLP on (x, sinusoidal features of t)."""

    def __init__(self, hidden: int = 128, time_dim: int = 16):
        super().__init__()
        self.time_dim = time_dim
        self.net = nn.Sequential(nn.Linear(2 + time_dim, hidden), nn.SiLU(),
                                 nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 2))

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        """x [B, 2], t [B] -> v [B, 2]."""
        if not isinstance(t, Tensor) or t.shape != x.shape[:1]:
            got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"t must be a tensor [B] = [{x.shape[0]}], one time per point, "
                             f"got {got}")
        return self.net(torch.cat([x, sinusoidal_positions(10 * t, self.time_dim)], 1))


def train_toy_flow(model: nn.Module, loss_fn: Callable = None, steps: int = 1500,
                   batch_size: int = 256, lr: float = 3e-3, seed: int = 0) -> list[float]:
    """Fit ``model`` to ``ring_of_gaussians`` with ``loss_fn(model, x0, noise, t)``
    (default ``flow_matching_loss``) and Adam; returns the loss per step."""
    loss_fn = loss_fn or flow_matching_loss
    data.check_whole("steps", steps, 0)
    data.check_whole("batch_size", batch_size)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        x0 = ring_of_gaussians(batch_size, g)
        noise = torch.randn(x0.shape, generator=g)
        t = sample_times(batch_size, "uniform", g)
        loss = loss_fn(model, x0, noise, t)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


# ---------------------------------------------------------------------------------
# Space-time patches
# ---------------------------------------------------------------------------------
def patchify(z: Tensor, patch: int, frame_patch: int) -> Tensor:
    """Latent videos [B, T, C, h, w] -> tokens [B, N, frame_patch * C * patch * patch].

    N = (T / frame_patch) (h / patch) (w / patch), in (frame, row, column) order; each
    token holds a frame_patch x patch x patch block of latent cells.
    """
    check_patch_sizes(patch, frame_patch)
    B, T, C, h, w = z.shape
    if T % frame_patch or h % patch or w % patch:
        raise ValueError(f"latents {tuple(z.shape)}: T must be divisible by frame_patch "
                         f"{frame_patch}, h and w by patch {patch}")
    z = z.reshape(B, T // frame_patch, frame_patch, C, h // patch, patch, w // patch, patch)
    z = z.permute(0, 1, 4, 6, 2, 3, 5, 7)          # [B, T', h', w', fp, C, p, p]
    return z.reshape(B, (T // frame_patch) * (h // patch) * (w // patch), -1)


def unpatchify(tokens: Tensor, shape: tuple[int, int, int, int], patch: int,
               frame_patch: int) -> Tensor:
    """The inverse of ``patchify``: tokens [B, N, D] -> latents [B, T, C, h, w].

    shape: (T, C, h, w) of one latent video.
    """
    check_patch_sizes(patch, frame_patch)
    T, C, h, w = shape
    if T % frame_patch or h % patch or w % patch:
        raise ValueError(f"shape {tuple(shape)}: T must be divisible by frame_patch "
                         f"{frame_patch}, h and w by patch {patch}")
    wanted = ((T // frame_patch) * (h // patch) * (w // patch), frame_patch * C * patch * patch)
    if tokens.dim() != 3 or tuple(tokens.shape[1:]) != wanted:
        raise ValueError(f"tokens must be [B, N, D] = [B, {wanted[0]}, {wanted[1]}] for shape "
                         f"{tuple(shape)}, patch {patch} and frame_patch {frame_patch} "
                         f"(what patchify gives), got {tuple(tokens.shape)}")
    B = tokens.shape[0]
    x = tokens.reshape(B, T // frame_patch, h // patch, w // patch, frame_patch, C, patch,
                       patch)
    x = x.permute(0, 1, 4, 5, 2, 6, 3, 7)          # [B, T', fp, C, h', p, w', p]
    return x.reshape(B, T, C, h, w)


def check_patch_sizes(patch: int, frame_patch: int) -> None:
    """Patch sizes: whole numbers >= 1 of latent cells (patch) and frames (frame_patch)."""
    data.check_whole("patch", patch, meaning=" latent cells a side")
    data.check_whole("frame_patch", frame_patch, meaning=" frames")


def space_time_positions(grid: tuple[int, int, int], dim: int) -> Tensor:
    """Fixed positions of a (frames, rows, columns) grid of tokens: [T' h' w', dim].

    The features are split three ways, as DiT splits them two ways for images:
    [sinusoidal(frame) (dim/4) | sinusoidal(row) (3 dim/8) | sinusoidal(column) (3 dim/8)],
    each ``attention.sinusoidal_positions``. Each part needs an even width (sin, cos
    pairs), and 3 dim/8 is even only when dim is a multiple of 16.
    """
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or dim <= 0 or dim % 16:
        raise ValueError(f"dim (the embed_dim) must be a positive multiple of 16 for "
                         f"space-time positions (frame dim/4, row and column 3 dim/8 "
                         f"features, each even), got {dim!r}")
    frames, rows, cols = grid
    d_t, d_s = dim // 4, 3 * dim // 8
    t = sinusoidal_positions(frames, d_t)[:, None, None].expand(frames, rows, cols, d_t)
    r = sinusoidal_positions(rows, d_s)[None, :, None].expand(frames, rows, cols, d_s)
    c = sinusoidal_positions(cols, d_s)[None, None, :].expand(frames, rows, cols, d_s)
    return torch.cat([t, r, c], -1).reshape(frames * rows * cols, dim)


# ---------------------------------------------------------------------------------
# The velocity network
# ---------------------------------------------------------------------------------
class VideoFlowTransformer(nn.Module):
    """v_theta(x_t, t, caption): a transformer over space-time latent patches.

    - tokens: linear embedding of each patch + a fixed sinusoidal position
      (``space_time_positions``): every token knows where and when it is from the
      first step, which a noisy input cannot tell it;
    - time: sinusoidal(1000 t) -> MLP -> a vector c (plus the pooled caption), added
      to the tokens before every block through the block's own linear map (a light
      form of DiT's adaptive normalisation that keeps notebook 03's blocks as they are);
    - caption: cross-attention in every block to the caption encoder's word features;
    - output: LayerNorm + a zero-initialised linear map back to patches, so the
      untrained network predicts v = 0.
    Full (bidirectional) self-attention: all frames are denoised together.
    forward(x_t [B, T, C, h, w], t [B], context [B, L, D_c], context_mask [B, 1, L],
    pooled [B, D_c]) -> v [B, T, C, h, w].
    """

    def __init__(self, latent_shape: tuple[int, int, int, int], patch: int, frame_patch: int,
                 embed_dim: int, num_layers: int, num_heads: int, context_dim: int):
        super().__init__()
        T, C, h, w = latent_shape
        if T % frame_patch or h % patch or w % patch:
            raise ValueError(f"latent shape {latent_shape} does not split into patches of "
                             f"{frame_patch} frames x {patch} x {patch} cells")
        self.latent_shape, self.patch, self.frame_patch = tuple(latent_shape), patch, frame_patch
        self.embed_dim = embed_dim
        patch_dim = frame_patch * C * patch * patch
        self.grid = (T // frame_patch, h // patch, w // patch)
        self.embed = nn.Linear(patch_dim, embed_dim)
        self.register_buffer("pos", space_time_positions(self.grid, embed_dim), persistent=False)
        self.time_mlp = nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.SiLU(),
                                      nn.Linear(embed_dim, embed_dim))
        self.caption_to_cond = nn.Linear(context_dim, embed_dim)
        self.cond_proj = nn.ModuleList(nn.Linear(embed_dim, embed_dim) for _ in range(num_layers))
        self.blocks = nn.ModuleList(
            TransformerBlock(embed_dim, num_heads, cross_attention=True, context_dim=context_dim)
            for _ in range(num_layers))
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, patch_dim)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: Tensor, t: Tensor, context: Tensor, context_mask: Tensor,
                pooled: Tensor) -> Tensor:
        if tuple(x.shape[1:]) != self.latent_shape:
            raise ValueError(f"x must be [batch, {', '.join(map(str, self.latent_shape))}], "
                             f"got {tuple(x.shape)}")
        tokens = self.embed(patchify(x, self.patch, self.frame_patch)) + self.pos
        time = sinusoidal_positions(1000 * t.float(), self.embed_dim).to(tokens.dtype)
        cond = F.silu(self.time_mlp(time) + self.caption_to_cond(pooled))   # [B, E]
        for proj, block in zip(self.cond_proj, self.blocks):
            tokens = tokens + proj(cond)[:, None]
            tokens = block(tokens, context=context, context_mask=context_mask)
        out = self.head(self.norm(tokens))                                   # [B, N, patch_dim]
        return unpatchify(out, self.latent_shape, self.patch, self.frame_patch)


# ---------------------------------------------------------------------------------
# The whole model
# ---------------------------------------------------------------------------------
class LatentFlow(nn.Module):
    """Caption -> noise -> latent video (flow) -> frames (VAE decoder).

    Attributes: vocab, vae (``vae.FrameVAE``), text (caption encoder), flow (the
    velocity network), and buffers latent_mean / latent_std [C] that rescale the VAE's
    latents to zero mean and unit variance per channel (set once, at the start of the
    flow stage, from a fixed batch of "val" videos).
    """

    def __init__(self, preset: Preset = PRESETS["cpu"]):
        super().__init__()
        self.preset = preset
        self.vocab = Vocab.default()
        self.vae = FrameVAE(size=preset.size, latent_dim=None,
                            latent_channels=preset.latent_channels, hidden=tuple(preset.vae_hidden))
        C, h, w = self.vae.latent_shape
        self.latent_shape = (preset.num_frames, C, h, w)
        self.text = TextTransformer(len(self.vocab), preset.text_dim,
                                    num_heads=preset.TEXT_HEADS,
                                    num_layers=preset.text_layers, max_len=48)
        self.flow = VideoFlowTransformer(self.latent_shape, preset.patch, preset.frame_patch,
                                         preset.embed_dim, preset.num_layers, preset.num_heads,
                                         preset.text_dim)
        self.register_buffer("latent_mean", torch.zeros(C))
        self.register_buffer("latent_std", torch.ones(C))
        self.register_buffer("latent_ready", torch.zeros((), dtype=torch.bool))
        self._stats_checked = False

    @property
    def device(self) -> torch.device:
        return self.flow.head.weight.device

    # -- VAE latents -----------------------------------------------------------
    def encode(self, videos: Tensor) -> Tensor:
        """Frozen VAE means, normalised: videos [B, T, 3, H, W] -> z [B, T, C, h, w]."""
        data.check_float(videos, "videos")
        B, T = videos.shape[:2]
        self.vae.eval()
        with torch.no_grad():
            mu, _ = self.vae.encode(videos.flatten(0, 1))
        z = mu.float().view(B, T, *mu.shape[1:])
        return (z - self.latent_mean.view(1, 1, -1, 1, 1)) / self.latent_std.view(1, 1, -1, 1, 1)

    def decode(self, z: Tensor) -> Tensor:
        """Normalised latents [B, T, C, h, w] -> videos [B, T, 3, H, W] in [0, 1]."""
        B, T = z.shape[:2]
        z = z.float() * self.latent_std.view(1, 1, -1, 1, 1) + self.latent_mean.view(1, 1, -1, 1, 1)
        frames = self.vae.decode(z.flatten(0, 1))
        return frames.float().view(B, T, *frames.shape[1:])

    @torch.no_grad()
    def fit_latent_stats(self, num_videos: int = 16) -> None:
        """Per-channel mean and std of the VAE's latents on a fixed batch of "val" videos.

        The same videos on every process and every run, so a resumed or data-parallel
        run gets the same numbers.
        """
        p = self.preset
        ds = data.MovingShapes("val", num_frames=p.num_frames, size=p.size,
                               length=num_videos, seed=0, spec=p.data_spec)
        videos, _, _ = ds.get_batch(range(num_videos), device=self.device)
        self.vae.eval()
        mu, _ = self.vae.encode(videos.flatten(0, 1))              # [B T, C, h, w]
        mu = mu.float()
        self.latent_mean.copy_(mu.mean((0, 2, 3)))
        self.latent_std.copy_(mu.std((0, 2, 3)).clamp_min(1e-4))
        self.latent_ready.fill_(True)

    # -- caption ---------------------------------------------------------------
    def encode_text(self, captions: list[str], drop: Tensor | None = None
                    ) -> tuple[Tensor, Tensor, Tensor]:
        """(word features [B, L, D], mask [B, 1, L], pooled [B, D]); rows where ``drop``
        is True get the empty caption (only <bos>): the unconditional input of guidance."""
        ids, lengths = caption_batch(self.vocab, captions, self.device, drop)
        tokens, pooled = self.text(ids, lengths)
        return tokens, padding_mask(lengths, ids.shape[1]), pooled

    def velocity(self, x: Tensor, t: Tensor, text: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        """v_theta(x_t, t, caption) for encoded captions ``text`` (see encode_text)."""
        context, mask, pooled = text
        return self.flow(x, t, context, mask, pooled)

    # -- training --------------------------------------------------------------
    def vae_loss(self, videos: Tensor, captions: list[str]) -> tuple[Tensor, dict[str, Tensor]]:
        """reconstruction + beta KL on ``vae_frames`` random frames of each video."""
        B, T = videos.shape[:2]
        pick = torch.randint(0, T, (B, self.preset.vae_frames), device=videos.device)
        frames = videos[torch.arange(B, device=videos.device)[:, None], pick].flatten(0, 1)
        self.vae.train()
        recon, mu, logvar = self.vae(frames)
        loss, rec, kl = vae_loss(recon.float(), frames, mu.float(), logvar.float(),
                                 self.preset.vae_beta)
        mse = rec.detach() / frames[0].numel()
        return loss, {"psnr": -10 * torch.log10(mse.clamp_min(1e-10)), "kl": kl.detach()}

    def flow_loss(self, videos: Tensor, captions: list[str]) -> tuple[Tensor, dict[str, Tensor]]:
        """Flow matching on the frozen VAE's normalised latents, with caption dropout."""
        if not self._stats_checked:  # read the flag once: on a GPU, reading it syncs
            if not bool(self.latent_ready):
                self.fit_latent_stats()
            self._stats_checked = True
        check_caption_count(captions, videos.shape[0])
        x0 = self.encode(videos)                                    # [B, T, C, h, w]
        B = x0.shape[0]
        drop = torch.rand(B) < self.preset.caption_dropout
        text = self.encode_text(captions, drop)
        t = sample_times(B, self.preset.time_sampling, device=x0.device)
        noise = torch.randn_like(x0)
        loss = flow_matching_loss(lambda x, s: self.velocity(x, s, text), x0, noise, t)
        return loss, {}

    # -- sampling --------------------------------------------------------------
    @torch.no_grad()
    def sample_latents(self, captions: list[str], generator: torch.Generator | None = None,
                       guidance: float | None = None, steps: int | None = None,
                       noise: Tensor | None = None) -> Tensor:
        """Euler-integrate the guided velocity from noise: latents [B, T, C, h, w]. One
        caption may be a string; a word the captions' grammar lacks is a ValueError
        naming it (``t2v_edu.generate`` also refuses what this model's data lacks)."""
        from .generation import check_captions

        captions = check_captions(captions)
        guidance = self.preset.guidance if guidance is None else float(guidance)
        steps = self.preset.sample_steps if steps is None else steps   # euler_sample checks
        B = len(captions)
        if noise is None:
            noise = torch.randn(B, *self.latent_shape, generator=generator, device=self.device)
        elif tuple(noise.shape) != (B, *self.latent_shape):
            raise ValueError(f"noise must be [{B}, {', '.join(map(str, self.latent_shape))}], "
                             f"got {tuple(noise.shape)}")
        if guidance == 1.0:  # no guidance: the conditional velocity alone
            text = self.encode_text(list(captions))
            return euler_sample(lambda x, t: self.velocity(x, t, text).float(), noise, steps)
        drop = torch.arange(2 * B) >= B                             # second half: empty caption
        text = self.encode_text(list(captions) * 2, drop)

        def guided(x: Tensor, t: Tensor) -> Tensor:
            v = self.velocity(torch.cat([x, x]), torch.cat([t, t]), text).float()
            return guided_velocity(v[:B], v[B:], guidance)

        return euler_sample(guided, noise, steps)

    @torch.no_grad()
    def sample(self, captions: list[str], generator: torch.Generator | None = None,
               **kwargs) -> Tensor:
        """Videos for captions: float [B, T, 3, H, W] in [0, 1]. kwargs: guidance,
        steps, noise (defaults from the preset)."""
        self.eval()
        return self.decode(self.sample_latents(captions, generator, **kwargs)).clamp(0, 1)

    @torch.no_grad()
    def reconstruct(self, videos: Tensor) -> Tensor:
        """decode(encode(videos)): what the VAE keeps of a video."""
        self.eval()
        return self.decode(self.encode(videos))


# ---------------------------------------------------------------------------------
# The interface of t2v_edu.training
# ---------------------------------------------------------------------------------
def build(preset: Preset | str = "cpu") -> LatentFlow:
    """A fresh model for a preset (a name or a Preset)."""
    return LatentFlow(lookup_preset(PRESETS, preset))


def stages(model: LatentFlow, preset: Preset) -> list[Stage]:
    """The VAE first (reconstruction + beta KL), then caption encoder + flow transformer."""

    def show_reconstructions(videos, captions):
        return torch.cat([videos[:4], model.reconstruct(videos[:4])])

    def show_samples(videos, captions):
        gen = torch.Generator(device=model.device).manual_seed(0)
        return model.sample(captions[:8], generator=gen)

    text_and_flow = list(model.text.parameters()) + list(model.flow.parameters())
    return [
        Stage("vae", preset.vae_steps, preset.vae_lr, list(model.vae.parameters()),
              model.vae_loss, preview=show_reconstructions, time_share=preset.vae_share,
              warmup=50, batch_size=preset.vae_batch),
        Stage("flow", preset.flow_steps, preset.flow_lr, text_and_flow, model.flow_loss,
              preview=show_samples, time_share=1 - preset.vae_share, warmup=100,
              weight_decay=0.0),
    ]
