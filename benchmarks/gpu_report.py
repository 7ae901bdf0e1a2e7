"""After benchmarks/gpu_train.sh has trained and evaluated: ship-ready files and a summary.

    python benchmarks/gpu_report.py OUT [--ceiling-videos 256] [--preset gpu]
    python benchmarks/gpu_report.py --check-groups "classic;modern seed" [--preset gpu]
    python benchmarks/gpu_report.py --ship OUT/weights/classic-share30_gpu.pt [--to t2v_edu/weights]

The second form, run by gpu_train.sh before any training, exits 2 with the reason when
a group names an unknown model, one without that preset, or a variant MODEL-NAME whose
SET_MODEL_NAME settings do not fit the preset.

For every OUT/<run>/ with a model.pt (a run: a model, or a variant MODEL-NAME of one):
the tokenizer's reconstruction ceiling (models that have ``reconstruct``), then
OUT/weights/<run>_<preset>.pt/.pt.sha256/.json/.eval.json/.md (weights, SHA-256,
metadata, evaluation as notebook 07 reads it, model card; <preset> is the one the run
was trained with, from its model.json) ready to copy into t2v_edu/weights/ (a variant's
with the third form, which names them <model>_<preset>.*), and OUT/summary.json +
OUT/summary.md with throughput, TFLOP/s, size (MB: 10^6 bytes, the limit 15) and
accuracies. With --preset, a run trained with another preset is a problem (still
exported, under its own preset's name). Exits 2 when OUT holds no OUT/<run>/model.pt.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _args import whole  # noqa: E402
from evaluate_shipped import MAX_BYTES, checkpoint_fields, write_shipped  # noqa: E402
from t2v_edu import comparison, evaluation, pick_device  # noqa: E402
from t2v_edu.checkpoint import atomic_write_json, atomic_write_text, read_verified  # noqa: E402
from t2v_edu.training import (apply_settings, export_weights, get_preset,  # noqa: E402
                              load_model, model_module, training_spec)


def ceiling(run: Path, device: torch.device, num_videos: int) -> dict | None:
    """Both judges on the model's reconstructions of real test videos (if it has any)."""
    model, preset, _ = load_model(run / "model.pt", device=device)
    if not hasattr(model, "reconstruct"):
        return None

    def autoencode(videos):
        return model.reconstruct(videos.to(device)).float().cpu()

    return evaluation.reconstruction_ceiling(autoencode, spec=preset.data_spec,
                                             num_videos=num_videos)


def gpu_busy(path: Path) -> dict | None:
    """GPU utilisation (%) from gpu_train.sh's nvidia-smi samples (CSV: timestamp,
    utilization.gpu, memory.used, ...), counting only samples while some process held
    GPU memory: {"samples", "median", "mean"}; None without a file or such samples."""
    if not path.is_file():
        return None
    busy = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        fields = [f.strip() for f in line.split(",")]
        if (len(fields) >= 3 and fields[1].endswith("%") and fields[2].endswith("MiB")
                and float(fields[2].split()[0]) > 0):
            busy.append(float(fields[1].rstrip("% ")))
    if not busy:
        return None
    return {"samples": len(busy), "median": statistics.median(busy),
            "mean": round(statistics.fmean(busy), 1)}


def summarise(run: Path, evaluation_result: dict | None) -> dict:
    meta = json.loads((run / "model.json").read_text(encoding="utf-8"))
    row = {"run": run.name, "settings": meta.get("settings", [])}
    row.update({k: meta[k] for k in ("model", "preset", "train_seconds", "videos_seen",
                                "videos_per_second", "tflops_per_second", "hardware",
                                "stage_steps", "parameters")})
    row["bytes"] = (run / "model.pt").stat().st_size
    row["megabytes"] = round(row["bytes"] / 1e6, 2)
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


def ship(weights: Path, dest: Path) -> list[Path]:
    """Copy the files gpu_report exported for one run (``<run>_<preset>.pt``, its
    ``.pt.sha256``, ``.json``, ``.eval.json`` and ``.md``) into ``dest`` under the name the
    package loads, ``<model>_<preset>.*`` (a variant's name dropped). The weights must
    match their digest; the evaluation is re-labelled with the new file name."""
    missing = [p.name for p in (weights, *(weights.with_suffix(x) for x in
                                           (".json", ".eval.json", ".md"))) if not p.is_file()]
    if missing:
        raise ValueError(f"cannot ship {weights}: {', '.join(missing)} missing beside it "
                         "(a run ships with its evaluation and card: gpu_report.py OUT)")
    blob, digest = read_verified(weights)
    info = json.loads(weights.with_suffix(".json").read_text(encoding="utf-8"))
    name = f"{info['meta']['model']}_{info['meta']['preset']}"
    result = json.loads(weights.with_suffix(".eval.json").read_text(encoding="utf-8"))
    if result.get("checkpoint_sha256") != digest:
        raise ValueError(f"{weights.with_suffix('.eval.json')} is not the evaluation of "
                         f"{weights}: export the run again with gpu_report.py OUT")
    target = dest / f"{name}.pt"
    card = weights.with_suffix(".md").read_text(encoding="utf-8")
    return write_shipped(target, {"pt": blob, "pt.sha256": digest + "\n", "json": info,
                                  "eval.json": dict(result, checkpoint=target.name),
                                  "md": card})


def check_groups(groups: str, preset: str, environ: dict | None = None) -> list[list[str]]:
    """The entries (MODEL or MODEL-VARIANT) of each ";"-separated group; ValueError naming
    what is wrong. A variant's ``SET_<MODEL>_<VARIANT>`` settings (from ``environ``,
    default os.environ) must fit the model's preset."""
    environ = os.environ if environ is None else environ
    parsed = [group.split() for group in groups.split(";") if group.strip()]
    if not parsed:
        raise ValueError(f"TRAIN_GROUPS={groups!r} names no model")
    names = [name for group in parsed for name in group]
    if len(set(names)) < len(names):
        raise ValueError(f"TRAIN_GROUPS={groups!r} names a model twice")
    for name in names:
        model, _, variant = name.partition("-")
        key = "SET_" + name.replace("-", "_")
        try:
            settings = apply_settings(get_preset(model_module(model), preset),
                                      environ.get(key, "").split())
            training_spec(settings)
        except ValueError as exc:
            raise ValueError(f"TRAIN_GROUPS={groups!r}, {name}: {exc}") from None
        if variant and not environ.get(key):
            raise ValueError(f"TRAIN_GROUPS={groups!r}: the variant {name} needs its "
                             f'settings, e.g. {key}="two_object_prob=0.6"')
    return parsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?")
    parser.add_argument("--preset", default=None,
                        help="with --check-groups: the preset to check (default gpu); with "
                             "OUT: the preset every run must have been trained with (each "
                             "run's files are named by its own)")
    parser.add_argument("--ceiling-videos", type=whole(2), default=256)
    parser.add_argument("--check-groups", metavar="TRAIN_GROUPS",
                        help="only check gpu_train.sh's TRAIN_GROUPS and exit")
    parser.add_argument("--ship", metavar="WEIGHTS", type=Path,
                        help="only copy OUT/weights/<run>_<preset>.pt and its files into "
                             "--to as <model>_<preset>.* and exit")
    parser.add_argument("--to", type=Path, default=comparison.WEIGHTS_DIR,
                        help="default: the package's weights, %(default)s")
    args = parser.parse_args(argv)
    if args.ship is not None:
        try:
            for path in ship(args.ship, args.to):
                print("wrote", path)
        except ValueError as exc:
            print(f"gpu_report.py --ship: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.check_groups is not None:
        try:
            groups = check_groups(args.check_groups, args.preset or "gpu")
        except ValueError as exc:
            print(f"gpu_train.sh: {exc}")
            return 2
        print("train groups, one after another:", " ; ".join(" ".join(g) for g in groups))
        return 0
    if args.out is None:
        parser.error("give the output folder OUT of gpu_train.sh")
    out = Path(args.out)
    runs = sorted(p.parent for p in out.glob("*/model.pt"))
    if not runs:
        print(f"gpu_report.py: no OUT/<run>/model.pt found in {out}", file=sys.stderr)
        return 2
    device = pick_device()
    rows, problems = [], []
    for run in runs:
        name = run.name
        result_path = run / "evaluation.json"
        result = (json.loads(result_path.read_text(encoding="utf-8"))
                  if result_path.is_file() else None)
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
        try:   # one run's broken files (a kill between two writes) must not stop the rest
            row = summarise(run, result)
            paths = export_weights(run, out / "weights", f"{name}_{row['preset']}", result)
            if result is not None:
                write_shipped_evaluation(paths["weights"], row["model"], result, device)
        except Exception as exc:  # noqa: BLE001 - reported in the summary
            problems.append(f"{name}: export failed: {type(exc).__name__}: {exc}")
            continue
        if row["bytes"] > MAX_BYTES:
            problems.append(f"{name}: checkpoint is {row['megabytes']} MB > "
                            f"{MAX_BYTES / 1e6:g} MB")
        if args.preset is not None and row["preset"] != args.preset:
            problems.append(f"{name}: trained with preset {row['preset']!r}, not --preset "
                            f"{args.preset!r} (exported as {paths['weights'].name})")
        rows.append(row)
    busy = gpu_busy(out / "nvsmi.csv")
    atomic_write_json(out / "summary.json", {"models": rows, "problems": problems,
                                             "gpu_utilisation": busy})
    lines = ["| run | --set | train s | videos/s | TFLOP/s | MB | test joint | heldout joint |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['run']} | {' '.join(r['settings']) or '–'} | "
                     f"{r['train_seconds']} | {r['videos_per_second']} | "
                     f"{r['tflops_per_second']} | {r['megabytes']} | "
                     f"{r.get('test', {}).get('joint', '–')} | "
                     f"{r.get('heldout', {}).get('joint', '–')} |")
    if busy:
        lines += ["", f"GPU busy (nvidia-smi, {busy['samples']} samples while in use): "
                      f"median {busy['median']:g} %, mean {busy['mean']:g} %"]
    text = "\n".join(lines + [""] + [f"PROBLEM: {p}" for p in problems]) + "\n"
    atomic_write_text(out / "summary.md", text)
    print(text, end="")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
