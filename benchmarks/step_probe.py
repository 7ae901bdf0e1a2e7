"""Where does a training step's time go? Times the real step of each stage of a model.

For each stage and batch size it runs the training code's own step
(``training.train_step`` on ``BatchSource`` batches, autocast and optimizer as in
``t2v-edu train``) on fresh weights and prints:

- ms per step and videos/s over ``--steps`` steps (after ``--warmup`` steps);
- the CPU's share: ms per step spent queueing work (on a GPU, a step whose queueing
  time is close to its total is bound by the CPU: launches, Python; a bigger batch then
  costs little extra time);
- on CUDA, how many calls per step made the CPU wait for the GPU (a synchronisation:
  ``.item()``, ``nonzero()``, a copy from pageable memory), with where they came from.

    python benchmarks/step_probe.py --model classic --preset gpu --batch-sizes 128 256
    python benchmarks/step_probe.py --model classic --preset gpu --set bf16=False  # fp32
    python benchmarks/step_probe.py --model classic --preset tiny --steps 3   # rehearsal

A probe of the classic model's gpu preset on an H100 takes about 30 s.
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _args import usable_device, whole  # noqa: E402
from t2v_edu import pick_device, setup, training  # noqa: E402
from t2v_edu.checkpoint import atomic_write_text  # noqa: E402


def sync_sites(step_fn, device: torch.device) -> collections.Counter:
    """Where ``step_fn()`` synchronises the CPU with the GPU: Counter of 'file:line'."""
    if device.type != "cuda":
        return collections.Counter()
    torch.cuda.synchronize(device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            step_fn()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return collections.Counter(f"{Path(w.filename).name}:{w.lineno}" for w in caught
                               if "synchroniz" in str(w.message))


def probe_stage(model, stage, si: int, preset, device, batch_size: int, steps: int,
                warmup: int) -> dict:
    """Time ``steps`` real training steps of one stage at one batch size."""
    source = training.BatchSource(preset, 0, device, training.Distributed())
    optimizer = training.make_optimizer(stage, device)
    autocast = training.autocast_for(preset, device)
    batches = source.batches(si, 0, warmup + steps + 1, batch_size, stage.uses_videos)
    model.train()

    def step():
        videos, captions = next(batches)
        return training.train_step(stage, optimizer, videos, captions, autocast)

    for _ in range(warmup):
        step()
    sites = sync_sites(step, device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    queued, start = 0.0, time.perf_counter()
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        queued += time.perf_counter() - t0
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    total = time.perf_counter() - start
    batches.close()
    return {"stage": stage.name, "batch_size": batch_size,
            "ms_per_step": round(1e3 * total / steps, 2),
            "cpu_ms_per_step": round(1e3 * queued / steps, 2),
            "videos_per_s": round(batch_size * steps / total, 1),
            "syncs_per_step": sum(sites.values()), "sync_sites": dict(sites.most_common(5))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="classic")
    parser.add_argument("--preset", default="gpu")
    parser.add_argument("--batch-sizes", type=whole(1), nargs="+", default=None,
                        help="default: each stage's own batch size")
    parser.add_argument("--steps", type=whole(1), default=20)
    parser.add_argument("--warmup", type=whole(1), default=3)
    parser.add_argument("--device", type=usable_device, default=None)
    parser.add_argument("--out", default=None, help="also write the rows as JSON here")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="change a preset field, as `t2v-edu train --set` (repeatable)")
    args = parser.parse_args(argv)
    setup(seed=0, quiet=True, preset="gpu" if args.preset == "gpu" else "cpu")
    device = pick_device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    try:
        module = training.model_module(args.model)
        preset = training.apply_settings(training.get_preset(module, args.preset), args.set)
    except ValueError as exc:
        parser.error(str(exc))
    model = module.build(preset).to(device)
    rows = []
    changed = f" (--set {' '.join(args.set)})" if args.set else ""
    print(f"{args.model}, preset {args.preset}{changed}, {training._hardware(device)}")
    print("| stage | batch | ms/step | CPU ms/step | videos/s | syncs/step | where |")
    print("|---|---|---|---|---|---|---|")
    for si, stage in enumerate(module.stages(model, preset)):
        for batch_size in args.batch_sizes or [stage.batch_size or preset.batch_size]:
            row = probe_stage(model, stage, si, preset, device, batch_size, args.steps,
                              args.warmup)
            rows.append(row)
            where = ", ".join(f"{k} x{v}" for k, v in row["sync_sites"].items()) or "-"
            syncs = row["syncs_per_step"] if device.type == "cuda" else "n/a (CPU)"
            print(f"| {row['stage']} | {batch_size} | {row['ms_per_step']} | "
                  f"{row['cpu_ms_per_step']} | {row['videos_per_s']} | {syncs} | {where} |",
                  flush=True)
    if args.out:
        atomic_write_text(args.out, json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
