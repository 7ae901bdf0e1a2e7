"""t2v_edu.doctor(): the installation report."""
import argparse
import os
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


def test_writable_folder_and_disk(tmp_path):
    assert checkup.check_writable(tmp_path) == {"ok": True, "value": "yes", "advice": ""}
    assert list(tmp_path.iterdir()) == []  # the probe file is gone
    assert checkup.check_disk(tmp_path)["value"].endswith("GB free")


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
