"""The inference server's Litestar app (`ftaas serve`): OpenAI chat/completions on the embedded engine,
plus health, readiness and metrics.

Every route except the probes and /metrics needs `Authorization: Bearer <key>`; the key decides the
tenant, and the tenant decides which fine-tuned models exist. Base models load in the background when
the process starts; /readyz answers 503 until they have.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import JSONBody

from jobs.catalog import Catalog
from jobs.ids import is_fine_tuned_model_id
from jobs.serving.engine import EmbeddedEngine
from jobs.settings import Settings
from jobs.store import open_store
from service.auth import require_api_key
from service.errors import EXCEPTION_HANDLERS, ApiError, ServiceUnavailable
from service.inference.protocol import ChatCompletionRequest, CompletionRequest
from service.inference.serving import respond
from service.logs import send_request_id

log = logging.getLogger(__name__)


async def _serve(state: State, request: Request, body: ChatCompletionRequest | CompletionRequest) -> Any:
    engine: EmbeddedEngine = state.engine
    kind = "fine_tuned" if is_fine_tuned_model_id(body.model) else "base"
    status = 500
    try:
        result = await respond(engine, request.state.tenant, body, request)
        status = 200
        return result
    except ApiError as exc:
        status = exc.status_code
        raise
    finally:
        engine.metrics.requests.labels(kind, str(status)).inc()


@post("/v1/chat/completions", operation_id="createChatCompletion", status_code=200, tags=["inference"])
async def create_chat_completion(data: JSONBody[ChatCompletionRequest], request: Request, state: State) -> Any:
    return await _serve(state, request, data)


@post("/v1/completions", operation_id="createCompletion", status_code=200, tags=["inference"])
async def create_completion(data: JSONBody[CompletionRequest], request: Request, state: State) -> Any:
    return await _serve(state, request, data)


@get("/healthz", operation_id="healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", operation_id="readyz", include_in_schema=False)
async def readyz(state: State) -> dict[str, str]:
    engine: EmbeddedEngine = state.engine
    if not engine.ready:
        raise ServiceUnavailable("base models are still loading", code="engine_loading")
    try:
        await asyncio.to_thread(engine.check)
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the details go to the log, not the client
        log.warning("readiness: store check failed: %s", exc)
        raise ServiceUnavailable("the object store cannot be reached", code="store_unavailable") from None
    return {"status": "ready"}


@get("/metrics", operation_id="metrics", include_in_schema=False)
async def metrics(state: State, request: Request) -> Response[bytes]:
    body, content_type = state.engine.metrics.render(request.headers.get("accept"))
    return Response(body, headers={"content-type": content_type})  # one header (media_type would append a charset)


def create_serving_app(settings: Settings | None = None, engine: EmbeddedEngine | None = None) -> Litestar:
    settings = settings or Settings()
    if engine is None:
        engine = EmbeddedEngine(
            catalog=Catalog.from_setting(settings.models, settings.cache_dir),
            store=open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region),
            cache_dir=settings.cache_dir,
            max_adapters=settings.serving_max_adapters,
            max_batch=settings.serving_max_batch,
            max_queue=settings.serving_max_queue,
            memory_budget_bytes=settings.serving_memory_budget_bytes,
        )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        loading = asyncio.create_task(asyncio.to_thread(engine.load_bases))
        loading.add_done_callback(
            lambda task: task.cancelled() or task.exception() is None
            or log.error("loading base models failed: %s", task.exception())
        )
        try:
            yield
        finally:
            engine.close()

    return Litestar(
        route_handlers=[create_chat_completion, create_completion, healthz, readyz, metrics],
        guards=[require_api_key],
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[send_request_id],
        lifespan=[lifespan],
        state=State({"settings": settings, "engine": engine}),
        logging_config=None,  # keep the process's JSON log lines (service.logs)
    )
