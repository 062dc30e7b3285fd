"""Object ids, in OpenAI's style: a type prefix and a random suffix."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def _random(n: int = 24) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def new_file_id() -> str:
    return f"file-{_random()}"


def new_job_id() -> str:
    return f"ftjob-{_random()}"


def new_event_id() -> str:
    return f"ftevent-{_random()}"


def new_checkpoint_id() -> str:
    return f"ftckpt-{_random()}"


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
