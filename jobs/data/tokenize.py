"""Chat examples → token ids and labels, and labels → padded batches.

The loss is taken only on assistant turns with weight 1 (the default), including the template's
end-of-turn token so the model learns to stop; every other token is labelled IGNORE (-100).

Turn boundaries come from the tokenizer's own chat template, which works for any template that is
prefix-stable (rendering the first i messages yields a prefix of rendering all of them):
  start of assistant turn i = len(render(messages[:i], add_generation_prompt=True))
  end of assistant turn i   = len(render(messages[:i + 1]))
"""

import random
from dataclasses import dataclass

import torch

IGNORE = -100


@dataclass
class Tokenized:
    examples: list[dict]  # {"input_ids": [...], "labels": [...]} each, at most max_seq_length long
    n_truncated: int = 0  # examples cut to max_seq_length (kept when some labelled tokens survived)
    n_dropped: int = 0  # truncated examples with no labelled token left, left out of training
    n_tokens: int = 0  # tokens in the kept examples
    n_label_tokens: int = 0  # tokens the loss is taken on


def _render(tokenizer, messages: list[dict], add_generation_prompt: bool = False) -> list[int]:
    # transformers 5 returns a BatchEncoding when tokenize=True; ask for the dict form explicitly.
    plain = [{"role": m["role"], "content": m["content"]} for m in messages]
    encoded = tokenizer.apply_chat_template(
        plain, tokenize=True, add_generation_prompt=add_generation_prompt, return_dict=True
    )
    return list(encoded["input_ids"])


def _end_of_turn(span: list[int], eos_token_id: int | None) -> int:
    """Length of an assistant span up to and including its end-of-turn token (drops a trailing newline)."""
    if eos_token_id is not None and eos_token_id in span:
        return len(span) - span[::-1].index(eos_token_id)
    return len(span)


def tokenize_chat(example: dict, tokenizer) -> tuple[list[int], list[int]]:
    """Token ids and labels of one chat example, untruncated."""
    messages = example["messages"]
    input_ids = _render(tokenizer, messages)
    labels = [IGNORE] * len(input_ids)
    for i, message in enumerate(messages):
        if message["role"] != "assistant" or message.get("weight", 1) != 1:
            continue
        if i == 0:
            raise ValueError("the conversation starts with an assistant message; there is no prompt to answer")
        prompt = _render(tokenizer, messages[:i], add_generation_prompt=True)
        upto = _render(tokenizer, messages[: i + 1])
        if input_ids[: len(prompt)] != prompt or input_ids[: len(upto)] != upto:
            raise ValueError("the tokenizer's chat template is not prefix-stable; cannot find assistant turns")
        start = len(prompt)
        end = start + _end_of_turn(upto[start:], tokenizer.eos_token_id)
        labels[start:end] = input_ids[start:end]
    return input_ids, labels


def tokenize_chats(examples: list[dict], tokenizer, max_seq_length: int) -> Tokenized:
    """Tokenize every example, truncating to `max_seq_length` and counting what was cut."""
    out = Tokenized(examples=[])
    for number, example in enumerate(examples, start=1):
        try:
            input_ids, labels = tokenize_chat(example, tokenizer)
        except ValueError as exc:
            raise ValueError(f"example {number}: {exc}") from None
        if len(input_ids) > max_seq_length:
            out.n_truncated += 1
            input_ids, labels = input_ids[:max_seq_length], labels[:max_seq_length]
            if all(label == IGNORE for label in labels[1:]):
                out.n_dropped += 1
                continue
        out.examples.append({"input_ids": input_ids, "labels": labels})
        out.n_tokens += len(input_ids)
        out.n_label_tokens += sum(label != IGNORE for label in labels[1:])
    return out


def length_grouped_batches(examples: list[dict], batch_size: int, rng: random.Random) -> list[list[dict]]:
    """Shuffled batches of examples of similar length, so little of each batch is padding.

    Examples are shuffled, sorted by length inside windows of 50 batches, cut into batches, and the
    batches shuffled again: random order, yet each batch holds neighbours in length.
    """
    order = list(range(len(examples)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for w in range(0, len(order), window):
        chunk = sorted(order[w : w + window], key=lambda i: len(examples[i]["input_ids"]))
        batches += [[examples[i] for i in chunk[b : b + batch_size]] for b in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(batch: list[dict], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch: input_ids with `pad_token_id`, labels with IGNORE, attention_mask 0 on padding."""
    width = max(len(example["input_ids"]) for example in batch)
    input_ids = torch.full((len(batch), width), pad_token_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, example in enumerate(batch):
        n = len(example["input_ids"])
        input_ids[row, :n] = torch.tensor(example["input_ids"])
        labels[row, :n] = torch.tensor(example["labels"])
        attention_mask[row, :n] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}
