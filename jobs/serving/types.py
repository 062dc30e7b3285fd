"""What an engine takes and gives back: plain requests, plain events, its errors. No wire format, no torch.

The HTTP layer (service/inference) turns OpenAI's chat/completions bodies into a GenerationRequest and
the events back into responses or stream chunks; engines never see either wire format.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class Sampling:
    max_new_tokens: int
    greedy: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None  # reproducible per request, whatever else shares its batch
    stop: tuple[str, ...] = ()
    n: int = 1
    logprobs: bool = False
    top_logprobs: int = 0
    # The answer is JSON valid under this schema ({"type": "object"} for JSON mode): jobs/serving/structured.py
    json_schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class GenerationRequest:
    tenant: str
    model: str  # the public name: a catalog id, `ft:…` or `ft:…:ckpt-step-N`
    sampling: Sampling
    messages: tuple[dict[str, str], ...] | None = None  # chat: {"role", "content"} in chat-template roles
    prompt: str | None = None  # completion


# -- events, in order: Started, then Delta / Finished per choice, then Done -------------------------


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()  # the most likely tokens at that position, best first


@dataclass(frozen=True)
class Started:
    prompt_tokens: int


@dataclass(frozen=True)
class Delta:
    index: int  # the choice
    text: str
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True)
class Finished:
    index: int
    reason: FinishReason


@dataclass(frozen=True)
class Done:
    prompt_tokens: int
    completion_tokens: int  # over all choices


@dataclass
class Result:
    """A whole generation, collected from its events (non-streaming callers)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    texts: dict[int, list[str]] = field(default_factory=dict)
    logprobs: dict[int, list[TokenLogprob]] = field(default_factory=dict)
    finish: dict[int, FinishReason] = field(default_factory=dict)

    def add(self, event: object) -> None:
        if isinstance(event, Started):
            self.prompt_tokens = event.prompt_tokens
        elif isinstance(event, Delta):
            self.texts.setdefault(event.index, []).append(event.text)
            self.logprobs.setdefault(event.index, []).extend(event.logprobs)
        elif isinstance(event, Finished):
            self.finish[event.index] = event.reason
        elif isinstance(event, Done):
            self.completion_tokens = event.completion_tokens

    def text(self, index: int) -> str:
        return "".join(self.texts.get(index, []))


# -- errors ---------------------------------------------------------------------------------------


class ServingError(Exception):
    pass


class GenerationFailed(ServingError):
    """The model exists but could not be loaded, or a decode step broke; the request did not complete."""


class InvalidGenerationRequest(ServingError):
    """Well-formed, but this model cannot serve it (prompt too long, no chat template, a parameter it cannot honour)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class EngineBusy(ServingError):
    """The queue for this model is full; the caller should retry after `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class EngineNotReady(ServingError):
    """Base models are still loading."""
