"""t2v_edu.text: vocabulary, one-hot lookup, skip-gram, caption classifier."""
import collections

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from t2v_edu import data, text


@pytest.fixture(scope="module")
def vocab():
    return text.Vocab.build(data.all_captions("train"))


def test_tokenize_lowercases_and_drops_punctuation():
    assert text.tokenize("A red Circle, moves left.") == ["a", "red", "circle", "moves", "left"]
    with pytest.raises(TypeError, match="str"):
        text.tokenize(["a", "b"])


def test_vocab_specials_and_roundtrip(vocab):
    assert vocab.itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert (vocab.pad_id, vocab.unk_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2, 3)
    assert vocab.words == sorted(vocab.words)
    for c in data.all_captions("train")[:50]:
        assert vocab.decode(vocab.encode(c, bos=True, eos=True)) == c
    assert vocab.encode("a purple circle")[1] == vocab.unk_id
    assert text.Vocab(vocab.words) == vocab
    assert len(text.Vocab.default()) == len(data.known_words()) + 4


def test_vocab_rejects_specials_and_duplicates():
    with pytest.raises(ValueError, match="reserved"):
        text.Vocab(["a", "<pad>"])
    with pytest.raises(ValueError, match="unique"):
        text.Vocab(["a", "a"])


def test_encode_batch_pads_with_zero(vocab):
    caps = ["a red circle moves left", "the blue square goes to the right"]
    ids, lengths = vocab.encode_batch(caps, eos=True)
    assert ids.dtype == lengths.dtype == torch.long
    assert lengths.tolist() == [6, 8]
    assert ids.shape == (2, 8)
    assert ids[0, 6:].tolist() == [0, 0] and ids[0, 5].item() == vocab.eos_id
    assert vocab.decode_batch(ids) == caps
    ids, lengths = vocab.encode_batch(caps, max_len=4)
    assert ids.shape == (2, 4) and lengths.tolist() == [4, 4]
    with pytest.raises(TypeError, match="list of captions"):
        vocab.encode_batch("a red circle")


def test_decode_stops_at_eos_and_checks_range(vocab):
    ids = vocab.encode("a red circle", bos=True, eos=True) + vocab.encode("moves")
    assert vocab.decode(ids) == "a red circle"
    with pytest.raises(ValueError, match="outside the vocabulary"):
        vocab.decode([len(vocab)])


def test_one_hot_embed_equals_lookup():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(11, 5, generator=g)
    ids = torch.randint(11, (3, 4), generator=g)
    torch.testing.assert_close(text.one_hot_embed(ids, W), F.embedding(ids, W))
    with pytest.raises(TypeError, match="int64"):
        text.one_hot_embed(ids.float(), W)


def test_skipgram_pairs_window():
    c, o = text.skipgram_pairs([[5, 6, 7]], window=1)
    assert sorted(zip(c.tolist(), o.tolist())) == [(5, 6), (6, 5), (6, 7), (7, 6)]


def test_skipgram_loss_matches_bce_with_logits():
    g = torch.Generator().manual_seed(1)
    vc, uo, un = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g), \
        torch.randn(4, 5, 3, generator=g)
    pos = (vc * uo).sum(-1)
    neg = (un @ vc[:, :, None])[..., 0]
    expected = (F.binary_cross_entropy_with_logits(pos, torch.ones(4), reduction="none")
                + F.binary_cross_entropy_with_logits(neg, torch.zeros(4, 5),
                                                     reduction="none").sum(-1)).mean()
    torch.testing.assert_close(text.skipgram_loss(vc, uo, un), expected)


def test_noise_distribution_power():
    p = text.noise_distribution(torch.tensor([1.0, 16.0, 0.0]))
    torch.testing.assert_close(p, torch.tensor([1 / 9, 8 / 9, 0.0]))


def test_negatives_are_drawn_by_word_counts_not_pair_counts(vocab, monkeypatch):
    captions = ["a red circle moves left", "a red square falls", "the circle"]
    assert text.word_counts([[1, 2, 2], [], [5]], 7).tolist() == [0, 1, 2, 0, 0, 1, 0]
    seen = []
    monkeypatch.setattr(text, "noise_distribution",
                        lambda counts: seen.append(counts) or torch.ones(len(vocab)))
    text.train_skipgram(captions, vocab, steps=1, batch_size=4)
    words = collections.Counter(text.tokenize(" ".join(captions)))
    assert seen[0].tolist() == [words[w] for w in vocab.itos]   # count(w), word2vec's


def test_cosine_similarity_matches_torch():
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(4, 6, generator=g), torch.randn(3, 6, generator=g)
    torch.testing.assert_close(text.cosine_similarity(a, b),
                               F.cosine_similarity(a[:, None], b[None], dim=-1))


def test_skipgram_puts_synonyms_together(vocab):
    model, losses = text.train_skipgram(data.all_captions("train"), vocab, steps=600, seed=0)
    assert losses[-1] < losses[0] - 1.0
    near = [w for w, _ in text.nearest_neighbours("slides", vocab, model.embeddings, k=3)]
    assert "moves" in near
    near = [w for w, _ in text.nearest_neighbours("red", vocab, model.embeddings, k=3)]
    assert set(near) <= {"blue", "green", "yellow"}


def test_nearest_neighbours_excludes_self_and_specials(vocab):
    E = torch.eye(len(vocab))
    E[vocab.stoi["moves"]] = E[vocab.stoi["slides"]] + 0.1 * E[vocab.stoi["left"]]
    out = text.nearest_neighbours("slides", vocab, E, k=2)
    assert out[0][0] == "moves" and all(w not in text.SPECIALS and w != "slides" for w, _ in out)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        text.nearest_neighbours("purple", vocab, E)


def test_pca_2d_matches_svd_and_is_deterministic():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(30, 4, generator=g) * torch.tensor([3.0, 2.0, 0.5, 0.1])
    p = text.pca_2d(x)
    xc = (x - x.mean(0)).double()
    _, vecs = torch.linalg.eigh(xc.T @ xc)           # ascending eigenvalues
    axes = vecs[:, [-1, -2]]                         # [D, 2]: the two main axes
    # the documented sign rule: the largest entry (in size) of each axis is positive
    axes = axes * torch.sign(axes.gather(0, axes.abs().argmax(0, keepdim=True)))
    expected = (xc @ axes).float()
    torch.testing.assert_close(p, expected, atol=1e-4, rtol=1e-4)
    # deterministic: the same points in another order or mirrored give the same plot
    perm = torch.randperm(30, generator=g)
    torch.testing.assert_close(text.pca_2d(x[perm]), p[perm], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(text.pca_2d(-x), -p, atol=1e-5, rtol=1e-4)


def test_masked_mean_ignores_padding():
    x = torch.tensor([[[1.0], [3.0], [100.0]]])
    torch.testing.assert_close(text.masked_mean(x, torch.tensor([2])), torch.tensor([[2.0]]))


def test_bag_of_embeddings_classifier_learns(vocab):
    torch.manual_seed(0)
    caps, labels = text.caption_dataset("train")
    enc = text.BagOfEmbeddings(len(vocab), 16)
    model = text.CaptionClassifier(enc, enc.out_dim)
    untrained = text.attribute_accuracy(model, vocab, caps, labels)
    assert untrained["all"] < 0.2 and untrained["shape"] < 0.7   # the accuracy is measured
    losses = text.train_caption_classifier(model, vocab, caps, labels, steps=150, lr=1e-2, seed=0)
    assert losses[-1] < 0.3 * losses[0]
    acc = text.attribute_accuracy(model, vocab, caps, labels)
    assert acc["shape"] == 1.0 and acc["color"] == 1.0 and acc["all"] > 0.9


def test_fraction_parsing():
    assert text.fraction_parsing(["a red circle moves left", "a red red", "hello"]) == 1 / 3


def test_masked_mean_checks_the_lengths():
    x = torch.tensor([[[1.0], [3.0], [100.0]]])
    with pytest.raises(ValueError, match=r"lengths must lie in 0\.\.3 \(the padded length L "
                                         r"of x\), got \[5\]"):
        text.masked_mean(x, torch.tensor([5]))
    with pytest.raises(ValueError, match=r"lengths must lie in 0\.\.3"):
        text.masked_mean(x, torch.tensor([-1]))
    # an empty caption (length 0) gives zeros, as before
    torch.testing.assert_close(text.masked_mean(x, torch.tensor([0])), torch.tensor([[0.0]]))


def test_noise_distribution_power_must_be_non_negative():
    with pytest.raises(ValueError, match=r"power must be >= 0.*got -1\.0"):
        text.noise_distribution(torch.tensor([1.0, 0.0]), -1.0)


def test_vocab_build_refuses_one_string():
    """One string would give a vocabulary of its characters."""
    with pytest.raises(TypeError, match=r"Vocab.build takes a list of captions, got one "
                                        r"string; wrap it: \[caption\]"):
        text.Vocab.build("a red circle moves left")
    assert len(text.Vocab.build(c for c in ["a red circle moves left"])) > 4   # any iterable


@pytest.mark.parametrize("lengths, message", [
    (torch.tensor([[2], [3]]), r"lengths must be an integer tensor \[B\] with one length per "
                               r"row, B = 2; got torch.int64 \(2, 1\)"),
    (torch.tensor([2]), r"integer tensor \[B\].*B = 2; got torch.int64 \(1,\)"),
    (torch.tensor([2.0, 3.0]), r"integer tensor \[B\].*got torch.float32"),
    ([2, 3], r"integer tensor \[B\].*got list")])
def test_masked_mean_needs_one_integer_length_per_row(lengths, message):
    with pytest.raises(ValueError, match=message):
        text.masked_mean(torch.randn(2, 5, 3), lengths)


def test_check_lengths_reads_values_only_on_the_cpu():
    """On a GPU reading the lengths would wait for the device: only shapes are checked.
    A "meta" tensor has a shape but no values, so reading them would fail."""
    text.check_lengths(torch.empty(2, dtype=torch.long, device="meta"), 5, 2)
    with pytest.raises(ValueError, match=r"B = 3"):
        text.check_lengths(torch.empty(2, dtype=torch.long, device="meta"), 5, 3)
    text.check_lengths(torch.tensor([[5, 0]]), 5)          # without a batch size, as before


def test_nearest_neighbours_needs_one_row_per_id(vocab):
    E = torch.randn(len(vocab), 3)
    with pytest.raises(ValueError, match=r"embeddings must be \[V, D\] with one row per id "
                                         r"including the special tokens, V = len\(vocab\)"):
        text.nearest_neighbours("red", vocab, E[4:], 3)
    with pytest.raises(ValueError, match=r"one row per id"):
        text.nearest_neighbours("red", vocab, E[:, 0], 3)


@pytest.mark.parametrize("call, error, message", [
    (lambda v: text.one_hot_embed(np.array([1, 2]), torch.randn(3, 2)), TypeError,
     r"ids and W must be torch tensors, got ndarray and Tensor"),
    (lambda v: text.fraction_parsing("a red circle moves left"), TypeError,
     r"fraction_parsing takes a list of captions, got one string; wrap it: \[caption\]"),
    (lambda v: text.Vocab("abc"), TypeError,
     r"Vocab takes a list of words, got one string"),
    (lambda v: v.encode_batch(["a red circle"], max_len=-1), ValueError,
     r"max_len must be >= 1 .* or None .*got -1"),
    (lambda v: v.encode_batch(["a red circle"], max_len=0), ValueError,
     r"max_len must be >= 1"),
    (lambda v: text.cosine_similarity(torch.randn(3), torch.randn(3)), ValueError,
     r"two matrices of rows a \[N, D\] and b \[M, D\], got \(3,\) and \(3,\)"),
    (lambda v: text.cosine_similarity(torch.randn(2, 3), torch.randn(2, 4)), ValueError,
     r"a \[N, D\] and b \[M, D\]"),
    (lambda v: text.word_counts([[1, 9]], 3), ValueError,
     r"word ids must lie in 0\.\.2 \(vocab_size=3\), got ids from 1 to 9"),
    (lambda v: text.skipgram_loss(torch.randn(4, 3), torch.randn(3), torch.randn(4, 2, 3)),
     ValueError, r"center \[B, D\], context \[B, D\] and negatives \[B, K, D\], got \(4, 3\), "
                 r"\(3,\) and \(4, 2, 3\)"),
    (lambda v: text.skipgram_loss(torch.randn(4, 3), torch.randn(1, 3), torch.randn(4, 2, 3)),
     ValueError, r"context \[B, D\]"),
    (lambda v: text.skipgram_loss(torch.randn(4, 3), torch.randn(4, 3), torch.randn(1, 2, 3)),
     ValueError, r"negatives \[B, K, D\]")])
def test_text_functions_refuse_what_would_broadcast_or_iterate(vocab, call, error, message):
    with pytest.raises(error, match=message):
        call(vocab)


def test_fraction_parsing_of_no_captions_is_still_zero():
    assert text.fraction_parsing([]) == 0.0


def test_training_loops_check_counts_and_labels(vocab):
    captions, labels = text.caption_dataset("train")
    model = text.CaptionClassifier(text.BagOfEmbeddings(len(vocab), 8), 8)
    with pytest.raises(ValueError, match="labels has 10 rows for 12 captions"):
        text.train_caption_classifier(model, vocab, captions[:12], labels[:10], steps=1)
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1, got 0"):
        text.train_caption_classifier(model, vocab, captions, labels, steps=1, batch_size=0)
