"""Can the classic model learn binding from scratch, and what helps? A small CPU experiment.

The GPU model shipped before the caption stage read two-object captions as a bag of
words (``binding_test``: chance on swapped shapes); the caption stage (``--parse-steps``
here) is what fixed it. This script asks the question at a size a CPU can train:
8 frames of 32x32, 4 shapes, 4 colours, 5 motions, 70 % two-object captions
(``SPEC`` below), the ``cpu`` preset's tokenizer and transformer. It trains the
tokenizer once (saved to ``--tokenizer``, reused by every variant, so variants differ
only in their caption encoder), then the caption encoder and transformer, printing the
binding test every ``--eval-every`` steps. Run two variants side by side, one thread each:

    T2V_THREADS=1 python benchmarks/binding_from_scratch.py --text-layers 0 \\
        --out runs/bind/l0.json &
    T2V_THREADS=1 python benchmarks/binding_from_scratch.py --text-layers 2 \\
        --out runs/bind/l2.json

(start one alone first when the tokenizer file does not exist yet). ``--plan-slots 2``
makes the model plan where each object starts before its codes (``Preset.plan_slots``);
``--hidden 32 64`` gives the tokenizer an 8 x 8 grid of codes per tubelet, as the gpu
preset's, where objects go missing as on the GPU. At the end it also
samples videos for 512 captions per split and judges them (``generated``: does each
colour's object show its own shape and motion, or the other object's?). For runs saved
before that, ``--rescore runs/bind/*.json`` judges the saved weights alone.
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
from t2v_edu import data, evaluation, setup, t2v, training  # noqa: E402
from t2v_edu.checkpoint import atomic_write_text, load_checkpoint, save_checkpoint  # noqa: E402
from t2v_edu.judges import OracleJudge, VideoFormat  # noqa: E402

SPEC = data.DataSpec(shapes=data.ALL_SHAPES, colors=("red", "blue", "green", "yellow"),
                     motions=("left", "right", "up", "down", "still"), radius=(0.18, 0.24),
                     max_objects=2, two_object_prob=0.7)
FORMAT = VideoFormat(num_frames=8, size=32)


def binding(model: t2v.TextToVideo, split: str, num_captions: int) -> dict:
    result = evaluation.binding_test(model.nll, SPEC, split, num_captions, seed=0,
                                     video_format=FORMAT)
    return {name: round(r["prefers_right"], 3) for name, r in result["tests"].items()}


def probe(model: t2v.TextToVideo, num_train: int, num_test: int) -> dict:
    """``evaluation.caption_probe``: does the caption encoder bind colour to shape?"""
    model.eval()
    result = evaluation.caption_probe(model.encode_text, model.vocab, SPEC, num_train, num_test)
    return {key: round(result[key], 3) for key in ("own", "other")}


def generated(model: t2v.TextToVideo, split: str, num_videos: int = 512) -> dict:
    """Sampled videos for a split's first captions, judged by the oracle
    (``evaluation.score_videos``): its two-object breakdown (own vs the other object's
    shape and motion) and the joint accuracy of the captions naming 1 and 2 objects
    (``joint_1``, ``joint_2``)."""
    ds = data.MovingShapes(split, num_frames=FORMAT.num_frames, size=FORMAT.size,
                           length=num_videos, seed=0, spec=SPEC)
    captions, attrs = zip(*(ds.describe(i)[:2] for i in range(num_videos)))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        videos = torch.cat([model.sample(list(captions[i:i + 128]), generator)
                            for i in range(0, num_videos, 128)])
    scores = evaluation.score_videos({"oracle": OracleJudge(SPEC)}, videos, list(attrs))
    found = dict(scores.get("two_objects", {}))
    found.update({f"joint_{n}": value                                   # n objects named
                  for n, value in scores["joint_by_objects"].items()})
    return {key: value if value is None else round(value, 3) for key, value in found.items()}


def build(result: dict) -> t2v.TextToVideo:
    """The model a run's JSON describes (its preset fields; weights not loaded)."""
    preset = dataclasses.replace(t2v.PRESETS["cpu"], num_frames=FORMAT.num_frames,
                                 size=FORMAT.size, text_layers=result["text_layers"],
                                 caption_segments=result.get("segments", 0),
                                 caption_parse_steps=result.get("parse_steps") or 0,
                                 caption_keep_parsing=result.get("keep_parsing") or 0.0,
                                 plan_slots=result.get("plan_slots", 0),
                                 plan_weight=result.get("plan_weight", 1.0),
                                 hidden=tuple(result.get("hidden", t2v.PRESETS["cpu"].hidden)))
    return t2v.build(preset)


def rescore(paths: list[str], num_videos: int) -> None:
    """``generated`` for saved runs (a run's JSON with its .pt beside it)."""
    for path in map(Path, paths):
        result = json.loads(path.read_text(encoding="utf-8"))
        model = build(result)
        model.load_state_dict(load_checkpoint(path.with_suffix(".pt"))["state_dict"])
        print(json.dumps({"run": path.stem, **{split: generated(model, split, num_videos)
                                               for split in ("test", "heldout")}}), flush=True)


def train_stage(stage: training.Stage, steps: int, videos_of: data.MovingShapes, first: int,
                batch_size: int, every: int = 0, report=None) -> tuple[list[float], dict]:
    """``steps`` AdamW steps of ``stage`` (warm-up, cosine decay to 0) on the videos from
    index ``first`` on; returns the losses and the last step's metrics. Calls
    ``report(step, losses)`` every ``every`` steps."""
    optimizer = training.make_optimizer(stage, torch.device("cpu"))
    losses = []
    for step in range(steps):
        items = range(first + step * batch_size, first + (step + 1) * batch_size)
        if stage.uses_videos:
            videos, captions, _ = videos_of.get_batch(items)
        else:   # the caption stage: captions only
            videos, captions = None, [videos_of.describe(i)[0] for i in items]
        for group in optimizer.param_groups:
            group["lr"] = training.learning_rate(stage.lr, step, stage.warmup, step / steps, 0.0)
        loss, metrics = training.train_step(stage, optimizer, videos, captions)
        losses.append(loss.item())
        if report and every and ((step + 1) % every == 0 or step + 1 == steps):
            report(step + 1, losses)
    return losses, metrics


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--text-layers", type=whole(0), default=0)
    parser.add_argument("--segments", type=whole(0), default=0, help="0: no segment embeddings")
    parser.add_argument("--parse-steps", type=whole(0), default=0,
                        help="Preset.caption_parse_steps: first teach the caption encoder to "
                             "parse (batches of 64), then keep it frozen (0: do not)")
    parser.add_argument("--keep-parsing", type=real(0), default=0.0,
                        help="Preset.caption_keep_parsing: train the parsed encoder on, with "
                             "this weight on the parse loss (0: keep it frozen)")
    parser.add_argument("--two-object-prob", type=fraction, default=SPEC.two_object_prob,
                        help="share of two-object captions in the training videos (the "
                             "tests keep SPEC's 0.7; Preset.two_object_prob)")
    parser.add_argument("--plan-slots", type=whole(0), default=0,
                        help="Preset.plan_slots: first sample where each named object "
                             "starts, then the codes (0: no plan; SPEC has 2 objects)")
    parser.add_argument("--plan-weight", type=real(0), default=1.0,
                        help="Preset.plan_weight: of the plan's mean cross-entropy in the "
                             "loss, against the codes' mean")
    parser.add_argument("--hidden", type=whole(1), nargs="+",
                        default=list(t2v.PRESETS["cpu"].hidden),
                        help="Preset.hidden: the tokenizer halves the frame once per entry "
                             "(32 64: an 8 x 8 grid of codes per tubelet, as the gpu preset)")
    parser.add_argument("--steps", type=whole(1), default=10000, help="transformer steps")
    parser.add_argument("--tokenizer-steps", type=whole(1), default=2000)
    parser.add_argument("--tokenizer", default="runs/bind/tokenizer.pt",
                        help="trained here when missing, loaded when present")
    parser.add_argument("--eval-every", type=whole(0), default=1000,
                        help="steps between binding tests (0: only at the end)")
    parser.add_argument("--captions", type=whole(1), default=64, help="binding test size")
    parser.add_argument("--seed", type=whole(0), default=0)
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    parser.add_argument("--sampled", type=whole(1), default=512,
                        help="videos per split sampled and judged at the end")
    parser.add_argument("--rescore", nargs="+", metavar="RUN_JSON",
                        help="only judge the sampled videos of saved runs and exit")
    args = parser.parse_args(argv)
    torch.set_flush_denormal(True)
    setup(seed=args.seed, quiet=True)
    if args.rescore:
        rescore(args.rescore, args.sampled)
        return 0
    result = {"text_layers": args.text_layers, "segments": args.segments, "seed": args.seed,
              "parse_steps": args.parse_steps, "keep_parsing": args.keep_parsing,
              "two_object_prob": args.two_object_prob, "plan_slots": args.plan_slots,
              "plan_weight": args.plan_weight,
              "hidden": args.hidden,
              "spec": dataclasses.asdict(SPEC), "curve": []}
    model = build(result)
    preset = model.preset
    train_spec = dataclasses.replace(SPEC, two_object_prob=args.two_object_prob)
    videos_of = data.MovingShapes("train", num_frames=FORMAT.num_frames, size=FORMAT.size,
                                  length=10**9, seed=11, spec=train_spec)
    stages = t2v.stages(model, preset)         # tokenizer, [caption,] transformer
    tokenizer_stage, transformer_stage = stages[0], stages[-1]
    path = Path(args.tokenizer)
    made_for = {"tokenizer_steps": args.tokenizer_steps, "hidden": list(preset.hidden)}
    if path.exists():
        saved = load_checkpoint(path)
        if saved["made_for"] != made_for:
            raise SystemExit(f"{path} holds a tokenizer trained for {saved['made_for']}, not "
                             f"{made_for}: pass another --tokenizer path")
        model.tokenizer.load_state_dict(saved["state_dict"])
    else:
        start = time.time()
        losses, _ = train_stage(tokenizer_stage, args.tokenizer_steps, videos_of, first=9 * 10**8,
                             batch_size=preset.tokenizer_batch)
        print(f"tokenizer: {len(losses)} steps in {time.time() - start:.0f} s, "
              f"last MSE {sum(losses[-50:]) / len(losses[-50:]):.5f}", flush=True)
        save_checkpoint(path, {"made_for": made_for,
                               "state_dict": model.tokenizer.state_dict()})
    if args.parse_steps:   # the package's caption stage (t2v.stages)
        start = time.time()
        _, metrics = train_stage(stages[1], args.parse_steps, videos_of, first=8 * 10**8,
                                 batch_size=64)
        result["parse_accuracy"] = round(float(metrics["parse_accuracy"]), 3)
        print(f"caption encoder: {args.parse_steps} parsing steps in "
              f"{time.time() - start:.0f} s, every attribute of a word's object right "
              f"{result['parse_accuracy']:.1%} (last batch); probe {probe(model, 1000, 300)}",
              flush=True)
    start = time.time()

    def report(step, losses):
        row = {"step": step, "videos": step * preset.batch_size,
               "minutes": round((time.time() - start) / 60, 1),
               "loss": round(sum(losses[-200:]) / len(losses[-200:]), 4),
               "test": binding(model, "test", args.captions),
               "caption_probe": probe(model, 1000, 300)}
        model.train()
        result["curve"].append(row)
        print(row, flush=True)

    train_stage(transformer_stage, args.steps, videos_of, first=args.seed * 10**7,
                batch_size=preset.batch_size, every=args.eval_every, report=report)
    result["final"] = {split: binding(model, split, 128) for split in ("test", "heldout")}
    result["final"]["caption_probe"] = probe(model, 2000, 500)
    result["final"]["generated"] = {split: generated(model, split, args.sampled)
                                    for split in ("test", "heldout")}
    print(result["final"], flush=True)
    if args.out:
        out = Path(args.out)   # the weights first: --rescore reads a JSON's .pt beside it
        save_checkpoint(out.with_suffix(".pt"), {"state_dict": model.state_dict()})
        atomic_write_text(out, json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
