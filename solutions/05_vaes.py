# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 05 · Variational autoencoders
#
# A GAN (notebook 04) learns to generate by fooling a critic; it never learns to
# *describe* a frame. A variational autoencoder (VAE; Kingma & Welling, 2014) learns
# both directions: an **encoder** that compresses a frame into a few numbers and a
# **decoder** that draws a frame from them. The video model of notebook 06 is built
# on exactly such an encoder–decoder pair.
#
# **Learning goals**
# - derive the training objective, the evidence lower bound (ELBO);
# - implement the reparameterisation trick $z = \mu + \sigma \odot \varepsilon$, the
#   formula the seed article misplaces under "GAN";
# - compute the KL divergence between two Gaussians in closed form;
# - train a convolutional VAE on frames: reconstructions, samples, the $\beta$
#   trade-off, latent interpolation;
# - compare VAE blur with GAN sharpness, and combine the two (VAE-GAN).
#
# **Prerequisites** notebook 04 (GANs), Gaussian distributions, expectations.
#
# **CPU run time** about 2 minutes on a 2-core laptop with the `cpu` preset (1:33
# measured on an idle machine; up to 3 on a slower or busier one).
# **Exercises** 3 (`reparameterize`, `kl_divergence`, `vae_loss`).

# %%
import copy

import matplotlib.pyplot as plt
import torch
from torch.distributions import Normal

import t2v_edu
from t2v_edu import exercise, gan, vae, viz

cfg = t2v_edu.setup()
P = vae.PRESETS[cfg.preset]   # sizes, steps, learning rate; "gpu" is larger
print(P)
frames, labels = gan.load_frames(P.num_videos, P.size)              # [N, 3, H, W]
val_frames, val_labels = gan.load_frames(256, P.size, split="val")
print("training frames", tuple(frames.shape))

# %% [markdown]
# ## 1. The evidence lower bound
#
# We want a model $p_\theta(x) = \int p_\theta(x \mid z)\, p(z)\, dz$: draw a code
# $z \sim p(z) = \mathcal N(0, I)$, then a frame from the decoder $p_\theta(x \mid z)$.
# Maximising $\log p_\theta(x)$ needs the integral, which we cannot compute. An
# encoder $q_\phi(z \mid x) = \mathcal N(\mu_\phi(x), \operatorname{diag}
# \sigma_\phi(x)^2)$ guesses which codes could have produced $x$, and Jensen's
# inequality gives a bound we *can* compute:
#
# $$ \log p_\theta(x) \;\ge\; \underbrace{\mathbb E_{z \sim q_\phi(z\mid x)}
#    \bigl[\log p_\theta(x \mid z)\bigr]}_{\text{reconstruction}}
#    \;-\; \underbrace{\mathrm{KL}\bigl(q_\phi(z \mid x)\,\|\,p(z)\bigr)}_{\text{stay close to the prior}}
#    \;=\; \text{ELBO}. $$
#
# The gap is $\mathrm{KL}(q_\phi(z\mid x) \,\|\, p_\theta(z \mid x)) \ge 0$, so raising
# the ELBO both fits the data and makes the encoder's guess better. With a Gaussian
# decoder of fixed variance $s^2$ around the decoded frame $\hat x$,
# $-\log p_\theta(x \mid z) = \lVert \hat x - x \rVert^2 / (2 s^2) + \text{const}$;
# with $s^2 = \tfrac12$ this is the squared error summed over the pixels, plus a
# constant. We minimise
#
# $$ L = \underbrace{\textstyle\sum_\text{pixels} (\hat x - x)^2}_{\text{reconstruction}}
#    + \beta \cdot \mathrm{KL}, $$
#
# averaged over the batch. With $\beta = 1$ this is the negative ELBO for
# $s^2 = \tfrac12$; for another $s^2$ the negative ELBO is, up to a factor, the same
# loss with $\beta = 2s^2$.
#
# ## 2. Sampling with a gradient: the reparameterisation trick
#
# The reconstruction term is an expectation over $z \sim q_\phi$; we estimate it with
# one sample. But "draw a sample" has no gradient with respect to $\mu$ and $\sigma$.
# The trick: draw the randomness *outside* the network, $\varepsilon \sim
# \mathcal N(0, I)$, and compute
#
# $$ z = \mu + \sigma \odot \varepsilon, \qquad \sigma = \exp(\tfrac12 \log \sigma^2). $$
#
# $z$ has the right distribution, and $\partial z / \partial \mu = 1$,
# $\partial z / \partial \sigma = \varepsilon$. The encoder outputs $\log \sigma^2$
# (any real number) rather than $\sigma$ (which must be positive).
#
# > **The article says** (under "GAN") $G(z) = \mu + \sigma \odot z$, "where $\mu$ and
# > $\sigma$ are the mean and the variance" (our translation).
# >
# > **The correct form is** $z = \mu + \sigma \odot \varepsilon$, the VAE's
# > reparameterisation of $z \sim \mathcal N(\mu, \operatorname{diag}\sigma^2)$;
# > $\sigma$ is the **standard deviation**, the variance is $\sigma^2$. It is not a GAN
# > generator (notebook 04 shows what such a "generator" draws: noise).
#
# ### Exercise 1 · `reparameterize`
# Return $z = \mu + \sigma \odot \varepsilon$ from `mu`, `logvar` $= \log\sigma^2$ and
# the noise `eps`, all of the same shape.

# %% exercise="reparameterize"
def reparameterize(mu, logvar, eps):
    """z = mu + sigma * eps, sigma = exp(logvar / 2)"""
    ### BEGIN SOLUTION
    return mu + torch.exp(0.5 * logvar) * eps
    ### END SOLUTION


# %% check="reparameterize" points=1
g = torch.Generator().manual_seed(1)
cases = [(torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g),
          torch.randn(4, 3, generator=g)),
         (torch.zeros(1, 2), torch.log(torch.tensor([[4.0, 0.25]])), torch.ones(1, 2))]
reparameterize = exercise.check(reparameterize, vae.reparameterize, cases,
                                name="reparameterize",
                                formula="z = μ + σ ⊙ ε with σ = exp(logvar / 2), not exp(logvar)")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(torch.randn(8, 2, 3, 3, generator=g), 2 * torch.randn(8, 2, 3, 3, generator=g),
           torch.randn(8, 2, 3, 3, generator=g))]
exercise.assert_matches(reparameterize, vae.reparameterize, hidden, name="reparameterize")
### END HIDDEN TESTS

# %% [markdown]
# PyTorch's `Normal(μ, σ).rsample()` ("reparameterised sample") is the same formula,
# and the gradient reaches $\mu$ and $\log\sigma^2$:

# %%
mu = torch.tensor([0.5, -1.0], requires_grad=True)
logvar = torch.tensor([0.0, 2.0], requires_grad=True)
torch.manual_seed(0)
z_torch = Normal(mu, torch.exp(0.5 * logvar)).rsample()
torch.manual_seed(0)
z = reparameterize(mu, logvar, torch.randn(2))
print("ours:", z.detach().numpy().round(4), " torch rsample:", z_torch.detach().numpy().round(4))
z.sum().backward()
print("dz/dmu:", mu.grad.tolist(), " dz/dlogvar:", [round(v, 4) for v in logvar.grad.tolist()])

# %% [markdown]
# **Think!** The cell prints $\partial z / \partial \log\sigma^2$ = 0.7705 and −0.3988.
# Where do these numbers come from, and what gradient would $\mu$ get if we had drawn
# `z = Normal(mu, sigma).sample()` instead?
#
# <details><summary>Answer</summary>
#
# With $\sigma = \exp(\tfrac12 \log\sigma^2)$, $\partial z / \partial \log\sigma^2 =
# \tfrac12 \sigma \varepsilon = \tfrac12 (z - \mu)$: $(2.041 - 0.5)/2 = 0.7705$ and
# $(-1.7976 + 1)/2 = -0.3988$. The second is negative because its noise $\varepsilon$
# was negative: a wider $\sigma$ would move that $z$ further down. `.sample()` draws a
# number from the same distribution but does not record how it depends on `mu` and
# `logvar` (its `requires_grad` is `False`), so no gradient reaches them through $z$:
# the encoder would learn from the KL term alone, never from the reconstruction.
#
# </details>

# %% [markdown]
# ## 3. The KL term in closed form
#
# For $q = \mathcal N(\mu, \sigma^2)$ and $p = \mathcal N(0, 1)$ in one dimension,
#
# $$ \mathrm{KL}(q \,\|\, p) = \tfrac12 \bigl(\mu^2 + \sigma^2 - \log \sigma^2 - 1\bigr), $$
#
# zero exactly when $\mu = 0, \sigma = 1$. With independent dimensions the KLs add:
# sum over the latent dimensions, then average over the batch.
#
# ### Exercise 2 · `kl_divergence`
# Write it for `mu`, `logvar` of shape `[B, ...]` (flat `[B, D]` or a spatial grid
# `[B, C, h, w]`): sum over everything but the batch dimension, mean over the batch.

# %% exercise="kl_divergence"
def kl_divergence(mu, logvar):
    """mean over the batch of sum over latents 1/2 (mu^2 + sigma^2 - log sigma^2 - 1)"""
    ### BEGIN SOLUTION
    kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)
    return kl.flatten(1).sum(1).mean()
    ### END SOLUTION


# %% check="kl_divergence" points=2
g = torch.Generator().manual_seed(2)
cases = [(torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)),
         (torch.zeros(2, 3), torch.zeros(2, 3)),
         (torch.randn(2, 4, 2, 2, generator=g), torch.randn(2, 4, 2, 2, generator=g))]
kl_divergence = exercise.check(kl_divergence, vae.kl_divergence, cases, name="kl_divergence",
                               formula="½ Σ (μ² + σ² − log σ² − 1), summed over latents, "
                                       "mean over the batch")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(3 * torch.randn(16, 8, generator=g), torch.randn(16, 8, generator=g)),
          (torch.randn(3, 2, 4, 4, generator=g), torch.randn(3, 2, 4, 4, generator=g))]
exercise.assert_matches(kl_divergence, vae.kl_divergence, hidden, name="kl_divergence")
### END HIDDEN TESTS

# %% [markdown]
# `torch.distributions` knows the KL between two Normals too:

# %%
mu, logvar = torch.randn(4, 6, generator=torch.Generator().manual_seed(3)).chunk(2, dim=1)
q = Normal(mu, torch.exp(0.5 * logvar))
p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
reference = torch.distributions.kl_divergence(q, p).sum(1).mean()
print(f"ours {kl_divergence(mu, logvar):.5f}   torch.distributions {reference:.5f}")

# %% [markdown]
# ### Exercise 3 · `vae_loss`
# Put the pieces together: return `(loss, reconstruction, kl)` where reconstruction
# is the squared error summed over a frame's pixels and averaged over the batch,
# and `loss = reconstruction + beta * kl`. Use your `kl_divergence`.

# %% exercise="vae_loss"
def vae_loss(recon, frames, mu, logvar, beta=1.0):
    """(L, rec, kl): rec = mean over frames of sum over pixels (recon - frames)^2,
    L = rec + beta * kl"""
    ### BEGIN SOLUTION
    rec = (recon - frames).pow(2).flatten(1).sum(1).mean()
    kl = kl_divergence(mu, logvar)
    return rec + beta * kl, rec, kl
    ### END SOLUTION


# %% check="vae_loss" points=2
g = torch.Generator().manual_seed(4)
cases = [(torch.rand(3, 3, 4, 4, generator=g), torch.rand(3, 3, 4, 4, generator=g),
          torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g), 1.0),
         (torch.rand(2, 3, 2, 2, generator=g), torch.rand(2, 3, 2, 2, generator=g),
          torch.randn(2, 5, generator=g), torch.randn(2, 5, generator=g), 0.1)]
vae_loss = exercise.check(vae_loss, vae.vae_loss, cases, name="vae_loss",
                          formula="L = Σ_pixels (x̂ − x)² + β · KL, each averaged over the batch")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(torch.rand(6, 3, 8, 8, generator=g), torch.rand(6, 3, 8, 8, generator=g),
           torch.randn(6, 4, 2, 2, generator=g), torch.randn(6, 4, 2, 2, generator=g), 4.0)]
exercise.assert_matches(vae_loss, vae.vae_loss, hidden, name="vae_loss")
### END HIDDEN TESTS

# %% [markdown]
# **Think!** `F.mse_loss` *averages* the squared error over a frame's $3 \cdot 32 \cdot
# 32 = 3072$ values, where `vae_loss` *sums* them. With the mean in place of the sum and
# the KL term unchanged, which $\beta$ would you really be training with, and what would
# the reconstructions look like?
#
# <details><summary>Answer</summary>
#
# $\text{mean} + \mathrm{KL} = (\text{sum} + 3072\,\mathrm{KL}) / 3072$: the same
# minimum as $\beta = 3072$, the loss only scaled down. Each nat in the code now costs
# 3072, while the code can save at most about 100: drawing the average frame for every
# frame already scores a summed squared error of about 103 on the validation frames. So
# the encoder outputs the prior, $\mu \approx 0$, $\sigma \approx 1$, for every frame,
# and the decoder draws one blurred average frame whatever the input. How the two terms
# are weighed is part of the model (section 1: $\beta = 2s^2$), not a detail of the
# code.
#
# </details>

# %% [markdown]
# ## 4. A convolutional VAE on frames
#
# The encoder (`vae.ConvEncoder`) halves the resolution with strided convolutions,
# $32 \to 16 \to 8$ (`cpu` preset; the `gpu` preset starts from $64 \times 64$ and
# halves once more), each followed by GroupNorm and SiLU; a linear layer reads $\mu$
# and $\log\sigma^2$ of a `P.latent_dim`-dimensional code off the $8 \times 8$ grid.
# The decoder (`vae.ConvDecoder`) mirrors it with transposed convolutions and ends
# in a sigmoid, so frames come out in $[0, 1]$. Notebook 06 reuses these two blocks
# for its video tokenizer, notebook 07 the VAE's spatial latents
# (`vae.FrameVAE(latent_channels=4)`: a $4 \times 8 \times 8$ code).

# %%
torch.manual_seed(cfg.seed)
model = vae.FrameVAE(P.size, latent_dim=P.latent_dim, hidden=P.hidden)
print(f"FrameVAE: {sum(p.numel() for p in model.parameters()):,} parameters; "
      f"a frame of {3 * P.size * P.size} numbers becomes a code of {P.latent_dim}")

# %% tags=["nbval-ignore-output"]
steps = t2v_edu.budget(P.steps)
history = vae.train_vae(model, frames, steps, beta=P.beta, batch_size=P.batch_size, lr=P.lr,
                        seed=cfg.seed, device=cfg.device)
model.cpu()
mse = vae.reconstruction_mse(model, val_frames)
print(f"after {steps} steps: reconstruction {history['recon'][-1]:.1f}, "
      f"KL {history['kl'][-1]:.1f} nats; validation MSE per pixel {mse:.4f}")

# %%
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(history["recon"], label="reconstruction (sum of squared errors)")
ax.plot(history["kl"], label="KL (nats)")
ax.set_yscale("log"); ax.set_xlabel("step"); ax.legend()
plt.show()

# %% [markdown]
# Validation frames (top) and their reconstructions $\text{decode}(\mu(x))$ (bottom),
# then frames decoded from codes drawn from the prior $\mathcal N(0, I)$: new frames
# no one drew.

# %%
fig, axes = plt.subplots(3, 1, figsize=(9, 3.6))
viz.frame_strip(val_frames[:10], "validation frames", ax=axes[0])
viz.frame_strip(model.reconstruct(val_frames[:10]), "VAE reconstructions", ax=axes[1])
viz.frame_strip(model.sample(10, seed=0), "VAE samples: decode(z), z ~ N(0, I)", ax=axes[2])
plt.tight_layout()
plt.show()

# %% [markdown]
# The reconstructions keep position and size, but edges are soft and corners round,
# and colours that are close in RGB, like blue and green, can come back as one
# in-between colour. The squared error rewards *averages*: when the decoder is unsure
# where an edge is (or which of two colours), the average of the possible frames (a
# blurred edge, an in-between colour) has the lowest expected error.
#
# ## 5. The $\beta$ trade-off
#
# $\beta$ weighs the two terms. Small $\beta$: the code may carry much information
# (large KL), reconstructions are good, but the codes drift away from $\mathcal N(0,
# I)$ and samples from the prior look worse. Large $\beta$ (Higgins et al., 2017's
# β-VAE): codes close to the prior, blurrier reconstructions. We train the same
# model for a few $\beta$ (with fewer steps) and plot where each ends up.

# %% tags=["nbval-ignore-output"]
betas = P.betas
sweep = {}
for beta in betas:
    torch.manual_seed(cfg.seed)
    m = vae.FrameVAE(P.size, latent_dim=P.latent_dim, hidden=P.hidden)
    h = vae.train_vae(m, frames, t2v_edu.budget(P.sweep_steps), beta=beta,
                      batch_size=P.batch_size, lr=P.lr, seed=cfg.seed, device=cfg.device)
    m.cpu()
    with torch.no_grad():
        mu_val, logvar_val = m.encode(val_frames)
        kl_val = vae.kl_divergence(mu_val, logvar_val).item()
    sweep[beta] = {"model": m, "mse": vae.reconstruction_mse(m, val_frames), "kl": kl_val}
    print(f"beta {beta:>5}: validation MSE per pixel {sweep[beta]['mse']:.4f}, "
          f"KL {kl_val:.1f} nats")

# %%
fig = plt.figure(figsize=(12, 3.4))
ax = fig.add_subplot(1, 3, 1)
ax.plot([sweep[b]["kl"] for b in betas], [sweep[b]["mse"] for b in betas], "o-")
for b in betas:
    ax.annotate(f"β={b}", (sweep[b]["kl"], sweep[b]["mse"]), textcoords="offset points",
                xytext=(5, 5))
ax.set_xlabel("KL (nats): information in the code")
ax.set_ylabel("MSE per pixel")
ax.set_title("rate vs distortion")
for k, b in enumerate(betas):
    axk = fig.add_subplot(len(betas), 3, 3 * k + 2)
    viz.frame_strip(sweep[b]["model"].reconstruct(val_frames[:6]), f"β={b}: reconstructions",
                    ax=axk)
    axk = fig.add_subplot(len(betas), 3, 3 * k + 3)
    viz.frame_strip(sweep[b]["model"].sample(6, seed=1), f"β={b}: samples", ax=axk)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Think!** The sweep stops at $\beta = 0.25$. Predict what $\beta = 0$, the KL term
# dropped, does to the reconstructions, to the KL, and to frames decoded from $z \sim
# \mathcal N(0, I)$.
#
# <details><summary>Answer</summary>
#
# Only the squared error is left, and the noise $\sigma \odot \varepsilon$ can only hurt
# it, so the encoder shrinks $\sigma$ towards 0 and places the codes wherever
# reconstruction is easiest: a plain autoencoder. The reconstruction term alone could
# only gain from this, but in a run as short as the sweep it does not (a check of ours:
# validation MSE 0.0053 at $\beta = 0$ against 0.0046 at 0.25). The KL, no longer paid
# for, explodes, almost all of it through $\mu^2$: nothing keeps the codes near 0, and
# they spread far from it. The $-\log\sigma^2$ term adds at most about 5.5 nats per
# dimension, since the encoder clamps $\log\sigma^2$ at $-12$. Nothing keeps the codes
# near $\mathcal N(0, I)$ any more, so a prior draw lands where the decoder saw few or no
# codes, and samples become smeared pieces of several shapes. (A 250-step check of ours:
# KL 8781 nats, of which 8695 from $\mu^2$; mean $\sigma$ 0.004; codes spread with a
# standard deviation of about 28 per dimension.)
#
# </details>

# %% [markdown]
# ## 6. Walking through the latent space
#
# Because the KL term packs codes around the origin, the straight line between two
# codes passes through codes the decoder knows. `vae.interpolate` decodes
# $z(t) = (1 - t)\, \mu(x_a) + t\, \mu(x_b)$:

# %%
frame_a, frame_b = val_frames[1], val_frames[9]
path = vae.interpolate(model, frame_a, frame_b, torch.linspace(0, 1, 9))   # [9, 3, H, W]
fig, axes = plt.subplots(2, 1, figsize=(9, 2.5))
viz.frame_strip(torch.stack([frame_a, frame_b]), "frame a, frame b", ax=axes[0])
viz.frame_strip(path, "decode((1 − t) μ(a) + t μ(b)),  t = 0 … 1", ax=axes[1])
plt.tight_layout()
plt.show()

# %% [markdown]
# The same with a slider (run the notebook to use it; drag $t$):

# %% tags=["nbval-ignore-output"]
import ipywidgets as widgets


def interpolation_gif(t, a=1, b=9):
    """Frame a | decoded point t | frame b, as GIF bytes for an image widget."""
    frame = vae.interpolate(model, val_frames[a], val_frames[b], t)
    row = torch.stack([val_frames[a], frame, val_frames[b]])[:, None]   # [3, 1, 3, H, W]
    return viz.gif_bytes(row, scale=4, columns=3)


slider = widgets.FloatSlider(value=0.5, min=0, max=1, step=0.05, description="t")
image = widgets.Image(value=interpolation_gif(0.5), format="gif")
slider.observe(lambda change: setattr(image, "value", interpolation_gif(change["new"])),
               names="value")
widgets.VBox([slider, image])

# %% [markdown]
# ## 7. VAE blur, GAN sharpness, and a VAE-GAN
#
# A GAN's generator is never told to match a pixel; it is told to fool a critic,
# and a critic easily spots blur. Its samples are sharp but it has no encoder and
# may drop modes. A VAE covers the data (every frame must be reconstructed) but
# blurs. Put a number on blur with the **edge energy**
# $\text{mean}\,(\Delta_x x)^2 + \text{mean}\,(\Delta_y x)^2$ (`vae.sharpness`):
# a blurred edge spreads one big step over several small ones and scores lower.
#
# The **VAE-GAN** (Larsen et al., 2016, here in a simplified form) keeps the VAE
# and adds a discriminator that judges its decoded frames: the decoder minimises
# $\text{reconstruction} + \beta\,\text{KL} + \lambda\, L_G$ with notebook 04's
# non-saturating $L_G$. The discriminator is a **patch** discriminator
# (`vae.PatchDiscriminator`, Isola et al. 2017): one logit per cell of an
# $8 \times 8$ grid, each cell looking at a patch of the frame ($18 \times 18$
# pixels with the `cpu` preset; neighbouring patches overlap), so it judges local
# texture (edges) everywhere in the frame. We start from the trained VAE and
# fine-tune it this way. (Notebook 06's tokenizer reuses the encoder and decoder
# blocks but is trained on reconstruction alone; adding this critic is the VQGAN
# recipe, left as a project.) For comparison, a DCGAN from notebook 04 is trained
# alongside.

# %% tags=["nbval-ignore-output"]
torch.manual_seed(cfg.seed)
vae_gan = copy.deepcopy(model)
critic = vae.PatchDiscriminator(3, P.hidden)
gan_history = vae.train_vae_gan(vae_gan, critic, frames, t2v_edu.budget(P.gan_steps),
                                beta=P.beta, adv_weight=P.adv_weight,
                                batch_size=P.batch_size, lr=P.gan_lr, seed=cfg.seed,
                                device=cfg.device)
vae_gan.cpu()
G_config = gan.PRESETS[cfg.preset]
torch.manual_seed(cfg.seed)
G, D = gan.make_gan(G_config)
gan.train_gan(G, D, frames, t2v_edu.budget(G_config.steps), batch_size=G_config.batch_size,
              lr=G_config.lr, d_lr=G_config.d_lr, seed=cfg.seed, device=cfg.device)
G.cpu()
print(f"VAE-GAN validation MSE per pixel {vae.reconstruction_mse(vae_gan, val_frames):.4f} "
      f"(VAE {mse:.4f})")

# %%
rows = {
    "real frames": val_frames[:8],
    "VAE reconstructions": model.reconstruct(val_frames[:8]),
    "VAE-GAN reconstructions": vae_gan.reconstruct(val_frames[:8]),
    "VAE samples": model.sample(8, seed=2),
    "VAE-GAN samples": vae_gan.sample(8, seed=2),
    "DCGAN samples": gan.generate(G, 8, seed=2),
}
fig, axes = plt.subplots(len(rows), 1, figsize=(9, 1.25 * len(rows)))
for ax, (title, x) in zip(axes, rows.items()):
    viz.frame_strip(x, title, ax=ax)
plt.tight_layout()
plt.show()

# %% tags=["nbval-ignore-output"]
many = {"real frames": val_frames, "VAE reconstructions": model.reconstruct(val_frames),
        "VAE-GAN reconstructions": vae_gan.reconstruct(val_frames),
        "VAE samples": model.sample(256, seed=3), "VAE-GAN samples": vae_gan.sample(256, seed=3),
        "DCGAN samples": gan.generate(G, 256, seed=3)}
for title, x in many.items():
    print(f"{title:<24} edge energy {vae.sharpness(x):.4f}   diversity {gan.diversity(x):.3f}")

# %% [markdown]
# **Think!** VAE samples have less edge energy than VAE reconstructions (0.0034 against
# 0.0045 in the stored run), though the same decoder draws both. Why would decoding a
# draw from the prior blur more than decoding $\mu(x)$ of a real frame?
#
# <details><summary>Answer</summary>
#
# In training the decoder sees noisy codes $z = \mu(x) + \sigma \odot \varepsilon$.
# Where the noise clouds of several frames overlap, the code does not say which frame it
# came from, and the output with the lowest expected squared error is their average: a
# blur. $\mu(x)$ sits at the centre of its own frame's cloud, where that frame
# dominates. A prior draw has no frame behind it: it often lands between clouds, where
# several frames are about equally likely or few codes fell in training, and the decoder
# draws a mixture of them.
#
# </details>

# %% [markdown]
# Read the table: the VAE's reconstructions and samples have much less edge energy
# than real frames (blur). The adversarial term raises it towards the real value
# without costing reconstruction error (compare the two MSEs above), though it can
# add a faint checkerboard texture of its own. The DCGAN is about as sharp as real
# frames but, with no encoder, cannot reconstruct a given frame at all.
#
# ## Summary
#
# - A VAE maximises the ELBO: reconstruction minus $\mathrm{KL}(q(z\mid x) \,\|\,
#   \mathcal N(0, I))$, with $\mathrm{KL} = \tfrac12 \sum (\mu^2 + \sigma^2 - \log
#   \sigma^2 - 1)$.
# - $z = \mu + \sigma \odot \varepsilon$ (σ a standard deviation) makes sampling
#   differentiable; this is the seed article's "$G(z)$", and it belongs here.
# - $\beta$ trades reconstruction quality against how well prior samples work.
# - Pixel losses blur; an adversarial (patch) loss sharpens. Notebook 06 builds its
#   discrete video tokenizer from the same encoder and decoder.

# %% [markdown]
# **Going further** (ungraded)
#
# 1. *Which latent dimensions carry information?* For each model of the $\beta$ sweep,
#    compute the KL of every latent dimension on the validation frames: under
#    `torch.no_grad()`, `mu, logvar = sweep[b]["model"].encode(val_frames)`, then
#    `0.5 * (mu**2 + logvar.exp() - logvar - 1).mean(0)`, one number per dimension.
#    Count the dimensions above 0.1 nats. The larger $\beta$, the more dimensions fall
#    to about 0: for them the encoder outputs $\mu \approx 0$, $\sigma \approx 1$
#    whatever the frame, so they carry nothing. Each nat costs $\beta$, and the model
#    keeps only the dimensions that lower the reconstruction error most. (Our `cpu`
#    run: 16, 13 and 5 of 16 dimensions for $\beta$ = 0.25, 1 and 4.)
# 2. *A Bernoulli decoder.* Train a fresh `vae.FrameVAE` with the binary cross-entropy
#    in place of the squared error. Write a short Adam loop like `vae.train_vae`'s:
#    `mu, logvar = m.encode(x)`, `z = vae.reparameterize(mu, logvar)`, and
#    `rec = torch.nn.functional.binary_cross_entropy_with_logits(m.decode_logits(z), x,
#    reduction="none").flatten(1).sum(1).mean()`. Compare its KL,
#    `vae.reconstruction_mse` and `vae.sharpness` with section 4's model. Per pixel the
#    cross-entropy curves at least twice as sharply around its minimum as the squared
#    error (most near 0 and 1: background and pure colours), so reconstruction weighs
#    more against the KL, as if $\beta$ were smaller: more nats in the code, lower
#    error, sharper frames. (Ours, 600 steps each: KL 21 against 13 nats, MSE per
#    pixel 0.0028 against 0.0051.)
# 3. *Pixel space or latent space?* Draw the straight line between the two frames of
#    section 6 in pixel space: `t = torch.linspace(0, 1, 9).view(-1, 1, 1, 1)`, then
#    `(1 - t) * frame_a + t * frame_b`, shown with `viz.frame_strip`. It is a
#    cross-fade: halfway, two half-bright shapes overlap, a frame the data never holds.
#    The latent path mostly shows one shape that moves and changes colour, because
#    the decoder draws frames like the ones it was trained on.

# %% [markdown]
# **References**
#
# - Kingma & Welling (2014). *Auto-Encoding Variational Bayes*. ICLR 2014.
#   [arXiv:1312.6114](https://arxiv.org/abs/1312.6114)
# - Rezende, Mohamed & Wierstra (2014). *Stochastic Backpropagation and Approximate
#   Inference in Deep Generative Models*. ICML 2014.
#   [arXiv:1401.4082](https://arxiv.org/abs/1401.4082)
# - Larsen et al. (2016). *Autoencoding beyond pixels using a learned similarity
#   metric* (VAE-GAN). ICML 2016. [arXiv:1512.09300](https://arxiv.org/abs/1512.09300)
# - Higgins et al. (2017). *β-VAE: Learning Basic Visual Concepts with a Constrained
#   Variational Framework*. ICLR 2017.
#   [openreview.net/forum?id=Sy2fzU9gl](https://openreview.net/forum?id=Sy2fzU9gl)
# - Isola et al. (2017). *Image-to-Image Translation with Conditional Adversarial
#   Networks* (pix2pix, the patch discriminator). CVPR 2017.
#   [arXiv:1611.07004](https://arxiv.org/abs/1611.07004)
# - Esser, Rombach & Ommer (2021). *Taming Transformers for High-Resolution Image
#   Synthesis* (VQGAN). CVPR 2021. [arXiv:2012.09841](https://arxiv.org/abs/2012.09841)
