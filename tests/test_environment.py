"""environment.yml (conda) lists the same packages as pyproject.toml (pip)."""
import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
ROOT = Path(__file__).resolve().parents[1]
# PyPI name -> conda-forge name where they differ
CONDA_NAME = {"torch": "pytorch", "playwright": "playwright-python"}


def split_requirement(req: str) -> tuple[str, str]:
    name = re.match(r"[A-Za-z0-9_.\-]+", req).group(0).lower()
    return name, req[len(name):].replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(split_requirement(r) for r in reqs)


def conda_requirements() -> tuple[dict[str, str], list]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    plain = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    return dict(split_requirement(d) for d in plain), pip, env


def test_environment_parses_and_uses_conda_forge_only():
    _, pip, env = conda_requirements()
    assert env["channels"] == ["conda-forge"]
    assert pip == [["-e .[test]"]], "the pip section installs the package itself"


def test_environment_lists_the_same_packages_as_pyproject():
    conda, _, _ = conda_requirements()
    for name, spec in pyproject_requirements().items():
        conda_name = CONDA_NAME.get(name, name)
        assert conda_name in conda, f"{name} is in pyproject.toml but not in environment.yml"
        assert conda[conda_name] == spec, f"{name}: pyproject says {spec!r}, conda {conda[conda_name]!r}"
    extra = set(conda) - {CONDA_NAME.get(n, n) for n in pyproject_requirements()} - {"python", "pip"}
    assert not extra, f"environment.yml lists packages pyproject.toml does not: {sorted(extra)}"


def test_python_versions_agree():
    conda, _, _ = conda_requirements()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert conda["python"] == project["requires-python"]
