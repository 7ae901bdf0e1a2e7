"""What a classic checkpoint's tokenizer loses on two-object videos: the oracle's errors.

    python benchmarks/tokenizer_errors.py                        # the shipped classic_gpu.pt
    python benchmarks/tokenizer_errors.py --checkpoint runs/gpu/model.pt --num-videos 64

Draws two-object test videos, reconstructs them with the checkpoint's tokenizer, and
prints, for the real videos and for the reconstructions, how many objects the oracle
judge gets wrong and which errors: (attribute, wanted, judged). The reconstruction ceiling (``evaluation.reconstruction_ceiling``) gives the
rates; this says what the tokenizer blurs away.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import t2v_edu  # noqa: E402
from _args import whole  # noqa: E402
from t2v_edu import data, evaluation, generation, judges, training  # noqa: E402


def oracle_errors(oracle, videos: torch.Tensor, attrs: list[list[dict]]
                  ) -> tuple[int, collections.Counter]:
    """(objects judged, Counter of errors (attribute, wanted, judged)) of the oracle on
    videos with known attrs, matched as the evaluation matches them
    (``judges.score_per_color``: a missing colour is a colour error)."""
    pc = oracle.per_color(videos)
    score = judges.score_per_color(pc, attrs, oracle.names)
    errors, count = collections.Counter(), 0
    for b, objs in enumerate(attrs):
        for o, obj in enumerate(objs):
            count += 1
            k = int(score["index"][b, o])
            for key in ("color", "shape", "motion"):
                if not score[key][b, o]:
                    judged = k if key == "color" else int(pc[key][b, k])
                    errors[(key, obj[key], oracle.names[key][judged] if judged >= 0
                            else "none")] += 1
    return count, errors


def two_object_videos(preset, num_videos: int, seed: int = 0) -> data.MovingShapes:
    """The first ``num_videos`` test videos of a classic preset's data, all naming two
    objects."""
    spec = dataclasses.replace(data.get_spec(preset.data_spec), two_object_prob=1.0)
    return data.MovingShapes("test", num_frames=preset.num_frames, size=preset.size,
                             length=num_videos, seed=seed, spec=spec)


def load_two_object_model(parser: argparse.ArgumentParser, checkpoint: str | None):
    """(path, model, preset) of a classic checkpoint whose data names two objects (default:
    the shipped classic_gpu.pt); anything else is a usage error."""
    path = checkpoint or generation.default_checkpoint("classic", "gpu")
    if path is None:
        parser.error("no classic gpu checkpoint is shipped; pass --checkpoint")
    model, preset, _ = training.load_model(path, device="cpu", expected_model="classic")
    if data.get_spec(preset.data_spec).max_objects < 2:
        parser.error(f"spec {preset.data_spec!r} has one object per video; use a gpu checkpoint")
    return path, model, preset


def two_object_errors(model, num_videos: int, seed: int = 0
                      ) -> dict[str, tuple[int, collections.Counter]]:
    """``oracle_errors`` of ``num_videos`` two-object test videos of the classic model's
    data: {"real videos": ..., "reconstructions": ...} (its tokenizer's)."""
    preset = model.preset
    videos, _, attrs = two_object_videos(preset, num_videos, seed).get_batch(range(num_videos))
    with torch.no_grad():
        recon = torch.cat([model.reconstruct(v) for v in videos.split(32)]).clamp(0, 1)
    oracle = evaluation.load_judges(preset.data_spec)["oracle"]
    return {name: oracle_errors(oracle, v, attrs)
            for name, v in (("real videos", videos), ("reconstructions", recon))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="default: the shipped classic_gpu.pt")
    parser.add_argument("--num-videos", type=whole(1), default=192)
    parser.add_argument("--seed", type=whole(0), default=0)
    args = parser.parse_args(argv)
    t2v_edu.setup(seed=0, quiet=True)
    path, model, preset = load_two_object_model(parser, args.checkpoint)
    print(f"{path}: {args.num_videos} two-object test videos, seed {args.seed}, oracle judge")
    for name, (count, errors) in two_object_errors(model, args.num_videos, args.seed).items():
        listed = ", ".join(f"{' '.join(k)} x{n}" for k, n in errors.most_common(8)) or "-"
        print(f"{name}: {sum(errors.values())} errors on {count} objects: {listed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
