"""The API's inference route: one base URL for training and for calling models.

The body is validated here first (same protocol models as the engines' servers), so a bad request
never travels further and the OpenAPI document describes these operations fully. The model is
resolved for the caller's tenant before any engine is asked (a foreign or unknown name is a 404 here),
then the request goes to the engine that serves it:

- vLLM, for a base model or a LoRA-family model whose base has a vLLM server (`FTAAS_VLLM_URLS`). vLLM
  serves every tenant, so it is sent the engine name that carries the tenant
  (`jobs.resolver.engine_model_name`) and no API key; the answer's `model` is put back to the public name.
- the embedded engine (`FTAAS_SERVING_URL`) for everything else, with the caller's own key and name.

Answers, streamed or not, are passed back as they arrive, never buffered whole; a caller that hangs up
closes the upstream request, which frees its place in the engine's batch.
"""

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
from litestar import Request, Response, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from jobs.resolver import ModelNotFound, ResolvedModel, engine_model_name
from jobs.serving.vllm_launch import vllm_refusal
from service.dependencies import Deps, Services, Tenant
from service.errors import BODY_RESPONSES, INFERENCE_RESPONSES, ServiceUnavailable, error_body
from service.inference.protocol import ChatCompletion, ChatCompletionRequest, Completion, CompletionRequest
from service.inference.serving import EVENT_STREAM, EventStream, api_error
from service.logs import REQUEST_ID_HEADER, request_id
from service.metrics import ApiMetrics

RETURNED_HEADERS = ("retry-after",)


@dataclass(frozen=True)
class Route:
    client: httpx.AsyncClient
    url: str
    engine_name: str | None  # vLLM: the name to send instead of the public one; None: forward as it is

    @property
    def what(self) -> str:
        return "vLLM server" if self.engine_name else "inference server"


@dataclass
class Timing:
    """One request's time to its first bytes and to its end, and its outcome, in the API's inference metrics."""

    metrics: ApiMetrics
    engine: str
    model_kind: str
    started: float = field(default_factory=time.perf_counter)
    answered: bool = False

    def first_bytes(self) -> None:
        if not self.answered:
            self.answered = True
            self.metrics.inference_first_byte.labels(self.engine, self.model_kind).observe(time.perf_counter() - self.started)

    def end(self, status: int) -> None:
        self.first_bytes()
        self.metrics.inference_requests.labels(self.engine, self.model_kind, str(status)).inc()
        self.metrics.inference_duration.labels(self.engine, self.model_kind).observe(time.perf_counter() - self.started)


def route_for(services: Services, tenant: str, model: ResolvedModel) -> Route:
    vllm_url = services.settings.vllm_url_for(model.base_model)
    if vllm_url and (model.role == "base" or vllm_refusal(model, services.settings.vllm_max_lora_rank) is None):
        name = model.name if model.role == "base" else engine_model_name(tenant, model.name)
        return Route(services.vllm, vllm_url, name)
    return Route(services.serving, services.settings.serving_url, None)


async def _forward(services: Services, request: Request, tenant: str, model: str) -> Response:
    try:
        resolved = await services.resolver.aresolve(tenant, model)
    except ModelNotFound as exc:
        raise api_error(exc, model) from None
    route = route_for(services, tenant, resolved)
    timing = Timing(services.metrics, "vllm" if route.engine_name else "embedded", resolved.model_kind)
    body = await request.body()
    headers = {"content-type": "application/json", REQUEST_ID_HEADER: request_id(request.scope)}
    if route.engine_name is None:
        headers["authorization"] = request.headers.get("authorization", "")
    else:
        document = json.loads(body)
        document["model"] = route.engine_name
        body = json.dumps(document).encode()
    upstream_request = route.client.build_request("POST", route.url.rstrip("/") + request.url.path, content=body, headers=headers)
    try:
        upstream = await route.client.send(upstream_request, stream=True)
    except httpx.TransportError:
        timing.end(503)
        raise ServiceUnavailable(
            f"the {route.what} at {route.url} is not reachable; start it with `ftaas serve` (or run everything with "
            "`ftaas up`)", code="inference_unavailable",
        ) from None
    media_type = upstream.headers.get("content-type", "application/json")
    returned = {k: v for k, v in upstream.headers.items() if k.lower() in RETURNED_HEADERS}
    rename = (route.engine_name, model) if route.engine_name and route.engine_name != model else None
    if media_type.startswith(EVENT_STREAM):
        return EventStream(_relay(upstream, rename, timing), status_code=upstream.status_code, headers=returned)
    try:
        content = await upstream.aread()
    finally:
        await upstream.aclose()
        timing.end(upstream.status_code)
    if rename and upstream.status_code == 200:
        content = _renamed(content, *rename)
    elif route.engine_name is not None and upstream.status_code >= 400:
        content = _openai_error(content, upstream.status_code, route.engine_name, model)
    return Response(content, status_code=upstream.status_code, media_type=media_type, headers=returned)


VLLM_ERROR_CODES = {400: "invalid_value", 404: "model_not_found", 429: "queue_full", 503: "model_unavailable"}


def _openai_error(data: bytes, status: int, engine_name: str, public_name: str) -> bytes:
    """vLLM's error in the shape every ftaas error has: its `code` is the HTTP status (an int), its `type` a
    class name, and its message may name the engine's model name; none of that reaches the caller."""
    try:
        message = str(json.loads(data)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = data.decode(errors="replace")[:500]
    message = message.split(" Valid aliases:")[0].replace(engine_name, public_name)  # vLLM lists what it serves
    code = VLLM_ERROR_CODES.get(status, "internal_error" if status >= 500 else "invalid_request")
    kind = "invalid_request_error" if status < 500 else "server_error"
    return json.dumps(error_body(message, kind, "model" if status == 404 else None, code)).encode()


def _renamed(data: bytes, engine_name: str, public_name: str) -> bytes:
    """An engine's JSON answer with its `model` put back to the name the caller used."""
    document = json.loads(data)
    if isinstance(document, dict) and document.get("model") == engine_name:
        document["model"] = public_name
        return json.dumps(document, separators=(",", ":")).encode()
    return data


async def _relay(upstream: httpx.Response, rename: tuple[str, str] | None, timing: Timing) -> AsyncIterator[bytes]:
    try:
        if rename is None:
            async for chunk in upstream.aiter_raw():
                timing.first_bytes()
                yield chunk
            return
        async for line in upstream.aiter_lines():  # one event per `data:` line; rewrite each one's model
            if line.startswith("data: {"):
                timing.first_bytes()
                line = "data: " + _renamed(line[6:].encode(), *rename).decode()
            yield (line + "\n").encode()
    finally:
        await upstream.aclose()
        timing.end(upstream.status_code)


def _documented(response_type: type) -> dict:
    return {
        **BODY_RESPONSES,
        **INFERENCE_RESPONSES,
        200: ResponseSpec(
            response_type, generate_examples=False,
            description="The answer; with `stream: true`, server-sent events (`data: {chunk}` … `data: [DONE]`)",
        ),
    }


@post(
    "/chat/completions", responses=_documented(ChatCompletion), operation_id="create_chat_completion",
    status_code=200, tags=["inference"], summary="Chat with a base or fine-tuned model",
)
async def create_chat_completion(
    services: Deps, request: Request, data: JSONBody[ChatCompletionRequest], tenant: Tenant
) -> Response:
    return await _forward(services, request, tenant, data.model)


@post(
    "/completions", responses=_documented(Completion), operation_id="create_completion",
    status_code=200, tags=["inference"], summary="Complete a prompt with a base or fine-tuned model",
)
async def create_completion(services: Deps, request: Request, data: JSONBody[CompletionRequest], tenant: Tenant) -> Response:
    return await _forward(services, request, tenant, data.model)
