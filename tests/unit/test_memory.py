"""The activation budget (jobs/training/memory.py): how batches are cut into forwards, when gradient checkpointing
turns on, and that a cut step trains exactly as the whole one (real SmolLM2-135M)."""

import random

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from jobs.data.tokenize import tokenize_examples
from jobs.training.causal_lm import CausalLmTask
from jobs.training.loop import StepLoss, accumulate_gradients
from jobs.training.memory import bytes_per_token, fits_one_accelerator, forward_pieces, plan_activations, weights_bytes
from tests.support.tasks import classification_examples

GiB = 2**30


def padded(examples: list[dict]) -> int:
    return len(examples) * max(len(e["input_ids"]) for e in examples)


def test_forward_pieces_fit_the_budget_and_keep_every_example_once():
    rng = random.Random(3)
    examples = [{"input_ids": [0] * rng.randint(5, 120), "n": i} for i in range(40)]
    pieces = forward_pieces(examples, 300, padded)
    assert sorted(e["n"] for piece in pieces for e in piece) == list(range(40))
    assert all(padded(piece) <= 300 for piece in pieces)
    # Fewest pieces for longest-first packing: no two neighbouring pieces could have been one.
    assert all(padded(a + b[:1]) > 300 for a, b in zip(pieces, pieces[1:]))
    # An example longer than the budget still goes through, alone.
    assert forward_pieces([{"input_ids": [0] * 500}], 300, padded) == [[{"input_ids": [0] * 500}]]


def test_the_weights_are_counted_from_the_safetensors_headers(base_model_dir):
    model = AutoModelForCausalLM.from_pretrained(base_model_dir)
    values = sum(p.numel() for p in model.parameters())  # the tied head counts once, as the file stores it
    assert weights_bytes(base_model_dir, 2) == 2 * values
    assert weights_bytes(base_model_dir, 4) == 4 * values
    assert fits_one_accelerator(base_model_dir, 4)  # on CPU there is no accelerator to outgrow


def test_gradient_checkpointing_auto_turns_on_only_when_one_example_exceeds_the_budget(base_model_dir):
    config = AutoConfig.from_pretrained(base_model_dir)
    full = bytes_per_token(config, 4, causal=True, checkpointed=False)
    fits = plan_activations(config, 4, True, longest_example_tokens=400, budget_bytes=2 * GiB, gradient_checkpointing="auto")
    assert not fits.gradient_checkpointing and fits.max_forward_tokens == 2 * GiB // full
    assert 400 <= fits.max_forward_tokens < 8 * 400  # a batch of 8 such examples is cut into a few forwards

    too_long = plan_activations(config, 4, True, longest_example_tokens=2 * GiB // full + 1, budget_bytes=2 * GiB,
                                gradient_checkpointing="auto")
    assert too_long.gradient_checkpointing and too_long.bytes_per_token < full / 3
    assert too_long.max_forward_tokens == 2 * GiB // too_long.bytes_per_token > 2 * GiB // full

    assert plan_activations(config, 4, True, 10, 2 * GiB, True).gradient_checkpointing
    assert not plan_activations(config, 4, True, 10**6, 2 * GiB, False).gradient_checkpointing
    assert bytes_per_token(config, 2, causal=False, checkpointed=False) < full / 2  # bfloat16, no vocabulary


def test_a_step_cut_into_several_forwards_has_the_gradients_of_one(base_model_dir):
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    examples = tokenize_examples("chat", classification_examples(6, seed=5), tokenizer, 64).examples
    task = CausalLmTask(tokenizer.pad_token_id, 64, packing=False, device=torch.device("cpu"))
    group = [examples[:4], examples[4:]]  # one optimizer step of two batches
    parameters = [p for name, p in model.named_parameters() if "layers.29." in name]
    for p in model.parameters():
        p.requires_grad_(False)
    for p in parameters:
        p.requires_grad_(True)

    def step(max_forward_tokens):
        model.zero_grad(set_to_none=True)
        accumulated = accumulate_gradients(StepLoss(model, task), task, group, max_forward_tokens=max_forward_tokens)
        return accumulated, [p.grad.clone() for p in parameters]

    whole, whole_grads = step(None)
    cut, cut_grads = step(max(len(e["input_ids"]) for e in examples))  # one example per forward
    assert cut.loss == pytest.approx(whole.loss, rel=1e-5) and cut.n_tokens == whole.n_tokens
    for a, b in zip(cut_grads, whole_grads):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4 * float(b.abs().max()))  # float32 sums in another order
