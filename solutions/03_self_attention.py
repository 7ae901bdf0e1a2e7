# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 03 · Self-attention
#
# Modern text-to-video models read their caption with attention, not recurrence, and
# the video part attends to the caption's words. The seed article gives attention as
# one formula, printed with several mistakes. This notebook starts from that formula,
# corrects it, and builds scaled dot-product attention, multi-head attention,
# positional encodings, a transformer caption encoder, and the cross-attention from
# frames to words that notebooks 06 and 07 use.
#
# **Learning goals**
# - say what is wrong in the seed's $\alpha_{ij}$ formula and write the correct one;
# - implement scaled dot-product attention with padding and causal masks, matching
#   `F.scaled_dot_product_attention`;
# - implement multi-head attention, matching `nn.MultiheadAttention`;
# - encode positions with sinusoids; build a pre-norm transformer block;
# - compare bag-of-embeddings, RNN and transformer caption encoders; read attention
#   heat-maps, including cross-attention from frame queries to caption words.
#
# **Prerequisites** notebooks 01 and 02; matrix products and softmax.
#
# **CPU run time** under a minute on a 2-core laptop with the `cpu` preset (about 10 s
# on an idle machine). The `gpu` preset trains a wider, deeper transformer for longer.
# **Exercises** 3 (`scaled_dot_product_attention`, `multi_head_attention`,
# `sinusoidal_positions`).

# %%
import math
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

import t2v_edu
from t2v_edu import attention, data, exercise, rnn, text

cfg = t2v_edu.setup()
P = attention.PRESETS[cfg.preset]   # width, heads, layers, steps; "gpu" is larger
print(P)
train_captions, train_labels = text.caption_dataset("train")
heldout_captions, heldout_labels = text.caption_dataset("heldout")
vocab = text.Vocab.build(train_captions)

# %% [markdown]
# ## 1. The seed's formula, as printed
#
# The article's mathematical-model section on self-attention prints these two
# formulas (LaTeX source, verbatim):
#
# ```latex
# \alpha_{ij} = \frac{e^{(QW_Q)_{i} (K W_K)_{j}}{\sum_{k=1}^{K} e^{(QW_Q)_{i} (K W_K)_{k}}}
# \text{Attention}(Q, K, V) = \text{softmax}(\text{Attention}(Q, K))V
# ```
#
# and says $Q$ and $K$ are "query and key vectors", $W_Q$, $W_K$ their weight
# matrices. Its algorithm section says the mechanism computes "attention weights
# between the text input and the video output". (Quotes from the Chinese article are
# our translation.) The first line does not even typeset:

# %%
seed_alpha = (r"\alpha_{ij} = \frac{e^{(QW_Q)_{i} (K W_K)_{j}}"
              r"{\sum_{k=1}^{K} e^{(QW_Q)_{i} (K W_K)_{k}}}")


def unclosed_braces(latex):
    depth = 0
    for ch in latex:
        depth += {"{": 1, "}": -1}.get(ch, 0)
    return depth


print("'{' opened:", seed_alpha.count("{"), " '}' closed:", seed_alpha.count("}"),
      " groups left open:", unclosed_braces(seed_alpha))

# %% [markdown]
# What is wrong, one point at a time:
#
# 1. **Unbalanced braces.** One group never closes: the numerator `\frac{e^{…}` runs
#    on into the denominator, so the exponent and the fraction are ambiguous and
#    LaTeX refuses it.
# 2. **A row times a row.** $(QW_Q)_i$ and $(KW_K)_j$ are both row vectors
#    ($1 \times d_k$); their matrix product is undefined. The score is the dot product
#    $q_i k_j^\top$, i.e. $(QW_Q)_i\,(KW_K)_j^\top$.
# 3. **No $1/\sqrt{d_k}$.** Without it the scores grow with the width $d_k$ and the
#    softmax saturates (demonstrated below).
# 4. **$K$ means two things.** $K$ is the key matrix *and* the upper bound of the sum
#    $\sum_{k=1}^{K}$. The sum runs over the $n$ keys (the rows of $K$).
# 5. **A circular definition.** $\text{Attention}(Q,K,V) =
#    \text{softmax}(\text{Attention}(Q,K))\,V$ defines attention in terms of itself.
# 6. **No value projection.** $Q$ and $K$ are projected by $W_Q$, $W_K$, but the values
#    are used raw; the transformer projects them too, $V W_V$ (and the heads' output by
#    $W_O$).
# 7. **Self- or cross-?** Weights "between the text input and the video output" are
#    **cross-attention**: queries from one sequence (the video), keys and values from
#    another (the caption). *Self*-attention takes $Q$, $K$, $V$ from the same sequence.
#
# > **The article says**
# > $\alpha_{ij} = e^{(QW_Q)_i (KW_K)_j} / \sum_{k=1}^{K} e^{(QW_Q)_i (KW_K)_k}$ and
# > $\text{Attention}(Q,K,V) = \text{softmax}(\text{Attention}(Q,K))V$, calling it
# > self-attention between text and video.
# >
# > **The correct form is**, with $q_i = (XW_Q)_i$, $k_j = (YW_K)_j$, $v_j = (YW_V)_j$
# > ($Y = X$ for self-attention, $Y$ = the caption for cross-attention):
# > $$ \alpha_{ij} = \frac{\exp\!\left(q_i k_j^\top / \sqrt{d_k}\right)}
# >    {\sum_{j'=1}^{n} \exp\!\left(q_i k_{j'}^\top / \sqrt{d_k}\right)},
# >    \qquad \text{out}_i = \sum_{j=1}^{n} \alpha_{ij}\, v_j, $$
# > i.e. $\text{Attention}(Q, K, V) = \operatorname{softmax}\!\left(QK^\top/\sqrt{d_k}\right)V$
# > (Vaswani et al., 2017).
#
# **Why $\sqrt{d_k}$.** If the entries of $q$ and $k$ have mean 0 and variance 1,
# $q \cdot k$ is a sum of $d_k$ such products: its variance is $d_k$. Dividing by
# $\sqrt{d_k}$ brings it back to 1, whatever the width:

# %%
g = torch.Generator().manual_seed(0)
print(" d_k   std of q·k   largest softmax weight over 16 keys: unscaled / scaled")
for d_k in [4, 64, 1024]:
    q, k = torch.randn(2000, d_k, generator=g), torch.randn(2000, 16, d_k, generator=g)
    scores = torch.einsum("nd,nkd->nk", q, k)
    top_raw = scores.softmax(-1).max(-1).values.mean()
    top_scaled = (scores / math.sqrt(d_k)).softmax(-1).max(-1).values.mean()
    print(f"{d_k:5d}   {scores.std():9.1f}   {top_raw:25.2f} / {top_scaled:.2f}")

# %% [markdown]
# **Think!** Why divide by $\sqrt{d_k}$, and not by $d_k$, which would shrink the scores
# even more?
#
# <details><summary>Answer</summary>
#
# Divided by $d_k$, the scores have a standard deviation of $\sqrt{d_k}/d_k =
# 1/\sqrt{d_k}$, which goes to 0 as the model gets wider. The softmax of nearly equal
# scores is nearly uniform, so every query would spread its weight almost evenly: in the
# loop above, with `scores / d_k`, the largest of the 16 weights is 0.13, 0.08 and 0.07
# for $d_k$ = 4, 64 and 1024, close to $1/16 \approx 0.06$. Only $\sqrt{d_k}$ keeps the
# standard deviation at 1 for every width, so the softmax is neither saturated nor flat.
#
# </details>

# %% [markdown]
# Unscaled, a wide model puts almost all weight on one key, and the softmax's gradient
# (which vanishes as it saturates) stops training.
#
# ## 2. Scaled dot-product attention, with masks
#
# A **mask** says which keys each query may look at. We use boolean masks with
# **True = may attend** (as `F.scaled_dot_product_attention` does); a masked score is
# set to $-\infty$ before the softmax, so its weight is exactly 0.
#
# - **Padding mask**: no query may look at the padding of a shorter caption:
#   `padding_mask(lengths, L)` has shape `[B, 1, L]`.
# - **Causal mask**: position $i$ may look only at positions $j \le i$ (a language model
#   must not see the future): `causal_mask(L)`, a lower triangle `[L, L]`.
#
# ### Exercise 1 · `scaled_dot_product_attention`
# Return `(output, weights)`. Shapes: `q` `[..., L_q, d_k]`, `k` `[..., L_k, d_k]`,
# `v` `[..., L_k, d_v]`, `mask` broadcastable to `[..., L_q, L_k]` or `None`. Use
# `k.transpose(-2, -1)`, `masked_fill(~mask, float("-inf"))` and `torch.softmax`.

# %% exercise="scaled_dot_product_attention"
def scaled_dot_product_attention(q, k, v, mask=None):
    """softmax(Q Kᵀ / √d_k) V; mask True = may attend. -> (output, weights)"""
    ### BEGIN SOLUTION
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
    ### END SOLUTION


# %% check="scaled_dot_product_attention" points=2
g = torch.Generator().manual_seed(1)
cases = [(torch.randn(2, 5, 8, generator=g), torch.randn(2, 7, 8, generator=g),
          torch.randn(2, 7, 3, generator=g)),
         (torch.randn(2, 6, 4, generator=g), torch.randn(2, 6, 4, generator=g),
          torch.randn(2, 6, 4, generator=g),
          attention.padding_mask(torch.tensor([6, 3]), 6) & attention.causal_mask(6))]
scaled_dot_product_attention = exercise.check(
    scaled_dot_product_attention, attention.scaled_dot_product_attention, cases,
    name="scaled_dot_product_attention",
    formula="softmax(Q Kᵀ / √d_k) V, masked scores set to -inf before the softmax")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(torch.randn(3, 2, 4, 16, generator=g), torch.randn(3, 2, 9, 16, generator=g),
           torch.randn(3, 2, 9, 5, generator=g),
           attention.padding_mask(torch.tensor([9, 4, 1]), 9)[:, None]),
          (torch.randn(7, 8, generator=g), torch.randn(7, 8, generator=g),
           torch.randn(7, 2, generator=g), attention.causal_mask(7))]
exercise.assert_matches(scaled_dot_product_attention, attention.scaled_dot_product_attention,
                        hidden, name="scaled_dot_product_attention")
### END HIDDEN TESTS

# %% [markdown]
# Against PyTorch's fused kernel, with both masks combined:

# %%
g = torch.Generator().manual_seed(2)
q, k, v = (torch.randn(3, 6, 8, generator=g) for _ in range(3))
lengths = torch.tensor([6, 4, 2])
mask = attention.padding_mask(lengths, 6) & attention.causal_mask(6)    # [3, 6, 6]
out, weights = scaled_dot_product_attention(q, k, v, mask)
ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
print("matches F.scaled_dot_product_attention:", torch.allclose(out, ref, atol=1e-6))
print("each row of weights sums to 1:", torch.allclose(weights.sum(-1), torch.ones(3, 6)))

fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
for ax, (title, m) in zip(axes, [("padding (length 4)", attention.padding_mask(lengths, 6)[1]),
                                 ("causal", attention.causal_mask(6)),
                                 ("padding & causal", mask[1])]):
    w = scaled_dot_product_attention(q[1], k[1], v[1], m)[1]
    ax.imshow(w, cmap="viridis", vmin=0, vmax=1)
    ax.set(title=title, xlabel="key j", ylabel="query i")
plt.show()

# %% [markdown]
# **Think!** A language model is trained to predict word $i + 1$ at every position $i$
# of a caption at once. What would it learn if its self-attention had no causal mask?
#
# <details><summary>Answer</summary>
#
# To copy: the query at position $i$ could attend to key $i + 1$, which is the very word
# it must predict, so the training loss would fall towards 0 without the model learning
# how captions go on. When generating, the next word does not exist yet, and the copying
# has nothing to copy. The causal mask lets position $i$ see only positions $j \le i$,
# exactly what it will have when it generates, while all positions are still trained in
# one pass. A caption *encoder* (Section 5) reads a finished caption, so it uses only
# the padding mask.
#
# </details>

# %% [markdown]
# With padding and causal masks together, the queries at padded positions 4 and 5
# still see keys 0–3; their outputs are ignored downstream anyway. A query that may
# see *no* key (a row of all False) would give NaN in `torch.softmax`; the package's
# version returns zeros there.
#
# ## 3. Multi-head attention
#
# One attention pattern per layer is restrictive: a word may need to look at its
# colour *and* at its verb. Multi-head attention runs $h$ attentions side by side,
# each on its own $d_k = E/h$ slice of projected features, and mixes their outputs:
#
# $$ \text{MultiHead}(X, Y) = \text{Concat}(\text{head}_1, \dots, \text{head}_h)\, W_O,
#    \qquad \text{head}_i = \text{Attention}(X W_Q^{(i)},\, Y W_K^{(i)},\, Y W_V^{(i)}). $$
#
# In code: project with one $E \times E$ matrix each (`query @ W_Q.T`), reshape
# `[B, L, E]` → `[B, h, L, d_k]` (`attention.split_heads`), attend per head, reshape
# back (`attention.merge_heads`), and project with $W_O$.
#
# ### Exercise 2 · `multi_head_attention`
# Without biases. `query` `[B, L_q, E]`, `key`/`value` `[B, L_k, E]`, each `W` `[E, E]`
# (the `nn.Linear` layout: multiply by `W.T`). `mask` is broadcastable to
# `[B, L_q, L_k]`; add the head axis with `mask.unsqueeze(1)` when it has 3 dims.
# Return `(out [B, L_q, E], weights [B, h, L_q, L_k])`. Use your
# `scaled_dot_product_attention`.

# %% exercise="multi_head_attention"
def multi_head_attention(query, key, value, W_Q, W_K, W_V, W_O, num_heads, mask=None):
    """Concat(head_1..head_h) W_O with head_i = Attention(Q W_Q^i, K W_K^i, V W_V^i)."""
    ### BEGIN SOLUTION
    def split(x):                                        # [B, L, E] -> [B, h, L, E/h]
        B, L, E = x.shape
        return x.view(B, L, num_heads, E // num_heads).transpose(1, 2)

    q, k, v = split(query @ W_Q.T), split(key @ W_K.T), split(value @ W_V.T)
    if mask is not None and mask.dim() == 3:
        mask = mask.unsqueeze(1)
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    B, h, L, d = out.shape
    return out.transpose(1, 2).reshape(B, L, h * d) @ W_O.T, weights
    ### END SOLUTION


# %% check="multi_head_attention" points=2
g = torch.Generator().manual_seed(3)
Ws = [torch.randn(8, 8, generator=g) / 3 for _ in range(4)]
x, ctx = torch.randn(2, 4, 8, generator=g), torch.randn(2, 5, 8, generator=g)
cases = [(x, x, x, *Ws, 2), (x, ctx, ctx, *Ws, 4, attention.padding_mask(torch.tensor([5, 2]), 5))]
multi_head_attention = exercise.check(
    multi_head_attention, attention.multi_head_attention, cases, name="multi_head_attention",
    formula="Concat(head_1..head_h) W_O, head_i = Attention(Q W_Q^i, K W_K^i, V W_V^i)")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
Ws = [torch.randn(12, 12, generator=g) / 4 for _ in range(4)]
x, ctx = torch.randn(3, 5, 12, generator=g), torch.randn(3, 7, 12, generator=g)
hidden = [(x, ctx, ctx, *Ws, 3, attention.padding_mask(torch.tensor([7, 3, 1]), 7)),
          (x, x, x, *Ws, 6, attention.causal_mask(5))]
exercise.assert_matches(multi_head_attention, attention.multi_head_attention, hidden,
                        name="multi_head_attention")
### END HIDDEN TESTS

# %% [markdown]
# **Think!** For a fixed width $E$, does multi-head attention with $h = 4$ heads have
# more parameters than with one head?
#
# <details><summary>Answer</summary>
#
# No. $W_Q$, $W_K$, $W_V$ and $W_O$ are each $E \times E$ whatever $h$ is: $4E^2 = 1024$
# numbers for $E = 16$ without biases, for `nn.MultiheadAttention(16, h, bias=False)`
# with $h$ = 1, 4 or 16 alike. The heads only cut the projected features into $h$ slices
# of width $d_k = E/h$, so computing the scores costs the same too. What changes is that
# each head has its own softmax and can attend to other keys than the rest.
#
# </details>

# %% [markdown]
# Against `nn.MultiheadAttention` with its weights copied in. Two conventions differ:
# PyTorch stacks $W_Q, W_K, W_V$ in one `in_proj_weight` `[3E, E]`, and its masks
# mean the opposite of ours (**True = blocked**), so we pass `~mask`. The package's
# `attention.MultiHeadAttention` module (with biases) matches it too.

# %%
torch.manual_seed(0)
torch_mha = nn.MultiheadAttention(16, 4, bias=False, batch_first=True)
x, ctx = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
ctx_mask = attention.padding_mask(torch.tensor([7, 3]), 7)              # [2, 1, 7]
W_Q, W_K, W_V = torch_mha.in_proj_weight.chunk(3)
with torch.no_grad():
    mine, mine_w = multi_head_attention(x, ctx, ctx, W_Q, W_K, W_V, torch_mha.out_proj.weight,
                                        4, ctx_mask)
    ref, ref_w = torch_mha(x, ctx, ctx, key_padding_mask=~ctx_mask[:, 0],
                           average_attn_weights=False)
print("cross-attention matches nn.MultiheadAttention:", torch.allclose(mine, ref, atol=1e-5),
      torch.allclose(mine_w, ref_w, atol=1e-6))

torch_mha = nn.MultiheadAttention(16, 4, batch_first=True)              # with biases
module = attention.MultiHeadAttention(16, 4).load_from_torch(torch_mha)
with torch.no_grad():
    ours, _ = module(x, mask=attention.causal_mask(5))
    theirs, _ = torch_mha(x, x, x, attn_mask=~attention.causal_mask(5))
print("causal self-attention module matches:", torch.allclose(ours, theirs, atol=1e-5))

# %% [markdown]
# **Think!** Reverse the order of the 5 positions of `x` and feed it to the
# self-attention module above without a mask. How does the output change? And with the
# causal mask?
#
# <details><summary>Answer</summary>
#
# Without a mask, the output is the old one with its rows reversed, the same numbers in
# the opposite order: the score of query $i$ and key $j$ depends only on rows $i$ and
# $j$, and the softmax and the weighted sum run over all keys, in any order. So
# self-attention alone does not see word order, and the mean of its outputs does not
# change. The causal mask breaks this, because it depends on positions: after the
# reversal, position 0 sees only what was the last word, and the outputs change.
# Section 4 adds positions to the input, so that an encoder without a causal mask can
# see order too.
#
# </details>

# %% [markdown]
# ## 4. Where is each word? Sinusoidal positions
#
# Attention treats its keys as a *set*: permute the words and each output is permuted
# the same way. Word order must be added to the input. Vaswani et al. add a fixed
# vector per position $p$, built from sinusoids of geometrically spaced frequencies:
#
# $$ PE_{p,\,2i} = \sin\!\left(p / 10000^{2i/d}\right), \qquad
#    PE_{p,\,2i+1} = \cos\!\left(p / 10000^{2i/d}\right). $$
#
# Each pair $(2i, 2i+1)$ is a point on a circle turning at its own speed, so
# $PE_{p+k}$ is a fixed rotation of $PE_p$: relative offsets are easy to read with a
# linear map. (Notebook 07 uses the same function to embed a continuous time $t$.)
#
# ### Exercise 3 · `sinusoidal_positions`
# Return the `[length, dim]` matrix, sines in the even columns and cosines in the odd
# ones. Hint: compute the angles `[length, dim/2]` by broadcasting positions against
# frequencies, then interleave with `torch.stack([sin, cos], -1).flatten(-2)`.

# %% exercise="sinusoidal_positions"
def sinusoidal_positions(length, dim):
    """PE[p, 2i] = sin(p / 10000^(2i/dim)), PE[p, 2i+1] = cos(p / 10000^(2i/dim))."""
    ### BEGIN SOLUTION
    pos = torch.arange(length, dtype=torch.float32)[:, None]           # [L, 1]
    freq = 10000 ** (-torch.arange(0, dim, 2, dtype=torch.float32) / dim)  # [dim/2]
    angle = pos * freq
    return torch.stack([angle.sin(), angle.cos()], -1).flatten(-2)
    ### END SOLUTION


# %% check="sinusoidal_positions" points=1
cases = [(10, 8), (3, 2), (50, 64)]
sinusoidal_positions = exercise.check(
    sinusoidal_positions, attention.sinusoidal_positions, cases, name="sinusoidal_positions",
    formula="PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d))")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(int(torch.randint(1, 100, (1,), generator=g)), 2 * int(torch.randint(1, 40, (1,),
                                                                                generator=g)))]
exercise.assert_matches(sinusoidal_positions, attention.sinusoidal_positions, hidden,
                        name="sinusoidal_positions")
### END HIDDEN TESTS

# %%
pe = sinusoidal_positions(64, 64)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
axes[0].imshow(pe.T, cmap="RdBu", aspect="auto")
axes[0].set(xlabel="position p", ylabel="feature", title="PE[p, :] (columns: positions)")
axes[1].plot((pe @ pe[20]) / (pe[20] @ pe[20]))
axes[1].set(xlabel="position p", ylabel="PE[p] · PE[20] / |PE[20]|²",
            title="similarity to position 20 falls off with distance")
plt.show()

# %% [markdown]
# ## 5. A transformer caption encoder
#
# A **pre-norm transformer block** (as in GPT-2 and the video models of notebooks
# 06–07) adds two sub-layers to a residual stream $x$, each reading a layer-normalised
# copy:
#
# $$ x \leftarrow x + \text{MultiHead}(\text{LN}(x)), \qquad
#    x \leftarrow x + \text{MLP}(\text{LN}(x)), $$
#
# with an MLP of width $4E$ and GELU. `attention.TransformerBlock(...,
# cross_attention=True)` inserts a third sub-layer, $x \leftarrow x +
# \text{MultiHead}(\text{LN}(x), \text{context})$, which reads another sequence
# (Section 6). `attention.TextTransformer` stacks blocks on top of word embeddings
# plus sinusoidal positions, masks the padding, and returns per-word features and
# their mean (the pooled caption vector).
#
# We give all three encoders the same attribute test as in notebooks 01–02, and time
# them. Times depend on the machine (that cell's output is not compared).

# %% tags=["nbval-ignore-output"]
def count_parameters(module):
    return sum(p.numel() for p in module.parameters())


encoders = {  # name: (encoder factory, learning rate)
    "bag of embeddings": (lambda: text.BagOfEmbeddings(len(vocab), P.embed_dim), 1e-2),
    "GRU (last state)": (lambda: rnn.RNNEncoder(len(vocab), P.embed_dim, P.embed_dim), 3e-3),
    "transformer": (lambda: attention.TextTransformer(len(vocab), P.embed_dim, P.num_heads,
                                                      P.num_layers), 3e-3)}
steps = t2v_edu.budget(P.steps)
h_ids, h_lengths = vocab.encode_batch(heldout_captions)
rows, classifiers = [], {}
for name, (make_encoder, lr) in encoders.items():
    torch.manual_seed(cfg.seed)
    encoder = make_encoder()
    clf = text.CaptionClassifier(encoder, encoder.out_dim)
    start = time.perf_counter()
    text.train_caption_classifier(clf, vocab, train_captions, train_labels, steps=steps,
                                  lr=lr, seed=cfg.seed)
    train_s = time.perf_counter() - start
    with torch.no_grad():
        start = time.perf_counter()
        for _ in range(5):
            clf(h_ids, h_lengths)
        infer_ms = (time.perf_counter() - start) / 5 / len(heldout_captions) * 1000 * 1000
    acc_train = text.attribute_accuracy(clf, vocab, train_captions, train_labels)["all"]
    acc_held = text.attribute_accuracy(clf, vocab, heldout_captions, heldout_labels)["all"]
    classifiers[name] = clf
    rows.append((name, count_parameters(encoder), acc_train, acc_held, train_s, infer_ms))

print(f"{'encoder':<18} {'parameters':>10} {'acc train':>9} {'acc held out':>12} "
      f"{'train s':>8} {'ms / 1000 captions':>18}")
for name, n, a_tr, a_ho, t_s, i_ms in rows:
    print(f"{name:<18} {n:>10,} {a_tr:>9.2f} {a_ho:>12.2f} {t_s:>8.1f} {i_ms:>18.1f}")
print(f"({steps} training steps of 64 captions; accuracy = all three attributes right)")

# %% [markdown]
# On this small grammar all three encoders read the attributes; they differ in cost.
# The bag of embeddings is the cheapest by far; the GRU must step through the words
# one after another; the transformer processes all words at once (parallel on a GPU)
# but each layer costs $O(L^2)$ attention plus a wide MLP. What the transformer buys
# is **per-word features that have looked at the whole caption**, which a video model
# can attend to, word by word.
#
# ### Attention heat-maps over caption words
#
# Which words does each word look at? Rows are queries, columns keys, one panel per
# head, for the first and last layer of the trained transformer (trained values;
# they vary a little from machine to machine).

# %%
encoder = classifiers["transformer"].encoder
probe = "the triangle is yellow and it rests"
p_ids, p_lengths = vocab.encode_batch([probe])
with torch.no_grad():
    _, _, layer_weights = encoder(p_ids, p_lengths, return_weights=True)
words = [vocab.itos[i] for i in p_ids[0]]
layers = [0, len(layer_weights) - 1]
fig, axes = plt.subplots(len(layers), P.num_heads, figsize=(3 * P.num_heads, 3 * len(layers)))
for row, layer in enumerate(layers):
    for head in range(P.num_heads):
        ax = axes[row, head]
        ax.imshow(layer_weights[layer][0, head], cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(words)), words, rotation=90, fontsize=7)
        ax.set_yticks(range(len(words)), words, fontsize=7)
        ax.set_title(f"layer {layer + 1}, head {head + 1}", fontsize=9)
fig.suptitle(f"self-attention over {probe!r}")
plt.tight_layout()
plt.show()

# %% [markdown]
# "it" and "and" are `<unk>` here (they only occur in held-out templates), yet the
# attributes are found (the "acc held out" column above covers those templates): heads learn to gather the attribute words ("triangle",
# "yellow", "rests") into every position, so the pooled vector carries them.
#
# ## 6. Cross-attention: frames reading the caption
#
# In a text-to-video model the video side asks the questions. Each of the $T$ frames
# has a **query** (here a learned vector per frame index); the caption's words supply
# the **keys and values**:
#
# $$ \text{out}_t = \sum_{j} \alpha_{tj}\, v_j, \qquad
#    \alpha_{tj} = \operatorname{softmax}_j\!\left(q_t k_j^\top / \sqrt{d_k}\right). $$
#
# The seed calls weights "between the text input and the video output"
# self-attention: they are **cross-attention**. `attention.FrameQueryReader` has one
# cross-attention layer (2 heads) and a linear read-out; we train it to predict, for
# each frame, how far the object has moved and grown since frame 0, and its colour.
# So each frame must find the motion word and the colour word in the caption.

# %%
ds = data.MovingShapes("train", length=2000)
described = [ds.describe(i) for i in range(len(ds))]
reader_captions = [d[0] for d in described]
targets = attention.frame_targets([d[1] for d in described], [d[2] for d in described],
                                  ds.num_frames)                           # [N, T, 6]
print(reader_captions[0], "-> frame targets (Δx, Δy, log r/r0, R, G, B) of the last frame:",
      [round(v, 2) for v in targets[0, -1].tolist()])
torch.manual_seed(cfg.seed)
reader = attention.FrameQueryReader(len(vocab), ds.num_frames, embed_dim=32, num_heads=2)
reader_losses = attention.train_frame_query_reader(reader, vocab, reader_captions, targets,
                                                   steps=t2v_edu.budget(P.reader_steps),
                                                   seed=cfg.seed)

# %%
probes = ["a red circle moves left", "a square colored blue is falling"]
p_ids, p_lengths = vocab.encode_batch(probes)
with torch.no_grad():
    _, cross_w = reader(p_ids, p_lengths)                                  # [B, h, T, L]
fig, axes = plt.subplots(len(probes), 2, figsize=(9, 3.2 * len(probes)))
for b, caption in enumerate(probes):
    n = int(p_lengths[b])
    for head in range(2):
        ax = axes[b, head]
        image = ax.imshow(cross_w[b, head, :, :n], cmap="magma", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(n), caption.split(), fontsize=8)
        ax.set(ylabel="frame", title=f"head {head + 1}: {caption!r}")
        ax.title.set_fontsize(9)
fig.colorbar(image, ax=axes, label="attention weight α", shrink=0.6)
plt.show()

# %% [markdown]
# Each row is one frame's attention over the caption's words. Look for the colour and
# motion words taking most of the weight, and for the later frames (which must
# move further) leaning more on the motion word: frame 0 needs no motion at all. The
# video models of notebooks 06 and 07 put a cross-attention sub-layer like this in
# every block (`TransformerBlock(cross_attention=True)`), with per-word caption
# features as the context (a transformer encoder's on the `gpu` preset; word
# embeddings plus positions on the `cpu` preset).
#
# **Summary**
# - The seed's $\alpha_{ij}$ has unbalanced braces, an untransposed product, no
#   $1/\sqrt{d_k}$, an overloaded $K$, a circular definition and no $W_V$, and it
#   calls cross-attention self-attention. Correct:
#   $\operatorname{softmax}(QK^\top/\sqrt{d_k})V$.
# - Masks (padding, causal) set scores to $-\infty$; multi-head attention runs several
#   attentions on slices of projected features.
# - Positions must be added; sinusoids encode them without parameters.
# - A transformer gives per-word, context-aware features; frames read them with
#   cross-attention.
#
# **Next** notebook 04 turns to generating images and videos: GANs.

# %% [markdown]
# **Going further** (ungraded)
#
# 1. *What the scale does to the gradient.* In Section 1's loop, take
#    `s = scores.clone().requires_grad_()`, a fixed readout `r = torch.randn(2000, 16)` and
#    `grad, = torch.autograd.grad((s.softmax(-1) * r).sum(), s)`, and print
#    `grad.norm(dim=-1).median()`; repeat with
#    `s = (scores / math.sqrt(d_k)).requires_grad_()`. Scaled, the median stays near 0.27
#    for every width; unscaled, it falls to about a fifth of that at $d_k = 64$ and below
#    $10^{-4}$ at $d_k = 1024$: a saturated softmax sends almost no gradient back to $q$
#    and $k$.
# 2. *Positions as rotations.* With `pe = sinusoidal_positions(64, 64)`, the frequencies
#    `w = 10000 ** (-torch.arange(0, 64, 2) / 64)` and `s, c = pe[:, 0::2], pe[:, 1::2]`,
#    turn every pair by the angle $k w_i$: `torch.stack([s * torch.cos(k * w) + c *
#    torch.sin(k * w), c * torch.cos(k * w) - s * torch.sin(k * w)], -1).flatten(-2)`.
#    For `k = 5` its first 59 rows equal `pe[5:]` to within $10^{-5}$: one fixed linear
#    map moves every position 5 places on.
# 3. *Without positions, attention sees a set.* Encode `["a red circle moves left",
#    "left moves circle red a"]` with an untrained `enc = attention.TextTransformer(
#    len(vocab), P.embed_dim, P.num_heads, P.num_layers)`: the two pooled vectors differ.
#    Zero the sinusoids (`enc.positions.zero_()`) and repeat: now they agree
#    (`torch.allclose(..., atol=1e-5)`), and the token features of the second caption
#    are those of the first in reverse order.
# 4. *Learned positions.* Give a new encoder a learned table,
#    `enc.positions = nn.Parameter(0.02 * torch.randn_like(enc.positions))`, keep a copy of
#    it and train as in Section 5. The accuracy is as before, but only rows 0 to 7 of the
#    table change: no training caption has more than 8 words. Held-out captions of 9 and
#    10 words use untrained rows, while sinusoids are defined for every position.

# %% [markdown]
# **References**
# - Bahdanau, D., Cho, K. & Bengio, Y. (2015). *Neural Machine Translation by Jointly
#   Learning to Align and Translate*. ICLR 2015.
#   [arXiv:1409.0473](https://arxiv.org/abs/1409.0473)
# - Vaswani, A. et al. (2017). *Attention Is All You Need*. NeurIPS 2017.
#   [arXiv:1706.03762](https://arxiv.org/abs/1706.03762)
# - Hendrycks, D. & Gimpel, K. (2016). *Gaussian Error Linear Units (GELUs)*.
#   [arXiv:1606.08415](https://arxiv.org/abs/1606.08415)
# - Radford, A. et al. (2019). *Language Models are Unsupervised Multitask Learners*
#   (GPT-2). OpenAI report.
# - Xiong, R. et al. (2020). *On Layer Normalization in the Transformer Architecture*
#   (pre-norm against post-norm). ICML 2020.
#   [arXiv:2002.04745](https://arxiv.org/abs/2002.04745)
# - To learn more (free): Zhang, A. et al. *Dive into Deep Learning*, chapter *Attention
#   Mechanisms and Transformers*, https://d2l.ai.
