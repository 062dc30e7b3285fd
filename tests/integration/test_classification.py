"""Classification ({"text", "label"} files) trains SmolLM2-135M-Instruct's sequence-classification head on CPU.

The texts are topic sentences from tests/support/tasks.py labelled by their topic name; runs are a few
steps, so the assertions check what is saved and reported, the loss arithmetic and padding.
"""

import json
import random
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from jobs.catalog import DEFAULT_MODEL_ID
from jobs.data.tokenize import tokenize_examples
from jobs.spec import JobSpec
from jobs.train import run_training
from jobs.training.classification import ClassificationTask, balanced_class_weights
from tests.support.tasks import ADJECTIVES, TEMPLATES, TOPICS, write_jsonl

pytestmark = pytest.mark.slow

LABELS = ["animals", "food", "vehicles"]


def topic_examples(counts: dict[str, int], seed: int, split: str = "train") -> list[dict]:
    rng = random.Random(f"{split}-{seed}")
    examples = [
        {"text": rng.choice(TEMPLATES[split]).format(adj=rng.choice(ADJECTIVES), noun=rng.choice(TOPICS[label][1])), "label": label}
        for label, n in counts.items()
        for _ in range(n)
    ]
    rng.shuffle(examples)
    return examples


def train(tmp_path: Path, catalog, training_type: dict, events: list, **hyperparameters) -> tuple[Path, dict]:
    write_jsonl(tmp_path / "train.jsonl", topic_examples(dict.fromkeys(LABELS, 8), seed=1))
    write_jsonl(tmp_path / "valid.jsonl", topic_examples(dict.fromkeys(LABELS, 3), seed=1, split="test"))
    spec = JobSpec.model_validate({
        "model": DEFAULT_MODEL_ID, "training_file": "train.jsonl", "validation_file": "valid.jsonl", "seed": 3,
        "training_type": training_type,
        "hyperparameters": {"batch_size": 4, "max_seq_length": 64, **hyperparameters},
    })
    out = tmp_path / "out"
    summary = run_training(spec, tmp_path / "train.jsonl", tmp_path / "valid.jsonl", out, catalog, events.append, threads=0)
    return out, summary


def test_lora_trains_and_saves_a_classification_adapter(tmp_path, catalog, base_model_dir):
    events = []
    out, summary = train(tmp_path, catalog, {"type": "lora", "r": 8}, events, max_steps=10, learning_rate=3e-3)

    assert summary["artifact"] == "adapter" and summary["format"] == "classification"
    config = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert config["task_type"] == "SEQ_CLS" and config["base_model_name_or_path"] == DEFAULT_MODEL_ID
    tensors = load_file(out / "adapter" / "adapter_model.safetensors")
    assert any(name.endswith("score.weight") for name in tensors), sorted(tensors)[:5]

    report = json.loads((out / "results" / "report.json").read_text())
    for when in ("before", "after"):
        validation = report[when]["validation"]
        assert {"loss", "accuracy", "macro_f1", "f1"} <= set(validation)
        assert set(validation["f1"]) <= set(LABELS) and 0 <= validation["accuracy"] <= 1
    # A random head starts near chance (1/3); ten steps on three easy topics get well above it.
    assert report["after"]["validation"]["loss"] < report["before"]["validation"]["loss"] - 0.2, report
    assert report["after"]["validation"]["accuracy"] >= 0.66, report
    evaluated = [e["data"] for e in events if e["type"] == "metrics" and "valid_accuracy" in e["data"]]
    assert evaluated and evaluated[-1]["valid_accuracy"] == report["after"]["validation"]["accuracy"]

    # The saved adapter (LoRA weights plus the score head) loads onto the base and scores as reported.
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(out / "adapter")
    base = AutoModelForSequenceClassification.from_pretrained(
        base_model_dir, num_labels=len(LABELS), pad_token_id=tokenizer.pad_token_id, dtype=torch.float32
    )
    model = PeftModel.from_pretrained(base, out / "adapter")
    valid = tokenize_examples("classification", topic_examples(dict.fromkeys(LABELS, 3), seed=1, split="test"), tokenizer, 64,
                              {label: i for i, label in enumerate(LABELS)})
    task = ClassificationTask(tokenizer.pad_token_id, LABELS, torch.device("cpu"))
    assert task.evaluate(model, valid.examples, 4)["loss"] == pytest.approx(report["after"]["validation"]["loss"], rel=1e-3)


def test_head_only_full_fine_tuning_moves_only_the_head(tmp_path, catalog, base_model_dir):
    # class_weights goes through the job's path here too (the labels are balanced, so every weight is 1).
    out, summary = train(
        tmp_path, catalog, {"type": "full", "freeze": {"head_only": True}}, [], max_steps=4, learning_rate=1e-3, class_weights="balanced"
    )

    assert summary["artifact"] == "model"
    base, tuned = load_file(base_model_dir / "model.safetensors"), load_file(out / "model" / "model.safetensors")
    assert tuned["score.weight"].shape == (len(LABELS), tuned["model.embed_tokens.weight"].shape[1])
    moved = {name for name in base if name in tuned and not torch.equal(base[name], tuned[name])}
    # head_only trains the score head and the final norm (jobs/recipes/full.py); no decoder layer, no embedding.
    assert moved <= {"model.norm.weight"}, moved
    assert all(name in tuned for name in base if name.startswith("model.layers."))


@pytest.fixture(scope="module")
def classifier(base_model_dir):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        base_model_dir, num_labels=len(LABELS), pad_token_id=tokenizer.pad_token_id, dtype=torch.float32
    )
    return model.eval(), tokenizer


def tokenized(examples: list[dict], tokenizer) -> list[dict]:
    return tokenize_examples("classification", examples, tokenizer, 64, {label: i for i, label in enumerate(LABELS)}).examples


def test_balanced_loss_over_its_target_count_is_torchs_weighted_mean(classifier):
    model, tokenizer = classifier
    train_examples = topic_examples({"animals": 12, "food": 3, "vehicles": 1}, seed=4)
    weights = balanced_class_weights([e["label"] for e in train_examples], LABELS)
    assert weights == pytest.approx([16 / 36, 16 / 9, 16 / 3])
    task = ClassificationTask(tokenizer.pad_token_id, LABELS, torch.device("cpu"), weights)
    batch = task.collate(tokenized(train_examples[:6] + [e for e in train_examples if e["label"] == "vehicles"], tokenizer))

    with torch.no_grad():
        loss = task.loss(model, batch)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    expected = F.cross_entropy(logits, batch["labels"], weight=torch.tensor(weights))
    assert task.count_targets(batch) == pytest.approx(loss.n_targets)
    assert (loss.total / task.count_targets(batch)).item() == pytest.approx(expected.item(), rel=1e-5)
    unweighted = ClassificationTask(tokenizer.pad_token_id, LABELS, torch.device("cpu"))
    assert unweighted.count_targets(batch) == len(batch["labels"])


def test_right_padding_leaves_a_short_texts_logits_unchanged(classifier):
    model, tokenizer = classifier
    short, long = tokenized([
        {"text": "A cat.", "label": "animals"},
        {"text": "Our neighbour described the strange old truck near the station in great detail.", "label": "vehicles"},
    ], tokenizer)
    task = ClassificationTask(tokenizer.pad_token_id, LABELS, torch.device("cpu"))
    with torch.no_grad():
        alone = task._logits(model, task.collate([short]))[0]
        padded_batch = task.collate([short, long])
        assert (padded_batch["attention_mask"][0] == 0).any()  # the short text really is padded
        padded = task._logits(model, padded_batch)[0]
    torch.testing.assert_close(padded, alone, atol=1e-4, rtol=1e-4)
