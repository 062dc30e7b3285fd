"""Training-file formats and their validation. Torch-free: the API checks uploads with it.

A file is JSON Lines, one example per line, all lines of one format (see FORMAT_DESCRIPTIONS).
The format is recognised by an example's keys; the first valid line decides the file's format.

A line must be strict JSON in UTF-8: no byte order mark, no NaN or Infinity, no number too large for a
float, no duplicate keys. Every string in it must be text: a lone surrogate (`"\ud800"`) cannot be encoded
as UTF-8, so it would only fail later, in the tokenizer; and NUL (`"\u0000"`), although legal JSON, is
rejected too, because it is never meaningful in training text and usually means a file was corrupted.
"""

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, NoReturn

ROLES = ("system", "user", "assistant")
MAX_REPORTED_PROBLEMS = 20

FORMATS = ("chat", "prompt_completion", "text", "classification", "preference")
FORMAT_DESCRIPTIONS = {
    "chat": 'chat: {"messages": [{"role": "user", "content": "…"}, {"role": "assistant", "content": "…"}]}',
    "prompt_completion": 'prompt/completion: {"prompt": "…", "completion": "…"}',
    "text": 'text (continued pre-training): {"text": "…"}',
    "classification": 'classification: {"text": "…", "label": "…" or 0}',
    "preference": (
        'preference (DPO): {"input": {"messages": [{"role": "user", "content": "…"}]}, '
        '"preferred_output": [{"role": "assistant", "content": "…"}], '
        '"non_preferred_output": [{"role": "assistant", "content": "…"}]}'
    ),
}
_NAMES = {  # how a message names one example of each format
    "chat": "chat",
    "prompt_completion": "prompt/completion",
    "text": "text",
    "classification": "classification",
    "preference": "preference",
}
_KEYS = {  # the top-level keys each format allows
    "chat": {"messages", "tools", "parallel_tool_calls"},
    "prompt_completion": {"prompt", "completion"},
    "text": {"text"},
    "classification": {"text", "label"},
    "preference": {"input", "preferred_output", "non_preferred_output"},
}
_UNRECOGNISED = (
    "not an example of any accepted format; expected the keys messages (chat), prompt + completion, "
    "text, text + label (classification), or input + preferred_output + non_preferred_output (preference)"
)


@dataclass
class FileCheck:
    format: str | None = None
    n_examples: int = 0
    problems: list[str] = field(default_factory=list)
    n_problems: int = 0
    labels: dict[str, int] = field(default_factory=dict)  # classification files: label → count

    @property
    def ok(self) -> bool:
        return self.n_problems == 0 and self.n_examples > 0

    def add(self, line_number: int | None, message: str) -> None:
        """Record a problem of one line, or of the whole file when `line_number` is None."""
        self.n_problems += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(message if line_number is None else f"line {line_number}: {message}")

    def summary(self) -> str:
        if self.n_examples == 0 and self.n_problems == 0:
            return "the file has no examples"
        shown = "; ".join(self.problems)
        more = self.n_problems - len(self.problems)
        return shown + (f"; and {more} more problems" if more > 0 else "")


def human_bytes(n: int) -> str:
    """`n` bytes for people: 1048576 → '1.0 MiB'."""
    value, unit = float(n), "bytes"
    for bigger in ("KiB", "MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def read_lines(fileobj: BinaryIO, max_line_bytes: int | None = None) -> Iterator[bytes]:
    """The lines of a binary file, one at a time, each held whole only up to `max_line_bytes`.

    A longer line (its line break counts) comes out cut to max_line_bytes + 1 bytes, so that it is seen to
    be too long; the rest of it is read and dropped in pieces of that size.
    """
    size = -1 if max_line_bytes is None else max_line_bytes + 1
    while line := fileobj.readline(size):
        if len(line) == size and not line.endswith(b"\n"):
            while (rest := fileobj.readline(size)) and not rest.endswith(b"\n"):
                pass
        yield line


class LineProblem(ValueError):
    """A line that is not one strict JSON value of UTF-8 text."""


def _reject_constant(name: str) -> NoReturn:
    raise LineProblem(f"{name} is not a JSON number (JSON has no NaN or Infinity)")


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise LineProblem(f"the number {text[:24]} is too large for a 64-bit float")
    return value


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # Python refuses to convert integers of more than 4300 digits
        raise LineProblem(f"an integer of {len(text)} digits is too long to read") from None


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) < len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise LineProblem(f"the key {duplicate!r} appears twice in one object")
    return obj


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_keys, parse_constant=_reject_constant, parse_float=_parse_float, parse_int=_parse_int
)
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")
_LONE_CR = r"lines must end with \n or \r\n, and a lone \r does not end a line"


def parse_line(raw: bytes) -> object:
    """The JSON value on one line; raises LineProblem saying what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LineProblem(
            f"not UTF-8 text (the byte {raw[exc.start]:#04x} at position {exc.start + 1}); save the file as UTF-8"
        ) from None
    if text.startswith("\ufeff"):
        raise LineProblem("starts with a byte order mark (BOM); save the file as UTF-8 without a BOM")
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})"  # "Invalid control character at"
        if "\r" in text.rstrip("\r\n"):
            message += f"; {_LONE_CR}"
        raise LineProblem(message) from None
    except RecursionError:
        raise LineProblem("not valid JSON (nested too deeply)") from None
    # Only an escape (\u0000, \ud800) can put NUL or a lone surrogate into a string: UTF-8 decoding and the
    # JSON parser reject them raw. Most lines have no escapes and skip the walk.
    if "\\u" in text:
        problem = _not_text_problem(value)
        if problem:
            raise LineProblem(problem)
    return value


def _key_path(path: str, key: str) -> str:
    if not key.isidentifier() or len(key) > 40:  # an odd key is quoted, and cut short
        return f"{path}[{key[:40]!r}]"
    return f"{path}.{key}" if path else key


def _not_text_problem(parsed: object) -> str | None:
    """Where, in a parsed line, the first string (key or value) that is not UTF-8-encodable text lies; or None."""
    stack: list[tuple[object, str]] = [(parsed, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            strings = [(value, path or "the value")]
        elif isinstance(value, dict):
            strings = [(key, f"a key in {path or 'the object'}") for key in value]
            stack.extend(reversed([(item, _key_path(path, key)) for key, item in value.items()]))
        elif isinstance(value, list):
            strings = []
            stack.extend(reversed([(item, f"{path}[{i}]") for i, item in enumerate(value)]))
        else:
            continue
        for string, where in strings:
            if match := _NOT_TEXT.search(string):
                char = match.group()
                if char == "\x00":
                    return f"{where} contains U+0000 (NUL), which is not text"
                return f"{where} contains a lone surrogate (U+{ord(char):04X}), which is not Unicode text and cannot be encoded as UTF-8"
    return None


def detect_format(example: object) -> str | None:
    """The format `example` is meant to be, from its keys; None when it matches none."""
    if not isinstance(example, dict):
        return None
    if "messages" in example:
        return "chat"
    if "prompt" in example and "completion" in example:
        return "prompt_completion"
    if {"input", "preferred_output", "non_preferred_output"} <= example.keys():
        return "preference"
    if "text" in example:
        return "classification" if "label" in example else "text"
    return None


def _messages_problem(messages: object, where: str) -> str | None:
    """Why `messages` is not a non-empty list of well-formed messages, or None."""
    if not isinstance(messages, list) or not messages:
        return f"expected a non-empty '{where}' list"
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"{where}[{i}] is not an object"
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            return f"{where}[{i}].role must be one of {', '.join(ROLES)}, got {role!r}"
        if not isinstance(content, str):
            return f"{where}[{i}].content must be a string"
        if message.get("weight", 1) not in (0, 1):
            return f"{where}[{i}].weight must be 0 or 1"
    return None


def chat_problem(example: object) -> str | None:
    """Why `example` is not a valid chat example, or None."""
    if not isinstance(example, dict):
        return "expected a JSON object"
    messages = example.get("messages")
    problem = _messages_problem(messages, "messages")
    if problem:
        return problem
    if messages[0]["role"] == "assistant" and messages[0].get("weight", 1) == 1:
        return "the first message is from the assistant: there is no prompt for it to answer"
    if not any(m["role"] == "assistant" and m.get("weight", 1) == 1 for m in messages):
        return "no assistant message to learn from"
    return None


def _nonempty_string_problem(example: dict, key: str) -> str | None:
    value = example.get(key)
    if not isinstance(value, str):
        return f"'{key}' must be a string"
    if not value.strip():
        return f"'{key}' must not be empty"
    return None


def prompt_completion_problem(example: dict) -> str | None:
    if not isinstance(example.get("prompt"), str):
        return "'prompt' must be a string"
    return _nonempty_string_problem(example, "completion")


def text_problem(example: dict) -> str | None:
    return _nonempty_string_problem(example, "text")


def classification_problem(example: dict) -> str | None:
    label = example.get("label")
    # bool is a subclass of int in Python: rule it out explicitly.
    if isinstance(label, bool) or not isinstance(label, (str, int)):
        return "'label' must be a string or an integer"
    if isinstance(label, str) and not label.strip():
        return "'label' must not be empty"
    return _nonempty_string_problem(example, "text")


def _output_problem(output: object, key: str) -> str | None:
    if not isinstance(output, list) or len(output) != 1:
        return f"'{key}' must be a list of exactly one assistant message"
    message = output[0]
    if not isinstance(message, dict) or message.get("role") != "assistant":
        return f"'{key}'[0] must be a message with role 'assistant'"
    if not isinstance(message.get("content"), str):
        return f"'{key}'[0].content must be a string"
    return None


def preference_problem(example: dict) -> str | None:
    prompt = example.get("input")
    if not isinstance(prompt, dict):
        return "'input' must be an object with a 'messages' list"
    messages = prompt.get("messages")
    problem = _messages_problem(messages, "input.messages")
    if problem:
        return problem
    if messages[-1]["role"] == "assistant":
        return "input.messages ends with an assistant message; the prompt must end with a user (or system) message"
    for key in ("preferred_output", "non_preferred_output"):
        problem = _output_problem(example[key], key)
        if problem:
            return problem
    if example["preferred_output"][0]["content"] == example["non_preferred_output"][0]["content"]:
        return "preferred_output and non_preferred_output are the same; there is no preference to learn"
    return None


_PROBLEMS = {
    "chat": chat_problem,
    "prompt_completion": prompt_completion_problem,
    "text": text_problem,
    "classification": classification_problem,
    "preference": preference_problem,
}


def example_problem(example: object, format: str) -> str | None:
    """Why `example` is not a valid example of `format` (its extra keys included), or None."""
    if not isinstance(example, dict):
        return "expected a JSON object"
    extra = sorted(example.keys() - _KEYS[format])
    if extra:
        allowed = ", ".join(sorted(_KEYS[format]))
        return f"unexpected key {extra[0]!r} in a {_NAMES[format]} example (allowed: {allowed})"
    return _PROBLEMS[format](example)


def check_jsonl(
    lines: BinaryIO | Iterable[bytes], expected_format: str | None = None, max_line_bytes: int | None = None
) -> FileCheck:
    """Check every line of a training file; reports the first problems with their line numbers.

    `lines` is a binary file (read with `read_lines`, so a line longer than `max_line_bytes` is never held
    whole) or the lines themselves. With `expected_format`, every line must be of that format (the job's
    method needs it); otherwise the first valid line decides the file's format and every other line must
    match it.
    """
    if expected_format is not None and expected_format not in FORMATS:
        raise ValueError(f"unknown format {expected_format!r}; expected one of {', '.join(FORMATS)}")
    if hasattr(lines, "readline"):
        lines = read_lines(lines, max_line_bytes)
    check = FileCheck(format=expected_format)
    decided_on = None  # the line that decided the format, when the file itself decided it
    for number, raw in enumerate(lines, start=1):
        if max_line_bytes is not None and len(raw) > max_line_bytes:
            message = f"longer than the limit of {max_line_bytes} bytes ({human_bytes(max_line_bytes)}) per line"
            check.add(number, message + (f"; {_LONE_CR}" if b"\r" in raw else ""))
            continue
        if not raw.strip():
            continue
        try:
            example = parse_line(raw)
        except LineProblem as exc:
            check.add(number, str(exc))
            continue
        if not isinstance(example, dict):
            check.add(number, "expected a JSON object")
            continue
        format = detect_format(example)
        if format is None:
            check.add(number, _UNRECOGNISED)
            continue
        if check.format is not None and format != check.format:
            if decided_on is None:
                wanted = f"this job's method needs {_NAMES[check.format]} examples"
            else:
                wanted = f"line {decided_on} made this a {_NAMES[check.format]} file"
            check.add(number, f"a {_NAMES[format]} example, but {wanted}")
            continue
        problem = example_problem(example, format)
        if problem:
            check.add(number, problem)
            continue
        if check.format is None:
            check.format, decided_on = format, number
        check.n_examples += 1
        if format == "classification":
            label = str(example["label"])
            check.labels[label] = check.labels.get(label, 0) + 1
    if check.n_examples == 0 and expected_format is None:
        check.format = None
    return check


def read_examples(path) -> list[dict]:
    """Load a checked JSONL file."""
    with open(path, "rb") as f:
        return [json.loads(line) for line in f if line.strip()]
