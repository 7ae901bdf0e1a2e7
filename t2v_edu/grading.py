"""``t2v-edu grade``: grade a folder of submitted notebooks, robust to any submission.

How one submission is graded
----------------------------
1. **Read** the file: not JSON, not a notebook, another nbformat version, the wrong
   notebook, too large -> one row per exercise with that status; the batch goes on.
2. **Rebuild** the notebook from the instructor's source, as nbgrader does: every
   cell comes from the source except the answer cells, which come from the student
   (matched by ``grade_id``; missing -> the stub; duplicated -> the first; reordered ->
   source order). Deleted or edited check cells are thus restored; other cells the
   student added or changed are not run.
3. **Execute** it in a *student kernel* (its own process, ``T2V_SMOKE=1``,
   ``T2V_DEVICE=cpu``): per-cell and per-notebook timeouts (interrupt, then kill), a
   memory cap (resident memory of the kernel and its children, polled; killed past the
   cap), a cap on output size and on file size. The hidden tests are never sent to it.
4. **Check** each exercise in a *reference kernel* that runs only the instructor's
   source: its check cell (visible check and hidden tests) calls the student's
   functions through proxies that ship the inputs to the student kernel and read the
   outputs back as plain data (``torch.load(weights_only=True)``). The comparisons and
   the pass/fail verdict happen in the reference kernel and reach the grader through
   the Jupyter protocol of that trusted kernel; nothing the student kernel prints or
   patches is read as a score. During these calls the functions the exercise asks the
   student to write (the package reference its check uses, plus the PyTorch ops in
   TORCH_EQUIVALENTS / FORBIDDEN) raise "implement it yourself" in the student kernel.
5. **Write** the rows (long and wide CSV) and a Markdown feedback file, atomically,
   as soon as the submission is done; a rerun skips graded submissions (``--force``
   regrades). Files of the package, the source and finished records are checked
   after every submission: a change means a submission tampered with them.
"""
from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import io
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # annotations only: nbformat is imported where a notebook is read
    import nbformat

HELP = "Grade submitted notebooks: hidden tests, per-exercise CSV, feedback files."

# Statuses of one exercise row.
PASSED, FAILED, NOT_DONE, DELEGATED, ERROR = "passed", "failed", "not done", "delegated", "error"
TIMEOUT, MEMORY, OUTPUT, DIED = "timeout", "memory limit", "output limit", "kernel died"
UNREADABLE, NOT_NOTEBOOK, WRONG_NOTEBOOK = "unreadable", "not a notebook", "wrong notebook"
NBFORMAT, TOO_LARGE, MISSING = "nbformat version", "too large", "missing"
TAMPERING, GRADER_ERROR = "tampering", "grader error"

# PyTorch ops that do what a package reference does: calling them in an answer earns
# nothing when the exercise's check uses that reference (keyed by its function name).
TORCH_EQUIVALENTS: dict[str, tuple[str, ...]] = {
    "one_hot_embed": ("torch.nn.functional.embedding",),
    "softmax": ("torch.softmax", "torch.nn.functional.softmax", "torch.Tensor.softmax"),
    "log_softmax": ("torch.log_softmax", "torch.nn.functional.log_softmax",
                    "torch.Tensor.log_softmax"),
    "scaled_dot_product_attention": (
        "torch.nn.functional.scaled_dot_product_attention",
        "torch.nn.functional.multi_head_attention_forward"),
    "attention": ("torch.nn.functional.scaled_dot_product_attention",
                  "torch.nn.functional.multi_head_attention_forward"),
    "multi_head_attention": ("torch.nn.functional.multi_head_attention_forward",),
    "layer_norm": ("torch.nn.functional.layer_norm", "torch.layer_norm"),
    "cosine_similarity": ("torch.nn.functional.cosine_similarity",
                          "torch.cosine_similarity"),
    "rnn_cell": ("torch.rnn_tanh_cell",),
    "gru_cell": ("torch.gru_cell",),
    "lstm_cell": ("torch.lstm_cell",),
    "binary_cross_entropy": ("torch.nn.functional.binary_cross_entropy",
                             "torch.nn.functional.binary_cross_entropy_with_logits"),
    "cross_entropy": ("torch.nn.functional.cross_entropy",
                      "torch.nn.functional.nll_loss"),
    "kl_divergence": ("torch.distributions.kl_divergence",
                      "torch.distributions.kl.kl_divergence"),
    "conv2d": ("torch.nn.functional.conv2d", "torch.conv2d"),
}
# Extra forbidden functions per exercise id (grade_id of the answer cell).
FORBIDDEN: dict[str, tuple[str, ...]] = {}

SMOKE_ENV = {"T2V_SMOKE": "1", "T2V_DEVICE": "cpu", "T2V_PRESET": "cpu",
             "CUDA_VISIBLE_DEVICES": "", "T2V_THREADS": "1", "OMP_NUM_THREADS": "1",
             "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
KEPT_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "VIRTUAL_ENV", "CONDA_PREFIX",
            "LD_LIBRARY_PATH", "PYTHONPATH", "TMPDIR",
            # Windows: Python cannot start without SYSTEMROOT (random numbers, sockets)
            "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP")
# Files whose change during grading means tampering (what the reference kernels and
# the grader import; a kernel restarted later would import a changed copy).
WATCHED_FILES = ("__init__.py", "exercise.py", "grading.py", "grading_kernel.py",
                 "course.py")
MESSAGE_CHARS = 300       # characters of a message in the CSV and feedback
FEEDBACK_CHARS = 2000     # characters of a visible check's printed feedback kept
MONITOR_SECONDS = 0.1
USE_ZYGOTE = True         # fork student kernels from a process with torch imported
                          # (on Linux only: see fork_is_safe)
MB = 1 << 20
START_TRIES = 3           # starts of a kernel that exits at once, before "kernel died"
REFERENCE_STARTS = 2      # starts of the reference kernel whose grader fails to boot


@dataclass(frozen=True)
class Limits:
    """What one submission may use."""
    timeout: float = 600.0        # seconds for the whole notebook
    cell_timeout: float = 60.0    # seconds for one cell (and one exercise's checks)
    memory_mb: int = 3000         # resident memory of the student kernel
    output_mb: int = 20           # output the student kernel may send
    file_mb: int = 50             # size of the submitted notebook
    disk_mb: int = 1024           # largest file the student kernel may write

    def __post_init__(self):
        for name in ("timeout", "cell_timeout", "memory_mb", "output_mb", "file_mb",
                     "disk_mb"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                option = f" (--{name.replace('_', '-')})" if name in (
                    "timeout", "cell_timeout", "memory_mb") else ""
                raise ValueError(f"{name}{option} must be a positive number, got {value!r}")


@dataclass
class Row:
    student: str
    notebook: str
    grade_id: str
    points: float
    max_points: float
    status: str
    message: str
    feedback: str = ""            # the visible check's printed feedback (Markdown only)


@dataclass
class Exercise:
    grade_id: str                 # the answer cell's id, e.g. "one_hot_embed"
    points: float
    names: list[str]              # what the answer cell defines
    stub: str                     # the student copy's answer cell
    visible: str                  # the check cell without hidden tests
    hidden: str                   # the hidden tests
    forbidden: list[str] = field(default_factory=list)


class GradingError(RuntimeError):
    """The grader cannot go on (the source fails, or files were tampered with)."""


# ---------------------------------------------------------------------------------
# The source
# ---------------------------------------------------------------------------------
def split_hidden(source: str) -> tuple[str, str]:
    """(visible part, hidden tests) of a check cell's source."""
    from .course import HIDDEN_BEGIN, HIDDEN_END

    visible, hidden, inside = [], [], False
    for line in source.split("\n"):
        marker = line.strip()
        if marker == HIDDEN_BEGIN:
            inside = True
        elif marker == HIDDEN_END:
            inside = False
        else:
            (hidden if inside else visible).append(line)
    return "\n".join(visible).rstrip("\n"), "\n".join(hidden).strip("\n")


def defined_names(source: str) -> list[str]:
    """Top-level names a cell defines (functions, classes, assignments)."""
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return list(dict.fromkeys(names))


def _grading(cell) -> dict:
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    grading = meta.get("nbgrader") if isinstance(meta, dict) else None
    return grading if isinstance(grading, dict) else {}


def exercises_of(source_nb: "nbformat.NotebookNode") -> list[Exercise]:  # noqa: F821
    """The exercises of a source notebook, in order."""
    from .course import student_version

    student = student_version(source_nb)
    found: dict[str, Exercise] = {}
    for cell, stub_cell in zip(source_nb.cells, student.cells):
        grading = _grading(cell)
        if grading.get("solution"):
            gid = grading["grade_id"]
            found[gid] = Exercise(gid, 0, defined_names(cell.source), stub_cell.source,
                                  "", "", list(FORBIDDEN.get(gid, ())))
        elif grading.get("grade"):
            exercise = found[grading["grade_id"][:-len("_check")]]
            exercise.points = float(grading["points"])
            exercise.visible, exercise.hidden = split_hidden(cell.source)
    return list(found.values())


# ---------------------------------------------------------------------------------
# Reading a submission
# ---------------------------------------------------------------------------------
def read_submission(path: str | os.PathLike, exercises: list[Exercise],
                    max_mb: float = Limits.file_mb) -> tuple[dict[str, str], str, str]:
    """(answers by grade_id, status, message); status is "" when the file is usable.

    Only the answer cells are taken from a submission; the first cell with a grade_id
    wins when a student duplicated one.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > max_mb * MB:
        return {}, TOO_LARGE, f"the file is {size / MB:.0f} MB; at most {max_mb:g} MB"
    try:
        nb = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return {}, UNREADABLE, f"the file is not JSON ({type(exc).__name__}); " \
                               "submit the .ipynb file saved by Jupyter"
    if isinstance(nb, dict) and "nbformat" in nb and nb["nbformat"] != 4:
        return {}, NBFORMAT, f"nbformat {nb['nbformat']!r} notebook; only nbformat 4 " \
                             "(Jupyter 4 and later) is accepted: open it in a current " \
                             "Jupyter and save it again"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return {}, NOT_NOTEBOOK, "the file is JSON but not a Jupyter notebook " \
                                 "(no list of cells)"
    answers: dict[str, str] = {}
    ids = {e.grade_id for e in exercises}
    seen = set()
    for cell in nb["cells"]:
        grading = _grading(cell)
        gid = grading.get("grade_id")
        if not isinstance(gid, str):
            continue
        seen.add(gid.removesuffix("_check"))
        if gid in ids and gid not in answers and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            if isinstance(source, str):
                answers[gid] = source
    if ids and not (seen & ids):
        return {}, WRONG_NOTEBOOK, "none of this notebook's exercise cells are in the " \
                                   "file: is it another notebook, or a copy made " \
                                   "without the exercise cells?"
    return answers, "", ""


def submission_digest(path: Path | None) -> str | None:
    """SHA-256 of a submitted file (None when it is missing or unreadable): a record
    holds it, so that a rerun grades a resubmission again."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path else None
    except OSError:
        return None


def find_submissions(folder: str | os.PathLike, notebook: str) -> list[tuple[str, Path | None]]:
    """(student, path or None) for each student folder.

    Layouts: ``folder/<student>/<notebook>.ipynb`` and nbgrader's
    ``folder/submitted/<student>/<assignment>/<notebook>.ipynb`` (``folder`` may also be
    the ``submitted`` folder itself). A student folder with no such file but exactly one
    ``.ipynb`` is graded with that file (it is flagged if it is the wrong notebook).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    if (folder / "submitted").is_dir():
        folder = folder / "submitted"
    filename = f"{notebook}.ipynb"
    found = []
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir()
                              and not p.name.startswith(".")):
        candidates = [student_dir / filename] + sorted(student_dir.glob(f"*/{filename}"))
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            others = sorted(student_dir.glob("*.ipynb")) + sorted(student_dir.glob("*/*.ipynb"))
            others = [p for p in others if ".ipynb_checkpoints" not in p.parts]
            path = others[0] if len(others) == 1 else None
        found.append((student_dir.name, path))
    return found


# ---------------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------------
def kernel_env(home: str) -> dict[str, str]:
    """A small environment: no secrets of the grader's shell, the smoke settings."""
    env = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
    env.update(SMOKE_ENV)
    env["HOME"] = env["USERPROFILE"] = home     # USERPROFILE: the home folder on Windows
    return env


def fork_is_safe(platform: str = sys.platform) -> bool:
    """Whether a process that imported torch may fork kernels: on Linux only. On macOS
    the system libraries torch loads are not fork-safe (Python's multiprocessing spawns
    there for that reason); Windows has no fork. Elsewhere each kernel starts afresh."""
    return platform.startswith("linux")


@dataclass
class Reply:
    status: str                   # "ok", "error", "timeout" or "stopped"
    ename: str = ""
    evalue: str = ""
    stdout: str = ""
    expressions: dict = field(default_factory=dict)


class Kernel:
    """An IPython kernel in its own process group, watched by the Monitor."""

    def __init__(self, workdir: Path, name: str, memory_mb: int, output_mb: int,
                 disk_mb: int, zygote: "Zygote | None" = None):
        self.memory_bytes, self.output_bytes = memory_mb * MB, output_mb * MB
        self.output_seen = 0
        self.stopped = ""          # why it stopped: "memory", "died", "output", ...
        self.gone_file: Path | None = None
        self._replies: dict[str, dict] = {}
        self._idle: set[str] = set()
        self._stdout: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        for _ in range(max(1, START_TRIES)):   # again only after an exit, not a hang
            started = self._start(workdir, name, disk_mb, zygote)
            if started != "exited":
                break
        if started != "ready":
            self.kill("died")
        MONITOR.watch(self)

    def _start(self, workdir: Path, name: str, disk_mb: int,
               zygote: "Zygote | None") -> str:
        """Start a kernel on fresh ports: "ready", or (nothing left running) "exited" or
        "hung" (no answer in 90 s). A port is chosen free but only bound when the kernel
        starts: another process (a second grader, a notebook test) can take it in
        between, and the kernel then exits at once."""
        from jupyter_client import BlockingKernelClient
        from jupyter_client.connect import write_connection_file

        connection = str(workdir / f".{name}-{os.urandom(6).hex()}.json")
        write_connection_file(connection, ip="127.0.0.1")
        pid = zygote.spawn(connection, workdir) if zygote is not None else None
        if pid is not None:
            self.proc = ForkedProcess(pid)
        else:   # its own process group (POSIX) and, on Windows, an interrupt event; the
            # kernel watches the grader (JPY_PARENT_PID) and exits if the grader dies
            from jupyter_client.launcher import launch_kernel

            self.proc = launch_kernel(
                [sys.executable, "-m", "ipykernel_launcher", "-f", connection,
                 "--HistoryManager.enabled=False", "--IPKernelApp.log_level=50"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env=kernel_env(str(workdir)), cwd=workdir)
        _limit_process(self.proc.pid, disk_mb)
        self.client = BlockingKernelClient()
        self.client.load_connection_file(connection)
        self.client.start_channels()
        try:
            if self._wait_ready(90):
                return "ready"
        finally:
            os.unlink(connection)      # the key is gone from the disk once connected
        exited = self.proc.poll() is not None
        _kill_tree(self.proc.pid)
        self.client.stop_channels()
        return "exited" if exited else "hung"

    def _wait_ready(self, timeout: float) -> bool:
        """Ask for kernel_info until it answers (jupyter_client's own wait trips on
        heartbeats that are not up yet)."""
        from queue import Empty

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            self.client.kernel_info()
            try:
                msg = self.client.get_shell_msg(timeout=1)
            except Empty:
                continue
            if msg["msg_type"] == "kernel_info_reply":
                while True:          # drop the start-up messages
                    try:
                        self.client.get_iopub_msg(timeout=0.2)
                    except Empty:
                        return True
        return False

    def alive(self) -> bool:
        return not self.stopped and self.proc.poll() is None

    def kill(self, reason: str) -> None:
        """Stop the kernel and every process it started; remember why."""
        with self._lock:
            if not self.stopped:
                self.stopped = reason
        _kill_tree(self.proc.pid)
        if self.gone_file is not None:
            try:
                self.gone_file.write_text(reason, encoding="utf-8")
            except OSError:
                pass

    def close(self) -> None:
        MONITOR.forget(self)
        if not self.stopped:
            self.stopped = "closed"
        _add_cpu_seconds(self.proc.pid)
        _kill_tree(self.proc.pid)
        try:
            self.client.stop_channels()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def send(self, code: str, expressions: dict | None = None) -> str:
        return self.client.execute(code, store_history=False, allow_stdin=False,
                                   stop_on_error=False, user_expressions=expressions or {})

    def pump(self) -> None:
        """Take every message that has arrived; count output; keep replies."""
        from queue import Empty

        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=0)
            except (Empty, Exception):  # noqa: BLE001 - closed channels
                break
            parent = msg.get("parent_header", {}).get("msg_id", "")
            kind, content = msg["header"]["msg_type"], msg.get("content", {})
            if kind == "status" and content.get("execution_state") == "idle":
                self._idle.add(parent)
            elif kind == "stream":
                text = str(content.get("text", ""))
                self.output_seen += len(text)
                if content.get("name") == "stdout" and parent in self._stdout:
                    self._stdout[parent].append(text)
            elif kind in ("display_data", "execute_result", "update_display_data",
                          "error"):
                self.output_seen += sum(len(str(v)) for v in
                                        content.get("data", {}).values())
                self.output_seen += sum(len(str(v)) for v in content.get("traceback", []))
        if self.output_seen > self.output_bytes and not self.stopped:
            self.kill("output")
        while True:
            try:
                msg = self.client.get_shell_msg(timeout=0)
            except (Empty, Exception):  # noqa: BLE001
                break
            self._replies[msg.get("parent_header", {}).get("msg_id", "")] = msg["content"]

    def done(self, msg_id: str) -> bool:
        return msg_id in self._replies and msg_id in self._idle

    def wait(self, msg_id: str, timeout: float, during: Callable[[], None] | None = None
             ) -> Reply:
        """Wait for the reply to ``msg_id``; ``during()`` is called while waiting."""
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            if self.done(msg_id):
                content = self._replies.pop(msg_id)
                self._idle.discard(msg_id)
                stdout = "".join(self._stdout.pop(msg_id, []))
                return Reply(str(content.get("status", "error")),
                             str(content.get("ename", "")), str(content.get("evalue", "")),
                             stdout, content.get("user_expressions", {}) or {})
            if not self.alive():
                if not self.stopped:
                    self.stopped = "died"
                return Reply("stopped", self.stopped)
            if time.monotonic() > deadline:
                return Reply("timeout")
            if during is not None:
                during()
            time.sleep(0.005)

    def run(self, code: str, timeout: float, expressions: dict | None = None,
            capture: bool = False, during: Callable[[], None] | None = None) -> Reply:
        if not self.alive():
            return Reply("stopped", self.stopped or "died")
        msg_id = self.send(code, expressions)
        if capture:
            self._stdout[msg_id] = []
        return self.wait(msg_id, timeout, during)

    def interrupt(self, msg_id: str | None = None, grace: float = 5.0) -> bool:
        """KeyboardInterrupt in the cell (SIGINT; on Windows, the interrupt event the
        kernel was started with); kill if it does not stop in ``grace``."""
        if not self.alive():
            return False
        event = getattr(self.proc, "win32_interrupt_event", None)
        try:
            if event is not None:
                from jupyter_client.win_interrupt import send_interrupt

                send_interrupt(event)
            else:
                os.kill(self.proc.pid, signal.SIGINT)
        except ProcessLookupError:
            return False
        if msg_id is not None and self.wait(msg_id, grace).status in ("ok", "error"):
            return True
        self.kill("timeout")
        return False


class ForkedProcess:
    """The part of Popen the Kernel uses, for a kernel forked by the Zygote."""

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    def poll(self) -> int | None:
        import psutil

        if self.returncode is None:
            try:
                if psutil.Process(self.pid).status() == psutil.STATUS_ZOMBIE:
                    self.returncode = -1
            except psutil.Error:
                self.returncode = -1
        return self.returncode

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode


class Zygote:
    """A process that imported torch and ipykernel once and forks student kernels.

    Falls back to nothing (None from spawn) where fork is missing or the zygote died.
    """

    def __init__(self, modules: list[str], home: Path):
        self.proc = None
        if not (hasattr(os, "fork") and fork_is_safe()):
            return
        code = ("from t2v_edu.grading_kernel import zygote_main; "
                f"zygote_main({list(modules)!r})")
        self.home = home
        self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=home,
                                     env=kernel_env(str(home)), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, start_new_session=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.close()

    def spawn(self, connection: str, cwd: Path) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None
        try:
            self.proc.stdin.write(json.dumps({"connection": connection, "cwd": str(cwd),
                                              "env": kernel_env(str(cwd))}) + "\n")
            self.proc.stdin.flush()
            return int(self.proc.stdout.readline())
        except (OSError, ValueError):
            self.close()
            return None

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def _limit_process(pid: int, disk_mb: int) -> None:
    """No core files; no file larger than ``disk_mb`` (RLIMIT_AS would break torch)."""
    try:
        import resource

        resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (disk_mb * MB, disk_mb * MB))
    except (ImportError, AttributeError, OSError, ValueError):
        pass


_cpu = {"seconds": 0.0}
_cpu_lock = threading.Lock()


def _add_cpu_seconds(pid: int) -> None:
    """Count the CPU time a kernel (and what it started) used, for Summary."""
    import psutil

    try:
        p = psutil.Process(pid)
        seconds = sum(sum(q.cpu_times()[:2]) for q in [p] + p.children(recursive=True))
    except psutil.Error:
        return
    with _cpu_lock:
        _cpu["seconds"] += seconds


def _kill_tree(pid: int) -> None:
    import psutil

    try:
        parent = psutil.Process(pid)
        procs = parent.children(recursive=True) + [parent]
    except psutil.Error:
        procs = []
    if hasattr(os, "killpg"):           # the process group; Windows has none
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass


class Monitor:
    """One thread that polls the resident memory of every watched kernel."""

    def __init__(self):
        self._kernels: set[Kernel] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, kernel: Kernel) -> None:
        with self._lock:
            self._kernels.add(kernel)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, daemon=True)
                self._thread.start()

    def forget(self, kernel: Kernel) -> None:
        with self._lock:
            self._kernels.discard(kernel)

    def _loop(self) -> None:
        import psutil

        while True:
            with self._lock:
                kernels = list(self._kernels)
            for k in kernels:
                if k.stopped:
                    continue
                if k.proc.poll() is not None:
                    k.kill("died")
                    continue
                try:
                    p = psutil.Process(k.proc.pid)
                    rss = sum(q.memory_info().rss for q in [p] + p.children(recursive=True))
                except psutil.Error:
                    continue
                if rss > k.memory_bytes:
                    k.kill("memory")
            time.sleep(MONITOR_SECONDS)


MONITOR = Monitor()


# ---------------------------------------------------------------------------------
# Grading one submission
# ---------------------------------------------------------------------------------
ANSWER_TIMEOUT = "timeout"
BOOT = "import t2v_edu.grading_kernel as __t2v_grader__\n"
STOP_STATUS = {"memory": (MEMORY, "the notebook's kernel used more than {mb} MB and was "
                                  "stopped"),
               "died": (DIED, "the notebook's kernel died (os._exit, a crash, or a "
                              "segfault)"),
               "output": (OUTPUT, "the notebook printed more than {out} MB of output and "
                                  "was stopped"),
               "timeout": (TIMEOUT, "the notebook's kernel did not stop after a timeout "
                                    "and was killed"),
               "stuck": (TIMEOUT, "the notebook's kernel stopped answering and was "
                                  "killed")}


def _clean(text: str, limit: int = MESSAGE_CHARS) -> str:
    """One line, no terminal colour codes, at most ``limit`` characters."""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


class Reference:
    """The reference kernel: the instructor's source, run once, then used per check."""

    def __init__(self, source_nb: "nbformat.NotebookNode",  # noqa: F821
                 exercises: list[Exercise], workdir: Path, limits: Limits,
                 extra_forbidden: dict[str, list[str]] | None = None) -> None:
        self.exercises = {e.grade_id: e for e in exercises}
        for attempt in range(REFERENCE_STARTS):   # a kernel that died while starting
            self.kernel = Kernel(workdir, "reference", memory_mb=max(limits.memory_mb, 4000),
                                 output_mb=1000, disk_mb=4096)
            try:
                self._warm_up(source_nb, limits, extra_forbidden or {})
                break
            except GradingError:
                self.kernel.close()
                if attempt == REFERENCE_STARTS - 1:
                    raise
        modules = {p.rsplit(".", 1)[0] for p in self.all_forbidden()}
        modules |= {"torch", "numpy", "t2v_edu", "t2v_edu.exercise", "matplotlib.pyplot"}
        self.zygote = Zygote(sorted(modules), workdir) if USE_ZYGOTE else None

    def close(self) -> None:
        self.kernel.close()
        if self.zygote is not None:
            self.zygote.close()

    def _warm_up(self, source_nb, limits: Limits, extra: dict[str, list[str]]) -> None:
        k = self.kernel
        reply = k.run(BOOT + "__t2v_grader__.record_checks()", 120)
        if reply.status != "ok":
            why = ": ".join(x for x in (reply.ename, reply.evalue) if x) or "no reason"
            raise GradingError(f"the reference kernel could not start the grader "
                               f"({reply.status}, {_clean(why)})")
        for cell in source_nb.cells:
            if cell.cell_type != "code":
                continue
            grading = _grading(cell)
            if grading.get("grade"):
                k.run("__t2v_grader__.take()", 30)
            reply = k.run(cell.source, max(limits.timeout, 600))
            if reply.status != "ok":
                raise GradingError(f"the instructor's source fails in cell "
                                   f"{cell.source.strip()[:60]!r}: {reply.ename}: "
                                   f"{_clean(reply.evalue)}")
            if grading.get("grade"):
                gid = grading["grade_id"][:-len("_check")]
                results = self._take()["results"]
                bad = [r for r in results if r["status"] != "passed"]
                if not results or bad:
                    raise GradingError(f"the instructor's solution of {gid!r} does not pass "
                                       f"its own check: {bad[:1] or 'no test ran'}")
                forbidden = set(self.exercises[gid].forbidden) | set(extra.get(gid, ()))
                for r in results:
                    ref = r["reference"]
                    if ref.startswith("t2v_edu.") and "<" not in ref:
                        forbidden.add(ref)
                        forbidden.update(TORCH_EQUIVALENTS.get(ref.rsplit(".", 1)[-1], ()))
                self.exercises[gid].forbidden = sorted(forbidden)

    def _take(self) -> dict:
        reply = self.kernel.run("pass", 30, expressions={"r": "__t2v_grader__.take()"})
        data = reply.expressions.get("r", {}).get("data", {}).get("text/plain", "")
        try:
            return json.loads(ast.literal_eval(data))
        except (ValueError, SyntaxError):
            return {"results": [], "delegated": []}

    def all_forbidden(self) -> list[str]:
        return sorted({p for e in self.exercises.values() for p in e.forbidden})

    def check(self, student: Kernel, exercise: Exercise, folder: Path,
              seconds: float) -> tuple[dict, list[Reply]]:
        """Run one exercise's check cell here, against the student kernel's functions."""
        folder.mkdir()
        student.gone_file = folder / "gone"
        if not student.alive():
            student.gone_file.write_text(student.stopped, encoding="utf-8")
        serve = student.send(f"__t2v_grader__.serve({str(folder)!r}, globals())")

        def watch_student():
            student.pump()
            if student.done(serve) and not (folder / "gone").exists():
                (folder / "gone").write_text("stopped serving", encoding="utf-8")

        ref = self.kernel
        replies, taken = [], {"results": [], "delegated": []}
        begin = (f"__t2v_grader__.begin({exercise.names!r}, {str(folder)!r}, "
                 f"{seconds!r}, {exercise.forbidden!r}, globals())")
        replies.append(ref.run(begin, seconds + 10, during=watch_student))
        for part in (exercise.visible, exercise.hidden):
            if part.strip() and replies[-1].status == "ok":
                replies.append(ref.run(part, seconds + 10, capture=True,
                                       during=watch_student))
                got = self._take()
                taken["results"] += [dict(r, hidden=part is exercise.hidden)
                                     for r in got["results"]]
                taken["delegated"] = got["delegated"]
        ref.run("__t2v_grader__.end(globals())", 30)
        (folder / "stop").write_text("", encoding="utf-8")
        if student.alive():
            reply = student.wait(serve, 2)
            if reply.status == "timeout":      # stuck in the student's code
                student.interrupt(serve)
        student.gone_file = None
        return taken, replies


def verdict(exercise: Exercise, taken: dict, replies: list[Reply], student: Kernel,
            answer_error: str, missing: bool, limits: Limits) -> tuple[str, str]:
    """(status, message) of one exercise from what the reference kernel computed."""
    results = taken["results"]
    errors = [r for r in replies if r.status != "ok"]
    delegated = taken["delegated"]
    first_bad = next((r for r in results if r["status"] != PASSED), None)
    if any(r.status == "stopped" for r in errors):
        return GRADER_ERROR, "the reference kernel stopped during this check; regrade " \
                             "the submission"
    gone = any(r.status == "error" and r.ename == "KernelGone" for r in errors)
    if gone and student.alive():
        return ERROR, "the notebook's kernel stopped answering the grader (does your " \
                      "code change __t2v_grader__ or the IPython kernel?)"
    if gone or (student.stopped in STOP_STATUS and errors):
        return _stopped(student, limits)
    if any(r.ename == "GradingTimeout" or r.status == "timeout" for r in errors):
        return TIMEOUT, f"your {exercise.grade_id} did not finish within " \
                        f"{limits.cell_timeout:g} s"
    if answer_error == ANSWER_TIMEOUT and (errors or first_bad):
        return TIMEOUT, f"your answer cell did not finish within {limits.cell_timeout:g} " \
                        "s (an endless loop?)"
    if delegated and (errors or first_bad):
        return DELEGATED, f"it calls {', '.join(delegated)}, which this exercise asks you " \
                          "to write yourself"
    if missing:
        return NOT_DONE, f"the answer cell {exercise.grade_id!r} is missing from your " \
                         "notebook (deleted, or its metadata lost); graded as not done"
    if first_bad is not None:
        where = "hidden tests (fresh random inputs)" if first_bad.get("hidden") \
            else "visible check"
        if answer_error and first_bad["status"] != NOT_DONE:
            return ERROR, f"your answer cell raised {answer_error}"
        status = NOT_DONE if first_bad["status"] == NOT_DONE else FAILED
        return status, f"{where}: {_clean(first_bad['message'])}"
    if errors:
        r = errors[0]
        if answer_error:
            return ERROR, f"your answer cell raised {answer_error}"
        return FAILED, f"the check stopped: {r.ename}: {_clean(r.evalue)}"
    if not results:
        return GRADER_ERROR, "the check cell ran no test"
    return PASSED, "passed the visible check and the hidden tests"


def _stopped(kernel: Kernel, limits: Limits) -> tuple[str, str]:
    status, message = STOP_STATUS.get(kernel.stopped, (DIED, "the notebook's kernel "
                                                             "stopped"))
    return status, message.format(mb=limits.memory_mb, out=limits.output_mb)


def grade_submission(student: str, notebook: str, path: Path | None,
                     source_nb: "nbformat.NotebookNode",  # noqa: F821
                     exercises: list[Exercise], reference: Reference, limits: Limits,
                     workroot: Path) -> list[Row]:
    """Grade one submission; never raises for anything the submission does."""
    def rows(status: str, message: str) -> list[Row]:
        return [Row(student, notebook, e.grade_id, 0.0, e.points, status, message)
                for e in exercises]

    if path is None:
        return rows(MISSING, f"no {notebook}.ipynb found in the student's folder")
    answers, status, message = read_submission(path, exercises, limits.file_mb)
    if status:
        return rows(status, message)
    workdir = Path(tempfile.mkdtemp(prefix="student-", dir=workroot))
    kernel = Kernel(workdir, "student", limits.memory_mb, limits.output_mb, limits.disk_mb,
                    zygote=reference.zygote)
    try:
        return _run(student, notebook, answers, source_nb, exercises, reference, limits,
                    kernel, workdir)
    finally:
        kernel.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _run(student, notebook, answers, source_nb, exercises, reference, limits, kernel,
         workdir) -> list[Row]:
    by_id = {e.grade_id: e for e in exercises}
    end = time.monotonic() + limits.timeout
    graded: dict[str, Row] = {}
    answer_errors: dict[str, str] = {}

    def left() -> float:
        return max(0.0, min(limits.cell_timeout, end - time.monotonic()))

    boot = kernel.run(BOOT + f"__t2v_grader__.install_guards({reference.all_forbidden()!r})",
                      120)
    if boot.status != "ok" and kernel.alive():
        kernel.kill("died")
    for k, cell in enumerate(source_nb.cells):
        if cell.cell_type != "code" or not kernel.alive():
            continue
        if time.monotonic() >= end:
            break
        grading = _grading(cell)
        gid = grading.get("grade_id", "")
        if grading.get("grade"):
            # Check first, with the state the answer cell left (the visible check may
            # rebind the answer's name to the reference), then run the visible part.
            exercise = by_id[gid[:-len("_check")]]
            taken, replies = reference.check(kernel, exercise, workdir / f"check-{k}",
                                             max(left(), 1.0))
            status, message = verdict(exercise, taken, replies, kernel,
                                      answer_errors.get(exercise.grade_id, ""),
                                      exercise.grade_id not in answers, limits)
            visible = next((r.stdout for r in replies[1:2]), "")
            graded[exercise.grade_id] = Row(
                student, notebook, exercise.grade_id,
                exercise.points if status == PASSED else 0.0, exercise.points, status,
                message, _clean_block(visible))
            if not kernel.alive():
                continue
        if grading.get("solution"):
            code = answers.get(gid, by_id[gid].stub)
        elif grading.get("grade"):
            code = by_id[gid[:-len("_check")]].visible
        else:
            code = cell.source
        msg_id = kernel.send(code)
        reply = kernel.wait(msg_id, left())
        if reply.status == "timeout":
            kernel.interrupt(msg_id)
            if grading.get("solution"):
                answer_errors[gid] = ANSWER_TIMEOUT
        elif reply.status == "error" and grading.get("solution"):
            answer_errors[gid] = _clean(f"{reply.ename}: {reply.evalue}", 200)
    out = []
    for e in exercises:
        if e.grade_id in graded:
            out.append(graded[e.grade_id])
            continue
        if kernel.stopped:
            status, message = _stopped(kernel, limits)
            message += "; this exercise could not be graded"
        else:
            status, message = TIMEOUT, f"the notebook did not reach this exercise within " \
                                       f"{limits.timeout:g} s"
        out.append(Row(student, notebook, e.grade_id, 0.0, e.points, status, message))
    return out


def _clean_block(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text).strip()
    return text if len(text) <= FEEDBACK_CHARS else text[:FEEDBACK_CHARS] + "\n…"


# ---------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------
LONG_COLUMNS = ["student", "notebook", "grade_id", "points", "max_points", "status",
                "message"]


def safe_name(student: str) -> str:
    """A file name for a student folder name (kept when already safe)."""
    clean = re.sub(r"[^A-Za-z0-9._-]", "_", student).strip(".") or "student"
    if clean != student:
        clean += "-" + hashlib.sha1(student.encode()).hexdigest()[:6]
    return clean


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _points(x: float) -> str:
    return f"{x:g}"


CSV_BOM = "\ufeff"  # UTF-8's byte-order mark: how spreadsheets know a CSV is UTF-8


def long_csv(rows: list[Row]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(LONG_COLUMNS)
    for r in rows:
        w.writerow([_cell(r.student), r.notebook, r.grade_id, _points(r.points),
                    _points(r.max_points), r.status, _cell(r.message)])
    return buf.getvalue()


def wide_csv(rows: list[Row], exercises: list[Exercise]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    total = sum(e.points for e in exercises)
    w.writerow(["student"] + [e.grade_id for e in exercises] + ["total", "max_points"])
    students: dict[str, dict[str, Row]] = {}
    for r in rows:
        students.setdefault(r.student, {})[r.grade_id] = r
    for name, got in students.items():
        pts = [got[e.grade_id].points if e.grade_id in got else 0.0 for e in exercises]
        w.writerow([_cell(name)] + [_points(p) for p in pts] +
                   [_points(sum(pts)), _points(total)])
    return buf.getvalue()


def feedback_markdown(student: str, notebook: str, rows: list[Row]) -> str:
    """What passed, what failed and why; never the hidden tests' code."""
    got, total = sum(r.points for r in rows), sum(r.max_points for r in rows)
    lines = [f"# {notebook}: feedback for {student}", "",
             f"**Score: {_points(got)} / {_points(total)}**", "",
             "| exercise | points | result |", "|---|---|---|"]
    lines += [f"| {r.grade_id} | {_points(r.points)} / {_points(r.max_points)} | "
              f"{r.status} |" for r in rows]
    for r in rows:
        mark = "✓" if r.status == PASSED else "✗"
        lines += ["", f"## {mark} {r.grade_id}: {r.status}", "", _md_escape(r.message)]
        if r.feedback:
            lines += ["", "What the visible check printed:", "", "```text",
                      r.feedback.replace("```", "'''"), "```"]
    lines += ["", "Hidden tests call your functions on fresh random inputs and compare "
                  "them with the reference; their code is not shown.", ""]
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    return re.sub(r"([<>`*_|\[\]#])", r"\\\1", text)


class Results:
    """The results folder: one record per submission, CSVs and feedback rebuilt from them.

    Written atomically after every submission. Digests of the records written in this
    run are kept in memory: a record changed behind the grader's back is rewritten.
    """

    def __init__(self, out: Path, notebook: str, exercises: list[Exercise],
                 source_sha: str, force: bool):
        from .checkpoint import atomic_write_text

        self.write = atomic_write_text
        self.out, self.notebook, self.exercises = out, notebook, exercises
        self.source_sha = source_sha
        self.records_dir = out / "records" / notebook
        self.progress_dir = out / "records" / f".{notebook}.in-progress"
        self.records_dir.mkdir(parents=True, exist_ok=True)
        self.progress_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        if force:   # crash counts start again; records stay until each is regraded
            for p in self.progress_dir.iterdir():
                p.unlink()
        self.mine: dict[str, tuple[str, str]] = {}     # file -> (sha256, text)
        for p in self.records_dir.glob("*.json"):       # finished by earlier runs
            text = p.read_text(encoding="utf-8", errors="replace")
            self.mine[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), text)

    def done(self, student: str, submission_sha: str | None) -> bool:
        """Graded already, against this source, and the submission is the one graded
        (a resubmitted notebook is graded again)."""
        path = self.records_dir / f"{safe_name(student)}.json"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return (record.get("source_sha256") == self.source_sha
                and record.get("submission_sha256", "") == submission_sha)

    def start(self, student: str) -> int:
        """Mark a submission in progress; returns how many earlier runs stopped on it."""
        path = self.progress_dir / safe_name(student)
        try:
            count = int(path.read_text(encoding="utf-8") or 0)
        except (OSError, ValueError):
            count = 0
        self.write(path, str(count + 1))
        return count

    def save(self, student: str, rows: list[Row], submission_sha: str | None) -> None:
        """Write the feedback, then the record (what marks the submission done)."""
        name = safe_name(student)
        text = json.dumps({"student": student, "notebook": self.notebook,
                           "source_sha256": self.source_sha,
                           "submission_sha256": submission_sha,
                           "rows": [asdict(r) for r in rows]}, indent=1, sort_keys=True)
        with self.lock:
            self.write(self.out / "feedback" / self.notebook / f"{name}.md",
                       feedback_markdown(student, self.notebook, rows))
            path = self.records_dir / f"{name}.json"
            self.write(path, text)
            self.mine[str(path)] = (hashlib.sha256(text.encode()).hexdigest(), text)
            self.write_tables()
            try:
                (self.progress_dir / name).unlink()
            except FileNotFoundError:
                pass

    def repair(self) -> list[str]:
        """Rewrite records changed since this run wrote them; returns their names."""
        changed = []
        with self.lock:
            for path, (digest, text) in self.mine.items():
                try:
                    now = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                except OSError:
                    now = ""
                if now != digest:
                    changed.append(Path(path).stem)
                    self.write(path, text)
            if changed:
                self.write_tables()
        return changed

    def rows(self) -> list[Row]:
        out = []
        for path in sorted(self.records_dir.glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                out += [Row(**r) for r in record["rows"]]
            except (OSError, ValueError, TypeError, KeyError):
                continue
        return out

    def write_tables(self) -> None:
        """The long and wide CSV, from the records, in UTF-8 with a byte-order mark
        (Excel reads a CSV without one in the system's code page: "José" becomes
        "JosÃ©"). A table another program holds open (a spreadsheet, on Windows) is left
        as it was, with a warning: the grades are safe in the records, and the next
        save or a rerun writes the table again."""
        rows = self.rows()
        for path, text in [(self.out / f"{self.notebook}_long.csv", long_csv(rows)),
                           (self.out / f"{self.notebook}_wide.csv",
                            wide_csv(rows, self.exercises))]:
            try:
                self.write(path, CSV_BOM + text)
            except PermissionError as exc:
                print(f"t2v-edu grade: cannot update {path} ({exc.strerror}); is it open "
                      "in another program? Close it: the grades are kept in "
                      f"{self.records_dir}, and the table is written again after the next "
                      "submission, or by running the same command again.", file=sys.stderr)


# ---------------------------------------------------------------------------------
# The batch
# ---------------------------------------------------------------------------------
def _tree_digest(paths: list[Path]) -> dict[str, str]:
    out = {}
    for p in paths:
        try:
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        except OSError:
            out[str(p)] = ""
    return out


def resolve_source(notebook: str, source: str | os.PathLike | None = None) -> Path:
    """The source ``solutions/NN_name.py`` of ``notebook`` ("00", "00_welcome", ...)."""
    if source is not None:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"source {path} does not exist")
        return path
    from .course import sources

    return sources(None, [notebook])[0]


@dataclass
class Summary:
    graded: int
    skipped: int
    seconds: float
    tampered: list[str]
    kernel_cpu_seconds: float = 0.0   # CPU time of every kernel closed in the batch


def grade(notebook: str, submissions: str | os.PathLike, out: str | os.PathLike,
          jobs: int = 2, limits: Limits = Limits(), force: bool = False,
          source: str | os.PathLike | None = None,
          forbidden: dict[str, list[str]] | None = None,
          progress: Callable[[str, list[Row]], None] | None = None) -> Summary:
    """Grade every submission of ``notebook`` in ``submissions``; write ``out``.

    ``forbidden`` adds functions an exercise may not call, by exercise id. ``progress``
    (optional) is called with (student, rows) after each submission.
    """
    from .course import load_source
    from .data import check_whole

    check_whole("jobs (--jobs)", jobs)
    started = time.monotonic()
    cpu_before = _cpu["seconds"]
    source_path = resolve_source(notebook, source)
    name = source_path.stem
    source_nb = load_source(source_path)
    exercises = exercises_of(source_nb)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file: give a folder for the grades and the "
                         "feedback (it is made if missing)")
    package = Path(__file__).parent
    watched = [package / f for f in WATCHED_FILES] + [source_path]
    digests = _tree_digest(watched)
    found = find_submissions(submissions, name)
    if found:
        out.mkdir(parents=True, exist_ok=True)   # only once there is something to grade
    if not found:
        raise ValueError(f"{submissions} holds no student folders: expected "
                         f"{Path(submissions) / '<student>' / (name + '.ipynb')} or nbgrader's "
                         f"submitted/<student>/<assignment>/{name}.ipynb")
    results = Results(out, name, exercises, digests[str(source_path)], force)
    submitted = {s: submission_digest(p) for s, p in found}
    todo = [(s, p) for s, p in found if force or not results.done(s, submitted[s])]
    skipped = len(found) - len(todo)
    if not todo:
        results.write_tables()      # from the records, in case a table was lost or locked
        return Summary(0, skipped, time.monotonic() - started, [])
    workroot = Path(tempfile.mkdtemp(prefix="t2v-grade-"))
    work: queue.Queue = queue.Queue()
    for item in todo:
        work.put(item)
    jobs = max(1, min(jobs, len(todo)))
    ready = threading.Barrier(jobs)
    failures: list[BaseException] = []
    tampered: list[str] = []
    in_flight: set[str] = set()
    state_lock = threading.Lock()

    def check_integrity(student: str) -> None:
        changed = [p for p, d in _tree_digest(watched).items() if d != digests[p]]
        repaired = results.repair()
        if changed or repaired:
            with state_lock:
                suspects = sorted(in_flight | {student})
            tampered.extend(suspects)
            rows = [Row(s, name, e.grade_id, 0.0, e.points, TAMPERING,
                        "files of the grader or of the results changed while this "
                        "submission was graded (with --jobs > 1: or while another one "
                        "graded at the same time was); regrade it with --jobs 1")
                    for s in suspects for e in exercises]
            for s in suspects:
                results.save(s, [r for r in rows if r.student == s], submitted[s])
            if changed:
                raise GradingError(f"grading stopped: {', '.join(changed)} changed while "
                                   f"grading {', '.join(suspects)}; restore the files "
                                   "(reinstall the package) before grading again")

    def worker() -> None:
        try:
            ref = Reference(source_nb, exercises, workroot, limits, forbidden)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
            ready.abort()
            return
        try:
            ready.wait()
            while not failures:
                try:
                    student, path = work.get_nowait()
                except queue.Empty:
                    return
                with state_lock:
                    in_flight.add(student)
                crashes = results.start(student)
                if crashes >= 2:
                    rows = [Row(student, name, e.grade_id, 0.0, e.points, GRADER_ERROR,
                                "the grader stopped twice while grading this submission; "
                                "grade it by hand, or rerun with --force")
                            for e in exercises]
                else:
                    try:
                        rows = grade_submission(student, name, path, source_nb, exercises,
                                                ref, limits, workroot)
                    except Exception as exc:  # noqa: BLE001 - one bad row, not a crash
                        rows = [Row(student, name, e.grade_id, 0.0, e.points,
                                    GRADER_ERROR, _clean(f"{type(exc).__name__}: {exc}"))
                                for e in exercises]
                    if not ref.kernel.alive():
                        ref.close()
                        ref = Reference(source_nb, exercises, workroot, limits, forbidden)
                results.save(student, rows, submitted[student])
                with state_lock:
                    in_flight.discard(student)
                check_integrity(student)
                if progress is not None:
                    progress(student, rows)
        except threading.BrokenBarrierError:
            return
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)
        finally:
            ref.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shutil.rmtree(workroot, ignore_errors=True)
    if failures:
        raise failures[0] if isinstance(failures[0], GradingError) else \
            GradingError(f"{type(failures[0]).__name__}: {failures[0]}")
    return Summary(len(todo), skipped, time.monotonic() - started, sorted(set(tampered)),
                   _cpu["seconds"] - cpu_before)


# ---------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", help="the notebook, e.g. 00 or 00_welcome")
    parser.add_argument("submissions", help="folder of <student>/<notebook>.ipynb, or "
                        "nbgrader's submitted/<student>/<assignment>/<notebook>.ipynb")
    parser.add_argument("--out", required=True, help="results folder (CSV, feedback)")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once "
                        "(default 2; each uses two kernels)")
    parser.add_argument("--timeout", type=float, default=Limits.timeout, metavar="S",
                        help=f"seconds per notebook (default {Limits.timeout:g})")
    parser.add_argument("--cell-timeout", type=float, default=Limits.cell_timeout,
                        metavar="S", help="seconds per cell and per exercise's checks "
                        f"(default {Limits.cell_timeout:g})")
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb,
                        help=f"memory cap per notebook kernel (default {Limits.memory_mb})")
    parser.add_argument("--force", action="store_true", help="regrade submissions "
                        "already graded")
    parser.add_argument("--source", help="the instructor's source (default "
                        "solutions/NN_name.py of this checkout)")


def cli(args: argparse.Namespace) -> int:
    limits = Limits(timeout=args.timeout, cell_timeout=args.cell_timeout,
                    memory_mb=args.memory_mb)

    def show(student: str, rows: list[Row]) -> None:
        got, total = sum(r.points for r in rows), sum(r.max_points for r in rows)
        print(f"{student}: {_points(got)}/{_points(total)} "
              f"({', '.join(f'{r.grade_id} {r.status}' for r in rows)})", flush=True)

    try:
        summary = grade(args.notebook, args.submissions, args.out, jobs=args.jobs,
                        limits=limits, force=args.force, source=args.source, progress=show)
    except GradingError as exc:
        print(f"t2v-edu grade: {exc}", file=sys.stderr)
        return 3
    print(f"graded {summary.graded} submission(s) in {summary.seconds:.0f} s; "
          f"{summary.skipped} already graded (--force regrades); results in {args.out}")
    if summary.tampered:
        print(f"tampering suspected: {', '.join(summary.tampered)}", file=sys.stderr)
        return 3
    return 0
