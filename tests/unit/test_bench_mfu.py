"""The MFU benchmark's FLOP count (tests/benchmarks/bench_mfu.py) against what torch counts in a real training step."""

import pytest
import torch
from peft import LoraConfig, get_peft_model
from torch.utils.flop_counter import FlopCounterMode
from transformers import LlamaConfig, LlamaForCausalLM

from jobs.data.tokenize import IGNORE, collate
from jobs.training.causal_lm import token_loss
from tests.benchmarks.bench_mfu import peak_tflops, training_flops

CONFIG = dict(hidden_size=64, num_hidden_layers=8, intermediate_size=160, num_attention_heads=4, num_key_value_heads=2,
              vocab_size=300, tie_word_embeddings=True)


def _examples(length: int) -> list[dict]:
    generator = torch.Generator().manual_seed(0)
    examples = []
    for prompt in (5, 11):  # the same length, so the batch has no padding; different labelled spans
        ids = torch.randint(3, 300, (length,), generator=generator).tolist()
        examples.append({"input_ids": ids, "labels": [IGNORE] * prompt + ids[prompt:]})
    return examples


@pytest.mark.parametrize("method", ["full", "lora"])
def test_the_flop_count_is_what_a_forward_and_backward_computes(method):
    config = LlamaConfig(**CONFIG, attn_implementation="eager")  # eager attention: matmuls torch's counter sees
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    if method == "lora":
        model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear"))
    examples = _examples(48)
    batch = collate(examples, pad_token_id=0)

    with FlopCounterMode(display=False) as counter:
        token_loss(model, batch).total.backward()

    counted = training_flops(config, examples, method, lora_r=4 if method == "lora" else 0)
    # LoRA: the first layer's q/k/v projections get no input gradient (their input, the frozen embedding's output,
    # needs none): a share of a percent at 16 layers, about 1 % here.
    assert counted == pytest.approx(counter.get_total_flops(), rel=0.015 if method == "lora" else 1e-9)


def test_the_count_grows_with_the_labelled_tokens_and_the_square_of_the_length():
    config = LlamaConfig(**CONFIG)
    short, long = _examples(48), _examples(96)
    fewer_labels = [{**example, "labels": [IGNORE] * 40 + example["input_ids"][40:]} for example in short]
    assert training_flops(config, fewer_labels, "full") < training_flops(config, short, "full")
    assert training_flops(config, short, "lora", lora_r=4) < training_flops(config, short, "full")
    assert 2 * training_flops(config, short, "full") < training_flops(config, long, "full")


def test_peak_flops_come_from_the_device_name():
    assert peak_tflops("NVIDIA H200") == pytest.approx(989.4)
    assert peak_tflops("NVIDIA H100 PCIe") == pytest.approx(756.0)
    assert peak_tflops("NVIDIA H100 80GB HBM3") == pytest.approx(989.4)
    assert peak_tflops("NVIDIA GeForce RTX 4090") is None
