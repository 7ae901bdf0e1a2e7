"""Ship a trained checkpoint: evaluate it, then copy it into t2v_edu/weights with its card.

    t2v-edu train --model modern --preset cpu --out runs/modern_cpu
    python benchmarks/ship_model.py modern cpu runs/modern_cpu/model.pt

Writes ``t2v_edu/weights/<model>_<preset>.pt`` (+ ``.sha256``), its evaluation
``<model>_<preset>.eval.json`` (``evaluation.evaluate_generator``, what notebook 07's
comparison table reads) and a model card ``<model>_<preset>.md`` (data, the training
command from the checkpoint's metadata, hardware, training time, evaluation table), which
``generation.load_generator`` shows; a ``<model>_<preset>.json`` already there (as
``gpu_report.py`` exports) is rewritten for the new weights. The checkpoint must have
been trained with ``preset`` (its metadata says which). It is evaluated before any file
is written: a failure or Ctrl-C leaves the shipped files as they were. Refuses
checkpoints over 15 MB.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import t2v_edu  # noqa: E402
from _args import existing_file, usable_device, whole  # noqa: E402
from evaluate_shipped import (MAX_BYTES, evaluate_checkpoint, model_card,  # noqa: E402
                              write_shipped)
from t2v_edu import comparison, training  # noqa: E402
from t2v_edu.checkpoint import atomic_write_bytes, atomic_write_text, read_verified  # noqa: E402


def check_source(parser: argparse.ArgumentParser, source: Path, model: str,
                 preset: str) -> None:
    """Usage errors: a checkpoint over the size limit, of another model or preset."""
    size = source.stat().st_size
    if size > MAX_BYTES:
        parser.error(f"{source} is {size / 1e6:.1f} MB; the limit is {MAX_BYTES / 1e6:.0f} "
                     "MB (use storage_dtype='float16')")
    _, _, meta = training.load_model(source, expected_model=model)  # hash and format
    if meta.get("preset") != preset:
        parser.error(f"{source} was trained with preset {meta.get('preset')!r} (its "
                     f"metadata), not {preset!r}: ship it as {model} {meta.get('preset')}")


def evaluate_bytes(model: str, name: str, blob: bytes, digest: str, num_videos: int,
                   device) -> dict:
    """``evaluate_checkpoint`` of the bytes to ship, as a file ``name`` in a temporary
    folder: the evaluation is of these bytes, whatever happens to the source."""
    with tempfile.TemporaryDirectory(prefix="ship_model_") as folder:
        path = Path(folder) / name
        atomic_write_bytes(path, blob)
        atomic_write_text(f"{path}.sha256", digest + "\n")
        return evaluate_checkpoint(model, path, num_videos, 0, device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=list(comparison.GENERATIONS))
    parser.add_argument("preset", help="the preset it was trained with, e.g. cpu or gpu")
    parser.add_argument("checkpoint", type=existing_file,
                        help="model.pt written by t2v-edu train")
    parser.add_argument("--num-videos", type=whole(2), default=256)
    parser.add_argument("--weights", default=str(comparison.WEIGHTS_DIR))
    parser.add_argument("--note", default="", help="a line for the card (e.g. load caveats)")
    parser.add_argument("--device", type=usable_device, default=None)
    args = parser.parse_args(argv)
    t2v_edu.setup(quiet=True)
    source = args.checkpoint
    check_source(parser, source, args.model, args.preset)
    blob, digest = read_verified(source)  # the bytes checked are the bytes shipped
    target = Path(args.weights) / f"{args.model}_{args.preset}.pt"
    result = evaluate_bytes(args.model, target.name, blob, digest, args.num_videos,
                            t2v_edu.pick_device(args.device))
    card = model_card(args.model, args.preset, result, args.note)
    files = {"pt": blob, "pt.sha256": digest + "\n", "eval.json": result, "md": card}
    if target.with_suffix(".json").is_file():   # gpu_report's export: the old weights'
        files["json"] = training.weights_listing(digest, result["training"], result)
    for path in write_shipped(target, files):
        print("wrote", path, file=sys.stderr)
    print(card)
    return 0


if __name__ == "__main__":
    sys.exit(main())
