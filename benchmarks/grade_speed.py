"""How long `t2v-edu grade` takes for 30 submissions of one notebook on 2 cores.

    python benchmarks/grade_speed.py [--source solutions/00_welcome.py] [--count 30]

Target: <= 5 min with --jobs 2 (the submissions are a mix: correct, blank, and the
bad kinds of tests/make_grading_corpus.py, repeated to --count). Prints the figure.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _args import existing_file, whole  # noqa: E402
from make_grading_corpus import DEMO_SOURCE, build_corpus  # noqa: E402

from t2v_edu import grading  # noqa: E402

TARGET_SECONDS = 300


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = ROOT / "solutions" / "00_welcome.py"
    parser.add_argument("--source", type=existing_file,
                        default=str(default if default.is_file() else DEMO_SOURCE))
    parser.add_argument("--count", type=whole(1), default=30,
                        help="submissions (the bad kinds are among them from 6 on)")
    parser.add_argument("--jobs", type=whole(1), default=2)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="grade-speed-"))
    try:
        corpus = work / "corpus"
        kinds = sorted(build_corpus(corpus, args.source))
        # Mostly ordinary submissions (correct, blank, some failing), a few bad ones.
        common = [k for k in ("correct", "blank", "exception", "wrong_values",
                              "missing_answer") if k in kinds]
        bad = [k for k in ("endless_loop", "os_exit", "memory_hog", "not_json",
                           "monkeypatch") if k in kinds] if args.count > 5 else []
        picks = (common * args.count)[:args.count - len(bad)] + bad
        subs = work / "submissions"
        name = Path(args.source).stem
        for i, kind in enumerate(picks[:args.count]):
            (subs / f"s{i:03d}_{kind}").mkdir(parents=True)
            shutil.copy(corpus / kind / f"{name}.ipynb", subs / f"s{i:03d}_{kind}")
        start = time.monotonic()
        summary = grading.grade(name, subs, work / "out", jobs=args.jobs,
                                source=args.source)
        seconds = time.monotonic() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ok = seconds <= TARGET_SECONDS
    print(f"graded {summary.graded} submissions of {name} with --jobs {args.jobs} in "
          f"{seconds:.0f} s ({seconds / max(summary.graded, 1):.1f} s each; target "
          f"<= {TARGET_SECONDS} s): {'OK' if ok else 'TOO SLOW'}")
    print(f"CPU time of the kernels: {summary.kernel_cpu_seconds:.0f} s (>= "
          f"{summary.kernel_cpu_seconds / args.jobs:.0f} s of wall time on {args.jobs} idle "
          f"cores); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
