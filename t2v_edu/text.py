"""Text to vectors (notebook 01): tokens, a vocabulary, embeddings, a first encoder.

- ``tokenize`` and ``Vocab`` turn captions into padded id tensors (pad id 0).
- ``one_hot_embed`` shows that an embedding lookup is a one-hot vector times a matrix.
- Skip-gram with negative sampling (Mikolov et al. 2013) learns word vectors from the
  caption corpus; ``nearest_neighbours`` ranks words by cosine similarity.
- ``BagOfEmbeddings`` + ``CaptionClassifier`` predict a caption's (shape, colour,
  motion): the first caption encoder, which notebooks 02 and 03 compare against.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import data

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)  # ids 0, 1, 2, 3


def tokenize(caption: str) -> list[str]:
    """Lower-case words of a caption, punctuation dropped: "A red circle." -> [a, red, circle]."""
    if not isinstance(caption, str):
        raise TypeError(f"caption must be a str, got {type(caption).__name__}")
    return data.tokenize_caption(caption)


# ---------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------
class Vocab:
    """Word <-> id. Ids 0-3 are <pad>, <unk>, <bos>, <eos>; words follow, sorted.

    ``Vocab(words)`` takes the non-special words; ``Vocab.build(captions)`` collects
    them from captions; ``Vocab.default()`` covers every word of the caption grammar.
    ``Vocab(vocab.words)`` rebuilds the same vocabulary (store ``words`` in checkpoints).
    """

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    def __init__(self, words: Iterable[str]):
        check_not_string(words, "Vocab", "words")
        words = list(words)
        clash = [w for w in words if w in SPECIALS]
        if clash:
            raise ValueError(f"words {clash} are reserved special tokens {SPECIALS}")
        if len(set(words)) != len(words):
            raise ValueError("words must be unique")
        self.words = words
        self.itos = list(SPECIALS) + words
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = 1) -> "Vocab":
        """The words that occur at least ``min_count`` times in ``captions``, sorted."""
        captions = captions if isinstance(captions, str) else list(captions)
        check_caption_list(captions, "Vocab.build")
        counts = Counter(w for c in captions for w in tokenize(c))
        return cls(sorted(w for w, n in counts.items() if n >= min_count))

    @classmethod
    def default(cls) -> "Vocab":
        """Every word ``data.parse_caption`` knows: covers all splits and specs."""
        return cls(data.known_words())

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens: {', '.join(self.itos[:8])}, ...)"

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def encode(self, caption: str, bos: bool = False, eos: bool = False) -> list[int]:
        """Ids of the caption's words (<unk> for unknown ones), optionally framed."""
        ids = [self.stoi.get(w, self.unk_id) for w in tokenize(caption)]
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def encode_batch(self, captions: Sequence[str], bos: bool = False, eos: bool = False,
                     max_len: int | None = None) -> tuple[Tensor, Tensor]:
        """Padded ids [B, L] (pad id 0) and lengths [B], both int64.

        L is the longest caption, or ``max_len`` >= 1 (longer captions are cut).
        """
        check_caption_list(captions, "encode_batch")
        if max_len is not None and not max_len >= 1:
            raise ValueError(f"max_len must be >= 1 (tokens kept per caption) or None (the "
                             f"longest caption), got {max_len}")
        seqs = [self.encode(c, bos, eos) for c in captions]
        if max_len is not None:
            seqs = [s[:max_len] for s in seqs]
        width = max_len if max_len is not None else max(max(len(s) for s in seqs), 1)
        # padded in Python, then one tensor: every training step encodes a whole batch
        ids = torch.tensor([s + [self.pad_id] * (width - len(s)) for s in seqs],
                           dtype=torch.long)
        return ids, torch.tensor([len(s) for s in seqs], dtype=torch.long)

    def decode(self, ids: Sequence[int] | Tensor, stop_at_eos: bool = True) -> str:
        """Words of ``ids`` joined by spaces; <pad>/<bos> dropped, stops at <eos>."""
        if isinstance(ids, Tensor):
            if ids.dim() != 1:
                raise ValueError(f"decode takes one sequence [L], got shape {tuple(ids.shape)}; "
                                 "use decode_batch for [B, L]")
            ids = ids.tolist()
        words = []
        for i in ids:
            if not 0 <= int(i) < len(self):
                raise ValueError(f"id {int(i)} is outside the vocabulary (0..{len(self) - 1})")
            if i == self.eos_id and stop_at_eos:
                break
            if i in (self.pad_id, self.bos_id, self.eos_id):
                continue
            words.append(self.itos[i])
        return " ".join(words)

    def decode_batch(self, ids: Tensor) -> list[str]:
        """``decode`` for each row of ids [B, L]."""
        return [self.decode(row) for row in ids]


def check_not_string(items: Iterable[str], name: str, what: str = "captions") -> None:
    """A list of strings given as one string would be read character by character."""
    if isinstance(items, str):
        raise TypeError(f"{name} takes a list of {what}, got one string; wrap it: "
                        f"[{what[:-1]}]")


def check_caption_list(captions: Sequence[str], name: str) -> None:
    """A batch of captions must be a non-empty list, not one string."""
    check_not_string(captions, name)
    if len(captions) == 0:
        raise ValueError(f"{name} needs at least one caption")


def caption_batch(vocab: Vocab, captions: Sequence[str], device: torch.device | str,
                  drop: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Ids [B, L] (with <bos>) and lengths [B] of captions, on ``device``.

    Rows where ``drop`` [B] is True become the empty caption (only <bos>): the
    unconditional input of classifier-free guidance. The copy to a GPU is queued, not
    waited for (``data.to_device``).
    """
    ids, lengths = vocab.encode_batch(captions, bos=True)
    if drop is not None:
        drop = drop.cpu()
        ids[drop, 1:] = vocab.pad_id
        lengths[drop] = 1
    return data.to_device(ids, device), data.to_device(lengths, device)


# What a caption parser predicts for each word: its object's shape, colour and motion
PARSE_VALUES: tuple[tuple[str, ...], ...] = (data.ALL_SHAPES, tuple(data.PALETTE),
                                             data.ALL_MOTIONS)


def parse_targets(vocab: Vocab, captions: Sequence[str]) -> Tensor:
    """What each word of each caption describes: int64 [B, L, 3], the (shape, colour,
    motion) indices into ``PARSE_VALUES`` of the object the word belongs to
    (``data.word_objects``; the attributes from ``data.parse_caption``), and -100 (not
    scored) at <bos> and padding. L is that of ``vocab.encode_batch(captions, bos=True)``.

    A caption encoder trained to predict these from each word's feature must put an
    object's shape, colour and motion into every one of its words: it binds them.
    """
    check_caption_list(captions, "parse_targets")
    rows = []
    for caption in captions:
        objects = [[values.index(obj[key]) for values, key in
                    zip(PARSE_VALUES, ("shape", "color", "motion"))]
                   for obj in data.parse_caption(caption)]
        rows.append([[-100] * 3] + [objects[obj] for obj in
                                    data.word_objects(tokenize(caption))])
    width = max(len(row) for row in rows)             # <bos> + the longest caption's words
    return torch.tensor([row + [[-100] * 3] * (width - len(row)) for row in rows],
                        dtype=torch.int64)


def segment_ids(ids: Tensor, and_id: int, it_id: int | None = None) -> Tensor:
    """The segment of each token [B, L]: how many separating "and" come before it,

        s_i = sum_{j < i} [w_j = "and"] [w_{j+1} != "it"],

    so a two-object caption's words are 0 (first object, its "and" included) then 1
    (second object). With ``it_id``, "and it" continues the same object ("the circle is
    red and it moves left" is one segment, as ``data.word_objects`` reads it); without,
    every "and" separates. BERT's token types (sentence A / B) are the same idea.
    """
    is_and = ids == and_id
    if it_id is not None:
        is_and &= ~F.pad(ids[:, 1:] == it_id, (0, 1))    # the next word is "it"
    is_and = is_and.long()
    return is_and.cumsum(1) - is_and


def padding_lengths_mask(lengths: Tensor, max_len: int) -> Tensor:
    """True at real tokens, False at padding: bool [B, max_len]."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def fraction_parsing(captions: Sequence[str]) -> float:
    """The fraction of captions ``data.parse_caption`` accepts.

    It checks known words and one shape, colour and motion per clause, not word order.
    """
    check_not_string(captions, "fraction_parsing")
    ok = 0
    for c in captions:
        try:
            data.parse_caption(c)
            ok += 1
        except ValueError:
            pass
    return ok / max(len(captions), 1)


# ---------------------------------------------------------------------------------
# One-hot vs embedding lookup
# ---------------------------------------------------------------------------------
def one_hot_embed(ids: Tensor, W: Tensor) -> Tensor:
    """one_hot(ids) @ W = W[ids]: the product with one-hot rows is a row lookup.

    ids: int64 [...] with values in [0, V); W: [V, D] -> [..., D]
    """
    if not isinstance(ids, Tensor) or not isinstance(W, Tensor):
        raise TypeError(f"ids and W must be torch tensors, got {type(ids).__name__} and "
                        f"{type(W).__name__}; convert with torch.as_tensor")
    if ids.dtype != torch.long:
        raise TypeError(f"ids must be int64 (torch.long), got {ids.dtype}")
    if W.dim() != 2:
        raise ValueError(f"W must be a matrix [vocab_size, embed_dim], got shape {tuple(W.shape)}")
    return F.one_hot(ids, W.shape[0]).to(W.dtype) @ W


# ---------------------------------------------------------------------------------
# Skip-gram with negative sampling
# ---------------------------------------------------------------------------------
def skipgram_pairs(sequences: Iterable[Sequence[int]], window: int = 2) -> tuple[Tensor, Tensor]:
    """(center, context) id pairs: every word with each neighbour at distance <= window.

    -> centers, contexts: int64 [N]
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    centers, contexts = [], []
    for seq in sequences:
        for i, c in enumerate(seq):
            for j in range(max(0, i - window), min(len(seq), i + window + 1)):
                if j != i:
                    centers.append(c)
                    contexts.append(seq[j])
    return torch.tensor(centers, dtype=torch.long), torch.tensor(contexts, dtype=torch.long)


def word_counts(sequences: Iterable[Sequence[int]], vocab_size: int) -> Tensor:
    """count(w): how many times each word id occurs in the sequences. -> int64 [vocab_size]"""
    ids = torch.tensor([i for seq in sequences for i in seq], dtype=torch.long)
    if ids.numel() and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"word ids must lie in 0..{vocab_size - 1} (vocab_size={vocab_size}), "
                         f"got ids from {ids.min().item()} to {ids.max().item()}")
    return torch.bincount(ids, minlength=vocab_size)


def noise_distribution(counts: Tensor, power: float = 0.75) -> Tensor:
    """P_n(w) ∝ count(w)^0.75, the negative-sampling distribution. counts: [V] -> [V]

    power >= 0: 1 samples words as often as they occur, 0 uniformly, 0.75 in between.
    """
    if not power >= 0:
        raise ValueError(f"power must be >= 0 (a negative power gives unseen words an "
                         f"infinite weight), got {power}")
    weights = counts.double().clamp(min=0) ** power
    if weights.sum() <= 0:
        raise ValueError("counts are all zero: no word to sample")
    return (weights / weights.sum()).float()


def skipgram_loss(center: Tensor, context: Tensor, negatives: Tensor) -> Tensor:
    """Negative-sampling loss, averaged over the batch:

        L = -log σ(u_o · v_c) - Σ_k log σ(-u_k · v_c)

    center v_c: [B, D]; context u_o: [B, D]; negatives u_k: [B, K, D] -> scalar
    """
    if center.dim() != 2 or context.shape != center.shape or negatives.dim() != 3 \
            or negatives.shape[::2] != center.shape:
        raise ValueError(f"skipgram_loss takes center [B, D], context [B, D] and negatives "
                         f"[B, K, D], got {tuple(center.shape)}, {tuple(context.shape)} and "
                         f"{tuple(negatives.shape)}")
    pos = (center * context).sum(-1)                               # [B]
    neg = torch.einsum("bd,bkd->bk", center, negatives)             # [B, K]
    return -(F.logsigmoid(pos) + F.logsigmoid(-neg).sum(-1)).mean()


class SkipGram(nn.Module):
    """Two tables: ``center`` vectors v (the word embeddings) and ``context`` vectors u."""

    def __init__(self, vocab_size: int, embed_dim: int):
        super().__init__()
        self.center = nn.Embedding(vocab_size, embed_dim)
        self.context = nn.Embedding(vocab_size, embed_dim)
        nn.init.uniform_(self.center.weight, -0.5 / embed_dim, 0.5 / embed_dim)
        nn.init.zeros_(self.context.weight)  # word2vec's initialisation

    def forward(self, center: Tensor, context: Tensor, negatives: Tensor) -> Tensor:
        return skipgram_loss(self.center(center), self.context(context), self.context(negatives))

    @property
    def embeddings(self) -> Tensor:
        return self.center.weight.detach()


def train_skipgram(captions: Sequence[str], vocab: Vocab, embed_dim: int = 16,
                   window: int = 2, num_negatives: int = 5, steps: int = 1500,
                   batch_size: int = 256, lr: float = 0.02, seed: int = 0
                   ) -> tuple[SkipGram, list[float]]:
    """Train skip-gram on ``captions`` with Adam: (model, loss per step)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    sequences = [vocab.encode(c) for c in captions]
    centers, contexts = skipgram_pairs(sequences, window)
    noise = noise_distribution(word_counts(sequences, len(vocab)))   # unigram counts
    model = SkipGram(len(vocab), embed_dim)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        idx = torch.randint(len(centers), (batch_size,), generator=g)
        neg = torch.multinomial(noise, batch_size * num_negatives, replacement=True,
                                generator=g).view(batch_size, num_negatives)
        loss = model(centers[idx], contexts[idx], neg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, losses


def cosine_similarity(a: Tensor, b: Tensor, eps: float = 1e-8) -> Tensor:
    """cos(a, b) = a·b / (|a| |b|) for every pair of rows. a: [N, D], b: [M, D] -> [N, M]"""
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"cosine_similarity takes two matrices of rows a [N, D] and b [M, D], "
                         f"got {tuple(a.shape)} and {tuple(b.shape)}; a single vector v is "
                         "v[None] ([1, D])")
    a = a / a.norm(dim=-1, keepdim=True).clamp(min=eps)
    b = b / b.norm(dim=-1, keepdim=True).clamp(min=eps)
    return a @ b.T


def nearest_neighbours(word: str, vocab: Vocab, embeddings: Tensor, k: int = 5,
                       similarity: Callable[[Tensor, Tensor], Tensor] = cosine_similarity,
                       ) -> list[tuple[str, float]]:
    """The k words most similar to ``word`` (itself and special tokens excluded), with
    their similarity rounded to 4 decimals. embeddings: [V, D], one row per vocab id.
    """
    if word not in vocab:
        raise ValueError(f"{word!r} is not in the vocabulary; known words: "
                         + ", ".join(vocab.words))
    if embeddings.dim() != 2 or embeddings.shape[0] != len(vocab):
        raise ValueError(f"embeddings must be [V, D] with one row per id including the special "
                         f"tokens, V = len(vocab) = {len(vocab)}; got {tuple(embeddings.shape)}")
    sims = similarity(embeddings[vocab.stoi[word]][None], embeddings)[0].clone()
    sims[: len(SPECIALS)] = -float("inf")
    sims[vocab.stoi[word]] = -float("inf")
    k = min(k, len(vocab.words) - 1)
    top = sims.topk(k)
    return [(vocab.itos[i], round(float(s), 4)) for s, i in zip(top.values, top.indices)]


def pca_2d(x: Tensor) -> Tensor:
    """Project rows of x [N, D] on their two main principal axes -> [N, 2].

    Signs are fixed (the largest entry of each axis is positive) so plots are stable.
    """
    x = x - x.mean(0, keepdim=True)
    _, _, vh = torch.linalg.svd(x.double(), full_matrices=False)
    axes = vh[:2]                                                   # [2, D]
    sign = torch.sign(axes.gather(1, axes.abs().argmax(1, keepdim=True)))
    return (x.double() @ (axes * sign).T).float()


# ---------------------------------------------------------------------------------
# A first caption encoder: the mean of word embeddings -> (shape, colour, motion)
# ---------------------------------------------------------------------------------
def check_lengths(lengths: Tensor, max_len: int, batch_size: int | None = None) -> None:
    """Every length must lie in 0..max_len (the padded length L of the batch).

    With ``batch_size`` B, lengths must also be an integer tensor [B], one per row. The
    values are read only on the CPU: on a GPU that would wait for the device every step.
    """
    if batch_size is not None and not (isinstance(lengths, Tensor)
                                       and lengths.shape == (batch_size,)
                                       and not lengths.is_floating_point()
                                       and lengths.dtype != torch.bool):
        got = (f"{lengths.dtype} {tuple(lengths.shape)}" if isinstance(lengths, Tensor)
               else type(lengths).__name__)
        raise ValueError(f"lengths must be an integer tensor [B] with one length per row, "
                         f"B = {batch_size}; got {got}")
    if lengths.device.type == "cpu" and lengths.numel() and (
            lengths.min() < 0 or lengths.max() > max_len):
        raise ValueError(f"lengths must lie in 0..{max_len} (the padded length L of x), "
                         f"got {lengths.tolist()}")


def masked_mean(x: Tensor, lengths: Tensor) -> Tensor:
    """Mean over the first lengths[b] positions of each row. x: [B, L, D] -> [B, D]

    lengths: [B] in 0..L (a row of length 0 gives zeros).
    """
    if x.dim() != 3:
        raise ValueError(f"x must be [B, L, D], got {tuple(x.shape)}")
    check_lengths(lengths, x.shape[1], x.shape[0])
    return masked_mean_unchecked(x, lengths)


def masked_mean_unchecked(x: Tensor, lengths: Tensor) -> Tensor:
    """``masked_mean`` without reading the lengths (no GPU sync), for training loops
    whose lengths come from ``Vocab.encode_batch`` and so are valid."""
    mask = padding_lengths_mask(lengths, x.shape[1]).to(x.dtype)   # [B, L]
    return (x * mask[..., None]).sum(1) / lengths.clamp(min=1)[:, None].to(x.dtype)


class BagOfEmbeddings(nn.Module):
    """Caption feature = the mean of its word embeddings (word order is ignored)."""

    def __init__(self, vocab_size: int, embed_dim: int = 32):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=Vocab.pad_id)
        self.out_dim = embed_dim

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        return masked_mean(self.embed(ids), lengths)               # [B, D]


class CaptionClassifier(nn.Module):
    """Any caption encoder + one linear head per attribute (shape, colour, motion).

    The encoder maps (ids [B, L], lengths [B]) to features [B, D], or to a tuple whose
    last element is the pooled [B, D] (as ``attention.TextTransformer`` returns).
    """

    def __init__(self, encoder: nn.Module, feature_dim: int, spec: str | data.DataSpec = "cpu"):
        super().__init__()
        self.encoder = encoder
        names = data.attribute_names(spec)
        self.heads = nn.ModuleList(nn.Linear(feature_dim, len(names[a])) for a in data.ATTRIBUTES)

    def forward(self, ids: Tensor, lengths: Tensor) -> list[Tensor]:
        features = self.encoder(ids, lengths)
        if isinstance(features, tuple):
            features = features[-1]
        return [head(features) for head in self.heads]             # 3 x [B, classes]


def attribute_loss(logits: list[Tensor], labels: Tensor) -> Tensor:
    """Sum of the three cross-entropies. labels: int64 [B, 3] (data.attribute_labels)."""
    return sum(F.cross_entropy(lg, labels[:, i]) for i, lg in enumerate(logits))


def caption_dataset(split: str = "train", spec: str | data.DataSpec = "cpu"
                    ) -> tuple[list[str], Tensor]:
    """Every caption of a split with its labels: (captions, int64 [N, 3])."""
    captions = data.all_captions(split, spec)
    labels = data.attribute_labels([data.parse_caption(c) for c in captions], spec)
    return captions, labels


@dataclass(frozen=True)
class TextPreset:
    """Notebook 01's sizes: word vectors, skip-gram and classifier training steps."""

    embed_dim: int
    skipgram_steps: int
    classifier_steps: int
    batch_size: int


PRESETS = {"cpu": TextPreset(embed_dim=16, skipgram_steps=1500, classifier_steps=300,
                             batch_size=64),
           "gpu": TextPreset(embed_dim=32, skipgram_steps=6000, classifier_steps=1500,
                             batch_size=256)}


def fit(model: nn.Module, batch_loss: Callable[[Tensor], Tensor], num_items: int,
        steps: int, batch_size: int = 64, lr: float = 1e-2, seed: int = 0,
        max_grad_norm: float | None = None) -> list[float]:
    """The training loop every notebook shares: Adam on ``batch_loss(indices)`` for
    ``steps`` random batches of item indices; returns the loss per step.

    The batches come from a generator seeded with ``seed``, so runs repeat exactly.
    """
    data.check_whole("num_items", num_items)
    data.check_whole("steps", steps, 0)
    data.check_whole("batch_size", batch_size)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        loss = batch_loss(torch.randint(num_items, (batch_size,), generator=g))
        opt.zero_grad()
        loss.backward()
        if max_grad_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        opt.step()
        losses.append(loss.item())
    model.eval()
    return losses


def check_one_per_caption(captions: Sequence[str], values: Tensor, name: str) -> None:
    """``values`` must hold one row per caption (a ValueError naming both counts)."""
    if len(values) != len(captions):
        raise ValueError(f"{name} has {len(values)} rows for {len(captions)} captions: give "
                         "one row per caption, in the same order")


def train_caption_classifier(model: CaptionClassifier, vocab: Vocab, captions: Sequence[str],
                             labels: Tensor, steps: int = 300, batch_size: int = 64,
                             lr: float = 1e-2, seed: int = 0) -> list[float]:
    """``fit`` on ``attribute_loss``; returns the loss per step."""
    check_one_per_caption(captions, labels, "labels")
    ids, lengths = vocab.encode_batch(captions)
    return fit(model, lambda i: attribute_loss(model(ids[i], lengths[i]), labels[i]),
               len(captions), steps, batch_size, lr, seed)


@torch.no_grad()
def attribute_accuracy(model: CaptionClassifier, vocab: Vocab, captions: Sequence[str],
                       labels: Tensor) -> dict[str, float]:
    """Accuracy per attribute and for all three at once ("all")."""
    model.eval()
    ids, lengths = vocab.encode_batch(captions)
    preds = torch.stack([lg.argmax(-1) for lg in model(ids, lengths)], 1)   # [N, 3]
    right = preds == labels
    out = {a: right[:, i].float().mean().item() for i, a in enumerate(data.ATTRIBUTES)}
    out["all"] = right.all(1).float().mean().item()
    return out
