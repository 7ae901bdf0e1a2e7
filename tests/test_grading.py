"""t2v-edu grade: a corpus of good and bad submissions, each with its expected status."""
import contextlib
import csv
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import torch
import pytest

from t2v_edu import course, grading

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_grading_corpus import DEMO_SOURCE, build_corpus  # noqa: E402

NAME = DEMO_SOURCE.stem
LIMITS = grading.Limits(timeout=120, cell_timeout=8, memory_mb=1000, output_mb=20)
SOFTMAX = {"softmax_rows": ["torch.softmax", "torch.nn.functional.softmax",
                            "torch.Tensor.softmax"]}


def read_long(out: Path) -> dict[str, dict[str, dict]]:
    with open(out / f"{NAME}_long.csv", newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    table: dict[str, dict[str, dict]] = {}
    for r in rows:
        table.setdefault(r["student"], {})[r["grade_id"]] = r
    return table


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    spy = root / "spy.txt"
    expected = build_corpus(root / "submissions", DEMO_SOURCE, spy_file=str(spy))
    summary = grading.grade(NAME, root / "submissions", root / "out", jobs=2,
                            limits=LIMITS, source=DEMO_SOURCE, forbidden=SOFTMAX)
    return root, expected, summary, spy


# ---------------------------------------------------------------------------------
# The corpus, graded in one batch
# ---------------------------------------------------------------------------------
def test_every_submission_gets_its_expected_status(graded):
    root, expected, summary, _ = graded
    table = read_long(root / "out")
    assert summary.graded == len(expected) and not summary.tampered
    wrong = {}
    for kind, statuses in expected.items():
        got = {gid: table[kind][gid]["status"] for gid in statuses}
        if got != statuses:
            wrong[kind] = (got, statuses, [table[kind][g]["message"] for g in statuses])
    assert not wrong, json.dumps(wrong, indent=1, ensure_ascii=False)


def test_points_follow_status(graded):
    root, _, _, _ = graded
    for student, rows in read_long(root / "out").items():
        for r in rows.values():
            full = r["status"] == grading.PASSED
            assert float(r["points"]) == (float(r["max_points"]) if full else 0.0), r


def test_correct_submission_scores_full_marks_and_blank_zero(graded):
    root, _, _, _ = graded
    with open(root / "out" / f"{NAME}_wide.csv", newline="", encoding="utf-8-sig") as f:
        wide = {r["student"]: r for r in csv.DictReader(f)}
    assert wide["correct"]["total"] == wide["correct"]["max_points"] == "4"
    assert wide["blank"]["total"] == "0"
    assert list(wide["correct"]) == ["student", "one_hot_embed", "softmax_rows",
                                     "mean_square", "total", "max_points"]
    blank = (root / "out" / "feedback" / NAME / "blank.md").read_text()
    assert blank.count("not done") >= 6 and "Score: 0 / 4" in blank


def test_feedback_explains_without_revealing_hidden_tests(graded):
    root, _, _, _ = graded
    source = DEMO_SOURCE.read_text()
    hidden_lines = [line.strip() for e in grading.exercises_of(course.load_source(DEMO_SOURCE))
                    for line in e.hidden.split("\n") if line.strip()]
    assert "randint(0, 7" in source and any("randint(0, 7" in x for x in hidden_lines)
    for path in (root / "out" / "feedback" / NAME).glob("*.md"):
        text = path.read_text()
        assert "assert_matches" not in text and "randint(0, 7" not in text, path.name
    wrong = (root / "out" / "feedback" / NAME / "wrong_values.md").read_text()
    assert "should be a torch.Tensor but is a NoneType" in wrong
    delegation = (root / "out" / "feedback" / NAME / "delegation.md").read_text()
    assert "t2v\\_edu.text.one\\_hot\\_embed" in delegation
    missing = read_long(root / "out")["missing_answer"]["softmax_rows"]["message"]
    assert "missing" in missing
    # a warning of the student's code, raised in the student kernel, is a note here
    warns = (root / "out" / "feedback" / NAME / "warns.md").read_text()
    assert "note: your code warned: FutureWarning: an answer that warns" in warns
    assert "warned" not in (root / "out" / "feedback" / NAME / "correct.md").read_text()
    # an input edited in the student kernel is seen by the check in the reference kernel
    in_place = read_long(root / "out")["in_place"]["mean_square"]["message"]
    assert "it changed its input x in place" in in_place, in_place


def test_hidden_tests_never_reach_the_student_kernel(graded):
    _, _, _, spy = graded
    seen = spy.read_text()
    assert "exercise.check(softmax_rows" in seen       # the spy did see the visible checks
    assert "assert_matches" not in seen and "HIDDEN" not in seen


def test_statuses_of_resource_limits_name_the_limit(graded):
    root, _, _, _ = graded
    table = read_long(root / "out")
    assert "1000 MB" in table["memory_hog"]["one_hot_embed"]["message"]
    assert "could not be graded" in table["os_exit"]["mean_square"]["message"]
    assert "8 s" in table["endless_loop"]["softmax_rows"]["message"]


def test_rerun_skips_graded_and_detects_a_kernel_writing_results(graded, tmp_path):
    root, expected, _, _ = graded
    out = root / "out"
    record = out / "records" / NAME / "correct.json"
    before = record.read_text()
    nb = nbformat.read(root / "submissions" / "blank" / f"{NAME}.ipynb", as_version=4)
    attack = ("import glob, json\n"
              f"for p in glob.glob({str(out / 'records' / '*' / '*.json')!r}):\n"
              "    r = json.load(open(p))\n"
              "    for row in r['rows']:\n"
              "        row['points'] = 100.0\n"
              "    open(p, 'w').write(json.dumps(r))\n"
              f"open({str(out / (NAME + '_long.csv'))!r}, 'a').write('x,{NAME},one_hot_embed,99,2,passed,\\n')\n")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "one_hot_embed":
            cell.source = attack + cell.source
    (root / "submissions" / "results_writer").mkdir()
    nbformat.write(nb, root / "submissions" / "results_writer" / f"{NAME}.ipynb")
    summary = grading.grade(NAME, root / "submissions", out, jobs=1, limits=LIMITS,
                            source=DEMO_SOURCE, forbidden=SOFTMAX)
    assert summary.graded == 1 and summary.skipped == len(expected)
    assert summary.tampered == ["results_writer"]
    assert record.read_text() == before
    table = read_long(out)
    assert {r["status"] for r in table["results_writer"].values()} == {grading.TAMPERING}
    assert "x" not in table and table["correct"]["one_hot_embed"]["points"] == "2"


def test_a_kernel_editing_the_source_stops_the_batch(tmp_path):
    source = tmp_path / f"{NAME}.py"
    source.write_text(DEMO_SOURCE.read_text())
    nb = course.student_version(course.load_source(source))
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "mean_square":
            cell.source = f"open({str(source)!r}, 'a').write('# changed\\n')\n" + cell.source
    (tmp_path / "subs" / "eve").mkdir(parents=True)
    nbformat.write(nb, tmp_path / "subs" / "eve" / f"{NAME}.ipynb")
    with pytest.raises(grading.GradingError, match="changed while grading eve"):
        grading.grade(NAME, tmp_path / "subs", tmp_path / "out", jobs=1, limits=LIMITS,
                      source=source)
    rows = read_long(tmp_path / "out")["eve"]
    assert {r["status"] for r in rows.values()} == {grading.TAMPERING}


def test_a_grader_crash_loses_no_finished_grade(graded, tmp_path):
    root, _, _, _ = graded
    subs = tmp_path / "subs"
    for kind in ("correct", "blank"):
        (subs / kind).mkdir(parents=True)
        (subs / kind / f"{NAME}.ipynb").write_bytes(
            (root / "submissions" / kind / f"{NAME}.ipynb").read_bytes())
    crash = (f"import os, sys; sys.path.insert(0, {str(HERE.parent)!r})\n"
             "from t2v_edu import grading\n"
             f"grading.grade({NAME!r}, {str(subs)!r}, {str(tmp_path / 'out')!r}, jobs=1,\n"
             f"              source={str(DEMO_SOURCE)!r},\n"
             "              progress=lambda student, rows: os._exit(9))\n")
    scratch = tmp_path / "scratch"          # the grader's working folders go here
    scratch.mkdir()
    done = subprocess.Popen([sys.executable, "-c", crash],
                            env={**os.environ, "TMPDIR": str(scratch)})
    assert done.wait(timeout=300) == 9
    assert left_behind(scratch, wait=15) == [], "the killed grader left processes running"
    first = read_long(tmp_path / "out")
    assert len(first) == 1
    summary = grading.grade(NAME, subs, tmp_path / "out", jobs=1, limits=LIMITS,
                            source=DEMO_SOURCE)
    assert summary.graded == 1 and summary.skipped == 1
    assert set(read_long(tmp_path / "out")) == {"correct", "blank"}


def test_a_resubmission_is_graded_again_and_force_keeps_grades_until_regraded(graded,
                                                                              tmp_path):
    root, _, _, _ = graded
    subs, out = tmp_path / "subs", tmp_path / "out"
    for kind in ("blank", "correct"):
        (subs / kind).mkdir(parents=True)
        shutil.copy(root / "submissions" / kind / f"{NAME}.ipynb", subs / kind)
    grade = functools.partial(grading.grade, NAME, subs, out, jobs=1, limits=LIMITS,
                              source=DEMO_SOURCE)
    assert grade().graded == 2
    assert {r["status"] for r in read_long(out)["blank"].values()} == {grading.NOT_DONE}
    # blank hands in the finished notebook: a rerun grades it again, and only it
    shutil.copy(root / "submissions" / "correct" / f"{NAME}.ipynb", subs / "blank")
    summary = grade()
    assert (summary.graded, summary.skipped) == (1, 1)
    assert {r["status"] for r in read_long(out)["blank"].values()} == {grading.PASSED}
    # --force stopped after its first submission: the other grade is still there

    def stop(student, rows):
        raise KeyboardInterrupt

    with pytest.raises(grading.GradingError, match="KeyboardInterrupt"):
        grade(force=True, progress=stop)
    assert set(read_long(out)) == {"blank", "correct"}
    assert len(list((out / "records" / NAME).glob("*.json"))) == 2


def test_the_tables_are_utf8_with_a_byte_order_mark_for_spreadsheets(tmp_path):
    """Excel opens a CSV without a BOM in the system's code page (cp1252 in Western
    Europe), which garbles non-ASCII names: the tables start with UTF-8's BOM."""
    exercises = grading.exercises_of(course.load_source(DEMO_SOURCE))
    results = grading.Results(tmp_path, NAME, exercises, "digest", force=False)
    results.save("José Zoë 王", [grading.Row("José Zoë 王", NAME, e.grade_id, e.points,
                                            e.points, grading.PASSED, "") for e in exercises],
                 None)
    for table in ("long", "wide"):
        raw = (tmp_path / f"{NAME}_{table}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbfstudent,"), raw[:20]
        with open(tmp_path / f"{NAME}_{table}.csv", newline="", encoding="utf-8-sig") as f:
            assert {r["student"] for r in csv.DictReader(f)} == {"José Zoë 王"}


def test_a_table_open_in_another_program_does_not_stop_grading(graded, tmp_path, capsys):
    """Windows: a CSV open in a spreadsheet cannot be replaced. The grade is still
    recorded, a warning names the file, and a rerun with nothing left to grade writes
    the tables again from the records."""
    import shutil

    root, _, _, _ = graded
    out = tmp_path / "out"
    shutil.copytree(root / "out", out)
    long_before = (out / f"{NAME}_long.csv").read_text(encoding="utf-8")
    exercises = grading.exercises_of(course.load_source(DEMO_SOURCE))
    results = grading.Results(out, NAME, exercises, "digest", force=False)
    write = results.write

    def locked(path, text):
        if str(path).endswith(".csv"):
            raise PermissionError(13, "Permission denied", str(path))
        write(path, text)

    results.write = locked
    results.save("late", [grading.Row("late", NAME, e.grade_id, 0.0, e.points,
                                      grading.NOT_DONE, "") for e in exercises], None)
    assert (out / "records" / NAME / "late.json").is_file()
    assert (out / "feedback" / NAME / "late.md").is_file()
    err = capsys.readouterr().err
    assert f"cannot update {out / (NAME + '_long.csv')}" in err and "open in another" in err
    assert (out / f"{NAME}_long.csv").read_text(encoding="utf-8") == long_before
    (out / f"{NAME}_wide.csv").unlink()
    summary = grading.grade(NAME, root / "submissions", out, jobs=1, limits=LIMITS,
                            source=DEMO_SOURCE, forbidden=SOFTMAX)
    assert summary.graded == 0 and summary.skipped > 0
    assert set(read_long(out)) == set(read_long(root / "out")) | {"late"}
    wide = (out / f"{NAME}_wide.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(wide) == 1 + len(read_long(out)), "the rerun did not rebuild the wide table"


def test_a_reference_kernel_that_fails_to_boot_is_started_again(tmp_path, monkeypatch):
    """A kernel can die while starting (another process took its port): the grader
    starts the reference kernel once more; a second failure is an error that says why."""
    source = course.load_source(DEMO_SOURCE)
    exercises = grading.exercises_of(source)
    real_run, boots = grading.Kernel.run, []

    def first_boot_dies(kernel, code, *args, **kwargs):
        if code.startswith(grading.BOOT) and len(boots) < fail_boots:
            boots.append(kernel)
            kernel.kill("died")
        return real_run(kernel, code, *args, **kwargs)

    monkeypatch.setattr(grading.Kernel, "run", first_boot_dies)
    fail_boots = 1
    ref = grading.Reference(source, exercises, tmp_path, LIMITS)
    try:
        assert len(boots) == 1 and ref.kernel is not boots[0]
        assert ref.kernel.run("1 + 1", 30).status == "ok"       # the second one works
    finally:
        ref.close()
    boots.clear()
    fail_boots = 2
    with pytest.raises(grading.GradingError, match=r"could not start the grader \(stopped, "
                                                   r"died\)"):
        grading.Reference(source, exercises, tmp_path, LIMITS)
    assert len(boots) == 2 and not any(kernel.alive() for kernel in boots)


@contextlib.contextmanager
def student_kernel(folder: Path, zygote=None):
    """A grader's student kernel working in ``folder``, closed afterwards."""
    kernel = grading.Kernel(folder, "student", memory_mb=4000, output_mb=10, disk_mb=100,
                            zygote=zygote)
    try:
        yield kernel
    finally:
        kernel.close()


def left_behind(folder: Path, wait: float) -> list[str]:
    """Processes (kernels, the zygote) working in ``folder`` that still run after
    ``wait`` seconds."""
    import time

    import psutil

    deadline = time.monotonic() + wait
    while True:
        alive = []
        for proc in psutil.process_iter(["pid", "cmdline"]):
            try:
                if Path(proc.cwd()).is_relative_to(folder):
                    alive.append(" ".join(proc.info["cmdline"] or [])[:80])
            except (psutil.Error, OSError):
                continue
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.5)


def test_a_kernel_whose_port_was_taken_is_started_again(tmp_path, monkeypatch):
    """Ports are chosen free but bound only when the kernel starts; a port taken in
    between (another grader, a notebook test) kills the kernel at once: it must be
    started again on fresh ports, not graded as "kernel died"."""
    import socket

    import jupyter_client.connect

    write = jupyter_client.connect.write_connection_file
    starts, squatters = [], []

    def write_and_squat(fname, **kwargs):
        """Write the connection file; take the shell port of a kernel's first start."""
        result = write(fname, **kwargs)
        starts.append(fname)
        if squat and len(starts) == 1:
            sock = socket.socket()
            sock.bind(("127.0.0.1", json.loads(Path(fname).read_text())["shell_port"]))
            sock.listen(1)
            squatters.append(sock)
        return result

    @contextlib.contextmanager
    def started_kernel():
        starts.clear()
        try:
            with student_kernel(tmp_path) as kernel:
                yield kernel
        finally:
            while squatters:
                squatters.pop().close()

    monkeypatch.setattr(jupyter_client.connect, "write_connection_file", write_and_squat)
    squat = True
    with started_kernel() as kernel:
        assert squatters, "the port was never taken: the test tested nothing"
        assert kernel.alive(), f"the kernel was not started again: {kernel.stopped!r}"
        assert len(starts) == 2
        assert kernel.run("print(6 * 7)", 30, capture=True).stdout == "42\n"
    monkeypatch.setattr(grading, "START_TRIES", 1)
    with started_kernel() as kernel:
        assert kernel.stopped == "died", "with one try the taken port must kill it"
    # a kernel that runs but never answers is not started again (each try waits 90 s)
    monkeypatch.setattr(grading, "START_TRIES", 3)
    monkeypatch.setattr(grading.Kernel, "_wait_ready", lambda self, timeout: False)
    squat = False
    with started_kernel() as kernel:
        assert kernel.stopped == "died" and len(starts) == 1, starts


def test_kernels_start_without_fork_where_fork_is_unsafe(tmp_path, monkeypatch):
    """macOS and Windows: no zygote; each kernel starts afresh, in a small environment
    that keeps what Windows needs, and exits if the grader dies (JPY_PARENT_PID)."""
    assert grading.fork_is_safe("linux")
    assert not grading.fork_is_safe("darwin") and not grading.fork_is_safe("win32")
    monkeypatch.setattr(grading, "fork_is_safe", lambda: False)
    monkeypatch.setenv("SYSTEMROOT", "C:\\Windows")
    monkeypatch.setenv("T2V_GRADER_SECRET", "s3cret")
    zygote = grading.Zygote(["torch"], tmp_path)
    assert zygote.proc is None, "a zygote was started where fork is unsafe"
    with student_kernel(tmp_path, zygote) as kernel:
        assert not isinstance(kernel.proc, grading.ForkedProcess)
        names = ["JPY_PARENT_PID", "HOME", "USERPROFILE", "SYSTEMROOT", "T2V_GRADER_SECRET"]
        code = f"import os; print([os.environ.get(n) for n in {names!r}])"
        printed = kernel.run(code, 30, capture=True).stdout
        expected = [str(os.getpid()), str(tmp_path), str(tmp_path), "C:\\Windows", None]
        assert printed == f"{expected}\n"


def test_a_kernel_and_its_children_are_stopped_without_process_groups(tmp_path,
                                                                       monkeypatch):
    """Windows has no os.killpg: the kernel and what it started are killed one by one."""
    import time

    import psutil

    monkeypatch.delattr(os, "killpg")
    code = ("import subprocess, sys\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
            "print(child.pid)")
    with student_kernel(tmp_path) as kernel:
        child = int(kernel.run(code, 30, capture=True).stdout)
        pids = [kernel.proc.pid, child]
        assert all(psutil.pid_exists(p) for p in pids)
        kernel.kill("test")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(p) for p in pids):
            time.sleep(0.1)
        assert not any(alive(p) for p in pids), "a kernel or its child outlived kill()"


def alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_windows_kernel_is_interrupted_through_its_event(tmp_path, monkeypatch):
    """Where the kernel was started with an interrupt event (Windows), interrupt() sets
    the event instead of sending SIGINT (which would end the process there). Here the
    stand-in for Windows' SetEvent sends the SIGINT the kernel understands on Linux."""
    import signal

    import jupyter_client.win_interrupt

    events = []
    monkeypatch.setattr(jupyter_client.win_interrupt, "send_interrupt",
                        lambda event: events.append(event) or os.kill(event, signal.SIGINT))
    with student_kernel(tmp_path) as kernel:
        kernel.proc.win32_interrupt_event = kernel.proc.pid   # the stand-in's "event"
        msg_id = kernel.send("import time; time.sleep(60)")
        assert kernel.wait(msg_id, 1).status == "timeout"
        assert kernel.interrupt(msg_id), f"the cell was not interrupted: {kernel.stopped!r}"
        assert events == [kernel.proc.pid]
        assert kernel.run("print(6 * 7)", 30, capture=True).stdout == "42\n"


# ---------------------------------------------------------------------------------
# Pieces, without kernels
# ---------------------------------------------------------------------------------
def test_bad_limits_and_a_folder_without_students_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"timeout \(--timeout\) must be a positive number, "
                                         r"got -1"):
        grading.Limits(timeout=-1)
    with pytest.raises(ValueError, match=r"memory_mb \(--memory-mb\) must be a positive"):
        grading.Limits(memory_mb=0)
    (tmp_path / "subs").mkdir()
    with pytest.raises(ValueError, match=r"holds no student folders: expected .*<student>"):
        grading.grade(NAME, tmp_path / "subs", tmp_path / "out", source=DEMO_SOURCE)
    assert not (tmp_path / "out").exists()      # nothing to grade: no folder made either
    (tmp_path / "afile").write_text("")
    with pytest.raises(ValueError, match=r"--out .*afile is a file: give a folder"):
        grading.grade(NAME, tmp_path / "subs", tmp_path / "afile", source=DEMO_SOURCE)
    from t2v_edu import cli

    assert cli.main(["grade", NAME, str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                     "--source", str(DEMO_SOURCE)]) == 2
    assert "holds no student folders" in capsys.readouterr().err


def test_read_submission_statuses(tmp_path):
    exercises = grading.exercises_of(course.load_source(DEMO_SOURCE))
    path = tmp_path / "x.ipynb"
    path.write_text("{" * 10)
    assert grading.read_submission(path, exercises)[1] == grading.UNREADABLE
    path.write_text("[1, 2]")
    assert grading.read_submission(path, exercises)[1] == grading.NOT_NOTEBOOK
    path.write_text(json.dumps({"nbformat": 5, "cells": []}))
    status, message = grading.read_submission(path, exercises)[1:]
    assert status == grading.NBFORMAT and "nbformat 5" in message
    path.write_text(json.dumps({"nbformat": 4, "cells": [], "metadata": {}}))
    assert grading.read_submission(path, exercises)[1] == grading.WRONG_NOTEBOOK
    path.write_bytes(b" " * 3 * grading.MB)
    assert grading.read_submission(path, exercises, max_mb=1)[1] == grading.TOO_LARGE
    nb = course.student_version(course.load_source(DEMO_SOURCE))
    first = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    nb.cells.append(nbformat.v4.new_code_cell("duplicate", metadata=first.metadata))
    nbformat.write(nb, path)
    answers, status, _ = grading.read_submission(path, exercises)
    assert status == "" and answers["one_hot_embed"] == first.source


def test_find_submissions_flat_and_nbgrader_layouts(tmp_path):
    (tmp_path / "flat" / "ann").mkdir(parents=True)
    (tmp_path / "flat" / "ann" / f"{NAME}.ipynb").write_text("{}")
    (tmp_path / "flat" / "ben").mkdir()
    (tmp_path / "flat" / "ben" / "renamed.ipynb").write_text("{}")
    (tmp_path / "flat" / "cy").mkdir()
    found = dict(grading.find_submissions(tmp_path / "flat", NAME))
    assert found["ann"].name == f"{NAME}.ipynb" and found["ben"].name == "renamed.ipynb"
    assert found["cy"] is None
    (tmp_path / "nb" / "submitted" / "dee" / "lab1").mkdir(parents=True)
    (tmp_path / "nb" / "submitted" / "dee" / "lab1" / f"{NAME}.ipynb").write_text("{}")
    assert [s for s, _ in grading.find_submissions(tmp_path / "nb", NAME)] == ["dee"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        grading.find_submissions(tmp_path / "nowhere", NAME)


def test_split_hidden_and_defined_names():
    visible, hidden = grading.split_hidden(
        "a = check(f)\n### BEGIN HIDDEN TESTS\nassert_matches(f)\n### END HIDDEN TESTS")
    assert visible == "a = check(f)" and hidden == "assert_matches(f)"
    assert grading.defined_names("import x\ndef f(): pass\nclass M: pass\nk: int = 1\n"
                                 "a = b = 2\nf.x = 3") == ["f", "M", "k", "a", "b"]


def test_csv_cells_cannot_become_spreadsheet_formulas():
    row = grading.Row("=HYPERLINK(1)", NAME, "g", 0, 1, grading.FAILED, "+1 bad")
    text = grading.long_csv([row])
    assert "'=HYPERLINK(1)" in text and "'+1 bad" in text
    assert grading.safe_name("../etc") != "../etc" and "/" not in grading.safe_name("a/b")


def test_in_place_edits_in_the_student_kernel_are_made_to_the_reference_copy():
    from t2v_edu import grading_kernel as gk
    x, ids, attrs, pair = torch.arange(3.0), [1, 2, 3], {"shape": "circle"}, (torch.ones(2),)
    inputs = (x, ids, attrs, pair, torch.zeros(2), 5)
    sent = gk._clone(inputs)                                  # the student kernel's copy

    def edits(x, ids, attrs, pair, flat, n):
        x.add_(1)
        ids.pop()
        attrs["shape"] = "square"
        pair[0].mul_(2)
        flat.unsqueeze_(0)                                    # a new shape
        return n

    before = gk._clone(sent)
    edits(*sent)
    changed = gk._changed_args(before, sent)
    assert [i for i, _ in changed] == [0, 1, 2, 3, 4]         # the number is not an edit
    for i, value in changed:
        gk._mirror(inputs[i], value)
    assert torch.equal(x, torch.tensor([1.0, 2.0, 3.0])) and inputs[0] is x
    assert ids == [1, 2] and attrs == {"shape": "square"}
    assert torch.equal(pair[0], torch.full((2,), 2.0)) and inputs[4].shape == (1, 2)
    assert gk._changed_args(gk._clone(inputs), inputs) == []  # nothing edited: nothing sent
