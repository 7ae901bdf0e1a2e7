"""``t2v_edu.doctor()`` / ``t2v-edu doctor``: is this machine ready for the course?

Each check is a dict {"ok": bool, "value": str, "advice": str}; ``advice`` says what
to do when ``ok`` is False. ``run_doctor`` returns them all and prints one table.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

HELP = "Check the installation: versions, compute device, widgets, disk."

MIN_PYTHON = (3, 10)
MIN_FREE_GB = 1.0
# distribution name -> (lowest major version that works, advice when missing or old)
PACKAGES = {
    "torch": (2, 'pip install torch  (see https://pytorch.org for CUDA builds)'),
    "numpy": (1, "pip install numpy"),
    "ipywidgets": (8, 'pip install "ipywidgets>=8"'),
    "jupyterlab": (4, 'pip install "jupyterlab>=4"'),
    "jupyterlab_widgets": (3, 'pip install "jupyterlab_widgets>=3"  (the front end of '
                              'ipywidgets: sliders stay blank without it)'),
}


def _result(ok: bool, value: str, advice: str = "") -> dict:
    return {"ok": bool(ok), "value": value, "advice": "" if ok else advice}


def check_python() -> dict:
    version = platform.python_version()
    return _result(sys.version_info[:2] >= MIN_PYTHON, version,
                   f"the course needs Python >= {'.'.join(map(str, MIN_PYTHON))}")


def check_package(name: str) -> dict:
    major, advice = PACKAGES[name]
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        return _result(False, "missing", advice)
    try:
        ok = int(version.split(".")[0]) >= major
    except ValueError:
        ok = True  # an unusual version string: do not guess
    return _result(ok, version, f"version {major} or later is needed: {advice}")


def check_device() -> dict:
    """The device notebooks will use (CUDA, then MPS, then CPU); the CPU is fine."""
    import torch

    from . import pick_device

    try:
        device = pick_device()
    except RuntimeError as exc:  # e.g. a bad T2V_DEVICE
        return _result(False, "unknown", f"T2V_DEVICE is not a valid device: {exc}")
    value = device.type
    if device.type == "cuda":
        value = f"cuda ({torch.cuda.get_device_name(device)})"
    elif device.type == "cpu":
        value = f"cpu ({os.cpu_count()} cores; the course is designed for it)"
    return _result(True, value)


def check_threads() -> dict:
    import torch

    threads = torch.get_num_threads()
    return _result(threads >= 1, str(threads))


def check_writable(folder: str | os.PathLike = ".") -> dict:
    """Notebooks save GIFs and checkpoints next to themselves."""
    folder = Path(folder)
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".t2v-doctor-"):
            pass
    except OSError as exc:
        return _result(False, "no", f"cannot write in the current folder ({exc.strerror}): "
                                    "copy the course to a folder you own")
    return _result(True, "yes")


def check_disk(folder: str | os.PathLike = ".") -> dict:
    free_gb = shutil.disk_usage(folder).free / 1e9
    return _result(free_gb >= MIN_FREE_GB, f"{free_gb:.1f} GB free",
                   f"free at least {MIN_FREE_GB:g} GB for checkpoints and GIFs")


def run_checks() -> dict[str, dict]:
    """Every check, by name, without printing."""
    checks = {"python": check_python()}
    for name in PACKAGES:
        checks[name] = check_package(name)
    checks["device"] = check_device()
    checks["torch threads"] = check_threads()
    checks["write access"] = check_writable()
    checks["disk"] = check_disk()
    return checks


def format_report(checks: dict[str, dict]) -> str:
    """A readable table: one line per check, advice under the failing ones."""
    width = max(len(name) for name in checks)
    lines = []
    for name, c in checks.items():
        lines.append(f"{'✓' if c['ok'] else '✗'} {name:<{width}}  {c['value']}")
        if not c["ok"]:
            lines.append(f"  {'':<{width}}  → {c['advice']}")
    failed = sum(not c["ok"] for c in checks.values())
    lines.append("All good: you are ready for the course." if not failed else
                 f"{failed} problem(s): follow the advice above, then run the check again.")
    return "\n".join(lines)


def run_doctor(print_report: bool = True) -> dict[str, dict]:
    """Check the installation; print the table when ``print_report`` (the one place
    the package prints: a report is its purpose). Returns the checks by name."""
    checks = run_checks()
    if print_report:
        print(format_report(checks))
    return checks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def cli(args: argparse.Namespace) -> int:
    checks = run_doctor(print_report=True)
    return 0 if all(c["ok"] for c in checks.values()) else 1
