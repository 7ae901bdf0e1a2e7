"""Checkpoints: atomic, SHA-256 checked, weights_only."""
import os

import pytest
import torch

from t2v_edu import checkpoint


def test_round_trip_with_sidecar_digest(tmp_path):
    path = tmp_path / "model.pt"
    state = {"weights": torch.arange(6.0).reshape(2, 3), "config": {"embed_dim": 8}, "step": 3}
    digest = checkpoint.save_checkpoint(path, state)
    assert (tmp_path / "model.pt.sha256").read_text().strip() == digest
    assert digest == checkpoint.sha256_file(path)
    loaded = checkpoint.load_checkpoint(path)
    assert torch.equal(loaded["weights"], state["weights"]) and loaded["config"] == {"embed_dim": 8}


def test_corrupt_file_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    checkpoint.save_checkpoint(path, {"w": torch.ones(3)})
    with open(path, "r+b") as f:
        f.seek(-5, os.SEEK_END)
        f.write(b"xxxxx")
    with pytest.raises(ValueError, match="corrupt"):
        checkpoint.load_checkpoint(path)


@pytest.mark.parametrize("dies_at", [2, 3])   # the data's write, the final sidecar's
def test_a_save_killed_between_its_writes_leaves_a_pair_that_verifies(tmp_path, monkeypatch,
                                                                      dies_at):
    """The checkpoint and its .sha256 are two files; a kill between their renames must
    not leave a good file that its sidecar calls corrupt (--resume would refuse it)."""
    path = tmp_path / "train_state.pt"
    checkpoint.save_checkpoint(path, {"step": torch.tensor(1)})
    writes = []

    def dies(fd):
        writes.append(fd)
        if len(writes) == dies_at:
            raise OSError("killed")

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", dies)
        with pytest.raises(OSError, match="killed"):
            checkpoint.save_checkpoint(path, {"step": torch.tensor(2)})
    expected = 1 if dies_at == 2 else 2                # the old file, or the new one
    assert checkpoint.load_checkpoint(path)["step"] == expected
    checkpoint.save_checkpoint(path, {"step": torch.tensor(3)})   # the next save tidies up
    assert (tmp_path / "train_state.pt.sha256").read_text() == checkpoint.sha256_file(path) + "\n"
    with pytest.raises(ValueError, match="corrupt"):    # a listed digest must still match
        checkpoint.load_checkpoint(path, expected_sha256="0" * 64 + "\n" + "1" * 64)


def test_missing_file_and_missing_digest(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        checkpoint.load_checkpoint(tmp_path / "nope.pt")
    torch.save({"w": torch.ones(1)}, tmp_path / "bare.pt")
    with pytest.raises(ValueError, match="no SHA-256"):
        checkpoint.load_checkpoint(tmp_path / "bare.pt")
    digest = checkpoint.sha256_file(tmp_path / "bare.pt")
    assert checkpoint.load_checkpoint(tmp_path / "bare.pt", expected_sha256=digest)["w"].item() == 1


def test_pickled_code_is_not_loaded(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"f": os.getcwd}, path)  # a function: refused by weights_only
    # the digest matches, so the refusal can only come from torch.load(weights_only=True);
    # torch's message goes on to advise weights_only=False, so only its first line is kept
    with pytest.raises(ValueError, match=r"not a checkpoint that t2v-edu wrote "
                                         r"\(UnpicklingError: Weights only load failed"):
        checkpoint.load_checkpoint(path, expected_sha256=checkpoint.sha256_file(path))


def test_files_that_are_not_checkpoints_are_named(tmp_path):
    (tmp_path / "notes.pt").write_bytes(b"not a torch file at all")
    torch.save([torch.ones(1)], tmp_path / "list.pt")
    for name, message in (("notes.pt", "not a checkpoint that t2v-edu wrote"),
                          ("list.pt", "holds a list, not a checkpoint dict")):
        path = tmp_path / name
        with pytest.raises(ValueError, match=message) as caught:
            checkpoint.load_checkpoint(path, expected_sha256=checkpoint.sha256_file(path))
        assert "weights_only=False" not in str(caught.value)


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "sub" / "notes.json"
    checkpoint.atomic_write_json(target, {"b": 1, "a": 2})
    checkpoint.atomic_write_json(target, {"c": 3})
    assert target.read_text() == '{\n  "c": 3\n}\n'
    assert [p.name for p in target.parent.iterdir()] == ["notes.json"]


def test_atomic_write_uses_the_usual_file_mode(tmp_path):
    target = tmp_path / "shared.txt"
    checkpoint.atomic_write_text(target, "hello")
    assert target.stat().st_mode & 0o044 == 0o044  # readable by group and others


def test_read_verified_returns_the_checked_bytes(tmp_path):
    path = tmp_path / "model.pt"
    digest = checkpoint.save_checkpoint(path, {"w": torch.ones(3)})
    blob, got = checkpoint.read_verified(path)
    assert got == digest and blob == path.read_bytes()
    with open(path, "ab") as f:
        f.write(b"x")
    with pytest.raises(ValueError, match="corrupt or not the one that was shipped"):
        checkpoint.read_verified(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        checkpoint.read_verified(tmp_path / "nope.pt")
    with pytest.raises(ValueError, match="no SHA-256 given") as info:
        checkpoint.read_verified(tmp_path / "model.pt.sha256")
    assert "copy model.pt.sha256.sha256 along with the checkpoint" in str(info.value)


def test_notebook_timings_never_leaves_a_half_written_json(tmp_path, monkeypatch):
    """benchmarks/notebook_timings.py writes its figures atomically: a write that dies
    halfway (a kill, a full disk) leaves the previous file as it was."""
    import importlib.util
    import json
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "notebook_timings.py"
    spec = importlib.util.spec_from_file_location("notebook_timings_under_test", script)
    timings = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(timings)
    monkeypatch.setattr(timings.course, "sources", lambda root, names: [])
    output = tmp_path / "timings.json"
    output.write_text('{"previous": true}\n')

    def dies(fd):
        raise OSError("no space left on device")  # or a kill, before the file is complete

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", dies)
        with pytest.raises(OSError, match="no space left"):
            timings.main(["--json", str(output)])
    assert output.read_text() == '{"previous": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["timings.json"]   # no temporary left
    assert timings.main(["--json", str(output)]) == 0
    assert json.loads(output.read_text())["notebooks"] == []
