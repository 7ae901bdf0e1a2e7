"""Data-loading throughput: a DataLoader over MovingShapes, batch 256, no workers, one thread.

Target (foundation issue): >= 5,000 videos/s at 8 x 32 x 32 on one CPU thread.
Usage: python benchmarks/data_speed.py [--batches 40] [--size 32] [--num-frames 8] [--spec cpu]

With --prepare it times instead what one loader worker does for GPU training
(``training.BatchSource.prepare``: describe each video and lay out its tracks; the GPU
draws them), at the classic gpu preset's batch of 128, its videos (so --size,
--num-frames and --spec do not go with it) and a two-object share (--two-object-prob,
only with --prepare):

    python benchmarks/data_speed.py --prepare --two-object-prob 0.6
"""
import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _args import fraction, whole  # noqa: E402
from t2v_edu import training  # noqa: E402
from t2v_edu.data import DATA_SPECS, MovingShapes, collate  # noqa: E402

BATCH = 256
LOADER_DEFAULTS = {"size": 32, "num_frames": 8, "spec": "cpu"}


def measure(num_frames: int, size: int, batches: int, spec: str) -> float:
    """Videos/s of a DataLoader over ``batches`` batches (after one to warm up); the
    data set is made as long as that needs."""
    dataset = MovingShapes("train", num_frames=num_frames, size=size, spec=spec,
                           length=(batches + 1) * BATCH)
    loader = DataLoader(dataset, batch_size=BATCH, num_workers=0, collate_fn=collate)
    iterator = iter(loader)
    next(iterator)  # warm-up
    start, count = time.perf_counter(), 0
    for _ in range(batches):
        videos, _, _ = next(iterator)
        count += len(videos)
    return count / (time.perf_counter() - start)


def measure_prepare(two_object_prob: float | None, batches: int, batch_size: int = 128) -> float:
    """Videos/s that one worker prepares for the classic model's gpu preset."""
    preset = training.get_preset(training.model_module("classic"), "gpu")
    if two_object_prob is not None:
        preset = training.apply_settings(preset, (f"two_object_prob={two_object_prob}",))
    source = training.BatchSource(preset, 0, torch.device("cpu"), training.Distributed(), 0)
    source.prepare(2, 0, batch_size)  # warm-up
    start = time.perf_counter()
    for step in range(1, batches + 1):
        source.prepare(2, step, batch_size)
    return batches * batch_size / (time.perf_counter() - start)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The options; those that the chosen measurement would ignore are refused."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=whole(1), default=40)
    parser.add_argument("--size", type=whole(8), default=None,
                        help="frame size (default 32; not with --prepare)")
    parser.add_argument("--num-frames", type=whole(2), default=None,
                        help="frames per video (default 8; not with --prepare)")
    parser.add_argument("--spec", choices=sorted(DATA_SPECS), default=None,
                        help="data spec (default cpu; not with --prepare)")
    parser.add_argument("--prepare", action="store_true",
                        help="time one GPU-training worker's work (classic gpu preset: its "
                             "video size, frames and spec)")
    parser.add_argument("--two-object-prob", type=fraction, default=None,
                        help="only with --prepare: the share of two-object videos (default: "
                             "the preset's)")
    args = parser.parse_args(argv)
    given = [f"--{name.replace('_', '-')}" for name in LOADER_DEFAULTS
             if getattr(args, name) is not None]
    if args.prepare and given:
        parser.error(f"{', '.join(given)}: not with --prepare, which times the classic gpu "
                     "preset's videos")
    if not args.prepare and args.two_object_prob is not None:
        parser.error("--two-object-prob goes with --prepare (the DataLoader times the "
                     "spec's own share)")
    for name, value in LOADER_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    torch.set_num_threads(1)
    if args.prepare:
        rate = measure_prepare(args.two_object_prob, args.batches)
        share = "the preset's" if args.two_object_prob is None else args.two_object_prob
        print(f"one loader worker, classic gpu preset, batch 128, two-object share {share}: "
              f"{rate:,.0f} videos/s prepared (the GPU draws them)")
    else:
        rate = measure(args.num_frames, args.size, args.batches, args.spec)
        print(f"MovingShapes {args.num_frames}x{args.size}x{args.size} ({args.spec} spec), "
              f"batch {BATCH}, 0 workers, 1 thread: {rate:,.0f} videos/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
