# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 08 · Reading the seed critically
#
# This course grew out of one article, *从文本到视频的AI模型技术演进* ("the evolution of
# text-to-video AI models"). Notebooks 01–07 taught each of its ideas, corrected where
# the article was wrong. This last notebook reads the article as a whole, the way a
# reviewer would: we **run** its code, **check** its printed results, **list** every
# wrong formula, claim and citation, **build** the model it meant, and make its
# closing remark on ethics concrete with a **detector of generated video**.
#
# **Learning goals**
# - port a published code listing faithfully and let each of its errors show itself;
# - tell an output that could come from a program from one that cannot;
# - build the article's RNN encoder–decoder GAN for video so that it trains, and say
#   honestly what it needed beyond the article;
# - check formulas and citations against their sources; keep an errata table;
# - train a detector of generated videos and judge what its accuracy does and does
#   not mean for real deepfakes.
#
# **Prerequisites** notebooks 02 (LSTMs), 04 (GANs) and 06 (evaluation); some Keras
# helps but is not needed.
#
# **CPU run time** about 1 minute on a 2-core laptop with the `cpu` preset. With the
# `gpu` preset (16 frames of 64×64) the live GAN run of section 3 is longer (2000
# steps); the seed model's shipped weights are `cpu`-only, so section 3.1 still shows
# them at 8 frames of 32×32, and section 5 tests the detectors on the one `gpu` model
# shipped, `classic_gpu`.
# **Exercises** 2 (`repeat_encoding`, `pixel_frames`): find and fix two of the
# article's errors.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

import t2v_edu
from t2v_edu import data, detector, errata, exercise, generation, seed_model, training, viz
from t2v_edu import seed_port as keras   # the article's Keras layers, ported to PyTorch

cfg = t2v_edu.setup()
P = seed_model.PRESETS[cfg.preset]

# %% [markdown]
# ## 1. Running the article's code
#
# The article's "project practice" section prints a Keras program that, it says,
# trains a text-to-video GAN and prints a generated video. Here it is, exactly as
# printed (its five comments in Chinese: *define the generator and discriminator*,
# *compile*, *train*, *save the generator*, *generate a video*):

# %%
print(keras.ARTICLE_CODE)

# %% [markdown]
# We do not have TensorFlow here, and we do not need it: `t2v_edu.seed_port` gives
# the five Keras layers it uses (`Input`, `LSTM`, `Dense`, `RepeatVector`,
# `TimeDistributed`) as small PyTorch modules with **Keras's call signatures and
# Keras's input rules** (a `RepeatVector` takes `[batch, features]`, a
# `TimeDistributed` needs `[batch, time, …]`, an `LSTM` has two states). The code
# above then runs verbatim, its `tensorflow.keras` imports answered by the port.
# Each cell below shows one error, caught and printed: `keras.shows_error(...)`
# prints the error and *fails the cell* if the code ever stops failing.
#
# ### 1.1 Names that are never defined
# Before running anything, a linter reads the code. Six names are used and never
# defined or imported:

# %%
print(keras.undefined_names(keras.ARTICLE_CODE))

# %%
with keras.shows_error(NameError):
    keras.run_article_code()

# %% [markdown]
# `np` is the one that hides longest: `import numpy as np` is missing, and NumPy is
# first needed only inside the training loop. Let us supply the sizes. The article's
# printout has 12 rows of 9 numbers and its inputs have 9 columns, so we take
# `timesteps = 12`, `input_dim = output_dim = 9`:

# %%
with keras.shows_error(ValueError):
    keras.run_article_code(timesteps=12, input_dim=9, output_dim=9)

# %% [markdown]
# ### 1.2 `RepeatVector` applied to a sequence
# Both encoder LSTMs use `return_sequences=True`, so `x` is a sequence
# `[batch, 12, 128]`. `RepeatVector(n)` repeats **one vector** `[batch, features]` n
# times; Keras's layer declares `ndim=2` and rejects the sequence just as the port
# does. The intended pattern (an encoder–decoder, Sutskever et al. 2014) encodes the
# input into one vector, the last step of the encoder, and feeds that vector to the
# decoder at every step.
#
# > **The article says** `x = LSTM(128, return_sequences=True)(x)` then
# > `RepeatVector(timesteps)(x)`. **The correct form is** an encoder whose last LSTM
# > returns one vector (`return_sequences=False`, or the last step `x[:, -1]`), then
# > `RepeatVector(timesteps)`.
#
# ### Exercise 1 · `repeat_encoding`
# Fix it as a function: take the encoder's sequence `[B, T, F]`, keep its last step
# (the encoding of the whole input), and repeat it `n` times: `[B, n, F]`.

# %% exercise="repeat_encoding"
def repeat_encoding(sequence, n):
    """sequence [B, T, F] -> its last step repeated n times: [B, n, F]."""
    ### BEGIN SOLUTION
    return sequence[:, -1:, :].expand(-1, n, -1)
    ### END SOLUTION


# %% check="repeat_encoding" points=1
g = torch.Generator().manual_seed(8)
cases = [(torch.randn(2, 12, 128, generator=g), 12), (torch.randn(3, 5, 4, generator=g), 2)]
repeat_encoding = exercise.check(
    repeat_encoding, keras.repeat_encoding, cases, name="repeat_encoding",
    formula="RepeatVector(n)(x[:, -1]): [B, T, F] -> [B, F] -> [B, n, F]")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(torch.randn(4, 7, 6, generator=g), 3), (torch.randn(1, 1, 9, generator=g), 5),
          (torch.randn(5, 3, 2, generator=g, dtype=torch.float64), 1)]
exercise.assert_matches(repeat_encoding, keras.repeat_encoding, hidden, name="repeat_encoding")
### END HIDDEN TESTS

# %% [markdown]
# With the repair, the decoder gets `[2, 12, 128]`, and the next line fails.
#
# ### 1.3 `return_state` passed to a call
# In Keras `return_state=True` is an argument of the layer's *constructor*; the
# article passes it to the *call*, which has no such parameter:

# %%
sequence = keras.LSTM(128, return_sequences=True)(keras.Input((12, 9)))   # [2, 12, 128]
decoder_input = repeat_encoding(sequence, 12)
with keras.shows_error(TypeError):
    x = keras.LSTM(units=128, return_sequences=True)(decoder_input, return_state=True)

# %% [markdown]
# ### 1.4 `x, _, _ =` without `return_state`
# The last LSTM has no `return_state=True`, so it returns **one** tensor, yet the
# article unpacks three values from it. In the article's Keras model this fails while
# the model is built: `Input(shape=...)` leaves the batch size unknown, and Keras
# refuses to iterate over it (`TypeError: Cannot iterate over a Tensor with unknown
# first dimension`). Our port runs on real batches, which shows what the line would
# do to data: Python unpacks a tensor along its first axis, the batch. With the
# article's own batch of two inputs:

# %%
with keras.shows_error(ValueError):
    x, _, _ = keras.LSTM(units=128, return_sequences=False)(decoder_input)

# %% [markdown]
# With a batch of exactly three it *silently succeeds*, and `x` becomes the first
# video's vector: the kind of bug that costs a day.

# %%
batch_of_3 = repeat_encoding(keras.LSTM(128, return_sequences=True)(keras.Input((12, 9), 3)), 12)
x, _, _ = keras.LSTM(units=128, return_sequences=False)(batch_of_3)
print("x:", tuple(x.shape), "(one vector: the batch axis was unpacked)")

# %% [markdown]
# ### 1.5 A slice of the sequence as the initial state
# `initial_state=x[:, -1, :]` passes one `[batch, 128]` tensor. An LSTM has **two**
# states, the hidden state $h$ and the cell state $c$ (notebook 02), and they belong
# to the previous LSTM, not to its outputs. The repair is the pattern the article
# was reaching for: `x, h, c = LSTM(128, return_sequences=True, return_state=True)(x)`
# then `LSTM(128, ...)(x, initial_state=[h, c])`.

# %%
with keras.shows_error(ValueError):
    keras.LSTM(units=128, return_sequences=False)(decoder_input,
                                                 initial_state=decoder_input[:, -1, :])

# %% [markdown]
# ### 1.6 `TimeDistributed` on a 2-D tensor
# With `return_sequences=False` the last LSTM returns `[batch, 128]`: no time axis is
# left for `TimeDistributed` to distribute over (Keras checks for ≥ 3 dimensions).

# %%
last_step = keras.LSTM(units=128, return_sequences=False)(decoder_input)    # [2, 128]
with keras.shows_error(ValueError):
    keras.TimeDistributed(keras.Dense(9, activation="softmax"))(last_step)

# %% [markdown]
# ### 1.7 One verdict per frame, labels per video
# The discriminator ends in `Dense(1, activation='sigmoid')` after two LSTMs that
# return sequences, so it gives one probability **per time step**, `[B, 12, 1]`,
# while the labels are `np.ones((batch, 1))`. PyTorch's binary cross-entropy refuses
# the mismatch (Keras would broadcast the labels over the time steps and silently
# train one verdict per frame):

# %%
D_article = keras.ArticleDiscriminator(timesteps=12, output_dim=9)
print("discriminator output:", tuple(D_article(keras.Input((12, 9))).shape))
with keras.shows_error(ValueError):
    keras.train_on_batch(D_article, torch.optim.Adam(D_article.parameters()),
                         torch.rand(2, 12, 9), torch.ones(2, 1))

# %% [markdown]
# Even repaired (`per_video=True`: the second LSTM returns its last step, `[B, 1]`),
# this discriminator never sees the text. It can learn "real or fake" but never
# "does this video show *this* caption", so it cannot push a generator to obey the
# caption (Reed et al. 2016 feed the text to the discriminator for that reason).
#
# ### 1.8 A 2-D input to a 3-D model
# The generation step feeds `np.array([[0,0,0,1,1,1,0,0,0], [0,0,1,1,1,0,0,0,0]])`,
# shape `[2, 9]`, to a model whose input is `[batch, timesteps, input_dim]`:

# %%
G_article = keras.ArticleGenerator(timesteps=12, input_dim=9, output_dim=9)
article_input = torch.tensor([[0, 0, 0, 1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 0, 0, 0, 0]],
                             dtype=torch.float32)
with keras.shows_error(ValueError):
    G_article(article_input)

# %% [markdown]
# (No text is ever turned into numbers, either: the "text" is a hand-written 0/1
# vector. Notebook 01 does that step properly.)
#
# ### 1.9 A generator that is never trained
# `keras.ArticleGenerator` is the article's generator with the shape errors above
# repaired and nothing else changed. Run the article's training loop on it, with the
# discriminator repaired to one verdict per video (and one repair to the loop's
# first line, shown below):

# %%
torch.manual_seed(0)
D_repaired = keras.ArticleDiscriminator(timesteps=12, output_dim=9, per_video=True)
g_before = [p.clone() for p in G_article.parameters()]
g = torch.Generator().manual_seed(0)
batches = [torch.rand(16, 12, 9, generator=g) for _ in range(t2v_edu.budget(20))]
d_losses = keras.article_training_loop(G_article, D_repaired, batches, epochs=2)
unchanged = all(torch.equal(a, b) for a, b in zip(g_before, G_article.parameters()))
print(f"discriminator loss: first {d_losses[0]:.1f}, last {d_losses[-1]:.1f}")
print("generator weights unchanged after training:", unchanged)

# %% [markdown]
# The loop calls `discriminator.train_on_batch` twice per batch and nothing else.
# The generator is never compiled, never receives a loss, and no optimizer holds
# its weights; `generator.save_weights` then saves its random initialisation every
# epoch.
#
# The loop's first line is wrong too. `real_data = batch[:, :-timesteps]` drops the
# last `timesteps` steps, so on a batch shaped like the model's input,
# `[B, timesteps, input_dim]`, it is empty:

# %%
real_data = keras.article_real_data(batches[0], timesteps=12)
print("batch", tuple(batches[0].shape), "-> real_data", tuple(real_data.shape))
with keras.shows_error(ValueError):
    G_article(real_data)

# %% [markdown]
# Our port therefore passes `batch` whole. And `real_data` is both the generator's
# input (the "text") and the discriminator's "real video": the discriminator, built
# for `output_dim` features, accepts it only because we chose
# `input_dim = output_dim`. Captions and videos need two separate arrays.
#
# > **The article says** "we alternately train the generator and the
# > discriminator". **The correct form is** a second step per batch that updates
# > $G$ on $L_G = -\log D(G(z))$ through a frozen $D$ (in Keras: a combined model
# > with `discriminator.trainable = False`; in PyTorch: a second optimizer, or the
# > frozen-weights trick of section 3).
#
# ### 1.10 A softmax that makes pixels
# `TimeDistributed(Dense(output_dim, activation='softmax'))` normalises each frame:
# its values are positive and **sum to 1**. A 32×32 RGB frame has 3072 values, so
# their average is 1/3072, and a frame with a bright object on it (hundreds of
# values near 1) cannot be produced at all:

# %%
with torch.no_grad():
    frames = G_article(torch.rand(2, 12, 9))
print("each frame sums to", frames.sum(-1)[0, :4].numpy().round(4), "...")
real_video = data.render(data.parse_caption("a red circle moves left"))
print(f"a real 32x32 frame sums to {real_video[0].sum():.0f} (of 3072 values)")

# %% [markdown]
# ### Exercise 2 · `pixel_frames`
# Replace the softmax: a frame head applies one linear map to every step's hidden
# state and squashes **each value on its own** into (0, 1) with a sigmoid, then
# reshapes to an image:
# $$ \text{frame}_t = \sigma(W h_t + b) \in (0,1)^{3 \cdot s \cdot s}
#    \;\to\; [3, s, s]. $$
# `h` is `[B, T, H]`, `weight` `[3·s·s, H]`, `bias` `[3·s·s]`; return `[B, T, 3, s, s]`.

# %% exercise="pixel_frames"
def pixel_frames(h, weight, bias, size):
    """sigmoid(W h_t + b) for every step, reshaped: [B, T, H] -> [B, T, 3, size, size]."""
    ### BEGIN SOLUTION
    B, T, _ = h.shape
    return torch.sigmoid(h @ weight.T + bias).view(B, T, 3, size, size)
    ### END SOLUTION


# %% check="pixel_frames" points=2
g = torch.Generator().manual_seed(9)
cases = [(torch.randn(2, 3, 8, generator=g), torch.randn(48, 8, generator=g),
          torch.randn(48, generator=g), 4),
         (torch.randn(1, 12, 128, generator=g), 0.1 * torch.randn(3 * 32 * 32, 128, generator=g),
          torch.zeros(3 * 32 * 32), 32)]
pixel_frames = exercise.check(
    pixel_frames, keras.pixel_frames, cases, name="pixel_frames",
    formula="frame_t = sigmoid(W h_t + b).view(3, s, s), never a softmax over the frame")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(torch.randn(3, 5, 6, generator=g), torch.randn(3 * 8 * 8, 6, generator=g),
           torch.randn(3 * 8 * 8, generator=g), 8),
          (torch.randn(2, 1, 4, generator=g, dtype=torch.float64),
           torch.randn(12, 4, generator=g, dtype=torch.float64),
           torch.randn(12, generator=g, dtype=torch.float64), 2)]
exercise.assert_matches(pixel_frames, keras.pixel_frames, hidden, name="pixel_frames")
### END HIDDEN TESTS

# %% [markdown]
# The same hidden states through both heads: the softmax frame is black (its 3072
# values sum to 1, so almost all are near 0), the sigmoid frame can be anything.

# %%
g = torch.Generator().manual_seed(0)
h = torch.randn(1, 1, 16, generator=g)
W, b = torch.randn(3 * 32 * 32, 16, generator=g), torch.zeros(3 * 32 * 32)
fig, axes = plt.subplots(1, 2, figsize=(4.5, 2.4))
for ax, (name, head) in zip(axes, [("softmax (article)", keras.softmax_frames),
                                   ("sigmoid", pixel_frames)]):
    frame = head(h, W, b, 32)[0, 0]
    ax.imshow(frame.permute(1, 2, 0).clamp(0, 1).numpy())
    ax.set_title(f"{name}\nmax {frame.max():.3f}", fontsize=9)
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Think!** A softmax is not wrong in itself: notebook 06's transformer ends in one.
# What kind of output is a softmax the right head for, and why are a frame's 3072 values
# not that kind?
#
# <details><summary>Answer</summary>
#
# A softmax gives a probability distribution over choices that exclude each other:
# exactly one of them happens, so the values are positive and sum to 1, like the next
# code out of 1000 in notebook 06 or the next word of a language model. The 3072 values
# of a frame are not alternatives: each is a brightness of its own, and many can be near
# 1 at once (the real frame above sums to 204). They need one squashing per value, as
# the sigmoid gives. A softmax fits pixels only over the *possible intensities of one
# value*, e.g. 256 levels each, as PixelRNN (van den Oord et al. 2016) does.
#
# </details>

# %% [markdown]
# **What the port showed**, in the order Python meets the errors:
#
# | line of the article | what happens | repair |
# |---|---|---|
# | `timesteps`, `input_dim`, `output_dim`, `epochs`, `batches`, `np` | `NameError` | define them; `import numpy as np` |
# | `RepeatVector(timesteps)(x)` on `[B, T, 128]` | `ValueError`: needs `[B, F]` | encode to one vector first (exercise 1) |
# | `LSTM(...)(x, return_state=True)` | `TypeError` | `LSTM(128, return_state=True)(x)` |
# | `x, _, _ = LSTM(..., return_sequences=False)(...)` | unpacks the batch axis | `return_state=True`, or no unpacking |
# | `initial_state=x[:,-1,:]` | one tensor for two states | `initial_state=[h, c]` of the previous LSTM |
# | `TimeDistributed(...)` on `[B, 128]` | `ValueError`: no time axis | `return_sequences=True` |
# | `real_data = batch[:, :-timesteps]` | empty for a `[B, timesteps, ·]` batch; also the generator's input, fed to a D built for `output_dim` | separate caption and video arrays |
# | `Dense(1, 'sigmoid')` on `[B, T, 128]` vs labels `[B, 1]` | shapes differ | one verdict per video |
# | `generator.predict(np.array([[0,0,0,1,1,1,0,0,0], ...]))` | 2-D input, 3-D model | `[B, timesteps, input_dim]` |
# | the training loop | the generator never learns | a generator step |
# | `Dense(output_dim, activation='softmax')` | a frame sums to 1 | a sigmoid per value (exercise 2) |

# %% [markdown]
# ## 2. The "running results" it prints
#
# The article's results section (运行结果展示) shows "an example output of a
# generated video": twelve identical rows of nine numbers.

# %%
printed = keras.parse_printed_array(keras.ARTICLE_OUTPUT)
print("shape", printed.shape, "| smallest value", printed.min(),
      "| all rows identical:", keras.constant_rows(printed))
print("row sums:", printed.sum(axis=1)[:3].round(4), "...")

# %% [markdown]
# Three independent facts say this cannot be the output of the printed program,
# even if every error of section 1 were fixed:
#
# 1. **A softmax is never negative**, and its values sum to 1. The printout has
#    −0.866 and rows that sum to −2.52. (Values in (−1, 1) are what a `tanh`, e.g.
#    an LSTM's output, would give; they never went through the softmax head.)
# 2. **The input does not fit.** The program predicts on a 2-D array `[2, 9]`; its
#    model takes `[batch, timesteps, input_dim]` (section 1.8).
# 3. **Two inputs print as two blocks.** `predict` on a batch of 2 returns
#    `[2, timesteps, output_dim]`, which NumPy prints with triple brackets and a
#    blank line between the two videos. The printout is one 2-D block.
#
# Here is what the repaired article generator prints for the article's two inputs,
# reshaped to the 3-D input the model takes (`[2, 1, 9]`, repeated over 12 steps):

# %% tags=["nbval-ignore-output"]
with torch.no_grad():
    out = G_article(article_input[:, None, :].expand(-1, 12, -1))
np.set_printoptions(precision=3, suppress=True)
text = keras.printout(out[:, :3].numpy().round(3))    # the first 3 of 12 steps
print(text)
print("... two blocks, shape", tuple(out.shape), "| values all positive:", bool(out.min() > 0))
np.set_printoptions()

# %% [markdown]
# So we do **not** reproduce the article's numbers: no run of its code can print
# them. But notice what our untrained generator does print: rows that hardly change
# from step to step, and two blocks that hardly differ. That is what **constant
# rows** mean in a generator:
#
# - identical rows over time: every frame is the same, **no motion**. A decoder fed
#   the same vector at every step (that is what `RepeatVector` does) settles into a
#   fixed point unless training teaches it to move;
# - identical outputs for different inputs: the generator **ignores its input**,
#   the condition (no learning) or the noise (**mode collapse**, notebook 04).
#
# Either way, twelve identical rows would be a symptom to investigate, not a
# result to show. Section 3 measures both for the model the article meant.

# %% [markdown]
# ## 3. What the article meant, made to work
#
# Behind the broken listing there is a sensible design, the one its prose describes:
# an **RNN encoder–decoder** that reads the caption and emits **one frame per
# step**, trained as a **GAN** against a discriminator. `t2v_edu.seed_model` builds
# exactly that, with each error of section 1 repaired:
#
# | part | the article | here |
# |---|---|---|
# | text encoder | a 0/1 vector, no text | word embeddings + LSTM (notebooks 01–02), plus the mean word vector |
# | hand-over | `RepeatVector` of a sequence, a slice as state | the encoder's final $(h, c)$ is the decoder's initial state; `RepeatVector(T)` of $[h, \bar e, z]$ (LSTM state, mean word vector, noise) is its input |
# | decoder | LSTMs with broken `return_state` | one LSTM, `return_sequences=True` |
# | frames | `TimeDistributed(Dense(softmax))` | `TimeDistributed` frame decoder: linear → 4×4 grid → transposed convolutions → **sigmoid** |
# | discriminator | per-step sigmoid, never sees the text | per-frame CNN → LSTM over time → **one logit per video**, projected onto the caption |
# | training | only $D$ learns | $D$ and $G$ both learn |
#
# The discriminator is *matching-aware* (Reed et al. 2016): a real video with the
# **wrong** caption also counts as fake, so the generator must obey the caption:
# $$ L_D = -\log D(x, c) - \log\big(1 - D(G(c, z), c)\big) - \log\big(1 - D(x, c')\big). $$
#
# **What the article's recipe lacks.** We first trained this design as a GAN, with
# an L1 term to a real video of the caption. In our CPU runs the discriminator won at
# once ($D(G(z)) < 0.01$ within 30 steps) and the generator ended up drawing grey or
# black frames: a reconstruction loss against a real video helps only if the
# generator can know *where* that video's shape starts, which a caption does not say
# (against a random start, the best L1 guess for most pixels is black).
# So an encoder reads a latent code $z_x \sim q(z \mid x)$ off the real video, and
# the generator reconstructs the video from the caption and $z_x$: a conditional
# VAE-GAN (BicycleGAN's cVAE-GAN, Zhu et al. 2017), the article's two model
# families, VAE and GAN, used together. The encoder sees only the video's first
# frame, colourless and coarse (8×8): enough to say where the shape starts and how
# big it is, too little to say its colour, shape or motion, which must come from
# the caption. (In our first runs the encoder saw the whole video; $z$ could carry
# everything, and samples from the prior ignored their captions.)
# $$ L_G = a\,\big(-\log D(G(c, z), c)\big) + r\,\operatorname{mean}\big[(G(c, z_x) - x)^2\big]
#          + b\,\mathrm{KL}\big(q(z\mid x)\,\Vert\,\mathcal N(0, I)\big), $$
# the mean taken over every pixel value of the reconstructed videos.
# Half of each batch is reconstructed ($z_x$), half sampled from the prior
# ($z \sim \mathcal N(0, I)$, as at generation time). The reconstruction does most
# of the teaching on a CPU; the adversarial term, with its small weight $a$, makes
# samples from the prior look like videos rather than averages.
#
# **One step, one optimizer.** `t2v-edu train` runs one optimizer per stage. Both
# players fit in it: $L_D$ sees the fakes *detached* (its gradient cannot reach $G$),
# and $L_G$ sees $D$ through a *detached copy of its weights*
# (`torch.func.functional_call`; its gradient cannot reach $D$). The sum
# $L_D + L_G$ then trains each player on its own loss, simultaneously.

# %%
seed_gan = seed_model.build(P)
for name in ("generator", "encoder", "discriminator"):
    print(f"{name:14s} {seed_model.count_parameters(getattr(seed_gan, name)):>9,} parameters")

# %% [markdown]
# **Think!** The discriminator sees the caption, yet $L_D$ still adds a third term,
# $-\log(1 - D(x, c'))$, for a real video with a wrong caption. Without it, what could
# $D$ ignore, and what could $G$ then get away with?
#
# <details><summary>Answer</summary>
#
# Without mismatched pairs, every real video $D$ sees comes with its own caption and
# every fake is generated, so "real or generated" can be told from the video alone, and
# $D$ is free to ignore $c$. A generator that draws realistic videos of the wrong
# colour, shape or motion would then fool it as well as one that obeys the caption. A
# real video with a wrong caption looks perfectly real and must still be rejected; only
# reading the caption does that, so this term makes $D$ a judge of agreement, and its
# gradient pushes $G$ towards the caption.
#
# </details>

# %% [markdown]
# Training it is `t2v-edu train --model seed`; the notebook calls the same function
# for a short live run of `P.live_steps` steps (the shipped weights of section 3.1
# had several times more). Expect blobs that start to take their caption's colour.

# %% tags=["nbval-ignore-output"]
run_dir = Path(tempfile.mkdtemp(prefix="seed_run_"))
result = training.train(training.TrainConfig(
    model="seed", preset=cfg.preset, out=str(run_dir), steps=t2v_edu.budget(P.live_steps),
    sample_every=0, save_every=10**9, log_every=5))
seed_gan = result.model.eval()
print(f"{result.meta['stage_steps']['gan']} steps in {result.meta['train_seconds']:.0f} s, "
      f"{result.meta['videos_per_second']:.0f} videos/s")

# %%
log = training.read_log(run_dir)      # the run's metrics.jsonl, one record per logged step
steps_logged = [r["step"] for r in log]
fig, axes = plt.subplots(1, 2, figsize=(9, 2.8))
axes[0].plot(steps_logged, [r["recon_mse"] for r in log])
axes[0].set(xlabel="step", ylabel="reconstruction MSE", title="the generator learns to draw")
axes[1].plot(steps_logged, [r["d_real"] for r in log], label="D(real)")
axes[1].plot(steps_logged, [r["d_fake"] for r in log], label="D(fake)")
axes[1].set(xlabel="step", ylabel="mean probability", title="the discriminator's view")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# Samples of the live run, one per caption. With the `cpu` preset the last two
# combinations never appear in training: they are held-out triples (the `gpu` preset
# holds out others).

# %%
demo_captions = ["a red circle moves left", "a blue square moves up",
                 "a green triangle grows", "a yellow triangle moves right"]
held = data.heldout_triples(P.data_spec)
print("held out of training:", [c for c in demo_captions if tuple(
    data.parse_caption(c)[0][k] for k in ("shape", "color", "motion")) in held])

# %% tags=["nbval-ignore-output"]
live_videos = seed_gan.sample(demo_captions, torch.Generator().manual_seed(0))
viz.show_videos(live_videos, captions=demo_captions)

# %% [markdown]
# **Did it learn, or collapse?** Section 2 named the two symptoms of a generator
# that did not learn. We can measure both: how much consecutive frames differ
# (`frame_change`, 0 = no motion) and how much samples of *one* caption differ across
# noise vectors (`sample_spread`, 0 = mode collapse), next to the same numbers for
# real videos.

# %% tags=["nbval-ignore-output"]
caption = "a red circle moves left"
samples = seed_gan.sample([caption] * 8, torch.Generator().manual_seed(2))
renders = torch.stack([data.render(data.parse_caption(caption), seed=s) for s in range(8)])
print(f"frame change : generated {seed_model.frame_change(samples).mean():.3f}, "
      f"real {seed_model.frame_change(renders).mean():.3f}")
print(f"sample spread: generated {seed_model.sample_spread(samples):.3f}, "
      f"real {seed_model.sample_spread(renders):.3f}")

# %% [markdown]
# After about a minute of training the live model usually shows both symptoms: its
# frames change and its samples differ several times less than real videos do. It has
# not collapsed for good; it has not trained long enough. The longer-trained weights
# below tell the two apart.

# %% [markdown]
# ### 3.1 The shipped weights, and the comparison table
# A short live run shows the training works; the weights shipped with the package
# were trained with the same code and preset, for longer: `t2v-edu train --model seed
# --preset cpu --time-budget 25` (its card gives the steps, time and hardware).
# `t2v_edu.generate(..., model="seed")` loads them (hash-checked), and
# `t2v-edu evaluate --model seed` scores them with the judges of notebook 06; that
# row joins the comparison table of notebook 07. The model card ships beside the
# weights:

# %%
shipped = generation.load_generator("seed", device="cpu")
if shipped.is_fallback:
    print("No seed weights installed: t2v_edu.generate renders the data set instead.")
else:
    display(Markdown(shipped.card))

# %% tags=["nbval-ignore-output"]
shipped_videos = t2v_edu.generate(demo_captions, seed=0, model="seed")
viz.show_videos(shipped_videos, captions=demo_captions)

# %% [markdown]
# The two symptoms again, for the longer-trained model: its frames move about as
# much as real ones do, and its samples differ, though less than real videos do (the
# reconstruction term pulls towards averages).

# %% tags=["nbval-ignore-output"]
shipped_samples = t2v_edu.generate([caption] * 8, seed=2, model="seed")
print(f"frame change : shipped {seed_model.frame_change(shipped_samples).mean():.3f}, "
      f"live run {seed_model.frame_change(samples).mean():.3f}, "
      f"real {seed_model.frame_change(renders).mean():.3f}")
print(f"sample spread: shipped {seed_model.sample_spread(shipped_samples):.3f}, "
      f"live run {seed_model.sample_spread(samples):.3f}, "
      f"real {seed_model.sample_spread(renders):.3f}")

# %% [markdown]
# **Think!** The shipped model's frames change about as much as real ones (0.023 against
# 0.022). Our discriminator runs an LSTM over the frame features before its one verdict.
# Which errors would a discriminator miss if it judged each frame on its own and
# averaged the verdicts?
#
# <details><summary>Answer</summary>
#
# Every error that lies only in how the frames follow each other. An average of
# per-frame verdicts does not change when the frames are shuffled or when one good frame
# is repeated, so a shape that never moves, jumps back and forth, or shrinks where the
# caption says it grows (the same frames in reverse order) scores as well as a real
# video, as long as each frame looks real. Even reading the caption, such a
# discriminator could check colour and shape but not the motion word, which only a
# sequence shows. The LSTM's last state depends on the frames in order, so it can see
# motion; MoCoGAN (section 6) pairs an image discriminator with a video one for this
# reason.
#
# </details>

# %% [markdown]
# ## 4. Errata: every error of the article, corrected, with its source
#
# Sections 1–2 took apart the code. The rest of the article has formulas, claims and
# citations; notebooks 01–07 corrected each where it taught the idea. Here they are
# in one table. Every correction names its source, and every citation was checked
# against the paper itself (its arXiv or proceedings page), not against another
# summary. The last column links to the notebook that teaches the correct version.

# %%
counts = errata.counts()
print(f"{len(errata.ERRATA)} errata: {counts['formula']} formulas, {counts['claim']} claims, "
      f"{counts['code']} about the code, {counts['citation']} citations")
display(Markdown(errata.as_markdown()))

# %% [markdown]
# What the table does **not** list is as instructive: references 1–4, 6 and 7 of
# the article are correct (Goodfellow et al. 2014; Kingma & Welling 2014; Sutskever,
# Vinyals & Le 2014; Bengio, Simard & Frasconi 1994; Bai, Kolter & Koltun 2018;
# Hochreiter & Schmidhuber 1997), as is the *Deep Learning* book. A list with real
# entries and one invented one is the hardest kind to catch: check each entry, not
# a sample. Two habits catch most of these errors:
#
# - **run it**: a code listing that has never run cannot have printed its results;
# - **open the source**: a title, an author list or an arXiv number takes seconds to
#   check. Reference 5's number, 1212.5700, does not lead to a paper of that title, and
#   no paper of that title could be found under any number: an invented reference.

# %% [markdown]
# ## 5. Ethics made concrete: can we tell generated videos from real ones?
#
# The article ends its outlook with "ethics and privacy" (伦理和隐私) in one sentence.
# The most concrete question behind it: once generators are good, can anyone tell
# a generated video from a real one? We can try on our own small world, with the
# generators this course built.
#
# **The data.** Real videos: the `test` split. Generated videos: the same captions
# through the shipped seed model (section 3.1), and through the course's other
# shipped models when weights of this notebook's preset are installed
# (`generation.default_checkpoint(model, preset)`). Each set is split in halves: one
# to train on, one to test on.

# %%
num_videos = 256
real_set = data.MovingShapes("test", num_frames=P.num_frames, size=P.size,
                             length=num_videos, spec=P.data_spec)
real, captions, _ = real_set.get_batch(range(num_videos))
fakes = {}
for name, count in (("seed", num_videos), ("classic", 128), ("modern", 128)):
    path = generation.default_checkpoint(name, cfg.preset)   # this preset's shipped weights
    try:
        gen = generation.load_generator(name, path, device="cpu") if path else None
    except (ValueError, FileNotFoundError):
        continue
    if gen is not None and (gen.num_frames, gen.size) == (P.num_frames, P.size):
        fakes[name] = gen(captions[:count], seed=1)
if not fakes:  # no shipped weights at all: use the model trained above
    fakes["seed"] = seed_gan.sample(captions, torch.Generator().manual_seed(1)).cpu()
print({name: tuple(v.shape) for name, v in fakes.items()})

# %% [markdown]
# ### 5.1 A transparent detector: the palette
# Our renderer paints a few palette colours on black, with anti-aliased edges that
# blend one colour with black. So **every real pixel lies on the ray from black
# through a palette colour** in RGB space. The distance of a pixel to the nearest
# such ray is 0 for real videos, up to floating-point rounding; a generator that
# blurs or mixes colours leaves a residual:
# $$ r(x) = \min_k \big\lVert x - \max(0,\, x\cdot u_k)\,u_k \big\rVert, \qquad
#    u_k = \text{colour}_k / \lVert \text{colour}_k \rVert . $$
# A video's score is the mean of $r$ over its pixels.

# %% tags=["nbval-ignore-output"]
scores = {"real": detector.palette_residual(real, P.data_spec)}
scores.update({name: detector.palette_residual(v, P.data_spec) for name, v in fakes.items()})
plt.figure(figsize=(6, 2.8))
bins = np.logspace(-8, 0, 40)
for name, s in scores.items():
    plt.hist(s.clamp(min=1e-8).numpy(), bins=bins, alpha=0.6, label=name)
plt.xscale("log")
plt.xlabel("mean palette residual per video")
plt.ylabel("videos")
plt.legend(fontsize=8)
plt.tight_layout()
plt.show()


def halves(videos):
    return videos[:len(videos) // 2], videos[len(videos) // 2:]


print("held-out accuracy of one threshold, fitted on the first halves (chance 50 %)")
for name in fakes:
    (fit_real, test_real), (fit_fake, test_fake) = halves(scores["real"]), halves(scores[name])
    t, _ = detector.best_threshold(fit_real, fit_fake)
    n = min(len(test_real), len(test_fake))                  # equal counts: chance is 50 %
    acc = detector.threshold_accuracy(test_real[:n], test_fake[:n], t)
    print(f"  real vs {name:8s} {acc:.1%}")

# %% [markdown]
# ### 5.2 A learned detector
# A small 3-D convolutional network (space-time kernels) trained with binary
# cross-entropy, real = 1. First trained on one generator's videos only (the first
# in `fakes`: the seed model's with the `cpu` preset), then on all the generators
# together; scored, like the threshold, on the held-out halves.

# %% tags=["nbval-ignore-output"]
det_config = detector.DetectorConfig(steps=t2v_edu.budget(150), batch_size=32, width=8)
first = next(iter(fakes))
only_one, _ = detector.train_detector(halves(real)[0], halves(fakes[first])[0], det_config)
everyone, _ = detector.train_detector(
    halves(real)[0], torch.cat([halves(v)[0] for v in fakes.values()]), det_config)
print(f"held-out accuracy (chance 50 %)  trained on {first} only | trained on all")
for name, videos in fakes.items():
    test_fake, test_real = halves(videos)[1], halves(real)[1][:len(videos) // 2]
    acc_one = detector.detection_accuracy(only_one, test_real, test_fake)
    acc_all = detector.detection_accuracy(everyone, test_real, test_fake)
    print(f"  real vs {name:8s} {acc_one:27.1%} | {acc_all:14.1%}")

# %% [markdown]
# **Think!** Trained on the seed model alone, the detector scored 54.7 % on the classic
# model's held-out videos (64 real, 64 generated) in the stored run. Is that evidence
# that it detects the classic model at all?
#
# <details><summary>Answer</summary>
#
# No. A detector that guesses at random gets a binomial number of the 128 right, with a
# standard deviation of $\sqrt{0.25/128} \approx 4.4$ points of accuracy. 54.7 % is 70
# of 128, about one standard deviation above 50 %, and guessing reaches 70 or more with
# probability 0.17; even the 57.8 % on the modern model (74 of 128) comes by chance with
# probability 0.05. The 89.8 % on the seed model's 256 test videos is far outside that
# range. To claim that a detector works on a generator, test it on many videos of that
# generator and give the uncertainty, not one percentage.
#
# </details>

# %% [markdown]
# Two things to read in these numbers. The one-number palette rule separates every
# generator, because we know exactly how real videos are made; the small network
# has to discover its cues, and a few CPU seconds of training find weaker ones.
# And the network trained on the seed model alone does much worse on the
# generators it never saw, close to chance in our runs. Trained on all of them, it
# catches some far more often (the modern model's videos, in our runs), at a cost of
# a few points on the seed model; the classic model's videos, the closest to real ones,
# stayed near chance for this small network and its few seconds of training.
#
# ### 5.3 What this does and does not mean for real deepfakes
#
# Our detectors work, and for reasons that do not carry over:
#
# - **We know the real distribution exactly.** The palette detector works because
#   we wrote the renderer. Real cameras have no such signature that a generator
#   cannot learn to imitate; detectors of real deepfakes look for subtler artefacts
#   (blending boundaries, frequency spectra, temporal flicker; Rössler et al. 2019
#   built the FaceForensics++ benchmark to measure them).
# - **A detector learns the artefacts of the generators it saw.** Compare the two
#   columns above: a detector is trustworthy only on generators like those in its
#   training set.
#   Wang et al. (2020) found that a detector trained on one GAN's images transfers
#   to other CNN generators surprisingly well, and titled their paper "... for now":
#   each new generator family can break a detector, and a generator can be trained
#   against a detector, the GAN game itself.
# - **Accuracy is not enough.** If 1 in 1000 videos is fake, a detector with 99 %
#   accuracy on both classes flags ten real videos for every fake one. Real use
#   needs calibrated scores, low false-positive rates, and human review.
# - **Detection is one tool among several.** Provenance (signing content where it
#   is captured), watermarking generated content, consent for the people shown, and
#   the law carry at least as much weight as classifiers.
#
# The privacy half of the article's sentence is about training data: generators are
# trained on videos of people, who may not have agreed to it. Our data set avoids
# that question by being synthetic; real systems cannot.

# %% [markdown]
# ## 6. Where to go next
#
# The article stops at GANs, RNNs, VAEs and attention. The field moved on; these are
# good next reads, each checked at its source.
#
# **The course's own papers.** Goodfellow et al. (2014) *Generative Adversarial Nets*
# (arXiv:1406.2661); Radford, Metz & Chintala (2015) *DCGAN* (arXiv:1511.06434);
# Kingma & Welling (2014) *Auto-Encoding Variational Bayes* (arXiv:1312.6114);
# Sutskever, Vinyals & Le (2014) *Sequence to Sequence Learning with Neural Networks*
# (arXiv:1409.3215); Hochreiter & Schmidhuber (1997) *Long Short-Term Memory*;
# Vaswani et al. (2017) *Attention Is All You Need* (arXiv:1706.03762); Reed et al.
# (2016) *Generative Adversarial Text to Image Synthesis* (arXiv:1605.05396).
#
# **Video GANs: what the article's model grew into.** Tulyakov et al. (2018)
# *MoCoGAN: Decomposing Motion and Content for Video Generation* (arXiv:1707.04993)
# generates a video with an RNN over motion codes and judges it with both an image
# and a video discriminator, close to the design of section 3. Zhu et al. (2017)
# *Toward Multimodal Image-to-Image Translation* (BicycleGAN, arXiv:1711.11586)
# introduced the cVAE-GAN that section 3 borrows.
#
# **Tokens and transformers (notebook 06).** Yan et al. (2021) *VideoGPT: Video
# Generation using VQ-VAE and Transformers* (arXiv:2104.10157); Wu et al. (2021)
# *GODIVA: Generating Open-DomaIn Videos from nAtural Descriptions*
# (arXiv:2104.14806).
#
# **Diffusion and flows (notebook 07).** Ho et al. (2022) *Video Diffusion Models*
# (arXiv:2204.03458); Singer et al. (2022) *Make-A-Video: Text-to-Video Generation
# without Text-Video Data* (arXiv:2209.14792); Peebles & Xie (2023) *Scalable
# Diffusion Models with Transformers* (DiT, arXiv:2212.09748); Liu, Gong & Liu (2022)
# *Flow Straight and Fast: Learning to Generate and Transfer Data with Rectified
# Flow* (arXiv:2209.03003); Lipman et al. (2022) *Flow Matching for Generative
# Modeling* (arXiv:2210.02747).
#
# **Detection.** Rössler et al. (2019) *FaceForensics++: Learning to Detect
# Manipulated Facial Images* (ICCV, arXiv:1901.08971); Wang et al. (2020)
# *CNN-generated images are surprisingly easy to spot... for now* (CVPR).
#
# And the habit this notebook practised: when a source claims something, run it,
# open its references, and write down what you find.
