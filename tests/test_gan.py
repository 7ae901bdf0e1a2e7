"""t2v_edu.gan: the losses against PyTorch's BCE, the models' shapes, the metrics."""
import math

import pytest
import torch
import torch.nn.functional as F

from t2v_edu import data, gan


def _logits(*shape, seed=0, scale=3.0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * scale


def test_discriminator_loss_matches_bce_with_logits():
    real, fake = _logits(32, seed=1), _logits(48, seed=2)
    expected = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    torch.testing.assert_close(gan.discriminator_loss(real, fake), expected)


def test_generator_loss_is_non_saturating_bce():
    fake = _logits(5, 7, seed=3)
    expected = F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    torch.testing.assert_close(gan.generator_loss(fake), expected)


def test_value_function_is_minus_discriminator_loss_and_log_sigmoid_form():
    real, fake = _logits(16, seed=4), _logits(16, seed=5)
    d_real, d_fake = gan.discriminator_probability(real), gan.discriminator_probability(fake)
    direct = torch.log(d_real).mean() + torch.log(1 - d_fake).mean()
    torch.testing.assert_close(gan.value_function(real, fake), direct)
    torch.testing.assert_close(gan.value_function(real, fake), -gan.discriminator_loss(real, fake))


def test_value_at_equilibrium_is_minus_log_4():
    zeros = torch.zeros(10)  # D = 1/2 everywhere
    assert gan.value_function(zeros, zeros).item() == pytest.approx(-math.log(4))


def test_losses_are_finite_for_extreme_logits():
    big = torch.tensor([200.0, -200.0])
    assert torch.isfinite(gan.discriminator_loss(big, big))
    assert torch.isfinite(gan.generator_loss(big))


def test_auxiliary_loss_matches_bce_and_checks_shapes():
    aux = _logits(4, 7, seed=6)
    cond = gan.attribute_condition(torch.tensor([[0, 1], [2, 3], [1, 0], [0, 0]]))
    torch.testing.assert_close(gan.auxiliary_loss(aux, cond),
                               F.binary_cross_entropy_with_logits(aux, cond))
    with pytest.raises(ValueError, match="same shape"):
        gan.auxiliary_loss(aux[:, :3], cond)


def test_saturating_loss_gradient_vanishes_where_non_saturating_does_not():
    # the value: mean log(1 - D(G(z))) = mean log(1 - sigmoid(f)), by hand
    logits = torch.tensor([-3.0, -0.5, 0.0, 2.0])
    torch.testing.assert_close(gan.saturating_generator_loss(logits),
                               torch.log(1 - torch.sigmoid(logits)).mean())
    # log(1 - σ(f)) is minus the BCE of f against label 0
    torch.testing.assert_close(gan.saturating_generator_loss(logits),
                               -F.binary_cross_entropy_with_logits(logits, torch.zeros(4)))
    fake = torch.tensor([-8.0], requires_grad=True)  # D(G(z)) ~ 0: D wins easily
    gan.saturating_generator_loss(fake).backward()
    saturating = fake.grad.item()
    fake.grad = None
    gan.generator_loss(fake).backward()
    assert -1e-3 < saturating < 0, "minimising log(1 - D) pushes f up, but barely"
    assert fake.grad.item() < -0.99, "the non-saturating loss pushes f up at full strength"


def test_loss_errors_are_clear():
    with pytest.raises(TypeError, match="float tensor of discriminator logits"):
        gan.generator_loss(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="empty"):
        gan.discriminator_loss(torch.zeros(0), torch.zeros(3))


@pytest.mark.parametrize("size", [32, 64])
def test_dcgan_shapes_and_range(size):
    torch.manual_seed(0)
    G = gan.DCGANGenerator(latent_dim=8, size=size, width=8)
    D = gan.DCGANDiscriminator(size=size, width=8)
    x = G(torch.randn(3, 8))
    assert x.shape == (3, 3, size, size)
    assert x.min() >= 0 and x.max() <= 1
    assert D(x).shape == (3,)


def test_conditional_gan_needs_its_condition():
    cond_dim = gan.condition_dim()
    G = gan.DCGANGenerator(latent_dim=8, size=32, width=8, cond_dim=cond_dim)
    D = gan.DCGANDiscriminator(size=32, width=8, cond_dim=cond_dim)
    c = gan.attribute_condition(torch.tensor([[0, 1, 2], [2, 3, 0]]))
    x = G(torch.randn(2, 8), c)
    assert D(x, c).shape == (2,)
    logits, aux = D.forward_aux(x, c)
    assert torch.equal(logits, D(x, c)) and aux.shape == (2, cond_dim)
    with pytest.raises(ValueError, match="conditional"):
        G(torch.randn(2, 8))
    with pytest.raises(ValueError, match=r"condition must be \[2, 7\]"):
        D(x, c[:, :3])


def test_condition_changes_generator_output():
    torch.manual_seed(0)
    G = gan.DCGANGenerator(latent_dim=8, size=32, width=8, cond_dim=7).eval()
    z = torch.randn(1, 8)
    a = G(z, gan.attribute_condition(torch.tensor([[0, 0]])))
    b = G(z, gan.attribute_condition(torch.tensor([[1, 2]])))
    assert (a - b).abs().max() > 1e-4


def test_bad_size_is_rejected():
    with pytest.raises(ValueError, match="4 \\* 2\\^k"):
        gan.DCGANGenerator(size=48)


def test_attribute_condition_is_one_hot_shape_then_colour():
    c = gan.attribute_condition(torch.tensor([[2, 1, 5]]))
    names = data.attribute_names("cpu")
    expected = torch.zeros(1, len(names["shape"]) + len(names["color"]))
    expected[0, 2] = 1
    expected[0, len(names["shape"]) + 1] = 1
    assert torch.equal(c, expected)
    with pytest.raises(ValueError, match="labels must be"):
        gan.attribute_condition(torch.tensor([1, 2]))


def test_minibatch_std_adds_one_channel_with_the_batch_std():
    h = torch.randn(4, 5, 2, 2, generator=torch.Generator().manual_seed(0))
    out = gan.minibatch_std(h)
    assert out.shape == (4, 6, 2, 2)
    torch.testing.assert_close(out[:, 5], h.std(0, unbiased=False).mean().expand(4, 2, 2))
    D = gan.DCGANDiscriminator(size=32, width=8, minibatch_std=True)
    assert D(torch.rand(4, 3, 32, 32)).shape == (4,)


def test_patch_discriminator_gives_patch_logits():
    D = gan.PatchDiscriminator(3, (16, 32))
    assert D(torch.rand(2, 3, 32, 32)).shape == (2, 1, 8, 8)
    assert D(torch.rand(2, 3, 64, 48)).shape == (2, 1, 16, 12)


def test_diversity_matches_cdist_and_is_zero_when_collapsed():
    x = torch.rand(6, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    flat = x.flatten(1).double()
    pairs = [torch.dist(flat[i], flat[j]) for i in range(6) for j in range(6) if i < j]
    expected = torch.stack(pairs).mean().item() / math.sqrt(flat.shape[1])
    assert gan.diversity(x) == pytest.approx(expected, rel=1e-6)
    assert gan.diversity(x[:1].expand(5, -1, -1, -1)) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        gan.diversity(x[:1])
    with pytest.raises(TypeError, match="float frames .* got torch.uint8: convert uint8"):
        gan.diversity((x * 255).to(torch.uint8))


def test_load_frames_shapes_and_labels():
    frames, labels = gan.load_frames(num_videos=4, size=16, frames_per_video=2)
    assert frames.shape == (8, 3, 16, 16) and labels.shape == (8, 3)
    assert torch.equal(labels[0], labels[1])
    videos, _, attrs = data.MovingShapes("train", size=16, length=4).get_batch(range(4))
    torch.testing.assert_close(frames[1], videos[0, -1])
    assert torch.equal(labels[::2], data.attribute_labels(attrs))


def test_train_gan_is_deterministic_and_records_history():
    frames, labels = gan.load_frames(num_videos=16, size=16)

    def run():
        torch.manual_seed(0)
        G = gan.DCGANGenerator(latent_dim=4, size=16, width=4, cond_dim=7)
        D = gan.DCGANDiscriminator(size=16, width=4, cond_dim=7)
        return gan.train_gan(G, D, frames, steps=3, batch_size=4,
                             conditions=gan.attribute_condition(labels),
                             snapshot_steps=(0, 3), num_snapshots=2, aux_weight=aux_weight)

    aux_weight = 1.0
    with_aux = run()
    assert all(v > 0 for v in with_aux["aux"])
    aux_weight = 0.0

    a, b = run(), run()
    assert a["d_loss"] == b["d_loss"] and len(a["g_loss"]) == 3
    assert a["aux"] == [0.0, 0.0, 0.0]
    assert [s for s, _ in a["snapshots"]] == [0, 3]
    assert a["snapshots"][1][1].shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="conditions exactly when"):
        gan.train_gan(gan.DCGANGenerator(4, 16, 4), gan.DCGANDiscriminator(16, 4), frames, 1,
                      conditions=gan.attribute_condition(labels))


def test_train_gan_first_step_updates_both_players_and_logs_the_d_loss():
    """The first logged d_loss is BCE(D(real), 1) + BCE(D(G(z)), 0) on the first batch
    (drawn as train_gan draws it: fixed z, batch indices, z), and both G and D move."""
    import copy

    frames, _ = gan.load_frames(num_videos=8, size=16)
    torch.manual_seed(0)
    G, D = gan.DCGANGenerator(latent_dim=4, size=16, width=4), gan.DCGANDiscriminator(16, 4)
    G0, D0 = copy.deepcopy(G).train(), copy.deepcopy(D).train()
    history = gan.train_gan(G, D, frames, steps=2, batch_size=4, num_snapshots=2, seed=5)

    rng = torch.Generator().manual_seed(5)
    gan.sample_noise(2, 4, rng)                                   # the snapshots' fixed z
    real = frames[torch.randint(len(frames), (4,), generator=rng)]
    fake = G0(gan.sample_noise(4, 4, rng))
    with torch.no_grad():
        real_logits, fake_logits = D0(real), D0(fake)
    expected = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    assert history["d_loss"][0] == pytest.approx(expected.item(), rel=1e-5)
    def moved(a, b):
        return any(not torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))

    assert moved(G, G0) and moved(D, D0)


def test_classifier_learns_colour_quickly_and_accuracy_counts():
    torch.manual_seed(0)
    frames, labels = gan.load_frames(num_videos=64, size=16)
    clf = gan.FrameClassifier(width=8)
    history = gan.train_classifier(clf, frames, labels, steps=60, batch_size=32)
    assert history["loss"][-1] < history["loss"][0]
    acc = gan.condition_accuracy(clf, frames, labels)
    assert acc["color"] > 0.5
    assert acc["both"] <= min(acc["shape"], acc["color"])


def test_kind_counts_tally_the_classifiers_readings():
    torch.manual_seed(0)
    frames, _ = gan.load_frames(num_videos=20, size=16)
    clf = gan.FrameClassifier(width=8)
    counts = gan.kind_counts(clf, frames)
    assert counts.shape == (3, 4) and counts.dtype == torch.long
    assert counts.sum() == len(frames)
    with torch.no_grad():
        shape_logits, color_logits = clf(frames)
    s, c = shape_logits[0].argmax().item(), color_logits[0].argmax().item()
    same = ((shape_logits.argmax(1) == s) & (color_logits.argmax(1) == c)).sum()
    assert counts[s, c] == same
    # one frame repeated: all counts in one cell (total mode collapse)
    collapsed = gan.kind_counts(clf, frames[:1].repeat(7, 1, 1, 1))
    assert collapsed.max() == 7 and (collapsed > 0).sum() == 1


def test_mode_collapse_benchmark_runs(tmp_path):
    """The benchmark's script end to end with 2 steps (figures: run it for real)."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "mode_collapse.py"
    out = subprocess.run([sys.executable, str(script), "--seeds", "1", "--steps", "2"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "D + minibatch std" in out.stdout and "real frames: 12 kinds" in out.stdout


def test_kinds_covered_counts_cells_above_the_share():
    counts = torch.tensor([[50, 5, 0], [6, 39, 0]])            # 100 frames
    assert gan.kinds_covered(counts) == 4                       # >= 2 frames each
    assert gan.kinds_covered(counts, min_share=0.06) == 3       # 5 < 6 <= 6
    assert gan.kinds_covered(torch.zeros(2, 2, dtype=torch.long) + 1, 0.5) == 0


def test_auxiliary_loss_checks_the_condition_range():
    aux = _logits(2, 3, seed=7)
    with pytest.raises(ValueError, match=r"condition entries must lie in \[0, 1\].*"
                                         r"got values in \[0, 2\]"):
        gan.auxiliary_loss(aux, torch.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 1.0]]))
    multi_hot = torch.tensor([[True, False, True], [False, True, False]])
    torch.testing.assert_close(gan.auxiliary_loss(aux, multi_hot),
                               F.binary_cross_entropy_with_logits(aux, multi_hot.float()))


# --- bad input: each error says what was wrong and what is accepted -----------------
LABELS_ACCEPTED = r"labels must be class indices, an integer tensor \[8, 2 or 3\]"


@pytest.mark.parametrize("labels", [
    torch.zeros(1, 3, dtype=torch.long),                        # one row for 8 frames
    gan.attribute_condition(torch.zeros(8, 2, dtype=torch.long)),  # one-hot conditions
    torch.zeros(8, dtype=torch.long),                           # 1-D
    torch.zeros(8, 3),                                          # float indices
])
def test_bad_labels_are_refused_by_accuracy_and_training(labels):
    clf = gan.FrameClassifier(width=4)
    frames = torch.rand(8, 3, 16, 16)
    with pytest.raises(ValueError, match=LABELS_ACCEPTED):
        gan.condition_accuracy(clf, frames, labels)
    with pytest.raises(ValueError, match=LABELS_ACCEPTED):
        gan.train_classifier(clf, frames, labels, steps=1, batch_size=2)


def test_int32_labels_are_accepted():
    clf = gan.FrameClassifier(width=4)
    labels = torch.tensor([[0, 1, 2], [2, 3, 0]], dtype=torch.int32)
    gan.train_classifier(clf, torch.rand(2, 3, 16, 16), labels, steps=1, batch_size=2)
    assert set(gan.condition_accuracy(clf, torch.rand(2, 3, 16, 16), labels)) == {
        "shape", "color", "both"}


UNCONDITIONAL = r"this model is unconditional \(cond_dim=0\); build it with cond_dim=N"


@pytest.mark.parametrize("call", [
    lambda G, D, c: G(torch.randn(2, 4), c),
    lambda G, D, c: D(torch.rand(2, 3, 16, 16), c),
    lambda G, D, c: D.forward_aux(torch.rand(2, 3, 16, 16), c),
    lambda G, D, c: gan.generate(G, 2, c),
    lambda G, D, c: gan.generate(G, 2, c[0]),
], ids=["G", "D", "forward_aux", "generate", "generate-one-vector"])
def test_a_condition_for_an_unconditional_model_is_refused(call):
    G, D = gan.DCGANGenerator(4, 16, 4), gan.DCGANDiscriminator(16, 4)
    with pytest.raises(ValueError, match=UNCONDITIONAL):
        call(G, D, torch.zeros(2, 7))


def test_train_gan_refuses_an_unconditional_discriminator_with_conditions():
    G = gan.DCGANGenerator(4, 16, 4, cond_dim=7)
    with pytest.raises(ValueError, match=r"discriminator is unconditional \(cond_dim=0\); "
                                         r"build it with cond_dim=7"):
        gan.train_gan(G, gan.DCGANDiscriminator(16, 4), torch.rand(8, 3, 16, 16), 1,
                      conditions=torch.zeros(8, 7), batch_size=2)


@pytest.mark.parametrize("model", [
    lambda: gan.DCGANDiscriminator(16, 4),
    lambda: gan.PatchDiscriminator(3, (8, 8)),
    lambda: gan.FrameClassifier(width=4),
], ids=["DCGAN-D", "patch-D", "classifier"])
def test_uint8_frames_are_refused_with_the_conversion(model):
    frames = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    with pytest.raises(TypeError, match=r"float in \[0, 1\], got torch.uint8 \(uint8 frames: "
                                        r"convert with frames.float\(\) / 255\)"):
        model()(frames)


def test_discriminator_names_its_frame_size():
    D = gan.DCGANDiscriminator(size=16, width=4)
    with pytest.raises(ValueError, match=r"built for 16 x 16 frames, got 32 x 32: build it "
                                         r"with size=32"):
        D(torch.rand(2, 3, 32, 32))


@pytest.mark.parametrize("kwargs, message", [
    ({"d_steps": 0}, r"d_steps must be a whole number >= 1, got 0"),
    ({"batch_size": 0}, r"batch_size must be a whole number >= 1, got 0"),
    ({"conditions": torch.zeros(3, 7)},
     r"conditions has 3 rows but frames has 8: pass one condition per frame"),
])
def test_train_gan_checks_its_counts(kwargs, message):
    cond = "conditions" in kwargs
    G = gan.DCGANGenerator(4, 16, 4, cond_dim=7 if cond else 0)
    D = gan.DCGANDiscriminator(16, 4, cond_dim=7 if cond else 0)
    with pytest.raises(ValueError, match=message):
        gan.train_gan(G, D, torch.rand(8, 3, 16, 16), 1, **{"batch_size": 2, **kwargs})


@pytest.mark.parametrize("build, message", [
    (lambda: gan.DCGANGenerator(cond_dim=-2), "cond_dim must be a whole number >= 0, got -2"),
    (lambda: gan.DCGANGenerator(latent_dim=0), "latent_dim must be a whole number >= 1"),
    (lambda: gan.DCGANGenerator(width=0), "width must be a whole number >= 1"),
    (lambda: gan.DCGANDiscriminator(cond_dim=-1), "cond_dim must be a whole number >= 0"),
    (lambda: gan.DCGANDiscriminator(channels=0), "channels must be a whole number >= 1"),
])
def test_gan_constructors_check_their_sizes(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_make_gan_names_what_it_takes():
    with pytest.raises(TypeError, match=r"config must be a GANConfig, e.g. gan.PRESETS\['cpu'\]"):
        gan.make_gan("cpu")
