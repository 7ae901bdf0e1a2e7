"""The classic model: causal mask, KV cache, sampling, presets."""
import pytest
import torch

from t2v_edu import t2v


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return t2v.build("tiny").eval()


def _context(model, captions):
    return model.encode_text(captions)


def test_no_future_leakage(model):
    """Changing a later code leaves the logits of every earlier position unchanged."""
    ctx, mask = _context(model, ["a red circle moves left", "a blue square rises"])
    n = model.video.length
    g = torch.Generator().manual_seed(1)
    inputs = torch.randint(0, model.video.num_codes, (2, n), generator=g)
    changed = inputs.clone()
    changed[:, 20] = (changed[:, 20] + 1) % model.video.num_codes
    with torch.no_grad():
        a = model.video(inputs, ctx, mask)
        b = model.video(changed, ctx, mask)
    torch.testing.assert_close(a[:, :20], b[:, :20], rtol=0, atol=1e-6)
    assert (a[:, 20:] - b[:, 20:]).abs().max() > 1e-4  # later positions do see it


def test_kv_cache_logits_match_full_forward(model):
    ctx, mask = _context(model, ["a green triangle falls"])
    n = model.video.length
    inputs = torch.randint(0, model.video.num_codes, (1, n), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        full = model.video(inputs, ctx, mask)
        cache = t2v.KVCache(len(model.video.blocks), n)
        first = model.video.step(inputs[:, :5], cache, ctx, mask)      # a block of 5
        rest = [model.video.step(inputs[:, i:i + 1], cache, ctx, mask) for i in range(5, n)]
    torch.testing.assert_close(torch.cat([first, *rest], 1), full, rtol=1e-4, atol=1e-5)


def test_kv_cache_sampling_equals_no_cache_sampling(model):
    caps = ["a red circle moves left", "the blue square is moving up"]
    a = model.sample_codes(caps, torch.Generator().manual_seed(3), use_cache=True)
    b = model.sample_codes(caps, torch.Generator().manual_seed(3), use_cache=False)
    assert a.shape == (2, model.video.num_frames, model.video.grid, model.video.grid)
    assert model.video.num_frames == model.preset.num_frames // model.preset.frames_per_token
    assert torch.equal(a, b)


def test_sample_shape_range_determinism(model):
    caps = ["a red circle moves left", "a yellow square grows"]
    v1 = model.sample(caps, generator=torch.Generator().manual_seed(0))
    v2 = model.sample(caps, generator=torch.Generator().manual_seed(0))
    p = model.preset
    assert v1.shape == (2, p.num_frames, 3, p.size, p.size)
    assert v1.min() >= 0 and v1.max() <= 1
    assert torch.equal(v1, v2)


def test_sample_takes_one_caption_as_a_string_and_refuses_unknown_words(model):
    """Not one video per character, and not <unk> in silence."""
    one = model.sample("a red circle moves left", generator=torch.Generator().manual_seed(0))
    assert one.shape[0] == 1
    with pytest.raises(ValueError, match="unknown word 'purple'"):
        model.sample(["a purple circle moves left"])
    with pytest.raises(ValueError, match="no captions given"):
        model.sample([])


def test_sample_logits_top_k_and_temperature():
    logits = torch.tensor([[0.0, 1.0, 5.0, 2.0]]).repeat(2000, 1)
    g = torch.Generator().manual_seed(0)
    drawn = t2v.sample_logits(logits, temperature=1.0, top_k=2, generator=g)
    assert set(drawn.tolist()) == {2, 3}
    assert torch.equal(t2v.sample_logits(logits, temperature=0), torch.full((2000,), 2))
    with pytest.raises(ValueError, match="temperature"):
        t2v.sample_logits(logits, temperature=-1)


def test_guided_logits_formula():
    cond, uncond = torch.randn(3, 5), torch.randn(3, 5)
    torch.testing.assert_close(t2v.guided_logits(cond, uncond, 1.0), cond)
    torch.testing.assert_close(t2v.guided_logits(cond, uncond, 3.0), uncond + 3 * (cond - uncond))


def test_caption_dropout_gives_the_empty_caption(model):
    drop = torch.tensor([False, True])
    ctx, mask = model.encode_text(["a red circle moves left", "a red circle moves left"], drop)
    assert mask[0].sum() == 6 and mask[1].sum() == 1  # <bos> + 5 words vs <bos> only


def test_losses_are_finite_and_reach_their_parameters(model):
    videos = torch.rand(2, model.preset.num_frames, 3, model.preset.size, model.preset.size)
    caps = ["a red circle moves left", "a blue square rises"]
    model.train()
    loss, metrics = model.transformer_loss(videos, caps)
    loss.backward()
    assert torch.isfinite(loss) and "bits_per_token" in metrics
    assert all(p.grad is not None for p in model.video.head.parameters())
    assert model.text.embed.weight.grad is not None       # tiny keeps parsing: not frozen
    assert model.tokenizer.encoder.body[0].weight.grad is None  # frozen in this stage
    loss, _ = model.tokenizer_loss(videos, caps)
    loss.backward()
    assert model.tokenizer.encoder.body[0].weight.grad is not None
    model.zero_grad(set_to_none=True)
    model.eval()


def test_reconstruction_loss_by_preset_and_psnr_from_the_mse():
    from dataclasses import replace

    from t2v_edu import tokenizer as tk

    assert t2v.PRESETS["cpu"].reconstruction_loss == "mse"  # the notebook's and shipped cpu
    torch.manual_seed(0)
    videos = torch.rand(2, 4, 3, 16, 16)
    for name in ("mse", "l1"):
        model = t2v.build(replace(t2v.PRESETS["tiny"], reconstruction_loss=name))
        torch.manual_seed(1)
        loss, metrics = model.tokenizer_loss(videos, ["a red circle moves left"] * 2)
        torch.manual_seed(1)  # the same tubelets
        frames = _picked_tubelets(model, videos)
        recon, _ = model.tokenizer(frames)
        torch.testing.assert_close(loss, tk.RECONSTRUCTION_LOSSES[name](recon, frames))
        mse = ((recon - frames) ** 2).mean()
        torch.testing.assert_close(metrics["psnr"], -10 * torch.log10(mse))
    with pytest.raises(ValueError, match=r"reconstruction_loss 'l2' is unknown; use one of "
                                         r"\['l1', 'mse'\]"):
        t2v.build(replace(t2v.PRESETS["tiny"], reconstruction_loss="l2"))


def _picked_tubelets(model, videos):
    """The tubelets ``tokenizer_loss`` trains on, drawn with the same random numbers."""
    k, n = model.preset.frames_per_token, videos.shape[1] // model.preset.frames_per_token
    pick = torch.randint(0, n, (videos.shape[0], model.preset.tokenizer_frames))
    return videos.unflatten(1, (-1, k))[torch.arange(videos.shape[0])[:, None], pick].flatten(1, 2)


def test_presets_fit_the_data_and_the_size_limit():
    for name, p in t2v.PRESETS.items():
        m = t2v.build(p)
        assert m.tokenizer.grid * 2 ** len(p.hidden) == p.work_size
        bytes_per = 2 if p.storage_dtype == "float16" else 4
        megabytes = bytes_per * sum(x.numel() for x in m.parameters()) / 2**20
        assert megabytes < 14, f"preset {name}: {megabytes:.1f} MiB of weights (limit: 15 MB)"
    with pytest.raises(ValueError, match="unknown"):
        t2v.build("huge")


def test_cache_mask_is_the_last_rows_of_the_causal_mask():
    from t2v_edu.attention import causal_mask

    for new, total in [(1, 1), (1, 7), (3, 7), (7, 7)]:
        assert torch.equal(t2v.cache_mask(new, total), causal_mask(total)[total - new:])
    with pytest.raises(ValueError, match="num_new <= total"):
        t2v.cache_mask(4, 3)


def test_filter_logits():
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0]])
    out = t2v.filter_logits(logits, temperature=2.0, top_k=2)
    assert torch.equal(out, torch.tensor([[-float("inf"), 1.5, 1.0, -float("inf")]]))
    torch.testing.assert_close(t2v.filter_logits(logits, 0.5, 0), logits * 2)
    with pytest.raises(ValueError, match="temperature"):
        t2v.filter_logits(logits, 0.0)


def test_code_logits_from_digits_is_a_product_of_digit_distributions():
    """log softmax over whole codes = sum of each digit's Categorical log-probability."""
    from torch.distributions import Categorical

    from t2v_edu.tokenizer import indices_to_digits

    levels = (3, 4, 2)
    digit_logits = [torch.randn(5, L) for L in levels]
    code_logits = t2v.code_logits_from_digits(digit_logits)
    assert code_logits.shape == (5, 24)
    codes = torch.arange(24)
    digits = indices_to_digits(codes, levels)                          # [24, 3]
    expected = sum(Categorical(logits=logits[:, None]).log_prob(digits[:, i])
                   for i, logits in enumerate(digit_logits))           # [5, 24]
    torch.testing.assert_close(code_logits.log_softmax(-1), expected)


def test_digit_embedding_sums_the_digits_embeddings_and_has_a_start_token():
    torch.manual_seed(0)
    emb = t2v.DigitEmbedding((3, 4), embed_dim=6)
    code = 2 + 3 * 1                                                    # digits (2, 1)
    torch.testing.assert_close(emb(torch.tensor([code]))[0],
                               emb.digits[0].weight[2] + emb.digits[1].weight[1])
    torch.testing.assert_close(emb(torch.tensor([[12]]))[0, 0], emb.start.detach())
    # codes sharing a digit share that part of their embedding
    a, b = emb(torch.tensor([0 + 3 * 1, 2 + 3 * 1]))
    torch.testing.assert_close(a - b, emb.digits[0].weight[0] - emb.digits[0].weight[2])


def test_digit_codes_or_whole_codes_by_preset_and_old_checkpoints_keep_whole_codes():
    from dataclasses import asdict, replace

    from t2v_edu import training

    tiny = t2v.PRESETS["tiny"]
    assert isinstance(t2v.build(tiny).video.head, t2v.DigitHead)
    whole = t2v.build(replace(tiny, digit_codes=False))
    assert isinstance(whole.video.head, torch.nn.Linear)
    saved = asdict(tiny)
    del saved["digit_codes"]                                # a checkpoint from before the field
    assert training.preset_from_dict(t2v, "tiny", saved).digit_codes is False
    assert training.preset_from_dict(t2v, "tiny", asdict(tiny)).digit_codes is True
    with pytest.raises(ValueError, match="codes, not"):
        t2v.VideoTransformer(10, 2, 2, 8, 1, 2, 8, levels=(3, 3))


def test_filter_logits_takes_any_leading_shape():
    logits = torch.tensor([1.0, 3.0, 2.0, 0.0])
    out = t2v.filter_logits(logits, top_k=2)
    assert torch.equal(out, torch.tensor([-float("inf"), 3.0, 2.0, -float("inf")]))
    batched = torch.randn(2, 3, 6, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(t2v.filter_logits(batched, 0.5, 3),
                               t2v.filter_logits(batched.view(6, 6), 0.5, 3).view(2, 3, 6))


def test_guided_logits_matches_torch_lerp():
    g = torch.Generator().manual_seed(3)
    cond, uncond = torch.randn(2, 9, generator=g), torch.randn(2, 9, generator=g)
    for guidance in (0.0, 1.0, 3.0):
        torch.testing.assert_close(t2v.guided_logits(cond, uncond, guidance),
                                   torch.lerp(uncond, cond, guidance))


def test_nll_is_the_summed_cross_entropy_of_the_codes(model):
    """nll = -sum_n log softmax(logits_n)[code_n], teacher-forced, with the caption."""
    torch.manual_seed(4)
    videos = torch.rand(3, model.preset.num_frames, 3, model.preset.size, model.preset.size)
    caps = ["a red circle moves left", "a blue square rises", "a green triangle falls"]
    nll = model.nll(videos, caps)
    codes = model.codes(videos)
    with torch.no_grad():
        logp = torch.log_softmax(model.code_logits(codes, caps).float(), -1)
    manual = -logp.gather(-1, codes[..., None])[..., 0].sum(1)
    assert nll.shape == (3,) and (nll > 0).all()
    torch.testing.assert_close(nll, manual)
    # per video: the same value alone as in a batch, and another caption changes it
    torch.testing.assert_close(model.nll(videos[1:2], caps[1:2]), nll[1:2])
    assert not torch.allclose(model.nll(videos[:1], ["a yellow square grows"]), nll[:1])


def test_the_logits_of_code_n_see_only_the_codes_before_it(model):
    """Teacher forcing shifts the codes by one (the start token first): the logits at
    position n read codes 0..n-1, never code n itself (that would leak the label)."""
    torch.manual_seed(6)
    caps = ["a red circle moves left", "a blue square rises"]
    codes = torch.randint(0, model.tokenizer.num_codes, (2, model.video.length))
    n = 3
    changed = codes.clone()
    changed[:, n] = (codes[:, n] + 1) % model.tokenizer.num_codes
    with torch.no_grad():
        before, after = model.code_logits(codes, caps), model.code_logits(changed, caps)
    torch.testing.assert_close(after[:, :n + 1], before[:, :n + 1])
    assert not torch.allclose(after[:, n + 1], before[:, n + 1])


def test_sampling_uses_guidance_and_temperature(model):
    """At temperature 0 the first code is the argmax of the guided logits,
    uncond + g (cond - uncond), computed here from teacher forcing's first position."""
    caps = ["a red circle moves left", "a blue square rises", "a green triangle falls",
            "a yellow circle grows"]
    codes = torch.zeros(4, model.video.length, dtype=torch.long)
    with torch.no_grad():
        cond = model.code_logits(codes, caps)[:, 0]
        uncond = model.code_logits(codes, caps, drop=torch.ones(4, dtype=torch.bool))[:, 0]
        for g in (1.0, 3.0):
            sampled = model.sample_codes(caps, torch.Generator().manual_seed(0), guidance=g,
                                         temperature=0.0).flatten(1)[:, 0]
            expected = t2v.guided_logits(cond, uncond, g).argmax(-1)
            assert torch.equal(sampled, expected), g
        # here the guided and the swapped (cond for uncond) choices differ, so a sampler
        # that swapped them would fail above
        assert not torch.equal(expected, t2v.guided_logits(uncond, cond, 3.0).argmax(-1))
        warm = [model.sample_codes(caps, torch.Generator().manual_seed(0), temperature=t)
                for t in (0.0, 5.0)]
    assert not torch.equal(*warm)                     # the temperature is used


def test_caption_segments_reach_the_text_encoder():
    from dataclasses import replace

    torch.manual_seed(5)
    # no self-attention in the caption encoder, so each word keeps its own segment
    seg = t2v.build(replace(t2v.PRESETS["tiny"], caption_segments=2, text_layers=0)).eval()
    assert seg.text.segment.num_embeddings == 2 and t2v.build("tiny").text.segment is None
    caps = ["a red circle moves left and a blue square rises"]
    before, _ = seg.encode_text(caps)
    with torch.no_grad():
        seg.text.segment.weight[1] += torch.randn(seg.text.segment.embedding_dim)  # segment 1
    after, _ = seg.encode_text(caps)
    changed = (after - before).abs().amax(-1)[0] > 1e-6
    assert not changed[:7].any() and changed[7:].all()


def test_the_caption_stage_teaches_the_encoder_to_bind_then_freezes_it():
    """tiny has a caption stage: a short run of it starts to make the encoder parse
    two-object captions (evaluation.caption_probe above the bag-of-words 50 %); the
    transformer stage then trains the video transformer only, and the encoder gets no
    gradient."""
    from dataclasses import replace

    from t2v_edu import data, evaluation, training

    torch.manual_seed(0)
    preset = replace(t2v.PRESETS["tiny"], text_dim=32, caption_lr=3e-3,   # learns faster
                     caption_keep_parsing=0.0)                              # frozen
    model = t2v.build(preset)
    names = [stage.name for stage in t2v.stages(model, preset)]
    assert names == ["tokenizer", "caption", "transformer"]
    assert [s.name for s in t2v.stages(t2v.build("cpu"), t2v.PRESETS["cpu"])] == \
        ["tokenizer", "transformer"]
    caption, transformer = t2v.stages(model, preset)[1:]
    assert not caption.uses_videos and caption.loss == model.parse_loss
    assert {id(p) for p in transformer.parameters} == {id(p) for p in model.video.parameters()}
    source = data.MovingShapes("train", num_frames=4, size=16, length=10**6, seed=3, spec="gpu")
    held_out = [source.describe(10**5 + i)[0] for i in range(256)]

    def parse_accuracy():
        with torch.no_grad():
            return float(model.parse_loss(None, held_out)[1]["parse_accuracy"])

    assert parse_accuracy() < 0.05
    optimizer = training.make_optimizer(caption, torch.device("cpu"))
    for step in range(200):   # about 10 s on one core (measured: 0.45 after, probe 76 / 41 %)
        captions = [source.describe(i)[0] for i in range(32 * step, 32 * step + 32)]
        training.train_step(caption, optimizer, None, captions)
    assert parse_accuracy() > 0.3
    probe = evaluation.caption_probe(model.encode_text, model.vocab, num_train=500,
                                     num_test=200)
    assert probe["own"] > 0.65 and probe["own"] > probe["other"] + 0.15
    model.zero_grad(set_to_none=True)
    before = [p.detach().clone() for p in model.text.parameters()]
    videos = torch.rand(2, preset.num_frames, 3, preset.size, preset.size)
    optimizer = training.make_optimizer(transformer, torch.device("cpu"))
    training.train_step(transformer, optimizer, videos, ["a red circle rises"] * 2)
    assert all(p.grad is None for p in model.text.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.text.parameters()))


def test_keep_parsing_trains_the_encoder_on_with_the_parse_loss():
    from dataclasses import replace

    preset = replace(t2v.PRESETS["tiny"], caption_keep_parsing=0.5)
    model = t2v.build(preset)
    assert not t2v.caption_frozen(preset)
    assert t2v.caption_frozen(replace(preset, caption_keep_parsing=0.0))
    transformer = t2v.stages(model, preset)[-1]
    trained = {id(p) for p in transformer.parameters}
    assert {id(p) for p in model.text.parameters()} <= trained
    assert {id(p) for p in model.parser.parameters()} <= trained
    videos = torch.rand(2, preset.num_frames, 3, preset.size, preset.size)
    captions = ["a red circle moves left and a blue square rises"] * 2
    torch.manual_seed(0)
    loss, metrics = model.transformer_loss(videos, captions)
    parse, _ = model.parse_loss(None, captions)
    assert "parse_accuracy" in metrics and "bits_per_token" in metrics
    bits = metrics["bits_per_token"] * torch.log(torch.tensor(2.0))
    torch.testing.assert_close(loss.detach(), bits + 0.5 * parse.detach())
    loss.backward()
    assert model.text.embed.weight.grad is not None and model.parser[0].weight.grad is not None


def test_one_encoder_pass_gives_what_two_passes_gave():
    """transformer_loss encodes the captions once for the code loss (dropped rows: the
    empty caption) and the parse loss: the same loss and gradients as encoding twice."""
    from dataclasses import replace

    preset = replace(t2v.PRESETS["tiny"], caption_keep_parsing=0.5, caption_dropout=0.5,
                     text_layers=2)
    torch.manual_seed(0)
    model = t2v.build(preset)
    videos = torch.rand(6, preset.num_frames, 3, preset.size, preset.size)
    captions = ["a red circle moves left and a blue square rises", "a green square grows",
                "the circle is red and it moves left", "a blue circle stays still",
                "a red square moves left", "a green circle rises and a red square falls"]
    torch.manual_seed(1)
    drop = torch.rand(6) < 0.5
    assert 0 < drop.sum() < 6                                     # both kinds of rows
    tokens, (context, mask) = model.shared_encoding(captions, drop)
    torch.testing.assert_close(tokens, model.encode_text(captions)[0])
    two_passes = model.encode_text(captions, drop)
    torch.testing.assert_close(mask, two_passes[1])
    torch.testing.assert_close(context[two_passes[1][:, 0]], two_passes[0][two_passes[1][:, 0]])

    def grads(loss):
        model.zero_grad()
        loss.backward()
        return [p.grad.clone() for p in model.text.parameters()]

    torch.manual_seed(1)
    one, _ = model.transformer_loss(videos, captions)
    codes = model.codes(videos)
    logits = model.code_logits(codes, captions, drop)
    code_loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), codes.flatten())
    two = code_loss + 0.5 * model.parse_loss(None, captions)[0]
    torch.testing.assert_close(one, two)
    for a, b in zip(grads(one), grads(two)):
        torch.testing.assert_close(a, b)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_nll_takes_videos_from_another_device(model):
    """binding_test draws its videos on the CPU; a model on the GPU must move them, not
    fail on a device mismatch (it did in the first GPU run of the binding test)."""
    import copy
    on_gpu = copy.deepcopy(model).to("cuda")
    videos = torch.rand(2, model.preset.num_frames, 3, model.preset.size, model.preset.size)
    caps = ["a red circle moves left", "a blue square rises"]
    torch.testing.assert_close(on_gpu.nll(videos, caps).cpu(), model.nll(videos, caps),
                               rtol=1e-3, atol=1e-2)


# -- plan, then draw (Preset.plan_slots) --------------------------------------------
TWO = "a blue square rises and a red circle moves left"


@pytest.fixture(scope="module")
def plan_model():
    from dataclasses import replace

    torch.manual_seed(0)
    return t2v.build(replace(t2v.PRESETS["tiny"], plan_slots=2)).eval()


def test_named_colors_in_caption_order_padded_and_refused_beyond_the_slots():
    from t2v_edu import data

    palette = list(data.PALETTE)
    got = t2v.named_colors([TWO, "the green triangle falls"], 2)
    assert got.tolist() == [[palette.index("blue"), palette.index("red")],
                            [palette.index("green"), -1]]
    with pytest.raises(ValueError, match="names 2 objects.*at most 1"):
        t2v.named_colors([TWO], 1)


def test_start_cells_are_the_cells_of_each_named_objects_first_frame_centre():
    """Rendered at known positions: red centre (0.3, 0.7), blue (0.8, 0.2) on a 4 x 4
    grid -> cells 2 * 4 + 1 = 9 and 0 * 4 + 3 = 3; an absent colour or an empty slot
    -> 16 ("no object"). The objects move, so only the first frame may count."""
    from t2v_edu import data

    attrs = [{"shape": "circle", "color": "red", "motion": "left"},
             {"shape": "square", "color": "blue", "motion": "up"}]
    geometry = [{"x": 0.3, "y": 0.7, "radius": 0.08, "travel": 0.25},
                {"x": 0.8, "y": 0.2, "radius": 0.08, "travel": 0.0}]
    video = data.render(attrs, num_frames=4, size=32, geometry=geometry)[None]
    captions = [TWO, "a green triangle falls"]
    cells = t2v.start_cells(video.expand(2, -1, -1, -1, -1),
                            t2v.named_colors(captions, 2), grid=4)
    assert cells.tolist() == [[3, 9], [16, 16]]
    # the last frame alone would put the red circle one column further left
    assert t2v.start_cells(video.flip(1), t2v.named_colors([TWO], 2), 4).tolist() == [[3, 8]]


def test_plan_sampling_is_cached_like_the_full_forward_and_follows_the_caption(plan_model):
    """As many planned cells as the caption names objects, then "no object", even when
    the plan head prefers "no object" everywhere (as an untrained one might)."""
    caps = [TWO, "a red circle moves left"]
    a = plan_model.sample_codes(caps, torch.Generator().manual_seed(3), return_plan=True)
    b = plan_model.sample_codes(caps, torch.Generator().manual_seed(3), use_cache=False,
                                return_plan=True)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    none = plan_model.video.plan_cells - 1
    with torch.no_grad():
        bias = plan_model.video.plan_head.bias
        saved = bias.clone()
        bias[none] += 50.0
        try:
            codes, plan = plan_model.sample_codes(caps, torch.Generator().manual_seed(4),
                                                  return_plan=True)
        finally:
            bias.copy_(saved)
    assert (plan[0] < none).all() and plan[1, 0] < none and plan[1, 1] == none
    assert codes.shape == (2, plan_model.video.num_frames, plan_model.video.grid,
                           plan_model.video.grid)


def test_plan_nll_and_loss_add_the_plans_cross_entropy_to_the_codes(plan_model):
    """nll = -sum log p(plan cell | caption) - sum log p(code | plan, caption), with the
    video's own plan; the training loss adds the two means; without a plan: refused."""
    torch.manual_seed(6)
    p = plan_model.preset
    videos = torch.rand(2, p.num_frames, 3, p.size, p.size)
    caps = [TWO, "a green triangle falls"]
    codes, plan = plan_model.codes(videos), plan_model.plan(videos, caps)
    with torch.no_grad():
        plan_logits, logits = plan_model.logits_given_context(
            codes, *plan_model.encode_text(caps), plan)
    plan_logp, logp = torch.log_softmax(plan_logits, -1), torch.log_softmax(logits, -1)
    manual = (-logp.gather(-1, codes[..., None])[..., 0].sum(1)
              - plan_logp.gather(-1, plan[..., None])[..., 0].sum(1))
    torch.testing.assert_close(plan_model.nll(videos, caps), manual)
    torch.testing.assert_close(plan_model.code_logits(codes, caps, plan=plan), logits)
    with pytest.raises(ValueError, match="give plan"):
        plan_model.code_logits(codes, caps)
    plan_model.train()
    try:
        loss, metrics = plan_model.transformer_loss(videos, caps)
    finally:
        plan_model.eval()
    assert torch.isfinite(loss) and metrics["plan_bits_per_token"] > 0
    loss.backward()
    assert plan_model.video.plan_head.weight.grad.abs().sum() > 0
    assert plan_model.video.plan_token.weight.grad.abs().sum() > 0
    plan_model.zero_grad()


def test_plan_weight_scales_the_plans_cross_entropy_in_the_loss(plan_model):
    """loss = mean CE of the codes + plan_weight * mean CE of the plan (no parse loss
    here); a negative weight: refused."""
    import math
    from dataclasses import replace

    torch.manual_seed(7)
    p = plan_model.preset
    videos = torch.rand(2, p.num_frames, 3, p.size, p.size)
    caps = [TWO, "a green triangle falls"]
    try:
        for weight in (0.0, 3.0):
            plan_model.preset = replace(p, plan_weight=weight, caption_keep_parsing=0.0)
            with torch.no_grad():
                loss, metrics = plan_model.transformer_loss(videos, caps)
            expected = (metrics["bits_per_token"] + weight * metrics["plan_bits_per_token"])
            torch.testing.assert_close(loss, expected * math.log(2))
    finally:
        plan_model.preset = p
    assert metrics["plan_bits_per_token"] > 0.1
    with pytest.raises(ValueError, match="plan_weight=-0.5 does not work: it must be >= 0"):
        t2v.build(replace(t2v.PRESETS["tiny"], plan_slots=2, plan_weight=-0.5))


def test_plan_slots_must_be_zero_or_cover_every_object_a_caption_can_name():
    from dataclasses import replace

    for slots in (-1, 1, 9):
        with pytest.raises(ValueError, match="use 0 .* or 2 to 8.*up to 2 objects"):
            t2v.build(replace(t2v.PRESETS["gpu"], plan_slots=slots))
    assert t2v.build(replace(t2v.PRESETS["gpu"], plan_slots=2)).video.length == 2 + 4 * 8 * 8


# ---------------------------------------------------------------------------------
# Bad input: a clear error that says what is accepted
# ---------------------------------------------------------------------------------
ONE = ["a red circle moves left"]


@pytest.mark.parametrize("call", [
    lambda m: m.nll(torch.rand(2, 4, 3, 16, 16), ONE),
    lambda m: m.code_logits(torch.zeros(2, 8, dtype=torch.long), ONE),
    lambda m: m.transformer_loss(torch.rand(2, 4, 3, 16, 16), ONE),
])
def test_one_caption_per_video_is_required(model, call):
    """One caption is not broadcast over two videos (or rows of codes)."""
    with pytest.raises(ValueError, match=r"1 caption\(s\) for 2 .*a list of 2 captions"):
        call(model)


@pytest.mark.parametrize("kwargs, accepted", [
    ({"top_k": -1}, "top_k must be a whole number >= 0"),
    ({"top_k": 1.5}, "top_k must be a whole number >= 0"),
    ({"top_k": True}, "top_k must be a whole number >= 0"),
    ({"temperature": float("nan")}, "temperature must be a finite number >= 0"),
    ({"temperature": float("inf")}, "temperature must be a finite number"),
    ({"guidance": float("nan")}, "guidance must be a finite number >= 0"),
    ({"guidance": -2.0}, "guidance must be a finite number >= 0"),
])
def test_sampling_parameters_are_checked(model, kwargs, accepted):
    with pytest.raises(ValueError, match=accepted):
        model.sample(ONE, **kwargs)


@pytest.mark.parametrize("call, accepted", [
    (lambda L: t2v.filter_logits(L, float("nan")), "temperature must be a finite number > 0"),
    (lambda L: t2v.filter_logits(L, float("inf")), "temperature must be a finite number > 0"),
    (lambda L: t2v.filter_logits(L, 1.0, -1), r"top_k must be a whole number >= 0 \(0: keep all"),
    (lambda L: t2v.filter_logits(L, 1.0, 2.5), "top_k must be a whole number >= 0"),
    (lambda L: t2v.sample_logits(L, 0, -1), "top_k must be a whole number >= 0"),
    (lambda L: t2v.guided_logits(L, L, float("nan")), "guidance must be a finite number >= 0"),
    (lambda L: t2v.guided_logits(L, L[:1], 2.0), r"cond \(2, 6\) and uncond \(1, 6\) must "
                                                 "have the same shape"),
])
def test_sampling_formulas_check_their_inputs(call, accepted):
    with pytest.raises(ValueError, match=accepted):
        call(torch.randn(2, 6))


def test_sampling_formulas_still_take_the_notebooks_cases():
    logits = torch.randn(2, 6)
    for top_k in (0, 6, 9):       # 0 and top_k >= V keep every entry
        torch.testing.assert_close(t2v.filter_logits(logits, 0.5, top_k), logits * 2)
    assert torch.equal(t2v.sample_logits(logits, 0), logits.argmax(-1))   # 0: greedy
    torch.testing.assert_close(t2v.guided_logits(logits, logits.flip(0), 0.0), logits.flip(0))


def test_preset_top_k_must_be_an_int():
    with pytest.raises(ValueError, match=r"top_k must be a whole number >= 0.*got 2\.5"):
        t2v.Preset(top_k=2.5)


@pytest.mark.parametrize("digit_logits, error, accepted", [
    (torch.randn(4, 8), TypeError, r"a list of tensors, one per digit, got one tensor: wrap"),
    ([], TypeError, r"a non-empty list of tensors \[\.\.\., L_k\]"),
    ([torch.randn(2, 3), 1.0], TypeError, "a non-empty list of tensors"),
    ([torch.randn(2, 3), torch.randn(3, 3)], ValueError, "must share their leading dimensions"),
])
def test_code_logits_from_digits_checks_its_list(digit_logits, error, accepted):
    with pytest.raises(error, match=accepted):
        t2v.code_logits_from_digits(digit_logits)
    one = torch.randn(7)                                           # the notebook's case
    assert torch.equal(t2v.code_logits_from_digits([one]), one)


def test_reconstruct_refuses_uint8_frames(model):
    frames = torch.randint(0, 256, (1, 4, 3, 16, 16), dtype=torch.uint8)
    with pytest.raises(TypeError, match=r"float in \[0, 1\].*uint8 frames: convert with "
                                        r"videos?\.float\(\) / 255"):
        model.reconstruct(frames)
