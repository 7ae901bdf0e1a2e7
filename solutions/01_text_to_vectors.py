# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 01 · Text to vectors
#
# A text-to-video model starts by turning a caption such as *"a red circle moves
# left"* into numbers. This notebook builds that first stage from the ground up.
#
# **Learning goals**
# - split captions into tokens and map them to ids with a vocabulary (padding, lengths,
#   special tokens);
# - see that an embedding lookup is a one-hot vector times a matrix;
# - learn word vectors with skip-gram and negative sampling, and find synonyms by
#   cosine similarity;
# - build a first caption encoder (the mean of word vectors) and measure what it knows.
#
# **Prerequisites** Python, PyTorch tensors (indexing, `@`, `softmax`), notebook 00
# (the moving-shapes data set).
#
# **CPU run time** under 30 seconds on a 2-core laptop with the `cpu` preset. The `gpu`
# preset (picked automatically when CUDA is present; force one with `T2V_PRESET=cpu`)
# doubles the word-vector size and trains 4–5 times as many steps (the classifier on
# larger batches).
# These models are tiny, so they run on the CPU under either preset.
# **Exercises** 3 (`one_hot_embed`, `skipgram_loss`, `cosine_similarity`).

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

import t2v_edu
from t2v_edu import data, exercise, text, viz

cfg = t2v_edu.setup()
P = text.PRESETS[cfg.preset]   # sizes and training steps; the "gpu" preset is larger
print(P)

# %% [markdown]
# ## 1. Captions, tokens and a vocabulary
#
# The course's data are short videos of coloured shapes, each with a caption drawn
# from a small grammar. The grammar has **synonyms** ("moves", "slides", "travels"),
# several **templates** ("a red circle …", "a circle colored red …") and a
# progressive form ("is moving"). Here are a few videos and their captions:

# %%
train_set = data.MovingShapes("train", length=8)
videos, captions, _ = train_set.get_batch(range(8))
viz.show_videos(videos, captions, columns=4);

# %% [markdown]
# A **tokenizer** splits a caption into words; a **vocabulary** gives each word an
# integer id. Four ids are reserved:
#
# | id | token | used for |
# |---|---|---|
# | 0 | `<pad>` | filling short captions up to the batch's longest |
# | 1 | `<unk>` | a word the vocabulary has never seen |
# | 2 | `<bos>` | "beginning of sentence" (language models, notebook 02) |
# | 3 | `<eos>` | "end of sentence" |
#
# We build the vocabulary from every caption of the training split (1008 captions:
# 63 shape-colour-motion triples × 4 templates × 4 synonyms).

# %%
train_captions, train_labels = text.caption_dataset("train")
vocab = text.Vocab.build(train_captions)
print(len(train_captions), "captions,", len(vocab), "tokens")
print(text.tokenize("A red circle moves left."))
print(vocab.encode("a red circle moves left"))
print(vocab.encode("a purple circle moves left"), "<- 'purple' is not in the training data")

# %% [markdown]
# A batch of captions of different lengths becomes one rectangular tensor: shorter
# captions are **padded** with id 0, and a `lengths` tensor remembers where each one
# ends. Every encoder in this course takes `(ids, lengths)`.

# %%
batch = ["a red circle moves left", "the blue square is going to the right",
         "a square colored green rises"]
ids, lengths = vocab.encode_batch(batch, eos=True)
print(ids)
print("lengths:", lengths.tolist())
print(vocab.decode_batch(ids))

# %% [markdown]
# > **The article says** (项目实践 3) "we first convert the text input into a numeric
# > sequence", and its reading list (工具和资源推荐 1) recommends 《自然语言处理》
# > (*Natural Language Processing*) by Jurafsky and Martin.
# >
# > **The correct form is** what this notebook does: a caption goes through a
# > vocabulary (ids) and then an embedding (Section 2). The article's code never
# > tokenises or embeds any text: the only input it shows is a hand-written 0/1 array,
# > `[[0, 0, 0, 1, 1, 1, 0, 0, 0], …]` (notebook 08 reads that code). The book is
# > *Speech and Language Processing* by Jurafsky and Martin (2nd edition 2008; the 3rd
# > edition is an online draft).

# %% [markdown]
# ## 2. One-hot vectors and embeddings
#
# The simplest vector for word $x$ is its **one-hot** vector $\mathbf{o}_x \in
# \{0,1\}^V$: all zeros except a 1 at position $x$. Every pair of different words is
# then equally far apart, so "moves" is as different from "slides" as from "red".
#
# An **embedding** gives each word a dense, learned vector: row $x$ of a matrix
# $W \in \mathbb{R}^{V \times D}$. Looking a row up is the same as multiplying the
# one-hot vector by $W$:
#
# $$ \mathbf{o}_x^\top W = W_{x,:} \qquad\text{so}\qquad \operatorname{one\_hot}(x)\,W = W[x]. $$
#
# `nn.Embedding` does the lookup (fast, no $V$-wide vectors); the product shows that an
# embedding layer is just a linear layer applied to one-hot inputs. In the seed
# article's RNN encoder $h_t = \tanh(W_{eh} e_t + \dots)$, $e_t$ is such a row.

# %% [markdown]
# ### Exercise 1 · `one_hot_embed`
# Write `one_hot_embed(ids, W)` that returns `one_hot(ids) @ W` for an id tensor of any
# shape `[...]` and `W` of shape `[V, D]`, giving `[..., D]`. Use
# `F.one_hot(ids, num_classes)` with `num_classes = W.shape[0]` ($V$, not
# `ids.max() + 1`); it returns integers, so convert it to `W`'s dtype (which may be
# float32 or float64).

# %% exercise="one_hot_embed"
def one_hot_embed(ids, W):
    """one_hot(ids) @ W.  ids: int64 [...]; W: [V, D] -> [..., D]"""
    ### BEGIN SOLUTION
    return F.one_hot(ids, W.shape[0]).to(W.dtype) @ W
    ### END SOLUTION


# %% check="one_hot_embed" points=1
g = torch.Generator().manual_seed(1)
cases = [(torch.tensor([3, 0, 5]), torch.randn(7, 4, generator=g)),
         (torch.randint(10, (2, 5), generator=g), torch.randn(10, 3, generator=g)),
         (torch.tensor([1, 2]), torch.randn(3, 2, dtype=torch.float64, generator=g))]
one_hot_embed = exercise.check(one_hot_embed, text.one_hot_embed, cases, name="one_hot_embed",
                               formula="one_hot(x) @ W == W[x]")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(torch.randint(50, (4, 6), generator=g), torch.randn(50, 8, generator=g)),
          (torch.randint(3, (9,), generator=g), torch.randn(3, 2, dtype=torch.float64,
                                                            generator=g))]
exercise.assert_matches(one_hot_embed, text.one_hot_embed, hidden, name="one_hot_embed")
### END HIDDEN TESTS

# %%
W = torch.randn(len(vocab), 4, generator=torch.Generator().manual_seed(0))
same = torch.equal(one_hot_embed(ids, W), F.embedding(ids, W))
print("one_hot(ids) @ W equals the lookup W[ids]:", same)
print("one-hot batch would hold", ids.numel() * len(vocab), "numbers; the ids hold", ids.numel())

# %% [markdown]
# **Think!** The cell above shows that `one_hot(ids) @ W` and the lookup `W[ids]` give
# the same numbers. Why does no library compute the product, although it is one line?
#
# <details><summary>Answer</summary>
#
# The one-hot matrix holds $V$ numbers per token, all of them 0 but one: 1485 numbers
# for these 27 ids, and with a vocabulary of 50 000 words, 50 000 per token. The product
# then spends $V \cdot D$ multiply-adds per token to copy one row of $W$ ($D$ numbers),
# and all but $D$ of them multiply by 0. The lookup copies the row directly: the same
# result, and the same gradient for $W$, which is zero outside the rows of the words in
# the batch.
#
# </details>

# %% [markdown]
# ## 3. Word vectors from context: skip-gram with negative sampling
#
# *"You shall know a word by the company it keeps"* (Firth, 1957). Skip-gram
# (Mikolov et al., 2013) learns a vector $v_w$ for each word so that it predicts the
# words around it. Every word $c$ and each neighbour $o$ within a window of 2 words
# form a positive pair; $K$ "noise" words $w_k$ drawn from
# $P_n(w) \propto \text{count}(w)^{3/4}$ form negative pairs. With a second table of
# "context" vectors $u$, the loss of one pair is
#
# $$ L = -\log \sigma(u_o^\top v_c) - \sum_{k=1}^{K} \log \sigma(-u_{w_k}^\top v_c), $$
#
# a logistic regression that says "$o$ appears near $c$, the $w_k$ do not". Words that
# appear in the same contexts (*"a red circle **slides** left"*, *"a red circle
# **moves** left"*) get pushed towards the same context vectors, hence towards each
# other.

# %%
centers, contexts = text.skipgram_pairs([vocab.encode(c) for c in train_captions[:1]], window=2)
print(train_captions[0])
print([(vocab.itos[c], vocab.itos[o])
       for c, o in zip(centers[:7].tolist(), contexts[:7].tolist())])

# %% [markdown]
# **Think!** No training caption contains both "slides" and "moves", so skip-gram never
# sees the pair (slides, moves). Which pairs does it see that still give the two words
# similar vectors?
#
# <details><summary>Answer</summary>
#
# The pairs each word forms with the *same* neighbours: (slides, circle) and (moves,
# circle), (slides, left) and (moves, left), and so on. Every caption with "slides" has
# a twin with "moves" in its place and all other words the same. So $v_\text{slides}$
# and $v_\text{moves}$ are both trained to score high against the same context vectors
# $u_o$, and low against negatives drawn from the same $P_n$. Two vectors that must give
# the same dot products with many shared $u_o$ are pulled the same way, hence towards
# each other; Section 4 measures how close they end up.
#
# </details>

# %% [markdown]
# ### Exercise 2 · `skipgram_loss`
# Write the loss above, averaged over a batch. `center` is $v_c$ `[B, D]`, `context`
# is $u_o$ `[B, D]`, `negatives` holds the $u_{w_k}$ `[B, K, D]`. Use `F.logsigmoid`
# (it is stable where `torch.log(torch.sigmoid(x))` underflows) and
# `torch.einsum` or batched `@` for the $K$ dot products.

# %% exercise="skipgram_loss"
def skipgram_loss(center, context, negatives):
    """mean over the batch of -log σ(u_o·v_c) - Σ_k log σ(-u_k·v_c)"""
    ### BEGIN SOLUTION
    pos = (center * context).sum(-1)                        # [B]
    neg = torch.einsum("bd,bkd->bk", center, negatives)     # [B, K]
    return -(F.logsigmoid(pos) + F.logsigmoid(-neg).sum(-1)).mean()
    ### END SOLUTION


# %% check="skipgram_loss" points=2
g = torch.Generator().manual_seed(2)
cases = [(torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g),
          torch.randn(4, 5, 3, generator=g)),
         (torch.zeros(2, 6), torch.randn(2, 6, generator=g),
          torch.randn(2, 1, 6, generator=g)),
         (torch.full((2, 4), 10.0), torch.full((2, 4), -10.0),    # scores ±400: a test
          torch.full((2, 3, 4), 10.0))]                            # of numerical stability
skipgram_loss = exercise.check(skipgram_loss, text.skipgram_loss, cases, name="skipgram_loss",
                               formula="L = -log σ(u_o·v_c) - Σ_k log σ(-u_k·v_c), mean over B")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(torch.randn(16, 8, generator=g), torch.randn(16, 8, generator=g),
           torch.randn(16, 7, 8, generator=g)),
          (torch.full((2, 4), 10.0), torch.full((2, 4), -10.0), torch.full((2, 3, 4), 10.0))]
exercise.assert_matches(skipgram_loss, text.skipgram_loss, hidden, name="skipgram_loss")
### END HIDDEN TESTS

# %% [markdown]
# word2vec starts the context vectors $u$ at zero, so every score $u^\top v_c$ is 0,
# $\sigma(0) = \tfrac12$, and the loss is $(K+1)\log 2$: with $K = 5$ negatives
# training starts at $6 \log 2 \approx 4.16$. We train for
# `P.skipgram_steps` steps of 256 pairs with Adam.

# %%
torch.manual_seed(cfg.seed)
sgns, sg_losses = text.train_skipgram(train_captions, vocab, embed_dim=P.embed_dim,
                                      steps=t2v_edu.budget(P.skipgram_steps), seed=cfg.seed)
vectors = sgns.embeddings                                  # [V, D], the v_w
print(f"loss: {sg_losses[0]:.2f} at the start")

# %%
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(sg_losses, lw=0.8)
ax.axhline(6 * torch.log(torch.tensor(2.0)).item(), ls="--", c="gray",
           label="6 log 2 (untrained)")
ax.set(xlabel="step", ylabel="loss", title="skip-gram with 5 negatives")
ax.legend()
plt.show()

# %% [markdown]
# ## 4. Nearest neighbours by cosine similarity
#
# Two word vectors are similar when they point the same way, whatever their lengths:
#
# $$ \cos(a, b) = \frac{a \cdot b}{\lVert a \rVert\, \lVert b \rVert}. $$
#
# ### Exercise 3 · `cosine_similarity`
# Write `cosine_similarity(a, b)` for every pair of rows: `a` `[N, D]`, `b` `[M, D]`
# → `[N, M]`. Normalise the rows first (divide by their norms, clamped to at least
# `eps` so that a zero vector does not divide by zero), then one matrix product.

# %% exercise="cosine_similarity"
def cosine_similarity(a, b, eps=1e-8):
    """cos(a_i, b_j) = a_i·b_j / (|a_i| |b_j|).  a: [N, D], b: [M, D] -> [N, M]"""
    ### BEGIN SOLUTION
    a = a / a.norm(dim=-1, keepdim=True).clamp(min=eps)
    b = b / b.norm(dim=-1, keepdim=True).clamp(min=eps)
    return a @ b.T
    ### END SOLUTION


# %% check="cosine_similarity" points=1
g = torch.Generator().manual_seed(3)
cases = [(torch.randn(4, 5, generator=g), torch.randn(3, 5, generator=g)),
         (torch.tensor([[1.0, 0.0], [2.0, 2.0]]), torch.tensor([[3.0, 0.0], [0.0, -1.0]])),
         (torch.zeros(1, 3), torch.randn(2, 3, generator=g))]   # a zero row: similarity 0
cosine_similarity = exercise.check(cosine_similarity, text.cosine_similarity, cases,
                                   name="cosine_similarity",
                                   formula="cos(a, b) = a·b / (|a| |b|), for all pairs of rows")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
hidden = [(torch.randn(7, 16, generator=g) * 10, torch.randn(9, 16, generator=g)),
          (torch.randn(1, 3, generator=g), torch.randn(1, 3, generator=g)),
          (torch.zeros(1, 3), torch.randn(2, 3, generator=g))]
exercise.assert_matches(cosine_similarity, text.cosine_similarity, hidden,
                        name="cosine_similarity")
### END HIDDEN TESTS

# %% [markdown]
# **Think!** Why rank a word's neighbours by the cosine, and not by the plain dot
# product $v_a \cdot v_b$?
#
# <details><summary>Answer</summary>
#
# The dot product grows with the lengths of the vectors, and the lengths differ from
# word to word for reasons that have little to do with meaning, such as how often and in
# which contexts a word was updated. In one run of this notebook the vectors of rare
# "-ing" words such as "falling" were about twice as long as those of the shapes (norms
# about 4.4 against 2.2), and ranked by dot product the three nearest neighbours of
# "red" were "dropping", "growing" and "falling". The cosine divides the lengths out and
# compares directions only, so no word is close to everything just because its vector is
# long.
#
# </details>

# %% [markdown]
# The three nearest neighbours of a few words (similarities differ a little from
# machine to machine, so this cell's output is not compared):

# %% tags=["nbval-ignore-output"]
for word in ["slides", "moves", "rises", "falls", "grows", "red", "circle", "left",
             "growing"]:
    near = text.nearest_neighbours(word, vocab, vectors, k=3, similarity=cosine_similarity)
    print(f"{word:>8}: " + ", ".join(f"{w} ({s:.2f})" for w, s in near))

# %%
def top3(word):
    return [w for w, _ in text.nearest_neighbours(word, vocab, vectors, 3, cosine_similarity)]


print("'moves' is among the 3 nearest neighbours of 'slides':", "moves" in top3("slides"))
print("the neighbours of 'red' are colours:", set(top3("red")) <= set(data.PALETTE))
print("the 2 nearest neighbours of 'circle' are shapes:",
      set(top3("circle")[:2]) <= set(data.ALL_SHAPES))

# %% [markdown]
# Synonyms end up together because they are **interchangeable in context**. The same
# reason puts some non-synonyms together: "falls" and "grows" both end a caption right
# after the shape, so skip-gram sees them as similar even though they mean different
# motions. Word vectors learn *distribution*, not meaning; a model that must tell
# "falls" from "grows" needs supervision (Section 5) or richer context.
#
# To see the whole space at once we project the $D$-dimensional vectors onto their
# two main directions (principal component analysis, PCA) and colour each word by its
# grammatical role. Look for the roles forming clusters: the vectors have learned
# *where a word can stand* in a caption.

# %%
def role(word):
    if word in data.PALETTE:
        return "colour"
    if word in data.ALL_SHAPES:
        return "shape"
    if word in ("left", "right", "up", "down"):
        return "direction"
    if word.endswith("ing"):
        return "verb, -ing form"
    if word.endswith("s") and word != "is":
        return "verb, -s form"
    return "other"


roles = ["colour", "shape", "direction", "verb, -s form", "verb, -ing form", "other"]
xy = text.pca_2d(vectors[len(text.SPECIALS):])              # skip the special tokens
fig, ax = plt.subplots(figsize=(8, 6))
for r, color in zip(roles, ["tab:red", "tab:blue", "tab:purple", "tab:green", "tab:orange",
                            "gray"]):
    idx = [i for i, w in enumerate(vocab.words) if role(w) == r]
    ax.scatter(xy[idx, 0], xy[idx, 1], c=color, label=r, s=20)
for i, w in enumerate(vocab.words):
    ax.annotate(w, (xy[i, 0], xy[i, 1]), fontsize=7, alpha=0.7)
ax.set(title="skip-gram word vectors, first two principal components")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 5. A first caption encoder: the bag of embeddings
#
# A caption encoder maps `(ids, lengths)` to one vector. The simplest one averages
# the caption's word vectors (padding excluded):
#
# $$ \mathbf{z} = \frac{1}{n} \sum_{t=1}^{n} W[x_t]. $$
#
# It ignores word order (it would read "a circle colored red" and "a red colored
# circle" the same). To see what such a vector knows, three linear heads read the
# **shape**, **colour** and **motion** off it, trained with cross-entropy
# (`text.CaptionClassifier`). Notebooks 02 and 03 reuse this test for the RNN and
# transformer encoders.

# %% tags=["nbval-ignore-output"]
torch.manual_seed(cfg.seed)
boe = text.CaptionClassifier(text.BagOfEmbeddings(len(vocab), P.embed_dim), P.embed_dim)
boe_losses = text.train_caption_classifier(boe, vocab, train_captions, train_labels,
                                           steps=t2v_edu.budget(P.classifier_steps),
                                           batch_size=P.batch_size, seed=cfg.seed)
heldout_captions, heldout_labels = text.caption_dataset("heldout")
for name, caps, labels in [("train", train_captions, train_labels),
                           ("held out", heldout_captions, heldout_labels)]:
    acc = text.attribute_accuracy(boe, vocab, caps, labels)
    print(f"{name:>9}: " + ", ".join(f"{k} {v:.2f}" for k, v in acc.items()))

# %% [markdown]
# **Think!** The mean of word vectors ignores word order, yet it reads all three
# attributes of nearly every caption. Why does order not matter for this grammar, and
# which pair of captions could no bag of embeddings tell apart?
#
# <details><summary>Answer</summary>
#
# The mean depends only on which words a caption contains and how often: every
# reordering gives exactly the same vector. Here each caption names one shape, one
# colour and one motion, each with its own words, so the words alone fix the answer: no
# two captions of the training and held-out splits with the same words have different
# labels. Order matters once a caption describes two objects, as some captions of the
# `gpu` data spec do: "a red circle moves left and a blue square moves left" and "a blue
# circle moves left and a red square moves left" contain the same words, so they get the
# same vector, although they describe different videos.
#
# </details>

# %% [markdown]
# The **held-out** split has shape-colour-motion triples never seen in training and
# two new templates ("there is a red circle that moves left", "the circle is red and
# it moves left"); their new words map to `<unk>`. The bag of embeddings still reads
# the attributes well: each attribute word carries its own vector, and the mean keeps
# a trace of each. Its weak spots are captions with words it has not learned to
# ignore (every `<unk>` adds the same untrained vector to the mean) and captions whose
# meaning depends on word order. Try a few captions of your own:

# %% tags=["nbval-ignore-output"]
names = data.attribute_names()
probe = ["there is a green square that falls", "the triangle is yellow and it rests",
         "a circle colored blue is not moving"]
p_ids, p_lengths = vocab.encode_batch(probe)
with torch.no_grad():
    preds = [lg.argmax(-1) for lg in boe(p_ids, p_lengths)]
for i, caption in enumerate(probe):
    guess = [names[a][preds[k][i]] for k, a in enumerate(data.ATTRIBUTES)]
    print(f"{caption!r:45} -> {guess}")

# %% [markdown]
# If a guess above is wrong, the `<unk>` weak spot is the likely cause: in the first
# caption "there" and "that", in the second "and" and "it", are unknown words, so each
# adds the untrained `<unk>` vector to the mean and can pull it towards the wrong
# colour or motion. `<unk>` never occurs in the training captions, so the heads have
# never learned to ignore it.

# %% [markdown]
# **Summary**
# - A vocabulary turns captions into padded id tensors with lengths.
# - An embedding is a lookup, which is a one-hot vector times a matrix.
# - Skip-gram learns vectors from co-occurrence; synonyms of the grammar end up near
#   each other, and so do words that merely share contexts.
# - The mean of word vectors is already a usable caption encoder for this grammar.
#
# **Next** notebook 02 reads a caption word by word with a recurrent network, which
# sees word order, and generates new captions.

# %% [markdown]
# **Going further** (ungraded)
#
# 1. *Window size.* Retrain with `sg, losses = text.train_skipgram(train_captions, vocab,
#    embed_dim=P.embed_dim, window=1, steps=P.skipgram_steps, seed=cfg.seed)`, then with
#    `window=5`, and print `text.nearest_neighbours(word, vocab, sg.embeddings, k=3)` for
#    the words of Section 4. Colours, shapes and the synonyms of "slides" stay together
#    at every window: they are interchangeable in any context. The mean of the last 100
#    losses rises with the window (about 1.7, 2.1 and 2.4 for windows 1, 2 and 5 with the
#    `cpu` preset): a word five places away is harder to predict than a neighbour.
# 2. *Number of negatives.* Train with `num_negatives=1`, then `num_negatives=20`. The
#    first loss, `losses[0]`, equals $(K+1)\log 2$ (1.39 and 14.56), because the context
#    vectors start at zero. The synonyms are found either way; the loss values of
#    different $K$ cannot be compared with each other.
# 3. *The noise distribution.* With `counts = text.word_counts([vocab.encode(c) for c in
#    train_captions], len(vocab))`, print `text.noise_distribution(counts, power)` at the
#    ids of "a" and "slides" for `power` 1, 0.75 and 0. The power 3/4 takes probability
#    from the frequent "a" (0.139 → 0.096) and gives it to the rare "slides" (0.012 →
#    0.015): rare words are drawn as negatives more often than they occur. With power 0
#    even the four special tokens, which never occur, are drawn, since $0^0 = 1$.
# 4. *Word order.* Encode `o_ids, o_lengths = vocab.encode_batch(["a red circle moves
#    left", "left moves circle red a"])` and compare the two rows of
#    `boe.encoder(o_ids, o_lengths)`: `torch.allclose` finds them equal, so the heads
#    must answer the same for both. Notebooks 02 and 03 build encoders that see the order.

# %% [markdown]
# **References**
# - Firth, J. R. (1957). *A Synopsis of Linguistic Theory, 1930–1955*. In *Studies in
#   Linguistic Analysis*, special volume of the Philological Society. Oxford: Basil
#   Blackwell.
# - Bengio, Y. et al. (2003). *A Neural Probabilistic Language Model*. Journal of Machine
#   Learning Research 3, 1137–1155. [jmlr.org](https://jmlr.org/papers/v3/bengio03a.html)
# - Mikolov, T. et al. (2013). *Efficient Estimation of Word Representations in Vector
#   Space*. ICLR 2013 Workshop. [arXiv:1301.3781](https://arxiv.org/abs/1301.3781)
# - Mikolov, T. et al. (2013). *Distributed Representations of Words and Phrases and
#   their Compositionality*. NeurIPS 2013.
#   [arXiv:1310.4546](https://arxiv.org/abs/1310.4546)
# - Goldberg, Y. & Levy, O. (2014). *word2vec Explained: deriving Mikolov et al.'s
#   negative-sampling word-embedding method*.
#   [arXiv:1402.3722](https://arxiv.org/abs/1402.3722)
# - Jurafsky, D. & Martin, J. H. *Speech and Language Processing*, 2nd edition, Prentice
#   Hall, 2008; the 3rd edition is a free online draft.
# - To learn more (free): Zhang, A. et al. *Dive into Deep Learning*, chapter *Natural
#   Language Processing: Pretraining* (word2vec, negative sampling), https://d2l.ai.
