"""t2v_edu.vae: reparameterisation and KL against torch.distributions, shapes, training."""
import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from t2v_edu import gan, vae


def _gauss(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g), torch.randn(*shape, generator=g)


def test_reparameterize_matches_normal_rsample():
    mu, logvar = _gauss(4, 6)
    torch.manual_seed(3)
    expected = Normal(mu, torch.exp(0.5 * logvar)).rsample()
    torch.manual_seed(3)
    eps = torch.randn(4, 6)
    torch.testing.assert_close(vae.reparameterize(mu, logvar, eps), expected)


def test_reparameterize_uses_standard_deviation_not_variance():
    mu, logvar = torch.zeros(1, 1), torch.log(torch.tensor([[4.0]]))  # variance 4, std 2
    assert vae.reparameterize(mu, logvar, torch.ones(1, 1)).item() == pytest.approx(2.0)


def test_reparameterize_passes_gradients_and_draws_from_rng():
    mu, logvar = torch.zeros(3, 2, requires_grad=True), torch.zeros(3, 2, requires_grad=True)
    z = vae.reparameterize(mu, logvar, rng=torch.Generator().manual_seed(0))
    z2 = vae.reparameterize(mu, logvar, rng=torch.Generator().manual_seed(0))
    assert torch.equal(z, z2)
    z.sum().backward()
    assert torch.equal(mu.grad, torch.ones(3, 2)) and logvar.grad.abs().sum() > 0


def test_reparameterize_errors():
    with pytest.raises(ValueError, match="same shape"):
        vae.reparameterize(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="eps"):
        vae.reparameterize(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(3))


@pytest.mark.parametrize("shape", [(5, 8), (3, 4, 2, 2)])
def test_kl_matches_torch_distributions(shape):
    mu, logvar = _gauss(*shape, seed=1)
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = kl_divergence(q, p).flatten(1).sum(1).mean()
    torch.testing.assert_close(vae.kl_divergence(mu, logvar), expected)


def test_kl_is_zero_for_the_prior():
    assert vae.kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3)).item() == 0.0
    with pytest.raises(ValueError, match="batch"):
        vae.kl_divergence(torch.zeros(3), torch.zeros(3))


def test_vae_loss_is_reconstruction_plus_beta_kl():
    x, recon = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    mu, logvar = _gauss(2, 5)
    loss, rec, kl = vae.vae_loss(recon, x, mu, logvar, beta=0.5)
    torch.testing.assert_close(rec, torch.nn.functional.mse_loss(recon, x, reduction="sum") / 2)
    torch.testing.assert_close(vae.reconstruction_loss(recon, x), rec)
    torch.testing.assert_close(loss, rec + 0.5 * vae.kl_divergence(mu, logvar))


def test_encoder_decoder_shapes():
    enc = vae.ConvEncoder(3, (16, 32), out_channels=4)
    dec = vae.ConvDecoder(4, (32, 16), out_channels=3)
    h = enc(torch.rand(2, 3, 32, 32))
    assert h.shape == (2, 4, 8, 8)
    assert dec(h).shape == (2, 3, 32, 32)
    assert vae.ConvEncoder(3, (8, 8, 8), 2)(torch.rand(1, 3, 64, 64)).shape == (1, 2, 8, 8)
    with pytest.raises(ValueError, match="divisible by 4"):
        enc(torch.rand(1, 3, 30, 30))
    assert any(isinstance(m, torch.nn.GroupNorm) for m in enc.modules())
    assert any(isinstance(m, torch.nn.GroupNorm) for m in dec.modules())


@pytest.mark.parametrize("kwargs, latent", [
    ({"latent_dim": 16}, (16,)),
    ({"latent_channels": 4}, (4, 8, 8)),
    ({"latent_channels": 4, "hidden": (16, 32, 32)}, (4, 4, 4)),
])
def test_frame_vae_shapes(kwargs, latent):
    model = vae.FrameVAE(size=32, **kwargs)
    assert model.latent_shape == latent
    x = torch.rand(3, 3, 32, 32)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (3, *latent)
    out = model.decode(mu)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    recon, mu2, _ = model(x)
    assert recon.shape == x.shape and mu2.shape == mu.shape
    assert model.sample(2).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="z must be"):
        model.decode(torch.zeros(1, 7))


def test_lerp_latents_endpoints_and_torch_lerp():
    z0, z1 = _gauss(4, seed=2)
    torch.testing.assert_close(vae.lerp_latents(z0, z1, 0.0), z0)
    torch.testing.assert_close(vae.lerp_latents(z0, z1, 1.0), z1)
    torch.testing.assert_close(vae.lerp_latents(z0, z1, 0.3), torch.lerp(z0, z1, 0.3))
    path = vae.lerp_latents(z0, z1, torch.tensor([0.0, 0.5, 1.0]))
    assert path.shape == (3, 4)
    torch.testing.assert_close(path[1], (z0 + z1) / 2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        vae.lerp_latents(z0, z1, 1.5)


def test_interpolate_endpoints_are_reconstructions():
    torch.manual_seed(0)
    model = vae.FrameVAE(size=16, latent_dim=4, hidden=(8, 8)).eval()
    a, b = torch.rand(3, 16, 16), torch.rand(3, 16, 16)
    torch.testing.assert_close(vae.interpolate(model, a, b, 0.0), model.reconstruct(a[None])[0])
    torch.testing.assert_close(vae.interpolate(model, a, b, 1.0), model.reconstruct(b[None])[0])
    assert vae.interpolate(model, a, b, torch.linspace(0, 1, 5)).shape == (5, 3, 16, 16)


def test_train_vae_reduces_loss_and_is_deterministic():
    frames, _ = gan.load_frames(num_videos=32, size=16)

    def run():
        torch.manual_seed(0)
        model = vae.FrameVAE(size=16, latent_dim=4, hidden=(8, 16))
        return model, vae.train_vae(model, frames, steps=40, batch_size=16, lr=3e-3)

    (m, a), (_, b) = run(), run()
    assert a["loss"] == b["loss"]
    assert sum(a["recon"][-5:]) < sum(a["recon"][:5])
    torch.manual_seed(0)
    untrained = vae.FrameVAE(size=16, latent_dim=4, hidden=(8, 16))
    # measured 0.063 against 0.224 untrained
    assert 0 < vae.reconstruction_mse(m, frames) < 0.5 * vae.reconstruction_mse(untrained, frames)


def test_training_frames_in_the_wrong_form_are_refused_with_the_fix():
    frames, labels = gan.load_frames(num_videos=4, size=16)
    model = vae.FrameVAE(size=16, latent_dim=4, hidden=(8, 16))
    for bad, error, message in [
            ((frames, labels), TypeError, r"load_frames returns \(frames, labels\)"),
            (frames * 255, ValueError, r"divide frames in \[0, 255\] by 255"),
            ((frames * 255).to(torch.uint8), TypeError, r"uint8 frames: convert with frames\.float\(\) / 255"),
            (frames.permute(0, 2, 3, 1), ValueError, r"\[N, 3, H, W\] \(channels first\)")]:
        with pytest.raises(error, match=message):
            vae.train_vae(model, bad, steps=1)
    with pytest.raises(ValueError, match="divide frames"):
        gan.train_gan(gan.DCGANGenerator(size=16), gan.DCGANDiscriminator(size=16),
                      frames * 255, steps=1)


def test_train_vae_gan_runs_and_records_both_players():
    frames, _ = gan.load_frames(num_videos=8, size=16)
    torch.manual_seed(0)
    model = vae.FrameVAE(size=16, latent_dim=4, hidden=(8, 8))
    disc = vae.PatchDiscriminator(3, (8, 8))
    before = [p.clone() for p in model.parameters()], [p.clone() for p in disc.parameters()]
    history = vae.train_vae_gan(model, disc, frames, steps=2, batch_size=4, beta=0.5,
                                adv_weight=3.0)
    assert history["step"] == [1, 2]
    for key in ("loss", "recon", "kl", "g_loss", "d_loss"):
        assert len(history[key]) == 2 and all(map(math.isfinite, history[key])), key
    # the VAE's loss: reconstruction + beta * KL + adv_weight * L_G, as logged
    for loss, rec, kl, g in zip(history["loss"], history["recon"], history["kl"],
                                history["g_loss"]):
        assert loss == pytest.approx(rec + 0.5 * kl + 3.0 * g, rel=1e-5)
    # both players were trained
    for params, old in zip((model.parameters(), disc.parameters()), before):
        assert not all(torch.equal(a, b) for a, b in zip(old, params))
    assert vae.PatchDiscriminator is gan.PatchDiscriminator


def test_sharpness_drops_with_blur():
    x = torch.zeros(1, 1, 8, 8)
    x[..., 2:6, 2:6] = 1.0
    # a 4x4 square: 8 unit steps per direction over 8 * 7 neighbour pairs
    assert vae.sharpness(x) == pytest.approx(2 * 8 / 56)
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1)
    assert vae.sharpness(blurred) < vae.sharpness(x)
    with pytest.raises(ValueError, match="frames must be"):
        vae.sharpness(torch.zeros(8, 8))


# --- bad input: each error says what was wrong and what is accepted -----------------
def test_vae_loss_needs_one_latent_row_per_frame():
    x, recon = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    mu, logvar = _gauss(4, 3)
    with pytest.raises(ValueError, match=r"mu has 4 rows but frames has 2: pass the "
                                         r"encoder's \(mu, logvar\) for these frames"):
        vae.vae_loss(recon, x, mu, logvar)


@pytest.mark.parametrize("frames, error, message", [
    (torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8), TypeError,
     r"frames must be float in \[0, 1\], got torch.uint8 \(uint8 frames: convert with "
     r"frames.float\(\) / 255\)"),
    (torch.rand(2, 3, 4, 4) * 255, ValueError,
     r"frames must be in \[0, 1\], got values up to .*divide frames in \[0, 255\] by 255"),
], ids=["uint8", "float-0-255"])
def test_reconstruction_loss_needs_float_frames_in_0_1(frames, error, message):
    with pytest.raises(error, match=message):
        vae.reconstruction_loss(torch.rand(2, 3, 4, 4), frames)


@pytest.mark.parametrize("call", [
    lambda u8: vae.ConvEncoder(3, (8, 8), 4)(u8),
    lambda u8: vae.FrameVAE(16, 4, hidden=(8, 8)).encode(u8),
], ids=["ConvEncoder", "FrameVAE.encode"])
def test_uint8_frames_are_refused_by_the_encoder(call):
    u8 = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    with pytest.raises(TypeError, match=r"uint8 frames: convert with frames.float\(\) / 255"):
        call(u8)


@pytest.mark.parametrize("train", [
    lambda m, x: vae.train_vae(m, x, steps=1, batch_size=0),
    lambda m, x: vae.train_vae_gan(m, vae.PatchDiscriminator(3, (8, 8)), x, steps=1,
                                   batch_size=0),
], ids=["train_vae", "train_vae_gan"])
def test_training_needs_a_positive_batch_size(train):
    model = vae.FrameVAE(16, 4, hidden=(8, 8))
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1, got 0"):
        train(model, torch.rand(4, 3, 16, 16))


@pytest.mark.parametrize("kwargs, message", [
    ({"latent_dim": 0}, "latent_dim must be a whole number >= 1, got 0"),
    ({"latent_channels": 0}, "latent_channels must be a whole number >= 1, got 0"),
])
def test_frame_vae_checks_its_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        vae.FrameVAE(**kwargs)
