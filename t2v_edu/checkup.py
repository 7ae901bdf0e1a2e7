"""``t2v_edu.doctor()`` / ``t2v-edu doctor``: is this machine ready for the course?

Each check is a dict {"ok": bool, "value": str, "advice": str}; ``advice`` says what
to do when ``ok`` is False. ``run_doctor`` returns them all and prints one table.

The checks cover what goes wrong in lab sessions: versions, the compute device, the
widget front end (sliders and the caption box stay blank without it), a Jupyter
kernel that runs this Python ("kernel not found", or ``import t2v_edu`` failing in
the notebook), folders you cannot write to, and a full disk.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

HELP = "Check the installation: versions, compute device, widgets, disk."

MIN_PYTHON = (3, 10)
MIN_FREE_GB = 1.0
# distribution name -> (lowest major version that works, advice when missing or old)
PACKAGES = {
    "t2v-edu": (0, 'pip install -e ".[test]" in the course folder'),
    "torch": (2, 'pip install torch  (see https://pytorch.org for CUDA builds)'),
    "numpy": (1, "pip install numpy"),
    "matplotlib": (3, "pip install matplotlib"),
    "imageio": (2, "pip install imageio imageio-ffmpeg"),
    "ipywidgets": (8, 'pip install "ipywidgets>=8"'),
    "jupyterlab": (4, 'pip install "jupyterlab>=4"'),
    "jupyterlab_widgets": (3, 'pip install "jupyterlab_widgets>=3"  (the front end of '
                              'ipywidgets: sliders stay blank without it)'),
    "ipykernel": (6, "pip install ipykernel"),
}
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
KERNEL_ADVICE = ('register this Python as a kernel: python -m ipykernel install --user '
                 '--name t2v-edu --display-name "Python (t2v-edu)", then choose '
                 '"Python (t2v-edu)" in Kernel > Change Kernel (or start JupyterLab with '
                 '"python -m jupyterlab" from this environment)')


def _result(ok: bool, value: str, advice: str = "") -> dict:
    return {"ok": bool(ok), "value": value, "advice": "" if ok else advice}


def check_python() -> dict:
    version = platform.python_version()
    return _result(sys.version_info[:2] >= MIN_PYTHON, version,
                   f"the course needs Python >= {'.'.join(map(str, MIN_PYTHON))}")


def check_package(name: str) -> dict:
    major, advice = PACKAGES[name]
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        return _result(False, "missing", advice)
    try:
        ok = int(version.split(".")[0]) >= major
    except ValueError:
        ok = True  # an unusual version string: do not guess
    return _result(ok, version, f"version {major} or later is needed: {advice}")


def check_device() -> dict:
    """The device notebooks will use (CUDA, then MPS, then CPU); the CPU is fine."""
    import torch

    from . import pick_device

    try:
        device = pick_device()
    except ValueError as exc:    # T2V_DEVICE names an unknown device, or one this machine lacks
        return _result(False, os.environ.get("T2V_DEVICE", "?"), f"T2V_DEVICE: {exc}")
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
    import torch

    threads = torch.get_num_threads()
    return _result(threads >= 1, str(threads))


def check_widgets_frontend(folders: list[str] | None = None) -> dict:
    """The JupyterLab extension that draws ipywidgets, where JupyterLab looks for it.

    ``folders``: the labextension folders to search (default: Jupyter's own list)."""
    if folders is None:
        from jupyter_core.paths import jupyter_path

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
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _this_jupyter_lab() -> Path:
    scripts = Path(sys.executable).parent
    return scripts / ("jupyter-lab.exe" if os.name == "nt" else "jupyter-lab")


def check_kernel(specs: dict[str, list[str]] | None = None,
                 jupyter_lab: str | None | bool = False) -> dict:
    """A Jupyter kernel that runs this Python (the one with t2v_edu installed).

    - inside a running kernel: that kernel is this Python, so it is found;
    - a kernel spec whose command is this Python's path;
    - or the default "python" spec, which JupyterLab runs with its own Python: fine
      when the ``jupyter-lab`` on PATH belongs to this environment.
    ``specs`` (name -> argv) and ``jupyter_lab`` (the path found on PATH, None when
    none) replace what is looked up, for tests."""
    if specs is None and _in_kernel():
        return _result(True, "running in a Jupyter kernel of this Python")
    if specs is None:
        try:
            from jupyter_client.kernelspec import KernelSpecManager

            found = KernelSpecManager().get_all_specs()
        except Exception as exc:  # a broken kernel.json must not crash the report
            return _result(False, "unreadable", f"cannot read the kernel list ({exc}): "
                                                + KERNEL_ADVICE)
        specs = {name: spec["spec"].get("argv", []) for name, spec in found.items()}
    if jupyter_lab is False:
        jupyter_lab = shutil.which("jupyter-lab")
    bare = {"python", "python3", "python{}.{}".format(*sys.version_info[:2])}
    for name, argv in sorted(specs.items()):
        if argv and _same_file(argv[0], sys.executable):
            return _result(True, f"{name!r} runs this Python")
    lab_here = jupyter_lab is not None and _same_file(jupyter_lab, _this_jupyter_lab())
    for name, argv in sorted(specs.items()):
        if argv and argv[0] in bare and lab_here:
            return _result(True, f"{name!r} (run by this environment's JupyterLab)")
    if jupyter_lab is not None and not lab_here:
        return _result(False, f"the jupyter-lab on PATH ({jupyter_lab}) is another Python's",
                       "its kernels cannot import t2v_edu: " + KERNEL_ADVICE)
    return _result(False, "no kernel runs this Python", KERNEL_ADVICE)


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


def check_runtime_folder(folder: str | os.PathLike | None = None) -> dict:
    """Jupyter writes each kernel's connection file here; a read-only home folder
    (common on lab machines) makes every kernel fail to start."""
    if folder is None:
        from jupyter_core.paths import jupyter_runtime_dir

        folder = jupyter_runtime_dir()
    existing = Path(folder)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # Jupyter creates the missing part
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".t2v-doctor-"):
            pass
    except OSError as exc:
        return _result(False, f"{folder} not writable",
                       f"kernels cannot start ({exc.strerror}): set JUPYTER_RUNTIME_DIR to a "
                       "folder you can write, e.g. export JUPYTER_RUNTIME_DIR=/tmp/$USER-jupyter")
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
    checks["widget front end"] = check_widgets_frontend()
    checks["jupyter kernel"] = check_kernel()
    checks["write access"] = check_writable()
    checks["jupyter runtime"] = check_runtime_folder()
    checks["disk"] = check_disk()
    return checks


def format_report(checks: dict[str, dict]) -> str:
    """A readable table: one line per check, advice under the failing ones."""
    width = max(len(name) for name in checks)
    lines = []
    for name, c in checks.items():
        lines.append(f"{'✓' if c['ok'] else '✗'} {name:<{width}}  {c['value']}")
        if not c["ok"]:
            lines.append(f"  {'':<{width}}  → {c['advice']}")
    failed = sum(not c["ok"] for c in checks.values())
    lines.append("All good: you are ready for the course." if not failed else
                 f"{failed} problem(s): follow the advice above, then run the check again.")
    return "\n".join(lines)


def run_doctor(print_report: bool = True) -> dict[str, dict]:
    """Check the installation; print the table when ``print_report`` (the one place
    the package prints: a report is its purpose). Returns the checks by name."""
    checks = run_checks()
    if print_report:
        print(format_report(checks))
    return checks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def cli(args: argparse.Namespace) -> int:
    checks = run_doctor(print_report=True)
    return 0 if all(c["ok"] for c in checks.values()) else 1
