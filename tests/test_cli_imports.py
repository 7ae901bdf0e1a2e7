"""`t2v-edu` imports only the module of the command it runs: `--help` and `doctor` work
where torch or Jupyter is missing.

Nothing is uninstalled: each test runs the command in a subprocess whose
``sitecustomize`` makes the named modules impossible to import."""
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from t2v_edu import checkup, cli

ROOT = Path(__file__).resolve().parent.parent
HIDE = '''"""Make the modules in T2V_TEST_HIDE (and their submodules) impossible to import."""
import os
import sys


class Hide:
    names = set(os.environ["T2V_TEST_HIDE"].split(","))

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Hide())
'''


def run_hiding(tmp_path: Path, hide: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m t2v_edu.cli *args`` where the modules in ``hide`` cannot be imported."""
    (tmp_path / "sitecustomize.py").write_text(HIDE)
    path = [str(tmp_path), str(ROOT)] + os.environ.get("PYTHONPATH", "").split(os.pathsep)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path)),
           "T2V_TEST_HIDE": hide, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    for name in (*checkup.SETTINGS, "T2V_DEVICE"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "t2v_edu.cli", *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, encoding="utf-8", timeout=300)


def rows(report: str) -> dict[str, str]:
    """The report's lines by check name (the mark and name dropped)."""
    found = {}
    for line in report.splitlines():
        for name in ("device", "torch threads", "widget front end", "jupyter kernel",
                     "jupyter runtime", "T2V settings"):
            if line[2:].startswith(name + " "):
                found[name] = line
    return found


def test_the_hiding_works(tmp_path):
    done = run_hiding(tmp_path, "torch", "generate", "a red circle moves left")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("t2v-edu generate: error: No module named 'torch'")


def test_help_lists_every_command_without_torch(tmp_path):
    done = run_hiding(tmp_path, "torch", "--help")
    assert done.returncode == 0, done.stderr
    for name, module_name in cli.COMMANDS.items():
        help_line = importlib.import_module(module_name).HELP
        assert f"    {name:<9} {help_line}" in done.stdout.splitlines(), done.stdout
    assert run_hiding(tmp_path, "torch", "doctor", "--help").returncode == 0


def test_an_unknown_command_is_argparses_usual_error(tmp_path):
    done = run_hiding(tmp_path, "torch", "doctr")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "error: argument COMMAND: invalid choice: 'doctr'" in done.stderr


def test_doctor_without_torch_prints_its_table(tmp_path):
    done = run_hiding(tmp_path, "torch", "doctor")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    found = rows(done.stdout)
    for name in ("device", "torch threads"):
        assert found[name].startswith("✗ ")
        assert "cannot be checked without torch" in found[name]
    assert found["T2V settings"].startswith("✓")
    assert 'pip install "torch>=2.1"' in done.stdout
    assert done.stdout.splitlines()[-1].endswith("then run the check again.")


def test_doctor_without_jupyter_prints_its_table(tmp_path):
    done = run_hiding(tmp_path, "jupyter_core,jupyter_client", "doctor")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    found = rows(done.stdout)
    for name in ("widget front end", "jupyter kernel", "jupyter runtime"):
        assert found[name].startswith("✗ ")
        assert "cannot be checked without jupyter" in found[name]
    assert done.stdout.count('pip install "jupyterlab>=4,<5"') >= 3


@pytest.mark.parametrize("command", ["doctor", "course"])
def test_a_light_command_imports_neither_torch_nor_the_other_commands(command):
    code = ("import sys; from t2v_edu import cli; cli.build_parser(sys.argv[1]); "
            "print(*sorted(m for m in sys.modules if m.startswith(('t2v_edu.', 'torch'))))")
    done = subprocess.run([sys.executable, "-c", code, command], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == sorted(["t2v_edu.cli", cli.COMMANDS[command]])
