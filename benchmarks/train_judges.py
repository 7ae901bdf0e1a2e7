"""Train the learned judges (one per data spec) and ship their weights.

    python benchmarks/train_judges.py --spec cpu       # the cpu judge, into t2v_edu/weights
    python benchmarks/train_judges.py --spec gpu --device cuda   # the gpu judge (on a GPU)
    python benchmarks/train_judges.py --spec cpu --out /tmp/judges

Deterministic (seed 0 by default). The "cpu" judge trains on a CPU in about a minute;
the "gpu" judge (7 colours, 4 shapes, 7 motions, two objects) needs 7000 steps of 128
videos, about four minutes on one H100 (``--device cuda``), too long for a laptop: the
shipped one was trained so, and a run without ``--spec`` (both specs) on a CPU would
replace it with a CPU-trained one.
Writes judge_<spec>.pt (SHA-256 in judge_<spec>.pt.sha256 and in the model card
judge_<spec>.json, together with the accuracy on real "test" and "heldout" videos) and
prints the figures. Everything is computed (training, evaluation, the card) before the
first file is written: a failure leaves the shipped judge and its card as they were.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import t2v_edu  # noqa: E402
from _args import usable_device, whole  # noqa: E402
from t2v_edu import judges  # noqa: E402
from t2v_edu.checkpoint import atomic_write_json, save_checkpoint  # noqa: E402
from t2v_edu.evaluation import evaluate_real  # noqa: E402


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    return (f"{platform.machine()} CPU, {torch.get_num_threads()} thread(s), "
            f"torch {torch.__version__}")


def train_and_save(spec: str, out: Path, seed: int, steps: int | None, num_eval: int,
                   device: torch.device) -> dict:
    """Train, evaluate and describe the judge of ``spec``, then write its weights
    (with their .sha256) and its card, one after the other."""
    start = time.perf_counter()
    net, losses = judges.train_judge(spec, steps=steps, seed=seed, device=device,
                                     progress=lambda s, l: print(f"  {spec} step {s:4d} loss {l:.4f}",
                                                                 flush=True) if s % 50 == 0 else None)
    seconds = time.perf_counter() - start
    path, card_path = judges.judge_paths(spec, out)
    net = net.cpu()
    judge = judges.LearnedJudge(net, spec)
    real = evaluate_real(spec, ("test", "heldout"), num_videos=num_eval, seed=0,
                         judges={"oracle": judges.OracleJudge(spec), "learned": judge})
    card = judge_card(spec, seed, losses, net, seconds, hardware(device), real, num_eval)
    card["sha256"] = save_checkpoint(path, {"spec": spec, "config": card["config"],
                                            "seed": seed, "model": net.state_dict()})
    atomic_write_json(card_path, card)
    return card


def judge_card(spec: str, seed: int, losses: list[float], net: torch.nn.Module,
               seconds: float, hardware: str, real: dict, num_eval: int) -> dict:
    """The model card judge_<spec>.json, without the weights' SHA-256."""
    cfg = judges.JUDGE_CONFIGS[spec]
    return {
        "name": f"judge_{spec}",
        "what": "learned judge: per-colour presence, shape and motion of video objects",
        "spec": spec, "seed": seed, "steps": len(losses), "final_loss": losses[-1],
        "parameters": sum(p.numel() for p in net.parameters()),
        "config": asdict(cfg),
        "train_data": f"fresh t2v_edu.data.MovingShapes videos of splits {cfg.train_splits}, "
                      f"data seed {1000 + seed}, {cfg.batch_size} per step",
        "train_seconds": round(seconds, 1),
        "hardware": hardware,
        "accuracy_real": {split: {"learned": s["learned"], "oracle": s["oracle"]}
                          for split, s in real["splits"].items()},
        "eval_videos_per_split": num_eval,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", choices=sorted(judges.JUDGE_CONFIGS), action="append",
                        help="repeatable (default: every spec)")
    parser.add_argument("--out", default=str(judges.WEIGHTS_DIR),
                        help="folder of judge_<spec>.* (default: the package's, %(default)s)")
    parser.add_argument("--seed", type=whole(0), default=0)
    parser.add_argument("--steps", type=whole(1), default=None, help="default: the config's")
    parser.add_argument("--num-eval", type=whole(2), default=1000,
                        help="real videos per split for the card's accuracies")
    parser.add_argument("--device", type=usable_device, default="cpu",
                        help="cpu (the cpu judge) or cuda (the gpu judge was trained on one)")
    args = parser.parse_args(argv)
    t2v_edu.setup(seed=args.seed, quiet=True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    for spec in args.spec or sorted(judges.JUDGE_CONFIGS):
        card = train_and_save(spec, Path(args.out), args.seed, args.steps, args.num_eval,
                              args.device)
        print(f"{spec}: {card['parameters']} parameters, {card['train_seconds']} s, "
              f"sha256 {card['sha256'][:16]}…")
        for split, acc in card["accuracy_real"].items():
            for name, r in acc.items():
                print(f"  {split:8s} {name:8s} " + "  ".join(
                    f"{k} {100 * r[k]:.2f} %" for k in ("shape", "color", "motion", "joint")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
