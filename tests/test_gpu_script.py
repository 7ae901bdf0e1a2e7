"""benchmarks/gpu_train.sh, rehearsed on the CPU as the GPU-run issue asks: the one
device call must not be wasted on a script error."""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from t2v_edu import checkpoint, comparison, training

ROOT = Path(__file__).resolve().parent.parent


needs_bash = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None,
                                reason="needs bash and coreutils' timeout")


FAKE_NVIDIA_SMI = """#!/bin/sh
case "$*" in
  *" -l "*) echo "timestamp, utilization.gpu [%], memory.used [MiB], power.draw [W]"
            echo "2026/11/27 10:00:00.000, 0 %, 0 MiB, 70.00 W"
            while true; do echo "2026/11/27 10:00:05.000, 80 %, 900 MiB, 300.00 W"
                           echo "2026/11/27 10:00:10.000, 60 %, 900 MiB, 250.00 W"
                           sleep 1; done ;;
  *) echo "Fake GPU, 81559 MiB, 1.0" ;;
esac
"""


def fake_nvidia_smi(folder: Path) -> str:
    """A PATH on which ``nvidia-smi`` prints made-up samples (the CPU has no GPU)."""
    folder.mkdir()
    (folder / "nvidia-smi").write_text(FAKE_NVIDIA_SMI)
    (folder / "nvidia-smi").chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def run_as_typed(settings: dict[str, str], path: str | None = None
                 ) -> subprocess.CompletedProcess:
    """``A=1 B=2 bash benchmarks/gpu_train.sh`` typed into a bash shell, as a person or
    the device tool runs it: a setting bash treats specially (GROUPS) is lost there."""
    line = " ".join(f"{k}={shlex.quote(v)}" for k, v in settings.items())
    env = {**os.environ, "OMP_NUM_THREADS": "1", "T2V_THREADS": "1"}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(["bash", "-c", f"{line} bash benchmarks/gpu_train.sh"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)


@needs_bash
def test_wrong_train_groups_stop_before_any_training(tmp_path):
    done = run_as_typed({"OUT": str(tmp_path / "a"), "T2V_DEVICE": "cpu", "PRESET": "cpu",
                         "TRAIN_GROUPS": "classic;modrn seed"})
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    assert "model 'modrn' is unknown" in done.stdout
    assert "nothing trained" in done.stdout
    assert not any(p.is_dir() for p in (tmp_path / "a").iterdir())   # no model folder made
    done = run_as_typed({"OUT": str(tmp_path / "b"), "T2V_DEVICE": "cpu", "PRESET": "cpu",
                         "TRAIN_GROUPS": "classic classic-two",
                         "SET_classic_two": "two_object_prob=0.6"})
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    assert "classic-two: two_object_prob=0.6 needs a data spec with two objects" in done.stdout
    done = run_as_typed({"OUT": str(tmp_path / "c"), "T2V_DEVICE": "cpu", "PRESET": "cpu",
                         "TRAIN_GROUPS": "classic classic-two"})
    assert done.returncode == 2 and 'needs its settings, e.g. SET_classic_two=' in done.stdout
    assert not any(p.is_dir() for p in (tmp_path / "c").iterdir())


@needs_bash
def test_an_out_folder_in_use_is_refused(tmp_path):
    """The script deletes resumable state and, with PACK=1, everything it does not pack:
    an earlier call's results in OUT would be lost."""
    (tmp_path / "classic").mkdir()
    (tmp_path / "classic" / "train_state.pt").write_bytes(b"an earlier run")
    done = run_as_typed({"OUT": str(tmp_path), "T2V_DEVICE": "cpu", "PRESET": "cpu",
                         "MODELS": "classic", "PACK": "1"})
    assert done.returncode == 2
    assert f"OUT={tmp_path} is not empty; give a new or empty folder" in done.stderr
    assert (tmp_path / "classic" / "train_state.pt").read_bytes() == b"an earlier run"


@needs_bash
def test_gpu_train_script_runs_groups_in_order_and_exports(tmp_path):
    done = run_as_typed({"OUT": str(tmp_path), "T2V_DEVICE": "cpu", "PRESET": "cpu",
                         "MODELS": "classic seed", "TRAIN_GROUPS": "seed;classic classic-wide",
                         "SET_classic_wide": "embed_dim=48 temperature=0.7",
                         "MINUTES": "0.05", "PACK": "1", "MINUTES_classic": "0.08",
                         "EVAL_VIDEOS": "4", "CEILING_VIDEOS": "4", "PROBE": "1",
                         "PROBE_BATCHES": "4", "BATCH_classic": "6", "NVSMI_SECONDS": "1"},
                        path=fake_nvidia_smi(tmp_path.parent / f"{tmp_path.name}_bin"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "train groups, one after another: seed ; classic classic-wide" in done.stdout
    # PACK=1: what a device call brings back is one archive and the weights
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "classic-wide_cpu.pt", "classic_cpu.pt", "results.tar.gz", "seed_cpu.pt"]
    for model in ("classic", "seed"):
        assert (tmp_path / f"{model}_cpu.pt").stat().st_size <= 15_000_000
    with tarfile.open(tmp_path / "results.tar.gz") as tar:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(tmp_path / "results", **safe)
    results = tmp_path / "results"
    log = (results / "log.txt").read_text()
    events = re.findall(r"train ([\w-]+) (started for [\d.]+ min|done)", log)
    assert [(m, e.split(" for ")[0]) for m, e in events] == [
        ("seed", "started"), ("seed", "done"), ("classic", "started"),
        ("classic-wide", "started"), ("classic", "done"), ("classic-wide", "done")]
    assert "train classic started for 0.08 min" in log       # MINUTES_<model> wins
    assert "train seed started for 0.05 min" in log
    # the runs of a group share the data workers: half the cores, divided among them
    cores = os.cpu_count() or 4
    workers = dict(re.findall(r"train ([\w-]+) started .*T2V_DATA_WORKERS=(\d+)\)", log))
    assert workers == {"seed": str(max(1, min(8, cores // 2))),
                       "classic": str(max(1, min(8, cores // 4))),
                       "classic-wide": str(max(1, min(8, cores // 4)))}
    assert "there is no binding to test" in log               # cpu data: one object each
    probe = (results / "probe.md").read_text()                # PROBE=1, before training
    assert "| transformer | 4 |" in probe and "| gan | 4 |" in probe
    meta = json.loads((results / "classic" / "model.json").read_text())
    assert set(meta["stage_batch"].values()) == {6}           # BATCH_<model>
    # the variant classic-wide: the classic model with its SET_classic_wide settings
    shutil.copy(tmp_path / "classic-wide_cpu.pt", results / "weights")
    _, wide, wide_meta = training.load_model(results / "weights" / "classic-wide_cpu.pt")
    assert (wide.embed_dim, wide.temperature) == (48, 0.7)
    assert wide_meta["settings"] == ["embed_dim=48", "temperature=0.7"]
    assert (results / "classic-wide" / "evaluation.json").is_file()
    assert log.count("there is no binding to test") == 2      # both classic runs
    summary = json.loads((results / "summary.json").read_text())
    assert {(row["run"], row["model"]) for row in summary["models"]} == {
        ("classic", "classic"), ("classic-wide", "classic"), ("seed", "seed")}
    assert "| classic-wide | embed_dim=48 temperature=0.7 |" in (results / "summary.md").read_text()
    # nvidia-smi sampled the GPU until the evaluations ended, and was stopped by its pid:
    # the summary counts the samples while memory was held (not the idle 0 % one)
    samples = (results / "nvsmi.csv").read_text().splitlines()
    busy = summary["gpu_utilisation"]
    assert busy["samples"] == len(samples) - 2 and busy["median"] in (60, 70, 80)
    assert busy["mean"] == pytest.approx(70, abs=10)
    assert "GPU busy (nvidia-smi," in (results / "summary.md").read_text()
    assert "Fake GPU" in log
    # shipping the variant: its files under the name the package loads, digest checked
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    report = subprocess.run([sys.executable, "benchmarks/gpu_report.py", "--ship",
                             str(results / "weights" / "classic-wide_cpu.pt"), "--to",
                             str(shipped)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert report.returncode == 0, report.stderr
    assert sorted(p.name for p in shipped.iterdir()) == [
        "classic_cpu.eval.json", "classic_cpu.json", "classic_cpu.md", "classic_cpu.pt",
        "classic_cpu.pt.sha256"]
    stored = comparison.load_shipped_evaluation("classic", "cpu", shipped)
    assert stored["checkpoint"] == "classic_cpu.pt" and stored["training"]["settings"] == [
        "embed_dim=48", "temperature=0.7"]
    assert training.load_model(shipped / "classic_cpu.pt")[1].embed_dim == 48
    assert "--set embed_dim=48 --set temperature=0.7" in (shipped / "classic_cpu.md").read_text()
    (results / "weights" / "classic-wide_cpu.eval.json").unlink()   # not evaluated: refused
    refused = subprocess.run([sys.executable, "benchmarks/gpu_report.py", "--ship",
                              str(results / "weights" / "classic-wide_cpu.pt")], cwd=ROOT,
                             capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert refused.returncode == 2 and "classic-wide_cpu.eval.json missing" in refused.stderr
    for model in ("classic", "seed"):
        assert (results / "weights" / f"{model}_cpu.md").is_file()
        assert (results / model / "evaluation.json").is_file()
        assert not (results / model / "train_state.pt.sha256").exists()  # not shipped
        # shippable as it is: the returned weights + the archive's files are what
        # t2v_edu/weights holds, and notebook 07's comparison accepts them
        shutil.copy(tmp_path / f"{model}_cpu.pt", results / "weights")
        stored = comparison.load_shipped_evaluation(model, "cpu", results / "weights")
        assert stored is not None and stored["model"] == model
        assert set(stored["splits"]) == {"test", "heldout"}
        checkpoint.load_checkpoint(results / "weights" / f"{model}_cpu.pt")  # .sha256 fits


@needs_bash
def test_deadline_stops_the_run_and_keeps_the_trained_weights(tmp_path):
    """DEADLINE_SECONDS during the evaluation: the jobs are stopped, and PACK=1 still
    brings back the trained weights (as <run>_model.pt) and the archive; exit 3."""
    done = run_as_typed({"OUT": str(tmp_path), "T2V_DEVICE": "cpu", "PRESET": "cpu",
                         "MODELS": "classic", "MINUTES": "0.05", "PACK": "1",
                         "EVAL_VIDEOS": "100000", "DEADLINE_SECONDS": "60"})
    assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classic_model.pt",
                                                          "results.tar.gz"]
    with tarfile.open(tmp_path / "results.tar.gz") as tar:
        names = tar.getnames()
        log = tar.extractfile("./log.txt").read().decode()
        digest = tar.extractfile("./classic/model.pt.sha256").read().decode().split()[0]
    assert "train classic done" in log and "evaluate classic done" not in log
    assert "stopped (DEADLINE_SECONDS=60 reached); keeping what is done" in log
    assert "./classic/evaluation.json" not in names
    assert checkpoint.sha256_file(tmp_path / "classic_model.pt") == digest
    if shutil.which("pgrep"):
        stray = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
        assert stray.stdout == "", "a job of the stopped run is still running"


def test_step_probe_times_every_stage(tmp_path):
    """benchmarks/step_probe.py (the per-step timing and GPU-wait count), rehearsed."""
    out = tmp_path / "probe.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "T2V_THREADS": "1"}
    run = subprocess.run([sys.executable, "benchmarks/step_probe.py", "--model", "classic",
                          "--preset", "tiny", "--steps", "2", "--warmup", "1",
                          "--batch-sizes", "4", "8", "--set", "embed_dim=48", "--out", str(out)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    rows = json.loads(out.read_text())
    assert [(r["stage"], r["batch_size"]) for r in rows] == [
        ("tokenizer", 4), ("tokenizer", 8), ("caption", 4), ("caption", 8),
        ("transformer", 4), ("transformer", 8)]
    assert all(r["videos_per_s"] > 0 and r["ms_per_step"] >= r["cpu_ms_per_step"] * 0.99
               for r in rows)
    assert "| transformer | 8 |" in run.stdout
    assert "preset tiny (--set embed_dim=48)" in run.stdout      # a changed preset
    wrong = subprocess.run([sys.executable, "benchmarks/step_probe.py", "--preset", "tiny",
                            "--set", "embed_dims=48"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=300)
    assert wrong.returncode == 2 and "embed_dims" in wrong.stderr
    bad = subprocess.run([sys.executable, "benchmarks/step_probe.py", "--preset", "nope"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "preset 'nope' is unknown" in bad.stderr


def test_binding_scripts_run_on_the_shipped_gpu_model(tmp_path):
    """benchmarks/binding_test.py and binding_finetune.py, at their smallest."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "T2V_THREADS": "1"}
    run = subprocess.run([sys.executable, "benchmarks/binding_test.py", "--split", "test",
                          "--num-captions", "2", "--out", str(tmp_path / "b.json")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "| two objects, their shapes swapped (binding) |" in run.stdout
    saved = json.loads((tmp_path / "b.json").read_text())
    assert saved["checkpoint"] == "classic_gpu.pt"
    assert set(saved["results"][0]["tests"]) == {"binding", "named", "single"}
    run = subprocess.run([sys.executable, "benchmarks/binding_finetune.py", "--segments", "2",
                          "--minutes", "0.01", "--captions", "2", "--batch-size", "4",
                          "--out", str(tmp_path / "f.json")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    tuned = json.loads((tmp_path / "f.json").read_text())
    assert tuned["steps"] >= 1 and tuned["videos"] == 4 * tuned["steps"]
    assert set(tuned["before"]) == set(tuned["after"]) == {"binding", "named", "single"}


def test_binding_from_scratch_runs_at_its_smallest(tmp_path):
    """benchmarks/binding_from_scratch.py: trains and saves the tokenizer once, reuses it,
    and records the binding test and the caption probe along the way; the second variant
    also plans (``--plan-slots``), and --rescore rebuilds it from its JSON."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "T2V_THREADS": "1"}
    args = [sys.executable, "benchmarks/binding_from_scratch.py", "--steps", "2",
            "--tokenizer-steps", "2", "--eval-every", "1", "--captions", "2",
            "--tokenizer", str(tmp_path / "tok.pt"), "--sampled", "16"]
    for variant in ("a", "b"):
        run = subprocess.run(args + ["--segments", "2" if variant == "b" else "0",
                                     "--plan-slots", "2" if variant == "b" else "0",
                                     "--out", str(tmp_path / f"{variant}.json")],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        assert ("tokenizer: 2 steps" in run.stdout) == (variant == "a")   # trained once
    result = json.loads((tmp_path / "b.json").read_text())
    assert result["segments"] == result["plan_slots"] == 2
    assert [row["step"] for row in result["curve"]] == [1, 2]
    assert set(result["curve"][0]["test"]) == {"binding", "named", "single"}
    assert set(result["final"]) == {"test", "heldout", "caption_probe", "generated"}
    assert (tmp_path / "b.pt").exists() and (tmp_path / "tok.pt").exists()
    sampled = result["final"]["generated"]["test"]     # 70 % two-object: some in 16
    assert 0 < sampled["videos"] <= 16 and 0 <= sampled["count"] <= 1
    assert sampled["fewer"] + sampled["more"] == pytest.approx(1 - sampled["count"], abs=2e-3)
    # --rescore judges the saved weights again: the same videos, the same figures
    run = subprocess.run(args[:1] + ["benchmarks/binding_from_scratch.py", "--rescore",
                                     str(tmp_path / "b.json"), "--sampled", "16"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    again = json.loads(run.stdout.splitlines()[-1])
    assert again["run"] == "b" and again["test"] == sampled
    # the cached tokenizer is for 2 steps: asking for more does not silently reuse it
    more = list(args)
    more[more.index("--tokenizer-steps") + 1] = "3"
    run = subprocess.run(more + ["--out", str(tmp_path / "c.json")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 1 and "holds a tokenizer trained for {'tokenizer_steps': 2" \
        in run.stderr


def test_tokenizer_errors_lists_what_the_oracle_gets_wrong():
    """benchmarks/tokenizer_errors.py: the oracle's errors on real videos and on the
    shipped tokenizer's reconstructions; wrong attributes are counted as errors."""
    import importlib.util

    env = {**os.environ, "OMP_NUM_THREADS": "1", "T2V_THREADS": "1"}
    run = subprocess.run([sys.executable, "benchmarks/tokenizer_errors.py", "--num-videos",
                          "4"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert re.search(r"^real videos: 0 errors on 8 objects: -$", run.stdout, re.M)
    assert re.search(r"^reconstructions: \d+ errors on 8 objects: ", run.stdout, re.M)
    spec = importlib.util.spec_from_file_location("tokenizer_errors",
                                                  ROOT / "benchmarks" / "tokenizer_errors.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    from t2v_edu import data, evaluation
    videos, _, attrs = data.MovingShapes("test", num_frames=16, size=64, length=2,
                                         spec="gpu").get_batch(range(2))
    oracle = evaluation.load_judges("gpu")["oracle"]
    assert script.oracle_errors(oracle, videos, attrs) == (sum(map(len, attrs)), {})
    wrong = [[{**obj, "shape": "square" if obj["shape"] != "square" else "circle"}
              for obj in objs] for objs in attrs]
    count, errors = script.oracle_errors(oracle, videos, wrong)
    assert sum(errors.values()) == count and all(k[0] == "shape" for k in errors)


def test_tokenizer_loss_compares_losses_and_resumes(tmp_path):
    """benchmarks/tokenizer_loss.py: one JSON line per (loss, seed), a table of all; a
    rerun finds them in the file and trains nothing."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "T2V_THREADS": "1"}
    out = tmp_path / "runs.jsonl"
    args = [sys.executable, "benchmarks/tokenizer_loss.py", "--steps", "2", "--batch-size", "2",
            "--num-videos", "4", "--out", str(out)]
    run = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    runs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["loss"], r["seed"], r["steps"]) for r in runs] == [("mse", 0, 2), ("l1", 0, 2)]
    for r in runs:
        assert r["scores"]["two_object_errors"]["objects"] == 8   # 4 two-object videos
        assert 0 <= r["scores"]["oracle"]["joint"] <= 1 and r["scores"]["psnr"] > 0
        assert r["scores"]["fvd_lite"] > 0
    assert re.search(r"^\| l1 \| 0 \| 2 x 2 \| \d+ \| [\d.]+ \| ", run.stdout, re.M)
    again = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "mse, seed 0: in " in again.stdout and "l1, seed 0: in " in again.stdout
    assert len(out.read_text().splitlines()) == 2


def test_tokenizer_loss_trains_with_the_named_loss():
    """The same seed and data, another loss: other weights; the same loss: the same."""
    import importlib.util

    import torch

    spec = importlib.util.spec_from_file_location("tokenizer_loss",
                                                  ROOT / "benchmarks" / "tokenizer_loss.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    def weights(loss):
        model, _ = script.train_tokenizer("tiny", loss, steps=3, batch_size=2, seed=0)
        assert model.preset.reconstruction_loss == loss
        return model.tokenizer.decoder.state_dict()

    mse, l1, mse_again = weights("mse"), weights("l1"), weights("mse")
    assert all(torch.equal(mse[k], mse_again[k]) for k in mse)
    assert any(not torch.equal(mse[k], l1[k]) for k in mse)


def test_missing_objects_prints_both_rows_and_they_add_up(capsys):
    """benchmarks/missing_objects.py on the shipped GPU model: the first draw and the
    likeliest of 2; each video has both objects, fewer or more."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("missing_objects",
                                                  ROOT / "benchmarks" / "missing_objects.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["--num-captions", "2", "--draws", "2"]) == 0
    rows = re.findall(r"^\| (first draw|likeliest of 2) \| ([\d.]+)% \| ([\d.]+)% \| "
                      r"([\d.]+)% \| ([\d.]+)% \|$", capsys.readouterr().out, re.M)
    assert [r[0] for r in rows] == ["first draw", "likeliest of 2"]
    for _, both, fewer, more, _ in rows:
        assert float(both) + float(fewer) + float(more) == pytest.approx(100, abs=0.2)


def test_the_report_exports_the_other_runs_when_one_is_broken(tmp_path):
    """A run killed between two of its writes (model.pt without model.json) is a
    problem in the summary; the runs beside it are still exported."""
    out = tmp_path / "out"
    training.train(training.TrainConfig(model="classic", preset="tiny", out=str(out / "good"),
                                        steps=1, progress=False, sample_every=0))
    (out / "broken").mkdir()
    shutil.copy(out / "good" / "model.pt", out / "broken")
    shutil.copy(out / "good" / "model.pt.sha256", out / "broken")   # but no model.json
    report = subprocess.run([sys.executable, "benchmarks/gpu_report.py", str(out), "--preset",
                             "tiny", "--ceiling-videos", "2"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert report.returncode == 1, report.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert [row["run"] for row in summary["models"]] == ["good"]
    assert any(p.startswith("broken: export failed:") for p in summary["problems"])
    assert (out / "weights" / "good_tiny.pt").is_file()
