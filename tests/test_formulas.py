"""The formula table: each row's function exists, writes a formula, and is tested
against the reference the table names; the README holds the table as generated."""
import ast
import re
from pathlib import Path

import pytest

from t2v_edu import formulas

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_holds_the_generated_table():
    assert formulas.formula_table() in (ROOT / "README.md").read_text(), (
        "README.md's formula table is stale: paste formulas.formula_table() into it")


@pytest.mark.parametrize("notebook, name, reference", formulas.FORMULAS)
def test_each_row_is_a_formula_tested_against_its_reference(notebook, name, reference):
    fn = formulas.function(name)
    assert fn.__module__ == f"t2v_edu.{name.split('.')[0]}"
    formula = formulas.formula_of(fn)
    assert re.search(r"[=∝]", formula) or "BCE" in formula, f"{name}: {formula!r}"
    assert "->" not in formula or "=" in formula.split("->")[0]
    assert any(p.name.startswith(notebook) for p in (ROOT / "solutions").glob("*.py"))
    if not reference:
        return
    # some test of the function's module calls it and names every part of the reference
    module = name.split(".")[0]
    source = (ROOT / "tests" / f"test_{module}.py").read_text()
    parts = [r.strip().split(".")[-1] for r in reference.split("+")]
    tests = [ast.get_source_segment(source, node) for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.FunctionDef) and node.name.startswith("test")]
    attribute = name.split(".")[1]

    def names(test: str, part: str) -> bool:
        if part == attribute:  # torch's kl_divergence: a call not through our module
            return re.search(rf"(?<!{module}\.)\b{part}\(", test) is not None
        return part in test

    assert any(re.search(rf"\b{module}\.{attribute}\(|\b{attribute}\(", t)
               and all(names(t, p) for p in parts) for t in tests), \
        f"no test of {name} uses {reference}"


def test_formula_of_reads_the_docstring():
    def documented():
        """y = a x + b. x: [N] -> [N]

        More words.
        """

    def announced():
        """The loss:

            L = mean (y - t)^2,

        and more.
        """

    assert formulas.formula_of(documented) == "y = a x + b."
    assert formulas.formula_of(announced) == "L = mean (y - t)^2"
    assert "\\|" in formulas.formula_table()   # a "|" inside a formula cannot end the cell
