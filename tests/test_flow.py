"""Tests of t2v_edu.flow: the flow-matching formulas, the sampler, the model, generate."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from t2v_edu import flow

CAPTIONS = ["a red circle moves left", "the blue square is rising"]


# ---------------------------------------------------------------------------------
# Formulas
# ---------------------------------------------------------------------------------
def test_interpolate_and_target_by_hand():
    x0 = torch.tensor([[1.0, -2.0], [0.5, 4.0]])
    noise = torch.tensor([[3.0, 0.0], [-1.0, 2.0]])
    t = torch.tensor([0.25, 1.0])
    # x_t = (1 - t) x0 + t eps, row by row
    expected = torch.tensor([[0.75 * 1 + 0.25 * 3, 0.75 * -2 + 0.25 * 0], [-1.0, 2.0]])
    assert torch.allclose(flow.interpolate(x0, noise, t), expected)
    assert torch.equal(flow.interpolate(x0, noise, torch.zeros(2)), x0)
    assert torch.equal(flow.velocity_target(x0, noise), noise - x0)


def test_flow_matching_loss_matches_hand_computation():
    x0 = torch.tensor([[1.0, -2.0], [0.5, 4.0]])
    noise = torch.tensor([[3.0, 0.0], [-1.0, 2.0]])
    t = torch.tensor([0.25, 0.5])

    def velocity_fn(x, s):  # a fixed "network": v = 2 x + s
        return 2 * x + s[:, None]

    xt = torch.tensor([[1.5, -1.5], [-0.25, 3.0]])
    v = 2 * xt + torch.tensor([[0.25], [0.5]])
    target = noise - x0
    hand = ((v - target) ** 2).sum() / 4
    loss = flow.flow_matching_loss(velocity_fn, x0, noise, t)
    assert loss.item() == pytest.approx(hand.item(), rel=1e-6)
    assert torch.allclose(loss, F.mse_loss(v, target))
    exact = flow.flow_matching_loss(lambda x, s: target, x0, noise, t)
    assert exact.item() == 0.0


def test_formulas_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        flow.interpolate(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2))
    with pytest.raises(ValueError, match="vector"):
        flow.interpolate(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(3))
    with pytest.raises(ValueError, match="num_steps"):
        flow.euler_sample(lambda x, t: x, torch.zeros(1, 2), 0)
    with pytest.raises(ValueError, match="uniform"):
        flow.sample_times(4, "cosine")


def test_euler_recovers_a_straight_path():
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(3, 5, generator=g)
    noise = torch.randn(3, 5, generator=g)
    velocity = flow.velocity_target(x0, noise)
    # the exact velocity of one straight line is constant: any number of steps is exact
    for steps in (1, 4):
        out = flow.euler_sample(lambda x, t: velocity, noise, steps)
        assert torch.allclose(out, x0, atol=1e-5)
    # one step from t to t_next moves by (t_next - t) v
    step = flow.euler_step(lambda x, t: torch.ones_like(x) * t[:, None], noise, 1.0, 0.75)
    assert torch.allclose(step, noise - 0.25)


def test_euler_visits_the_times_from_one_to_zero():
    seen = []

    def velocity_fn(x, t):
        seen.append(round(float(t[0]), 4))
        return torch.zeros_like(x)

    flow.euler_sample(velocity_fn, torch.zeros(2, 1), 4)
    assert seen == [1.0, 0.75, 0.5, 0.25]


def test_guided_velocity():
    cond, uncond = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 1.0])
    assert torch.equal(flow.guided_velocity(cond, uncond, 1.0), cond)
    assert torch.equal(flow.guided_velocity(cond, uncond, 0.0), uncond)
    assert torch.equal(flow.guided_velocity(cond, uncond, 3.0), torch.tensor([3.0, 7.0]))
    for guidance in (0.5, 2.0):
        torch.testing.assert_close(flow.guided_velocity(cond, uncond, guidance),
                                   torch.lerp(uncond, cond, guidance))


def test_sample_times_in_unit_interval_and_seeded():
    for kind in ("uniform", "logit_normal"):
        a = flow.sample_times(1000, kind, torch.Generator().manual_seed(1))
        b = flow.sample_times(1000, kind, torch.Generator().manual_seed(1))
        assert torch.equal(a, b)
        assert 0 < a.min() and a.max() < 1
        assert abs(a.mean().item() - 0.5) < 0.05


def test_sample_times_are_torch_draws_from_the_same_seed():
    """uniform is torch.rand, logit_normal is sigmoid(torch.randn), draw for draw."""
    def seed():
        return torch.Generator().manual_seed(7)

    assert torch.equal(flow.sample_times(50, "uniform", seed()), torch.rand(50, generator=seed()))
    assert torch.equal(flow.sample_times(50, "logit_normal", seed()),
                       torch.sigmoid(torch.randn(50, generator=seed())))


def test_patchify_round_trip_and_layout():
    z = torch.randn(2, 4, 3, 6, 6)
    tokens = flow.patchify(z, patch=2, frame_patch=2)
    assert tokens.shape == (2, 2 * 3 * 3, 2 * 3 * 2 * 2)
    assert torch.equal(flow.unpatchify(tokens, (4, 3, 6, 6), 2, 2), z)
    # token 1 is frames 0-1, latent rows 0-1, columns 2-3, in (frame, channel, row, col) order
    assert torch.equal(tokens[0, 1], z[0, 0:2, :, 0:2, 2:4].reshape(-1))
    with pytest.raises(ValueError, match="divisible"):
        flow.patchify(torch.zeros(1, 3, 3, 6, 6), 2, 2)


# ---------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    model = flow.build("tiny")
    # a non-zero head, so that the velocity depends on the caption and the input
    torch.nn.init.normal_(model.flow.head.weight, std=0.1)
    return model.eval()


def test_velocity_network_shapes(tiny_model):
    x = torch.randn(2, *tiny_model.latent_shape)
    text = tiny_model.encode_text(CAPTIONS)
    v = tiny_model.velocity(x, torch.tensor([0.3, 0.9]), text)
    assert v.shape == x.shape
    with pytest.raises(ValueError, match="must be"):
        tiny_model.velocity(x[:, :2], torch.tensor([0.3, 0.9]), text)


def test_velocity_depends_on_the_flow_time(tiny_model):
    """The same x_t and caption at t = 0.2 and t = 0.8 give different velocities."""
    x = torch.randn(2, *tiny_model.latent_shape, generator=torch.Generator().manual_seed(0))
    text = tiny_model.encode_text(CAPTIONS)
    early = tiny_model.velocity(x, torch.full((2,), 0.2), text)
    late = tiny_model.velocity(x, torch.full((2,), 0.8), text)
    assert not torch.allclose(early, late, atol=1e-4)


def test_untrained_network_predicts_zero_velocity():
    model = flow.build("tiny").eval()
    x = torch.randn(2, *model.latent_shape)
    v = model.velocity(x, torch.rand(2), model.encode_text(CAPTIONS))
    assert torch.equal(v, torch.zeros_like(v))


def test_sampler_shapes_and_determinism(tiny_model):
    p = tiny_model.preset
    a = tiny_model.sample(CAPTIONS, torch.Generator().manual_seed(3))
    b = tiny_model.sample(CAPTIONS, torch.Generator().manual_seed(3))
    c = tiny_model.sample(CAPTIONS, torch.Generator().manual_seed(4))
    assert a.shape == (2, p.num_frames, 3, p.size, p.size)
    assert 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert tiny_model.sample(CAPTIONS[0]).shape[0] == 1          # one caption as a string
    with pytest.raises(ValueError, match="unknown word 'sideways'"):
        tiny_model.sample(["a red circle moves sideways"])


def test_guidance_one_equals_the_conditional_velocity(tiny_model):
    B = len(CAPTIONS)
    x = torch.randn(B, *tiny_model.latent_shape)
    t = torch.tensor([0.7, 0.7])
    cond = tiny_model.velocity(x, t, tiny_model.encode_text(CAPTIONS))
    both = tiny_model.velocity(torch.cat([x, x]), torch.cat([t, t]),
                               tiny_model.encode_text(CAPTIONS * 2, torch.arange(2 * B) >= B))
    assert not torch.allclose(both[:B], both[B:])        # the caption matters
    assert torch.allclose(flow.guided_velocity(both[:B], both[B:], 1.0), cond, atol=1e-5)
    # and the sampler's guidance = 1 path is Euler on the conditional velocity
    noise = torch.randn(B, *tiny_model.latent_shape, generator=torch.Generator().manual_seed(0))
    text = tiny_model.encode_text(CAPTIONS)
    expected = flow.euler_sample(lambda z, s: tiny_model.velocity(z, s, text), noise,
                                 tiny_model.preset.sample_steps)
    got = tiny_model.sample_latents(CAPTIONS, guidance=1.0, noise=noise)
    assert torch.allclose(got, expected, atol=1e-6)
    guided = tiny_model.sample_latents(CAPTIONS, guidance=3.0, noise=noise)
    assert not torch.allclose(guided, expected, atol=1e-3)


def test_sampler_guidance_is_euler_on_the_guided_velocity(tiny_model):
    """sample_latents(guidance=3) = Euler on v_uncond + 3 (v_cond - v_uncond)."""
    B, steps = len(CAPTIONS), 3
    noise = torch.randn(B, *tiny_model.latent_shape, generator=torch.Generator().manual_seed(1))
    cond = tiny_model.encode_text(CAPTIONS)
    uncond = tiny_model.encode_text(CAPTIONS, torch.ones(B, dtype=torch.bool))

    def guided(z, s):
        return flow.guided_velocity(tiny_model.velocity(z, s, cond),
                                    tiny_model.velocity(z, s, uncond), 3.0)

    expected = flow.euler_sample(guided, noise, steps)
    got = tiny_model.sample_latents(CAPTIONS, guidance=3.0, steps=steps, noise=noise)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def test_flow_loss_is_flow_matching_with_caption_dropout():
    """flow_loss = mean ||v(x_t, t, caption or empty) - (eps - x_0)||^2, recomputed from
    the same global RNG draws: the dropout mask, then t, then eps."""
    from dataclasses import replace

    from t2v_edu import data

    torch.manual_seed(0)
    model = flow.build("tiny").eval()
    torch.nn.init.normal_(model.flow.head.weight, std=0.1)   # the caption must matter
    model.preset = replace(model.preset, caption_dropout=0.5)
    model.latent_ready.fill_(True)                           # keep the identity latent stats
    videos, captions, _ = data.MovingShapes("train", num_frames=4, size=16, length=6,
                                            spec="cpu").get_batch(range(6))
    B = len(captions)
    torch.manual_seed(0)
    loss, _ = model.flow_loss(videos, captions)

    torch.manual_seed(0)
    drop = torch.rand(B) < 0.5
    t = flow.sample_times(B, model.preset.time_sampling)
    x0 = model.encode(videos)
    noise = torch.randn(x0.shape)
    assert drop.any() and not drop.all()                    # some captions dropped, not all

    def expected(text):
        v = model.velocity(flow.interpolate(x0, noise, t), t, text)
        return F.mse_loss(v, noise - x0)

    torch.testing.assert_close(loss, expected(model.encode_text(captions, drop)))
    assert not torch.allclose(loss, expected(model.encode_text(captions)))   # dropout matters


def test_training_steps_lower_the_flow_loss():
    torch.manual_seed(0)
    model = flow.build("tiny")
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(8, *model.latent_shape, generator=g)
    noise = torch.randn(8, *model.latent_shape, generator=g)
    t = flow.sample_times(8, generator=g)
    text_in = CAPTIONS * 4

    def loss():
        text = model.encode_text(text_in)
        return flow.flow_matching_loss(lambda x, s: model.velocity(x, s, text), x0, noise, t)

    opt = torch.optim.Adam(list(model.text.parameters()) + list(model.flow.parameters()), 3e-3)
    before = loss().item()
    for _ in range(40):
        opt.zero_grad()
        value = loss()
        value.backward()
        opt.step()
    assert loss().item() < 0.8 * before


def test_stages_freeze_the_vae_in_the_flow_stage():
    model = flow.build("tiny")
    vae_stage, flow_stage = flow.stages(model, model.preset)
    assert (vae_stage.name, flow_stage.name) == ("vae", "flow")
    vae_ids = {id(p) for p in model.vae.parameters()}
    assert {id(p) for p in vae_stage.parameters} == vae_ids
    assert not vae_ids & {id(p) for p in flow_stage.parameters}


def test_latent_stats_normalise_the_latents():
    torch.manual_seed(0)
    model = flow.build("tiny")
    assert not bool(model.latent_ready)
    model.fit_latent_stats(num_videos=16)
    assert bool(model.latent_ready)
    from t2v_edu import data
    ds = data.MovingShapes("val", num_frames=4, size=16, length=16, spec="cpu")
    z = model.encode(ds.get_batch(range(16))[0])
    assert torch.allclose(z.mean((0, 1, 3, 4)), torch.zeros(z.shape[2]), atol=1e-4)
    assert torch.allclose(z.std((0, 1, 3, 4)), torch.ones(z.shape[2]), atol=1e-2)


def test_build_rejects_unknown_preset():
    with pytest.raises(ValueError, match="unknown"):
        flow.build("huge")


# ---------------------------------------------------------------------------------
# Training and generation through the course's commands
# ---------------------------------------------------------------------------------
def test_train_then_generate_with_model_modern(tmp_path):
    import t2v_edu
    from t2v_edu import training

    result = training.train(training.TrainConfig(model="modern", preset="tiny",
                                                 out=str(tmp_path), progress=False,
                                                 device="cpu"))
    assert result.meta["stage_steps"] == {"vae": 3, "flow": 3}
    videos = t2v_edu.generate(CAPTIONS, seed=1, model="modern",
                              checkpoint=tmp_path / "model.pt", device="cpu")
    again = t2v_edu.generate(CAPTIONS, seed=1, model="modern",
                             checkpoint=tmp_path / "model.pt", device="cpu")
    assert videos.shape == (2, 4, 3, 16, 16)
    assert torch.equal(videos, again)


def test_shipped_modern_weights_generate():
    from t2v_edu import generation

    # the package ships modern_cpu.pt (and its evaluation): a missing file must fail here
    path = generation.default_checkpoint("modern")
    assert path is not None, "no t2v_edu/weights/modern_{gpu,cpu}.pt"
    gen = generation.load_generator("modern", device="cpu")
    videos = gen(CAPTIONS, seed=0)
    assert videos.shape == (2, gen.num_frames, 3, gen.size, gen.size)
    assert 0 <= videos.min() and videos.max() <= 1


def test_space_time_positions_layout():
    from t2v_edu.attention import sinusoidal_positions

    pos = flow.space_time_positions((2, 3, 4), 32)
    assert pos.shape == (24, 32)
    # token (frame 1, row 2, column 3) is the last one: [frame (8) | row (12) | column (12)]
    assert torch.equal(pos[-1, :8], sinusoidal_positions(2, 8)[1])
    assert torch.equal(pos[-1, 8:20], sinusoidal_positions(3, 12)[2])
    assert torch.equal(pos[-1, 20:], sinusoidal_positions(4, 12)[3])
    assert len({tuple(row.tolist()) for row in pos}) == 24      # every token is distinct
    with pytest.raises(ValueError, match="multiple of 16"):
        flow.space_time_positions((2, 2, 2), 20)


def test_toy_flow_learns_the_ring():
    torch.manual_seed(0)
    model = flow.ToyVelocity(hidden=64)
    losses = flow.train_toy_flow(model, steps=300)
    assert sum(losses[-50:]) / 50 < sum(losses[:50]) / 50
    with torch.no_grad():
        noise = torch.randn(500, 2, generator=torch.Generator().manual_seed(1))
        radius = flow.euler_sample(model, noise, 20).norm(dim=1)
    assert 1.5 < radius.median() < 2.5          # the data lie on a circle of radius 2


def test_space_time_positions_needs_a_multiple_of_16():
    # 24 is a multiple of 8, but its row/column parts (3 * 24 / 8 = 9) are odd
    with pytest.raises(ValueError, match=r"dim \(the embed_dim\) must be a positive "
                                         r"multiple of 16.*got 24"):
        flow.space_time_positions((2, 2, 2), 24)
    with pytest.raises(ValueError, match="multiple of 16.*got 0"):
        flow.space_time_positions((2, 2, 2), 0)
    assert flow.space_time_positions((1, 2, 2), 16).shape == (4, 16)


def test_euler_sample_needs_a_whole_number_of_steps():
    with pytest.raises(ValueError,
                       match=r"num_steps must be a whole number >= 1 Euler steps, got 2\.5"):
        flow.euler_sample(lambda x, t: x, torch.zeros(1, 2), 2.5)


def test_interpolate_matches_torch_lerp():
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(4, 3, 5, generator=g), torch.randn(4, 3, 5, generator=g)
    t = torch.rand(4, generator=g)
    torch.testing.assert_close(flow.interpolate(x0, noise, t),
                               torch.lerp(x0, noise, t.view(-1, 1, 1)))
    torch.testing.assert_close(flow.interpolate(x0, noise, 0.3), torch.lerp(x0, noise, 0.3))


# ---------------------------------------------------------------------------------
# Bad input: a clear error that says what is accepted
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda x, eps: flow.flow_matching_loss(lambda z, s: z[:, :1], x, eps, torch.rand(4)),
    lambda x, eps: flow.euler_sample(lambda z, s: z.mean(1, keepdim=True), eps, 3),
])
def test_the_velocity_must_have_the_inputs_shape(call):
    x0, noise = torch.randn(4, 3), torch.randn(4, 3)
    with pytest.raises(ValueError, match=r"velocity_fn returned \(4, 1\); it must return v "
                                         r"with x's shape \(4, 3\)"):
        call(x0, noise)
    # the notebook's case: t exactly 0 and 1
    loss = flow.flow_matching_loss(lambda z, s: torch.zeros_like(z), x0[:2], noise[:2],
                                   torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(loss, F.mse_loss(torch.zeros(2, 3), noise[:2] - x0[:2]))


def test_flow_loss_needs_one_caption_per_video(tiny_model):
    with pytest.raises(ValueError, match=r"1 caption\(s\) for 2 videos.*a list of 2 captions"):
        tiny_model.flow_loss(torch.rand(2, 4, 3, 16, 16), CAPTIONS[:1])


@pytest.mark.parametrize("kwargs, error, accepted", [
    ({"guidance": float("nan")}, ValueError, "guidance must be a finite number >= 0"),
    ({"guidance": -2.0}, ValueError, "guidance must be a finite number >= 0"),
    ({"steps": 2.7}, ValueError, r"num_steps must be a whole number >= 1 Euler steps"),
    ({"steps": 2.0}, ValueError, r"num_steps must be a whole number >= 1 Euler steps"),
])
def test_sampling_parameters_are_checked(tiny_model, kwargs, error, accepted):
    with pytest.raises(error, match=accepted):
        tiny_model.sample(CAPTIONS, **kwargs)


def test_guided_velocity_needs_matching_velocities():
    cond = torch.randn(4, 3)
    with pytest.raises(ValueError, match=r"must have the same shape"):
        flow.guided_velocity(cond, cond[:1], 2.0)
    for guidance in (0.0, 4.99):                                # the notebook's range
        torch.testing.assert_close(flow.guided_velocity(cond, -cond, guidance),
                                   torch.lerp(-cond, cond, guidance))


@pytest.mark.parametrize("call, accepted", [
    (lambda z: flow.unpatchify(flow.patchify(z, 2, 2), (4, 2, 4, 4), 4, 1),
     r"tokens must be \[B, N, D\] = \[B, 4, 32\] .*got \(2, 8, 16\)"),
    (lambda z: flow.patchify(z, 0, 2), r"patch must be a whole number >= 1 latent cells a side"),
    (lambda z: flow.patchify(z, 2, 0), r"frame_patch must be a whole number >= 1 frames"),
    (lambda z: flow.unpatchify(flow.patchify(z, 2, 2), (4, 2, 4, 4), 0, 2),
     r"patch must be a whole number >= 1 latent cells a side"),
])
def test_patch_sizes_and_token_shapes_are_checked(call, accepted):
    with pytest.raises(ValueError, match=accepted):
        call(torch.randn(2, 4, 2, 4, 4))


def test_encode_refuses_uint8_frames(tiny_model):
    frames = torch.randint(0, 256, (1, 4, 3, 16, 16), dtype=torch.uint8)
    with pytest.raises(TypeError, match=r"float in \[0, 1\].*uint8 frames: convert with "
                                        r"videos?\.float\(\) / 255"):
        tiny_model.encode(frames)


def test_toy_flow_checks_its_times_and_counts():
    model = flow.ToyVelocity(hidden=8)
    x = torch.zeros(4, 2)
    for t in (0.5, torch.zeros(4, 1)):
        with pytest.raises(ValueError, match=r"t must be a tensor \[B\] = \[4\], one time per"):
            model(x, t)
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1, got 0"):
        flow.train_toy_flow(model, steps=1, batch_size=0)    # a NaN loss before
