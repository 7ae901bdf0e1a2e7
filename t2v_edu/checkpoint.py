"""Checkpoints and files that are never half-written, and never trusted unchecked.

- Writes go to a temporary file in the same folder, then ``os.replace``: a kill
  mid-write leaves the previous file intact.
- Loads use ``torch.load(..., weights_only=True)`` (no pickled code runs) after a
  SHA-256 check against the expected digest (an argument, or the ``.sha256`` file
  written beside the checkpoint).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside ``path`` to write; on success it becomes ``path`` (with
    the usual file mode), on an error it is deleted: readers see the old or the new
    file, never half of one."""
    tmp = _temporary_beside(Path(path), suffix)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; use the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _temporary_beside(path: Path, suffix: str) -> str:
    """A new empty file in ``path``'s folder (made if missing); OSError naming ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    except OSError as exc:  # name the file asked for, not the temporary one
        raise type(exc)(exc.errno, f"cannot write {path}: {exc.strerror} (is "
                                   f"{path.parent} a folder you can write to?)") from None
    os.close(fd)
    return tmp


def check_writable(path: str | os.PathLike) -> None:
    """Raise OSError now if ``path`` could not be written later (before a long run)."""
    if Path(path).is_dir():
        raise IsADirectoryError(f"{path} is a folder: give a file name inside it, e.g. "
                                f"{Path(path) / 'result.json'}")
    os.unlink(_temporary_beside(Path(path), ".probe"))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never half."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_checkpoint(path: str | os.PathLike, state: dict) -> str:
    """Save ``state`` (tensors, numbers, strings, lists, dicts) atomically.

    Also writes ``<path>.sha256``; returns the digest. While the file is replaced, the
    sidecar lists the new digest and the old one, so a kill between the two renames
    leaves a pair that still verifies (``read_verified`` accepts any digest listed).
    """
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    side = Path(f"{path}.sha256")
    old = side.read_text(encoding="utf-8").split()[:1] if side.is_file() else []
    atomic_write_text(side, "\n".join([digest, *old]) + "\n")
    atomic_write_bytes(path, data)
    atomic_write_text(side, digest + "\n")
    return digest


def read_verified(path: str | os.PathLike,
                  expected_sha256: str | None = None) -> tuple[bytes, str]:
    """(bytes, SHA-256) of a file, after checking its digest against ``expected_sha256``
    or, without one, the ``<path>.sha256`` file beside it (ValueError on a mismatch).

    The bytes returned are the bytes checked: load or copy them, not the file again.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if expected_sha256 is None:
        side = Path(f"{path}.sha256")
        if not side.is_file():
            raise ValueError(f"no SHA-256 given for {path} and no {side.name} beside it: "
                             f"copy {side.name} along with the checkpoint (every checkpoint "
                             "is written with one), or in Python pass expected_sha256=")
        expected_sha256 = side.read_text(encoding="utf-8")
    blob = path.read_bytes()
    actual = hashlib.sha256(blob).hexdigest()
    listed = expected_sha256.lower().split()   # two while save_checkpoint replaces a file
    if actual not in listed:
        raise ValueError(f"checkpoint {path} has SHA-256 {actual[:16]}… but "
                         f"{(listed or ['(none)'])[0][:16]}… was expected: the file is "
                         "corrupt or not the one that was shipped")
    return blob, actual


def load_checkpoint(path: str | os.PathLike, expected_sha256: str | None = None,
                    map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint after checking its SHA-256; ``weights_only=True``.

    The digest is ``expected_sha256`` if given, else the ``.sha256`` file beside it.
    Raises FileNotFoundError if the file is missing and ValueError if the digest
    does not match (a corrupt or substituted file).
    """
    return load_verified(path, expected_sha256, map_location)[0]


def load_verified(path: str | os.PathLike, expected_sha256: str | None = None,
                  map_location: str | torch.device = "cpu") -> tuple[dict, str]:
    """(checkpoint, its SHA-256): ``load_checkpoint`` that also returns the digest."""
    blob, digest = read_verified(path, expected_sha256)  # the bytes checked are the bytes loaded
    try:
        state = torch.load(io.BytesIO(blob), map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch's own advice (weights_only=False) is unsafe
        raise ValueError(f"{path} matches its SHA-256 but is not a checkpoint that t2v-edu "
                         f"wrote ({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); "
                         "it loads only tensors, numbers and strings, never code") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a checkpoint dict "
                         "that t2v-edu wrote")
    return state, digest
