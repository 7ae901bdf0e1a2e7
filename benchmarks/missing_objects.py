"""Two-object captions: how often a classic checkpoint leaves an object out, and whether
sampling settings fix it.

    python benchmarks/missing_objects.py                          # the shipped classic_gpu.pt
    python benchmarks/missing_objects.py --temperature 1.0 --guidance 1.0 --draws 4
    python benchmarks/missing_objects.py --checkpoint runs/gpu/model.pt --num-captions 64

Samples ``--draws`` videos for each of ``--num-captions`` two-object test captions and
judges them with the oracle (``evaluation.two_object_breakdown``): the share with both
objects and no more, with fewer objects (a named one never drawn) and with more, and the
joint accuracy. It prints the first draw, and the likeliest of the draws by the model's
own -log p(video | caption) (``TextToVideo.nll``): best-of-k picks among what the model
already draws, without any judge.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import t2v_edu  # noqa: E402
from _args import real, whole  # noqa: E402
from t2v_edu import evaluation, judges  # noqa: E402
from tokenizer_errors import load_two_object_model, two_object_videos  # noqa: E402


def breakdown(oracle, videos: torch.Tensor, attrs: list) -> dict:
    """``two_object_breakdown`` of the videos plus their joint accuracy (oracle)."""
    pc = oracle.per_color(videos)
    scores = judges.score_per_color(pc, attrs, oracle.names)
    out = evaluation.two_object_breakdown(pc, attrs, oracle.names, scores)
    return {**out, "joint": scores["joint"].float().mean().item()}


def draws(model, captions: list[str], num_draws: int, seed: int, batch_size: int = 32,
          **sampling) -> torch.Tensor:
    """Videos [C, K, T, 3, H, W]: K draws per caption."""
    return torch.stack([torch.cat([
        model.sample(captions[i:i + batch_size],
                     torch.Generator().manual_seed(seed + 1000 * k + i), **sampling).clamp(0, 1)
        for i in range(0, len(captions), batch_size)]) for k in range(num_draws)], 1)


def likeliest(model, videos: torch.Tensor, captions: list[str], batch_size: int = 32
              ) -> torch.Tensor:
    """Of K draws per caption [C, K, T, 3, H, W], the one with the lowest
    -log p(video | caption) (``TextToVideo.nll``): [C, T, 3, H, W]."""
    nll = torch.stack([torch.cat([model.nll(videos[i:i + batch_size, k],
                                            captions[i:i + batch_size])
                                  for i in range(0, len(captions), batch_size)])
                       for k in range(videos.shape[1])], 1)                   # [C, K]
    return videos[torch.arange(len(captions)), nll.argmin(1)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="default: the shipped classic_gpu.pt")
    parser.add_argument("--num-captions", type=whole(1), default=192)
    parser.add_argument("--draws", type=whole(1), default=1,
                        help="videos per caption (best-of-k)")
    parser.add_argument("--temperature", type=real(0), default=None,
                        help="default: the preset's (0: the likeliest code each time)")
    parser.add_argument("--guidance", type=real(0), default=None, help="default: the preset's")
    parser.add_argument("--seed", type=whole(0), default=5, help="which captions and draws")
    args = parser.parse_args(argv)
    t2v_edu.setup(seed=0, quiet=True)
    path, model, preset = load_two_object_model(parser, args.checkpoint)
    ds = two_object_videos(preset, args.num_captions, args.seed)
    captions, attrs = map(list, zip(*(ds.describe(i)[:2] for i in range(args.num_captions))))
    sampling = {"temperature": args.temperature, "guidance": args.guidance}
    shown = {key: getattr(preset, key) if value is None else value
             for key, value in sampling.items()}
    print(f"{path}: {args.num_captions} two-object test captions x {args.draws} draws, "
          f"temperature {shown['temperature']}, guidance {shown['guidance']}, "
          f"plan slots {preset.plan_slots}, seed {args.seed}")
    videos = draws(model, captions, args.draws, args.seed, **sampling)
    oracle = evaluation.load_judges(preset.data_spec)["oracle"]
    rows = {"first draw": videos[:, 0]}
    if args.draws > 1:
        rows[f"likeliest of {args.draws}"] = likeliest(model, videos, captions)
    print("| videos | both objects, no more | fewer | more | joint |")
    print("|---|---|---|---|---|")
    for name, chosen in rows.items():
        r = breakdown(oracle, chosen, attrs)
        print(f"| {name} | {r['count']:.1%} | {r['fewer']:.1%} | {r['more']:.1%} | "
              f"{r['joint']:.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
