"""Sampling temperature against accuracy and diversity, for a classic checkpoint (06).

    python benchmarks/temperature_sweep.py                          # the shipped classic_cpu.pt
    python benchmarks/temperature_sweep.py --checkpoint runs/classic/model.pt --temperatures 0.3 1
    python benchmarks/temperature_sweep.py --checkpoint t2v_edu/weights/classic_gpu.pt \
        --temperatures 0.3 0.5 --guidance 1.0 --num-videos 192 --seed 1

For each temperature, prints joint accuracy (oracle judge) on test captions and on
held-out combinations (and, on data with two-object captions, on those alone), FVD-lite,
and the spread of the first object's start position over seeds (the diversity the
evaluation measures; real videos' spread beside it). The notebook's 0.3 was chosen on
short live runs, where sharpening helps most; a longer-trained model may do as well with
a warmer, more varied sampler.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import t2v_edu  # noqa: E402
from _args import real, whole  # noqa: E402
from t2v_edu import evaluation, generation, training  # noqa: E402


def sweep(model, spec: str, temperatures: list[float], num_videos: int, num_captions: int,
          num_seeds: int, guidance: float | None = None, seed: int = 0) -> list[dict]:
    """One row per temperature: accuracies, FVD-lite and start spread (guidance: the
    preset's when None; seed: which captions and sampling seeds)."""
    judges = evaluation.load_judges(spec)
    rows = []
    for temperature in temperatures:
        def generate(captions, seed):
            return model.sample(captions, generator=torch.Generator().manual_seed(seed),
                                temperature=temperature, guidance=guidance)

        start = time.perf_counter()
        result = evaluation.evaluate_generator(generate, spec, num_videos=num_videos,
                                               seed=seed, judges=judges, retrieval=False, diversity=False)
        spread = evaluation.evaluate_diversity(generate, judges["oracle"], spec, seed=seed,
                                               num_captions=num_captions, num_seeds=num_seeds)
        splits = result["splits"]
        rows.append({"temperature": temperature,
                     "test": splits["test"]["oracle"]["joint"],
                     "heldout": splits["heldout"]["oracle"]["joint"],
                     # data with two-object captions (gpu): their joint accuracy alone
                     "test_two": splits["test"]["joint_by_objects"].get("2"),
                     "heldout_two": splits["heldout"]["joint_by_objects"].get("2"),
                     "fvd_test": splits["test"]["fvd_lite"],
                     "fvd_heldout": splits["heldout"]["fvd_lite"],
                     "spread": spread["start_spread"], "spread_real": spread["start_spread_real"],
                     "seconds": time.perf_counter() - start})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="default: the shipped classic model")
    parser.add_argument("--temperatures", type=real(0), nargs="+", default=[0.3, 0.5, 1.0],
                        help="0: the likeliest code each time")
    parser.add_argument("--num-videos", type=whole(2), default=256)
    parser.add_argument("--num-captions", type=whole(1), default=24,
                        help="captions of the start spread")
    parser.add_argument("--num-seeds", type=whole(2), default=16,
                        help="sampling seeds per caption of the start spread")
    parser.add_argument("--guidance", type=real(0), default=None,
                        help="classifier-free guidance scale (default: the preset's)")
    parser.add_argument("--seed", type=whole(0), default=0,
                        help="evaluation seed: captions, sampling seeds and the start "
                             "spread's (1: other videos than the model card's)")
    args = parser.parse_args(argv)
    t2v_edu.setup(seed=0, quiet=True)
    path = args.checkpoint or generation.default_checkpoint("classic", "cpu")
    if path is None:
        raise SystemExit("no classic checkpoint is shipped; pass --checkpoint runs/.../model.pt")
    model, preset, _ = training.load_model(path, device="cpu", expected_model="classic")
    print(f"{path}: spec {preset.data_spec}, preset temperature {preset.temperature}, "
          f"guidance {preset.guidance if args.guidance is None else args.guidance}, "
          f"seed {args.seed}, "
          f"{args.num_videos} videos per split, start spread over {args.num_captions} "
          f"captions x {args.num_seeds} seeds")
    print("| temperature | joint test | joint held-out | two-object captions: joint test / "
          "held-out | FVD-lite test / held-out | start spread (real) |")
    print("|---|---|---|---|---|---|")
    for r in sweep(model, preset.data_spec, args.temperatures, args.num_videos,
                   args.num_captions, args.num_seeds, args.guidance, args.seed):
        two = ("–" if r["test_two"] is None
               else f"{r['test_two']:.1%} / {r['heldout_two']:.1%}")
        print(f"| {r['temperature']:g} | {r['test']:.1%} | {r['heldout']:.1%} | {two} "
              f"| {r['fvd_test']:.0f} / {r['fvd_heldout']:.0f} "
              f"| {r['spread']:.3f} ({r['spread_real']:.3f}) |")


if __name__ == "__main__":
    main()
