"""t2v_edu.doctor(): the installation report."""
import argparse
import io
import json
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest

import t2v_edu
from t2v_edu import checkup


def test_doctor_returns_checks_without_printing(capsys):
    checks = t2v_edu.doctor(print_report=False)
    assert capsys.readouterr().out == ""
    assert {"python", "torch", "numpy", "ipywidgets", "jupyterlab", "jupyterlab_widgets",
            "imageio-ffmpeg", "device", "torch threads", "T2V settings", "write access",
            "config folders", "disk"} <= set(checks)
    assert checks["torch"]["value"] == metadata.version("torch")
    assert checks["imageio-ffmpeg"]["value"] == metadata.version("imageio-ffmpeg")
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
    assert not old["ok"] and 'pip install "ipywidgets>=8,<9"' in old["advice"]
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
    this_lab = shutil.which("jupyter-lab", path=sysconfig.get_path("scripts"))
    if this_lab:
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


ROOT = Path(__file__).resolve().parent.parent


# --- defect 1: torch or Jupyter missing -----------------------------------------------
def test_rows_that_need_torch_or_jupyter_fail_without_them(monkeypatch):
    """tests/test_cli_imports.py runs the whole command with torch or Jupyter hidden."""
    monkeypatch.setattr(checkup, "_torch_error",
                        lambda: ModuleNotFoundError("No module named 'torch'"))
    for check in (checkup.check_device, checkup.check_threads):
        result = check()
        assert result["value"] == "cannot be checked without torch"
        assert not result["ok"] and 'pip install "torch>=2.1"' in result["advice"]
    assert checkup.check_settings()["ok"]  # what does not need torch is still checked
    for name in ("jupyter_core", "jupyter_core.paths", "jupyter_client",
                 "jupyter_client.kernelspec"):
        monkeypatch.setitem(sys.modules, name, None)  # importing it raises ImportError
    for check in (checkup.check_widgets_frontend, checkup.check_kernel,
                  checkup.check_runtime_folder):
        result = check()
        assert not result["ok"] and result["value"].startswith("cannot be checked without ")
        assert 'pip install "jupyterlab>=4,<5"' in result["advice"]
    assert checkup.check_config_folders()["value"]  # matplotlib's and IPython's, still


# --- defect 2: which kernel and which jupyter-lab are this Python's ---------------------
def fake_python(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")  # never run: only its place and identity matter
    return path


def test_jupyter_lab_in_this_pythons_scripts_folder_counts(tmp_path, monkeypatch):
    """conda on Windows and python.org installs keep scripts in <env>\\Scripts, not
    beside python.exe; the .exe launcher has no #! line, so the folder decides."""
    specs = {"python3": ["python", "-m", "ipykernel_launcher"]}
    scripts = tmp_path / "env" / "Scripts"
    scripts.mkdir(parents=True)
    (scripts / "jupyter-lab.exe").write_bytes(b"MZ\x90\x00")
    monkeypatch.setattr(checkup, "_scripts_folders", lambda: [str(scripts)])
    assert checkup.check_kernel(specs, jupyter_lab=str(scripts / "jupyter-lab.exe"))["ok"]
    other = tmp_path / "other" / "Scripts" / "jupyter-lab.exe"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"MZ\x90\x00")
    result = checkup.check_kernel(specs, jupyter_lab=str(other))
    assert not result["ok"] and "another Python" in result["value"]


def test_scripts_folders_are_this_pythons():
    folders = checkup._scripts_folders()
    assert folders[0] == sysconfig.get_path("scripts")
    user = sysconfig.get_path("scripts", sysconfig.get_preferred_scheme("user"))
    assert (user in folders) == bool(site.ENABLE_USER_SITE)


@pytest.mark.skipif(os.name == "nt", reason="Windows scripts are .exe launchers")
def test_jupyter_lab_whose_first_line_names_this_python_counts(tmp_path, monkeypatch):
    """pip install --user puts scripts in ~/.local/bin, shared by every Python of the
    user: the #! line says which Python a script runs."""
    specs = {"python3": ["python", "-m", "ipykernel_launcher"]}
    user_bin = tmp_path / ".local" / "bin"
    user_bin.mkdir(parents=True)
    monkeypatch.setattr(checkup, "_scripts_folders", lambda: [str(user_bin)])
    mine = user_bin / "jupyter-lab"
    mine.write_text(f"#!{sys.executable}\nimport sys\n")
    assert checkup.check_kernel(specs, jupyter_lab=str(mine))["ok"]
    other_python = fake_python(tmp_path / "other" / "bin" / "python3")
    theirs = mine  # the same folder, installed by another Python of the user
    theirs.write_text(f"#!{other_python} -E\nimport sys\n")
    result = checkup.check_kernel(specs, jupyter_lab=str(theirs))
    assert not result["ok"] and "another Python" in result["value"]
    # a #! line of this Python outside its scripts folders (a venv's, found on PATH)
    elsewhere = tmp_path / "venv-bin" / "jupyter-lab"
    elsewhere.parent.mkdir()
    elsewhere.write_text(f"#!{sys.executable}\n")
    assert checkup.check_kernel(specs, jupyter_lab=str(elsewhere))["ok"]


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_kernel_of_the_base_python_is_not_this_venvs(tmp_path, monkeypatch):
    """A venv's bin/python is a symlink to the base Python: the same file, but a kernel
    of the base Python cannot import t2v_edu installed in the venv (nor the reverse)."""
    base = fake_python(tmp_path / "base" / "bin" / "python3.11")
    (base.parent / "python3").symlink_to(base)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = {base.parent}\n")
    for name in ("python", "python3"):
        (venv / "bin" / name).symlink_to(base)
    kernel = ["-m", "ipykernel_launcher", "-f", "{connection_file}"]
    monkeypatch.setattr(sys, "executable", str(venv / "bin" / "python"))
    assert not checkup.check_kernel({"base": [str(base), *kernel]}, jupyter_lab=None)["ok"]
    in_venv = checkup.check_kernel({"venv": [str(venv / "bin" / "python3"), *kernel]},
                                   jupyter_lab=None)
    assert in_venv["ok"], in_venv
    monkeypatch.setattr(sys, "executable", str(base))
    assert not checkup.check_kernel({"venv": [str(venv / "bin" / "python"), *kernel]},
                                    jupyter_lab=None)["ok"]
    assert checkup.check_kernel({"base": [str(base.parent / "python3"), *kernel]},
                                jupyter_lab=None)["ok"]  # one Python, two names


def test_conda_environments_sharing_one_python_file_are_told_apart(tmp_path, monkeypatch):
    """conda hard-links one Python binary into every environment that uses it."""
    here = fake_python(tmp_path / "envs" / "t2v" / "bin" / "python3.11")
    there = tmp_path / "envs" / "other" / "bin" / "python3.11"
    there.parent.mkdir(parents=True)
    os.link(here, there)
    for env in ("t2v", "other"):
        (tmp_path / "envs" / env / "conda-meta").mkdir()
    monkeypatch.setattr(sys, "executable", str(here))
    assert not checkup.check_kernel({"other": [str(there)]}, jupyter_lab=None)["ok"]
    assert checkup.check_kernel({"t2v": [str(here)]}, jupyter_lab=None)["ok"]


# --- defect 3: T2V_* settings, threads, the device's advice -----------------------------
@pytest.mark.parametrize("name, value", [("T2V_THREADS", "abc"), ("T2V_SMOKE", "2"),
                                         ("T2V_PRESET", "large"), ("T2V_DATA_WORKERS", "x")])
def test_a_bad_setting_is_reported_with_the_packages_own_message(monkeypatch, name, value):
    import torch

    from t2v_edu import training

    for setting in checkup.SETTINGS:
        monkeypatch.delenv(setting, raising=False)
    monkeypatch.setenv(name, value)
    threads = torch.get_num_threads()
    try:
        with pytest.raises(ValueError) as raised:  # what the package itself says
            if name == "T2V_DATA_WORKERS":
                training.data_workers(torch.device("cuda"), training.Distributed())
            else:
                t2v_edu.setup(quiet=True)
    finally:
        torch.set_num_threads(threads)
    result = checkup.check_settings()
    assert not result["ok"] and result["value"] == f"{name}={value!r}"
    assert str(raised.value) in result["advice"] and "unset it or fix it" in result["advice"]


def test_good_settings_pass_and_several_bad_ones_are_all_named(monkeypatch):
    for setting in checkup.SETTINGS:
        monkeypatch.delenv(setting, raising=False)
    assert checkup.check_settings() == {"ok": True, "value": "none set (the defaults)",
                                        "advice": ""}
    monkeypatch.setenv("T2V_PRESET", "gpu")
    monkeypatch.setenv("T2V_SMOKE", "yes")
    assert checkup.check_settings()["value"] == "T2V_PRESET=gpu, T2V_SMOKE=yes"
    monkeypatch.setenv("T2V_THREADS", "0")
    monkeypatch.setenv("T2V_PRESET", "large")
    result = checkup.check_settings()
    assert result["value"] == "T2V_THREADS='0', T2V_PRESET='large'"
    assert result["advice"].splitlines()[-1] == "unset them or fix them"
    assert "All good" not in checkup.format_report({"T2V settings": result})


def test_threads_row_shows_what_setup_will_use(monkeypatch):
    import torch

    threads = torch.get_num_threads()
    try:
        for value in ("3", None):
            if value:
                monkeypatch.setenv("T2V_THREADS", value)
            else:
                monkeypatch.delenv("T2V_THREADS", raising=False)
            torch.set_num_threads(5)  # what setup() will change does not matter
            shown = checkup.check_threads()
            t2v_edu.setup(quiet=True)
            assert shown["ok"] and shown["value"].startswith(f"{torch.get_num_threads()} ")
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setenv("T2V_THREADS", "abc")
    bad = checkup.check_threads()
    assert not bad["ok"] and "T2V settings" in bad["advice"]


def test_device_advice_names_t2v_device_once_and_says_unset_it(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    for name in ("gpu", "cuda"):
        monkeypatch.setenv("T2V_DEVICE", name)
        result = checkup.check_device()
        assert not result["ok"] and result["value"] == f"T2V_DEVICE={name}"
        assert result["advice"].count("T2V_DEVICE") == 1, result["advice"]
        assert "to let the course choose" in result["advice"]


# --- defect 4: a terminal or file that cannot show ✓ ------------------------------------
def test_report_in_ascii_where_the_output_cannot_show_marks():
    checks = {"python": {"ok": True, "value": "3.11", "advice": ""},
              "disk": {"ok": False, "value": "0.2 GB – low", "advice": "free space"}}
    cp1252 = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    assert checkup._for_stream(checks, cp1252).splitlines()[:3] == [
        "ok   python  3.11", "FAIL disk    0.2 GB – low", "             -> free space"]
    ascii_only = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    assert "FAIL disk    0.2 GB ? low" in checkup._for_stream(checks, ascii_only)
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    assert checkup._for_stream(checks, utf8) == checkup.format_report(checks)


def test_doctor_redirected_to_a_cp1252_file(tmp_path):
    """Windows: `t2v-edu doctor > d.txt` writes in the ANSI code page."""
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    done = subprocess.run([sys.executable, "-m", "t2v_edu.cli", "doctor"], env=env,
                          capture_output=True, timeout=300, cwd=ROOT)
    assert done.returncode in (0, 1), done.stderr.decode("cp1252", "replace")
    report = done.stdout.decode("cp1252")
    assert re.search(r"^ok +python ", report, re.M), report
    assert "\u2713" not in report and b"Traceback" not in done.stderr


# --- defect 5: imageio-ffmpeg ------------------------------------------------------------
def test_imageio_ffmpeg_is_checked(monkeypatch):
    found = checkup.check_package("imageio-ffmpeg")
    assert found["value"] == metadata.version("imageio-ffmpeg")

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(checkup.metadata, "version", missing)
    result = checkup.check_package("imageio-ffmpeg")
    assert not result["ok"] and 'pip install "imageio-ffmpeg' in result["advice"]
    assert "MP4" in result["advice"] and "GIFs do not" in result["advice"]


# --- defect 6: pyproject's version ranges, full versions ---------------------------------
def test_version_ranges_are_pyprojects():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    ranges = dict(re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", dependency).groups()
                  for dependency in project["dependencies"])
    checked = {name: spec for name, (spec, _) in checkup.PACKAGES.items() if name in ranges}
    assert checked == {name: ranges[name] for name in checked}
    # the package itself, and the widgets front end that ipywidgets 8 brings
    assert set(checkup.PACKAGES) - set(ranges) == {"t2v-edu", "jupyterlab_widgets"}
    for name, (spec, advice) in checkup.PACKAGES.items():
        if name != "t2v-edu":
            assert f'pip install "{name}{spec}"' in advice  # installs a version in range


@pytest.mark.parametrize("version, spec, ok", [
    ("2.0.1", ">=2.1", False), ("2.1", ">=2.1", True), ("2.1.0", ">=2.1", True),
    ("2.13.0+cpu", ">=2.1", True), ("1.23.5", ">=1.24", False), ("1.24.0", ">=1.24", True),
    ("8.1.9", ">=8,<9", True), ("9.0.0", ">=8,<9", False), ("7.8.1", ">=8,<9", False),
    ("0.4.8", ">=0.4.9", False), ("0.4.10", ">=0.4.9", True), ("6.9", ">=6.25", False),
    ("unknown", ">=1", True), ("3.0.17", "", True)])
def test_versions_are_compared_in_full(version, spec, ok):
    assert checkup.version_in_range(version, spec) is ok


def test_a_torch_below_the_floor_is_reported(monkeypatch):
    monkeypatch.setattr(checkup.metadata, "version", lambda name: "2.0.1+cpu")
    old = checkup.check_package("torch")
    assert not old["ok"] and "the course needs torch>=2.1" in old["advice"]


# --- defect 7: matplotlib's, IPython's and Jupyter's folders -----------------------------
CONFIG_VARIABLES = ("MPLCONFIGDIR", "IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR")


def test_config_folders_follow_their_variables_and_are_not_created(tmp_path, monkeypatch):
    for name in CONFIG_VARIABLES:
        monkeypatch.setenv(name, str(tmp_path / name))
    assert checkup.config_folders() == [tmp_path / name for name in CONFIG_VARIABLES]
    assert checkup.check_config_folders() == {"ok": True, "value": "writable", "advice": ""}
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name == "nt", reason="the home folder comes from HOME on POSIX")
def test_a_home_folder_that_cannot_be_written_is_reported(tmp_path, monkeypatch):
    """Runs as root too: nothing can be created under a regular file."""
    home = tmp_path / "home"
    home.write_text("a file, not a folder")
    monkeypatch.setenv("HOME", str(home))
    for name in (*CONFIG_VARIABLES, "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME",
                 "JUPYTER_PLATFORM_DIRS"):
        monkeypatch.delenv(name, raising=False)
    result = checkup.check_config_folders()
    assert not result["ok"] and str(home / ".ipython") in result["value"]
    assert str(home) in result["value"].split(": ")[1].split(", ")[0]  # matplotlib's
    for name in (*CONFIG_VARIABLES, "JUPYTER_RUNTIME_DIR", "/tmp/$USER"):
        assert name in result["advice"]


# --- defect 8: a kernel.json that is not valid JSON -------------------------------------
def test_an_unreadable_kernel_json_is_named(tmp_path, monkeypatch):
    broken = tmp_path / "kernels" / "broken" / "kernel.json"
    good = tmp_path / "kernels" / "good" / "kernel.json"
    for path in (broken, good):
        path.parent.mkdir(parents=True)
    broken.write_text('{"argv": ["python", "-m",')
    good.write_text(json.dumps({"argv": ["python"], "display_name": "Good",
                                "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    from jupyter_client.kernelspec import KernelSpecManager

    unreadable = checkup.unreadable_kernel_specs(KernelSpecManager().find_kernel_specs())
    assert str(broken) in unreadable and str(good) not in unreadable
    result = checkup.check_kernel({}, jupyter_lab=None, unreadable=[str(broken)])
    assert not result["ok"] and "1 kernel.json unreadable" in result["value"]
    assert f"Jupyter skips {broken}" in result["advice"]
    assert "python -m ipykernel install --user" in result["advice"]
