"""Can a short fine-tune teach the shipped GPU model binding? (with or without caption
segment embeddings)

Loads ``classic_gpu.pt``, optionally adds segment embeddings to its caption encoder
(``Preset.caption_segments``, initialised to zero, so the fine-tune starts from the
shipped model's exact function), trains the caption encoder and transformer on data with
more two-object captions (its ``transformer`` stage, after the caption stage that
parsed the captions: the caption encoder trains on with the video loss unless the
preset keeps it frozen), and prints the binding test (``evaluation.binding_test``)
before and after. Run the two variants side by side, one thread each:

    T2V_THREADS=1 python benchmarks/binding_finetune.py --segments 2 --minutes 34 \\
        --out seg.json &
    T2V_THREADS=1 python benchmarks/binding_finetune.py --segments 0 --minutes 34 \\
        --out base.json

On 2 CPU cores (one each) that is about 900 steps of 16 videos per variant.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _args import fraction, real, whole  # noqa: E402
from t2v_edu import data, evaluation, generation, setup, t2v, training  # noqa: E402
from t2v_edu.checkpoint import atomic_write_text  # noqa: E402


def binding(model, num_captions: int) -> dict:
    result = evaluation.binding_test(model.nll, "gpu", "test", num_captions, seed=0)
    return {name: round(r["prefers_right"], 3) for name, r in result["tests"].items()}


def transformer_stage(model: t2v.TextToVideo, preset: t2v.Preset) -> training.Stage:
    """The model's ``transformer`` stage (after ``tokenizer`` and, when the preset
    parses captions first, ``caption``: its place in the list depends on the preset)."""
    return next(stage for stage in t2v.stages(model, preset) if stage.name == "transformer")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--segments", type=whole(0), default=2,
                        help="0: no segment embeddings")
    parser.add_argument("--minutes", type=real(0, strict=True), default=30.0,
                        help="training time (at least one step)")
    parser.add_argument("--lr", type=real(0, strict=True), default=5e-4)
    parser.add_argument("--batch-size", type=whole(1), default=16)
    parser.add_argument("--two-object-share", type=fraction, default=0.7)
    parser.add_argument("--captions", type=whole(1), default=128, help="binding test size")
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    setup(seed=0, quiet=True)
    path = generation.default_checkpoint("classic", "gpu")
    if path is None:
        parser.error("no shipped classic_gpu.pt")
    shipped, preset, _ = training.load_model(path, device="cpu", expected_model="classic")
    preset = dataclasses.replace(preset, caption_segments=args.segments)
    model = t2v.build(preset)
    missing, unexpected = model.load_state_dict(shipped.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("text.segment") for k in missing)
    if args.segments:
        torch.nn.init.zeros_(model.text.segment.weight)
    model = model.float()   # the shipped weights are stored in float16
    spec = dataclasses.replace(data.get_spec("gpu"), two_object_prob=args.two_object_share)
    videos_of = data.MovingShapes("train", num_frames=preset.num_frames, size=preset.size,
                                  length=10**8, seed=11, spec=spec)
    result = {"segments": args.segments, "before": binding(model, args.captions)}
    print(result, flush=True)
    stage = transformer_stage(model, preset)
    stage.lr = args.lr
    optimizer = training.make_optimizer(stage, torch.device("cpu"))
    step, start, losses = 0, time.time(), []
    while step == 0 or time.time() - start < 60 * args.minutes:
        b = args.batch_size
        videos, captions, _ = videos_of.get_batch(range(step * b, step * b + b))
        for group in optimizer.param_groups:
            group["lr"] = training.learning_rate(args.lr, step, 20, 0.0)  # warm-up, then flat
        model.train()
        loss, _ = training.train_step(stage, optimizer, videos, captions)
        losses.append(loss.item())
        step += 1
        if step % 50 == 0:
            print(f"step {step}: loss {sum(losses[-50:]) / 50:.4f}", flush=True)
    result.update(steps=step, videos=step * args.batch_size,
                  loss_first_50=round(sum(losses[:50]) / len(losses[:50]), 4),
                  loss_last_50=round(sum(losses[-50:]) / len(losses[-50:]), 4),
                  after=binding(model, args.captions))
    print(result, flush=True)
    if args.out:
        atomic_write_text(args.out, json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
