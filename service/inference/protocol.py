"""Wire models for POST /v1/chat/completions and POST /v1/completions, shaped like OpenAI's, stream
chunks included.

Unknown fields the openai SDK may add are ignored. Known fields that ask for something this server
does not do (penalties, logit_bias, tools, echo) are rejected with a message naming the field, so a
client never gets a silently different answer.
"""

import secrets
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

DEFAULT_MAX_TOKENS = 256
MAX_TOKENS_LIMIT = 4096
MAX_STOP_SEQUENCES = 4
MAX_N = 8
MAX_TOP_LOGPROBS = 20
MAX_COMPLETION_LOGPROBS = 5
RESPONSE_FORMATS = ("text", "json_object", "json_schema")
ANY_JSON_OBJECT: dict[str, Any] = {"type": "object"}  # JSON mode's schema, and a json_schema's without one


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
    n: int | None = Field(None, ge=1, le=MAX_N, description=f"How many answers (choices), 1 to {MAX_N}. Default 1.")
    stream: bool | None = Field(None, description="Send the answer as server-sent events while it is generated.")
    stream_options: "StreamOptions | None" = None
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
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    @property
    def greedy(self) -> bool:
        # top_p 0 keeps only the most likely token, which is greedy decoding (and sampling cannot take a 0 top_p).
        return self.temperature == 0 or self.top_p == 0


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool | None = Field(None, description="Send one last chunk with the usage and no choices.")


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
    logprobs: bool | None = Field(None, description="Return each answer token's log-probability.")
    top_logprobs: int | None = Field(
        None, ge=0, le=MAX_TOP_LOGPROBS, description="With logprobs: also the most likely tokens at each position."
    )
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    tool_choice: Any = None
    function_call: Any = None
    response_format: dict[str, Any] | None = None

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
        kind = value.get("type") if value else None
        if value and kind not in RESPONSE_FORMATS:
            raise _unsupported(
                f"response_format {{type: {kind!r}}} is not supported: use one of {', '.join(RESPONSE_FORMATS)}"
            )
        if kind == "json_schema":
            spec = value.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
                raise _unsupported("response_format json_schema needs {json_schema: {name, schema}}: name is missing")
            if not isinstance(spec.get("schema", {}), dict):
                raise _unsupported("response_format json_schema.schema must be a JSON schema object")
        return value

    @property
    def json_schema(self) -> dict[str, Any] | None:
        """The schema the answer must follow, or None for free text."""
        kind = self.response_format.get("type") if self.response_format else None
        if kind == "json_object":
            return ANY_JSON_OBJECT
        if kind == "json_schema":
            return self.response_format["json_schema"].get("schema") or ANY_JSON_OBJECT
        return None

    @model_validator(mode="after")
    def _top_logprobs_needs_logprobs(self) -> "ChatCompletionRequest":
        if self.top_logprobs and not self.logprobs:
            raise _unsupported("top_logprobs needs logprobs: true")
        return self

    @property
    def max_new_tokens(self) -> int:
        return self.max_completion_tokens or self.max_tokens or DEFAULT_MAX_TOKENS


class CompletionRequest(SamplingParams):
    prompt: str = Field(min_length=1)
    logprobs: int | None = Field(
        None, ge=0, le=MAX_COMPLETION_LOGPROBS, description="Return each token's log-probability and this many alternatives."
    )
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
            raise _unsupported("best_of is not supported; use n for several answers")
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


class TopLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None


class TokenLogprob(TopLogprob):
    top_logprobs: list[TopLogprob]


class ChoiceLogprobs(BaseModel):
    content: list[TokenLogprob] | None
    refusal: list[TokenLogprob] | None = None


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class ChatChoice(BaseModel):
    index: int = 0
    message: AssistantMessage
    logprobs: ChoiceLogprobs | None = None
    finish_reason: FinishReason


def chat_id() -> str:
    return f"chatcmpl-{secrets.token_hex(12)}"


def completion_id() -> str:
    return f"cmpl-{secrets.token_hex(12)}"


def _now() -> int:
    return int(time.time())


class ChatCompletion(BaseModel):
    id: str = Field(default_factory=chat_id)
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=_now)
    model: str
    choices: list[ChatChoice]
    usage: Usage
    system_fingerprint: str | None = None


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChatChunkChoice(BaseModel):
    index: int
    delta: ChunkDelta
    logprobs: ChoiceLogprobs | None = None
    finish_reason: FinishReason | None = None


class ChatCompletionChunk(BaseModel):
    """One server-sent event of a streamed chat answer (`data: {chunk}`; the stream ends with `data: [DONE]`)."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChatChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


class CompletionLogprobs(BaseModel):
    tokens: list[str]
    token_logprobs: list[float]
    top_logprobs: list[dict[str, float]] | None
    text_offset: list[int]


class CompletionChoice(BaseModel):
    index: int = 0
    text: str
    logprobs: CompletionLogprobs | None = None
    finish_reason: FinishReason | None


class Completion(BaseModel):
    """Also each streamed event of a completion (then `finish_reason` is null until a choice ends)."""

    id: str = Field(default_factory=completion_id)
    object: Literal["text_completion"] = "text_completion"
    created: int = Field(default_factory=_now)
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


SamplingParams.model_rebuild()
ChatCompletionRequest.model_rebuild()
CompletionRequest.model_rebuild()
