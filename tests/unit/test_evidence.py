"""Training evidence with the real SmolLM2: loss-curve PNG, general-text loss, forgetting, sample answers."""

import csv
import json
import math
import struct
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from jobs.training.evidence import (
    FORGETTING_WARNING_PERCENT,
    GENERAL_TEXT,
    forgetting_report,
    general_text_loss,
    plot_loss_curve,
    sample_generations,
)
from jobs.training.loop import METRICS_COLUMNS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tokenizer(base_model_dir):
    return AutoTokenizer.from_pretrained(base_model_dir)


@pytest.fixture(scope="module")
def model(base_model_dir):
    return AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32)


def write_metrics(path: Path, n_steps: int, valid_every: int | None) -> Path:
    """A metrics.csv like the loop's: a noisy falling train loss, validation loss every `valid_every` steps."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=METRICS_COLUMNS)
        writer.writeheader()
        for step in range(1, n_steps + 1):
            row = {"step": step, "epoch": step / n_steps, "train_loss": 3.0 - step / 50 + (step % 3) * 0.1}
            if valid_every and step % valid_every == 0:
                row["valid_loss"] = 2.5 - step / 100
            writer.writerow({column: row.get(column, "") for column in METRICS_COLUMNS})
    return path


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize(
    ("n_steps", "valid_every"),
    [(60, 20), (40, None), (1, 1), (1, None)],
    ids=["valid", "no-valid", "one-row", "one-row-no-valid"],
)
def test_loss_curve_is_a_png(tmp_path: Path, n_steps: int, valid_every: int | None):
    metrics = write_metrics(tmp_path / "metrics.csv", n_steps, valid_every)
    png = tmp_path / "results" / "loss.png"
    plot_loss_curve(metrics, png)
    assert png_size(png) == (1000, 600)
    assert 10_000 < png.stat().st_size < 1_000_000


def test_general_text_set_ships_plain_paragraphs():
    lines = GENERAL_TEXT.read_text().splitlines()
    assert len(set(lines)) == len(lines) >= 30
    for line in lines:
        text = json.loads(line)["text"]
        assert 40 <= len(text.split()) <= 120
    assert GENERAL_TEXT.is_relative_to(Path(__file__).parents[2] / "jobs")  # inside the package


def test_general_text_loss_is_plausible_and_deterministic(model, tokenizer):
    model.train()
    first = general_text_loss(model, tokenizer, "cpu")
    second = general_text_loss(model, tokenizer, "cpu")
    assert math.isfinite(first) and 1.5 < first < 6
    assert first == second
    assert model.training  # the caller's mode is kept


def test_forgetting_report():
    assert FORGETTING_WARNING_PERCENT == 10.0
    worse = forgetting_report(2.0, 2.5)
    assert worse == {"before": 2.0, "after": 2.5, "change_percent": 25.0, "warn": True}
    assert forgetting_report(2.0, 2.1) == {"before": 2.0, "after": 2.1, "change_percent": 5.0, "warn": False}
    better = forgetting_report(2.0, 1.8)
    assert better["change_percent"] == -10.0 and not better["warn"]
    assert forgetting_report(2.0, 2.1, threshold_percent=4.0)["warn"]
    assert not forgetting_report(2.0, 2.2)["warn"]  # exactly at the threshold is not a warning


@pytest.mark.parametrize("training", [True, False], ids=["from-train-mode", "from-eval-mode"])
def test_sample_generations_answers_and_keeps_mode(model, tokenizer, training: bool):
    model.train(training)
    france = [{"role": "user", "content": "What is the capital of France?"}]
    answers = sample_generations(model, tokenizer, [france], max_new_tokens=16)
    assert len(answers) == 1 and "Paris" in answers[0]
    assert model.training is training
