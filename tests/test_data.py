"""The procedural captioned-video data set: determinism, splits, captions, rendering."""
import hashlib
import itertools
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from t2v_edu import data

SPECS = ("cpu", "gpu")


def digest(videos, captions):
    h = hashlib.sha256(videos.numpy().tobytes())
    h.update("\n".join(captions).encode())
    return h.hexdigest()


# ---------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------
def test_same_index_same_item_across_calls_and_instances():
    a = data.MovingShapes("train", length=100, seed=3)
    b = data.MovingShapes("train", length=100, seed=3)
    va, ca, aa = a.get_batch([5, 17, 99])
    vb, cb, ab = b.get_batch([5, 17, 99])
    assert torch.equal(va, vb) and ca == cb and aa == ab
    assert torch.equal(a[17][0], vb[1])


def test_seed_and_split_change_the_data():
    base = data.MovingShapes("train", length=10).get_batch(range(10))
    other_seed = data.MovingShapes("train", length=10, seed=1).get_batch(range(10))
    other_split = data.MovingShapes("val", length=10).get_batch(range(10))
    assert not torch.equal(base[0], other_seed[0])
    assert not torch.equal(base[0], other_split[0])


def test_same_data_in_a_second_process():
    here = digest(*data.MovingShapes("heldout", length=16, spec="gpu").get_batch(range(16))[:2])
    code = ("import hashlib, sys; from t2v_edu import data; "
            "v, c, _ = data.MovingShapes('heldout', length=16, spec='gpu').get_batch(range(16)); "
            "h = hashlib.sha256(v.numpy().tobytes()); h.update('\\n'.join(c).encode()); "
            "sys.stdout.write(h.hexdigest())")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout
    assert here == there


# ---------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", SPECS)
def test_heldout_triples_never_in_train_but_every_value_and_pair_is(spec):
    s = data.get_spec(spec)
    held = set(data.split_triples("heldout", spec))
    train = set(data.split_triples("train", spec))
    assert held == data.heldout_triples(spec) and held and not held & train
    assert held | train == set(s.triples())
    assert len(held) == round(s.heldout_fraction * len(s.triples()))
    for k, values in enumerate((s.shapes, s.colors, s.motions)):
        assert {t[k] for t in train} == set(values)
    for i, j in itertools.combinations(range(3), 2):
        all_pairs = {(t[i], t[j]) for t in s.triples()}
        assert {(t[i], t[j]) for t in train} == all_pairs


@pytest.mark.parametrize("spec", SPECS)
def test_items_respect_their_split(spec):
    held = data.heldout_triples(spec)
    for split in data.SPLITS:
        ds = data.MovingShapes(split, length=400, spec=spec)
        for i in range(len(ds)):
            text, attrs, _ = ds.describe(i)
            triples = [(o["shape"], o["color"], o["motion"]) for o in attrs]
            if split == "heldout":
                assert triples[0] in held
            assert all(t not in held for t in triples[(split == "heldout"):])
            held_template = text.startswith("there is") or " and it " in text
            assert split == "heldout" or not held_template, (split, text)


def test_heldout_split_uses_the_heldout_templates():
    ds = data.MovingShapes("heldout", length=300)
    captions = [ds.describe(i)[0] for i in range(len(ds))]
    assert any(c.startswith("there is") for c in captions)
    assert any(" and it " in c for c in captions)


def test_bad_split_and_spec_are_named():
    with pytest.raises(ValueError, match="split 'training' is unknown.*'train'"):
        data.MovingShapes("training")
    with pytest.raises(ValueError, match="data spec 'tpu' is unknown"):
        data.MovingShapes("train", spec="tpu")


# ---------------------------------------------------------------------------------
# Captions
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("split", data.SPLITS)
def test_parse_round_trip_over_all_captions(split, spec):
    captions = data.all_captions(split, spec)
    triples = data.split_triples(split, spec)
    per_triple = len(captions) // len(triples)
    assert per_triple * len(triples) == len(captions) and per_triple > 1
    parsed = Counter()
    for text in captions:
        (obj,) = data.parse_caption(text)
        parsed[(obj["shape"], obj["color"], obj["motion"])] += 1
    assert parsed == Counter({t: per_triple for t in triples})
    assert len(set(captions)) == len(captions)


def test_parse_round_trip_two_objects():
    for split in ("train", "heldout"):
        ds = data.MovingShapes(split, length=400, spec="gpu")
        two = 0
        for i in range(len(ds)):
            text, attrs, _ = ds.describe(i)
            assert data.parse_caption(text) == attrs, text
            two += len(attrs) == 2
        assert two > 50  # the gpu spec really has second objects


def test_canonical_caption():
    attrs = [{"shape": "circle", "color": "red", "motion": "left"},
             {"shape": "square", "color": "blue", "motion": "up"}]
    assert data.canonical_caption(attrs) == "a red circle moves left and a blue square moves up"


def test_unknown_word_names_the_word_and_the_vocabulary():
    with pytest.raises(ValueError) as info:
        data.parse_caption("a purple circle moves left")
    message = str(info.value)
    assert "unknown word 'purple'" in message
    assert "Known words:" in message
    for word in ("circle", "red", "slides", "left"):
        assert word in message.split("Known words:")[1]


@pytest.mark.parametrize("text, message", [
    ("", "has no words"),
    ("a red moves left", "names no shape"),
    ("a red blue circle moves left", "several (red, blue) color"),
    ("a red circle", "names no motion word(s); it needs exactly one, e.g. moves left, "
                     "moves right, moves up"),
    ("a red circle moves left and", "an 'and' has no object on one side"),
    ("a red circle moves left and and a blue square rises", "an 'and' has no object"),
])
def test_incomplete_captions_say_what_is_missing(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        data.parse_caption(text)


# ---------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("num_frames, size, spec", [(8, 32, "cpu"), (16, 64, "gpu")])
def test_render_shape_dtype_range(num_frames, size, spec):
    ds = data.MovingShapes("train", num_frames=num_frames, size=size, length=8, spec=spec)
    video, text, attrs = ds[0]
    assert video.shape == (num_frames, 3, size, size) and video.dtype == torch.float32
    assert 0 <= video.min() and video.max() <= 1
    assert video.max() > 0.5  # something is drawn
    single = data.render(attrs, num_frames=num_frames, size=size, seed=0, spec=spec)
    assert single.shape == video.shape and 0 <= single.min() and single.max() <= 1


def test_batch_rendering_equals_single_items():
    ds = data.MovingShapes("train", length=64, spec="gpu")
    videos, captions, attrs = ds.get_batch(range(64))
    for i in (0, 7, 31, 63):
        video, text, a = ds[i]
        assert torch.equal(video, videos[i]) and text == captions[i] and a == attrs[i]
        _, _, geometry = ds.describe(i)
        assert torch.equal(data.render(a, geometry=geometry, spec="gpu"), video)


@pytest.mark.parametrize("shape", ["circle", "square", "triangle", "diamond"])
def test_each_shape_fits_its_bounding_box(shape):
    """Every shape lies within EXTENT * r of its centre (what keeps it in the frame)."""
    size, r = 128, 0.3
    geometry = [{"x": 0.5, "y": 0.5, "radius": r, "travel": 0.0}]
    video = data.render([{"shape": shape, "color": "yellow", "motion": "still"}],
                        num_frames=2, size=size, geometry=geometry, spec="gpu")
    ys, xs = (video[0].amax(0) > 0).nonzero(as_tuple=True)
    half = torch.stack([(xs + 0.5) / size - 0.5, (ys + 0.5) / size - 0.5]).abs()
    assert half.max() <= data.EXTENT * r + 1 / size
    assert half.max() >= 0.85 * r  # and is not tiny


@pytest.mark.parametrize("spec", SPECS)
def test_objects_are_big_move_far_and_stay_inside(spec):
    ds = data.MovingShapes("train", length=300, spec=spec)
    s = data.get_spec(spec)
    for i in range(len(ds)):
        _, attrs, geometry = ds.describe(i)
        for obj, geo in zip(attrs, geometry):
            x, y, r = data.motion_track(obj["motion"], ds.num_frames, (geo["x"], geo["y"]),
                                        geo["travel"], geo["radius"])
            reach = data.EXTENT * r
            assert (x - reach >= 0).all() and (x + reach <= 1).all(), (obj, geo)
            assert (y - reach >= 0).all() and (y + reach <= 1).all(), (obj, geo)
            if len(attrs) == 1:  # (two objects are drawn smaller, to fit)
                assert s.radius[0] <= geo["radius"] <= s.radius[1]
            if obj["motion"] in ("left", "right", "up", "down"):
                moved = max(abs(x[-1] - x[0]), abs(y[-1] - y[0]))
                assert moved >= s.travel - 1e-9, (obj, moved)


def test_drawn_objects_move_the_way_the_caption_says():
    ds = data.MovingShapes("train", length=200)
    videos, _, attrs = ds.get_batch(range(200))
    mass = videos.amax(dim=2)                                      # [B, T, H, W]
    coords = (torch.arange(videos.shape[-1]) + 0.5) / videos.shape[-1]
    for v, (obj,) in zip(mass, attrs):
        w = v / v.sum(dim=(1, 2), keepdim=True)
        cx = (w.sum(1) * coords).sum(-1)                           # [T] centre of mass
        cy = (w.sum(2) * coords).sum(-1)
        area = (v > 0.25).float().sum(dim=(1, 2))                  # [T]
        dx, dy, grow = cx[-1] - cx[0], cy[-1] - cy[0], area[-1] / area[0]
        expected = {"left": dx < -0.3, "right": dx > 0.3, "up": dy < -0.3, "down": dy > 0.3,
                    "still": abs(dx) + abs(dy) < 0.02 and abs(grow - 1) < 0.05,
                    "grow": grow > 1.5}[obj["motion"]]
        assert expected, (obj, dx.item(), dy.item(), grow.item())


def test_grow_and_shrink_change_the_area_the_right_way():
    """The gpu spec's size motions (the cpu spec has no "shrink")."""
    for seed in range(4):
        for motion, wanted in (("grow", lambda ratio: ratio > 1.5),
                               ("shrink", lambda ratio: ratio < 0.67)):
            video = data.render([{"shape": "circle", "color": "red", "motion": motion}],
                                num_frames=16, size=64, seed=seed, spec="gpu")
            area = (video.amax(1) > 0.25).float().sum((1, 2))        # [T]
            assert wanted(area[-1] / area[0]), (motion, seed, area[0].item(), area[-1].item())


# Where each shape is drawn and where not, at offsets (dx, dy) from its centre in units
# of its radius (y points down): the square fills its corners, the triangle (apex up)
# its lower corners only, the diamond reaches further up than the circle.
SHAPE_PROBES = [(0.0, -1.1), (0.8, 0.8), (0.8, -0.8), (0.95, 0.0)]
SHAPE_SIGNATURES = {"circle": [0, 0, 0, 1], "square": [0, 1, 1, 0],
                    "triangle": [0, 1, 0, 0], "diamond": [1, 0, 0, 1]}


@pytest.mark.parametrize("shape", data.ALL_SHAPES)
def test_each_shape_is_drawn_as_its_name_says(shape):
    size, r = 128, 0.3
    geometry = [{"x": 0.5, "y": 0.5, "radius": r, "travel": 0.0}]
    frame = data.render([{"shape": shape, "color": "yellow", "motion": "still"}],
                        num_frames=2, size=size, geometry=geometry, spec="gpu")[0].amax(0)
    lit = [int(frame[int((0.5 + dy * r) * size), int((0.5 + dx * r) * size)] > 0.5)
           for dx, dy in SHAPE_PROBES]
    assert lit == SHAPE_SIGNATURES[shape]


def test_dataloader_collate():
    ds = data.MovingShapes("val", length=10)
    loader = DataLoader(ds, batch_size=4, collate_fn=data.collate)
    videos, captions, attrs = next(iter(loader))
    assert videos.shape == (4, 8, 3, 32, 32)
    assert captions == [ds[i][1] for i in range(4)]
    assert attrs == [ds[i][2] for i in range(4)]
    assert sum(len(b[1]) for b in loader) == 10


def test_seeds_must_be_non_negative_integers():
    with pytest.raises(ValueError, match=r"seed must be an integer >= 0, got -1"):
        data.MovingShapes("train", seed=-1)
    attrs = data.parse_caption("a red circle moves left")
    with pytest.raises(ValueError, match=r"seed must be an integer >= 0, got -1"):
        data.render(attrs, seed=-1)
    with pytest.raises(TypeError, match=r"seed must be an integer >= 0, got float 1.5"):
        data.render(attrs, seed=1.5)


def test_attribute_labels_names_the_value_missing_from_the_spec():
    attrs = [[{"shape": "diamond", "color": "red", "motion": "left"}]]
    with pytest.raises(ValueError, match=r"shape='diamond' is not in the 'cpu' data spec; "
                                         r"its shape values are \('circle', 'square', "):
        data.attribute_labels(attrs)
    attrs = [[{"shape": "circle", "color": "red", "motion": "left"}]]
    assert data.attribute_labels(attrs).tolist() == [[0, 0, 0]]


def test_drawing_every_shape_and_keeping_one_matches_drawing_by_rows():
    """The GPU way of drawing (no nonzero(), so the CPU never waits) draws the same
    pixels as the CPU way, for one- and two-object videos and empty object slots."""
    ds = data.MovingShapes("train", num_frames=4, size=24, length=64, seed=1, spec="gpu")
    described = [ds.describe(i) for i in range(64)]
    shape_id, color, track = data.layout_batch([d[1] for d in described],
                                               [d[2] for d in described], 4)
    assert (shape_id[:, 1] == -1).any() and (shape_id[:, 1] >= 0).any()
    coords = (torch.arange(24) + 0.5) / 24
    for o in range(2):
        args = (shape_id[:, o], track[0][:, o], track[1][:, o], track[2][:, o], coords)
        by_rows = data.object_coverage(*args, pick_rows=True)
        every = data.object_coverage(*args, pick_rows=False)
        assert torch.equal(by_rows, every)
        assert (by_rows[shape_id[:, o] == -1] == 0).all()       # no object, no coverage
    videos = data.render_layout((shape_id, color, track), 24)
    assert torch.equal(videos, ds.get_batch(range(64))[0])


def test_to_device_keeps_values_and_stays_on_the_cpu_there():
    x = torch.arange(6).view(2, 3)
    y = data.to_device(x, "cpu")
    assert torch.equal(x, y) and y.device.type == "cpu"


def test_to_device_pins_the_tensor_and_queues_the_copy_to_a_gpu(monkeypatch):
    """What keeps the CPU from waiting, checked without a GPU: pinned memory and a
    non_blocking copy (the test below does the real copy where there is a GPU)."""
    calls = []
    x = torch.arange(6)

    def to(self, *args, **kwargs):
        calls.append(("to", str(args[0]), kwargs.get("non_blocking", False)))
        return self

    monkeypatch.setattr(torch.Tensor, "is_pinned", lambda self: False)
    monkeypatch.setattr(torch.Tensor, "pin_memory", lambda self: calls.append("pin") or self)
    monkeypatch.setattr(torch.Tensor, "to", to)
    assert data.to_device(x, "cuda") is x
    assert calls == ["pin", ("to", "cuda", True)]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_to_device_copies_to_a_real_gpu():
    x = torch.arange(6)
    y = data.to_device(x, "cuda")
    assert y.is_cuda and torch.equal(y.cpu(), x)


def test_data_speed_benchmark_times_a_gpu_worker():
    """benchmarks/data_speed.py --prepare runs and prints one worker's rate."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "benchmarks/data_speed.py", "--prepare", "--batches",
                           "1", "--two-object-prob", "0.6"], cwd=root, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"one loader worker, classic gpu preset, batch 128, two-object share "
                        r"0\.6: [\d,]+ videos/s prepared \(the GPU draws them\)\n", done.stdout)


def test_get_batch_wants_indices_not_a_count():
    with pytest.raises(TypeError, match=r"get_batch takes the items' indices, e.g. range\(8\)"):
        data.MovingShapes("test", length=8).get_batch(8)
    with pytest.raises(ValueError, match="get_batch needs at least one index"):
        data.MovingShapes("test", length=8).get_batch([])


@pytest.mark.parametrize("num_frames, size, message", [
    (0, 32, "num_frames must be a whole number >= 2, got 0"),
    (8, -3, "size must be a whole number >= 8, got -3"),
    (8, 1.5, "size must be a whole number >= 8, got 1.5"),
    (8, "32", "size must be a whole number >= 8, got '32'"),
])
def test_video_sizes_are_checked_before_rendering(num_frames, size, message):
    attrs = data.parse_caption("a red circle moves left")
    with pytest.raises(ValueError, match=message):        # was an empty video, or a
        data.render(attrs, num_frames=num_frames, size=size)  # RuntimeError deep in torch
    with pytest.raises(ValueError, match=message):
        data.MovingShapes("train", num_frames=num_frames, size=size)
    assert data.render(attrs, num_frames=2, size=8).shape == (2, 3, 8, 8)


def test_moving_shapes_length_is_a_count():
    assert len(data.MovingShapes("test", length=0)) == 0
    with pytest.raises(ValueError, match=r"length must be a whole number >= 0 videos "
                                         r"\(or None: the split's \d+\), got -1"):
        data.MovingShapes("test", length=-1)


# ---------------------------------------------------------------------------------
# Bad input gets a clear error (and no caption, split or video of the data set changes)
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("split", data.SPLITS)
def test_every_caption_a_split_makes_parses_to_the_attributes_it_was_made_from(split, spec):
    templates = data.MovingShapes(split, length=0, spec=spec).templates
    for s, c, m in data.split_triples(split, spec):
        attrs = [{"shape": s, "color": c, "motion": m}]
        for template in templates:
            for synonym in range(len(data.MOTION_PHRASES["left"])):
                text = data.caption(attrs, template, synonym)
                assert data.parse_caption(text) == attrs, text


def test_every_two_object_caption_parses_to_its_attributes():
    """Both objects, in either order, with every motion (negated "still" included), every
    template and every synonym."""
    for first, second in itertools.product(data.ALL_MOTIONS, repeat=2):
        attrs = [{"shape": "circle", "color": "red", "motion": first},
                 {"shape": "diamond", "color": "blue", "motion": second}]
        for template in range(len(data.TEMPLATES)):
            for synonym in range(len(data.MOTION_PHRASES["left"])):
                text = data.caption(attrs, template, synonym)
                assert data.parse_caption(text) == attrs, text


@pytest.mark.parametrize("text", [
    "a red circle does not move left",
    "a red circle is not moving up",
    "a red circle is not staying still",
    "the circle is red and it does not move and it rises",
    "a blue square moves up and a red circle does not move left",
])
def test_a_negated_motion_is_refused_not_read_as_the_motion(text):
    with pytest.raises(ValueError, match="negates a motion; 'not' is only understood as "
                                         "'does not move' or 'is not moving'"):
        data.parse_caption(text)


def test_not_moving_is_still():
    for text in ("a red circle does not move", "a red circle is not moving",
                 "the circle is red and it does not move and it stays still"):
        assert data.parse_caption(text) == [{"shape": "circle", "color": "red",
                                             "motion": "still"}], text


def test_render_wants_the_attributes_of_a_caption_and_one_geometry_per_object():
    with pytest.raises(TypeError, match=r"not the caption itself: use "
                                        r"render\(parse_caption\('a red circle moves left'\)\)"):
        data.render("a red circle moves left")
    with pytest.raises(ValueError, match="render needs at least one object, got an empty list"):
        data.render([])
    with pytest.raises(TypeError, match="render takes a list with one dict per object"):
        data.render([["circle", "red", "left"]])
    attrs = data.parse_caption("a red circle moves left and a blue square rises")
    geometry = [{"x": 0.3, "y": 0.5, "radius": 0.1, "travel": 0.2}]
    for wrong in ([], geometry, geometry[0], [{"x": 0.3, "y": 0.5}] * 2):
        with pytest.raises(ValueError, match=r"geometry must be a list with one dict "
                                             r"\{'x', 'y', 'radius', 'travel'\} per object "
                                             r"\(2 here\)"):
            data.render(attrs, geometry=wrong)
    assert data.render(attrs, geometry=geometry * 2).max() > 0.5


def test_caption_checks_the_attributes_against_the_vocabulary():
    obj = {"shape": "circle", "color": "red", "motion": "left"}
    assert data.canonical_caption(obj) == "a red circle moves left"  # one dict: one object
    with pytest.raises(ValueError, match=r"motion='sideways' is not valid; use one of "
                                         r"\('left', 'right', 'up', 'down', 'still'"):
        data.canonical_caption([{**obj, "motion": "sideways"}])
    with pytest.raises(ValueError, match=r"shape='blob' is not valid; use one of "
                                         r"\('circle', 'square', 'triangle', 'diamond'\)"):
        data.canonical_caption([{"shape": "blob", "color": "purple", "motion": "left"}])
    with pytest.raises(ValueError, match=r"color='purple' is not valid; use one of \('red', "):
        data.canonical_caption([{**obj, "color": "purple"}])
    with pytest.raises(ValueError, match=r"template must be in 0 \.\. 5 and synonym in 0 \.\. 3, "
                                         r"got template=6, synonym=0"):
        data.caption([obj], template=6)


def test_indexing_takes_one_integer_and_points_to_get_batch():
    ds = data.MovingShapes("val", length=4)
    with pytest.raises(TypeError, match=r"takes one integer index, got slice\(0, 2, None\); "
                                        r"for many items use get_batch\(range\(0, 2\)\)"):
        ds[0:2]
    with pytest.raises(TypeError, match=r"takes one integer index, got list \[0, 1\]"):
        ds[[0, 1]]
    video, text, attrs = ds[torch.tensor(1)]
    assert torch.equal(video, ds[1][0]) and text == ds[1][1]


def test_attribute_labels_wants_one_list_of_objects_per_video():
    obj = {"shape": "circle", "color": "red", "motion": "left"}
    for wrong in ([obj, obj], [[]], ["a red circle moves left"]):
        with pytest.raises(TypeError, match=r"attribute_labels takes one list of objects per "
                                            r"video, e\.g\. \[\[\{'shape': 'circle'"):
            data.attribute_labels(wrong)
    assert data.attribute_labels([[obj], [obj]]).tolist() == [[0, 0, 0]] * 2
