"""Every student notebook runs top to bottom with no exercise done.

Each ``notebooks/NN_name.ipynb`` is executed with the kernel of this Python, on the
CPU, in the smoke setting (``T2V_SMOKE=1``: training cells take 2 steps), in a fresh
temporary folder. Any error fails the test and names the cell. Check cells must write
nothing to stderr (nbgrader scores a test cell 0 on any stderr output). Outputs are
not compared: that is nbval's job on ``solutions/``.
"""
from pathlib import Path

import nbformat
import pytest

from t2v_edu import course

ROOT = Path(__file__).resolve().parents[1]
STUDENT_NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=[p.stem for p in STUDENT_NOTEBOOKS])
def test_student_notebook_runs_top_to_bottom(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    course.execute(nb, cwd=tmp_path, smoke=True, name=f"notebooks/{path.name}")
    for k, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade"):
            stderr = "".join(o.get("text", "") for o in cell.get("outputs", [])
                             if o.get("output_type") == "stream" and o.get("name") == "stderr")
            assert not stderr, (f"notebooks/{path.name} check cell {k + 1} "
                                f"({cell.metadata['nbgrader']['grade_id']}) writes to "
                                f"stderr, which nbgrader scores 0:\n{stderr}")
