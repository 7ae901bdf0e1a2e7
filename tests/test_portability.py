"""What keeps the package working off Linux: text files are read and written as UTF-8.

Python's default text encoding is the locale's (cp1252 on most Windows machines, until
Python 3.15). The model cards and notebooks hold "×", "—" and "≥": read with the
default they come out garbled there, and a file written with it cannot be read back on
Linux. The grader's platform rules are tested with its kernels (tests/test_grading.py).
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["t2v_edu/*.py", "benchmarks/*.py", "solutions/*.py"]


def text_io_without_encoding(source: str) -> list[int]:
    """Lines of ``read_text``/``write_text``/``open`` calls in text mode that do not say
    ``encoding=``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or any(k.arg == "encoding" for k in node.keywords):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("read_text", "write_text"):
            lines.append(node.lineno)
        elif name == "open" and not (isinstance(func, ast.Attribute)
                                     and getattr(func.value, "id", "") == "os"):
            mode_at = 0 if isinstance(func, ast.Attribute) else 1   # Path.open / open
            mode = next((k.value for k in node.keywords if k.arg == "mode"),
                        node.args[mode_at] if len(node.args) > mode_at else None)
            if not (isinstance(mode, ast.Constant) and "b" in str(mode.value)):
                lines.append(node.lineno)
    return sorted(lines)


def test_the_check_finds_text_io_without_an_encoding():
    source = ("p.read_text()\np.write_text('x', encoding='utf-8')\nopen(f)\n"
              "open(f, 'rb')\nopen(f, 'a', encoding='utf-8')\nos.open(f, 0)\n"
              "p.open('w')\np.open(mode='rb')\n")
    assert text_io_without_encoding(source) == [1, 3, 7]


def test_package_benchmarks_and_notebooks_read_and_write_text_as_utf8():
    found = [f"{path.relative_to(ROOT)}:{line}"
             for pattern in CHECKED for path in sorted(ROOT.glob(pattern))
             for line in text_io_without_encoding(path.read_text(encoding="utf-8"))]
    assert not found, ("text read or written with the locale's encoding (cp1252 on "
                       f"Windows); add encoding=\"utf-8\": {found}")
