"""Variational autoencoders on single frames (notebook 05), and the convolutional
encoder/decoder that the video tokenizer (06) and the latent flow model (07) reuse.

A VAE trains an encoder q(z|x) = N(mu(x), diag sigma(x)^2) and a decoder p(x|z) by
maximising the evidence lower bound (ELBO)

    log p(x) >= E_{z~q(z|x)}[log p(x|z)] - KL(q(z|x) || N(0, I)).

We minimise  reconstruction + beta * KL  (beta = 1 is the ELBO; Higgins et al. 2017
vary it). The reconstruction term is the summed squared error, the negative log
likelihood of a Gaussian decoder with variance 1/2, up to a constant.

Shapes: frames [B, 3, H, W] in [0, 1]; latents either flat [B, latent_dim] or
spatial [B, latent_channels, H / 2^k, W / 2^k] with k = len(hidden).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import data
from .gan import PatchDiscriminator, _progress, discriminator_loss, generator_loss, num_groups

__all__ = ["reparameterize", "kl_divergence", "reconstruction_loss", "vae_loss",
           "ConvEncoder", "ConvDecoder", "FrameVAE", "PatchDiscriminator", "train_vae",
           "train_vae_gan", "interpolate", "lerp_latents", "reconstruction_mse", "sharpness",
           "VAEConfig", "PRESETS"]


# ---------------------------------------------------------------------------------
# Formulas
# ---------------------------------------------------------------------------------
def reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor | None = None,
                   rng: torch.Generator | None = None) -> Tensor:
    """z = mu + sigma * eps with sigma = exp(logvar / 2), eps ~ N(0, I).

    The article prints this as G(z) = mu + sigma (.) z under "GAN" and calls sigma the
    variance: it is the VAE's reparameterisation trick, and sigma is the *standard
    deviation* (the variance is sigma^2 = exp(logvar)). Writing the sample as a
    deterministic function of (mu, sigma) plus outside noise lets gradients reach
    the encoder. mu, logvar, eps: the same shape (e.g. [B, latent_dim]) -> z, that shape.
    eps is drawn from ``rng`` when not given.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must have "
                         "the same shape")
    if eps is None:
        eps = torch.randn(mu.shape, generator=rng, dtype=mu.dtype).to(mu.device)
    elif eps.shape != mu.shape:
        raise ValueError(f"eps {tuple(eps.shape)} must have mu's shape {tuple(mu.shape)}")
    return mu + torch.exp(0.5 * logvar) * eps


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) = 1/2 sum (mu^2 + sigma^2 - log sigma^2 - 1), a scalar.

    Summed over every latent dimension (all but the first), averaged over the batch.
    mu, logvar: [B, ...] (flat [B, D] or spatial [B, C, h, w]).
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must have "
                         "the same shape")
    if mu.dim() < 2:
        raise ValueError(f"mu must be [batch, ...latent dims], got {tuple(mu.shape)}")
    kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)             # [B, ...]
    return kl.flatten(1).sum(1).mean()


def reconstruction_loss(recon: Tensor, frames: Tensor) -> Tensor:
    """L_rec = mean over the batch of sum over pixels (x_hat - x)^2, a scalar.

    = -log N(x; x_hat, I/2) up to a constant: the ELBO's E[log p(x|z)] for a Gaussian
    decoder. recon, frames: [B, 3, H, W], frames float in [0, 1] (checked on the CPU only,
    where reading values does not wait for a GPU).
    """
    if recon.shape != frames.shape:
        raise ValueError(f"recon {tuple(recon.shape)} and frames {tuple(frames.shape)} must "
                         "have the same shape")
    data.check_float(recon, "recon")
    data.check_float(frames)
    if frames.device.type == "cpu":
        data.check_pixel_range(frames, "frames")
    return (recon - frames).pow(2).flatten(1).sum(1).mean()


def vae_loss(recon: Tensor, frames: Tensor, mu: Tensor, logvar: Tensor, beta: float = 1.0
             ) -> tuple[Tensor, Tensor, Tensor]:
    """(loss, reconstruction, kl) with loss = reconstruction + beta * KL, the negative
    ELBO when beta = 1 (up to a constant)."""
    rec = reconstruction_loss(recon, frames)
    kl = kl_divergence(mu, logvar)
    if len(mu) != len(frames):
        raise ValueError(f"mu has {len(mu)} rows but frames has {len(frames)}: pass the "
                         "encoder's (mu, logvar) for these frames, one row per frame")
    return rec + beta * kl, rec, kl


# ---------------------------------------------------------------------------------
# Convolutional building blocks (reused by tokenizer.py and flow.py)
# ---------------------------------------------------------------------------------
def _norm_act(channels: int) -> list[nn.Module]:
    return [nn.GroupNorm(num_groups(channels), channels), nn.SiLU()]


class ConvEncoder(nn.Module):
    """frames [B, in_channels, H, W] -> features [B, out_channels, H / 2^k, W / 2^k].

    k = len(hidden). k stages, each a strided 4x4 convolution (halves H and W) to
    hidden[i]; then a 3x3 convolution at the lowest resolution; every convolution is
    followed by GroupNorm and SiLU; a 3x3 read-out to ``out_channels`` (no
    normalisation or activation on the output). The work happens at low resolution,
    which keeps it fast on a CPU. GroupNorm keeps the feature scale stable, which
    quantised bottlenecks (FSQ) need to use all their codes.
    Example: ConvEncoder(3, (32, 64), 4) maps [B, 3, 32, 32] to [B, 4, 8, 8].
    """

    def __init__(self, in_channels: int = 3, hidden: tuple[int, ...] = (32, 64),
                 out_channels: int = 8):
        super().__init__()
        if not hidden:
            raise ValueError("hidden must name at least one width, e.g. (32, 64)")
        self.downsample = 2 ** len(hidden)
        widths = [in_channels, *hidden]
        layers: list[nn.Module] = []
        for i in range(len(hidden)):
            layers += [nn.Conv2d(widths[i], widths[i + 1], 4, 2, 1), *_norm_act(widths[i + 1])]
        layers += [nn.Conv2d(hidden[-1], hidden[-1], 3, padding=1), *_norm_act(hidden[-1]),
                   nn.Conv2d(hidden[-1], out_channels, 3, padding=1)]
        self.body = nn.Sequential(*layers)

    def forward(self, frames: Tensor) -> Tensor:
        if frames.dim() != 4 or frames.shape[-1] % self.downsample or \
                frames.shape[-2] % self.downsample:
            raise ValueError(f"frames must be [batch, channels, H, W] with H and W divisible "
                             f"by {self.downsample}, got {tuple(frames.shape)}")
        return self.body(data.check_float(frames))


class ConvDecoder(nn.Module):
    """features [B, in_channels, h, w] -> frames [B, out_channels, h * 2^k, w * 2^k].

    k = len(hidden). The mirror of :class:`ConvEncoder`: a 3x3 stem to hidden[0] and
    a second 3x3 convolution at the lowest resolution, then k stages of 4x4
    transposed convolution (doubles H and W), to hidden[i + 1] and, in the last
    stage, straight to ``out_channels`` (as in DCGAN). GroupNorm and SiLU after every
    layer but the last. The output is *unbounded* (no sigmoid): apply
    ``torch.sigmoid`` for frames in [0, 1] (FrameVAE.decode does).
    Example: ConvDecoder(4, (64, 32), 3) maps [B, 4, 8, 8] to [B, 3, 32, 32].
    """

    def __init__(self, in_channels: int = 8, hidden: tuple[int, ...] = (64, 32),
                 out_channels: int = 3):
        super().__init__()
        if not hidden:
            raise ValueError("hidden must name at least one width, e.g. (64, 32)")
        self.upsample = 2 ** len(hidden)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, hidden[0], 3, padding=1),
                                   *_norm_act(hidden[0]),
                                   nn.Conv2d(hidden[0], hidden[0], 3, padding=1),
                                   *_norm_act(hidden[0])]
        for i in range(len(hidden) - 1):
            layers += [nn.ConvTranspose2d(hidden[i], hidden[i + 1], 4, 2, 1),
                       *_norm_act(hidden[i + 1])]
        layers.append(nn.ConvTranspose2d(hidden[-1], out_channels, 4, 2, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, features: Tensor) -> Tensor:
        if features.dim() != 4:
            raise ValueError(f"features must be [batch, channels, h, w], got "
                             f"{tuple(features.shape)}")
        return self.body(features)


# ---------------------------------------------------------------------------------
# The VAE
# ---------------------------------------------------------------------------------
class FrameVAE(nn.Module):
    """A convolutional VAE for frames [B, 3, size, size] in [0, 1].

    - ``latent_dim`` set: flat latents z [B, latent_dim] (a linear layer on the
      encoder's grid), good for sampling and interpolation (notebook 05).
    - ``latent_dim=None``: spatial latents z [B, latent_channels, size / 2^k,
      size / 2^k], k = len(hidden); e.g. FrameVAE(latent_channels=4, size=32,
      hidden=(32, 64)) has an 8 x 8 grid (the latent flow model of 07), hidden=(32, 64,
      64) a 4 x 4 one.
    encode(frames) -> (mu, logvar), each of the latent shape; decode(z) -> frames in
    [0, 1]; forward(frames) -> (recon, mu, logvar) with z = reparameterize(mu, logvar).
    """

    def __init__(self, size: int = 32, latent_dim: int | None = None,
                 latent_channels: int = 4, hidden: tuple[int, ...] = (32, 64)):
        super().__init__()
        if latent_dim is not None:
            data.check_whole("latent_dim", latent_dim)
        data.check_whole("latent_channels", latent_channels)
        self.size, self.latent_dim, self.hidden = size, latent_dim, tuple(hidden)
        grid = size // 2 ** len(hidden)
        if grid < 1 or grid * 2 ** len(hidden) != size:
            raise ValueError(f"size {size} must be divisible by 2^len(hidden) = "
                             f"{2 ** len(hidden)}")
        self.grid = grid
        if latent_dim is None:
            self.latent_shape = (latent_channels, grid, grid)
            self.encoder = ConvEncoder(3, self.hidden, 2 * latent_channels)
            self.decoder = ConvDecoder(latent_channels, self.hidden[::-1], 3)
            self.to_latent = self.from_latent = None
        else:
            self.latent_shape = (latent_dim,)
            feat = self.hidden[-1]
            self.encoder = ConvEncoder(3, self.hidden, feat)
            self.to_latent = nn.Linear(feat * grid * grid, 2 * latent_dim)
            self.from_latent = nn.Sequential(nn.Linear(latent_dim, feat * grid * grid),
                                             nn.Unflatten(1, (feat, grid, grid)))
            self.decoder = ConvDecoder(feat, self.hidden[::-1], 3)

    def encode(self, frames: Tensor) -> tuple[Tensor, Tensor]:
        """frames [B, 3, size, size] -> (mu, logvar), each [B, *latent_shape]."""
        if frames.dim() != 4 or tuple(frames.shape[1:]) != (3, self.size, self.size):
            raise ValueError(f"frames must be [batch, 3, {self.size}, {self.size}], got "
                             f"{tuple(frames.shape)}")
        h = self.encoder(frames)                   # (ConvEncoder refuses non-float frames)
        if self.to_latent is not None:
            h = self.to_latent(h.flatten(1))                       # [B, 2 * latent_dim]
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)  # keeps exp(logvar) finite early in training

    def decode_logits(self, z: Tensor) -> Tensor:
        """z [B, *latent_shape] -> pre-sigmoid frames [B, 3, size, size]."""
        if tuple(z.shape[1:]) != self.latent_shape:
            raise ValueError(f"z must be [batch, {', '.join(map(str, self.latent_shape))}], "
                             f"got {tuple(z.shape)}")
        h = self.from_latent(z) if self.from_latent is not None else z
        return self.decoder(h)

    def decode(self, z: Tensor) -> Tensor:
        """z [B, *latent_shape] -> frames [B, 3, size, size] in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, frames: Tensor, rng: torch.Generator | None = None
                ) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.encode(frames)
        z = reparameterize(mu, logvar, rng=rng)
        return self.decode(z), mu, logvar

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> Tensor:
        """Decode n draws from the prior N(0, I): frames [n, 3, size, size]."""
        self.eval()
        device = next(self.parameters()).device
        z = torch.randn(n, *self.latent_shape, generator=torch.Generator().manual_seed(seed))
        return self.decode(z.to(device)).cpu()

    @torch.no_grad()
    def reconstruct(self, frames: Tensor) -> Tensor:
        """decode(mu(x)): the deterministic reconstruction, frames [B, 3, size, size]."""
        self.eval()
        return self.decode(self.encode(frames)[0])


# ---------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class VAEConfig:
    """Sizes, steps and optimiser settings for the VAEs of notebook 05."""

    size: int = 32
    latent_dim: int = 16
    hidden: tuple[int, ...] = (32, 64)
    steps: int = 600
    batch_size: int = 32
    lr: float = 2e-3
    beta: float = 1.0
    betas: tuple[float, ...] = (0.25, 1.0, 4.0)   # the beta sweep
    sweep_steps: int = 300
    gan_steps: int = 200          # VAE-GAN fine-tuning
    gan_lr: float = 5e-4
    adv_weight: float = 10.0
    num_videos: int = 1024


PRESETS: dict[str, VAEConfig] = {
    "cpu": VAEConfig(),
    "gpu": VAEConfig(size=64, latent_dim=32, hidden=(32, 64, 128), steps=6000,
                     batch_size=128, lr=1e-3, betas=(0.25, 0.5, 1.0, 2.0, 4.0),
                     sweep_steps=3000, gan_steps=3000, num_videos=8192),
}


def train_vae(vae: FrameVAE, frames: Tensor, steps: int, beta: float = 1.0,
              batch_size: int = 64, lr: float = 2e-3, seed: int = 0,
              device: str | torch.device = "cpu", progress: bool = False) -> dict:
    """Minimise reconstruction + beta * KL with Adam; return the history.

    {"step", "loss", "recon", "kl"}: lists, one entry per step (nothing printed).
    """
    data.check_frames(frames)
    data.check_whole("batch_size", batch_size)
    rng = torch.Generator().manual_seed(seed)
    vae.to(device).train()
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    history = {"step": [], "loss": [], "recon": [], "kl": []}
    for step in _progress(range(1, steps + 1), progress, "VAE"):
        x = frames[torch.randint(len(frames), (batch_size,), generator=rng)].to(device)
        recon, mu, logvar = vae(x, rng=rng)
        loss, rec, kl = vae_loss(recon, x, mu, logvar, beta)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        for key, value in (("step", step), ("loss", loss.item()), ("recon", rec.item()),
                           ("kl", kl.item())):
            history[key].append(value)
    vae.eval()
    return history


def train_vae_gan(vae: FrameVAE, discriminator: PatchDiscriminator, frames: Tensor,
                  steps: int, beta: float = 1.0, adv_weight: float = 10.0,
                  batch_size: int = 64, lr: float = 2e-3, d_lr: float = 2e-4,
                  seed: int = 0, device: str | torch.device = "cpu",
                  progress: bool = False) -> dict:
    """VAE-GAN: reconstruction + beta * KL + adv_weight * L_G(D(decoded)), plus D's update.

    The patch discriminator judges reconstructions and prior samples against real
    frames (:func:`gan.discriminator_loss`); the decoder also minimises the
    non-saturating :func:`gan.generator_loss` on both, which pushes it towards
    sharp edges a pixel loss blurs away (Larsen et al., 2016, in a simplified form).
    Returns {"step", "loss", "recon", "kl", "g_loss", "d_loss"} (nothing printed).
    """
    data.check_frames(frames)
    data.check_whole("batch_size", batch_size)
    rng = torch.Generator().manual_seed(seed)
    vae.to(device).train()
    discriminator.to(device).train()
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=d_lr, betas=(0.5, 0.999))
    history = {"step": [], "loss": [], "recon": [], "kl": [], "g_loss": [], "d_loss": []}
    for step in _progress(range(1, steps + 1), progress, "VAE-GAN"):
        x = frames[torch.randint(len(frames), (batch_size,), generator=rng)].to(device)
        recon, mu, logvar = vae(x, rng=rng)
        prior_z = torch.randn(batch_size, *vae.latent_shape, generator=rng).to(device)
        fakes = torch.cat([recon, vae.decode(prior_z)])                # [2B, 3, H, W]
        d_loss = discriminator_loss(discriminator(x), discriminator(fakes.detach()))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        _, rec, kl = vae_loss(recon, x, mu, logvar, beta)
        g_loss = generator_loss(discriminator(fakes))
        loss = rec + beta * kl + adv_weight * g_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        for key, value in (("step", step), ("loss", loss.item()), ("recon", rec.item()),
                           ("kl", kl.item()), ("g_loss", g_loss.item()),
                           ("d_loss", d_loss.item())):
            history[key].append(value)
    vae.eval()
    discriminator.eval()
    return history


# ---------------------------------------------------------------------------------
# Using a trained VAE
# ---------------------------------------------------------------------------------
def lerp_latents(z0: Tensor, z1: Tensor, t: float | Tensor) -> Tensor:
    """z(t) = (1 - t) z0 + t z1 for t in [0, 1]; z0, z1 [*latent] -> [*latent].

    t may be a tensor [N] of positions: the result is then [N, *latent].
    """
    if z0.shape != z1.shape:
        raise ValueError(f"z0 {tuple(z0.shape)} and z1 {tuple(z1.shape)} must have the same "
                         "shape")
    t = torch.as_tensor(t, dtype=z0.dtype, device=z0.device)
    if t.dim() > 1:
        raise ValueError(f"t must be a number or a 1-D tensor of positions, got {tuple(t.shape)}")
    if ((t < 0) | (t > 1)).any():
        raise ValueError("t must lie in [0, 1] (0 gives z0, 1 gives z1)")
    if t.dim() == 1:
        t = t.view(-1, *([1] * z0.dim()))
    return (1 - t) * z0 + t * z1


@torch.no_grad()
def interpolate(vae: FrameVAE, frame_a: Tensor, frame_b: Tensor, t: float | Tensor
                ) -> Tensor:
    """Decode the straight line between the latent means of two frames.

    frame_a, frame_b: [3, size, size]; t: a number -> one frame [3, size, size], or
    positions [N] -> frames [N, 3, size, size]. t = 0 gives decode(mu(frame_a)).
    """
    vae.eval()
    mu, _ = vae.encode(torch.stack([frame_a, frame_b]))
    z = lerp_latents(mu[0], mu[1], t)                               # [*latent] or [N, *latent]
    single = z.dim() == mu[0].dim()
    frames = vae.decode(z[None] if single else z)
    return frames[0] if single else frames


@torch.no_grad()
def reconstruction_mse(vae: FrameVAE, frames: Tensor, batch_size: int = 256) -> float:
    """Mean squared error per pixel (and channel) of decode(mu(x)) against x."""
    total = 0.0
    for i in range(0, len(frames), batch_size):
        x = frames[i:i + batch_size]
        total += F.mse_loss(vae.reconstruct(x), x, reduction="sum").item()
    return total / frames.numel()


def sharpness(frames: Tensor) -> float:
    """Edge energy: mean squared difference between neighbouring pixels.

    mean (x[..., i, j+1] - x[..., i, j])^2 + mean (x[..., i+1, j] - x[..., i, j])^2 over
    frames [N, C, H, W]. A sharp edge is one big step; blur spreads it over several
    small steps, whose squares add up to less (one step of 1 gives 1, three steps of
    1/3 give 1/3). Compare with the same number for real frames.
    """
    if frames.dim() != 4:
        raise ValueError(f"frames must be [batch, channels, H, W], got {tuple(frames.shape)}")
    dx = (frames[..., :, 1:] - frames[..., :, :-1]).pow(2).mean()
    dy = (frames[..., 1:, :] - frames[..., :-1, :]).pow(2).mean()
    return (dx + dy).item()
