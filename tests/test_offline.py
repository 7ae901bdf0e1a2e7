"""The course works with no network at all: lab machines are often offline.

Each run happens in a subprocess whose every Python (the runner, the Jupyter kernel,
``t2v-edu``) loads ``tests/offline_guard/sitecustomize.py``: any connection or name
lookup for a non-loopback address raises and is written to a log, which must stay
empty. Where ``unshare -n`` works (root on Linux), the run also happens in a network
namespace with only a loopback interface, so nothing could get out even past the guard.
Kernels talk to their client over loopback, which stays allowed.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUARD = Path(__file__).resolve().parent / "offline_guard"
WELCOME = ROOT / "notebooks" / "00_welcome.ipynb"


@functools.lru_cache(maxsize=None)
def can_isolate() -> bool:
    """True when ``unshare -n`` can give a run its own network with loopback up."""
    if not (shutil.which("unshare") and shutil.which("ip")) or sys.platform != "linux":
        return False
    try:
        result = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"],
                                capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def run_offline(code: str, tmp_path: Path, timeout: float = 600
                ) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run Python ``code`` in ``tmp_path`` with the network blocked. Returns the
    finished process and the network accesses the guard refused."""
    log = tmp_path / "network.log"
    log.touch()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GUARD), env.get("PYTHONPATH")]))
    env["T2V_NETWORK_LOG"] = str(log)
    env.update({"OMP_NUM_THREADS": "1", "T2V_THREADS": "1"})
    command = [sys.executable, "-c", textwrap.dedent(code)]
    if can_isolate():
        command = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                   *command]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=timeout)
    return result, log.read_text().splitlines()


def test_the_guard_blocks_the_network_and_allows_loopback(tmp_path):
    result, refused = run_offline("""
        import errno, socket
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        socket.create_connection(server.getsockname(), timeout=5).close()  # loopback: ok
        for attempt in (lambda: socket.socket().connect(("192.0.2.1", 80)),
                        lambda: socket.create_connection(("pypi.org", 443), timeout=5)):
            try:
                attempt()
            except OSError as exc:
                assert exc.errno == errno.ENETUNREACH, exc
            else:
                raise SystemExit("an outbound connection was not blocked")
        print("guard ok")
        """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "guard ok"
    assert [line.split(" ", 1)[1] for line in refused] == [
        "connect ('192.0.2.1', 80)", "getaddrinfo 'pypi.org'"]


def test_generate_works_offline(tmp_path):
    result, refused = run_offline("""
        import sys
        from t2v_edu.cli import main
        sys.exit(main(["generate", "a red circle moves left", "-o", "out.gif"]))
        """, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert refused == [], f"t2v-edu generate tried the network: {refused}"
    assert (tmp_path / "out.gif").read_bytes()[:6] == b"GIF89a"


def test_welcome_notebook_runs_offline(tmp_path):
    result, refused = run_offline(f"""
        import nbformat
        from t2v_edu import course
        nb = nbformat.read({str(WELCOME)!r}, as_version=4)
        # a last cell that says whether the guard is active inside the kernel
        nb.cells.append(nbformat.v4.new_code_cell(
            "import socket; print(socket.getaddrinfo.__name__)"))
        course.execute(nb, cwd=".", smoke=True, name="notebooks/00_welcome.ipynb")
        print(nb.cells[-1].outputs[0]["text"].strip())
        """, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert refused == [], f"notebook 00 tried the network: {refused}"
    assert result.stdout.strip().splitlines()[-1] == "_guarded_getaddrinfo", (
        "the kernel did not load the network guard")
