"""Looking at videos: inline GIFs, grids, frame strips, GIF and MP4 files.

A video is a tensor [T, 3, H, W] with values in [0, 1] (or uint8 in [0, 255]); a batch
is [B, T, 3, H, W]. Pixels are enlarged by ``scale`` with nearest-neighbour copies, so
a 32x32 video stays sharp. GIF bytes depend only on the pixels, fps and scale: the
same video gives the same bytes on every run (the stored notebook outputs rely on it).
Identical consecutive frames are merged by the GIF writer (a still video is one frame
shown for the whole duration).
"""
from __future__ import annotations

import html
import os
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
from torch import Tensor

from . import data

if TYPE_CHECKING:  # annotations only: matplotlib is imported when a strip is drawn
    from matplotlib.axes import Axes

MP4_BLOCK = 16  # H.264 encoders want frame sizes divisible by 16
MAX_SIDE = 4096  # pixels a side of an enlarged frame or grid (a typo in scale stays small)
WRITERS = {".gif": "save_gif", ".mp4": "save_mp4"}  # file suffix -> the function writing it
# What the functions below accept as ``videos`` (see ``as_video_batch``): one video
# [T, 3, H, W] or a batch [B, T, 3, H, W] as a tensor or array, or a list of videos.
Videos = Tensor | np.ndarray | Sequence[Tensor | np.ndarray]


def check_fps(fps: float) -> float:
    """Frames per second as a float: a finite number > 0, or a ValueError."""
    return data.check_real("fps", fps, strict=True, meaning=" (frames per second)")


def _check_suffix(path: str | os.PathLike, suffix: str) -> Path:
    """``path`` as a Path if it ends in ``suffix`` (any case), else a ValueError naming
    the suffix given and the writer for it."""
    path = Path(path)
    if path.suffix.lower() != suffix:
        given = f"ends in {path.suffix!r}" if path.suffix else "has no suffix"
        others = ", ".join(f"{writer} for {s}" for s, writer in WRITERS.items() if s != suffix)
        raise ValueError(f"{WRITERS[suffix]} writes {suffix} files, but {path.name!r} {given}: "
                         f"end the name in {suffix} (or use {others})")
    return path


def _stack(videos: list | tuple) -> Tensor:
    """A list of [T, 3, H, W] videos as one batch [B, T, 3, H, W]."""
    if not videos:
        raise ValueError("the list of videos is empty: pass at least one video [T, 3, H, W]")
    videos = [v if isinstance(v, Tensor) else torch.as_tensor(np.asarray(v)) for v in videos]
    for i, v in enumerate(videos):
        if v.shape != videos[0].shape:
            raise ValueError(f"videos in a list must all have the same shape [T, 3, H, W], "
                             f"got {tuple(videos[0].shape)} (video 0) and {tuple(v.shape)} "
                             f"(video {i}); crop or resize them to one size")
    return torch.stack(videos)


def as_video_batch(videos: Videos) -> Tensor:
    """Any accepted video input as float32 [B, T, 3, H, W] in [0, 1] on the CPU.

    Accepts a tensor or array [T, 3, H, W] (one video) or [B, T, 3, H, W], float in
    [0, 1] or uint8, or a list of [T, 3, H, W] videos of the same size; at least one
    video of at least one frame.
    """
    if isinstance(videos, (list, tuple)):
        videos = _stack(videos)
    if isinstance(videos, np.ndarray):
        videos = torch.from_numpy(videos)
    if not isinstance(videos, Tensor):
        raise TypeError(f"videos must be a tensor, array or list of videos, "
                        f"got {type(videos).__name__}")
    videos = videos.detach().cpu()
    if videos.dim() == 4:
        videos = videos[None]
    if videos.dim() != 5 or videos.shape[2] != 3:
        raise ValueError(f"videos must have shape [T, 3, H, W] or [B, T, 3, H, W], got "
                         f"{tuple(videos.shape)}")
    B, T, _, H, W = videos.shape
    if B == 0:
        raise ValueError(f"the batch is empty (shape {tuple(videos.shape)}): pass at least "
                         f"one video")
    if min(T, H, W) == 0:
        raise ValueError(f"videos need at least one frame of at least 1x1 pixels, got shape "
                         f"{tuple(videos.shape)} ([B, T, 3, H, W])")
    if videos.dtype == torch.uint8:
        return videos.float() / 255
    if not (videos.is_floating_point() or videos.dtype == torch.bool):
        raise TypeError(f"videos must be float in [0, 1] or uint8 in [0, 255], got "
                        f"{videos.dtype}; convert with .float() / 255 or .to(torch.uint8)")
    return data.check_pixel_range(videos.float()).clamp(0, 1)


def upscale(videos: Tensor, scale: int) -> Tensor:
    """Nearest-neighbour enlargement: [..., H, W] -> [..., H * scale, W * scale]."""
    scale = data.check_whole("scale", scale)
    if max(videos.shape[-2:]) * scale > MAX_SIDE:
        raise ValueError(f"scale {scale} makes frames {videos.shape[-2] * scale}x"
                         f"{videos.shape[-1] * scale} pixels; at most {MAX_SIDE} a side "
                         f"(scale <= {MAX_SIDE // max(videos.shape[-2:])} here)")
    return videos.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)


def video_grid(videos: Videos, columns: int | None = None, pad: int = 1,
               pad_value: float = 1.0) -> Tensor:
    """Tile a batch into one video: [B, T, 3, H, W] -> [T, 3, H', W'].

    ``columns`` defaults to min(B, 8); videos are separated by ``pad`` pixels of
    ``pad_value`` (white). Empty places in the last row are filled with pad_value.
    """
    videos = as_video_batch(videos)
    B, T, C, H, W = videos.shape
    columns = _columns(columns, B)
    pad = data.check_whole("pad", pad, 0)
    rows = -(-B // columns)
    grid = torch.full((T, C, rows * (H + pad) - pad, columns * (W + pad) - pad), pad_value)
    for b in range(B):
        r, c = divmod(b, columns)
        grid[:, :, r * (H + pad):r * (H + pad) + H, c * (W + pad):c * (W + pad) + W] = videos[b]
    return grid


def _columns(columns: int | None, num_videos: int) -> int:
    """The number of grid columns: ``columns``, or min(num_videos, 8) if None."""
    return min(num_videos, 8) if columns is None else data.check_whole("columns", columns)


def _frames_uint8(video: Tensor) -> np.ndarray:
    """[T, 3, H, W] in [0, 1] -> uint8 array [T, H, W, 3]."""
    return (video * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def gif_bytes(videos: Videos, fps: float = 4, scale: int = 4, columns: int | None = None) -> bytes:
    """An animated, looping GIF of one video or a grid of videos, as bytes."""
    import imageio.v3 as iio

    fps = check_fps(fps)
    frames = _frames_uint8(upscale(video_grid(videos, columns), scale))
    return iio.imwrite("<bytes>", frames, extension=".gif", duration=round(1000 / fps),
                       loop=0)


def save_gif(videos: Videos, path: str | os.PathLike, fps: float = 4, scale: int = 4,
             columns: int | None = None) -> Path:
    """Write one video or a grid of videos as an animated GIF (atomically)."""
    from .checkpoint import atomic_write_bytes

    path = _check_suffix(path, ".gif")
    atomic_write_bytes(path, gif_bytes(videos, fps=fps, scale=scale, columns=columns))
    return path


def pad_to_multiple(frames: np.ndarray, block: int = MP4_BLOCK) -> np.ndarray:
    """Pad [T, H, W, 3] with black at the bottom and right to multiples of ``block``."""
    T, H, W, _ = frames.shape
    out = np.zeros((T, -(-H // block) * block, -(-W // block) * block, 3), frames.dtype)
    out[:, :H, :W] = frames
    return out


def save_mp4(videos: Videos, path: str | os.PathLike, fps: float = 4, scale: int = 4,
             columns: int | None = None) -> Path:
    """Write one video or a grid of videos as an H.264 MP4 (atomically).

    Frames are padded with black to sizes divisible by 16. Needs imageio-ffmpeg.
    """
    path, fps = _check_suffix(path, ".mp4"), check_fps(fps)
    try:
        import imageio_ffmpeg
        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise ModuleNotFoundError("save_mp4 needs ffmpeg: `pip install imageio-ffmpeg` (it "
                                  "ships one), or use save_gif") from exc
    from .checkpoint import atomic_path

    frames = pad_to_multiple(_frames_uint8(upscale(video_grid(videos, columns), scale)))
    with atomic_path(path, suffix=".mp4") as tmp:   # ffmpeg picks the format by suffix
        writer = imageio_ffmpeg.write_frames(str(tmp), (frames.shape[2], frames.shape[1]),
                                             fps=fps, codec="libx264", quality=8,
                                             macro_block_size=MP4_BLOCK,
                                             ffmpeg_log_level="error")
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
        _check_mp4(tmp, len(frames), path)
    return path


def _check_mp4(tmp: Path, num_frames: int, path) -> None:
    """OSError unless the MP4 at ``tmp`` is on disk and reads back with all its
    frames: ffmpeg's exit status is not checked by imageio-ffmpeg, so a full disk would
    otherwise replace ``path`` with a file no player opens."""
    import imageio_ffmpeg

    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    try:
        found, _ = imageio_ffmpeg.count_frames_and_secs(str(tmp))
    except (OSError, RuntimeError) as exc:
        found, reason = 0, f": {exc}"
    else:
        reason = ""
    if found != num_frames:
        raise OSError(f"ffmpeg wrote a broken MP4 ({found} of {num_frames} frames "
                           f"read back{reason}); is the disk full? {path} is unchanged")


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _caption_html(captions: list[str], columns: int, cell_width: int) -> str:
    rows = []
    for start in range(0, len(captions), columns):
        cells = "".join(
            f'<td style="width:{cell_width}px;text-align:center;vertical-align:top;'
            f'font-size:smaller">{html.escape(c)}</td>'
            for c in captions[start:start + columns])
        rows.append(f"<tr>{cells}</tr>")
    return f'<table style="table-layout:fixed">{"".join(rows)}</table>'


try:
    from IPython.display import HTML as _HTML, Image as _Image
except ImportError:  # viz without IPython: files only
    _Image = object
    _HTML = None


class VideoImage(_Image):
    """The GIF ``show_videos`` displayed. A cell whose last line is the call does not
    show it a second time; ``display(image)`` in a later cell shows it again."""

    echo_pending = False  # True from show_videos until its cell has finished

    def _ipython_display_(self):
        if self.echo_pending:
            return  # the echo of the cell that already displayed it
        from IPython.display import display

        display(_Image(data=self.data, format="gif"))


_PENDING: "weakref.WeakSet[VideoImage]" = weakref.WeakSet()
_HOOKED_SHELLS: set[int] = set()


def _end_of_cell(*_) -> None:
    for image in list(_PENDING):
        image.echo_pending = False
    _PENDING.clear()


def _mark_shown(image: VideoImage, shell) -> None:
    """Suppress the image's echo until the running cell ends (IPython post_run_cell)."""
    if id(shell) not in _HOOKED_SHELLS:
        shell.events.register("post_run_cell", _end_of_cell)
        _HOOKED_SHELLS.add(id(shell))
    image.echo_pending = True
    _PENDING.add(image)


def show_videos(videos: Videos, captions: list[str] | str | None = None, fps: float = 4,
                scale: int = 4, columns: int | None = None) -> "VideoImage":
    """Display one video [T, 3, H, W] or a grid of videos [B, T, 3, H, W] as a
    looping GIF in a notebook, with captions in a table beneath (row by row).

    Returns the image (an ``IPython.display.Image`` of the GIF bytes).
    """
    batch = as_video_batch(videos)
    B, _, _, _, W = batch.shape
    columns = _columns(columns, B)
    if isinstance(captions, str):
        captions = [captions]
    if captions is not None and len(captions) != B:
        raise ValueError(f"got {len(captions)} captions for {B} videos")
    if _HTML is None:
        raise RuntimeError("show_videos needs IPython (use save_gif outside notebooks)")
    image = VideoImage(data=gif_bytes(batch, fps=fps, scale=scale, columns=columns),
                       format="gif")
    shell = _shell()
    if shell is not None:
        from IPython.display import display

        display(_Image(data=image.data, format="gif"))
        if captions:
            display(_HTML(_caption_html(list(captions), columns, (W + 1) * scale - 1)))
        _mark_shown(image, shell)
    return image


def frame_strip(video: Videos, caption: str | None = None, ax: Axes | None = None,
                pad: int = 1) -> Axes:
    """Draw the frames of one video [T, 3, H, W] side by side with matplotlib.

    Returns the Axes. Frames are separated by ``pad`` white pixels.
    """
    import matplotlib.pyplot as plt

    batch = as_video_batch(video)
    if batch.shape[0] != 1:
        raise ValueError(f"frame_strip draws one video [T, 3, H, W], got a batch of "
                         f"{batch.shape[0]}; use video_grid or one strip per video")
    frames = batch[0]                                   # [T, 3, H, W]
    strip = video_grid(frames[:, None], columns=frames.shape[0], pad=pad)[0]  # [3, H, W']
    if ax is None:
        _, ax = plt.subplots(figsize=(1.1 * frames.shape[0], 1.4))
    ax.imshow(strip.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_axis_off()
    if caption:
        ax.set_title(caption, fontsize=10)
    return ax
