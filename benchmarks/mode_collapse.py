"""Does the minibatch standard deviation reduce mode dropping? (notebook 04, cpu preset)

Trains notebook 04's unconditional GAN with and without
``DCGANDiscriminator(minibatch_std=True)`` (Karras et al. 2018) for several seeds and
prints, per run, the kinds of frame (shape x colour, 12 in the cpu data) that hold
at least 2 % of 256 samples according to a frame classifier trained on real frames,
and the pixel diversity of the samples (real frames in the last line).

Run: T2V_THREADS=1 python benchmarks/mode_collapse.py [--seeds 5] [--steps 600]
(one thread, as notebook 04 is built: seed 0 is then the notebook's run; GAN training is
chaotic, so two threads, which round sums differently, give other runs)
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import t2v_edu  # noqa: E402
from _args import whole  # noqa: E402
from t2v_edu import gan  # noqa: E402

NUM_SAMPLES = 256


def run(config: gan.GANConfig, frames: torch.Tensor, classifier: gan.FrameClassifier,
        seed: int, minibatch_std: bool, steps: int) -> dict:
    """Train one unconditional GAN; its kinds covered, diversity and seconds."""
    torch.manual_seed(seed)
    G, D = gan.make_gan(config, minibatch_std=minibatch_std)
    start = time.perf_counter()
    gan.train_gan(G, D, frames, steps, batch_size=config.batch_size, lr=config.lr,
                  d_lr=config.d_lr, seed=seed)
    samples = gan.generate(G, NUM_SAMPLES, seed=seed + 1)
    return {"kinds": gan.kinds_covered(gan.kind_counts(classifier, samples)),
            "diversity": gan.diversity(samples), "seconds": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=whole(1), default=5, help="seeds 0 .. SEEDS-1")
    parser.add_argument("--steps", type=whole(1), default=None, help="default: the preset's")
    args = parser.parse_args(argv)
    cfg = t2v_edu.setup(quiet=True)
    config = gan.PRESETS[cfg.preset]
    steps = config.steps if args.steps is None else args.steps
    frames, labels = gan.load_frames(config.num_videos, config.size)
    torch.manual_seed(cfg.seed)                       # the same classifier as notebook 04's
    classifier = gan.FrameClassifier()
    gan.train_classifier(classifier, frames, labels, steps=config.classifier_steps)
    val_frames, _ = gan.load_frames(NUM_SAMPLES, config.size, split="val")
    total = gan.kind_counts(classifier, val_frames).numel()

    print(f"unconditional GAN, preset {cfg.preset!r}, {steps} steps, {NUM_SAMPLES} samples; "
          f"kinds covered by >= 2 % of samples (of {total})")
    print(f"{'seed':>4}  {'plain D':>16}  {'D + minibatch std':>18}")
    results = {False: [], True: []}
    for seed in range(args.seeds):
        for mbstd in (False, True):
            results[mbstd].append(run(config, frames, classifier, seed, mbstd, steps))
        a, b = results[False][-1], results[True][-1]
        print(f"{seed:>4}  {a['kinds']:>3} kinds, div {a['diversity']:.3f}  "
              f"{b['kinds']:>5} kinds, div {b['diversity']:.3f}", flush=True)
    for mbstd, label in ((False, "plain D"), (True, "D + minibatch std")):
        kinds = [r["kinds"] for r in results[mbstd]]
        secs = statistics.mean(r["seconds"] for r in results[mbstd])
        print(f"{label:>18}: kinds mean {statistics.mean(kinds):.1f} (min {min(kinds)}, "
              f"max {max(kinds)}), {secs:.0f} s per run")
    print(f"{'real frames':>18}: "
          f"{gan.kinds_covered(gan.kind_counts(classifier, val_frames))} kinds, "
          f"div {gan.diversity(val_frames):.3f}")


if __name__ == "__main__":
    main()
