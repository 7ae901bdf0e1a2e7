"""One training loop for every model of the course: ``t2v-edu train``.

    t2v-edu train --model classic --preset cpu --out runs/classic
    t2v-edu train --model classic --preset gpu --out runs/gpu --time-budget 7
    t2v-edu train --model classic --preset cpu --set embed_dim=128 --set num_layers=4
    torchrun --nproc_per_node 2 -m t2v_edu.cli train --model classic --out runs/ddp

A model plugs in through a plain module (``MODELS`` maps its name to it) that has
- ``PRESETS``: {"cpu": preset, "gpu": preset}, frozen dataclasses with at least the
  fields ``data_spec``, ``num_frames``, ``size`` and ``batch_size``;
- ``build(preset) -> nn.Module`` whose ``sample(captions, generator)`` returns videos
  [B, T, 3, H, W] in [0, 1];
- ``stages(model, preset) -> list[Stage]``: what to optimise, in order (the classic
  model: its frame tokenizer, then its transformer).
Optional preset fields: ``bf16`` (autocast on CUDA), ``storage_dtype`` ("float16"
stores ``model.pt`` at half size) and ``two_object_prob`` (the training videos' share of
two-object captions, in place of the data spec's; the test splits keep the spec's).

What the loop guarantees
- Data by step index: step s of a stage trains on videos ``s * batch ...`` of an
  endless "train" split, and the random number generator is re-seeded from (seed,
  stage, step) before each step. So ``--resume`` after a kill reaches exactly the
  weights of an uninterrupted run.
- Learning rate: linear warm-up, then cosine decay over the stage's progress, where
  progress = max(step / steps, time used / time allowed) under ``--time-budget``.
  The budget is shared among the stages by their ``time_share``; the run stops
  cleanly, with the schedule finished, and saves.
- Files in ``--out``: ``model.pt`` (weights + preset, ``.sha256`` beside it, what
  ``t2v-edu generate --checkpoint`` loads), ``model.json`` (how it was trained),
  ``train_state.pt`` (optimiser and position, for ``--resume``), ``metrics.jsonl``
  and ``samples/*.gif``. Every write is atomic.
- Continuing: ``--init-from CHECKPOINT`` starts from a ``model.pt`` of the same model
  and preset with a fresh schedule; ``--from-stage transformer`` also skips the stages
  before it (their weights come from the checkpoint). The model card names the
  weights it continued from.
- Data parallel: under ``torchrun`` each process trains on its slice of the batch
  and the gradients are averaged with one all-reduce (what DistributedDataParallel
  does, without overlapping it with the backward pass). gloo on CPU, nccl on CUDA.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import json
import math
import numbers
import os
import platform
import time
import types
import typing
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence, TypeVar

import torch
from torch import Tensor, nn

from . import checkpoint as ckpt
from . import data

if TYPE_CHECKING:  # annotations only: the model modules import this one
    from . import flow, seed_model, t2v

    ModelPreset = t2v.Preset | flow.Preset | seed_model.SeedPreset  # one model's preset

MODELS = {"classic": "t2v_edu.t2v", "modern": "t2v_edu.flow", "seed": "t2v_edu.seed_model"}
ENDLESS = 2**31 - 1  # length of the training split: every step sees new videos
PresetT = TypeVar("PresetT")  # one model's preset dataclass


def lookup_preset(presets: dict[str, PresetT], preset: str | PresetT) -> PresetT:
    """``presets[preset]`` for a name, the preset itself otherwise (one model's table).

    An unknown name raises ValueError listing the names the table has.
    """
    if not isinstance(preset, str):
        kind = type(next(iter(presets.values())))
        if not isinstance(preset, kind):
            raise TypeError(f"preset must be a name, one of {sorted(presets)}, or a "
                            f"{kind.__name__}; got {type(preset).__name__} {preset!r:.60}")
        return preset
    if preset not in presets:
        raise ValueError(f"preset {preset!r} is unknown; use one of {sorted(presets)}")
    return presets[preset]


STORAGE_DTYPES = ("float32", "float16")   # a preset's storage_dtype (float16: half the size)


def check_fields(preset: ModelPreset, positive: Sequence[str] = (),
                 at_least_zero: Sequence[str] = (), shares: Sequence[str] = ()) -> None:
    """ValueError naming the first field of ``preset`` out of its range: ``positive``
    fields (sizes, counts of steps or layers, learning rates) must be > 0,
    ``at_least_zero`` ones >= 0 and ``shares`` (probabilities, fractions) in [0, 1].
    A tuple needs at least one item, each checked; None passes (the field is unset). Also
    checks ``storage_dtype`` where the preset has one. Presets call it in
    ``__post_init__``, so a bad ``--set`` or ``dataclasses.replace`` fails at once."""
    rules = ([(name, "> 0", lambda v: v > 0) for name in positive]
             + [(name, ">= 0", lambda v: v >= 0) for name in at_least_zero]
             + [(name, "between 0 and 1", lambda v: 0 <= v <= 1) for name in shares])
    for name, wanted, ok in rules:
        value = getattr(preset, name)
        items = value if isinstance(value, tuple) else (value,)
        if not items or not all(v is None or ok(v) for v in items):
            raise ValueError(f"{name}={value!r} does not work: it must be {wanted}"
                             + (" (one or more items, each)" if isinstance(value, tuple)
                                else ""))
    dtype = getattr(preset, "storage_dtype", "float32")
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"storage_dtype={dtype!r} is unknown; use one of {STORAGE_DTYPES}")


def check_divides(preset: ModelPreset, whole: str, part: str, what: str) -> None:
    """ValueError unless field ``part`` divides field ``whole`` (``what``: why it must)."""
    if getattr(preset, whole) % getattr(preset, part):
        raise ValueError(f"{whole}={getattr(preset, whole)} is not divisible by "
                         f"{part}={getattr(preset, part)} ({what})")


@dataclass
class Stage:
    """One optimisation stage: which parameters, which loss, how long.

    loss(videos [B, T, 3, H, W], captions) -> (scalar loss, {name: scalar} to log; the
    loop reads them only when it logs, so a GPU is not made to wait every step).
    preview(videos, captions) -> videos to save as a GIF (reconstructions, samples).
    """

    name: str
    steps: int
    lr: float
    parameters: list[nn.Parameter]
    loss: Callable[[Tensor, list[str]], tuple[Tensor, dict[str, Tensor]]]
    preview: Callable[[Tensor, list[str]], Tensor] | None = None
    time_share: float = 1.0
    warmup: int = 50
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float = 1.0
    batch_size: int | None = None   # default: the preset's
    final_lr_fraction: float = 0.1  # the cosine decays to lr * this
    uses_videos: bool = True        # False: loss gets videos=None (captions only: nothing drawn)


# ---------------------------------------------------------------------------------
# The model registry
# ---------------------------------------------------------------------------------
def model_module(name: str) -> ModuleType:
    """The module that defines model ``name`` (PRESETS, build, stages)."""
    if name not in MODELS:
        raise ValueError(f"model {name!r} is unknown; use one of {sorted(MODELS)}")
    try:
        return importlib.import_module(MODELS[name])
    except ModuleNotFoundError as exc:
        if exc.name != MODELS[name]:
            raise
        raise ValueError(f"model {name!r} ({MODELS[name]}) is not part of this version") from exc


def available_models() -> list[str]:
    """Names of the models whose module exists."""
    return [name for name, mod in MODELS.items() if importlib.util.find_spec(mod) is not None]


def get_preset(module: ModuleType, preset: str) -> Any:
    """``module.PRESETS[preset]`` (a model's preset dataclass); ValueError if unknown."""
    return lookup_preset(module.PRESETS, preset)


def _setting_value(text: str) -> Any:
    """A ``--set`` value: a Python literal (0.6, 128, True, None, (32, 64)), else text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


_KINDS = {bool: "True or False", int: "a whole number", float: "a number", str: "a word",
          tuple: "a tuple like (32, 64)"}


def _fits(value: Any, hint: Any) -> Any:
    """``value`` as the field type ``hint`` (int, float, bool, str, tuple[...], or one of
    them | None); TypeError naming what the field takes if it is not one."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union,
                                                                   types.UnionType) else (hint,)
    if value is None and type(None) in options:
        return None
    base = next(typing.get_origin(t) or t for t in options if t is not type(None))
    if isinstance(value, list) and base is tuple:
        value = tuple(value)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if base is float and number:
        return float(value)
    if isinstance(value, base) and (base is bool or not isinstance(value, bool)):
        return value
    takes = _KINDS.get(base, base.__name__) + (" or None" if type(None) in options else "")
    raise TypeError(takes)


def apply_settings(preset: PresetT, settings: Sequence[str]) -> PresetT:
    """The preset with each ``NAME=VALUE`` of ``settings`` in place of its field
    (``t2v-edu train --set``). VALUE is read as a Python literal (0.6, 128, True, None,
    (32, 64)), anything else as text; it must have the field's type.
    """
    hints = typing.get_type_hints(type(preset))
    names = [f.name for f in fields(preset)]
    changes = {}
    for item in settings:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--set {item!r}: write NAME=VALUE, e.g. --set embed_dim=128")
        if name not in names:
            raise ValueError(f"--set {item!r}: the preset has no field {name!r}; its fields: "
                             f"{', '.join(names)}")
        try:
            changes[name] = _fits(_setting_value(text.strip()), hints[name])
        except TypeError as exc:
            raise ValueError(f"--set {item!r}: {name} takes {exc} (the preset has "
                             f"{getattr(preset, name)!r})") from None
    try:
        return replace(preset, **changes)
    except ValueError as exc:   # the preset's own checks (check_fields)
        raise ValueError(f"{set_options(settings)}: {exc}") from None


def training_spec(preset: ModelPreset) -> data.DataSpec:
    """The data spec of the training videos: the preset's ``data_spec``, with the
    preset's optional ``two_object_prob`` (None: the spec's) as its share of two-object
    captions. Only the training split changes; the test splits stay the spec's."""
    spec = data.get_spec(preset.data_spec)
    share = getattr(preset, "two_object_prob", None)
    if share is None:
        return spec
    if spec.max_objects < 2 or not 0.0 <= share <= 1.0:
        raise ValueError(f"two_object_prob={share!r} needs a data spec with two objects "
                         f"(spec {preset.data_spec!r} has at most {spec.max_objects}) and a "
                         "share between 0 and 1")
    return replace(spec, two_object_prob=share)


def preset_to_dict(preset: ModelPreset) -> dict:
    """A preset as plain numbers and strings (what ``weights_only=True`` loads)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(preset).items()}


def preset_from_dict(module: ModuleType, name: str, config: dict) -> ModelPreset:
    """Rebuild a preset saved by ``preset_to_dict`` (tuples come back as tuples).

    A field the saved preset lacks takes the value in the class's optional ``LEGACY``
    dict (what checkpoints from before that field imply), else its default.
    """
    cls = type(next(iter(module.PRESETS.values())))
    known = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    return cls(**{**getattr(cls, "LEGACY", {}), **known})


def model_state(model_name: str, preset_name: str, preset: ModelPreset, model: nn.Module,
                meta: dict) -> dict:
    """The contents of ``model.pt``: tensors and primitives only.

    Floating-point weights are stored in the preset's ``storage_dtype`` (optional
    field, default "float32"; "float16" halves the file) and come back as float32.
    """
    dtype = getattr(torch, getattr(preset, "storage_dtype", "float32"))
    weights = {k: v.detach().cpu().to(dtype) if v.is_floating_point() else v.detach().cpu()
               for k, v in model.state_dict().items()}
    return {"format": "t2v-edu/1", "model": model_name, "preset": preset_name,
            "config": preset_to_dict(preset), "meta": meta, "state_dict": weights}


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu",
               expected_model: str | None = None, expected_sha256: str | None = None,
               ) -> tuple[nn.Module, Any, dict]:
    """(model in eval mode, preset, meta) from a ``model.pt`` (SHA-256 checked)."""
    state = ckpt.load_checkpoint(path, expected_sha256=expected_sha256)
    if state.get("format") != "t2v-edu/1":
        raise ValueError(f"{path} is not a t2v-edu model checkpoint (no format tag); "
                         "use the model.pt that t2v-edu train writes")
    if expected_model is not None and state["model"] != expected_model:
        raise ValueError(f"{path} holds model {state['model']!r}, not {expected_model!r}: "
                         f"load it as model {state['model']!r} (t2v-edu's --model {state['model']})")
    module = model_module(state["model"])
    preset = preset_from_dict(module, state["preset"], state["config"])
    model = module.build(preset)
    model.load_state_dict(state["state_dict"])
    return model.to(device).eval(), preset, state["meta"]


# ---------------------------------------------------------------------------------
# Schedule, data, distributed helpers
# ---------------------------------------------------------------------------------
def learning_rate(base_lr: float, step: int, warmup: int, progress: float,
                  final_fraction: float = 0.1) -> float:
    """lr = base * min(1, (step + 1) / warmup) * (f + (1 - f) (1 + cos(pi p)) / 2).

    Linear warm-up, then cosine decay to f = final_fraction of the base over the
    stage's progress p in [0, 1].
    """
    warm = min(1.0, (step + 1) / max(1, warmup))
    p = min(max(progress, 0.0), 1.0)
    f = final_fraction
    return base_lr * warm * (f + (1 - f) * 0.5 * (1.0 + math.cos(math.pi * p)))


def step_seed(seed: int, stage: int, step: int) -> int:
    """The seed of one training step: a pure function of its position."""
    return (seed * 1_000_003 + stage * 10_007_321 + step) % (2**63 - 1)


@dataclass
class Distributed:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> Distributed:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Distributed()
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Distributed(rank=dist.get_rank(), world=dist.get_world_size())


def average_gradients(parameters: list[nn.Parameter], dist_info: Distributed) -> None:
    """grad <- mean over processes, with one all-reduce of all gradients flattened."""
    if dist_info.world == 1:
        return
    import torch.distributed as dist

    grads = [p.grad for p in parameters if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist_info.world
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def agree(value: float, dist_info: Distributed) -> float:
    """The largest ``value`` over processes (so that all stop at the same step)."""
    if dist_info.world == 1:
        return value
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())


def broadcast_parameters(model: nn.Module, dist_info: Distributed) -> None:
    if dist_info.world == 1:
        return
    import torch.distributed as dist

    for t in model.state_dict().values():
        dist.broadcast(t, src=0)


def data_workers(device: torch.device, dist_info: Distributed,
                 cpu_count: int | None = None) -> int:
    """How many worker processes prepare batches: none on a CPU (the cores train); on
    CUDA the environment variable T2V_DATA_WORKERS when set, else half the machine's
    cores shared by the processes, between 1 and 8 (``gpu_train.sh`` counts runs side by
    side on one GPU as processes).

    One worker prepares about 2,200-2,700 gpu-preset videos/s on a slow 2-core machine
    (``benchmarks/data_speed.py --prepare``); the three workers of the first H100 runs
    likely held the tokenizer stage to about 6,000 videos/s (benchmarks/results/README.md).
    """
    if device.type != "cuda":
        return 0
    chosen = data_workers_from_environment()
    if chosen is not None:
        return chosen
    cores = (os.cpu_count() or 4) if cpu_count is None else cpu_count
    return max(1, min(8, cores // (2 * dist_info.world)))


def data_workers_from_environment() -> int | None:
    """``T2V_DATA_WORKERS`` as a number of loader workers (None when unset)."""
    value = os.environ.get("T2V_DATA_WORKERS")
    if not value:
        return None
    if not value.isdigit():
        raise ValueError(f"T2V_DATA_WORKERS must be a whole number >= 0, got {value!r}")
    return int(value)


class BatchSource:
    """Videos of step s: items ``[s * B + rank * b, ... + b)`` of an endless split.

    Describing the videos (caption, attributes, start and speed) and laying out their
    tracks is plain CPU work; drawing them is tensor work, done on the training device
    (the GPU renders its own data). On CUDA, worker processes prepare the next steps in
    pinned memory while the GPU trains, so copying them never makes the CPU wait.
    """

    def __init__(self, preset: ModelPreset, seed: int, device: torch.device,
                 dist_info: Distributed, workers: int | None = None) -> None:
        self.dataset = data.MovingShapes("train", num_frames=preset.num_frames,
                                         size=preset.size, length=ENDLESS, seed=seed,
                                         spec=training_spec(preset))
        self.device, self.dist = device, dist_info
        self.workers = data_workers(device, dist_info) if workers is None else workers

    def indices(self, stage: int, step: int, batch_size: int) -> list[int]:
        if batch_size % self.dist.world:
            raise ValueError(f"batch size {batch_size} must be divisible by the number "
                             f"of processes {self.dist.world}")
        local = batch_size // self.dist.world
        start = (stage * 10_000_000 + step) * batch_size + self.dist.rank * local
        return [i % ENDLESS for i in range(start, start + local)]

    def prepare(self, stage: int, step: int, batch_size: int) -> tuple[list[str], tuple]:
        """The CPU part of a step's batch: (captions, ``data.layout_batch`` tensors)."""
        described = [self.dataset.describe(i) for i in self.indices(stage, step, batch_size)]
        layout = data.layout_batch([d[1] for d in described], [d[2] for d in described],
                                   self.dataset.num_frames)
        return [d[0] for d in described], layout

    def render(self, prepared: tuple[list[str], tuple]) -> tuple[Tensor, list[str]]:
        """(videos [b, T, 3, H, W] on the device, captions)."""
        captions, layout = prepared
        return data.render_layout(layout, self.dataset.size, self.device), captions

    def batch(self, stage: int, step: int, batch_size: int) -> tuple[Tensor, list[str]]:
        """The batch of one step."""
        return self.render(self.prepare(stage, step, batch_size))

    def batches(self, stage: int, start: int, end: int, batch_size: int, videos: bool = True
                ) -> Iterator[tuple[Tensor | None, list[str]]]:
        """The batches of steps start, start + 1, ... < end, in order (with videos=False:
        (None, captions), nothing drawn)."""
        if self.workers == 0:
            for step in range(start, end):
                if videos:
                    yield self.batch(stage, step, batch_size)
                else:
                    yield None, [self.dataset.describe(i)[0]
                                 for i in self.indices(stage, step, batch_size)]
            return
        loader = torch.utils.data.DataLoader(
            _PreparedSteps(self, stage, batch_size), batch_size=None,
            sampler=range(start, end), num_workers=self.workers, prefetch_factor=4,
            collate_fn=_as_is, pin_memory=self.device.type == "cuda")
        for prepared in loader:
            yield self.render(prepared) if videos else (None, prepared[0])


class _PreparedSteps(torch.utils.data.Dataset):
    """Item s: the prepared batch of step s (for DataLoader workers)."""

    def __init__(self, source: BatchSource, stage: int, batch_size: int):
        self.source, self.stage, self.batch_size = source, stage, batch_size

    def __len__(self) -> int:
        return ENDLESS

    def __getitem__(self, step: int) -> tuple[list[str], tuple]:
        return self.source.prepare(self.stage, step, self.batch_size)


def _as_is(item):
    return item


# ---------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------
@dataclass
class TrainConfig:
    model: str = "classic"
    preset: str = "cpu"
    out: str = "runs/classic"
    steps: int | None = None          # per stage; default the preset's
    batch_size: int | None = None     # videos per step, every stage; default the preset's
    time_budget: float | None = None  # minutes, all stages together
    resume: bool = False
    seed: int = 0
    device: str | None = None
    save_every: int = 200
    sample_every: int = 500
    log_every: int = 10
    compile: bool = False
    progress: bool = True
    init_from: str | None = None      # a model.pt of the same model and preset to start from
    from_stage: str | None = None     # with init_from: skip the stages before this one
    to_stage: str | None = None       # stop after this stage (None: train every stage)
    settings: tuple[str, ...] = ()    # NAME=VALUE preset fields to change (--set)
    overwrite: bool = False           # train afresh into an ``out`` that holds a run

    def __post_init__(self):
        """Numbers that would train nothing, divide by zero or never stop are errors."""
        positive = {"steps (--steps)": self.steps,
                    "batch_size (--batch-size)": self.batch_size,
                    "time_budget (--time-budget, minutes)": self.time_budget,
                    "save_every (--save-every)": self.save_every,
                    "log_every": self.log_every}
        for name, value in positive.items():
            whole = not name.startswith("time_budget")
            if value is not None and (isinstance(value, bool) or not isinstance(
                    value, numbers.Integral if whole else numbers.Real)):
                raise TypeError(f"{name} must be a {'whole ' if whole else ''}number, got "
                                f"{type(value).__name__} {value!r}")
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if isinstance(self.settings, str):
            raise TypeError(f"settings must be a tuple of NAME=VALUE strings, e.g. "
                            f"({self.settings!r},), not one string")
        if self.sample_every < 0:
            raise ValueError(f"sample_every (--sample-every) must be >= 0 (0: no samples), "
                             f"got {self.sample_every}")
        if self.from_stage is not None and self.init_from is None:
            raise ValueError("from_stage (--from-stage) skips stages, whose weights must come "
                             "from somewhere: give init_from (--init-from CHECKPOINT) too")


@dataclass
class TrainResult:
    out: Path
    model: nn.Module
    preset: object
    meta: dict = field(default_factory=dict)


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def _flop_counter():
    """Counts the FLOPs of matmuls, convolutions and attention in its ``with`` block."""
    from torch.utils.flop_counter import FlopCounterMode

    return FlopCounterMode(display=False)


def autocast_for(preset: ModelPreset, device: torch.device) -> torch.autocast | nullcontext:
    """bf16 autocast on CUDA when the preset asks for it (``bf16``), else nothing."""
    if device.type == "cuda" and getattr(preset, "bf16", False):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def make_optimizer(stage: Stage, device: torch.device) -> torch.optim.Optimizer:
    """AdamW over the stage's trainable parameters, with the fused kernel on CUDA and on
    the CPU: one call for all parameters instead of several per tensor (on CUDA fewer
    launches; on the CPU the classic ``cpu`` preset's transformer stage took 1.3 instead
    of 8.4 ms per AdamW step; ``benchmarks/optimizer_speed.py``)."""
    params = [p for p in stage.parameters if p.requires_grad]
    return torch.optim.AdamW(params, lr=stage.lr, betas=stage.betas,
                             weight_decay=stage.weight_decay,
                             fused=True if device.type in ("cuda", "cpu") else None)


def train_step(stage: Stage, optimizer: torch.optim.Optimizer, videos: Tensor | None,
               captions: list[str], autocast: AbstractContextManager = nullcontext(),
               dist_info: Distributed | None = None, counter: AbstractContextManager | None = None
               ) -> tuple[Tensor, dict[str, Tensor]]:
    """One optimisation step: loss, backward (inside ``counter`` when given, e.g. a FLOP
    counter), gradients averaged over processes, clipped, AdamW step. The learning rate
    is the optimizer's. Returns (loss, metrics), still on the device."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    optimizer.zero_grad(set_to_none=True)
    with counter if counter is not None else nullcontext():
        with autocast:
            loss, metrics = stage.loss(videos, captions)
        loss.backward()
    if dist_info is not None:
        average_gradients(params, dist_info)
    if stage.grad_clip:
        torch.nn.utils.clip_grad_norm_(params, stage.grad_clip)
    optimizer.step()
    return loss, metrics


def train(config: TrainConfig) -> TrainResult:
    """Train ``config.model`` with preset ``config.preset``; see the module docstring."""
    from tqdm.auto import tqdm

    from . import pick_device, setup

    setup(seed=config.seed, quiet=True, preset="gpu" if config.preset == "gpu" else "cpu")
    device = pick_device(config.device)
    dist_info = init_distributed(device)
    if device.type == "cuda" and dist_info.world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    module = model_module(config.model)
    preset = apply_settings(get_preset(module, config.preset), config.settings)
    training_spec(preset)                                 # a wrong share fails here
    out = Path(config.out)
    torch.manual_seed(config.seed)
    model = module.build(preset).to(device)
    broadcast_parameters(model, dist_info)
    if config.compile and hasattr(torch, "compile"):
        for child in model.children():
            child.compile()
    stage_list = module.stages(model, preset)
    first_stage, earlier = 0, None
    if config.init_from is not None:
        earlier = _init_from(model, config)
        first_stage = _stage_index(stage_list, config.from_stage, "from_stage")
    last_stage = (len(stage_list) - 1 if config.to_stage is None
                  else _stage_index(stage_list, config.to_stage, "to_stage"))
    if last_stage < first_stage:
        raise ValueError(f"to_stage (--to-stage) {config.to_stage!r} comes before from_stage "
                         f"(--from-stage) {config.from_stage!r}: nothing would train")
    if config.steps is not None:
        for st in stage_list:
            st.steps = config.steps
    source = BatchSource(preset, config.seed, device, dist_info)
    autocast = autocast_for(preset, device)

    # -- position and history: fresh, or from train_state.pt -------------------
    position = {"stage": first_stage, "step": 0, "stage_time": [0.0] * len(stage_list),
                "flops": [0.0] * len(stage_list), "videos": 0}
    state_path = out / "train_state.pt"
    opt_state = None
    if config.resume and state_path.is_file():
        saved = ckpt.load_checkpoint(state_path)
        if saved.get("batch_size") != config.batch_size:
            def option(n):
                return f"--batch-size {n}" if n else "no --batch-size"
            raise ValueError(
                f"{state_path} was trained with {option(saved.get('batch_size'))}, not "
                f"{option(config.batch_size)}: resume it with {option(saved.get('batch_size'))}"
                ", or start a new --out")
        if (saved["model"], saved["preset"], saved["seed"]) != (config.model, config.preset,
                                                               config.seed):
            raise ValueError(
                f"{state_path} is from model {saved['model']!r}, preset {saved['preset']!r}, "
                f"seed {saved['seed']}, not {config.model!r}, {config.preset!r}, "
                f"{config.seed}: resume it with --model {saved['model']} --preset "
                f"{saved['preset']} --seed {saved['seed']}, or start a new --out")
        earlier_settings = tuple(saved.get("settings", ()))
        if earlier_settings != tuple(config.settings):
            raise ValueError(f"{state_path} was trained with {set_options(earlier_settings)}, "
                             f"not {set_options(config.settings)}: resume it with the same "
                             "--set options, or start a new --out")
        model.load_state_dict(saved["state_dict"])
        position = saved["position"]
        opt_state = saved["optimizer"]
    if not (config.resume and state_path.is_file()):   # this run starts at step 0
        _check_fresh_out(out, config.overwrite, config.resume)
    if config.resume:  # killed before the first save too: its steps are re-run
        _truncate_log(out / "metrics.jsonl", position)
    elif dist_info.main:
        (out / "metrics.jsonl").unlink(missing_ok=True)  # a fresh run, a fresh log
    budget_s = None if config.time_budget is None else 60.0 * config.time_budget
    if dist_info.main:
        out.mkdir(parents=True, exist_ok=True)
    wall_start = time.perf_counter() - sum(position["stage_time"])

    for si in range(position["stage"], last_stage + 1):
        stage = stage_list[si]
        batch_size = config.batch_size or stage.batch_size or preset.batch_size
        position.setdefault("stage_batch", {})[stage.name] = batch_size
        optimizer = make_optimizer(stage, device)
        start_step = 0
        if si == position["stage"]:
            start_step = position["step"]
            if opt_state is not None:
                optimizer.load_state_dict(opt_state)
        stage_allowed = None
        if budget_s is not None:  # this stage's share of what is left
            used_before = sum(position["stage_time"][:si])
            shares = [s.time_share for s in stage_list[si:last_stage + 1]]
            stage_allowed = max(0.0, budget_s - used_before) * shares[0] / sum(shares)
        stage_time = position["stage_time"][si]
        bar = tqdm(total=stage.steps, initial=start_step, desc=f"{config.model}/{stage.name}",
                   disable=not (config.progress and dist_info.main), leave=True,
                   mininterval=1.0)  # in a notebook each refresh is a widget message: an
        # unread flood of them overflows the kernel's output queue and loses messages
        step, t_last, videos_since = start_step, time.perf_counter(), 0
        batches = source.batches(si, start_step, stage.steps, batch_size, stage.uses_videos)
        while True:
            progress = step / stage.steps
            if stage_allowed is not None:
                progress = max(progress, stage_time / max(stage_allowed, 1e-9))
            progress = agree(progress, dist_info)
            if progress >= 1.0 or step >= stage.steps:
                break
            t0 = time.perf_counter()
            torch.manual_seed(step_seed(config.seed, si, step))
            videos, captions = next(batches)
            lr = learning_rate(stage.lr, step, stage.warmup, progress, stage.final_lr_fraction)
            for group in optimizer.param_groups:
                group["lr"] = lr
            model.train()
            counter = _flop_counter() if position["flops"][si] == 0.0 else None
            loss, metrics = train_step(stage, optimizer, videos, captions, autocast, dist_info,
                                       counter)
            if counter is not None:  # the FLOPs of one real step
                position["flops"][si] = float(counter.get_total_flops()) * dist_info.world
            step += 1
            videos_since += batch_size
            position["videos"] += batch_size if stage.uses_videos else 0
            if device.type == "cuda" and (step % config.log_every == 0):
                torch.cuda.synchronize(device)
            stage_time += time.perf_counter() - t0
            position["stage_time"][si] = stage_time
            bar.update(1)
            if dist_info.main and (step % config.log_every == 0 or step == 1):
                now = time.perf_counter()
                record = {"stage": stage.name, "stage_index": si, "step": step,
                          "loss": round(float(loss.detach()), 5), "lr": lr,
                          "elapsed_s": round(now - wall_start, 2),
                          "videos_per_s": round(videos_since / max(now - t_last, 1e-9), 1)}
                record.update({k: round(float(v), 5) for k, v in metrics.items()})
                _append_log(out / "metrics.jsonl", record)
                bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
                t_last, videos_since = now, 0
            if dist_info.main and stage.preview is not None and config.sample_every \
                    and step % config.sample_every == 0:
                _save_preview(stage, model, source, out, si, step)
            if step % config.save_every == 0:
                position.update(stage=si, step=step)
                _save_train_state(state_path, config, model, optimizer, position, dist_info)
        bar.close()
        batches.close()  # stops the data workers
        if dist_info.main and stage.preview is not None:
            _save_preview(stage, model, source, out, si, step)
        position.update(stage=si + 1, step=0)
        position["stage_time"][si] = stage_time
        position.setdefault("stage_steps", {})[stage.name] = step
        opt_state = None
        _save_train_state(state_path, config, model, None, position, dist_info)

    meta = _training_meta(config, preset, position, stage_list, device, dist_info,
                          time.perf_counter() - wall_start)
    if earlier is not None:
        meta["continued_from"] = earlier
    meta["parameters"] = sum(p.numel() for p in model.parameters())
    if dist_info.main:
        model.eval()
        ckpt.save_checkpoint(out / "model.pt", model_state(config.model, config.preset,
                                                          preset, model, meta))
        ckpt.atomic_write_json(out / "model.json", meta)
        ckpt.atomic_write_text(out / "model.md", model_card(meta))
    if dist_info.world > 1:
        import torch.distributed as dist

        dist.barrier()
    return TrainResult(out=out, model=model, preset=preset, meta=meta)


def _init_from(model: nn.Module, config: TrainConfig) -> dict:
    """Load ``config.init_from`` (SHA-256 checked) into ``model``; what it was trained
    with (its digest, steps, time, hardware) for the new model card."""
    state, digest = ckpt.load_verified(config.init_from)
    found = (state.get("model"), state.get("preset"))
    if found != (config.model, config.preset):
        raise ValueError(f"--init-from {config.init_from} holds model {found[0]!r}, preset "
                         f"{found[1]!r}; it can start only --model {found[0]} --preset "
                         f"{found[1]} (a model.pt that t2v-edu train wrote)")
    # weights a module added after the checkpoint was made (its ADDED_LATER prefixes, e.g.
    # the classic model's caption parser) start fresh; anything else must match exactly
    added_later = getattr(model_module(config.model), "ADDED_LATER", ())
    missing, unexpected = model.load_state_dict(state["state_dict"], strict=False)
    wrong = unexpected + [k for k in missing if not k.startswith(added_later)]
    if wrong:
        raise ValueError(f"--init-from {config.init_from} does not fit this preset's model: "
                         f"{len(wrong)} weights differ, e.g. {wrong[:3]}; start from a "
                         "model.pt of the same preset and code version")
    meta = state["meta"]
    return {"sha256": digest,
            "stage_steps": meta["stage_steps"], "train_seconds": meta["train_seconds"],
            "tflop": float(f"{meta['tflops_per_second'] * meta['train_seconds']:.4g}"),
            "videos_seen": meta["videos_seen"], "hardware": meta["hardware"]}


def _stage_index(stage_list: list[Stage], name: str | None, option: str) -> int:
    """The position of the stage called ``name`` (None: the first); ``option`` names the
    setting it came from, for the error."""
    names = [s.name for s in stage_list]
    if name is None:
        return 0
    if name not in names:
        flag = "--" + option.replace("_", "-")
        raise ValueError(f"{option} ({flag}) {name!r} is not a stage of this model; "
                         f"its stages, in order: {', '.join(names)}")
    return names.index(name)


def _training_meta(config, preset, position, stage_list, device, dist_info, wall_s) -> dict:
    train_s = sum(position["stage_time"])
    flops = sum(f * position.get("stage_steps", {}).get(s.name, 0)
                for f, s in zip(position["flops"], stage_list))
    return {"model": config.model, "preset": config.preset, "seed": config.seed,
            "data_spec": preset.data_spec, "num_frames": preset.num_frames,
            "two_object_share": training_spec(preset).two_object_prob,
            "size": preset.size, "stage_steps": position.get("stage_steps", {}),
            "stage_batch": position.get("stage_batch", {}),
            "batch_size_option": config.batch_size,
            "settings": list(config.settings),
            "videos_seen": position["videos"],  # all processes together
            "train_seconds": round(train_s, 1), "wall_seconds": round(wall_s, 1),
            "videos_per_second": round(position["videos"] / max(train_s, 1e-9), 1),
            "tflops_per_second": float(f"{flops / max(train_s, 1e-9) / 1e12:.4g}"),
            "device": device.type, "hardware": _hardware(device),
            "processes": dist_info.world, "time_budget_minutes": config.time_budget,
            "torch": str(torch.__version__)}


def _save_train_state(path: Path, config, model, optimizer, position, dist_info) -> None:
    if not dist_info.main:
        return
    ckpt.save_checkpoint(path, {
        "model": config.model, "preset": config.preset, "seed": config.seed,
        "batch_size": config.batch_size, "settings": list(config.settings),
        "position": position, "state_dict": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None})


def read_log(run_dir: str | os.PathLike, stage: str | None = None) -> list[dict]:
    """The records of a run's ``metrics.jsonl``, one per logged step, in order; only
    those of ``stage`` ("tokenizer", "transformer", "vae", "flow", ...) if given.
    ``run_dir`` is the run's ``out`` folder (or its ``metrics.jsonl`` itself)."""
    path = Path(run_dir)
    path = path if path.is_file() else path / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: pass the `out` folder of a "
                                "training run (it holds model.pt and metrics.jsonl)")
    records = [record for _, record in _log_records(path)]
    stages = list(dict.fromkeys(r["stage"] for r in records))
    if stage is not None and stage not in stages:
        raise ValueError(f"{path} has no records of stage {stage!r}; it has {stages}")
    return [r for r in records if stage is None or r["stage"] == stage]


def _check_fresh_out(out: Path, overwrite: bool, resume: bool = False) -> None:
    """ValueError when ``out`` holds a run (its weights or its resumable state) that a
    run starting at step 0 would replace, unless ``overwrite``; with ``resume`` (asked
    for, but there is no state to resume from) the message says so."""
    held = [name for name in ("train_state.pt", "model.pt") if (out / name).is_file()]
    if held and not overwrite and resume:
        raise ValueError(f"{out} holds model.pt but no train_state.pt: there is nothing to "
                         "resume, and a new run would replace those weights; train into "
                         "another --out, or pass --overwrite to replace them")
    if held and not overwrite:
        raise ValueError(f"{out} already holds a run ({', '.join(held)}): continue it with "
                         "--resume, train into another --out, or pass --overwrite to "
                         "replace it")


def _append_log(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def _log_records(path: Path) -> list[tuple[str, dict]]:
    """(line, record) of each line of a ``metrics.jsonl``. A last line cut short (the
    run was killed, or the disk filled, while appending it) is dropped; an unreadable
    line before the last is an error naming the file and the line."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append((line, json.loads(line)))
        except json.JSONDecodeError as exc:
            if number == len(lines):
                break  # half-written when the run was killed
            raise ValueError(f"{path}, line {number}, is not a JSON record ({exc.msg}); "
                             "fix or delete that line") from exc
    return records


def _truncate_log(path: Path, position: dict) -> None:
    """Drop log lines written after the saved position (they will be re-run), and a
    last line cut short (``_log_records``)."""
    if not path.is_file():
        return
    keep = [line for line, r in _log_records(path)
            if (r["stage_index"], r["step"]) <= (position["stage"], position["step"])]
    ckpt.atomic_write_text(path, "".join(k + "\n" for k in keep))


def _save_preview(stage: Stage, model, source: BatchSource, out: Path, si: int,
                  step: int) -> None:
    from . import viz

    videos, captions = source.batch(si, 10_000_000 - 1, 8)  # a fixed batch
    model.eval()
    with torch.no_grad():
        shown = stage.preview(videos, captions)
    model.train()
    grid = viz.video_grid(shown.float().clamp(0, 1).cpu(), columns=len(shown))
    viz.save_gif(grid, out / "samples" / f"{stage.name}_{step:06d}.gif")


# ---------------------------------------------------------------------------------
# Model cards and shipped weights
# ---------------------------------------------------------------------------------
def _table(rows: list[tuple], header: tuple) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def set_options(settings: Sequence[str]) -> str:
    """The ``--set`` options of ``settings`` as a user would type them."""
    return " ".join(f"--set {item}" for item in settings) or "no --set"


def _continued(meta: dict) -> str:
    """The "continued from" row: the earlier weights, and the time of both runs."""
    earlier = meta["continued_from"]
    steps = ", ".join(f"{k}: {v}" for k, v in earlier["stage_steps"].items())
    first = next(iter(meta["stage_steps"]), "?")
    total = round(earlier["train_seconds"] + meta["train_seconds"], 1)
    return (f"`--init-from` the weights `{earlier['sha256'][:12]}…` ({steps}; "
            f"{earlier['train_seconds']} s on {earlier['hardware']}), trained again from "
            f"stage {first}: steps and time above are this run's alone, {total} s in all")


def model_card(meta: dict, evaluation: dict | None = None, sha256: str | None = None) -> str:
    """The model card (Markdown) of a trained model: data, preset, hardware, time,
    and the evaluation tables (a ``t2v-edu evaluate`` result, optionally with a
    "reconstruction" ceiling result inside) when there are some."""
    spec = data.get_spec(meta["data_spec"])
    trained_on = ("a GPU" if meta["device"] == "cuda" else "a CPU")
    lines = [f"# Model card: `{meta['model']}` model, `{meta['preset']}` preset",
             "",
             f"Trained on {trained_on} ({meta['hardware']}) with `t2v-edu train --model "
             f"{meta['model']} --preset {meta['preset']}"
             + (f" --time-budget {meta['time_budget_minutes']}" if meta.get('time_budget_minutes')
                else "")
             + (f" --batch-size {meta['batch_size_option']}" if meta.get("batch_size_option")
                else "")
             + (f" {set_options(meta['settings'])}" if meta.get("settings") else "")
             + f"`, seed {meta['seed']}.",
             "",
             _table([
                 ("data", f"t2v_edu.data.MovingShapes, spec `{meta['data_spec']}`: "
                          f"{meta['num_frames']} frames of {meta['size']}x{meta['size']}, "
                          f"{len(spec.shapes)} shapes, {len(spec.colors)} colours, "
                          f"{len(spec.motions)} motions, up to {spec.max_objects} object(s)"
                          + (f" ({100 * meta['two_object_share']:.0f} % of the training "
                             "captions name two)"
                             if spec.max_objects > 1 and "two_object_share" in meta else "")
                          + "; held-out shape-colour-motion triples never seen in training"),
                 ("steps", ", ".join(f"{k}: {v}" for k, v in meta["stage_steps"].items())),
             ] + ([("videos per step", ", ".join(f"{k}: {v}"
                                                 for k, v in meta["stage_batch"].items()))]
                  if meta.get("stage_batch") else []) + [
                 ("videos seen", meta["videos_seen"]),
                 ("parameters", meta.get("parameters")),
                 ("training time", f"{meta['train_seconds']} s ({meta['wall_seconds']} s wall)"),
                 ("throughput", f"{meta['videos_per_second']} videos/s"),
                 ("achieved compute", f"{meta['tflops_per_second']} TFLOP/s"),
                 ("hardware", f"{meta['hardware']}, {meta['processes']} process(es)"),
                 ("torch", meta["torch"]),
             ] + ([("continued from", _continued(meta))]
                  if meta.get("continued_from") else [])
               + ([("note", meta["note"])] if meta.get("note") else [])
               + ([("SHA-256", f"`{sha256}`")] if sha256 else []), ("item", "value")),
             ""]
    if evaluation:
        from .evaluation import format_table

        lines += ["## Evaluation", "", format_table(evaluation)]
        if evaluation.get("reconstruction"):
            lines += ["The ceiling: the same judges on the tokenizer's reconstructions of "
                      "real videos.", "", format_table(evaluation["reconstruction"])]
    else:
        lines += ["## Evaluation", "", "Not evaluated yet: run `t2v-edu evaluate`.", ""]
    lines += ["## Use and limits", "",
              "Generates videos of the course's synthetic data set only (coloured shapes "
              "on black); captions must use its vocabulary. A teaching model, not a "
              "general text-to-video system.", ""]
    return "\n".join(lines)


def weights_listing(sha256: str, meta: dict, evaluation: dict | None) -> dict:
    """What ``<name>.json`` beside exported weights holds: their SHA-256, the training
    metadata and the evaluation (None before one)."""
    return {"sha256": sha256, "meta": meta, "evaluation": evaluation}


def export_weights(run_dir: str | os.PathLike, dest: str | os.PathLike, name: str,
                   evaluation: dict | None = None) -> dict[str, Path]:
    """Copy ``run_dir/model.pt`` to ``dest/<name>.pt`` with ``<name>.pt.sha256`` (what
    loading checks), ``<name>.json`` (SHA-256, training metadata, evaluation) and
    ``<name>.md`` (the model card).

    ``model.pt`` must match the ``model.pt.sha256`` that training wrote beside it
    (ValueError otherwise): a corrupt checkpoint never ships under a fresh digest.
    """
    run_dir, dest = Path(run_dir), Path(dest)
    meta = json.loads((run_dir / "model.json").read_text(encoding="utf-8"))
    blob, digest = ckpt.read_verified(run_dir / "model.pt")
    paths = {"weights": dest / f"{name}.pt", "sha256": dest / f"{name}.pt.sha256",
             "json": dest / f"{name}.json", "card": dest / f"{name}.md"}
    ckpt.atomic_write_bytes(paths["weights"], blob)
    ckpt.atomic_write_text(paths["sha256"], digest + "\n")
    ckpt.atomic_write_json(paths["json"], weights_listing(digest, meta, evaluation))
    ckpt.atomic_write_text(paths["card"], model_card(meta, evaluation, digest))
    return paths


# ---------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------
HELP = "Train a text-to-video model (classic, modern or seed) with a preset."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="classic", help=f"one of {sorted(MODELS)}")
    parser.add_argument("--preset", default="cpu", help="cpu (minutes on a laptop) or gpu")
    parser.add_argument("--out", default=None, help="output folder (default runs/MODEL_PRESET)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="videos per step in every stage (default: the preset's)")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps of each stage (default: the preset's)")
    parser.add_argument("--time-budget", type=float, default=None, metavar="MINUTES",
                        help="stop cleanly and save after this many minutes of training")
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUT/train_state.pt if it exists")
    parser.add_argument("--overwrite", action="store_true",
                        help="train afresh into an OUT that holds a run, replacing it")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: best)")
    parser.add_argument("--save-every", type=int, default=200, help="steps between saves")
    parser.add_argument("--sample-every", type=int, default=500,
                        help="steps between sample GIFs (0: only at the end of a stage)")
    parser.add_argument("--compile", action="store_true", help="use torch.compile")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--init-from", default=None, metavar="CHECKPOINT",
                        help="start from the weights of this model.pt (same model, preset)")
    parser.add_argument("--from-stage", default=None, metavar="STAGE",
                        help="with --init-from: skip the stages before STAGE "
                             "(e.g. --from-stage transformer keeps the tokenizer)")
    parser.add_argument("--to-stage", default=None, metavar="STAGE",
                        help="stop after STAGE (e.g. --to-stage tokenizer trains the "
                             "tokenizer alone)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        dest="settings",
                        help="change one field of the preset, e.g. --set embed_dim=128 "
                             "(repeatable; saved in model.pt and named on the model card)")


def cli(args: argparse.Namespace) -> int:
    config = TrainConfig(model=args.model, preset=args.preset,
                         out=args.out or f"runs/{args.model}_{args.preset}",
                         steps=args.steps, batch_size=args.batch_size,
                         time_budget=args.time_budget, resume=args.resume,
                         seed=args.seed, device=args.device, save_every=args.save_every,
                         sample_every=args.sample_every, compile=args.compile,
                         progress=not args.no_progress, init_from=args.init_from,
                         from_stage=args.from_stage, to_stage=args.to_stage,
                         settings=tuple(args.settings), overwrite=args.overwrite)
    result = train(config)
    if int(os.environ.get("RANK", "0")) == 0:
        m = result.meta
        settings = f", {set_options(m['settings'])}" if m.get("settings") else ""
        print(f"Trained {m['model']} ({m['preset']} preset{settings}) for {m['train_seconds']} s: "
              f"{m['videos_per_second']} videos/s, {m['tflops_per_second']} TFLOP/s. "
              f"Weights: {result.out / 'model.pt'}")
    return 0
