"""The events a training run reports, as plain dicts (the worker forwards them verbatim to the job).

    {"type": "message" | "metrics", "level": "info" | "warning" | "error", "message": str, "data": dict}

metrics data: step, total_steps, epoch, train_loss, learning_rate, tokens_per_second, eta_seconds,
and valid_loss on the steps after which the validation set was evaluated.
"""

from collections.abc import Callable
from typing import Any

Event = dict[str, Any]
Report = Callable[[Event], None]


def message(text: str, level: str = "info", **data: Any) -> Event:
    return {"type": "message", "level": level, "message": text, "data": data}


def metrics(data: dict[str, Any]) -> Event:
    text = f"Step {data['step']}/{data['total_steps']}: training loss={data['train_loss']:.4f}"
    if data.get("valid_loss") is not None:
        text += f", validation loss={data['valid_loss']:.4f}"
    return {"type": "metrics", "level": "info", "message": text, "data": data}
