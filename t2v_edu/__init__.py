"""t2v-edu: text-to-video generation, built from its formulas.

Every notebook starts with ``cfg = t2v_edu.setup()``: it fixes the seeds, the torch
thread count and the compute device, and says which preset (``cpu`` or ``gpu``) the
notebook should use. Heavy modules are imported lazily so that ``import t2v_edu``
stays fast and works where only torch is installed (the GPU machine).
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing torch here would slow `import t2v_edu`
    import torch

__version__ = "0.1.0"

__all__ = ["setup", "pick_device", "is_smoke", "budget", "Setup", "generate", "doctor"]


def pick_device(prefer: "str | torch.device | None" = None) -> "torch.device":  # noqa: F821
    """The best available device: CUDA, then Apple's MPS, then the CPU.

    ``prefer`` (or the environment variable ``T2V_DEVICE``) forces one, e.g. "cpu".
    A forced CUDA or MPS device this machine lacks is a ValueError saying what is there.
    """
    import torch

    where = "" if prefer else " (from T2V_DEVICE)"
    prefer = prefer or os.environ.get("T2V_DEVICE")
    if prefer:
        try:
            device = torch.device(prefer)
        except (RuntimeError, TypeError):
            raise ValueError(f"device {prefer!r}{where} is unknown; use 'cpu', 'cuda' (an "
                             "NVIDIA GPU; 'cuda:1' the second) or 'mps' (Apple silicon)"
                             ) from None
        return check_available(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def check_available(device: "torch.device") -> "torch.device":  # noqa: F821
    """``device`` if this machine and this torch build can use it, else ValueError."""
    import torch

    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device {str(device)!r} is not one the course runs on; use 'cpu', "
                         "'cuda' (an NVIDIA GPU) or 'mps' (Apple silicon)")

    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            why = ("this torch build has no CUDA support" if torch.version.cuda is None
                   else "no CUDA GPU is visible (driver, or CUDA_VISIBLE_DEVICES?)")
            raise ValueError(f"device {str(device)!r} is not available: {why}; use 'cpu'"
                             + (" or 'mps'" if _mps_available() else ""))
        if device.index is not None and device.index >= count:
            raise ValueError(f"device {str(device)!r} is not available: this machine has "
                             f"{count} CUDA GPU(s), cuda:0 to cuda:{count - 1}")
    if device.type == "mps" and not _mps_available():
        raise ValueError(f"device {str(device)!r} is not available: MPS is Apple silicon's "
                         "GPU (macOS); use 'cpu'"
                         + (" or 'cuda'" if torch.cuda.is_available() else ""))
    return device


def _mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def _threads_from_environment() -> int:
    """``T2V_THREADS`` as a number of threads (0 when unset)."""
    value = os.environ.get("T2V_THREADS", "").strip()
    if not value:
        return 0
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"T2V_THREADS must be a whole number >= 1, got {value!r}")
    return int(value)


def default_threads() -> int:
    """The torch threads ``setup()`` uses: ``T2V_THREADS``, else ``min(2, cpu count)``."""
    return _threads_from_environment() or min(2, os.cpu_count() or 1)


def check_preset(preset: str | None) -> str | None:
    """``preset`` if it is "cpu" or "gpu" (or None: not chosen), else ValueError."""
    if preset is not None and preset not in ("cpu", "gpu"):
        raise ValueError(f"preset {preset!r} is unknown; use 'cpu' or 'gpu'")
    return preset


def is_smoke() -> bool:
    """True when ``T2V_SMOKE=1``: notebooks then train for the fewest steps.

    Used by CI for the student notebooks (their outputs are not compared) and by the
    grader (it grades functions, not training runs).
    """
    value = os.environ.get("T2V_SMOKE", "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"T2V_SMOKE must be 1 (the fewest training steps) or 0, got {value!r}")


def budget(steps: int, smoke_steps: int = 2) -> int:
    """``steps`` normally, ``min(steps, smoke_steps)`` in the smoke setting."""
    from .data import check_whole

    steps = check_whole("steps", steps, 0)
    return min(steps, smoke_steps) if is_smoke() else steps


@dataclass(frozen=True)
class Setup:
    """What ``setup()`` decided: the device, the preset name, and the seed."""

    device: "torch.device"  # noqa: F821
    preset: str
    seed: int
    smoke: bool

    def __str__(self) -> str:
        smoke = ", smoke setting (fewest steps)" if self.smoke else ""
        return f"device: {self.device.type}, preset: {self.preset}, seed: {self.seed}{smoke}"


def setup(seed: int = 0, threads: int | None = None, preset: str | None = None,
          quiet: bool = False) -> Setup:
    """Seed everything, fix the torch thread count and choose device and preset.

    - threads: ``T2V_THREADS`` or, by default, ``min(2, cpu count)``; one thread per
      process is fastest when two processes share two cores (CI uses ``T2V_THREADS=1``).
    - preset: ``T2V_PRESET`` or "gpu" when CUDA is present, else "cpu". The stored
      notebook outputs are built with the "cpu" preset on a CPU.
    Denormal floats are flushed to zero: they slowed CPU training 20-40x.
    """
    import numpy as np
    import torch

    from .data import check_seed, check_whole

    check_seed(seed)
    seed = int(seed)                   # a numpy integer too (random.seed refuses it)
    if threads is None:
        threads = default_threads()
    torch.set_num_threads(check_whole("threads", threads))
    torch.set_flush_denormal(True)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = pick_device()
    if preset is None:
        preset = os.environ.get("T2V_PRESET") or ("gpu" if device.type == "cuda" else "cpu")
    check_preset(preset)
    cfg = Setup(device=device, preset=preset, seed=seed, smoke=is_smoke())
    if not quiet:
        print(cfg)
    return cfg


def generate(captions: str | list[str], seed: int = 0, model: str = "classic",
             checkpoint: str | os.PathLike | None = None,
             device: str | torch.device | None = None) -> torch.Tensor:
    """Generate videos for captions: float tensor [B, T, 3, H, W] in [0, 1].

    See :func:`t2v_edu.generation.generate`.
    """
    from .generation import generate as _generate

    return _generate(captions, seed=seed, model=model, checkpoint=checkpoint, device=device)


def doctor(print_report: bool = True) -> dict[str, dict]:
    """Check the installation; see :func:`t2v_edu.checkup.run_doctor`."""
    from .checkup import run_doctor

    return run_doctor(print_report=print_report)
