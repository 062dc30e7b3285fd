"""DPO (method "dpo") on preference files: the loss itself, and short runs on SmolLM2-135M-Instruct on CPU.

The preference set is generated: each prompt asks about an animal; the preferred answer says the
invented word "zorblat", the non-preferred one "quimmex". The LoRA run validates on half of the training
pairs, so the report's before/after validation is the reward accuracy and margin on what was trained.
"""

import json
import math
import random
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from jobs.catalog import DEFAULT_MODEL_ID
from jobs.data.validation import InvalidFiles, check_files
from jobs.spec import JobSpec
from jobs.train import run_training
from jobs.training.pipeline import RunOptions
from jobs.training.preference import dpo_loss
from tests.support.tasks import write_jsonl

pytestmark = pytest.mark.slow

LOG_2 = math.log(2)
ANIMALS = ["dog", "cat", "horse", "rabbit", "fox", "cow", "sheep", "owl", "tiger", "goat", "duck", "wolf"]


def preference_examples(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    examples = []
    for _ in range(n):
        animal = rng.choice(ANIMALS)
        examples.append({
            "input": {"messages": [{"role": "user", "content": f"Say something about the {animal}."}]},
            "preferred_output": [{"role": "assistant", "content": f"The {animal} is zorblat."}],
            "non_preferred_output": [{"role": "assistant", "content": f"The {animal} is quimmex."}],
        })
    return examples


def dpo_run(tmp_path: Path, catalog, training_type: dict, validate: bool, evidence: str = "full",
            **hyperparameters) -> tuple[Path, dict, list[dict]]:
    path = write_jsonl(tmp_path / "train.jsonl", preference_examples(16, seed=3))
    valid = write_jsonl(tmp_path / "valid.jsonl", preference_examples(16, seed=3)[:8]) if validate else None
    spec = JobSpec.model_validate({
        "model": DEFAULT_MODEL_ID, "training_file": "train.jsonl", "validation_file": valid and "valid.jsonl", "seed": 5,
        "training_type": training_type,
        "method": {"type": "dpo", "dpo": {"hyperparameters": {
            "beta": 0.1, "batch_size": 4, "max_seq_length": 64, **hyperparameters,
        }}},
    })
    events: list[dict] = []
    out = tmp_path / "out"
    summary = run_training(spec, path, valid, out, catalog, events.append, threads=0,
                           options=RunOptions(evidence_level=evidence))
    return out, summary, events


def train_losses(events: list[dict]) -> list[float]:
    return [e["data"]["train_loss"] for e in events if e["type"] == "metrics"]


def test_dpo_loss_is_log_2_at_zero_margin_and_falls_as_the_margin_grows():
    zeros = torch.zeros(3)
    losses, margins = dpo_loss(torch.tensor([-5.0, -1.0, -9.0]), torch.tensor([-7.0, -2.0, -3.0]),
                               torch.tensor([-5.0, -1.0, -9.0]), torch.tensor([-7.0, -2.0, -3.0]), beta=0.1)
    assert torch.allclose(losses, torch.full((3,), LOG_2)) and torch.equal(margins, zeros)

    chosen_gain = torch.tensor([-2.0, 0.0, 1.0, 5.0, 20.0])  # policy − reference on the chosen side
    losses, margins = dpo_loss(chosen_gain, torch.zeros(5), torch.zeros(5), torch.zeros(5), beta=0.5)
    assert torch.equal(margins, 0.5 * chosen_gain)
    assert (losses.diff() < 0).all()

    pc, pr, rc, rr = torch.randn(4, 8, generator=torch.Generator().manual_seed(0)).unbind()
    losses, margins = dpo_loss(pc, pr, rc, rr, beta=0.2)
    direct = -torch.log(torch.sigmoid(0.2 * ((pc - rc) - (pr - rr))))
    assert torch.allclose(losses, direct, atol=1e-6)
    assert torch.allclose(losses, F.softplus(-margins), atol=1e-6)


def test_dpo_with_lora_learns_the_preference(tmp_path, catalog):
    # The validation evidence only: the sample answers and the forgetting check are asserted in test_train_cli.py.
    out, summary, events = dpo_run(tmp_path, catalog, {"type": "lora", "r": 8}, True, "validation", max_steps=8,
                                   learning_rate=5e-4)

    assert summary["artifact"] == "adapter" and (out / "adapter" / "adapter_model.safetensors").is_file()
    losses = train_losses(events)
    assert len(losses) == 8
    # At step 1 the policy is the reference, so every pair's loss is log 2: the reference was computed right.
    assert losses[0] == pytest.approx(LOG_2, abs=1e-3)
    assert summary["final_train_loss"] < LOG_2

    report = json.loads((out / "results" / "report.json").read_text())
    before, after = report["before"]["validation"], report["after"]["validation"]
    assert before["loss"] == pytest.approx(LOG_2, abs=1e-4) and before["reward_margin"] == pytest.approx(0, abs=1e-3)
    assert after["loss"] < LOG_2 - 0.1
    assert after["accuracy"] >= 0.75 and after["reward_margin"] > 0.2


def test_dpo_with_full_fine_tuning_needs_no_second_model(tmp_path, catalog):
    out, summary, events = dpo_run(tmp_path, catalog, {"type": "full"}, False, "validation", max_steps=2, learning_rate=1e-5)

    assert summary["artifact"] == "model" and (out / "model" / "model.safetensors").is_file()
    losses = train_losses(events)
    assert len(losses) == 2 and losses[0] == pytest.approx(LOG_2, abs=1e-3)
    assert all(math.isfinite(loss) for loss in losses)


def test_a_preference_file_is_refused_for_supervised_training(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", preference_examples(4))
    spec = JobSpec.model_validate({"model": DEFAULT_MODEL_ID, "training_file": "train.jsonl"})
    with pytest.raises(InvalidFiles, match="this is a preference file; train on it with method.type 'dpo'"):
        check_files(spec, path, None)
