"""Tokenization with the real SmolLM2 tokenizer: the loss covers exactly what each format trains on."""

import random

import pytest
import torch
from transformers import AutoTokenizer

from jobs.data.tokenize import (
    IGNORE,
    _render,
    collate,
    length_grouped_batches,
    tokenize_chat,
    tokenize_chats,
    tokenize_examples,
)


@pytest.fixture(scope="module")
def tokenizer(base_model_dir):
    return AutoTokenizer.from_pretrained(base_model_dir)


def labelled_spans(input_ids: list[int], labels: list[int]) -> list[list[int]]:
    """The runs of consecutive labelled tokens."""
    spans, current = [], []
    for token, label in zip(input_ids, labels):
        if label != IGNORE:
            assert label == token
            current.append(token)
        elif current:
            spans.append(current)
            current = []
    if current:
        spans.append(current)
    return spans


CONVERSATION = {
    "messages": [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris.", "weight": 0},
        {"role": "user", "content": "And of Italy?"},
        {"role": "assistant", "content": "Rome, of course."},
    ]
}


def test_only_weighted_assistant_turns_are_labelled(tokenizer):
    input_ids, labels = tokenize_chat(CONVERSATION, tokenizer)

    assert len(input_ids) == len(labels)
    spans = labelled_spans(input_ids, labels)
    assert len(spans) == 1  # the weight-0 turn, the system and user turns carry no loss
    assert tokenizer.decode(spans[0]) == "Rome, of course." + tokenizer.eos_token
    assert spans[0][-1] == tokenizer.convert_tokens_to_ids("<|im_end|>")  # the model learns to stop

    # Everything before the final assistant turn, system and user text included, is IGNORE.
    first_labelled = labels.index(spans[0][0])
    assert all(label == IGNORE for label in labels[:first_labelled])
    prompt_text = tokenizer.decode(input_ids[:first_labelled])
    assert "You answer briefly." in prompt_text and "Paris." in prompt_text and "And of Italy?" in prompt_text


def test_every_weighted_assistant_turn_is_labelled(tokenizer):
    conversation = {"messages": [{**m, "weight": 1} if m["role"] == "assistant" else m for m in CONVERSATION["messages"]]}
    input_ids, labels = tokenize_chat(conversation, tokenizer)

    decoded = [tokenizer.decode(span) for span in labelled_spans(input_ids, labels)]
    assert decoded == ["Paris." + tokenizer.eos_token, "Rome, of course." + tokenizer.eos_token]


def test_input_ids_are_the_chat_template_rendering(tokenizer):
    input_ids, _ = tokenize_chat(CONVERSATION, tokenizer)
    plain = [{"role": m["role"], "content": m["content"]} for m in CONVERSATION["messages"]]
    assert tokenizer.decode(input_ids) == tokenizer.apply_chat_template(plain, tokenize=False)


def test_without_a_system_prompt_the_template_default_is_not_labelled(tokenizer):
    example = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
    input_ids, labels = tokenize_chat(example, tokenizer)
    assert "system" in tokenizer.decode(input_ids)  # SmolLM2 injects its own system prompt
    assert [tokenizer.decode(span) for span in labelled_spans(input_ids, labels)] == ["Hello!" + tokenizer.eos_token]


def test_truncation_is_counted_and_empty_examples_dropped(tokenizer):
    short = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
    long_answer = {"messages": [{"role": "user", "content": "Count"}, {"role": "assistant", "content": "one two three " * 40}]}
    long_prompt = {"messages": [{"role": "user", "content": "word " * 200}, {"role": "assistant", "content": "ok"}]}
    full_length = len(tokenize_chat(short, tokenizer)[0])

    result = tokenize_chats([short, long_answer, long_prompt], tokenizer, max_seq_length=64)

    assert result.n_truncated == 2
    assert result.n_dropped == 1  # the long prompt leaves no assistant token inside 64 tokens
    assert len(result.examples) == 2
    assert len(result.examples[0]["input_ids"]) == full_length
    kept_long = result.examples[1]
    assert len(kept_long["input_ids"]) == len(kept_long["labels"]) == 64
    assert kept_long["labels"][-1] != IGNORE  # cut inside the answer: still learnt from
    assert result.n_tokens == full_length + 64


def test_batches_are_padded_and_grouped_by_length(tokenizer):
    examples = [
        {"messages": [{"role": "user", "content": "x " * n}, {"role": "assistant", "content": "y"}]} for n in range(1, 41)
    ]
    tokenized = tokenize_chats(examples, tokenizer, max_seq_length=1024).examples
    batches = length_grouped_batches(tokenized, batch_size=4, rng=random.Random(0))

    assert sorted(len(e["input_ids"]) for b in batches for e in b) == sorted(len(e["input_ids"]) for e in tokenized)
    padding = sum(max(len(e["input_ids"]) for e in b) * len(b) - sum(len(e["input_ids"]) for e in b) for b in batches)
    assert padding < 0.1 * sum(len(e["input_ids"]) for e in tokenized)
    assert batches != length_grouped_batches(tokenized, batch_size=4, rng=random.Random(1))  # still shuffled

    batch = collate(batches[0], pad_token_id=tokenizer.pad_token_id)
    lengths = [len(e["input_ids"]) for e in batches[0]]
    assert batch["input_ids"].shape == (4, max(lengths))
    assert batch["attention_mask"].sum(dim=1).tolist() == lengths
    padded = batch["attention_mask"] == 0
    assert torch.all(batch["labels"][padded] == IGNORE)
    assert torch.all(batch["input_ids"][padded] == tokenizer.pad_token_id)


def test_an_assistant_turn_without_a_prompt_is_reported(tokenizer):
    good = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
    bad = {"messages": [{"role": "assistant", "content": "Hello!"}]}
    with pytest.raises(ValueError, match="example 2: the conversation starts with an assistant message"):
        tokenize_chats([good, bad], tokenizer, max_seq_length=64)


def test_prompt_completion_labels_exactly_the_completion_and_eos(tokenizer):
    examples = [{"prompt": "The capital of France is", "completion": " Paris, of course."}]
    result = tokenize_examples("prompt_completion", examples, tokenizer, max_seq_length=64)

    (example,) = result.examples
    spans = labelled_spans(example["input_ids"], example["labels"])
    assert [tokenizer.decode(span) for span in spans] == [" Paris, of course." + tokenizer.eos_token]
    assert tokenizer.decode(example["input_ids"]) == "The capital of France is Paris, of course." + tokenizer.eos_token
    assert example["input_ids"][0] != tokenizer.bos_token_id  # SmolLM2 adds no bos to plain text
    assert result.n_label_tokens == len(spans[0]) and result.n_tokens == len(example["input_ids"])


def test_prompt_completion_truncation_drops_examples_left_without_a_completion(tokenizer):
    examples = [
        {"prompt": "Say yes.", "completion": " yes " * 100},
        {"prompt": "word " * 100, "completion": " ok"},
    ]
    result = tokenize_examples("prompt_completion", examples, tokenizer, max_seq_length=32)
    assert result.n_truncated == 2 and result.n_dropped == 1
    (kept,) = result.examples
    assert len(kept["input_ids"]) == 32 and kept["labels"][-1] != IGNORE


def test_long_texts_are_split_into_chunks_not_truncated(tokenizer):
    long_text = " ".join(f"word{i}" for i in range(200))
    examples = [{"text": "A short text."}, {"text": long_text}]
    full = tokenizer(long_text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]

    result = tokenize_examples("text", examples, tokenizer, max_seq_length=64)

    short, *chunks = result.examples
    assert tokenizer.decode(short["input_ids"]) == "A short text." + tokenizer.eos_token
    assert [len(c["input_ids"]) for c in chunks[:-1]] == [64] * (len(chunks) - 1)
    assert [token for c in chunks for token in c["input_ids"]] == full  # nothing lost, in order
    assert all(c["labels"] == c["input_ids"] for c in result.examples)  # every token is learnt
    assert result.n_split == len(chunks) > 1
    assert result.n_truncated == result.n_dropped == 0
    assert result.n_tokens == len(short["input_ids"]) + len(full)


def test_classification_examples_carry_the_class_index(tokenizer):
    examples = [{"text": "I loved it", "label": "positive"}, {"text": "word " * 100, "label": 0}]
    label_ids = {label: i for i, label in enumerate(sorted({"positive", "0"}))}

    result = tokenize_examples("classification", examples, tokenizer, max_seq_length=16, label_ids=label_ids)

    assert [e["label"] for e in result.examples] == [label_ids["positive"], label_ids["0"]] == [1, 0]
    assert all(set(e) == {"input_ids", "label"} for e in result.examples)
    assert tokenizer.decode(result.examples[0]["input_ids"]) == "I loved it"
    assert len(result.examples[1]["input_ids"]) == 16 and result.n_truncated == 1
    assert result.n_label_tokens == 2

    with pytest.raises(ValueError, match="example 2: label 'negative' is not one of"):
        tokenize_examples("classification", [examples[0], {"text": "x", "label": "negative"}], tokenizer, 16, label_ids)
    with pytest.raises(ValueError, match="label_ids"):
        tokenize_examples("classification", examples, tokenizer, 16)


PREFERENCE = {
    "input": {
        "messages": [
            {"role": "system", "content": "You answer briefly."},
            {"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "And of Italy?"},
        ]
    },
    "preferred_output": [{"role": "assistant", "content": "Rome."}],
    "non_preferred_output": [{"role": "assistant", "content": "Milan, I think."}],
}


def test_preference_pairs_share_the_prompt_and_label_only_the_responses(tokenizer):
    result = tokenize_examples("preference", [PREFERENCE], tokenizer, max_seq_length=256)

    (pair,) = result.examples
    prompt = _render(tokenizer, PREFERENCE["input"]["messages"], add_generation_prompt=True)
    for side, response in (("chosen", "Rome."), ("rejected", "Milan, I think.")):
        input_ids, labels = pair[f"{side}_input_ids"], pair[f"{side}_labels"]
        assert input_ids[: len(prompt)] == prompt  # the same prompt prefix on both sides
        assert all(label == IGNORE for label in labels[: len(prompt)])  # the prompt's assistant turn too
        spans = labelled_spans(input_ids, labels)
        assert [tokenizer.decode(span) for span in spans] == [response + tokenizer.eos_token]
    assert result.n_tokens == len(pair["chosen_input_ids"]) + len(pair["rejected_input_ids"])


def test_a_preference_pair_is_dropped_when_a_response_is_cut_off(tokenizer):
    long_rejected = {**PREFERENCE, "non_preferred_output": [{"role": "assistant", "content": "no " * 100}]}
    prompt_length = len(_render(tokenizer, PREFERENCE["input"]["messages"], add_generation_prompt=True))

    result = tokenize_examples("preference", [PREFERENCE, long_rejected], tokenizer, max_seq_length=prompt_length + 8)
    assert result.n_truncated == 1 and result.n_dropped == 0 and len(result.examples) == 2
    assert len(result.examples[1]["rejected_input_ids"]) == prompt_length + 8

    result = tokenize_examples("preference", [PREFERENCE], tokenizer, max_seq_length=prompt_length)
    assert result.n_truncated == 1 and result.n_dropped == 1 and result.examples == []


def test_tokenize_examples_dispatches_chat_like_tokenize_chats(tokenizer):
    assert tokenize_examples("chat", [CONVERSATION], tokenizer, 256) == tokenize_chats([CONVERSATION], tokenizer, 256)
    with pytest.raises(ValueError, match="no tokenization for format 'dpo'"):
        tokenize_examples("dpo", [], tokenizer, 256)
