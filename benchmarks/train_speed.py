"""Training speed: throughput, achieved TFLOP/s, and the time to reach the quality targets.

    python benchmarks/train_speed.py                          # classic, cpu preset: 1, 2, 3 min
    python benchmarks/train_speed.py --preset gpu --minutes 2,4,8
    python benchmarks/train_speed.py --model modern --minutes 3

For each time budget it trains from scratch with ``--time-budget`` (so the learning-rate
schedule completes within the budget), then scores generated videos with the oracle
judge on "test" and "heldout" captions, and prints one row per budget: training
seconds, videos/s, TFLOP/s (matmuls, convolutions and attention counted by
torch.utils.flop_counter; on a CPU it is small), accuracies and whether the targets
of the preset are met. Timings on a shared machine are slower than on an idle one.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _args import listed, real, scored_presets, usable_device, whole  # noqa: E402
from t2v_edu import evaluation, generation, pick_device  # noqa: E402
from t2v_edu.training import TrainConfig, available_models, train  # noqa: E402

# Targets of issue 5 (oracle judge): per split, the minimum of each metric.
TARGETS = {
    "cpu": {"test": {"color": 0.95, "motion": 0.85, "joint": 0.65}, "heldout": {"joint": 0.50}},
    "gpu": {"test": {"shape": 0.98, "color": 0.98, "motion": 0.98, "joint": 0.95},
            "heldout": {"joint": 0.85}},
}


def run(model: str, preset: str, minutes: float, eval_videos: int, seed: int,
        device: str | None) -> dict:
    with tempfile.TemporaryDirectory() as out:
        result = train(TrainConfig(model=model, preset=preset, out=out, time_budget=minutes,
                                   seed=seed, device=device and str(device), sample_every=0,
                                   save_every=10**9, progress=False))
        gen = generation.load_generator(model, f"{out}/model.pt", device=pick_device(device))
        t0 = time.perf_counter()
        scores = evaluation.evaluate_generator(gen, spec=gen.spec, num_videos=eval_videos,
                                               seed=seed, diversity=False, retrieval=False)
        eval_seconds = time.perf_counter() - t0
    row = {"minutes": minutes, **{k: result.meta[k] for k in (
        "train_seconds", "videos_seen", "videos_per_second", "tflops_per_second")},
        "eval_seconds": round(eval_seconds, 1)}
    for split, s in scores["splits"].items():
        row[split] = {k: s["oracle"][k] for k in evaluation.ATTRIBUTE_KEYS}
    return row


def meets(row: dict, targets: dict) -> bool:
    return all(row.get(split, {}).get(k, 0) >= v for split, t in targets.items()
               for k, v in t.items())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="classic", choices=available_models())
    parser.add_argument("--preset", default="cpu",
                        help="a preset of the model whose videos the judges score (not tiny)")
    parser.add_argument("--minutes", type=listed(real(0, strict=True)), default="1,2,3",
                        help="comma-separated time budgets")
    parser.add_argument("--eval-videos", type=whole(2), default=256,
                        help="generated videos per split")
    parser.add_argument("--seed", type=whole(0), default=0)
    parser.add_argument("--device", type=usable_device, default=None)
    args = parser.parse_args(argv)
    scored = scored_presets(args.model)
    if args.preset not in scored:
        parser.error(f"argument --preset: {args.preset!r} is not a preset of {args.model} "
                     f"whose videos the judges score; use {', '.join(scored)}")
    targets = TARGETS.get(args.preset, {})
    print(f"model {args.model}, preset {args.preset}; targets (oracle): {targets}")
    print("| budget min | train s | videos | videos/s | TFLOP/s | test s/c/m/joint "
          "| heldout joint | targets met |")
    print("|---|---|---|---|---|---|---|---|")
    for minutes in args.minutes:
        r = run(args.model, args.preset, minutes, args.eval_videos, args.seed, args.device)
        t = r["test"]
        print(f"| {minutes:g} | {r['train_seconds']} | {r['videos_seen']} | "
              f"{r['videos_per_second']} | {r['tflops_per_second']} | "
              f"{t['shape']:.2f}/{t['color']:.2f}/{t['motion']:.2f}/{t['joint']:.2f} | "
              f"{r['heldout']['joint']:.2f} | {'yes' if meets(r, targets) else 'no'} |",
              flush=True)


if __name__ == "__main__":
    main()
