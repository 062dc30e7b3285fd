"""Between the wire and an engine: OpenAI request bodies → GenerationRequest, engine events → a response
or a stream of server-sent events, engine errors → API errors. Knows no model and no torch."""

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

from litestar import Request
from litestar.response import Stream

from jobs.resolver import ModelNotFound
from jobs.serving.downloads import ModelUnavailable
from jobs.serving.types import (
    Delta,
    Done,
    EngineBusy,
    EngineNotReady,
    Finished,
    GenerationRequest,
    InvalidGenerationRequest,
    Result,
    Sampling,
    ServingError,
    TokenLogprob,
)
from service.errors import ApiError, InvalidRequest, NotFound, ServiceUnavailable, TooManyRequests, error_body, quoted
from service.inference.protocol import (
    AssistantMessage,
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChoiceLogprobs,
    ChunkDelta,
    Completion,
    CompletionChoice,
    CompletionLogprobs,
    CompletionRequest,
    TopLogprob,
    Usage,
    chat_id,
    completion_id,
)
from service.inference.protocol import TokenLogprob as WireTokenLogprob

log = logging.getLogger(__name__)

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
EVENT_STREAM = "text/event-stream"


class EventStream(Stream):
    """Server-sent events. Litestar gives a returned response its handler's media type (JSON here, since a
    handler answers JSON or a stream); an event stream must keep its own, or clients and proxies buffer it."""

    def __init__(self, content: AsyncIterator[bytes], *, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        super().__init__(content, status_code=status_code, media_type=EVENT_STREAM, headers={**SSE_HEADERS, **(headers or {})})

    def to_asgi_response(self, *args: Any, media_type: Any = None, **kwargs: Any) -> Any:
        return super().to_asgi_response(*args, **kwargs)


class Engine(Protocol):
    async def submit(self, request: GenerationRequest) -> Any: ...


# -- wire → engine ---------------------------------------------------------------------------------


def generation_request(tenant: str, body: ChatCompletionRequest | CompletionRequest) -> GenerationRequest:
    if isinstance(body, ChatCompletionRequest):
        logprobs, top = bool(body.logprobs), body.top_logprobs or 0
        messages: tuple[dict[str, str], ...] | None = tuple(m.template_dict() for m in body.messages)
        prompt, json_schema = None, body.json_schema
    else:
        logprobs, top = body.logprobs is not None, body.logprobs or 0
        messages, prompt, json_schema = None, body.prompt, None
    sampling = Sampling(
        max_new_tokens=body.max_new_tokens, greedy=body.greedy, temperature=body.temperature if body.temperature is not None else 1.0,
        top_p=body.top_p if body.top_p is not None else 1.0, seed=body.seed, stop=tuple(body.stop_sequences),
        n=body.n or 1, logprobs=logprobs, top_logprobs=top, json_schema=json_schema,
    )
    return GenerationRequest(tenant=tenant, model=body.model, sampling=sampling, messages=messages, prompt=prompt)


def api_error(exc: Exception, model: str) -> ApiError:
    if isinstance(exc, ModelNotFound):
        reason = f" ({exc.reason})" if exc.reason else ""
        return NotFound(
            f"The model {quoted(model)} does not exist or you do not have access to it{reason}; "
            "GET /v1/models lists the models you can use.",
            param="model", code="model_not_found",
        )
    if isinstance(exc, InvalidGenerationRequest):
        return InvalidRequest(str(exc), param=exc.param)
    if isinstance(exc, EngineBusy):
        return TooManyRequests(str(exc), retry_after_s=exc.retry_after_s)
    if isinstance(exc, EngineNotReady):
        return ServiceUnavailable(str(exc), code="engine_loading")
    return ServiceUnavailable(str(exc), param="model", code="model_unavailable")


ENGINE_ERRORS = (ServingError, ModelNotFound, ModelUnavailable)


# -- engine → wire ---------------------------------------------------------------------------------


def _wire_logprob(item: TokenLogprob) -> WireTokenLogprob:
    return WireTokenLogprob(
        token=item.token, logprob=item.logprob, bytes=list(item.token.encode()),
        top_logprobs=[TopLogprob(token=t, logprob=lp, bytes=list(t.encode())) for t, lp in item.top],
    )


def _chat_logprobs(items: list[TokenLogprob] | tuple[TokenLogprob, ...], wanted: bool) -> ChoiceLogprobs | None:
    return ChoiceLogprobs(content=[_wire_logprob(i) for i in items]) if wanted else None


def _completion_logprobs(items: list[TokenLogprob] | tuple[TokenLogprob, ...], offset: int, wanted: bool) -> CompletionLogprobs | None:
    if not wanted:
        return None
    offsets, at = [], offset
    for item in items:
        offsets.append(at)
        at += len(item.token)
    return CompletionLogprobs(
        tokens=[i.token for i in items], token_logprobs=[i.logprob for i in items],
        top_logprobs=[dict(i.top) for i in items], text_offset=offsets,
    )


def chat_response(body: ChatCompletionRequest, result: Result) -> ChatCompletion:
    return ChatCompletion(
        model=body.model,
        choices=[
            ChatChoice(
                index=i, message=AssistantMessage(content=result.text(i)), finish_reason=result.finish.get(i, "stop"),
                logprobs=_chat_logprobs(result.logprobs.get(i, []), bool(body.logprobs)),
            )
            for i in range(body.n or 1)
        ],
        usage=Usage.of(result.prompt_tokens, result.completion_tokens),
    )


def completion_response(body: CompletionRequest, result: Result) -> Completion:
    return Completion(
        model=body.model,
        choices=[
            CompletionChoice(
                index=i, text=result.text(i), finish_reason=result.finish.get(i, "stop"),
                logprobs=_completion_logprobs(result.logprobs.get(i, []), 0, body.logprobs is not None),
            )
            for i in range(body.n or 1)
        ],
        usage=Usage.of(result.prompt_tokens, result.completion_tokens),
    )


def _sse(payload: Any) -> bytes:
    data = payload.model_dump_json() if hasattr(payload, "model_dump_json") else json.dumps(payload)
    return f"data: {data}\n\n".encode()


async def _chat_chunks(body: ChatCompletionRequest, generation: Any, response_id: str, created: int) -> AsyncIterator[bytes]:
    def chunk(choices: list[ChatChunkChoice], usage: Usage | None = None) -> bytes:
        return _sse(ChatCompletionChunk(id=response_id, created=created, model=body.model, choices=choices, usage=usage))

    yield chunk([ChatChunkChoice(index=i, delta=ChunkDelta(role="assistant", content="")) for i in range(body.n or 1)])
    async for event in generation:
        if isinstance(event, Delta):
            yield chunk([ChatChunkChoice(
                index=event.index, delta=ChunkDelta(content=event.text),
                logprobs=_chat_logprobs(event.logprobs, bool(body.logprobs)),
            )])
        elif isinstance(event, Finished):
            yield chunk([ChatChunkChoice(index=event.index, delta=ChunkDelta(), finish_reason=event.reason)])
        elif isinstance(event, Done) and body.include_usage:
            yield chunk([], Usage.of(event.prompt_tokens, event.completion_tokens))


async def _completion_chunks(body: CompletionRequest, generation: Any, response_id: str, created: int) -> AsyncIterator[bytes]:
    offsets: dict[int, int] = {}
    async for event in generation:
        if isinstance(event, Delta):
            logprobs = _completion_logprobs(event.logprobs, offsets.get(event.index, 0), body.logprobs is not None)
            offsets[event.index] = offsets.get(event.index, 0) + len(event.text)
            choice = CompletionChoice(index=event.index, text=event.text, logprobs=logprobs, finish_reason=None)
        elif isinstance(event, Finished):
            choice = CompletionChoice(index=event.index, text="", finish_reason=event.reason)
        elif isinstance(event, Done) and body.include_usage:
            yield _sse(Completion(id=response_id, created=created, model=body.model, choices=[],
                                  usage=Usage.of(event.prompt_tokens, event.completion_tokens)))
            continue
        else:
            continue
        yield _sse(Completion(id=response_id, created=created, model=body.model, choices=[choice]))


async def _stream(body: ChatCompletionRequest | CompletionRequest, generation: Any) -> AsyncIterator[bytes]:
    """The events as SSE. An error after the first byte can only be told in the stream: one `error` event."""
    response_id = chat_id() if isinstance(body, ChatCompletionRequest) else completion_id()
    created = int(time.time())
    chunks = _chat_chunks if isinstance(body, ChatCompletionRequest) else _completion_chunks
    try:
        async for data in chunks(body, generation, response_id, created):  # type: ignore[arg-type]
            yield data
        yield b"data: [DONE]\n\n"
    except ENGINE_ERRORS as exc:
        error = api_error(exc, body.model)
        log.warning("stream for %s ended by an engine error: %s", body.model, exc)
        yield _sse(error_body(error.message, error.type, error.param, error.code))
    finally:
        generation.cancel()  # the client went away (the stream was closed early) or the answer ended


async def _cancel_on_disconnect(request: Request, generation: Any) -> None:
    """A non-streaming caller that hangs up frees its place in the batch too."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            generation.cancel()
            return


async def respond(engine: Engine, tenant: str, body: ChatCompletionRequest | CompletionRequest, request: Request) -> Any:
    """Run `body` on `engine`: the whole answer, or a Stream when `stream` is set. Errors before the first
    token are raised as API errors (so a stream that cannot start gets a proper status code)."""
    try:
        generation = await engine.submit(generation_request(tenant, body))
    except ENGINE_ERRORS as exc:
        raise api_error(exc, body.model) from None
    if body.stream:
        return EventStream(_stream(body, generation))
    watcher = asyncio.create_task(_cancel_on_disconnect(request, generation))
    result = Result()
    try:
        async for event in generation:
            result.add(event)
    except ENGINE_ERRORS as exc:
        raise api_error(exc, body.model) from None
    finally:
        watcher.cancel()
    if isinstance(body, ChatCompletionRequest):
        return chat_response(body, result)
    return completion_response(body, result)
