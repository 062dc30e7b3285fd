"""The preference task (method "dpo"): direct preference optimisation on chosen/rejected pairs.

The reference model is the base before the method touched it. Its summed log-probabilities of each
pair's chosen and rejected responses are computed once, before training (`precompute_reference`), and
kept in the example dicts; so no second model sits in memory, and the reference is the true base for
every method (LoRA, full, prompt and prefix tuning alike).

A batch of B pairs is one padded batch of 2·B rows, the chosen sides then the rejected sides, so one
forward pass scores both.
"""

import random

import torch
import torch.nn.functional as F

from jobs.data.tokenize import collate, length_grouped_batches
from jobs.training.causal_lm import Loss, labelled_logits


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    beta: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The sigmoid DPO loss of each pair, -log σ(β·((πc − rc) − (πr − rr))), and each pair's reward margin.

    The reward of a response is β·(policy log-prob − reference log-prob); the margin is the chosen reward
    minus the rejected one. Ours because no maintained library offers this as a function: TRL computes it
    inline in `DPOTrainer._compute_loss`, from the trainer's own state (checked in TRL 1.16).
    """
    margins = beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))
    return -F.logsigmoid(margins), margins


def sequence_logps(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Each row's summed log-probability of its labelled tokens (shape: rows)."""
    logits, labelled, keep = labelled_logits(model, batch)
    token_logps = -F.cross_entropy(logits, labelled, reduction="none")
    rows = keep.nonzero()[:, 0]
    return torch.zeros(keep.shape[0], device=token_logps.device).index_add(0, rows, token_logps)


def _pair_length(example: dict) -> int:
    """The width both rows of a pair are padded to: its longer side."""
    return max(len(example["chosen_input_ids"]), len(example["rejected_input_ids"]))


class PreferenceTask:
    def __init__(self, pad_token_id: int, beta: float, device: torch.device) -> None:
        self.pad_token_id = pad_token_id
        self.beta = beta
        self.device = device

    def batches(self, examples: list[dict], batch_size: int, rng: random.Random) -> list[list[dict]]:
        return length_grouped_batches(examples, batch_size, rng, length=_pair_length)

    def collate(self, examples: list[dict]) -> dict:
        rows = [{"input_ids": e[f"{side}_input_ids"], "labels": e[f"{side}_labels"]} for side in ("chosen", "rejected") for e in examples]
        batch = {k: v.to(self.device) for k, v in collate(rows, self.pad_token_id).items()}
        if all("ref_chosen_logp" in e for e in examples):
            for side in ("chosen", "rejected"):
                batch[f"ref_{side}"] = torch.tensor([e[f"ref_{side}_logp"] for e in examples], device=self.device)
        batch["n_tokens"] = sum(len(row["input_ids"]) for row in rows)
        return batch

    def padded_tokens(self, examples: list[dict]) -> int:
        """Positions one forward over `examples` takes: both sides of each pair, padded to the longest."""
        return 2 * len(examples) * max(_pair_length(example) for example in examples)

    def count_targets(self, batch: dict) -> int:
        return batch["input_ids"].shape[0] // 2  # pairs

    def _pairs(self, model: torch.nn.Module, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        if "ref_chosen" not in batch:
            raise ValueError("the reference log-probabilities are missing; call precompute_reference first")
        chosen, rejected = sequence_logps(model, batch).chunk(2)
        return dpo_loss(chosen, rejected, batch["ref_chosen"], batch["ref_rejected"], self.beta)

    def loss(self, model: torch.nn.Module, batch: dict) -> Loss:
        """Summed over pairs; a pair counts as correct when the policy rewards its chosen side more."""
        losses, margins = self._pairs(model, batch)
        return Loss(losses.sum(), len(losses), int((margins > 0).sum()))

    def _ordered_batches(self, examples: list[dict], batch_size: int):
        ordered = sorted(examples, key=_pair_length)
        for start in range(0, len(ordered), batch_size):
            yield ordered[start : start + batch_size]

    @torch.no_grad()
    def precompute_reference(self, model: torch.nn.Module, train: list[dict], valid: list[dict] | None, batch_size: int) -> None:
        """Store the untouched model's log-probabilities of both sides in each example ("ref_chosen_logp", "ref_rejected_logp")."""
        was_training = model.training
        model.eval()
        for examples in self._ordered_batches(train + (valid or []), batch_size):
            chosen, rejected = sequence_logps(model, self.collate(examples)).chunk(2)
            for e, c, r in zip(examples, chosen.tolist(), rejected.tolist()):
                e["ref_chosen_logp"], e["ref_rejected_logp"] = c, r
        model.train(was_training)

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, examples: list[dict], batch_size: int) -> dict[str, float]:
        """Mean DPO loss per pair, reward accuracy (pairs with a positive margin) and mean reward margin."""
        was_training = model.training
        model.eval()
        total, correct, margin_sum = 0.0, 0, 0.0
        for batch_examples in self._ordered_batches(examples, batch_size):
            losses, margins = self._pairs(model, self.collate(batch_examples))
            total, correct, margin_sum = total + losses.sum().item(), correct + int((margins > 0).sum()), margin_sum + margins.sum().item()
        model.train(was_training)
        n = max(1, len(examples))
        return {"loss": total / n, "accuracy": correct / n, "reward_margin": margin_sum / n}
