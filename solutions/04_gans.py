# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 04 · Generative adversarial networks
#
# Notebooks 01–03 turned captions into vectors. A text-to-video model must also
# *make pictures*. This notebook trains the model family the seed article builds on,
# the generative adversarial network (GAN), on single frames of our moving-shapes
# videos, first without and then with a condition such as *"red circle"*.
#
# **Learning goals**
# - write the GAN game $V(D, G)$ and the two losses the players minimise, from logits;
# - see why the generator minimises the *non-saturating* loss;
# - read the seed article's GAN formulas critically and say what is wrong with them;
# - train a DCGAN on frames and follow its losses and samples;
# - condition a GAN on shape and colour, and *measure* whether it obeys;
# - recognise mode collapse, put a number on it, and apply a remedy.
#
# **Prerequisites** notebook 00 (the data set), PyTorch modules and optimisers,
# binary cross-entropy.
#
# **CPU run time** about 2 minutes on a 2-core laptop with the `cpu` preset (1:44
# measured on an idle machine; up to 3 on a slower or busier one).
# **Exercises** 3 (`discriminator_loss`, `generator_loss`, `diversity`).

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

import t2v_edu
from t2v_edu import data, exercise, gan, viz

cfg = t2v_edu.setup()
P = gan.PRESETS[cfg.preset]   # sizes, steps, learning rates; "gpu" is larger
print(P)

# %% [markdown]
# ## 1. The frames to imitate
#
# We take one frame from each of the first `P.num_videos` training videos. A single
# frame shows a shape and a colour but not a motion: the labels hold *shape*
# (3 values), *colour* (4 values) and motion, and we use the first two, 12 kinds of
# frame.

# %%
frames, labels = gan.load_frames(P.num_videos, P.size)      # [N, 3, H, W], [N, 3]
names = data.attribute_names()
print("frames", tuple(frames.shape), "labels", tuple(labels.shape))
viz.frame_strip(frames[:12], caption=" | ".join(
    f"{names['color'][c]} {names['shape'][s]}" for s, c in labels[:4, :2].tolist()) + " | …")
plt.show()

# %% [markdown]
# ## 2. The game
#
# A **generator** $G$ maps noise $z \sim \mathcal N(0, I)$ to a frame $G(z)$. A
# **discriminator** $D$ maps a frame to the probability that it is real,
# $D(x) = \sigma(f(x))$, where $f$ is a network that outputs one number (a *logit*)
# and $\sigma$ is the sigmoid. Goodfellow et al. (2014) write the training as a game:
#
# $$ \min_G \max_D V(D, G) = \mathbb E_{x \sim p_\text{data}}[\log D(x)]
#    + \mathbb E_{z \sim p(z)}[\log(1 - D(G(z)))]. $$
#
# $D$ wants $D(x) \to 1$ on real frames and $D(G(z)) \to 0$ on fakes; $G$ wants the
# opposite for its fakes. For a fixed $G$ the best discriminator is
# $D^*(x) = p_\text{data}(x) / (p_\text{data}(x) + p_g(x))$; when the generator's
# distribution $p_g$ equals $p_\text{data}$, $D^* = \tfrac12$ everywhere and
# $V = -\log 4$.
#
# > **The article says** the generator is $G(z) = \mu + \sigma \odot z$, "where $\mu$
# > and $\sigma$ are the mean and the variance" (our translation), and that
# > $D(G(z)) = \sigma(g(z))$ with $g$ a second non-linear transform.
# >
# > **The correct form is** $G(z) = G_\theta(z)$, a neural network (here
# > transposed convolutions) whose output distribution has no formula at all.
# > $\mu + \sigma \odot \varepsilon$ is the *reparameterisation trick* for sampling a
# > Gaussian, which belongs to the **variational autoencoder** (notebook 05); there
# > $\sigma$ is the *standard deviation* (the variance is $\sigma^2$), and the same
# > letter cannot also be the sigmoid two lines later. And there is no separate $g$:
# > $D(G(z)) = \sigma(f(G(z)))$, *one* discriminator applied to a generated frame.
#
# > **The article also says** the discriminator judges the *quality* of the generated
# > data, and its reading list recommends a book, 《生成对抗网络》 (*Generative
# > Adversarial Networks*), by Ian Goodfellow.
# > **The correct form is**: $D$ estimates the probability that its input came from
# > the data rather than from $G$; a sharp, pleasing fake is still a fake. A
# > conditional $D$ (Section 6) also judges whether the input matches its condition.
# > There is no such book: Goodfellow wrote the *NIPS 2016 Tutorial: Generative
# > Adversarial Networks* (arXiv:1701.00160), and co-wrote the book *Deep Learning*
# > (Goodfellow, Bengio & Courville, 2016).
#
# What would the article's generator produce? Take $\mu$ and $\sigma$ to be the
# per-pixel mean and standard deviation of the real frames, the best a Gaussian with
# independent pixels can do, and sample $\mu + \sigma \odot z$:

# %%
mu, sigma = frames.mean(0), frames.std(0)                 # [3, H, W] each
z = torch.randn(8, *mu.shape, generator=torch.Generator().manual_seed(0))
gaussian_samples = (mu + sigma * z).clamp(0, 1)           # the article's "G(z)"
fig, axes = plt.subplots(2, 1, figsize=(9, 2.6))
viz.frame_strip(frames[:8], "real frames", ax=axes[0])
viz.frame_strip(gaussian_samples, "μ + σ ⊙ z with the data's per-pixel mean and std",
                ax=axes[1])
plt.show()

# %% [markdown]
# Coloured noise: a Gaussian with independent pixels cannot draw a shape, because
# a shape is a *dependency* between neighbouring pixels. A GAN generator is a
# network precisely so that it can turn simple noise into such structure.
#
# ## 3. Both losses, from logits
#
# Each player minimises a loss. The discriminator minimises $-V$:
#
# $$ L_D = -\frac1B \sum_i \log D(x_i) - \frac1{B'} \sum_j \log\bigl(1 - D(G(z_j))\bigr). $$
#
# Computing $\log \sigma(f)$ as `torch.log(torch.sigmoid(f))` gives `-inf` once
# $\sigma(f)$ rounds to 0; `F.logsigmoid(f)` does not. Use
# $\log(1 - \sigma(a)) = \log \sigma(-a)$.
#
# ### Exercise 1 · `discriminator_loss`
# Write $L_D$ from the logits `real_logits` $= f(x)$ `[B]` and `fake_logits`
# $= f(G(z))$ `[B']`, each mean-reduced.

# %% exercise="discriminator_loss"
def discriminator_loss(real_logits, fake_logits):
    """L_D = -mean log σ(f(x)) - mean log(1 - σ(f(G(z))))"""
    ### BEGIN SOLUTION
    return -F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()
    ### END SOLUTION


# %% check="discriminator_loss" points=2
g = torch.Generator().manual_seed(1)
cases = [(torch.randn(8, generator=g), torch.randn(8, generator=g)),
         (torch.tensor([30.0, -30.0]), torch.tensor([-30.0, 30.0, 0.0]))]
discriminator_loss = exercise.check(
    discriminator_loss, gan.discriminator_loss, cases, name="discriminator_loss",
    formula="L_D = -mean log σ(f(x)) - mean log σ(-f(G(z)))")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(5 * torch.randn(32, generator=g), 5 * torch.randn(16, generator=g)),
          (torch.randn(12, generator=g, dtype=torch.float64),
           torch.randn(7, generator=g, dtype=torch.float64))]
exercise.assert_matches(discriminator_loss, gan.discriminator_loss, hidden,
                        name="discriminator_loss")
### END HIDDEN TESTS

# %% [markdown]
# $L_D$ is exactly binary cross-entropy with label 1 for real frames and 0 for
# fakes, which PyTorch computes from logits:

# %%
real_logits, fake_logits = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-3.0, 0.2])
bce = (F.binary_cross_entropy_with_logits(real_logits, torch.ones(3))
       + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros(2)))
print(f"L_D = {discriminator_loss(real_logits, fake_logits):.4f}   BCE = {bce:.4f}")
print(f"at D = 1/2 everywhere, V = {gan.value_function(torch.zeros(1), torch.zeros(1)):.4f}"
      f"  (-log 4 = {-torch.log(torch.tensor(4.0)):.4f})")

# %% [markdown]
# **Think!** The cell above gives $V = -\log 4$ when $D$ says $\tfrac12$ to every frame.
# What is $L_D$ there, and why can $D$ do no better once $p_g = p_\text{data}$?
#
# <details><summary>Answer</summary>
#
# $L_D = -V = \log 4 \approx 1.39$: each of its two terms is $-\log \tfrac12 = \log 2$.
# If $p_g = p_\text{data}$, a frame is as likely to be a fake as a real one, whatever it
# looks like, so the best verdict is $D^*(x) = p_\text{data}(x)/(p_\text{data}(x) +
# p_g(x)) = \tfrac12$: the expected loss on such a frame is proportional to $-\log D -
# \log(1 - D)$, which is smallest at $D = \tfrac12$. That is why Section 4 marks $\log
# 4$ as the equilibrium $L_D$. An $L_D$ near it says only that this $D$ cannot tell the
# two apart, not that the frames are good.
#
# </details>

# %% [markdown]
# **The generator's loss.** In the game, $G$ minimises $\log(1 - D(G(z)))$. Early in
# training the fakes are poor, $D(G(z)) \approx 0$, and this function is flat there:
# its gradient vanishes just when $G$ needs it most. Goodfellow et al. therefore
# let $G$ *maximise* $\log D(G(z))$ instead, the **non-saturating** loss
#
# $$ L_G = -\frac1{B'} \sum_j \log D(G(z_j)) = \text{BCE}(f(G(z)), 1). $$
#
# Both have the same fixed point; only the gradients differ.
#
# ### Exercise 2 · `generator_loss`
# Write the non-saturating $L_G$ from `fake_logits` `[B']`, mean-reduced. Compute
# $\log \sigma(f)$ with `F.logsigmoid(f)`: `torch.log(torch.sigmoid(f))` is `-inf`
# once $\sigma(f)$ rounds to 0. PyTorch computes $1/(1 + e^{-f})$, and in float32
# $e^{-f}$ overflows for $f \lesssim -88.7$ (from $-87$ on, with the flush-denormal
# setting `t2v_edu.setup()` makes); the check tries such logits.

# %% exercise="generator_loss"
def generator_loss(fake_logits):
    """L_G = -mean log σ(f(G(z)))"""
    ### BEGIN SOLUTION
    return -F.logsigmoid(fake_logits).mean()
    ### END SOLUTION


# %% check="generator_loss" points=1
g = torch.Generator().manual_seed(2)
cases = [(torch.randn(8, generator=g),), (torch.tensor([-40.0, 0.0, 40.0]),),
         (torch.tensor([-200.0, 0.0, 200.0]),)]     # σ(-200) rounds to 0 in float32
generator_loss = exercise.check(generator_loss, gan.generator_loss, cases,
                                name="generator_loss",
                                formula="L_G = -mean log σ(f(G(z))), with log σ(f) = "
                                        "F.logsigmoid(f) (finite for every f)")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(6 * torch.randn(64, generator=g),), (torch.randn(15, generator=g),),
          (torch.cat([-(120 + 100 * torch.rand(3, generator=g)), torch.randn(5, generator=g),
                      120 + 100 * torch.rand(3, generator=g)]),)]
exercise.assert_matches(generator_loss, gan.generator_loss, hidden, name="generator_loss",
                        formula="L_G = -mean log σ(f(G(z))), with log σ(f) = "
                                "F.logsigmoid(f) (finite for every f)")
exercise.assert_matches(lambda f: generator_loss(f),
                        lambda f: F.binary_cross_entropy_with_logits(f, torch.ones_like(f)),
                        hidden, name="generator_loss vs BCE")
### END HIDDEN TESTS

# %% [markdown]
# The gradient each loss sends back to the logit $f(G(z))$, plotted against how
# convinced the discriminator is, $D(G(z))$:

# %%
logit = torch.linspace(-8, 8, 200, requires_grad=True)
grad_sat, = torch.autograd.grad(gan.saturating_generator_loss(logit) * len(logit), logit)
grad_ns, = torch.autograd.grad(generator_loss(logit) * len(logit), logit)
d_fake = torch.sigmoid(logit).detach()
plt.figure(figsize=(5.5, 3))
plt.plot(d_fake, grad_sat.abs(), label="minimax: log(1 − D(G(z)))")
plt.plot(d_fake, grad_ns.abs(), label="non-saturating: −log D(G(z))")
plt.xlabel("D(G(z))  (0 = the fake is spotted)")
plt.ylabel("|∂ loss / ∂ logit|")
plt.legend()
plt.title("Where fakes are poor, only the non-saturating loss still pushes")
plt.show()

# %% [markdown]
# **Think!** Write both gradients as functions of $D = D(G(z)) = \sigma(f)$. What are
# they for a fake that $D$ spots easily, say $D(G(z)) = 0.01$?
#
# <details><summary>Answer</summary>
#
# $\partial \log(1 - \sigma(f)) / \partial f = -\sigma(f) = -D$ and $\partial (-\log
# \sigma(f)) / \partial f = -(1 - \sigma(f)) = -(1 - D)$. At $D = 0.01$ the minimax loss
# sends back 0.01, the non-saturating loss 0.99: only the second gives the fakes that
# are spotted most easily a strong push. Near $D = 1$ it is the other way round, but
# there the fake already fools $D$. Both gradients are negative, so gradient descent
# raises $f$ under either loss: the two losses push $G$ the same way, with different
# strengths.
#
# </details>

# %% [markdown]
# ## 4. A DCGAN on frames
#
# Radford, Metz & Chintala (2015) found a recipe that made GANs on images train
# reliably, the **DCGAN**: no pooling (strided convolutions down, transposed ones
# up), BatchNorm in both networks (but not on the generator's output or the
# discriminator's input), ReLU in the generator (tanh on its output; ours ends in a
# sigmoid, for pixels in $[0, 1]$), LeakyReLU in the discriminator, Adam with
# $\beta_1 = 0.5$.
#
# > **The article's code** makes its frames with a softmax over each frame's values
# > (notebook 08 runs it). **The correct form is** an element-wise sigmoid, as here (or
# > tanh for $[-1, 1]$): a softmax makes a frame's values sum to 1, so no two pixels can
# > be bright.
#
# > **The article says** the DCGAN paper ("Unsupervised Representation Learning with
# > Deep Convolutional Generative Adversarial Networks") is by Krizhevsky, Sutskever
# > and Hinton. **The correct authors are** Alec Radford, Luke Metz and Soumith
# > Chintala (2015). Krizhevsky, Sutskever and Hinton wrote AlexNet (2012).
#
# Our generator projects $z$ to a $4 \times 4$ grid and doubles it three times to
# $32 \times 32$ (`cpu` preset; four times to $64 \times 64$ with `gpu`); the
# discriminator mirrors it. Two changes for short CPU runs: the discriminator uses
# *spectral normalisation* (Miyato et al., 2018) instead of BatchNorm, which bounds
# its slopes: it still wins early (see the curves below), but the generator can
# recover instead of being shut out; and the learning rates are larger (`P.lr`,
# `P.d_lr`).

# %%
torch.manual_seed(cfg.seed)
G, D = gan.make_gan(P)
print(G)
print(f"generator: {sum(p.numel() for p in G.parameters()):,} parameters, "
      f"discriminator: {sum(p.numel() for p in D.parameters()):,}")

# %% [markdown]
# Each step trains $D$ on a real batch and a fake batch with $L_D$, then $G$ with
# $L_G$. We keep 16 fixed noise vectors and look at what $G$ makes of them as it
# trains.

# %% tags=["nbval-ignore-output"]
steps = t2v_edu.budget(P.steps)
snapshot_steps = sorted({0, steps // 8, steps // 3, steps})
history = gan.train_gan(G, D, frames, steps, batch_size=P.batch_size, lr=P.lr,
                        d_lr=P.d_lr, snapshot_steps=snapshot_steps, seed=cfg.seed,
                        device=cfg.device)
print(f"after {steps} steps: L_D {history['d_loss'][-1]:.2f}, L_G {history['g_loss'][-1]:.2f}")

# %%
def smooth(values, k=20):
    """Running mean over k steps, for readable loss curves."""
    v = torch.tensor(values)
    k = max(1, min(k, len(v)))
    return (v.cumsum(0)[k - 1:] - torch.cat([torch.zeros(1), v.cumsum(0)[:-k]])) / k


fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3))
ax1.plot(smooth(history["d_loss"]), label="L_D")
ax1.plot(smooth(history["g_loss"]), label="L_G")
ax1.axhline(torch.log(torch.tensor(4.0)), ls=":", c="gray", label="log 4 (equilibrium L_D)")
ax1.set_xlabel("step"); ax1.legend(); ax1.set_title("losses (running mean)")
ax2.plot(smooth(history["d_real"]), label="D(x), real")
ax2.plot(smooth(history["d_fake"]), label="D(G(z)), fake")
ax2.axhline(0.5, ls=":", c="gray")
ax2.set_xlabel("step"); ax2.legend(); ax2.set_title("the discriminator's verdicts")
plt.show()

# %% [markdown]
# GAN losses do not fall steadily as a classifier's would: the two players chase
# each other. Neither curve says "the pictures are good"; only looking at samples
# (and the metrics below) does.

# %%
fig, axes = plt.subplots(len(history["snapshots"]), 1, figsize=(9, 1.2 * len(history["snapshots"])))
for ax, (step, samples) in zip(axes, history["snapshots"]):
    viz.frame_strip(samples, f"step {step}", ax=ax)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 5. Mode collapse
#
# A generator can win against the discriminator of the moment by producing only a
# few kinds of frame that currently fool it. It then *drops* the other modes of the
# data, or in the extreme *collapses* onto one output. The losses do not show it; we
# need a number. Two views:
#
# - **pixel diversity**: the mean distance between two samples,
#   $\frac{2}{N(N-1)} \sum_{i<j} \lVert x_i - x_j \rVert_2 / \sqrt{D}$ with $D$ the
#   number of pixel values; 0 when every sample is the same. Compare it with the
#   same number for real frames;
# - **coverage**: which of the 12 shape–colour kinds the samples show, judged by a
#   small classifier trained on real frames.
#
# ### Exercise 3 · `diversity`
# Write `diversity(frames)` for frames `[N, ...]`, returning a Python float. Use
# `torch.cdist` on the flattened frames (in float64); the diagonal of the distance
# matrix is 0 and every pair appears twice.

# %% exercise="diversity"
def diversity(frames):
    """mean over pairs i < j of ||x_i - x_j|| / sqrt(D), a float"""
    ### BEGIN SOLUTION
    flat = frames.flatten(1).double()
    n = len(flat)
    return (torch.cdist(flat, flat).sum() / (n * (n - 1)) / flat.shape[1] ** 0.5).item()
    ### END SOLUTION


# %% check="diversity" points=2
g = torch.Generator().manual_seed(3)
cases = [(torch.rand(5, 3, 4, 4, generator=g),), (torch.zeros(3, 2),),
         (torch.eye(4),)]
diversity = exercise.check(diversity, gan.diversity, cases, name="diversity",
                           formula="mean_{i<j} ||x_i - x_j|| / sqrt(D)")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(torch.rand(17, 3, 8, 8, generator=g),), (torch.randn(2, 5, generator=g),)]
exercise.assert_matches(diversity, gan.diversity, hidden, name="diversity")
### END HIDDEN TESTS

# %% [markdown]
# The pixel diversity of the 16 fixed-noise samples at each snapshot above, next to
# that of 16 real frames:

# %% tags=["nbval-ignore-output"]
for step, snapshot in history["snapshots"]:
    print(f"step {step:>4}: diversity {diversity(snapshot):.3f}")
print(f"real frames: diversity {diversity(frames[:16]):.3f}")

# %% [markdown]
# **Think!** Suppose the generator drew one flawless copy of a real frame for every $z$.
# What would the diversity print, and why could the discriminator, which judges one
# frame at a time, not see the problem at once?
#
# <details><summary>Answer</summary>
#
# 0.000, as at step 0: every pair of samples is at distance 0, against 0.248 for 16 real
# frames. Each sample on its own looks real, so $D(G(z))$ need not be low. $D$'s only
# clue is that this one frame now turns up far more often than in the data: the best
# verdict $D^*(x) = p_\text{data}(x)/(p_\text{data}(x) + p_g(x))$ falls where $p_g$
# piles up, and $G$ can answer by moving to another single frame, so the two players may
# chase each other from mode to mode. The losses show none of this; a number computed
# over many samples at once, like the diversity, does.
#
# </details>

# %% [markdown]
# Read it with the curves of section 4. Step 0 is the untrained generator: the same
# grey frame for every $z$. While the discriminator wins easily ($D(x) \approx 1$,
# $D(G(z)) \approx 0$), the generator stays collapsed: one frame for every $z$
# (diversity near 0), a **total collapse**. Only as $D$'s verdicts come back towards
# $\tfrac12$ do the samples spread out.
#
# Diversity in pixels does not say *which* kinds of frame are missing. The
# classifier that judges that: a three-layer CNN with one head for shape
# and one for colour, trained on real frames and tested on frames of *validation*
# videos it has never seen.

# %% tags=["nbval-ignore-output"]
torch.manual_seed(cfg.seed)
classifier = gan.FrameClassifier()
gan.train_classifier(classifier, frames, labels, steps=t2v_edu.budget(P.classifier_steps))
val_frames, val_labels = gan.load_frames(256, P.size, split="val")
real_acc = gan.condition_accuracy(classifier, val_frames, val_labels)
print("classifier on real validation frames:",
      {k: round(v, 2) for k, v in real_acc.items()})


# %% tags=["nbval-ignore-output"]
def coverage(samples):
    """Counts of the classifier's predicted (shape, colour) over samples: [S, C]."""
    return gan.kind_counts(classifier, samples)


def show_coverage(ax, counts, title):
    ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(len(names["color"])), names["color"])
    ax.set_yticks(range(len(names["shape"])), names["shape"])
    for (i, j), n in zip(torch.cartesian_prod(torch.arange(counts.shape[0]),
                                              torch.arange(counts.shape[1])).tolist(),
                         counts.flatten().tolist()):
        ax.text(j, i, n, ha="center", va="center")
    ax.set_title(title)


samples = gan.generate(G, 256, seed=1)
fig, axes = plt.subplots(1, 2, figsize=(9, 2.8))
show_coverage(axes[0], coverage(val_frames), "real frames")
show_coverage(axes[1], coverage(samples), "unconditional GAN samples")
plt.show()
print(f"diversity: real {diversity(val_frames):.2f}, GAN {diversity(samples):.2f}; "
      f"kinds covered by ≥ 2% of samples: real {gan.kinds_covered(coverage(val_frames))}, "
      f"GAN {gan.kinds_covered(coverage(samples))} of 12")

# %% [markdown]
# Real frames spread over all 12 kinds. Compare the GAN's grid: after this short
# run some kinds are rare or missing altogether (which ones changes from run to run;
# in one run while writing this, no sample at all was judged a triangle), although
# the pixel diversity, dominated by positions, looks close to the real one. That is
# **mode dropping**, the partial form of mode collapse.
# Remedies in the literature let the discriminator see a whole batch (minibatch
# discrimination, Salimans et al. 2016; the minibatch standard deviation of Karras
# et al. 2018, `gan.DCGANDiscriminator(minibatch_std=True)`), change the objective
# (Wasserstein GAN, Arjovsky et al. 2017), or **tell the generator which mode to
# make**, the remedy we use next: a condition.
#
# The minibatch standard deviation appends one feature map to $D$'s last features:
# the standard deviation of each feature over the batch, averaged to one number.
# A batch of near-copies has a small one, so $D$ can tell it from a real batch and
# $G$ is pushed to vary. Does it help here? `benchmarks/mode_collapse.py` trains
# this GAN with five seeds and each discriminator (kinds holding ≥ 2 % of 256
# samples, of 12; pixel diversity, real 0.25). With one thread, as this notebook is
# built, seed 0 is the run above:
#
# | steps | plain $D$ | $D$ + minibatch std |
# |---|---|---|
# | 600 (this notebook) | 3–8 kinds, mean 5.2 | 4 kinds in every run |
# | 1500 | 4–8 kinds, mean 6.0; diversity 0.18–0.25 | 7–8 kinds, mean 7.8; diversity 0.24–0.27 |
#
# Three lessons. One run proves little: coverage swings from 3 to 8 kinds between
# seeds. Even the thread count matters: with two threads the sums inside each step
# round differently, and at 600 steps the same five seeds gave 2–7 kinds (plain)
# and 4–6 (minibatch std), seed 0 only 2. And the remedy helps only once training
# is long enough for the plain GAN to start collapsing; at 600 steps it does not
# help at all. Even at 1500 steps a third of the kinds stay missing; a condition
# gives every kind by construction.
#
# ## 6. A conditional GAN
#
# A conditional GAN (Mirza & Osindero, 2014) gives both players a condition $c$:
# $G(z, c)$ and $D(x, c)$. Here $c$ is the one-hot shape and colour, concatenated
# (7 numbers); any vector would do, e.g. a caption embedding from notebook 01. The
# generator concatenates $c$ to $z$; the discriminator is a *projection
# discriminator* (Miyato & Koyama, 2018), $f(x, c) = w^\top h(x) + b + (Ec)^\top
# h(x)$, where $h(x)$ are its features. Because $D$ judges frame *and* condition together,
# a blue frame labelled "red" is a fake, so $G$ must follow the condition, and
# every mode is asked for.
#
# > **The article's code** gives its discriminator one verdict per time step and
# > never shows it the text, so it cannot catch a video that does not match its
# > caption (notebook 08, Section 1). **The correct form is** one verdict per sample,
# > computed from the sample *and* its condition, as this projection discriminator
# > does.
#
# In short runs the generator learns to *use* $c$ slowly: 7 numbers next to 64
# noise values. An **auxiliary classifier** (AC-GAN, Odena et al. 2017) speeds this
# up: a second head of $D$ predicts $c$ from the frame alone; $D$ learns it on real
# frames, and $G$ is also trained to make that head predict the $c$ it was given
# (`gan.auxiliary_loss`, binary cross-entropy on the one-hot entries, weight
# `P.aux_weight`).

# %%
conditions = gan.attribute_condition(labels)                 # [N, 7]
print("condition of", data.canonical_caption([{"shape": "circle", "color": "red",
                                                 "motion": "left"}]), "→",
      gan.attribute_condition(torch.tensor([[0, 0]])).int().tolist())
torch.manual_seed(cfg.seed)
cG, cD = gan.make_gan(P, cond_dim=conditions.shape[1])

# %% tags=["nbval-ignore-output"]
cond_steps = t2v_edu.budget(P.cond_steps)
cond_history = gan.train_gan(cG, cD, frames, cond_steps, conditions=conditions,
                             batch_size=P.batch_size, lr=P.lr, d_lr=P.d_lr,
                             aux_weight=P.aux_weight, seed=cfg.seed, device=cfg.device)
print(f"after {cond_steps} steps: L_D {cond_history['d_loss'][-1]:.2f}, "
      f"L_G {cond_history['g_loss'][-1]:.2f}, auxiliary {cond_history['aux'][-1]:.2f}")

# %% [markdown]
# Eight samples for each shape–colour pair; a row is one condition, the columns are
# different noise vectors $z$:

# %%
pairs = [(s, c) for s in range(len(names["shape"])) for c in range(len(names["color"]))]
fig, axes = plt.subplots(len(pairs) // 2, 2, figsize=(12, 0.75 * len(pairs)))
for ax, (s, c) in zip(axes.T.flatten(), pairs):
    cond = gan.attribute_condition(torch.tensor([[s, c]]))[0]
    viz.frame_strip(gan.generate(cG, 8, cond, seed=s * 10 + c),
                    f"{names['color'][c]} {names['shape'][s]}", ax=ax)
plt.tight_layout()
plt.show()

# %% [markdown]
# Does it obey? We ask for 32 frames of each of the 12 kinds and let the classifier,
# which has never seen a generated frame, say what it sees. The same classifier on
# real validation frames is the ceiling.

# %% tags=["nbval-ignore-output"]
asked = torch.tensor(pairs).repeat_interleave(32, 0)                      # [384, 2]
cond_samples = gan.generate(cG, len(asked), gan.attribute_condition(asked), seed=2)
cond_acc = gan.condition_accuracy(classifier, cond_samples, asked)
print("condition accuracy of the conditional GAN:",
      {k: round(v, 2) for k, v in cond_acc.items()})
print("the same classifier on real frames:     ", {k: round(v, 2) for k, v in real_acc.items()})
print("chance:                                  ",
      {"shape": round(1 / 3, 2), "color": 0.25, "both": round(1 / 12, 2)})
fig, axes = plt.subplots(1, 2, figsize=(9, 2.8))
show_coverage(axes[0], coverage(samples), "unconditional GAN")
show_coverage(axes[1], coverage(cond_samples), "conditional GAN, 32 asked per kind")
plt.show()
print(f"diversity: real {diversity(val_frames):.2f}, unconditional {diversity(samples):.2f}, "
      f"conditional {diversity(cond_samples):.2f}")

# %% [markdown]
# **Think!** Suppose $D$ saw only the frame (no condition and no auxiliary head), while
# $G$ still received $c$. What condition accuracy would you expect above, and why?
#
# <details><summary>Answer</summary>
#
# Chance, as on the printed line: shape 0.33, colour 0.25, both 0.08. $D$ would approve
# any realistic frame whatever $c$ asked for, so nothing in $L_G$ would reward $G$ for
# following $c$; any link between $c$ and what it draws would be an accident. If $G$
# ignores $c$, each of the 12 kinds is asked for equally often, so whatever kinds $G$
# draws, a sample is the asked-for kind with probability $\tfrac1{12}$. Only a
# discriminator that judges frame and condition together (or an auxiliary head that
# predicts $c$) makes a blue frame asked to be red count as a fake.
#
# </details>

# %% [markdown]
# Compare each number with chance and with the ceiling. Colour is the easy part and
# is obeyed almost always; the outline comes last. The generator learns *where* and
# *which colour* before *which outline*: with the `cpu` preset's 3000 steps (about a
# minute) the classifier reads the asked-for shape in about three frames of four; we
# measured shape accuracy at chance (33 %) after 1000 steps, when the outlines were
# still rounded blobs, and 52 % after 2000. The `gpu` preset trains longer, at
# 64 × 64.
#
# Conditioning spreads the samples over the kinds because we ask for each one
# equally often and the generator obeys; a mode the generator cannot draw yet is
# not rescued by asking for it (which kind is weakest in the map above?). Nor does a condition
# guarantee variety *within* a condition: a generator may still ignore $z$. Check
# the rows above: do the eight samples of one condition differ in position and
# size?
#
# From a caption to a frame is now one step: parse the caption into attributes
# (notebook 00) and condition on them. Notebook 06 replaces the one-hot condition by
# a learned text encoder and the single frame by a whole video.

# %%
caption = "a blue square moves left"
attrs = data.parse_caption(caption)
cond = gan.attribute_condition(data.attribute_labels([attrs]))[0]
viz.frame_strip(gan.generate(cG, 8, cond, seed=7), f"“{caption}” (motion: not in a frame)")
plt.show()

# %% [markdown]
# ## Summary
#
# - A GAN is a game: $D$ minimises $L_D$ (BCE, real = 1, fake = 0), $G$ minimises
#   the non-saturating $L_G = -\log D(G(z))$, both computed from logits.
# - The article's $G(z) = \mu + \sigma \odot z$ is the VAE's reparameterisation
#   (notebook 05), with $\sigma$ a standard deviation; a GAN generator is a network,
#   and $D(G(z)) = \sigma(f(G(z)))$.
# - GAN losses do not measure quality; samples, a diversity number and a classifier
#   that checks coverage and conditions do.
# - Conditioning on attributes (or text) makes the generator controllable and
#   counters mode dropping.
#
# **Next:** notebook 05, variational autoencoders, where $\mu + \sigma \odot \varepsilon$
# finally belongs, and the encoder–decoder that the video model builds on.

# %% [markdown]
# **Going further** (ungraded)
#
# 1. *The saturating loss.* Use DCGAN's own discriminator, with BatchNorm, which wins
#    quickly: `torch.manual_seed(cfg.seed)`, `G2, D2 =
#    gan.make_gan(dataclasses.replace(P, spectral=False))` (`import dataclasses`), then
#    `h2 = gan.train_gan(G2, D2, frames, 300, batch_size=P.batch_size, lr=P.lr,
#    d_lr=P.d_lr)`, about 15 s. Repeat with the minimax loss: set
#    `gan.generator_loss = gan.saturating_generator_loss` before the call (`train_gan`
#    looks the loss up by that name) and put the original back after it. With the
#    minimax loss, `h2["d_fake"]` drops to about 0.01 within 10 steps and stays there,
#    with `h2["g_loss"]` near 0, for 200 steps or more: its gradient
#    $\partial \log(1 - \sigma(f)) / \partial f = -\sigma(f)$ vanishes where D spots the
#    fakes. With the non-saturating loss it climbs back (to about 0.2 by step 200 in our
#    run).
# 2. *One-sided label smoothing* (Salimans et al., 2016). Replace `gan.discriminator_loss`
#    the same way, by `lambda r, f: F.binary_cross_entropy_with_logits(r,
#    torch.full_like(r, 0.9)) + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))`
#    (real frames get the target 0.9, fakes still 0), and rerun Section 4's training
#    with a fresh `gan.make_gan(P)`. `history["d_real"]` stays lower all along (in our
#    run about 0.6 at the end instead of 0.68), because the best verdict on a sure real
#    frame is now 0.9, which keeps D from growing over-confident. Compare the samples and
#    `diversity` with those of Section 4.
# 3. *What the minibatch standard deviation sees.* `gan.minibatch_std(D.body(x))[0, -1, 0,
#    0]` is the number that a discriminator built with `minibatch_std=True` appends.
#    Compute it for `x = frames[:32]`, for `gan.generate(G, 32)` and for 32 samples of an
#    untrained generator, `gan.generate(gan.make_gan(P)[0], 32)`, which draws one grey
#    frame for every $z$. In our run it was about 0.23, 0.06 and $2 \cdot 10^{-5}$. The
#    untrained generator's copies give almost 0; even the trained generator's batch,
#    whose pixels vary about as much as the real frames' (diversity 0.24 against 0.23),
#    scores well below the real one: D's features vary less over fakes than over real
#    frames, and this one number lets D see it across the batch.

# %% [markdown]
# **References**
# - Goodfellow, I. et al. (2014). *Generative Adversarial Nets*. NeurIPS 2014.
#   [arXiv:1406.2661](https://arxiv.org/abs/1406.2661)
# - Mirza, M. & Osindero, S. (2014). *Conditional Generative Adversarial Nets*.
#   [arXiv:1411.1784](https://arxiv.org/abs/1411.1784)
# - Radford, A., Metz, L. & Chintala, S. (2015). *Unsupervised Representation Learning
#   with Deep Convolutional Generative Adversarial Networks*. ICLR 2016.
#   [arXiv:1511.06434](https://arxiv.org/abs/1511.06434)
# - Salimans, T. et al. (2016). *Improved Techniques for Training GANs*. NeurIPS 2016.
#   [arXiv:1606.03498](https://arxiv.org/abs/1606.03498)
# - Goodfellow, I. (2016). *NIPS 2016 Tutorial: Generative Adversarial Networks*.
#   [arXiv:1701.00160](https://arxiv.org/abs/1701.00160)
# - Goodfellow, I., Bengio, Y. & Courville, A. (2016). *Deep Learning*. MIT Press.
# - Arjovsky, M., Chintala, S. & Bottou, L. (2017). *Wasserstein Generative Adversarial
#   Networks*. ICML 2017. [arXiv:1701.07875](https://arxiv.org/abs/1701.07875)
# - Odena, A., Olah, C. & Shlens, J. (2017). *Conditional Image Synthesis with Auxiliary
#   Classifier GANs*. ICML 2017. [arXiv:1610.09585](https://arxiv.org/abs/1610.09585)
# - Karras, T. et al. (2018). *Progressive Growing of GANs for Improved Quality,
#   Stability, and Variation* (minibatch standard deviation). ICLR 2018.
#   [arXiv:1710.10196](https://arxiv.org/abs/1710.10196)
# - Miyato, T. et al. (2018). *Spectral Normalization for Generative Adversarial
#   Networks*. ICLR 2018. [arXiv:1802.05957](https://arxiv.org/abs/1802.05957)
# - Miyato, T. & Koyama, M. (2018). *cGANs with Projection Discriminator*. ICLR 2018.
#   [arXiv:1802.05637](https://arxiv.org/abs/1802.05637)
# - Krizhevsky, A., Sutskever, I. & Hinton, G. E. (2012). *ImageNet Classification with
#   Deep Convolutional Neural Networks* (AlexNet). NeurIPS 2012.
# - To learn more (free): Zhang, A. et al. *Dive into Deep Learning*, chapter *Generative
#   Adversarial Networks*, https://d2l.ai.
