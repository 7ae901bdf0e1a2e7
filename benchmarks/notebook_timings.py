"""Run time of each course notebook, executed exactly as the build does.

Each ``solutions/NN_name.py`` is read like ``t2v-edu course build`` reads it and
executed with ``t2v_edu.course.execute`` (the kernel of this Python; CPU, the ``cpu``
preset, one torch thread: ``course.NOTEBOOK_ENV``) in a fresh temporary folder. Prints
a Markdown table for the README and writes the figures to a JSON file.

The "2-core CPU" column of the README is this script on an otherwise idle 2-core
machine: on a shared machine the figures are inflated by the others' load, which
the table's header reports (load average at the start).

Usage: python benchmarks/notebook_timings.py [00 03 ...] [--preset gpu] [--smoke]
       [--json test-output/notebook_timings.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from t2v_edu import course
from t2v_edu.checkpoint import atomic_write_text

BUDGET_S = 180  # each notebook: at most 3 min on a 2-core CPU with the cpu preset
GPU_ENV = {"T2V_PRESET": "gpu", "T2V_DEVICE": "cuda"}


def time_notebook(source: Path, smoke: bool = False) -> dict:
    """Execute one notebook source; {"notebook", "seconds", "ok", "error"}."""
    nb = course.load_source(source)
    start = time.perf_counter()
    error = ""
    with tempfile.TemporaryDirectory(prefix="t2v-timing-") as folder:
        try:
            course.execute(nb, cwd=folder, smoke=smoke, name=source.name)
        except course.BuildError as exc:
            error = build_error(exc)
    seconds = time.perf_counter() - start
    return {"notebook": source.stem, "seconds": round(seconds, 1), "ok": not error,
            "error": error}


def build_error(exc: course.BuildError) -> str:
    """Its first line (the notebook and the cell) and the cause: the exception (the
    traceback's last line) or the timeout."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip(" -")]
    cause = next((line for line in lines if line.startswith("A cell timed out")),
                 lines[-1] if len(lines) > 1 else "")
    return " ".join([lines[0], cause]) if cause else lines[0]


def check_cuda(parser: argparse.ArgumentParser) -> None:
    """``--preset gpu`` runs the notebooks on CUDA: a usage error without it."""
    import torch

    from t2v_edu import check_available

    try:
        check_available(torch.device("cuda"))
    except ValueError as exc:
        parser.error(f"--preset gpu runs the notebooks on CUDA (T2V_DEVICE=cuda): {exc}")


def machine() -> dict:
    import torch

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpu_count": os.cpu_count(), "load_average_1min": load,
            "python": platform.python_version(), "torch": torch.__version__,
            "platform": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                   time.gmtime())}


def markdown_table(rows: list[dict], preset: str, info: dict) -> str:
    """The README's table: one row per notebook, its run time and the budget."""
    load = info["load_average_1min"]
    lines = [f"Measured {info['date']} with `benchmarks/notebook_timings.py` "
             f"({info['cpu_count']} CPU cores, load average {load:.1f} at the start; "
             f"`{preset}` preset, one torch thread).", "",
             "| Notebook | Run time | Within 3 min |", "|---|---:|:---:|"]
    for row in rows:
        minutes, seconds = divmod(round(row["seconds"]), 60)
        verdict = ("failed: " + row["error"] if not row["ok"]
                   else "✓" if row["seconds"] <= BUDGET_S else "✗")
        lines.append(f"| `{row['notebook']}` | {minutes}:{seconds:02d} | {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks to time, e.g. 00 03 (default: all)")
    parser.add_argument("--preset", choices=("cpu", "gpu"), default="cpu",
                        help="cpu (default: as the build, on the CPU) or gpu (on CUDA)")
    parser.add_argument("--smoke", action="store_true",
                        help="T2V_SMOKE=1: fewest training steps (what CI runs)")
    parser.add_argument("--json", default="test-output/notebook_timings.json",
                        help="where to write the figures (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.preset == "gpu":
        check_cuda(parser)
    root = course.repo_root()
    sources = course.sources(root, args.names or None)
    info = machine()
    rows = []
    with mock.patch.dict(course.NOTEBOOK_ENV):
        if args.preset == "gpu":  # the build's settings, but on CUDA with the gpu preset
            course.NOTEBOOK_ENV.update(GPU_ENV)
            course.NOTEBOOK_ENV.pop("CUDA_VISIBLE_DEVICES", None)
        for source in sources:
            row = time_notebook(source, smoke=args.smoke)
            print(f"{row['notebook']}: {row['seconds']:.0f} s"
                  + ("" if row["ok"] else f"  FAILED {row['error']}"), file=sys.stderr)
            rows.append(row)
    print(markdown_table(rows, args.preset + (" (smoke)" if args.smoke else ""), info))
    atomic_write_text(args.json, json.dumps({"preset": args.preset, "smoke": args.smoke,
                                             "machine": info, "notebooks": rows},
                                            indent=1) + "\n")
    return 0 if all(row["ok"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
