"""The training loop every recipe shares: plain PyTorch, no HF Trainer.

AdamW over the trainable parameters, linear warm-up then linear decay to zero, gradient-norm clipping
at 1.0, length-grouped batches, one metrics event per optimizer step, a validation pass at the end of
every epoch, and `results/metrics.csv` with one row per step.
"""

import csv
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from jobs.data.tokenize import IGNORE, collate, length_grouped_batches
from jobs.spec import TrainingPlan
from jobs.training import events
from jobs.training.events import Report

MAX_GRAD_NORM = 1.0
FINAL_LOSS_STEPS = 10  # final_train_loss is the mean over this many last steps (one step's loss is noisy)
METRICS_COLUMNS = ["step", "epoch", "train_loss", "valid_loss", "learning_rate", "tokens_per_second"]


@dataclass
class LoopResult:
    steps: int
    trained_tokens: int  # non-padding tokens fed to the model, over all epochs
    final_train_loss: float
    final_valid_loss: float | None
    seconds: float


def count_steps(n_examples: int, plan: TrainingPlan) -> int:
    return plan.n_epochs * math.ceil(n_examples / plan.batch_size)


def linear_schedule(step: int, total_steps: int, warmup_steps: int) -> float:
    """Learning-rate factor for the 0-based `step`: ramps up over the warm-up, then decays to 0."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def _causal_lm(model: torch.nn.Module) -> torch.nn.Module:
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _can_skip_unlabelled_logits(lm: torch.nn.Module) -> bool:
    # Models that rescale their logits (Gemma 2 soft-capping, Cohere's logit_scale) need the full forward.
    config = lm.config
    return (
        getattr(config, "final_logit_softcapping", None) is None
        and getattr(config, "logit_scale", None) is None
        and lm.get_output_embeddings() is not None
        and lm.get_decoder() is not lm
    )


def token_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Summed next-token cross-entropy over the labelled tokens, and how many there are.

    Only assistant tokens carry labels, so the vocabulary projection (a large part of a small
    model's compute) is applied to their hidden states only, not to every position.
    """
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    # Padded batches carry an attention_mask; packed rows carry position_ids that restart at 0 for each
    # example and no mask, from which transformers builds a block-diagonal causal mask.
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids") if k in batch}
    lm = _causal_lm(model)
    if _can_skip_unlabelled_logits(lm):
        hidden = lm.get_decoder()(**inputs).last_hidden_state
        logits = lm.get_output_embeddings()(hidden[:, :-1][keep])
    else:
        logits = model(**inputs).logits[:, :-1][keep]
    return F.cross_entropy(logits.float(), targets[keep], reduction="sum"), int(keep.sum())


@torch.no_grad()
def evaluate(model: torch.nn.Module, examples: list[dict], batch_size: int, pad_token_id: int, device) -> float:
    """Mean loss per labelled token over `examples`."""
    model.eval()
    ordered = sorted(examples, key=lambda example: len(example["input_ids"]))
    total, count = 0.0, 0
    for start in range(0, len(ordered), batch_size):
        batch = {k: v.to(device) for k, v in collate(ordered[start : start + batch_size], pad_token_id).items()}
        loss_sum, n = token_loss(model, batch)
        total, count = total + loss_sum.item(), count + n
    model.train()
    return total / max(1, count)


def train(
    model: torch.nn.Module,
    train_examples: list[dict],
    valid_examples: list[dict] | None,
    plan: TrainingPlan,
    pad_token_id: int,
    out_dir: Path,
    report: Report,
) -> LoopResult:
    """Train `model` (its trainable parameters) on tokenized examples; returns what the summary needs."""
    device = next(model.parameters()).device
    torch.manual_seed(plan.seed)
    rng = random.Random(plan.seed)
    epochs = [length_grouped_batches(train_examples, plan.batch_size, rng) for _ in range(plan.n_epochs)]
    total_steps = sum(len(batches) for batches in epochs)
    warmup_steps = round(plan.warmup_ratio * total_steps)

    parameters = [p for p in model.parameters() if p.requires_grad]
    # fused: one kernel for all parameters instead of a loop over ~400 small LoRA tensors (CPU and CUDA).
    optimizer = torch.optim.AdamW(parameters, lr=plan.learning_rate, weight_decay=plan.weight_decay, fused=True)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: linear_schedule(step, total_steps, warmup_steps)
    )

    (out_dir / "results").mkdir(parents=True, exist_ok=True)
    model.train()
    started = time.perf_counter()
    step, trained_tokens = 0, 0
    losses: list[float] = []
    valid_loss = None
    with open(out_dir / "results" / "metrics.csv", "w", newline="") as csv_file:
        writer = csv.DictWriter(csv_file, fieldnames=METRICS_COLUMNS)
        writer.writeheader()
        for epoch, batches in enumerate(epochs):
            for index, examples in enumerate(batches):
                batch = {k: v.to(device) for k, v in collate(examples, pad_token_id).items()}
                learning_rate = scheduler.get_last_lr()[0]
                loss_sum, n_labelled = token_loss(model, batch)
                loss = loss_sum / max(1, n_labelled)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(parameters, MAX_GRAD_NORM)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)

                step += 1
                trained_tokens += int(batch["attention_mask"].sum())
                losses.append(loss.item())
                elapsed = time.perf_counter() - started
                data = {
                    "step": step,
                    "total_steps": total_steps,
                    "epoch": round(epoch + (index + 1) / len(batches), 4),
                    "train_loss": losses[-1],
                    "learning_rate": learning_rate,
                    "tokens_per_second": round(trained_tokens / elapsed, 1),
                    "eta_seconds": round(elapsed / step * (total_steps - step), 1),
                }
                if valid_examples and index == len(batches) - 1:
                    valid_loss = evaluate(model, valid_examples, plan.batch_size, pad_token_id, device)
                    data["valid_loss"] = valid_loss
                report(events.metrics(data))
                writer.writerow({column: data.get(column, "") for column in METRICS_COLUMNS})
                csv_file.flush()

    last = losses[-FINAL_LOSS_STEPS:]
    return LoopResult(
        steps=step,
        trained_tokens=trained_tokens,
        final_train_loss=sum(last) / len(last),
        final_valid_loss=valid_loss,
        seconds=time.perf_counter() - started,
    )
