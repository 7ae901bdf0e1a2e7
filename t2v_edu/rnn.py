"""Recurrent networks (notebook 02): the seed's encoder and decoder, LSTM, vanishing gradients.

- ``rnn_cell`` / ``rnn_unroll``: h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h), the seed's
  encoder, with ``nn.RNNCell``'s weight layout, over a padded batch with lengths.
- ``decoder_probs``: p(y_t | y_<t) = softmax(W_hy h_t + b_y), a distribution over *words*.
- ``CaptionLM``: a GRU/LSTM caption language model, ``perplexity``, ``sample_captions``.
- ``lstm_gate`` / ``lstm_cell``: the LSTM's equations (``nn.LSTMCell`` layout).
- ``gradient_norm_by_lag``: |∂h_T/∂x_t| against T - t for a tanh RNN and an LSTM.
- ``RNNEncoder``: final hidden state -> caption features (for ``text.CaptionClassifier``).
- ``NextPositionRNN``: an RNN whose state is rolled forward frame by frame, predicting
  an object's position and size from the caption: the bridge to notebook 08.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from . import data
from .text import (BagOfEmbeddings, Vocab, check_lengths, check_one_per_caption, fit,
                   padding_lengths_mask)


# ---------------------------------------------------------------------------------
# The seed's encoder: one tanh RNN step, and the unrolled loop
# ---------------------------------------------------------------------------------
def check_step(x: Tensor, h: Tensor, W_x: Tensor, W_h: Tensor, b: Tensor,
               names: tuple[str, str, str], layout: str) -> None:
    """The shapes of one recurrent step: x [B, I], h [B, H], W_x [H, I], W_h [H, H], b [H]."""
    H, I = h.shape[-1], x.shape[-1]
    if W_x.shape != (H, I):
        raise ValueError(f"x has {I} features and h {H}, so {names[0]} must be [hidden, input] "
                         f"= [{H}, {I}] ({layout}.weight_ih's layout), got {tuple(W_x.shape)}")
    if W_h.shape != (H, H):
        raise ValueError(f"h has {H} features but {names[1]} is {tuple(W_h.shape)}; "
                         f"{names[1]} must be [hidden, hidden] = [{H}, {H}]")
    if b.shape != (H,):
        raise ValueError(f"{names[2]} must be [hidden] = [{H}], got {tuple(b.shape)}")
    if x.shape[:-1] != h.shape[:-1]:
        raise ValueError(f"x {tuple(x.shape)} and h {tuple(h.shape)} need the same batch "
                         "size: x [B, input], h [B, hidden]")


def rnn_cell(x: Tensor, h: Tensor, W_xh: Tensor, W_hh: Tensor, b_h: Tensor) -> Tensor:
    """h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)   (the article's W_eh e_t + ...).

    Rows are batch items, so in code this is tanh(x W_xhᵀ + h W_hhᵀ + b_h), the layout
    of ``nn.RNNCell``: W_xh = weight_ih [H, I], W_hh = weight_hh [H, H],
    b_h = bias_ih + bias_hh [H]. x: [B, I], h: [B, H] -> [B, H]
    """
    check_step(x, h, W_xh, W_hh, b_h, ("W_xh", "W_hh", "b_h"), "nn.RNNCell")
    return torch.tanh(x @ W_xh.T + h @ W_hh.T + b_h)


def rnn_unroll(x: Tensor, lengths: Tensor, W_xh: Tensor, W_hh: Tensor, b_h: Tensor,
               h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Apply ``rnn_cell`` along time over a padded batch.

    x: [B, T, I]; lengths: int64 [B] in 0..T -> outputs [B, T, H] (zero after each
    length) and h_last [B, H], the hidden state at each sequence's last real step
    (padding never changes it, as with ``pack_padded_sequence``).
    """
    B, T, _ = x.shape
    check_lengths(lengths, T, B)
    if h0 is not None and h0.shape != (B, W_hh.shape[0]):
        raise ValueError(f"h0 must be [B, hidden] = [{B}, {W_hh.shape[0]}], got "
                         f"{tuple(h0.shape)}; for nn.RNN's [1, B, H] -> h0[0]")
    h = x.new_zeros(B, W_hh.shape[0]) if h0 is None else h0
    valid = padding_lengths_mask(lengths, T).to(x.dtype)           # [B, T]
    outputs = []
    for t in range(T):
        h_new = rnn_cell(x[:, t], h, W_xh, W_hh, b_h)
        keep = valid[:, t, None]
        h = keep * h_new + (1 - keep) * h                           # freeze after the end
        outputs.append(keep * h_new)
    return torch.stack(outputs, 1), h


# ---------------------------------------------------------------------------------
# The seed's decoder: a softmax over the vocabulary
# ---------------------------------------------------------------------------------
def decoder_probs(h: Tensor, W_hy: Tensor, b_y: Tensor) -> Tensor:
    """p(y_t | y_<t, x) = softmax(W_hy h_t + b_y): one probability per vocabulary word.

    h: [..., H]; W_hy: [V, H] (nn.Linear layout); b_y: [V] -> [..., V], rows sum to 1
    """
    if W_hy.dim() != 2 or W_hy.shape[1] != h.shape[-1] or b_y.shape != W_hy.shape[:1]:
        raise ValueError(f"with h [..., H] = {tuple(h.shape)}, W_hy must be [V, H] (nn.Linear "
                         f"layout) and b_y [V]; got W_hy {tuple(W_hy.shape)} and b_y "
                         f"{tuple(b_y.shape)}")
    return torch.softmax(h @ W_hy.T + b_y, dim=-1)


RNN_CELLS = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}


def make_rnn(cell: str, input_size: int, hidden_size: int) -> nn.Module:
    """A one-layer, batch-first ``nn.GRU``, ``nn.LSTM`` or (tanh) ``nn.RNN``."""
    if cell not in RNN_CELLS:
        raise ValueError(f"cell {cell!r} is unknown; use one of {sorted(RNN_CELLS)}")
    return RNN_CELLS[cell](input_size, hidden_size, batch_first=True)


class CaptionLM(nn.Module):
    """Embedding -> GRU or LSTM -> linear: logits of the next word at every position."""

    def __init__(self, vocab_size: int, embed_dim: int = 32, hidden_size: int = 64,
                 cell: str = "gru"):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=Vocab.pad_id)
        self.rnn = make_rnn(cell, embed_dim, hidden_size)
        self.head = nn.Linear(hidden_size, vocab_size)   # W_hy, b_y

    def forward(self, ids: Tensor, state: Tensor | tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
        """ids: [B, L] -> (logits [B, L, V], state)."""
        out, state = self.rnn(self.embed(ids), state)
        return self.head(out), state


def lm_batch(vocab: Vocab, captions: Sequence[str]) -> tuple[Tensor, Tensor]:
    """Inputs <bos> w1 .. wn and targets w1 .. wn <eos>, padded: two int64 [B, L]."""
    ids, _ = vocab.encode_batch(captions, bos=True, eos=True)
    inputs = ids[:, :-1].clone()
    inputs[inputs == vocab.eos_id] = vocab.pad_id
    return inputs, ids[:, 1:]


def lm_loss(model: CaptionLM, inputs: Tensor, targets: Tensor) -> Tensor:
    """Mean cross-entropy of the next word over real (non-pad) targets."""
    logits, _ = model(inputs)
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=Vocab.pad_id)


@torch.no_grad()
def perplexity(model: CaptionLM, vocab: Vocab, captions: Sequence[str]) -> float:
    """PPL = exp(-(1/N) sum_i log p(w_i | w_<i)) over the N words, <eos> included."""
    model.eval()
    return math.exp(lm_loss(model, *lm_batch(vocab, captions)).item())


def train_caption_lm(model: CaptionLM, vocab: Vocab, captions: Sequence[str], steps: int = 400,
                     batch_size: int = 64, lr: float = 3e-3, seed: int = 0) -> list[float]:
    """``text.fit`` on ``lm_loss`` (gradient norm clipped at 1); the loss per step."""
    inputs, targets = lm_batch(vocab, captions)
    return fit(model, lambda i: lm_loss(model, inputs[i], targets[i]), len(captions),
               steps, batch_size, lr, seed, max_grad_norm=1.0)


@torch.no_grad()
def sample_captions(model: CaptionLM, vocab: Vocab, num: int = 8, temperature: float = 1.0,
                    max_len: int = 12, generator: torch.Generator | None = None) -> list[str]:
    """Generate captions word by word from <bos> until <eos> (or ``max_len`` words).

    temperature 0 is greedy (argmax); otherwise sample from softmax(logits / temperature).
    Special tokens other than <eos> are never produced.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature}")
    model.eval()
    device = next(model.parameters()).device
    token = torch.full((num, 1), vocab.bos_id, dtype=torch.long, device=device)
    state, out = None, []
    done = torch.zeros(num, dtype=torch.bool, device=device)
    banned = [vocab.pad_id, vocab.unk_id, vocab.bos_id]
    for _ in range(max_len + 1):
        logits, state = model(token, state)
        logits = logits[:, -1].clone()
        logits[:, banned] = -float("inf")
        if temperature == 0:
            token = logits.argmax(-1, keepdim=True)
        else:
            probs = torch.softmax(logits / temperature, -1)
            token = torch.multinomial(probs.cpu(), 1, generator=generator).to(device)
        token = torch.where(done[:, None], torch.full_like(token, vocab.pad_id), token)
        out.append(token)
        done |= token[:, 0] == vocab.eos_id
        if done.all():
            break
    return vocab.decode_batch(torch.cat(out, 1))


# ---------------------------------------------------------------------------------
# LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000)
# ---------------------------------------------------------------------------------
def lstm_gate(x: Tensor, h: Tensor, W_x: Tensor, W_h: Tensor, b: Tensor) -> Tensor:
    """One gate, e.g. the forget gate f_t = σ(W_xf x_t + W_hf h_{t-1} + b_f).

    x: [B, I]; h: [B, H]; W_x: [H, I]; W_h: [H, H]; b: [H] -> [B, H] in (0, 1)
    """
    check_step(x, h, W_x, W_h, b, ("W_x", "W_h", "b"), "nn.LSTMCell")
    return torch.sigmoid(x @ W_x.T + h @ W_h.T + b)


def lstm_cell(x: Tensor, state: tuple[Tensor, Tensor], weight_ih: Tensor, weight_hh: Tensor,
              bias: Tensor) -> tuple[Tensor, Tensor]:
    """One LSTM step, with ``nn.LSTMCell``'s layout (gates stacked i, f, g, o):

        i = σ(W_xi x + W_hi h + b_i)   f = σ(W_xf x + W_hf h + b_f)
        g = tanh(W_xg x + W_hg h + b_g) o = σ(W_xo x + W_ho h + b_o)
        c_t = f ⊙ c_{t-1} + i ⊙ g       h_t = o ⊙ tanh(c_t)

    x: [B, I]; state (h, c): [B, H] each; weight_ih: [4H, I]; weight_hh: [4H, H];
    bias = bias_ih + bias_hh: [4H] -> (h_t, c_t)
    """
    h, c = state
    H = h.shape[-1]
    if weight_ih.shape[:1] != (4 * H,) or weight_hh.shape != (4 * H, H) \
            or bias.shape != (4 * H,) or c.shape != h.shape:
        raise ValueError(f"nn.LSTMCell's layout with h of {H} features: weight_ih [4H, input] "
                         f"= [{4 * H}, input], weight_hh [4H, H] = [{4 * H}, {H}], bias [4H] = "
                         f"[{4 * H}] (gates i, f, g, o stacked) and c like h {tuple(h.shape)}; "
                         f"got {tuple(weight_ih.shape)}, {tuple(weight_hh.shape)}, "
                         f"{tuple(bias.shape)} and c {tuple(c.shape)}")
    Wx, Wh, b = weight_ih.chunk(4, 0), weight_hh.chunk(4, 0), bias.chunk(4, 0)
    i = lstm_gate(x, h, Wx[0], Wh[0], b[0])
    f = lstm_gate(x, h, Wx[1], Wh[1], b[1])
    g = torch.tanh(x @ Wx[2].T + h @ Wh[2].T + b[2])
    o = lstm_gate(x, h, Wx[3], Wh[3], b[3])
    c = f * c + i * g
    return o * torch.tanh(c), c


# ---------------------------------------------------------------------------------
# Vanishing gradients (Bengio, Simard & Frasconi 1994)
# ---------------------------------------------------------------------------------
def gradient_norm_by_lag(cell: str = "rnn", seq_len: int = 60, hidden_size: int = 32,
                         input_size: int = 8, batch_size: int = 16, forget_bias: float = 1.0,
                         seed: int = 0) -> Tensor:
    """‖∂(rᵀh_T)/∂x_t‖ (mean over the batch) for lags T - t = 0 .. seq_len-1 -> [seq_len].

    An untrained ``nn.RNN`` (tanh) or ``nn.LSTM`` with PyTorch's initialisation; the
    LSTM's forget-gate bias is set to ``forget_bias`` (a common choice is 1), so the
    cell state c_t = f ⊙ c_{t-1} + ... carries the gradient across many steps.
    The gradient is of a fixed random projection of the last hidden state.
    """
    if cell not in ("rnn", "lstm"):
        raise ValueError(f"cell {cell!r} is unknown; use 'rnn' or 'lstm'")
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = make_rnn(cell, input_size, hidden_size)
    if cell == "lstm":
        with torch.no_grad():
            for name in ("bias_ih_l0", "bias_hh_l0"):
                getattr(net, name)[hidden_size:2 * hidden_size] = forget_bias / 2
    x = torch.randn(batch_size, seq_len, input_size, generator=g, requires_grad=True)
    out, _ = net(x)
    readout = torch.randn(hidden_size, generator=g)
    (out[:, -1] @ readout).sum().backward()
    norms = x.grad.norm(dim=-1).mean(0)                             # [T], by time t
    return norms.flip(0)                                            # by lag T-1-t


# ---------------------------------------------------------------------------------
# An RNN caption encoder
# ---------------------------------------------------------------------------------
class RNNEncoder(nn.Module):
    """Embedding -> GRU (or LSTM/RNN); caption feature = the last real step's hidden state."""

    def __init__(self, vocab_size: int, embed_dim: int = 32, hidden_size: int = 64,
                 cell: str = "gru"):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=Vocab.pad_id)
        self.rnn = make_rnn(cell, embed_dim, hidden_size)
        self.out_dim = hidden_size

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        check_lengths(lengths, ids.shape[1], ids.shape[0])
        lengths = lengths.cpu()                  # pack_padded_sequence reads them here anyway,
        check_lengths(lengths, ids.shape[1])     # so their values are checked at no extra cost
        packed = pack_padded_sequence(self.embed(ids), lengths.clamp(min=1),
                                      batch_first=True, enforce_sorted=False)
        _, state = self.rnn(packed)
        h = state[0] if isinstance(state, tuple) else state          # LSTM: (h, c)
        return h[-1]                                                 # [B, H]


# ---------------------------------------------------------------------------------
# Rolling a frame-level state forward: the next position of an object
# ---------------------------------------------------------------------------------
def object_tracks(attrs: Sequence[list[dict]], geometry: Sequence[list[dict]],
                  num_frames: int) -> Tensor:
    """(x, y, radius) of each video's first object over time: float32 [B, T, 3]."""
    tracks = []
    for a, geo in zip(attrs, geometry):
        x, y, r = data.motion_track(a[0]["motion"], num_frames, (geo[0]["x"], geo[0]["y"]),
                                    geo[0]["travel"], geo[0]["radius"])
        tracks.append(np.stack([x, y, r], -1))
    return torch.tensor(np.stack(tracks), dtype=torch.float32)


def track_dataset(split: str, num: int, num_frames: int = 8, seed: int = 0,
                  spec: str | data.DataSpec = "cpu") -> tuple[list[str], list, Tensor]:
    """Captions, attrs and object tracks [num, T, 3] of a ``data.MovingShapes`` split."""
    ds = data.MovingShapes(split, num_frames=num_frames, length=num, seed=seed, spec=spec)
    described = [ds.describe(i) for i in range(num)]
    captions = [d[0] for d in described]
    attrs = [d[1] for d in described]
    return captions, attrs, object_tracks(attrs, [d[2] for d in described], num_frames)


def render_tracks(attrs: Sequence[list[dict]], tracks: Tensor, size: int = 32) -> Tensor:
    """Draw each first object along its (x, y, radius) track [B, T, 3] -> [B, T, 3, H, W]."""
    shape_id = torch.tensor([[data.ALL_SHAPES.index(a[0]["shape"])] for a in attrs])
    color = torch.tensor([[data.PALETTE[a[0]["color"]]] for a in attrs])     # [B, 1, 3]
    t = tracks.detach().float().cpu()
    return data.render_batch(shape_id, color, t[None, ..., 0].transpose(0, 1),
                             t[None, ..., 1].transpose(0, 1),
                             t[None, ..., 2].clamp(min=0.01).transpose(0, 1), size)


class NextPositionRNN(nn.Module):
    """h_0 = tanh(W [caption feature, first position] + b);  h_t = GRU(p_{t-1}, h_{t-1});
    p_t = p_{t-1} + W_out h_t + b_out.

    The state is rolled forward one frame at a time, each step predicting the next
    (x, y, radius) of the object: the seed's "RNN video decoder" with a 3-number frame.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 32, hidden_size: int = 64):
        super().__init__()
        self.text = BagOfEmbeddings(vocab_size, embed_dim)
        self.init = nn.Linear(embed_dim + 3, hidden_size)
        self.cell = nn.GRUCell(3, hidden_size)
        self.out = nn.Linear(hidden_size, 3)

    def forward(self, ids: Tensor, lengths: Tensor, tracks: Tensor) -> Tensor:
        """Teacher forcing: predictions of frames 1..T-1 from the true frames 0..T-2.

        tracks: [B, T, 3] -> [B, T-1, 3]
        """
        h = torch.tanh(self.init(torch.cat([self.text(ids, lengths), tracks[:, 0]], -1)))
        preds = []
        for t in range(1, tracks.shape[1]):
            h = self.cell(tracks[:, t - 1], h)
            preds.append(tracks[:, t - 1] + self.out(h))
        return torch.stack(preds, 1)

    @torch.no_grad()
    def rollout(self, ids: Tensor, lengths: Tensor, start: Tensor, num_frames: int) -> Tensor:
        """Free running: feed back its own predictions. start: [B, 3] -> [B, num_frames, 3]"""
        data.check_whole("num_frames", num_frames)
        h = torch.tanh(self.init(torch.cat([self.text(ids, lengths), start], -1)))
        p, out = start, [start]
        for _ in range(num_frames - 1):
            h = self.cell(p, h)
            p = p + self.out(h)
            out.append(p)
        return torch.stack(out, 1)


def train_next_position(model: NextPositionRNN, vocab: Vocab, captions: Sequence[str],
                        tracks: Tensor, steps: int = 400, batch_size: int = 64,
                        lr: float = 3e-3, seed: int = 0) -> list[float]:
    """``text.fit`` on the mean squared error of the next (x, y, radius)."""
    check_one_per_caption(captions, tracks, "tracks")
    ids, lengths = vocab.encode_batch(captions)

    def batch_loss(i: Tensor) -> Tensor:
        return F.mse_loss(model(ids[i], lengths[i], tracks[i]), tracks[i, 1:])

    return fit(model, batch_loss, len(captions), steps, batch_size, lr, seed)


@dataclass(frozen=True)
class RNNPreset:
    """Notebook 02's sizes and training steps."""

    lm_steps: int
    encoder_steps: int
    track_steps: int
    num_tracks: int
    hidden_size: int


PRESETS = {"cpu": RNNPreset(lm_steps=400, encoder_steps=300, track_steps=400, num_tracks=2000,
                            hidden_size=64),
           "gpu": RNNPreset(lm_steps=2000, encoder_steps=1500, track_steps=2000,
                            num_tracks=20000, hidden_size=128)}
