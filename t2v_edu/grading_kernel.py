"""The grader's code that runs *inside* kernels (see t2v_edu.grading for the design).

Two kernels take part in grading one submission:

- the **student kernel** runs the student's answer cells. It is untrusted: anything in
  it can be monkey-patched. Here it only answers requests ("call your ``softmax`` on
  these inputs") with plain data (:func:`serve`), while the functions the exercise asks
  the student to write are replaced by guards (:func:`install_guards`) that raise
  DelegationError during those calls.
- the **reference kernel** runs only the instructor's source. Its check cells call the
  student's functions through :class:`Remote` proxies, which send the inputs to the
  student kernel and read the answers back with ``torch.load(weights_only=True)``:
  tensors, numbers, strings, tuples, lists and dicts, never code. The comparisons
  (``exercise.run_check``) run here, so nothing the student patches can change them.

Requests go through files in a folder both kernels see: ``req-N.pkl`` (pickle, from the
trusted side), ``resp-N.pt`` (``torch.save``, read back as data only).

Two things a check may need beyond plain data in and out:

- **functions as arguments** (``euler_sample(velocity_fn, noise, steps)``): each callable
  in the inputs stays in the reference kernel and the student kernel gets a
  :class:`CallbackRef`; calling it sends its arguments back as data (``cb-req-N.pt``),
  the reference kernel runs the function and answers with data (``cb-resp-N.pt``).
- **gradients** (the straight-through estimator's check calls ``backward``): a call whose
  tensor inputs require grad goes through :class:`RemoteFunction`, an autograd Function
  whose backward asks the student kernel for the vector-Jacobian product of the
  student's function (``op: "vjp"``), so the gradient is the student's, computed there.
"""
from __future__ import annotations

import builtins
import copyreg
import importlib
import io
import json
import os
import pickle
import time
import warnings
from typing import Any

import torch
from torch import Tensor

from .exercise import _clone, _same

REQUEST, RESPONSE = "req-{:06d}.pkl", "resp-{:06d}.pt"
CALLBACK_REQUEST, CALLBACK_RESPONSE = "cb-req-{:06d}.pt", "cb-resp-{:06d}.pt"
STOP = "stop"          # written by the grader: the student kernel's serve() returns
GONE = "gone"          # written by the grader: the student kernel is dead or stopped
MAX_MESSAGE = 300      # characters of a student-side exception message kept
MAX_WARNINGS = 3       # warnings of one call of the student's code sent back
POLL_SECONDS = 0.002


class DelegationError(RuntimeError):
    """Raised in the student kernel when graded code calls what it should implement."""


# ---------------------------------------------------------------------------------
# Student kernel side
# ---------------------------------------------------------------------------------
_active: list[frozenset] = [frozenset()]   # paths forbidden during the current call
_tripped: list[str] = []                   # forbidden paths called during it
_handles: dict[int, Any] = {}              # objects that are not plain data, by id
_user_ns: dict[str, Any] = {}              # the notebook's namespace, set by serve()
_callbacks = {"folder": "", "n": 0}        # where and how many callbacks were sent


def install_guards(paths: list[str]) -> list[str]:
    """Replace each dotted function path by a guard; returns the paths guarded.

    A guard behaves like the original except while a graded call whose exercise forbids
    it is running (see :func:`serve`): then it raises DelegationError. Installed before
    any student code runs, so ``from torch.nn.functional import softmax as f`` gets the
    guard too. Classes are left alone.
    """
    done = []
    for path in sorted(set(paths)):
        owner, attr = _owner(path)
        if owner is None:
            continue
        original = getattr(owner, attr)
        if isinstance(original, type) or not callable(original):
            continue
        try:
            setattr(owner, attr, _guard(original, path))
        except (AttributeError, TypeError):
            continue
        done.append(path)
    return done


def _owner(path: str):
    """(object holding the last name, last name) for "pkg.mod.Class.attr"; (None, None)."""
    parts = path.split(".")
    for k in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        try:
            for part in parts[k:-1]:
                obj = getattr(obj, part)
            getattr(obj, parts[-1])
        except AttributeError:
            return None, None
        return obj, parts[-1]
    return None, None


def _guard(original, path: str):
    def guarded(*args, **kwargs):
        if path in _active[0]:
            _tripped.append(path)
            raise DelegationError(f"implement it yourself: this exercise is graded "
                                  f"without {path}")
        return original(*args, **kwargs)

    guarded.__name__ = getattr(original, "__name__", path.rsplit(".", 1)[-1])
    guarded.__qualname__ = getattr(original, "__qualname__", guarded.__name__)
    guarded.__doc__ = getattr(original, "__doc__", None)
    return guarded


def serve(folder: str, namespace: dict) -> None:
    """Answer requests in ``folder`` until the grader writes the STOP file."""
    global _user_ns
    _user_ns = namespace
    _callbacks.update(folder=folder, n=0)
    n = 0
    while True:
        request_path = os.path.join(folder, REQUEST.format(n))
        if os.path.exists(request_path):
            try:
                with open(request_path, "rb") as f:
                    request = pickle.load(f)
            except Exception as exc:  # noqa: BLE001 - answer, do not stop serving
                response = _error(exc, f"the grader's inputs could not be read here: "
                                       f"{str(exc)[:200]}")
            else:
                response = _answer(request)
            _write(os.path.join(folder, RESPONSE.format(n)), response)
            n += 1
            continue
        if os.path.exists(os.path.join(folder, STOP)):
            return
        time.sleep(POLL_SECONDS)


def _answer(request: dict) -> dict:
    _tripped.clear()
    try:
        target = _resolve(request["target"])
        op = request["op"]
        caught: list = []
        changed: list = []
        if op in ("call", "vjp"):
            before = _clone(tuple(request["args"])) if op == "call" else ()
            _active[0] = frozenset(request.get("forbidden", ()))
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    value = (target(*request["args"], **request["kwargs"]) if op == "call"
                             else _vjp(target, request))
            finally:
                _active[0] = frozenset()
            changed = _changed_args(before, request["args"])
        elif op == "getattr":
            value = getattr(target, request["name"])
        else:  # "value"
            value = target
        return {"ok": True, **_pack(value), "delegated": list(_tripped),
                "changed": changed,
                "warnings": [[w.category.__name__, str(w.message)[:MAX_MESSAGE]]
                             for w in caught[:MAX_WARNINGS]]}
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the student's code may raise anything
        return _error(exc, delegated=list(_tripped))


def _changed_args(before: tuple, after) -> list:
    """[index, new value] of each input the call edited in place (x += 1, list.pop),
    sent back so that the reference kernel's copy of the inputs shows the same edit
    and the check can tell the learner (see exercise._changed_inputs)."""
    return [[i, _detached(a)] for i, (b, a) in enumerate(zip(before, after))
            if not _same(b, a) and _is_data(a)]


def _error(exc: BaseException, message: str | None = None, delegated: list | None = None
           ) -> dict:
    """The answer that reports ``exc`` (its type name and message) as data."""
    return {"ok": False, "error": type(exc).__name__,
            "message": (str(exc) if message is None else message)[:MAX_MESSAGE],
            "not_implemented": isinstance(exc, NotImplementedError),
            "delegated": delegated or []}


def _vjp(target, request: dict) -> list:
    """Gradients of <grad, target(*args)> with respect to args[i], i in needs."""
    args = list(request["args"])
    for i in request["needs"]:
        args[i] = args[i].detach().requires_grad_(True)
    with torch.enable_grad():
        out = target(*args, **request["kwargs"])
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"to pass a gradient back the function must return a tensor, "
                            f"not {type(out).__name__}")
        grads = torch.autograd.grad(out, [args[i] for i in request["needs"]],
                                    request["grad"], allow_unused=True)
    return [None if g is None else g.detach() for g in grads]


class CallbackRef:
    """A function of the reference kernel, seen from the student kernel: calling it
    sends the arguments (as data) to the reference kernel, which runs it."""

    def __init__(self, key: int):
        self.key = key

    def __call__(self, *args, **kwargs):
        folder, n = _callbacks["folder"], _callbacks["n"]
        _callbacks["n"] = n + 1
        _write(os.path.join(folder, CALLBACK_REQUEST.format(n)),
               {"key": self.key, "args": _detached(args), "kwargs": _detached(kwargs)})
        answer = os.path.join(folder, CALLBACK_RESPONSE.format(n))
        while not os.path.exists(answer):
            time.sleep(POLL_SECONDS)
        response = torch.load(answer, weights_only=True)
        if not response["ok"]:
            raise RuntimeError(f"the function given to yours raised "
                               f"{response['error']}: {response['message']}")
        return response["value"]

    def __repr__(self) -> str:
        return "<a function of the grader>"


def _detached(x: Any) -> Any:
    """x with every tensor detached (lists, tuples and dicts walked)."""
    if isinstance(x, torch.Tensor):
        return x.detach()
    if type(x) in (list, tuple):
        return type(x)(_detached(v) for v in x)
    if type(x) is dict:
        return {k: _detached(v) for k, v in x.items()}
    return x


def _resolve(ref: tuple):
    kind, key = ref
    if kind == "name":
        if key not in _user_ns:
            raise NameError(f"name {key!r} is not defined")
        return _user_ns[key]
    return _handles[key]


def _is_data(x: Any, depth: int = 0) -> bool:
    if depth > 20:
        return False
    if type(x) in (torch.Tensor, torch.nn.Parameter):
        return x.layout == torch.strided and x.device.type == "cpu"
    if x is None or type(x) in (bool, int, float, complex, str, bytes, torch.Size,
                                torch.dtype):
        return True
    if type(x) in (list, tuple):
        return all(_is_data(v, depth + 1) for v in x)
    if type(x) is dict:
        return all(type(k) in (str, int) and _is_data(v, depth + 1) for k, v in x.items())
    return False


def _pack(value: Any) -> dict:
    if _is_data(value):
        if isinstance(value, torch.Tensor):
            value = value.detach()
        return {"value": value}
    key = len(_handles) + 1
    _handles[key] = value
    return {"handle": key, "type": type(value).__name__[:60], "callable": callable(value)}


def _write(path: str, response: dict) -> None:
    tmp = path + ".tmp"
    try:
        torch.save(response, tmp)
    except Exception as exc:  # noqa: BLE001 - e.g. a tensor subclass torch cannot save
        torch.save(_error(exc, f"the result could not be sent back: {str(exc)[:200]}"), tmp)
    os.replace(tmp, path)


def _from_handle(key: int):
    return _handles[key]


def _from_name(name: str):
    return _resolve(("name", name))


def _make_generator(state: torch.Tensor) -> torch.Generator:
    g = torch.Generator()
    g.set_state(state)
    return g


# ---------------------------------------------------------------------------------
# Reference kernel side
# ---------------------------------------------------------------------------------
class GradingTimeout(BaseException):
    """The student's code did not answer in time (BaseException: run_check lets it out)."""


class KernelGone(BaseException):
    """The student kernel died or was stopped (memory, output, crash)."""


class RemoteError(Exception):
    """An exception raised by the student's code, with its type name in the message."""


class Remote:
    """A student-kernel object (a function, a module, ...) seen from the reference kernel."""

    def __init__(self, link: "Link", ref: tuple, type_name: str = "function"):
        self._link, self._ref, self._type = link, ref, type_name

    def __call__(self, *args, **kwargs):
        if torch.is_grad_enabled() and any(isinstance(a, torch.Tensor) and a.requires_grad
                                           for a in args):
            return RemoteFunction.apply(self, kwargs, *args)
        return self._call(args, kwargs)

    def _call(self, args: tuple, kwargs: dict):
        return self._link.request({"op": "call", "target": self._ref, "args": args,
                                   "kwargs": kwargs})

    def __getattr__(self, name: str):
        if name.startswith("__") or name.startswith("_Remote"):
            raise AttributeError(name)
        return self._link.request({"op": "getattr", "target": self._ref, "name": name})

    def __reduce__(self):
        kind, key = self._ref
        return (_from_name, (key,)) if kind == "name" else (_from_handle, (key,))

    def __repr__(self) -> str:
        return f"<the student's {self._type}>"


class RemoteFunction(torch.autograd.Function):
    """A student's function in the autograd graph of the reference kernel: forward
    calls it remotely; backward asks the student kernel for its vector-Jacobian product."""

    @staticmethod
    def forward(ctx, remote: Remote, kwargs: dict, *args) -> Tensor:
        ctx.remote, ctx.kwargs = remote, kwargs
        ctx.args = _detached(args)
        out = remote._call(ctx.args, kwargs)
        if not isinstance(out, torch.Tensor):
            raise RemoteError(f"to pass a gradient back the function must return a "
                              f"tensor, not {type(out).__name__}")
        return out

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
        needs = [i for i, need in enumerate(ctx.needs_input_grad[2:]) if need]
        grads = ctx.remote._link.request({"op": "vjp", "target": ctx.remote._ref,
                                          "args": ctx.args, "kwargs": ctx.kwargs,
                                          "grad": grad.detach(), "needs": needs})
        if type(grads) is not list or len(grads) != len(needs):
            raise RemoteError("the gradient sent back is not one tensor per input")
        out: list = [None] * len(ctx.args)
        for i, g in zip(needs, grads):
            out[i] = g
        return (None, None, *out)


def _mirror(target: Any, value: Any) -> None:
    """Make ``target`` (an input of the reference kernel) hold ``value`` (the same input
    after the student's call edited it in the student kernel), in place."""
    if isinstance(target, torch.Tensor) and isinstance(value, torch.Tensor):
        with torch.no_grad():
            if target.shape == value.shape and target.dtype == value.dtype:
                target.copy_(value)
            else:
                target.data = value
    elif type(target) is list and type(value) is list:
        target[:] = value
    elif type(target) is dict and type(value) is dict:
        target.clear()
        target.update(value)
    elif type(target) is tuple and type(value) is tuple and len(target) == len(value):
        for t, v in zip(target, value):
            _mirror(t, v)


def _warning_category(name: str) -> type:
    """The built-in warning class of that name (UserWarning for any other name)."""
    category = getattr(builtins, name, None)
    return category if isinstance(category, type) and issubclass(category, Warning) \
        else UserWarning


def _remote_error(name: str) -> type:
    """A RemoteError subclass named like the student's exception, so that feedback
    reads "it raised ValueError: ..."."""
    name = name if name.isidentifier() and len(name) <= 60 else "Exception"
    return type(name, (RemoteError,), {})


def _reduce_generator(g: torch.Generator):
    return (_make_generator, (g.get_state(),))


class Link:
    """Sends requests to the student kernel's serve() and waits for data answers."""

    def __init__(self, folder: str, seconds: float, forbidden: list[str]):
        self.folder, self.forbidden = folder, list(forbidden)
        self.deadline = time.monotonic() + seconds
        self.n = 0
        self.delegated: list[str] = []
        self.callbacks: list = []           # functions sent as CallbackRef(index)
        self.callback_n = 0

    def _by_reference(self, x: Any) -> Any:
        """x with every function in it (not a Remote, not a class) kept here and
        replaced by a CallbackRef; lists, tuples and dicts are walked."""
        if type(x) in (list, tuple):
            return type(x)(self._by_reference(v) for v in x)
        if type(x) is dict:
            return {k: self._by_reference(v) for k, v in x.items()}
        if callable(x) and not isinstance(x, (Remote, type, torch.Tensor)):
            self.callbacks.append(x)
            return CallbackRef(len(self.callbacks) - 1)
        return x

    def _answer_callback(self) -> None:
        """Run the next function the student's code called, if it has asked."""
        path = os.path.join(self.folder, CALLBACK_REQUEST.format(self.callback_n))
        if not os.path.exists(path):
            return
        try:
            try:
                call = torch.load(path, weights_only=True)     # data only, never code
            except Exception:  # noqa: BLE001 - whatever the student's code sent
                raise TypeError("its arguments must be plain data (tensors, numbers, "
                                "strings, tuples, lists, dicts)") from None
            value = self.callbacks[int(call["key"])](*call["args"], **call["kwargs"])
            response = {"ok": True, "value": _detached(value)}
        except Exception as exc:  # noqa: BLE001 - bad inputs from the student's code
            response = _error(exc)
        _write(os.path.join(self.folder, CALLBACK_RESPONSE.format(self.callback_n)),
               response)
        self.callback_n += 1

    def request(self, request: dict) -> Any:
        request["forbidden"] = self.forbidden
        inputs = request.get("args", ())    # the caller's own objects, before _by_reference
        for key in ("args", "kwargs"):
            if key in request:
                request[key] = self._by_reference(request[key])
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = copyreg.dispatch_table.copy()
        pickler.dispatch_table[torch.Generator] = _reduce_generator
        try:
            pickler.dump(request)
        except Exception as exc:  # noqa: BLE001
            raise RemoteError(f"the grader could not send these inputs: {exc}") from None
        name = os.path.join(self.folder, REQUEST.format(self.n))
        with open(name + ".tmp", "wb") as f:
            f.write(buffer.getvalue())
        os.replace(name + ".tmp", name)
        answer = os.path.join(self.folder, RESPONSE.format(self.n))
        self.n += 1
        while not os.path.exists(answer):
            self._answer_callback()
            if os.path.exists(os.path.join(self.folder, GONE)):
                raise KernelGone("the notebook's kernel stopped")
            if time.monotonic() > self.deadline:
                raise GradingTimeout("the student's code did not finish in time")
            time.sleep(POLL_SECONDS)
        try:
            response = torch.load(answer, weights_only=True)   # data only, never code
            ok = bool(response["ok"])
        except Exception:  # noqa: BLE001 - whatever the student kernel wrote
            raise RemoteError("the result is not plain data (tensors, numbers, strings, "
                              "tuples, lists, dicts)") from None
        self.delegated += [str(p) for p in response.get("delegated", [])]
        for item in list(response.get("warnings") or [])[:MAX_WARNINGS]:
            # raised again here, where the check records them as notes for the feedback
            if isinstance(item, (list, tuple)) and len(item) == 2:
                warnings.warn(str(item[1])[:MAX_MESSAGE], _warning_category(str(item[0])))
        if not ok:
            message = str(response.get("message", ""))[:MAX_MESSAGE]
            if response.get("not_implemented"):
                raise NotImplementedError(message)
            raise _remote_error(str(response.get("error", "Exception")))(message)
        for item in list(response.get("changed") or []):
            if isinstance(item, (list, tuple)) and len(item) == 2 \
                    and type(item[0]) is int and 0 <= item[0] < len(inputs):
                _mirror(inputs[item[0]], item[1])
        if "handle" in response:
            return Remote(self, ("handle", int(response["handle"])),
                          str(response.get("type", "object")))
        return response.get("value")


_session: dict[str, Any] = {"results": [], "link": None, "saved": None}


def record_checks() -> None:
    """Record every exercise.run_check result (status, message, reference path)."""
    from . import exercise

    if getattr(exercise.run_check, "_t2v_recording", False):
        return
    original = exercise.run_check

    def recording(student, reference, cases, *args, **kwargs):
        result = original(student, reference, cases, *args, **kwargs)
        _session["results"].append({
            "status": result.status, "message": result.message,
            "reference": f"{getattr(reference, '__module__', '')}."
                         f"{getattr(reference, '__qualname__', '')}"})
        return result

    recording._t2v_recording = True
    exercise.run_check = recording


def begin(names: list[str], folder: str, seconds: float, forbidden: list[str],
          namespace: dict) -> None:
    """Bind each answer name to the student's object, seen through a Link."""
    link = Link(folder, seconds, forbidden)
    _session.update(results=[], link=link, saved=dict(namespace))
    for name in names:
        try:
            value = link.request({"op": "value", "target": ("name", name)})
        except RemoteError:
            value = Remote(link, ("name", name))   # undefined: fails when called
        namespace[name] = value


def take() -> str:
    """JSON of the results recorded since the last take(), and delegations seen."""
    link = _session["link"]
    out = {"results": _session["results"],
           "delegated": sorted(set(link.delegated)) if link else []}
    _session["results"] = []
    return json.dumps(out)


def end(namespace: dict) -> None:
    """Put the reference kernel's namespace back as it was before begin()."""
    saved = _session["saved"]
    if saved is not None:
        namespace.clear()
        namespace.update(saved)
    _session.update(results=[], link=None, saved=None)


# ---------------------------------------------------------------------------------
# Zygote: a process that has imported torch and ipykernel once and forks a fresh
# student kernel per submission (saves ~3 CPU-seconds of imports per kernel).
# ---------------------------------------------------------------------------------
def zygote_main(modules: list[str]) -> None:
    """Read one JSON request per line on stdin, fork a kernel, print its pid."""
    import signal
    import sys

    import ipykernel.kernelapp  # noqa: F401 - imported once, shared by every fork

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that fails loads in the kernel
            pass
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)      # children are reaped at once
    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _become_kernel(request)
        print(pid, flush=True)


def _become_kernel(request: dict) -> None:
    import signal
    import sys

    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, 4096)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ["JPY_PARENT_PID"] = str(os.getppid())  # exit when the zygote does
        sys.argv = ["ipykernel_launcher", "-f", request["connection"],
                    "--HistoryManager.enabled=False", "--IPKernelApp.log_level=50"]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
    finally:
        os._exit(0)
