"""The causal-LM task (chat, prompt/completion and text files): next-token loss on labelled tokens.

Batches are length-grouped so little of each is padding. With `packing`, each batch's examples are
laid out padding-free in as few rows as fit within max_seq_length (jobs/data/packing.py): the same
examples and the same loss per step as padded, only without the padding.
"""

import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from jobs.data.packing import collate_packed, pack
from jobs.data.tokenize import IGNORE, collate, length_grouped_batches
from jobs.training.distributed import is_sharded


@dataclass
class Loss:
    total: torch.Tensor  # summed over the batch's targets
    n_targets: int
    n_correct: int  # targets the model already ranks first (token accuracy)


def _causal_lm(model: torch.nn.Module) -> torch.nn.Module:
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _is_prompt_learning(model: torch.nn.Module) -> bool:
    config = getattr(model, "active_peft_config", None)
    return bool(config is not None and config.is_prompt_learning)


def _can_skip_unlabelled_logits(model: torch.nn.Module) -> bool:
    # Models that rescale their logits (Gemma 2 soft-capping, Cohere's logit_scale) need the full forward,
    # and prompt-learning adapters (prefix/prompt tuning) act in peft's own forward.
    lm = _causal_lm(model)
    config = lm.config
    return (
        not _is_prompt_learning(model)
        and getattr(config, "final_logit_softcapping", None) is None
        and getattr(config, "logit_scale", None) is None
        and lm.get_output_embeddings() is not None
        and lm.get_decoder() is not lm
    )


def count_targets(batch: dict[str, torch.Tensor]) -> int:
    return int((batch["labels"][:, 1:] != IGNORE).sum())


def labelled_logits(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(logits at the positions whose next token is labelled, those next tokens, the [rows, positions] mask).

    Only labelled tokens need logits, so when the model allows it the vocabulary projection (a large
    part of a small model's compute) is applied to their hidden states only, not to every position.
    """
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    # Padded batches carry an attention_mask; packed rows carry position_ids that restart at 0 for each
    # example and no mask, from which transformers builds a block-diagonal causal mask (only without a
    # KV cache: with one it applies a single causal mask across the row).
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids") if k in batch}
    if _can_skip_unlabelled_logits(model) and is_sharded(model):
        # FSDP2 gathers the head's weights only in the model's own forward: there, the positions labelled in
        # any row (a packed batch's rows are few, so that is close to the labelled tokens themselves).
        positions = keep.any(0).nonzero().squeeze(1)
        logits = model(**inputs, use_cache=False, logits_to_keep=positions).logits[keep[:, positions]]
    elif _can_skip_unlabelled_logits(model):
        lm = _causal_lm(model)
        hidden = lm.get_decoder()(**inputs, use_cache=False).last_hidden_state
        logits = lm.get_output_embeddings()(hidden[:, :-1][keep])
    else:
        logits = model(**inputs, use_cache=False).logits
        logits = logits[:, -batch["input_ids"].shape[1] :]  # prompt tuning prepends its virtual tokens
        logits = logits[:, :-1][keep]
    return logits.float(), targets[keep], keep


def token_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> Loss:
    """Summed next-token cross-entropy over the labelled tokens."""
    logits, labelled, _ = labelled_logits(model, batch)
    total = F.cross_entropy(logits, labelled, reduction="sum")
    return Loss(total, len(labelled), int((logits.argmax(-1) == labelled).sum()))


class CausalLmTask:
    def __init__(self, pad_token_id: int, max_seq_length: int, packing: bool, device: torch.device) -> None:
        self.pad_token_id = pad_token_id
        self.max_seq_length = max_seq_length
        self.packing = packing
        self.device = device

    def batches(self, examples: list[dict], batch_size: int, rng: random.Random) -> list[list[dict]]:
        return length_grouped_batches(examples, batch_size, rng)

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        if self.packing:
            rows = pack(examples, self.max_seq_length, random.Random(0))
            batch = collate_packed(rows, self.pad_token_id)
        else:
            batch = collate(examples, self.pad_token_id)
        batch = {k: v.to(self.device) for k, v in batch.items()}
        batch["n_tokens"] = sum(len(example["input_ids"]) for example in examples)
        return batch

    def padded_tokens(self, examples: list[dict]) -> int:
        """Positions one forward over `examples` takes (rows × width; packed rows take no more)."""
        return len(examples) * max(len(example["input_ids"]) for example in examples)

    def count_targets(self, batch: dict) -> int:
        return count_targets(batch)

    def loss(self, model: torch.nn.Module, batch: dict) -> Loss:
        return token_loss(model, batch)

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, examples: list[dict], batch_size: int) -> dict[str, float]:
        """Mean loss per labelled token and token accuracy over `examples`."""
        was_training = model.training
        model.eval()
        ordered = sorted(examples, key=lambda example: len(example["input_ids"]))
        total, count, correct = 0.0, 0, 0
        for start in range(0, len(ordered), batch_size):
            loss = token_loss(model, self.collate(ordered[start : start + batch_size]))
            total, count, correct = total + loss.total.item(), count + loss.n_targets, correct + loss.n_correct
        model.train(was_training)
        return {"loss": total / max(1, count), "accuracy": correct / max(1, count)}
