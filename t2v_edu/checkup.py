"""``t2v_edu.doctor()`` / ``t2v-edu doctor``: is this machine ready for the course?

Each check is a dict {"ok": bool, "value": str, "advice": str}; ``advice`` says what
to do when ``ok`` is False. ``run_doctor`` returns them all and prints one table.

The checks cover what goes wrong in lab sessions: versions, the compute device, the
``T2V_*`` settings, the widget front end (sliders and the caption box stay blank
without it), a Jupyter kernel that runs this Python ("kernel not found", or
``import t2v_edu`` failing in the notebook), folders you cannot write to (a read-only
home folder), and a full disk. A missing torch or Jupyter makes the checks that need
it fail with advice; it never stops the report.
"""
from __future__ import annotations

import argparse
import importlib
import json
import operator
import os
import platform
import re
import shutil
import site
import sys
import sysconfig
import tempfile
from importlib import metadata
from pathlib import Path

HELP = "Check the installation: versions, device, settings, widgets, kernel, folders, disk."

MIN_PYTHON = (3, 10)
MIN_FREE_GB = 1.0
# distribution -> (version range, advice when missing or outside it). The ranges are
# pyproject.toml's dependency ranges (tests/test_checkup.py checks that they match);
# jupyterlab_widgets is not listed there: ipywidgets 8 brings version 3.
PACKAGES = {
    "t2v-edu": ("", 'pip install -e ".[test]" in the course folder'),
    "torch": (">=2.1", 'pip install "torch>=2.1"  (see https://pytorch.org for CUDA builds)'),
    "numpy": (">=1.24", 'pip install "numpy>=1.24"'),
    "matplotlib": (">=3.7", 'pip install "matplotlib>=3.7"'),
    "imageio": (">=2.31", 'pip install "imageio>=2.31"'),
    "imageio-ffmpeg": (">=0.4.9", 'pip install "imageio-ffmpeg>=0.4.9"  (MP4 output needs '
                                  "it; GIFs do not)"),
    "ipywidgets": (">=8,<9", 'pip install "ipywidgets>=8,<9"'),
    "jupyterlab": (">=4,<5", 'pip install "jupyterlab>=4,<5"'),
    "jupyterlab_widgets": (">=3,<4", 'pip install "jupyterlab_widgets>=3,<4"  (the front end '
                                     "of ipywidgets: sliders stay blank without it)"),
    "ipykernel": (">=6.25", 'pip install "ipykernel>=6.25"'),
}
# The environment variables t2v_edu.setup() and training read (T2V_DEVICE: the device row)
SETTINGS = ("T2V_PRESET", "T2V_THREADS", "T2V_SMOKE", "T2V_DATA_WORKERS")
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
KERNEL_ADVICE = ('register this Python as a kernel: python -m ipykernel install --user '
                 '--name t2v-edu --display-name "Python (t2v-edu)", then choose '
                 '"Python (t2v-edu)" in Kernel > Change Kernel (or start JupyterLab with '
                 '"python -m jupyterlab" from this environment)')
CONFIG_ADVICE = ("notebooks print warnings and lose settings: before starting JupyterLab, "
                 "set MPLCONFIGDIR, IPYTHONDIR, JUPYTER_CONFIG_DIR, JUPYTER_DATA_DIR and "
                 "JUPYTER_RUNTIME_DIR to folders under /tmp/$USER (e.g. export "
                 "MPLCONFIGDIR=/tmp/$USER/matplotlib), or HOME to a folder you can write")
MARKS = ("✓", "✗", "→")            # passed, failed, advice
ASCII_MARKS = ("ok", "FAIL", "->")  # for a terminal or file that cannot show MARKS


def _result(ok: bool, value: str, advice: str = "") -> dict:
    return {"ok": bool(ok), "value": value, "advice": "" if ok else advice}


def _needs(package: str, exc: Exception) -> dict:
    """The result of a check that cannot run because ``package`` cannot be imported."""
    install = PACKAGES["torch" if package == "torch" else "jupyterlab"][1]
    return _result(False, f"cannot be checked without {package}", f"{exc}: {install}")


def _torch_error() -> Exception | None:
    """Why torch cannot be imported (not installed, or a broken install), else None."""
    try:
        importlib.import_module("torch")
    except (ImportError, OSError) as exc:
        return exc
    return None


def check_python() -> dict:
    version = platform.python_version()
    return _result(sys.version_info[:2] >= MIN_PYTHON, version,
                   f"the course needs Python >= {'.'.join(map(str, MIN_PYTHON))}")


def _release(version: str) -> tuple[int, ...] | None:
    """The numbers a version starts with: "2.13.0+cpu" -> (2, 13, 0); None if none."""
    match = re.match(r"\d+(\.\d+)*", version.strip())
    return tuple(int(n) for n in match.group().split(".")) if match else None


def version_in_range(version: str, spec: str) -> bool:
    """Whether ``version`` is in ``spec``, a range such as ">=8,<9" (pyproject's form).

    Release numbers are compared in full (2.0 < 2.1 and 2.1 == 2.1.0); local tags such
    as "+cpu" and pre-release tags are ignored. True when a version cannot be read.
    """
    compare = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
               "==": operator.eq, "!=": operator.ne}
    have = _release(version)
    for part in filter(None, (p.strip() for p in spec.split(","))):
        match = re.fullmatch(r"(>=|<=|==|!=|<|>)\s*(\S+)", part)
        bound = match and _release(match.group(2))
        if have is None or bound is None:
            continue  # an unusual version or range: do not guess
        width = max(len(have), len(bound))
        padded = have + (0,) * (width - len(have)), bound + (0,) * (width - len(bound))
        if not compare[match.group(1)](*padded):
            return False
    return True


def check_package(name: str) -> dict:
    spec, advice = PACKAGES[name]
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        return _result(False, "missing", advice)
    return _result(version_in_range(version, spec), version,
                   f"the course needs {name}{spec}: {advice}")


def check_device() -> dict:
    """The device notebooks will use (CUDA, then MPS, then CPU); the CPU is fine."""
    error = _torch_error()
    if error:
        return _needs("torch", error)
    import torch

    from . import pick_device

    try:
        device = pick_device()
    except ValueError as exc:    # T2V_DEVICE names an unknown device, or one this machine lacks
        unset = "it" if "T2V_DEVICE" in str(exc) else "T2V_DEVICE"
        return _result(False, f"T2V_DEVICE={os.environ.get('T2V_DEVICE', '')}",
                       f"{exc}; or unset {unset} to let the course choose")
    value = device.type
    if device.type == "cuda":
        value = f"cuda ({torch.cuda.get_device_name(device)})"
    elif device.type == "cpu":
        value = f"cpu ({os.cpu_count()} cores; the course is designed for it)"
        if shutil.which("nvidia-smi") and not torch.cuda.is_available():
            value += ("; an NVIDIA GPU driver is present but this torch build cannot use "
                      "it (optional: install a CUDA build of torch, see pytorch.org)")
    return _result(True, value)


def check_threads() -> dict:
    """The torch thread count ``t2v_edu.setup()`` will set: T2V_THREADS, else at most 2."""
    error = _torch_error()
    if error:
        return _needs("torch", error)
    from . import _threads_from_environment, default_threads

    try:
        chosen = _threads_from_environment()
    except ValueError:
        return _result(False, "T2V_THREADS cannot be read",
                       "t2v_edu.setup() stops on it: see the T2V settings row")
    if chosen:
        return _result(True, f"{chosen} (from T2V_THREADS)")
    return _result(True, f"{default_threads()} (the default, min(2, cores); T2V_THREADS "
                         "changes it)")


def _check_preset() -> None:
    """T2V_PRESET as ``t2v_edu.setup()`` checks it."""
    from . import check_preset

    check_preset(os.environ.get("T2V_PRESET") or None)


def check_settings() -> dict:
    """The T2V_* environment variables, read by the package's own code: a bad value makes
    ``t2v_edu.setup()`` (or training) stop with the message shown here."""
    from . import _threads_from_environment, is_smoke

    readers = {"T2V_THREADS": _threads_from_environment, "T2V_SMOKE": is_smoke,
               "T2V_PRESET": _check_preset}
    if _torch_error() is None:  # without torch nothing trains (the torch row says so)
        from .training import data_workers_from_environment

        readers["T2V_DATA_WORKERS"] = data_workers_from_environment
    errors = {}
    for name, read in readers.items():
        try:
            read()
        except ValueError as exc:
            errors[name] = str(exc) if str(exc).startswith(name) else f"{name}: {exc}"
    if errors:
        it = "it" if len(errors) == 1 else "them"
        return _result(False, ", ".join(f"{name}={os.environ[name]!r}" for name in errors),
                       "\n".join(errors.values()) + f"\nunset {it} or fix {it}")
    chosen = [f"{name}={os.environ[name]}" for name in SETTINGS if os.environ.get(name)]
    return _result(True, ", ".join(chosen) or "none set (the defaults)")


def check_widgets_frontend(folders: list[str] | None = None) -> dict:
    """The JupyterLab extension that draws ipywidgets, where JupyterLab looks for it.

    ``folders``: the labextension folders to search (default: Jupyter's own list)."""
    if folders is None:
        try:
            from jupyter_core.paths import jupyter_path
        except ImportError as exc:
            return _needs("jupyter_core", exc)
        folders = jupyter_path("labextensions")
    for folder in folders:
        package = Path(folder) / WIDGETS_EXTENSION / "package.json"
        if package.is_file():
            try:
                version = json.loads(package.read_text(encoding="utf-8")).get("version", "?")
            except (OSError, ValueError):
                version = "?"
            return _result(True, f"{WIDGETS_EXTENSION} {version}")
    return _result(False, "missing",
                   'pip install "jupyterlab_widgets>=3" in the environment JupyterLab runs '
                   "from, then restart JupyterLab and reload the page (without it widgets "
                   'show as text such as "Text(value=...)" or "Loading widget...")')


def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths lead to one file (symlinks and hard links followed)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _environment(python: str) -> str | None:
    """The venv or conda environment a Python path belongs to: the folder beside it or
    one up that holds pyvenv.cfg or conda-meta; None for a Python installed on its own."""
    folder = os.path.dirname(python)
    for root in (folder, os.path.dirname(folder)):
        if (os.path.isfile(os.path.join(root, "pyvenv.cfg"))
                or os.path.isdir(os.path.join(root, "conda-meta"))):
            return root
    return None


def _runs_this_python(command: str) -> bool:
    """Whether ``command`` (a kernel's argv[0], a script's #! line) is this Python in this
    environment, the one with t2v_edu installed.

    The same file is not enough: a venv's bin/python is a symlink to the base Python, and
    conda hard-links one Python into many environments."""
    if not os.path.isabs(command):
        return False
    here, there = os.path.abspath(sys.executable), os.path.abspath(command)
    if os.path.normcase(here) == os.path.normcase(there):
        return True
    if not _same_file(here, there):
        return False
    env_here, env_there = _environment(here), _environment(there)
    return env_here == env_there or (env_here is not None and env_there is not None
                                     and _same_file(env_here, env_there))


def _scripts_folders() -> list[str]:
    """Where pip puts this Python's commands: the environment's scripts folder (bin/ or
    Scripts\\) and, when user installs are on, the user one (``pip install --user``)."""
    folders = [sysconfig.get_path("scripts")]
    if site.ENABLE_USER_SITE:
        folders.append(sysconfig.get_path("scripts", sysconfig.get_preferred_scheme("user")))
    return folders


def _shebang_python(script: str | os.PathLike) -> str | None:
    """The Python a POSIX script's first line names (``#!/path/to/python``), else None."""
    if os.name == "nt":
        return None
    try:
        with open(script, "rb") as file:
            line = file.readline(1024)
    except OSError:
        return None
    words = line[2:].decode(errors="replace").split() if line.startswith(b"#!") else []
    return words[0] if words and "python" in os.path.basename(words[0]) else None


def _lab_of_this_python(jupyter_lab: str) -> bool:
    """Whether ``jupyter_lab`` (found on PATH) runs this Python: decided by its #! line
    when it names a Python (POSIX), else by the folder it is in (Windows' .exe, #!/bin/sh)."""
    python = _shebang_python(jupyter_lab)
    if python is not None:
        return _runs_this_python(python)
    folder = os.path.dirname(os.path.realpath(jupyter_lab))
    return any(_same_file(folder, scripts) for scripts in _scripts_folders())


def unreadable_kernel_specs(folders: dict[str, str]) -> list[str]:
    """The kernel.json files, in kernel folders by name, that are not valid JSON: Jupyter
    logs and skips them, so their kernels are missing from the kernel list."""
    bad = []
    for folder in folders.values():
        path = Path(folder) / "kernel.json"
        if path.is_file():
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                bad.append(str(path))
    return sorted(bad)


def check_kernel(specs: dict[str, list[str]] | None = None,
                 jupyter_lab: str | None | bool = False,
                 unreadable: list[str] | None = None) -> dict:
    """A Jupyter kernel that runs this Python (the one with t2v_edu installed).

    - inside a running kernel: that kernel is this Python, so it is found;
    - a kernel spec whose command is this Python, in this environment;
    - or the default "python" spec, which JupyterLab runs with its own Python: fine
      when the ``jupyter-lab`` on PATH belongs to this environment.
    ``specs`` (name -> argv), ``jupyter_lab`` (the path found on PATH, None when none) and
    ``unreadable`` (kernel.json files Jupyter skips) replace what is looked up, for tests."""
    if specs is None and _in_kernel():
        return _result(True, "running in a Jupyter kernel of this Python")
    if specs is None:
        try:
            from jupyter_client.kernelspec import KernelSpecManager
        except ImportError as exc:
            return _needs("jupyter_client", exc)
        try:
            manager = KernelSpecManager()
            found = manager.get_all_specs()
            unreadable = unreadable_kernel_specs(manager.find_kernel_specs())
        except Exception as exc:  # a broken installation must not crash the report
            return _result(False, "unreadable", f"cannot read the kernel list ({exc}): "
                                                + KERNEL_ADVICE)
        specs = {name: spec["spec"].get("argv", []) for name, spec in found.items()}
    if jupyter_lab is False:
        jupyter_lab = shutil.which("jupyter-lab")
    bare = {"python", "python3", "python{}.{}".format(*sys.version_info[:2])}
    for name, argv in sorted(specs.items()):
        if argv and _runs_this_python(argv[0]):
            return _result(True, f"{name!r} runs this Python")
    lab_here = jupyter_lab is not None and _lab_of_this_python(jupyter_lab)
    for name, argv in sorted(specs.items()):
        if argv and argv[0] in bare and lab_here:
            return _result(True, f"{name!r} (run by this environment's JupyterLab)")
    skipped = (f"Jupyter skips {', '.join(unreadable)}: it is not valid JSON (fix it, or "
               "delete its folder); or " if unreadable else "")
    if jupyter_lab is not None and not lab_here:
        return _result(False, f"the jupyter-lab on PATH ({jupyter_lab}) is another Python's",
                       skipped + "its kernels cannot import t2v_edu: " + KERNEL_ADVICE)
    value = "no kernel runs this Python"
    if unreadable:
        value += f" ({len(unreadable)} kernel.json unreadable)"
    return _result(False, value, skipped + KERNEL_ADVICE)


def _in_kernel() -> bool:
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def check_writable(folder: str | os.PathLike = ".") -> dict:
    """Notebooks save GIFs and checkpoints next to themselves."""
    folder = Path(folder)
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".t2v-doctor-"):
            pass
    except OSError as exc:
        return _result(False, "no", f"cannot write in the current folder ({exc.strerror}): "
                                    "copy the course to a folder you own")
    return _result(True, "yes")


def _write_error(folder: str | os.PathLike) -> str | None:
    """Why files cannot be written in ``folder``, or created there by making the folder
    (tried in its nearest existing parent; nothing is left behind); None if they can."""
    existing = Path(folder)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the program that uses the folder creates the rest
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".t2v-doctor-"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def check_runtime_folder(folder: str | os.PathLike | None = None) -> dict:
    """Jupyter writes each kernel's connection file here; a read-only home folder
    (common on lab machines) makes every kernel fail to start."""
    if folder is None:
        try:
            from jupyter_core.paths import jupyter_runtime_dir
        except ImportError as exc:
            return _needs("jupyter_core", exc)
        folder = jupyter_runtime_dir()
    error = _write_error(folder)
    if error:
        return _result(False, f"{folder} not writable",
                       f"kernels cannot start ({error}): set JUPYTER_RUNTIME_DIR to a "
                       "folder you can write, e.g. export JUPYTER_RUNTIME_DIR=/tmp/$USER-jupyter")
    return _result(True, "writable")


def _matplotlib_folders() -> list[Path]:
    """matplotlib's settings and font-cache folders, by its documented rule (asking
    matplotlib would make it fall back to a temporary folder and warn)."""
    if os.environ.get("MPLCONFIGDIR"):
        return [Path(os.environ["MPLCONFIGDIR"])]
    home = Path.home()
    if sys.platform.startswith(("linux", "freebsd")):
        return [Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config", "matplotlib"),
                Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache", "matplotlib")]
    if sys.platform == "win32" and not (home / ".matplotlib").is_dir():
        return [Path(os.environ.get("LOCALAPPDATA") or home, "matplotlib")]
    return [home / ".matplotlib"]


def config_folders() -> list[Path]:
    """The folders under the home folder that a notebook's kernel writes: matplotlib's,
    IPython's (IPYTHONDIR) and Jupyter's config and data folders."""
    folders = _matplotlib_folders()
    folders.append(Path(os.environ.get("IPYTHONDIR") or Path.home() / ".ipython"))
    try:
        from jupyter_core.paths import jupyter_config_dir, jupyter_data_dir
    except ImportError:
        return folders  # the Jupyter rows say what to install
    return folders + [Path(jupyter_config_dir()), Path(jupyter_data_dir())]


def check_config_folders(folders: list[str | os.PathLike] | None = None) -> dict:
    """A read-only home folder: matplotlib, IPython and Jupyter cannot keep their settings
    and caches, and write warnings under the first cell of every notebook."""
    bad = [str(f) for f in (config_folders() if folders is None else folders)
           if _write_error(f)]
    if bad:
        return _result(False, "not writable: " + ", ".join(bad), CONFIG_ADVICE)
    return _result(True, "writable")


def check_disk(folder: str | os.PathLike = ".") -> dict:
    free_gb = shutil.disk_usage(folder).free / 1e9
    return _result(free_gb >= MIN_FREE_GB, f"{free_gb:.1f} GB free",
                   f"free at least {MIN_FREE_GB:g} GB for checkpoints and GIFs")


def run_checks() -> dict[str, dict]:
    """Every check, by name, without printing."""
    checks = {"python": check_python()}
    for name in PACKAGES:
        checks[name] = check_package(name)
    checks["device"] = check_device()
    checks["torch threads"] = check_threads()
    checks["T2V settings"] = check_settings()
    checks["widget front end"] = check_widgets_frontend()
    checks["jupyter kernel"] = check_kernel()
    checks["write access"] = check_writable()
    checks["jupyter runtime"] = check_runtime_folder()
    checks["config folders"] = check_config_folders()
    checks["disk"] = check_disk()
    return checks


def format_report(checks: dict[str, dict], marks: tuple[str, str, str] = MARKS) -> str:
    """A readable table: one line per check, advice under the failing ones.

    ``marks``: passed, failed and advice marks (ASCII_MARKS where ✓ cannot be shown)."""
    passed, failed, arrow = marks
    mark_width = max(len(passed), len(failed))
    width = max(len(name) for name in checks)
    indent = " " * (mark_width + 1 + width + 2)
    lines = []
    for name, c in checks.items():
        lines.append(f"{passed if c['ok'] else failed:<{mark_width}} {name:<{width}}  "
                     f"{c['value']}")
        if not c["ok"]:
            advice = c["advice"].replace("\n", "\n" + indent + " " * (len(arrow) + 1))
            lines.append(f"{indent}{arrow} {advice}")
    problems = sum(not c["ok"] for c in checks.values())
    lines.append("All good: you are ready for the course." if not problems else
                 f"{problems} problem(s): follow the advice above, then run the check again.")
    return "\n".join(lines)


def _for_stream(checks: dict[str, dict], stream) -> str:
    """The report in characters ``stream`` can encode: ASCII marks where it cannot show ✓
    (a Windows console or a redirected file in cp1252), "?" for any other character."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "".join(MARKS).encode(encoding)
        marks = MARKS
    except (UnicodeEncodeError, LookupError):
        marks = ASCII_MARKS
    report = format_report(checks, marks)
    try:
        return report.encode(encoding, "replace").decode(encoding)
    except LookupError:
        return report


def run_doctor(print_report: bool = True) -> dict[str, dict]:
    """Check the installation; print the table when ``print_report`` (the one place
    the package prints: a report is its purpose). Returns the checks by name."""
    checks = run_checks()
    if print_report:
        print(_for_stream(checks, sys.stdout))
    return checks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def cli(args: argparse.Namespace) -> int:
    checks = run_doctor(print_report=True)
    return 0 if all(c["ok"] for c in checks.values()) else 1
