"""The one-source notebook build: markers, nbgrader metadata, student copies, staleness."""
import json
import textwrap

import nbformat
import pytest

from t2v_edu import course

SOURCE = textwrap.dedent('''\
    # %% [markdown]
    # # 99 · Test notebook

    # %%
    import math
    x = 3

    # %% exercise="double"
    def double(x):
        """2 x"""
        for _ in range(1):
            ### BEGIN SOLUTION
            y = 2 * x
            return y
            ### END SOLUTION

    # %% check="double" points=2
    print("visible check", double(x))
    ### BEGIN HIDDEN TESTS
    assert double(5) == 10, "hidden"
    ### END HIDDEN TESTS
    print("after")

    # %% tags=["nbval-ignore-output"]
    print(math.pi)
    ''')


def write_repo(root, text=SOURCE, name="99_test.py"):
    (root / "solutions").mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text("")
    path = root / "solutions" / name
    path.write_text(text)
    return path


def test_load_source_sets_nbgrader_metadata_and_keeps_tags(tmp_path):
    nb = course.load_source(write_repo(tmp_path))
    kinds = [c.cell_type for c in nb.cells]
    assert kinds == ["markdown", "code", "code", "code", "code"]
    assert nb.cells[2].metadata == {"nbgrader": {
        "grade": False, "grade_id": "double", "locked": False, "schema_version": 3,
        "solution": True}}
    assert nb.cells[3].metadata == {"nbgrader": {
        "grade": True, "grade_id": "double_check", "locked": True, "points": 2,
        "schema_version": 3, "solution": False}}
    assert nb.cells[4].metadata == {"tags": ["nbval-ignore-output"]}
    assert nb.cells[1].metadata == {}  # jupytext layout keys are dropped
    assert nb.metadata == course.NOTEBOOK_METADATA
    nbformat.validate(nb)


def test_cell_ids_are_stable_and_unique(tmp_path):
    text = SOURCE + "\n# %%\nx = 3\n\n# %%\nx = 3\n"
    a = course.load_source(write_repo(tmp_path, text))
    b = course.load_source(write_repo(tmp_path, text))
    ids = [c.id for c in a.cells]
    assert ids == [c.id for c in b.cells]
    assert len(set(ids)) == len(ids)


def test_student_version_stubs_keep_indentation_and_hidden_tests_go(tmp_path):
    nb = course.load_source(write_repo(tmp_path))
    student = course.student_version(nb)
    assert student.cells[2].source == textwrap.dedent('''\
        def double(x):
            """2 x"""
            for _ in range(1):
                # YOUR CODE HERE
                raise NotImplementedError()''')
    check_cell = student.cells[3].source
    assert "hidden" not in check_cell and "HIDDEN" not in check_cell
    assert check_cell == 'print("visible check", double(x))\nprint("after")'
    # the source notebook is untouched; ids and grading metadata are shared
    assert "### BEGIN SOLUTION" in nb.cells[2].source
    assert [c.metadata.get("nbgrader") for c in student.cells] == \
        [c.metadata.get("nbgrader") for c in nb.cells]
    assert [c.id for c in student.cells] == [c.id for c in nb.cells]
    # as in nbgrader's release copy: graded cells cannot be deleted, checks not edited
    assert [c.metadata.get("deletable") for c in student.cells] == \
        [None, None, False, False, None]
    assert [c.metadata.get("editable") for c in student.cells] == \
        [None, None, None, False, None]
    assert "deletable" not in nb.cells[2].metadata


def test_student_version_clears_all_outputs():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(1)", execution_count=4)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.cells.append(cell)
    student = course.student_version(nb)
    assert student.cells[0].outputs == [] and student.cells[0].execution_count is None
    assert nb.cells[0].outputs  # not modified in place


@pytest.mark.parametrize("text, message", [
    ("print(1)\n", "no '# %%' cell markers"),
    ("# %% exercise=\"f\"\n### BEGIN SOLUTION\nx = 1\n# %% check=\"f\" points=1\nf\n",
     "has no '### END SOLUTION'"),
    ("# %% exercise=\"f\"\nx = 1\n### END SOLUTION\n# %% check=\"f\" points=1\nf\n",
     "without a '### BEGIN SOLUTION'"),
    ("# %% exercise=\"f\"\n### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n"
     "# %% check=\"f\" points=1\nf\n", "before the '### END SOLUTION'"),
    ("# %%\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "only allowed in an exercise"),
    ("# %% exercise=\"f\"\nx = 1\n# %% check=\"f\" points=1\nf\n", "needs a '### BEGIN"),
    ("# %% exercise=\"f\"\n### BEGIN SOLUTION\n### END SOLUTION\n", "have no check cell"),
    ("# %% exercise=\"f\"\n### BEGIN SOLUTION\n### END SOLUTION\n# %% check=\"f\"\nf\n",
     "needs points=N"),
    ("# %% check=\"g\" points=1\nf\n", "comes before (or without)"),
    ("# %% check=\"g\" points=1\n### BEGIN HIDDEN TESTS\nf\n", "has no '### END HIDDEN"),
    ("# %%\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n", "only allowed in a check"),
    ("# %% exercize=\"f\"\nx = 1\n", "unknown cell option(s) ['exercize']"),
])
def test_malformed_sources_give_clear_errors(tmp_path, text, message):
    with pytest.raises(ValueError, match=None) as info:
        course.load_source(write_repo(tmp_path, text))
    assert message in str(info.value)
    assert "99_test.py" in str(info.value)


def test_build_without_execution_then_check(tmp_path):
    write_repo(tmp_path)
    written = course.build(["99"], execute=False, root=tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "solutions/99_test.ipynb", "notebooks/99_test.ipynb"]
    student = nbformat.read(tmp_path / "notebooks" / "99_test.ipynb", as_version=4)
    assert "raise NotImplementedError()" in student.cells[2].source
    problems = course.check(tmp_path)
    # the student copy is fresh; the solution copy was never executed
    assert problems and all("never executed" in p for p in problems)
    # a second build writes the same bytes
    before = (tmp_path / "notebooks" / "99_test.ipynb").read_bytes()
    course.build(["99_test"], execute=False, root=tmp_path)
    assert (tmp_path / "notebooks" / "99_test.ipynb").read_bytes() == before


def test_build_executes_and_check_detects_staleness(tmp_path):
    source = write_repo(tmp_path)
    course.build(execute=True, root=tmp_path, timeout=120)
    solution = tmp_path / "solutions" / "99_test.ipynb"
    text = solution.read_text()
    assert text.endswith("}\n") and '"execution"' not in text  # no timing metadata
    assert json.loads(text)["metadata"] == course.NOTEBOOK_METADATA  # no python version
    nb = nbformat.read(solution, as_version=4)
    assert nb.cells[3].outputs[0]["text"] == "visible check 6\nafter\n"
    assert course.check(tmp_path) == []

    # the source changes: both copies are stale
    source.write_text(SOURCE.replace("x = 3", "x = 4"))
    problems = course.check(tmp_path)
    assert any("notebooks/99_test.ipynb is stale" in p for p in problems)
    assert any("solutions/99_test.ipynb is stale" in p for p in problems)

    # someone edits the student copy by hand
    source.write_text(SOURCE)
    student = tmp_path / "notebooks" / "99_test.ipynb"
    student.write_text(student.read_text().replace("YOUR CODE HERE", "my code"))
    assert course.check(tmp_path) == [
        "notebooks/99_test.ipynb is stale (it differs from what solutions/99_test.py "
        "generates): run `t2v-edu course build 99`"]


def test_check_reports_stored_errors_missing_and_orphans(tmp_path):
    write_repo(tmp_path)
    course.build(execute=False, root=tmp_path)
    solution = tmp_path / "solutions" / "99_test.ipynb"
    nb = nbformat.read(solution, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = 1
    nb.cells[1].outputs = [nbformat.v4.new_output(
        "error", ename="NameError", evalue="x", traceback=[])]
    nbformat.write(nb, solution)
    (tmp_path / "notebooks" / "99_test.ipynb").unlink()
    (tmp_path / "notebooks" / "42_orphan.ipynb").write_text("{}")
    problems = course.check(tmp_path)
    assert any("cell 2 ('import math') has a stored error" in p for p in problems)
    assert any("notebooks/99_test.ipynb is missing" in p for p in problems)
    assert any("notebooks/42_orphan.ipynb has no source" in p for p in problems)


def fake_execution(solution):
    """Give every code cell of a built solution an output, as a real run would."""
    nb = nbformat.read(solution, as_version=4)
    for k, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = k + 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"run {k}\n")]
    nbformat.write(nb, solution)
    return [c.outputs for c in nb.cells if c.cell_type == "code"]


def test_prose_build_keeps_outputs_and_refuses_changed_code(tmp_path, monkeypatch, capsys):
    from t2v_edu.cli import main

    monkeypatch.chdir(tmp_path)  # the CLI builds the checkout it is run in
    source = write_repo(tmp_path)
    course.build(execute=False, root=tmp_path)
    solution = tmp_path / "solutions" / "99_test.ipynb"
    outputs = fake_execution(solution)
    source.write_text(SOURCE.replace("# # 99 · Test notebook", "# # 99 · A new title"))
    prose = "run `t2v-edu course build 99` (only Markdown changed: `--prose` keeps the outputs)"
    assert course.check(tmp_path) == [
        "notebooks/99_test.ipynb is stale (it differs from what solutions/99_test.py "
        f"generates): {prose}",
        f"solutions/99_test.ipynb is stale (its cells differ from solutions/99_test.py): {prose}"]

    assert main(["course", "build", "99", "--prose"]) == 0
    nb = nbformat.read(solution, as_version=4)
    assert nb.cells[0].source == "# 99 · A new title"
    assert [c.outputs for c in nb.cells if c.cell_type == "code"] == outputs
    assert course.check(tmp_path) == []

    before = solution.read_bytes()
    source.write_text(SOURCE.replace("x = 3", "x = 4"))
    assert "--prose" not in " ".join(course.check(tmp_path))  # code changed: run it
    capsys.readouterr()
    assert main(["course", "build", "99", "--prose"]) == 1
    assert "a code cell or the metadata changed" in capsys.readouterr().err
    assert solution.read_bytes() == before  # nothing written
    assert main(["course", "build", "99", "--timeout", "0"]) == 2
    assert "--timeout must be at least 1 second per cell, got 0" in capsys.readouterr().err
    assert solution.read_bytes() == before


def test_prose_build_refuses_a_notebook_with_no_stored_outputs(tmp_path, monkeypatch, capsys):
    """--prose needs outputs to keep: a notebook never built, or built with --no-execute,
    is refused with what to do, and the other notebooks are still built."""
    from t2v_edu.cli import main

    monkeypatch.chdir(tmp_path)
    write_repo(tmp_path)
    write_repo(tmp_path, SOURCE.replace("99 ·", "98 ·"), name="98_new.py")
    course.build(["99"], execute=False, root=tmp_path)
    assert main(["course", "build", "98", "99", "--prose"]) == 1
    out, err = capsys.readouterr()
    assert ("solutions/98_new.ipynb was never built, so there are no outputs to keep: "
            "build without --prose to run it") in err
    assert "the stored notebook was never executed (built with --no-execute)" in err
    assert "failed: 98_new, 99_test" in err
    assert not (tmp_path / "solutions" / "98_new.ipynb").exists()

    fake_execution(tmp_path / "solutions" / "99_test.ipynb")
    assert main(["course", "build", "98", "99", "--prose"]) == 1
    out, err = capsys.readouterr()
    assert "wrote solutions/99_test.ipynb" in out and "failed: 98_new" in err


def test_execution_error_names_the_cell_and_writes_nothing(tmp_path):
    write_repo(tmp_path, "# %%\nx = 1\n\n# %%\nraise RuntimeError('boom')\n")
    with pytest.raises(course.BuildError, match=r"cell 2 \(.raise RuntimeError") as info:
        course.build(root=tmp_path, timeout=60)
    assert "RuntimeError: boom" in str(info.value)  # plain text, no colour codes
    assert not (tmp_path / "solutions" / "99_test.ipynb").exists()


def test_unknown_notebook_name_lists_the_available_ones(tmp_path):
    write_repo(tmp_path)
    with pytest.raises(ValueError, match="no notebook source matches '42'.*99_test"):
        course.sources(tmp_path, ["42"])


def test_notebook_env_forces_cpu_and_smoke_setting(monkeypatch):
    monkeypatch.setenv("T2V_SMOKE", "1")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    env = course.notebook_env()
    assert "T2V_SMOKE" not in env
    assert env["CUDA_VISIBLE_DEVICES"] == "" and env["T2V_PRESET"] == "cpu"
    assert env["T2V_DEVICE"] == "cpu" and env["T2V_THREADS"] == "1"
    assert course.notebook_env(smoke=True)["T2V_SMOKE"] == "1"


def test_check_reports_a_malformed_source_and_goes_on(tmp_path):
    write_repo(tmp_path)
    course.build(execute=False, root=tmp_path)
    write_repo(tmp_path, "print(1)\n", name="98_broken.py")
    problems = course.check(tmp_path)
    assert any("98_broken.py is not a jupytext py:percent file" in p for p in problems)
    assert any("99_test.ipynb" in p and "never executed" in p for p in problems)


def test_cli_build_reports_failures_and_builds_the_rest(tmp_path, monkeypatch, capsys):
    import argparse

    write_repo(tmp_path)
    write_repo(tmp_path, "print(1)\n", name="98_broken.py")
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser()
    course.add_arguments(parser)
    assert course.cli(parser.parse_args(["build", "--no-execute"])) == 1
    out, err = capsys.readouterr()
    assert "wrote notebooks/99_test.ipynb" in out
    assert "98_broken.py is not a jupytext py:percent file" in err and "failed: 98_broken" in err
    assert course.cli(parser.parse_args(["check"])) == 1


def test_a_print_split_across_flushes_is_stored_as_one_output():
    out = [nbformat.v4.new_output("stream", name="stdout", text="caption:"),
           nbformat.v4.new_output("stream", name="stdout", text=" 'a red circle'\n"),
           nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
           nbformat.v4.new_output("execute_result", data={"text/plain": "1"}),
           nbformat.v4.new_output("stream", name="stdout", text="after\n")]
    merged = course.merge_streams(out)
    assert [(o["output_type"], o.get("name"), o.get("text")) for o in merged] == [
        ("stream", "stdout", "caption: 'a red circle'\n"), ("stream", "stderr", "warning\n"),
        ("execute_result", None, None), ("stream", "stdout", "after\n")]
