"""The seed article's text-to-video model, made to work (notebook 08).

The article prints a Keras "LSTM-GAN" that cannot run (see :mod:`t2v_edu.seed_port`).
What it describes is an RNN encoder-decoder trained as a GAN:

    caption --Embedding+LSTM--> (h, c) --RepeatVector(T)--> LSTM decoder --> one frame
    per step (:class:`FrameDecoder`, applied to every step: TimeDistributed)

(the decoder's input also carries the mean word vector and a noise vector z)

and a discriminator that judges a whole video *and its caption*: a convolutional
frame encoder, an LSTM over the frames, and a projection onto the caption's code
(Miyato & Koyama, 2018), giving one logit per video [B, 1] (the article's
discriminator gave one per frame, [B, T, 1], against labels [B, 1]).

Losses (from :mod:`t2v_edu.gan` and :mod:`t2v_edu.vae`):

    L_D = -log D(x, c) - log(1 - D(G(c, z), c)) - log(1 - D(x, c'))     c' a wrong caption
    L_G = a * -log D(G(c, z), c) + r * mean (G(c, z_x) - x)^2 + b * KL(q(z | x) || N(0, I))

The third term of L_D ("matching-aware", Reed et al., 2016) teaches D that a real
video with the wrong caption is also "fake", so G must obey the caption.

What is *not* in the article, said plainly: the last two terms of L_G. A caption
does not fix where a shape starts, so a reconstruction loss against a random real
video only teaches an average (mostly black) frame. Here an encoder reads z_x, the
start and size, off the real video's first frame, so the generator can reconstruct
it: a
conditional VAE-GAN (as in BicycleGAN, Zhu et al., 2017), the article's two model
families together. In our CPU runs the GAN with a plain L1 term to a random real
video of the caption collapsed to grey or black frames within a few hundred steps;
with the encoder, the reconstruction does most of the teaching and the adversarial
term (small weight) shapes the prior samples. The weights are preset fields, so each
choice can be switched off (``recon_weight=0``: the article's pure GAN).

Public API (the model interface of :mod:`t2v_edu.training`): ``PRESETS``,
``build(preset, device)``, ``SeedGAN.sample(captions, generator)``, ``stages``;
``gan_losses`` (the loss of one step) and ``train_steps`` (a minimal loop).
``t2v-edu train --model seed`` trains it, ``t2v_edu.generate(..., model="seed")``
samples the shipped ``weights/seed_cpu.pt``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from . import data, gan
from .judges import check_video_pixels
from .text import Vocab
from .training import check_fields, lookup_preset

NAME = "seed"


@dataclass(frozen=True)
class SeedPreset:
    """Sizes and training settings of the seed model (one per hardware preset)."""

    data_spec: str = "cpu"
    num_frames: int = 8
    size: int = 32
    embed_dim: int = 32        # word embeddings
    hidden: int = 128          # LSTM units (the article's 128)
    noise_dim: int = 8         # z, one per video: where the shape starts, its size
    width: int = 16            # base channel count of the frame head / frame encoder
    batch_size: int = 32
    steps: int = 1200          # the shipped checkpoint (``t2v-edu train --model seed``)
    live_steps: int = 100      # notebook 08's live run
    lr: float = 1e-3           # one AdamW for G and D (see ``stages``)
    warmup: int = 20
    betas: tuple[float, float] = (0.5, 0.999)
    recon_weight: float = 20.0  # r: mean squared error; 0 = the article's pure GAN
    kl_weight: float = 2e-3     # b: the posterior's KL (nats per video)
    adv_weight: float = 0.05    # a: the generator's adversarial term
    mismatch_weight: float = 1.0
    storage_dtype: str = "float32"   # of the saved weights ("float16": half the size)

    def __post_init__(self):
        check_fields(self, positive=("num_frames", "size", "embed_dim", "hidden", "noise_dim",
                                     "width", "batch_size", "steps", "live_steps", "lr"),
                     at_least_zero=("warmup", "recon_weight", "kl_weight", "adv_weight",
                                    "mismatch_weight"),
                     shares=("betas",))


PRESETS: dict[str, SeedPreset] = {
    "cpu": SeedPreset(),
    # width 32 and float16 storage keep model.pt near 11 MB (width 48 in float32: 34 MB)
    "gpu": SeedPreset(data_spec="gpu", num_frames=16, size=64, embed_dim=64, hidden=256,
                      noise_dim=8, width=32, batch_size=64, steps=20_000,
                      live_steps=2000, storage_dtype="float16"),
}


def get_preset(preset: str | SeedPreset) -> SeedPreset:
    return lookup_preset(PRESETS, preset)


# ---------------------------------------------------------------------------------
# Generator: text encoder -> RepeatVector -> LSTM decoder -> frame head per step
# ---------------------------------------------------------------------------------
class TextEncoder(nn.Module):
    """Caption ids [B, L] + lengths [B] -> the LSTM's final state (h, c), each [B, hidden],
    and the mean of the word vectors [B, embed] (notebook 01's bag of embeddings).

    Packed sequences, so that padding never enters the state. The bag gives the
    generator a direct path from each word (a colour, a shape) to the frames; the
    LSTM state is slow to learn which position of a caption holds which word.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True)

    def forward(self, ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        emb = self.embed(ids)                                     # [B, L, embed]
        packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        _, (h, c) = self.lstm(packed)                             # [1, B, hidden] each
        bag = emb.sum(1) / data.to_device(lengths, emb.device)[:, None]  # mean word [B, embed]
        return h[0], c[0], bag


class FrameDecoder(nn.Module):
    """One decoder output h [N, hidden] -> one frame [N, 3, size, size] in (0, 1).

    The repaired ``TimeDistributed(Dense(..., 'sigmoid'))``: a linear map to a 4 x 4
    grid, then 4x4 transposed convolutions that double the resolution (DCGAN's
    upsampling, notebook 04), ReLU, and a sigmoid on every value. No BatchNorm, so a
    frame does not depend on the other frames of its batch. The last bias starts at
    ``BACKGROUND_LOGIT``: sigmoid(-3) ~ 0.05, the mostly black frames of the data set,
    instead of a grey 0.5 that takes hundreds of steps to unlearn.
    """

    BACKGROUND_LOGIT = -3.0

    def __init__(self, hidden: int, size: int, width: int):
        super().__init__()
        k = int(round(math.log2(size / 4)))
        if k < 1 or 4 * 2 ** k != size:
            raise ValueError(f"size must be 4 * 2^k (8, 16, 32, 64, ...), got {size}")
        widths = [width * 2 ** (k - 1 - i) for i in range(k)] + [3]   # e.g. 64, 32, 16, 3
        self.project = nn.Sequential(nn.Linear(hidden, widths[0] * 16), nn.ReLU(),
                                     nn.Unflatten(1, (widths[0], 4, 4)))
        layers = []
        for i in range(k):
            layers.append(nn.ConvTranspose2d(widths[i], widths[i + 1], 4, 2, 1))
            if i < k - 1:
                layers.append(nn.ReLU())
        self.body = nn.Sequential(*layers)

    def reset_output_bias(self) -> None:
        nn.init.constant_(self.body[-1].bias, self.BACKGROUND_LOGIT)

    def forward(self, h: Tensor) -> Tensor:
        return torch.sigmoid(self.body(self.project(h)))          # [N, 3, size, size]


class SeedGenerator(nn.Module):
    """(caption ids, lengths, z [B, noise_dim]) -> video [B, T, 3, H, W] in [0, 1].

    The article's design, repaired: encoder state (h, c) -> initial state of the
    decoder; decoder input at every step = RepeatVector(T)([h, bag, z]); each decoder
    output, next to [h, bag, z] (a skip path: what stays constant, like the colour, need
    not travel through the LSTM) -> a frame through :class:`FrameDecoder`
    (TimeDistributed), ending in a sigmoid (a softmax would make every frame's
    pixels sum to 1).
    """

    def __init__(self, vocab_size: int, p: SeedPreset):
        super().__init__()
        self.num_frames, self.noise_dim = p.num_frames, p.noise_dim
        self.text = TextEncoder(vocab_size, p.embed_dim, p.hidden)
        code_dim = p.hidden + p.embed_dim + p.noise_dim
        self.decoder = nn.LSTM(code_dim, p.hidden, batch_first=True)
        self.frame = FrameDecoder(p.hidden + code_dim, p.size, p.width)

    def forward(self, ids: Tensor, lengths: Tensor, z: Tensor) -> Tensor:
        h, c, bag = self.text(ids, lengths)                       # [B, hidden], [B, embed]
        code = torch.cat([h, bag, z], dim=1)                      # [B, hidden + embed + noise]
        steps = code[:, None, :].expand(-1, self.num_frames, -1)  # RepeatVector: [B, T, .]
        out, _ = self.decoder(steps, (h[None], c[None]))          # [B, T, hidden]
        out = torch.cat([out, steps], dim=2)                      # + the code: a skip path
        B, T = out.shape[:2]
        frames = self.frame(out.reshape(B * T, -1))               # TimeDistributed
        return frames.view(B, T, *frames.shape[1:])               # [B, T, 3, H, W]


# ---------------------------------------------------------------------------------
# Discriminator: frame encoder -> LSTM over time -> one logit per (video, caption)
# ---------------------------------------------------------------------------------
class FrameEncoder(nn.Module):
    """frames [N, 3, H, W] -> features [N, out_dim]: strided 4x4 convs down to 4 x 4."""

    def __init__(self, size: int, width: int, out_dim: int):
        super().__init__()
        k = int(round(math.log2(size / 4)))
        widths = [3] + [width * 2 ** min(i, 2) for i in range(k)]
        layers = []
        for i in range(k):
            layers += [nn.Conv2d(widths[i], widths[i + 1], 4, 2, 1), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(widths[-1] * 16, out_dim),
                                  nn.LeakyReLU(0.2))

    def forward(self, frames: Tensor) -> Tensor:
        return self.body(frames)


class VideoEncoder(nn.Module):
    """video [B, T, 3, H, W] -> q(z | video) = N(mu, exp(logvar)): mu, logvar [B, noise_dim].

    z must carry only what the caption leaves open: where the shape starts and how big
    it is. So the encoder sees only the *first frame*, without colour (the maximum
    over R, G, B) and coarse (``ENCODER_GRID`` x ``ENCODER_GRID`` averages): enough
    for position and size, too little for colour, shape or motion, which must then
    come from the caption. (An encoder that saw the whole video would let z carry
    everything, and samples from the prior would ignore the caption.) The generator
    can then *reconstruct* the real video: a conditional VAE-GAN, as in BicycleGAN
    (Zhu et al., 2017).
    """

    ENCODER_GRID = 8

    def __init__(self, p: SeedPreset):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(self.ENCODER_GRID ** 2, p.hidden),
                                 nn.ReLU(), nn.Linear(p.hidden, 2 * p.noise_dim))

    def forward(self, video: Tensor) -> tuple[Tensor, Tensor]:
        first = video[:, 0].amax(dim=1, keepdim=True)                       # [B, 1, H, W]
        coarse = F.adaptive_avg_pool2d(first, self.ENCODER_GRID)            # [B, 1, g, g]
        mu, logvar = self.net(coarse).chunk(2, dim=1)
        return mu, logvar.clamp(-8, 8)


class SeedDiscriminator(nn.Module):
    """(video [B, T, 3, H, W], caption ids, lengths) -> logits f(x, c) [B, 1].

    f = w . v + b + <v, e(c)>: v is the last hidden state of an LSTM over the frame
    features (it sees motion), e(c) a bag of word embeddings of the caption.
    """

    def __init__(self, vocab_size: int, p: SeedPreset):
        super().__init__()
        self.frames = FrameEncoder(p.size, p.width, p.hidden)
        self.lstm = nn.LSTM(p.hidden, p.hidden, batch_first=True)
        self.embed = nn.EmbeddingBag(vocab_size, p.hidden, mode="mean", padding_idx=0)
        self.read_out = nn.Linear(p.hidden, 1)

    def features(self, video: Tensor) -> Tensor:
        """v: the LSTM's last hidden state over the frame features, [B, hidden]."""
        B, T = video.shape[:2]
        feats = self.frames(video.flatten(0, 1)).view(B, T, -1)   # [B, T, hidden]
        _, (h, _) = self.lstm(feats)
        return h[0]

    def score(self, v: Tensor, ids: Tensor) -> Tensor:
        """f = w . v + b + <v, e(c)>: [B, 1]. Only this part sees the caption."""
        return self.read_out(v) + (v * self.embed(ids)).sum(dim=1, keepdim=True)

    def forward(self, video: Tensor, ids: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.score(self.features(video), ids)             # [B, 1]


# ---------------------------------------------------------------------------------
# The whole model, with its vocabulary and preset
# ---------------------------------------------------------------------------------
class SeedGAN(nn.Module):
    """Generator, posterior encoder, discriminator and vocabulary: what
    ``t2v-edu train --model seed`` trains and ``t2v_edu.generate(model="seed")`` samples.

    Only the generator is needed to sample; the checkpoint keeps all three so that
    ``--resume`` continues the game where it stopped.
    """

    def __init__(self, preset: str | SeedPreset = "cpu", vocab: Vocab | None = None):
        super().__init__()
        self.preset = get_preset(preset)
        self.vocab = vocab or Vocab.default()
        self.generator = SeedGenerator(len(self.vocab), self.preset)
        self.encoder = VideoEncoder(self.preset)
        self.discriminator = SeedDiscriminator(len(self.vocab), self.preset)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, captions: list[str]) -> tuple[Tensor, Tensor]:
        """Caption ids [B, L] and lengths [B] on the model's device."""
        ids, lengths = self.vocab.encode_batch(list(captions))
        return data.to_device(ids, self.device), lengths

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """z ~ N(0, I): [n, noise_dim], drawn on the CPU so every device gets the same z."""
        z = torch.randn(n, self.preset.noise_dim, generator=generator)
        return data.to_device(z, self.device)

    @torch.no_grad()
    def sample(self, captions: list[str], generator: torch.Generator | None = None) -> Tensor:
        """Videos for captions: [B, T, 3, H, W] in [0, 1] (eval mode, no gradients)."""
        if isinstance(captions, str):
            captions = [captions]
        if generator is not None and generator.device.type != "cpu":
            generator = torch.Generator().manual_seed(generator.initial_seed())
        was_training = self.training
        self.eval()
        ids, lengths = self.encode(captions)
        videos = self.generator(ids, lengths, self.noise(len(captions), generator))
        self.train(was_training)
        return videos


def build(preset: str | SeedPreset = "cpu", device: str | torch.device = "cpu") -> SeedGAN:
    """A freshly initialised seed model on ``device``.

    PyTorch's default initialisation, not DCGAN's N(0, 0.02): without BatchNorm,
    weights that small shrink the signal at every layer and nothing learns.
    """
    model = SeedGAN(preset)
    model.generator.frame.reset_output_bias()
    return model.to(device)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------------------------
# Training: one loss for the discriminator and the generator together
# ---------------------------------------------------------------------------------
def mismatched(n: int, generator: torch.Generator | None = None) -> Tensor:
    """A permutation with no fixed point (a cyclic shift by 1..n-1): index [n]."""
    if n < 2:
        raise ValueError("a mismatched caption needs a batch of at least 2")
    shift = int(torch.randint(1, n, (1,), generator=generator))
    return (torch.arange(n) + shift) % n


def frozen(module: nn.Module) -> dict[str, Tensor]:
    """The module's parameters and buffers, detached: for ``functional_call``."""
    return {name: t.detach() for name, t in
            list(module.named_parameters()) + list(module.named_buffers())}


def gan_losses(model: SeedGAN, videos: Tensor, captions: list[str],
               generator: torch.Generator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
    """L_D + L_G as one scalar whose gradient trains each network on its own loss.

    Half of the batch is *reconstructed*: z ~ q(z | x) from the encoder, squared error to
    the real video, KL(q || N(0, I)). The other half is *sampled*: z ~ N(0, I), as at
    generation time. Both halves go to the discriminator.
    - L_D sees the fakes *detached*, so it moves only D;
    - L_G sees D through *detached* weights (``functional_call``), so it moves only G
      and the encoder.
    One backward pass and one optimizer step then update all players simultaneously
    from the same state (the article's loop updated D only). videos: real
    [B, T, 3, H, W] in [0, 1]; captions: their B captions (B even, >= 4).
    Returns (loss, {name: value} to log).
    """
    from .vae import kl_divergence, reparameterize

    p, G, D = model.preset, model.generator, model.discriminator
    B = len(captions)
    if B < 4 or B % 2:
        raise ValueError(f"gan_losses needs an even batch of at least 4 videos, got {B}")
    ids, lengths = model.encode(captions)
    half = B // 2
    mu, logvar = model.encoder(videos[:half])                      # [B/2, noise] each
    z_post = reparameterize(mu, logvar, rng=generator)
    z = torch.cat([z_post, model.noise(B - half, generator)])      # [B, noise]
    fake = G(ids, lengths, z)                                      # [B, T, 3, H, W]

    # Discriminator: (real, right caption) -> 1; fake -> 0; (real, wrong caption) -> 0.
    wrong = data.to_device(mismatched(B, generator), ids.device)
    v_real = D.features(videos)                                    # shared by two scores
    real_logits = D.score(v_real, ids)
    wrong_logits = D.score(v_real, ids[wrong])
    fake_logits = D(fake.detach(), ids)
    loss_d = gan.discriminator_loss(real_logits, fake_logits) \
        + p.mismatch_weight * -F.logsigmoid(-wrong_logits).mean()

    # Generator + encoder: fool a frozen D, reconstruct, keep q close to the prior.
    adv = gan.generator_loss(torch.func.functional_call(D, frozen(D), (fake, ids)))
    recon = (fake[:half] - videos[:half]).pow(2).mean()
    kl = kl_divergence(mu, logvar)
    loss_g = p.adv_weight * adv + p.recon_weight * recon + p.kl_weight * kl
    metrics = {"loss_d": loss_d.detach(), "loss_g_adv": adv.detach(),
               "recon_mse": recon.detach(), "kl": kl.detach(),
               "d_real": torch.sigmoid(real_logits).mean().detach(),
               "d_fake": torch.sigmoid(fake_logits).mean().detach()}
    return loss_d + loss_g, metrics


def stages(model: SeedGAN, preset: str | SeedPreset) -> list:
    """The stage list ``t2v-edu train --model seed`` runs: one "gan" stage.

    One AdamW over G's and D's parameters with DCGAN's beta1 = 0.5 and no gradient
    clipping (clipping the joint norm would couple the two players).
    """
    from .training import Stage

    p = get_preset(preset)

    def preview(videos: Tensor, captions: list[str]) -> Tensor:
        return model.sample(captions, torch.Generator().manual_seed(0))

    return [Stage(name="gan", steps=p.steps, lr=p.lr,
                  parameters=list(model.parameters()),
                  loss=lambda videos, captions: gan_losses(model, videos, captions),
                  preview=preview, warmup=p.warmup, betas=p.betas, grad_clip=0.0)]


def train_steps(model: SeedGAN, steps: int, seed: int = 0, progress: Callable | None = None
                ) -> list[dict[str, float]]:
    """A minimal loop over :func:`gan_losses` (for tests and quick experiments).

    ``t2v-edu train --model seed`` (:func:`t2v_edu.training.train`) is the full loop:
    schedule, checkpoints, ``--resume``, ``--time-budget``. Returns the logged values.
    """
    p = model.preset
    optimizer = torch.optim.AdamW(model.parameters(), lr=p.lr, betas=p.betas,
                                  weight_decay=0.0)
    dataset = data.MovingShapes("train", num_frames=p.num_frames, size=p.size,
                                length=(steps + 1) * p.batch_size, seed=seed, spec=p.data_spec)
    rng = torch.Generator().manual_seed(seed)
    history = []
    model.train()
    for step in (progress(range(steps)) if progress else range(steps)):
        videos, captions, _ = dataset.get_batch(
            range(step * p.batch_size, (step + 1) * p.batch_size), device=model.device)
        loss, metrics = gan_losses(model, videos, captions, rng)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history.append({k: float(v) for k, v in metrics.items()})
    return history


# ---------------------------------------------------------------------------------
# Two symptoms of a generator that did not learn (the article's "twelve equal rows")
# ---------------------------------------------------------------------------------
def frame_change(videos: Tensor) -> Tensor:
    """mean_t |x_{t+1} - x_t| per video: [B]. 0 means every frame is the same (no motion).

    videos [B, T, 3, H, W] in [0, 1] with T >= 2.
    """
    videos = check_video_pixels(videos)
    if videos.shape[1] < 2:
        raise ValueError(f"videos must be [B, T, 3, H, W] with T >= 2, got "
                         f"{tuple(videos.shape)}")
    return (videos[:, 1:] - videos[:, :-1]).abs().flatten(1).mean(1)


def sample_spread(videos: Tensor) -> float:
    """Mean absolute difference per value between the videos of a batch, over all
    pairs i != j:  sum_{i != j} |x_i - x_j|_1 / (D * B * (B - 1)), D values per video.

    For samples of one caption with different noise: 0 means every z gives the same
    video (mode collapse). videos [B, T, 3, H, W] in [0, 1] with B >= 2.
    """
    videos = check_video_pixels(videos)
    if len(videos) < 2:
        raise ValueError("sample_spread needs at least 2 videos")
    flat = videos.flatten(1)
    dist = torch.cdist(flat[None], flat[None], p=1)[0] / flat.shape[1]   # [B, B]
    B = len(videos)
    return float(dist.sum() / (B * (B - 1)))
