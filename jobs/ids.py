"""Object ids, in OpenAI's style: a type prefix and a random suffix; and the grammar every id must match.

An id from a request (path, query or body) is checked against its grammar before any use, so no id
can carry a path separator, a '..', a control character or an unbounded length into a store key.
"""

import hashlib
import re
import secrets
import string
from urllib.parse import quote

_ALPHABET = string.ascii_letters + string.digits

# The suffix after a type prefix: what new_*_id makes (24 characters), with room for other generators.
_SUFFIX = r"[A-Za-z0-9]{1,64}"
FILE_ID = re.compile(rf"file-{_SUFFIX}")
JOB_ID = re.compile(rf"ftjob-{_SUFFIX}")
CHECKPOINT_ID = re.compile(rf"ftckpt-{_SUFFIX}")
PERMISSION_ID = re.compile(rf"cp_{_SUFFIX}")  # a checkpoint permission, as OpenAI names them
WEBHOOK_ENDPOINT_ID = re.compile(rf"we_{_SUFFIX}")
EVENT_ID = re.compile(r"ftevent-\d{1,20}-\d{1,20}")  # ftevent- + a Redis stream id
TENANT = re.compile(r"[A-Za-z0-9_-]{1,64}")
# A catalog id such as HuggingFaceTB/SmolLM2-135M-Instruct.
BASE_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*")
# ft:{base}:{suffix}:{short}[:ckpt-step-N]
FINE_TUNED_MODEL = re.compile(rf"ft:{BASE_MODEL.pattern}:[A-Za-z0-9._-]{{0,64}}:[A-Za-z0-9]{{1,64}}")
CHECKPOINT_MODEL = re.compile(FINE_TUNED_MODEL.pattern + r":ckpt-step-\d{1,9}")
# A model id becomes one percent-encoded store-key segment; file systems allow 255 bytes a name.
MAX_ENCODED_MODEL_ID = 240


class InvalidId(ValueError):
    """An id that does not match its grammar: it names nothing, and is never used in a key."""

    def __init__(self, kind: str, value: object) -> None:
        shown = repr(value)[:80]
        super().__init__(f"{shown} is not a {kind}")
        self.kind = kind
        self.value = value


def _matches(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def is_file_id(value: object) -> bool:
    return _matches(FILE_ID, value)


def is_job_id(value: object) -> bool:
    return _matches(JOB_ID, value)


def is_checkpoint_id(value: object) -> bool:
    return _matches(CHECKPOINT_ID, value)


def is_permission_id(value: object) -> bool:
    return _matches(PERMISSION_ID, value)


def is_webhook_endpoint_id(value: object) -> bool:
    return _matches(WEBHOOK_ENDPOINT_ID, value)


def is_event_id(value: object) -> bool:
    return _matches(EVENT_ID, value)


def is_tenant(value: object) -> bool:
    return _matches(TENANT, value)


def is_base_model_id(value: object) -> bool:
    return _matches(BASE_MODEL, value) and len(value) <= 128


def is_valid_model_ref(value: object) -> bool:
    """A well-formed fine-tuned model id or checkpoint model name, short enough to be a store-key segment."""
    return (
        (_matches(FINE_TUNED_MODEL, value) or _matches(CHECKPOINT_MODEL, value))
        and len(quote(value, safe="")) <= MAX_ENCODED_MODEL_ID
    )


def check(kind: str, valid: bool, value: object) -> None:
    if not valid:
        raise InvalidId(kind, value)


def _random(n: int = 24) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def new_file_id() -> str:
    return f"file-{_random()}"


def result_file_id(job_id: str, name: str) -> str:
    """A job's result file gets the same id however often its job publishes (a retried publish leaves no copies)."""
    return "file-" + hashlib.sha256(f"{job_id}/{name}".encode()).hexdigest()[:24]


def new_job_id() -> str:
    return f"ftjob-{_random()}"


def new_event_id() -> str:
    return f"ftevent-{_random()}"


def new_checkpoint_id() -> str:
    return f"ftckpt-{_random()}"


def new_permission_id() -> str:
    return f"cp_{_random()}"


def new_webhook_endpoint_id() -> str:
    return f"we_{_random()}"


def new_webhook_event_id() -> str:
    return f"evt_{_random()}"


def fine_tuned_model_id(base_model: str, suffix: str | None, job_id: str) -> str:
    """`ft:{base}:{suffix}:{job-short-id}`; the short id is the first 8 characters after `ftjob-`."""
    short = job_id.removeprefix("ftjob-")[:8]
    return f"ft:{base_model}:{suffix or ''}:{short}"


def checkpoint_model_name(fine_tuned_model: str, step: int) -> str:
    """A checkpoint's model name, as OpenAI forms it: `{fine-tuned model id}:ckpt-step-{step}`."""
    return f"{fine_tuned_model}:ckpt-step-{step}"


def is_fine_tuned_model_id(model: str) -> bool:
    return model.startswith("ft:")


def is_checkpoint_ref(model: str) -> bool:
    """A checkpoint id (`ftckpt-…`) or a checkpoint's model name (`ft:…:ckpt-step-N`)."""
    return model.startswith("ftckpt-") or (is_fine_tuned_model_id(model) and ":ckpt-step-" in model)
