"""Evaluate every shipped text-to-video checkpoint with the same metrics (notebook 07's table).

    python benchmarks/evaluate_shipped.py                 # all of t2v_edu/weights/*_{cpu,gpu}.pt
    python benchmarks/evaluate_shipped.py --models modern --presets cpu --num-videos 256

For each ``<model>_<preset>.pt`` found, runs ``evaluation.evaluate_generator`` (test and
heldout captions, diversity, retrieval when the learned judge ships) and writes
``<model>_<preset>.eval.json`` beside it, with the checkpoint's SHA-256 and training
metadata, which ``t2v_edu.comparison`` reads. Prints one Markdown table.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import t2v_edu
from t2v_edu import comparison, evaluation, generation, training
from t2v_edu.checkpoint import atomic_write_json, sha256_file


def evaluate_checkpoint(model: str, path: Path, num_videos: int, seed: int,
                        device: torch.device) -> dict:
    """``evaluate_generator`` on one checkpoint, plus its SHA-256 and training metadata."""
    _, preset, meta = training.load_model(path, device="cpu", expected_model=model)
    gen = generation.load_generator(model, path, device)
    start = time.perf_counter()
    result = evaluation.evaluate_generator(gen, spec=gen.spec, num_videos=num_videos, seed=seed)
    result.update(checkpoint_fields(model, path, meta, device),
                  evaluation_seconds=round(time.perf_counter() - start, 1))
    return result


def checkpoint_fields(model: str, path: Path, meta: dict, device: torch.device) -> dict:
    """What a shipped ``.eval.json`` records beside the evaluation: which checkpoint
    (name, SHA-256), how it was trained, where it was evaluated."""
    return {"model": model, "checkpoint": path.name, "checkpoint_sha256": sha256_file(path),
            "training": meta, "evaluation_device": str(device)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(comparison.GENERATIONS))
    parser.add_argument("--presets", default="cpu,gpu")
    parser.add_argument("--num-videos", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", default=str(comparison.WEIGHTS_DIR))
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    t2v_edu.setup(quiet=True)
    device = t2v_edu.pick_device(args.device)
    rows, notes = {}, {}
    for model in args.models.split(","):
        for preset in args.presets.split(","):
            path = Path(args.weights) / f"{model}_{preset}.pt"
            label = f"{model} ({preset})"
            if not path.is_file():
                rows[label] = None
                continue
            result = evaluate_checkpoint(model, path, args.num_videos, args.seed, device)
            atomic_write_json(comparison.evaluation_path(model, preset, args.weights), result)
            rows[label], notes[label] = result, comparison.training_note(result)
    print(comparison.comparison_table(rows, notes), end="")


if __name__ == "__main__":
    main()
