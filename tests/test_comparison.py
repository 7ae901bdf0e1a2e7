"""Tests of t2v_edu.comparison: the table of notebook 07 never shows unmeasured numbers."""
from __future__ import annotations

import json

import pytest
import torch

from t2v_edu import comparison
from t2v_edu.checkpoint import save_checkpoint


def fake_result(joint_test=0.5, joint_heldout=0.25):
    split = lambda j: {"oracle": {"joint": j}, "fvd_lite": 12.34, "seconds_per_video": 0.0123}
    return {"splits": {"test": split(joint_test), "heldout": split(joint_heldout)},
            "diversity": {"start_spread": 0.2, "start_spread_real": 0.25},
            "training": {"train_seconds": 150, "device": "cpu", "preset": "cpu",
                         "tflops_per_second": 0.1}}


def test_table_rows_and_missing_models():
    table = comparison.comparison_table({"seed": None, "modern": fake_result()},
                                        {"modern": "2.5 CPU min"})
    lines = table.strip().splitlines()
    assert len(lines) == 4
    assert "not yet available" in lines[2] and "%" not in lines[2]
    assert lines[3] == ("| modern | 2.5 CPU min | 50 % | 25 % | 12.3 | 0.20 (real 0.25) "
                        "| 0.012 |")


def test_training_note():
    assert comparison.training_note(fake_result()) == "≈15 TFLOP, 2.5 CPU min (cpu preset)"
    assert comparison.training_note(None) == ""
    continued = fake_result()
    continued["training"]["continued_from"] = {"train_seconds": 300}
    assert comparison.training_note(continued) == \
        "≈15 TFLOP in its last 2.5 of 7.5 CPU min (cpu preset, continued)"
    continued["training"]["continued_from"]["tflop"] = 40
    assert comparison.training_note(continued) == "≈55 TFLOP, 7.5 CPU min (cpu preset, two runs)"


def test_shipped_evaluation_must_match_the_checkpoint(tmp_path):
    assert comparison.load_shipped_evaluation("modern", "cpu", tmp_path) is None
    with pytest.raises(ValueError, match="model 'Classic', preset 'cpu': use a model of"):
        comparison.load_shipped_evaluation("Classic")   # not "no weights": a typo
    digest = save_checkpoint(tmp_path / "modern_cpu.pt", {"w": torch.zeros(2)})
    result = fake_result()
    result["checkpoint_sha256"] = digest
    comparison.evaluation_path("modern", "cpu", tmp_path).write_text(json.dumps(result))
    assert comparison.load_shipped_evaluation("modern", "cpu", tmp_path)["splits"]
    save_checkpoint(tmp_path / "modern_cpu.pt", {"w": torch.ones(2)})   # another checkpoint
    assert comparison.load_shipped_evaluation("modern", "cpu", tmp_path) is None
