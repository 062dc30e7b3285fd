"""Continuing training: a run started from a saved model (a finished run's or a checkpoint's) trains that
model further, on SmolLM2-135M-Instruct on CPU, through `run_training` as a job's child process does.

The proof that a run really starts where its parent stopped: the continued run's "before" validation
loss equals the parent's "after" (or, from a checkpoint, the parent's validation loss at that step).
"""

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from jobs.catalog import DEFAULT_MODEL_ID
from jobs.spec import JobSpec
from jobs.train import run_training
from jobs.training import artifacts
from jobs.training.pipeline import RunOptions
from tests.support.tasks import classification_examples, write_jsonl

pytestmark = pytest.mark.slow


def train(tmp_path: Path, catalog, name: str, training_type: dict, start_from: Path | None = None, **hyperparameters) -> Path:
    write_jsonl(tmp_path / "train.jsonl", classification_examples(16, seed=3))
    write_jsonl(tmp_path / "valid.jsonl", classification_examples(4, seed=3, split="test"))
    spec = JobSpec.model_validate({
        "model": DEFAULT_MODEL_ID, "training_file": "train.jsonl", "validation_file": "valid.jsonl", "seed": 7,
        "training_type": training_type,
        "hyperparameters": {"max_steps": 3, "batch_size": 4, "max_seq_length": 64, "learning_rate": 3e-4, **hyperparameters},
    })
    out = tmp_path / name
    run_training(spec, tmp_path / "train.jsonl", tmp_path / "valid.jsonl", out, catalog, lambda event: None, start_from=start_from,
                 options=RunOptions(evidence_level="validation"))
    return out


def report(out: Path) -> dict:
    return json.loads((out / "results" / "report.json").read_text())


def validation_loss(out: Path, when: str) -> float:
    return report(out)[when]["validation"]["loss"]


def test_a_lora_adapter_and_its_checkpoints_can_be_trained_further(tmp_path, catalog):
    lora = {"type": "lora", "r": 4, "alpha": 8}
    parent = train(tmp_path, catalog, "parent", lora, checkpoint_every=2, eval_every=1)

    checkpoint = parent / "checkpoints" / "step-2" / "adapter"
    info = artifacts.read_info(checkpoint)
    assert info.base_model == DEFAULT_MODEL_ID and info.training_type["r"] == 4 and info.format == "chat"
    assert json.loads((checkpoint / "adapter_config.json").read_text())["base_model_name_or_path"] == DEFAULT_MODEL_ID

    # A continued adapter keeps its settings, by the API's rules (jobs.spec.continuation_problems), checked
    # before anything loads.
    with pytest.raises(ValueError, match="adapter has r=4, not 16; a continued adapter keeps its settings"):
        train(tmp_path, catalog, "refused", {"type": "lora", "r": 16}, start_from=parent / "adapter")
    assert not (tmp_path / "refused").exists()
    child = train(tmp_path, catalog, "child", lora, start_from=parent / "adapter")
    assert validation_loss(child, "before") == pytest.approx(validation_loss(parent, "after"), rel=1e-5)
    assert validation_loss(child, "before") < validation_loss(parent, "before")
    assert json.loads((child / "adapter" / "adapter_config.json").read_text())["r"] == 4
    parent_weights, child_weights = load_file(parent / "adapter" / "adapter_model.safetensors"), load_file(child / "adapter" / "adapter_model.safetensors")
    assert parent_weights.keys() == child_weights.keys()
    assert any(not parent_weights[k].equal(child_weights[k]) for k in parent_weights)

    from_checkpoint = train(tmp_path, catalog, "from-checkpoint", lora, start_from=checkpoint)
    at_step_2 = [line for line in (parent / "results" / "metrics.csv").read_text().splitlines() if line.startswith("2,")][0]
    header = (parent / "results" / "metrics.csv").read_text().splitlines()[0].split(",")
    valid_loss_at_step_2 = float(at_step_2.split(",")[header.index("valid_loss")])
    assert validation_loss(from_checkpoint, "before") == pytest.approx(valid_loss_at_step_2, rel=1e-4)


def test_a_fully_fine_tuned_model_can_be_trained_further(tmp_path, catalog):
    full = {"type": "full", "freeze": {"layers": 28}}  # only the head and final norm: quick, and enough to move the loss
    parent = train(tmp_path, catalog, "parent", full, learning_rate=1e-3)
    assert artifacts.read_info(parent / "model").training_type == {"type": "full", "freeze": {"layers": 28, "head_only": False},
                                                                   "layerwise_lr_decay": None, "gradual_unfreezing": None}
    child = train(tmp_path, catalog, "child", full, start_from=parent / "model", learning_rate=1e-3)
    assert validation_loss(child, "before") == pytest.approx(validation_loss(parent, "after"), rel=1e-5)
    assert validation_loss(child, "after") < validation_loss(child, "before")


def test_continuing_with_another_method_or_task_is_refused_before_training(tmp_path, catalog):
    parent = train(tmp_path, catalog, "parent", {"type": "ia3"}, max_steps=1)
    with pytest.raises(ValueError, match="was trained with ia3; continuing it trains the same ia3 model further"):
        train(tmp_path, catalog, "child", {"type": "lora"}, start_from=parent / "adapter")
    with pytest.raises(ValueError, match="not a model folder saved by ftaas"):
        train(tmp_path, catalog, "child", {"type": "ia3"}, start_from=tmp_path)
