"""t2v_edu.attention: SDPA and masks, multi-head, positions, blocks, encoders."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from t2v_edu import attention as A
from t2v_edu import data, text


def test_sdpa_matches_torch_without_mask():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 8, generator=g), torch.randn(2, 3, 7, 8, generator=g),
               torch.randn(2, 3, 7, 4, generator=g))
    out, w = A.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v))
    torch.testing.assert_close(w, torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(8), -1))
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 5))


def test_sdpa_padding_and_causal_masks_match_torch():
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(3, 6, 8, generator=g) for _ in range(3))
    lengths = torch.tensor([6, 4, 1])
    mask = A.padding_mask(lengths, 6) & A.causal_mask(6)
    out, w = A.scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    assert (w[~mask.expand(3, 6, 6)] == 0).all()
    assert (w[1, :, 4:] == 0).all() and (w[0].triu(1) == 0).all()


def test_sdpa_fully_masked_row_is_zero_not_nan():
    q = k = v = torch.randn(1, 2, 4)
    mask = torch.tensor([[True, False], [False, False]])
    out, w = A.scaled_dot_product_attention(q, k, v, mask)
    assert torch.isfinite(out).all() and (w[0, 1] == 0).all() and (out[0, 1] == 0).all()


def test_sdpa_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="d_k"):
        A.scaled_dot_product_attention(torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4))
    with pytest.raises(TypeError, match="boolean"):
        A.scaled_dot_product_attention(torch.randn(2, 3), torch.randn(2, 3), torch.randn(2, 3),
                                       mask=torch.ones(2, 2))


def test_masks():
    assert A.causal_mask(3).tolist() == [[True, False, False], [True, True, False],
                                         [True, True, True]]
    m = A.padding_mask(torch.tensor([2, 3]), 4)
    assert m.shape == (2, 1, 4) and m[0, 0].tolist() == [True, True, False, False]


@pytest.mark.parametrize("cross", [False, True])
def test_multi_head_matches_nn_multihead_attention(cross):
    torch.manual_seed(2)
    ref = nn.MultiheadAttention(16, 4, batch_first=True).eval()
    mha = A.MultiHeadAttention(16, 4).load_from_torch(ref).eval()
    x = torch.randn(2, 5, 16)
    ctx = torch.randn(2, 7, 16) if cross else x
    lengths = torch.tensor([7, 3]) if cross else torch.tensor([5, 3])
    L = ctx.shape[1]
    mask = A.padding_mask(lengths, L)
    out, w = mha(x, ctx, ctx, mask=mask)
    out_ref, w_ref = ref(x, ctx, ctx, key_padding_mask=~mask[:, 0], average_attn_weights=False)
    torch.testing.assert_close(out, out_ref)
    torch.testing.assert_close(w, w_ref)
    fast, none = mha(x, ctx, ctx, mask=mask, need_weights=False)
    assert none is None
    torch.testing.assert_close(fast, out, atol=1e-5, rtol=1e-4)


def test_multi_head_causal_mask_matches_torch_attn_mask():
    torch.manual_seed(3)
    ref = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    mha = A.MultiHeadAttention(8, 2).load_from_torch(ref)
    x = torch.randn(3, 6, 8)
    out, _ = mha(x, mask=A.causal_mask(6))
    out_ref, _ = ref(x, x, x, attn_mask=~A.causal_mask(6))  # torch: True = blocked
    torch.testing.assert_close(out, out_ref)


def test_multi_head_kdim_for_cross_attention():
    torch.manual_seed(9)
    # keys and values of other widths: PyTorch keeps separate q/k/v projection weights
    ref = nn.MultiheadAttention(16, 2, kdim=10, vdim=6, batch_first=True).eval()
    mha = A.MultiHeadAttention(16, 2, kdim=10, vdim=6).load_from_torch(ref).eval()
    x, key, value = torch.randn(2, 4, 16), torch.randn(2, 9, 10), torch.randn(2, 9, 6)
    mask = A.padding_mask(torch.tensor([9, 5]), 9)
    out, w = mha(x, key, value, mask=mask)
    assert out.shape == (2, 4, 16) and w.shape == (2, 2, 4, 9)
    out_ref, w_ref = ref(x, key, value, key_padding_mask=~mask[:, 0],
                         average_attn_weights=False)
    torch.testing.assert_close(out, out_ref)
    torch.testing.assert_close(w, w_ref)
    with pytest.raises(ValueError, match="divisible"):
        A.MultiHeadAttention(10, 3)


def test_sinusoidal_positions_formula():
    pe = A.sinusoidal_positions(50, 16)
    assert pe.shape == (50, 16)
    p, i = 7, 3
    torch.testing.assert_close(pe[p, 2 * i], torch.tensor(math.sin(p / 10000 ** (2 * i / 16))))
    torch.testing.assert_close(pe[p, 2 * i + 1], torch.tensor(math.cos(p / 10000 ** (2 * i / 16))))
    t = torch.tensor([[0.25, 3.0]])
    torch.testing.assert_close(A.sinusoidal_positions(t, 16)[0, 1], pe[3])
    with pytest.raises(ValueError, match="even"):
        A.sinusoidal_positions(4, 7)


def test_transformer_block_prenorm_equations():
    torch.manual_seed(4)
    block = A.TransformerBlock(16, 4).eval()
    x = torch.randn(2, 5, 16)
    h = x + block.attn(block.norm1(x))[0]
    expected = h + block.mlp(block.norm2(h))
    torch.testing.assert_close(block(x), expected)
    with pytest.raises(ValueError, match="cross_attention=False"):
        block(x, context=x)


def test_transformer_block_cross_attention_reads_context():
    torch.manual_seed(5)
    block = A.TransformerBlock(16, 2, cross_attention=True, context_dim=12).eval()
    x, ctx = torch.randn(2, 4, 16), torch.randn(2, 6, 12)
    y, w = block(x, context=ctx, return_weights=True)
    assert y.shape == x.shape and w["cross"].shape == (2, 2, 4, 6)
    assert not torch.allclose(y, block(x, context=torch.randn(2, 6, 12)))
    with pytest.raises(ValueError, match="pass context"):
        block(x)


def test_text_transformer_ignores_padding():
    torch.manual_seed(6)
    vocab = text.Vocab.default()
    enc = A.TextTransformer(len(vocab), 32, 4, 2).eval()
    ids, lengths = vocab.encode_batch(["a red circle", "the blue square moves left"])
    tokens, pooled = enc(ids, lengths)
    tokens1, pooled1 = enc(*vocab.encode_batch(["a red circle"]))
    torch.testing.assert_close(pooled[0], pooled1[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(tokens[0, :3], tokens1[0], atol=1e-5, rtol=1e-4)
    _, _, weights = enc(ids, lengths, return_weights=True)
    assert len(weights) == 2 and (weights[0][0, :, :, 3:] == 0).all()


def test_frame_query_reader_attends_to_motion_words():
    torch.manual_seed(0)
    ds = data.MovingShapes("train", length=600)
    described = [ds.describe(i) for i in range(600)]
    caps = [d[0] for d in described]
    targets = A.frame_targets([d[1] for d in described], [d[2] for d in described], 8)
    assert targets.shape == (600, 8, 6) and (targets[:, 0, :3] == 0).all()
    vocab = text.Vocab.build(caps)
    model = A.FrameQueryReader(len(vocab), 8, 32, 2)
    losses = A.train_frame_query_reader(model, vocab, caps, targets, steps=200, seed=0)
    assert losses[-1] < 0.05 * losses[0]
    ids, lengths = vocab.encode_batch(["a red circle moves left"])
    _, w = model(ids, lengths)
    # the last frame's attention, summed over heads, favours "red" and "left" over "a"
    last = w[0, :, -1].sum(0)
    assert last[1] + last[4] > last[0] + last[2] + last[3]


def test_functional_multi_head_matches_nn_multihead_attention_without_bias():
    torch.manual_seed(7)
    ref = nn.MultiheadAttention(12, 3, bias=False, batch_first=True)
    x, ctx = torch.randn(2, 4, 12), torch.randn(2, 6, 12)
    mask = A.padding_mask(torch.tensor([6, 2]), 6)
    W_Q, W_K, W_V = ref.in_proj_weight.chunk(3)
    out, w = A.multi_head_attention(x, ctx, ctx, W_Q, W_K, W_V, ref.out_proj.weight, 3, mask)
    out_ref, w_ref = ref(x, ctx, ctx, key_padding_mask=~mask[:, 0], average_attn_weights=False)
    torch.testing.assert_close(out, out_ref)
    torch.testing.assert_close(w, w_ref)
    with pytest.raises(ValueError, match="equal heads"):
        A.split_heads(torch.randn(1, 2, 10), 3)


def test_split_and_merge_heads_invert():
    x = torch.randn(2, 5, 12)
    assert A.split_heads(x, 4).shape == (2, 4, 5, 3)
    torch.testing.assert_close(A.merge_heads(A.split_heads(x, 4)), x)
    torch.testing.assert_close(A.split_heads(x, 4)[:, 1], x[..., 3:6])


def test_causal_mask_with_more_keys_for_cached_decoding():
    m = A.causal_mask(2, num_keys=4)
    assert m.tolist() == [[True, True, True, False], [True, True, True, True]]
    torch.testing.assert_close(A.causal_mask(4, num_keys=4), A.causal_mask(4))
    with pytest.raises(ValueError, match="num_keys"):
        A.causal_mask(3, num_keys=2)


def test_kv_cache_decoding_equals_full_causal_pass():
    torch.manual_seed(8)
    blocks = [A.TransformerBlock(16, 4, cross_attention=True).eval() for _ in range(2)]
    x, ctx = torch.randn(2, 6, 16), torch.randn(2, 3, 16)

    def run(h, mask, caches):
        for block, cache in zip(blocks, caches):
            h = block(h, mask=mask, context=ctx, cache=cache)
        return h

    full = run(x, A.causal_mask(6), [None, None])
    caches = [{}, {}]
    first = run(x[:, :2], A.causal_mask(2), caches)         # a prompt of 2 positions
    steps = [run(x[:, t:t + 1], None, caches) for t in range(2, 6)]
    torch.testing.assert_close(torch.cat([first] + steps, 1), full, atol=1e-5, rtol=1e-4)
    assert caches[0]["k"].shape == (2, 4, 6, 4)


def test_causal_mask_matches_torch_square_subsequent_mask():
    # PyTorch's float mask is -inf where blocked, 0 where allowed
    for n in (1, 4, 7):
        allowed = ~nn.Transformer.generate_square_subsequent_mask(n).isinf()
        assert torch.equal(A.causal_mask(n), allowed)
    # the last 3 queries of 5 positions: the last 3 rows of the square mask
    allowed = ~nn.Transformer.generate_square_subsequent_mask(5).isinf()
    assert torch.equal(A.causal_mask(3, num_keys=5), allowed[-3:])


def test_load_from_torch_refuses_a_bias_mismatch():
    with pytest.raises(ValueError, match=r"bias: nn.MultiheadAttention has bias=True, this "
                                         r"module bias=False"):
        A.MultiHeadAttention(8, 2, bias=False).load_from_torch(nn.MultiheadAttention(8, 2))
    with pytest.raises(ValueError, match=r"bias=False, this module bias=True"):
        A.MultiHeadAttention(8, 2).load_from_torch(nn.MultiheadAttention(8, 2, bias=False))
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(8, 2, bias=False, batch_first=True)
    mha = A.MultiHeadAttention(8, 2, bias=False).load_from_torch(ref)
    x = torch.randn(2, 5, 8)
    torch.testing.assert_close(mha(x)[0], ref(x, x, x)[0])


def test_sinusoidal_positions_base_must_exceed_one():
    with pytest.raises(ValueError, match=r"base must be a number > 1.*got -1"):
        A.sinusoidal_positions(3, 4, base=-1)


def test_segment_ids_count_the_ands_before_each_word():
    vocab = text.Vocab.default()
    and_id = vocab.stoi["and"]
    ids, _ = vocab.encode_batch(["a red circle moves left and a blue square rises",
                                 "the circle is red and it moves left", "a red circle"])
    seg = text.segment_ids(ids, and_id)
    assert seg[0].tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]   # "and" is still segment 0
    # one object with an "and": without it_id "it moves left" is segment 1
    assert seg[1, :8].tolist() == [0, 0, 0, 0, 0, 1, 1, 1]
    assert (seg[2] == 0).all()
    # with it_id, "and it" continues the object, as data.word_objects reads the words
    seg = text.segment_ids(ids, and_id, vocab.stoi["it"])
    assert seg[0].tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert seg[1, :8].tolist() == [0] * 8
    captions = ["the circle is red and it moves left and a blue square rises"]
    ids, _ = vocab.encode_batch(captions)
    assert text.segment_ids(ids, and_id, vocab.stoi["it"])[0].tolist() == \
        data.word_objects(captions[0].split())


def test_text_transformer_segment_embeddings():
    torch.manual_seed(7)
    vocab = text.Vocab.default()
    ids, lengths = vocab.encode_batch(["a red circle moves left and a blue square rises"])
    seg = text.segment_ids(ids, vocab.stoi["and"])
    enc = A.TextTransformer(len(vocab), 32, 4, 2, num_segments=2).eval()
    tokens, _ = enc(ids, lengths, segments=seg)
    flipped, _ = enc(ids, lengths, segments=1 - seg)
    assert not torch.allclose(tokens, flipped)                  # the segment is seen
    many, _ = enc(ids, lengths, segments=seg + 5)                # clamped to the last one
    torch.testing.assert_close(many, enc(ids, lengths, segments=torch.ones_like(seg))[0])
    with pytest.raises(ValueError, match="segments are given exactly when"):
        enc(ids, lengths)
    with pytest.raises(ValueError, match="segments are given exactly when"):
        A.TextTransformer(len(vocab), 32, 4, 2)(ids, lengths, segments=seg)
    assert "segment.weight" not in A.TextTransformer(len(vocab), 32, 4, 2).state_dict()


def test_parse_targets_give_each_word_its_objects_attributes():
    vocab = text.Vocab.default()
    captions = ["a red circle moves left and the blue square rises",
                "the square is green and it falls"]
    targets = text.parse_targets(vocab, captions)
    assert targets.shape == (*vocab.encode_batch(captions, bos=True)[0].shape, 3)
    shapes, colours, motions = text.PARSE_VALUES
    first = [shapes.index("circle"), colours.index("red"), motions.index("left")]
    second = [shapes.index("square"), colours.index("blue"), motions.index("up")]
    assert targets[0, 0].tolist() == [-100] * 3                        # <bos>
    assert targets[0, 1:7].tolist() == [first] * 6                     # "... left and"
    assert targets[0, 7:].tolist() == [second] * 4
    # "and it": the same object (data.word_objects), then padding
    assert targets[1, 1:8].tolist() == [[shapes.index("square"), colours.index("green"),
                                         motions.index("down")]] * 7
    assert targets[1, 8:].eq(-100).all()
    assert data.word_objects("a red circle and a blue square".split()) == [0, 0, 0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="unknown word 'purple'"):
        text.parse_targets(vocab, ["a purple circle moves left"])


def _mha_module(query, key, value, mask=None):
    torch.manual_seed(0)
    return A.MultiHeadAttention(8, 2)(query, key, value, mask=mask)


def _mha_function(query, key, value, mask=None):
    Ws = [torch.eye(8)] * 4
    return A.multi_head_attention(query, key, value, *Ws, 2, mask)


@pytest.mark.parametrize("attend", [_mha_module, _mha_function])
def test_multi_head_refuses_a_broadcast_batch(attend):
    """A context of batch 1 would silently condition all 3 queries on one caption."""
    x, ctx = torch.randn(3, 4, 8), torch.randn(1, 5, 8)
    with pytest.raises(ValueError, match=r"query, key and value need the same batch size, "
                                         r"got 3, 1 and 1"):
        attend(x, ctx, ctx)
    with pytest.raises(ValueError, match=r"batch-first \[B, L, E\]"):
        attend(x, ctx[0], ctx[0])


@pytest.mark.parametrize("attend", [_mha_module, _mha_function])
def test_multi_head_2d_mask_is_one_row_per_query(attend):
    x = torch.randn(3, 4, 8)
    padding_as_2d = torch.ones(3, 4, dtype=torch.bool)             # [B, L]: not [L_q, L_k]
    with pytest.raises(ValueError, match=r"a 2-D mask is \[L_q, L_k\] .*L_q = 4.*got "
                                         r"\(3, 4\); for padding use "
                                         r"attention.padding_mask\(lengths, L\)"):
        attend(x, x, x, padding_as_2d)
    # still accepted: [L_q, L_k], one row for every query, and [B, 1, L_k]
    for mask in (A.causal_mask(4), torch.ones(1, 4, dtype=torch.bool),
                 A.padding_mask(torch.tensor([4, 2, 1]), 4)):
        assert attend(x, x, x, mask)[0].shape == (3, 4, 8)


def test_sdpa_names_a_mask_that_does_not_fit_the_scores():
    q, k = torch.randn(2, 4, 8), torch.randn(2, 5, 8)
    with pytest.raises(ValueError, match=r"mask \(3, 5\) does not broadcast to the attention "
                                         r"scores \[\.\.\., L_q, L_k\] = \(2, 4, 5\)"):
        A.scaled_dot_product_attention(q, k, k, torch.ones(3, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"mask \(3, 2, 4, 5\) does not broadcast"):
        A.scaled_dot_product_attention(q, k, k, torch.ones(3, 2, 4, 5, dtype=torch.bool))
    mha = A.MultiHeadAttention(8, 2)                                 # the fused kernel too
    with pytest.raises(ValueError, match=r"mask \(3, 1, 1, 4\) does not broadcast"):
        mha(torch.randn(2, 4, 8), mask=A.padding_mask(torch.tensor([4, 4, 4]), 4),
            need_weights=False)


def test_notebook_mask_cases_are_still_accepted():
    g = torch.Generator().manual_seed(0)
    out, w = A.scaled_dot_product_attention(torch.randn(7, 8, generator=g),
                                            torch.randn(7, 8, generator=g),
                                            torch.randn(7, 2, generator=g), A.causal_mask(7))
    assert out.shape == (7, 2) and (w.triu(1) == 0).all()
    mask = A.padding_mask(torch.tensor([9, 4, 1]), 9)[:, None]       # [3, 1, 1, 9]
    out, w = A.scaled_dot_product_attention(torch.randn(3, 2, 4, 16), torch.randn(3, 2, 9, 16),
                                            torch.randn(3, 2, 9, 5), mask)
    assert out.shape == (3, 2, 4, 5) and (w[2, :, :, 1:] == 0).all()


@pytest.mark.parametrize("lengths, message", [
    (torch.tensor([6]), r"lengths must be an integer tensor \[B\] with one length per row, "
                        r"B = 2; got torch.int64 \(1,\)"),
    (torch.tensor([[6], [6]]), r"integer tensor \[B\].*got torch.int64 \(2, 1\)"),
    (torch.tensor([6.0, 6.0]), r"integer tensor \[B\].*got torch.float32"),
    (torch.tensor([9, 6]), r"lengths must lie in 0\.\.6 .*got \[9, 6\]"),
    (torch.tensor([-1, 6]), r"lengths must lie in 0\.\.6 .*got \[-1, 6\]")])
def test_text_transformer_checks_the_lengths(lengths, message):
    enc = A.TextTransformer(20, 16, 2, 1)
    ids = torch.randint(4, 20, (2, 6), generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=message):
        enc(ids, lengths)


@pytest.mark.parametrize("build, message", [
    (lambda: A.MultiHeadAttention(8, 0), r"num_heads must be a whole number >= 1, got 0"),
    (lambda: A.MultiHeadAttention(0, 1), r"embed_dim must be a whole number >= 1, got 0"),
    (lambda: A.TextTransformer(20, num_heads=0), r"num_heads must be a whole number >= 1, got 0"),
    (lambda: A.TextTransformer(0), r"vocab_size must be a whole number >= 1, got 0"),
    (lambda: A.TextTransformer(20, num_layers=-1),
     r"num_layers and num_segments must be >= 0, got -1 and 0")])
def test_attention_sizes_must_be_positive(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_text_transformer_with_no_layers_is_embeddings_and_positions():
    """num_layers=0 stays allowed: a baseline without attention."""
    enc = A.TextTransformer(20, 16, 2, num_layers=0)
    tokens, pooled = enc(torch.tensor([[5, 6, 0]]))
    assert len(enc.blocks) == 0 and tokens.shape == (1, 3, 16)
    torch.testing.assert_close(pooled, tokens[:, :2].mean(1))
