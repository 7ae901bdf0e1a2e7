"""Which reconstruction loss gives the classic tokenizer the higher ceiling? A CPU experiment.

    python benchmarks/tokenizer_loss.py --losses mse l1 --seeds 0 1 --out runs/tokloss.jsonl

Trains the tokenizer stage of a classic preset (default ``gpu``: 16 frames of 64x64)
with each reconstruction loss (``Preset.reconstruction_loss``), by ``training.train``
with ``to_stage="tokenizer"`` (the stage's AdamW, warm-up, cosine to 0, clipping), for
``--steps`` steps of ``--batch-size`` videos: far fewer than an H100 run's, so it compares the losses, not
what a GPU reaches. Then it scores the reconstructions of real test videos as the
evaluation does (``evaluation.reconstruction_ceiling``: oracle and learned judge) and
counts the oracle's errors on two-object videos (``tokenizer_errors.two_object_errors``).
Each finished run is appended to ``--out`` as one JSON line; a rerun skips the runs
already there, so an interrupted comparison resumes. It ends with a table of all runs.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tokenizer_errors import two_object_errors  # noqa: E402

from _args import scored_presets, whole  # noqa: E402
from t2v_edu import checkpoint, data, evaluation, t2v, tokenizer, training  # noqa: E402


def train_tokenizer(preset: str, loss: str, steps: int, batch_size: int, seed: int
                    ) -> tuple[t2v.TextToVideo, float]:
    """The tokenizer stage alone, trained by ``training.train`` (``to_stage``):
    (model, training seconds)."""
    with tempfile.TemporaryDirectory(prefix="tokenizer_loss_") as out:
        result = training.train(training.TrainConfig(
            model="classic", preset=preset, out=out, steps=steps, batch_size=batch_size,
            seed=seed, device="cpu", to_stage="tokenizer", progress=False, sample_every=0,
            save_every=10**9, settings=(f"reconstruction_loss={loss}",)))
    return result.model.eval(), result.meta["train_seconds"]


def score(model: t2v.TextToVideo, num_videos: int) -> dict:
    """Reconstruction ceiling on ``num_videos`` test videos; oracle errors on as many
    two-object ones (when the data has them)."""
    spec = model.preset.data_spec
    ceiling = evaluation.reconstruction_ceiling(model.reconstruct, spec, num_videos=num_videos)
    test = ceiling["splits"]["test"]
    out = {"psnr": round(test["psnr"], 2),
           "oracle": {k: round(v, 4) for k, v in test["oracle"].items()},
           "joint_by_objects": {k: round(v, 4) for k, v in test["joint_by_objects"].items()}}
    if "learned" in test:
        out["learned"] = {k: round(v, 4) for k, v in test["learned"].items()}
        out["fvd_lite"] = round(test["fvd_lite"], 1)
    if data.get_spec(spec).max_objects >= 2:
        objects, errors = two_object_errors(model, num_videos)["reconstructions"]
        out["two_object_errors"] = {"objects": objects, "errors": sum(errors.values()),
                                    "most_common": [[*k, n] for k, n in errors.most_common(5)]}
    return out


def table(runs: list[dict]) -> str:
    rows = ["| loss | seed | steps x batch | train s | PSNR | oracle shape / count / joint | "
            "learned joint | FVD-lite | two-object joint | oracle errors, two-object videos |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        s = r["scores"]
        learned = f"{100 * s['learned']['joint']:.1f} %" if "learned" in s else "-"
        two = s["joint_by_objects"].get("2")
        errors = s.get("two_object_errors")
        rows.append(
            f"| {r['loss']} | {r['seed']} | {r['steps']} x {r['batch_size']} | {r['train_s']:.0f} "
            f"| {s['psnr']:.2f} | {100 * s['oracle']['shape']:.1f} / "
            f"{100 * s['oracle']['count']:.1f} / {100 * s['oracle']['joint']:.1f} % | {learned} | "
            f"{s.get('fvd_lite', '-')} | "
            + (f"{100 * two:.1f} %" if two is not None else "-") + " | "
            + (f"{errors['errors']} on {errors['objects']} objects" if errors else "-") + " |")
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="gpu", choices=scored_presets("classic"),
                        help="a classic preset whose videos the judges score")
    parser.add_argument("--losses", nargs="+", default=["mse", "l1"],
                        choices=sorted(tokenizer.RECONSTRUCTION_LOSSES))
    parser.add_argument("--seeds", nargs="+", type=whole(0), default=[0])
    parser.add_argument("--steps", type=whole(1), default=1500)
    parser.add_argument("--batch-size", type=whole(1), default=32)
    parser.add_argument("--num-videos", type=whole(2), default=256)
    parser.add_argument("--out", default="runs/tokenizer_loss.jsonl")
    args = parser.parse_args(argv)
    torch.set_flush_denormal(True)
    out = Path(args.out)
    runs = ([json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
            if out.is_file() else [])
    for seed in args.seeds:
        for loss in args.losses:
            key = dict(preset=args.preset, loss=loss, seed=seed, steps=args.steps,
                       batch_size=args.batch_size, num_videos=args.num_videos)
            if any(all(r.get(k) == v for k, v in key.items()) for r in runs):
                print(f"{loss}, seed {seed}: in {out} already")
                continue
            model, seconds = train_tokenizer(args.preset, loss, args.steps, args.batch_size,
                                             seed)
            runs.append({**key, "train_s": round(seconds, 1),
                         "scores": score(model, args.num_videos)})
            out.parent.mkdir(parents=True, exist_ok=True)
            checkpoint.atomic_write_text(out, "".join(json.dumps(r) + "\n" for r in runs))
            print(f"{loss}, seed {seed}: trained {seconds:.0f} s", flush=True)
    print(table([r for r in runs if r["preset"] == args.preset]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
