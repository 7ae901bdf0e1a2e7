"""How long one AdamW step takes over a model's weights, by implementation.

``training.make_optimizer`` uses the fused AdamW (one call over every tensor) on CUDA and
on the CPU. This times one step of each of torch's three AdamW implementations over
the trainable weights of each stage of a model, with random gradients:

- ``per-tensor``: a Python loop over the tensors, several small operations each (what
  ``t2v-edu train`` used on the CPU before 2026-11-28);
- ``foreach``: the same operations, each applied to every tensor at once;
- ``fused``: one kernel call for everything.

    python benchmarks/optimizer_speed.py                       # classic, cpu preset
    python benchmarks/optimizer_speed.py --model modern --threads 2

Measured on the course's 2-core machine, one thread, classic ``cpu`` preset (2026-11-28):
tokenizer stage 2.99 / 1.81 / 0.61 ms, transformer stage 8.36 / 4.52 / 1.31 ms per step.
The whole transformer step (data, forward, backward, AdamW) took 61-66 instead of
71-72 ms in two alternating runs of each.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import t2v_edu  # noqa: E402
from _args import whole  # noqa: E402
from t2v_edu import training  # noqa: E402

KINDS = {"per-tensor": {"foreach": False}, "foreach": {"foreach": True},
         "fused": {"fused": True}}


def ms_per_step(params: list[torch.nn.Parameter], steps: int, **kind) -> float:
    optimizer = torch.optim.AdamW(params, lr=1e-3, **kind)
    for p in params:
        p.grad = torch.randn_like(p)
    for _ in range(3):  # warm-up (creates the moment buffers)
        optimizer.step()
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.step()
    return 1000 * (time.perf_counter() - start) / steps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="classic", choices=training.available_models())
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--steps", type=whole(1), default=50)
    parser.add_argument("--threads", type=whole(1), default=1)
    args = parser.parse_args(argv)
    module = training.model_module(args.model)
    try:
        preset = training.get_preset(module, args.preset)
    except ValueError as exc:
        parser.error(str(exc))
    t2v_edu.setup(0, threads=args.threads, quiet=True)
    model = module.build(preset)
    print(f"{args.model}, {args.preset} preset, {args.threads} thread(s), "
          f"ms per AdamW step:")
    print("| stage | tensors | weights | " + " | ".join(KINDS) + " |")
    print("|---|---|---|" + "---|" * len(KINDS))
    for stage in module.stages(model, preset):
        params = [p for p in stage.parameters if p.requires_grad]
        times = [ms_per_step(params, args.steps, **kind) for kind in KINDS.values()]
        print(f"| {stage.name} | {len(params)} | {sum(p.numel() for p in params):,} | "
              + " | ".join(f"{t:.2f}" for t in times) + " |")


if __name__ == "__main__":
    main()
