"""Two judges that say what a video shows: shape, colour and motion of each object.

- ``OracleJudge``: rules, no training. We own the renderer (``t2v_edu.data``), so the
  rules can be exact: colour = the nearest palette colour, motion = the centroid track
  and the change of area, shape = two silhouette descriptors.
- ``LearnedJudge``: a small (2+1)-D convolutional video classifier trained on real
  videos by ``benchmarks/train_judges.py``; its weights ship in ``t2v_edu/weights``.
  Its penultimate features are the space of the Frechet distance ("FVD-lite").

Both judge *per colour*: a video may hold two objects of distinct colours ("gpu" data),
so "the object the caption calls red" is found by its colour. A caption's attributes
are scored with ``score_attrs``; ``predict`` reads the objects from the video alone.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

from . import data

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class VideoFormat:
    """Frames and size of the real videos of a data spec."""

    num_frames: int
    size: int


VIDEO_FORMATS: dict[str, VideoFormat] = {"cpu": VideoFormat(8, 32), "gpu": VideoFormat(16, 64)}


def check_videos(videos: Tensor, spec: str | None = None, name: str = "videos") -> Tensor:
    """Raise a clear error unless ``videos`` is a float tensor [B, T, 3, H, W]."""
    if not isinstance(videos, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor [B, T, 3, H, W], got "
                        f"{type(videos).__name__}")
    if videos.dim() != 5 or videos.shape[2] != 3:
        hint = " (one video: add the batch axis, videos[None])" if videos.dim() == 4 else ""
        raise ValueError(f"{name} must have shape [B, T, 3, H, W], got "
                         f"{tuple(videos.shape)}{hint}")
    if not videos.is_floating_point():
        raise ValueError(f"{name} must be float in [0, 1], got dtype {videos.dtype}")
    if spec is not None:
        fmt = VIDEO_FORMATS[spec]
        if videos.shape[1] != fmt.num_frames or videos.shape[-1] != fmt.size:
            raise ValueError(f"spec {spec!r} videos are {fmt.num_frames} frames of "
                             f"{fmt.size}x{fmt.size}, got {videos.shape[1]} frames of "
                             f"{videos.shape[-2]}x{videos.shape[-1]}")
    return videos.float()


def check_video_pixels(videos: Tensor, name: str = "videos") -> Tensor:
    """``check_videos`` and values in [0, 1] (``data.check_pixel_range``): for metrics that
    would read [0, 255] pixels, or one video [T, 3, H, W] as T videos, without a word."""
    return data.check_pixel_range(check_videos(videos, name=name), name)


def real_videos(spec: str, split: str, num_videos: int, seed: int = 0,
                device: str | torch.device = "cpu"
                ) -> tuple[Tensor, list[str], list[list[dict]]]:
    """Real videos of a spec and split: (videos [B, T, 3, H, W], captions, attrs)."""
    fmt = VIDEO_FORMATS[spec]
    ds = data.MovingShapes(split, num_frames=fmt.num_frames, size=fmt.size,
                           length=num_videos, seed=seed, spec=spec)
    return ds.get_batch(range(num_videos), device=device)


# ---------------------------------------------------------------------------------
# The oracle: colour masks, silhouette descriptors, centroid tracks
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class OracleRules:
    """Thresholds of the oracle, in frame units (fractions of the frame side).

    Real data: travel >= 0.40, area ratio of grow/shrink = 1.8^2 = 3.24 (log 1.18);
    fill ratio: square 1.0, circle pi/4 = 0.785, triangle and diamond 0.5; the
    triangle's centroid sits 1/6 of its height below the middle of its rows.
    """

    min_brightness: float = 0.08   # darker pixels are background
    min_area: float = 0.01         # mean area per frame an object must cover
    min_travel: float = 0.15       # displacement below this is "still"
    min_log_area_change: float = 0.5
    triangle_offset: float = 0.08  # centroid below the middle of the rows
    square_fill: float = 0.89      # fill above: square
    circle_fill: float = 0.65      # fill above: circle, below: diamond (or triangle)


def color_masks(videos: Tensor, colors: tuple[str, ...], min_brightness: float = 0.08
                ) -> Tensor:
    """Soft mask of each palette colour: [B, T, 3, H, W] -> [B, T, K, H, W] in [0, 1].

    For pixel p and colour c the coverage is alpha = clamp(p.c / c.c, 0, 1) (the
    renderer paints alpha * c on black); the pixel belongs to the colour whose
    alpha * c is nearest to p, if p is brighter than ``min_brightness``.
    """
    palette = torch.tensor([data.PALETTE[c] for c in colors], device=videos.device)  # [K, 3]
    norm2 = (palette * palette).sum(1)[:, None, None]                                   # [K, 1, 1]
    dot = torch.einsum("btchw,kc->btkhw", videos, palette)                              # [B, T, K, H, W]
    alpha = (dot / norm2).clamp(0, 1)
    # |p - alpha c|^2 = |p|^2 - 2 alpha p.c + alpha^2 c.c; |p|^2 is the same for all k
    residual = alpha * (alpha * norm2 - 2 * dot)
    nearest = residual.argmin(2, keepdim=True)                                          # [B, T, 1, H, W]
    bright = videos.amax(2, keepdim=True) > min_brightness
    keep = (torch.arange(len(colors), device=videos.device)[:, None, None] == nearest) & bright
    return alpha * keep


def silhouette_features(masks: Tensor) -> dict[str, Tensor]:
    """Per-frame descriptors of each mask: [B, T, K, H, W] -> dict of [B, T, K].

    area = sum(m) / HW;  (cx, cy) = sum(m * (x, y)) / sum(m);
    width = sum_x max_y m / W, height = sum_y max_x m / H (the silhouette's extent);
    fill = area / (width * height);  offset = (cy - middle of the rows) / height.
    """
    H, W = masks.shape[-2:]
    ys = (torch.arange(H, device=masks.device) + 0.5) / H
    xs = (torch.arange(W, device=masks.device) + 0.5) / W
    eps = 1e-6
    cols, rows = masks.sum(-2) / H, masks.sum(-1) / W                  # [B, T, K, W], [.., H]
    area = cols.sum(-1) / W
    cx = (cols * xs).sum(-1) / W / (area + eps)
    cy = (rows * ys).sum(-1) / H / (area + eps)
    col_extent, row_extent = masks.amax(-2), masks.amax(-1)
    width, height = col_extent.sum(-1) / W, row_extent.sum(-1) / H
    row_middle = (row_extent * ys).sum(-1) / H / (height + eps)
    return {"area": area, "cx": cx, "cy": cy, "width": width, "height": height,
            "fill": area / (width * height + eps), "offset": (cy - row_middle) / (height + eps)}


def linear_change(values: Tensor) -> Tensor:
    """Least-squares slope over time t in [0, 1]: [..., T] -> [...] (change start->end)."""
    T = values.shape[-1]
    t = torch.linspace(0, 1, T, device=values.device)
    tc = t - t.mean()
    return ((values - values.mean(-1, keepdim=True)) * tc).sum(-1) / (tc * tc).sum()


class OracleJudge:
    """Rule-based judge of videos from the renderer's palette and shapes.

    judge = OracleJudge("cpu"); judge.predict(videos) -> [[{"shape", "color", "motion"}]]
    """

    name = "oracle"

    def __init__(self, spec: str = "cpu", rules: OracleRules = OracleRules()):
        self.spec_name = spec
        self.spec = data.get_spec(spec)
        self.rules = rules
        self.names = data.attribute_names(self.spec)

    def tracks(self, videos: Tensor) -> dict[str, Tensor]:
        """Descriptors of every palette colour: dict of [B, T, K] plus "mass" [B, K]."""
        videos = check_videos(videos)
        feats = silhouette_features(color_masks(videos, self.spec.colors,
                                                self.rules.min_brightness))
        feats["mass"] = feats["area"].mean(1)
        return feats

    def shape_rule(self, fill: Tensor, offset: Tensor) -> Tensor:
        """Shape index into the spec's shapes (-1: not one of them), any shape of tensor.

        offset > 0.08: triangle (its mass sits low); else by fill: > 0.89 square,
        > 0.65 circle, else diamond.
        """
        r = self.rules
        shape = torch.where(fill > r.square_fill, 1, torch.where(fill > r.circle_fill, 0, 3))
        shape = torch.where(offset > r.triangle_offset, 2, shape)        # ALL_SHAPES order
        return self._to_spec(shape, data.ALL_SHAPES, self.spec.shapes)

    def shape_index(self, feats: dict[str, Tensor]) -> Tensor:
        """Shape from the frame where the object is largest (least occluded): [B, K]."""
        best = feats["area"].argmax(1, keepdim=True)                      # [B, 1, K]
        return self.shape_rule(feats["fill"].gather(1, best)[:, 0],
                               feats["offset"].gather(1, best)[:, 0])

    def motion_index(self, feats: dict[str, Tensor]) -> Tensor:
        """Motion from the centroid track and the area change: [B, K].

        dx, dy, dlog = least-squares change of cx, cy and log(area) over the video;
        |dlog| > 0.5: grow/shrink; else max(|dx|, |dy|) < 0.15: still; else the
        larger axis gives left/right/up/down. Known limit: an object that another one
        hides for part of the video loses visible area and can read as shrinking.
        """
        r = self.rules
        dx = linear_change(feats["cx"].transpose(1, 2))                   # [B, K]
        dy = linear_change(feats["cy"].transpose(1, 2))
        dlog = linear_change(torch.log(feats["area"].transpose(1, 2) + 1e-4))
        horizontal = torch.where(dx < 0, 0, 1)                           # left, right
        vertical = torch.where(dy < 0, 2, 3)                             # up, down
        motion = torch.where(dx.abs() >= dy.abs(), horizontal, vertical)
        motion = torch.where(torch.maximum(dx.abs(), dy.abs()) < r.min_travel, 4, motion)
        motion = torch.where(dlog.abs() > r.min_log_area_change,
                             torch.where(dlog > 0, 5, 6), motion)        # grow, shrink
        return self._to_spec(motion, data.ALL_MOTIONS, self.spec.motions)

    @staticmethod
    def _to_spec(index: Tensor, all_names: tuple[str, ...], names: tuple[str, ...]) -> Tensor:
        """Map indices into ``all_names`` to indices into ``names`` (-1 if absent)."""
        lookup = torch.tensor([names.index(n) if n in names else -1 for n in all_names],
                              device=index.device)
        return lookup[index]

    @torch.no_grad()
    def per_color(self, videos: Tensor, frames: bool = False) -> dict[str, Tensor]:
        """For each palette colour: present [B, K] bool, mass, shape and motion [B, K].

        frames=True adds per-frame "frame_shape" and "frame_area" [B, T, K] and the
        centroid "cx", "cy" [B, T, K].
        """
        feats = self.tracks(videos)
        out = {"present": feats["mass"] >= self.rules.min_area, "mass": feats["mass"],
               "shape": self.shape_index(feats), "motion": self.motion_index(feats)}
        if frames:
            out.update(frame_shape=self.shape_rule(feats["fill"], feats["offset"]),
                       frame_area=feats["area"], cx=feats["cx"], cy=feats["cy"])
        return out

    def predict(self, videos: Tensor) -> list[list[dict]]:
        """Objects seen in each video, largest first: a list of attrs dicts per video."""
        return predict_from_per_color(self.per_color(videos), self.names)

    def score_attrs(self, videos: Tensor, attrs: list[list[dict]]) -> dict[str, Tensor]:
        """Does each video show the caption's attributes? See ``score_per_color``."""
        return score_per_color(self.per_color(videos), attrs, self.names)


def predict_from_per_color(pc: dict[str, Tensor], names: dict[str, tuple]) -> list[list[dict]]:
    """Turn per-colour judgements into attrs lists (present colours, by mass)."""
    out = []
    for b in range(pc["mass"].shape[0]):
        order = pc["mass"][b].argsort(descending=True).tolist()
        objs = []
        for k in order:
            if not pc["present"][b, k]:
                continue
            s, m = int(pc["shape"][b, k]), int(pc["motion"][b, k])
            objs.append({"shape": names["shape"][s] if s >= 0 else None,
                         "color": names["color"][k],
                         "motion": names["motion"][m] if m >= 0 else None})
        out.append(objs)
    return out


def match_objects(pc: dict[str, Tensor], attrs: list[list[dict]], names: dict[str, tuple]
                  ) -> tuple[Tensor, Tensor, Tensor]:
    """Which judged colour stands for each object the caption names.

    The object of the named colour if that colour is present; else the largest
    present object that no other named colour claims (so that shape and motion are
    still judged when the colour is wrong). Returns (index [B, O] long into the
    colours, color_ok [B, O] bool, valid [B, O] bool: False where a caption names
    fewer than O objects).
    """
    if not isinstance(attrs, (list, tuple)) or not all(isinstance(a, (list, tuple))
                                                       for a in attrs):
        raise TypeError("attrs must hold one list of object dicts per video, e.g. "
                        "[[{'shape': 'circle', 'color': 'red', 'motion': 'left'}]]")
    B = len(attrs)
    if pc["mass"].shape[0] != B:
        raise ValueError(f"{pc['mass'].shape[0]} videos but {B} captions")
    O = max(len(a) for a in attrs)
    index = torch.zeros(B, O, dtype=torch.long)
    color_ok = torch.ones(B, O, dtype=torch.bool)
    valid = torch.zeros(B, O, dtype=torch.bool)
    present, mass = pc["present"].cpu(), pc["mass"].cpu()
    order = mass.argsort(1, descending=True).tolist()
    for b, objs in enumerate(attrs):
        named = [names["color"].index(o["color"]) if o["color"] in names["color"] else -1
                 for o in objs]
        for o, k in enumerate(named):
            valid[b, o] = True
            color_ok[b, o] = k >= 0 and bool(present[b, k])
            if not color_ok[b, o]:
                free = [j for j in order[b] if present[b, j] and j not in named]
                k = free[0] if free else order[b][0]
            index[b, o] = k
    return index, color_ok, valid


def score_per_color(pc: dict[str, Tensor], attrs: list[list[dict]],
                    names: dict[str, tuple]) -> dict[str, Tensor]:
    """Score per-colour judgements against the caption's objects (see ``match_objects``).

    Returns bool tensors: "shape", "color", "motion" [B, O] (O = most objects named;
    "valid" [B, O] is False, and the others True, where a caption names fewer),
    "count" [B] (as many objects seen as named), "joint" [B] (count right and
    every attribute of every named object right) and "index" [B, O] (the colour judged
    for each named object, ``match_objects``).
    """
    index, color_ok, valid = match_objects(pc, attrs, names)
    result = {"color": color_ok | ~valid, "valid": valid, "index": index}
    for key in ("shape", "motion"):
        judged = pc[key].cpu().gather(1, index)                               # [B, O]
        wanted = torch.tensor([[names[key].index(o[key]) if o[key] in names[key] else -2
                                for o in objs] + [0] * (index.shape[1] - len(objs))
                               for objs in attrs])
        result[key] = (judged == wanted) | ~valid
    result["count"] = pc["present"].cpu().sum(1) == torch.tensor([len(a) for a in attrs])
    result["joint"] = result["count"] & (result["shape"] & result["color"]
                                         & result["motion"]).all(1)
    return result


# ---------------------------------------------------------------------------------
# The learned judge: a small (2+1)-D conv net with one set of heads per colour
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class JudgeConfig:
    """Size of the learned judge for one data spec."""

    size: int                 # input frame side
    num_frames: int           # input frames; the net looks at ``used_frames`` of them
    used_frames: int = 4      # evenly spaced, first and last included
    first_kernel: int = 3     # the first conv: kernel 3, stride 2 halves the frame
    first_stride: int = 2     # ("gpu": kernel = stride = 4 cuts 64x64 into 4x4 patches)
    channels: tuple[int, ...] = (16, 32, 32)
    frame_dim: int = 64
    feature_dim: int = 128    # penultimate features (the Frechet distance's space)
    steps: int = 600
    batch_size: int = 64
    lr: float = 3e-3
    # A judge must read every combination, held-out ones included (they are held
    # out from the generators, not from the judge). Trained on "train" triples only,
    # the "cpu" judge guessed motion from shape and colour on held-out triples.
    train_splits: tuple[str, ...] = ("train", "heldout")


JUDGE_CONFIGS: dict[str, JudgeConfig] = {
    "cpu": JudgeConfig(size=32, num_frames=8, first_kernel=3, first_stride=2),
    # 7 colours x (4 shapes + 7 motions), two objects: trained longer, on a GPU. Trained
    # on "train" triples only, it still reads held-out triples (>= 99 %).
    "gpu": JudgeConfig(size=64, num_frames=16, first_kernel=4, first_stride=4,
                       channels=(32, 32, 32), steps=7000, batch_size=128,
                       train_splits=("train",)),
}


def used_frame_index(num_frames: int, used_frames: int) -> Tensor:
    """Evenly spaced frame indices, first and last included: long [used_frames]."""
    return torch.linspace(0, num_frames - 1, used_frames).round().long()


def coordinate_channels(frames: Tensor) -> Tensor:
    """Append x and y coordinate maps (CoordConv): [N, 3, H, W] -> [N, 5, H, W].

    Pooled convolution features forget where things are; with coordinates as inputs
    a filter can report "red mass at x", so the net can see motion.
    """
    N, _, H, W = frames.shape
    ys = torch.linspace(-1, 1, H, device=frames.device).view(1, 1, H, 1).expand(N, 1, H, W)
    xs = torch.linspace(-1, 1, W, device=frames.device).view(1, 1, 1, W).expand(N, 1, H, W)
    return torch.cat([frames, xs, ys], 1)


class JudgeNet(nn.Module):
    """Video [B, T, 3, H, W] -> per-colour logits: presence [B, K], shape [B, K, S],
    motion [B, K, M]; ``features`` gives the penultimate layer [B, feature_dim].

    Frames go through a 2-D conv stack (space); each frame's vector sums a projection
    of the flattened map (positions) and of its global max-pool (what is present,
    wherever it is); the vectors of the used frames are concatenated and mixed by an
    MLP (time): a (2+1)-D factorisation.
    """

    def __init__(self, cfg: JudgeConfig, num_colors: int, num_shapes: int, num_motions: int):
        super().__init__()
        self.cfg = cfg
        self.num_colors, self.num_shapes, self.num_motions = num_colors, num_shapes, num_motions
        layers, in_ch = [], 5
        for i, out_ch in enumerate(cfg.channels):
            kernel, stride = (cfg.first_kernel, cfg.first_stride) if i == 0 else (3, 2)
            layers += [nn.Conv2d(in_ch, out_ch, kernel, stride, (kernel - 1) // 2),
                       nn.BatchNorm2d(out_ch), nn.ReLU()]
            in_ch = out_ch
        self.frame_net = nn.Sequential(*layers)
        side = cfg.size // cfg.first_stride // 2 ** (len(cfg.channels) - 1)
        self.frame_proj = nn.Linear(in_ch * side * side, cfg.frame_dim)  # where things are
        self.pool_proj = nn.Linear(in_ch, cfg.frame_dim)                 # what is anywhere
        self.time_mlp = nn.Sequential(nn.ReLU(), nn.Linear(cfg.used_frames * cfg.frame_dim,
                                                           cfg.feature_dim), nn.ReLU())
        self.head = nn.Linear(cfg.feature_dim, num_colors * (1 + num_shapes + num_motions))
        self.register_buffer("frame_index", used_frame_index(cfg.num_frames, cfg.used_frames),
                             persistent=False)

    def features(self, videos: Tensor) -> Tensor:
        """Penultimate features: [B, T, 3, H, W] -> [B, feature_dim].

        Videos of ``cfg.used_frames`` frames are taken as already subsampled.
        """
        B = videos.shape[0]
        if videos.shape[1] != self.cfg.used_frames:
            videos = videos[:, self.frame_index]
        frames = videos.flatten(0, 1)                                    # [B*T', 3, H, W]
        h = self.frame_net(coordinate_channels(frames))                  # [B*T', C, h, w]
        h = self.frame_proj(h.flatten(1)) + self.pool_proj(h.amax((-2, -1)))
        h = h.view(B, -1)                                                # [B, T' * frame_dim]
        return self.time_mlp(h)

    def forward(self, videos: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        out = self.head(self.features(videos)).view(videos.shape[0], self.num_colors, -1)
        S = self.num_shapes
        return out[..., 0], out[..., 1:1 + S], out[..., 1 + S:]


def per_color_targets(attrs: list[list[dict]], names: dict[str, tuple]) -> tuple[Tensor, ...]:
    """Training targets: presence [B, K] float, shape and motion [B, K] long (-100 = none)."""
    B, K = len(attrs), len(names["color"])
    present = torch.zeros(B, K)
    shape = torch.full((B, K), -100, dtype=torch.long)
    motion = torch.full((B, K), -100, dtype=torch.long)
    for b, objs in enumerate(attrs):
        for obj in objs:
            k = names["color"].index(obj["color"])
            present[b, k] = 1.0
            shape[b, k] = names["shape"].index(obj["shape"])
            motion[b, k] = names["motion"].index(obj["motion"])
    return present, shape, motion


def judge_loss(net: JudgeNet, videos: Tensor, targets: tuple[Tensor, ...]) -> Tensor:
    """BCE(presence) + CE(shape | present colour) + CE(motion | present colour)."""
    present, shape, motion = targets
    p_logit, s_logit, m_logit = net(videos)
    F = nn.functional
    return (F.binary_cross_entropy_with_logits(p_logit, present)
            + F.cross_entropy(s_logit.flatten(0, 1), shape.flatten(), ignore_index=-100)
            + F.cross_entropy(m_logit.flatten(0, 1), motion.flatten(), ignore_index=-100))


def build_judge_net(spec: str) -> JudgeNet:
    names = data.attribute_names(spec)
    return JudgeNet(JUDGE_CONFIGS[spec], len(names["color"]), len(names["shape"]),
                    len(names["motion"]))


def train_judge(spec: str = "cpu", steps: int | None = None, seed: int = 0,
                device: str | torch.device = "cpu",
                progress: Callable[[int, float], None] | None = None) -> tuple[JudgeNet, list]:
    """Train the learned judge on fresh real videos of ``cfg.train_splits`` (data seed
    1000 + seed: never the videos it is evaluated on).

    Deterministic for a given seed and device. ``progress(step, loss)`` is called
    every step if given. Returns (net in eval mode, list of losses).
    """
    cfg = JUDGE_CONFIGS[spec]
    steps = cfg.steps if steps is None else steps
    torch.manual_seed(seed)
    net = build_judge_net(spec).to(device)
    names = data.attribute_names(spec)
    # Rendering only the used frames gives the same pixels when they fall on t = k/(T'-1).
    exact = (cfg.num_frames - 1) % (cfg.used_frames - 1) == 0
    frames = cfg.used_frames if exact else cfg.num_frames
    # Each batch mixes the splits in proportion to their shape-colour-motion triples.
    num_triples = [len(data.split_triples(s, spec)) for s in cfg.train_splits]
    shares = [round(cfg.batch_size * n / sum(num_triples)) for n in num_triples]
    shares[0] += cfg.batch_size - sum(shares)
    sets = [data.MovingShapes(split, num_frames=frames, size=cfg.size,
                              length=steps * share, seed=1000 + seed, spec=spec)
            for split, share in zip(cfg.train_splits, shares)]
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(steps, 1),
                                                pct_start=0.15)
    losses = []
    net.train()
    for step in range(steps):
        parts = [ds.get_batch(range(step * share, (step + 1) * share), device=device)
                 for ds, share in zip(sets, shares) if share > 0]
        videos = torch.cat([p[0] for p in parts])
        attrs = [a for p in parts for a in p[2]]
        targets = tuple(t.to(device) for t in per_color_targets(attrs, names))
        loss = judge_loss(net, videos, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if progress is not None:
            progress(step, losses[-1])
    return net.eval(), losses


def judge_paths(spec: str, weights_dir: str | Path | None = None) -> tuple[Path, Path]:
    """(weights file, model card) of the shipped learned judge of a spec."""
    folder = Path(weights_dir) if weights_dir is not None else WEIGHTS_DIR
    return folder / f"judge_{spec}.pt", folder / f"judge_{spec}.json"


class LearnedJudge:
    """The trained video classifier, with the same interface as ``OracleJudge``.

    judge = LearnedJudge.load("cpu")   # shipped weights, SHA-256 checked
    """

    name = "learned"

    def __init__(self, net: JudgeNet, spec: str = "cpu", batch_size: int = 128):
        self.net = net.eval()
        self.spec_name = spec
        self.spec = data.get_spec(spec)
        self.names = data.attribute_names(spec)
        self.batch_size = batch_size

    @classmethod
    def load(cls, spec: str = "cpu", path: str | Path | None = None,
             device: str | torch.device = "cpu") -> "LearnedJudge":
        """Load weights (``weights_only=True``) after checking the SHA-256 in the card."""
        from .checkpoint import load_checkpoint

        weights, card = judge_paths(spec)
        if path is not None:
            weights = Path(path)
            card = weights.with_suffix(".json")
        if not card.is_file():
            raise FileNotFoundError(f"no model card {card.name} beside the judge weights; "
                                    "train them with: python benchmarks/train_judges.py")
        digest = json.loads(card.read_text(encoding="utf-8"))["sha256"]
        state = load_checkpoint(weights, expected_sha256=digest, map_location=device)
        if state.get("spec") != spec:
            raise ValueError(f"{weights.name} holds a judge for spec {state.get('spec')!r}, "
                             f"not {spec!r}")
        net = build_judge_net(spec)
        net.load_state_dict(state["model"])
        return cls(net.to(device), spec)

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    @torch.no_grad()
    def logits(self, videos: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(presence [B, K], shape [B, K, S], motion [B, K, M], features [B, D]) on CPU."""
        videos = check_videos(videos, self.spec_name)
        outs = []
        for chunk in videos.split(self.batch_size):
            feats = self.net.features(chunk.to(self.device))
            out = self.net.head(feats).view(len(chunk), self.net.num_colors, -1)
            outs.append((out.float().cpu(), feats.float().cpu()))
        out = torch.cat([o for o, _ in outs])
        feats = torch.cat([f for _, f in outs])
        S = self.net.num_shapes
        return out[..., 0], out[..., 1:1 + S], out[..., 1 + S:], feats

    def features(self, videos: Tensor) -> Tensor:
        """Penultimate features [B, D], the space of the FVD-lite Frechet distance."""
        return self.logits(videos)[3]

    def per_color(self, videos: Tensor,
                  logits: tuple[Tensor, Tensor, Tensor, Tensor] | None = None
                  ) -> dict[str, Tensor]:
        """Presence (probability > 1/2), mass (= probability), shape and motion [B, K]."""
        p, s, m, _ = self.logits(videos) if logits is None else logits
        prob = torch.sigmoid(p)
        return {"present": prob > 0.5, "mass": prob, "shape": s.argmax(-1),
                "motion": m.argmax(-1)}

    def predict(self, videos: Tensor) -> list[list[dict]]:
        return predict_from_per_color(self.per_color(videos), self.names)

    def score_attrs(self, videos: Tensor, attrs: list[list[dict]]) -> dict[str, Tensor]:
        return score_per_color(self.per_color(videos), attrs, self.names)

    def caption_log_likelihood(self, logits: tuple[Tensor, ...],
                               triples: list[tuple[str, str, str]]) -> Tensor:
        """log p(one object of shape s, colour c, motion m and no other colour | video).

        = log sig(p_c) + sum_{k != c} log(1 - sig(p_k)) + log softmax(shape_c)_s
          + log softmax(motion_c)_m;  logits from ``logits()`` -> [B, N captions].
        """
        p, s, m = logits[:3]
        F = nn.functional
        log_on, log_off = F.logsigmoid(p), F.logsigmoid(-p)                 # [B, K]
        ks = torch.tensor([self.names["color"].index(c) for _, c, _ in triples])
        ss = torch.tensor([self.names["shape"].index(x) for x, _, _ in triples])
        ms = torch.tensor([self.names["motion"].index(x) for _, _, x in triples])
        score = log_off.sum(1, keepdim=True) - log_off[:, ks] + log_on[:, ks]
        score = score + F.log_softmax(s, -1)[:, ks, ss] + F.log_softmax(m, -1)[:, ks, ms]
        return score
