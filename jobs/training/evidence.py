"""Evidence that training helped (or hurt): a loss-curve plot, loss on general text, sample answers.

A job's results hold these next to `metrics.csv`, so a user can judge the model without serving it:
did the loss go down, did the model forget how to write ordinary English (catastrophic forgetting),
and what does it answer now.
"""

import csv
import json
from pathlib import Path

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from jobs.data.tokenize import tokenize_texts
from jobs.training.causal_lm import CausalLmTask

GENERAL_TEXT = Path(__file__).parent.parent / "data" / "general_text.jsonl"
# Fine-tuning on a small task set usually moves loss on unrelated prose by a few percent; a rise of more
# than 10% means the model is losing general language ability, which samples often show only later.
FORGETTING_WARNING_PERCENT = 10.0


def _smooth(values: list[float], window: int) -> list[float]:
    """Trailing moving average (shorter at the start, so the line begins at the first step)."""
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_loss_curve(metrics_csv: Path, png_path: Path) -> None:
    """Train loss per step (raw, light, and smoothed) and validation loss where present, as a 1000×600 PNG."""
    with open(metrics_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    steps = [int(row["step"]) for row in rows]
    train = [float(row["train_loss"]) for row in rows]
    valid = [(int(row["step"]), float(row["valid_loss"])) for row in rows if row.get("valid_loss")]

    # A bare Figure on the Agg canvas: no pyplot, so no display and no global backend state.
    figure = Figure(figsize=(10, 6), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    window = len(train) // 20
    if window > 1:
        ax.plot(steps, train, color="tab:blue", alpha=0.3, linewidth=1, label="train loss")
        ax.plot(steps, _smooth(train, window), color="tab:blue", linewidth=2, label=f"train loss ({window}-step mean)")
    else:  # too few steps to smooth; markers keep a single step visible
        ax.plot(steps, train, color="tab:blue", linewidth=2, marker="o", markersize=4, label="train loss")
    if valid:
        ax.plot(*zip(*valid), color="tab:orange", marker="o", linewidth=2, label="validation loss")
    ax.set_xlim(left=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step")
    ax.set_ylabel("loss per token")
    ax.set_title("Training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    figure.tight_layout()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png_path)


def _pad_token_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def general_text_loss(
    model: torch.nn.Module, tokenizer, device, max_seq_length: int = 256, batch_size: int = 8
) -> float:
    """Mean next-token loss per token over the shipped general-text paragraphs (every token labelled)."""
    with open(GENERAL_TEXT) as f:
        texts = [json.loads(line) for line in f]
    examples = tokenize_texts(texts, tokenizer, max_seq_length).examples
    task = CausalLmTask(_pad_token_id(tokenizer), max_seq_length, packing=False, device=device)
    return task.evaluate(model, examples, batch_size)["loss"]


def forgetting_report(before: float, after: float, threshold_percent: float = FORGETTING_WARNING_PERCENT) -> dict:
    """General-text loss before and after training; change_percent > 0 means the model got worse."""
    change_percent = round((after - before) / before * 100, 2)  # rounded first, so warn agrees with it
    warn = change_percent > threshold_percent
    return {"before": before, "after": after, "change_percent": change_percent, "warn": warn}


@torch.no_grad()
def sample_generations(
    model: torch.nn.Module, tokenizer, prompts: list[list[dict]], max_new_tokens: int = 64
) -> list[str]:
    """Greedy answers to chat `prompts` (lists of messages), one prompt at a time, new text only."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    answers = []
    try:
        for messages in prompts:
            inputs = tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
            ).to(device)
            output = model.generate(
                input_ids=inputs["input_ids"],
                attention_mask=inputs["attention_mask"],
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=_pad_token_id(tokenizer),
            )
            new_tokens = output[0, inputs["input_ids"].shape[1] :]
            answers.append(tokenizer.decode(new_tokens, skip_special_tokens=True).strip())
    finally:
        model.train(was_training)
    return answers
