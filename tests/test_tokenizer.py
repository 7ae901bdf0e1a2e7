"""The frame tokenizer: FSQ values, the straight-through gradient, the round trip."""
import math

import pytest
import torch

from t2v_edu import tokenizer as tk


def test_straight_through_round_forward_rounds_backward_passes_gradient():
    z = torch.tensor([-1.6, -0.4, 0.2, 0.5001, 2.7], requires_grad=True)
    w = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    out = tk.straight_through_round(z)
    assert torch.equal(out, torch.round(z.detach()))
    (out * w).sum().backward()
    assert torch.equal(z.grad, w)  # d round_ste / dz = 1


@pytest.mark.parametrize("levels", [(5, 5, 5), (8, 5, 5, 5), (4, 3), (2, 7)])
def test_fsq_takes_exactly_L_values_per_channel(levels):
    z = torch.randn(20000, len(levels)) * 4
    q = tk.fsq_quantize(z, levels)
    for i, L in enumerate(levels):
        values = torch.unique(q[:, i])
        assert len(values) == L, f"channel {i} took {len(values)} values, expected {L}"
        assert values.min() >= -1 and values.max() <= 1
        assert torch.allclose(values * (L // 2), torch.round(values * (L // 2)))


def fsq_bound_reference(z, levels, eps=1e-3):
    """bound(z) of the FSQ paper's code (Mentzer et al. 2023, appendix A.1), written out
    channel by channel, and its derivative d bound / dz."""
    values, slopes = [], []
    for i, L in enumerate(levels):
        half = (L - 1) * (1 - eps) / 2
        offset = 0.5 if L % 2 == 0 else 0.0
        t = torch.tanh(z[:, i].double() + math.tan(offset / half))
        values.append(t * half - offset)
        slopes.append((1 - t ** 2) * half)
    return torch.stack(values, -1).float(), torch.stack(slopes, -1).float()


def test_fsq_bound_matches_the_paper_for_odd_and_even_levels():
    levels = (5, 4, 2)
    z = torch.linspace(-4, 4, 201)[:, None].repeat(1, 3)
    bound, _ = fsq_bound_reference(z, levels)
    torch.testing.assert_close(tk.fsq_bound(z, levels), bound)
    expected = torch.round(bound) / torch.tensor([2.0, 2.0, 1.0])
    torch.testing.assert_close(tk.fsq_quantize(z, levels), expected)


def test_fsq_gradient_is_the_gradient_of_the_bound():
    levels = (5, 4)
    z = torch.randn(64, 2, generator=torch.Generator().manual_seed(0), requires_grad=True)
    tk.fsq_quantize(z, levels).sum().backward()
    _, slope = fsq_bound_reference(z.detach(), levels)
    torch.testing.assert_close(z.grad, slope / torch.tensor([2.0, 2.0]))  # / (L // 2)


def test_fsq_odd_levels_match_tanh_formula():
    z = torch.linspace(-3, 3, 101)[:, None]
    expected = torch.round(torch.tanh(z) * 2 * (1 - 1e-3)) / 2
    torch.testing.assert_close(tk.fsq_quantize(z, (5,)), expected)


def test_indices_round_trip_and_cover_the_codebook():
    levels = (8, 5, 5, 5)
    num = 8 * 5 * 5 * 5
    idx = torch.arange(num)
    codes = tk.indices_to_codes(idx, levels)
    assert codes.shape == (num, 4)
    assert torch.equal(tk.codes_to_indices(codes, levels), idx)
    q = tk.fsq_quantize(torch.randn(5000, 4) * 3, levels)
    back = tk.indices_to_codes(tk.codes_to_indices(q, levels), levels)
    torch.testing.assert_close(back, q)


def test_digits_are_the_mixed_radix_digits_of_an_index():
    levels = (8, 5, 5, 5)
    idx = torch.tensor([0, 1, 8, 40, 999, 3 + 8 * 2 + 40 * 4 + 200 * 1])
    digits = tk.indices_to_digits(idx, levels)
    assert digits.tolist()[-1] == [3, 2, 4, 1]
    assert digits.tolist()[:4] == [[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]
    assert digits.tolist()[4] == [7, 4, 4, 4]
    # digit i is the FSQ level of channel i: the same as codes_to_indices' digits
    codes = tk.indices_to_codes(idx, levels)
    lv = torch.tensor(levels)
    assert torch.equal(torch.round(codes * (lv // 2) + lv // 2).long(), digits)


def test_levels_error_message():
    with pytest.raises(ValueError, match="number of levels"):
        tk.fsq_quantize(torch.randn(3, 2), (5, 5, 5))
    with pytest.raises(ValueError, match=">= 2"):
        tk.fsq_quantize(torch.randn(3, 2), (5, 1))


def test_code_usage():
    assert tk.code_usage(torch.arange(10), 10) == pytest.approx(1.0)
    assert tk.code_usage(torch.zeros(10, dtype=torch.long), 10) == pytest.approx(0.1)


def test_tokenizer_shapes_round_trip_and_gradient():
    torch.manual_seed(0)
    tok = tk.FrameTokenizer(tk.TokenizerConfig(size=16, work_size=8, hidden=(8,), levels=(3, 3)))
    video = torch.rand(2, 3, 3, 16, 16)
    codes = tok.encode(video)
    assert codes.shape == (2, 3, 4, 4) and codes.dtype == torch.int64
    assert 0 <= int(codes.min()) and int(codes.max()) < tok.num_codes == 9
    decoded = tok.decode(codes)
    assert decoded.shape == video.shape and 0 <= decoded.min() and decoded.max() <= 1
    recon, codes2 = tok(video)
    assert torch.equal(codes, codes2)
    torch.testing.assert_close(recon, decoded)  # forward = decode(encode(.)) in value
    tk.tokenizer_loss(recon, video).backward()
    assert tok.encoder.body[0].weight.grad.abs().sum() > 0  # the STE reaches the encoder


def test_reconstruction_losses_match_torch_and_check_shapes():
    g = torch.Generator().manual_seed(0)
    recon, video = torch.rand(2, 3, 3, 8, 8, generator=g), torch.rand(2, 3, 3, 8, 8, generator=g)
    torch.testing.assert_close(tk.tokenizer_loss(recon, video),
                               torch.nn.MSELoss()(recon, video))
    torch.testing.assert_close(tk.tokenizer_l1_loss(recon, video),
                               torch.nn.L1Loss()(recon, video))
    assert set(tk.RECONSTRUCTION_LOSSES) == {"mse", "l1"}
    for loss in tk.RECONSTRUCTION_LOSSES.values():
        with pytest.raises(ValueError, match="differ"):
            loss(recon, video[:1])


def test_l1_keeps_an_uncertain_edge_pixel_sharp_where_mse_makes_it_grey():
    """A pixel lit in 70 % of the targets: the constant that minimises squared error is
    the mean (0.7, grey), absolute error's is the median (1, lit)."""
    targets = (torch.arange(10) < 7).float()
    for loss, best in [(tk.tokenizer_loss, 0.7), (tk.tokenizer_l1_loss, 1.0)]:
        pixel = torch.tensor(0.5, requires_grad=True)
        optimizer = torch.optim.SGD([pixel], lr=0.05)
        for _ in range(400):
            optimizer.zero_grad()
            loss(pixel.expand(10), targets).backward()
            optimizer.step()
            pixel.data.clamp_(0, 1)
        assert abs(pixel.item() - best) < 0.02, (loss.__name__, pixel.item())


def test_tokenizer_errors():
    tok = tk.FrameTokenizer(tk.TokenizerConfig(size=16, work_size=8, hidden=(8,), levels=(3, 3)))
    with pytest.raises(ValueError, match=r"\[B, T, 3, H, W\]"):
        tok.encode(torch.rand(3, 16, 16))
    with pytest.raises(ValueError, match=r"codes must lie in \[0, 9\)"):
        tok.decode(torch.full((1, 1, 4, 4), 9))
    with pytest.raises(ValueError, match="divisible"):
        tk.FrameTokenizer(tk.TokenizerConfig(size=16, work_size=12, hidden=(8, 8, 8)))


def test_tubelets_code_two_frames_per_token():
    tok = tk.FrameTokenizer(tk.TokenizerConfig(size=16, work_size=16, hidden=(8, 8),
                                               levels=(3, 3), frames_per_token=2))
    video = torch.rand(2, 6, 3, 16, 16)
    codes = tok.encode(video)
    assert codes.shape == (2, 3, 4, 4)
    assert tok.decode(codes).shape == video.shape
    # token t holds frames 2t and 2t + 1, both: its input channels are their pixels
    tubelets = tok._frames(video)                                    # [2 * 3, 6, 16, 16]
    assert torch.equal(tubelets[4, :3], video[1, 2]) and torch.equal(tubelets[4, 3:], video[1, 3])
    # and the second frame of a tubelet changes that token's latents, not the others'
    later = video.clone()
    later[1, 3] = 1 - later[1, 3]
    with torch.no_grad():
        moved = (tok.quantize(later) != tok.quantize(video)).flatten(2).any(-1)  # [2, 3]
        raw = (tok.encoder(tok._frames(later)) - tok.encoder(tubelets)).abs().flatten(1)
    assert raw.amax(1).nonzero().flatten().tolist() == [4]
    assert not moved[0].any() and not moved[1, [0, 2]].any()
    with pytest.raises(ValueError, match="tubelets of 2 frames"):
        tok.encode(torch.rand(1, 5, 3, 16, 16))


def test_levels_must_be_integers():
    with pytest.raises(ValueError, match=r"levels must be a sequence of integers >= 2, got "
                                         r"\[5\.5, 3\.0\]"):
        tk.fsq_quantize(torch.randn(3, 2), (5.5, 3))


def test_indices_to_codes_checks_the_range():
    for bad in (200, -1):
        with pytest.raises(ValueError, match=r"indices must lie in \[0, 125\)"):
            tk.indices_to_codes(torch.tensor([3, bad]), (5, 5, 5))


def test_codes_to_indices_checks_the_grid():
    levels = (5, 4)                       # channel 0: -1, -0.5, .., 1; channel 1: -1 .. 0.5
    assert tk.codes_to_indices(torch.tensor([[1.0, 0.5]]), levels).tolist() == [19]
    for off in ([0.3, 0.0], [0.0, 1.0], [1.5, 0.0]):   # between levels; above 0.5; above 1
        with pytest.raises(ValueError, match=r"q is not on the code grid of levels \[5, 4\]"):
            tk.codes_to_indices(torch.tensor([off]), levels)
    # fsq_quantize's own values, in bf16 too, are on the grid
    z = torch.randn(500, 4) * 3
    for levels in ((8, 5, 5, 5), (7, 6, 3, 2)):
        q = tk.fsq_quantize(z.bfloat16(), levels)
        lv = torch.tensor(levels)
        digits = torch.round(q.float() * (lv // 2) + lv // 2).long()
        expected = (digits * torch.tensor([1, levels[0], levels[0] * levels[1],
                                           levels[0] * levels[1] * levels[2]])).sum(-1)
        assert torch.equal(tk.codes_to_indices(q, levels), expected)


def test_code_usage_matches_categorical_perplexity():
    g = torch.Generator().manual_seed(0)
    indices = torch.randint(0, 7, (300,), generator=g)      # codes 7..9 never used
    counts = torch.bincount(indices, minlength=10).float()
    perplexity = torch.distributions.Categorical(probs=counts).entropy().exp()
    assert tk.code_usage(indices, 10) == pytest.approx(float(perplexity) / 10, rel=1e-6)


def test_levels_tensor_is_made_once_per_device_and_checked_on_the_cpu():
    z = torch.zeros(2, 3)
    a = tk._levels_tensor((8, 5, 5), z)
    assert a is tk._levels_tensor([8, 5, 5], z)         # cached: no new copy per step
    assert a.tolist() == [8, 5, 5] and a.dtype == torch.long
    with pytest.raises(ValueError, match="integers >= 2"):
        tk._levels_tensor((8, 1, 5), z)
    with pytest.raises(ValueError, match="number of levels"):
        tk._levels_tensor((8, 5), z)


# ---------------------------------------------------------------------------------
# Bad input: a clear error that says what is accepted
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("call, error, accepted", [
    (lambda: tk.indices_to_digits(torch.tensor([130, -1]), (5, 5, 5)), ValueError,
     r"indices must lie in \[0, 125\)"),
    (lambda: tk.indices_to_digits(torch.tensor([1.5]), (5, 5, 5)), TypeError,
     r"must be an integer tensor of code indices \(e\.g\. torch\.long\)"),
    (lambda: tk.indices_to_codes(torch.tensor([0]), (5, 1)), ValueError,
     "levels must be a sequence of integers >= 2"),
    (lambda: tk.indices_to_digits(torch.tensor([0]), (5, 1)), ValueError,
     "levels must be a sequence of integers >= 2"),
    (lambda: tk.TokenizerConfig(levels=(5, 1)), ValueError,
     "levels must be a sequence of integers >= 2"),
    (lambda: tk.TokenizerConfig(frames_per_token=0), ValueError,
     "frames_per_token must be a whole number >= 1"),
])
def test_codes_and_levels_are_checked(call, error, accepted):
    with pytest.raises(error, match=accepted):
        call()


def test_decode_needs_integer_codes_on_its_grid_and_encode_float_frames():
    tok = tk.FrameTokenizer(tk.TokenizerConfig(size=16, work_size=8, hidden=(8,), levels=(3, 3)))
    with pytest.raises(ValueError, match=r"on this tokenizer's 4 x 4 grid, got \(1, 1, 5, 5\)"):
        tok.decode(torch.zeros(1, 1, 5, 5, dtype=torch.long))
    with pytest.raises(TypeError, match=r"codes must be an integer tensor of code indices"):
        tok.decode(torch.zeros(1, 1, 4, 4))
    with pytest.raises(TypeError, match=r"float in \[0, 1\].*\.float\(\) / 255"):
        tok.encode(torch.zeros(1, 1, 3, 16, 16, dtype=torch.uint8))
    assert tok.decode(torch.zeros(1, 1, 4, 4, dtype=torch.int32)).shape == (1, 1, 3, 16, 16)
