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

import contextlib
import inspect
import io
import math
import numbers
import os
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import torch

PASSED, NOT_DONE, FAILED = "passed", "not done", "failed"
SHOW_WHOLE = 64        # int/bool outputs up to this many entries are shown in full
MAX_NOTES = 3          # warnings reported per check
# a NotImplementedError raised in these folders comes from a library or from a grader's
# proxy (grading_kernel.Remote), never from a learner's stub
TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__))
LIBRARY_DIRS = (os.path.dirname(os.path.abspath(__file__)), TORCH_DIR)


@dataclass
class CheckResult:
    status: str   # "passed", "not done" or "failed"
    message: str
    notes: list[str] = field(default_factory=list)   # e.g. warnings the learner's code raised

    @property
    def passed(self) -> bool:
        return self.status == PASSED


def describe_difference(got: Any, expected: Any, atol: float, rtol: float,
                        where: str = "output") -> str | None:
    """None when ``got`` matches ``expected``; otherwise what differs, in plain words.

    Tensors are compared by shape, then dtype (a wider float, or an integer, where a
    float is expected would break the float32 layers of later cells; a float32 answer
    to float64 inputs is fine), then values (exactly for bool and integer outputs);
    tuples and lists element by element; anything else by ``==``.
    """
    if isinstance(expected, (tuple, list)):
        return _sequence_difference(got, expected, atol, rtol, where)
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"{where} should be a torch.Tensor but is a {type(got).__name__}"
        if tuple(got.shape) != tuple(expected.shape):
            return (f"{where} has shape {tuple(got.shape)} but expected "
                    f"{tuple(expected.shape)}")
        if expected.dtype == torch.bool or not expected.is_floating_point():
            return _exact_difference(got, expected, where)
        return _float_dtype_difference(got, expected, where) or _float_difference(
            got, expected, atol, rtol, where)
    if isinstance(expected, float):
        if isinstance(got, torch.Tensor) and got.dim() > 0:
            return (f"{where} should be a number but is a tensor of shape "
                    f"{list(got.shape)} (.item() gives its number; keepdim=True keeps a "
                    "dimension)")
        if not isinstance(got, (numbers.Real, torch.Tensor)) or isinstance(got, bool):
            return f"{where} should be a number but is a {type(got).__name__}"
        got = float(got)
        if not math.isclose(got, expected, abs_tol=atol, rel_tol=rtol):
            return f"{where} is {got:.6g} but expected {expected:.6g}"
        return None
    if got != expected:
        return f"{where} is {got!r} but expected {expected!r}"
    return None


def _sequence_difference(got, expected, atol, rtol, where) -> str | None:
    """Which parts of a tuple output differ (each described) and which match."""
    if not isinstance(got, (tuple, list)):
        return (f"{where} should be a tuple of {len(expected)} values but is a "
                f"{type(got).__name__}")
    if len(got) != len(expected):
        return f"{where} should be a tuple of {len(expected)} values but has {len(got)}"
    parts = [describe_difference(g, e, atol, rtol, f"{where}[{i}]")
             for i, (g, e) in enumerate(zip(got, expected))]
    wrong = [p for p in parts if p]
    same = [f"{where}[{i}]" for i, p in enumerate(parts) if not p]
    if not wrong:
        return None
    if len(same) > 3:
        wrong.append(f"the other {len(same)} match")
    elif same:
        wrong.append(f"{', '.join(same)} match{'es' if len(same) == 1 else ''}")
    return "; ".join(wrong)


def _float_dtype_difference(got: torch.Tensor, expected: torch.Tensor,
                            where: str) -> str | None:
    """Why a float output's dtype will not do: integers, fewer bits than float32 (digits
    lost), or more bits than expected (it would spread float64 through later cells)."""
    if not got.is_floating_point():
        return (f"{where} has dtype {got.dtype}, but expected {expected.dtype} (integers "
                "lose the fractions: keep the values as floats, e.g. no .long() or //)")
    bits = torch.finfo(got.dtype).bits
    if bits < 32:
        return (f"{where} has dtype {got.dtype}, but expected {expected.dtype} (half "
                "precision keeps about 3 digits: compute in the inputs' dtype)")
    if bits > torch.finfo(expected.dtype).bits:
        return (f"{where} has dtype {got.dtype}, but expected {expected.dtype} (a "
                "constant made with numpy or torch.tensor of a float64 value is often "
                "the cause: give it dtype=, or use .to(x.dtype))")
    return None


def _exact_difference(got: torch.Tensor, expected: torch.Tensor, where: str) -> str | None:
    """bool and integer outputs: the same dtype and every entry equal."""
    if got.dtype != expected.dtype:
        kind = " (a True/False mask)" if expected.dtype == torch.bool else " (integers)"
        return f"{where} has dtype {got.dtype}, but expected {expected.dtype}{kind}"
    wrong = got != expected
    if not wrong.any():
        return None
    msg = f"{where}: {int(wrong.sum())} of {expected.numel()} entries differ"
    if expected.numel() <= SHOW_WHOLE:
        legend = " (1 = True, 0 = False)" if expected.dtype == torch.bool else ""
        return f"{msg}{legend}:\n    yours    {_show(got)}\n    expected {_show(expected)}"
    at = _first(wrong)
    return f"{msg}, the first at {list(at)}: yours {got[at].item()}, expected " \
           f"{expected[at].item()}"


def _float_difference(got: torch.Tensor, expected: torch.Tensor, atol: float, rtol: float,
                      where: str) -> str | None:
    """Where inf/nan differ first; then the largest difference over finite entries."""
    g, e = got.detach().double(), expected.detach().double()
    if torch.allclose(g, e, atol=atol, rtol=rtol):
        return None
    if e.numel() == 1:
        return f"{where} is {g.item():.6g} but expected {e.item():.6g}{_overflow_hint(g, e)}"
    wrong = ~torch.isclose(g, e, atol=atol, rtol=rtol)
    finite = torch.isfinite(g) & torch.isfinite(e)
    tolerance = f"(tolerance {atol:g} + {rtol:g}·|expected|)"
    odd = wrong & ~finite                   # inf or nan on one side only, or nan on both
    if odd.any():
        at = _first(odd)
        msg = (f"{where}: entry {list(at)}: yours {g[at].item():.4g}, expected "
               f"{e[at].item():.4g} ({int(odd.sum())} of {e.numel()} entries differ where "
               f"yours or the expected value is inf or nan){_overflow_hint(g, e)}")
        if (wrong & finite).any():
            diff = (g - e)[wrong & finite].abs().max().item()
            msg += f"; the finite entries differ too, by up to {diff:.3g} {tolerance}"
        return msg
    diff = (g - e)[finite].abs().max().item()
    at = _first(wrong)
    return (f"{where}: max abs difference {diff:.3g} {tolerance}, first difference at "
            f"{list(at)}: yours {g[at].item():.4g}, expected {e[at].item():.4g}")


def _overflow_hint(g: torch.Tensor, e: torch.Tensor) -> str:
    """A hint when the learner's output has inf/nan and the expected one has none."""
    if torch.isfinite(e).all() and not torch.isfinite(g).all():
        return " (inf and nan often come from log(0), exp of a large number, or 0/0)"
    return ""


def _first(mask: torch.Tensor) -> tuple:
    """Index of the first True entry of ``mask``."""
    return tuple(mask.nonzero()[0].tolist())


def _show(t: torch.Tensor) -> str:
    """A small int/bool tensor as nested lists (1 and 0 for True and False)."""
    return str((t.int() if t.dtype == torch.bool else t).tolist())


def run_check(student: Callable, reference: Callable, cases: Iterable[Sequence],
              atol: float = 1e-5, rtol: float = 1e-4,
              compare: Callable[[Any, Any], str | None] | None = None) -> CheckResult:
    """Call ``student(*case)`` and ``reference(*case)`` on each case and compare.

    NotImplementedError (the untouched stub) means "not done"; any other exception or
    difference means "failed", with the reason. Warnings the student's code raises are
    recorded (never shown on stderr) and returned as ``notes``.
    """
    if _unwrapped(student) is _unwrapped(reference):
        # A failed check returns the reference, often under the learner's own name
        # (``f = check(f, ...)``): that name must not pass the hidden tests, nor may a
        # wrapper of it (``value_and_gradient(f)``).
        return CheckResult(NOT_DONE, "not done yet (this is the package's reference, "
                                     "not your own function: re-run your exercise cell)")
    caught: list = []
    written = io.StringIO()
    result = _run_cases(student, reference, cases, atol, rtol, compare, caught, written)
    result.notes = warning_notes(caught) + stderr_notes(written.getvalue())
    return result


def _run_cases(student, reference, cases, atol, rtol, compare, caught, written
               ) -> CheckResult:
    for k, case in enumerate(cases, 1):
        case = tuple(case)
        expected = reference(*_clone(case))
        mine = _clone(case)
        try:
            with warnings.catch_warnings(record=True) as seen, \
                    contextlib.redirect_stderr(written):
                warnings.simplefilter("always")
                try:
                    got = student(*mine)
                finally:
                    caught += seen
        except NotImplementedError as exc:
            if not _raised_inside_torch(student, exc):
                return CheckResult(NOT_DONE, not_done_message(student, exc))
            return _failure(k, f" it raised NotImplementedError: {exc}", case, reference)
        except Exception as exc:  # the learner's code may raise anything
            text = str(exc).strip().rstrip(".")
            return _failure(k, f" it raised {type(exc).__name__}"
                               f"{': ' + text if text else ''}", case, reference)
        msg = compare(got, expected) if compare else describe_difference(
            got, expected, atol, rtol)
        if msg and got is None:
            msg = f"it returned None — did you forget `return`? ({msg})"
        msg = msg or _changed_inputs(case, mine, reference)
        if msg:
            return _failure(k, f", {msg}", case, reference)
    return CheckResult(PASSED, "matches the reference on every test case")


def _changed_inputs(before: tuple, after: tuple, reference: Callable) -> str | None:
    """What the learner's function changed in its inputs (an in-place edit such as
    ``x += 1``, ``x.add_()``, ``x[0] = 0``, ``list.pop``), or None."""
    names = _input_names(before, reference)
    changed = [name for name, b, a in zip(names, before, after) if not _same(b, a)]
    if not changed:
        return None
    return (f"it changed its input {', '.join(changed)} in place (e.g. +=, add_, fill_, "
            "x[i] = ..., pop): the caller's values must stay as they were, so compute "
            "into a new tensor or copy first")


def _same(a: Any, b: Any) -> bool:
    """a and b hold the same values (tensors entry by entry, nan equal to nan)."""
    if isinstance(a, torch.Tensor):
        return (isinstance(b, torch.Tensor) and a.shape == b.shape and a.dtype == b.dtype
                and bool(((a == b) | ((a != a) & (b != b))).all()))
    if isinstance(a, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b)))
    if isinstance(a, dict):
        return (isinstance(b, dict) and a.keys() == b.keys()
                and all(_same(a[key], b[key]) for key in a))
    if isinstance(a, (numbers.Number, str, bytes)) or a is None:   # e.g. in a dict
        return type(a) is type(b) and bool(a == b or (a != a and b != b))
    return True   # generators, modules: not compared


def _raised_inside_torch(student: Callable, exc: NotImplementedError) -> bool:
    """True when torch raised ``exc`` inside the learner's own code (a module without
    ``forward``, an operation a dtype lacks): an error to show, not a stub."""
    code = getattr(_unwrapped(student), "__code__", None)
    frames = _traceback_codes(exc)
    return code in frames and os.path.abspath(frames[-1].co_filename).startswith(TORCH_DIR)


def _traceback_codes(exc: BaseException) -> list:
    """The code objects of ``exc``'s traceback, outermost first."""
    return [frame.f_code for frame, _ in traceback.walk_tb(exc.__traceback__)]


def stderr_notes(text: str) -> list[str]:
    """What the learner's code wrote to stderr, as a note for stdout: a graded cell that
    writes to stderr scores 0, so the check keeps it off stderr."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    more = f" (and {len(lines) - 1} more line(s))" if len(lines) > 1 else ""
    return [f"note: your code wrote to stderr (shown here instead): {lines[0][:200]}{more}"]


def _failure(k: int, what: str, case: tuple, reference: Callable) -> CheckResult:
    """"on test case k<what>; inputs: ..." (the case's inputs, to reason about shapes)."""
    return CheckResult(FAILED, f"on test case {k}{what}; inputs: "
                               f"{describe_inputs(case, reference)}")


def warning_notes(caught: list) -> list[str]:
    """One line per distinct warning (at most MAX_NOTES), for stdout."""
    notes = []
    for w in caught:
        text = str(w.message).split(" (Triggered internally at")[0].strip()
        note = f"note: your code warned: {w.category.__name__}: {text}"
        if note not in notes:
            notes.append(note)
    return notes[:MAX_NOTES]


def not_done_message(student: Callable, exc: NotImplementedError) -> str:
    """"not done yet", or which of the learner's other functions is still a stub."""
    helper = _raising_helper(student, exc)
    if helper is None:
        return "not done yet"
    return f"your {_name(student)} called {helper}, which is not done yet"


def _raising_helper(student: Callable, exc: BaseException) -> str | None:
    """The name of the function that raised ``exc`` when it is not ``student`` itself;
    None when it is, or when that cannot be told (a grader's proxy, a lambda, a library)."""
    code = getattr(_unwrapped(student), "__code__", None)
    frames = _traceback_codes(exc)
    if code is None or code.co_name == "<lambda>" or code not in frames:
        return None
    last = frames[-1]
    # a wrapper renamed after the learner's function (notebook 06) counts as it
    if last is code or last.co_name == _name(student) or last.co_name == code.co_name:
        return None
    if os.path.abspath(last.co_filename).startswith(LIBRARY_DIRS):
        return None
    return last.co_name


def _unwrapped(fn: Callable) -> Callable:
    """The function a wrapper wraps (``__wrapped__``, as functools.wraps sets it); ``fn``
    itself when there is none or it cannot be read (a grader's proxy)."""
    try:
        return inspect.unwrap(fn)
    except Exception:  # noqa: BLE001 - an object with a strange __wrapped__
        return fn


def value_and_gradient(fn: Callable) -> Callable:
    """A wrapper to check a function's output *and* the gradient it passes back:

        run(z, w, *rest) = (fn(z, *rest), d/dz sum(w * fn(z, *rest)))

    (zeros when no gradient reaches z, as with ``torch.round`` or a detached output, or
    when the output's shape is not w's: the output's comparison then says what is wrong;
    None when fn returns None, so that the check asks about a missing ``return``).
    Its ``__wrapped__`` is ``fn``, so ``run_check`` still tells the reference from the
    learner's function, and messages name ``fn``.
    """
    def run(z: torch.Tensor, w: torch.Tensor, *rest: Any) -> tuple[Any, torch.Tensor] | None:
        z = z.detach().clone().requires_grad_(True)
        out = fn(z, *rest)
        if out is None:
            return None
        if isinstance(out, torch.Tensor) and out.requires_grad and out.shape == w.shape:
            (out * w).sum().backward()
        grad = z.grad if z.grad is not None else torch.zeros_like(z)
        return (out.detach() if isinstance(out, torch.Tensor) else out), grad

    run.__module__ = getattr(fn, "__module__", run.__module__)
    run.__qualname__ = getattr(fn, "__qualname__", run.__qualname__)
    run.__wrapped__ = fn
    if inspect.isfunction(fn):  # not a grader's proxy, whose attributes are remote
        try:  # messages name the inputs (z, grad_weight, levels ...), not fn's alone
            signature = inspect.signature(fn)
            first, *rest = signature.parameters.values()
            weight = inspect.Parameter("grad_weight",
                                       inspect.Parameter.POSITIONAL_OR_KEYWORD)
            run.__signature__ = signature.replace(parameters=[first, weight, *rest])
        except ValueError:  # no parameters, or ones grad_weight cannot follow
            pass
    return run


def _name(fn: Callable) -> str:
    return str(getattr(fn, "__qualname__", "")).rsplit(".", 1)[-1] or "function"


def describe_inputs(case: tuple, reference: Callable) -> str:
    """"q [2, 4, 8], mask [4, 4] bool, top_k=3": the inputs of a case, named after the
    reference's parameters, so that a learner can reason about broadcasting."""
    return ", ".join(f"{n} {_short(x)}" if isinstance(x, torch.Tensor) else f"{n}={_short(x)}"
                     for n, x in zip(_input_names(case, reference), case))


def _input_names(case: tuple, reference: Callable) -> list[str]:
    """The reference's parameter names for a case's inputs ("input 3" past them)."""
    try:
        params = [p.name for p in inspect.signature(reference).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return params + [f"input {i + 1}" for i in range(len(params), len(case))]


def _short(x: Any) -> str:
    """A tensor's shape (and dtype unless float32); a short repr of anything else."""
    if isinstance(x, torch.Tensor):
        dtype = "" if x.dtype == torch.float32 else " " + str(x.dtype).replace("torch.", "")
        return f"{list(x.shape)}{dtype}"
    if isinstance(x, (tuple, list)):
        inner = ", ".join(_short(v) for v in x[:4]) + (", …" if len(x) > 4 else "")
        if isinstance(x, list):
            return f"[{inner}]"
        return f"({inner},)" if len(x) == 1 else f"({inner})"
    if callable(x):
        return getattr(x, "__name__", "a function")
    text = repr(x) if isinstance(x, (bool, int, float, str, type(None))) else type(x).__name__
    return text if len(text) <= 30 else text[:29] + "…"


def _clone(case: tuple) -> tuple:
    """Fresh copies, so that an in-place edit by one function cannot fool the other."""
    def copy(x):
        if isinstance(x, torch.Tensor):
            return x.clone()
        if isinstance(x, (list, tuple)):        # e.g. a list of tensors
            return type(x)(copy(item) for item in x)
        if isinstance(x, dict):                 # e.g. a caption's attributes
            return {key: copy(value) for key, value in x.items()}
        return x
    return tuple(copy(x) for x in case)


def feedback(result: CheckResult, name: str, formula: str = "", reference_name: str = ""
             ) -> str:
    """The text a learner sees for one check."""
    ref = f" ({reference_name})" if reference_name else ""
    notes = "".join(f"\n  {note}" for note in result.notes)
    if result.passed:
        return f"✓ {name}: {result.message}. Later cells use your {name}.{notes}"
    if result.status == NOT_DONE:
        return (f"… {name}: {result.message}. Later cells use the package's reference{ref} "
                f"until your version passes.{notes}")
    hint = f"\n  Revisit: {formula}" if formula else ""
    return (f"✗ {name}: {result.message}.{hint}\n  Later cells use the package's "
            f"reference{ref} until your version passes.{notes}")


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
    """Hidden test: raise AssertionError (with the learner-facing reason) on failure.

    Warnings of the student's code are printed as notes on stdout (never stderr)."""
    result = run_check(student, reference, cases, atol=atol, rtol=rtol, compare=compare)
    for note in result.notes:
        print(f"{name}: {note}")
    if not result.passed:
        hint = f" Revisit: {formula}" if formula else ""
        raise AssertionError(f"{name}: {result.message}.{hint}")


def random_generator(seed: int | None = None) -> torch.Generator:
    """A generator for hidden-test inputs; a fresh random seed unless one is given."""
    g = torch.Generator()
    g.manual_seed(seed if seed is not None else torch.seed() % (2**31))
    return g
