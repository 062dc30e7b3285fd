"""Structured outputs: whatever the logits say, a constrained answer is JSON valid under its schema."""

import json

import jsonschema
import pytest
import torch
from transformers import AutoTokenizer

from jobs.serving.decoding import next_token
from jobs.serving.structured import Grammars
from jobs.serving.types import InvalidGenerationRequest, Sampling

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "pet": {"enum": ["cat", "dog", "none"]},
        "tags": {"type": "array", "items": {"type": "boolean"}, "maxItems": 3},
    },
    "required": ["name", "age", "pet", "tags"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def tokenizer(base_model_dir):
    return AutoTokenizer.from_pretrained(base_model_dir)


def constrained_answer(grammars, tokenizer, schema, seed, steps=400):
    """Sample from random logits under the schema until the JSON is complete."""
    constraint = grammars.constraint(schema, tokenizer)
    sampling = Sampling(max_new_tokens=steps, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    tokens = []
    for _ in range(steps):
        logits = torch.randn(len(tokenizer), generator=generator) * 4
        token = next_token(constraint.allowed(logits), sampling, generator)
        constraint.consume(token)
        tokens.append(token)
        if constraint.done:
            return tokenizer.decode(tokens)
    raise AssertionError(f"no complete JSON after {steps} tokens: {tokenizer.decode(tokens)!r}")


@pytest.mark.parametrize("seed", range(6))
def test_random_logits_still_give_json_valid_under_the_schema(tokenizer, seed):
    text = constrained_answer(Grammars(), tokenizer, PERSON, seed)
    jsonschema.validate(json.loads(text), PERSON)


def test_the_tokens_allowed_are_exactly_those_that_continue_the_json(tokenizer):
    constraint = Grammars().constraint(PERSON, tokenizer)
    allowed = constraint.allowed(torch.zeros(len(tokenizer)))
    first = {tokenizer.decode([t]) for t in torch.nonzero(allowed > float("-inf")).flatten().tolist()}
    assert first and all(text.startswith("{") for text in first), sorted(first)[:20]


@pytest.mark.parametrize("schema, words", [
    ({"type": "objectx"}, "objectx"),
    ({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}, "missing"),
])
def test_a_schema_that_cannot_be_used_is_refused_naming_the_problem(tokenizer, schema, words):
    with pytest.raises(InvalidGenerationRequest, match=words) as caught:
        Grammars().check(schema, tokenizer)
    assert caught.value.param == "response_format"
