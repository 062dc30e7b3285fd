"""JSON mode (`response_format: {"type": "json_object"}`): decoding that can only produce one JSON object.

`JsonPrefix` follows the text generated so far, one character at a time, and says whether it can still
become a valid JSON object; `choose` takes the most likely tokens, keeps those whose text keeps the answer
such a prefix, and picks among them as the request's sampling would. The answer ends ("stop") as soon as
the object closes.
"""

import copy
import re

import torch

from jobs.serving.decoding import next_token
from jobs.serving.types import Sampling

CANDIDATES = (64, 1024, None)  # tokens tried per step, most likely first: more only when none of these fits
MAX_WHITESPACE_RUN = 8  # a model that only adds spaces is made to write something else
_WHITESPACE = " \t\n\r"
_LITERALS = ("true", "false", "null")


class JsonPrefix:
    """A pushdown recogniser of JSON text, fed character by character; the top level must be an object."""

    def __init__(self) -> None:
        self.stack: list[str] = []  # "{" / "[" of open containers
        self.state = "start"  # what may come next (see feed)
        self.literal = ""  # the part of true/false/null or of a number read so far
        self.escape = 0  # inside a string: 1 after a backslash, 2..5 while reading \\uXXXX digits
        self.whitespace_run = 0
        self.done = False

    def copy(self) -> "JsonPrefix":
        return copy.deepcopy(self)

    def feed_text(self, text: str) -> bool:
        return all(self.feed(c) for c in text)

    def feed(self, c: str) -> bool:
        if self.done:
            return False
        if self.state == "string" or self.state == "key":
            return self._in_string(c)
        if self.state == "number":
            if c in "0123456789+-.eE" and _number_prefix(self.literal + c):
                self.literal += c
                return True
            if not _complete_number(self.literal):
                return False
            self.state = "after_value"
        if self.state == "literal":
            word = self.literal + c
            if any(lit.startswith(word) for lit in _LITERALS):
                self.literal = word
                if word in _LITERALS:
                    self.state = "after_value"
                return True
            return False
        if c in _WHITESPACE:
            if self.state == "start" or self.whitespace_run >= MAX_WHITESPACE_RUN:
                return False
            self.whitespace_run += 1
            return True
        self.whitespace_run = 0
        if self.state == "start":
            if c != "{":
                return False
            self.stack.append("{")
            self.state = "key_or_close"
            return True
        if self.state in ("key_or_close", "key"):
            if c == '"':
                self.state = "key"
                return True
            if c == "}" and self.state == "key_or_close":
                return self._close("{")
            return False
        if self.state == "colon":
            if c == ":":
                self.state = "value"
                return True
            return False
        if self.state in ("value", "value_or_close"):
            if c == "]" and self.state == "value_or_close":
                return self._close("[")
            return self._value(c)
        if self.state == "after_value":
            top = self.stack[-1]
            if c == ",":
                self.state = "key_start" if top == "{" else "value"
                return True
            if (c == "}" and top == "{") or (c == "]" and top == "["):
                return self._close(top)
            return False
        if self.state == "key_start":
            if c == '"':
                self.state = "key"
                return True
            return False
        return False

    def _value(self, c: str) -> bool:
        if c == "{":
            self.stack.append("{")
            self.state = "key_or_close"
        elif c == "[":
            self.stack.append("[")
            self.state = "value_or_close"
        elif c == '"':
            self.state = "string"
        elif c in "-0123456789":
            self.state, self.literal = "number", c
        elif c in "tfn":
            self.state, self.literal = "literal", c
        else:
            return False
        return True

    def _in_string(self, c: str) -> bool:
        if self.escape == 1:
            if c == "u":
                self.escape = 2
                return True
            if c in '"\\/bfnrt':
                self.escape = 0
                return True
            return False
        if self.escape >= 2:
            if c not in "0123456789abcdefABCDEF":
                return False
            self.escape = self.escape + 1 if self.escape < 5 else 0
            return True
        if c == "\\":
            self.escape = 1
            return True
        if c == '"':
            self.state = "colon" if self.state == "key" else "after_value"
            return True
        return ord(c) >= 0x20 and c != "\ufffd"

    def _close(self, kind: str) -> bool:
        if not self.stack or self.stack[-1] != kind:
            return False
        self.stack.pop()
        self.state = "after_value"
        if not self.stack:
            self.done = True
        return True


_NUMBER_PREFIX = re.compile(r"-?|-?(0|[1-9]\d*)(\.(\d+([eE][+-]?\d*)?)?|[eE][+-]?\d*)?")
_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")


def _number_prefix(text: str) -> bool:
    """Whether `text` can still grow into a JSON number."""
    return _NUMBER_PREFIX.fullmatch(text) is not None


def _complete_number(text: str) -> bool:
    return _NUMBER.fullmatch(text) is not None


def choose(logits: torch.Tensor, sampling: Sampling, generator: torch.Generator | None, state: JsonPrefix,
           decode, eos_ids: set[int]) -> int:
    """The next token among those that keep the answer a JSON object prefix, sampled as the request asks."""
    order = torch.argsort(logits, descending=True).tolist()
    for window in CANDIDATES:
        allowed = [t for t in order[:window] if t not in eos_ids and _continues(state, decode([t]))]
        if allowed:
            masked = torch.full_like(logits, float("-inf"))
            masked[allowed] = logits[allowed]
            return next_token(masked, sampling, generator)
    raise RuntimeError("JSON mode: no token continues the object")


def _continues(state: JsonPrefix, text: str) -> bool:
    # A token with no text (a special token, decoded without them) would let the answer run on without end.
    return bool(text) and state.copy().feed_text(text)
