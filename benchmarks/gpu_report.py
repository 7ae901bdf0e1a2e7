"""After benchmarks/gpu_train.sh has trained and evaluated: ship-ready files and a summary.

    python benchmarks/gpu_report.py OUT [--preset gpu] [--ceiling-videos 256]
    python benchmarks/gpu_report.py --check-groups "classic;modern seed" [--preset gpu]

The second form, run by gpu_train.sh before any training, exits 2 with the reason when
a group names an unknown model or one without that preset.

For every OUT/<model>/ with a model.pt: the tokenizer's reconstruction ceiling (models
that have ``reconstruct``), then OUT/weights/<model>_<preset>.pt/.pt.sha256/.json/.eval.json/.md (weights, SHA-256,
metadata, evaluation as notebook 07 reads it, model card) ready to copy into t2v_edu/weights/, and
OUT/summary.json + OUT/summary.md with throughput, TFLOP/s and accuracies.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from t2v_edu import evaluation, pick_device
from t2v_edu.checkpoint import atomic_write_json, atomic_write_text
from t2v_edu.training import export_weights, get_preset, load_model, model_module
from evaluate_shipped import checkpoint_fields   # benchmarks/, this script's folder

MAX_MEGABYTES = 15


def ceiling(run: Path, device: torch.device, num_videos: int) -> dict | None:
    """Both judges on the model's reconstructions of real test videos (if it has any)."""
    model, preset, _ = load_model(run / "model.pt", device=device)
    if not hasattr(model, "reconstruct"):
        return None

    def autoencode(videos):
        return model.reconstruct(videos.to(device)).float().cpu()

    return evaluation.reconstruction_ceiling(autoencode, spec=preset.data_spec,
                                             num_videos=num_videos)


def summarise(run: Path, evaluation_result: dict | None) -> dict:
    meta = json.loads((run / "model.json").read_text())
    row = {k: meta[k] for k in ("model", "preset", "train_seconds", "videos_seen",
                                "videos_per_second", "tflops_per_second", "hardware",
                                "stage_steps", "parameters")}
    row["megabytes"] = round((run / "model.pt").stat().st_size / 2**20, 2)
    if evaluation_result:
        for split, scores in evaluation_result["splits"].items():
            row[split] = {k: round(v, 4) for k, v in scores["oracle"].items()
                          if k in evaluation.ATTRIBUTE_KEYS}
    return row


def write_shipped_evaluation(weights: Path, model: str, result: dict,
                             device: torch.device) -> None:
    """``<weights stem>.eval.json`` in the format of ``benchmarks/ship_model.py`` (what
    notebook 07's comparison table reads), so the files ship as they are."""
    _, _, meta = load_model(weights)                    # checks the .sha256 beside it
    atomic_write_json(weights.with_suffix(".eval.json"),
                      dict(result, **checkpoint_fields(model, weights, meta, device)))


def check_groups(groups: str, preset: str) -> list[list[str]]:
    """The models of each ";"-separated group; ValueError naming what is wrong."""
    parsed = [group.split() for group in groups.split(";") if group.strip()]
    if not parsed:
        raise ValueError(f"TRAIN_GROUPS={groups!r} names no model")
    names = [name for group in parsed for name in group]
    if len(set(names)) < len(names):
        raise ValueError(f"TRAIN_GROUPS={groups!r} names a model twice")
    for name in names:
        try:
            get_preset(model_module(name), preset)
        except ValueError as exc:
            raise ValueError(f"TRAIN_GROUPS={groups!r}: {exc}") from None
    return parsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?")
    parser.add_argument("--preset", default="gpu")
    parser.add_argument("--ceiling-videos", type=int, default=256)
    parser.add_argument("--check-groups", metavar="TRAIN_GROUPS",
                        help="only check gpu_train.sh's TRAIN_GROUPS and exit")
    args = parser.parse_args(argv)
    if args.check_groups is not None:
        try:
            groups = check_groups(args.check_groups, args.preset)
        except ValueError as exc:
            print(f"gpu_train.sh: {exc}")
            return 2
        print("train groups, one after another:", " ; ".join(" ".join(g) for g in groups))
        return 0
    if args.out is None:
        parser.error("give the output folder OUT of gpu_train.sh")
    out = Path(args.out)
    device = pick_device()
    rows, problems = [], []
    for run in sorted(p.parent for p in out.glob("*/model.pt")):
        name = run.name
        result_path = run / "evaluation.json"
        result = json.loads(result_path.read_text()) if result_path.is_file() else None
        if result is None:
            problems.append(f"{name}: no evaluation.json")
        try:
            ceil = ceiling(run, device, args.ceiling_videos)
        except Exception as exc:  # report and go on: the other models still ship
            ceil, _ = None, problems.append(f"{name}: reconstruction ceiling failed: {exc}")
        if ceil is not None:
            atomic_write_json(run / "ceiling.json", ceil)
            atomic_write_text(run / "ceiling.md", evaluation.format_table(ceil))
            if result is not None:
                result["reconstruction"] = ceil
        paths = export_weights(run, out / "weights", f"{name}_{args.preset}", result)
        if result is not None:
            write_shipped_evaluation(paths["weights"], name, result, device)
        row = summarise(run, result)
        if row["megabytes"] > MAX_MEGABYTES:
            problems.append(f"{name}: checkpoint is {row['megabytes']} MB > {MAX_MEGABYTES}")
        rows.append(row)
    atomic_write_json(out / "summary.json", {"models": rows, "problems": problems})
    lines = ["| model | train s | videos/s | TFLOP/s | MB | test joint | heldout joint |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['train_seconds']} | {r['videos_per_second']} | "
                     f"{r['tflops_per_second']} | {r['megabytes']} | "
                     f"{r.get('test', {}).get('joint', '–')} | "
                     f"{r.get('heldout', {}).get('joint', '–')} |")
    text = "\n".join(lines + [""] + [f"PROBLEM: {p}" for p in problems]) + "\n"
    atomic_write_text(out / "summary.md", text)
    print(text, end="")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
