"""Training-file formats and their validation. Torch-free: the API checks uploads with it.

A file is JSON Lines, one example per line, all lines of one format (see FORMAT_DESCRIPTIONS).
The format is recognised by an example's keys; the first valid line decides the file's format.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

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


def check_jsonl(lines: Iterable[bytes], expected_format: str | None = None) -> FileCheck:
    """Check every line of a training file; reports the first problems with their line numbers.

    With `expected_format`, every line must be of that format (the job's method needs it); otherwise the
    first valid line decides the file's format and every other line must match it.
    """
    if expected_format is not None and expected_format not in FORMATS:
        raise ValueError(f"unknown format {expected_format!r}; expected one of {', '.join(FORMATS)}")
    check = FileCheck(format=expected_format)
    decided_on = None  # the line that decided the format, when the file itself decided it
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            example = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            check.add(number, f"not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})")
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
