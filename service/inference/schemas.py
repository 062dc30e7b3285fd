"""Wire models for POST /v1/chat/completions and POST /v1/completions, shaped like OpenAI's.

Unknown fields the openai SDK may add are ignored. Known fields that ask for something this server
does not do (streaming, n > 1, logprobs, penalties, tools, JSON mode) are rejected with a message
naming the field, so a client never gets a silently different answer.
"""

import secrets
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

DEFAULT_MAX_TOKENS = 256
MAX_TOKENS_LIMIT = 4096
MAX_STOP_SEQUENCES = 4


def _unsupported(message: str) -> PydanticCustomError:
    return PydanticCustomError("unsupported", message)


class SamplingParams(BaseModel):
    """What both endpoints share: the model and how to sample from it."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, description="A base model id or a fine-tuned model id (`ft:…`).")
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_LIMIT, description=f"Default {DEFAULT_MAX_TOKENS}.")
    temperature: float | None = Field(None, ge=0, le=2, description="0 means greedy decoding. Default 1.")
    top_p: float | None = Field(None, ge=0, le=1, description="Default 1; 0 means greedy decoding.")
    stop: str | list[str] | None = Field(None, description=f"Up to {MAX_STOP_SEQUENCES} strings that end the output.")
    seed: int | None = Field(None, ge=-(2**63), lt=2**64, description="Makes sampling reproducible.")
    n: int | None = Field(None, description="Only 1 is supported.")
    stream: bool | None = Field(None, description="Streaming is not supported yet.")
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    user: str | None = None

    @field_validator("stop")
    @classmethod
    def _check_stop(cls, value: str | list[str] | None) -> list[str] | None:
        if value is None:
            return None
        stops = [value] if isinstance(value, str) else value
        if len(stops) > MAX_STOP_SEQUENCES:
            raise _unsupported(f"at most {MAX_STOP_SEQUENCES} stop sequences are allowed")
        if any(not s for s in stops):
            raise _unsupported("stop sequences must be non-empty strings")
        return stops or None

    @field_validator("n")
    @classmethod
    def _check_n(cls, value: int | None) -> int | None:
        if value not in (None, 1):
            raise _unsupported("only n=1 is supported")
        return value

    @field_validator("stream")
    @classmethod
    def _check_stream(cls, value: bool | None) -> bool | None:
        if value:
            raise _unsupported("streaming is not supported yet; omit `stream` or set it to false")
        return value

    @field_validator("frequency_penalty", "presence_penalty")
    @classmethod
    def _check_penalty(cls, value: float | None) -> float | None:
        if value:
            raise _unsupported("penalties are not supported; omit it or send 0")
        return value

    @field_validator("logit_bias")
    @classmethod
    def _check_logit_bias(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value:
            raise _unsupported("logit_bias is not supported")
        return value

    @property
    def stop_sequences(self) -> list[str]:
        return list(self.stop or [])

    @property
    def max_new_tokens(self) -> int:
        return self.max_tokens or DEFAULT_MAX_TOKENS

    @property
    def greedy(self) -> bool:
        # top_p 0 keeps only the most likely token, which is greedy decoding (and sampling cannot take a 0 top_p).
        return self.temperature == 0 or self.top_p == 0


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str = Field(description="Text, or a list of `{type: text, text}` parts (joined).")
    name: str | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        if isinstance(value, list):
            texts = []
            for part in value:
                kind = part.get("type") if isinstance(part, dict) else None
                if kind != "text" or not isinstance(part.get("text"), str):
                    raise _unsupported(f"only text content parts are supported, got {kind!r}")
                texts.append(part["text"])
            return "".join(texts)
        if value is None:
            raise _unsupported("message content must be text (tool calls are not supported)")
        return value

    def template_dict(self) -> dict[str, str]:
        # `developer` is OpenAI's newer name for the system role; chat templates know `system`.
        return {"role": "system" if self.role == "developer" else self.role, "content": self.content}


class ChatCompletionRequest(SamplingParams):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_LIMIT, description="Preferred to max_tokens.")
    logprobs: bool | None = None
    top_logprobs: int | None = None
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    tool_choice: Any = None
    function_call: Any = None
    response_format: dict[str, Any] | None = None

    @field_validator("logprobs", "top_logprobs")
    @classmethod
    def _check_logprobs(cls, value: Any) -> Any:
        if value:
            raise _unsupported("logprobs are not supported")
        return value

    @field_validator("tools", "functions")
    @classmethod
    def _check_tools(cls, value: list[Any] | None) -> list[Any] | None:
        if value:
            raise _unsupported("tool and function calling are not supported")
        return value

    @field_validator("tool_choice", "function_call")
    @classmethod
    def _check_tool_choice(cls, value: Any) -> Any:
        if value not in (None, "none"):
            raise _unsupported("tool and function calling are not supported")
        return value

    @field_validator("response_format")
    @classmethod
    def _check_response_format(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value and value.get("type") != "text":
            raise _unsupported("only response_format {type: text} is supported")
        return value

    @property
    def max_new_tokens(self) -> int:
        return self.max_completion_tokens or self.max_tokens or DEFAULT_MAX_TOKENS


class CompletionRequest(SamplingParams):
    prompt: str = Field(min_length=1)
    logprobs: int | None = None
    echo: bool | None = None
    best_of: int | None = None
    suffix: str | None = None

    @field_validator("prompt", mode="before")
    @classmethod
    def _single_prompt(cls, value: Any) -> Any:
        if isinstance(value, list):
            if len(value) == 1 and isinstance(value[0], str):
                return value[0]
            raise _unsupported("prompt must be one string; batches and token arrays are not supported")
        return value

    @field_validator("logprobs")
    @classmethod
    def _check_logprobs(cls, value: int | None) -> int | None:
        if value:
            raise _unsupported("logprobs are not supported")
        return value

    @field_validator("echo")
    @classmethod
    def _check_echo(cls, value: bool | None) -> bool | None:
        if value:
            raise _unsupported("echo is not supported")
        return value

    @field_validator("best_of")
    @classmethod
    def _check_best_of(cls, value: int | None) -> int | None:
        if value not in (None, 1):
            raise _unsupported("only best_of=1 is supported")
        return value

    @field_validator("suffix")
    @classmethod
    def _check_suffix(cls, value: str | None) -> str | None:
        if value:
            raise _unsupported("suffix (insertion) is not supported")
        return value


FinishReason = Literal["stop", "length"]


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, prompt_tokens: int, completion_tokens: int) -> "Usage":
        return cls(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class ChatChoice(BaseModel):
    index: int = 0
    message: AssistantMessage
    logprobs: None = None
    finish_reason: FinishReason


class ChatCompletion(BaseModel):
    id: str = Field(default_factory=lambda: f"chatcmpl-{secrets.token_hex(12)}")
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[ChatChoice]
    usage: Usage
    system_fingerprint: str | None = None


class CompletionChoice(BaseModel):
    index: int = 0
    text: str
    logprobs: None = None
    finish_reason: FinishReason


class Completion(BaseModel):
    id: str = Field(default_factory=lambda: f"cmpl-{secrets.token_hex(12)}")
    object: Literal["text_completion"] = "text_completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[CompletionChoice]
    usage: Usage
    system_fingerprint: str | None = None
