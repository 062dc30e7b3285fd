"""create_app: the stateless API. Never imports torch."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from jobs import queue
from jobs.catalog import Catalog
from jobs.events import EventLog
from jobs.repository import (
    CheckpointPermissionRepository, CheckpointRepository, FileRepository, JobRepository, ModelRepository,
    WebhookEndpointRepository,
)
from jobs.resolver import ModelResolver
from jobs.settings import Settings
from jobs.store import open_store
from service import health, proxy
from service.auth import require_api_key
from service.dependencies import Services, provide_services, provide_tenant
from service.openapi_keywords import KeywordsAsEnums
from service.errors import EXCEPTION_HANDLERS
from service.checkpoints.controller import CheckpointPermissionsController
from service.files.controller import FilesController
from service.fine_tuning.controller import FineTuningController
from service.logs import send_request_id
from service.metrics import ApiMetrics, instrument
from service.models.controller import ModelsController
from service.quotas import limit_request_rate, send_ratelimit_headers
from service.webhooks.controller import WebhookEndpointsController, list_webhook_event_types

log = logging.getLogger("ftaas.api")

INFERENCE_TIMEOUT_S = 600.0
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings()
    if not settings.tenants_by_key:
        raise ValueError("FTAAS_API_KEYS is empty: set it to `key:tenant[,key2:tenant2]`")
    catalog = Catalog.from_setting(settings.models, settings.cache_dir)
    store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        redis = await queue.connect(settings.redis_url, settings.queue_name)
        async with (
            httpx.AsyncClient(timeout=INFERENCE_TIMEOUT_S) as serving,
            httpx.AsyncClient(timeout=INFERENCE_TIMEOUT_S) as vllm,
        ):
            app.state.services = Services(
                settings=settings, catalog=catalog, store=store, redis=redis,
                files=FileRepository(store), jobs=JobRepository(store, redis), models=ModelRepository(store), checkpoints=CheckpointRepository(store),
                permissions=CheckpointPermissionRepository(store), webhooks=WebhookEndpointRepository(store),
                resolver=ModelResolver(catalog, store),
                events=EventLog(redis, store), metrics=metrics, serving=serving, vllm=vllm,
            )
            log.info("api ready; store %s; models %s", settings.store_url, ", ".join(catalog.ids()))
            try:
                yield
            finally:
                await redis.aclose()

    v1 = Router(
        path="/v1",
        route_handlers=[FilesController, FineTuningController, CheckpointPermissionsController, ModelsController,
                        WebhookEndpointsController, list_webhook_event_types,
                        proxy.create_chat_completion, proxy.create_completion],
        guards=[require_api_key, limit_request_rate],
        security=[{"api_key": []}],
        dependencies={"tenant": Provide(provide_tenant, sync_to_thread=False)},
    )
    app = Litestar(
        route_handlers=[v1, health.healthz, health.readyz, health.metrics],
        dependencies={"services": Provide(provide_services, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[send_request_id, send_ratelimit_headers],
        lifespan=[lifespan],
        state=State({"settings": settings, "metrics": metrics}),
        request_max_body_size=settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
        logging_config=None,  # keep the process's JSON log lines (service.logs)
        plugins=[KeywordsAsEnums()],
        openapi_config=OpenAPIConfig(
            title="ftaas", version="0.1.0",
            description="Self-hosted fine-tuning as a service, speaking the OpenAI wire format.",
            path="/schema",
            components=Components(
                security_schemes={"api_key": SecurityScheme(type="http", scheme="bearer", description="FTAAS_API_KEYS")}
            ),
        ),
    )
    app.asgi_handler = instrument(app.asgi_handler, metrics)  # outside the router: unmatched requests count too
    return app
