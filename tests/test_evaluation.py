"""Judges and metrics of ``t2v-edu evaluate`` (t2v_edu.judges, t2v_edu.evaluation)."""
import dataclasses
import json
import math
import os
import shutil

import numpy as np
import pytest
import torch

from t2v_edu import data, evaluation as ev, generation, judges
from t2v_edu.cli import main as cli_main

NUM_REAL = {"cpu": 300, "gpu": 160}


@pytest.fixture(scope="module")
def real():
    """Real test videos of each spec (rendered once)."""
    return {spec: judges.real_videos(spec, "test", n, seed=7) for spec, n in NUM_REAL.items()}


@pytest.fixture(scope="module")
def learned():
    return {spec: judges.LearnedJudge.load(spec) for spec in ("cpu", "gpu")}


def accuracy(score: dict) -> dict:
    return ev._rates(score)


# ---------------------------------------------------------------------------------
# Judges on real videos
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["cpu", "gpu"])
def test_oracle_reads_real_videos(real, spec):
    videos, _, attrs = real[spec]
    acc = accuracy(judges.OracleJudge(spec).score_attrs(videos, attrs))
    for key in ("shape", "color", "motion", "count"):
        assert acc[key] >= 0.97, (key, acc)
    if spec == "gpu":
        assert any(len(a) == 2 for a in attrs)  # two-object videos were judged


@pytest.mark.parametrize("spec", ["cpu", "gpu"])
def test_learned_judge_reads_real_videos(real, learned, spec):
    videos, _, attrs = real[spec]
    acc = accuracy(learned[spec].score_attrs(videos, attrs))
    for key in ("shape", "color", "motion"):
        assert acc[key] >= 0.99, (key, acc)


def test_oracle_predicts_both_objects_from_pixels():
    attrs = [{"shape": "triangle", "color": "pink", "motion": "grow"},
             {"shape": "diamond", "color": "cyan", "motion": "right"}]
    geometry = [{"x": 0.3, "y": 0.3, "radius": 0.15, "travel": 0.0},
                {"x": 0.25, "y": 0.75, "radius": 0.2, "travel": 0.45}]
    video = data.render(attrs, num_frames=16, size=64, geometry=geometry, spec="gpu")
    predicted = judges.OracleJudge("gpu").predict(video[None])[0]
    assert sorted(predicted, key=lambda o: o["color"]) == sorted(attrs, key=lambda o: o["color"])


def test_score_finds_objects_by_colour_and_counts_extras():
    oracle = judges.OracleJudge("gpu")
    red = [{"shape": "circle", "color": "red", "motion": "left"}]
    blue = [{"shape": "square", "color": "blue", "motion": "up"}]
    both = data.render(red + blue, 16, 64, seed=4, spec="gpu")  # (seed 3: blue hides red)
    # caption order does not matter: objects are found by colour
    score = oracle.score_attrs(both[None].repeat(2, 1, 1, 1, 1), [blue + red, red])
    assert score["joint"].tolist() == [True, False]           # 2nd: an extra object
    assert score["color"][1, 0] and score["shape"][1, 0] and not score["count"][1]
    # a wrong colour is wrong, but shape and motion are still judged
    wrong = [{"shape": "circle", "color": "green", "motion": "left"}]
    alone = data.render(red, 16, 64, seed=4, spec="gpu")[None]
    score = oracle.score_attrs(alone, [wrong])
    assert not score["color"][0, 0] and score["shape"][0, 0] and score["motion"][0, 0]


def test_caption_log_likelihood_is_bce_over_colours_plus_shape_and_motion(learned):
    judge = learned["cpu"]
    names = judge.names
    K, S, M = len(names["color"]), len(names["shape"]), len(names["motion"])
    g = torch.Generator().manual_seed(0)
    p, s, m = (torch.randn(3, K, generator=g), torch.randn(3, K, S, generator=g),
               torch.randn(3, K, M, generator=g))
    triples = [("circle", "red", "left"), ("square", "blue", "grow")]
    got = judge.caption_log_likelihood((p, s, m), triples)
    for n, (shape, colour, motion) in enumerate(triples):
        c = names["color"].index(colour)
        one_hot = torch.nn.functional.one_hot(torch.tensor(c), K).float().expand(3, K)
        expected = (-torch.nn.functional.binary_cross_entropy_with_logits(
                        p, one_hot, reduction="none").sum(1)
                    + torch.distributions.Categorical(logits=s[:, c]).log_prob(
                        torch.tensor(names["shape"].index(shape)))
                    + torch.distributions.Categorical(logits=m[:, c]).log_prob(
                        torch.tensor(names["motion"].index(motion))))
        torch.testing.assert_close(got[:, n], expected)


def test_judges_reject_bad_videos(learned):
    with pytest.raises(ValueError, match=r"\[B, T, 3, H, W\]"):
        judges.OracleJudge("cpu").predict(torch.zeros(8, 3, 32, 32))
    with pytest.raises(ValueError, match="8 frames of 32x32"):
        learned["cpu"].predict(torch.zeros(1, 16, 3, 64, 64))
    with pytest.raises(TypeError, match="one list of object dicts per video"):
        judges.OracleJudge("cpu").score_attrs(torch.zeros(1, 8, 3, 32, 32),
                                              data.parse_caption("a red circle rests"))
    with pytest.raises(ValueError, match="2 videos but 1 captions"):
        judges.OracleJudge("cpu").score_attrs(torch.zeros(2, 8, 3, 32, 32),
                                              [data.parse_caption("a red circle rests")])


def test_learned_judge_weights_are_hash_checked(tmp_path):
    weights, card = judges.judge_paths("cpu")
    shutil.copy(weights, tmp_path / weights.name)
    info = json.loads(card.read_text())
    assert weights.stat().st_size < 1_000_000
    info["sha256"] = "0" * 64
    (tmp_path / card.name).write_text(json.dumps(info))
    with pytest.raises(ValueError, match="SHA-256"):
        judges.LearnedJudge.load("cpu", path=tmp_path / weights.name)


def test_train_judge_is_deterministic():
    nets = [judges.train_judge("cpu", steps=2, seed=3)[0] for _ in range(2)]
    for (name, a), b in zip(nets[0].state_dict().items(), nets[1].state_dict().values()):
        assert torch.equal(a, b), name


# ---------------------------------------------------------------------------------
# Frechet distance
# ---------------------------------------------------------------------------------
def test_gaussian_fit_matches_torch_cov():
    x = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    mu, cov = ev.gaussian_fit(x)
    torch.testing.assert_close(mu, x.double().mean(0))
    torch.testing.assert_close(cov, torch.cov(x.double().T))


def test_frechet_zero_for_identical_and_positive_for_shifted():
    x = torch.randn(200, 6, generator=torch.Generator().manual_seed(1))
    assert ev.fvd_lite(x, x) == pytest.approx(0.0, abs=1e-6)
    shift = torch.tensor([0.5, 0, 0, 0, 0, -0.5])
    assert ev.fvd_lite(x, x + shift) == pytest.approx(0.5, rel=1e-6)  # |shift|^2
    assert ev.fvd_lite(x, 2 * x) > 0.5


def test_frechet_matches_closed_form_on_2x2_gaussians():
    """For 2x2 matrices tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)) (M with real positive
    eigenvalues), so d^2 is computed here with numpy alone, no matrix square root."""
    rng = np.random.default_rng(0)
    for _ in range(5):
        a, b = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
        s1, s2 = a @ a.T + 0.1 * np.eye(2), b @ b.T + 0.1 * np.eye(2)
        m1, m2 = rng.normal(size=2), rng.normal(size=2)
        prod = s1 @ s2
        tr_sqrt = math.sqrt(np.trace(prod) + 2 * math.sqrt(np.linalg.det(prod)))
        expected = ((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
        got = ev.frechet_distance(*(torch.tensor(v) for v in (m1, s1, m2, s2)))
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_sqrtm_psd_squares_back():
    a = torch.randn(5, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    s = a @ a.T
    r = ev.sqrtm_psd(s)
    torch.testing.assert_close(r @ r, s)
    # the principal root: symmetric, positive semi-definite (-r squares back too)
    torch.testing.assert_close(r, r.T)
    assert torch.linalg.eigvalsh(r).min() >= -1e-12
    # a diagonal matrix's root is the root of its diagonal
    d = torch.tensor([4.0, 9.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(ev.sqrtm_psd(torch.diag(d)), torch.diag(d.sqrt()))


def test_frechet_distance_refuses_mismatched_shapes():
    z3, i3 = torch.zeros(3), torch.eye(3)
    with pytest.raises(ValueError, match=r"mu2 must have shape \(1,\) \(D = 1"):
        ev.frechet_distance(torch.zeros(1), i3, z3, i3)
    with pytest.raises(ValueError, match=r"cov2 must have shape \(3, 3\) \(D = 3"):
        ev.frechet_distance(z3, i3, z3, torch.eye(4))
    with pytest.raises(ValueError, match=r"cov1 must have shape \(3, 3\)"):
        ev.frechet_distance(z3, torch.ones(3), z3, i3)
    with pytest.raises(ValueError, match=r"mu1 must be a mean vector \[D\]"):
        ev.frechet_distance(i3, i3, z3, i3)
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match=r"same D.*\[10, 3\] and \[M, D\] = \[10, 4\]"):
        ev.fvd_lite(torch.randn(10, 3, generator=g), torch.randn(10, 4, generator=g))


def test_data_generator_names_the_specs_for_an_unknown_one():
    with pytest.raises(ValueError,
                       match=r"data spec 'big' is unknown; use one of \['cpu', 'gpu'\]"):
        ev.data_generator("big")


# ---------------------------------------------------------------------------------
# Metrics of a generator
# ---------------------------------------------------------------------------------
def test_shuffled_captions_score_near_chance(real):
    videos, _, attrs = real["cpu"]
    score = judges.OracleJudge("cpu").score_attrs(videos, ev.shuffled(attrs, seed=0))
    acc, chance = accuracy(score), ev.chance_rates("cpu")
    assert chance == pytest.approx({"shape": 1 / 3, "color": 1 / 4, "motion": 1 / 6,
                                    "joint": 1 / 72})          # 3 shapes, 4 colours, 6 motions
    assert ev.chance_rates("gpu")["joint"] == pytest.approx(1 / (4 * 7 * 7))
    for key in ("shape", "color", "motion", "joint"):
        assert abs(acc[key] - chance[key]) < (0.1 if key != "joint" else 0.03), (key, acc)


def test_shuffled_is_a_derangement():
    items = list(range(20))
    moved = ev.shuffled(items, seed=4)
    assert sorted(moved) == items and all(a != b for a, b in zip(items, moved))


def test_retrieval_of_real_videos_is_high(learned):
    r = ev.evaluate_retrieval(ev.data_generator("cpu"), learned["cpu"], "cpu", seed=0,
                              batch_size=72)
    assert r["num_captions"] == 72 and r["t2v_top1"] >= 0.9 and r["v2t_top1"] >= 0.9


def test_identity_and_spread():
    oracle = judges.OracleJudge("cpu")
    attrs = [[{"shape": "circle", "color": "red", "motion": "still"}]]
    circle = data.render(attrs[0], seed=1)
    square = data.render([{**attrs[0][0], "shape": "square"}], seed=1)
    morph = torch.cat([circle[:4], square[4:]])[None]                        # changes shape
    steady = oracle.per_color(circle[None], frames=True)
    assert ev.identity_consistency(oracle, steady, attrs) == 1.0
    assert ev.identity_consistency(oracle, oracle.per_color(morph, frames=True), attrs) == 0.5
    frozen = lambda captions, seed: ev.data_generator("cpu")(captions, 0)   # ignores seed
    d = ev.evaluate_diversity(frozen, oracle, "cpu", seed=0, num_captions=2, num_seeds=3)
    assert d["start_spread"] == 0.0 and d["start_spread_real"] > 0.05


def test_evaluate_data_generator_and_ceiling():
    result = ev.evaluate_generator(ev.data_generator("cpu"), "cpu", num_videos=64, seed=1,
                                   retrieval=False, diversity=False)
    for split in ("test", "heldout"):
        s = result["splits"][split]
        assert s["oracle"]["joint"] == 1.0 and s["learned"]["joint"] >= 0.98
        assert s["identity"] >= 0.99
        # the control: the same videos scored against shuffled captions are near chance
        for judge in ("shuffled_oracle", "shuffled_learned"):
            assert s[judge]["joint"] < 0.1 and s[judge]["color"] < 0.5, (split, judge, s[judge])
    # FVD-lite: two real samples are far closer than real and damaged videos
    real_videos = judges.real_videos("cpu", "test", 128, seed=0)[0]
    feats = ev.real_features(ev.load_judges("cpu"), "cpu", "test", 128, seed=1)
    learned = ev.load_judges("cpu")["learned"]
    floor = ev.fvd_lite(learned.features(real_videos), feats)
    dimmed = ev.fvd_lite(learned.features(0.6 * real_videos), feats)
    assert 0 < 3 * floor < dimmed
    # the FVD-lite that evaluate_generator reports: near the floor for real videos, far
    # above it for dimmed ones
    real = ev.data_generator("cpu")
    dim = ev.evaluate_generator(lambda captions, seed: 0.6 * real(captions, seed), "cpu",
                                num_videos=64, seed=1, retrieval=False, diversity=False)
    for split in ("test", "heldout"):
        reported = result["splits"][split]["fvd_lite"]
        assert 0 < reported < 2 * floor and dim["splits"][split]["fvd_lite"] > 3 * reported
    ceiling = ev.reconstruction_ceiling(lambda v: v, "cpu", num_videos=32)
    assert ceiling["splits"]["test"]["oracle"]["joint"] == 1.0
    assert ceiling["splits"]["test"]["psnr"] > 100
    blurred = ev.reconstruction_ceiling(lambda v: 0.5 * v, "cpu", num_videos=32)
    assert blurred["splits"]["test"]["psnr"] < 20


def test_joint_by_objects_separates_binding_errors():
    attrs = [[{"shape": "circle", "color": "red", "motion": "left"}]] * 3 + \
        [[{"shape": "circle", "color": "red", "motion": "left"},
          {"shape": "square", "color": "blue", "motion": "up"}]]
    joint = torch.tensor([True, True, False, False])
    assert ev.joint_by_objects(joint, attrs) == {"1": pytest.approx(2 / 3), "2": 0.0}
    # on gpu data (some two-object captions) the table gets one row per object count;
    # a model that swaps the two objects' shapes fails only the two-object row
    captions, attrs = ev.split_captions("gpu", "test", 48, seed=3)
    real = ev.data_generator("gpu")

    def swap_shapes(caps, seed):   # draws each caption, the two objects' shapes swapped
        videos = []
        for i, caption in enumerate(caps):
            objs = data.parse_caption(caption)
            if len(objs) == 2:
                objs = [{**objs[0], "shape": objs[1]["shape"]},
                        {**objs[1], "shape": objs[0]["shape"]}]
            videos.append(data.render(objs, num_frames=16, size=64, seed=seed + i, spec="gpu"))
        return torch.stack(videos)

    counts = {len(a) for a in attrs}
    assert counts == {1, 2}
    good = ev.evaluate_generator(real, "gpu", split="test", num_videos=48, seed=3,
                                 retrieval=False, diversity=False)
    assert good["splits"]["test"]["joint_by_objects"] == {"1": 1.0, "2": 1.0}
    table = ev.format_table(good)
    assert "| joint accuracy, captions of 1 object (oracle) | 100.0 % |" in table
    assert "| joint accuracy, captions of 2 objects (oracle) | 100.0 % |" in table
    bad = ev.evaluate_generator(swap_shapes, "gpu", split="test", num_videos=48, seed=3,
                                retrieval=False, diversity=False)
    by = bad["splits"]["test"]["joint_by_objects"]
    assert by["1"] == 1.0 and by["2"] < 0.5
    # the breakdown names the error: every object drawn, each with the other's shape
    right, swapped = good["splits"]["test"]["two_objects"], bad["splits"]["test"]["two_objects"]
    assert right["videos"] == swapped["videos"] == sum(len(a) == 2 for a in attrs)
    assert (right["count"], right["shape_own"], right["shape_other"]) == (1.0, 1.0, 0.0)
    assert (right["fewer"], right["more"]) == (0.0, 0.0)
    assert "| two-object captions: fewer objects / more objects | 0.0 % / 0.0 % |" in table
    assert swapped["count"] == 1.0 and swapped["shape_own"] < 0.1 < 0.9 < swapped["shape_other"]
    assert swapped["motion_own"] == 1.0                      # motions were left in place
    assert "| two-object captions: each colour's shape is its own / the other object's | " \
        "100.0 % / 0.0 % |" in table
    # one-object data (cpu) keeps the table as it was: no such rows
    cpu = ev.evaluate_generator(ev.data_generator("cpu"), "cpu", split="test", num_videos=8,
                                retrieval=False, diversity=False)
    assert "captions of" not in ev.format_table(cpu)
    assert "two_objects" not in cpu["splits"]["test"] and "two-object" not in ev.format_table(cpu)


def test_own_or_other_counts_only_objects_that_differ():
    wanted = torch.tensor([[0, 1], [2, 2], [3, 0]])
    judged = torch.tensor([[0, 0], [2, 2], [0, 3]])
    # first caption: own, other's; third: both swapped; the second (same shapes) not counted
    assert ev.own_or_other(judged, wanted) == (pytest.approx(1 / 4), pytest.approx(3 / 4))
    assert ev.own_or_other(judged[1:2], wanted[1:2]) == (None, None)


def test_two_object_breakdown_tells_a_missing_object_from_an_extra_one():
    """Of four two-object videos: one right, one with a named object missing, one with an
    unnamed third colour, one with both faults (the count is then right, by chance)."""
    names = data.attribute_names("gpu")
    red, blue, green, pink = (names["color"].index(c) for c in ("red", "blue", "green", "pink"))
    present = torch.zeros(4, len(names["color"]), dtype=torch.bool)
    for b, seen in enumerate([(red, blue), (red,), (red, blue, green), (red, pink)]):
        present[b, list(seen)] = True
    pc = {"present": present, "mass": present.float(),
          "shape": torch.zeros_like(present, dtype=torch.long),
          "motion": torch.zeros_like(present, dtype=torch.long)}
    attrs = [[{"shape": "circle", "color": "red", "motion": "left"},
              {"shape": "circle", "color": "blue", "motion": "left"}]] * 4
    scores = judges.score_per_color(pc, attrs, names)
    out = ev.two_object_breakdown(pc, attrs, names, scores)
    assert out["videos"] == 4
    assert (out["count"], out["fewer"], out["more"]) == (0.5, 0.25, 0.25)


def test_evaluate_rejects_bad_arguments():
    gen = ev.data_generator("cpu")
    with pytest.raises(ValueError, match="split 'tset' is unknown"):
        ev.evaluate_generator(gen, "cpu", split="tset")
    with pytest.raises(ValueError, match="returned 1 videos for 2 captions"):
        ev.evaluate_generator(lambda c, s: gen(c[:1], s), "cpu", num_videos=2)
    with pytest.raises(ValueError, match="no split given; use some of"):
        ev.evaluate_generator(gen, "cpu", split=[])
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1, got 0"):
        ev.evaluate_generator(gen, "cpu", batch_size=0)
    with pytest.raises(ValueError, match="num_videos must be a whole number >= 2, got '4'"):
        ev.evaluate_generator(gen, "cpu", num_videos="4")
    # videos in another convention are refused, not clamped and scored (they would
    # score 75-81 % instead of 100 %); NaN is named instead of failing in linalg
    for wrong, fix in ((lambda v: 2 * v - 1, r"\(x \+ 1\) / 2"),
                       (lambda v: 255 * v, "divide frames in \\[0, 255\\] by 255"),
                       (lambda v: v * float("nan"), "contain NaN")):
        with pytest.raises(ValueError, match=f"generate_fn's videos .*{fix}"):
            ev.evaluate_generator(lambda c, s: wrong(gen(c, s)), "cpu", num_videos=4,
                                  diversity=False, retrieval=False)


# ---------------------------------------------------------------------------------
# Table, JSON, command line
# ---------------------------------------------------------------------------------
def test_table_and_atomic_json(tmp_path, monkeypatch):
    result = ev.evaluate_generator(ev.data_generator("cpu"), "cpu", split="test",
                                   num_videos=16, retrieval=False, diversity=False)
    table = ev.format_table(result)
    assert "| test | oracle | 100.0 % | 100.0 % | 100.0 % | 100.0 % |" in table
    assert "FVD-lite" in table and "chance" in table
    path = tmp_path / "results.json"
    ev.save_json(result, path)
    assert json.loads(path.read_text()) == json.loads(json.dumps(result))
    before = path.read_text()

    def crash(*args):
        raise OSError("killed mid-write")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        ev.save_json({"other": 1}, path)
    assert path.read_text() == before and os.listdir(tmp_path) == ["results.json"]


def test_cli_evaluate_data(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert cli_main(["evaluate", "--model", "data", "--num-videos", "16", "--out",
                     str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| heldout | learned |" in printed and "Retrieval among 72" in printed
    saved = json.loads(out.read_text())
    assert saved["model"] == "data" and set(saved["splits"]) == {"test", "heldout"}
    # the "data" model renders each caption exactly: the oracle reads every video right
    assert all(saved["splits"][s]["oracle"]["joint"] == 1.0 for s in ("test", "heldout"))
    assert os.listdir(tmp_path) == ["r.json"]  # written atomically: no temporary file left


def test_cli_evaluate_refuses_before_the_run(tmp_path, capsys):
    # a spec the model was not trained on: named, with the fix
    cpu_model = str(generation.default_checkpoint("classic", "cpu"))
    assert cli_main(["evaluate", "--model", "classic", "--checkpoint", cpu_model, "--spec",
                     "gpu", "--num-videos", "4"]) == 2
    err = capsys.readouterr().err
    assert "makes videos of the 'cpu' data" in err and "drop --spec gpu" in err
    # the default (shipped gpu) model the other way round
    assert cli_main(["evaluate", "--model", "classic", "--spec", "cpu", "--num-videos",
                     "4"]) == 2
    assert "makes videos of the 'gpu' data" in capsys.readouterr().err
    # an --out that cannot be written: said at once, naming the file (not a temporary)
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert cli_main(["evaluate", "--model", "data", "--num-videos", "4",
                     "--out", str(blocker / "r.json")]) == 2
    captured = capsys.readouterr()
    assert f"cannot write {blocker / 'r.json'}" in captured.err
    assert "Evaluation of" not in captured.out   # nothing was evaluated
    assert ".tmp" not in captured.err and ".probe" not in captured.err
    # an --out that is a folder: said at once (before, the run ended in IsADirectoryError)
    assert cli_main(["evaluate", "--model", "data", "--num-videos", "4",
                     "--out", str(tmp_path)]) == 2
    assert f"{tmp_path} is a folder: give a file name inside it" in capsys.readouterr().err
    # weights named for the data row, which loads none: refused, not ignored
    assert cli_main(["evaluate", "--model", "data", "--checkpoint", "nope.pt"]) == 2
    assert "--model data renders the data set and loads no weights" in \
        capsys.readouterr().err


def test_preference_counts_ties_as_half():
    right = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert ev.preference(right, torch.tensor([2.0, 3.0, 4.0, 5.0])) == 1.0
    assert ev.preference(right, right) == 0.5
    assert ev.preference(right, torch.tensor([0.0, 2.0, 5.0, 0.0])) == pytest.approx(0.375)


def test_binding_pairs_change_only_what_they_say():
    pairs = ev.binding_pairs("gpu", "test", 6, seed=1)
    captions, right, wrong, geometry = pairs["binding"]
    assert len(captions) == len(right) == len(wrong) == len(geometry) == 6
    for r, w in zip(right, wrong):
        assert [o["shape"] for o in w] == [r[1]["shape"], r[0]["shape"]] != \
            [o["shape"] for o in r]
        assert [(o["color"], o["motion"]) for o in w] == [(o["color"], o["motion"]) for o in r]
    for r, w in zip(*pairs["named"][1:3]):
        assert w[0]["shape"] not in {o["shape"] for o in r} and w[1] == r[1]
    for r, w in zip(*pairs["single"][1:3]):
        assert len(r) == 1 and w[0]["shape"] != r[0]["shape"]
    with pytest.raises(ValueError, match="two objects.*use spec 'gpu'"):
        ev.binding_pairs("cpu", "test", 4, seed=0)
    with pytest.raises(ValueError, match="num_captions must be at least 1"):
        ev.binding_pairs("gpu", "test", 0, seed=0)
    assert len(ev.binding_pairs("gpu", "heldout", 300, seed=0)["binding"][0]) == 300


def test_binding_test_tells_binding_from_a_bag_of_words():
    """Two stand-in 'models': one scores what the oracle sees per colour (it binds), one
    only which shapes appear anywhere (a bag of words). The test tells them apart."""
    oracle = judges.OracleJudge("gpu")

    def mismatches(videos, captions, bind):
        seen = oracle.predict(videos)
        out = []
        for objs, caption in zip(seen, captions):
            named = data.parse_caption(caption)
            if bind:
                got = {o["color"]: o["shape"] for o in objs}
                out.append(sum(got.get(o["color"]) != o["shape"] for o in named))
            else:
                out.append(len({o["shape"] for o in named} ^ {o["shape"] for o in objs}))
        return torch.tensor(out, dtype=torch.float32)

    binds = ev.binding_test(lambda v, c: mismatches(v, c, True), "gpu", num_captions=8, seed=2)
    bag = ev.binding_test(lambda v, c: mismatches(v, c, False), "gpu", num_captions=8, seed=2)
    assert {k: r["prefers_right"] for k, r in binds["tests"].items()} == {
        "binding": 1.0, "named": 1.0, "single": 1.0}
    assert bag["tests"]["binding"]["prefers_right"] == 0.5      # swapped shapes: a tie
    assert bag["tests"]["named"]["prefers_right"] == 1.0
    table = ev.format_binding(bag)
    assert "| two objects, their shapes swapped (binding) | 50.0 % | 0.0 |" in table


def test_binding_test_takes_a_custom_spec_with_its_video_format():
    spec = dataclasses.replace(data.get_spec("gpu"), colors=("red", "blue", "green"),
                               two_object_prob=0.9)
    seen = []

    def nll(videos, captions):
        seen.append(videos.shape[1:])
        assert all(data.parse_caption(c)[0]["color"] in spec.colors for c in captions)
        return torch.zeros(len(captions))

    result = ev.binding_test(nll, spec, num_captions=3, seed=0,
                             video_format=judges.VideoFormat(4, 16))
    assert set(seen) == {(4, 3, 16, 16)}
    assert (result["spec"], result["frames"], result["size"]) == ("custom", 4, 16)
    zeros = lambda videos, captions: torch.zeros(len(captions))  # noqa: E731
    assert ev.binding_test(zeros, "gpu", num_captions=1)["size"] == 64   # the spec's format
    with pytest.raises(ValueError, match="spec a custom DataSpec has no video format.*"
                                         "video_format=judges.VideoFormat"):
        ev.binding_test(nll, spec, num_captions=1)


def test_caption_probe_tells_a_binding_encoder_from_a_bag_of_words():
    """Two stand-in caption encoders of one-hot words: one averages each word's own
    clause (segment), one the whole caption. Only the first binds colour to shape."""
    from t2v_edu import text
    vocab = text.Vocab.default()

    def encoder(bind):
        def encode_text(captions):
            ids, lengths = vocab.encode_batch(captions, bos=True)
            onehot = torch.nn.functional.one_hot(ids, len(vocab)).float()   # [B, L, V]
            if bind:
                seg = text.segment_ids(ids, vocab.stoi["and"])
                same = (seg[:, :, None] == seg[:, None, :]).float()         # [B, L, L]
            else:
                same = torch.ones(ids.shape[0], ids.shape[1], ids.shape[1])
            same = same * (ids != vocab.pad_id)[:, None, :]
            tokens = same @ onehot / same.sum(-1, keepdim=True)
            return tokens, None
        return encode_text

    binds = ev.caption_probe(encoder(True), vocab, num_train=400, num_test=200)
    bag = ev.caption_probe(encoder(False), vocab, num_train=400, num_test=200)
    assert binds["own"] > 0.95
    assert 0.35 < bag["own"] < 0.65 and 0.35 < bag["other"] < 0.65
    captions, attrs = ev.two_object_captions("gpu", "test", 5, seed=3)
    assert len(captions) == 5 and all(len({o["shape"] for o in a}) == 2 for a in attrs)
    assert [data.parse_caption(c) and len(data.parse_caption(c)) for c in captions] == [2] * 5
    with pytest.raises(ValueError, match="two objects.*use spec 'gpu'"):
        ev.two_object_captions("cpu", "test", 5, seed=0)
