"""Data-loading throughput: a DataLoader over MovingShapes, batch 256, no workers, one thread.

Target (foundation issue): >= 5,000 videos/s at 8 x 32 x 32 on one CPU thread.
Usage: python benchmarks/data_speed.py [--batches 40] [--size 32] [--num-frames 8]

With --prepare it times instead what one loader worker does for GPU training
(``training.BatchSource.prepare``: describe each video and lay out its tracks; the GPU
draws them), at the classic gpu preset's batch of 128 and a two-object share:

    python benchmarks/data_speed.py --prepare --two-object-prob 0.6
"""
import argparse
import time

import torch
from torch.utils.data import DataLoader

from t2v_edu import training
from t2v_edu.data import MovingShapes, collate


def measure(num_frames: int, size: int, batches: int, spec: str) -> float:
    dataset = MovingShapes("train", num_frames=num_frames, size=size, spec=spec)
    loader = DataLoader(dataset, batch_size=256, num_workers=0, collate_fn=collate)
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--num-frames", type=int, default=8)
    parser.add_argument("--spec", default="cpu")
    parser.add_argument("--prepare", action="store_true",
                        help="time one GPU-training worker's work (classic gpu preset)")
    parser.add_argument("--two-object-prob", type=float, default=None,
                        help="with --prepare: the share of two-object videos (default: "
                             "the preset's)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.prepare:
        rate = measure_prepare(args.two_object_prob, args.batches)
        share = "the preset's" if args.two_object_prob is None else args.two_object_prob
        print(f"one loader worker, classic gpu preset, batch 128, two-object share {share}: "
              f"{rate:,.0f} videos/s prepared (the GPU draws them)")
    else:
        rate = measure(args.num_frames, args.size, args.batches, args.spec)
        print(f"MovingShapes {args.num_frames}x{args.size}x{args.size} ({args.spec} spec), "
              f"batch 256, 0 workers, 1 thread: {rate:,.0f} videos/s")
