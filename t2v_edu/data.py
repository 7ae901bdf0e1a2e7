"""Procedural captioned video: "a red circle moves left", generated offline.

Nothing is downloaded. A video is fully determined by (seed, split, index): the same
index gives the same pixels and the same caption on every machine.

Conventions
- A video is a float32 tensor [T, 3, H, W] with values in [0, 1] (black background).
- Positions and sizes are fractions of the frame; y grows downwards, as in an image.
- ``attrs`` is a list with one dict per object: {"shape", "color", "motion"}.
"""
from __future__ import annotations

import functools
import itertools
import math
import numbers
import operator
import re
import reprlib
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

# Okabe-Ito colour-blind-safe palette, named plainly (vermillion is called "red").
PALETTE: dict[str, tuple[float, float, float]] = {
    "red": (0.835, 0.369, 0.000),     # vermillion  #D55E00
    "blue": (0.000, 0.447, 0.698),    # blue        #0072B2
    "green": (0.000, 0.620, 0.451),   # bluish green #009E73
    "yellow": (0.941, 0.894, 0.259),  # yellow      #F0E442
    "orange": (0.902, 0.624, 0.000),  # orange      #E69F00
    "cyan": (0.337, 0.706, 0.914),    # sky blue    #56B4E9
    "pink": (0.800, 0.475, 0.655),    # reddish purple #CC79A7
}
ALL_SHAPES = ("circle", "square", "triangle", "diamond")
ALL_MOTIONS = ("left", "right", "up", "down", "still", "grow", "shrink")
SPLITS = ("train", "val", "test", "heldout")
DEFAULT_LENGTH = {"train": 50_000, "val": 1_000, "test": 1_000, "heldout": 1_000}

# Half-extent of each shape's bounding box, in units of its nominal radius r.
EXTENT = 1.22
GROW_FACTOR = 1.8  # "grow": the radius goes from r / sqrt(1.8) to r * sqrt(1.8)


@dataclass(frozen=True)
class DataSpec:
    """Which attribute values exist, and how objects are sized and moved."""

    shapes: tuple[str, ...]
    colors: tuple[str, ...]
    motions: tuple[str, ...]
    radius: tuple[float, float] = (0.21, 0.24)  # nominal radius, fraction of the frame
    travel: float = 0.40                          # minimum distance travelled
    max_objects: int = 1
    two_object_prob: float = 0.0
    heldout_fraction: float = 0.12                # of the shape-colour-motion triples

    def triples(self) -> list[tuple[str, str, str]]:
        return list(itertools.product(self.shapes, self.colors, self.motions))


DATA_SPECS: dict[str, DataSpec] = {
    "cpu": DataSpec(shapes=("circle", "square", "triangle"),
                    colors=("red", "blue", "green", "yellow"),
                    motions=("left", "right", "up", "down", "still", "grow")),
    "gpu": DataSpec(shapes=ALL_SHAPES, colors=tuple(PALETTE), motions=ALL_MOTIONS,
                    radius=(0.15, 0.24), max_objects=2, two_object_prob=0.3),
}


def get_spec(spec: str | DataSpec) -> DataSpec:
    if isinstance(spec, DataSpec):
        return spec
    if spec not in DATA_SPECS:
        raise ValueError(f"data spec {spec!r} is unknown; use one of {sorted(DATA_SPECS)} "
                         "or pass a DataSpec")
    return DATA_SPECS[spec]


def spec_name(spec: DataSpec) -> str:
    """The name of a spec in DATA_SPECS, for messages ("a custom DataSpec" otherwise)."""
    return next((repr(name) for name, known in DATA_SPECS.items() if known == spec),
                "a custom DataSpec")


def _check_seed(seed: int, end: int | None = None,
                accepted: str = "an integer >= 0") -> None:
    """A data set's seed: an integer >= 0 (any size: it seeds numpy's default_rng), and
    below ``end`` when one is given."""
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        raise TypeError(f"seed must be {accepted}, got {type(seed).__name__} {seed!r}")
    if seed < 0 or (end is not None and seed >= end):
        raise ValueError(f"seed must be {accepted}, got {seed}")


def check_whole(name: str, value: int, minimum: int = 1, meaning: str = "") -> int:
    """``value`` as an int: a whole number (Python or NumPy, not bool) >= ``minimum``, or
    a ValueError naming ``name`` and what it accepts (``meaning``: what it counts)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}{meaning}, got {value!r}")
    return int(value)


def check_sizes(**sizes: int) -> None:
    """Sizes such as ``embed_dim=64``: whole numbers >= 1 (check_whole, by name)."""
    for name, size in sizes.items():
        check_whole(name, size)


def check_real(name: str, value: float, low: float = 0.0, strict: bool = False,
               meaning: str = "") -> float:
    """``value`` as a float: a finite number >= ``low`` (> ``low`` if ``strict``), or a
    ValueError naming ``name`` and what it accepts."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value < low or (strict and value == low)):
        raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} {low:g}"
                         f"{meaning}, got {value!r}")
    return float(value)


def check_seed(seed: int) -> None:
    """A user's sampling seed: an integer in 0 .. 2**32 - 1 (what ``setup`` can seed)."""
    _check_seed(seed, 2**32, "an integer in 0 .. 2**32 - 1")


def check_pixel_range(videos: Tensor, name: str = "videos") -> Tensor:
    """``videos`` if its values are in [0, 1] up to a small overshoot (which a decoder may
    give, and which drawing clamps); a clear ValueError for NaN, or for another convention
    such as [0, 255] or [-1, 1] (clamped, it would show as a white or black picture)."""
    if videos.numel() == 0:
        return videos
    if torch.isnan(videos).any():
        raise ValueError(f"{name} contain NaN: the model or the training that made them "
                         "diverged")
    low, high = videos.min().item(), videos.max().item()
    if high > 1.5:
        raise ValueError(f"{name} must be in [0, 1], got values up to {high:.4g}: divide "
                         "frames in [0, 255] by 255")
    if low < -0.5:
        raise ValueError(f"{name} must be in [0, 1], got values down to {low:.4g}: map "
                         "frames in [-1, 1] with (x + 1) / 2")
    return videos


def check_float(frames: Tensor, name: str = "frames") -> Tensor:
    """``frames`` if float (a dtype check: free on a GPU), else a TypeError with the fix."""
    if not frames.is_floating_point():
        raise TypeError(f"{name} must be float in [0, 1], got {frames.dtype} (uint8 frames: "
                        f"convert with {name}.float() / 255)")
    return frames


def check_frames(frames: Tensor, name: str = "frames") -> Tensor:
    """Training frames: a float tensor [N, 3, H, W] in [0, 1], or a clear error."""
    if not isinstance(frames, Tensor):
        hint = (" (gan.load_frames returns (frames, labels): take the first)"
                if isinstance(frames, tuple) else "")
        raise TypeError(f"{name} must be a tensor [N, 3, H, W], got "
                        f"{type(frames).__name__}{hint}")
    if frames.dim() != 4 or frames.shape[1] != 3:
        raise ValueError(f"{name} must be [N, 3, H, W] (channels first), got "
                         f"{tuple(frames.shape)}")
    return check_pixel_range(check_float(frames, name), name)


# ---------------------------------------------------------------------------------
# Captions: a small grammar with synonyms and templates
# ---------------------------------------------------------------------------------
# Each motion has verb phrases in the present ("moves left") and progressive
# ("is moving left") form, so that word embeddings have synonyms to find.
MOTION_PHRASES: dict[str, list[tuple[str, str]]] = {
    "left": [("moves left", "is moving left"), ("slides left", "is sliding left"),
             ("goes to the left", "is going to the left"),
             ("travels left", "is traveling left")],
    "right": [("moves right", "is moving right"), ("slides right", "is sliding right"),
              ("goes to the right", "is going to the right"),
              ("travels right", "is traveling right")],
    "up": [("moves up", "is moving up"), ("rises", "is rising"),
           ("goes up", "is going up"), ("climbs", "is climbing")],
    "down": [("moves down", "is moving down"), ("falls", "is falling"),
             ("goes down", "is going down"), ("drops", "is dropping")],
    "still": [("stays still", "is staying still"), ("does not move", "is not moving"),
              ("stays in place", "is staying in place"), ("rests", "is resting")],
    "grow": [("grows", "is growing"), ("gets bigger", "is getting bigger"),
             ("expands", "is expanding"), ("swells", "is swelling")],
    "shrink": [("shrinks", "is shrinking"), ("gets smaller", "is getting smaller"),
               ("contracts", "is contracting"), ("dwindles", "is dwindling")],
}
# Templates for one object; {c} colour, {s} shape, {m} present, {g} progressive.
TEMPLATES = (
    "a {c} {s} {m}",
    "the {c} {s} {m}",
    "a {s} colored {c} {m}",
    "a {c} {s} {g}",
    "there is a {c} {s} that {m}",   # held out of training
    "the {s} is {c} and it {m}",     # held out of training (one object only)
)
HELDOUT_TEMPLATES = (4, 5)
TRAIN_TEMPLATES = tuple(i for i in range(len(TEMPLATES)) if i not in HELDOUT_TEMPLATES)

# Words that carry no attribute (determiners, verbs, prepositions).
FILLER_WORDS = {"a", "an", "the", "there", "is", "that", "it", "colored", "to", "and",
                "moves", "moving", "slides", "sliding", "goes", "going", "travels",
                "traveling", "stays", "staying", "does", "not", "move", "in",
                "gets", "getting"}
# Words that name a motion, and the motion they name.
MOTION_WORDS = {
    "left": "left", "right": "right", "up": "up", "rises": "up", "rising": "up",
    "climbs": "up", "climbing": "up", "down": "down", "falls": "down",
    "falling": "down", "drops": "down", "dropping": "down", "still": "still",
    "place": "still", "rests": "still", "resting": "still", "grows": "grow",
    "growing": "grow", "bigger": "grow", "expands": "grow", "expanding": "grow",
    "swells": "grow", "swelling": "grow", "shrinks": "shrink", "shrinking": "shrink",
    "smaller": "shrink", "contracts": "shrink", "contracting": "shrink",
    "dwindles": "shrink", "dwindling": "shrink",
}
# "does not move" is "still": its "move" is a filler, "not" marks stillness.
NEGATION_MOTION = "still"
NEGATED_WORDS = ("move", "moving")  # the only words "not" may negate
# The attributes of one caption, as the functions that take ``attrs`` expect them.
ATTRS_EXAMPLE = "[{'shape': 'circle', 'color': 'red', 'motion': 'left'}]"


def known_words() -> list[str]:
    """Every word ``parse_caption`` understands, sorted."""
    return sorted(set(PALETTE) | set(ALL_SHAPES) | set(MOTION_WORDS) | FILLER_WORDS)


def caption(attrs: list[dict], template: int = 0, synonym: int = 0) -> str:
    """The caption for ``attrs`` with a given template and synonym (0 = canonical).

    caption([{"shape": "circle", "color": "red", "motion": "left"}]) == "a red circle moves left"
    """
    attrs = _check_attrs(attrs, "caption")
    num_synonyms = len(MOTION_PHRASES["left"])
    if template not in range(len(TEMPLATES)) or synonym not in range(num_synonyms):
        raise ValueError(f"template must be in 0 .. {len(TEMPLATES) - 1} and synonym in "
                         f"0 .. {num_synonyms - 1}, got template={template!r}, "
                         f"synonym={synonym!r}")
    clauses = []
    for k, obj in enumerate(attrs):
        t = TEMPLATES[template]
        if k > 0 and template == 5:  # "the {s} is {c} and it ..." reads badly twice
            t = TEMPLATES[1]
        present, progressive = MOTION_PHRASES[obj["motion"]][synonym]
        clauses.append(t.format(c=obj["color"], s=obj["shape"], m=present, g=progressive))
    return re.sub(r"\ba (?=[aeiou])", "an ", " and ".join(clauses))


def canonical_caption(attrs: list[dict]) -> str:
    """The simplest caption for ``attrs``: "a red circle moves left"."""
    return caption(_check_attrs(attrs, "canonical_caption"), template=0, synonym=0)


def tokenize_caption(text: str) -> list[str]:
    """Lower-case words of a caption (punctuation dropped)."""
    return re.findall(r"[a-z]+", text.lower())


def _separates(words: list[str], i: int) -> bool:
    """Whether word i is an "and" between two objects: every "and" is, except in "the
    circle is red and it moves", where the clause after "and" starts with "it" (the same
    object)."""
    return words[i] == "and" and not (i + 1 < len(words) and words[i + 1] == "it")


def word_objects(words: list[str]) -> list[int]:
    """The object each word of a caption describes: 0, 1, ... counted by the "and"s
    before it that separate objects (an "and" itself belongs to the object before it)."""
    objects, current = [], 0
    for i in range(len(words)):
        objects.append(current)
        current += _separates(words, i)
    return objects


def _split_objects(words: list[str]) -> list[list[str]]:
    """Split a caption's words into one clause per object (at each ``_separates`` "and")."""
    clauses, current = [], []
    for i, w in enumerate(words):
        if _separates(words, i):
            clauses.append(current)
            current = []
        else:
            current.append(w)
    clauses.append(current)
    return clauses


def parse_caption(text: str) -> list[dict]:
    """Attributes named by a caption: one dict {"shape", "color", "motion"} per object.

    Raises ValueError naming an unknown word (and the known vocabulary), a clause
    that names no colour, shape or motion, or more than one of them, or a negation other
    than "does not move" / "is not moving" (which mean "still").
    """
    if not isinstance(text, str):
        raise TypeError(f"caption must be a str, got {type(text).__name__}")
    words = tokenize_caption(text)
    if not words:
        raise ValueError(f"caption {text!r} has no words; try e.g. 'a red circle moves left'")
    for w in words:
        if w not in PALETTE and w not in ALL_SHAPES and w not in MOTION_WORDS \
                and w not in FILLER_WORDS:
            raise ValueError(f"unknown word {w!r} in caption {text!r}. Known words: "
                             + ", ".join(known_words()))
    objects = []
    for clause in _split_objects(words):
        if not clause:
            raise ValueError(f"caption {text!r}: an 'and' has no object on one side; 'and' "
                             "joins two objects, e.g. 'a red circle moves left and a blue "
                             "square rises'")
        found = {
            "shape": [w for w in clause if w in ALL_SHAPES],
            "color": [w for w in clause if w in PALETTE],
            "motion": [MOTION_WORDS[w] for w in clause if w in MOTION_WORDS],
        }
        if "not" in clause:
            _check_negation(clause, found["motion"], text)
            found["motion"] = [NEGATION_MOTION]
        obj = {}
        for key, values in found.items():
            if len(set(values)) != 1:
                what = "no" if not values else f"several ({', '.join(values)})"
                options = {"shape": ALL_SHAPES, "color": tuple(PALETTE),
                           "motion": [MOTION_PHRASES[m][0][0] for m in ALL_MOTIONS]}[key]
                raise ValueError(f"caption {text!r}: the part {' '.join(clause)!r} names "
                                 f"{what} {key} word(s); it needs exactly one, e.g. "
                                 f"{', '.join(options)}")
            obj[key] = values[0]
        objects.append(obj)
    return objects


def _check_negation(clause: list[str], motions: list[str], text: str) -> None:
    """A clause with "not" must say "does not move" or "is not moving" (= still), with no
    motion word but "still": "does not move left" may mean right, up or still."""
    after_not = [clause[i + 1] if i + 1 < len(clause) else "" for i, w in enumerate(clause)
                 if w == "not"]
    if all(w in NEGATED_WORDS for w in after_not) and set(motions) <= {NEGATION_MOTION}:
        return
    raise ValueError(f"caption {text!r}: the part {' '.join(clause)!r} negates a motion; "
                     "'not' is only understood as 'does not move' or 'is not moving' (the "
                     "shape stays still). Name the motion instead, e.g. 'a red circle moves "
                     "right' or 'a red circle does not move'")


# ---------------------------------------------------------------------------------
# Splits: held-out shape-colour-motion triples
# ---------------------------------------------------------------------------------
def heldout_triples(spec: str | DataSpec = "cpu") -> set[tuple[str, str, str]]:
    """Triples that never appear in "train", chosen so that every single value and
    every pair of values (shape-colour, shape-motion, colour-motion) still does.

    The choice is a fixed property of the spec (its own seed), not of a dataset's seed.
    """
    spec = get_spec(spec)
    triples = spec.triples()
    order = np.random.default_rng(1234).permutation(len(triples))
    target = round(spec.heldout_fraction * len(triples))
    pair_count: dict[tuple, int] = {}
    for s, c, m in triples:
        for key in (("sc", s, c), ("sm", s, m), ("cm", c, m)):
            pair_count[key] = pair_count.get(key, 0) + 1
    held = set()
    for i in order:
        if len(held) >= target:
            break
        s, c, m = triples[i]
        keys = (("sc", s, c), ("sm", s, m), ("cm", c, m))
        if all(pair_count[k] >= 2 for k in keys):  # keep at least one in train
            for k in keys:
                pair_count[k] -= 1
            held.add((s, c, m))
    return held


def split_triples(split: str, spec: str | DataSpec = "cpu") -> list[tuple[str, str, str]]:
    """The triples a split draws its first object from."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is unknown; use one of {SPLITS}")
    spec = get_spec(spec)
    held = heldout_triples(spec)
    if split == "heldout":
        return [t for t in spec.triples() if t in held]
    return [t for t in spec.triples() if t not in held]


# ---------------------------------------------------------------------------------
# Rendering: signed distances, anti-aliased, vectorised over a batch
# ---------------------------------------------------------------------------------
def shape_distance(shape: str, dx: Tensor, dy: Tensor, r: Tensor) -> Tensor:
    """Signed distance (negative inside) of each pixel to one shape's outline.

    dx, dy: [N, T, H, W] offsets from the centre; r: [N, T] nominal radius.
    Circle, square and diamond have about the area of a circle of radius r (within
    6 %); the triangle about 19 % less.
    """
    r = r[..., None, None]
    if shape == "circle":
        return torch.sqrt(dx * dx + dy * dy) - r
    if shape == "square":
        return torch.maximum(dx.abs(), dy.abs()) - 0.89 * r
    if shape == "triangle":
        # Equilateral, apex up, inradius 0.7 r; its centroid sits 0.35 r below the
        # centre so that the triangle's bounding box is centred like the others'.
        ty = dy - 0.35 * r
        return torch.maximum(ty, 0.866 * dx.abs() - 0.5 * ty) - 0.70 * r
    if shape == "diamond":
        return (dx.abs() + dy.abs()) * 0.7071 - 0.86 * r  # corners at 1.216 r
    raise ValueError(f"shape {shape!r} is unknown; use one of {ALL_SHAPES}")


def render_batch(shape_id: Tensor, color: Tensor, cx: Tensor, cy: Tensor, r: Tensor,
                 size: int) -> Tensor:
    """Render B videos of O objects over T frames, painted in object order.

    shape_id: [B, O] (long; -1 = no object), color: [B, O, 3], cx, cy, r: [B, O, T]
    (fractions of the frame) -> videos [B, T, 3, H, W] in [0, 1].
    Coverage is clamp(1/2 - distance / pixel, 0, 1): a one-pixel anti-aliased edge.
    """
    B, O, T = cx.shape
    coords = (torch.arange(size, dtype=torch.float32, device=cx.device) + 0.5) / size
    video = torch.zeros(B, T, 3, size, size, device=cx.device)
    for o in range(O):
        alpha = object_coverage(shape_id[:, o], cx[:, o], cy[:, o], r[:, o], coords)
        video = torch.lerp(video, color[:, o, None, :, None, None].expand_as(video),
                           alpha[:, :, None])
    return video


def object_coverage(shape_id: Tensor, cx: Tensor, cy: Tensor, r: Tensor, coords: Tensor,
                    pick_rows: bool | None = None) -> Tensor:
    """Coverage in [0, 1] of one object per video: [B, T, H, W].

    shape_id [B] (-1: no object), cx, cy, r [B, T], coords [H] (pixel centres).
    pick_rows (default: on a CPU) draws only the rows of each shape. Otherwise every row
    is drawn as every shape and the right one kept: on a GPU, picking rows with
    ``nonzero()`` would make the CPU wait for the GPU, and training could not run ahead.
    """
    size = coords.shape[0]
    pick_rows = not cx.is_cuda if pick_rows is None else pick_rows
    alpha = torch.zeros(*cx.shape, size, size, device=cx.device)
    for k, shape in enumerate(ALL_SHAPES):
        is_k = shape_id == k
        if not pick_rows:
            rows = slice(None)
        else:
            rows = is_k.nonzero()[:, 0]
            if len(rows) == 0:
                continue
        dx = coords[None, None, None, :] - cx[rows, :, None, None]       # [N, T, 1, W]
        dy = coords[None, None, :, None] - cy[rows, :, None, None]       # [N, T, H, 1]
        dist = shape_distance(shape, *torch.broadcast_tensors(dx, dy), r[rows])
        cover = (0.5 - dist * size).clamp_(0, 1)
        if not pick_rows:
            alpha = torch.where(is_k[:, None, None, None], cover, alpha)
        else:
            alpha[rows] = cover
    return alpha


_STEP = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def motion_track(motion: str, num_frames: int, start: tuple[float, float], travel: float,
                 radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre x, y and radius over the frames for one object: three arrays [T]."""
    t, scale = _frame_times(num_frames)
    x = np.full(num_frames, start[0])
    y = np.full(num_frames, start[1])
    if motion in _STEP:
        x = x + _STEP[motion][0] * travel * t
        y = y + _STEP[motion][1] * travel * t
    elif motion in ("grow", "shrink"):
        return x, y, radius * (scale if motion == "grow" else scale[::-1])
    elif motion != "still":
        raise ValueError(f"motion {motion!r} is unknown; use one of {ALL_MOTIONS}")
    return x, y, np.full(num_frames, radius)


@functools.lru_cache(maxsize=16)
def _frame_times(num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """t = 0 .. 1 over the frames, and the radius scale of "grow" over them (made once
    per length: describing a two-object video draws its tracks a few times)."""
    t = np.linspace(0.0, 1.0, num_frames)
    k = math.sqrt(GROW_FACTOR)
    scale = (1 / k) * (k * k) ** t  # geometric: the area changes at a steady rate
    t.flags.writeable = scale.flags.writeable = False
    return t, scale


def sample_geometry(attrs: list[dict], num_frames: int, rng: np.random.Generator,
                    spec: DataSpec) -> list[dict]:
    """Random start, size and speed for each object, keeping it inside the frame.

    With two objects, both are drawn smaller and redrawn (up to 50 times) until their
    outlines stay apart in every frame, so neither hides the other.
    """
    scale = 1.0 if len(attrs) == 1 else 0.75
    for _ in range(50):
        geometry = [_sample_one(obj, rng, spec, scale) for obj in attrs]
        if len(attrs) == 1 or _apart(attrs, geometry, num_frames):
            break
    return geometry


def _sample_one(obj: dict, rng: np.random.Generator, spec: DataSpec, scale: float) -> dict:
    radius = scale * rng.uniform(*spec.radius)
    reach = radius * math.sqrt(GROW_FACTOR) if obj["motion"] in ("grow", "shrink") else radius
    lo, hi = EXTENT * reach, 1 - EXTENT * reach
    travel = 0.0
    if obj["motion"] in ("left", "right", "up", "down"):
        travel = rng.uniform(spec.travel, max(spec.travel, hi - lo))
    x0, y0 = rng.uniform(lo, hi), rng.uniform(lo, hi)
    along = {"left": ("x", 1), "right": ("x", -1), "up": ("y", 1), "down": ("y", -1)}
    if obj["motion"] in along:
        axis, sign = along[obj["motion"]]
        start = rng.uniform(lo, max(lo, hi - travel))
        start = start + travel if sign > 0 else start
        if axis == "x":
            x0 = start
        else:
            y0 = start
    return {"x": x0, "y": y0, "radius": radius, "travel": travel}


def _apart(attrs: list[dict], geometry: list[dict], num_frames: int) -> bool:
    tracks = [motion_track(o["motion"], num_frames, (g["x"], g["y"]), g["travel"], g["radius"])
              for o, g in zip(attrs, geometry)]
    (xa, ya, ra), (xb, yb, rb) = tracks[0], tracks[1]
    return bool(np.all(np.hypot(xa - xb, ya - yb) > EXTENT * (ra + rb)))


def check_video_size(num_frames: int, size: int) -> None:
    """ValueError unless ``num_frames`` >= 2 and ``size`` >= 8 are whole numbers: a
    motion needs two frames, a shape a few pixels of a ``size`` x ``size`` frame."""
    check_whole("num_frames", num_frames, 2)
    check_whole("size", size, 8)


def render(attrs: list[dict], num_frames: int = 8, size: int = 32, seed: int = 0,
           geometry: list[dict] | None = None, spec: str | DataSpec = "cpu") -> Tensor:
    """Render one video of ``attrs``: float32 [T, 3, H, W] in [0, 1].

    Start position, size and speed come from ``seed`` unless ``geometry`` gives them
    (a list of {"x", "y", "radius", "travel"}, one per object).
    """
    spec = get_spec(spec)
    attrs = _check_attrs(attrs, "render")
    check_video_size(num_frames, size)
    _check_seed(seed)
    if geometry is None:
        geometry = sample_geometry(attrs, num_frames, np.random.default_rng(seed), spec)
    _check_geometry(geometry, len(attrs))
    return _render_many([attrs], [geometry], num_frames, size)[0]


def _render_many(all_attrs: list[list[dict]], all_geometry: list[list[dict]],
                 num_frames: int, size: int, device: str | torch.device = "cpu") -> Tensor:
    return render_layout(layout_batch(all_attrs, all_geometry, num_frames), size, device)


def layout_batch(all_attrs: list[list[dict]], all_geometry: list[list[dict]],
                 num_frames: int) -> tuple[Tensor, Tensor, Tensor]:
    """What ``render_batch`` needs, computed on the CPU: shape_id [B, O] (-1: none),
    color [B, O, 3] and track [3, B, O, T] (centre x, y, radius over the frames)."""
    B = len(all_attrs)
    O = max(len(a) for a in all_attrs)
    shape_id = np.full((B, O), -1, dtype=np.int64)
    color = np.zeros((B, O, 3), dtype=np.float32)
    track = np.zeros((3, B, O, num_frames), dtype=np.float32)
    for b, (attrs, geometry) in enumerate(zip(all_attrs, all_geometry)):
        for o, (obj, geo) in enumerate(zip(attrs, geometry)):
            shape_id[b, o] = ALL_SHAPES.index(obj["shape"])
            color[b, o] = PALETTE[obj["color"]]
            track[:, b, o] = motion_track(obj["motion"], num_frames, (geo["x"], geo["y"]),
                                          geo["travel"], geo["radius"])
    return torch.from_numpy(shape_id), torch.from_numpy(color), torch.from_numpy(track)


def render_layout(layout: tuple[Tensor, Tensor, Tensor], size: int,
                  device: str | torch.device = "cpu") -> Tensor:
    """Render a ``layout_batch`` on ``device``: videos [B, T, 3, H, W]."""
    shape_id, color, track = (to_device(t, device) for t in layout)
    return render_batch(shape_id, color, track[0], track[1], track[2], size)


def to_device(tensor: Tensor, device: str | torch.device) -> Tensor:
    """``tensor.to(device)`` that does not make the CPU wait for a GPU.

    A plain copy to a GPU waits until the GPU has finished all its queued work; a copy
    from pinned (page-locked) memory with ``non_blocking=True`` is only queued.
    """
    device = torch.device(device)
    if device.type != "cuda" or tensor.device.type != "cpu":
        return tensor.to(device)
    if not tensor.is_pinned():
        tensor = tensor.pin_memory()
    return tensor.to(device, non_blocking=True)


def _check_attrs(attrs: list[dict], caller: str) -> list[dict]:
    """``attrs`` as a list of object dicts (one dict is one object) with values the module
    knows, or a clear error naming ``caller``, the function that was given them."""
    if isinstance(attrs, str):
        raise TypeError(f"{caller} takes the attributes of a caption, a list of dicts such "
                        f"as {ATTRS_EXAMPLE}, not the caption itself: use "
                        f"{caller}(parse_caption({attrs!r}))")
    if isinstance(attrs, dict):
        attrs = [attrs]
    if not isinstance(attrs, (list, tuple)) or not all(isinstance(o, dict) for o in attrs):
        raise TypeError(f"{caller} takes a list with one dict per object, such as "
                        f"{ATTRS_EXAMPLE}, got {type(attrs).__name__} {reprlib.repr(attrs)}")
    if not attrs:
        raise ValueError(f"{caller} needs at least one object, got an empty list; e.g. "
                         f"{ATTRS_EXAMPLE}")
    options = {"shape": ALL_SHAPES, "color": tuple(PALETTE), "motion": ALL_MOTIONS}
    for obj in attrs:
        for key, allowed in options.items():
            if obj.get(key) not in allowed:
                raise ValueError(f"attribute {key}={obj.get(key)!r} is not valid; "
                                 f"use one of {allowed}")
    return attrs


GEOMETRY_KEYS = ("x", "y", "radius", "travel")


def _check_geometry(geometry: list[dict], num_objects: int) -> None:
    """One dict {"x", "y", "radius", "travel"} per object, or a clear error."""
    if (not isinstance(geometry, (list, tuple)) or len(geometry) != num_objects
            or not all(isinstance(g, dict) and set(GEOMETRY_KEYS) <= set(g) for g in geometry)):
        raise ValueError(f"geometry must be a list with one dict {{'x', 'y', 'radius', "
                         f"'travel'}} per object ({num_objects} here), as "
                         f"MovingShapes.describe gives it, or None to draw it from the "
                         f"seed; got {reprlib.repr(geometry)}")


# ---------------------------------------------------------------------------------
# The data set
# ---------------------------------------------------------------------------------
_SPLIT_CODE = {name: i for i, name in enumerate(SPLITS)}


class MovingShapes(Dataset):
    """Captioned videos of moving shapes; item i is ``(video, caption, attrs)``.

    video: float32 [T, 3, H, W] in [0, 1]; caption: str; attrs: list of dicts.
    split: "train", "val", "test" (seen triples and templates) or "heldout"
    (triples never in "train", captions from every template, held-out ones included).
    ``spec`` chooses the attribute values ("cpu": 3 shapes, 4 colours, 6 motions;
    "gpu": more, with sizes and a second object).
    """

    def __init__(self, split: str, num_frames: int = 8, size: int = 32,
                 length: int | None = None, seed: int = 0, spec: str | DataSpec = "cpu"):
        if split not in SPLITS:
            raise ValueError(f"split {split!r} is unknown; use one of {SPLITS}")
        check_video_size(num_frames, size)
        _check_seed(seed)
        if length is not None:
            check_whole("length", length, 0, f" videos (or None: the split's "
                                             f"{DEFAULT_LENGTH[split]})")
        self.split, self.num_frames, self.size, self.seed = split, num_frames, size, seed
        self.spec = get_spec(spec)
        self.length = DEFAULT_LENGTH[split] if length is None else int(length)
        self.first_triples = split_triples(split, self.spec)
        self.seen_triples = split_triples("train", self.spec)
        self.templates = TRAIN_TEMPLATES if split != "heldout" else tuple(range(len(TEMPLATES)))

    def __len__(self) -> int:
        return self.length

    def describe(self, index: int) -> tuple[str, list[dict], list[dict]]:
        """Caption, attrs and geometry of item ``index``, without rendering it."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} videos")
        rng = np.random.default_rng([self.seed, _SPLIT_CODE[self.split], index])
        triples = [self.first_triples[rng.integers(len(self.first_triples))]]
        if self.spec.max_objects > 1 and rng.random() < self.spec.two_object_prob:
            used = triples[0][1]
            others = [t for t in self.seen_triples if t[1] != used]
            triples.append(others[rng.integers(len(others))])
        attrs = [{"shape": s, "color": c, "motion": m} for s, c, m in triples]
        template = self.templates[rng.integers(len(self.templates))]
        synonym = rng.integers(len(MOTION_PHRASES["left"]))
        text = caption(attrs, template=int(template), synonym=int(synonym))
        geometry = sample_geometry(attrs, self.num_frames, rng, self.spec)
        return text, attrs, geometry

    def __getitem__(self, index: int):
        if isinstance(index, slice):
            many = range(*index.indices(self.length))
            raise TypeError(f"MovingShapes[index] takes one integer index, got {index}; for "
                            f"many items use get_batch({many}), which renders them at once")
        try:
            index = operator.index(index)
        except TypeError:
            raise TypeError(f"MovingShapes[index] takes one integer index, got "
                            f"{type(index).__name__} {index!r}; for many items use "
                            "get_batch(indices)") from None
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]):
        videos, captions, attrs = self.get_batch(indices)
        return list(zip(videos, captions, attrs))

    def get_batch(self, indices: Iterable[int], device: str | torch.device = "cpu"
                  ) -> tuple[Tensor, list[str], list[list[dict]]]:
        """Render many items at once: (videos [B, T, 3, H, W], captions, attrs).

        Pass ``device="cuda"`` to render on the GPU.
        """
        if isinstance(indices, numbers.Integral):
            raise TypeError(f"get_batch takes the items' indices, e.g. range({indices}) for "
                            f"the first {indices}, got the number {indices}")
        described = [self.describe(int(i)) for i in indices]
        if not described:
            raise ValueError("get_batch needs at least one index (a batch of 0 videos has "
                             "no shape); check the batch size or num_videos")
        captions = [d[0] for d in described]
        attrs = [d[1] for d in described]
        videos = _render_many(attrs, [d[2] for d in described], self.num_frames, self.size,
                              device)
        return videos, captions, attrs


def collate(batch: Sequence[tuple[Tensor, str, list[dict]]]
            ) -> tuple[Tensor, list[str], list[list[dict]]]:
    """DataLoader collate: (videos [B, T, 3, H, W], captions list, attrs list)."""
    videos, captions, attrs = zip(*batch)
    return torch.stack(videos), list(captions), list(attrs)


def attribute_labels(attrs: list[list[dict]], spec: str | DataSpec = "cpu") -> Tensor:
    """Class indices of the first object's (shape, colour, motion): long [B, 3].

    The index of a value is its position in the spec's list (``attribute_names``).
    """
    spec = get_spec(spec)
    names = attribute_names(spec)
    for i, a in enumerate(attrs):
        if not isinstance(a, (list, tuple)) or not a or not isinstance(a[0], dict):
            raise TypeError(f"attribute_labels takes one list of objects per video, e.g. "
                            f"[{ATTRS_EXAMPLE}] or get_batch's attrs; video {i} is "
                            f"{type(a).__name__} {reprlib.repr(a)} (one video's objects: "
                            "attribute_labels([attrs]))")
    return torch.tensor([[_class_index(a[0], key, names[key], spec) for key in ATTRIBUTES]
                         for a in attrs])


def _class_index(obj: dict, key: str, allowed: tuple[str, ...], spec: DataSpec) -> int:
    if obj.get(key) not in allowed:
        raise ValueError(f"attribute {key}={obj.get(key)!r} is not in the {spec_name(spec)} "
                         f"data spec; its {key} values are {allowed}")
    return allowed.index(obj[key])


ATTRIBUTES = ("shape", "color", "motion")


def attribute_names(spec: str | DataSpec = "cpu") -> dict[str, tuple[str, ...]]:
    """{"shape": shapes, "color": colours, "motion": motions} of a spec."""
    spec = get_spec(spec)
    return {"shape": spec.shapes, "color": spec.colors, "motion": spec.motions}


def all_captions(split: str = "train", spec: str | DataSpec = "cpu", canonical: bool = False,
                 ) -> list[str]:
    """Every caption a one-object split can produce (or just the canonical ones)."""
    spec = get_spec(spec)
    templates = (0,) if canonical else (
        TRAIN_TEMPLATES if split != "heldout" else tuple(range(len(TEMPLATES))))
    synonyms = (0,) if canonical else range(len(MOTION_PHRASES["left"]))
    out = []
    for s, c, m in split_triples(split, spec):
        for t in templates:
            for k in synonyms:
                out.append(caption([{"shape": s, "color": c, "motion": m}], t, k))
    return out
