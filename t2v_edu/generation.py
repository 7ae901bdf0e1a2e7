"""Text to video: ``t2v_edu.generate`` and ``t2v-edu generate``.

    videos = t2v_edu.generate(["a red circle moves left"], seed=0)   # [B, T, 3, H, W]

A generator is a function ``generate_fn(captions, seed) -> videos`` (float in [0, 1]).
``load_generator(model, checkpoint)`` builds one from a checkpoint; with no
checkpoint it uses the weights shipped in ``t2v_edu/weights/`` (``<model>_gpu.pt``
if present, else ``<model>_cpu.pt``), checked against the SHA-256 in ``<name>.json``
and loaded with ``weights_only=True``; ``<name>.md`` is the model card. Until a model has shipped weights, the generator *renders a
real sample of the data set* for the caption (``data.render(parse_caption(c))``) and
says so in its ``source``: the quickstart works on a fresh machine, and nobody
mistakes a rendering for a generated video.
"""
from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from . import data

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FALLBACK_SPEC = "cpu"  # the data size the fallback renders: 8 frames of 32 x 32


@dataclass
class Generator:
    """``generate_fn(captions, seed) -> videos [B, T, 3, H, W]`` plus where it came from.

    model: the model's name ("classic", "modern", "seed"); source: the checkpoint path,
    or "data set rendering (no trained weights)" for the fallback; spec: the data spec
    the videos follow; card: the model card's text when the checkpoint has one.
    """

    model: str
    source: str
    is_fallback: bool
    spec: str
    num_frames: int
    size: int
    sample: Callable[[list[str], int], Tensor]
    card: str = ""

    def __call__(self, captions: str | list[str], seed: int = 0) -> Tensor:
        data.check_seed(seed)
        captions = check_captions(captions, self.spec)
        videos = self.sample(captions, int(seed))        # int: a numpy integer too
        return videos.float().clamp(0, 1)


def check_captions(captions: str | list[str],
                   spec: str | data.DataSpec | None = None) -> list[str]:
    """A list of captions, each parsed once so that an unknown word fails clearly.

    With ``spec`` (the data a model was trained on), every object a caption names must
    also exist in that data: a shape, colour and motion it has, and no more objects
    than its videos hold.
    """
    if isinstance(captions, str):
        captions = [captions]
    if not isinstance(captions, (list, tuple)):
        raise TypeError(f"captions must be a str or a list of str, got "
                        f"{type(captions).__name__}; e.g. ['a red circle moves left']")
    captions = list(captions)
    if not captions:
        raise ValueError("no captions given; pass e.g. ['a red circle moves left']")
    for text in captions:
        objects = data.parse_caption(text)  # raises ValueError naming an unknown word
        if spec is not None:
            check_in_spec(text, objects, spec)
    return captions


ATTRIBUTE_WORDS = {"shape": "shape", "color": "colour", "motion": "motion"}


def check_in_spec(text: str, objects: list[dict], spec: str | data.DataSpec) -> None:
    """Raise ValueError unless data spec ``spec`` has every object of caption ``text``.

    objects: ``data.parse_caption(text)``. The error names the value the data lacks
    (or the number of objects) and lists what the spec accepts.
    """
    spec = data.get_spec(spec)
    allowed = data.attribute_names(spec)
    where = f"this model's data (spec {data.spec_name(spec)})"
    accepted = (f"This model accepts shapes {', '.join(allowed['shape'])}; colours "
                f"{', '.join(allowed['color'])}; motions {', '.join(allowed['motion'])}; "
                f"at most {spec.max_objects} object(s) per caption.")
    if len(objects) > spec.max_objects:
        raise ValueError(f"caption {text!r} names {len(objects)} objects, but {where} has "
                         f"at most {spec.max_objects} per video. " + accepted)
    for obj in objects:
        for key, values in allowed.items():
            if obj[key] not in values:
                raise ValueError(f"caption {text!r}: the {ATTRIBUTE_WORDS[key]} "
                                 f"{obj[key]!r} is not in {where}. " + accepted)


def render_captions(captions: list[str], seed: int = 0, spec: str = FALLBACK_SPEC,
                    num_frames: int = 8, size: int = 32) -> Tensor:
    """Real videos of the data set for captions: [B, T, 3, H, W].

    Caption i uses geometry seed ``seed * 100_003 + i``: another seed gives other
    start positions and sizes, the same seed the same pixels.
    """
    videos = [data.render(data.parse_caption(text), num_frames=num_frames, size=size,
                          seed=seed * 100_003 + i, spec=spec)
              for i, text in enumerate(captions)]
    return torch.stack(videos)


def fallback_generator(model: str = "classic") -> Generator:
    """The generator used while ``model`` has no trained weights: renders the data."""
    return Generator(model=model, source="data set rendering (no trained weights)",
                     is_fallback=True, spec=FALLBACK_SPEC, num_frames=8, size=32,
                     sample=lambda captions, seed: render_captions(captions, seed))


def default_checkpoint(model: str = "classic", preset: str | None = None) -> Path | None:
    """The shipped weights of ``model``: ``<model>_gpu.pt``, else ``<model>_cpu.pt``
    (only ``<model>_<preset>.pt`` when ``preset`` is given); None if there are none."""
    for preset in ((preset,) if preset else ("gpu", "cpu")):
        path = WEIGHTS_DIR / f"{model}_{preset}.pt"
        if path.is_file():
            return path
    return None


def load_generator(model: str = "classic", checkpoint: str | os.PathLike | None = None,
                   device: str | torch.device | None = None) -> Generator:
    """A ``generate_fn(captions, seed) -> [B, T, 3, H, W]`` for ``model``.

    checkpoint: a path saved by ``t2v-edu train`` (checked against the ``.sha256``
    beside it); None uses the shipped weights, or the data-set fallback when there are
    none. device: where to sample (default: ``t2v_edu.pick_device()``).
    """
    from .training import MODELS, load_model

    if model not in MODELS:
        raise ValueError(f"model {model!r} is unknown; use one of {sorted(MODELS)}")
    path = Path(checkpoint) if checkpoint is not None else default_checkpoint(model)
    if path is None:
        return fallback_generator(model)
    from . import pick_device

    device = pick_device(device)
    manifest = path.with_suffix(".json")  # shipped weights: the digest is in <name>.json
    expected = None
    if manifest.is_file() and not Path(f"{path}.sha256").is_file():
        expected = json.loads(manifest.read_text(encoding="utf-8")).get("sha256")
    net, preset, meta = load_model(path, device=device, expected_model=model,
                                   expected_sha256=expected)
    card_path = path.with_suffix(".md")
    card = card_path.read_text(encoding="utf-8") if card_path.is_file() else ""

    @torch.no_grad()
    def sample(captions: list[str], seed: int) -> Tensor:
        generator = torch.Generator(device=device).manual_seed(seed)
        return net.sample(captions, generator=generator).cpu()

    return Generator(model=model, source=str(path), is_fallback=False,
                     spec=preset.data_spec, num_frames=preset.num_frames,
                     size=preset.size, sample=sample, card=card)


_CACHE: dict[tuple, Generator] = {}


def _file_key(path: str | os.PathLike | None) -> tuple:
    """Which file ``path`` is now: its absolute path and, when it exists, its inode,
    size and modification time (a file replaced in place gets new ones)."""
    if path is None:
        return (None,)
    path = Path(path).resolve()
    if not path.is_file():
        return (str(path),)
    stat = path.stat()
    return (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)


def generate(captions: str | list[str], seed: int = 0, model: str = "classic",
             checkpoint: str | os.PathLike | None = None,
             device: str | torch.device | None = None) -> Tensor:
    """Videos for captions: float tensor [B, T, 3, H, W] in [0, 1].

    The same (captions, seed, model, checkpoint) gives the same videos. The loaded
    generator is cached, so calling this in a loop (a widget) stays fast; the key is
    the checkpoint file and device that are actually used (so naming the default ones
    explicitly reuses the same generator), and a checkpoint replaced since (a run
    trained again into the same folder) is loaded again.
    """
    from . import pick_device

    path = checkpoint if checkpoint is not None else default_checkpoint(model)
    key = (model, _file_key(path), str(pick_device(device)))
    if key not in _CACHE:
        _CACHE[key] = load_generator(model, path, device)
    return _CACHE[key](captions, seed)


def caption_to_gif(caption: str, seed: int = 0, model: str = "classic",
                   checkpoint: str | os.PathLike | None = None, fps: int = 4,
                   scale: int = 4) -> tuple[bytes | None, str]:
    """(GIF bytes or None, a message): the logic of the "type a caption" demo widget.

    A caption the grammar cannot parse gives (None, the error's explanation) instead
    of an exception, so a widget can show the message and wait for the next caption.
    """
    from . import viz

    try:
        video = generate([caption], seed=seed, model=model, checkpoint=checkpoint)
    except ValueError as exc:
        return None, str(exc)
    return viz.gif_bytes(video, fps=fps, scale=scale), f"{caption!r}, seed {seed}"


# ---------------------------------------------------------------------------------
# Command line: t2v-edu generate "a red circle moves left" -o out.gif
# ---------------------------------------------------------------------------------
HELP = "Generate a video for a caption and save it as a GIF or MP4."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("captions", nargs="+", metavar="CAPTION",
                        help='one or more captions, e.g. "a red circle moves left"')
    parser.add_argument("-o", "--output", default="out.gif",
                        help="output file, .gif or .mp4 (default: out.gif); several "
                             "captions are placed side by side")
    parser.add_argument("--model", default="classic",
                        help="classic (06), modern (07) or seed (08); default classic")
    parser.add_argument("--checkpoint", default=None,
                        help="a checkpoint from t2v-edu train (default: shipped weights)")
    parser.add_argument("--preset", choices=("cpu", "gpu"), default=None,
                        help="which shipped weights: gpu (16 frames of 64x64, more words) "
                             "or cpu (8 frames of 32x32); default gpu where shipped")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--fps", type=int, default=4, help="frames per second (default 4)")
    parser.add_argument("--scale", type=int, default=4,
                        help="enlarge each pixel this many times (default 4)")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: best)")


def save_video(videos: Tensor, path: Path, fps: int = 4, scale: int = 4) -> None:
    """Save videos [B, T, 3, H, W] side by side as a GIF or MP4 (by the extension)."""
    from . import viz

    save = viz.save_gif if path.suffix.lower() == ".gif" else viz.save_mp4
    save(videos, path, fps=fps, scale=scale, columns=len(videos))


def cli(args: argparse.Namespace) -> int:
    from . import setup, viz

    data.check_seed(args.seed)
    viz.check_fps(args.fps)               # before loading a model and sampling
    data.check_whole("--scale", args.scale)
    setup(seed=args.seed, quiet=True)
    output = Path(args.output)
    if output.suffix.lower() not in viz.WRITERS:
        raise ValueError(f"output {output.name!r} must end in .gif or .mp4")
    checkpoint = args.checkpoint
    if args.preset is not None:
        if checkpoint is not None:
            raise ValueError("give --checkpoint or --preset, not both: --preset picks "
                             "one of the shipped checkpoints")
        checkpoint = default_checkpoint(args.model, args.preset)
        if checkpoint is None:
            shipped = sorted(p.name for p in WEIGHTS_DIR.glob(f"{args.model}_*.pt"))
            raise ValueError(f"no shipped {args.preset!r} weights for model {args.model!r}; "
                             f"shipped: {', '.join(shipped) or 'none'}")
    generator = load_generator(args.model, checkpoint, args.device)
    videos = generator(args.captions, seed=args.seed)             # [B, T, 3, H, W]
    save_video(videos, output, fps=args.fps, scale=args.scale)
    if generator.is_fallback:
        print(f"No trained weights for model {args.model!r} yet: this is a real sample "
              "of the data set rendered for the caption, not a generated video.")
    else:
        print(f"Generated by model {args.model!r} from {Path(generator.source).name}.")
    num_frames, size = videos.shape[1], videos.shape[-1]
    print(f"Saved {len(videos)} video(s), {num_frames} frames of {size}x{size}, to {output}")
    return 0
