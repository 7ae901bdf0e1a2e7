"""t2v-edu train: registry, schedule, resume determinism, time budget, DDP, CLI."""
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from t2v_edu import checkpoint, data, flow, seed_model, t2v, training
from t2v_edu.training import TrainConfig, train


def tiny(out, **kw):
    return TrainConfig(model="classic", preset="tiny", out=str(out), progress=False,
                       sample_every=0, **kw)


def weights(path):
    return checkpoint.load_checkpoint(path)["state_dict"]


def test_learning_rate_warmup_and_cosine():
    assert training.learning_rate(1.0, 0, 10, 0.0) == pytest.approx(0.1)
    assert training.learning_rate(1.0, 50, 10, 0.0) == pytest.approx(1.0)
    assert training.learning_rate(1.0, 50, 10, 0.5) == pytest.approx(0.1 + 0.9 * 0.5)
    assert training.learning_rate(1.0, 50, 10, 1.0) == pytest.approx(0.1)


def test_unknown_model_and_preset():
    with pytest.raises(ValueError, match="unknown; use one of"):
        training.model_module("nope")
    with pytest.raises(ValueError, match="preset 'huge' is unknown"):
        training.get_preset(t2v, "huge")


def test_train_writes_weights_log_and_card_data(tmp_path):
    result = train(tiny(tmp_path / "run", steps=3, log_every=1))
    out = result.out
    for name in ("model.pt", "model.pt.sha256", "model.json", "metrics.jsonl"):
        assert (out / name).is_file(), name
    model, preset, meta = training.load_model(out / "model.pt")
    assert preset == t2v.PRESETS["tiny"]
    assert meta["stage_steps"] == {"tokenizer": 3, "caption": 3, "transformer": 3}
    assert meta["videos_seen"] == 3 * 4 + 3 * 4          # the caption stage draws no videos
    assert meta["tflops_per_second"] > 0
    log = training.read_log(out)
    assert [r["stage"] for r in log] == ["tokenizer"] * 3 + ["caption"] * 3 + ["transformer"] * 3
    caption = training.read_log(out, "caption")
    assert [r["step"] for r in caption] == [1, 2, 3] and "parse_accuracy" in caption[0]
    with pytest.raises(ValueError, match=r"no records of stage 'vae'; it has \['tokenizer', "
                                         r"'caption', 'transformer'\]"):
        training.read_log(out, "vae")
    with pytest.raises(FileNotFoundError, match="pass the `out` folder of a training run"):
        training.read_log(tmp_path)
    with pytest.raises(ValueError, match=r"holds model 'classic'.*\(t2v-edu's --model classic\)"):
        training.load_model(out / "model.pt", expected_model="modern")


def test_resume_after_a_kill_reaches_the_same_weights(tmp_path, monkeypatch):
    straight = train(tiny(tmp_path / "straight", steps=4, save_every=2)).out

    real_stages = t2v.stages
    calls = {"n": 0}

    def stages_that_die(model, preset):
        out = real_stages(model, preset)
        loss = out[1].loss

        def dying_loss(videos, captions):
            calls["n"] += 1
            if calls["n"] == 4:  # step 3 of the transformer; saved at step 2
                raise KeyboardInterrupt("killed")
            return loss(videos, captions)
        out[1].loss = dying_loss
        return out

    monkeypatch.setattr(t2v, "stages", stages_that_die)
    with pytest.raises(KeyboardInterrupt):
        train(tiny(tmp_path / "killed", steps=4, save_every=2))
    assert not (tmp_path / "killed" / "model.pt").exists()
    monkeypatch.setattr(t2v, "stages", real_stages)
    resumed = train(tiny(tmp_path / "killed", steps=4, save_every=2, resume=True)).out
    a, b = weights(straight / "model.pt"), weights(resumed / "model.pt")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    steps = [(r["stage_index"], r["step"]) for r in
             map(json.loads, (resumed / "metrics.jsonl").read_text().splitlines())]
    assert len(steps) == len(set(steps))  # the log has no repeated steps


def test_truncate_log_drops_a_half_written_last_line(tmp_path):
    log = tmp_path / "metrics.jsonl"
    records = [{"stage_index": 0, "step": 1}, {"stage_index": 0, "step": 2},
               {"stage_index": 1, "step": 1}]
    log.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"stage": "tok')
    training._truncate_log(log, {"stage": 0, "step": 2})
    assert [json.loads(line) for line in log.read_text().splitlines()] == records[:2]


def test_each_step_runs_at_the_scheduled_learning_rate(tmp_path, monkeypatch):
    """The optimizer's lr at each step is the schedule's (warm-up, cosine), the one the
    log records; not the stage's base lr throughout."""
    seen = []
    real_step = training.train_step

    def recording(stage, optimizer, *args, **kwargs):
        seen.append((stage.name, optimizer.param_groups[0]["lr"]))
        return real_step(stage, optimizer, *args, **kwargs)

    monkeypatch.setattr(training, "train_step", recording)
    out = train(tiny(tmp_path / "lr", steps=6, log_every=1)).out
    assert seen == [(r["stage"], r["lr"]) for r in training.read_log(out)]
    transformer = [lr for name, lr in seen if name == "transformer"]
    assert len(set(transformer)) == 6 and max(transformer) <= t2v.PRESETS["tiny"].transformer_lr


def test_read_log_skips_a_half_written_last_line(tmp_path):
    records = [{"stage": "tokenizer", "stage_index": 0, "step": 1},
               {"stage": "transformer", "stage_index": 1, "step": 1}]
    (tmp_path / "metrics.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records) + '{"stage": "trans')  # disk full
    assert training.read_log(tmp_path) == records
    assert training.read_log(tmp_path, "transformer") == records[1:]
    assert training.read_log(tmp_path / "metrics.jsonl") == records   # the file itself


def test_a_fresh_run_does_not_replace_a_run_in_its_out_folder(tmp_path):
    out = train(tiny(tmp_path / "run", steps=2)).out
    weights = (out / "model.pt").read_bytes()
    for resumable in (False, True):      # a finished run; one killed after a save
        if resumable:
            (out / "train_state.pt").write_bytes(b"state")
        with pytest.raises(ValueError, match=r"run already holds a run \((train_state.pt, )?"
                                             r"model.pt\): continue it with --resume, train "
                                             r"into another --out, or pass --overwrite"):
            train(tiny(out, steps=3))
        assert (out / "model.pt").read_bytes() == weights
    (out / "train_state.pt").unlink()
    # --resume with weights but no state to resume from: a new run, so refused too
    with pytest.raises(ValueError, match=r"holds model.pt but no train_state.pt: there is "
                                         r"nothing to resume.*--overwrite"):
        train(tiny(out, steps=3, resume=True))
    assert (out / "model.pt").read_bytes() == weights
    train(tiny(out, steps=3, log_every=1, overwrite=True))
    # a fresh log: the earlier run's 2 steps per stage are not mixed with these 3
    assert [r["step"] for r in training.read_log(out, "tokenizer")] == [1, 2, 3]


def test_truncate_log_names_a_corrupt_line_in_the_middle(tmp_path):
    log = tmp_path / "metrics.jsonl"
    log.write_text('{"stage_index": 0, "step": 1}\n{"stage_ind\n{"stage_index": 0, "step": 2}\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl, line 2, is not a JSON record"):
        training._truncate_log(log, {"stage": 0, "step": 2})


def test_resume_after_a_kill_mid_log_line(tmp_path):
    out = train(tiny(tmp_path / "cut", steps=2)).out
    complete = (out / "metrics.jsonl").read_text()
    assert [json.loads(line)["stage_index"] for line in complete.splitlines()] == [0, 1, 2]
    with open(out / "metrics.jsonl", "a") as f:
        f.write('{"stage": "transformer", "stage_ind')  # killed while appending
    train(tiny(tmp_path / "cut", steps=2, resume=True))
    # the half-written line is gone; every complete record is kept, none repeated
    assert (out / "metrics.jsonl").read_text() == complete


def test_resume_before_the_first_save_starts_the_log_again(tmp_path):
    out = tmp_path / "early"
    out.mkdir()
    (out / "metrics.jsonl").write_text('{"stage": "tokenizer", "stage_index": 0, "step": 1}\n'
                                       '{"stage": "tokeni')  # killed before any save
    train(tiny(out, steps=2, resume=True))
    steps = [(r["stage_index"], r["step"]) for r in
             map(json.loads, (out / "metrics.jsonl").read_text().splitlines())]
    assert steps == [(0, 1), (1, 1), (2, 1)]  # log_every 10: step 1 of each stage, once


def test_resume_refuses_another_run(tmp_path):
    train(tiny(tmp_path / "r", steps=1))
    with pytest.raises(ValueError, match="start a new --out") as info:
        train(tiny(tmp_path / "r", steps=1, resume=True, seed=5))
    # the way out is named: the settings the run was started with
    assert "resume it with --model classic --preset tiny --seed 0" in str(info.value)


def test_init_from_continues_the_later_stage_only(tmp_path):
    first = train(tiny(tmp_path / "first", steps=2)).out
    before = weights(first / "model.pt")
    result = train(tiny(tmp_path / "more", steps=3, seed=1, init_from=str(first / "model.pt"),
                        from_stage="transformer"))
    after = weights(result.out / "model.pt")
    assert result.meta["stage_steps"] == {"transformer": 3}      # the tokenizer is skipped
    tokenizer = [k for k in before if k.startswith("tokenizer.")]
    video = [k for k in before if k.startswith("video.") and before[k].is_floating_point()]
    assert tokenizer and video
    assert all(torch.equal(before[k], after[k]) for k in tokenizer)
    assert any(not torch.equal(before[k], after[k]) for k in video)
    earlier = result.meta["continued_from"]
    assert earlier["sha256"] == (first / "model.pt.sha256").read_text().strip()
    assert earlier["stage_steps"] == {"tokenizer": 2, "caption": 2, "transformer": 2}
    assert earlier["tflop"] > 0      # the earlier run's compute, for comparison.training_note
    card = training.model_card(result.meta)
    assert (f"continued from | `--init-from` the weights `{earlier['sha256'][:12]}…` "
            "(tokenizer: 2, caption: 2, transformer: 2;") in card
    total = round(earlier["train_seconds"] + result.meta["train_seconds"], 1)
    assert "trained again from stage transformer: " in card and f"{total} s in all" in card


def test_init_from_without_from_stage_trains_every_stage_from_the_weights(tmp_path):
    first = train(tiny(tmp_path / "first", steps=2)).out
    result = train(tiny(tmp_path / "more", steps=1, init_from=str(first / "model.pt")))
    assert result.meta["stage_steps"] == {"tokenizer": 1, "caption": 1, "transformer": 1}


def test_init_from_a_checkpoint_from_before_the_caption_parser(tmp_path):
    """Weights a model added later (t2v.ADDED_LATER: the caption parser, a plan) start
    fresh; any other missing or extra weight is refused with a clear message."""
    first = train(tiny(tmp_path / "first", steps=1)).out
    state = checkpoint.load_checkpoint(first / "model.pt")
    old = {k: v for k, v in state["state_dict"].items() if not k.startswith("parser.")}
    assert len(old) < len(state["state_dict"])
    checkpoint.save_checkpoint(tmp_path / "old.pt", {**state, "state_dict": old})
    result = train(tiny(tmp_path / "more", steps=1, init_from=str(tmp_path / "old.pt"),
                        from_stage="caption"))
    assert result.meta["stage_steps"] == {"caption": 1, "transformer": 1}
    after = weights(result.out / "model.pt")
    assert all(torch.equal(old[k], after[k]) for k in old if k.startswith("tokenizer."))
    # a model without a plan (the shipped classic_gpu.pt) starts one with a plan
    planned = train(tiny(tmp_path / "planned", steps=1, init_from=str(first / "model.pt"),
                         from_stage="transformer", settings=("plan_slots=2",)))
    after = weights(planned.out / "model.pt")
    assert "video.plan_head.weight" in after and "video.plan_head.weight" not in old
    assert planned.meta["stage_steps"] == {"transformer": 1}
    assert all(torch.equal(old[k], after[k]) for k in old if k.startswith("tokenizer."))
    broken = {k: v for k, v in old.items() if not k.startswith("video.head")}
    checkpoint.save_checkpoint(tmp_path / "broken.pt", {**state, "state_dict": broken})
    with pytest.raises(ValueError, match=r"does not fit this preset's model: \d+ weights "
                                         r"differ, e.g. \['video.head"):
        train(tiny(tmp_path / "x", steps=1, init_from=str(tmp_path / "broken.pt")))


def test_init_from_refuses_other_models_stages_and_a_missing_checkpoint(tmp_path):
    first = train(tiny(tmp_path / "first", steps=1)).out
    with pytest.raises(ValueError, match="give init_from"):
        tiny(tmp_path / "x", from_stage="transformer")
    with pytest.raises(ValueError, match="its stages, in order: tokenizer, caption, transformer"):
        train(tiny(tmp_path / "x", steps=1, init_from=str(first / "model.pt"),
                   from_stage="decoder"))
    with pytest.raises(ValueError, match=r"holds model 'classic', preset 'tiny'; it can start "
                                         r"only --model classic --preset tiny"):
        train(TrainConfig(model="classic", preset="cpu", out=str(tmp_path / "y"), steps=1,
                          progress=False, sample_every=0, init_from=str(first / "model.pt")))
    with pytest.raises(FileNotFoundError):
        train(tiny(tmp_path / "z", steps=1, init_from=str(tmp_path / "missing.pt")))


@pytest.mark.parametrize("field, value, message", [
    ("steps", 0, "steps (--steps) must be positive, got 0"),
    ("steps", -5, "steps (--steps) must be positive, got -5"),
    ("time_budget", -1.0, "time_budget (--time-budget, minutes) must be positive"),
    ("save_every", 0, "save_every (--save-every) must be positive"),
    ("sample_every", -1, "sample_every (--sample-every) must be >= 0"),
])
def test_numbers_that_would_train_nothing_are_refused(tmp_path, field, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainConfig(model="classic", preset="tiny", out=str(tmp_path / "bad"), **{field: value})
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("field, value, message", [
    ("steps", "10", "steps (--steps) must be a whole number, got str '10'"),
    ("steps", 2.5, "steps (--steps) must be a whole number, got float 2.5"),
    ("batch_size", True, "batch_size (--batch-size) must be a whole number, got bool"),
    ("time_budget", "8", "time_budget (--time-budget, minutes) must be a number, got str"),
    ("settings", "embed_dim=8", "settings must be a tuple of NAME=VALUE strings, e.g. "
                                "('embed_dim=8',), not one string"),
])
def test_values_of_the_wrong_type_are_named(tmp_path, field, value, message):
    with pytest.raises(TypeError, match=re.escape(message)):
        TrainConfig(model="classic", preset="tiny", out=str(tmp_path / "bad"), **{field: value})
    TrainConfig(model="classic", preset="tiny", time_budget=1)   # minutes: an int is fine


def test_cli_refuses_zero_steps_with_a_clear_error(tmp_path, capsys):
    from t2v_edu.cli import main

    assert main(["train", "--model", "classic", "--preset", "tiny", "--steps", "0",
                 "--out", str(tmp_path / "zero")]) == 2
    assert "steps (--steps) must be positive, got 0" in capsys.readouterr().err


def test_time_budget_stops_cleanly_and_saves(tmp_path):
    result = train(tiny(tmp_path / "budget", steps=10**6, time_budget=0.05))  # 3 s
    meta = result.meta
    assert (result.out / "model.pt").is_file()
    assert 0 < meta["stage_steps"]["tokenizer"] < 10**6
    assert 0 < meta["stage_steps"]["transformer"] < 10**6
    assert meta["train_seconds"] < 3 + 5  # the budget plus at most a slow last step


def test_cli_train(tmp_path, capsys):
    from t2v_edu.cli import main

    assert main(["train", "--preset", "tiny", "--steps", "2", "--out", str(tmp_path / "c"),
                 "--no-progress", "--sample-every", "0", "--batch-size", "2"]) == 0
    assert "videos/s" in capsys.readouterr().out
    assert json.loads((tmp_path / "c" / "model.json").read_text())["videos_seen"] == 2 * 2 * 2
    assert main(["train", "--model", "nope", "--out", str(tmp_path / "x")]) == 2


def test_ddp_two_processes_gloo(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", T2V_THREADS="1", T2V_DEVICE="cpu")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", "29517", "-m", "t2v_edu.cli", "train", "--preset", "tiny",
           "--steps", "2", "--out", str(tmp_path / "ddp"), "--no-progress",
           "--sample-every", "0"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    meta = json.loads((tmp_path / "ddp" / "model.json").read_text())
    assert meta["processes"] == 2
    assert meta["videos_seen"] == 2 * 4 + 2 * 4  # the global batch, split in two
    training.load_model(tmp_path / "ddp" / "model.pt")


def _average_in_two_processes(rank: int, rendezvous: str, results: str) -> None:
    """One of two gloo processes: gradients rank + 1 and 10 * (rank + 1), averaged."""
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank,
                            world_size=2)
    params = [torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(2, 2))]
    params[0].grad = torch.full((3,), rank + 1.0)
    params[1].grad = torch.full((2, 2), 10.0 * (rank + 1))
    training.average_gradients(params, training.Distributed(rank=rank, world=2))
    torch.save([p.grad for p in params], f"{results}.{rank}")
    dist.destroy_process_group()


def test_average_gradients_gives_every_process_the_mean(tmp_path):
    """What DDP does: after the all-reduce each process holds the mean gradient."""
    torch.multiprocessing.spawn(_average_in_two_processes, nprocs=2,
                                args=(str(tmp_path / "rendezvous"), str(tmp_path / "grads")))
    for rank in (0, 1):
        first, second = torch.load(tmp_path / f"grads.{rank}", weights_only=True)
        assert torch.equal(first, torch.full((3,), 1.5))
        assert torch.equal(second, torch.full((2, 2), 15.0))


def test_batch_source_workers_give_the_same_batches():
    preset = t2v.PRESETS["tiny"]
    plain = training.BatchSource(preset, 0, torch.device("cpu"), training.Distributed(), 0)
    pooled = training.BatchSource(preset, 0, torch.device("cpu"), training.Distributed(), 2)
    for (va, ca), (vb, cb) in zip(plain.batches(1, 5, 8, 4), pooled.batches(1, 5, 8, 4)):
        assert ca == cb and torch.equal(va, vb)
    v, c = plain.batch(1, 7, 4)
    assert v.shape == (4, 4, 3, 16, 16) and len(c) == 4
    # a captions-only stage (the caption stage) gets the same captions, no videos
    assert list(plain.batches(1, 7, 8, 4, videos=False)) == [(None, c)]
    assert list(pooled.batches(1, 7, 8, 4, videos=False)) == [(None, c)]
    half = training.BatchSource(preset, 0, torch.device("cpu"), training.Distributed(1, 2), 0)
    assert half.indices(1, 7, 4) == plain.indices(1, 7, 4)[2:]  # rank 1 takes the second half


def test_data_workers_scale_with_the_cores_on_cuda_only():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    one, four = training.Distributed(), training.Distributed(0, 4)
    assert training.data_workers(cpu, one, cpu_count=16) == 0   # the cores train
    assert training.data_workers(cuda, one, cpu_count=16) == 8
    assert training.data_workers(cuda, one, cpu_count=64) == 8   # at most 8
    assert training.data_workers(cuda, one, cpu_count=6) == 3
    assert training.data_workers(cuda, four, cpu_count=16) == 2  # shared by 4 processes
    assert training.data_workers(cuda, four, cpu_count=2) == 1   # at least 1


def test_data_workers_from_the_environment(monkeypatch):
    cuda, one = torch.device("cuda"), training.Distributed()
    monkeypatch.setenv("T2V_DATA_WORKERS", "5")
    assert training.data_workers(cuda, one, cpu_count=16) == 5
    assert training.data_workers(torch.device("cpu"), one) == 0
    monkeypatch.setenv("T2V_DATA_WORKERS", "many")
    with pytest.raises(ValueError, match="T2V_DATA_WORKERS must be a whole number"):
        training.data_workers(cuda, one)


def test_learning_rate_final_fraction():
    assert training.learning_rate(2.0, 50, 10, 1.0, final_fraction=0.0) == pytest.approx(0.0)
    assert training.learning_rate(2.0, 50, 10, 0.5, final_fraction=0.0) == pytest.approx(1.0)


@pytest.mark.parametrize("name", training.available_models())
def test_every_preset_saves_a_checkpoint_under_15_mb(name):
    """The GPU run ships model.pt files of at most 15 MB (issue #9): serialise each
    preset's freshly built model exactly as training saves it and weigh the bytes."""
    import io

    module = training.model_module(name)
    for preset_name, preset in module.PRESETS.items():
        model = module.build(preset)
        buffer = io.BytesIO()
        torch.save(training.model_state(name, preset_name, preset, model, {}), buffer)
        megabytes = buffer.tell() / 1e6
        assert megabytes <= 15, f"{name} preset {preset_name}: model.pt is {megabytes:.1f} MB"


def test_ship_model_writes_the_verified_bytes_atomically(tmp_path, monkeypatch):
    """benchmarks/ship_model.py: the shipped file and its digest come from the checked
    source, written atomically (never a plain copy that a kill can leave half-done)."""
    import importlib.util
    import shutil

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "ship_model.py"
    spec = importlib.util.spec_from_file_location("ship_model_under_test", path)
    ship = importlib.util.module_from_spec(spec)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script adds benchmarks/ to it
    spec.loader.exec_module(ship)
    source = train(tiny(tmp_path / "run", steps=1)).out / "model.pt"

    def no_copy(*args, **kwargs):
        raise AssertionError("shutil.copyfile is not atomic")

    monkeypatch.setattr(shutil, "copyfile", no_copy)
    monkeypatch.setattr(ship, "evaluate_checkpoint", lambda *args: {"kind": "generator"})
    monkeypatch.setattr(ship, "model_card", lambda *args: "card")
    weights_dir = tmp_path / "weights"
    monkeypatch.setattr(sys, "argv", ["ship_model.py", "classic", "tiny", str(source),
                                      "--weights", str(weights_dir), "--device", "cpu"])
    target = weights_dir / "classic_tiny.pt"
    weights_dir.mkdir()
    target.write_bytes(b"the previous weights")
    def killed(fd):
        raise OSError("killed")                           # before the file is complete

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", killed)
        with pytest.raises(OSError, match="killed"):
            ship.main()
    assert target.read_bytes() == b"the previous weights"
    assert [p.name for p in weights_dir.iterdir()] == ["classic_tiny.pt"]
    ship.main()
    assert target.read_bytes() == source.read_bytes()
    assert (weights_dir / "classic_tiny.pt.sha256").read_text().strip() == \
        (source.parent / "model.pt.sha256").read_text().strip()
    assert not [p for p in weights_dir.iterdir() if p.name.endswith(".tmp")]
    # the bytes shipped are the bytes checked: a changed source is refused, nothing shipped
    with open(source, "ab") as f:
        f.write(b"\0")
    target.unlink()
    with pytest.raises(ValueError, match="SHA-256"):
        ship.main()
    assert not target.exists()


def test_training_api_has_return_types():
    import inspect

    for fn in (training.load_model, training.lookup_preset, training.get_preset):
        assert inspect.signature(fn).return_annotation is not inspect.Signature.empty, fn


def test_train_step_moves_the_weights_and_prepared_batches_are_cpu_tensors():
    preset = t2v.PRESETS["tiny"]
    model = t2v.build(preset)
    stage = t2v.stages(model, preset)[-1]
    source = training.BatchSource(preset, 0, torch.device("cpu"), training.Distributed(), 0)
    captions, layout = source.prepare(1, 0, 4)
    assert len(captions) == 4 and all(t.device.type == "cpu" for t in layout)
    optimizer = training.make_optimizer(stage, torch.device("cpu"))
    before = [p.detach().clone() for p in model.video.parameters()]
    loss, metrics = training.train_step(stage, optimizer, *source.render((captions, layout)))
    assert torch.isfinite(loss) and "bits_per_token" in metrics
    assert any(not torch.equal(b, p) for b, p in zip(before, model.video.parameters()))
    frozen = [p.detach().clone() for p in model.tokenizer.parameters()]
    training.train_step(stage, optimizer, *source.batch(1, 1, 4))
    # the transformer stage trains the transformer, not the tokenizer
    assert all(torch.equal(a, b) for a, b in zip(frozen, model.tokenizer.parameters()))


def test_the_fused_cpu_optimizer_takes_the_same_steps_as_plain_adamw():
    """make_optimizer uses the fused AdamW on the CPU (one call for all tensors): three
    steps of it must match torch's per-tensor AdamW with the same settings."""
    preset = t2v.PRESETS["tiny"]
    torch.manual_seed(0)
    model = t2v.build(preset)
    stage = t2v.stages(model, preset)[-1]
    fused = training.make_optimizer(stage, torch.device("cpu"))
    assert fused.defaults["fused"] is True
    start = [p.detach().clone() for p in stage.parameters]
    copies = [p.detach().clone().requires_grad_(p.requires_grad) for p in stage.parameters]
    plain = torch.optim.AdamW([c for c in copies if c.requires_grad], lr=stage.lr,
                              betas=stage.betas, weight_decay=stage.weight_decay,
                              foreach=False)
    g = torch.Generator().manual_seed(1)
    for _ in range(3):
        for p, c in zip(stage.parameters, copies):
            p.grad = torch.randn(p.shape, generator=g)
            c.grad = p.grad.clone()
        fused.step()
        plain.step()
    for p, c, first in zip(stage.parameters, copies, start):
        assert not torch.equal(p.detach(), first)
        torch.testing.assert_close(p.detach(), c.detach(), rtol=1e-5, atol=1e-6)


def test_batch_size_option_sets_every_stage_and_is_kept_on_resume(tmp_path):
    result = train(tiny(tmp_path / "b", steps=2, batch_size=6))
    assert result.meta["stage_batch"] == {"tokenizer": 6, "caption": 6, "transformer": 6}
    assert result.meta["videos_seen"] == 2 * 6 + 2 * 6
    card = training.model_card(result.meta)
    assert "--batch-size 6" in card
    assert "| videos per step | tokenizer: 6, caption: 6, transformer: 6 |" in card
    with pytest.raises(ValueError, match="resume it with --batch-size 6"):
        train(tiny(tmp_path / "b", steps=2, batch_size=8, resume=True))
    with pytest.raises(ValueError, match="batch_size .* must be positive"):
        tiny(tmp_path / "c", steps=1, batch_size=0)
    plain = train(tiny(tmp_path / "p", steps=1)).meta
    assert plain["stage_batch"] == {"tokenizer": 4, "caption": 4, "transformer": 4}
    assert "--batch-size" not in training.model_card(plain)


def test_apply_settings_changes_fields_with_their_types():
    gpu = t2v.PRESETS["gpu"]
    changed = training.apply_settings(gpu, ["embed_dim=128", "temperature=1", "bf16=False",
                                            "hidden=(8, 16)", "two_object_prob=0.6",
                                            "data_spec=cpu"])
    assert (changed.embed_dim, changed.temperature, changed.bf16, changed.hidden,
            changed.two_object_prob, changed.data_spec) == (128, 1.0, False, (8, 16), 0.6, "cpu")
    assert isinstance(changed.temperature, float)
    assert training.apply_settings(gpu, []) == gpu
    assert training.apply_settings(changed, ["two_object_prob=None"]).two_object_prob is None


@pytest.mark.parametrize("item, message", [
    ("embed_dim", "write NAME=VALUE"),
    ("embdim=64", "no field 'embdim'; its fields: data_spec"),
    ("embed_dim=1.5", "embed_dim takes a whole number \\(the preset has 256\\)"),
    ("embed_dim=True", "embed_dim takes a whole number"),
    ("bf16=1", "bf16 takes True or False"),
    ("hidden=3", "hidden takes a tuple like \\(32, 64\\)"),
    ("two_object_prob=many", "two_object_prob takes a number or None"),
])
def test_apply_settings_names_what_is_wrong(item, message):
    with pytest.raises(ValueError, match=message):
        training.apply_settings(t2v.PRESETS["gpu"], [item])


@pytest.mark.parametrize("module, item, message", [
    (t2v, "embed_dim=0", "embed_dim=0 does not work: it must be > 0"),
    (t2v, "transformer_steps=0", "transformer_steps=0 does not work: it must be > 0"),
    (t2v, "tokenizer_lr=-0.001", "tokenizer_lr=-0.001 does not work: it must be > 0"),
    (t2v, "hidden=(32, 0)", r"hidden=\(32, 0\) does not work: it must be > 0 \(one or more"),
    (t2v, "plan_weight=-1.0", "plan_weight=-1.0 does not work: it must be >= 0"),
    (t2v, "caption_dropout=1.5", "caption_dropout=1.5 does not work: it must be between 0 "),
    (t2v, "levels=(0, 5)", r"levels=\(0, 5\) does not work: FSQ needs .* 2 or more levels"),
    (t2v, "levels=()", r"levels=\(\) does not work"),
    (t2v, "frames_per_token=3", "num_frames=16 is not divisible by frames_per_token=3"),
    (t2v, "num_heads=3", "embed_dim=256 is not divisible by num_heads=3"),
    (t2v, "text_dim=30", "text_dim=30 is not divisible by TEXT_HEADS=4"),
    (t2v, "storage_dtype=int8", r"storage_dtype='int8' is unknown; use one of \('float32'"),
    (flow, "frame_patch=3", "num_frames=16 is not divisible by frame_patch=3"),
    (flow, "text_dim=30", "text_dim=30 is not divisible by TEXT_HEADS=4"),
    (flow, "vae_share=2.0", "vae_share=2.0 does not work: it must be between 0 and 1"),
    (flow, "guidance_sweep=(1.0, -2.0)", "guidance_sweep=.* it must be >= 0"),
    (flow, "time_sampling=cosine", "time_sampling 'cosine' is unknown; use one of "),
    (seed_model, "steps=0", "steps=0 does not work: it must be > 0"),
    (seed_model, "betas=(0.5, 1.5)", "betas=.* it must be between 0 and 1"),
])
def test_presets_refuse_values_that_cannot_train(module, item, message):
    """A bad --set (or dataclasses.replace) fails at once, naming the field, instead of
    deep in torch (a ZeroDivisionError, a shape error) or training nonsense."""
    with pytest.raises(ValueError, match=f"--set {re.escape(item)}: {message}"):
        training.apply_settings(module.PRESETS["gpu"], [item])


def test_presets_accept_the_edges_of_their_ranges():
    cpu = t2v.PRESETS["cpu"]
    edges = training.apply_settings(cpu, ["text_layers=0", "text_dim=30", "temperature=0",
                                          "caption_dropout=0", "plan_weight=0", "top_k=0",
                                          "caption_parse_steps=0", "tokenizer_share=1"])
    assert (edges.text_dim, edges.temperature, edges.tokenizer_share) == (30, 0.0, 1.0)
    assert training.apply_settings(flow.PRESETS["cpu"], ["notebook_minutes=None"])
    with pytest.raises(ValueError, match="embed_dim=0 does not work"):  # in Python too
        replace(cpu, embed_dim=0)


def test_two_object_prob_changes_the_training_videos_only():
    gpu = t2v.PRESETS["gpu"]
    assert training.training_spec(gpu).two_object_prob == 0.6          # the preset's
    spec_share = training.apply_settings(gpu, ["two_object_prob=None"])
    assert training.training_spec(spec_share) == data.get_spec("gpu")  # the spec's 30 %
    more = training.apply_settings(gpu, ["two_object_prob=0.9"])
    spec = training.training_spec(more)
    assert spec.two_object_prob == 0.9
    assert data.heldout_triples(spec) == data.heldout_triples("gpu")  # same held-out split
    source = training.BatchSource(more, 0, torch.device("cpu"), training.Distributed(), 0)
    objects = [len(source.dataset.describe(i)[1]) for i in range(400)]
    assert 0.83 < objects.count(2) / 400 < 0.97
    with pytest.raises(ValueError, match="needs a data spec with two objects"):
        training.training_spec(training.apply_settings(t2v.PRESETS["cpu"],
                                                       ["two_object_prob=0.5"]))
    with pytest.raises(ValueError, match="two_object_prob=1.5: two_object_prob=1.5 does not "
                                         "work: it must be between 0 and 1"):
        training.apply_settings(gpu, ["two_object_prob=1.5"])
    # the model card says which share trained it (the shipped gpu model: 60 %; a
    # checkpoint from before the setting existed: nothing)
    meta = json.loads((Path(training.__file__).parent / "weights" / "classic_gpu.json")
                      .read_text())["meta"]
    card = training.model_card(meta)
    assert "up to 2 object(s) (60 % of the training captions name two);" in card
    older = {k: v for k, v in meta.items() if k != "two_object_share"}
    assert "name two" not in training.model_card(older)
    assert "(30 % of the training captions name two)" in training.model_card(
        dict(meta, two_object_share=0.3))


def test_set_option_trains_the_changed_preset_and_is_kept_on_resume(tmp_path, capsys):
    from t2v_edu.cli import main

    out = tmp_path / "s"
    args = ["train", "--preset", "tiny", "--steps", "2", "--out", str(out), "--no-progress",
            "--sample-every", "0", "--set", "embed_dim=16", "--set", "temperature=0.7",
            "--set", "plan_slots=1"]
    assert main(args) == 0
    model, preset, meta = training.load_model(out / "model.pt")
    assert (preset.embed_dim, preset.temperature) == (16, 0.7)      # saved in model.pt
    assert model.video.norm.weight.shape == (16,)
    assert meta["settings"] == ["embed_dim=16", "temperature=0.7", "plan_slots=1"]
    assert "--set embed_dim=16 --set temperature=0.7 --set plan_slots=1`" in \
        training.model_card(meta)
    # a model that plans comes back planning: one cell for a one-object caption
    codes, plan = model.sample_codes(["a red circle moves left"], return_plan=True)
    assert plan.shape == (1, 1) and 0 <= plan[0, 0] < model.video.plan_cells - 1
    with pytest.raises(ValueError, match="resume it with the same --set options"):
        train(tiny(out, steps=2, resume=True))
    assert main(["train", "--preset", "tiny", "--out", str(tmp_path / "x"),
                 "--set", "embed_dims=16"]) == 2
    assert "no field 'embed_dims'" in capsys.readouterr().err


def test_to_stage_stops_after_that_stage(tmp_path):
    """--to-stage tokenizer trains the tokenizer alone: the later stages keep their
    initial weights; a stage before --from-stage, or an unknown one, is refused."""
    full = train(tiny(tmp_path / "full", steps=2))
    alone = train(tiny(tmp_path / "alone", steps=2, to_stage="tokenizer"))
    assert list(alone.meta["stage_steps"]) == ["tokenizer"]
    assert list(full.meta["stage_steps"]) == ["tokenizer", "caption", "transformer"]
    a, f = weights(alone.out / "model.pt"), weights(full.out / "model.pt")
    assert all(torch.equal(a[k], f[k]) for k in a if k.startswith("tokenizer."))
    assert any(not torch.equal(a[k], f[k]) for k in a if k.startswith("video."))
    with pytest.raises(ValueError, match=r"to_stage \(--to-stage\) 'decoder' is not a stage"):
        train(tiny(tmp_path / "x", steps=1, to_stage="decoder"))
    with pytest.raises(ValueError, match="comes before from_stage"):
        train(tiny(tmp_path / "y", steps=1, init_from=str(full.out / "model.pt"),
                   from_stage="transformer", to_stage="tokenizer"))


def test_lookup_preset_refuses_another_models_preset():
    from t2v_edu import flow, t2v

    with pytest.raises(TypeError, match="preset must be a name, one of .* or a Preset; got"):
        training.lookup_preset(flow.PRESETS, t2v.PRESETS["tiny"])   # the classic model's
    with pytest.raises(TypeError, match="got dict"):
        training.lookup_preset(t2v.PRESETS, {"embed_dim": 8})
    assert training.lookup_preset(t2v.PRESETS, t2v.PRESETS["tiny"]) is t2v.PRESETS["tiny"]
