"""Training-file formats and their validation. Torch-free: the API checks uploads with it.

A file is JSON Lines, one example per line. Supported now:
  chat:  {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}
         with at least one assistant message (the loss is taken on assistant turns).
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

ROLES = ("system", "user", "assistant")
MAX_REPORTED_PROBLEMS = 20


@dataclass
class FileCheck:
    format: str | None = None
    n_examples: int = 0
    problems: list[str] = field(default_factory=list)
    n_problems: int = 0

    @property
    def ok(self) -> bool:
        return self.n_problems == 0 and self.n_examples > 0

    def add(self, line_number: int, message: str) -> None:
        self.n_problems += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(f"line {line_number}: {message}")

    def summary(self) -> str:
        if self.n_examples == 0 and self.n_problems == 0:
            return "the file has no examples"
        shown = "; ".join(self.problems)
        more = self.n_problems - len(self.problems)
        return shown + (f"; and {more} more problems" if more > 0 else "")


def chat_problem(example: object) -> str | None:
    """Why `example` is not a valid chat example, or None."""
    if not isinstance(example, dict):
        return "expected a JSON object"
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return "expected a non-empty 'messages' list"
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"messages[{i}] is not an object"
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            return f"messages[{i}].role must be one of {', '.join(ROLES)}, got {role!r}"
        if not isinstance(content, str):
            return f"messages[{i}].content must be a string"
        weight = message.get("weight", 1)
        if weight not in (0, 1):
            return f"messages[{i}].weight must be 0 or 1"
    if messages[0]["role"] == "assistant" and messages[0].get("weight", 1) == 1:
        return "the first message is from the assistant: there is no prompt for it to answer"
    if not any(m["role"] == "assistant" and m.get("weight", 1) == 1 for m in messages):
        return "no assistant message to learn from"
    return None


def check_jsonl(lines: Iterable[bytes]) -> FileCheck:
    """Check every line of a training file; reports the first problems with their line numbers."""
    check = FileCheck()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            example = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            check.add(number, f"not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})")
            continue
        problem = chat_problem(example)
        if problem:
            check.add(number, problem)
        else:
            check.n_examples += 1
    check.format = "chat" if check.n_examples else None
    return check


def read_examples(path) -> list[dict]:
    """Load a checked JSONL file."""
    with open(path, "rb") as f:
        return [json.loads(line) for line in f if line.strip()]
