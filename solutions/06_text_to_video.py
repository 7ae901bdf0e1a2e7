# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 06 · Text to video, the classic way: a frame tokenizer and a transformer
#
# The seed article credits its "latest progress" to models built on a VAE and
# self-attention. This notebook builds that model, in the line of VideoGPT (Yan et
# al. 2021) and GODIVA (Wu et al. 2021): an autoencoder with a **discrete**
# bottleneck turns a video into a short sequence of integers, and a **causal
# transformer** writes those integers one at a time, reading the caption as it goes.
# Text-to-video becomes next-token prediction, exactly like a language model, only
# the "words" are pieces of video.
#
# **Learning goals**
# - quantise an autoencoder's latents with finite scalar quantisation (FSQ) and train
#   through the rounding with the straight-through estimator;
# - write a video as a sequence of codes with space-time positions, and model it
#   with a causal transformer that reads the caption by cross-attention, predicting
#   each code digit by digit;
# - sample fast with a key-value cache, and control samples with temperature, top-k
#   and classifier-free guidance;
# - train the model live, then judge it with numbers: attribute accuracy on seen and
#   on held-out captions, against chance and a shuffled-caption control.
#
# **Prerequisites** notebooks 01 (vocabulary), 03 (attention, transformer blocks),
# 05 (the convolutional encoder and decoder).
#
# **CPU run time** about 3 minutes on a 2-core laptop with the `cpu` preset (most of
# it is training the model live).
# **Exercises** 5 (`straight_through_round`, `fsq_quantize`, `code_logits_from_digits`,
# `cache_mask`, `filter_logits`).

# %%
import math
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display

import t2v_edu
from t2v_edu import (comparison, data, evaluation, exercise, generation, judges, t2v, tokenizer,
                     training, viz)
from t2v_edu.attention import causal_mask

cfg = t2v_edu.setup()
P = t2v.PRESETS[cfg.preset]

# %% [markdown]
# ## 1. The plan
#
# Three parts, each a small module of the package:
#
# 1. a **frame tokenizer** (`t2v_edu.tokenizer`): notebook 05's convolutional encoder
#    and decoder with a discrete bottleneck. A clip of frames becomes a small grid of
#    integers ("codes"), and codes become frames again;
# 2. a **caption encoder**: word embeddings (01) with positions, and on the `gpu`
#    preset self-attention (03), give one vector per word. The `cpu` preset uses no
#    self-attention layer here: its captions name one object, the transformer's
#    cross-attention finds each word by itself, and in our runs the plain word
#    vectors generalised better to held-out combinations (a caption with two objects,
#    `gpu` preset, needs self-attention to tell which colour goes with which shape);
# 3. a **video transformer** (`t2v_edu.t2v`): a causal transformer over the codes,
#    which predicts code $n$ from the codes before it and reads the words through
#    cross-attention.
#
# Training has two stages: first the tokenizer alone (reconstruct the video), then the
# caption encoder and transformer on the frozen tokenizer's codes (predict the next
# code). Generation runs the transformer to write codes and the tokenizer's decoder to
# paint them.

# %%
def draw_plan(ax):
    """The model as boxes and arrows."""
    boxes = {"caption": (0.0, 0.62, "caption\n\"a red circle\nmoves left\""),
             "text": (0.22, 0.62, "caption encoder\nword embeddings\n(+ self-attention)"),
             "transformer": (0.47, 0.62, "video transformer\ncausal self-attention\n"
                                         "+ cross-attention"),
             "codes": (0.72, 0.62, "codes\n[T', h, w]\nintegers"),
             "decoder": (0.72, 0.12, "tokenizer\ndecoder"),
             "video": (0.47, 0.12, "video\n[T, 3, H, W]"),
             "encoder": (0.22, 0.12, "tokenizer\nencoder + FSQ")}
    for x, y, text in boxes.values():
        ax.add_patch(plt.Rectangle((x, y), 0.19, 0.28, fc="#eef3fb", ec="#0072B2"))
        ax.text(x + 0.095, y + 0.14, text, ha="center", va="center", fontsize=8)
    arrows = [("caption", "text"), ("text", "transformer"), ("transformer", "codes"),
              ("codes", "decoder"), ("decoder", "video")]
    for a, b in arrows:
        (xa, ya, _), (xb, yb, _) = boxes[a], boxes[b]
        start = (xa + 0.19, ya + 0.14) if ya == yb and xb > xa else (xa + 0.095, ya)
        end = (xb, yb + 0.14) if ya == yb and xb > xa else (xb + 0.095, yb + 0.28)
        if ya == yb and xb < xa:
            start, end = (xa, ya + 0.14), (xb + 0.19, yb + 0.14)
        ax.annotate("", end, start, arrowprops=dict(arrowstyle="->", color="k"))
    ax.annotate("", (0.41, 0.26), (0.47, 0.26), arrowprops=dict(arrowstyle="->", ls="--"))
    ax.annotate("", (0.56, 0.62), (0.31, 0.40),
                arrowprops=dict(arrowstyle="->", ls="--", color="0.4"))
    ax.text(0.0, 0.45, "training: the encoder's codes\nof real videos are the targets",
            fontsize=7, color="0.3")
    ax.text(0.93, 0.75, "sampling:\none code at a time,\nwith a KV cache", fontsize=7)
    ax.set(xlim=(0, 1.08), ylim=(0.05, 0.95))
    ax.axis("off")


fig, ax = plt.subplots(figsize=(11, 3.6))
draw_plan(ax)
plt.show()

# %% [markdown]
# > **The article says** self-attention "computes attention weights between the text
# > input and the video output" and fuses them.
# > **The correct form is**: weights between *two different* sequences are
# > **cross-attention**: queries come from the video, keys and values from the caption,
# > $\mathrm{softmax}(Q_{\text{video}} K_{\text{text}}^\top/\sqrt{d_k})\,V_{\text{text}}$.
# > Self-attention mixes the positions of *one* sequence (here: the video's codes with
# > each other, under a causal mask). Our transformer uses both, in every block.
#
# ## 2. Frames to integers: finite scalar quantisation
#
# The encoder maps a clip of `frames_per_token` frames (stacked in the channels) to a
# grid of $d$-dimensional vectors $z$. Finite scalar quantisation (FSQ, Mentzer et
# al. 2023) rounds **each channel** to a few levels: channel $i$ is squashed into
# $[-\tfrac{L_i-1}{2}, \tfrac{L_i-1}{2}]$ and rounded (for an even $L_i$ the range is
# shifted by $\tfrac12$ so that it holds $L_i$ integers: $-4, \dots, 3$ for
# $L_i = 8$), so with levels
# $(L_1,\dots,L_d)$ a grid cell takes one of $\prod_i L_i$ values: its **code**. VQ-VAE
# learns a codebook instead and needs extra losses to keep it in use; FSQ's codebook
# is a fixed grid, so it cannot collapse as long as the encoder's outputs are
# spread out (the encoder's GroupNorm sees to that: without normalisation a probe of
# this model collapsed to a single code).
#
# Rounding has zero gradient almost everywhere. The **straight-through estimator**
# uses $\mathrm{round}(z)$ in the forward pass and pretends it was the identity in
# the backward pass:
#
# $$\mathrm{round}_{\text{STE}}(z) = z + \mathrm{sg}\big(\mathrm{round}(z) - z\big),
# \qquad \frac{\partial\, \mathrm{round}_{\text{STE}}(z)}{\partial z} = 1,$$
#
# where $\mathrm{sg}$ (stop-gradient) is `.detach()` in PyTorch.
#
# **Exercise 1.** Implement it in one line.

# %% exercise="straight_through_round"
def straight_through_round(z):
    """round(z) forward, identity backward: z + stopgrad(round(z) - z)."""
    ### BEGIN SOLUTION
    return z + (torch.round(z) - z).detach()
    ### END SOLUTION


# %% check="straight_through_round" points=1
g = torch.Generator().manual_seed(0)
cases = [(torch.tensor([-1.6, -0.4, 0.2, 0.7, 2.5]), torch.arange(5.0)),
         (3 * torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g))]
mine = exercise.value_and_gradient(straight_through_round)
reference = exercise.value_and_gradient(tokenizer.straight_through_round)
used = exercise.check(mine, reference, cases, name="straight_through_round",
                      formula="output[0] = round(z) (the forward pass); output[1] = the "
                              "gradient passed back, which must equal w: "
                              "z + (round(z) - z).detach()")
straight_through_round = (straight_through_round if used is mine
                          else tokenizer.straight_through_round)
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(5 * torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)),
          (torch.randn(3, 2, 2, generator=g), torch.randn(3, 2, 2, generator=g))]
exercise.assert_matches(exercise.value_and_gradient(straight_through_round),
                        exercise.value_and_gradient(tokenizer.straight_through_round), hidden,
                        name="straight_through_round")
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 2.** FSQ for **odd** numbers of levels $L$ (the package also handles even
# ones with a half-step offset). With $h = \tfrac{L-1}{2}\,(1 - 10^{-3})$ (the factor
# $1 - 10^{-3}$ is a small safety margin taken from the FSQ authors' code; it does not
# change which levels occur, since $h \tanh z$ stays inside
# $(-\tfrac{L-1}{2}, \tfrac{L-1}{2})$ either way),
#
# $$q = \frac{\mathrm{round}_{\text{STE}}\big(h \tanh z\big)}{\lfloor L/2 \rfloor}
# \in \{-1, \dots, -\tfrac{1}{\lfloor L/2\rfloor}, 0, \tfrac{1}{\lfloor L/2\rfloor},
# \dots, 1\}.$$
#
# `z` has shape `[..., d]` and `levels` is a tuple of $d$ odd integers, one per
# channel (make a tensor of it to broadcast). Use your `straight_through_round`.

# %% exercise="fsq_quantize"
def fsq_quantize(z, levels):
    """q = round_ste(h tanh z) / (L // 2) per channel, h = (L - 1)(1 - 1e-3) / 2."""
    ### BEGIN SOLUTION
    L = torch.tensor(levels, dtype=z.dtype)
    h = (L - 1) * (1 - 1e-3) / 2
    return straight_through_round(h * torch.tanh(z)) / (L // 2)
    ### END SOLUTION


# %% check="fsq_quantize" points=2
g = torch.Generator().manual_seed(1)
# cases are (z, w, levels): output[0] = fsq_quantize(z, levels), output[1] = the gradient
# of sum(w * q) with respect to z (exercise.value_and_gradient)
cases = [(torch.linspace(-3, 3, 13)[:, None], torch.ones(13, 1), (5,)),
         (2 * torch.randn(8, 3, generator=g), torch.randn(8, 3, generator=g), (5, 5, 3)),
         (2 * torch.randn(2, 4, 4, 4, generator=g), torch.randn(2, 4, 4, 4, generator=g),
          (7, 5, 5, 3))]
FSQ_FORMULA = ("h = (L - 1)(1 - 1e-3) / 2 per channel; q = round_ste(h * tanh(z)) / (L // 2). "
               "output[0] = q; output[1] = the gradient passed back to z: 0 with torch.round "
               "or a detached q, so round with your straight_through_round")
mine = exercise.value_and_gradient(fsq_quantize)
used = exercise.check(mine, exercise.value_and_gradient(tokenizer.fsq_quantize), cases,
                      name="fsq_quantize", formula=FSQ_FORMULA)
fsq_quantize = fsq_quantize if used is mine else tokenizer.fsq_quantize
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(3 * torch.randn(16, 4, generator=g), torch.randn(16, 4, generator=g), (9, 7, 5, 3)),
          (torch.randn(2, 5, 3, generator=g), torch.randn(2, 5, 3, generator=g), (3, 3, 11))]
exercise.assert_matches(exercise.value_and_gradient(fsq_quantize),
                        exercise.value_and_gradient(tokenizer.fsq_quantize), hidden,
                        name="fsq_quantize", formula=FSQ_FORMULA)
### END HIDDEN TESTS

# %% [markdown]
# Each channel becomes a staircase. The straight-through gradient is the slope of the
# smooth curve under it, $h\,(1 - \tanh^2 z)/\lfloor L/2 \rfloor$: large near 0,
# small where $\tanh$ saturates, so the encoder is pushed to use the middle levels.
# A cell's $d$ digits become one code index (a number in base $L_i$,
# `tokenizer.codes_to_indices`).

# %%
z = torch.linspace(-3, 3, 601, requires_grad=True)
q = fsq_quantize(z[:, None], (5,))[:, 0]
q.sum().backward()
fig, ax = plt.subplots(figsize=(6, 2.8))
ax.plot(z.detach(), q.detach(), label="q = fsq_quantize(z), L = 5")
ax.plot(z.detach(), z.grad, "--", label="gradient passed back (STE)")
ax.set(xlabel="z (one channel)", title="FSQ: five levels, a smooth gradient")
ax.legend(fontsize=8)
plt.show()
levels = P.levels
print(f"preset {cfg.preset!r}: levels {levels} -> {tokenizer.FrameTokenizer(tokenizer.TokenizerConfig(levels=levels)).num_codes} codes per grid cell")

# %% [markdown]
# **Think!** The dashed curve is the gradient the encoder receives, yet the staircase
# has slope 0 everywhere except at its jumps. In what sense is the straight-through
# gradient wrong, and why does training work with it anyway?
#
# <details><summary>Answer</summary>
#
# It is the slope of the smooth curve $h \tanh z / \lfloor L/2 \rfloor$, not of the
# staircase $q$ that the forward pass used: the backward pass pretends the rounding did
# not happen. The true slope, 0 almost everywhere, would give the encoder no gradient
# from the reconstruction loss at all. The smooth curve stays within half a level of the
# staircase ($\tfrac{1}{2\lfloor L/2 \rfloor} = 0.25$ for $L = 5$), so when the loss
# asks for a larger $q$, moving $z$ up does raise $q$ once it crosses the next step: the
# gradient is biased, but it points the right way.
#
# </details>

# %% [markdown]
# ## 3. A video as a sequence
#
# With the `cpu` preset the tokenizer works at $32 \times 32$, halves the size three
# times (a $4 \times 4$ grid) and codes `frames_per_token` frames together, so an
# 8-frame video becomes $T' \times 4 \times 4$ codes. We read them in raster order —
# token-frame by token-frame, row by row — and give position $n = (t, i, j)$ the
# learned embedding
#
# $$e_n = E[\text{code}_{n-1}] + P^{\text{time}}_t + P^{\text{row}}_i +
# P^{\text{col}}_j ,$$
#
# factorised over space and time like VideoGPT's ($E[\text{code}]$ itself is built
# from the code's digits, see below). The input at position $n$ is the *previous*
# code (a `<start>` token at $n = 0$); the output at $n$ predicts code $n$.
# Why several frames per token? Every token then *shows motion* (its frames differ),
# and the sequence is shorter: training and sampling cost grow with its length.
#
# > **The article says** RNNs handle both the temporal and the spatial information of
# > a video (our translation).
# > **The correct form is**: an RNN models order in *time*; it has no notion of space.
# > Here space is handled by convolutions (the tokenizer's $4 \times 4$ grid) and by
# > attention over the grid, told where each code sits by the row and column
# > positions $P^{\text{row}}_i$, $P^{\text{col}}_j$.

# %%
print(f"preset {cfg.preset!r}: {P.num_frames} frames of {P.size}x{P.size}, tokenizer at "
      f"{P.work_size}x{P.work_size}, {P.frames_per_token} frames per token")
model = t2v.build(P)
print(f"sequence: {model.video.num_frames} token-frames x {model.video.grid}x"
      f"{model.video.grid} = {model.video.length} codes per video, "
      f"{model.tokenizer.num_codes} possible codes each")
for name, part in [("tokenizer", model.tokenizer), ("caption encoder", model.text),
                   ("video transformer", model.video)]:
    print(f"  {name:18s} {sum(p.numel() for p in part.parameters()):>9,d} parameters")

# %% [markdown]
# ## 4. The causal transformer
#
# The transformer models the joint distribution of a video's codes $c_1, \dots, c_N$
# given the caption $x$ with the chain rule,
#
# $$p(c_1, \dots, c_N \mid x) = \prod_{n=1}^{N} p(c_n \mid c_{<n}, x), \qquad
# p(c_n \mid c_{<n}, x) = \mathrm{softmax}(W h_n + b),$$
#
# and is trained by the cross-entropy of each true code. One forward pass scores all
# $N$ positions at once; the **causal mask** stops position $n$ from attending to
# positions after it, so $h_n$ depends only on $c_{<n}$ and $x$.
#
# > **The article says** its RNN decoder (数学模型 2),
# > $p(y_t \mid y_{<t}, x) = \mathrm{softmax}(W_{hy} h_t + b_y)$, outputs the decoded
# > sequence, and its code uses such an LSTM decoder with a softmax output as the GAN's
# > *generator*, which writes the video.
# > **The correct form is**: that formula is an **autoregressive** model's next-token
# > distribution over a vocabulary (a language model's, or this notebook's
# > transformer's over codes), trained by maximum likelihood. $y_t$ is a token, not a
# > frame, so it cannot emit frames directly. A GAN's generator maps noise to a sample,
# > $G(z)$, has no likelihood at all, and is trained against a discriminator
# > (notebook 04).
#
# The mask at work: change code 20 of a random sequence and see which positions'
# predictions move (untrained model; the caption is fixed).

# %%
context, context_mask = model.encode_text(["a red circle moves left"])
inputs = torch.randint(0, model.video.num_codes, (1, model.video.length),
                       generator=torch.Generator().manual_seed(0))
changed = inputs.clone()
changed[0, 20] = (changed[0, 20] + 1) % model.video.num_codes
with torch.no_grad():
    delta = (model.video(changed, context, context_mask)
             - model.video(inputs, context, context_mask)).abs().amax(-1)[0]
fig, ax = plt.subplots(figsize=(7, 2.4))
ax.bar(range(len(delta)), delta)
ax.axvline(19.5, color="tab:red", ls="--", label="input 20 changed here")
ax.set(xlabel="position n", ylabel="max |Δ logits|", title="only later positions see the change")
ax.legend(fontsize=8)
plt.show()
print("earlier positions unchanged:", bool(delta[:20].max() == 0))

# %% [markdown]
# **Think!** Notebook 05's VAE gave continuous codes. Why does this model round them to
# integers before the transformer sees them: what would its loss be if the codes stayed
# continuous vectors?
#
# <details><summary>Answer</summary>
#
# With integers, $p(c_n \mid c_{<n}, x)$ is a softmax over a finite set, and the
# cross-entropy $-\log p(\text{true code})$ is exactly the negative log-likelihood,
# whatever the shape of the distribution: it can give weight to several very different
# next codes (an edge of the shape here, or background). A continuous vector needs a
# density chosen in advance; the simplest, regression with the squared error, predicts
# the *mean* of the possible next vectors, which decodes to a blend of them, the
# averaging problem of notebook 05. The softmax also makes sampling, temperature and
# top-k straightforward.
#
# </details>

# %% [markdown]
# ### Predicting a code digit by digit
#
# A softmax over all codes treats them as unrelated labels, yet an FSQ code is the tuple
# of its digits $(d_1, \dots, d_K)$, one per channel: with levels
# $(8, 5, 5, 5)$, 1000 codes are built from $8 + 5 + 5 + 5 = 23$ digit values. Two
# codes that differ in one digit (say, the same edge of a shape in another colour)
# share the rest. The transformer uses that twice: it **embeds** a code as the sum of
# its digits' embeddings, and it **predicts** each digit with its own small softmax,
#
# $$E[c] = \sum_{k=1}^{K} E_k[d_k], \qquad
# p(c \mid h) = \prod_{k=1}^{K} \mathrm{softmax}(W_k h + b_k)_{d_k}
# \quad\Longleftrightarrow\quad \ell(c) = \sum_{k=1}^{K} (W_k h + b_k)_{d_k},$$
#
# so a code's logit $\ell(c)$ is the sum of its digits' logits
# (`t2v.code_logits_from_digits`), and everything downstream (cross-entropy,
# temperature, guidance) works on $\ell$ unchanged. The price: given the context, the
# digits of one code are independent. The gain is in generalisation: a held-out
# combination needs codes in contexts the model never saw, and their digits have been
# seen many times. Measured on this `cpu` preset (150 s of training, 128 videos per
# split, oracle joint accuracy, seeds 0 and 1):
#
# | the transformer's codes | test captions | held-out combinations |
# |---|---|---|
# | whole codes: one 1000-way softmax | 80 %, 89 % | 42 %, 43 % |
# | digits: four softmaxes of 8, 5, 5, 5 | 89 %, 89 % | 69 %, 61 % |
#
# Large tokenizers do the same for a different reason: MAGVIT-v2 (Yu et al. 2023) and
# Open-MAGVIT2 (Luo et al. 2024) split a $2^{18}$-entry vocabulary into two factors
# with a prediction head each, because one softmax that large is too costly.
#
# **Exercise 3.** `digit_logits` is a list of $K$ tensors, the $k$-th of shape
# `[..., L_k]`. Return the logits of all $L_1 \cdots L_K$ codes, shape
# `[..., L_1 * ... * L_K]`: entry $c$ is $\sum_k$ `digit_logits[k][..., d_k(c)]`, where
# the digits of code $c$ are those of `tokenizer.codes_to_indices`,
# $c = d_1 + L_1 d_2 + L_1 L_2 d_3 + \dots$ (the first digit varies fastest).
# `tokenizer.indices_to_digits(torch.arange(num_codes), levels)` lists every code's
# digits, and `x[..., idx]` picks entries of the last axis.

# %% exercise="code_logits_from_digits"
def code_logits_from_digits(digit_logits):
    """[..., L_k] for each digit k -> [..., prod L_k]: a code's logit = sum of its digits'."""
    ### BEGIN SOLUTION
    levels = [logits.shape[-1] for logits in digit_logits]
    codes = torch.arange(math.prod(levels))
    digits = tokenizer.indices_to_digits(codes, levels)          # [num_codes, K]
    return sum(logits[..., digits[:, k]] for k, logits in enumerate(digit_logits))
    ### END SOLUTION


# %% check="code_logits_from_digits" points=2
g = torch.Generator().manual_seed(0)
cases = [([torch.tensor([0.0, 2.0, 1.0]), torch.tensor([1.0, -1.0])],),
         ([torch.randn(4, 8, generator=g), torch.randn(4, 5, generator=g),
           torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g)],)]
code_logits_from_digits = exercise.check(
    code_logits_from_digits, t2v.code_logits_from_digits, cases,
    name="code_logits_from_digits",
    formula="logit(c) = sum_k digit_logits[k][..., d_k(c)], c = d_1 + L_1 d_2 + L_1 L_2 d_3 + ...")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [([torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 3, generator=g)],),
          ([torch.randn(7, generator=g)],),
          ([torch.randn(5, 2, generator=g), torch.randn(5, 6, generator=g),
            torch.randn(5, 3, generator=g)],)]
exercise.assert_matches(code_logits_from_digits, t2v.code_logits_from_digits, hidden,
                        name="code_logits_from_digits")
# a softmax over codes is the product of the digits' softmaxes
logits = hidden[2][0]
p_codes = code_logits_from_digits(logits).softmax(-1)
p_product = (logits[2].softmax(-1)[:, :, None, None] * logits[1].softmax(-1)[:, None, :, None]
             * logits[0].softmax(-1)[:, None, None, :]).flatten(1)
torch.testing.assert_close(p_codes, p_product)
### END HIDDEN TESTS

# %%
head = model.video.head
print(f"whole codes: {P.embed_dim} x {model.tokenizer.num_codes} output weights; "
      f"digits: {P.embed_dim} x {sum(P.levels)} ({type(head).__name__})")
digit_logits = [torch.tensor([0.0, 2.0, 1.0]), torch.tensor([1.0, -1.0])]
code_logits = code_logits_from_digits(digit_logits)              # 3 x 2 = 6 codes
print("code logits:", code_logits.tolist())
p_code = code_logits.softmax(-1)[1 + 3 * 1]                       # digits (1, 1)
p_digits = digit_logits[0].softmax(-1)[1] * digit_logits[1].softmax(-1)[1]
print(f"p(code with digits (1, 1)) = {p_code:.4f} = p(d1 = 1) p(d2 = 1) = {p_digits:.4f}")

# %% [markdown]
# ### Sampling with a key-value cache
#
# Sampling writes one code at a time: $N$ steps. Recomputing the whole prefix at each
# step costs $O(N^2)$ token-passes. But the keys and values of earlier positions do
# not change when a new code is appended (the mask hides the future), so we keep them
# in a **KV cache** and run only the new position through each block. The new
# queries then attend to *all* cached keys plus the causal part among themselves.
#
# **Exercise 4.** The mask for `num_new` new queries over `total` keys (the cached
# ones first): query $i$ (position $\text{total} - \text{num\_new} + i$) may attend to
# key $j$ when $j \le \text{total} - \text{num\_new} + i$. It equals the last
# `num_new` rows of `causal_mask(total)`, but build it without the full matrix
# (`torch.tril` has a `diagonal` argument). Return a bool tensor
# `[num_new, total]`, True = may attend.

# %% exercise="cache_mask"
def cache_mask(num_new, total):
    """bool [num_new, total]: True where key j <= total - num_new + i."""
    ### BEGIN SOLUTION
    return torch.ones(num_new, total, dtype=torch.bool).tril(total - num_new)
    ### END SOLUTION


# %% check="cache_mask" points=1
cases = [(1, 1), (1, 6), (3, 6), (6, 6)]
cache_mask = exercise.check(cache_mask, t2v.cache_mask, cases, name="cache_mask",
                            formula="the last num_new rows of causal_mask(total): "
                                    "ones(num_new, total).tril(total - num_new)")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
total = int(torch.randint(2, 40, (1,), generator=g))
hidden = [(int(torch.randint(1, total + 1, (1,), generator=g)), total), (total, total), (1, total)]
exercise.assert_matches(cache_mask, t2v.cache_mask, hidden, name="cache_mask")
for new, tot in hidden:
    assert torch.equal(cache_mask(new, tot).bool(), causal_mask(tot)[tot - new:])
### END HIDDEN TESTS

# %% [markdown]
# The cache changes the cost, not the result: both ways draw the same codes.

# %% tags=["nbval-ignore-output"]
captions = ["a red circle moves left"] * 4
timings = {}
for use_cache in (False, True):
    t0 = time.perf_counter()
    codes = model.sample_codes(captions, torch.Generator().manual_seed(0), use_cache=use_cache)
    timings[use_cache] = time.perf_counter() - t0
same = torch.equal(codes, model.sample_codes(captions, torch.Generator().manual_seed(0),
                                             use_cache=False))
print(f"without cache {timings[False]:.2f} s, with cache {timings[True]:.2f} s; "
      f"same codes: {same}")

# %% [markdown]
# ### Temperature, top-k and classifier-free guidance
#
# At each step we draw a code from $\mathrm{softmax}(\ell / \tau)$: a temperature
# $\tau < 1$ sharpens the distribution, **top-k** sampling draws only among the $k$
# likeliest codes (the rest get $-\infty$ before the softmax).
#
# **Exercise 5.** `logits` is `[B, V]`. Divide by the temperature, then set every
# entry below the $k$-th largest of its row to $-\infty$ (`top_k = 0` keeps all;
# `Tensor.topk` and `masked_fill` help). Ties with the $k$-th value stay.

# %% exercise="filter_logits"
def filter_logits(logits, temperature=1.0, top_k=0):
    """logits / temperature with all but the top k of each row set to -inf."""
    ### BEGIN SOLUTION
    logits = logits / temperature
    if 0 < top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, -float("inf"))
    return logits
    ### END SOLUTION


# %% check="filter_logits" points=2
g = torch.Generator().manual_seed(2)
cases = [(torch.tensor([[1.0, 3.0, 2.0, 0.0]]), 1.0, 2),
         (torch.tensor([[2.0, 1.0, 2.0, 0.0, 1.0]]), 1.0, 3),   # ties with the 3rd stay
         (torch.randn(3, 10, generator=g), 0.5, 3),
         (torch.randn(2, 5, generator=g), 2.0, 0)]
filter_logits = exercise.check(
    filter_logits, t2v.filter_logits, cases, name="filter_logits",
    formula="l / T; then entries < the k-th largest of their row (l.topk(k).values[:, -1:]) "
            "become -inf")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(torch.randn(4, 12, generator=g), float(torch.rand(1, generator=g)) + 0.3,
           int(torch.randint(1, 12, (1,), generator=g))),
          (torch.randn(1, 6, generator=g), 1.0, 6)]
exercise.assert_matches(filter_logits, t2v.filter_logits, hidden, name="filter_logits")
### END HIDDEN TESTS

# %% [markdown]
# **Classifier-free guidance** (Ho & Salimans 2022) makes samples follow the caption
# more closely. During training the caption is replaced by an empty one 10 % of the
# time, so the same network also learns $p(c_n \mid c_{<n})$ without a caption. When
# sampling we compute both and extrapolate away from the unconditional prediction,
#
# $$\ell = \ell_{\text{uncond}} + g\,(\ell_{\text{cond}} - \ell_{\text{uncond}}),$$
#
# $g = 1$ being plain conditional sampling. Parti (Yu et al. 2022) used this for its
# autoregressive image model; we use $g = $ `P.guidance` by default and measure it
# below.
#
# ## 5. Training it live
#
# `t2v-edu train --model classic` runs both stages; here the same loop, called from
# Python with the `cpu` preset (`gpu` on a GPU: bigger, 16 frames of 64×64, two
# objects). Training stops at the preset's step counts or after `P.notebook_minutes`
# (2.5 minutes, shared between the two stages), whichever comes first: on most CPUs the
# time limit ends the transformer stage.

# %% tags=["nbval-ignore-output"]
run_dir = Path(tempfile.mkdtemp(prefix="classic_run_"))
result = training.train(training.TrainConfig(
    model="classic", preset=cfg.preset, out=str(run_dir),
    steps=t2v_edu.budget(P.transformer_steps) if cfg.smoke else None,
    time_budget=P.notebook_minutes, sample_every=0, save_every=10**9, log_every=10))
model = result.model.eval()
meta = result.meta
print(f"tokenizer {meta['stage_steps']['tokenizer']} steps + transformer "
      f"{meta['stage_steps']['transformer']} steps in {meta['train_seconds']:.0f} s "
      f"({meta['videos_per_second']:.0f} videos/s)")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
for ax, stage, key, label in [(axes[0], "tokenizer", "psnr", "PSNR (dB)"),
                              (axes[1], "transformer", "bits_per_token", "bits per code")]:
    rows = training.read_log(run_dir, stage)   # the run's metrics.jsonl
    ax.plot([r["step"] for r in rows], [r[key] for r in rows])
    ax.set(xlabel="step", ylabel=label, title=f"stage: {stage}")
plt.tight_layout()
plt.show()

# %% [markdown]
# Bits per code start near $\log_2(\text{number of codes})$ (a uniform guess) and fall
# as the transformer learns which codes follow which. Real videos (top) and what the
# tokenizer keeps of them (bottom) — the best any sampler over these codes can do:

# %% tags=["nbval-ignore-output"]
ds = data.MovingShapes("test", num_frames=P.num_frames, size=P.size, length=4, spec=P.data_spec)
real, real_captions, _ = ds.get_batch(range(4))
viz.show_videos(torch.cat([real, model.reconstruct(real)]), real_captions * 2, columns=4)

# %% [markdown]
# **If the bottom row looks wrong**, the tokenizer probably had too few steps. The
# printout of the training cell says how many it took: the preset plans 2000, and a
# slow machine fits 1000–1400 into the time budget. After 1264 steps the judge reads
# the right shape, colour and motion in about three of four reconstructions, after
# 2000 in 98 % (measured for the README). No sampler can draw better than its
# tokenizer decodes, so if your time allows, pass a larger `time_budget` (minutes).
#
# **Which loss keeps a corner?** The tokenizer learns by bringing its reconstruction
# $\hat x$ close to the frame $x$. Take an edge pixel the decoder cannot place for
# sure: lit in a share $p$ of the frames that give the same codes. Under the squared
# error the best value is grey, the mean: $\arg\min_c \mathbb{E}[(c - x)^2] =
# \mathbb{E}[x] = p$. Under the absolute error it is lit or dark, whichever is more
# likely, the median: $\arg\min_c \mathbb{E}\,|c - x| = 1$ if $p > \tfrac12$, else $0$.
# Grey corners make a small square look round. The `cpu` preset keeps the squared error
# (`tokenizer.tokenizer_loss`). The `gpu` preset now trains with the absolute error
# (`tokenizer.tokenizer_l1_loss`): on the `gpu` data it about halved the judge's
# mistakes on reconstructed two-object videos in a CPU comparison (the README's GPU
# section). Section 7's GPU model was trained before, with the squared error.

# %% [markdown]
# Samples for seen captions (first row) and for held-out combinations of shape,
# colour and motion that never occur in training (second row):

# %% tags=["nbval-ignore-output"]
seen = ["a red circle moves left", "a blue square moves up", "a green triangle moves right",
        "a yellow circle grows"]
heldout = [data.canonical_caption([{"shape": s, "color": c, "motion": m}])
           for s, c, m in data.split_triples("heldout", P.data_spec)[:4]]
t0 = time.perf_counter()
samples = model.sample(seen + heldout, generator=torch.Generator().manual_seed(0))
print(f"{len(samples)} videos in {time.perf_counter() - t0:.2f} s")
viz.show_videos(samples, seen + heldout, columns=4)

# %% [markdown]
# ## 6. Judging it with numbers
#
# `t2v-edu evaluate` scores videos with two judges, both right on at least 99.5 % of
# real videos for each attribute: the **oracle** reads colour from the palette, motion
# from the centroid track and shape from the silhouette; the **learned judge** is a
# small video classifier trained on real videos. A video is *jointly* right when
# shape, colour and motion all match its caption. Chance and a shuffled-caption
# control show what "no text understanding" scores.

# %% tags=["nbval-ignore-output"]
judge_set = evaluation.load_judges(P.data_spec)


def classic_fn(net, guidance=None):
    """generate_fn(captions, seed) for evaluation.evaluate_generator."""
    def generate(captions, seed):
        return net.sample(captions, generator=torch.Generator().manual_seed(seed),
                          guidance=guidance)
    return generate


live = evaluation.evaluate_generator(classic_fn(model), P.data_spec, num_videos=P.eval_videos,
                                     judges=judge_set, diversity=False)
display(Markdown(evaluation.format_table(live)))

# %% [markdown]
# **Think!** Test captions are new videos of shape–colour–motion triples seen in
# training; held-out captions name triples that never occur in training
# (`data.heldout_triples` keeps every single word, and every pair of words, in
# training). Why does only the held-out split test whether the model *composes* what it
# learned?
#
# <details><summary>Answer</summary>
#
# On a test caption the model can succeed by recalling how that exact triple looked in
# training, without ever separating shape, colour and motion. A held-out triple, say "a
# green triangle grows" in the `cpu` data, has nothing to recall: green triangles only
# moved in other ways and other green shapes grew, so the video must be assembled from
# attributes learned in other combinations. A model that memorised triples draws a seen
# combination instead, one of the typical failures in section 7; the gap between the
# test and held-out accuracies measures how much it relies on memory.
#
# </details>

# %% [markdown]
# ### Guidance: how much does it buy?

# %% tags=["nbval-ignore-output"]
for g_scale in (1.0, P.guidance):
    r = evaluation.evaluate_generator(classic_fn(model, g_scale), P.data_spec, split="test",
                                      num_videos=P.eval_videos, judges=judge_set,
                                      diversity=False, retrieval=False)
    o = r["splits"]["test"]["oracle"]
    print(f"guidance {g_scale:.1f}: shape {o['shape']:.0%}, colour {o['color']:.0%}, "
          f"motion {o['motion']:.0%}, joint {o['joint']:.0%}")

# %% [markdown]
# After a short live run guidance may buy little, nothing, or even cost a few points:
# $g = 1$ can come out ahead of the default. With 128 videos, a gap of a few points
# is within the noise. At the `cpu` preset's temperature 0.3 the conditional samples
# are already sharp, so guidance has little left to sharpen. It is a setting to
# measure, not a free gain; notebook 07 sweeps it over several scales.
#
# A cold temperature has a price too: variety. `benchmarks/temperature_sweep.py`
# samples the shipped model of section 7 at several temperatures (256 videos per
# split; the start spread is how far one caption's videos start apart over 16 seeds,
# averaged over 24 captions, in frame widths):
#
# | temperature | joint, test | joint, held-out | FVD-lite, held-out | start spread (real: 0.128) |
# |---|---|---|---|---|
# | 0.3 (preset) | 96.9 % | 94.9 % | 107 | 0.068 |
# | 0.5 | 97.3 % | 93.4 % | 92 | 0.085 |
# | 0.7 | 96.5 % | 91.0 % | 76 | 0.091 |
# | 1.0 | 92.6 % | 88.7 % | 73 | 0.105 |
#
# At 0.3 one caption's videos start about half as far apart as real ones do, and
# FVD-lite, which compares whole distributions, notices. The preset's 0.3 was chosen
# on short live runs like yours, where it paid (there 0.5 → 0.3 lifted test joint
# from 79 % to 87 %): a half-trained model puts probability on wrong codes, and a cold
# sampler avoids them. The well-trained model keeps its accuracy up to 0.5 while
# varying more. The right temperature depends on the model: measure it again after
# training longer.

# %% [markdown]
# **Think!** Write the guided distribution $\mathrm{softmax}(\ell_{\text{uncond}} +
# g\,(\ell_{\text{cond}} - \ell_{\text{uncond}}))$ in terms of $p_{\text{cond}}$ and
# $p_{\text{uncond}}$. Why does $g > 1$ cost variety, like a cold temperature?
#
# <details><summary>Answer</summary>
#
# The softmax's normalisers are constants, so $\tilde p(c) \propto
# p_{\text{uncond}}(c)^{1-g}\, p_{\text{cond}}(c)^{g} = p_{\text{cond}}(c)\,
# \bigl(p_{\text{cond}}(c) / p_{\text{uncond}}(c)\bigr)^{g-1}$, and $g = 1$ gives
# $p_{\text{cond}}$ exactly. For $g > 1$ each code is reweighted by how much more likely
# the caption makes it: codes typical of this caption rather than of videos in general
# gain, the rest lose, and each step's distribution concentrates on fewer codes. Videos
# of one caption then differ less from each other, as with a low temperature: the price
# of following the caption more closely.
#
# </details>

# %% [markdown]
# ## 7. The shipped model
#
# `t2v_edu.generate(captions)` uses the weights shipped with the package (checked
# against their SHA-256 and loaded with `weights_only=True`): the `gpu` preset's when
# they exist, else the `cpu` preset's. Here we load the ones of this notebook's preset.
# Its model card says how it was trained; below, we evaluate it here and now rather
# than trusting the card.

# %% tags=["nbval-ignore-output"]
path = generation.default_checkpoint("classic", cfg.preset)   # classic_<preset>.pt or None
shipped = (generation.load_generator("classic", path, device=cfg.device) if path
           else generation.fallback_generator("classic"))
print(shipped.source if shipped.is_fallback else f"shipped weights: {Path(shipped.source).name}")
display(Markdown(shipped.card.split("## Evaluation")[0] if shipped.card else "(no model card)"))
if not shipped.is_fallback:
    checked = evaluation.evaluate_generator(shipped, shipped.spec, num_videos=P.eval_videos,
                                            diversity=False, retrieval=False)
    display(Markdown(evaluation.format_table(checked)))

# %% [markdown]
# ### The same model, trained on a GPU
#
# The `gpu` preset is this architecture at the `gpu` data's size: 16 frames of 64×64,
# four shapes, seven colours, seven motions, varied sizes and sometimes a second object
# (196 shape–colour–motion triples instead of 72; chance joint accuracy 0.5 %). It has
# 6.0 M parameters, trains on batches of 128 in bf16, and renders its data on the GPU.
# Two things differ from the `cpu` preset, and the story below explains why: its caption
# encoder first learns to *parse* captions (a caption stage between the tokenizer and the
# transformer), and 60 % of its training captions name two objects. The shipped
# `classic_gpu.pt` trained for 3.5 minutes on one H100, from scratch, and
# `t2v_edu.generate` loads it by default. Here is its evaluation, measured on the GPU after
# training (512 videos per split):

# %%
gpu_result = comparison.load_shipped_evaluation("classic", "gpu")
if gpu_result is None:
    print("No GPU-trained classic weights are installed.")
else:
    display(Markdown(evaluation.format_table(gpu_result)))

# %% [markdown]
# Compare it with the ceiling: the same judges score the tokenizer's reconstructions of
# real videos at 97 % joint (oracle), but only 90 % on two-object captions: the tokenizer
# is not the main limit, though it caps what the model can reach on two objects.
# The last rows split the captions by how many objects they name: one-object captions are
# nearly solved, two-object ones are not yet.
#
# Getting here took a detour. The first GPU model, trained for 7 minutes without the
# caption stage and on the data's 30 % of two-object captions, drew 99 % of one-object
# test captions right but only 10 % of two-object ones. A test that needs no sampling
# shows why. Draw a two-object caption's real video, then draw it again with the two
# shapes swapped: every word of the caption is still on screen, but the shapes sit on the
# wrong colours. Ask the model which video it finds more likely, by
# $-\log p(\text{video} \mid \text{caption})$ from one forward pass (`TextToVideo.nll`;
# `evaluation.binding_test` and `benchmarks/binding_test.py` run it, 128 test captions):
#
# | wrong video | first GPU model prefers the right one | shipped model |
# |---|---|---|
# | one object, another shape | 100 % | 100 % |
# | two objects, a shape the caption does not name | 85 % | 100 % |
# | two objects, their shapes swapped | 48 % (chance: 50 %) | 99 % |
#
# The first model knew which shapes a caption names, but not which colour each one goes
# with: it read a two-object caption as a bag of words. This is the *binding* problem:
# every attribute must attach to the right object, and image and video models are known
# to struggle with it. Two more minutes of training lowered its loss from 1.09 to 0.97
# nats per code, yet raised joint accuracy by under 3 points, and no sampling setting
# (temperature, guidance) rescued it (`benchmarks/temperature_sweep.py`).
#
# Where was the bag of words made? Fit a linear read-out (a *probe*) to the caption
# encoder's feature of the first colour word of each two-object caption
# (`evaluation.caption_probe`). In the first model it found that object's own shape 47 %
# of the time and the other object's 46 %: the encoder mixed both named shapes into every
# word, so the video transformer never got a chance to bind. The video loss alone does
# not teach it to. A small CPU experiment (`benchmarks/binding_from_scratch.py`) first
# trained the caption encoder to *parse*, predicting from each word the shape, colour and
# motion of the object it describes, and then froze it. Binding rose from 53 % to 79 %.
# Left to train on with the video loss alone, the encoder unlearned the parse, and
# binding fell back to chance. Imagen (Saharia et al., 2022) drew the same lesson at
# scale: a separately trained, frozen text encoder. Frozen had a cost here, though:
# unseen combinations came out worse. Trained on with the parse loss kept as a small
# second term, the encoder bound as well (83 %) and generalised like before. Training on
# more two-object captions (60 % instead of the data's 30 %) helped further, at no cost
# to one-object captions.
#
# On the GPU it worked as on the CPU. The shipped model's probe reads each colour word's
# own shape 100 % of the time, and it prefers the right video over the swapped one 99 % of
# the time. In its sampled two-object videos each colour's object shows its own shape in
# 72 % of them and its own motion in 81 %; the first model's did so in 42 % and 37 %, no
# more often than the other object's. Side by side on the H100 for 6 minutes each, 60 %
# two-object captions beat 30 %: 88 % against 82 % joint on test captions.
#
# The course's targets for this model (98 % per attribute, 95 % joint, 85 % held out,
# within 8 H100 minutes) are not met yet. What is left is drawing: a second object missing
# or a shape between two classes. More time helps: the 6-minute run reached 62 % on
# two-object captions against the shipped model's 43 % (its weights were lost; the README
# tells how). Most missing objects were never started: the transformer writes the codes in
# raster order, so whether an object starts in a cell is decided cell by cell, and nothing
# in the sequence says that one is still to come. The `gpu` preset therefore now writes a
# plan first, one token per named object for the cell where it starts, then the codes
# (`Preset.plan_slots`, $p(\text{plan} \mid x)\,\prod_n p(c_n \mid c_{<n},
# \text{plan}, x)$). In a CPU experiment on the `gpu` preset's 8 × 8 grid it cut the
# two-object videos that lose an object from 21–24 % to 3–10 % at full weight in the loss.
# Where an object starts is mostly chance, so the plan's cross-entropy stays high; at full
# weight it cost accuracy on held-out captions, at 0.3 (`Preset.plan_weight`) it did not,
# and it still cut the lost objects to 4–13 %. The shipped model was trained before the plan. Below are four
# of the shipped model's videos, from captions that use words the `cpu` data lacks
# (sampling on a CPU takes a few seconds). The third one names two objects: count what it
# gets right.

# %% tags=["nbval-ignore-output"]
gpu_path = generation.default_checkpoint("classic", "gpu")
if gpu_path is not None:   # generate caches the model: section 8's demo reuses it
    gpu_captions = ["a pink diamond shrinks", "a cyan square slides right",
                    "a red circle moves left and a blue triangle rises",
                    "an orange triangle climbs"]
    gpu_videos = generation.generate(gpu_captions, seed=0, checkpoint=gpu_path)
    viz.show_videos(gpu_videos, gpu_captions, columns=4)

# %% [markdown]
# ### Where it fails
#
# The oracle's reading of videos for held-out captions, wrong ones first (from the
# shipped model when there is one, else the live one; `?` marks an attribute the
# oracle could not read). Typical failures: a shape drawn between two classes (the
# tokenizer's 4×4 grid blurs corners), a motion that stalls, a held-out combination
# falling back to a seen one.

# %% tags=["nbval-ignore-output"]
captions, attrs = evaluation.split_captions(P.data_spec, "heldout", 32, seed=1)
videos = (shipped(captions, seed=1) if not shipped.is_fallback
          else model.sample(captions, generator=torch.Generator().manual_seed(1)))
oracle = judges.OracleJudge(P.data_spec)
ok = oracle.score_attrs(videos, attrs)["joint"].bool().view(-1)
read = oracle.predict(videos)
order = torch.argsort(ok.int(), stable=True)[:8]
labels = []
for i in order.tolist():
    seen_as = ", ".join(f"{o['color']} {o['shape'] or '?'} {o['motion'] or '?'}"
                        for o in read[i]) or "nothing"
    labels.append(f"{'✓' if ok[i] else '✗'} {captions[i]} | judged: {seen_as}")
print("\n".join(labels))
viz.show_videos(videos[order], [lab.split(" | ")[0] for lab in labels], columns=4)

# %% [markdown]
# ## 8. Try it
#
# Type a caption (the data set's words only; an unknown word gets an explanation) and
# press Enter. The logic is `generation.caption_to_gif`, tested in the package.

# %% tags=["nbval-ignore-output"]
import ipywidgets as widgets

box = widgets.Text(value="a red circle moves left", description="caption",
                   continuous_update=False, layout=widgets.Layout(width="420px"))
seed_box = widgets.IntText(value=0, description="seed", layout=widgets.Layout(width="160px"))
image = widgets.Image(format="gif")
message = widgets.Label()


def show(_=None):
    gif, text = generation.caption_to_gif(box.value, seed=seed_box.value, scale=6)
    message.value = text
    if gif is not None:
        image.value = gif


box.observe(show, names="value")        # fires on Enter (continuous_update=False)
seed_box.observe(show, names="value")
show()
widgets.VBox([widgets.HBox([box, seed_box]), image, message])

# %% [markdown]
# ## Summary
#
# - A discrete autoencoder (FSQ: bound, round, straight-through gradient) turns video
#   into a short sequence of integers; tubelets of several frames make each token
#   carry motion and the sequence short.
# - A causal transformer with space-time positions models the codes one at a time,
#   each code digit by digit (which lets it compose unseen combinations far better);
#   cross-attention reads the caption; a KV cache makes sampling cost one position
#   per step; temperature, top-k and classifier-free guidance shape the samples.
# - Measured by judges, not by eye: the tables above give shape, colour, motion and
#   joint accuracy on seen and held-out captions, against chance and shuffled
#   captions.
#
# Notebook 07 replaces next-code prediction with the approach behind today's systems:
# flow matching in a VAE's latent space.

# %% [markdown]
# **Going further** (ungraded)
#
# - *What is a word worth?* `model.nll(videos, captions)` returns
#   $-\log p(\text{video} \mid \text{caption})$ in nats, one number per video, from one
#   forward pass (no sampling; call it under `torch.no_grad()`). Score the four test
#   videos `real` of section 5 under their own `real_captions`, then under captions
#   with one word changed, written by hand: another colour, shape or motion
#   ("a red triangle does not move" for "a yellow triangle does not move"). The own
#   caption should score lowest; the gap says how many nats the model gives that word.
#   After a short live run some words still cost little (in our run, for the first
#   video: 5 nats for the motion word, 73 for the colour). Compare with the shipped
#   weights, `training.load_model(path)[0]` (`path` from section 7): there every
#   one-word change we tried on these four videos cost at least 30 nats.

# %% [markdown]
# **References**
#
# - Bengio, Léonard & Courville (2013). *Estimating or Propagating Gradients Through
#   Stochastic Neurons for Conditional Computation* (the straight-through estimator).
#   [arXiv:1308.3432](https://arxiv.org/abs/1308.3432)
# - Vaswani et al. (2017). *Attention Is All You Need*. NeurIPS 2017.
#   [arXiv:1706.03762](https://arxiv.org/abs/1706.03762)
# - van den Oord, Vinyals & Kavukcuoglu (2017). *Neural Discrete Representation
#   Learning* (VQ-VAE). NeurIPS 2017. [arXiv:1711.00937](https://arxiv.org/abs/1711.00937)
# - Yan et al. (2021). *VideoGPT: Video Generation using VQ-VAE and Transformers*.
#   [arXiv:2104.10157](https://arxiv.org/abs/2104.10157)
# - Wu et al. (2021). *GODIVA: Generating Open-DomaIn Videos from nAtural
#   Descriptions*. [arXiv:2104.14806](https://arxiv.org/abs/2104.14806)
# - Ho & Salimans (2022). *Classifier-Free Diffusion Guidance*. A short version
#   appeared at the NeurIPS 2021 Workshop on Deep Generative Models and Downstream
#   Applications. [arXiv:2207.12598](https://arxiv.org/abs/2207.12598)
# - J. Yu et al. (2022). *Scaling Autoregressive Models for Content-Rich Text-to-Image
#   Generation* (Parti). [arXiv:2206.10789](https://arxiv.org/abs/2206.10789)
# - Saharia et al. (2022). *Photorealistic Text-to-Image Diffusion Models with Deep
#   Language Understanding* (Imagen). NeurIPS 2022.
#   [arXiv:2205.11487](https://arxiv.org/abs/2205.11487)
# - Mentzer et al. (2023). *Finite Scalar Quantization: VQ-VAE Made Simple* (FSQ).
#   ICLR 2024. [arXiv:2309.15505](https://arxiv.org/abs/2309.15505)
# - L. Yu et al. (2023). *Language Model Beats Diffusion — Tokenizer is Key to Visual
#   Generation* (MAGVIT-v2). ICLR 2024. [arXiv:2310.05737](https://arxiv.org/abs/2310.05737)
# - Luo et al. (2024). *Open-MAGVIT2: An Open-Source Project Toward Democratizing
#   Auto-regressive Visual Generation*. [arXiv:2409.04410](https://arxiv.org/abs/2409.04410)
