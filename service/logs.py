"""Structured logs: one JSON object per line, never a secret; and the request id that ties a response to its log lines."""

import json
import logging
import re
import secrets
import sys
import time
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

REQUEST_ID_HEADER = "x-request-id"
# A caller's own id is kept when it is short and plain, so it can be searched for in the logs as sent.
_CALLER_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SECRETS = (
    (re.compile(r"(?i)(bearer\s+)[^\s\"',]+"), r"\1***"),
    (re.compile(r"(://[^/:@\s]*:)[^@/\s]+@"), r"\1***@"),  # the password in a URL
)
# Attributes every LogRecord has; anything else was passed with `extra=` and becomes a field of the line.
_RECORD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        entry.update((k, redact(v) if isinstance(v, str) else v) for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)


def request_id(scope: Scope) -> str:
    """This request's id: the caller's `x-request-id` if well-formed, else a new one; the same for the whole request."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        sent = next((v for k, v in scope.get("headers", ()) if k.lower() == REQUEST_ID_HEADER.encode()), b"")
        sent_id = sent.decode("latin-1")
        state["request_id"] = sent_id if _CALLER_REQUEST_ID.fullmatch(sent_id) else secrets.token_hex(16)
    return state["request_id"]


async def send_request_id(message: Message, scope: Scope) -> None:
    """Litestar `before_send` hook: every response, errors from routing included, carries its request id."""
    if message["type"] == "http.response.start":
        message.setdefault("headers", [])
        MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id(scope)
