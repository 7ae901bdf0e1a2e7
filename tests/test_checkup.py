"""t2v_edu.doctor(): the installation report."""
import argparse
import os
import shutil
import sys
from importlib import metadata

import pytest

import t2v_edu
from t2v_edu import checkup


def test_doctor_returns_checks_without_printing(capsys):
    checks = t2v_edu.doctor(print_report=False)
    assert capsys.readouterr().out == ""
    assert {"python", "torch", "numpy", "ipywidgets", "jupyterlab", "jupyterlab_widgets",
            "device", "torch threads", "write access", "disk"} <= set(checks)
    assert checks["torch"]["value"] == metadata.version("torch")
    for c in checks.values():
        assert set(c) == {"ok", "value", "advice"}
        assert c["ok"] == (c["advice"] == "")


def test_device_follows_t2v_device(monkeypatch):
    monkeypatch.setenv("T2V_DEVICE", "cpu")
    assert checkup.check_device()["value"].startswith("cpu")
    # a machine with a GPU: the variable, not the hardware, decides
    import torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "H100")
    monkeypatch.delenv("T2V_DEVICE")
    assert checkup.check_device()["value"] == "cuda (H100)"
    monkeypatch.setenv("T2V_DEVICE", "cpu")
    assert checkup.check_device()["value"].startswith("cpu")
    monkeypatch.setenv("T2V_DEVICE", "meta")
    assert "is not one the course runs on" in checkup.check_device()["advice"]
    monkeypatch.setenv("T2V_DEVICE", "gpu0")
    bad = checkup.check_device()
    assert not bad["ok"] and "device 'gpu0' (from T2V_DEVICE) is unknown" in bad["advice"]


def test_missing_or_old_package_gives_advice(monkeypatch):
    def fake_version(name):
        if name == "ipywidgets":
            return "7.8.1"
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(checkup.metadata, "version", fake_version)
    old = checkup.check_package("ipywidgets")
    assert not old["ok"] and "version 8 or later" in old["advice"]
    missing = checkup.check_package("jupyterlab_widgets")
    assert missing == {"ok": False, "value": "missing",
                       "advice": checkup.PACKAGES["jupyterlab_widgets"][1]}


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0,
                    reason="root and Windows ignore folder permissions")
def test_read_only_folder_is_reported(tmp_path):
    tmp_path.chmod(0o500)
    try:
        result = checkup.check_writable(tmp_path)
    finally:
        tmp_path.chmod(0o700)
    assert not result["ok"] and "cannot write" in result["advice"]


def test_writable_folder_and_disk(tmp_path, monkeypatch):
    assert checkup.check_writable(tmp_path) == {"ok": True, "value": "yes", "advice": ""}
    assert list(tmp_path.iterdir()) == []  # the probe file is gone
    assert checkup.check_disk(tmp_path)["value"].endswith("GB free")
    usage = shutil.disk_usage(tmp_path)
    for free, ok in ((0.5e9, False), (50e9, True)):
        monkeypatch.setattr(checkup.shutil, "disk_usage",
                            lambda folder, free=free: usage._replace(free=int(free)))
        result = checkup.check_disk(tmp_path)
        assert (result["ok"], result["value"]) == (ok, f"{free / 1e9:.1f} GB free")
        assert ("free at least 1 GB" in result["advice"]) == (not ok)


def test_a_folder_that_cannot_be_written_is_reported_even_as_root(tmp_path):
    """Permission bits do not stop root (CI runs as root): a path under a regular file
    cannot be written by anyone."""
    (tmp_path / "file").write_text("x")
    result = checkup.check_writable(tmp_path / "file")
    assert not result["ok"] and result["value"] == "no"
    assert "cannot write in the current folder" in result["advice"]


def test_report_shows_advice_under_failures():
    checks = {"python": {"ok": True, "value": "3.11", "advice": ""},
              "disk": {"ok": False, "value": "0.2 GB free", "advice": "free space"}}
    report = checkup.format_report(checks)
    assert report.splitlines() == ["✓ python  3.11", "✗ disk    0.2 GB free",
                                   "          → free space",
                                   "1 problem(s): follow the advice above, then run the "
                                   "check again."]


def test_cli_exit_code_follows_the_checks(monkeypatch, capsys):
    monkeypatch.setattr(checkup, "run_checks", lambda: {
        "disk": {"ok": False, "value": "0 GB free", "advice": "free space"}})
    assert checkup.cli(argparse.Namespace()) == 1
    assert "free space" in capsys.readouterr().out
    monkeypatch.setattr(checkup, "run_checks", lambda: {
        "disk": {"ok": True, "value": "9 GB free", "advice": ""}})
    assert checkup.cli(argparse.Namespace()) == 0


def test_widget_front_end_found_or_missing(tmp_path):
    missing = checkup.check_widgets_frontend([str(tmp_path / "none"), str(tmp_path)])
    assert not missing["ok"] and "jupyterlab_widgets" in missing["advice"]
    package = tmp_path / checkup.WIDGETS_EXTENSION / "package.json"
    package.parent.mkdir(parents=True)
    package.write_text('{"name": "@jupyter-widgets/jupyterlab-manager", "version": "5.0.9"}')
    found = checkup.check_widgets_frontend([str(tmp_path / "none"), str(tmp_path)])
    assert found == {"ok": True, "value": f"{checkup.WIDGETS_EXTENSION} 5.0.9", "advice": ""}


def test_widget_front_end_of_this_install():
    """The test extra installs JupyterLab with jupyterlab_widgets: found here."""
    assert checkup.check_widgets_frontend()["ok"]


def test_kernel_that_runs_this_python_is_found(tmp_path):
    other = str(tmp_path / "bin" / "jupyter-lab")
    exact = checkup.check_kernel({"t2v-edu": [sys.executable, "-m", "ipykernel_launcher"]},
                                 jupyter_lab=other)
    assert exact == {"ok": True, "value": "'t2v-edu' runs this Python", "advice": ""}
    # "python" means JupyterLab's own Python: fine when JupyterLab is this environment's
    this_lab = str(checkup._this_jupyter_lab())
    if os.path.exists(this_lab):
        bare = checkup.check_kernel({"python3": ["python", "-m", "ipykernel_launcher"]},
                                    jupyter_lab=this_lab)
        assert bare["ok"], bare


def test_kernel_missing_or_jupyter_of_another_python(tmp_path):
    specs = {"python3": ["python", "-m", "ipykernel_launcher"],
             "other": [str(tmp_path / "python"), "-m", "ipykernel_launcher"]}
    none_on_path = checkup.check_kernel(specs, jupyter_lab=None)
    assert not none_on_path["ok"]
    assert "python -m ipykernel install --user --name t2v-edu" in none_on_path["advice"]
    (tmp_path / "jupyter-lab").write_text("")
    other_lab = checkup.check_kernel(specs, jupyter_lab=str(tmp_path / "jupyter-lab"))
    assert not other_lab["ok"] and "another Python" in other_lab["value"]
    assert "cannot import t2v_edu" in other_lab["advice"]


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0,
                    reason="root and Windows ignore folder permissions")
def test_read_only_runtime_folder_is_reported(tmp_path):
    tmp_path.chmod(0o500)
    try:
        result = checkup.check_runtime_folder(tmp_path / "jupyter" / "runtime")
    finally:
        tmp_path.chmod(0o700)
    assert not result["ok"] and "JUPYTER_RUNTIME_DIR" in result["advice"]


def test_runtime_folder_not_created_by_the_check(tmp_path):
    result = checkup.check_runtime_folder(tmp_path / "jupyter" / "runtime")
    assert result == {"ok": True, "value": "writable", "advice": ""}
    assert list(tmp_path.iterdir()) == []


def test_report_of_this_install_has_every_lab_check():
    checks = checkup.run_checks()
    assert {"t2v-edu", "ipykernel", "widget front end", "jupyter kernel",
            "jupyter runtime"} <= set(checks)
    assert checks["t2v-edu"]["value"] == metadata.version("t2v-edu")


def test_runtime_folder_that_cannot_be_written(tmp_path):
    """Runs as root too: a file where the folder should be cannot hold kernels."""
    (tmp_path / "jupyter").write_text("a file, not a folder")
    result = checkup.check_runtime_folder(tmp_path / "jupyter" / "runtime")
    assert not result["ok"] and "not writable" in result["value"]
    assert "export JUPYTER_RUNTIME_DIR=" in result["advice"]


def test_a_forced_device_this_machine_lacks_is_a_clear_error(monkeypatch):
    import torch

    import t2v_edu

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    for name, reason in (("cuda", "not available"), ("cuda:1", "not available"),
                         ("mps", "Apple silicon")):
        with pytest.raises(ValueError, match=reason) as info:
            t2v_edu.pick_device(name)
        assert "use 'cpu'" in str(info.value)
        monkeypatch.setenv("T2V_DEVICE", name)
        result = checkup.check_device()
        assert not result["ok"] and "is not available" in result["advice"]
    assert t2v_edu.pick_device("cpu") == torch.device("cpu")
    # a name torch does not know, given or from T2V_DEVICE: the names that exist
    with pytest.raises(ValueError, match=r"device 'gpu' is unknown; use 'cpu', 'cuda'"):
        t2v_edu.pick_device("gpu")
    monkeypatch.setenv("T2V_DEVICE", "GPU")
    with pytest.raises(ValueError, match=r"device 'GPU' \(from T2V_DEVICE\) is unknown"):
        t2v_edu.pick_device()
    monkeypatch.delenv("T2V_DEVICE")
    # names torch knows but the course does not run on (they failed deep inside before)
    for name in ("meta", "xpu"):
        with pytest.raises(ValueError, match=f"device '{name}' is not one the course runs "
                                             "on; use 'cpu', 'cuda'"):
            t2v_edu.pick_device(name)
    # two visible GPUs: cuda:1 is there, cuda:2 is not
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert t2v_edu.pick_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match=r"2 CUDA GPU\(s\), cuda:0 to cuda:1"):
        t2v_edu.pick_device("cuda:2")


def test_setup_refuses_a_bad_seed_or_thread_count(monkeypatch):
    import t2v_edu

    with pytest.raises(TypeError, match="seed must be an integer"):
        t2v_edu.setup(seed=1.5, quiet=True)
    monkeypatch.setenv("T2V_THREADS", "two")
    with pytest.raises(ValueError, match="T2V_THREADS must be a whole number >= 1, got 'two'"):
        t2v_edu.setup(quiet=True)
    with pytest.raises(ValueError, match="threads must be a whole number >= 1, got 0"):
        t2v_edu.setup(threads=0, quiet=True)


@pytest.mark.parametrize("value, smoke", [("", False), ("0", False), ("false", False),
                                          ("Off", False), ("1", True), ("true", True),
                                          (" yes ", True)])
def test_t2v_smoke_reads_yes_and_no(monkeypatch, value, smoke):
    import t2v_edu

    monkeypatch.setenv("T2V_SMOKE", value)
    assert t2v_edu.is_smoke() is smoke            # "false" meant True before
    assert t2v_edu.budget(100) == (2 if smoke else 100)


def test_t2v_smoke_and_budget_refuse_what_they_cannot_read(monkeypatch):
    import t2v_edu

    monkeypatch.setenv("T2V_SMOKE", "maybe")
    with pytest.raises(ValueError, match="T2V_SMOKE must be 1 .* or 0, got 'maybe'"):
        t2v_edu.is_smoke()
    monkeypatch.delenv("T2V_SMOKE")
    for steps in (-5, 2.5, "10"):
        with pytest.raises(ValueError, match="steps must be a whole number >= 0"):
            t2v_edu.budget(steps)
