"""The classification task ({"text", "label"} files): cross-entropy on a sequence-classification head.

The model (AutoModelForSequenceClassification, loaded by RecipeContext.load_model) scores a text from
its last token that is not `config.pad_token_id`, so batches are right-padded with that same id.

With class_weights "balanced", class c weighs n / (k · count_c) (n training examples, k classes) and
each example counts as its class's weight: a batch's target count is the sum of its examples' weights,
so the loop's total / n_targets is the weighted mean that torch's weighted cross_entropy gives, and
n_correct / n_targets (the loop's train_accuracy) is the class-balanced accuracy.
"""

import random
from collections import Counter

import torch
import torch.nn.functional as F

from jobs.data.tokenize import length_grouped_batches
from jobs.training.causal_lm import Loss


def balanced_class_weights(train_labels: list[str], labels: list[str]) -> list[float]:
    """n / (k · count_c) for each class c of `labels`, counted over the training examples' labels."""
    counts = Counter(train_labels)
    return [len(train_labels) / (len(labels) * counts[label]) for label in labels]


def f1_scores(predicted: list[int], expected: list[int], labels: list[str]) -> dict[str, float]:
    """F1 of each class that occurs among the expected or the predicted classes (as sklearn counts them)."""
    scores = {}
    for c, label in enumerate(labels):
        tp = sum(p == c and e == c for p, e in zip(predicted, expected))
        fp = sum(p == c and e != c for p, e in zip(predicted, expected))
        fn = sum(p != c and e == c for p, e in zip(predicted, expected))
        if tp + fp + fn:
            scores[label] = 2 * tp / (2 * tp + fp + fn)
    return scores


class ClassificationTask:
    def __init__(
        self, pad_token_id: int, labels: list[str], device: torch.device, class_weights: list[float] | None = None
    ) -> None:
        self.pad_token_id = pad_token_id
        self.labels = labels
        self.device = device
        self.class_weights = torch.tensor(class_weights, dtype=torch.float32) if class_weights is not None else None

    def batches(self, examples: list[dict], batch_size: int, rng: random.Random) -> list[list[dict]]:
        return length_grouped_batches(examples, batch_size, rng)

    def collate(self, examples: list[dict]) -> dict:
        width = max(len(example["input_ids"]) for example in examples)
        input_ids = torch.full((len(examples), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
        for row, example in enumerate(examples):
            n = len(example["input_ids"])
            input_ids[row, :n] = torch.tensor(example["input_ids"])
            attention_mask[row, :n] = 1
        labels = torch.tensor([example["label"] for example in examples], dtype=torch.long)
        batch = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
        batch = {k: v.to(self.device) for k, v in batch.items()}
        batch["n_tokens"] = sum(len(example["input_ids"]) for example in examples)
        return batch

    def _weights(self, labels: torch.Tensor) -> torch.Tensor | None:
        return None if self.class_weights is None else self.class_weights.to(labels.device)[labels]

    def padded_tokens(self, examples: list[dict]) -> int:
        """Positions one forward over `examples` takes (rows × width)."""
        return len(examples) * max(len(example["input_ids"]) for example in examples)

    def count_targets(self, batch: dict) -> float:
        weights = self._weights(batch["labels"])
        return len(batch["labels"]) if weights is None else weights.sum().item()

    def _logits(self, model: torch.nn.Module, batch: dict) -> torch.Tensor:
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> Loss:
        losses = F.cross_entropy(logits, labels, reduction="none")
        hits = (logits.argmax(-1) == labels).float()
        weights = self._weights(labels)
        if weights is None:
            return Loss(losses.sum(), len(labels), int(hits.sum()))
        return Loss((losses * weights).sum(), weights.sum().item(), (hits * weights).sum().item())

    def loss(self, model: torch.nn.Module, batch: dict) -> Loss:
        return self._loss(self._logits(model, batch), batch["labels"])

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, examples: list[dict], batch_size: int) -> dict:
        """Loss (weighted like training), accuracy, macro F1 and each class's F1 over `examples`."""
        was_training = model.training
        model.eval()
        ordered = sorted(examples, key=lambda example: len(example["input_ids"]))
        total, count, predicted, expected = 0.0, 0.0, [], []
        for start in range(0, len(ordered), batch_size):
            batch = self.collate(ordered[start : start + batch_size])
            logits = self._logits(model, batch)
            loss = self._loss(logits, batch["labels"])
            total, count = total + loss.total.item(), count + loss.n_targets
            predicted += logits.argmax(-1).tolist()
            expected += batch["labels"].tolist()
        model.train(was_training)
        f1 = f1_scores(predicted, expected, self.labels)
        return {
            "loss": total / max(count, 1e-12),
            "accuracy": sum(p == e for p, e in zip(predicted, expected)) / max(1, len(expected)),
            "macro_f1": sum(f1.values()) / max(1, len(f1)),
            "f1": f1,
        }
