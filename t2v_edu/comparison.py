"""One table for every model generation of the course (notebook 07).

Each row is one model scored by the same ``t2v-edu evaluate`` metrics: joint accuracy
on "test" and "heldout" captions (oracle judge), FVD-lite (learned judge, when its
weights ship), diversity (start-position spread over seeds, next to real videos'),
and sampling time per video (the faster of the two splits' timings, two significant
digits).

Rows of shipped models come from the evaluation files written beside their
checkpoints (``t2v_edu/weights/<model>_<preset>.eval.json``): the ``cpu`` ones by
``benchmarks/evaluate_shipped.py``, which runs ``evaluation.evaluate_generator`` on
each shipped ``cpu`` checkpoint (256 videos per split), the ``gpu`` ones by
``benchmarks/gpu_train.sh`` on the GPU that trained them (512). A model without one shows "not yet available": never a
number that was not measured.
"""
from __future__ import annotations

import json
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
GENERATIONS = {  # model name -> what it is, oldest first
    "seed": "the article's RNN/GAN (08)",
    "classic": "FSQ tokens + transformer (06)",
    "modern": "latent flow transformer (07)",
}
COLUMNS = ("joint test", "joint heldout", "FVD-lite test", "diversity", "s / video")
NOT_AVAILABLE = "not yet available"


def evaluation_path(model: str, preset: str = "cpu", weights_dir: str | Path | None = None
                    ) -> Path:
    """Where the evaluation of the shipped ``<model>_<preset>.pt`` is stored."""
    return Path(weights_dir or WEIGHTS_DIR) / f"{model}_{preset}.eval.json"


def load_shipped_evaluation(model: str, preset: str = "cpu",
                            weights_dir: str | Path | None = None) -> dict | None:
    """The stored ``evaluate_generator`` result of a shipped checkpoint, or None.

    None when the checkpoint or its evaluation is missing, or when the evaluation
    belongs to another checkpoint (its SHA-256 differs from the file's).
    """
    from .checkpoint import sha256_file

    if model not in GENERATIONS or preset not in ("cpu", "gpu"):
        raise ValueError(f"model {model!r}, preset {preset!r}: use a model of "
                         f"{sorted(GENERATIONS)} and preset 'cpu' or 'gpu'")
    path = evaluation_path(model, preset, weights_dir)
    weights = path.with_name(f"{model}_{preset}.pt")
    if not path.is_file() or not weights.is_file():
        return None
    result = json.loads(path.read_text(encoding="utf-8"))
    if result.get("checkpoint_sha256") != sha256_file(weights):
        return None
    return result


def row_values(result: dict | None) -> dict[str, str]:
    """The table's cells for one ``evaluate_generator`` result (or None)."""
    if result is None:
        return {c: NOT_AVAILABLE if i == 0 else "" for i, c in enumerate(COLUMNS)}
    splits = result["splits"]

    def joint(split: str) -> str:
        s = splits.get(split)
        return "–" if s is None else f"{100 * s['oracle']['joint']:.0f} %"

    fvd = splits.get("test", {}).get("fvd_lite")
    seconds = [s["seconds_per_video"] for s in splits.values() if "seconds_per_video" in s]
    div = result.get("diversity")
    return {
        "joint test": joint("test"),
        "joint heldout": joint("heldout"),
        "FVD-lite test": "–" if fvd is None else f"{fvd:.1f}",
        "diversity": "–" if div is None else
        f"{div['start_spread']:.2f} (real {div['start_spread_real']:.2f})",
        "s / video": "–" if not seconds else f"{min(seconds):.2g}",
    }


def comparison_table(rows: dict[str, dict | None], training: dict[str, str] | None = None
                     ) -> str:
    """A Markdown table: one row per entry of ``rows`` (label -> result or None).

    training: label -> a short note on the training budget (``training_note``).
    """
    training = training or {}
    head = ["model", "training", *COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, result in rows.items():
        cells = row_values(result)
        lines.append("| " + " | ".join([label, training.get(label, ""),
                                        *(cells[c] for c in COLUMNS)]) + " |")
    return "\n".join(lines) + "\n"


def training_note(result: dict | None) -> str:
    """"≈<TFLOP> TFLOP, <minutes> <device> min" from a result's training metadata.

    The compute (FLOPs counted on one step of each stage, times the steps) does not
    depend on how busy the machine was; the minutes do. A model continued from earlier
    weights (``--init-from``) counts the minutes of both runs, and the compute of both
    when the earlier run's is recorded.
    """
    if not result or "training" not in result:
        return ""
    meta = result["training"]
    seconds = meta.get("train_seconds", 0)
    where = "GPU" if meta.get("device") == "cuda" else "CPU"
    tflop = meta.get("tflops_per_second", 0) * seconds
    preset = meta.get("preset", "?")
    earlier = meta.get("continued_from")  # trained with --init-from: two runs
    if earlier is None:
        return f"≈{tflop:.0f} TFLOP, {seconds / 60:.1f} {where} min ({preset} preset)"
    total = (seconds + earlier["train_seconds"]) / 60
    if "tflop" in earlier:
        return (f"≈{tflop + earlier['tflop']:.0f} TFLOP, {total:.1f} {where} min "
                f"({preset} preset, two runs)")
    return (f"≈{tflop:.0f} TFLOP in its last {seconds / 60:.1f} of {total:.1f} {where} min "
            f"({preset} preset, continued)")
