"""Video display helpers: grids, GIF/MP4 files, frame strips, inline display."""
import os
import stat
import subprocess
import sys

import imageio.v3 as iio
import matplotlib
import numpy as np
import pytest
import torch

from t2v_edu import data, viz

matplotlib.use("Agg")


def moving_batch(n=3):
    videos, captions, _ = data.MovingShapes("train", length=n).get_batch(range(n))
    return videos, captions


def test_video_grid_places_each_video():
    videos = torch.rand(5, 4, 3, 6, 7)
    grid = viz.video_grid(videos, columns=2, pad=1)
    assert grid.shape == (4, 3, 3 * 7 - 1, 2 * 8 - 1)
    assert torch.equal(grid[:, :, 0:6, 0:7], videos[0])
    assert torch.equal(grid[:, :, 0:6, 8:15], videos[1])
    assert torch.equal(grid[:, :, 14:20, 0:7], videos[4])
    assert (grid[:, :, 6, :] == 1).all()          # padding row
    assert (grid[:, :, 14:20, 8:15] == 1).all()   # empty place in the last row
    assert torch.equal(viz.video_grid(videos[0]), videos[0])  # one video: itself


def test_upscale_is_nearest_neighbour():
    x = torch.arange(4.0).reshape(1, 2, 2)
    assert torch.equal(viz.upscale(x, 2)[0], torch.tensor(
        [[0., 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]))
    with pytest.raises(ValueError, match="scale must be a whole number >= 1"):
        viz.upscale(x, 0)


@pytest.mark.parametrize("bad, message", [
    (torch.rand(2, 3, 4), "must have shape"),
    (torch.rand(2, 4, 1, 8, 8), "must have shape"),
    ("video", "must be a tensor"),
    (torch.rand(2, 3, 8, 8) * 255, r"values up to 2\d\d.*divide frames in \[0, 255\] by 255"),
    (torch.rand(2, 3, 8, 8) * 2 - 1, r"values down to -0\.9.*\(x \+ 1\) / 2"),
    (torch.full((2, 3, 8, 8), float("nan")), "contain NaN"),
    (torch.randint(0, 255, (2, 3, 8, 8)), "float in \\[0, 1\\] or uint8 in \\[0, 255\\], got torch.int64"),
])
def test_bad_input_says_what_is_accepted(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        viz.gif_bytes(bad)


def test_uint8_and_float_inputs_agree():
    video = torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8)
    assert viz.gif_bytes(video) == viz.gif_bytes(video.float() / 255)


def test_save_gif_frames_size_and_pixels(tmp_path):
    videos, _ = moving_batch(3)
    path = viz.save_gif(videos, tmp_path / "sub" / "grid.gif", fps=5, scale=2, columns=3)
    frames = iio.imread(path, index=None)                 # [T, H, W, 3]
    assert frames.shape == (8, 2 * 32, 2 * (3 * 33 - 1), 3)
    assert iio.immeta(path)["duration"] == 200
    # the GIF palette is exact enough to show the first video's pixels
    expected = (viz.upscale(videos[0], 2) * 255).permute(0, 2, 3, 1).numpy()
    assert np.abs(frames[:, :64, :64].astype(float) - expected).mean() < 4
    assert not list(tmp_path.glob("sub/.*.tmp"))  # the atomic write left no temp file


def test_gif_bytes_identical_across_processes():
    videos, _ = moving_batch(2)
    here = viz.gif_bytes(videos)
    code = ("import sys, hashlib; from t2v_edu import data, viz; "
            "v = data.MovingShapes('train', length=2).get_batch(range(2))[0]; "
            "sys.stdout.write(hashlib.sha256(viz.gif_bytes(v)).hexdigest())")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout
    import hashlib
    assert hashlib.sha256(here).hexdigest() == there
    assert viz.gif_bytes(videos) == here


def test_save_mp4_pads_to_multiple_of_16(tmp_path):
    import imageio.v2 as iio2

    videos, _ = moving_batch(3)
    path = viz.save_mp4(videos, tmp_path / "grid.mp4", scale=1)  # 32 x 98 frames
    reader = iio2.get_reader(path)
    assert reader.get_meta_data()["size"] == (112, 32)  # (W, H), both divisible by 16
    assert reader.count_frames() == 8
    reader.close()


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_gif_and_mp4_get_the_usual_file_mode_and_leave_no_temporary(tmp_path):
    videos, _ = moving_batch(1)
    mask = os.umask(0o022)
    try:
        for path in (viz.save_gif(videos, tmp_path / "a.gif"),
                     viz.save_mp4(videos, tmp_path / "a.mp4")):
            assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name  # not mkstemp's 0600
    finally:
        os.umask(mask)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif", "a.mp4"]


def test_a_broken_mp4_does_not_replace_the_file_there(tmp_path, monkeypatch):
    """imageio-ffmpeg does not check ffmpeg's exit status: a disk that fills up mid-write
    leaves an MP4 no player opens, which must not replace a good one."""
    import imageio_ffmpeg

    videos, _ = moving_batch(1)
    good = viz.save_mp4(videos, tmp_path / "out.mp4")
    before = good.read_bytes()
    real = imageio_ffmpeg.write_frames

    def cut_short(path, *args, **kwargs):
        writer = real(path, *args, **kwargs)
        yield next(writer)                       # the primer: send(None)
        for _ in range(3):                       # 3 of 8 frames, then ffmpeg dies
            writer.send((yield))
        writer.close()
        while True:
            yield

    monkeypatch.setattr(imageio_ffmpeg, "write_frames", cut_short)
    with pytest.raises(OSError, match=r"ffmpeg wrote a broken MP4 \(3 of 8 frames read "
                                           r"back\); is the disk full\? .*out.mp4 is unchanged"):
        viz.save_mp4(videos, good)
    assert good.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]   # no temporary left


def test_pad_to_multiple():
    frames = np.ones((2, 17, 32, 3), np.uint8)
    out = viz.pad_to_multiple(frames)
    assert out.shape == (2, 32, 32, 3) and out[:, :17].all() and not out[:, 17:].any()


def test_frame_strip_draws_frames_in_a_row():
    import matplotlib.pyplot as plt

    videos, captions = moving_batch(1)
    ax = viz.frame_strip(videos[0], caption=captions[0])
    image = ax.get_images()[0].get_array()
    assert image.shape == (32, 8 * 33 - 1, 3)
    assert np.allclose(image[:, 33:65], videos[0, 1].permute(1, 2, 0).numpy())
    assert ax.get_title() == captions[0]
    plt.close("all")
    with pytest.raises(ValueError, match="draws one video"):
        viz.frame_strip(videos.expand(2, -1, -1, -1, -1))


def test_show_videos_outside_a_notebook_returns_the_gif():
    videos, captions = moving_batch(2)
    image = viz.show_videos(videos, captions)
    assert image.data == viz.gif_bytes(videos)
    assert image._repr_mimebundle_()[0]["image/gif"]
    with pytest.raises(ValueError, match="got 1 captions for 2 videos"):
        viz.show_videos(videos, ["one"])


def test_show_videos_in_a_kernel_displays_once(tmp_path):
    """The GIF and the caption table are displayed once, even as a cell's last line;
    the returned image displays again in a later cell."""
    import nbformat

    from t2v_edu import course

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in (
        "import torch\nfrom t2v_edu import viz\nv = torch.rand(2, 3, 3, 8, 8)\n"
        "image = viz.show_videos(v, ['one', 'two'])",
        "viz.show_videos(v[0])",
        "image")]
    course.execute(nb, cwd=tmp_path, timeout=60)
    kinds = [[sorted(o["data"]) for o in cell.outputs] for cell in nb.cells]
    assert kinds == [[["image/gif", "text/plain"], ["text/html", "text/plain"]],
                     [["image/gif", "text/plain"]],
                     [["image/gif", "text/plain"]]]
    assert "<td" in nb.cells[0].outputs[1]["data"]["text/html"]
    assert nb.cells[2].outputs[0]["data"]["image/gif"] == \
        nb.cells[0].outputs[0]["data"]["image/gif"]


def refuses(path, call, message):
    """``call()`` raises a ValueError matching ``message`` and leaves ``path`` as it was."""
    path.write_bytes(b"made by the user")
    with pytest.raises(ValueError, match=message):
        call()
    assert path.read_bytes() == b"made by the user"


@pytest.mark.parametrize("save, name, message", [
    (viz.save_gif, "a.png", r"save_gif writes \.gif files, but 'a\.png' ends in '\.png'"),
    (viz.save_mp4, "b.gif", r"save_mp4 writes \.mp4 files, but 'b\.gif' ends in '\.gif'.*"
                            r"end the name in \.mp4 \(or use save_gif for \.gif\)"),
    (viz.save_gif, "c", r"'c' has no suffix: end the name in \.gif"),
])
def test_writers_refuse_a_path_of_the_other_format(tmp_path, save, name, message):
    refuses(tmp_path / name, lambda: save(torch.rand(2, 3, 8, 8), tmp_path / name), message)


def test_writers_accept_upper_case_suffixes_like_the_cli(tmp_path):
    video = torch.rand(2, 3, 8, 8)
    assert viz.save_gif(video, tmp_path / "a.GIF").read_bytes() == viz.gif_bytes(video)
    assert viz.save_mp4(video, tmp_path / "a.MP4").stat().st_size > 0


@pytest.mark.parametrize("fps", [0, -1, None, float("nan"), float("inf")])
@pytest.mark.parametrize("save, suffix", [(viz.save_gif, ".gif"), (viz.save_mp4, ".mp4")])
def test_writers_refuse_a_bad_fps(tmp_path, save, suffix, fps):
    path = tmp_path / f"out{suffix}"
    refuses(path, lambda: save(torch.rand(2, 3, 8, 8), path, fps=fps),
            r"fps must be a finite number > 0 \(frames per second\), got ")


@pytest.mark.parametrize("save, suffix", [(viz.save_gif, ".gif"), (viz.save_mp4, ".mp4")])
def test_writers_refuse_a_video_without_frames(tmp_path, save, suffix):
    path = tmp_path / f"out{suffix}"
    refuses(path, lambda: save(torch.rand(0, 3, 8, 8), path),
            r"videos need at least one frame .* got shape \(1, 0, 3, 8, 8\)")


@pytest.mark.parametrize("videos, message", [
    ([torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 9)],
     r"same shape \[T, 3, H, W\], got \(2, 3, 8, 8\) \(video 0\) and \(2, 3, 8, 9\) \(video 2\)"),
    ([], "the list of videos is empty: pass at least one video"),
    (torch.rand(0, 2, 3, 8, 8), r"the batch is empty \(shape \(0, 2, 3, 8, 8\)\): pass at least"),
])
@pytest.mark.parametrize("show", [viz.video_grid, viz.show_videos])
def test_tiling_refuses_mismatched_or_no_videos(show, videos, message):
    with pytest.raises(ValueError, match=message):
        show(videos)


def test_numpy_integers_are_accepted_for_sizes():
    videos = torch.rand(3, 2, 3, 8, 8)
    assert viz.gif_bytes(videos, scale=np.int64(2), columns=np.int64(2)) == \
        viz.gif_bytes(videos, scale=2, columns=2)
    assert torch.equal(viz.video_grid(videos, pad=np.int32(2)), viz.video_grid(videos, pad=2))


@pytest.mark.parametrize("kwargs, message", [
    (dict(columns=2.5), "columns must be a whole number >= 1, got 2.5"),
    (dict(columns=0), "columns must be a whole number >= 1, got 0"),
    (dict(pad=2.5), "pad must be a whole number >= 0, got 2.5"),
    (dict(pad=-1), "pad must be a whole number >= 0, got -1"),
])
def test_video_grid_refuses_bad_columns_and_pad(kwargs, message):
    with pytest.raises(ValueError, match=message):
        viz.video_grid(torch.rand(3, 2, 3, 8, 8), **kwargs)


def test_upscale_refuses_a_bool_scale():
    with pytest.raises(ValueError, match="scale must be a whole number >= 1, got True"):
        viz.upscale(torch.rand(1, 2, 2), True)
