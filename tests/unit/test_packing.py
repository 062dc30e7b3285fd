"""Packing with the real SmolLM2: packed rows give exactly the unpacked loss, and examples stay apart."""

import random

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from jobs.data.packing import collate_packed, pack
from jobs.data.tokenize import IGNORE, collate, tokenize_chats
from jobs.training.causal_lm import token_loss

WORDS = ["the", "river", "city", "why", "answer", "green", "seven", "Paris", "Rome"]


@pytest.fixture(scope="module")
def tokenizer(base_model_dir):
    return AutoTokenizer.from_pretrained(base_model_dir)


@pytest.fixture(scope="module")
def model(base_model_dir):
    model = AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32)
    # As the recipes do. With a cache, transformers skips packed-sequence detection and lets a row's
    # examples attend to each other.
    model.config.use_cache = False
    return model.eval().requires_grad_(False)


@pytest.fixture(scope="module")
def examples(tokenizer) -> list[dict]:
    """Chats of varied lengths (about 30 to 130 tokens), some with two assistant turns."""
    rng = random.Random(7)

    def text(lo: int, hi: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))

    chats = []
    for i in range(10):
        messages = [
            {"role": "user", "content": text(1, 30)},
            {"role": "assistant", "content": text(1, 40)},
        ]
        if i % 3 == 0:
            messages += [
                {"role": "user", "content": text(1, 10)},
                {"role": "assistant", "content": text(1, 20)},
            ]
        chats.append({"messages": messages})
    return tokenize_chats(chats, tokenizer, max_seq_length=256).examples


def synthetic(lengths: list[int]) -> list[dict]:
    return [
        {"input_ids": [1000 + i] * n, "labels": [1000 + i] * n}
        for i, n in enumerate(lengths)
    ]


def test_packed_loss_and_gradients_equal_the_padded_ones(model, tokenizer, examples):
    packs = pack(examples, max_tokens=256, rng=random.Random(0))
    assert (
        len(packs) <= len(examples) // 2 and max(len(p) for p in packs) >= 3
    )  # several examples per row
    packed = collate_packed(packs, tokenizer.pad_token_id)
    padded = collate(examples, tokenizer.pad_token_id)
    params = [
        model.model.layers[0].self_attn.q_proj.weight,
        model.model.layers[-1].mlp.down_proj.weight,
    ]

    def loss_and_grads(batch):
        for p in params:
            p.requires_grad_(True)
            p.grad = None
        try:
            loss = token_loss(model, batch)
            (loss.total / loss.n_targets).backward()
            return loss.total.item(), loss.n_targets, [p.grad.clone() for p in params]
        finally:
            for p in params:
                p.requires_grad_(False)
                p.grad = None

    packed_loss, packed_count, packed_grads = loss_and_grads(packed)
    padded_loss, padded_count, padded_grads = loss_and_grads(padded)

    assert (
        packed_count
        == padded_count
        == sum(sum(l != IGNORE for l in e["labels"][1:]) for e in examples)
    )
    assert packed_loss == pytest.approx(padded_loss, rel=1e-4)
    for packed_grad, padded_grad in zip(packed_grads, padded_grads):
        assert ((packed_grad - padded_grad).norm() / padded_grad.norm()).item() < 1e-3


def test_examples_in_one_row_do_not_see_each_other(model, tokenizer, examples):
    a, b = examples[0], examples[1]
    rng = random.Random(3)
    altered_a = {
        **a,
        "input_ids": [rng.randrange(1000, 20000) for _ in a["input_ids"]],
    }  # same length, other tokens
    # Row 3 holds b alone, right-padded to the others' width.
    batch = collate_packed([[a, b], [altered_a, b], [b]], tokenizer.pad_token_id)
    with torch.no_grad():
        logits = model(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"]
        ).logits
        alone = model(input_ids=torch.tensor([b["input_ids"]])).logits[0]

    n_a, n_b = len(a["input_ids"]), len(b["input_ids"])
    assert not torch.allclose(
        logits[0, :n_a], logits[1, :n_a], atol=1e-2
    )  # a's tokens do matter to a
    for b_in_row in (
        logits[0, n_a : n_a + n_b],
        logits[1, n_a : n_a + n_b],
        logits[2, :n_b],
    ):
        torch.testing.assert_close(b_in_row, alone, rtol=1e-4, atol=1e-4)


def test_pack_places_every_example_once_within_max_tokens_and_is_seeded():
    lengths = [random.Random(i).randint(1, 100) for i in range(200)]
    examples = synthetic(lengths)
    packs = pack(examples, max_tokens=128, rng=random.Random(0))

    placed = [id(example) for p in packs for example in p]
    assert sorted(placed) == sorted(id(example) for example in examples)
    assert all(sum(len(e["input_ids"]) for e in p) <= 128 for p in packs)
    assert all(p for p in packs)
    assert pack(examples, 128, random.Random(0)) == packs
    assert pack(examples, 128, random.Random(1)) != packs
    with pytest.raises(ValueError, match="max_tokens"):
        pack(synthetic([129]), max_tokens=128, rng=random.Random(0))


def test_collate_packed_restarts_positions_and_ignores_each_first_token():
    a, b, c = synthetic([3, 2, 4])
    a["labels"] = [IGNORE, IGNORE, 1000]
    batch = collate_packed([[a, b], [c]], pad_token_id=0)

    assert set(batch) == {
        "input_ids",
        "labels",
        "position_ids",
    }  # no attention_mask: the positions mask
    assert batch["input_ids"].tolist() == [[1000] * 3 + [1001] * 2, [1002] * 4 + [0]]
    assert batch["position_ids"].tolist() == [
        [0, 1, 2, 0, 1],
        [0, 1, 2, 3, 0],
    ]  # padding is its own segment
    assert batch["labels"].tolist() == [
        [IGNORE, IGNORE, 1000, IGNORE, 1001],
        [IGNORE, 1002, 1002, 1002, IGNORE],
    ]


def test_packing_feeds_fewer_positions_than_padded_batches():
    rng = random.Random(0)
    examples = synthetic([rng.randint(10, 200) for _ in range(300)])
    real = sum(len(e["input_ids"]) for e in examples)
    rows_per_step = 4

    packs = pack(examples, max_tokens=256, rng=random.Random(0))
    packed = sum(
        collate_packed(packs[i : i + rows_per_step], 0)["input_ids"].numel()
        for i in range(0, len(packs), rows_per_step)
    )
    order = list(examples)
    random.Random(0).shuffle(order)
    padded = sum(
        collate(order[i : i + rows_per_step], 0)["input_ids"].numel()
        for i in range(0, len(order), rows_per_step)
    )

    assert packed < padded
    assert real / packed > 0.95  # almost no position is padding
