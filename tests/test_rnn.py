"""t2v_edu.rnn: the seed's RNN encoder/decoder, LSTM equations, language model, tracks."""
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from t2v_edu import data, rnn, text


@pytest.fixture(scope="module")
def vocab():
    return text.Vocab.build(data.all_captions("train"))


def test_rnn_cell_matches_nn_rnncell():
    torch.manual_seed(0)
    cell = nn.RNNCell(5, 7)
    x, h = torch.randn(3, 5), torch.randn(3, 7)
    got = rnn.rnn_cell(x, h, cell.weight_ih, cell.weight_hh, cell.bias_ih + cell.bias_hh)
    torch.testing.assert_close(got, cell(x, h))


def test_rnn_cell_explains_wrong_layout():
    with pytest.raises(ValueError, match="weight_ih"):
        rnn.rnn_cell(torch.randn(3, 5), torch.randn(3, 7), torch.randn(5, 7),
                     torch.randn(7, 7), torch.randn(7))


def test_rnn_unroll_matches_packed_nn_rnn():
    torch.manual_seed(1)
    net = nn.RNN(4, 6, batch_first=True)
    x = torch.randn(3, 5, 4)
    lengths = torch.tensor([5, 2, 3])
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out_ref, h_ref = net(packed)
    out_ref, _ = pad_packed_sequence(out_ref, batch_first=True, total_length=5)
    out, h = rnn.rnn_unroll(x, lengths, net.weight_ih_l0, net.weight_hh_l0,
                            net.bias_ih_l0 + net.bias_hh_l0)
    torch.testing.assert_close(out, out_ref)
    torch.testing.assert_close(h, h_ref[0])


def test_decoder_probs_is_softmax_over_vocabulary():
    torch.manual_seed(2)
    head = nn.Linear(6, 11)
    h = torch.randn(4, 6)
    p = rnn.decoder_probs(h, head.weight, head.bias)
    torch.testing.assert_close(p, torch.softmax(head(h), -1))
    torch.testing.assert_close(p.sum(-1), torch.ones(4))


def test_lstm_cell_and_gate_match_nn_lstmcell():
    torch.manual_seed(3)
    cell = nn.LSTMCell(5, 4)
    x, h, c = torch.randn(2, 5), torch.randn(2, 4), torch.randn(2, 4)
    b = cell.bias_ih + cell.bias_hh
    h1, c1 = rnn.lstm_cell(x, (h, c), cell.weight_ih, cell.weight_hh, b)
    h_ref, c_ref = cell(x, (h, c))
    torch.testing.assert_close(h1, h_ref)
    torch.testing.assert_close(c1, c_ref)
    # the forget gate alone: with i = 0 (input gate closed), c_t = f * c_{t-1}
    f = rnn.lstm_gate(x, h, cell.weight_ih[4:8], cell.weight_hh[4:8], b[4:8])
    pre = x @ cell.weight_ih.T + h @ cell.weight_hh.T + b
    torch.testing.assert_close(f, torch.sigmoid(pre[:, 4:8]))


def test_lm_batch_shifts_by_one(vocab):
    inputs, targets = rnn.lm_batch(vocab, ["a red circle", "a red circle moves left"])
    assert inputs[0].tolist()[:4] == [vocab.bos_id] + vocab.encode("a red circle")
    assert targets[0].tolist()[:4] == vocab.encode("a red circle") + [vocab.eos_id]
    assert vocab.eos_id not in inputs.tolist()[1]
    assert inputs.shape == targets.shape


def test_untrained_lm_perplexity_near_vocab_size(vocab):
    torch.manual_seed(0)
    model = rnn.CaptionLM(len(vocab))
    ppl = rnn.perplexity(model, vocab, data.all_captions("val")[:64])
    assert 0.6 * len(vocab) < ppl < 1.6 * len(vocab)


def test_perplexity_is_exp_of_the_mean_negative_log_likelihood_per_word(vocab):
    torch.manual_seed(0)
    model = rnn.CaptionLM(len(vocab), 16, 32)
    captions = ["a red circle moves left", "the blue square grows"]
    inputs, targets = rnn.lm_batch(vocab, captions)
    logits, _ = model.eval()(inputs)
    real = targets != vocab.pad_id                        # the words and their <eos>
    log_p = torch.distributions.Categorical(logits=logits).log_prob(targets)[real]
    assert real.sum() == (5 + 1) + (4 + 1)                # 9 words, 2 <eos>
    assert rnn.perplexity(model, vocab, captions) == pytest.approx(
        torch.exp(-log_p.mean()).item(), rel=1e-5)


def test_caption_lm_learns_and_samples_parse(vocab):
    torch.manual_seed(0)
    caps = data.all_captions("train")
    model = rnn.CaptionLM(len(vocab), 16, 32)
    rnn.train_caption_lm(model, vocab, caps, steps=150, seed=0)
    assert rnn.perplexity(model, vocab, data.all_captions("val")) < 6
    g = torch.Generator().manual_seed(0)
    samples = rnn.sample_captions(model, vocab, 40, temperature=0.7, generator=g)
    assert text.fraction_parsing(samples) > 0.8
    g = torch.Generator().manual_seed(0)
    assert rnn.sample_captions(model, vocab, 40, temperature=0.7, generator=g) == samples
    greedy = rnn.sample_captions(model, vocab, 3, temperature=0)
    assert len(set(greedy)) == 1
    with pytest.raises(ValueError, match="temperature"):
        rnn.sample_captions(model, vocab, 1, temperature=-1)


def test_tanh_rnn_gradient_vanishes_faster_than_lstm():
    r = rnn.gradient_norm_by_lag("rnn", seq_len=40)
    m = rnn.gradient_norm_by_lag("lstm", seq_len=40)
    assert r.shape == (40,)
    assert r[30] < 1e-4 * r[0]
    assert m[30] / m[0] > 1e3 * (r[30] / r[0])


def test_rnn_encoder_uses_last_real_step(vocab):
    torch.manual_seed(0)
    enc = rnn.RNNEncoder(len(vocab), 8, 12)
    ids, lengths = vocab.encode_batch(["a red circle moves left", "a red circle"])
    feats = enc(ids, lengths)
    alone = enc(*vocab.encode_batch(["a red circle"]))
    torch.testing.assert_close(feats[1], alone[0])
    _, h = enc.rnn(enc.embed(ids[:1]))
    torch.testing.assert_close(feats[0], h[-1, 0])


def test_next_position_rnn_learns_tracks(vocab):
    torch.manual_seed(0)
    caps, attrs, tracks = rnn.track_dataset("train", 300, num_frames=6)
    assert tracks.shape == (300, 6, 3)
    model = rnn.NextPositionRNN(len(vocab), 16, 32)
    losses = rnn.train_next_position(model, vocab, caps, tracks, steps=150, seed=0)
    assert losses[-1] < 0.1 * losses[0]
    ids, lengths = vocab.encode_batch(caps)
    roll = model.rollout(ids, lengths, tracks[:, 0], 6)
    assert roll.shape == (300, 6, 3)
    still = ((tracks[:, :1] - tracks) ** 2).mean()
    assert ((roll - tracks) ** 2).mean() < 0.3 * still


def test_render_tracks_reproduces_the_data_set():
    _, attrs, tracks = rnn.track_dataset("val", 4)
    videos, _, _ = data.MovingShapes("val", length=4).get_batch(range(4))
    torch.testing.assert_close(rnn.render_tracks(attrs, tracks), videos)


def test_rnn_unroll_checks_the_lengths():
    x = torch.randn(2, 3, 4)
    W_xh, W_hh, b_h = torch.randn(5, 4), torch.randn(5, 5), torch.randn(5)
    with pytest.raises(ValueError, match=r"lengths must lie in 0\.\.3 .*got \[3, 4\]"):
        rnn.rnn_unroll(x, torch.tensor([3, 4]), W_xh, W_hh, b_h)


def _rnn_args():
    g = torch.Generator().manual_seed(0)
    return (torch.randn(2, 4, generator=g), torch.randn(2, 5, generator=g),
            torch.randn(5, 4, generator=g), torch.randn(5, 5, generator=g),
            torch.randn(5, generator=g))


@pytest.mark.parametrize("call, message", [
    (lambda x, h, Wx, Wh, b: rnn.rnn_cell(x, h, Wx, Wh, b[None].expand(2, 5)),
     r"b_h must be \[hidden\] = \[5\], got \(2, 5\)"),
    (lambda x, h, Wx, Wh, b: rnn.rnn_cell(x, h[:1], Wx, Wh, b),
     r"x \(2, 4\) and h \(1, 5\) need the same batch size: x \[B, input\], h \[B, hidden\]"),
    (lambda x, h, Wx, Wh, b: rnn.lstm_gate(x, h, Wx.T, Wh, b),
     r"W_x must be \[hidden, input\] = \[5, 4\] \(nn.LSTMCell.weight_ih's layout\), "
     r"got \(4, 5\)"),
    (lambda x, h, Wx, Wh, b: rnn.lstm_gate(x, h, Wx, Wh[:4], b),
     r"W_h must be \[hidden, hidden\] = \[5, 5\]"),
    (lambda x, h, Wx, Wh, b: rnn.lstm_gate(x, h, Wx, Wh, b[:1]), r"b must be \[hidden\]"),
    (lambda x, h, Wx, Wh, b: rnn.lstm_gate(x, h[:1], Wx, Wh, b), r"same batch size"),
    (lambda x, h, Wx, Wh, b: rnn.lstm_cell(x, (h, h), torch.randn(16, 4), torch.randn(20, 5),
                                           torch.randn(20)),
     r"nn.LSTMCell's layout with h of 5 features: weight_ih \[4H, input\] = \[20, input\]"),
    (lambda x, h, Wx, Wh, b: rnn.lstm_cell(x, (h, h[:1]), torch.randn(20, 4),
                                           torch.randn(20, 5), torch.randn(20)),
     r"c like h \(2, 5\)"),
    (lambda x, h, Wx, Wh, b: rnn.decoder_probs(h, torch.randn(7, 5), torch.randn(2, 7)),
     r"W_hy must be \[V, H\] \(nn.Linear layout\) and b_y \[V\]; got W_hy \(7, 5\) and b_y "
     r"\(2, 7\)"),
    (lambda x, h, Wx, Wh, b: rnn.rnn_unroll(x[:, None], torch.tensor([1, 1]), Wx, Wh, b,
                                            h0=h[None]),
     r"h0 must be \[B, hidden\] = \[2, 5\], got \(1, 2, 5\); for nn.RNN's \[1, B, H\] -> h0\[0\]"),
    (lambda x, h, Wx, Wh, b: rnn.rnn_unroll(x[:, None], torch.tensor([1]), Wx, Wh, b),
     r"lengths must be an integer tensor \[B\] with one length per row, B = 2")])
def test_rnn_formulas_refuse_shapes_that_would_broadcast(call, message):
    with pytest.raises(ValueError, match=message):
        call(*_rnn_args())


def test_rnn_formulas_accept_the_notebook_shapes():
    x, h, Wx, Wh, b = _rnn_args()
    torch.testing.assert_close(rnn.rnn_unroll(x[:, None], torch.tensor([1, 1]), Wx, Wh, b,
                                              h0=h)[1], rnn.rnn_cell(x, h, Wx, Wh, b))
    probs = rnn.decoder_probs(torch.randn(2, 3, 6), torch.randn(5, 6), torch.zeros(5))
    torch.testing.assert_close(probs.sum(-1), torch.ones(2, 3))


@pytest.mark.parametrize("lengths, message", [
    (torch.tensor([5]), r"integer tensor \[B\] with one length per row, B = 2; got "
                        r"torch.int64 \(1,\)"),
    (torch.tensor([9, 3]), r"lengths must lie in 0\.\.5 .*got \[9, 3\]"),
    (torch.tensor([-1, 3]), r"lengths must lie in 0\.\.5 .*got \[-1, 3\]")])
def test_rnn_encoder_checks_the_lengths(vocab, lengths, message):
    enc = rnn.RNNEncoder(len(vocab), 8, 12)
    ids, _ = vocab.encode_batch(["a red circle moves left", "a red circle"])
    with pytest.raises(ValueError, match=message):
        enc(ids, lengths)


def test_next_position_training_wants_one_track_per_caption(vocab):
    caps, _, tracks = rnn.track_dataset("train", 8, num_frames=4)
    model = rnn.NextPositionRNN(len(vocab), 8, 8)
    with pytest.raises(ValueError, match="tracks has 7 rows for 8 captions: give one row per"):
        rnn.train_next_position(model, vocab, caps, tracks[:7], steps=1)
    ids, lengths = vocab.encode_batch(caps)
    with pytest.raises(ValueError, match="num_frames must be a whole number >= 1, got 0"):
        model.rollout(ids, lengths, tracks[:, 0], 0)     # returned one frame before
