"""The benchmark scripts refuse wrong options before any work, and the shipping scripts
(ship_model, evaluate_shipped, gpu_report, train_judges) never leave weights beside
the records of other weights. Cheap: each script fails at once, or works on copies of
the small shipped classic_cpu.pt with 2 videos."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from t2v_edu import checkpoint, course, data, evaluation, judges, t2v

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "t2v_edu" / "weights"
_SCRIPTS: dict[str, object] = {}


def script(name: str):
    """benchmarks/<name>.py as a module (loaded once)."""
    if name not in _SCRIPTS:
        spec = importlib.util.spec_from_file_location(f"bench_{name}",
                                                      ROOT / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _SCRIPTS[name] = module
    return _SCRIPTS[name]


WHOLE = "must be a whole number >= {}, got {}"
WRONG = [
    ("mode_collapse", ["--steps", "0"], "argument --steps: " + WHOLE.format(1, 0)),
    ("mode_collapse", ["--steps", "-5"], "argument --steps: " + WHOLE.format(1, -5)),
    ("mode_collapse", ["--seeds", "0"], "argument --seeds: " + WHOLE.format(1, 0)),
    ("gan_vae_speed", ["--steps", "0"], "argument --steps: " + WHOLE.format(1, 0)),
    ("optimizer_speed", ["--steps", "0"], "argument --steps: " + WHOLE.format(1, 0)),
    ("optimizer_speed", ["--preset", "nope"], "preset 'nope' is unknown"),
    ("data_speed", ["--batches", "0"], "argument --batches: " + WHOLE.format(1, 0)),
    ("data_speed", ["--two-object-prob", "0.5"], "--two-object-prob goes with --prepare"),
    ("data_speed", ["--prepare", "--size", "64", "--spec", "gpu"],
     "--size, --spec: not with --prepare"),
    ("data_speed", ["--prepare", "--two-object-prob", "1.5"],
     "argument --two-object-prob: must be a number in [0, 1], got 1.5"),
    ("grade_speed", ["--count", "-1"], "argument --count: " + WHOLE.format(1, -1)),
    ("grade_speed", ["--count", "0"], "argument --count: " + WHOLE.format(1, 0)),
    ("grade_speed", ["--source", "no/such.py"], "argument --source: no file no/such.py"),
    ("binding_finetune", ["--minutes", "0"],
     "argument --minutes: must be a finite number > 0, got 0.0"),
    ("binding_finetune", ["--two-object-share", "1.5"], "must be a number in [0, 1], got 1.5"),
    ("binding_from_scratch", ["--steps", "0"], "argument --steps: " + WHOLE.format(1, 0)),
    ("binding_from_scratch", ["--tokenizer-steps", "0"], WHOLE.format(1, 0)),
    ("binding_from_scratch", ["--two-object-prob", "-0.1"],
     "argument --two-object-prob: must be a number in [0, 1], got -0.1"),
    ("binding_from_scratch", ["--steps", "1.5"], WHOLE.format(1, "'1.5'")),
    ("train_speed", ["--eval-videos", "0"], "argument --eval-videos: " + WHOLE.format(2, 0)),
    ("train_speed", ["--minutes", "1,0"],
     "argument --minutes: must be a finite number > 0, got 0.0"),
    ("train_speed", ["--preset", "tiny"], "argument --preset: 'tiny' is not a preset of classic"),
    ("tokenizer_loss", ["--preset", "tiny"], "argument --preset: invalid choice: 'tiny'"),
    ("step_probe", ["--batch-sizes", "0"], "argument --batch-sizes: " + WHOLE.format(1, 0)),
    ("missing_objects", ["--draws", "0"], "argument --draws: " + WHOLE.format(1, 0)),
    ("missing_objects", ["--num-captions", "0"], WHOLE.format(1, 0)),
    ("temperature_sweep", ["--num-captions", "0"], WHOLE.format(1, 0)),
    ("binding_test", ["--split", "tset"], "argument --split: invalid choice: 'tset'"),
    ("tokenizer_errors", ["--num-videos", "0"], WHOLE.format(1, 0)),
    ("train_judges", ["--steps", "0", "--out", "{tmp}"],
     "argument --steps: " + WHOLE.format(1, 0)),
    ("train_judges", ["--num-eval", "1", "--out", "{tmp}"],
     "argument --num-eval: " + WHOLE.format(2, 1)),
    ("train_judges", ["--device", "tpu", "--out", "{tmp}"],
     "argument --device: device 'tpu' is unknown"),
    ("evaluate_shipped", ["--models", "classic,classik", "--weights", "{tmp}"],
     "argument --models: 'classik' is unknown; use seed, classic, modern"),
    ("evaluate_shipped", ["--presets", "gpuu", "--weights", "{tmp}"],
     "'gpuu' is unknown; use cpu, gpu"),
    ("evaluate_shipped", ["--weights", "no/such/folder"],
     "argument --weights: no folder no/such/folder"),
    ("ship_model", ["classic", "cpu", "no/such/model.pt"],
     "argument checkpoint: no file no/such/model.pt"),
    ("gpu_report", ["{tmp}", "--ceiling-videos", "1"], WHOLE.format(2, 1)),
]


@pytest.mark.parametrize("name, argv, message", WRONG,
                         ids=[f"{n} {' '.join(a)}" for n, a, _ in WRONG])
def test_a_wrong_option_is_a_usage_error_before_any_work(name, argv, message, capsys,
                                                         tmp_path):
    """{tmp}: a script that would write (were the check missing) writes there, never
    into the package's weights."""
    with pytest.raises(SystemExit) as stop:
        script(name).main([arg.replace("{tmp}", str(tmp_path)) for arg in argv])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_a_script_run_as_typed_exits_2_with_the_message():
    done = subprocess.run([sys.executable, "benchmarks/mode_collapse.py", "--steps", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "T2V_THREADS": "1"})
    assert done.returncode == 2
    assert "error: argument --steps: must be a whole number >= 1, got 0" in done.stderr


def test_binding_finetune_trains_the_transformer_stage_after_a_caption_stage():
    preset = t2v.PRESETS["gpu"]
    model = t2v.build(preset)
    assert [s.name for s in t2v.stages(model, preset)] == ["tokenizer", "caption",
                                                           "transformer"]
    assert script("binding_finetune").transformer_stage(model, preset).name == "transformer"


def test_data_speed_makes_its_data_set_as_long_as_the_batches_need(monkeypatch):
    monkeypatch.setitem(data.DEFAULT_LENGTH, "train", 256)   # as if 50,000 were few
    assert script("data_speed").measure(2, 8, 2, "cpu") > 0


def test_temperature_sweep_spreads_starts_with_the_given_seed(monkeypatch):
    seeds = []
    split = {"oracle": {"joint": 1.0}, "joint_by_objects": {}, "fvd_lite": 0.0}
    monkeypatch.setattr(evaluation, "load_judges", lambda spec: {"oracle": None})
    monkeypatch.setattr(evaluation, "evaluate_generator", lambda *a, **k: {
        "splits": {"test": split, "heldout": split}})
    monkeypatch.setattr(evaluation, "evaluate_diversity", lambda *a, seed, **k: (
        seeds.append(seed) or {"start_spread": 0.1, "start_spread_real": 0.1}))
    script("temperature_sweep").sweep(None, "cpu", [0.3], 2, 1, 2, seed=3)
    assert seeds == [3]


def test_notebook_timings_keeps_the_cause_of_a_failed_notebook(monkeypatch):
    def fail(nb, cwd, smoke, name):
        raise course.BuildError(f"{name}: cell 2 (the data) failed:\n----\nx = 1 / 0\n----\n"
                                "ZeroDivisionError  Traceback\n----> 1 x = 1 / 0\n\n"
                                "ZeroDivisionError: division by zero\n")
    monkeypatch.setattr(course, "load_source", lambda source: None)
    monkeypatch.setattr(course, "execute", fail)
    row = script("notebook_timings").time_notebook(Path("00_welcome.py"))
    assert row["error"] == ("00_welcome.py: cell 2 (the data) failed: "
                            "ZeroDivisionError: division by zero")


def test_notebook_timings_gpu_preset_needs_cuda(monkeypatch, tmp_path, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(course, "sources", lambda root, names: [])   # nothing to run
    with pytest.raises(SystemExit) as stop:
        script("notebook_timings").main(["--preset", "gpu", "--json", str(tmp_path / "t.json")])
    assert stop.value.code == 2
    assert "--preset gpu runs the notebooks on CUDA" in capsys.readouterr().err


# -- shipping: the records always describe the weights beside them ----------------------
def copy_shipped(folder: Path, *suffixes: str, name: str = "classic_cpu") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in suffixes:
        shutil.copy(WEIGHTS / f"{name}{suffix}", folder / f"{name}{suffix}")
    return folder


def as_run(folder: Path) -> Path:
    """classic_cpu.pt as a training run's folder: model.pt, its .sha256, model.json."""
    folder.mkdir(parents=True)
    shutil.copy(WEIGHTS / "classic_cpu.pt", folder / "model.pt")
    shutil.copy(WEIGHTS / "classic_cpu.pt.sha256", folder / "model.pt.sha256")
    meta = json.loads((WEIGHTS / "classic_cpu.eval.json").read_text(encoding="utf-8"))
    (folder / "model.json").write_text(json.dumps(meta["training"]), encoding="utf-8")
    return folder / "model.pt"


def test_ship_model_refuses_a_checkpoint_of_another_preset(tmp_path, capsys):
    source = as_run(tmp_path / "run")
    with pytest.raises(SystemExit) as stop:
        script("ship_model").main(["classic", "gpu", str(source), "--weights",
                                   str(tmp_path / "weights")])
    assert stop.value.code == 2
    assert "was trained with preset 'cpu' (its metadata), not 'gpu'" in capsys.readouterr().err
    assert not (tmp_path / "weights").exists()


def test_ship_model_writes_nothing_until_evaluated(tmp_path, monkeypatch):
    source = as_run(tmp_path / "run")
    weights = tmp_path / "weights"
    weights.mkdir()
    old = {"classic_cpu.pt": b"old weights", "classic_cpu.md": b"old card"}
    for name, content in old.items():
        (weights / name).write_bytes(content)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt   # Ctrl-C during the minutes of evaluation

    ship = script("ship_model")
    monkeypatch.setattr(ship, "evaluate_checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ship.main(["classic", "cpu", str(source), "--weights", str(weights)])
    assert {p.name: p.read_bytes() for p in weights.iterdir()} == old


def test_ship_model_writes_weights_evaluation_card_and_listing_together(tmp_path, capsys):
    source = as_run(tmp_path / "run")
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "classic_cpu.json").write_text('{"sha256": "of older weights"}',
                                              encoding="utf-8")
    assert script("ship_model").main(["classic", "cpu", str(source), "--weights",
                                      str(weights), "--num-videos", "2",
                                      "--note", "A note."]) == 0
    digest = checkpoint.sha256_file(weights / "classic_cpu.pt")
    assert (weights / "classic_cpu.pt.sha256").read_text(encoding="utf-8").split() == [digest]
    result = json.loads((weights / "classic_cpu.eval.json").read_text(encoding="utf-8"))
    assert (result["checkpoint"], result["checkpoint_sha256"]) == ("classic_cpu.pt", digest)
    assert result["num_videos"] == 2
    card = (weights / "classic_cpu.md").read_text(encoding="utf-8")
    assert digest in card and evaluation.format_table(result) in card and "A note." in card
    assert "- training: `t2v-edu train --model classic --preset cpu`, steps" in card
    assert json.loads((weights / "classic_cpu.json").read_text(encoding="utf-8"))[
        "sha256"] == digest


def test_the_card_names_the_training_command_of_the_metadata():
    shipped = script("evaluate_shipped")
    meta = {"model": "classic", "preset": "gpu", "time_budget_minutes": 3.5,
            "batch_size_option": 256, "settings": ["two_object_prob=0.3", "embed_dim=48"]}
    assert shipped.training_command(meta) == (
        "t2v-edu train --model classic --preset gpu --time-budget 3.5 --batch-size 256 "
        "--set two_object_prob=0.3 --set embed_dim=48")
    result = json.loads((WEIGHTS / "classic_cpu.eval.json").read_text(encoding="utf-8"))
    del result["training"]["parameters"]                 # an older checkpoint's metadata
    assert "- parameters: ?" in shipped.model_card("classic", "cpu", result)


def test_evaluate_shipped_rewrites_the_cards_table_and_only_the_cpu_models(tmp_path):
    weights = copy_shipped(tmp_path, ".pt", ".pt.sha256", ".eval.json", ".md")
    (weights / "classic_gpu.pt").write_bytes(b"not evaluated unless --presets gpu")
    old_card = (weights / "classic_cpu.md").read_text(encoding="utf-8")
    assert script("evaluate_shipped").main(["--models", "classic", "--num-videos", "2",
                                            "--weights", str(weights)]) == 0
    result = json.loads((weights / "classic_cpu.eval.json").read_text(encoding="utf-8"))
    assert result["num_videos"] == 2
    card = (weights / "classic_cpu.md").read_text(encoding="utf-8")
    assert evaluation.format_table(result) in card                 # tests/test_weights.py
    assert card.split("## Evaluation")[0] == old_card.split("## Evaluation")[0]  # its notes
    assert not (weights / "classic_gpu.eval.json").exists()


def test_gpu_report_without_runs_fails_and_creates_nothing(tmp_path, capsys):
    assert script("gpu_report").main([str(tmp_path / "none")]) == 2
    assert f"no OUT/<run>/model.pt found in {tmp_path / 'none'}" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_gpu_report_names_a_run_by_its_own_preset(tmp_path, capsys):
    as_run(tmp_path / "out" / "classic")
    assert script("gpu_report").main([str(tmp_path / "out"), "--preset", "gpu",
                                      "--ceiling-videos", "2"]) == 1
    exported = tmp_path / "out" / "weights"
    assert (exported / "classic_cpu.pt").is_file() and not (exported / "classic_gpu.pt").exists()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    row = summary["models"][0]
    assert row["megabytes"] == round((WEIGHTS / "classic_cpu.pt").stat().st_size / 1e6, 2)
    assert "classic: trained with preset 'cpu', not --preset 'gpu' (exported as " \
        "classic_cpu.pt)" in summary["problems"]


def test_train_judges_writes_nothing_when_the_card_fails(tmp_path, monkeypatch):
    train = script("train_judges")
    monkeypatch.setattr(train, "evaluate_real", lambda *a, **k: {"splits": {}})

    def broken(device):
        raise RuntimeError("no card")

    monkeypatch.setattr(train, "hardware", broken)
    with pytest.raises(RuntimeError, match="no card"):
        train.main(["--spec", "cpu", "--steps", "1", "--out", str(tmp_path)])
    assert list(tmp_path.iterdir()) == []


def test_train_judges_writes_weights_with_their_card(tmp_path):
    assert script("train_judges").main(["--spec", "cpu", "--steps", "1", "--num-eval", "2",
                                        "--out", str(tmp_path)]) == 0
    card = json.loads((tmp_path / "judge_cpu.json").read_text(encoding="utf-8"))
    assert card["steps"] == 1
    assert judges.LearnedJudge.load("cpu", path=tmp_path / "judge_cpu.pt").spec_name == "cpu"
