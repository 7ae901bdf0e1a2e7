"""The course works with nbgrader itself, as the README's "With nbgrader instead" says.

nbgrader's own release copy of every solution notebook is our student copy (the same
cells, sources and grading metadata), and `nbgrader autograde` gives a solution full
marks and an untouched student copy zero.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
GRADED = ("grade_id", "grade", "solution", "locked", "points")


def nbgrader(course: Path, *args: str, env: dict | None = None) -> str:
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stderr


def new_course(tmp_path: Path, assignment: str, notebooks: list[Path]) -> Path:
    course = tmp_path / "course"
    (course / "source" / assignment).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "t2v-edu"\n')
    for path in notebooks:
        shutil.copy(path, course / "source" / assignment / path.name)
    return course


def cells(path: Path) -> list[tuple]:
    """What a learner sees and what grading depends on, per cell."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for cell in nb["cells"]:
        meta = cell["metadata"]
        grading = meta.get("nbgrader", {})
        out.append((cell["cell_type"], "".join(cell["source"]),
                    tuple(grading.get(k) for k in GRADED),
                    meta.get("deletable", True), meta.get("editable", True)))
    return out


def test_nbgrader_release_copies_are_our_student_notebooks(tmp_path):
    course = new_course(tmp_path, "course", SOLUTIONS)
    nbgrader(course, "generate_assignment", "course", "--force")
    for solution in SOLUTIONS:
        released = course / "release" / "course" / solution.name
        ours = ROOT / "notebooks" / solution.name
        assert cells(released) == cells(ours), solution.name


def kernel_env(tmp_path: Path) -> dict:
    """Environment whose "python3" kernel is this Python, whatever the user's specs."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path / "jupyter"), T2V_SMOKE="1",
               OMP_NUM_THREADS="1", T2V_THREADS="1")
    return env


@pytest.mark.xdist_group("nbgrader_autograde")
def test_nbgrader_autograde_scores_solution_full_and_blank_zero(tmp_path):
    name = "01_text_to_vectors.ipynb"
    course = new_course(tmp_path, "lab", [ROOT / "solutions" / name])
    env = kernel_env(tmp_path)
    nbgrader(course, "generate_assignment", "lab", "--force", env=env)
    for student, notebook in (("solution", ROOT / "solutions" / name),
                              ("blank", ROOT / "notebooks" / name)):
        nbgrader(course, "db", "student", "add", student, env=env)
        folder = course / "submitted" / student / "lab"
        folder.mkdir(parents=True)
        shutil.copy(notebook, folder / name)
    nbgrader(course, "autograde", "lab", "--force", env=env)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s: gradebook.find_submission("lab", s).score for s in ("solution", "blank")}
        max_score = gradebook.find_submission("lab", "solution").max_score
    assert max_score == 4
    assert scores == {"solution": 4, "blank": 0}
