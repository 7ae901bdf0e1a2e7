"""Checks for notebook exercises: feedback that teaches, and hidden tests for graders.

Every exercise in the course follows one pattern::

    # exercise cell (the student writes the body)
    def one_hot_embed(ids, W):
        ### BEGIN SOLUTION
        return F.one_hot(ids, W.shape[0]).to(W.dtype) @ W
        ### END SOLUTION

    # check cell (locked, graded)
    embed = check(one_hot_embed, text.one_hot_embed, cases, name="one_hot_embed",
                  formula="one_hot(x) @ W == W[x]")
    ### BEGIN HIDDEN TESTS
    assert_matches(one_hot_embed, text.one_hot_embed, random_cases(...), name=...)
    ### END HIDDEN TESTS

``check`` prints one line of feedback (never to stderr) and returns the function that
later cells should use: the learner's once it passes, the package's reference until
then. ``assert_matches`` raises AssertionError with the same message: the hidden
tests a grader runs on fresh random inputs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import torch

PASSED, NOT_DONE, FAILED = "passed", "not done", "failed"


@dataclass
class CheckResult:
    status: str   # "passed", "not done" or "failed"
    message: str

    @property
    def passed(self) -> bool:
        return self.status == PASSED


def describe_difference(got: Any, expected: Any, atol: float, rtol: float,
                        where: str = "output") -> str | None:
    """None when ``got`` matches ``expected``; otherwise what differs, in plain words.

    Tensors are compared by shape, then dtype kind, then values (max abs difference);
    tuples and lists element by element; anything else by ``==``.
    """
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            n = len(got) if isinstance(got, (tuple, list)) else 1
            return (f"{where} should be a tuple of {len(expected)} values but "
                    f"{'is a ' + type(got).__name__ if n == 1 else f'has {n}'}")
        for i, (g, e) in enumerate(zip(got, expected)):
            msg = describe_difference(g, e, atol, rtol, f"{where}[{i}]")
            if msg:
                return msg
        return None
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"{where} should be a torch.Tensor but is a {type(got).__name__}"
        if tuple(got.shape) != tuple(expected.shape):
            return (f"{where} has shape {tuple(got.shape)} but expected "
                    f"{tuple(expected.shape)}")
        if expected.dtype == torch.bool or not expected.is_floating_point():
            if not torch.equal(got.to(expected.dtype), expected):
                wrong = (got.to(expected.dtype) != expected).sum().item()
                return f"{where}: {wrong} of {expected.numel()} entries differ"
            return None
        got_f, exp_f = got.detach().double(), expected.detach().double()
        if not torch.isfinite(got_f).all() and torch.isfinite(exp_f).all():
            return f"{where} contains NaN or inf"
        diff = (got_f - exp_f).abs()
        if not torch.allclose(got_f, exp_f, atol=atol, rtol=rtol):
            return (f"{where}: max abs difference {diff.max().item():.3g} "
                    f"(tolerance {atol:g} + {rtol:g}·|expected|)")
        return None
    if isinstance(expected, float):
        if not isinstance(got, (int, float)) and not (
                isinstance(got, torch.Tensor) and got.numel() == 1):
            return f"{where} should be a number but is a {type(got).__name__}"
        got = float(got)
        if not math.isclose(got, expected, abs_tol=atol, rel_tol=rtol):
            return f"{where} is {got:.6g} but expected {expected:.6g}"
        return None
    if got != expected:
        return f"{where} is {got!r} but expected {expected!r}"
    return None


def run_check(student: Callable, reference: Callable, cases: Iterable[Sequence],
              atol: float = 1e-5, rtol: float = 1e-4,
              compare: Callable[[Any, Any], str | None] | None = None) -> CheckResult:
    """Call ``student(*case)`` and ``reference(*case)`` on each case and compare.

    NotImplementedError (the untouched stub) means "not done"; any other exception or
    difference means "failed", with the reason.
    """
    if student is reference:
        # A failed check returns the reference, often under the learner's own name
        # (``f = check(f, ...)``): that name must not pass the hidden tests.
        return CheckResult(NOT_DONE, "not done yet (this is the package's reference, "
                                     "not your own function: re-run your exercise cell)")
    for k, case in enumerate(cases):
        case = tuple(case)
        expected = reference(*_clone(case))
        try:
            got = student(*_clone(case))
        except NotImplementedError:
            return CheckResult(NOT_DONE, "not done yet")
        except Exception as exc:  # the learner's code may raise anything
            return CheckResult(FAILED, f"on test case {k + 1} it raised "
                                       f"{type(exc).__name__}: {exc}")
        msg = compare(got, expected) if compare else describe_difference(
            got, expected, atol, rtol)
        if msg:
            return CheckResult(FAILED, f"on test case {k + 1}, {msg}")
    return CheckResult(PASSED, "matches the reference on every test case")


def _clone(case: tuple) -> tuple:
    """Fresh copies, so that an in-place edit by one function cannot fool the other."""
    def copy(x):
        if isinstance(x, torch.Tensor):
            return x.clone()
        if isinstance(x, (list, tuple)):        # e.g. a list of tensors
            return type(x)(copy(item) for item in x)
        return x
    return tuple(copy(x) for x in case)


def feedback(result: CheckResult, name: str, formula: str = "", reference_name: str = ""
             ) -> str:
    """The text a learner sees for one check."""
    ref = f" ({reference_name})" if reference_name else ""
    if result.passed:
        return (f"✓ {name}: {result.message}. Later cells use your {name}.")
    if result.status == NOT_DONE:
        return (f"… {name}: not done yet. Later cells use the package's reference{ref} "
                f"until your version passes.")
    hint = f"\n  Revisit: {formula}" if formula else ""
    return (f"✗ {name}: {result.message}.{hint}\n  Later cells use the package's "
            f"reference{ref} until your version passes.")


def check(student: Callable, reference: Callable, cases: Iterable[Sequence], *, name: str,
          formula: str = "", atol: float = 1e-5, rtol: float = 1e-4,
          compare: Callable[[Any, Any], str | None] | None = None) -> Callable:
    """Visible check: print feedback; return the function later cells should use."""
    result = run_check(student, reference, cases, atol=atol, rtol=rtol, compare=compare)
    ref_name = f"{reference.__module__}.{reference.__qualname__}" \
        if hasattr(reference, "__qualname__") else ""
    print(feedback(result, name, formula, ref_name))
    return student if result.passed else reference


def assert_matches(student: Callable, reference: Callable, cases: Iterable[Sequence], *,
                   name: str, formula: str = "", atol: float = 1e-5, rtol: float = 1e-4,
                   compare: Callable[[Any, Any], str | None] | None = None) -> None:
    """Hidden test: raise AssertionError (with the learner-facing reason) on failure."""
    result = run_check(student, reference, cases, atol=atol, rtol=rtol, compare=compare)
    if not result.passed:
        hint = f" Revisit: {formula}" if formula else ""
        raise AssertionError(f"{name}: {result.message}.{hint}")


def random_generator(seed: int | None = None) -> torch.Generator:
    """A generator for hidden-test inputs; a fresh random seed unless one is given."""
    g = torch.Generator()
    g.manual_seed(seed if seed is not None else torch.seed() % (2**31))
    return g
