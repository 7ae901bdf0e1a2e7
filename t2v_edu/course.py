"""One source per notebook, two generated notebooks.

``solutions/NN_name.py`` (jupytext ``py:percent``) is the only file anyone edits.
``t2v-edu course build`` turns it into

- ``solutions/NN_name.ipynb``: complete, executed on the CPU with the ``cpu`` preset,
  outputs stored (the reference nbval compares against), and
- ``notebooks/NN_name.ipynb``: the student copy: ``### BEGIN SOLUTION`` blocks become
  a stub, ``### BEGIN HIDDEN TESTS`` blocks are removed, no outputs.

Cell options in the source (``# %% exercise="id"``, ``# %% check="id" points=2``) become
nbgrader schema-3 cell metadata, so nbgrader users can take ``solutions/`` as their
source folder. ``t2v-edu course check`` reports generated files that are stale.

``load_source`` and ``student_version`` are pure (no execution): the grader uses them.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: nbformat is imported where a notebook is read
    import nbformat

HELP = "Build the course notebooks from their sources, or check they are up to date."

SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
STUB_CODE = ("# YOUR CODE HERE", "raise NotImplementedError()")

SOURCE_NAME = re.compile(r"^(\d\d)_[a-z0-9_]+\.py$")
# Cell metadata kept in the built notebooks; jupytext's own layout keys are dropped.
KEPT_CELL_KEYS = ("tags", "jupyter", "slideshow", "editable", "deletable", "collapsed",
                  "scrolled")
JUPYTEXT_CELL_KEYS = ("lines_to_next_cell", "cell_marker", "region_name", "title",
                      "lines_to_end_of_cell_marker", "incorrectly_encoded_metadata")
OPTION_KEYS = ("exercise", "check", "points")

# Notebook metadata of every built notebook: nothing that varies between machines.
NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                   "name": "python3"},
    "language_info": {"codemirror_mode": {"name": "ipython", "version": 3},
                      "file_extension": ".py", "mimetype": "text/x-python",
                      "name": "python", "nbconvert_exporter": "python",
                      "pygments_lexer": "ipython3"},
}

# The settings the build executes under, and CI's nbval run too (the root conftest.py):
# CPU, the cpu preset, one thread, full training budgets.
NOTEBOOK_ENV = {"T2V_PRESET": "cpu", "T2V_DEVICE": "cpu", "CUDA_VISIBLE_DEVICES": "",
                "T2V_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
DEFAULT_TIMEOUT = 900  # seconds per cell


class BuildError(RuntimeError):
    """A notebook failed to execute; the message names the notebook and the cell."""


# ---------------------------------------------------------------------------------
# Reading a source
# ---------------------------------------------------------------------------------
def load_source(path: str | os.PathLike) -> "nbformat.NotebookNode":  # noqa: F821
    """Read ``solutions/NN_name.py`` into a notebook with nbgrader metadata.

    - ``exercise="id"`` -> answer cell: {grade: false, solution: true, locked: false,
      grade_id: id, schema_version: 3}
    - ``check="id" points=N`` -> test cell: {grade: true, solution: false, locked: true,
      points: N, grade_id: id + "_check", schema_version: 3}
    Tags are kept; cell ids are derived from the cell's content, so they are stable.
    Raises ValueError for a file that is not ``py:percent`` or has malformed markers.
    """
    import jupytext
    import nbformat

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if not re.search(r"^# %%", text, flags=re.MULTILINE):
        raise ValueError(f"{path.name} is not a jupytext py:percent file: it has no "
                         "'# %%' cell markers. Start each cell with '# %%' (code) or "
                         "'# %% [markdown]'; see CONTRIBUTING.md")
    nb = jupytext.reads(text, fmt="py:percent")
    exercises, checks = set(), set()
    for k, cell in enumerate(nb.cells):
        where = f"{path.name}, cell {k + 1} ({_first_line(cell.source)!r})"
        cell.metadata = _cell_metadata(cell, where)
        grading = cell.metadata.get("nbgrader", {})
        _check_markers(cell, grading, where)
        if grading.get("solution"):
            if grading["grade_id"] in exercises:
                raise ValueError(f"{where}: exercise id {grading['grade_id']!r} is used "
                                 "twice")
            exercises.add(grading["grade_id"])
        elif grading.get("grade"):
            exercise_id = grading["grade_id"][:-len("_check")]
            if exercise_id not in exercises:
                raise ValueError(f"{where}: check={exercise_id!r} comes before (or "
                                 f"without) its cell exercise={exercise_id!r}")
            if exercise_id in checks:
                raise ValueError(f"{where}: exercise {exercise_id!r} has two check cells")
            checks.add(exercise_id)
    if exercises - checks:
        raise ValueError(f"{path.name}: exercise(s) {sorted(exercises - checks)} have no "
                         "check cell (# %% check=\"id\" points=N)")
    _set_cell_ids(nb)
    nb.metadata = copy.deepcopy(NOTEBOOK_METADATA)
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def _first_line(source: str) -> str:
    return source.strip().split("\n", 1)[0][:50] if source.strip() else ""


def _cell_metadata(cell, where: str) -> dict:
    """Turn the cell options of the source into the metadata of the built cell."""
    meta = dict(cell.metadata)
    unknown = set(meta) - set(KEPT_CELL_KEYS) - set(JUPYTEXT_CELL_KEYS) - set(OPTION_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown cell option(s) {sorted(unknown)}; use "
                         "exercise=\"id\", check=\"id\" points=N, or tags=[...]")
    out = {key: meta[key] for key in KEPT_CELL_KEYS if key in meta}
    if "exercise" in meta and "check" in meta:
        raise ValueError(f"{where}: a cell is either exercise=... or check=..., not both")
    if "exercise" in meta:
        exercise_id = _check_id(meta["exercise"], where)
        if "points" in meta:
            raise ValueError(f"{where}: points belong on the check cell, not the "
                             "exercise cell")
        out["nbgrader"] = {"grade": False, "grade_id": exercise_id, "locked": False,
                           "schema_version": 3, "solution": True}
    elif "check" in meta:
        exercise_id = _check_id(meta["check"], where)
        points = meta.get("points")
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
            raise ValueError(f"{where}: check={exercise_id!r} needs points=N with N > 0, "
                             f"got {points!r}")
        out["nbgrader"] = {"grade": True, "grade_id": f"{exercise_id}_check",
                           "locked": True, "points": points, "schema_version": 3,
                           "solution": False}
    elif "points" in meta:
        raise ValueError(f"{where}: points=... only goes with check=\"id\"")
    if ("exercise" in meta or "check" in meta) and cell.cell_type != "code":
        raise ValueError(f"{where}: exercise and check cells must be code cells")
    return out


def _check_id(value, where: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError(f"{where}: exercise ids are identifiers like \"one_hot_embed\", "
                         f"got {value!r}")
    return value


def _set_cell_ids(nb) -> None:
    """Ids from a hash of each cell's type and source: stable, small diffs."""
    seen: dict[str, int] = {}
    for cell in nb.cells:
        digest = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:8]
        seen[digest] = seen.get(digest, 0) + 1
        cell.id = digest if seen[digest] == 1 else f"{digest}-{seen[digest]}"


def _find_blocks(lines: list[str], begin: str, end: str, where: str) -> list[tuple[int, int]]:
    """(begin line, end line) of each marker block; ValueError when unbalanced."""
    blocks, start = [], None
    for i, line in enumerate(lines):
        marker = line.strip()
        if marker == begin:
            if start is not None:
                raise ValueError(f"{where}: '{begin}' on line {i + 1} before the "
                                 f"'{end}' of the block opened on line {start + 1}")
            start = i
        elif marker == end:
            if start is None:
                raise ValueError(f"{where}: '{end}' on line {i + 1} without a "
                                 f"'{begin}' before it")
            blocks.append((start, i))
            start = None
    if start is not None:
        raise ValueError(f"{where}: '{begin}' on line {start + 1} has no '{end}'")
    return blocks


def _check_markers(cell, grading: dict, where: str) -> None:
    lines = cell.source.split("\n")
    solutions = _find_blocks(lines, SOLUTION_BEGIN, SOLUTION_END, where)
    hidden = _find_blocks(lines, HIDDEN_BEGIN, HIDDEN_END, where)
    if solutions and not grading.get("solution"):
        raise ValueError(f"{where}: '{SOLUTION_BEGIN}' is only allowed in an "
                         "exercise=\"id\" cell")
    if grading.get("solution") and not solutions:
        raise ValueError(f"{where}: an exercise cell needs a '{SOLUTION_BEGIN}' ... "
                         f"'{SOLUTION_END}' block")
    if hidden and not grading.get("grade"):
        raise ValueError(f"{where}: '{HIDDEN_BEGIN}' is only allowed in a "
                         "check=\"id\" cell")


# ---------------------------------------------------------------------------------
# The student copy
# ---------------------------------------------------------------------------------
def strip_solutions(source: str, stub: tuple[str, ...] = STUB_CODE) -> str:
    """Replace each SOLUTION block by the stub, indented like its BEGIN line."""
    lines = source.split("\n")
    out, last = [], 0
    for begin, end in _find_blocks(lines, SOLUTION_BEGIN, SOLUTION_END, "cell"):
        indent = lines[begin][:len(lines[begin]) - len(lines[begin].lstrip())]
        out += lines[last:begin] + [indent + s for s in stub]
        last = end + 1
    return "\n".join(out + lines[last:])


def strip_hidden_tests(source: str) -> str:
    """Remove each HIDDEN TESTS block, markers included."""
    lines = source.split("\n")
    out, last = [], 0
    for begin, end in _find_blocks(lines, HIDDEN_BEGIN, HIDDEN_END, "cell"):
        out += lines[last:begin]
        last = end + 1
    return "\n".join(out + lines[last:]).rstrip("\n")


def student_version(nb: "nbformat.NotebookNode") -> "nbformat.NotebookNode":  # noqa: F821
    """The student copy of a source notebook: stubs, no hidden tests, no outputs.

    As in nbgrader's release copies, answer and check cells cannot be deleted in
    JupyterLab, and check cells cannot be edited.
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        grading = cell.metadata.get("nbgrader", {})
        if grading.get("solution"):
            cell.source = strip_solutions(cell.source)
        if grading.get("grade"):
            cell.source = strip_hidden_tests(cell.source)
        if grading.get("solution") or grading.get("grade"):
            cell.metadata["deletable"] = False
        if grading.get("locked"):
            cell.metadata["editable"] = False
    return nb


# ---------------------------------------------------------------------------------
# Executing and writing
# ---------------------------------------------------------------------------------
def notebook_env(smoke: bool = False) -> dict[str, str]:
    """The environment notebooks run in: this one plus NOTEBOOK_ENV; T2V_SMOKE set
    to 1 when ``smoke``, removed otherwise."""
    env = dict(os.environ)
    env.update(NOTEBOOK_ENV)
    env.pop("T2V_SMOKE", None)
    if smoke:
        env["T2V_SMOKE"] = "1"
    return env


def _kernel_manager():
    """A kernel manager whose "python3" is the Python running this code."""
    import ipykernel.kernelspec
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    class CurrentEnvSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())

    return KernelManager(kernel_name="python3", kernel_spec_manager=CurrentEnvSpecs())


def execute(nb: "nbformat.NotebookNode", cwd: str | os.PathLike,  # noqa: F821
            timeout: int = DEFAULT_TIMEOUT, smoke: bool = False,
            name: str = "notebook") -> "nbformat.NotebookNode":  # noqa: F821
    """Execute ``nb`` in place (and return it) with the kernel of this Python, in ``cwd``.

    The environment is ``notebook_env(smoke)``: CPU, the cpu preset, one thread.
    Raises BuildError naming the cell that failed.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    client = NotebookClient(nb, km=_kernel_manager(), timeout=timeout,
                            kernel_name="python3", record_timing=False,
                            store_widget_state=False, allow_errors=False,
                            resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute(cwd=str(cwd), env=notebook_env(smoke))
    except (CellExecutionError, CellTimeoutError) as exc:
        cell = _failed_cell(nb)
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # no terminal colour codes
        raise BuildError(f"{name}: {cell} failed:\n{plain}") from None
    _clean_outputs(nb)
    return nb


def _failed_cell(nb) -> str:
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and any(o.get("output_type") == "error"
                                            for o in cell.get("outputs", [])):
            return f"cell {k + 1} ({_first_line(cell.source)!r})"
    executed = [k for k, c in enumerate(nb.cells) if c.cell_type == "code"
                and c.get("execution_count") is not None]
    k = executed[-1] if executed else 0
    return f"cell {k + 1} ({_first_line(nb.cells[k].source)!r})" if nb.cells else "a cell"


def _clean_outputs(nb) -> None:
    """Drop what varies between runs and machines: timing and kernel metadata, and
    where a print was split into two stream outputs (one per flush of the kernel)."""
    nb.metadata = copy.deepcopy(NOTEBOOK_METADATA)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)


def merge_streams(outputs: list) -> list:
    """Consecutive stream outputs of one name (stdout, stderr) as one output."""
    merged = []
    for out in outputs:
        last = merged[-1] if merged else {}
        if (out.get("output_type") == "stream" and last.get("output_type") == "stream"
                and last.get("name") == out.get("name")):
            last["text"] = "".join(last["text"]) + "".join(out["text"])
        else:
            merged.append(out)
    return merged


def repo_root() -> Path:
    """The checkout holding ``solutions/``: the current folder or one above it, else
    the folder above the installed package (an editable install)."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "solutions").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    return Path(__file__).resolve().parents[1]


def sources(root: str | os.PathLike | None = None,
            names: list[str] | None = None) -> list[Path]:
    """The notebook sources ``solutions/NN_name.py``, all or those ``names`` pick
    (``"00"``, ``"00_welcome"`` or ``"00_welcome.py"``)."""
    folder = Path(root or repo_root()) / "solutions"
    found = sorted(p for p in folder.glob("*.py") if SOURCE_NAME.match(p.name))
    if not names:
        return found
    picked = []
    for name in names:
        stem = Path(name).name.removesuffix(".py").removesuffix(".ipynb")
        match = [p for p in found if p.stem == stem or p.stem.split("_", 1)[0] == stem]
        if not match:
            raise ValueError(f"no notebook source matches {name!r}; available: "
                             + ", ".join(p.stem for p in found))
        picked += [p for p in match if p not in picked]
    return picked


def dumps(nb: "nbformat.NotebookNode") -> str:  # noqa: F821
    """Stable JSON of a notebook (sorted keys, one-space indent, final newline)."""
    import nbformat

    nbformat.validate(nb)
    return nbformat.writes(nb, version=4) + "\n"


def reuse_outputs(nb: "nbformat.NotebookNode",  # noqa: F821
                  built: "nbformat.NotebookNode") -> None:  # noqa: F821
    """Give ``nb``'s code cells the outputs stored in ``built``, the notebook built
    before from the same code. Raises ValueError when any code cell, or the notebook's
    metadata, differs: then only running it gives the right outputs."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    old = [c for c in built.cells if c.cell_type == "code"]
    same = len(code) == len(old) and dict(nb.metadata) == dict(built.metadata) and all(
        _cell_signature(a) == _cell_signature(b) for a, b in zip(code, old))
    if not same:
        raise ValueError("a code cell or the metadata changed since the last build: "
                         "build without --prose to run it")
    if any(c.source.strip() and c.get("execution_count") is None for c in old):
        raise ValueError("the stored notebook was never executed (built with --no-execute), "
                         "so it has no outputs to keep: build without --prose to run it")
    for cell, stored in zip(code, old):
        cell.outputs, cell.execution_count = stored.outputs, stored.execution_count


def build_one(source: Path, execute_it: bool = True, timeout: int = DEFAULT_TIMEOUT,
              prose: bool = False) -> tuple[Path, Path]:
    """Build one notebook pair; write nothing if execution fails.

    prose: only Markdown changed, so keep the outputs of the solution notebook built
    before (seconds instead of minutes; ValueError if a code cell changed).
    """
    import nbformat

    from .checkpoint import atomic_write_text

    nb = load_source(source)
    student = student_version(nb)
    if prose:
        built = source.with_suffix(".ipynb")
        if not built.is_file():
            raise ValueError(f"solutions/{built.name} was never built, so there are no "
                             "outputs to keep: build without --prose to run it")
        reuse_outputs(nb, nbformat.read(built, as_version=4))
    elif execute_it:
        execute(nb, cwd=source.parent, timeout=timeout, name=source.name)
    solution_path = source.with_suffix(".ipynb")
    student_path = source.parent.parent / "notebooks" / solution_path.name
    solution_text, student_text = dumps(nb), dumps(student)
    atomic_write_text(solution_path, solution_text)
    atomic_write_text(student_path, student_text)
    return solution_path, student_path


def build(names: list[str] | None = None, execute: bool = True,
          timeout: int = DEFAULT_TIMEOUT, root: str | os.PathLike | None = None
          ) -> list[Path]:
    """Build ``solutions/NN_name.ipynb`` and ``notebooks/NN_name.ipynb`` for each
    source (all by default). Returns the paths written."""
    written = []
    for source in sources(root, names):
        written += build_one(source, execute_it=execute, timeout=timeout)
    return written


# ---------------------------------------------------------------------------------
# Staleness check
# ---------------------------------------------------------------------------------
def _cell_signature(cell) -> tuple:
    return (cell.cell_type, cell.get("id"), cell.source, dict(cell.metadata))


def check_one(source: Path) -> list[str]:
    """Problems with the notebooks built from one source (empty when up to date)."""
    import nbformat

    problems = []
    name = source.stem
    nb = load_source(source)
    solution_path = source.with_suffix(".ipynb")
    student_path = source.parent.parent / "notebooks" / solution_path.name
    built = nbformat.read(solution_path, as_version=4) if solution_path.is_file() else None
    rebuild = f"run `t2v-edu course build {name[:2]}`"
    stale = built is not None and (
        [_cell_signature(c) for c in built.cells] != [_cell_signature(c) for c in nb.cells]
        or dict(built.metadata) != dict(nb.metadata))
    if stale:
        try:  # only Markdown changed: the stored outputs can be kept
            reuse_outputs(nb, built)  # only outputs change: the student copy clears them
            rebuild += " (only Markdown changed: `--prose` keeps the outputs)"
        except ValueError:
            pass
    if not student_path.is_file():
        problems.append(f"notebooks/{student_path.name} is missing: {rebuild}")
    elif student_path.read_text(encoding="utf-8") != dumps(student_version(nb)):
        problems.append(f"notebooks/{student_path.name} is stale (it differs from what "
                        f"solutions/{source.name} generates): {rebuild}")
    if built is None:
        problems.append(f"solutions/{solution_path.name} is missing: {rebuild}")
        return problems
    if stale:
        problems.append(f"solutions/{solution_path.name} is stale (its cells differ from "
                        f"solutions/{source.name}): {rebuild}")
        return problems
    for k, cell in enumerate(built.cells):
        if cell.cell_type != "code":
            continue
        where = f"solutions/{solution_path.name} cell {k + 1} ({_first_line(cell.source)!r})"
        if cell.source.strip() and cell.get("execution_count") is None:
            problems.append(f"{where} was never executed: {rebuild}")
        if any(o.get("output_type") == "error" for o in cell.outputs):
            problems.append(f"{where} has a stored error")
    return problems


def check(root: str | os.PathLike | None = None) -> list[str]:
    """Problems with every built notebook: stale, missing, unexecuted, stored errors,
    and built notebooks with no source."""
    root = Path(root or repo_root())
    problems = []
    found = sources(root)
    for source in found:
        try:
            problems += check_one(source)
        except ValueError as exc:  # a malformed source: report it, check the others
            problems.append(str(exc))
    stems = {p.stem for p in found}
    for folder in ("solutions", "notebooks"):
        for path in sorted((root / folder).glob("*.ipynb")):
            if path.stem not in stems:
                problems.append(f"{folder}/{path.name} has no source "
                                f"solutions/{path.stem}.py: delete it or add the source")
    return problems


# ---------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="course_command", required=True, metavar="ACTION")
    b = sub.add_parser("build", help="build solutions/NN_name.ipynb (executed) and "
                       "notebooks/NN_name.ipynb (student copy)")
    b.add_argument("names", nargs="*", metavar="NN",
                   help="notebooks to build, e.g. 00 03 (default: all)")
    b.add_argument("--no-execute", action="store_true",
                   help="do not run the notebooks (the solution copies get no outputs: "
                        "those stored before are discarded)")
    b.add_argument("--prose", action="store_true",
                   help="only Markdown changed: keep the stored outputs instead of running "
                        "(refused when a code cell changed)")
    b.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, metavar="S",
                   help=f"seconds allowed per cell (default {DEFAULT_TIMEOUT})")
    sub.add_parser("check", help="fail when a built notebook is stale")


def cli(args: argparse.Namespace) -> int:
    if args.course_command == "build":
        if args.timeout < 1:
            raise ValueError(f"--timeout must be at least 1 second per cell, got {args.timeout}")
        root, failed = repo_root(), []
        for source in sources(None, args.names):
            print(f"building {source.stem} ...", flush=True)
            try:
                written = build_one(source, execute_it=not args.no_execute,
                                    timeout=args.timeout, prose=args.prose)
            except (BuildError, ValueError) as exc:  # report it, build the others
                print(f"t2v-edu course build: {exc}", file=sys.stderr, flush=True)
                failed.append(source.stem)
                continue
            for path in written:
                print(f"wrote {path.relative_to(root) if path.is_relative_to(root) else path}",
                      flush=True)
        if failed:
            print(f"failed: {', '.join(failed)} (nothing written for these)", file=sys.stderr)
            return 1
        return 0
    problems = check()
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"all {len(sources())} notebooks are up to date")
    return 0


if __name__ == "__main__":  # python -m t2v_edu.course build 00
    _parser = argparse.ArgumentParser(prog="t2v-edu course", description=HELP)
    add_arguments(_parser)
    sys.exit(cli(_parser.parse_args()))
