"""Seconds per training step of notebook 04's GANs and notebook 05's VAEs (cpu preset).

Run: python benchmarks/gan_vae_speed.py [--steps 20]. Prints wall and CPU time per
step; multiply by the presets' step counts to estimate a notebook's training time.
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import t2v_edu  # noqa: E402
from _args import whole  # noqa: E402
from t2v_edu import gan, vae  # noqa: E402


def timed(fn, steps: int) -> tuple[float, float]:
    fn(2)  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    fn(steps)
    return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=whole(1), default=20, help="timed steps per model")
    args = parser.parse_args(argv)
    cfg = t2v_edu.setup(quiet=True)
    g, v = gan.PRESETS[cfg.preset], vae.PRESETS[cfg.preset]
    frames, labels = gan.load_frames(256, g.size)
    conditions = gan.attribute_condition(labels)
    G, D = gan.make_gan(g)
    cG, cD = gan.make_gan(g, cond_dim=conditions.shape[1])
    model = vae.FrameVAE(v.size, latent_dim=v.latent_dim, hidden=v.hidden)
    critic = vae.PatchDiscriminator(3, v.hidden)
    runs = {
        f"DCGAN, batch {g.batch_size} ({g.steps} steps in 04)":
            lambda n: gan.train_gan(G, D, frames, n, batch_size=g.batch_size),
        f"conditional GAN + aux ({g.cond_steps} steps in 04)":
            lambda n: gan.train_gan(cG, cD, frames, n, conditions=conditions,
                                    batch_size=g.batch_size, aux_weight=g.aux_weight),
        f"FrameVAE, batch {v.batch_size} ({v.steps} + {len(v.betas)}x{v.sweep_steps} in 05)":
            lambda n: vae.train_vae(model, frames, n, batch_size=v.batch_size),
        f"VAE-GAN ({v.gan_steps} steps in 05)":
            lambda n: vae.train_vae_gan(copy.deepcopy(model), critic, frames, n,
                                        batch_size=v.batch_size),
    }
    print(f"{cfg}, {torch.get_num_threads()} threads")
    for name, fn in runs.items():
        wall, cpu = timed(fn, args.steps)
        print(f"{name:<52} {1000 * wall:7.1f} ms/step wall  {1000 * cpu:7.1f} ms/step CPU")


if __name__ == "__main__":
    main()
