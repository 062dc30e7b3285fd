"""Structured outputs: decoding that can only produce JSON of a given shape, through llguidance.

`response_format: {"type": "json_object"}` is the schema `{"type": "object"}`; `{"type": "json_schema"}`
brings its own. Each step, the tokens that cannot continue valid JSON of that schema are masked out before
the request's own sampling picks one, so sampling, seeds and logprobs work as without a schema. The answer
ends ("stop") as soon as the JSON is complete. JSON is written compactly (no free whitespace), so a
rambling model cannot fill its tokens with blanks.
"""

import threading
from typing import Any

import llguidance
import llguidance.hf
import llguidance.torch
import torch
from transformers import PreTrainedTokenizerBase

from jobs.serving.types import InvalidGenerationRequest

_GRAMMAR_DEFAULTS = {"whitespace_flexible": False}


def _grammar(schema: dict[str, Any]) -> str:
    return llguidance.LLMatcher.grammar_from_json_schema(schema, defaults=_GRAMMAR_DEFAULTS)


class Grammars:
    """Compiles schemas for one engine: llguidance's view of each tokenizer is built once and kept."""

    def __init__(self) -> None:
        self._tokenizers: dict[int, tuple[PreTrainedTokenizerBase, llguidance.LLTokenizer]] = {}
        self._lock = threading.Lock()

    def _for(self, tokenizer: PreTrainedTokenizerBase) -> llguidance.LLTokenizer:
        with self._lock:
            known = self._tokenizers.get(id(tokenizer))
            if known is None or known[0] is not tokenizer:
                known = (tokenizer, llguidance.hf.from_tokenizer(tokenizer))
                self._tokenizers[id(tokenizer)] = known
            return known[1]

    def check(self, schema: dict[str, Any], tokenizer: PreTrainedTokenizerBase) -> None:
        """Raises InvalidGenerationRequest naming what is wrong with `schema`."""
        try:
            problem = llguidance.LLMatcher.validate_grammar(_grammar(schema), self._for(tokenizer))
        except (TypeError, ValueError) as exc:
            problem = str(exc)
        if problem:
            raise InvalidGenerationRequest(
                f"response_format's JSON schema cannot be used: {problem}", param="response_format",
            )

    def constraint(self, schema: dict[str, Any], tokenizer: PreTrainedTokenizerBase) -> "JsonConstraint":
        ll_tokenizer = self._for(tokenizer)
        return JsonConstraint(llguidance.LLMatcher(ll_tokenizer, _grammar(schema)), ll_tokenizer.vocab_size)


class JsonConstraint:
    """One answer's progress through its schema."""

    def __init__(self, matcher: llguidance.LLMatcher, vocab_size: int) -> None:
        self.matcher = matcher
        self.bitmask = llguidance.torch.allocate_token_bitmask(1, vocab_size)

    def allowed(self, logits: torch.Tensor) -> torch.Tensor:
        """`logits` (one row) with every token that cannot continue the JSON set to -inf (a copy)."""
        llguidance.torch.fill_next_token_bitmask(self.matcher, self.bitmask, 0)
        masked = logits.float().clone().unsqueeze(0)
        llguidance.torch.apply_token_bitmask_inplace(masked, self.bitmask)
        return masked[0]

    def consume(self, token: int) -> None:
        if not self.matcher.consume_token(token):
            raise RuntimeError(f"structured output: token {token} was not allowed ({self.matcher.get_error()})")

    @property
    def done(self) -> bool:
        """The JSON is complete: nothing may follow."""
        return self.matcher.is_stopped()
