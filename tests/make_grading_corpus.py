"""Build a corpus of good and bad submissions of one notebook, with expected statuses.

    python tests/make_grading_corpus.py OUT [--source solutions/00_welcome.py]

writes ``OUT/<kind>/<notebook>.ipynb`` (one student folder per kind) and
``OUT/expected.json`` ({kind: {grade_id: status}}). The default source is the small
``tests/grading_corpus/99_grading_demo.py``; any course source works (the kinds that
need three exercises or the demo's function names are made for those only). Bad
answers use only the stub's ``def`` line, so they fit any exercise that is a function. tests/test_grading.py grades the corpus.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
DEMO_SOURCE = HERE / "grading_corpus" / "99_grading_demo.py"
sys.path.insert(0, str(HERE.parent))

from t2v_edu import course, grading  # noqa: E402

P, F, N = grading.PASSED, grading.FAILED, grading.NOT_DONE


def with_body(stub: str, body: str) -> str:
    """The stub with its ``raise NotImplementedError()`` line replaced by ``body``."""
    lines = stub.split("\n")
    k = next(i for i, line in enumerate(lines) if "raise NotImplementedError()" in line)
    indent = lines[k][:len(lines[k]) - len(lines[k].lstrip())]
    return "\n".join(lines[:k] + [indent + b for b in body.split("\n")] + lines[k + 1:])


def answer_cells(nb) -> dict[str, "nbformat.NotebookNode"]:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def build_corpus(out: str | Path, source: str | Path = DEMO_SOURCE,
                 spy_file: str | None = None) -> dict[str, dict[str, str]]:
    """Write the corpus; returns the expected status of each exercise of each kind."""
    out = Path(out)
    source_nb = course.load_source(source)
    name = Path(source).stem
    exercises = grading.exercises_of(source_nb)
    order = [e.grade_id for e in exercises]
    # a, b, c: the first three exercises (the same one when the notebook has fewer).
    a, b, c = (order[min(k, len(order) - 1)] for k in range(3))
    blank = course.student_version(source_nb)
    solutions = {gid: cell.source for gid, cell in answer_cells(source_nb).items()}
    stubs = {e.grade_id: e.stub for e in exercises}
    expected: dict[str, dict[str, str]] = {}

    def solved(*changes: tuple[str, str]):
        nb = copy.deepcopy(blank)
        answers = dict(solutions)
        answers.update(changes)
        for gid, cell in answer_cells(nb).items():
            cell.source = answers[gid]
        return nb

    def save(kind: str, nb_or_text, *overrides: dict[str, str]) -> None:
        folder = out / kind
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.ipynb"
        if isinstance(nb_or_text, (str, bytes)):
            data = nb_or_text.encode() if isinstance(nb_or_text, str) else nb_or_text
            path.write_bytes(data)
        else:
            nbformat.write(nb_or_text, path)
        statuses = {gid: P for gid in order}
        for override in overrides:
            statuses.update(override)
        expected[kind] = statuses

    def everywhere(status: str) -> dict[str, str]:
        return {gid: status for gid in order}

    def from_on(gid: str, status: str) -> dict[str, str]:
        return {g: status for g in order[order.index(gid):]}

    body = lambda gid, text: with_body(stubs[gid], text)  # noqa: E731
    save("correct", solved())
    save("blank", blank, everywhere(N))
    save("not_json", b"\x89PNG\r\n this is not a notebook", everywhere(grading.UNREADABLE))
    save("not_notebook", '{"hello": "world"}', everywhere(grading.NOT_NOTEBOOK))
    save("nbformat3", json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                                  "worksheets": [{"cells": []}]}),
         everywhere(grading.NBFORMAT))
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "def f(x):\n    return x", metadata={"nbgrader": {
            "grade_id": "some_other_exercise", "solution": True, "grade": False,
            "locked": False, "schema_version": 3}})])
    save("wrong_notebook", other, everywhere(grading.WRONG_NOTEBOOK))
    save("syntax_error", solved((a, solutions[a] + "\nreturn ids +")), {a: grading.ERROR})
    save("exception", solved((b, body(b, "raise ValueError('oops')"))), {b: F})
    save("wrong_values", solved((c, body(c, "return None"))), {c: F})
    # right, but warns: the warning reaches the feedback as a note, as in the notebook
    save("warns", solved((a, solutions[a] + f"\n_{a}_quiet = {a}\n\n"
                          f"def {a}(*args, **kwargs):\n    import warnings\n"
                          f"    warnings.warn('an answer that warns', FutureWarning)\n"
                          f"    return _{a}_quiet(*args, **kwargs)\n")))
    save("endless_loop", solved((b, body(b, "while True:\n    pass"))), {b: grading.TIMEOUT})
    save("slow_cell", solved((c, "import time\ntime.sleep(600)\n" + solutions[c])),
         {c: grading.TIMEOUT})
    save("os_exit", solved((b, body(b, "import os\nos._exit(1)"))), from_on(b, grading.DIED))
    save("segfault", solved((c, "import ctypes\nctypes.string_at(0)\n" + solutions[c])),
         from_on(c, grading.DIED))
    save("memory_hog", solved((a, body(a, "import torch\nhog = []\nwhile len(hog) < 60:\n"
                                           "    hog.append(torch.ones(25_000_000))"))),
         from_on(a, grading.MEMORY))
    save("huge_output", solved((b, solutions[b] + "\nprint('x' * 30_000_000)")),
         from_on(b, grading.OUTPUT))
    nb = solved()
    nb.cells = [x for x in nb.cells if x.metadata.get("nbgrader", {}).get("grade_id") != b]
    save("missing_answer", nb, {b: N})

    # Locked cells deleted, edited, reordered; an answer cell duplicated.
    if len(order) >= 3:
        nb = solved((b, body(b, "return None")))
        cells = []
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if gid == f"{a}_check":
                continue                                   # deleted check cell
            if gid == f"{b}_check":
                cell = copy.deepcopy(cell)
                cell.source = "print('✓ all tests passed')"   # edited check cell
            cells.append(cell)
            if gid == c:                                   # duplicated answer cell
                wrong = copy.deepcopy(cell)
                wrong.source = body(c, "return None")
                wrong.id = "duplicate"
                cells.append(wrong)
        check_c = next(i for i, x in enumerate(cells)
                       if x.metadata.get("nbgrader", {}).get("grade_id") == f"{c}_check")
        cells.insert(0, cells.pop(check_c))                # reordered: check cell first
        nb.cells = cells
        save("edited_cells", nb, {b: F})

    # Forgery: printing fake results, patching the checks and torch/numpy comparisons.
    fake = ("print('✓ all exercises passed: 100%')\n"
            "print('student,notebook,grade_id,points,max_points,status,message')\n")
    save("fake_output", solved(*[(gid, fake + stubs[gid]) for gid in {a, b, c}]),
         {gid: N for gid in (a, b, c)})
    patch = ("import numpy, torch, builtins\n"
             "from t2v_edu import exercise as _ex\n"
             "_ex.assert_matches = lambda *a, **k: None\n"
             "_ex.check = lambda student, reference, *a, **k: student\n"
             "_ex.run_check = lambda *a, **k: _ex.CheckResult('passed', 'ok')\n"
             "_ex.describe_difference = lambda *a, **k: None\n"
             "torch.allclose = lambda *a, **k: True\n"
             "torch.equal = lambda *a, **k: True\n"
             "torch.Tensor.__eq__ = lambda *a, **k: True\n"
             "numpy.allclose = lambda *a, **k: True\n"
             "numpy.testing.assert_allclose = lambda *a, **k: None\n")
    save("monkeypatch", solved(*[(gid, (patch if gid == a else "") + body(gid, "return None"))
                                 for gid in {a, b, c}]), {gid: F for gid in (a, b, c)})

    if Path(source).resolve() == DEMO_SOURCE.resolve():
        save("delegation", solved(
            (a, body(a, "return text.one_hot_embed(ids, W)")),
            (b, "from torch import softmax as sm\n" + body(b, "return sm(x, dim=-1)"))),
             {a: grading.DELEGATED, b: grading.DELEGATED})
        save("delegation_embedding", solved(
            (a, body(a, "return torch.nn.functional.embedding(ids, W)")),
            (b, body(b, "return x.softmax(-1)"))),
             {a: grading.DELEGATED, b: grading.DELEGATED})
        trick = ("class Liar(torch.Tensor):\n"
                 "    def __eq__(self, other): return True\n"
                 "    @classmethod\n"
                 "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
                 "        return True\n")
        # an input edited in place: the student kernel's edit must reach the check
        save("in_place", solved((c, body(c, "x.pow_(2)\nreturn x.mean()"))), {c: F})
        save("fake_tensor", solved(
            (c, trick + body(c, "return torch.zeros(()).as_subclass(Liar)"))), {c: F})
    if spy_file:
        spy = ("import sys\n"
               f"_spy = open({spy_file!r}, 'a')\n"
               "def _record(info):\n"
               "    _spy.write(info.raw_cell + '\\n'); _spy.flush()\n"
               "get_ipython().events.register('pre_run_cell', _record)\n"
               "get_ipython().input_transformers_cleanup.append("
               "lambda lines: (_spy.write(''.join(lines)), _spy.flush(), lines)[2])\n")
        save("read_hidden", solved((a, spy + solutions[a])))
    (out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True))
    return expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--source", default=str(DEMO_SOURCE))
    args = parser.parse_args()
    expected = build_corpus(args.out, args.source)
    print(f"wrote {len(expected)} submissions to {args.out}")


if __name__ == "__main__":
    main()
