"""The shipped checkpoints agree with their records: digest, evaluation JSON, model card."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from t2v_edu import evaluation
from t2v_edu.checkpoint import sha256_file

WEIGHTS = Path(__file__).resolve().parents[1] / "t2v_edu" / "weights"
SHIPPED = sorted(p.name[:-len(".eval.json")] for p in WEIGHTS.glob("*.eval.json"))


def test_every_text_to_video_model_ships_an_evaluation():
    assert {"classic_cpu", "modern_cpu", "seed_cpu"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_evaluation_and_card_describe_the_shipped_checkpoint(name):
    result = json.loads((WEIGHTS / f"{name}.eval.json").read_text())
    digest = (WEIGHTS / f"{name}.pt.sha256").read_text().split()[0]
    assert sha256_file(WEIGHTS / f"{name}.pt") == digest
    assert result["checkpoint_sha256"] == digest, "evaluation of another checkpoint"
    card = (WEIGHTS / f"{name}.md").read_text()
    assert digest in card, "the model card names another checkpoint"
    assert evaluation.format_table(result) in card, (
        f"{name}.md's evaluation differs from {name}.eval.json; paste "
        "evaluation.format_table(json.load(...)) into the card")


def test_table_lists_test_before_heldout_whatever_the_json_order():
    split = {"oracle": {"shape": 1.0, "color": 1.0, "motion": 1.0, "joint": 1.0},
             "fvd_lite": 1.0}
    result = {"kind": "generator", "model": "m", "spec": "cpu", "num_videos": 4, "seed": 0,
              "chance": {"shape": 0.5, "color": 0.5, "motion": 0.5, "joint": 0.125},
              "splits": {"heldout": {**split, "fvd_lite": 2.0}, "test": split}}
    lines = evaluation.format_table(result).splitlines()
    assert lines.index(next(l for l in lines if l.startswith("| test |"))) < \
        lines.index(next(l for l in lines if l.startswith("| heldout |")))
    assert "| metric | test | heldout |" in lines
    assert any(l.startswith("| FVD-lite") and l.endswith("| 1.00 | 2.00 |") for l in lines)
