"""Argument types shared by the benchmark scripts (``argparse`` ``type=``).

A wrong value is a usage error before any work, worded as the package words it, e.g.
``error: argument --steps: must be a whole number >= 1, got 0`` (``data.check_whole``).
A script imports them with its own folder on ``sys.path``:

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _args import whole  # noqa: E402
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Iterable

from t2v_edu import data, judges, pick_device, training


def whole(minimum: int = 1) -> Callable[[str], int]:
    """A whole number >= ``minimum``."""
    def parse(text: str) -> int:
        return _checked(data.check_whole, _number(text, int), minimum)
    parse.__name__ = "whole number"
    return parse


def real(low: float = 0.0, strict: bool = False) -> Callable[[str], float]:
    """A finite number >= ``low`` (> ``low`` if ``strict``)."""
    def parse(text: str) -> float:
        return _checked(data.check_real, _number(text, float), low, strict)
    parse.__name__ = "number"
    return parse


def fraction(text: str) -> float:
    """A share or probability: a number in [0, 1]."""
    value = _number(text, float)
    if isinstance(value, str) or not 0 <= value <= 1:   # NaN fails the comparison too
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {value!r}")
    return value


def listed(item: Callable[[str], object]) -> Callable[[str], list]:
    """Comma-separated values, each read by ``item`` (e.g. ``--minutes 1,2,3``)."""
    def parse(text: str) -> list:
        items = [part.strip() for part in text.split(",") if part.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"names nothing, got {text!r}")
        return [item(part) for part in items]
    parse.__name__ = "list"
    return parse


def one_of(known: Iterable[str]) -> Callable[[str], str]:
    """A name among ``known``; for a list of them, ``listed(one_of(known))``."""
    known = list(known)

    def parse(text: str) -> str:
        if text not in known:
            raise argparse.ArgumentTypeError(f"{text!r} is unknown; use "
                                             f"{', '.join(known)}")
        return text
    parse.__name__ = "name"
    return parse


def usable_device(text: str):
    """A device this machine has (``t2v_edu.pick_device``): cpu, cuda, cuda:1, mps."""
    try:
        return pick_device(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def folder(text: str) -> Path:
    """An existing folder."""
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"no folder {text}")
    return Path(text)


def existing_file(text: str) -> Path:
    """An existing file."""
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"no file {text}")
    return Path(text)


def scored_presets(model: str) -> list[str]:
    """The presets of ``model`` whose videos the evaluation's judges score (``tiny``'s
    are smaller than its data spec's: they train, but cannot be evaluated)."""
    module = training.model_module(model)
    return sorted(name for name, p in module.PRESETS.items()
                  if judges.VIDEO_FORMATS.get(p.data_spec)
                  == judges.VideoFormat(p.num_frames, p.size))


def _number(text: str, kind: type) -> int | float | str:
    """``text`` as a number of ``kind``, or ``text`` itself (the check then says what
    it got)."""
    try:
        return kind(text)
    except ValueError:
        return text


def _checked(check: Callable, value, *limits):
    """``check("", value, *limits)`` (a ``data.check_*``) with its ValueError as a usage
    error; argparse names the option."""
    try:
        return check("", value, *limits)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).lstrip()) from None
