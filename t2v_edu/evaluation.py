"""``t2v-edu evaluate``: does a generated video show what its caption says?

Two judges (``t2v_edu.judges``) read shape, colour and motion from the pixels; this
module turns their verdicts into the course's metrics:

- attribute accuracy (shape, colour, motion, joint) vs the caption, by both judges,
  next to chance and a shuffled-caption control, on "test" and "heldout" captions;
- FVD-lite: the Frechet distance between Gaussians fitted to the learned judge's
  penultimate features of generated and of real videos (an offline stand-in for FVD,
  whose I3D network we neither download nor need at 32x32);
- identity consistency across frames, diversity of start positions over seeds,
  top-1 text->video retrieval among the canonical captions.

A generator is any ``generate_fn(captions: list[str], seed: int) -> [B, T, 3, H, W]``.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import time
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from . import data
from .judges import (VIDEO_FORMATS, LearnedJudge, OracleJudge, VideoFormat, check_videos,
                     match_objects, real_videos, score_per_color)
from .text import Vocab

GenerateFn = Callable[[list, int], Tensor]
HELP = "Evaluate a text-to-video model with two judges (accuracy, FVD-lite, retrieval...)."
MODELS = ("classic", "modern", "seed", "data")
ATTRIBUTE_KEYS = ("shape", "color", "motion", "joint")


# ---------------------------------------------------------------------------------
# Frechet distance
# ---------------------------------------------------------------------------------
def gaussian_fit(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean [D] and unbiased covariance [D, D] (float64) of features [N, D]."""
    if features.dim() != 2 or features.shape[0] < 2:
        raise ValueError(f"need features [N >= 2, D], got {tuple(features.shape)}")
    x = features.double()
    mu = x.mean(0)
    xc = x - mu
    return mu, xc.T @ xc / (x.shape[0] - 1)


def sqrtm_psd(matrix: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix: V sqrt(L) V^T."""
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T


def check_gaussians(mu1: Tensor, cov1: Tensor, mu2: Tensor, cov2: Tensor) -> None:
    """Raise ValueError unless mu1, mu2 are [D] and cov1, cov2 are [D, D], one D."""
    if mu1.dim() != 1:
        raise ValueError(f"mu1 must be a mean vector [D], got shape {tuple(mu1.shape)}")
    dim = mu1.shape[0]
    for name, value, shape in (("mu2", mu2, (dim,)), ("cov1", cov1, (dim, dim)),
                               ("cov2", cov2, (dim, dim))):
        if tuple(value.shape) != shape:
            raise ValueError(f"{name} must have shape {shape} (D = {dim}, the length of "
                             f"mu1), got {tuple(value.shape)}")


def frechet_distance(mu1: Tensor, cov1: Tensor, mu2: Tensor, cov2: Tensor) -> float:
    """d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2).

    The squared 2-Wasserstein distance between N(mu1, S1) and N(mu2, S2); the middle
    term equals tr((S1 S2)^1/2) but is computed from symmetric matrices only.
    mu1, mu2: [D]; cov1, cov2: [D, D].
    """
    check_gaussians(mu1, cov1, mu2, cov2)
    root1 = sqrtm_psd(cov1.double())
    middle = torch.linalg.eigvalsh(root1 @ cov2.double() @ root1).clamp(min=0).sqrt().sum()
    d2 = ((mu1 - mu2) ** 2).sum() + cov1.trace() + cov2.trace() - 2 * middle
    return float(d2.clamp(min=0))


def fvd_lite(features_a: Tensor, features_b: Tensor) -> float:
    """Frechet distance between Gaussian fits of two feature sets [N, D] and [M, D]."""
    if features_a.dim() == 2 and features_b.dim() == 2 \
            and features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"the feature sets must have the same D: got [N, D] = "
                         f"{list(features_a.shape)} and [M, D] = {list(features_b.shape)}")
    return frechet_distance(*gaussian_fit(features_a), *gaussian_fit(features_b))


# ---------------------------------------------------------------------------------
# Generators and judges
# ---------------------------------------------------------------------------------
def data_generator(spec: str = "cpu") -> GenerateFn:
    """The "data" model: real renders of the captions (a sanity row, the best case).

    Video i of a call gets its start, size and speed from (seed, i).
    """
    if spec not in VIDEO_FORMATS:
        raise ValueError(f"data spec {spec!r} is unknown; use one of {sorted(VIDEO_FORMATS)}")
    fmt = VIDEO_FORMATS[spec]
    data_spec = data.get_spec(spec)

    def generate(captions: list[str], seed: int) -> Tensor:
        attrs = [data.parse_caption(c) for c in captions]
        geometry = [data.sample_geometry(a, fmt.num_frames,
                                         np.random.default_rng([seed, i]), data_spec)
                    for i, a in enumerate(attrs)]
        return data._render_many(attrs, geometry, fmt.num_frames, fmt.size)

    generate.spec = spec
    return generate


def load_judges(spec: str = "cpu", device: str | torch.device = "cpu") -> dict:
    """{"oracle": OracleJudge, "learned": LearnedJudge or None if no weights ship}."""
    try:
        learned = LearnedJudge.load(spec, device=device)
    except FileNotFoundError:
        learned = None
    return {"oracle": OracleJudge(spec), "learned": learned}


def generate_videos(generate_fn: GenerateFn, captions: list[str], seed: int, batch_size: int,
                    spec: str) -> tuple[Tensor, float]:
    """Call ``generate_fn`` in batches (batch starting at i gets seed + i).

    Returns (videos [B, T, 3, H, W] on the CPU, clamped to [0, 1]; seconds per video).
    """
    start = time.perf_counter()
    chunks = []
    for i in range(0, len(captions), batch_size):
        batch = captions[i:i + batch_size]
        videos = generate_fn(batch, seed + i)
        videos = check_videos(videos, spec).detach().float().cpu()
        if len(videos) != len(batch):
            raise ValueError(f"generate_fn returned {len(videos)} videos for "
                             f"{len(batch)} captions")
        # a small overshoot is clamped; [-1, 1], [0, 255] or NaN would be scored wrongly
        chunks.append(data.check_pixel_range(videos, "generate_fn's videos").clamp(0, 1))
    seconds = time.perf_counter() - start
    return torch.cat(chunks), seconds / max(len(captions), 1)


def _rates(score: dict) -> dict[str, float]:
    """Accuracy per attribute (over named objects), count and joint (over videos)."""
    valid = score["valid"]
    rates = {k: float(score[k][valid].float().mean()) for k in ("shape", "color", "motion")}
    rates["count"] = float(score["count"].float().mean())
    rates["joint"] = float(score["joint"].float().mean())
    return rates


def shuffled(attrs: list, seed: int) -> list:
    """The captions' attrs moved to other videos (a derangement: none stays put)."""
    n = len(attrs)
    if n < 2:
        return list(attrs)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    out = [None] * n
    for i in range(n):
        out[perm[i]] = attrs[perm[(i + 1) % n]]
    return out


def chance_rates(spec: str = "cpu") -> dict[str, float]:
    """Accuracy of uniform guessing for one object: 1/#values, joint = the product."""
    names = data.attribute_names(spec)
    rates = {k: 1 / len(names[k]) for k in ("shape", "color", "motion")}
    rates["joint"] = rates["shape"] * rates["color"] * rates["motion"]
    return rates


def identity_consistency(oracle: OracleJudge, pc: dict, attrs: list) -> float:
    """Mean over named objects of the fraction of frames in which the object is there
    (area >= the oracle's min area) and shows the shape it shows overall.

    pc: ``oracle.per_color(videos, frames=True)``. An object whose colour is missing
    counts as 0.
    """
    index, color_ok, valid = match_objects(pc, attrs, oracle.names)         # [B, O]
    T = pc["frame_area"].shape[1]
    per_frame = index[:, None, :].expand(-1, T, -1)                          # [B, T, O]
    area = pc["frame_area"].gather(2, per_frame)
    frame_shape = pc["frame_shape"].gather(2, per_frame)
    overall = pc["shape"].gather(1, index)[:, None, :]                      # [B, 1, O]
    steady = (area >= oracle.rules.min_area) & (frame_shape == overall)
    steady = steady.float().mean(1) * color_ok                               # [B, O]
    return float(steady[valid].mean())


def start_positions(oracle: OracleJudge, pc: dict, attrs: list) -> Tensor:
    """Centroid (x, y) in the first frame of each caption's first object: [B, 2]."""
    index = match_objects(pc, attrs, oracle.names)[0][:, :1]                 # [B, 1]
    cx = pc["cx"][:, 0].gather(1, index)[:, 0]
    cy = pc["cy"][:, 0].gather(1, index)[:, 0]
    return torch.stack([cx, cy], 1)


def start_spread(positions: Tensor) -> float:
    """sqrt(var x + var y) over seeds, averaged over captions: positions [C, S, 2]."""
    return float(positions.var(1).sum(-1).sqrt().mean())


# ---------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------
def score_videos(judges: dict, videos: Tensor, attrs: list, seed: int = 0,
                 real_features: Tensor | None = None) -> dict:
    """Every per-video metric of one set of videos and the attrs they should show.

    Returns {"oracle": rates, "learned": rates, "shuffled_oracle": rates,
    "shuffled_learned": rates, "identity": float, "joint_by_objects": {"1": rate, ...},
    "fvd_lite": float} (learned-judge entries only when that judge is loaded, FVD-lite
    only with ``real_features``).
    """
    oracle, learned = judges["oracle"], judges.get("learned")
    control = shuffled(attrs, seed)
    pc = _oracle_per_color(oracle, videos)
    scores = score_per_color(pc, attrs, oracle.names)
    out = {"oracle": _rates(scores),
           "shuffled_oracle": _rates(score_per_color(pc, control, oracle.names)),
           "identity": identity_consistency(oracle, pc, attrs),
           "joint_by_objects": joint_by_objects(scores["joint"], attrs)}
    breakdown = two_object_breakdown(pc, attrs, oracle.names, scores)
    if breakdown is not None:
        out["two_objects"] = breakdown
    if learned is not None:
        logits = learned.logits(videos)
        lpc = learned.per_color(videos, logits=logits)
        out["learned"] = _rates(score_per_color(lpc, attrs, learned.names))
        out["shuffled_learned"] = _rates(score_per_color(lpc, control, learned.names))
        if real_features is not None:
            out["fvd_lite"] = fvd_lite(logits[3], real_features)
    return out


def joint_by_objects(joint: Tensor, attrs: list[list[dict]]) -> dict[str, float]:
    """Joint accuracy of the videos whose caption names n objects: {"n": mean of joint}.

    Two-object captions test binding: each colour must get its own shape and motion,
    a thing a model can fail while it draws every single object right.
    """
    counts = torch.tensor([len(a) for a in attrs])
    return {str(n): joint[counts == n].float().mean().item()
            for n in sorted(set(counts.tolist()))}


def own_or_other(judged: Tensor, wanted: Tensor) -> tuple[float | None, float | None]:
    """Binding in generated videos: (P(judged = own), P(judged = other's)).

    judged, wanted [N, 2]: the value (shape or motion index) each named colour's object
    shows and the one its own caption gives it, for two-object captions. Counted over the
    captions whose two objects differ in it: a model that reads the caption as a bag of
    words shows the other object's value about as often as its own. (None, None) when no
    caption's objects differ.
    """
    differ = wanted[:, 0] != wanted[:, 1]
    if not differ.any():
        return None, None
    own = (judged == wanted)[differ].float().mean().item()
    other = (judged == wanted.flip(1))[differ].float().mean().item()
    return own, other


def two_object_breakdown(pc: dict, attrs: list[list[dict]], names: dict,
                         scores: dict) -> dict[str, float] | None:
    """Where two-object captions go wrong (oracle): the share with the right number of
    objects ("count"), with fewer (a named object not drawn) and with more ("fewer",
    "more"), and ``own_or_other`` for shape and motion. ``scores``: ``score_per_color``
    of the same judgements. None without such captions."""
    two = [i for i, objs in enumerate(attrs) if len(objs) == 2]
    if not two:
        return None
    seen = pc["present"].cpu()[two].sum(1)                                    # [N]
    out = {"videos": len(two), "count": scores["count"][two].float().mean().item(),
           "fewer": (seen < 2).float().mean().item(), "more": (seen > 2).float().mean().item()}
    index = scores["index"][two, :2]                                          # [N, 2]
    for key in ("shape", "motion"):
        judged = pc[key].cpu()[two].gather(1, index)
        wanted = torch.tensor([[names[key].index(o[key]) for o in attrs[i]] for i in two])
        out[f"{key}_own"], out[f"{key}_other"] = own_or_other(judged, wanted)
    return out


def _oracle_per_color(oracle: OracleJudge, videos: Tensor, batch_size: int = 64) -> dict:
    """``oracle.per_color(frames=True)`` in batches (bounded memory)."""
    parts = [oracle.per_color(v, frames=True) for v in videos.split(batch_size)]
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def split_captions(spec: str, split: str, num_videos: int, seed: int) -> tuple[list, list]:
    """Captions and attrs of the first ``num_videos`` items of a split (no rendering)."""
    fmt = VIDEO_FORMATS[spec]
    ds = data.MovingShapes(split, num_frames=fmt.num_frames, size=fmt.size,
                           length=num_videos, seed=seed, spec=spec)
    described = [ds.describe(i) for i in range(num_videos)]
    return [d[0] for d in described], [d[1] for d in described]


def real_features(judges: dict, spec: str, split: str, num_videos: int, seed: int
                  ) -> Tensor | None:
    """Learned-judge features of real videos (the FVD-lite reference), or None."""
    if judges.get("learned") is None:
        return None
    return judges["learned"].features(real_videos(spec, split, num_videos, seed)[0])


def evaluate_split(generate_fn: GenerateFn, judges: dict, spec: str, split: str,
                   num_videos: int, seed: int, batch_size: int) -> dict:
    """Generate videos for a split's captions and score them (see ``score_videos``).

    The FVD-lite reference is a different sample of real videos (data seed + 1), so
    even real videos score above 0: that floor is the "data" row's value.
    """
    captions, attrs = split_captions(spec, split, num_videos, seed)
    videos, seconds = generate_videos(generate_fn, captions, seed, batch_size, spec)
    reference = real_features(judges, spec, split, num_videos, seed + 1)
    out = score_videos(judges, videos, attrs, seed, reference)
    out["seconds_per_video"] = seconds
    return out


def evaluate_retrieval(generate_fn: GenerateFn, judge: LearnedJudge, spec: str, seed: int,
                       batch_size: int) -> dict:
    """Top-1 retrieval with the learned judge's log-likelihoods, one video per
    canonical caption of every shape-colour-motion triple of the spec.

    text->video: for each caption, is its own video the most likely among all videos?
    video->text: for each video, is its own caption the most likely among all captions?
    """
    triples = data.get_spec(spec).triples()
    captions = [data.canonical_caption([{"shape": s, "color": c, "motion": m}])
                for s, c, m in triples]
    videos, _ = generate_videos(generate_fn, captions, seed, batch_size, spec)
    loglik = judge.caption_log_likelihood(judge.logits(videos), triples)     # [videos, captions]
    target = torch.arange(len(triples))
    return {"t2v_top1": float((loglik.argmax(0) == target).float().mean()),
            "v2t_top1": float((loglik.argmax(1) == target).float().mean()),
            "chance": 1 / len(triples), "num_captions": len(triples)}


def evaluate_diversity(generate_fn: GenerateFn, oracle: OracleJudge, spec: str, seed: int,
                       num_captions: int = 8, num_seeds: int = 8) -> dict:
    """Spread of the first object's start position over seeds, for a few captions
    (seen triples), next to the spread of real renders of the same captions.

    spread = mean over captions of sqrt(var_x + var_y) over seeds (frame units).
    """
    triples = data.split_triples("test", spec)
    pick = torch.randperm(len(triples), generator=torch.Generator().manual_seed(seed))
    chosen = [triples[i] for i in pick[:num_captions].tolist()]
    attrs = [[{"shape": s, "color": c, "motion": m}] for s, c, m in chosen]
    captions = [data.canonical_caption(a) for a in attrs]
    spreads = {}
    for name, fn in (("start_spread", generate_fn), ("start_spread_real", data_generator(spec))):
        positions = []
        for s in range(num_seeds):
            videos = check_videos(fn(captions, seed + s), spec).detach().float().cpu()
            positions.append(start_positions(oracle, _oracle_per_color(oracle, videos), attrs))
        spreads[name] = start_spread(torch.stack(positions, 1))             # [C, S, 2]
    return {**spreads, "num_captions": len(captions), "num_seeds": num_seeds}


def evaluate_generator(generate_fn: GenerateFn, spec: str = "cpu",
                       split: str | Sequence[str] = ("test", "heldout"), num_videos: int = 256,
                       seed: int = 0, batch_size: int = 64, judges: dict | None = None,
                       diversity: bool = True, retrieval: bool = True) -> dict:
    """Every metric of a generator ``generate_fn(captions, seed) -> [B, T, 3, H, W]``.

    Returns a JSON-ready dict: {"kind": "generator", "spec", "num_videos", "seed",
    "chance", "splits": {split: score_videos(...) + "seconds_per_video"},
    "diversity": {...}, "retrieval": {...}}. Learned-judge metrics (FVD-lite,
    retrieval) are left out when no judge weights are available.
    """
    if spec not in VIDEO_FORMATS:
        raise ValueError(f"spec {spec!r} is unknown; use one of {sorted(VIDEO_FORMATS)}")
    splits = (split,) if isinstance(split, str) else tuple(split)
    if not splits:
        raise ValueError(f"no split given; use some of {data.SPLITS}")
    for name in splits:
        if name not in data.SPLITS:
            raise ValueError(f"split {name!r} is unknown; use some of {data.SPLITS}")
    data.check_whole("num_videos", num_videos, 2)
    data.check_whole("batch_size", batch_size)
    judges = load_judges(spec) if judges is None else judges
    result = {"kind": "generator", "spec": spec, "num_videos": num_videos, "seed": seed,
              "chance": chance_rates(spec), "splits": {}}
    for name in splits:
        result["splits"][name] = evaluate_split(generate_fn, judges, spec, name, num_videos,
                                                seed, batch_size)
    if diversity:
        result["diversity"] = evaluate_diversity(generate_fn, judges["oracle"], spec, seed)
    if retrieval and judges.get("learned") is not None:
        result["retrieval"] = evaluate_retrieval(generate_fn, judges["learned"], spec, seed,
                                                 batch_size)
    return result


def evaluate_real(spec: str = "cpu", split: str | Sequence[str] = "test",
                  num_videos: int = 512, seed: int = 0, judges: dict | None = None) -> dict:
    """Each judge's accuracy on real videos of the data set (their own ceiling)."""
    splits = (split,) if isinstance(split, str) else tuple(split)
    judges = load_judges(spec) if judges is None else judges
    result = {"kind": "real", "spec": spec, "num_videos": num_videos, "seed": seed,
              "chance": chance_rates(spec), "splits": {}}
    for name in splits:
        videos, _, attrs = real_videos(spec, name, num_videos, seed)
        reference = real_features(judges, spec, name, num_videos, seed + 1)
        result["splits"][name] = score_videos(judges, videos, attrs, seed, reference)
    return result


def reconstruction_ceiling(autoencode_fn: Callable[[Tensor], Tensor], spec: str = "cpu",
                           split: str = "test", num_videos: int = 256, seed: int = 0,
                           batch_size: int = 64, judges: dict | None = None) -> dict:
    """Score tokenizer reconstructions of real videos: the best a generator that
    samples in that tokenizer's space can reach.

    autoencode_fn: videos [B, T, 3, H, W] -> reconstructions of the same shape.
    Adds "mse" and "psnr" (dB, peak 1) to the metrics of ``score_videos``.
    """
    judges = load_judges(spec) if judges is None else judges
    videos, _, attrs = real_videos(spec, split, num_videos, seed)
    with torch.no_grad():
        recon = torch.cat([check_videos(autoencode_fn(v), spec).detach().float().cpu()
                           for v in videos.split(batch_size)])
    recon = data.check_pixel_range(recon, "autoencode_fn's videos").clamp(0, 1)
    reference = real_features(judges, spec, split, num_videos, seed + 1)
    scores = score_videos(judges, recon, attrs, seed, reference)
    mse = float(((recon - videos) ** 2).mean())
    scores.update(mse=mse, psnr=10 * math.log10(1 / max(mse, 1e-12)))
    return {"kind": "reconstruction", "spec": spec, "num_videos": num_videos, "seed": seed,
            "chance": chance_rates(spec), "splits": {split: scores}}


# ---------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------
# The binding test: does a likelihood model know which shape goes with which colour?
# ---------------------------------------------------------------------------------
NllFn = Callable[[Tensor, list], Tensor]


def preference(nll_right: Tensor, nll_wrong: Tensor) -> float:
    """P(the model finds the right video more likely than the wrong one), ties half:

        mean_i [nll_wrong_i > nll_right_i] + 0.5 [nll_wrong_i = nll_right_i].

    0.5 is chance: a model that cannot tell the two apart.
    """
    return ((nll_wrong > nll_right).float() + 0.5 * (nll_wrong == nll_right).float()
            ).mean().item()


def binding_pairs(spec: str | data.DataSpec, split: str, num_captions: int, seed: int,
                  video_format: VideoFormat | None = None) -> dict:
    """Captions with a right and a wrong version of each video (same positions and speeds):

    - "binding": two-object captions, the two objects' shapes swapped (every word of
      the caption is still drawn, but the shapes go with the wrong colours);
    - "named": the same captions, the first object's shape replaced by one the
      caption does not name;
    - "single": one-object captions, the shape replaced by another.

    ``spec``: a name of ``data.DATA_SPECS``, or a ``DataSpec`` with its ``video_format``
    (frames and size; a name's own format by default).
    Returns {test: (captions, right attrs, wrong attrs, geometry)}.
    """
    if num_captions < 1:
        raise ValueError(f"num_captions must be at least 1, got {num_captions}")
    fmt = binding_format(spec, video_format)
    spec_obj = data.get_spec(spec)
    if spec_obj.max_objects < 2 or len(spec_obj.shapes) < 3:
        raise ValueError(f"the binding test needs captions of two objects and at least 3 "
                         f"shapes; spec {spec!r} has at most {spec_obj.max_objects} object(s): "
                         "use spec 'gpu'")
    ds = data.MovingShapes(split, num_frames=fmt.num_frames, size=fmt.size,
                           length=20 * num_captions + 100,
                           seed=seed, spec=spec)  # procedural: as many videos as needed
    two, one = [], []
    for i in range(len(ds)):
        if len(two) == len(one) == num_captions:
            break
        text, attrs, geometry = ds.describe(i)
        if (len(attrs) == 2 and attrs[0]["shape"] != attrs[1]["shape"]
                and len(two) < num_captions):
            two.append((text, attrs, geometry))
        elif len(attrs) == 1 and len(one) < num_captions:
            one.append((text, attrs, geometry))
    if len(two) < num_captions or len(one) < num_captions:
        raise ValueError(f"found fewer than {num_captions} captions of one and of two "
                         f"objects in {len(ds)} videos of spec {spec!r}; ask for fewer")

    def unnamed(a):
        return next(s for s in spec_obj.shapes if s not in {o["shape"] for o in a})

    def other(a):
        return next(s for s in spec_obj.shapes if s != a[0]["shape"])

    wrong = {"binding": [[{**a[0], "shape": a[1]["shape"]}, {**a[1], "shape": a[0]["shape"]}]
                         for _, a, _ in two],
             "named": [[{**a[0], "shape": unnamed(a)}, a[1]] for _, a, _ in two],
             "single": [[{**a[0], "shape": other(a)}] for _, a, _ in one]}
    return {name: ([t for t, _, _ in items], [a for _, a, _ in items], wrong[name],
                   [g for _, _, g in items])
            for name, items in (("binding", two), ("named", two), ("single", one))}


def binding_format(spec: str | data.DataSpec, video_format: VideoFormat | None) -> VideoFormat:
    """The frames and size the binding test renders: ``video_format``, else the spec's."""
    if video_format is not None:
        return video_format
    if isinstance(spec, str) and spec in VIDEO_FORMATS:
        return VIDEO_FORMATS[spec]
    name = repr(spec) if isinstance(spec, str) else data.spec_name(spec)
    raise ValueError(f"spec {name} has no video format: use one of {sorted(VIDEO_FORMATS)} "
                     "or pass video_format=judges.VideoFormat(num_frames, size)")


def binding_test(nll_fn: NllFn, spec: str | data.DataSpec = "gpu", split: str = "test",
                 num_captions: int = 128, seed: int = 0, batch_size: int = 32,
                 video_format: VideoFormat | None = None) -> dict:
    """Score right vs wrong videos of the same captions with ``nll_fn(videos, captions)
    -> -log p(video | caption) [B]`` (e.g. ``TextToVideo.nll``). No sampling: this asks
    what the model *knows*, whatever its sampler does with it.

    ``spec``: a name, or a ``DataSpec`` with its ``video_format`` (see ``binding_pairs``).
    Returns {"spec", "split", "seed", "num_captions", "frames", "size", "tests": {name:
    {"prefers_right", "margin_nats"}}} for the tests of ``binding_pairs``. A model that
    reads a caption as a bag of words passes "named" and "single" but scores 0.5 (chance)
    on "binding".
    """
    fmt = binding_format(spec, video_format)

    def score(captions, attrs, geometry) -> Tensor:
        parts = []
        for i in range(0, len(captions), batch_size):
            videos = data._render_many(attrs[i:i + batch_size], geometry[i:i + batch_size],
                                       fmt.num_frames, fmt.size)
            parts.append(nll_fn(videos, captions[i:i + batch_size]).float().cpu())
        return torch.cat(parts)

    tests, right_nll = {}, {}  # "binding" and "named" share their right videos: score once
    for name, (captions, right, wrong, geometry) in binding_pairs(spec, split, num_captions,
                                                                  seed, fmt).items():
        key = tuple(captions)
        if key not in right_nll:
            right_nll[key] = score(captions, right, geometry)
        nll_right, nll_wrong = right_nll[key], score(captions, wrong, geometry)
        tests[name] = {"prefers_right": preference(nll_right, nll_wrong),
                       "margin_nats": (nll_wrong - nll_right).mean().item()}
    return {"spec": spec if isinstance(spec, str) else "custom", "split": split, "seed": seed,
            "num_captions": num_captions, "frames": fmt.num_frames, "size": fmt.size,
            "tests": tests}


def two_object_captions(spec: str | data.DataSpec, split: str, num_captions: int,
                        seed: int) -> tuple[list[str], list[list[dict]]]:
    """``num_captions`` captions of two objects that differ in shape and in colour, with
    their attrs, from a data split (only captions and attributes: nothing is drawn)."""
    spec_obj = dataclasses.replace(data.get_spec(spec), two_object_prob=1.0)
    if spec_obj.max_objects < 2:
        raise ValueError(f"this needs captions of two objects; spec {spec!r} has one: "
                         "use spec 'gpu'")
    ds = data.MovingShapes(split, num_frames=2, size=8, length=10 * num_captions + 100,
                           seed=seed, spec=spec_obj)
    found = ([], [])
    for i in range(len(ds)):
        text, attrs, _ = ds.describe(i)
        if len(found[0]) == num_captions:
            break
        if len({o["shape"] for o in attrs}) == len({o["color"] for o in attrs}) == 2:
            found[0].append(text)
            found[1].append(attrs)
    if len(found[0]) < num_captions:
        raise ValueError(f"found only {len(found[0])} such captions; ask for fewer")
    return found


def linear_probe_accuracy(train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor,
                          steps: int = 300, lr: float = 0.05) -> float:
    """Fit softmax(W x + b) to the train labels (cross-entropy, full-batch Adam), return
    its accuracy on the test set: how much of the label a *linear* read-out finds in x."""
    torch.manual_seed(0)
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6     # standardise each feature
    probe = torch.nn.Linear(train_x.shape[1], int(max(train_y.max(), test_y.max())) + 1)
    optimizer = torch.optim.Adam(probe.parameters(), lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            optimizer.zero_grad()
            F.cross_entropy(probe((train_x - mean) / std), train_y).backward()
            optimizer.step()
    with torch.no_grad():
        return (probe((test_x - mean) / std).argmax(1) == test_y).float().mean().item()


def caption_probe(encode_text: Callable[[list[str]], tuple[Tensor, Tensor]], vocab: Vocab,
                  spec: str | data.DataSpec = "gpu", num_train: int = 2000,
                  num_test: int = 500, seed: int = 0) -> dict:
    """Does the caption encoder bind? A linear probe on the feature of each two-object
    caption's first colour word (``encode_text(captions) -> (tokens [B, L, C], mask)``,
    e.g. ``TextToVideo.encode_text``; ``vocab`` turns the words into positions).

    "own": how often the probe reads that object's shape from the feature; "other": the
    other object's shape. A bag-of-words encoder mixes both named shapes into every word
    and scores about 50 % on both (it only knows which two shapes were named); an encoder
    that binds scores well above 50 % on "own". Trained on ``train`` captions, scored
    on ``test`` ones.
    """
    spec_obj = data.get_spec(spec)

    def features(split: str, n: int, split_seed: int):
        captions, attrs = two_object_captions(spec, split, n, split_seed)
        with torch.no_grad():
            tokens, _ = encode_text(captions)
        ids, _ = vocab.encode_batch(captions, bos=True)
        first = torch.tensor([ids[b].tolist().index(vocab.stoi[a[0]["color"]])
                              for b, a in enumerate(attrs)])
        shape = torch.tensor([[spec_obj.shapes.index(o["shape"]) for o in a] for a in attrs])
        return tokens[torch.arange(n), first.to(tokens.device)].float().cpu(), shape

    train_x, train_shape = features("train", num_train, seed)
    test_x, test_shape = features("test", num_test, seed + 1)
    return {"own": linear_probe_accuracy(train_x, train_shape[:, 0], test_x, test_shape[:, 0]),
            "other": linear_probe_accuracy(train_x, train_shape[:, 1], test_x,
                                           test_shape[:, 1]),
            "num_train": num_train, "num_test": num_test, "seed": seed}


BINDING_LABELS = {
    "binding": "two objects, their shapes swapped (binding)",
    "named": "two objects, a shape the caption does not name",
    "single": "one object, another shape",
}


def format_binding(result: dict) -> str:
    """The binding test as a Markdown table (chance is 50 %)."""
    lines = [f"Binding test on {result['num_captions']} `{result['split']}` captions per row "
             f"(spec `{result['spec']}`, seed {result['seed']}): how often the model finds "
             "the right video more likely than a wrong one (chance 50 %).", "",
             "| wrong video | model prefers the right one | mean margin (nats) |",
             "|---|---|---|"]
    for name, r in result["tests"].items():
        lines.append(f"| {BINDING_LABELS.get(name, name)} | {_pct(r['prefers_right'])} | "
                     f"{r['margin_nats']:.1f} |")
    return "\n".join(lines) + "\n"


def format_caption_probe(result: dict) -> str:
    """The caption probe in two Markdown lines."""
    return (f"Caption probe ({result['num_train']} train / {result['num_test']} test "
            "two-object captions): a linear read-out of the first colour word's feature "
            f"finds its own object's shape {_pct(result['own'])} of the time, the other "
            f"object's {_pct(result['other'])} (a bag of words: about 50 % on both).\n")


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _ordered_splits(splits: dict) -> dict:
    """Splits in reading order (train, val, test, heldout), whatever order a JSON file
    stored them in."""
    order = {name: i for i, name in enumerate(data.SPLITS)}
    return dict(sorted(splits.items(), key=lambda item: order.get(item[0], len(order))))


def format_table(result: dict) -> str:
    """One Markdown table of attribute accuracies, then the other metrics."""
    splits = _ordered_splits(result["splits"])
    title = {"generator": "generated videos", "real": "real videos",
             "reconstruction": "tokenizer reconstructions of real videos"}[result["kind"]]
    model = f" of `{result['model']}`" if result.get("model") else ""
    if result.get("model") == "data" or result.get("fallback"):
        model += " (renders of the data set, not a trained model)"
    lines = [f"Evaluation{model} on {title}: spec `{result['spec']}`, "
             f"{result['num_videos']} videos per split, seed {result['seed']}.", "",
             "| captions | judge | shape | colour | motion | joint |",
             "|---|---|---|---|---|---|"]
    rows = (("oracle", "oracle"), ("learned", "learned"),
            ("shuffled_oracle", "oracle, shuffled captions"),
            ("shuffled_learned", "learned, shuffled captions"))
    for split, scores in splits.items():
        for key, label in rows:
            if key in scores:
                r = scores[key]
                lines.append(f"| {split} | {label} | " + " | ".join(
                    _pct(r[k]) for k in ATTRIBUTE_KEYS) + " |")
    chance = result["chance"]
    lines.append("| – | chance (one object) | " + " | ".join(
        _pct(chance[k]) for k in ATTRIBUTE_KEYS) + " |")
    lines += ["", "| metric | " + " | ".join(splits) + " |",
              "|---|" + "---|" * len(splits)]
    metrics = (("fvd_lite", "FVD-lite (Fréchet distance, learned-judge features; lower is better)",
                lambda v: f"{v:.2f}"),
               ("identity", "identity consistency across frames", _pct),
               ("count", "right number of objects (oracle)", _pct),
               ("psnr", "reconstruction PSNR (dB)", lambda v: f"{v:.1f}"),
               ("seconds_per_video", "generation time (s per video)", lambda v: f"{v:.3f}"))
    for key, label, fmt in metrics:
        values = [s.get(key, s["oracle"].get(key) if key == "count" else None)
                  for s in splits.values()]
        if any(v is not None for v in values):
            lines.append(f"| {label} | " + " | ".join(
                "–" if v is None else fmt(v) for v in values) + " |")
    counts = sorted({n for s in splits.values() for n in s.get("joint_by_objects", {})}, key=int)
    if len(counts) > 1:  # only data with captions of several object counts
        for n in counts:
            values = [s.get("joint_by_objects", {}).get(n) for s in splits.values()]
            lines.append(f"| joint accuracy, captions of {n} object{'s' * (n != '1')} "
                         "(oracle) | " + " | ".join("–" if v is None else _pct(v)
                                                    for v in values) + " |")
    two = [s.get("two_objects") for s in splits.values()]
    if any(two):  # where two-object captions go wrong (own / other: a bag of words ~ equal)
        lines.append("| two-object captions: both objects, no more (oracle) | " + " | ".join(
            "–" if t is None else _pct(t["count"]) for t in two) + " |")
        if all(t is None or "fewer" in t for t in two):   # results saved before lack it
            lines.append("| two-object captions: fewer objects / more objects | " + " | ".join(
                "–" if t is None else f"{_pct(t['fewer'])} / {_pct(t['more'])}"
                for t in two) + " |")
        for key in ("shape", "motion"):
            lines.append(f"| two-object captions: each colour's {key} is its own / the "
                         "other object's | " + " | ".join(
                             "–" if t is None else f"{_pct(t[key + '_own'])} / "
                             f"{_pct(t[key + '_other'])}" for t in two) + " |")
    if "retrieval" in result:
        r = result["retrieval"]
        lines += ["", f"Retrieval among {r['num_captions']} canonical captions (learned judge): "
                  f"text→video top-1 {_pct(r['t2v_top1'])}, video→text top-1 "
                  f"{_pct(r['v2t_top1'])}, chance {_pct(r['chance'])}."]
    if "diversity" in result:
        d = result["diversity"]
        lines += ["", f"Start-position spread over {d['num_seeds']} seeds "
                  f"({d['num_captions']} captions): {d['start_spread']:.3f} of the frame "
                  f"(real videos: {d['start_spread_real']:.3f})."]
    return "\n".join(lines) + "\n"


def save_json(result: dict, path: str | os.PathLike) -> None:
    """Write the result dict as JSON, atomically (a reader never sees half a file)."""
    from .checkpoint import atomic_write_json

    atomic_write_json(path, result)


# ---------------------------------------------------------------------------------
# Command line: t2v-edu evaluate
# ---------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODELS, default="classic",
                        help="which generator; 'data' renders the captions (a sanity row)")
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint file (default: the shipped one)")
    parser.add_argument("--spec", choices=sorted(VIDEO_FORMATS), default=None,
                        help="data spec (default: the generator's, else 'cpu')")
    parser.add_argument("--split", default="test,heldout",
                        help="comma-separated caption splits (default: test,heldout)")
    parser.add_argument("--num-videos", type=int, default=256, help="videos per split")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="e.g. cpu or cuda (default: best)")
    parser.add_argument("--judges", action="store_true",
                        help="also score both judges on real videos of each split")
    parser.add_argument("--out", default=None, help="write the result as JSON here")


def cli(args: argparse.Namespace) -> int:
    if args.out:
        from .checkpoint import check_writable

        check_writable(args.out)  # fail now, not after the evaluation
    if args.model == "data":
        if args.checkpoint:
            raise ValueError("--model data renders the data set and loads no weights: drop "
                             f"--checkpoint {args.checkpoint}, or name the model it holds "
                             "(--model classic, modern or seed)")
        generate_fn = data_generator(args.spec or "cpu")
    else:
        from .generation import load_generator  # noqa: PLC0415 (heavy, only when needed)
        from . import pick_device

        generate_fn = load_generator(args.model, args.checkpoint, pick_device(args.device))
    model_spec = getattr(generate_fn, "spec", None)
    if args.spec and model_spec and args.spec != model_spec:
        raise ValueError(f"model {args.model!r} ({generate_fn.source}) makes videos of the "
                         f"{model_spec!r} data, so it is evaluated on that spec: drop "
                         f"--spec {args.spec}, or pass a checkpoint trained on {args.spec!r}")
    spec = args.spec or model_spec or "cpu"
    splits = tuple(s.strip() for s in args.split.split(",") if s.strip())
    result = evaluate_generator(generate_fn, spec=spec, split=splits,
                                num_videos=args.num_videos, seed=args.seed,
                                batch_size=args.batch_size)
    result["model"] = args.model
    result["source"] = str(getattr(generate_fn, "source", "data set rendering"))
    result["fallback"] = bool(getattr(generate_fn, "is_fallback", False))
    if args.checkpoint:
        result["checkpoint"] = str(args.checkpoint)
    text = format_table(result)
    if args.judges:
        real = evaluate_real(spec, splits, num_videos=args.num_videos, seed=args.seed)
        result["real"] = real
        text += "\n" + format_table(real)
    print(text, end="")
    if args.out:
        save_json(result, args.out)
        print(f"wrote {args.out}")
    return 0
