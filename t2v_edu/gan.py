"""Generative adversarial networks on single frames (notebook 04).

A GAN pits a generator G (noise z -> frame) against a discriminator D (frame ->
probability that it is real). Goodfellow et al. (2014) write the game as

    min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))],   D(x) = sigmoid(f(x)),

where f is the discriminator network's logit. Everything here works on logits f(x)
and uses log-sigmoid, which is what ``F.binary_cross_entropy_with_logits`` does and
never takes the log of 0.

Frames are float tensors [B, 3, H, W] in [0, 1] (the data set's convention); the
generators end in a sigmoid so that their samples are in [0, 1] too (DCGAN used tanh
and data in [-1, 1]; the two are equivalent up to a rescaling).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import data

# ---------------------------------------------------------------------------------
# Formulas: the value function and the two losses
# ---------------------------------------------------------------------------------


def _check_logits(name: str, logits: Tensor) -> None:
    if not isinstance(logits, Tensor) or not logits.is_floating_point():
        raise TypeError(f"{name} must be a float tensor of discriminator logits f(x), "
                        f"got {type(logits).__name__}")
    if logits.numel() == 0:
        raise ValueError(f"{name} is empty; pass at least one logit")


def discriminator_probability(logits: Tensor) -> Tensor:
    """D(x) = sigmoid(f(x)): the probability that x is real.  [...] -> [...]"""
    return torch.sigmoid(logits)


def value_function(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """V(D, G) = mean log D(x) + mean log(1 - D(G(z))), a scalar.

    log D = logsigmoid(f) and log(1 - D) = logsigmoid(-f). D maximises V, G minimises
    it; at the optimum (p_g = p_data, D = 1/2 everywhere) V = -log 4.
    real_logits: f(x) [B, ...]; fake_logits: f(G(z)) [B', ...].
    """
    _check_logits("real_logits", real_logits)
    _check_logits("fake_logits", fake_logits)
    return F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean()


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """L_D = -mean log D(x) - mean log(1 - D(G(z))) = -V(D, G), a scalar.

    Equals BCE-with-logits(real, 1) + BCE-with-logits(fake, 0), each mean-reduced.
    """
    return -value_function(real_logits, fake_logits)


def generator_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating L_G = -mean log D(G(z)) = BCE-with-logits(fake, 1), a scalar.

    The minimax form would minimise mean log(1 - D(G(z))) (see
    :func:`saturating_generator_loss`), whose gradient vanishes exactly when D easily
    spots the fakes, early in training; Goodfellow et al. (2014) recommend this form.
    """
    _check_logits("fake_logits", fake_logits)
    return -F.logsigmoid(fake_logits).mean()


def auxiliary_loss(aux_logits: Tensor, condition: Tensor) -> Tensor:
    """AC-GAN's extra term: BCE-with-logits(aux_logits, condition), mean-reduced.

    The discriminator's auxiliary head predicts each entry of a one-hot (or
    multi-hot) condition from the frame; D minimises it on real frames, G on its
    fakes, which gives G a direct signal to obey the condition.
    aux_logits, condition: [B, cond_dim], condition entries in [0, 1].
    """
    if aux_logits.shape != condition.shape:
        raise ValueError(f"aux_logits {tuple(aux_logits.shape)} and condition "
                         f"{tuple(condition.shape)} must have the same shape")
    if condition.numel() and (condition.min() < 0 or condition.max() > 1):
        raise ValueError("condition entries must lie in [0, 1] (one-hot or multi-hot "
                         f"targets), got values in [{float(condition.min()):.4g}, "
                         f"{float(condition.max()):.4g}]")
    return F.binary_cross_entropy_with_logits(aux_logits, condition.float())


def saturating_generator_loss(fake_logits: Tensor) -> Tensor:
    """The minimax generator loss mean log(1 - D(G(z))) = mean logsigmoid(-f), a scalar."""
    _check_logits("fake_logits", fake_logits)
    return F.logsigmoid(-fake_logits).mean()


# ---------------------------------------------------------------------------------
# Data: single frames and their attributes
# ---------------------------------------------------------------------------------
FRAME_ATTRIBUTES = ("shape", "color")  # motion is not visible in a single frame


def load_frames(num_videos: int = 1024, size: int = 32, split: str = "train",
                seed: int = 0, frames_per_video: int = 1, num_frames: int = 8,
                spec: str | data.DataSpec = "cpu") -> tuple[Tensor, Tensor]:
    """Frames from MovingShapes: (frames [N, 3, size, size] in [0, 1], labels [N, 3]).

    Takes ``frames_per_video`` frames, evenly spaced, from each of the first
    ``num_videos`` videos (N = num_videos * frames_per_video). labels are
    ``data.attribute_labels`` (shape, colour, motion class indices) of each frame's video.
    """
    if not 1 <= frames_per_video <= num_frames:
        raise ValueError(f"frames_per_video must be in 1..num_frames={num_frames}, "
                         f"got {frames_per_video}")
    dataset = data.MovingShapes(split, num_frames=num_frames, size=size,
                                length=num_videos, seed=seed, spec=spec)
    videos, _, attrs = dataset.get_batch(range(num_videos))      # [V, T, 3, H, W]
    picks = torch.linspace(0, num_frames - 1, frames_per_video).round().long()
    frames = videos[:, picks].flatten(0, 1)                       # [V * F, 3, H, W]
    labels = data.attribute_labels(attrs, spec).repeat_interleave(frames_per_video, 0)
    return frames.contiguous(), labels


def attribute_condition(labels: Tensor, spec: str | data.DataSpec = "cpu") -> Tensor:
    """One-hot shape and colour, concatenated: labels [B, >=2] -> float [B, S + C].

    labels are ``data.attribute_labels`` (columns shape, colour[, motion]); motion is
    dropped because a single frame cannot show it.
    """
    names = data.attribute_names(spec)
    if labels.dim() != 2 or labels.shape[1] < 2:
        raise ValueError(f"labels must be [batch, 2 or 3] (shape, colour[, motion]) class "
                         f"indices, got shape {tuple(labels.shape)}")
    shape = F.one_hot(labels[:, 0].long(), len(names["shape"]))
    color = F.one_hot(labels[:, 1].long(), len(names["color"]))
    return torch.cat([shape, color], dim=1).float()


def condition_dim(spec: str | data.DataSpec = "cpu") -> int:
    """Width of :func:`attribute_condition`'s vectors for a data spec."""
    names = data.attribute_names(spec)
    return len(names["shape"]) + len(names["color"])


# ---------------------------------------------------------------------------------
# DCGAN (Radford, Metz & Chintala, 2015) for single frames
# ---------------------------------------------------------------------------------
BASE = 4  # the generator starts from a 4 x 4 grid; the discriminator ends on one


def _num_doublings(size: int) -> int:
    k = int(round(math.log2(size / BASE))) if size >= BASE else -1
    if k < 1 or BASE * 2 ** k != size:
        raise ValueError(f"size must be 4 * 2^k with k >= 1 (8, 16, 32, 64, ...), got {size}")
    return k


class DCGANGenerator(nn.Module):
    """z [B, latent_dim] (+ condition [B, cond_dim]) -> frames [B, 3, size, size] in [0, 1].

    DCGAN's recipe: project to a 4 x 4 grid, then double the resolution with 4x4
    transposed convolutions, BatchNorm and ReLU, halving the channels each time.
    A condition vector (e.g. :func:`attribute_condition` or a caption embedding) is
    concatenated to z (Mirza & Osindero, 2014).
    """

    def __init__(self, latent_dim: int = 64, size: int = 32, width: int = 32,
                 cond_dim: int = 0, channels: int = 3):
        super().__init__()
        k = _num_doublings(size)
        data.check_sizes(latent_dim=latent_dim, width=width, channels=channels)
        data.check_whole("cond_dim", cond_dim, 0)
        self.latent_dim, self.cond_dim, self.size = latent_dim, cond_dim, size
        widths = [width * 2 ** (k - 1 - i) for i in range(k)]      # e.g. 128, 64, 32
        self.project = nn.Sequential(
            nn.Linear(latent_dim + cond_dim, widths[0] * BASE * BASE, bias=False),
            nn.Unflatten(1, (widths[0], BASE, BASE)),
            nn.BatchNorm2d(widths[0]), nn.ReLU())
        layers = []
        for i in range(k - 1):
            layers += [nn.ConvTranspose2d(widths[i], widths[i + 1], 4, 2, 1, bias=False),
                       nn.BatchNorm2d(widths[i + 1]), nn.ReLU()]
        # The last doubling writes the colour channels directly (as in DCGAN).
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Sigmoid()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: Tensor, condition: Tensor | None = None) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must be [batch, {self.latent_dim}], got {tuple(z.shape)}")
        c = _check_condition(condition, self.cond_dim, len(z))
        z = torch.cat([z, c], dim=1) if c is not None else z
        return self.body(self.project(z))                         # [B, 3, size, size]


def minibatch_std(h: Tensor) -> Tensor:
    """Append one channel holding the batch's mean feature std (Karras et al., 2018).

    h [B, C, H, W] -> [B, C + 1, H, W]. A collapsed generator makes a batch of
    near-identical fakes, whose std is near 0: D can see that, so G must vary.
    """
    std = h.std(dim=0, unbiased=False).mean()                    # scalar
    return torch.cat([h, std.expand(len(h), 1, *h.shape[2:])], dim=1)


class DCGANDiscriminator(nn.Module):
    """frames [B, 3, size, size] (+ condition) -> logits f(x) [B].

    Strided 4x4 convolutions with LeakyReLU(0.2) (BatchNorm after the first), down to
    a 4 x 4 grid, then a linear read-out. With a condition, the projection
    discriminator (Miyato & Koyama, 2018) adds <embed(condition), features>, and an
    auxiliary head predicts the condition from the frame alone (AC-GAN, Odena et al.
    2017; see :meth:`forward_aux` and :func:`auxiliary_loss`).
    ``minibatch_std=True`` appends :func:`minibatch_std`, a remedy for mode collapse.
    ``spectral=True`` replaces BatchNorm by spectral normalisation of every weight
    (Miyato et al., 2018): D's slopes stay bounded, so it cannot win outright.
    """

    def __init__(self, size: int = 32, width: int = 32, cond_dim: int = 0,
                 channels: int = 3, minibatch_std: bool = False, spectral: bool = False):
        super().__init__()
        k = _num_doublings(size)
        data.check_sizes(width=width, channels=channels)
        data.check_whole("cond_dim", cond_dim, 0)
        self.size, self.cond_dim, self.use_minibatch_std = size, cond_dim, minibatch_std
        sn = nn.utils.parametrizations.spectral_norm if spectral else (lambda m: m)
        widths = [channels] + [width * 2 ** i for i in range(k)]    # e.g. 3, 32, 64, 128
        layers = []
        for i in range(k):
            layers.append(sn(nn.Conv2d(widths[i], widths[i + 1], 4, 2, 1)))
            if i > 0 and not spectral:
                layers.append(nn.BatchNorm2d(widths[i + 1]))
            layers.append(nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers)
        features = (widths[-1] + int(minibatch_std)) * BASE * BASE
        self.read_out = sn(nn.Linear(features, 1))
        self.embed = sn(nn.Linear(cond_dim, features, bias=False)) if cond_dim else None
        self.aux = nn.Linear(features, cond_dim) if cond_dim else None

    def forward(self, frames: Tensor, condition: Tensor | None = None) -> Tensor:
        return self.forward_aux(frames, condition)[0]

    def forward_aux(self, frames: Tensor, condition: Tensor | None = None
                    ) -> tuple[Tensor, Tensor | None]:
        """(logits f(x, c) [B], auxiliary condition logits [B, cond_dim] or None)."""
        _check_frames(frames)
        if tuple(frames.shape[-2:]) != (self.size, self.size):
            raise ValueError(f"this discriminator was built for {self.size} x {self.size} "
                             f"frames, got {frames.shape[-2]} x {frames.shape[-1]}: build it "
                             f"with size={frames.shape[-1]} or resize the frames")
        c = _check_condition(condition, self.cond_dim, len(frames))
        h = self.body(frames)                                     # [B, C, 4, 4]
        if self.use_minibatch_std:
            h = minibatch_std(h)
        h = h.flatten(1)                                          # [B, F]
        logits = self.read_out(h).squeeze(1)                      # [B]
        if c is None:
            return logits, None
        return logits + (self.embed(c) * h).sum(dim=1), self.aux(h)


class PatchDiscriminator(nn.Module):
    """frames [B, C, H, W] -> patch logits [B, 1, H / 2^k, W / 2^k], k = len(hidden).

    A PatchGAN (Isola et al., 2017): each logit judges one receptive field, so the
    loss rewards sharp local texture rather than a global "real" verdict. Strided 4x4
    convolutions, GroupNorm after the first, LeakyReLU(0.2), a 3x3 read-out.
    Use with :func:`discriminator_loss` / :func:`generator_loss` (they mean-reduce).
    """

    def __init__(self, in_channels: int = 3, hidden: tuple[int, ...] = (32, 64)):
        super().__init__()
        if not hidden:
            raise ValueError("hidden must name at least one width, e.g. (32, 64)")
        widths = [in_channels, *hidden]
        layers = []
        for i in range(len(hidden)):
            layers.append(nn.Conv2d(widths[i], widths[i + 1], 4, 2, 1))
            if i > 0:
                layers.append(nn.GroupNorm(num_groups(widths[i + 1]), widths[i + 1]))
            layers.append(nn.LeakyReLU(0.2))
        layers.append(nn.Conv2d(widths[-1], 1, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, frames: Tensor) -> Tensor:
        return self.body(_check_frames(frames))


def num_groups(channels: int, max_groups: int = 8) -> int:
    """The largest group count <= max_groups that divides ``channels`` (for GroupNorm)."""
    return max(g for g in range(1, max_groups + 1) if channels % g == 0)


def _check_frames(frames: Tensor) -> Tensor:
    if not isinstance(frames, Tensor) or frames.dim() != 4:
        shape = tuple(frames.shape) if isinstance(frames, Tensor) else type(frames).__name__
        raise ValueError(f"frames must be a tensor [batch, channels, height, width], got {shape}")
    return data.check_float(frames)


def _check_condition(condition: Tensor | None, cond_dim: int, batch: int) -> Tensor | None:
    """The condition as float [batch, cond_dim]; None for an unconditional model."""
    if not cond_dim:
        if condition is not None:
            raise ValueError("this model is unconditional (cond_dim=0); build it with "
                             "cond_dim=N to condition it")
        return None
    if condition is None:
        raise ValueError(f"this model is conditional: pass a condition [batch, {cond_dim}] "
                         "(e.g. gan.attribute_condition(labels))")
    if condition.shape != (batch, cond_dim):
        raise ValueError(f"condition must be [{batch}, {cond_dim}], got {tuple(condition.shape)}")
    return condition.float()


def init_weights(module: nn.Module) -> None:
    """DCGAN's initialisation: conv weights N(0, 0.02), BatchNorm scale N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        weight = module.parametrizations.weight.original \
            if nn.utils.parametrize.is_parametrized(module, "weight") else module.weight
        nn.init.normal_(weight, 0.0, 0.02)  # (spectral norm then rescales it)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# ---------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class GANConfig:
    """Sizes and optimiser settings for the GANs of notebook 04.

    DCGAN used Adam with lr 2e-4 and beta1 0.5 and BatchNorm in D; for runs of a few
    hundred steps on a CPU we use spectral normalisation in D (it did not let D win
    outright) and larger learning rates, D's half of G's.
    """

    size: int = 32
    latent_dim: int = 64
    width: int = 16
    steps: int = 600             # unconditional DCGAN
    cond_steps: int = 3000       # conditional GAN (measured: shape obeyed 33 % of the time
                                 # after 1000 steps, 52 % after 2000, 75 % after 3000)
    batch_size: int = 32
    lr: float = 2e-3             # generator
    d_lr: float = 1e-3           # discriminator
    aux_weight: float = 1.0      # AC-GAN auxiliary loss of the conditional GAN
    spectral: bool = True        # spectral norm in D (False: DCGAN's BatchNorm)
    num_videos: int = 1024       # videos the training frames come from
    classifier_steps: int = 300


PRESETS: dict[str, GANConfig] = {
    "cpu": GANConfig(),
    "gpu": GANConfig(size=64, latent_dim=128, width=64, steps=5000, cond_steps=8000,
                     batch_size=128, lr=4e-4, d_lr=2e-4, num_videos=8192,
                     classifier_steps=1000),
}


def make_gan(config: GANConfig, cond_dim: int = 0, minibatch_std: bool = False
             ) -> tuple[DCGANGenerator, DCGANDiscriminator]:
    """A DCGAN generator and discriminator for ``config``, with DCGAN's initialisation."""
    if not isinstance(config, GANConfig):
        raise TypeError(f"config must be a GANConfig, e.g. gan.PRESETS['cpu'], got "
                        f"{type(config).__name__} {config!r:.60}")
    G = DCGANGenerator(config.latent_dim, config.size, config.width, cond_dim)
    D = DCGANDiscriminator(config.size, config.width, cond_dim, minibatch_std=minibatch_std,
                           spectral=config.spectral)
    G.apply(init_weights)
    D.apply(init_weights)
    return G, D


def sample_noise(n: int, latent_dim: int, rng: torch.Generator | None = None,
                 device: str | torch.device = "cpu") -> Tensor:
    """z ~ N(0, I): [n, latent_dim], drawn on the CPU from ``rng`` for reproducibility."""
    return torch.randn(n, latent_dim, generator=rng).to(device)


def train_gan(generator: DCGANGenerator, discriminator: nn.Module, frames: Tensor,
              steps: int, conditions: Tensor | None = None, batch_size: int = 64,
              lr: float = 2e-4, d_lr: float | None = None, d_steps: int = 1,
              snapshot_steps: tuple[int, ...] = (), num_snapshots: int = 16,
              seed: int = 0, device: str | torch.device = "cpu", aux_weight: float = 0.0,
              progress: bool = False) -> dict:
    """Train G and D in alternation; return the history (nothing is printed).

    frames [N, 3, H, W]; conditions [N, cond_dim] for a conditional GAN (fakes get the
    conditions of the real batch). Each step: ``d_steps`` updates of D on
    :func:`discriminator_loss`, then one of G on :func:`generator_loss`. With
    ``aux_weight`` > 0 (conditional only) both also minimise aux_weight *
    :func:`auxiliary_loss`, D on real frames and G on its fakes (AC-GAN).
    Returns {"step", "d_loss", "g_loss", "d_real", "d_fake", "aux"} (lists, one per
    step; d_loss / g_loss without the auxiliary term; d_real / d_fake are the mean
    D(x), D(G(z)); aux is G's auxiliary loss) and "snapshots": [(step, frames)]
    of G's samples for fixed noise (and the first ``num_snapshots`` conditions)
    after each step in ``snapshot_steps`` (step 0 = before training).
    """
    data.check_frames(frames)
    if (conditions is None) != (getattr(generator, "cond_dim", 0) == 0):
        raise ValueError("pass conditions exactly when the generator is conditional "
                         f"(its cond_dim is {generator.cond_dim})")
    if conditions is not None and getattr(discriminator, "cond_dim", None) == 0:
        raise ValueError("the discriminator is unconditional (cond_dim=0); build it with "
                         f"cond_dim={generator.cond_dim} to condition it like the generator")
    if conditions is not None and len(conditions) != len(frames):
        raise ValueError(f"conditions has {len(conditions)} rows but frames has "
                         f"{len(frames)}: pass one condition per frame")
    data.check_sizes(batch_size=batch_size, d_steps=d_steps)
    rng = torch.Generator().manual_seed(seed)
    generator.to(device).train()
    discriminator.to(device).train()
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=d_lr or lr, betas=(0.5, 0.999))
    fixed_z = sample_noise(num_snapshots, generator.latent_dim, rng, device)
    fixed_c = None if conditions is None else conditions[:num_snapshots].to(device)
    if aux_weight and conditions is None:
        raise ValueError("aux_weight > 0 needs a conditional GAN (conditions=...)")
    history = {"step": [], "d_loss": [], "g_loss": [], "d_real": [], "d_fake": [], "aux": [],
               "snapshots": []}

    def snapshot(step: int) -> None:
        generator.eval()
        with torch.no_grad():
            history["snapshots"].append((step, generator(fixed_z, fixed_c).cpu()))
        generator.train()

    if 0 in snapshot_steps:
        snapshot(0)
    for step in _progress(range(1, steps + 1), progress, "GAN"):
        for _ in range(d_steps):
            idx = torch.randint(len(frames), (batch_size,), generator=rng)
            real = frames[idx].to(device)
            cond = None if conditions is None else conditions[idx].to(device)
            z = sample_noise(batch_size, generator.latent_dim, rng, device)
            fake = generator(z, cond) if cond is not None else generator(z)
            real_logits, real_aux = _disc(discriminator, real, cond)
            fake_logits, _ = _disc(discriminator, fake.detach(), cond)
            d_loss = discriminator_loss(real_logits, fake_logits)
            d_total = d_loss + aux_weight * auxiliary_loss(real_aux, cond) if aux_weight \
                else d_loss
            opt_d.zero_grad(set_to_none=True)
            d_total.backward()
            opt_d.step()
        logits, aux_logits = _disc(discriminator, fake, cond)
        g_loss = generator_loss(logits)
        aux = auxiliary_loss(aux_logits, cond) if aux_weight else torch.zeros(())
        opt_g.zero_grad(set_to_none=True)
        (g_loss + aux_weight * aux).backward()
        opt_g.step()
        history["step"].append(step)
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
        history["d_real"].append(torch.sigmoid(real_logits).mean().item())
        history["d_fake"].append(torch.sigmoid(fake_logits).mean().item())
        history["aux"].append(aux.item())
        if step in snapshot_steps:
            snapshot(step)
    generator.eval()
    discriminator.eval()
    return history


def _disc(discriminator: nn.Module, frames: Tensor, cond: Tensor | None
          ) -> tuple[Tensor, Tensor | None]:
    """(logits, auxiliary logits or None) for any discriminator."""
    if cond is None:
        return discriminator(frames), None
    if hasattr(discriminator, "forward_aux"):
        return discriminator.forward_aux(frames, cond)
    return discriminator(frames, cond), None


def _progress(iterable, enabled: bool, desc: str):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, desc=desc)


@torch.no_grad()
def generate(generator: DCGANGenerator, n: int, condition: Tensor | None = None,
             seed: int = 0, batch_size: int = 256) -> Tensor:
    """n samples of G (eval mode): frames [n, 3, size, size] in [0, 1].

    condition: None, one vector [cond_dim] used for all n, or [n, cond_dim].
    """
    generator.eval()
    device = next(generator.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    z = sample_noise(n, generator.latent_dim, rng, device)
    if condition is not None:
        condition = condition.to(device).float()
        condition = condition.expand(n, -1) if condition.dim() == 1 else condition
    out = []
    for i in range(0, n, batch_size):
        c = None if condition is None else condition[i:i + batch_size]
        out.append(generator(z[i:i + batch_size], c) if c is not None
                   else generator(z[i:i + batch_size]))
    return torch.cat(out).cpu()


# ---------------------------------------------------------------------------------
# Scoring: a frame classifier (condition accuracy) and a diversity number
# ---------------------------------------------------------------------------------
class FrameClassifier(nn.Module):
    """frames [B, 3, H, W] -> (shape logits [B, S], colour logits [B, C]).

    A small CNN trained on real frames; it scores whether generated frames show the
    shape and colour they were asked for.
    """

    def __init__(self, spec: str | data.DataSpec = "cpu", width: int = 16):
        super().__init__()
        names = data.attribute_names(spec)
        self.body = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.shape_head = nn.Linear(2 * width, len(names["shape"]))
        self.color_head = nn.Linear(2 * width, len(names["color"]))

    def forward(self, frames: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(_check_frames(frames))
        return self.shape_head(h), self.color_head(h)


def train_classifier(classifier: FrameClassifier, frames: Tensor, labels: Tensor,
                     steps: int = 300, batch_size: int = 64, lr: float = 1e-2,
                     seed: int = 0) -> dict:
    """Cross-entropy on shape and colour; returns {"step", "loss"} (nothing printed)."""
    labels = _check_labels(labels, len(frames))
    data.check_whole("batch_size", batch_size)
    rng = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(classifier.parameters(), lr=lr)
    history = {"step": [], "loss": []}
    classifier.train()
    for step in range(1, steps + 1):
        idx = torch.randint(len(frames), (batch_size,), generator=rng)
        shape_logits, color_logits = classifier(frames[idx])
        loss = (F.cross_entropy(shape_logits, labels[idx, 0])
                + F.cross_entropy(color_logits, labels[idx, 1]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history["step"].append(step)
        history["loss"].append(loss.item())
    classifier.eval()
    return history


@torch.no_grad()
def condition_accuracy(classifier: FrameClassifier, frames: Tensor, labels: Tensor
                       ) -> dict[str, float]:
    """Fraction of frames whose predicted shape / colour / both match ``labels`` [N, >=2]."""
    labels = _check_labels(labels, len(frames))
    classifier.eval()
    shape_logits, color_logits = classifier(frames)
    shape_ok = shape_logits.argmax(1) == labels[:, 0]
    color_ok = color_logits.argmax(1) == labels[:, 1]
    return {"shape": shape_ok.float().mean().item(), "color": color_ok.float().mean().item(),
            "both": (shape_ok & color_ok).float().mean().item()}


def _check_labels(labels: Tensor, num_frames: int) -> Tensor:
    """Class-index labels as long [num_frames, >=2], else a clear error (shape and dtype
    only: free on a GPU)."""
    if not isinstance(labels, Tensor) or labels.is_floating_point() or labels.is_complex() \
            or labels.dtype == torch.bool or labels.dim() != 2 or labels.shape[1] < 2 \
            or len(labels) != num_frames:
        got = (f"{labels.dtype} {tuple(labels.shape)}" if isinstance(labels, Tensor)
               else type(labels).__name__)
        raise ValueError(f"labels must be class indices, an integer tensor [{num_frames}, 2 or "
                         f"3] with columns shape, colour[, motion] (load_frames' labels, one "
                         f"row per frame), got {got}")
    return labels.long()


@torch.no_grad()
def kind_counts(classifier: FrameClassifier, frames: Tensor) -> Tensor:
    """How many frames the classifier reads as each (shape, colour): int64 [S, C].

    A GAN that drops modes leaves cells of this grid empty although real frames fill
    them all: count the cells holding at least a few per cent of the frames.
    """
    classifier.eval()
    shape_logits, color_logits = classifier(frames)
    counts = torch.zeros(shape_logits.shape[1], color_logits.shape[1], dtype=torch.long)
    counts.index_put_((shape_logits.argmax(1).cpu(), color_logits.argmax(1).cpu()),
                      torch.ones(len(frames), dtype=torch.long), accumulate=True)
    return counts


def kinds_covered(counts: Tensor, min_share: float = 0.02) -> int:
    """Kinds (cells of :func:`kind_counts`) holding at least ``min_share`` of the frames."""
    return int((counts >= min_share * counts.sum()).sum())


def diversity(frames: Tensor) -> float:
    """diversity = mean_{i<j} ||x_i - x_j|| / sqrt(D), the mean pairwise RMS distance.

    frames [N, ...] with N >= 2; D = pixels per frame. 0 for identical samples (total
    mode collapse); compare with the same number for real frames.
    """
    if frames.dim() < 2 or len(frames) < 2:
        raise ValueError(f"diversity needs at least 2 frames [N, ...], got {tuple(frames.shape)}")
    if not frames.is_floating_point():
        raise TypeError(f"diversity needs float frames (pixels in [0, 1]), got "
                        f"{frames.dtype}: convert uint8 frames with frames / 255")
    flat = frames.flatten(1).double()                              # [N, D]
    dist = torch.cdist(flat, flat)                                 # [N, N]
    n = len(flat)
    mean = dist.sum() / (n * (n - 1))                              # the diagonal is 0
    return (mean / math.sqrt(flat.shape[1])).item()
