"""Training examples → token ids and labels, and labels → padded batches.

`tokenize_examples` dispatches on the file's format (jobs.data.formats):
  chat:              the loss is taken only on assistant turns with weight 1 (the default), including the
                     template's end-of-turn token so the model learns to stop; every other token is IGNORE (-100).
  prompt_completion: prompt + completion + eos; the loss on the completion and eos.
  text:              text + eos, every token labelled; long texts are split into max_seq_length chunks.
  classification:    {"input_ids", "label": class index}; no token labels.
  preference:        chosen/rejected pairs, each the prompt plus one assistant turn, labelled like chat.

Turn boundaries come from the tokenizer's own chat template, which works for any template that is
prefix-stable (rendering the first i messages yields a prefix of rendering all of them):
  start of assistant turn i = len(render(messages[:i], add_generation_prompt=True))
  end of assistant turn i   = len(render(messages[:i + 1]))
"""

import random
from collections.abc import Callable
from dataclasses import dataclass

import torch

IGNORE = -100


@dataclass
class Tokenized:
    examples: list[dict]  # {"input_ids": [...], "labels": [...]} each (see the module doc), at most max_seq_length long
    n_truncated: int = 0  # examples cut to max_seq_length (kept when some labelled tokens survived)
    n_dropped: int = 0  # truncated examples with no labelled token left, left out of training
    n_tokens: int = 0  # tokens in the kept examples (both sides of a preference pair)
    n_label_tokens: int = 0  # tokens the loss is taken on (classification: one per example)
    n_split: int = 0  # text: chunks made by splitting texts longer than max_seq_length


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


def _n_labels(labels: list[int]) -> int:
    # The first token's label never counts: each label is predicted from the tokens before it.
    return sum(label != IGNORE for label in labels[1:])


def _each(examples: list[dict], tokenize_one):
    """tokenize_one(example) for each example, its ValueError naming the example's number."""
    for number, example in enumerate(examples, start=1):
        try:
            result = tokenize_one(example)
        except ValueError as exc:
            raise ValueError(f"example {number}: {exc}") from None
        yield result


def _keep(out: Tokenized, input_ids: list[int], labels: list[int], max_seq_length: int) -> None:
    """Add one example to `out`, truncated to `max_seq_length`; dropped when no labelled token survives."""
    if len(input_ids) > max_seq_length:
        out.n_truncated += 1
        input_ids, labels = input_ids[:max_seq_length], labels[:max_seq_length]
        if not _n_labels(labels):
            out.n_dropped += 1
            return
    out.examples.append({"input_ids": input_ids, "labels": labels})
    out.n_tokens += len(input_ids)
    out.n_label_tokens += _n_labels(labels)


def tokenize_chats(examples: list[dict], tokenizer, max_seq_length: int) -> Tokenized:
    """Tokenize every example, truncating to `max_seq_length` and counting what was cut."""
    out = Tokenized(examples=[])
    for input_ids, labels in _each(examples, lambda example: tokenize_chat(example, tokenizer)):
        _keep(out, input_ids, labels, max_seq_length)
    return out


def _bos(tokenizer) -> list[int]:
    """[bos] when the tokenizer puts it before plain text by default (Llama does, SmolLM2 does not)."""
    bos = tokenizer.bos_token_id
    if bos is None or tokenizer("a")["input_ids"][:1] != [bos]:
        return []
    return [bos]


def _eos(tokenizer) -> list[int]:
    return [] if tokenizer.eos_token_id is None else [tokenizer.eos_token_id]


def _encode(tokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def tokenize_prompt_completion(example: dict, tokenizer) -> tuple[list[int], list[int]]:
    """Token ids and labels of one prompt/completion example, untruncated: the loss on completion + eos."""
    prompt = _bos(tokenizer) + _encode(tokenizer, example["prompt"])
    completion = _encode(tokenizer, example["completion"]) + _eos(tokenizer)
    return prompt + completion, [IGNORE] * len(prompt) + completion


def tokenize_prompt_completions(examples: list[dict], tokenizer, max_seq_length: int) -> Tokenized:
    out = Tokenized(examples=[])
    for input_ids, labels in _each(examples, lambda example: tokenize_prompt_completion(example, tokenizer)):
        _keep(out, input_ids, labels, max_seq_length)
    return out


def tokenize_text(example: dict, tokenizer) -> list[int]:
    """Token ids of one text example, untruncated, eos appended; every token is labelled."""
    return _bos(tokenizer) + _encode(tokenizer, example["text"]) + _eos(tokenizer)


def tokenize_texts(examples: list[dict], tokenizer, max_seq_length: int) -> Tokenized:
    """Continued pre-training: a text longer than `max_seq_length` becomes consecutive chunks, none lost."""
    out = Tokenized(examples=[])
    for input_ids in _each(examples, lambda example: tokenize_text(example, tokenizer)):
        chunks = [input_ids[i : i + max_seq_length] for i in range(0, len(input_ids), max_seq_length)]
        chunks = [chunk for chunk in chunks if len(chunk) > 1]  # a lone trailing token carries no loss
        if len(chunks) > 1:
            out.n_split += len(chunks)
        for chunk in chunks:
            _keep(out, chunk, list(chunk), max_seq_length)
    return out


def tokenize_classification(example: dict, tokenizer, label_ids: dict[str, int]) -> tuple[list[int], int]:
    """Token ids of one classification example, untruncated, and its class index."""
    label = str(example["label"])
    if label not in label_ids:
        raise ValueError(f"label {label!r} is not one of the training file's labels ({', '.join(label_ids)})")
    return _bos(tokenizer) + _encode(tokenizer, example["text"]), label_ids[label]


def tokenize_classifications(
    examples: list[dict], tokenizer, max_seq_length: int, label_ids: dict[str, int]
) -> Tokenized:
    out = Tokenized(examples=[])
    for input_ids, label in _each(examples, lambda example: tokenize_classification(example, tokenizer, label_ids)):
        if len(input_ids) > max_seq_length:
            out.n_truncated += 1
            input_ids = input_ids[:max_seq_length]
        out.examples.append({"input_ids": input_ids, "label": label})
        out.n_tokens += len(input_ids)
        out.n_label_tokens += 1
    return out


def tokenize_preference(example: dict, tokenizer) -> tuple[tuple[list[int], list[int]], tuple[list[int], list[int]]]:
    """(input_ids, labels) of the chosen and the rejected conversation, untruncated.

    Both are the prompt rendered by the chat template followed by one assistant turn, labelled like a chat
    example; the prompt's own messages are never labelled, so both sides share the same unlabelled prefix.
    """
    prompt = [{**message, "weight": 0} for message in example["input"]["messages"]]
    chosen = tokenize_chat({"messages": prompt + example["preferred_output"][:1]}, tokenizer)
    rejected = tokenize_chat({"messages": prompt + example["non_preferred_output"][:1]}, tokenizer)
    return chosen, rejected


def tokenize_preferences(examples: list[dict], tokenizer, max_seq_length: int) -> Tokenized:
    """Chosen/rejected pairs, each side truncated; a pair is dropped when either side keeps no labelled token."""
    out = Tokenized(examples=[])
    for pair in _each(examples, lambda example: tokenize_preference(example, tokenizer)):
        if any(len(input_ids) > max_seq_length for input_ids, _ in pair):
            out.n_truncated += 1
        (chosen_ids, chosen_labels), (rejected_ids, rejected_labels) = [
            (input_ids[:max_seq_length], labels[:max_seq_length]) for input_ids, labels in pair
        ]
        if not _n_labels(chosen_labels) or not _n_labels(rejected_labels):
            out.n_dropped += 1
            continue
        out.examples.append(
            {
                "chosen_input_ids": chosen_ids,
                "chosen_labels": chosen_labels,
                "rejected_input_ids": rejected_ids,
                "rejected_labels": rejected_labels,
            }
        )
        out.n_tokens += len(chosen_ids) + len(rejected_ids)
        out.n_label_tokens += _n_labels(chosen_labels) + _n_labels(rejected_labels)
    return out


_BY_FORMAT = {
    "chat": tokenize_chats,
    "prompt_completion": tokenize_prompt_completions,
    "text": tokenize_texts,
    "preference": tokenize_preferences,
}


def tokenize_examples(
    format: str, examples: list[dict], tokenizer, max_seq_length: int, label_ids: dict[str, int] | None = None
) -> Tokenized:
    """Tokenize a checked file's examples of `format`; `label_ids` (label → class index) for classification."""
    if format == "classification":
        if label_ids is None:
            raise ValueError("classification examples need label_ids (label → class index)")
        return tokenize_classifications(examples, tokenizer, max_seq_length, label_ids)
    if format not in _BY_FORMAT:
        raise ValueError(f"no tokenization for format {format!r}")
    return _BY_FORMAT[format](examples, tokenizer, max_seq_length)


def input_length(example: dict) -> int:
    return len(example["input_ids"])


def length_grouped_batches(
    examples: list[dict], batch_size: int, rng: random.Random, length: Callable[[dict], int] = input_length
) -> list[list[dict]]:
    """Shuffled batches of examples of similar `length`, so little of each batch is padding.

    Examples are shuffled, sorted by length inside windows of 50 batches, cut into batches, and the
    batches shuffled again: random order, yet each batch holds neighbours in length.
    """
    order = list(range(len(examples)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for w in range(0, len(order), window):
        chunk = sorted(order[w : w + window], key=lambda i: length(examples[i]))
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
