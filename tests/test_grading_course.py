"""t2v-edu grade on the course's own notebooks.

Every solution notebook earns full marks and every untouched student notebook zero
("not done"), so an instructor can trust the grader on each notebook. Notebooks 06
and 07 also get answers written differently from the reference, right and wrong: their
checks need what plain data cannot carry (a gradient through the student's function,
a function given as an argument).
"""
import csv
import shutil
from pathlib import Path

import nbformat
import pytest

from t2v_edu import course, grading

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "solutions").glob("0*.ipynb"))
LIMITS = grading.Limits(timeout=300, cell_timeout=30, memory_mb=3000, output_mb=20)

# Answers other than the reference's: {notebook: {student: {grade_id: (source, status)}}}
OTHER_ANSWERS = {
    "06_text_to_video": {
        "another_way": {
            "straight_through_round": (
                "def straight_through_round(z):\n"
                "    return z.round().detach() + z - z.detach()\n", grading.PASSED),
            "code_logits_from_digits": (
                "def code_logits_from_digits(digit_logits):\n"
                "    out = digit_logits[-1]\n"
                "    for logits in reversed(digit_logits[:-1]):\n"
                "        out = (out[..., :, None] + logits[..., None, :]).flatten(-2)\n"
                "    return out\n", grading.PASSED),
        },
        "wrong": {
            # right values, zero gradient: only the backward pass tells
            "straight_through_round": (
                "def straight_through_round(z):\n    return torch.round(z)\n",
                grading.FAILED),
            # digits in the wrong order
            "code_logits_from_digits": (
                "def code_logits_from_digits(digit_logits):\n"
                "    out = digit_logits[0]\n"
                "    for logits in digit_logits[1:]:\n"
                "        out = (out[..., :, None] + logits[..., None, :]).flatten(-2)\n"
                "    return out\n", grading.FAILED),
        },
    },
    "07_flow_matching": {
        "wrong": {
            # calls the velocity function at the end of each step instead of its start
            "euler_sample": (
                "def euler_sample(velocity_fn, noise, num_steps):\n"
                "    x, dt = noise, 1.0 / num_steps\n"
                "    for k in range(num_steps):\n"
                "        t = 1.0 - (k + 1) * dt\n"
                "        x = x - dt * velocity_fn(x, torch.full((x.shape[0],), t))\n"
                "    return x\n", grading.FAILED),
            # a velocity function called with something that is not data
            "flow_matching_loss": (
                "def flow_matching_loss(velocity_fn, x0, noise, t):\n"
                "    return velocity_fn(object(), t).mean()\n", grading.FAILED),
        },
    },
}


def with_answers(path: Path, answers: dict[str, tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id][0]
    return nb


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_grader_gives_solutions_full_marks_and_student_copies_zero(name, tmp_path):
    subs = tmp_path / "submissions"
    for student, folder in (("solution", "solutions"), ("untouched", "notebooks")):
        (subs / student).mkdir(parents=True)
        shutil.copy(ROOT / folder / f"{name}.ipynb", subs / student)
    others = OTHER_ANSWERS.get(name, {})
    for student, answers in others.items():
        (subs / student).mkdir()
        nbformat.write(with_answers(ROOT / "notebooks" / f"{name}.ipynb", answers),
                       subs / student / f"{name}.ipynb")
    summary = grading.grade(name[:2], subs, tmp_path / "out", limits=LIMITS)
    assert summary.graded == 2 + len(others) and not summary.tampered
    with open(tmp_path / "out" / f"{name}_long.csv", newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    got = {(r["student"], r["grade_id"]): (r["status"], r["message"]) for r in rows}
    # one row per student and exercise: none missing (the loop below would not notice)
    exercises = [e.grade_id for e in
                 grading.exercises_of(course.load_source(ROOT / "solutions" / f"{name}.py"))]
    students = {"solution", "untouched", *others}
    assert exercises and len(rows) == len(got) == len(students) * len(exercises)
    assert set(got) == {(s, g) for s in students for g in exercises}
    for (student, grade_id), (status, message) in got.items():
        expected = {"solution": grading.PASSED, "untouched": grading.NOT_DONE}.get(student)
        if student in others:
            expected = others[student].get(grade_id, ("", grading.NOT_DONE))[1]
        assert status == expected, f"{student} / {grade_id}: {status}: {message}"
