"""Padding-free packing: several tokenized examples share one row, and never see each other.

Why: padded batches spend compute on padding, and short examples waste most of a row. Packing
concatenates examples into rows of up to `max_tokens`, so nearly every position is a real token.

How: each row carries `position_ids` that restart at 0 at every example and no attention mask.
From positions that restart, transformers builds a block-diagonal causal mask (each token attends
only to earlier tokens of its own example), and rotary embeddings see the same positions as
unpacked, so every example's logits are those it would have on its own.
This needs a forward without a KV cache: with `use_cache` on, transformers skips the packed-sequence
check and applies one causal mask across the whole row (the recipes set `config.use_cache = False`).

Invariant: the summed loss and the labelled-token count over packed rows equal those over the same
examples padded with `collate`. Hence the first token of every example is labelled IGNORE in the
row: unpacked it is never a target (targets are labels[1:]); packed it would be predicted from the
previous example's last token.
"""

import bisect
import random

import torch

from jobs.data.tokenize import IGNORE


def pack(examples: list[dict], max_tokens: int, rng: random.Random) -> list[list[dict]]:
    """Group examples (each at most `max_tokens` long) into packs of at most `max_tokens` tokens.

    Best-fit over a shuffled order (each example goes to the open pack it fills most tightly):
    packs end up nearly full, while which examples share a pack stays random.
    """
    order = list(range(len(examples)))
    rng.shuffle(order)
    packs: list[list[dict]] = []
    # (free tokens, pack index) of every pack with room left, sorted so bisect finds the tightest fit
    room: list[tuple[int, int]] = []
    for i in order:
        n = len(examples[i]["input_ids"])
        if n > max_tokens:
            raise ValueError(
                f"an example has {n} tokens, more than max_tokens={max_tokens}"
            )
        at = bisect.bisect_left(room, (n, -1))
        if at < len(room):
            free, p = room.pop(at)
        else:
            free, p = max_tokens, len(packs)
            packs.append([])
        packs[p].append(examples[i])
        if free > n:
            bisect.insort(room, (free - n, p))
    rng.shuffle(packs)  # packs opened last are the emptiest; spread them over the epoch
    return packs


def collate_packed(
    packs: list[list[dict]], pad_token_id: int
) -> dict[str, torch.Tensor]:
    """One row per pack: input_ids, labels and position_ids, right-padded; no attention_mask.

    Padding takes positions 0, 1, … so it forms a segment of its own, which no real token attends to.
    """
    rows = []
    for examples in packs:
        input_ids, labels, positions = [], [], []
        for example in examples:
            input_ids += example["input_ids"]
            labels += [IGNORE] + example["labels"][1:]
            positions += range(len(example["input_ids"]))
        rows.append((input_ids, labels, positions))
    width = max(len(input_ids) for input_ids, _, _ in rows)
    batch = {
        "input_ids": torch.full((len(rows), width), pad_token_id, dtype=torch.long),
        "labels": torch.full((len(rows), width), IGNORE, dtype=torch.long),
        "position_ids": torch.zeros((len(rows), width), dtype=torch.long),
    }
    for row, (input_ids, labels, positions) in enumerate(rows):
        n = len(input_ids)
        batch["input_ids"][row, :n] = torch.tensor(input_ids)
        batch["labels"][row, :n] = torch.tensor(labels)
        batch["position_ids"][row, :n] = torch.tensor(positions)
        batch["position_ids"][row, n:] = torch.arange(width - n)
    return batch
