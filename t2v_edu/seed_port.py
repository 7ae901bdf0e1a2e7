"""The seed article's Keras "text-to-video" example, ported to PyTorch line by line.

The article (section 项目实践, "source code in detail") prints a Keras LSTM-GAN. To read
it critically we run it. This module gives:

- ``ARTICLE_CODE``: the code exactly as printed, and ``undefined_names(code)``, a tiny
  static check (what ``pyflakes`` would report) for names used but never defined.
- ``run_article_code(**names)``: executes ``ARTICLE_CODE`` verbatim, its ``tensorflow.
  keras`` imports answered by the PyTorch layers below.
- Keras-like layers in PyTorch (``Input``, ``LSTM``, ``Dense``, ``RepeatVector``,
  ``TimeDistributed``) with Keras's call signatures and Keras's input rules (a
  RepeatVector takes [batch, features]; a TimeDistributed needs [batch, time, ...]),
  so each mistake fails where it fails in Keras, with a message that says why.
  ``Input(shape)`` returns an example batch (zeros), since this port runs eagerly.
- ``ArticleGenerator`` / ``ArticleDiscriminator``: the article's models with only the
  shape errors repaired (everything else as printed: softmax pixels, no text
  encoder), and ``article_training_loop``: its loop, which never trains the generator
  (with one more repair: ``article_real_data`` shows why its first line cannot stay).
- ``ARTICLE_OUTPUT`` and ``parse_printed_array``: the "running results" it prints.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import types
from typing import Iterator, NoReturn

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

ARTICLE_CODE = '''\
import tensorflow as tf
from tensorflow.keras.layers import Input, LSTM, Dense, RepeatVector, TimeDistributed
from tensorflow.keras.models import Model

# 定义生成器和判别器
def build_generator():
    input_seq = Input(shape=(timesteps, input_dim))
    x = LSTM(units=128, return_sequences=True)(input_seq)
    x = LSTM(units=128, return_sequences=True)(x)
    x = RepeatVector(timesteps)(x)
    x = LSTM(units=128, return_sequences=True)(x, return_state=True)
    x, _, _ = LSTM(units=128, return_sequences=False)(x, initial_state=x[:,-1,:])
    output = TimeDistributed(Dense(output_dim, activation='softmax'))(x)
    return Model(input_seq, output)

def build_discriminator():
    input_seq = Input(shape=(timesteps, output_dim))
    x = LSTM(units=128, return_sequences=True)(input_seq)
    x = LSTM(units=128, return_sequences=True)(x)
    x = Dense(1, activation='sigmoid')(x)
    return Model(input_seq, x)

# 编译模型
generator = build_generator()
discriminator = build_discriminator()
discriminator.compile(optimizer='adam', loss='binary_crossentropy')

# 训练模型
for epoch in range(epochs):
    for batch in batches:
        real_data = batch[:, :-timesteps]
        fake_data = generator.predict(real_data)
        real_labels = np.ones((batch.shape[0], 1))
        fake_labels = np.zeros((batch.shape[0], 1))
        discriminator.train_on_batch(real_data, real_labels)
        discriminator.train_on_batch(fake_data, fake_labels)
    # 保存生成器
    generator.save_weights('generator_weights.h5')

# 生成视频
input_seq = np.array([[0, 0, 0, 1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 0, 0, 0, 0]])
video = generator.predict(input_seq)
print(video)
'''

# The article's "running results" (运行结果展示), as printed: 12 identical rows.
_ROW = ("[-0.8560485  0.3097227 -0.1984377 -0.8662839 -0.5078876 -0.6716106\n"
        "  0.8949112  0.2049522 -0.8316092]")
ARTICLE_OUTPUT = "[" + "\n ".join([_ROW] * 12) + "]"


# ---------------------------------------------------------------------------------
# Reading the code without running it
# ---------------------------------------------------------------------------------
def undefined_names(code: str) -> list[str]:
    """Names that ``code`` reads but never defines, imports or gets from builtins.

    A whole-module approximation of what a linter (pyflakes, ruff F821) reports:
    a name bound anywhere (assignment, ``for`` target, ``def``, argument, import)
    counts as defined everywhere. Sorted, each name once.
    """
    tree = ast.parse(code)
    bound, used = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (used if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return sorted(used - bound - set(dir(builtins)))


# ---------------------------------------------------------------------------------
# Keras-like layers in PyTorch (eager; weights are created on the first call, as
# Keras's build() does)
# ---------------------------------------------------------------------------------
ACTIVATIONS = {None: lambda x: x, "linear": lambda x: x, "relu": torch.relu,
               "tanh": torch.tanh, "sigmoid": torch.sigmoid,
               "softmax": lambda x: torch.softmax(x, dim=-1)}


def Input(shape: tuple[int, ...], batch_size: int = 2) -> Tensor:
    """Keras's ``Input(shape=...)``; here an example batch of zeros [batch_size, *shape].

    Keras builds a symbolic graph; an eager port needs a real tensor to push through
    the layers, and any batch size shows the same shape errors.
    """
    if not all(isinstance(d, int) and d > 0 for d in shape):
        raise ValueError(f"Input shape must be positive integers, got {shape}")
    return torch.zeros(batch_size, *shape)


class LSTM(nn.Module):
    """Keras's ``LSTM(units, return_sequences=False, return_state=False)``.

    call(inputs [B, T, F], initial_state=[h, c]) returns
    - [B, T, units] if return_sequences else [B, units] (the last step), and
    - with return_state=True, a list [output, h, c] (h, c: [B, units]).
    ``return_state`` is a constructor argument, as in Keras; passing it to the call is
    a TypeError. An LSTM has *two* states, h and c.
    """

    def __init__(self, units: int, return_sequences: bool = False,
                 return_state: bool = False):
        super().__init__()
        self.units, self.return_sequences, self.return_state = units, return_sequences, \
            return_state
        self.cell: nn.LSTM | None = None

    def forward(self, inputs: Tensor, initial_state: list[Tensor] | None = None
                ) -> Tensor | list[Tensor]:
        if not isinstance(inputs, Tensor) or inputs.dim() != 3:
            shape = tuple(inputs.shape) if isinstance(inputs, Tensor) else type(inputs)
            raise ValueError(f"LSTM expects a 3-D input [batch, time, features], got {shape}")
        if inputs.shape[1] == 0:
            raise ValueError(f"LSTM got an input with 0 time steps, shape {tuple(inputs.shape)}")
        if self.cell is None:
            self.cell = nn.LSTM(inputs.shape[-1], self.units, batch_first=True)
        state = None
        if initial_state is not None:
            if isinstance(initial_state, Tensor) or len(initial_state) != 2:
                n = 1 if isinstance(initial_state, Tensor) else len(initial_state)
                raise ValueError(
                    f"an LSTM has 2 states [h, c], each [batch, {self.units}], but "
                    f"initial_state gave {n} tensor(s)"
                    + (f" of shape {tuple(initial_state.shape)}"
                       if isinstance(initial_state, Tensor) else ""))
            h, c = initial_state
            want = (inputs.shape[0], self.units)
            if tuple(h.shape) != want or tuple(c.shape) != want:
                raise ValueError(f"initial states must be [batch, units] = {want}, got "
                                 f"{tuple(h.shape)} and {tuple(c.shape)}")
            state = (h[None].contiguous(), c[None].contiguous())
        seq, (h, c) = self.cell(inputs, state)
        out = seq if self.return_sequences else seq[:, -1]
        return [out, h[0], c[0]] if self.return_state else out


class Dense(nn.Module):
    """Keras's ``Dense(units, activation)``: acts on the last axis of any input."""

    def __init__(self, units: int, activation: str | None = None):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation {activation!r} unknown; use one of "
                             f"{[a for a in ACTIVATIONS if a]}")
        self.units, self.activation = units, activation
        self.linear: nn.Linear | None = None

    def forward(self, inputs: Tensor) -> Tensor:
        if self.linear is None:
            self.linear = nn.Linear(inputs.shape[-1], self.units)
        return ACTIVATIONS[self.activation](self.linear(inputs))


class RepeatVector(nn.Module):
    """Keras's ``RepeatVector(n)``: [batch, features] -> [batch, n, features].

    Only 2-D input (Keras's input spec is ``ndim=2``): it repeats *one vector*, the
    encoding of a sequence, not the sequence itself.
    """

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, inputs: Tensor) -> Tensor:
        if inputs.dim() != 2:
            raise ValueError(
                f"RepeatVector repeats a vector [batch, features] into [batch, n, "
                f"features]; it got a {inputs.dim()}-D tensor of shape "
                f"{tuple(inputs.shape)}. A sequence [batch, time, features] must first be "
                "reduced to one vector, e.g. an LSTM with return_sequences=False")
        return inputs[:, None, :].expand(-1, self.n, -1)


class TimeDistributed(nn.Module):
    """Keras's ``TimeDistributed(layer)``: apply ``layer`` to every step of
    [batch, time, ...] (flatten batch and time, apply, unflatten). Needs >= 3-D input."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, inputs: Tensor) -> Tensor:
        if inputs.dim() < 3:
            raise ValueError(
                f"TimeDistributed applies a layer at every time step of a [batch, time, "
                f"...] input; it got a {inputs.dim()}-D tensor of shape "
                f"{tuple(inputs.shape)}, which has no time axis (the previous LSTM used "
                "return_sequences=False)")
        B, T = inputs.shape[:2]
        out = self.layer(inputs.flatten(0, 1))
        return out.view(B, T, *out.shape[1:])


def Model(inputs: Tensor, outputs: Tensor) -> NoReturn:  # noqa: N802 (Keras's name)
    """Keras's functional ``Model(inputs, outputs)`` has no eager equivalent.

    Written as a PyTorch ``nn.Module`` instead: see :class:`ArticleGenerator`.
    """
    raise NotImplementedError("this eager port has no symbolic Model; the repaired "
                              "models are the nn.Modules ArticleGenerator and "
                              "ArticleDiscriminator")


# ---------------------------------------------------------------------------------
# Running the printed code verbatim
# ---------------------------------------------------------------------------------
def _keras_modules() -> dict[str, types.ModuleType]:
    layers = types.ModuleType("tensorflow.keras.layers")
    for name in ("Input", "LSTM", "Dense", "RepeatVector", "TimeDistributed"):
        setattr(layers, name, globals()[name])
    models = types.ModuleType("tensorflow.keras.models")
    models.Model = Model
    keras = types.ModuleType("tensorflow.keras")
    keras.layers, keras.models = layers, models
    tf = types.ModuleType("tensorflow")
    tf.keras = keras
    return {"tensorflow": tf, "tensorflow.keras": keras,
            "tensorflow.keras.layers": layers, "tensorflow.keras.models": models}


def run_article_code(code: str = ARTICLE_CODE, **names) -> dict:
    """Execute ``code`` with ``tensorflow.keras`` answered by this module's layers.

    ``names`` are extra globals (e.g. ``timesteps=12``). Returns the namespace; raises
    whatever the code raises. Nothing is written to disk unless the code gets as far
    as ``save_weights``, which it cannot.
    """
    fake = _keras_modules()
    real_import = builtins.__import__

    def shim_import(name, globals=None, locals=None, fromlist=(), level=0):
        if name in fake:
            return fake[name] if fromlist else fake[name.split(".")[0]]
        return real_import(name, globals, locals, fromlist, level)

    namespace = {"__builtins__": {**vars(builtins), "__import__": shim_import},
                 "__name__": "article", **names}
    exec(compile(code, "<article>", "exec"), namespace)
    return namespace


@contextlib.contextmanager
def shows_error(expected: type[BaseException] = Exception) -> Iterator[None]:
    """Run a block that must fail; print the error as ``TypeName: message``.

    Raises AssertionError if the block does not fail, or fails with another type, so
    that a notebook cell which stops demonstrating its failure breaks the build.
    Prints to stdout only.
    """
    try:
        yield
    except expected as exc:
        print(f"{type(exc).__name__}: {exc}")
        return
    raise AssertionError(f"expected {expected.__name__}, but the code ran without error")


# ---------------------------------------------------------------------------------
# The article's models with only the shape errors repaired
# ---------------------------------------------------------------------------------
class ArticleGenerator(nn.Module):
    """build_generator() with the minimum repairs that let it run; nothing else.

    input [B, timesteps, input_dim] -> output [B, timesteps, output_dim].
    Repaired: the second encoder LSTM returns its last step (so RepeatVector gets a
    vector); ``return_state`` moves to the constructor and hands [h, c] to the last
    LSTM as its initial state; the last LSTM returns sequences (so TimeDistributed
    has a time axis). Kept as printed: the softmax output, no text encoder.
    """

    def __init__(self, timesteps: int, input_dim: int, output_dim: int, units: int = 128):
        super().__init__()
        self.encoder1 = LSTM(units, return_sequences=True)
        self.encoder2 = LSTM(units, return_sequences=False)          # repaired
        self.repeat = RepeatVector(timesteps)
        self.decoder1 = LSTM(units, return_sequences=True, return_state=True)  # repaired
        self.decoder2 = LSTM(units, return_sequences=True)           # repaired
        self.head = TimeDistributed(Dense(output_dim, activation="softmax"))
        self(Input((timesteps, input_dim)))                          # build the weights

    def forward(self, input_seq: Tensor) -> Tensor:
        x = self.encoder1(input_seq)
        x = self.encoder2(x)                                         # [B, units]
        x = self.repeat(x)                                           # [B, T, units]
        x, h, c = self.decoder1(x)
        x = self.decoder2(x, initial_state=[h, c])                   # [B, T, units]
        return self.head(x)                                          # [B, T, output_dim]


class ArticleDiscriminator(nn.Module):
    """build_discriminator() as printed: one sigmoid *per time step*, [B, T, 1].

    ``per_video=True`` is the repair: the second LSTM returns only its last step, so
    the output is one probability per video, [B, 1], matching labels [B, 1].
    """

    def __init__(self, timesteps: int, output_dim: int, units: int = 128,
                 per_video: bool = False):
        super().__init__()
        self.lstm1 = LSTM(units, return_sequences=True)
        self.lstm2 = LSTM(units, return_sequences=not per_video)
        self.dense = Dense(1, activation="sigmoid")
        self(Input((timesteps, output_dim)))

    def forward(self, input_seq: Tensor) -> Tensor:
        return self.dense(self.lstm2(self.lstm1(input_seq)))


def train_on_batch(model: nn.Module, optimizer: torch.optim.Optimizer, x: Tensor,
                   labels: Tensor) -> float:
    """Keras's ``train_on_batch`` with loss='binary_crossentropy': one step, the loss.

    ``F.binary_cross_entropy`` refuses an output and labels of different shapes.
    """
    loss = F.binary_cross_entropy(model(x), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def article_real_data(batch: Tensor, timesteps: int) -> Tensor:
    """The loop's first line as printed, ``real_data = batch[:, :-timesteps]``.

    It drops the last ``timesteps`` steps: a batch shaped like the model's input,
    [B, timesteps, F], gives an empty [B, 0, F]; only a batch of 2 * timesteps steps
    would leave the generator the ``timesteps`` steps it expects.
    """
    return batch[:, :-timesteps]


def article_training_loop(generator: ArticleGenerator, discriminator: ArticleDiscriminator,
                          batches: list[Tensor], epochs: int = 1, lr: float = 1e-3
                          ) -> list[float]:
    """The article's loop, with one more repair: ``real_data`` is the whole batch.

    As printed, ``real_data = batch[:, :-timesteps]`` is empty for batches
    [B, timesteps, input_dim] (see :func:`article_real_data`), so the port uses
    ``batch`` itself. As printed, ``real_data`` is both the generator's input (the
    "text") and the discriminator's "real video"; D is built for ``output_dim``
    features, so this runs only when input_dim == output_dim.
    ``generator.predict`` runs without gradients and no optimizer ever sees the
    generator's weights: only the discriminator learns. Returns D's losses.
    """
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=lr)  # compile(optimizer='adam')
    losses = []
    for _ in range(epochs):
        for batch in batches:
            real_data = batch           # repaired: the article's batch[:, :-timesteps] is empty
            with torch.no_grad():                                    # generator.predict
                fake_data = generator(real_data)
            real_labels = torch.ones(batch.shape[0], 1)
            fake_labels = torch.zeros(batch.shape[0], 1)
            losses.append(train_on_batch(discriminator, optimizer, real_data, real_labels))
            losses.append(train_on_batch(discriminator, optimizer, fake_data, fake_labels))
    return losses


# ---------------------------------------------------------------------------------
# Two repairs, as formulas (the notebook's exercises)
# ---------------------------------------------------------------------------------
def repeat_encoding(sequence: Tensor, n: int) -> Tensor:
    """What RepeatVector needs: one vector per video, repeated n times.

    sequence [B, T, F] (an LSTM run with return_sequences=True) -> its last step
    [B, F], the encoding of the whole input -> [B, n, F].
    """
    if sequence.dim() != 3:
        raise ValueError(f"sequence must be [batch, time, features], got {tuple(sequence.shape)}")
    return sequence[:, -1, None, :].expand(-1, n, -1)


def pixel_frames(h: Tensor, weight: Tensor, bias: Tensor, size: int) -> Tensor:
    """TimeDistributed(Dense(3 * size * size, activation='sigmoid')), as frames.

    frame_t = sigmoid(W h_t + b) reshaped to [3, size, size]: every pixel in (0, 1) on
    its own. h [B, T, H], weight [3*size*size, H], bias [3*size*size]
    -> [B, T, 3, size, size].
    """
    B, T, _ = h.shape
    return torch.sigmoid(h @ weight.T + bias).view(B, T, 3, size, size)


def softmax_frames(h: Tensor, weight: Tensor, bias: Tensor, size: int) -> Tensor:
    """The article's choice, softmax(W h_t + b): each frame's 3*size*size values sum to 1."""
    B, T, _ = h.shape
    return torch.softmax(h @ weight.T + bias, dim=-1).view(B, T, 3, size, size)


# ---------------------------------------------------------------------------------
# The printed "running results"
# ---------------------------------------------------------------------------------
def parse_printed_array(text: str) -> np.ndarray:
    """Parse a NumPy-printed array (nested brackets, spaces) back into an array."""
    depth = len(text) - len(text.lstrip("["))
    rows = [r for r in text.replace("[", " ").split("]") if r.strip()]
    values = [[float(v) for v in r.split()] for r in rows]
    array = np.array(values)
    if depth > 2:
        raise ValueError(f"only 1-D and 2-D printouts are supported, got depth {depth}")
    return array if depth == 2 else array.ravel()


def printout(array: np.ndarray) -> str:
    """How ``print(array)`` shows an array (NumPy's repr of its values)."""
    return np.array2string(np.asarray(array), separator=" ")


def constant_rows(array: np.ndarray, atol: float = 1e-6) -> bool:
    """True when every row equals the first: nothing changes from step to step."""
    array = np.asarray(array)
    return bool(np.allclose(array, array[:1], atol=atol))
