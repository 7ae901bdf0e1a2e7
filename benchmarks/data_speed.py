"""Data-loading throughput: a DataLoader over MovingShapes, batch 256, no workers, one thread.

Target (foundation issue): >= 5,000 videos/s at 8 x 32 x 32 on one CPU thread.
Usage: python benchmarks/data_speed.py [--batches 40] [--size 32] [--num-frames 8]
"""
import argparse
import time

import torch
from torch.utils.data import DataLoader

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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--num-frames", type=int, default=8)
    parser.add_argument("--spec", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rate = measure(args.num_frames, args.size, args.batches, args.spec)
    print(f"MovingShapes {args.num_frames}x{args.size}x{args.size} ({args.spec} spec), "
          f"batch 256, 0 workers, 1 thread: {rate:,.0f} videos/s")
