"""The serving process's Litestar app: OpenAI-style completions plus health, readiness and metrics.

Run with `uvicorn --factory jobs.serving.app:create_serving_app`. Every route except the probes and
/metrics needs `Authorization: Bearer <key>`; the key decides the tenant, and the tenant decides which
fine-tuned models exist.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import JSONBody
from prometheus_client import CONTENT_TYPE_LATEST

from jobs.catalog import Catalog
from jobs.ids import InvalidId, is_fine_tuned_model_id
from jobs.serving.engine import InferenceEngine
from jobs.serving.errors import InvalidGenerationRequest, ModelNotFound, ServingError
from jobs.store import StoreUnavailable, open_store
from service.auth import require_api_key
from service.errors import EXCEPTION_HANDLERS, ApiError, InvalidRequest, NotFound, ServiceUnavailable
from service.inference.schemas import ChatCompletion, ChatCompletionRequest, Completion, CompletionRequest
from service.logs import send_request_id
from service.settings import Settings

log = logging.getLogger(__name__)

Req = TypeVar("Req", ChatCompletionRequest, CompletionRequest)
Resp = TypeVar("Resp", ChatCompletion, Completion)


def _api_error(exc: ServingError) -> ApiError:
    if isinstance(exc, ModelNotFound):
        reason = f" ({exc.reason})" if exc.reason else ""
        return NotFound(
            f"The model {exc.model!r} does not exist or you do not have access to it{reason}; "
            "check GET /v1/models for the models you can use.",
            param="model",
            code="model_not_found",
        )
    if isinstance(exc, InvalidGenerationRequest):
        return InvalidRequest(str(exc), param=exc.param)
    return ServiceUnavailable(str(exc), param="model")


async def _serve(state: State, request: Request, call: Callable[[str, Req], Resp], body: Req) -> Resp:
    """Run the blocking engine call in a thread, map engine errors to API errors, count the request.

    A store outage (while finding or downloading an adapter) goes on to the shared mapping: 503 with Retry-After.
    """
    kind = "fine_tuned" if is_fine_tuned_model_id(body.model) else "base"
    status = 500
    try:
        result = await asyncio.to_thread(call, request.state.tenant, body)
        status = 200
        return result
    except (ServingError, InvalidId) as exc:
        error = _api_error(ModelNotFound(body.model) if isinstance(exc, InvalidId) else exc)
        status = error.status_code
        raise error from None
    except StoreUnavailable:
        status = 503
        raise
    finally:
        state.engine.metrics.requests.labels(kind, str(status)).inc()


@post("/v1/chat/completions", operation_id="createChatCompletion", status_code=200, tags=["inference"])
async def create_chat_completion(
    data: JSONBody[ChatCompletionRequest], request: Request, state: State
) -> ChatCompletion:
    return await _serve(state, request, state.engine.chat, data)


@post("/v1/completions", operation_id="createCompletion", status_code=200, tags=["inference"])
async def create_completion(data: JSONBody[CompletionRequest], request: Request, state: State) -> Completion:
    return await _serve(state, request, state.engine.complete, data)


@get("/healthz", operation_id="healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", operation_id="readyz", include_in_schema=False)
async def readyz(state: State) -> dict[str, str]:
    try:
        await asyncio.to_thread(state.engine.check)
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the details go to the log, not the client
        log.warning("readiness: store check failed: %s", exc)
        raise ServiceUnavailable("the object store cannot be reached", code="store_unavailable") from None
    return {"status": "ready"}


@get("/metrics", operation_id="metrics", include_in_schema=False)
async def metrics(state: State) -> Response[bytes]:
    return Response(state.engine.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def create_serving_app(settings: Settings | None = None, engine: InferenceEngine | None = None) -> Litestar:
    settings = settings or Settings()
    if engine is None:
        engine = InferenceEngine(
            catalog=Catalog.from_setting(settings.models, settings.cache_dir),
            store=open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region),
            cache_dir=settings.cache_dir,
            max_adapters=settings.serving_max_adapters,
        )
    return Litestar(
        route_handlers=[create_chat_completion, create_completion, healthz, readyz, metrics],
        guards=[require_api_key],
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[send_request_id],
        state=State({"settings": settings, "engine": engine}),
        logging_config=None,  # keep the process's JSON log lines (service.logs)
    )
